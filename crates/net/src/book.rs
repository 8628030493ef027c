//! The event loop's view of the peer book: what the store's book knows of
//! each peer, and what only the running loop knows — who is connected and
//! since when, who is being dialled, and when each peer is dialled next.
//! The redial timers live here, in one `DelayQueue` the loop polls.

use std::collections::HashMap;
use std::task::{Context, Poll};
use std::time::Duration;

use assure_model::Did;
use assure_store::Peer;
use jiff::Timestamp;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use tokio_util::time::{DelayQueue, delay_queue};

use crate::backoff::Backoff;

/// Peers the book keeps: past this, strangers (peers nobody vouches for)
/// are not added, so that connecting with new keys cannot grow it forever.
pub(crate) const MAX_PEERS: usize = 4096;
/// How long a connection must last to count as a success that resets the
/// backoff: a peer that accepts and drops us at once (one that blocked us)
/// is dialled less and less often, not every second.
pub(crate) const STABLE: Duration = Duration::from_secs(10);

/// One peer as the loop knows it, for the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// What the peer book holds.
    pub peer: Peer,
    /// Since when it is connected, when it is.
    pub connected_since: Option<Timestamp>,
    /// When it is dialled next, when a redial is scheduled.
    pub next_dial: Option<Timestamp>,
    /// A dial is in flight.
    pub dialing: bool,
}

#[derive(Debug)]
struct Entry {
    known: Peer,
    connected_since: Option<Timestamp>,
    dialing: bool,
    backoff: Backoff,
    /// The scheduled redial, and when it is due (for display).
    timer: Option<(delay_queue::Key, Timestamp)>,
}

