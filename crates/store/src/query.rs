//! Reading records back: by id, by log, and through the indexes by subject,
//! kind and time.

use assure_model::{Did, Kind, Record, RecordId};
use jiff::Timestamp;

use crate::keys::{LOG_ID_LEN, Location, LogId, time_key};
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
}

impl Store {
    /// The record at a location.
    pub fn entry(&self, at: Location) -> Result<StoredRecord, Error> {
        let bytes = self
            .inner
            .trees
            .entries
            .get(at.to_bytes())?
            .ok_or(Error::OutOfRange {
                index: at.index,
                size: 0,
            })?
            .to_vec();
        decode(at, bytes)
    }

    /// Every place a record is stored (the same record may sit in several logs,
    /// for example once as issued and once co-signed).
    pub fn locations(&self, id: &RecordId) -> Result<Vec<Location>, Error> {
        self.inner
            .trees
            .records
            .scan_prefix(id.0)
            .map(|kv| {
                let (key, _) = kv?;
                Location::from_bytes(&key[32..]).ok_or_else(|| Error::corrupt("record index"))
            })
            .collect()
    }

    /// Records matching `filter`, newest first, at most `limit`.
    pub fn records(&self, filter: &Filter, limit: usize) -> Result<Vec<StoredRecord>, Error> {
        let trees = &self.inner.trees;
        let (tree, prefix) = match (filter.subject, filter.kind) {
            (Some(subject), _) => (&trees.by_subject, subject.public_bytes().to_vec()),
            (None, Some(kind)) => (&trees.by_kind, vec![kind_index(kind)]),
            (None, None) => (&trees.by_time, Vec::new()),
        };
        let mut out = Vec::new();
        for item in tree.scan_prefix(&prefix).rev() {
            let (key, value) = item?;
            if let Some(since) = filter.since {
                let at = key.get(prefix.len()..prefix.len() + 8);
                if at.is_some_and(|at| at < time_key(since).as_slice()) {
                    break;
                }
            }
            let location = Location::from_bytes(&value).ok_or_else(|| Error::corrupt("index"))?;
            if !filter.logs.is_empty() && !filter.logs.contains(&location.log) {
                continue;
            }
            let stored = self.entry(location)?;
            if filter.kind.is_some_and(|kind| stored.record.kind() != kind) {
                continue;
            }
            out.push(stored);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Every record of one log, in log order.
    pub fn log_records(&self, log: LogId) -> Result<Vec<StoredRecord>, Error> {
        self.inner
            .trees
            .entries
            .scan_prefix(log.to_bytes())
            .map(|kv| {
                let (key, bytes) = kv?;
                let index = u64::from_be_bytes(
                    key[LOG_ID_LEN..]
                        .try_into()
                        .map_err(|_| Error::corrupt("entry key"))?,
                );
                decode(Location { log, index }, bytes.to_vec())
            })
            .collect()
    }
}

pub(crate) fn kind_index(kind: Kind) -> u8 {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8
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
