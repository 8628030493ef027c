//! Everything the store releases, and only for a [`Visible`] set that the
//! read gate of `assure-access` made (DESIGN.md §4).
//!
//! Entries, records, checkpoints, trees, counts, evidence and alerts leave
//! the store here and nowhere else. Every method takes the reader's
//! `Visible` and answers from its logs alone: a log outside the set reads
//! exactly as a log that does not exist. The methods that hand out entries
//! write the disclosure log themselves, durably, before they return, for
//! every log the reader reads under a grant.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use assure_access::{Reader, Visible, gate};
use assure_log::{Blake3, Tree};
use assure_model::RecordId;
use jiff::Timestamp;

use crate::grants::Disclosure;
use crate::keys::{Location, LogId};
use crate::logs::LogState;
use crate::logs::LogSummary;
use crate::pages::Tuple;
use crate::query::{Filter, Listed, StoredRecord};
use crate::replica::{Alert, Evidence};
use crate::{Error, Store};

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page {
    /// The records, newest first.
    pub items: Vec<Listed>,
    /// Where the next page starts, when more records match.
    pub next: Option<(Timestamp, Location)>,
}

impl Store {
    /// The read gate applied to what this store holds: the logs `reader` may
    /// read at `now`, for disclosures made on `channel`.
    ///
    /// The grant consulted is the owner's current grant for the reading
    /// party; the rules are those of the compartments as held (for a
    /// replica, as its author labelled it).
    pub fn gate(
        &self,
        reader: Reader,
        now: Timestamp,
        channel: &'static str,
    ) -> Result<Visible, Error> {
        self.gate_vouched(reader, &BTreeSet::new(), now, channel)
    }

    /// [`Store::gate`], for a reader that showed, for the replicas in
    /// `vouched`, their authors' word that it may read them (witness
    /// tickets, checked by the caller).
    pub fn gate_vouched(
        &self,
        reader: Reader,
        vouched: &BTreeSet<LogId>,
        now: Timestamp,
        channel: &'static str,
    ) -> Result<Visible, Error> {
        let owner = self
            .owner()?
            .ok_or_else(|| Error::corrupt("meta/owner (no identity)"))?;
        let grant = match &reader {
            Reader::Party(party) => self.grant(party)?,
            _ => None,
        };
        let state = self.state();
        Ok(gate(
            owner,
            reader,
            grant.as_ref(),
            state
                .logs
                .iter()
                .map(|(log, s)| (*log, &s.compartment.rule)),
            vouched,
            now,
            channel,
        ))
    }

    /// The gate for the node's own organization: everything it holds, for
    /// its own operations (publishing, backups, the operator's commands).
    pub fn as_owner(&self) -> Result<Visible, Error> {
        self.gate(Reader::Owner, Timestamp::now(), "local")
    }

    /// The owner's compartment with this label or id, for the owner's own
    /// operations: labels are the owner's alone, so any other reader finds
    /// nothing.
    pub fn find_compartment(&self, ours: &Visible, name: &str) -> Result<LogSummary, Error> {
        let owner = self.owner()?;
        self.logs(ours)
            .into_iter()
            .filter(|s| matches!(ours.reader(), Reader::Owner) && Some(s.log.origin) == owner)
            .find(|s| s.compartment.label == name || s.compartment.id.to_string() == name)
            .ok_or_else(|| Error::NoCompartment(name.to_owned()))
    }

    /// The readable logs, with their compartment and head.
    pub fn logs(&self, visible: &Visible) -> Vec<LogSummary> {
        self.state()
            .logs
            .iter()
            .filter(|(log, _)| visible.contains(log))
            .map(|(log, state)| LogSummary {
                log: *log,
                compartment: state.compartment.clone(),
                checkpoint: state.checkpoint.clone(),
            })
            .collect()
    }

