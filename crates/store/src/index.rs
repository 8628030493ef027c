//! The record index, held in memory and rebuilt at open from the index pages:
//! where each record sits, and lookups by subject, kind and time.

use std::collections::HashMap;

use assure_access::Visible;
use assure_model::RecordId;

use crate::keys::Location;
use crate::pages::Tuple;
use crate::query::Filter;

/// Every stored record's tuple and place.
#[derive(Debug, Default)]
pub(crate) struct Index {
    items: Vec<(Tuple, Location)>,
    by_id: HashMap<RecordId, Vec<u32>>,
}

impl Index {
    pub(crate) fn insert(&mut self, tuple: Tuple, location: Location) {
        // More than 4 billion records in one node is far beyond any supply chain.
        let at = self.items.len() as u32;
        self.items.push((tuple, location));
        self.by_id.entry(tuple.id).or_default().push(at);
    }

    /// Every place a record is stored.
    pub(crate) fn locations(&self, id: &RecordId) -> Vec<Location> {
        self.by_id
            .get(id)
            .map(|slots| slots.iter().map(|&at| self.items[at as usize].1).collect())
            .unwrap_or_default()
    }

    /// Readable records matching `filter` and coming after `filter.after` in the
    /// order newest first, at most `limit`, in that order. Selects the first
    /// `limit` without sorting everything.
    pub(crate) fn page(
        &self,
        visible: &Visible,
        filter: &Filter,
        limit: usize,
    ) -> Vec<(Tuple, Location)> {
        let key = |(tuple, location): &&(Tuple, Location)| {
            std::cmp::Reverse((tuple.issued_at, *location))
        };
        let mut found: Vec<&(Tuple, Location)> = self
            .items
            .iter()
            .filter(|item| {
                let (tuple, location) = item;
                visible.contains(&location.log)
                    && matches(filter, tuple)
                    && filter
                        .after
                        .is_none_or(|after| key(item) > std::cmp::Reverse(after))
            })
            .collect();
        if limit == 0 {
            return Vec::new();
        }
        if found.len() > limit {
            found.select_nth_unstable_by_key(limit - 1, key);
            found.truncate(limit);
        }
        found.sort_unstable_by_key(key);
        found.into_iter().copied().collect()
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
        // The index does not hold domains: the store filters them on read.
        && filter.since.is_none_or(|since| tuple.issued_at >= since)
}
