//! Whether what we publish reaches its readers, read from the disclosure
//! log (DESIGN.md §4) and the peer book: for one of our records, which of
//! the parties it is for have been served it; for all of our logs, which
//! grantees are behind, and which have never been in touch at all.
//!
//! The owner's alone: every function takes the owner's [`Visible`]
//! ([`Store::as_owner`]) and answers nothing for any other reader. The CLI,
//! the dashboard, `/metrics` and the node's log warnings all call these.

use std::collections::{BTreeMap, BTreeSet};

use assure_access::{Reader, Visible};
use assure_model::{Body, Did};
use jiff::Timestamp;

use crate::error::Within as _;
use crate::grants::{Disclosure, from_json};
use crate::keys::{Location, LogId};
use crate::{Error, Store};

/// Whether one party was served one of our records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The party the record is for.
    pub party: Did,
    /// Whether the party may read the record's log now (an active grant
    /// that the compartment's rule admits). One that may not will never
    /// receive it.
    pub may_read: bool,
    /// Whether an entry range served to the party covers the record.
    pub received: bool,
    /// When it was first served, if it was.
    pub at: Option<Timestamp>,
}

/// One grantee that has not been served all of one of our logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behind {
    /// The grantee.
    pub party: Did,
    /// Our log.
    pub log: LogId,
    /// The log's local label.
    pub label: String,
    /// The log's size.
    pub size: u64,
    /// One past the latest entry served to the party (0 when none was).
    pub received: u64,
}

impl Behind {
    /// How many entries the party has not been served: how far behind it is.
    pub fn missing(&self) -> u64 {
        self.size.saturating_sub(self.received)
    }
}

/// What of our logs has not reached the grantees that may read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Undelivered {
    /// For each of our non-public logs, each grantee that may read it and
    /// was served less than all of it, by log then party.
    pub behind: Vec<Behind>,
    /// Parties holding an active grant that have never connected (not in
    /// the peer book as connected) and were never served anything.
    pub never_connected: Vec<Did>,
}

impl Undelivered {
    /// Entries not yet served, summed over every grantee and log: the
    /// undelivered notices.
    pub fn missing(&self) -> u64 {
        self.behind.iter().map(Behind::missing).sum()
    }

    /// The warnings an operator should read, in plain words, with parties
    /// named by `name`; `peers` is how many peers are connected now, when
    /// known.
    pub fn warnings(&self, peers: Option<usize>, name: impl Fn(&Did) -> String) -> Vec<String> {
        let mut out = Vec::new();
        if peers == Some(0) {
            out.push(
                "No peers connected: this node receives nothing and its notices reach no one."
                    .to_owned(),
            );
        }
        for party in &self.never_connected {
            out.push(format!(
                "{} holds a grant but has never connected: it receives nothing until it dials \
                 us or we know its address.",
                name(party)
            ));
        }
        for b in &self.behind {
            out.push(format!(
                "{} has not received {} of the {} entries of {}.",
                name(&b.party),
                b.missing(),
                b.size,
                b.label
            ));
        }
        out
    }
}

impl Store {
    /// For one of our records at `at`, whether each party it is for has
    /// been served it: for an incident its affected parties, for any other
    /// record every grantee that may read its log now. Empty when `ours`
    /// is not the owner's, or `at` is not in one of our logs.
    pub fn deliveries(&self, ours: &Visible, at: Location) -> Result<Vec<Delivery>, Error> {
        let Some(owner) = self.owner_of(ours)? else {
            return Ok(Vec::new());
        };
        if at.log.origin != owner || !ours.contains(&at.log) {
            return Ok(Vec::new());
        }
        if self
            .state()
            .logs
            .get(&at.log)
            .is_none_or(|s| at.index >= s.tree.len())
        {
            return Ok(Vec::new());
        }
        let now = Timestamp::now();
        let readers = self.readers(at.log, now)?;
        let parties: Vec<Did> = match &self.entry(at)?.record.predicate.body {
            Body::Incident(incident) => {
                let mut affected = incident.affected.clone();
                affected.retain(|p| *p != owner);
                let mut seen = BTreeSet::new();
                affected.retain(|p| seen.insert(*p));
                affected
            }
            _ => readers.iter().copied().collect(),
        };
        let mut first: BTreeMap<Did, Timestamp> = BTreeMap::new();
        for d in self.disclosures_all()? {
            if d.compartment == at.log.compartment
                && d.from <= at.index
                && at.index < d.to
                && parties.contains(&d.party)
            {
                let when = first.entry(d.party).or_insert(d.at);
                *when = (*when).min(d.at);
            }
        }
        Ok(parties
            .into_iter()
            .map(|party| Delivery {
                party,
                may_read: readers.contains(&party),
                received: first.contains_key(&party),
                at: first.get(&party).copied(),
            })
            .collect())
    }

