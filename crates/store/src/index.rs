//! The record index, held in memory and rebuilt at open from the index pages:
//! where each record sits, and lookups by subject, kind and time.

use std::collections::HashMap;

use assure_access::Visible;
use assure_model::predicate::Kind;
use assure_model::{Did, Domain, RecordId};

use crate::keys::{Location, LogId};
use crate::pages::Tuple;
use crate::query::Filter;

/// Every stored record's tuple and place.
#[derive(Debug, Default)]
pub(crate) struct Index {
    items: Vec<(Tuple, Location)>,
    /// The domain of each item, once a read decoded it ([`Known`]): the
    /// tuples on disk hold none, and decoding every candidate of a domain
    /// filter on every listing would cost what the index saves.
    domains: Vec<Known>,
    by_id: HashMap<RecordId, Vec<u32>>,
    /// The items about each organization, in insertion order.
    by_subject: HashMap<Did, Vec<u32>>,
    /// The items of each kind, in insertion order.
    by_kind: HashMap<Kind, Vec<u32>>,
    /// Each log's items in the order (issued at, place), oldest first: a
    /// page newest first merges the orders of the logs the reader may see,
    /// from their ends (or the cursor), and stops once full, instead of
    /// looking at every record, or at records of logs it may not see.
    orders: HashMap<LogId, Order>,
}

/// One log's items, by (issued at, place) once sorted.
#[derive(Debug, Default)]
struct Order {
    slots: Vec<u32>,
    /// Whether `slots` is in order.
    sorted: bool,
}

/// What the index knows of a record's domain: 0 not yet known, 1 none,
/// `2 + n` the n-th of [`Domain::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Known(u8);

impl Known {
    fn of(domain: Option<Domain>) -> Self {
        match domain {
            None => Self(1),
            // Five domains: the position fits in a u8.
            Some(d) => Self(2 + Domain::ALL.iter().position(|x| *x == d).unwrap_or(0) as u8),
        }
    }

    /// The domain, once known.
    pub(crate) fn get(self) -> Option<Option<Domain>> {
        match self.0 {
            0 => None,
            1 => Some(None),
            n => Domain::ALL.get(usize::from(n - 2)).copied().map(Some),
        }
    }
}

impl Index {
    pub(crate) fn insert(&mut self, tuple: Tuple, location: Location) {
        // More than 4 billion records in one node is far beyond any supply chain.
        let at = self.items.len() as u32;
        self.items.push((tuple, location));
        self.domains.push(Known::default());
        self.by_id.entry(tuple.id).or_default().push(at);
        self.by_subject.entry(tuple.subject).or_default().push(at);
        self.by_kind.entry(tuple.kind).or_default().push(at);
        let key = self.key(at);
        let order = self.orders.entry(location.log).or_default();
        if order.slots.last().is_some_and(|&last| {
            let (tuple, location) = &self.items[last as usize];
            (tuple.issued_at, *location) > key
        }) {
            // Records mostly arrive newest last; a replica's history may not.
            order.sorted = false;
        }
        order.slots.push(at);
    }

    /// What the items are ordered by.
    fn key(&self, slot: u32) -> (jiff::Timestamp, Location) {
        let (tuple, location) = &self.items[slot as usize];
        (tuple.issued_at, *location)
    }

    /// Sorts the orders that items arrived out of.
    fn settle(&mut self) {
        let items = &self.items;
        for order in self.orders.values_mut().filter(|o| !o.sorted) {
            order.slots.sort_unstable_by_key(|&slot| {
                let (tuple, location) = &items[slot as usize];
                (tuple.issued_at, *location)
            });
            order.sorted = true;
        }
    }

    /// Every place a record is stored.
    pub(crate) fn locations(&self, id: &RecordId) -> Vec<Location> {
        self.by_id
            .get(id)
            .map(|slots| slots.iter().map(|&at| self.items[at as usize].1).collect())
            .unwrap_or_default()
    }

