//! Whether our notices reach their readers, said in the node's log: every
//! minute from a minute after start, a blocking task asks the store
//! ([`assure_store::Store::undelivered`]) and warns of what changed — a
//! grantee that has never connected, a grantee that stopped receiving one
//! of our logs — and of what still holds every ten minutes. (The loop
//! itself warns when it has no peers, see `watch_peers`.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use assure_model::Did;
use assure_store::{LogId, Undelivered};
use tracing::warn;

use super::EventLoop;
use super::redial::REMIND;

/// What the last checks found, to warn of changes only.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// Grantees warned of as never connected.
    silent: BTreeSet<Did>,
    /// Grantees behind on a log at the last check, with what they had
    /// received then.
    behind: BTreeMap<(Did, LogId), u64>,
    /// Those already warned of, at what they had received.
    warned: BTreeMap<(Did, LogId), u64>,
    /// When everything that still holds was last repeated.
    reminded: Option<Instant>,
}

impl Health {
    /// Takes in one check and logs its warnings. A grantee behind is named
    /// once it made no progress between two checks: a notice published a
    /// moment ago is still on its way.
    /// Returns the parties warned of, for tests.
    fn report(&mut self, found: &Undelivered) -> Vec<Did> {
        let mut named = Vec::new();
        let remind = self.reminded.is_none_or(|at| at.elapsed() >= REMIND);
        if remind {
            self.reminded = Some(Instant::now());
            self.silent.clear();
            self.warned.clear();
        }
        let silent: BTreeSet<Did> = found.never_connected.iter().copied().collect();
        for party in silent.difference(&self.silent) {
            named.push(*party);
            warn!(
                party = %party.fmt_short(),
                "grantee has never connected: it holds a grant but receives nothing until it \
                 dials us (give it our address) or we know its address"
            );
        }
        self.silent = silent;
        let mut behind = BTreeMap::new();
        for b in &found.behind {
            let key = (b.party, b.log);
            let stalled = self.behind.get(&key).is_some_and(|r| *r >= b.received);
            if stalled && self.warned.get(&key) != Some(&b.received) {
                named.push(b.party);
                warn!(
                    party = %b.party.fmt_short(),
                    compartment = %b.label,
                    missing = b.missing(),
                    size = b.size,
                    "undelivered notices: a grantee has not received all of one of our logs"
                );
                self.warned.insert(key, b.received);
            }
            behind.insert(key, b.received);
        }
        self.warned.retain(|key, _| behind.contains_key(key));
        self.behind = behind;
        named
    }
}

impl EventLoop {
    /// Checks delivery on a blocking task and logs what changed.
    pub(super) fn watch_delivery(&mut self) {
        let shared = self.shared.clone();
        let health = Arc::clone(&self.health);
        self.tasks.spawn(async move {
            let store = shared.store.clone();
            let checked = tokio::task::spawn_blocking(move || {
                let ours = store.as_owner()?;
                store.undelivered(&ours)
            })
            .await;
            match checked {
                Ok(Ok(found)) => {
                    let mut health = health
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    health.report(&found);
                }
                Ok(Err(error)) => warn!(%error, "delivery not checked"),
                Err(error) => warn!(%error, "delivery check failed"),
            }
        });
    }
}

/// The state shared between the loop and its checks.
pub(super) type Shared = Arc<Mutex<Health>>;

#[cfg(test)]
mod tests {
    use super::*;
    use assure_access::CompartmentId;
    use assure_store::Behind;

    fn did(seed: u8) -> Did {
        assure_model::Keypair::from_seed([seed; 32]).did()
    }

    fn behind(party: Did, received: u64) -> Behind {
        Behind {
            party,
            log: LogId {
                origin: did(1),
                compartment: CompartmentId::from_bytes([1; 16]),
            },
            label: "partners".into(),
            size: 5,
            received,
        }
    }

    #[test]
    fn warnings_are_given_on_change_and_a_stalled_delivery_only() {
        let mut health = Health::default();
        let (silent, slow) = (did(2), did(3));
        let found = |received| Undelivered {
            behind: vec![behind(slow, received)],
            never_connected: vec![silent],
        };
        assert_eq!(
            health.report(&found(1)),
            [silent],
            "a first sighting may be in flight"
        );
        assert_eq!(
            health.report(&found(1)),
            [slow],
            "no progress since: stalled"
        );
        assert!(health.report(&found(1)).is_empty(), "said once");
        assert!(health.report(&found(3)).is_empty(), "progress");
        assert_eq!(health.report(&found(3)), [slow], "stalled again");
        assert!(health.report(&Undelivered::default()).is_empty());
        assert_eq!(health.report(&found(0)), [silent], "a change is news");
    }
}
