//! Connection slots (DESIGN.md §5 "Peers"): most of `max_connections` is
//! kept for parties we have business with — those holding our grant, those
//! whose logs we replicate, bootstrap peers (the event loop says who, see
//! [`Slots::set_trusted`]). Strangers share a quarter of the slots (at least
//! one) and are the first to go when a trusted party needs a slot, so that
//! throwaway keys never keep a partner out. Refusals and evictions are
//! logged, at most once a minute.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    CloseConnection, ConnectionClosed, ConnectionDenied, ConnectionId, DialFailure, FromSwarm,
    ListenFailure, NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};
use tracing::warn;

/// How often a refusal or an eviction of strangers is logged at most.
const QUIET: Duration = Duration::from_secs(60);

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The slots strangers may hold are taken.
    #[error("connection slots for peers without a grant are full")]
    Strangers,
    /// Every slot is held by a party with a grant.
    #[error("every connection slot is held by a granted party")]
    Full,
}

/// What [`Slots`] decides for a new connection.
#[derive(Debug, PartialEq, Eq)]
enum Admit {
    Yes,
    /// Yes, once this stranger's connection is closed.
    Evicting(PeerId, ConnectionId),
    No(RefusedKind),
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum RefusedKind {
    Strangers,
    Full,
}

/// Keeps most connection slots for trusted parties.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    strangers_max: usize,
    trusted: HashSet<PeerId>,
    /// Connections admitted and not closed, in the order admitted.
    open: Vec<(ConnectionId, PeerId)>,
    /// Strangers' connections to close, and those being closed.
    evict: VecDeque<(PeerId, ConnectionId)>,
    closing: HashSet<ConnectionId>,
    refused: Quiet,
    evicted: Quiet,
}

/// Counts events and lets one log line through per [`QUIET`].
#[derive(Debug, Default)]
struct Quiet {
    last: Option<Instant>,
    since: u64,
}

impl Quiet {
    /// Counts one; returns how many to report when a line is due.
    fn due(&mut self, now: Instant) -> Option<u64> {
        self.since += 1;
        if self.last.is_some_and(|at| now.duration_since(at) < QUIET) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.since))
    }
}

impl Slots {
    /// `max` connections in all; strangers get a quarter, at least one.
    pub fn new(max: u32) -> Self {
        let max = usize::try_from(max).unwrap_or(usize::MAX).max(1);
        Self {
            max,
            strangers_max: (max / 4).max(1),
            trusted: HashSet::new(),
            open: Vec::new(),
            evict: VecDeque::new(),
            closing: HashSet::new(),
            refused: Quiet::default(),
            evicted: Quiet::default(),
        }
    }

    /// The parties that get the reserved slots from now on.
    pub fn set_trusted(&mut self, trusted: HashSet<PeerId>) {
        self.trusted = trusted;
    }

    /// The connections that still count: open and not being evicted.
    fn held(&self) -> impl DoubleEndedIterator<Item = &(ConnectionId, PeerId)> {
        self.open
            .iter()
            .filter(|(id, _)| !self.closing.contains(id))
    }

    /// Whether `peer` may have a slot; one we dialled is trusted (the node
    /// dials only the peers it keeps, and those the operator names).
    fn decide(&self, peer: &PeerId, dialled: bool) -> Admit {
        let total = self.held().count();
        if dialled || self.trusted.contains(peer) {
            if total < self.max {
                return Admit::Yes;
            }
            // The stranger that came last goes first: strangers connected
            // for long (public readers) are likelier to be of use.
            return self
                .held()
                .rev()
                .find(|(_, p)| !self.trusted.contains(p))
                .map_or(Admit::No(RefusedKind::Full), |(id, p)| {
                    Admit::Evicting(*p, *id)
                });
        }
        let strangers = self
            .held()
            .filter(|(_, p)| !self.trusted.contains(p))
            .count();
        match (strangers >= self.strangers_max, total >= self.max) {
            (false, false) => Admit::Yes,
            (true, _) => Admit::No(RefusedKind::Strangers),
            (false, true) => Admit::No(RefusedKind::Full),
        }
    }

