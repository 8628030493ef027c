//! Peers that come back (DESIGN.md §5 "Peers"): the loop's handlers that
//! keep the peer book and redial the peers worth keeping, with backoff,
//! after a disconnect and at start.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use assure_model::{Body, Did, Kind};
use assure_store::{Filter, Peer, Source, Store};
use jiff::Timestamp;
use libp2p::core::ConnectedPoint;
use libp2p::swarm::DialError;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId};
use tracing::{debug, info, warn};

use super::EventLoop;
use crate::book::{MAX_PEERS, dialable};
use crate::{Command, Event, backoff, peer};

/// How long the node may have no peer before it says so.
pub(super) const ALONE: Duration = Duration::from_secs(60);
/// How often a warning that still holds is repeated.
pub(super) const REMIND: Duration = Duration::from_secs(600);

/// What the loop remembers between its checks of its own connectivity.
#[derive(Debug)]
pub(super) struct Watch {
    /// Since when no peer is connected.
    alone_since: Option<Instant>,
    /// When the last "no peers" warning was given.
    warned_alone: Option<Instant>,
}

impl Watch {
    pub(super) fn new() -> Self {
        Self {
            alone_since: Some(Instant::now()),
            warned_alone: None,
        }
    }
}

impl EventLoop {
    /// At start: dials every peer of the book worth keeping, now.
    pub(crate) fn dial_book(&mut self) {
        for did in self.book.dids() {
            self.redial(did);
        }
    }

    /// A redial is due, or the node starts: dials the peer at every known
    /// address, unless it is connected, being dialled, or no longer worth
    /// keeping.
    pub(super) fn redial(&mut self, did: Did) {
        if self.book.is_connected(&did) || self.book.is_dialing(&did) || !self.worth_keeping(&did) {
            return;
        }
        let addresses = self.book.addresses(&did);
        if !addresses.is_empty() {
            self.dial_addresses(did, addresses);
        }
    }