    /// Learns the domain of the record at `at`, as decoded.
    pub(crate) fn learn(&mut self, id: &RecordId, at: Location, domain: Option<Domain>) {
        let Some(slots) = self.by_id.get(id) else {
            return;
        };
        for &slot in slots {
            if self.items[slot as usize].1 == at {
                self.domains[slot as usize] = Known::of(domain);
            }
        }
    }

    /// Readable records matching `filter` and coming after `filter.after` in the
    /// order newest first, at most `limit`, in that order, each with what
    /// is known of its domain; it looks at the records in that order until
    /// the page is full. A domain filter leaves out the records known to be of
    /// another domain; those not yet known are kept for the caller to
    /// decode and check.
    pub(crate) fn page(
        &mut self,
        visible: &Visible,
        filter: &Filter,
        limit: usize,
    ) -> Vec<(Tuple, Location, Known)> {
        self.settle();
        // Newest first after the cursor: in each visible log, everything
        // ordered before it; the logs' newest taken first.
        let mut heads = std::collections::BinaryHeap::new();
        for (log, order) in &self.orders {
            if !visible.contains(log) {
                continue;
            }
            let end = match filter.after {
                None => order.slots.len(),
                Some(after) => order.slots.partition_point(|&slot| self.key(slot) < after),
            };
            if end > 0 {
                heads.push((self.key(order.slots[end - 1]), end - 1, &order.slots));
            }
        }
        let mut found = Vec::with_capacity(limit.min(1024));
        while found.len() < limit
            && let Some((_, at, slots)) = heads.pop()
        {
            let slot = slots[at];
            if at > 0 {
                heads.push((self.key(slots[at - 1]), at - 1, slots));
            }
            let (tuple, location) = &self.items[slot as usize];
            let known = self.domains[slot as usize];
            let kept = matches(filter, tuple)
                && filter
                    .domain
                    .is_none_or(|want| known.get().is_none_or(|domain| domain == Some(want)));
            if kept {
                found.push((*tuple, *location, known));
            }
        }
        found
    }

    /// Where the readable records about one of `subjects`, or of one of
    /// `kinds`, sit: each once, newest first. Looked up, not
    /// scanned: the cost is the records found.
    pub(crate) fn about(
        &self,
        visible: &Visible,
        subjects: &[Did],
        kinds: &[Kind],
    ) -> Vec<Location> {
        let mut slots: Vec<u32> = subjects
            .iter()
            .filter_map(|s| self.by_subject.get(s))
            .chain(kinds.iter().filter_map(|k| self.by_kind.get(k)))
            .flatten()
            .copied()
            .collect();
        slots.sort_unstable();
        slots.dedup();
        // In the order of `page`, newest first: a record held in several
        // logs is then found first where a page finds it first.
        slots.sort_unstable_by_key(|&slot| std::cmp::Reverse(self.key(slot)));
        slots
            .into_iter()
            .map(|slot| self.items[slot as usize].1)
            .filter(|location| visible.contains(&location.log))
            .collect()
    }

    /// How many readable records there are per subject, and the logs they
    /// sit in.
    pub(crate) fn subjects(
        &self,
        visible: &Visible,
    ) -> (
        std::collections::BTreeMap<assure_model::Did, usize>,
        std::collections::BTreeSet<crate::keys::LogId>,
    ) {
        let mut counts = std::collections::BTreeMap::new();
        let mut logs = std::collections::BTreeSet::new();
        for (tuple, location) in &self.items {
            if visible.contains(&location.log) {
                *counts.entry(tuple.subject).or_insert(0) += 1;
                logs.insert(location.log);
            }
        }
        (counts, logs)
    }

    /// How many readable records match `filter` (its cursor ignored).
    pub(crate) fn count(&self, visible: &Visible, filter: &Filter) -> usize {
        self.items
            .iter()
            .filter(|(tuple, location)| visible.contains(&location.log) && matches(filter, tuple))
            .count()
    }
}

fn matches(filter: &Filter, tuple: &Tuple) -> bool {
    filter.kind.is_none_or(|kind| tuple.kind == kind)
        && filter.subject.is_none_or(|s| tuple.subject == s)
        // Domains are known only once read: `Index::page` applies them.
        && filter.since.is_none_or(|since| tuple.issued_at >= since)
}
