//! The network of an Assure node (DESIGN.md §5): the composed libp2p
//! behaviour, the sync protocol, and the one event loop that owns the swarm.
//!
//! The rest of the node talks to the loop through a cloneable [`Client`] over a
//! bounded channel. Serving and pulling run as tasks beside the loop, so the
//! loop itself only routes messages. What may be read is decided by
//! `assure_access`; what is valid by `assure_model`; this crate moves data.
#![deny(missing_docs)]

// The derived `BehaviourEvent` has one undocumented variant per field.
mod backoff;
#[allow(missing_docs)]
mod behaviour;
mod book;
mod codec;
mod config;
mod event_loop;
mod forks;
mod notices;
mod pages;
mod peer;
pub mod protocol;
mod serve;
mod slots;
mod sync;
pub mod verify;
pub mod witness;

pub use witness::TICKET_LIFETIME;

use std::collections::HashMap;
use std::sync::Arc;

use assure_model::{Did, Keypair};
use assure_store::{LogId, Store};
use libp2p::Multiaddr;
use libp2p::request_response::ResponseChannel;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use behaviour::{Behaviour, BehaviourEvent, CHECKPOINT_TOPIC};
pub use book::PeerStatus;
pub use codec::{Codec, Inbound, decode_request, decode_response};
pub use config::{Config, Limits};
pub use peer::{did, libp2p_keypair, peer_id};
pub use protocol::{Request, Response};
pub use slots::{Refused, Slots};

/// Commands queued for the event loop before senders wait.
const COMMAND_QUEUE: usize = 256;
/// Events kept for slow subscribers.
const EVENT_QUEUE: usize = 1024;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The event loop has stopped.
    #[error("the network has shut down")]
    Stopped,
    /// The peer could not be reached or did not answer in time.
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The organization asked.
        peer: String,
        /// What went wrong.
        reason: String,
    },
    /// The peer answered something the protocol does not allow.
    #[error("protocol: {0}")]
    Protocol(String),
    /// Received data failed verification.
    #[error("{0}")]
    Rejected(#[from] verify::Rejected),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] assure_store::Error),
    /// The swarm could not be built or could not listen.
    #[error("network setup: {0}")]
    Setup(String),
}

/// Something that happened on the network, for tests, logs and the API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Listening on an address.
    Listening(Multiaddr),
    /// Connected to an organization.
    Connected(Did),
    /// Disconnected from an organization.
    Disconnected(Did),
    /// Dialling an organization (a redial, a bootstrap peer, a peer of the
    /// book at start, or a dial asked for).
    Dialing {
        /// The organization.
        peer: Did,
    },
    /// The peer book now holds what we learned of an organization.
    Learned {
        /// The organization.
        peer: Did,
    },
    /// A dial failed; a peer worth keeping is dialled again after its
    /// backoff.
    DialFailed {
        /// The organization.
        peer: Did,
        /// Why.
        reason: String,
    },
    /// A replica reached a new size.
    Synced {
        /// The log.
        log: LogId,
        /// Its new size.
        size: u64,
    },
    /// An author equivocated; the replica is frozen.
    Equivocation {
        /// The log.
        log: LogId,
    },
    /// An incident notice arrived: one naming this organization as
    /// affected, or shared with it as a regulator.
    Incident {
        /// Who reported it.
        origin: Did,
        /// The incident record.
        record: String,
    },
    /// An audit of this organization that it has not co-signed arrived.
    AwaitingAcknowledgement {
        /// The auditor.
        origin: Did,
        /// The audit record.
        record: String,
    },
    /// Data from a peer was refused.
    Rejected {
        /// The peer.
        peer: Did,
        /// Why.
        reason: String,
    },
    /// A misbehaving peer was cut off.
    CutOff {
        /// The peer.
        peer: Did,
        /// Why.
        reason: String,
    },
}

/// A command for the event loop.
#[derive(Debug)]
pub(crate) enum Command {
    Dial {
        peer: Did,
        address: Multiaddr,
    },
    Request {
        peer: Did,
        request: Request,
        reply: oneshot::Sender<Result<Response, Error>>,
    },
    Respond {
        channel: ResponseChannel<Response>,
        response: Response,
    },
    Notify {
        log: LogId,
        checkpoint: String,
    },
    GrantsChanged,
    Listeners {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    Peers {
        reply: oneshot::Sender<Vec<Did>>,
    },
    /// The peer book with the loop's state.
    Book {
        reply: oneshot::Sender<Vec<PeerStatus>>,
    },
    /// The store wrote a peer's entry.
    PeerKnown(assure_store::Peer),
    Pull {
        peer: Did,
    },
    SyncDone {
        peer: Did,
    },
    /// Compare checkpoints with every connected peer.
    Witness,
    /// A witness round ended.
    WitnessDone,
}

/// A handle on the event loop. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
}

impl Client {
    pub(crate) async fn send(&self, command: Command) -> Result<(), Error> {
        self.commands
            .send(command)
            .await
            .map_err(|_| Error::Stopped)
    }

