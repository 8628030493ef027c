//! Reading records back: by id, by log, and through the index by subject,
//! kind and time.

use std::sync::Arc;

use assure_log::{Blake3, Hasher as _};
use assure_model::{Did, Kind, Record, RecordId};
use jiff::Timestamp;
use rayon::prelude::*;

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
    /// [`Store::page`] and [`Store::scan`]: the tuples on disk hold no
    /// domain, so the index learns each record's as a read decodes it, and
    /// a page decodes only the candidates whose domain is not known yet).
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

/// How many records [`Store::records_at`] reads and decodes at a time:
/// enough for the segment reads to coalesce and the decoding to share out
/// over the cores, few enough that a large read does not hold every
/// envelope at once.
const BATCH: usize = 4096;
/// From how many records on decoding is shared out over the cores.
const PARALLEL: usize = 32;

impl Store {
    /// The record at a location.
    pub(crate) fn entry(&self, at: Location) -> Result<StoredRecord, Error> {
        let mut found = self.records_at(&[at])?;
        found.pop().map(Arc::unwrap_or_clone).ok_or_else(|| {
            let size = self.state().logs.get(&at.log).map_or(0, |s| s.tree.len());
            Error::OutOfRange {
                index: at.index,
                size,
            }
        })
    }

    /// Every record of one log, in log order.
    pub(crate) fn log_records(&self, log: LogId) -> Result<Vec<StoredRecord>, Error> {
        let size = self.state().logs.get(&log).map_or(0, |s| s.tree.len());
        let places: Vec<Location> = (0..size).map(|index| Location { log, index }).collect();
        Ok(self
            .records_at(&places)?
            .into_iter()
            .map(Arc::unwrap_or_clone)
            .collect())
    }

    /// The records at `places`, in that order, from the cache or read in
    /// batches (one segment read per batch, adjacent envelopes coalesced)
    /// and decoded on every core. A place beyond its log is left out. The
    /// caller has applied the read gate to `places`.
    pub(crate) fn records_at(&self, places: &[Location]) -> Result<Vec<Arc<StoredRecord>>, Error> {
        let mut out = Vec::with_capacity(places.len());
        for chunk in places.chunks(BATCH) {
            let mut found = self.inner.records.get_many(chunk);
            let missing: Vec<Location> = chunk
                .iter()
                .zip(&found)
                .filter(|(_, hit)| hit.is_none())
                .map(|(at, _)| *at)
                .collect();
            if !missing.is_empty() {
                let read = self.read_decoded(&missing)?;
                self.inner.records.insert_many(&read);
                {
                    let mut state = self.state();
                    for r in &read {
                        let domain = r.record.predicate.common.domain;
                        state.index.learn(&r.record.id, r.location, domain);
                    }
                }
                let mut read: std::collections::HashMap<Location, Arc<StoredRecord>> =
                    read.into_iter().map(|r| (r.location, r)).collect();
                for (at, slot) in chunk.iter().zip(found.iter_mut()) {
                    if slot.is_none() {
                        *slot = read.get(at).cloned();
                    }
                }
                read.clear();
            }
            out.extend(found.into_iter().flatten());
        }
        Ok(out)
    }

    /// The envelopes at `places`, in that order, from the cache or read in
    /// one segment read per batch, undecoded. A place beyond its log is
    /// left out. The caller has applied the read gate to `places`.
    pub(crate) fn envelopes_at(
        &self,
        places: &[Location],
    ) -> Result<Vec<(Location, Vec<u8>)>, Error> {
        let mut out = Vec::with_capacity(places.len());
        for chunk in places.chunks(BATCH) {
            let found = self.inner.records.get_many(chunk);
            let missing: Vec<Location> = chunk
                .iter()
                .zip(&found)
                .filter(|(_, hit)| hit.is_none())
                .map(|(at, _)| *at)
                .collect();
            let mut read: std::collections::HashMap<Location, Vec<u8>> =
                self.read_raw(&missing)?.into_iter().collect();
            for (at, hit) in chunk.iter().zip(found) {
                let bytes = match hit {
                    Some(record) => Some(record.bytes.clone()),
                    None => read.remove(at),
                };
                out.extend(bytes.map(|b| (*at, b)));
            }
        }
        Ok(out)
    }

    /// Reads and decodes the records at `places`.
    fn read_decoded(&self, places: &[Location]) -> Result<Vec<Arc<StoredRecord>>, Error> {
        let checked = self.read_raw(places)?;
        let one = |(at, bytes): (Location, Vec<u8>)| decode(at, bytes).map(Arc::new);
        // Handing a few records to the thread pool costs more than it saves.
        match checked.len() < PARALLEL {
            true => checked.into_iter().map(one).collect(),
            false => checked.into_par_iter().map(one).collect(),
        }
    }

    /// Reads the envelopes at `places` (sorted here, so that neighbours
    /// coalesce into one read), each checked against its leaf hash: the
    /// store's lock is held only to look up where they are.
    fn read_raw(&self, places: &[Location]) -> Result<Vec<(Location, Vec<u8>)>, Error> {
        if places.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted = places.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut wanted = Vec::with_capacity(sorted.len());
        let mut spots = Vec::with_capacity(sorted.len());
        let mut leaves = Vec::with_capacity(sorted.len());
        {
            let state = self.state();
            for at in sorted {
                let (Some(held), Some(places)) =
                    (state.logs.get(&at.log), state.places.get(&at.log))
                else {
                    continue;
                };
                let (Some(spot), Some(leaf)) = (
                    places.get(at.index as usize),
                    held.tree.leaf_hashes().get(at.index as usize),
                ) else {
                    continue;
                };
                wanted.push(at);
                spots.push(*spot);
                leaves.push(*leaf);
            }
        }
        let envelopes = self.inner.segments.read(&spots)?;
        let mut out = Vec::with_capacity(wanted.len());
        for ((at, bytes), leaf) in wanted.into_iter().zip(envelopes).zip(leaves) {
            if Blake3::leaf(&bytes) != leaf {
                return Err(self.damaged_at(at));
            }
            out.push((at, bytes));
        }
        Ok(out)
    }

    /// The error for an envelope that does not match its leaf hash.
    fn damaged_at(&self, at: Location) -> Error {
        let compartment = self
            .state()
            .logs
            .get(&at.log)
            .map(|s| s.compartment.clone());
        match compartment {
            Some(compartment) => self.damaged(
                at.log,
                &compartment,
                format!("entry {} does not match its leaf hash", at.index),
            ),
            None => Error::corrupt(format!("entry {} of {:?}", at.index, at.log)),
        }
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