    /// Dials a peer at `addresses`; a peer already connected or being
    /// dialled is not dialled again.
    pub(super) fn dial_addresses(&mut self, did: Did, addresses: Vec<Multiaddr>) {
        let opts = DialOpts::peer_id(peer::peer_id(&did))
            .addresses(addresses)
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.book.dialing(did);
                debug!(peer = %did.fmt_short(), "dialling");
                self.shared.client.emit(Event::Dialing { peer: did });
            }
            Err(DialError::DialPeerConditionFalse(_)) => {}
            Err(error) => self.dial_failed(did, &error),
        }
    }

    /// A dial we made (or libp2p made for a request) failed.
    pub(super) fn handle_dial_error(&mut self, peer_id: PeerId, error: &DialError) {
        if let Some(did) = peer::did(&peer_id) {
            self.dial_failed(did, error);
        }
    }

    fn dial_failed(&mut self, did: Did, error: &DialError) {
        // Another connection (theirs, or an earlier dial) may be up.
        if self.book.is_connected(&did) {
            return;
        }
        self.book.dial_failed(did);
        let reason = error.to_string();
        debug!(peer = %did.fmt_short(), %reason, "dial failed");
        self.shared
            .client
            .emit(Event::DialFailed { peer: did, reason });
        self.schedule_redial(did);
    }

    /// Schedules the next dial of a peer worth keeping, after its backoff.
    fn schedule_redial(&mut self, did: Did) {
        if !self.worth_keeping(&did) || self.book.addresses(&did).is_empty() {
            self.book.cancel(&did);
            return;
        }
        let delay = self.book.schedule(did, backoff::random_unit());
        debug!(peer = %did.fmt_short(), ?delay, "redial scheduled");
    }

    /// A connection is up: no redial is due; a connection we dialled tells
    /// us an address that works.
    pub(super) fn peer_connected(&mut self, did: Did, endpoint: &ConnectedPoint) {
        let now = Timestamp::now();
        self.book.connected(did, now);
        self.watch.alone_since = None;
        self.watch.warned_alone = None;
        if !self.keeps(&did) {
            return;
        }
        let address = match endpoint {
            ConnectedPoint::Dialer { address, .. } if dialable(address) => {
                Some(without_peer_id(address))
            }
            _ => None,
        };
        self.persist(move |store| store.peer_connected(did, address.as_deref(), now));
    }

    /// The last connection with a peer closed: redial it if it is worth
    /// keeping, from both sides, whoever closed.
    pub(super) fn peer_disconnected(&mut self, did: Did) {
        self.book.disconnected(did, Timestamp::now());
        if self.swarm.connected_peers().next().is_none() {
            self.watch.alone_since.get_or_insert_with(Instant::now);
        }
        self.schedule_redial(did);
    }

    /// A connected peer announced its listen addresses: kept in the book,
    /// with where else we know it from.
    pub(super) fn learn_addresses(&mut self, did: Did, addresses: &[Multiaddr]) {
        if !self.keeps(&did) {
            return;
        }
        let addresses: Vec<String> = addresses
            .iter()
            .filter(|a| dialable(a))
            .take(assure_store::MAX_ADDRESSES)
            .map(without_peer_id)
            .collect();
        let me = self.shared.me();
        self.persist(move |store| {
            let mut sources = vec![Source::Identify];
            if store.grant(&did)?.is_some_and(|g| g.revoked_at.is_none()) {
                sources.push(Source::Grantee);
            }
            if counterpart(store, me, did) {
                sources.push(Source::Counterpart);
            }
            store.learn_peer(did, &sources, &addresses, Timestamp::now())
        });
    }

    /// Whether a peer goes into the book: any peer while the book has room,
    /// and past that only those worth keeping.
    fn keeps(&self, did: &Did) -> bool {
        self.book.contains(did) || self.book.len() < MAX_PEERS || self.worth_keeping(did)
    }

    /// Writes to the store's book on a blocking task; the loop's copy
    /// learns what was written when it is done.
    fn persist(
        &mut self,
        write: impl FnOnce(&Store) -> Result<Peer, assure_store::Error> + Send + 'static,
    ) {
        let shared = self.shared.clone();
        self.tasks.spawn(async move {
            let store = shared.store.clone();
            match tokio::task::spawn_blocking(move || write(&store)).await {
                Ok(Ok(peer)) => {
                    let _ = shared.client.send(Command::PeerKnown(peer)).await;
                }
                Ok(Err(error)) => warn!(%error, "peer book not updated"),
                Err(error) => warn!(%error, "peer book task failed"),
            }
        });
    }

    /// Peers worth keeping a connection with: bootstrap peers of the
    /// configuration, parties holding an active grant from us, and authors
    /// whose logs we replicate — never a blocked or revoked party.
    pub(super) fn worth_keeping(&self, did: &Did) -> bool {
        if self
            .swarm
            .behaviour()
            .blocked
            .blocked_peers()
            .contains(&peer::peer_id(did))
        {
            return false;
        }
        let store = &self.shared.store;
        let grant = store.grant(did).ok().flatten();
        if grant.as_ref().is_some_and(|g| g.revoked_at.is_some()) {
            return false;
        }
        if self.bootstrap.contains(did) || grant.is_some_and(|g| g.is_active(Timestamp::now())) {
            return true;
        }
        // Our own gate: which authors we hold replicas of.
        store
            .as_owner()
            .is_ok_and(|ours| store.logs(&ours).iter().any(|s| s.log.origin == *did))
            && *did != self.shared.me()
    }

    /// Tells the connection slots who holds a reserved one: bootstrap
    /// peers, parties holding an active grant from us, authors whose logs
    /// we replicate (they granted us).
    pub(super) fn refresh_trusted(&mut self) {
        let store = &self.shared.store;
        let now = Timestamp::now();
        let me = self.shared.me();
        let mut trusted: HashSet<PeerId> = self.bootstrap.iter().map(peer::peer_id).collect();
        if let Ok(grants) = store.grants() {
            trusted.extend(
                grants
                    .iter()
                    .filter(|g| g.is_active(now))
                    .map(|g| peer::peer_id(&g.party)),
            );
        }
        if let Ok(ours) = store.as_owner() {
            trusted.extend(
                store
                    .logs(&ours)
                    .iter()
                    .filter(|s| s.log.origin != me)
                    .map(|s| peer::peer_id(&s.log.origin)),
            );
        }
        self.swarm.behaviour_mut().slots.set_trusted(trusted);
    }

    /// Every few seconds: says so when the node has had no peer for a
    /// minute (and again every ten while that lasts).
    pub(super) fn watch_peers(&mut self) {
        if self.swarm.connected_peers().next().is_some() {
            return;
        }
        let Some(since) = self.watch.alone_since else {
            return;
        };
        let due = self
            .watch
            .warned_alone
            .map_or(since.elapsed() >= ALONE, |at| at.elapsed() >= REMIND);
        if !due {
            return;
        }
        self.watch.warned_alone = Some(Instant::now());
        let known = self.book.len();
        let worth: Vec<Did> = self
            .book
            .dids()
            .into_iter()
            .filter(|d| self.worth_keeping(d))
            .collect();
        warn!(
            alone_for = ?Duration::from_secs(since.elapsed().as_secs()),
            known, redialling = worth.len(),
            "no peers connected: this node receives nothing and its notices reach no one; \
             check the bootstrap entries and that partners can reach our listen address"
        );
    }

    /// The store wrote a peer's entry.
    pub(super) fn handle_peer_known(&mut self, peer: Peer) {
        let did = peer.did;
        if !self.book.contains(&did) {
            info!(peer = %did.fmt_short(), "new peer in the book");
        }
        self.book.learned(peer);
        self.shared.client.emit(Event::Learned { peer: did });
    }
}

/// The address without a trailing `/p2p/…`: the book keys peers by DID.
fn without_peer_id(address: &Multiaddr) -> String {
    let mut address = address.clone();
    while matches!(
        address.iter().last(),
        Some(libp2p::multiaddr::Protocol::P2p(_))
    ) {
        address.pop();
    }
    address.to_string()
}

/// Whether one of our own relationship records names `party`. Read with
/// our own gate: only our logs count.
fn counterpart(store: &Store, me: Did, party: Did) -> bool {
    let Ok(ours) = store.as_owner() else {
        return false;
    };
    let filter = Filter {
        kind: Some(Kind::Relationship),
        ..Filter::default()
    };
    store
        .records(&ours, &filter, usize::MAX)
        .is_ok_and(|records| {
            records.iter().any(|r| {
                r.location.log.origin == me
                    && matches!(&r.record.predicate.body,
                        Body::Relationship(rel) if rel.supplier == party || rel.customer == party)
            })
        })
}