    /// The heads of the readable logs, to send: each non-public one shown
    /// to a party is disclosed (its size, no entries).
    pub fn heads(&self, visible: &Visible) -> Result<Vec<LogSummary>, Error> {
        let heads = self.logs(visible);
        self.disclose_heads(visible, heads.iter().map(|s| s.log))?;
        Ok(heads)
    }

    /// How many readable records there are about each organization, to
    /// send: the logs counted are disclosed as heads.
    pub fn subjects(&self, visible: &Visible) -> Result<BTreeMap<assure_model::Did, usize>, Error> {
        let (counts, logs) = self.state().index.subjects(visible);
        self.disclose_heads(visible, logs)?;
        Ok(counts)
    }

    /// One readable log's compartment and head.
    pub fn log(&self, visible: &Visible, log: LogId) -> Option<LogSummary> {
        if !visible.contains(&log) {
            return None;
        }
        let state = self.state();
        let held = state.logs.get(&log)?;
        Some(LogSummary {
            log,
            compartment: held.compartment.clone(),
            checkpoint: held.checkpoint.clone(),
        })
    }

    /// The full state (tree and head) of a readable log.
    pub fn log_state(&self, visible: &Visible, log: LogId) -> Option<LogState> {
        if !visible.contains(&log) {
            return None;
        }
        self.state().logs.get(&log).cloned()
    }

    /// The Merkle tree of a readable log.
    pub fn tree(&self, visible: &Visible, log: LogId) -> Option<Tree<Blake3>> {
        if !visible.contains(&log) {
            return None;
        }
        self.state().logs.get(&log).map(|s| s.tree.clone())
    }

    /// Entries `from..from+max` of a readable log, as stored, at most
    /// `max_bytes` of them (but at least one), after the disclosure of what
    /// is returned is durable. `None` for a log outside the set.
    pub fn read_entries(
        &self,
        visible: &Visible,
        log: LogId,
        from: u64,
        max: u64,
        max_bytes: usize,
    ) -> Result<Option<Vec<Vec<u8>>>, Error> {
        if !visible.contains(&log) {
            return Ok(None);
        }
        let mut entries = self.entries(log, from, max)?;
        let mut bytes = 0;
        let fit = entries
            .iter()
            .take_while(|e| {
                bytes += e.len();
                bytes <= max_bytes
            })
            .count();
        entries.truncate(fit.max(1));
        let shown = (from..from + entries.len() as u64).map(|index| Location { log, index });
        self.disclose(visible, shown)?;
        Ok(Some(entries))
    }

    /// Every record of a readable log, in log order, disclosed.
    pub fn read_log(&self, visible: &Visible, log: LogId) -> Result<Vec<StoredRecord>, Error> {
        if !visible.contains(&log) {
            return Ok(Vec::new());
        }
        let records = self.log_records(log)?;
        self.disclose(visible, records.iter().map(|r| r.location))?;
        Ok(records)
    }

    /// Where a record sits, among the readable logs.
    pub fn locations(&self, visible: &Visible, id: &RecordId) -> Vec<Location> {
        let mut found = self.state().index.locations(id);
        found.retain(|at| visible.contains(&at.log));
        found
    }

    /// A record, from every readable log that holds it, disclosed.
    pub fn record(&self, visible: &Visible, id: &RecordId) -> Result<Vec<StoredRecord>, Error> {
        let found = self.records_at(&self.locations(visible, id))?;
        self.disclose(visible, found.iter().map(|r| r.location))?;
        Ok(found.into_iter().map(Arc::unwrap_or_clone).collect())
    }