    /// Whether the event loop still runs (it has not stopped or failed).
    pub fn is_running(&self) -> bool {
        !self.commands.is_closed()
    }

    /// Connects to an organization at an address.
    pub async fn dial(&self, peer: Did, address: Multiaddr) -> Result<(), Error> {
        self.send(Command::Dial { peer, address }).await
    }

    /// Sends a request and waits for the answer.
    pub async fn request(&self, peer: Did, request: Request) -> Result<Response, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request {
            peer,
            request,
            reply,
        })
        .await?;
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// Tells connected readers of `log` that it grew, so they pull at once.
    pub async fn notify(&self, log: LogId, checkpoint: String) -> Result<(), Error> {
        self.send(Command::Notify { log, checkpoint }).await
    }

    /// Grants changed: re-check every connected party now.
    pub async fn grants_changed(&self) -> Result<(), Error> {
        self.send(Command::GrantsChanged).await
    }

    /// Pulls from a connected author now.
    pub async fn pull(&self, peer: Did) -> Result<(), Error> {
        self.send(Command::Pull { peer }).await
    }

    /// The addresses the node listens on.
    pub async fn listeners(&self) -> Result<Vec<Multiaddr>, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Listeners { reply }).await?;
        answer.await.map_err(|_| Error::Stopped)
    }

    /// The organizations connected now.
    pub async fn peers(&self) -> Result<Vec<Did>, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Peers { reply }).await?;
        answer.await.map_err(|_| Error::Stopped)
    }

    /// Every peer in the peer book, with whether it is connected and when
    /// it is dialled next.
    pub async fn book(&self) -> Result<Vec<PeerStatus>, Error> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Book { reply }).await?;
        answer.await.map_err(|_| Error::Stopped)
    }

    /// Subscribes to events from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, event: Event) {
        // No subscriber is fine: events are informational.
        let _ = self.events.send(event);
    }
}

/// The running network: its client and the task running the loop.
#[must_use = "the network stops when its handle is dropped without join"]
#[derive(Debug)]
pub struct Network {
    /// The handle to talk to the loop.
    pub client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Network {
    /// Builds the swarm, starts listening and connecting, and runs the loop
    /// until `cancel` fires.
    pub async fn spawn(
        keypair: &Keypair,
        store: Store,
        config: Config,
        cancel: CancellationToken,
    ) -> Result<Self, Error> {
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        let client = Client { commands, events };
        let known = load_book(&store, &config.bootstrap).await?;
        let mut event_loop =
            event_loop::EventLoop::new(keypair, store, &config, client.clone(), receiver, known)?;
        for address in &config.listen {
            event_loop.listen(address.clone())?;
        }
        // The bootstrap peers are in the book now, their configured
        // address first.
        event_loop.dial_book();
        let task = tokio::spawn(event_loop.run(cancel));
        Ok(Self { client, task })
    }

    /// Waits for the loop to finish after cancellation.
    pub async fn join(self) {
        if let Err(error) = self.task.await {
            tracing::error!(%error, "network loop ended abnormally");
        }
    }
}

/// The peer book, with the bootstrap peers of the configuration written in
/// first (their configured address in front).
async fn load_book(
    store: &Store,
    bootstrap: &[(Did, Multiaddr)],
) -> Result<Vec<assure_store::Peer>, Error> {
    let store = store.clone();
    let bootstrap = bootstrap.to_vec();
    tokio::task::spawn_blocking(move || {
        let now = jiff::Timestamp::now();
        for (did, address) in bootstrap {
            let source = [assure_store::Source::Bootstrap];
            store.learn_peer(did, &source, &[address.to_string()], now)?;
        }
        Ok(store.peers()?)
    })
    .await
    .map_err(|e| Error::Setup(e.to_string()))?
}

/// Pending outbound requests, keyed by libp2p's request id.
pub(crate) type Pending =
    HashMap<libp2p::request_response::OutboundRequestId, oneshot::Sender<Result<Response, Error>>>;

/// Shared, read-mostly node facts the loop hands to its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) keypair: Keypair,
    pub(crate) client: Client,
    /// Our current witness tickets for the replicas we hold, by log.
    tickets: std::sync::Mutex<std::collections::BTreeMap<LogId, Vec<u8>>>,
}

impl Shared {
    pub(crate) fn new(store: Store, keypair: Keypair, client: Client) -> Self {
        Self {
            store,
            keypair,
            client,
            tickets: Default::default(),
        }
    }

    /// Our organization.
    pub(crate) fn me(&self) -> Did {
        self.keypair.did()
    }

    /// Keeps the ticket an author gave us for one of its logs.
    pub(crate) fn keep_ticket(&self, log: LogId, ticket: Vec<u8>) {
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.insert(log, ticket);
    }

    /// Our tickets valid at `now`; expired ones are dropped.
    pub(crate) fn tickets(
        &self,
        now: jiff::Timestamp,
    ) -> std::collections::BTreeMap<LogId, Vec<u8>> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.retain(|_, t| witness::expiry(t).is_some_and(|at| at >= now));
        tickets.clone()
    }
}

pub(crate) type SharedRef = Arc<Shared>;
