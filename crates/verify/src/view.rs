//! The records visible to a verifier, reduced to those that count: one entry
//! per record with every co-signature merged, withdrawn, superseded,
//! future-dated and unsigned records removed, and expired ones marked.

use std::collections::{BTreeSet, HashMap};

use assure_model::predicate::{AccreditedRole, Body, Kind};
use assure_model::{Did, Record, RecordId};
use jiff::{SignedDuration, Timestamp};

use crate::report::{Evidence, Position};

/// How far in the future a record may be dated and still count, as in
/// validation: clocks differ.
const SKEW: SignedDuration = SignedDuration::from_mins(5);

/// A record the verifier holds, and where it holds it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The validated record.
    pub record: Record,
    /// Its log position, when it came from a log.
    pub position: Option<Position>,
}

/// One record as the engine sees it.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The record (from the first envelope seen).
    pub record: &'a Record,
    /// Every verified signer over all envelopes of this record.
    pub signers: BTreeSet<Did>,
    /// Where it is logged.
    pub position: Option<&'a Position>,
    /// Whether `validUntil` has passed: such a record counts as absent, but
    /// reasons mention it.
    pub expired: bool,
}

impl Entry<'_> {
    /// The record as evidence.
    pub fn evidence(&self) -> Evidence {
        Evidence {
            record: self.record.id,
            kind: self.record.kind(),
            issuer: self.record.issuer(),
            position: self.position.cloned(),
        }
    }

    /// The issue time.
    pub fn issued_at(&self) -> Timestamp {
        self.record.predicate.common.issued_at
    }

    /// Whether the organization issued this about itself.
    pub fn self_issued(&self) -> bool {
        self.record.issuer() == self.record.subject.did
    }
}

/// The records that count, indexed for the requirement checks.
#[derive(Debug)]
pub struct View<'a> {
    now: Timestamp,
    entries: Vec<Entry<'a>>,
    /// Entries about each organization, newest first.
    about: HashMap<Did, Vec<usize>>,
    /// Relationship entries by supplier, newest first.
    supplied_by: HashMap<Did, Vec<usize>>,
    /// Accreditations (any issuer), newest first.
    accreditations: Vec<usize>,
}

impl<'a> View<'a> {
    /// Reduces `seen` to what counts at `now`.
    pub fn new(seen: &'a [Seen], now: Timestamp) -> Self {
        let mut entries: Vec<Entry<'a>> = Vec::with_capacity(seen.len());
        let mut by_id: HashMap<RecordId, usize> = HashMap::with_capacity(seen.len());
        for s in seen {
            let record = &s.record;
            if record.predicate.common.issued_at > now + SKEW
                || !record.signers.contains(&record.issuer())
            {
                continue;
            }
            match by_id.get(&record.id) {
                Some(&at) => entries[at].signers.extend(record.signers.iter().copied()),
                None => {
                    by_id.insert(record.id, entries.len());
                    entries.push(Entry {
                        record,
                        signers: record.signers.iter().copied().collect(),
                        position: s.position.as_ref(),
                        expired: record.expired_at(now),
                    });
                }
            }
        }

        // A withdrawal or a superseding record removes a record only when
        // both have the same issuer.
        let mut removed: HashMap<RecordId, BTreeSet<Did>> = HashMap::new();
        for entry in &entries {
            let common = &entry.record.predicate.common;
            for id in &common.supersedes {
                removed.entry(*id).or_default().insert(common.issuer);
            }
            if let Body::Withdrawal(w) = &entry.record.predicate.body {
                removed
                    .entry(w.withdrawn)
                    .or_default()
                    .insert(common.issuer);
            }
        }
        entries.retain(|e| {
            removed
                .get(&e.record.id)
                .is_none_or(|issuers| !issuers.contains(&e.record.issuer()))
        });
        entries.sort_by_key(|e| std::cmp::Reverse(e.issued_at()));

        let mut about: HashMap<Did, Vec<usize>> = HashMap::new();
        let mut supplied_by: HashMap<Did, Vec<usize>> = HashMap::new();
        let mut accreditations = Vec::new();
        for (at, entry) in entries.iter().enumerate() {
            about.entry(entry.record.subject.did).or_default().push(at);
            match &entry.record.predicate.body {
                Body::Relationship(r) => supplied_by.entry(r.supplier).or_default().push(at),
                Body::Accreditation(_) => accreditations.push(at),
                _ => {}
            }
        }
        Self {
            now,
            entries,
            about,
            supplied_by,
            accreditations,
        }
    }

    /// The time the view is as of.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Every entry about `did` (expired included), newest first.
    pub fn about(&self, did: Did) -> impl Iterator<Item = &Entry<'a>> {
        self.about
            .get(&did)
            .into_iter()
            .flatten()
            .map(|&at| &self.entries[at])
    }

    /// Entries of `kind` about `did` (expired included), newest first.
    pub fn about_of_kind(&self, did: Did, kind: Kind) -> impl Iterator<Item = &Entry<'a>> {
        self.about(did).filter(move |e| e.record.kind() == kind)
    }

    /// Whether the view holds any current record `did` issued about itself,
    /// withdrawals aside: they retract, they do not attest.
    pub fn has_own_records(&self, did: Did) -> bool {
        self.about(did)
            .any(|e| e.self_issued() && !e.expired && e.record.kind() != Kind::Withdrawal)
    }

    /// Relationship entries naming `supplier` (expired included), newest
    /// first.
    pub fn supplied_by(&self, supplier: Did) -> impl Iterator<Item = &Entry<'a>> {
        self.supplied_by
            .get(&supplier)
            .into_iter()
            .flatten()
            .map(|&at| &self.entries[at])
    }

    /// Every relationship entry, newest first.
    pub fn relationships(&self) -> impl Iterator<Item = &Entry<'a>> {
        self.supplied_by
            .values()
            .flatten()
            .map(|&at| &self.entries[at])
    }

    /// The newest current accreditation of `party` in `role` by one of
    /// `anchors` that covers `programme` (any programme when `None`), or else
    /// the newest expired one, to explain why it does not count.
    pub fn accreditation(
        &self,
        party: Did,
        role: AccreditedRole,
        programme: Option<&str>,
        anchors: &BTreeSet<Did>,
    ) -> Option<&Entry<'a>> {
        let mut matching = self
            .accreditations
            .iter()
            .map(|&at| &self.entries[at])
            .filter(|e| {
                let Body::Accreditation(a) = &e.record.predicate.body else {
                    return false;
                };
                e.record.subject.did == party
                    && a.role == role
                    && anchors.contains(&e.record.issuer())
                    && programme.is_none_or(|p| {
                        a.programmes.is_empty() || a.programmes.iter().any(|q| same_name(p, q))
                    })
            });
        let first = matching.next()?;
        if !first.expired {
            return Some(first);
        }
        Some(matching.find(|e| !e.expired).unwrap_or(first))
    }
}

/// Names compared without case and without spaces: "ISO 28000:2022" is
/// "iso28000:2022".
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    squash(a) == squash(b)
}
