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

/// Which records to list, among the logs a reader may read (narrow the
/// logs with [`assure_access::Visible::narrow`]). Every field narrows the
/// result; `None` is no filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only records about this organization.
    pub subject: Option<Did>,
    /// Only records issued at or after this time.
    pub since: Option<Timestamp>,
    /// Only records whose predicate names this domain (applied by
    /// [`Store::page`], which reads the envelopes; the index knows no
    /// domains).
    pub domain: Option<assure_model::Domain>,
    /// Only records after this one in the order newest first (a page
    /// cursor: the last record of the previous page).
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
    pub(crate) fn entry(&self, at: Location) -> Result<StoredRecord, Error> {
        let size = self.state().logs.get(&at.log).map_or(0, |s| s.tree.len());
        let bytes = self
            .entries(at.log, at.index, 1)?
            .pop()
            .ok_or(Error::OutOfRange {
                index: at.index,
                size,
            })?;
        decode(at, bytes)
    }

    /// Every record of one log, in log order.
    pub(crate) fn log_records(&self, log: LogId) -> Result<Vec<StoredRecord>, Error> {
        let size = self.state().logs.get(&log).map_or(0, |s| s.tree.len());
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
pub(crate) fn decode(location: Location, bytes: Vec<u8>) -> Result<StoredRecord, Error> {
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
