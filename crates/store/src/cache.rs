//! Decoded records, kept by their place: a record never changes once
//! appended (logs only grow, and a store's logs are rebuilt only when it
//! opens), so a record decoded once serves every later read of it.
//!
//! The cache answers only for places its caller names; the caller has
//! already applied the read gate to those places (the index and the read
//! methods filter by [`assure_access::Visible`] first). It is bounded in
//! bytes and evicts the least recently used records first.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::keys::Location;
use crate::query::StoredRecord;

/// How many bytes of decoded records a store keeps by default.
pub(crate) const BUDGET: usize = 64 << 20;

/// What a cached record is counted as: its envelope, the decoded record
/// (about as large again: the same strings, parsed) and the bookkeeping.
fn weight(record: &StoredRecord) -> usize {
    2 * record.bytes.len() + 256
}

/// A byte-bounded LRU cache of decoded records.
#[derive(Debug)]
pub(crate) struct Cache {
    budget: usize,
    lru: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    /// Each record, with the tick of its last use.
    held: HashMap<Location, (Arc<StoredRecord>, u64)>,
    /// The places by last use, oldest first.
    order: BTreeMap<u64, Location>,
    tick: u64,
    bytes: usize,
}

impl Default for Cache {
    fn default() -> Self {
        Self::new(BUDGET)
    }
}

impl Cache {
    /// A cache holding at most `budget` bytes of records.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            lru: Mutex::default(),
        }
    }

    fn lru(&self) -> MutexGuard<'_, Lru> {
        // Every update below leaves the maps consistent before it can panic
        // (only allocation can), so a poisoned lock holds a usable cache.
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached records at `places`, in that order (`None` where a
    /// record is not cached); each found one counts as just used.
    pub(crate) fn get_many(&self, places: &[Location]) -> Vec<Option<Arc<StoredRecord>>> {
        let mut lru = self.lru();
        places.iter().map(|at| lru.touch(at)).collect()
    }

    /// Keeps `records`, evicting the least recently used beyond the budget.
    pub(crate) fn insert_many(&self, records: &[Arc<StoredRecord>]) {
        let mut lru = self.lru();
        for record in records {
            let size = weight(record);
            if size > self.budget {
                continue;
            }
            lru.tick += 1;
            let tick = lru.tick;
            if let Some((_, old)) = lru.held.insert(record.location, (record.clone(), tick)) {
                lru.order.remove(&old);
                lru.bytes -= size;
            }
            lru.order.insert(tick, record.location);
            lru.bytes += size;
        }
        while lru.bytes > self.budget {
            let Some((_, at)) = lru.order.pop_first() else {
                break;
            };
            if let Some((record, _)) = lru.held.remove(&at) {
                lru.bytes -= weight(&record);
            }
        }
    }

    /// Bytes held (for tests).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lru().bytes
    }
}

impl Lru {
    fn touch(&mut self, at: &Location) -> Option<Arc<StoredRecord>> {
        self.tick += 1;
        let tick = self.tick;
        let (record, used) = self.held.get_mut(at)?;
        let old = std::mem::replace(used, tick);
        let record = record.clone();
        self.order.remove(&old);
        self.order.insert(tick, *at);
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use assure_access::CompartmentId;
    use assure_model::predicate::{Body, Common, Profile};
    use assure_model::{Keypair, Predicate, SubjectRef, issue};

    use super::*;
    use crate::keys::LogId;

    fn record(index: u64) -> Arc<StoredRecord> {
        let owner = Keypair::from_seed([5; 32]);
        let predicate = Predicate {
            common: Common {
                issuer: owner.did(),
                issued_at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
                valid_until: None,
                supersedes: vec![],
                clauses: vec![],
                domain: None,
            },
            body: Body::Profile(Profile {
                legal_name: format!("Org {index}"),
                identifiers: Default::default(),
                roles: vec![],
                security_contact: None,
            }),
        };
        let (bytes, record) = issue(&owner, &SubjectRef::org(owner.did()), &predicate).unwrap();
        let log = LogId {
            origin: owner.did(),
            compartment: CompartmentId::from_bytes([1; 16]),
        };
        Arc::new(StoredRecord {
            location: Location { log, index },
            bytes,
            record,
        })
    }

    #[test]
    fn the_least_recently_used_records_leave_once_the_budget_is_spent() {
        let records: Vec<_> = (0..4).map(record).collect();
        let size = weight(&records[0]);
        let cache = Cache::new(3 * size + size / 2);
        cache.insert_many(&records[..3]);
        let places: Vec<Location> = records.iter().map(|r| r.location).collect();
        // Using the first makes the second the oldest.
        assert!(cache.get_many(&places[..1])[0].is_some());
        cache.insert_many(&records[3..]);
        let held: Vec<bool> = cache
            .get_many(&places)
            .iter()
            .map(Option::is_some)
            .collect();
        assert_eq!(held, [true, false, true, true]);
        assert!(cache.bytes() <= 3 * size + size / 2);
        // Putting a record in again does not count it twice.
        cache.insert_many(&records[3..]);
        assert_eq!(cache.bytes(), 3 * size);
    }

    #[test]
    fn a_record_larger_than_the_budget_is_not_kept() {
        let one = record(0);
        let cache = Cache::new(weight(&one) - 1);
        cache.insert_many(std::slice::from_ref(&one));
        assert!(cache.get_many(&[one.location])[0].is_none());
        assert_eq!(cache.bytes(), 0);
    }
}