    /// Readable records matching `filter`, newest first, at most `limit`,
    /// decoded and disclosed.
    pub fn records(
        &self,
        visible: &Visible,
        filter: &Filter,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, Error> {
        // As documented on `Filter::domain`: only pages apply it.
        let places: Vec<Location> = self
            .state()
            .index
            .page(
                visible,
                &Filter {
                    domain: None,
                    ..filter.clone()
                },
                limit,
            )
            .into_iter()
            .map(|(_, at, _)| at)
            .collect();
        let records = self.records_at(&places)?;
        self.disclose(visible, records.iter().map(|r| r.location))?;
        Ok(records.into_iter().map(Arc::unwrap_or_clone).collect())
    }

    /// The legal name of each organization whose own newest `profile`
    /// record the reader may read: the one place names are looked up, for
    /// every table, page and alert that shows an organization. Disclosed as
    /// read.
    pub fn names(&self, visible: &Visible) -> Result<BTreeMap<assure_model::Did, String>, Error> {
        let profiles = self.records(
            visible,
            &Filter {
                kind: Some(assure_model::Kind::Profile),
                ..Filter::default()
            },
            usize::MAX,
        )?;
        let mut names = BTreeMap::new();
        for stored in &profiles {
            if let assure_model::Body::Profile(profile) = &stored.record.predicate.body
                && stored.record.issuer() == stored.record.subject.did
            {
                names
                    .entry(stored.record.subject.did)
                    .or_insert_with(|| profile.legal_name.clone());
            }
        }
        Ok(names)
    }

    /// A page of at most `limit` readable records matching `filter`, newest
    /// first, without decoding them, disclosed; with the cursor of the next
    /// page when more match.
    pub fn page(&self, visible: &Visible, filter: &Filter, limit: usize) -> Result<Page, Error> {
        let page = self.scan(visible, filter, limit)?;
        self.disclose(visible, page.items.iter().map(|l| l.location))?;
        Ok(page)
    }

    /// [`Store::page`] with nothing disclosed, for a reader that looks
    /// through records to pick the few it shows (a search, the latest
    /// statement of each control): it discloses those with
    /// [`Store::disclose`] as it sends them.
    pub fn scan(&self, visible: &Visible, filter: &Filter, limit: usize) -> Result<Page, Error> {
        let (found, more) = self.select(visible, filter, limit)?;
        let places: Vec<Location> = found.iter().map(|(_, at)| *at).collect();
        let mut bytes: std::collections::HashMap<Location, Vec<u8>> =
            self.envelopes_at(&places)?.into_iter().collect();
        let items: Vec<Listed> = found
            .into_iter()
            .map(|(tuple, location)| {
                let bytes = bytes.remove(&location).ok_or_else(|| {
                    Error::corrupt(format!("entry {} is missing", location.index))
                })?;
                Ok(Listed {
                    id: tuple.id,
                    kind: tuple.kind,
                    subject: tuple.subject,
                    issued_at: tuple.issued_at,
                    location,
                    bytes,
                })
            })
            .collect::<Result<_, Error>>()?;
        let next = if more {
            items.last().map(|l| (l.issued_at, l.location))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The places of at most `limit` readable records matching `filter`,
    /// newest first, and whether more match. The index answers alone,
    /// under the store's lock, except for the domains it does not know yet:
    /// those records are decoded (outside the lock, once: the cache and the
    /// index keep what was learnt) and checked.
    fn select(
        &self,
        visible: &Visible,
        filter: &Filter,
        limit: usize,
    ) -> Result<(Vec<(Tuple, Location)>, bool), Error> {
        let Some(want) = filter.domain else {
            let mut found: Vec<(Tuple, Location)> = self
                .state()
                .index
                .page(visible, filter, limit.saturating_add(1))
                .into_iter()
                .map(|(tuple, at, _)| (tuple, at))
                .collect();
            let more = found.len() > limit;
            found.truncate(limit);
            return Ok((found, more));
        };
        let mut items = Vec::with_capacity(limit.min(1024));
        let mut cursor = filter.after;
        // Records of unknown domain drop out once decoded: read on until the
        // page is full and one more match is seen, or the records run out.
        loop {
            let batch = self.state().index.page(
                visible,
                &Filter {
                    after: cursor,
                    ..filter.clone()
                },
                limit.saturating_add(1),
            );
            let exhausted = batch.len() <= limit;
            let unknown: Vec<Location> = batch
                .iter()
                .filter(|(_, _, known)| known.get().is_none())
                .map(|(_, at, _)| *at)
                .collect();
            let learnt: std::collections::HashMap<Location, Option<assure_model::Domain>> = self
                .records_at(&unknown)?
                .iter()
                .map(|r| (r.location, r.record.predicate.common.domain))
                .collect();
            for (tuple, at, known) in batch {
                cursor = Some((tuple.issued_at, at));
                let domain = known.get().or_else(|| learnt.get(&at).copied());
                if domain != Some(Some(want)) {
                    continue;
                }
                if items.len() == limit {
                    return Ok((items, true));
                }
                items.push((tuple, at));
            }
            if exhausted {
                return Ok((items, false));
            }
        }
    }

    /// Every readable record with its log position and the size of the
    /// log's checkpoint: what a verification for this reader may rest on.
    ///
    /// Nothing is disclosed here: a verification shows its reader a report,
    /// not these records; the report's evidence is disclosed with
    /// [`Store::disclose`] when it is sent.
    pub fn seen(&self, visible: &Visible) -> Result<Vec<assure_verify::Seen>, Error> {
        self.seen_at(visible, |state| {
            state
                .index
                .page(visible, &Filter::default(), usize::MAX)
                .into_iter()
                .map(|(_, at, _)| at)
                .collect()
        })
    }

    /// What [`assure_verify::verify`] of `provider` reads, for
    /// [`assure_verify::View::new`]: the readable records about it, and
    /// those of the kinds a verification of anyone reads
    /// ([`assure_verify::Reads`]). A view of these gives the same report
    /// as a view of every record, and costs the records found rather than
    /// the node's size.
    pub fn seen_for(
        &self,
        visible: &Visible,
        provider: assure_model::Did,
    ) -> Result<Vec<assure_verify::Seen>, Error> {
        let reads = assure_verify::Reads::of(provider);
        self.seen_at(visible, |state| {
            state.index.about(visible, &reads.subjects, &reads.kinds)
        })
    }

    /// The records at the places `find` picks, with their positions.
    fn seen_at(
        &self,
        visible: &Visible,
        find: impl FnOnce(&mut crate::State) -> Vec<Location>,
    ) -> Result<Vec<assure_verify::Seen>, Error> {
        let (found, sizes) = {
            let mut state = self.state();
            let found = find(&mut state);
            let sizes: std::collections::HashMap<LogId, (String, u64)> = state
                .logs
                .iter()
                .filter(|(log, _)| visible.contains(log))
                .map(|(log, s)| (*log, (log.origin_line(), s.checkpoint.checkpoint().size())))
                .collect();
            (found, sizes)
        };
        let records = self.records_at(&found)?;
        Ok(records
            .into_iter()
            .map(|stored| {
                let at = stored.location;
                let position = sizes
                    .get(&at.log)
                    .map(|(origin, size)| assure_verify::Position {
                        log: origin.clone(),
                        index: at.index,
                        checkpoint: *size,
                    });
                assure_verify::Seen {
                    record: stored.record.clone(),
                    position,
                }
            })
            .collect())
    }

    /// How many readable records match `filter`.
    pub fn count(&self, visible: &Visible, filter: &Filter) -> usize {
        self.state().index.count(visible, filter)
    }

    /// The equivocation evidence that froze a readable log.
    pub fn evidence(&self, visible: &Visible, log: LogId) -> Result<Option<Evidence>, Error> {
        if !visible.contains(&log) {
            return Ok(None);
        }
        self.evidence_of(log)
    }

    /// Every piece of evidence held about readable logs.
    pub fn all_evidence(&self, visible: &Visible) -> Result<Vec<(LogId, Evidence)>, Error> {
        let mut all = self.evidence_all()?;
        all.retain(|(log, _)| visible.contains(log));
        Ok(all)
    }

    /// The alerts about readable logs, oldest first. An alert that names no
    /// log is the owner's alone.
    pub fn alerts(&self, visible: &Visible) -> Result<Vec<Alert>, Error> {
        let mut all = self.alerts_all()?;
        let owner = matches!(visible.reader(), Reader::Owner);
        all.retain(|alert| match alert.log() {
            Some(log) => visible.contains(&log),
            None => owner,
        });
        Ok(all)
    }

    /// Records that the entries at `shown` were served to the reader of
    /// `visible`, one disclosure per run of consecutive entries of a log
    /// read under a grant, durably. Entries of logs outside the set, and of
    /// logs read without a grant, are not disclosures.
    ///
    /// The read methods above call this themselves; callers call it for
    /// what they derive and send (a verification report's evidence).
    pub fn disclose(
        &self,
        visible: &Visible,
        shown: impl IntoIterator<Item = Location>,
    ) -> Result<(), Error> {
        let Some(party) = visible.party() else {
            return Ok(());
        };
        let mut by_log: BTreeMap<LogId, Vec<u64>> = BTreeMap::new();
        for at in shown {
            if visible.get(&at.log).is_some_and(|a| a.is_disclosure()) {
                by_log.entry(at.log).or_default().push(at.index);
            }
        }
        let now = visible.decided_at();
        let mut disclosures = Vec::new();
        for (log, mut indexes) in by_log {
            indexes.sort_unstable();
            indexes.dedup();
            let grant_version = visible.get(&log).and_then(|a| a.grant_version());
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for index in indexes {
                match runs.last_mut() {
                    Some((_, to)) if *to == index => *to += 1,
                    _ => runs.push((index, index + 1)),
                }
            }
            disclosures.extend(runs.into_iter().map(|(from, to)| Disclosure {
                at: now,
                party,
                compartment: log.compartment,
                from,
                to,
                grant_version,
                channel: visible.channel().into(),
                purpose: visible.purpose().map(str::to_owned),
            }));
        }
        if disclosures.is_empty() {
            return Ok(());
        }
        self.log_disclosures(&disclosures)
    }

    /// Records that the heads (size and root, no entries) of `logs` were
    /// shown to the reader of `visible`: a checkpoint, or a count.
    pub fn disclose_heads(
        &self,
        visible: &Visible,
        logs: impl IntoIterator<Item = LogId>,
    ) -> Result<(), Error> {
        let Some(party) = visible.party() else {
            return Ok(());
        };
        let now = visible.decided_at();
        let mut state = self.state();
        let network = visible.channel() == "network";
        let disclosures: Vec<Disclosure> = logs
            .into_iter()
            .filter_map(|log| {
                let access = visible.get(&log).filter(|a| a.is_disclosure())?;
                let size = state.logs.get(&log)?.tree.len();
                let shown = (size, access.grant_version());
                if network && state.heads_shown.insert((party, log), shown) == Some(shown) {
                    // A peer's poll or witness round showing the head it was
                    // already shown under the same grant.
                    return None;
                }
                Some(Disclosure {
                    at: now,
                    party,
                    compartment: log.compartment,
                    from: size,
                    to: size,
                    grant_version: access.grant_version(),
                    channel: visible.channel().into(),
                    purpose: visible.purpose().map(str::to_owned),
                })
            })
            .collect();
        drop(state);
        if disclosures.is_empty() {
            return Ok(());
        }
        let written = self.log_disclosures(&disclosures);
        if written.is_err() {
            // Not logged: the next showing must be.
            let mut state = self.state();
            for d in &disclosures {
                state
                    .heads_shown
                    .retain(|(p, l), _| !(*p == d.party && l.compartment == d.compartment));
            }
        }
        written
    }

    /// A readable record at a known place.
    pub fn entry_at(&self, visible: &Visible, at: Location) -> Result<Option<StoredRecord>, Error> {
        if !visible.contains(&at.log) {
            return Ok(None);
        }
        let record = self.entry(at)?;
        self.disclose(visible, [at])?;
        Ok(Some(record))
    }
}