    /// Every grantee behind on one of our non-public logs, and every
    /// grantee that has never connected. Empty when `ours` is not the
    /// owner's.
    pub fn undelivered(&self, ours: &Visible) -> Result<Undelivered, Error> {
        let Some(owner) = self.owner_of(ours)? else {
            return Ok(Undelivered::default());
        };
        let now = Timestamp::now();
        let mut served: BTreeMap<(Did, assure_access::CompartmentId), u64> = BTreeMap::new();
        let mut served_anything: BTreeSet<Did> = BTreeSet::new();
        for d in self.disclosures_all()? {
            served_anything.insert(d.party);
            if d.from < d.to {
                let to = served.entry((d.party, d.compartment)).or_default();
                *to = (*to).max(d.to);
            }
        }
        let ours_logs: Vec<_> = self
            .logs(ours)
            .into_iter()
            .filter(|s| s.log.origin == owner && !s.compartment.rule.is_public())
            .collect();
        let mut behind = Vec::new();
        let mut never_connected = Vec::new();
        for grant in self.grants()? {
            if !grant.is_active(now) || grant.party == owner {
                continue;
            }
            let connected = self.peer(&grant.party)?.and_then(|p| p.last_connected);
            if connected.is_none() && !served_anything.contains(&grant.party) {
                never_connected.push(grant.party);
            }
            let theirs = self.gate(Reader::Party(grant.party), now, "local")?;
            for s in &ours_logs {
                if !theirs.get(&s.log).is_some_and(|a| a.is_disclosure()) {
                    continue;
                }
                let size = s.checkpoint.checkpoint().size();
                let received = served
                    .get(&(grant.party, s.log.compartment))
                    .copied()
                    .unwrap_or(0);
                if received < size {
                    behind.push(Behind {
                        party: grant.party,
                        log: s.log,
                        label: s.compartment.label.clone(),
                        size,
                        received,
                    });
                }
            }
        }
        behind.sort_by_key(|b| (b.log, b.party));
        Ok(Undelivered {
            behind,
            never_connected,
        })
    }

    /// The owner, when `visible` is the owner's gate.
    fn owner_of(&self, visible: &Visible) -> Result<Option<Did>, Error> {
        if !matches!(visible.reader(), Reader::Owner) {
            return Ok(None);
        }
        self.owner()
    }

    /// The parties whose active grant lets them read our `log` at `now`.
    fn readers(&self, log: LogId, now: Timestamp) -> Result<BTreeSet<Did>, Error> {
        let mut readers = BTreeSet::new();
        for grant in self.grants()? {
            if !grant.is_active(now) {
                continue;
            }
            let theirs = self.gate(Reader::Party(grant.party), now, "local")?;
            if theirs.get(&log).is_some_and(|a| a.is_disclosure()) {
                readers.insert(grant.party);
            }
        }
        Ok(readers)
    }

    /// The whole disclosure log, oldest first.
    fn disclosures_all(&self) -> Result<Vec<Disclosure>, Error> {
        self.inner
            .trees
            .disclosures
            .iter()
            .map(|kv| from_json(&kv.within("keyspace `disclosures`")?.1, "disclosure"))
            .collect()
    }
}
