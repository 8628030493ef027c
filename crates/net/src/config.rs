//! What a node needs to run its network, already validated.

use std::time::Duration;

use assure_model::Did;
use libp2p::Multiaddr;

/// Network limits; every one has a safe default.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Established connections in total.
    pub max_connections: u32,
    /// Established connections per peer.
    pub max_connections_per_peer: u32,
    /// Largest request accepted, in bytes.
    pub max_request_bytes: u64,
    /// Largest response accepted, in bytes.
    pub max_response_bytes: u64,
    /// Largest gossip message, in bytes.
    pub max_gossip_bytes: usize,
    /// Requests a peer may make per second (burst: twice that).
    pub requests_per_second: u32,
    /// How long a request may take.
    pub request_timeout: Duration,
    /// Concurrent streams per connection.
    pub max_concurrent_streams: usize,
    /// How long an idle connection stays open.
    pub idle_timeout: Duration,
    /// How long a peer cut off for misbehaviour stays blocked (a party
    /// granted again is unblocked at once).
    pub block_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_connections_per_peer: 2,
            max_request_bytes: 64 * 1024,
            max_response_bytes: 8 * 1024 * 1024,
            max_gossip_bytes: 16 * 1024,
            requests_per_second: 200,
            request_timeout: Duration::from_secs(30),
            max_concurrent_streams: 32,
            idle_timeout: Duration::from_secs(60),
            block_duration: Duration::from_secs(600),
        }
    }
}

/// The network part of a node's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to connect to at start, by organization and address.
    pub bootstrap: Vec<(Did, Multiaddr)>,
    /// Limits.
    pub limits: Limits,
    /// How often to pull from connected authors without a notice.
    pub poll_interval: Duration,
    /// Whether to run Kademlia. Off by default: a DHT server answers any
    /// peer that connects with the peers it knows, and a node's peers are
    /// its partners. Partners are found through bootstrap entries, grants
    /// and the peer book instead. When on, the node runs Kademlia in client
    /// mode: it looks peers up through DHT servers it is told of, and never
    /// answers lookups, so no stranger learns our partners from us.
    pub kademlia: bool,
    /// How long the witness tickets we give our readers are valid: a party
    /// we revoke learns nothing more of our logs from other readers once
    /// its last ticket lapses.
    pub ticket_lifetime: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            limits: Limits::default(),
            poll_interval: Duration::from_secs(30),
            kademlia: false,
            ticket_lifetime: crate::witness::TICKET_LIFETIME,
        }
    }
}
