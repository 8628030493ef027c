//! Reading records back: by id, by log, and through the index by subject,
//! kind and time.

use assure_model::{Did, Kind, Record, RecordId};
use jiff::Timestamp;

use crate::keys::{Location, LogId};
use crate::{Error, Store};

/// A stored record with its place and its bytes as stored.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    /// Where it sits.
    pub location: Location,
    /// The envelope, byte for byte.
    pub bytes: Vec<u8>,
    /// The decoded record.
    pub record: Record,
}

/// Which records to list. Every field narrows the result.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only records in these logs (all logs when empty).
    pub logs: Vec<LogId>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records about this organization.
    pub subject: Option<Did>,
    /// Only records issued at or after this time.
    pub since: Option<Timestamp>,
    /// Only records after this one in the order newest first (a page
    /// cursor: the last record of the previous page). Used by
    /// [`Store::page`].
    pub after: Option<(Timestamp, Location)>,
}

/// A record as listed from the index, with its envelope bytes, undecoded.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The record id.
    pub id: RecordId,
    /// Its kind.
    pub kind: Kind,
    /// The organization it is about.
    pub subject: Did,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// Where it sits.
    pub location: Location,
    /// The envelope, byte for byte.
    pub bytes: Vec<u8>,
}

impl Store {
    /// The record at a location.
    pub fn entry(&self, at: Location) -> Result<StoredRecord, Error> {
        let size = self.log_state(at.log).map_or(0, |s| s.tree.len());
        let bytes = self
            .entries(at.log, at.index, 1)?
            .pop()
            .ok_or(Error::OutOfRange {
                index: at.index,
                size,
            })?;
        decode(at, bytes)
    }

    /// Every place a record is stored (the same record may sit in several logs,
    /// for example once as issued and once co-signed).
    pub fn locations(&self, id: &RecordId) -> Result<Vec<Location>, Error> {
        Ok(self.state().index.locations(id))
    }

    /// Records matching `filter`, newest first, at most `limit`.
    pub fn records(&self, filter: &Filter, limit: usize) -> Result<Vec<StoredRecord>, Error> {
        let found = self.state().index.query(filter, limit);
        found.into_iter().map(|at| self.entry(at)).collect()
    }

    /// A page of records matching `filter`, newest first, without decoding
    /// them: the index gives kind, subject and time; the envelopes are read
    /// page by page.
    pub fn page(&self, filter: &Filter, limit: usize) -> Result<Vec<Listed>, Error> {
        let found = self.state().index.page(filter, limit);
        let mut cache: std::collections::HashMap<LogId, (u64, Vec<Vec<u8>>)> =
            std::collections::HashMap::new();
        let mut out = Vec::with_capacity(found.len());
        for (tuple, location) in found {
            let (start, chunk) = cache.entry(location.log).or_insert((u64::MAX, Vec::new()));
            let held = location.index >= *start && location.index < *start + chunk.len() as u64;
            if !held {
                // Read a run of entries around this one: listings of one log
                // are mostly contiguous.
                let from = location.index.saturating_sub(63);
                *chunk = self.entries(location.log, from, 128)?;
                *start = from;
            }
            let bytes = chunk
                .get((location.index - *start) as usize)
                .cloned()
                .ok_or_else(|| Error::corrupt(format!("entry {} is missing", location.index)))?;
            out.push(Listed {
                id: tuple.id,
                kind: tuple.kind,
                subject: tuple.subject,
                issued_at: tuple.issued_at,
                location,
                bytes,
            });
        }
        Ok(out)
    }

    /// Every record this node holds, with its log position and the size of
    /// the log's checkpoint: the records a verification may rest on.
    pub fn seen(&self) -> Result<Vec<assure_verify::Seen>, Error> {
        let state = self.state();
        let found = state.index.query(&Filter::default(), usize::MAX);
        let sizes: std::collections::HashMap<LogId, (String, u64)> = state
            .logs
            .iter()
            .map(|(log, s)| (*log, (log.origin_line(), s.checkpoint.checkpoint().size())))
            .collect();
        drop(state);
        found
            .into_iter()
            .map(|at| {
                let stored = self.entry(at)?;
                let position = sizes
                    .get(&at.log)
                    .map(|(origin, size)| assure_verify::Position {
                        log: origin.clone(),
                        index: at.index,
                        checkpoint: *size,
                    });
                Ok(assure_verify::Seen {
                    record: stored.record,
                    position,
                })
            })
            .collect()
    }

    /// Every record of one log, in log order.
    pub fn log_records(&self, log: LogId) -> Result<Vec<StoredRecord>, Error> {
        let size = self.log_state(log).map_or(0, |s| s.tree.len());
        self.entries(log, 0, size)?
            .into_iter()
            .enumerate()
            .map(|(index, bytes)| {
                decode(
                    Location {
                        log,
                        index: index as u64,
                    },
                    bytes,
                )
            })
            .collect()
    }
}

/// Decodes a stored envelope. It was fully validated before it was stored, and
/// the log it sits in matched its signed checkpoint at open, so only parsing
/// is repeated here.
fn decode(location: Location, bytes: Vec<u8>) -> Result<StoredRecord, Error> {
    let record = assure_model::parse(&bytes, Timestamp::MAX)
        .map_err(|e| {
            Error::corrupt(format!(
                "entry {} of {:?}: {e}",
                location.index, location.log
            ))
        })?
        .into_verified_record();
    Ok(StoredRecord {
        location,
        bytes,
        record,
    })
}
