//! The one event loop that owns the swarm. Each arm of `run` calls a short
//! handler; serving and pulling run as tasks and report back as commands.
//! Keeping the peer book and redialling are in [`redial`].

mod health;
mod redial;
mod strikes;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assure_access::{Access, Reader};
use assure_model::{Did, Keypair};
use assure_store::Store;
use futures::StreamExt as _;
use jiff::Timestamp;
use libp2p::core::upgrade;
use libp2p::request_response::{self, Message, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{
    Multiaddr, PeerId, Swarm, Transport as _, gossipsub, identify, noise, ping, tcp, yamux,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::behaviour::{Behaviour, BehaviourEvent, CHECKPOINT_TOPIC};
use crate::book::Book;
use crate::codec::Inbound;
use crate::protocol::{Request, Response};
use crate::serve::{FollowUp, answer, checked_note};
use crate::{Client, Command, Config, Error, Event, Pending, Shared, SharedRef, peer, sync};

/// How often grants are re-checked against open connections.
const GRANT_CHECK: Duration = Duration::from_millis(250);
/// The pause after a witness round before the next may start.
const WITNESS_SPACING: Duration = Duration::from_millis(500);
/// How long a dial (connection, handshake and multiplexer) may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the loop checks whether it has been without peers too long.
const WATCH: Duration = Duration::from_secs(5);

/// A token bucket per peer.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

pub(crate) struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    shared: SharedRef,
    pending: Pending,
    buckets: HashMap<PeerId, Bucket>,
    /// Misbehaviour counted, and the blocks it earned.
    strikes: strikes::Strikes,
    /// Authors being pulled from, and whether to pull again when done.
    syncing: HashMap<Did, bool>,
    /// A witness round is running; the flag asks for another after it.
    witnessing: Option<bool>,
    /// Pulls, witness rounds and answers in flight; stopped with the loop so
    /// that none outlives the node (they hold the store).
    tasks: tokio::task::JoinSet<()>,
    /// Grant versions already enforced by disconnecting.
    enforced: HashMap<Did, u64>,
    /// Parties blocked because their grant was revoked, so that a grant
    /// given again lifts the block.
    revoked: HashSet<PeerId>,
    rate: f64,
    poll: Duration,
    ticket_lifetime: Duration,
    /// Every peer known, with its redial timer.
    book: Book,
    /// The bootstrap peers of the configuration, kept connected.
    bootstrap: HashSet<Did>,
    watch: redial::Watch,
    /// What the delivery checks found last.
    health: health::Shared,
}

impl EventLoop {
    pub(crate) fn new(
        keypair: &Keypair,
        store: Store,
        config: &Config,
        client: Client,
        commands: mpsc::Receiver<Command>,
        known: Vec<assure_store::Peer>,
    ) -> Result<Self, Error> {
        let setup = |e: &dyn std::fmt::Display| Error::Setup(e.to_string());
        let idle = config.limits.idle_timeout;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(peer::libp2p_keypair(keypair))
            .with_tokio()
            .with_other_transport(
                |key| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                    // A dial into a partition gets no answer at all: it fails
                    // after DIAL_TIMEOUT and is redialled on the backoff,
                    // rather than waiting out the system's SYN retries (two
                    // minutes) while the link is back.
                    Ok(
                        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                            .upgrade(upgrade::Version::V1Lazy)
                            .authenticate(noise::Config::new(key)?)
                            .multiplex(yamux::Config::default())
                            .timeout(DIAL_TIMEOUT),
                    )
                },
            )
            .map_err(|e| setup(&e))?
            .with_behaviour(|key| Behaviour::new(key, config))
            .map_err(|e| setup(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .build();
        swarm
            .behaviour_mut()
            .gossip
            .subscribe(&gossipsub::IdentTopic::new(CHECKPOINT_TOPIC))
            .map_err(|e| setup(&e))?;
        let shared = Arc::new(Shared::new(
            store,
            Keypair::from_seed(keypair.seed()),
            client,
        ));
        let mut this = Self {
            swarm,
            commands,
            shared,
            pending: Pending::new(),
            buckets: HashMap::new(),
            strikes: strikes::Strikes::new(config.limits.block_duration),
            syncing: HashMap::new(),
            witnessing: None,
            tasks: tokio::task::JoinSet::new(),
            enforced: HashMap::new(),
            revoked: HashSet::new(),
            rate: f64::from(config.limits.requests_per_second.max(1)),
            poll: config.poll_interval,
            ticket_lifetime: config.ticket_lifetime,
            book: Book::new(known),
            bootstrap: config.bootstrap.iter().map(|(did, _)| *did).collect(),
            watch: redial::Watch::new(),
            health: health::Shared::default(),
        };
        this.refresh_trusted();
        Ok(this)
    }

    pub(crate) fn listen(&mut self, address: Multiaddr) -> Result<(), Error> {
        self.swarm
            .listen_on(address)
            .map(|_| ())
            .map_err(|e| Error::Setup(e.to_string()))
    }

    /// Dials a peer at an address the caller gives (the operator, a test).
    pub(crate) fn dial(&mut self, peer: Did, address: Multiaddr) {
        self.swarm
            .add_peer_address(peer::peer_id(&peer), address.clone());
        self.dial_addresses(peer, vec![address]);
    }

    pub(crate) async fn run(mut self, cancel: CancellationToken) {
        let mut grants = tokio::time::interval(GRANT_CHECK);
        let mut poll = tokio::time::interval(self.poll);
        let mut watch = tokio::time::interval(WATCH);
        let first_check = tokio::time::Instant::now() + redial::ALONE;
        let mut delivery = tokio::time::interval_at(first_check, redial::ALONE);
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                Some(command) = self.commands.recv() => self.handle_command(command),
                event = self.swarm.select_next_some() => self.handle_swarm_event(event),
                Some(peer) = std::future::poll_fn(|cx| self.book.poll_due(cx)),
                    if self.book.has_timers() => self.redial(peer),
                _ = grants.tick() => self.enforce_grants(),
                _ = poll.tick() => self.pull_all(),
                _ = watch.tick() => {
                    self.refresh_trusted();
                    self.watch_peers();
                }
                _ = delivery.tick() => self.watch_delivery(),
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
        self.tasks.shutdown().await;
        info!("network loop stopped");
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Dial { peer, address } => self.dial(peer, address),
            Command::Request {
                peer,
                request,
                reply,
            } => self.request(peer, request, reply),
            Command::Respond { channel, response } => {
                // The peer may have gone; nothing to do then.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Command::Notify { log, checkpoint } => self.notify(log, checkpoint),
            Command::GrantsChanged => {
                self.enforced.clear();
                self.lift_blocks_of_granted();
                self.refresh_trusted();
                self.enforce_grants();
            }
            Command::Listeners { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::Peers { reply } => {
                let peers = self.swarm.connected_peers().filter_map(peer::did).collect();
                let _ = reply.send(peers);
            }
            Command::Book { reply } => {
                let _ = reply.send(self.book.status());
            }
            Command::PeerKnown(peer) => self.handle_peer_known(peer),
            Command::Pull { peer } => self.schedule_pull(peer),
            Command::SyncDone { peer } => {
                self.refresh_trusted();
                if self.syncing.remove(&peer) == Some(true) {
                    self.schedule_pull(peer);
                }
            }
            Command::Witness => self.schedule_witness(),
            Command::WitnessDone => {
                if self.witnessing.take() == Some(true) {
                    self.schedule_witness();
                }
            }
        }
    }

    /// Sends a request to a peer connected or being dialled (it waits for
    /// the connection). A peer neither is not dialled for it — libp2p
    /// would, at once and again for every retry, around the backoff: dials
    /// are the peer book's.
    fn request(
        &mut self,
        peer: Did,
        request: Request,
        reply: tokio::sync::oneshot::Sender<Result<Response, Error>>,
    ) {
        let id = peer::peer_id(&peer);
        if !self.swarm.is_connected(&id) && !self.book.is_dialing(&peer) {
            let _ = reply.send(Err(Error::Request {
                peer: peer.to_string(),
                reason: "not connected".into(),
            }));
            return;
        }
        let request_id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&id, Inbound::Request(request));
        self.pending.insert(request_id, reply);
    }

    fn handle_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                self.shared.client.emit(Event::Listening(address));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                let Some(did) = peer::did(&peer_id) else {
                    return;
                };
                self.peer_connected(did, &endpoint);
                if num_established.get() == 1 {
                    self.shared.client.emit(Event::Connected(did));
                    self.schedule_pull(did);
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer_id),
                error,
                ..
            } => self.handle_dial_error(peer_id, &error),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                debug!(%peer_id, ?cause, "connection closed");
                if num_established > 0 {
                    return;
                }
                if let Some(did) = peer::did(&peer_id) {
                    self.shared.client.emit(Event::Disconnected(did));
                    self.peer_disconnected(did);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.handle_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                message,
                ..
            })) => self.handle_gossip(message),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => self.handle_identify(peer_id, info.listen_addrs),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result: Err(error),
            })) if !matches!(error, ping::Failure::Unsupported) => {
                // No answer in time (to the ping, or to opening its
                // stream): the link is gone — a partition drops packets
                // without a word, and TCP would hold the connection for
                // many minutes. Closing it makes the peer book redial,
                // which finds the link when it is back.
                info!(%peer, %error, "ping failed: connection closed, to be redialled");
                self.swarm.close_connection(connection);
            }
            _ => {}
        }
    }

    /// A peer told us its addresses: the peer book keeps them. Kademlia,
    /// when it runs, learns them only for parties holding an active grant:
    /// its table is what it tells others.
    fn handle_identify(&mut self, peer_id: PeerId, addresses: Vec<Multiaddr>) {
        if let Some(did) = peer::did(&peer_id) {
            self.learn_addresses(did, &addresses);
        }
        let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() else {
            return;
        };
        let granted = peer::did(&peer_id)
            .and_then(|party| self.shared.store.grant(&party).ok().flatten())
            .is_some_and(|grant| grant.is_active(Timestamp::now()));
        if !granted {
            return;
        }
        for address in addresses {
            kad.add_address(&peer_id, address);
        }
    }

    fn handle_sync(&mut self, event: request_response::Event<Inbound, Response>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => self.handle_request(peer, request, channel),
                Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let reason = error.to_string();
                    let peer = peer::did(&peer).map_or_else(|| peer.to_string(), |d| d.to_string());
                    let _ = reply.send(Err(Error::Request { peer, reason }));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                // A stream closed, reset or cut short, a timeout, a
                // connection gone: what the network (or an honest peer's
                // own timeout) does, never misbehaviour. Requests that
                // arrive whole and break the rules reach `handle_request`.
                debug!(%peer, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Answers a request on a blocking task, after the rate limit.
    fn handle_request(
        &mut self,
        peer: PeerId,
        request: Inbound,
        channel: ResponseChannel<Response>,
    ) {
        let Some(party) = peer::did(&peer) else {
            return;
        };
        let request = match request {
            Inbound::Request(request) => request,
            Inbound::Malformed(reason) => {
                self.strike(peer, strikes::MALFORMED_STRIKES, &reason);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, Response::Refused(reason));
                return;
            }
        };
        if !self.take_token(peer) {
            self.strike(peer, 1, "rate limit exceeded");
            let response = Response::Refused("rate limit exceeded".into());
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, response);
            return;
        }
        let shared = self.shared.clone();
        let ticket_lifetime = self.ticket_lifetime;
        self.tasks.spawn(async move {
            let task_shared = shared.clone();
            let answered = tokio::task::spawn_blocking(move || {
                answer(
                    &task_shared.store,
                    &task_shared.keypair,
                    ticket_lifetime,
                    party,
                    request,
                    Timestamp::now(),
                )
            })
            .await;
            let (response, follow_up) = match answered {
                Ok(Ok(answer)) => answer,
                Ok(Err(error)) => {
                    warn!(%error, "could not answer a request");
                    (Response::Refused("internal error".into()), FollowUp::None)
                }
                Err(error) => {
                    warn!(%error, "answer task failed");
                    (Response::Refused("internal error".into()), FollowUp::None)
                }
            };
            // Tasks wait for room in the queue: a reply is never dropped.
            let _ = shared
                .client
                .send(Command::Respond { channel, response })
                .await;
            if follow_up == FollowUp::Pull {
                let _ = shared.client.send(Command::Pull { peer: party }).await;
            }
        });
    }

    fn take_token(&mut self, peer: PeerId) -> bool {
        let now = Instant::now();
        let capacity = self.rate * 2.0;
        let bucket = self.buckets.entry(peer).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Counts misbehaviour; past the limit the peer is cut off and blocked
    /// for `limits.block_duration`.
    fn strike(&mut self, peer: PeerId, weight: u32, reason: &str) {
        let grant = peer::did(&peer)
            .and_then(|party| self.shared.store.grant(&party).ok().flatten())
            .map(|grant| grant.version);
        if !self.strikes.strike(peer, weight, grant, Instant::now()) {
            return;
        }
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        if let Some(did) = peer::did(&peer) {
            warn!(peer = %did.fmt_short(), %reason, "peer cut off and blocked for a while");
            self.shared.client.emit(Event::CutOff {
                peer: did,
                reason: reason.to_owned(),
            });
        }
    }

    /// Tells connected readers of an own log that it grew.
    fn notify(&mut self, log: assure_store::LogId, checkpoint: String) {
        let now = Timestamp::now();
        let Ok(everyone) = self.shared.store.gate(Reader::Anonymous, now, "network") else {
            return;
        };
        if everyone.contains(&log) {
            let topic = gossipsub::IdentTopic::new(CHECKPOINT_TOPIC);
            if let Err(error) = self
                .swarm
                .behaviour_mut()
                .gossip
                .publish(topic, checkpoint.as_bytes())
            {
                debug!(%error, "checkpoint not gossiped");
            }
        }
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer_id in peers {
            let Some(party) = peer::did(&peer_id) else {
                continue;
            };
            // Only readers are told, and only through the gate: a notice
            // names the compartment.
            let readable = self
                .shared
                .store
                .gate(Reader::Party(party), now, "network")
                .is_ok_and(|v| v.get(&log).is_some_and(|a| a != Access::Author));
            if !readable {
                continue;
            }
            let request = Request::Notify {
                compartment: log.compartment,
                checkpoint: checkpoint.clone(),
            };
            let id = self
                .swarm
                .behaviour_mut()
                .sync
                .send_request(&peer_id, Inbound::Request(request));
            let (reply, _) = tokio::sync::oneshot::channel();
            self.pending.insert(id, reply);
        }
    }

    /// A gossiped checkpoint of a public compartment: pull if it is news.
    fn handle_gossip(&mut self, message: gossipsub::Message) {
        let Ok(text) = std::str::from_utf8(&message.data) else {
            return;
        };
        let Some(origin) = text.lines().next() else {
            return;
        };
        // Gossip carries public checkpoints only: look among the public
        // logs we hold.
        let Ok(ours) = self.shared.store.as_owner() else {
            return;
        };
        let held = self.shared.store.logs(&ours);
        let Some(summary) = held
            .iter()
            .find(|s| s.compartment.rule.is_public() && s.log.origin_line() == origin)
        else {
            return;
        };
        let Some(note) = checked_note(summary.log, text) else {
            return;
        };
        if note.checkpoint().size() > summary.checkpoint.checkpoint().size() {
            self.schedule_pull(summary.log.origin);
        }
    }

    /// Closes connections of parties whose grant is no longer active, and
    /// blocks those whose grant was revoked; lifts the block of a party
    /// granted again.
    fn enforce_grants(&mut self) {
        self.unblock_granted_again();
        self.expire_blocks();
        let now = Timestamp::now();
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer_id in peers {
            let Some(party) = peer::did(&peer_id) else {
                continue;
            };
            let Ok(Some(grant)) = self.shared.store.grant(&party) else {
                continue;
            };
            if grant.is_active(now) || self.enforced.get(&party) == Some(&grant.version) {
                continue;
            }
            self.enforced.insert(party, grant.version);
            if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                kad.remove_peer(&peer_id);
            }
            if grant.revoked_at.is_some() {
                self.swarm.behaviour_mut().blocked.block_peer(peer_id);
                self.revoked.insert(peer_id);
            }
            let _ = self.swarm.disconnect_peer_id(peer_id);
            info!(party = %party.fmt_short(), "grant no longer active: connection closed");
        }
    }

    /// A party blocked at its revocation that holds an unrevoked grant
    /// again is accepted again at once and dialled, rather than refused
    /// until the node restarts.
    fn unblock_granted_again(&mut self) {
        let store = &self.shared.store;
        let granted: Vec<(PeerId, Did)> = self
            .revoked
            .iter()
            .filter_map(|peer_id| Some((*peer_id, peer::did(peer_id)?)))
            .filter(|(_, did)| {
                store
                    .grant(did)
                    .is_ok_and(|g| g.is_some_and(|g| g.revoked_at.is_none()))
            })
            .collect();
        for (peer_id, did) in granted {
            self.revoked.remove(&peer_id);
            if !self.strikes.is_blocked(&peer_id) {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer_id);
            }
            info!(party = %did.fmt_short(), "granted again: accepted and dialled");
            self.redial(did);
        }
    }

    /// A party blocked for misbehaviour that now holds another active
    /// grant than when it was blocked has been vouched for again by the
    /// operator: unblocked at once.
    fn lift_blocks_of_granted(&mut self) {
        let now = Timestamp::now();
        let store = &self.shared.store;
        let granted: Vec<PeerId> = self
            .strikes
            .blocks()
            .filter(|(peer_id, block)| {
                peer::did(peer_id)
                    .and_then(|did| store.grant(&did).ok().flatten())
                    .is_some_and(|g| g.is_active(now) && Some(g.version) != block.grant)
            })
            .map(|(peer_id, _)| *peer_id)
            .collect();
        for peer_id in granted {
            self.strikes.lift(&peer_id);
            self.unblock(peer_id, "granted again: unblocked");
        }
    }

    /// Blocks for misbehaviour that ran their time are lifted.
    fn expire_blocks(&mut self) {
        for peer_id in self.strikes.expire(Instant::now()) {
            self.unblock(peer_id, "block expired");
        }
    }

    /// Accepts a peer again (unless its grant is revoked) and dials it if
    /// it is worth keeping.
    fn unblock(&mut self, peer_id: PeerId, why: &str) {
        if self.revoked.contains(&peer_id) {
            return;
        }
        self.swarm.behaviour_mut().blocked.unblock_peer(peer_id);
        if let Some(did) = peer::did(&peer_id) {
            info!(peer = %did.fmt_short(), "{why}");
            self.redial(did);
        }
    }

    fn pull_all(&mut self) {
        let peers: Vec<Did> = self.swarm.connected_peers().filter_map(peer::did).collect();
        for peer in peers {
            self.schedule_pull(peer);
        }
    }

    /// Pulls from `author`; then asks for a witness round. A notice that
    /// arrives meanwhile makes one more pull right after, not one per notice.
    fn schedule_pull(&mut self, author: Did) {
        if let Some(again) = self.syncing.get_mut(&author) {
            *again = true;
            return;
        }
        self.syncing.insert(author, false);
        let shared = self.shared.clone();
        self.tasks.spawn(async move {
            if let Err(error) = sync::pull(&shared, author).await {
                debug!(author = %author.fmt_short(), %error, "pull failed");
            }
            let _ = shared.client.send(Command::SyncDone { peer: author }).await;
            let _ = shared.client.send(Command::Witness).await;
        });
    }

    /// Compares checkpoints with every connected peer, the authors
    /// included, all at once. Rounds do not overlap and are at least
    /// `WITNESS_SPACING` apart: requests meanwhile make one more round after
    /// it. Pulls never wait for witnesses.
    fn schedule_witness(&mut self) {
        if let Some(again) = self.witnessing.as_mut() {
            *again = true;
            return;
        }
        self.witnessing = Some(false);
        let witnesses: Vec<Did> = self.swarm.connected_peers().filter_map(peer::did).collect();
        let shared = self.shared.clone();
        self.tasks.spawn(async move {
            let shared = &*shared;
            let rounds = witnesses.into_iter().map(|witness| async move {
                if let Err(error) = sync::witness(shared, witness).await {
                    debug!(witness = %witness.fmt_short(), %error, "witness exchange failed");
                }
            });
            futures::future::join_all(rounds).await;
            // Rounds are spaced out: the requests of a burst of pulls share
            // the next round instead of each starting one.
            tokio::time::sleep(WITNESS_SPACING).await;
            let _ = shared.client.send(Command::WitnessDone).await;
        });
    }
}