    fn admit(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        dialled: bool,
    ) -> Result<(), ConnectionDenied> {
        let now = Instant::now();
        match self.decide(&peer, dialled) {
            Admit::Yes => {}
            Admit::Evicting(stranger, connection) => {
                self.closing.insert(connection);
                self.evict.push_back((stranger, connection));
                if let Some(count) = self.evicted.due(now) {
                    warn!(
                        evicted = count,
                        "connection slots full: strangers' connections closed for granted parties"
                    );
                }
            }
            Admit::No(kind) => {
                if let Some(count) = self.refused.due(now) {
                    let trusted = self.trusted.contains(&peer);
                    warn!(
                        refused = count,
                        trusted,
                        max = self.max,
                        strangers_max = self.strangers_max,
                        "connections refused: no connection slot left"
                    );
                }
                return Err(ConnectionDenied::new(match kind {
                    RefusedKind::Strangers => Refused::Strangers,
                    RefusedKind::Full => Refused::Full,
                }));
            }
        }
        self.open.push((id, peer));
        Ok(())
    }

    fn closed(&mut self, id: ConnectionId) {
        self.open.retain(|(open, _)| *open != id);
        self.closing.remove(&id);
    }
}

impl NetworkBehaviour for Slots {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(id, peer, false)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(id, peer, true)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        // A connection denied by a behaviour after this one never becomes
        // established: it is reported as a listen or dial failure.
        match event {
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. })
            | FromSwarm::ListenFailure(ListenFailure { connection_id, .. })
            | FromSwarm::DialFailure(DialFailure { connection_id, .. }) => {
                self.closed(connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        match self.evict.pop_front() {
            Some((peer_id, connection)) => Poll::Ready(ToSwarm::CloseConnection {
                peer_id,
                connection: CloseConnection::One(connection),
            }),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(slots: &mut Slots, peer: PeerId) -> Result<ConnectionId, ConnectionDenied> {
        let id = ConnectionId::new_unchecked(rand_id());
        slots.admit(id, peer, false).map(|()| id)
    }

    fn rand_id() -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(1_000_000);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    #[test]
    fn strangers_get_a_quarter_of_the_slots_and_granted_parties_the_rest() {
        let mut slots = Slots::new(8);
        let partners: Vec<PeerId> = (0..8).map(|_| PeerId::random()).collect();
        slots.set_trusted(partners.iter().copied().collect());
        for _ in 0..2 {
            assert!(connect(&mut slots, PeerId::random()).is_ok());
        }
        for _ in 0..10 {
            assert!(
                connect(&mut slots, PeerId::random()).is_err(),
                "a third stranger"
            );
        }
        for partner in &partners[..6] {
            assert!(connect(&mut slots, *partner).is_ok());
        }
        // Full: the seventh partner takes the last stranger's slot, the
        // eighth the other.
        assert!(connect(&mut slots, partners[6]).is_ok());
        assert!(connect(&mut slots, partners[7]).is_ok());
        assert_eq!(slots.evict.len(), 2);
        assert!(slots.held().all(|(_, p)| slots.trusted.contains(p)));
        // Every slot held by a partner: a ninth is refused, as is any stranger.
        let ninth = PeerId::random();
        slots.trusted.insert(ninth);
        assert!(connect(&mut slots, ninth).is_err());
        assert!(connect(&mut slots, PeerId::random()).is_err());
    }

    #[test]
    fn a_closed_connection_frees_its_slot() {
        let mut slots = Slots::new(4);
        let first = connect(&mut slots, PeerId::random()).unwrap();
        assert!(
            connect(&mut slots, PeerId::random()).is_err(),
            "one stranger of four"
        );
        slots.closed(first);
        assert!(connect(&mut slots, PeerId::random()).is_ok());
    }

    #[test]
    fn a_peer_we_dialled_is_not_held_to_the_strangers_share() {
        let mut slots = Slots::new(4);
        assert!(connect(&mut slots, PeerId::random()).is_ok());
        let id = ConnectionId::new_unchecked(rand_id());
        assert!(slots.admit(id, PeerId::random(), true).is_ok());
    }
}