impl Entry {
    fn new(known: Peer) -> Self {
        Self {
            known,
            connected_since: None,
            dialing: false,
            backoff: Backoff::default(),
            timer: None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Book {
    peers: HashMap<Did, Entry>,
    timers: DelayQueue<Did>,
}

impl Book {
    /// The book as the store holds it.
    pub(crate) fn new(known: Vec<Peer>) -> Self {
        Self {
            peers: known.into_iter().map(|p| (p.did, Entry::new(p))).collect(),
            timers: DelayQueue::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }

    pub(crate) fn contains(&self, did: &Did) -> bool {
        self.peers.contains_key(did)
    }

    /// Every peer in the book.
    pub(crate) fn dids(&self) -> Vec<Did> {
        self.peers.keys().copied().collect()
    }

    fn entry(&mut self, did: Did) -> &mut Entry {
        self.peers
            .entry(did)
            .or_insert_with(|| Entry::new(Peer::new(did, Timestamp::now())))
    }

    /// What the store wrote. Writes finish in any order: a copy older
    /// than the one held is ignored.
    pub(crate) fn learned(&mut self, peer: Peer) {
        match self.peers.get_mut(&peer.did) {
            Some(entry) if entry.known.revision >= peer.revision => {}
            Some(entry) => entry.known = peer,
            None => {
                self.peers.insert(peer.did, Entry::new(peer));
            }
        }
    }

    /// The addresses to dial a peer at, the most recent first.
    pub(crate) fn addresses(&self, did: &Did) -> Vec<Multiaddr> {
        let Some(entry) = self.peers.get(did) else {
            return Vec::new();
        };
        entry
            .known
            .addresses
            .iter()
            .filter_map(|a| a.parse().ok())
            .filter(dialable)
            .collect()
    }

    pub(crate) fn is_connected(&self, did: &Did) -> bool {
        self.peers
            .get(did)
            .is_some_and(|e| e.connected_since.is_some())
    }

    pub(crate) fn is_dialing(&self, did: &Did) -> bool {
        self.peers.get(did).is_some_and(|e| e.dialing)
    }

    /// A connection is up: no dial in flight, no redial due.
    pub(crate) fn connected(&mut self, did: Did, now: Timestamp) {
        let entry = self.entry(did);
        entry.dialing = false;
        entry.connected_since.get_or_insert(now);
        if let Some((key, _)) = entry.timer.take() {
            self.timers.remove(&key);
        }
    }

    /// The last connection closed at `now`. One that lasted [`STABLE`] was
    /// a success: the backoff starts over from its first delay.
    pub(crate) fn disconnected(&mut self, did: Did, now: Timestamp) {
        let stable = jiff::SignedDuration::try_from(STABLE).unwrap_or_default();
        if let Some(entry) = self.peers.get_mut(&did)
            && let Some(since) = entry.connected_since.take()
            && now.duration_since(since) >= stable
        {
            entry.backoff.reset();
        }
    }

    /// A dial started.
    pub(crate) fn dialing(&mut self, did: Did) {
        self.entry(did).dialing = true;
    }

    /// A dial ended without a connection.
    pub(crate) fn dial_failed(&mut self, did: Did) {
        if let Some(entry) = self.peers.get_mut(&did) {
            entry.dialing = false;
        }
    }

    /// Schedules the next redial after the peer's backoff (`unit` picks
    /// the jitter), replacing one already scheduled; returns the delay.
    pub(crate) fn schedule(&mut self, did: Did, unit: f64) -> Duration {
        let entry = self
            .peers
            .entry(did)
            .or_insert_with(|| Entry::new(Peer::new(did, Timestamp::now())));
        let delay = entry.backoff.next(unit);
        let due = Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(delay).unwrap_or_default())
            .unwrap_or(Timestamp::MAX);
        match &mut entry.timer {
            Some((key, at)) => {
                self.timers.reset(key, delay);
                *at = due;
            }
            None => entry.timer = Some((self.timers.insert(did, delay), due)),
        }
        delay
    }

    /// Drops a scheduled redial.
    pub(crate) fn cancel(&mut self, did: &Did) {
        if let Some((key, _)) = self.peers.get_mut(did).and_then(|e| e.timer.take()) {
            self.timers.remove(&key);
        }
    }

    /// Whether any redial is scheduled; polling an empty queue ends it.
    pub(crate) fn has_timers(&self) -> bool {
        !self.timers.is_empty()
    }

    /// The next peer whose redial is due.
    pub(crate) fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Option<Did>> {
        self.timers.poll_expired(cx).map(|expired| {
            let did = expired?.into_inner();
            if let Some(entry) = self.peers.get_mut(&did) {
                entry.timer = None;
            }
            Some(did)
        })
    }

    /// Every peer with the loop's state, for the API.
    pub(crate) fn status(&self) -> Vec<PeerStatus> {
        let mut all: Vec<PeerStatus> = self
            .peers
            .values()
            .map(|e| PeerStatus {
                peer: e.known.clone(),
                connected_since: e.connected_since,
                next_dial: e.timer.as_ref().map(|(_, at)| *at),
                dialing: e.dialing,
            })
            .collect();
        all.sort_by_key(|a| a.peer.did.to_string());
        all
    }
}

/// An address another node may be dialled at: TCP over an IP address that
/// names a host (not `0.0.0.0`) or a DNS name, not through a relay.
pub(crate) fn dialable(address: &Multiaddr) -> bool {
    let mut protocols = address.iter();
    let host = match protocols.next() {
        Some(Protocol::Ip4(ip)) => !ip.is_unspecified() && !ip.is_broadcast(),
        Some(Protocol::Ip6(ip)) => !ip.is_unspecified(),
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_)) => true,
        _ => false,
    };
    host && matches!(protocols.next(), Some(Protocol::Tcp(port)) if port != 0)
        && protocols.all(|p| matches!(p, Protocol::P2p(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lasting_connection_resets_the_backoff_and_a_dropped_one_does_not() {
        let did = assure_model::Keypair::from_seed([4; 32]).did();
        let mut book = Book::new(Vec::new());
        let secs = |d: Duration| d.as_secs();
        let delays: Vec<u64> = (0..4).map(|_| secs(book.schedule(did, 0.5))).collect();
        assert_eq!(delays, [1, 2, 4, 8]);
        assert_eq!(book.timers.len(), 1, "one redial per peer, rescheduled");
        assert!(book.status()[0].next_dial.is_some());

        // Accepted and dropped at once: the schedule goes on backing off.
        let t0 = Timestamp::now();
        book.connected(did, t0);
        assert!(!book.has_timers(), "a connected peer is not redialled");
        let status = &book.status()[0];
        assert!(status.next_dial.is_none() && status.connected_since.is_some());
        book.disconnected(did, t0 + jiff::SignedDuration::from_secs(1));
        assert!(!book.is_connected(&did));
        assert_eq!(secs(book.schedule(did, 0.5)), 16);

        // A connection that lasted: the next disconnect starts over.
        book.connected(did, t0);
        book.disconnected(did, t0 + jiff::SignedDuration::from_secs(11));
        assert_eq!(book.schedule(did, 0.5), Duration::from_secs(1));
    }

    #[test]
    fn a_write_that_finishes_late_does_not_undo_a_newer_one() {
        let did = assure_model::Keypair::from_seed([5; 32]).did();
        let mut book = Book::new(Vec::new());
        let mut older = Peer::new(did, Timestamp::now());
        older.add_addresses(["/ip4/127.0.0.1/tcp/1"]);
        older.revision = 1;
        let mut newer = older.clone();
        newer.add_addresses(["/ip4/127.0.0.1/tcp/2"]);
        newer.revision = 2;
        book.learned(newer);
        book.learned(older);
        let first = book.addresses(&did)[0].to_string();
        assert_eq!(first, "/ip4/127.0.0.1/tcp/2");
    }

    #[test]
    fn only_addresses_of_a_host_over_tcp_are_dialled() {
        let yes = [
            "/ip4/127.0.0.1/tcp/4001",
            "/dns4/hub.example/tcp/4001",
            "/ip6/::1/tcp/9",
        ];
        let no = [
            "/ip4/0.0.0.0/tcp/4001",
            "/ip4/127.0.0.1/tcp/0",
            "/ip4/127.0.0.1/udp/4001/quic-v1",
            "/memory/5",
            "/ip4/127.0.0.1/tcp/4001/p2p-circuit",
        ];
        for address in yes {
            assert!(dialable(
                &address.parse().unwrap_or_else(|_| panic!("{address}"))
            ));
        }
        for address in no {
            let parsed: Multiaddr = address.parse().unwrap_or_else(|_| panic!("{address}"));
            assert!(!dialable(&parsed), "{address}");
        }
    }
}
