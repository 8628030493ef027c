//! The composed libp2p behaviour, built by one constructor for production and
//! tests alike.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, allow_block_list, connection_limits, gossipsub, identify, identity, kad, ping,
};

use crate::Config;
use crate::codec::Codec;
use crate::protocol::PROTOCOL;
use crate::slots::Slots;

/// The gossipsub topic for checkpoints of `public` compartments.
pub const CHECKPOINT_TOPIC: &str = "assure/checkpoints/1";

/// Everything a node speaks.
#[derive(NetworkBehaviour)]
#[allow(missing_debug_implementations)]
pub struct Behaviour {
    /// Refuses connections of blocked (fully revoked, misbehaving) parties.
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Connection limits per peer, and for handshakes under way.
    pub limits: connection_limits::Behaviour,
    /// The established connections in total: most slots kept for parties
    /// we have business with, strangers evicted first.
    pub slots: Slots,
    /// Exchanges protocol versions and listen addresses.
    pub identify: identify::Behaviour,
    /// Keeps connections alive and measures round trips.
    pub ping: ping::Behaviour,
    /// The sync protocol.
    pub sync: request_response::Behaviour<Codec>,
    /// Checkpoints of public compartments.
    pub gossip: gossipsub::Behaviour,
    /// Finding peers by id in larger networks; off unless configured, and
    /// then only ever told about parties holding a grant (see
    /// [`Config::kademlia`]).
    pub kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
}

impl Behaviour {
    /// Builds the behaviour for `key` under `config`'s limits.
    pub fn new(
        key: &identity::Keypair,
        config: &Config,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let peer = key.public().to_peer_id();
        let limits = &config.limits;
        let connection_limits = connection_limits::ConnectionLimits::default()
            .with_max_established_per_peer(Some(limits.max_connections_per_peer))
            .with_max_pending_incoming(Some(limits.max_connections));
        let codec = Codec::new(limits.max_request_bytes, limits.max_response_bytes);
        let sync = request_response::Behaviour::with_codec(
            codec,
            [(StreamProtocol::new(PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(limits.request_timeout)
                .with_max_concurrent_streams(limits.max_concurrent_streams),
        );
        let gossip_config = gossipsub::ConfigBuilder::default()
            .validation_mode(gossipsub::ValidationMode::Strict)
            .max_transmit_size(limits.max_gossip_bytes)
            .heartbeat_interval(Duration::from_secs(1))
            .build()?;
        let gossip = gossipsub::Behaviour::new(
            gossipsub::MessageAuthenticity::Signed(key.clone()),
            gossip_config,
        )
        .map_err(|e| e.to_string())?;
        let kad = config.kademlia.then(|| {
            let mut config = kad::Config::new(kad::PROTOCOL_NAME);
            // Nobody enters the routing table by connecting: the event loop
            // adds parties holding a grant, and no one else.
            config.set_kbucket_inserts(kad::BucketInserts::Manual);
            let mut kad =
                kad::Behaviour::with_config(peer, kad::store::MemoryStore::new(peer), config);
            // Client mode: the node asks, and never answers, so its table
            // (its partners) never leaves it.
            kad.set_mode(Some(kad::Mode::Client));
            kad
        });
        Ok(Self {
            blocked: Default::default(),
            limits: connection_limits::Behaviour::new(connection_limits),
            slots: Slots::new(limits.max_connections),
            identify: identify::Behaviour::new(identify::Config::new(
                "/assure/1".into(),
                key.public(),
            )),
            ping: ping::Behaviour::default(),
            sync,
            gossip,
            kad: kad.into(),
        })
    }
}
