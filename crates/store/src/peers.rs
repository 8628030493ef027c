//! The peer book (DESIGN.md §5 "Peers"): every organization the node has
//! learned of as a peer, with the addresses it may be reached at and where
//! the node learned them, kept across restarts so that a restarted node
//! can dial its partners again.
//!
//! Addresses are kept as text: the store knows no libp2p, the network
//! parses them. The book says who a peer is and where it was; whom to dial
//! and when is the network's decision.

use std::collections::BTreeSet;

use assure_model::Did;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Within as _;
use crate::grants::{from_json, to_json};
use crate::{Error, Store};

/// Addresses kept per peer, the most recently learned first: a peer that
/// announces more is not allowed to grow the book without bound.
pub const MAX_ADDRESSES: usize = 8;

/// Where the node learned of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Source {
    /// A `[[bootstrap]]` entry of the configuration.
    Bootstrap,
    /// The peer announced its listen addresses when connected (identify).
    Identify,
    /// The peer is a party holding a grant from us.
    Grantee,
    /// The peer is the other side of one of our relationship records.
    Counterpart,
}

impl Source {
    /// The name used in the API and the logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bootstrap => "bootstrap",
            Self::Identify => "identify",
            Self::Grantee => "grantee",
            Self::Counterpart => "counterpart",
        }
    }
}

/// What the node knows of one peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    /// The organization.
    pub did: Did,
    /// Where it may be reached (multiaddrs), the most recently learned
    /// first, at most [`MAX_ADDRESSES`].
    pub addresses: Vec<String>,
    /// Where we learned of it.
    pub sources: BTreeSet<Source>,
    /// When we first learned of it.
    pub first_seen: Timestamp,
    /// When a connection with it was last established.
    pub last_connected: Option<Timestamp>,
    /// The address we last reached it at, when we dialled.
    pub last_address: Option<String>,
    /// How many times the entry was written: of two copies, the one with
    /// the higher revision is the newer.
    #[serde(default)]
    pub revision: u64,
}

impl Peer {
    /// A peer first learned of at `at`, with nothing known yet.
    pub fn new(did: Did, at: Timestamp) -> Self {
        Self {
            did,
            addresses: Vec::new(),
            sources: BTreeSet::new(),
            first_seen: at,
            last_connected: None,
            last_address: None,
            revision: 0,
        }
    }

    /// Adds addresses in front (the newest first), without duplicates,
    /// keeping at most [`MAX_ADDRESSES`].
    pub fn add_addresses<'a>(&mut self, addresses: impl IntoIterator<Item = &'a str>) {
        let mut fresh: Vec<String> = Vec::new();
        for address in addresses {
            if !fresh.iter().any(|a| a == address) {
                fresh.push(address.to_owned());
            }
        }
        self.addresses.retain(|a| !fresh.contains(a));
        fresh.append(&mut self.addresses);
        fresh.truncate(MAX_ADDRESSES);
        self.addresses = fresh;
    }
}

impl Store {
    /// Records that we learned of `did` from `sources`, at `addresses`
    /// (which go in front of those known), durably; returns the entry as
    /// stored.
    pub fn learn_peer(
        &self,
        did: Did,
        sources: &[Source],
        addresses: &[String],
        at: Timestamp,
    ) -> Result<Peer, Error> {
        self.update_peer(did, at, |peer| {
            peer.sources.extend(sources.iter().copied());
            peer.add_addresses(addresses.iter().map(String::as_str));
        })
    }

    /// Records that a connection with `did` was established at `at`, at
    /// `address` when we dialled it, durably; returns the entry as stored.
    pub fn peer_connected(
        &self,
        did: Did,
        address: Option<&str>,
        at: Timestamp,
    ) -> Result<Peer, Error> {
        self.update_peer(did, at, |peer| {
            peer.last_connected = Some(peer.last_connected.map_or(at, |t| t.max(at)));
            if let Some(address) = address {
                peer.last_address = Some(address.to_owned());
                peer.add_addresses([address]);
            }
        })
    }

    /// The entry of one peer.
    pub fn peer(&self, did: &Did) -> Result<Option<Peer>, Error> {
        self.inner
            .trees
            .peers
            .get(did.public_bytes())
            .within("keyspace `peers`")?
            .map(|bytes| from_json(&bytes, "peers"))
            .transpose()
    }

    /// Every peer in the book.
    pub fn peers(&self) -> Result<Vec<Peer>, Error> {
        self.inner
            .trees
            .peers
            .iter()
            .map(|kv| from_json(&kv.within("keyspace `peers`")?.1, "peers"))
            .collect()
    }

    /// Removes a peer from the book, durably; `true` when it was there.
    pub fn forget_peer(&self, did: &Did) -> Result<bool, Error> {
        let removed = self
            .inner
            .trees
            .peers
            .remove(did.public_bytes())
            .within("keyspace `peers`")?;
        self.flush_shared()?;
        Ok(removed.is_some())
    }

    /// Reads, changes and writes back one entry atomically (compare and
    /// swap, again on a concurrent change) with the next revision, then
    /// makes it durable.
    fn update_peer(
        &self,
        did: Did,
        at: Timestamp,
        change: impl Fn(&mut Peer),
    ) -> Result<Peer, Error> {
        let tree = &self.inner.trees.peers;
        let key = did.public_bytes();
        loop {
            let old = tree.get(key).within("keyspace `peers`")?;
            let mut peer = match &old {
                Some(bytes) => from_json(bytes, "peers")?,
                None => Peer::new(did, at),
            };
            change(&mut peer);
            peer.revision += 1;
            let new = to_json(&peer)?;
            if tree
                .compare_and_swap(key, old.as_deref(), Some(new))
                .within("keyspace `peers`")?
                .is_ok()
            {
                self.flush_shared()?;
                return Ok(peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn did(seed: u8) -> Did {
        assure_model::Keypair::from_seed([seed; 32]).did()
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn addresses_are_newest_first_without_duplicates_and_capped() {
        let mut peer = Peer::new(did(1), at(0));
        peer.add_addresses(["/a", "/b"]);
        peer.add_addresses(["/c", "/a", "/c"]);
        assert_eq!(peer.addresses, ["/c", "/a", "/b"]);
        let many: Vec<String> = (0..20).map(|n| format!("/{n}")).collect();
        peer.add_addresses(many.iter().map(String::as_str));
        assert_eq!(peer.addresses.len(), MAX_ADDRESSES);
        assert_eq!(peer.addresses[0], "/0");
    }
}
