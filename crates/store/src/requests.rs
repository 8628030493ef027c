//! Access requests (the trust-centre flow): the requests other
//! organizations sent us, with our decision, and the requests we sent
//! other nodes, which our node follows up until they are decided.
//!
//! The store keeps them; what may be asked, how often, and what the
//! requester is told are decided by the node's operations.

use assure_access::{Clearance, Role};
use assure_model::Did;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Within as _;
use crate::grants::{from_json, to_json};
use crate::{Error, Store};

/// What an organization asks for: one clearance, one role, why, and on
/// what basis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asked {
    /// The clearance it asks for.
    pub clearance: Clearance,
    /// The role it asks to be granted.
    pub role: Role,
    /// Why it asks.
    pub purpose: String,
    /// The NDA or contract reference, or for a regulator its legal basis.
    pub basis: String,
    /// `basis` is a regulator's legal basis rather than a contract.
    pub legal_basis: bool,
}

/// How a request was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decided {
    /// When.
    pub at: Timestamp,
    /// Approved (a grant was made) or declined.
    pub approved: bool,
    /// Why it was declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The version of the grant an approval made (ours only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_version: Option<u64>,
}

/// A request another organization sent us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequest {
    /// A random id, 32 hex characters.
    pub id: String,
    /// Who asks (the key that signed the request).
    pub party: Did,
    /// What it asks for.
    pub asked: Asked,
    /// When it arrived.
    pub at: Timestamp,
    /// Our decision, once made.
    pub decided: Option<Decided>,
}

/// A request we sent to another organization's node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingRequest {
    /// The id the other node gave it.
    pub id: String,
    /// The organization asked.
    pub node: Did,
    /// The base URL of its API.
    pub url: String,
    /// What we asked for.
    pub asked: Asked,
    /// When we sent it.
    pub at: Timestamp,
    /// Its outcome, once the other node decided.
    pub decided: Option<Decided>,
    /// How many times we asked the other node about it.
    pub polls: u32,
    /// When to ask next.
    pub next_poll: Timestamp,
}

impl Store {
    /// Stores a request sent to us (new, or with its decision), durably.
    pub fn put_access_request(&self, request: &AccessRequest) -> Result<(), Error> {
        let trees = &self.inner.trees;
        trees
            .access_requests
            .insert(request.id.as_bytes(), to_json(request)?)
            .within("keyspace `access_requests`")?;
        self.flush()
    }

    /// The request sent to us with this id.
    pub fn access_request(&self, id: &str) -> Result<Option<AccessRequest>, Error> {
        self.inner
            .trees
            .access_requests
            .get(id.as_bytes())
            .within("keyspace `access_requests`")?
            .map(|bytes| from_json(&bytes, "access request"))
            .transpose()
    }

    /// Every request sent to us, oldest first.
    pub fn access_requests(&self) -> Result<Vec<AccessRequest>, Error> {
        let mut all: Vec<AccessRequest> = self
            .inner
            .trees
            .access_requests
            .iter()
            .map(|kv| {
                from_json(
                    &kv.within("keyspace `access_requests`")?.1,
                    "access request",
                )
            })
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|r| r.at);
        Ok(all)
    }

    /// Stores a request we sent (new, or followed up), durably.
    pub fn put_outgoing_request(&self, request: &OutgoingRequest) -> Result<(), Error> {
        let key = format!("{}/{}", request.node, request.id);
        self.inner
            .trees
            .outgoing_requests
            .insert(key.as_bytes(), to_json(request)?)
            .within("keyspace `outgoing_requests`")?;
        self.flush()
    }

    /// Every request we sent, oldest first.
    pub fn outgoing_requests(&self) -> Result<Vec<OutgoingRequest>, Error> {
        let mut all: Vec<OutgoingRequest> = self
            .inner
            .trees
            .outgoing_requests
            .iter()
            .map(|kv| {
                from_json(
                    &kv.within("keyspace `outgoing_requests`")?.1,
                    "outgoing request",
                )
            })
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|r| r.at);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn asked() -> Asked {
        Asked {
            clearance: Clearance::Partner,
            role: Role::Customer,
            purpose: "supplier onboarding".into(),
            basis: "NDA-7".into(),
            legal_basis: false,
        }
    }

    #[test]
    fn requests_round_trip_and_list_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let party = assure_model::Keypair::from_seed([9; 32]).did();
        let later = AccessRequest {
            id: "b".repeat(32),
            party,
            asked: asked(),
            at: Timestamp::from_second(2_000_000_000).unwrap(),
            decided: None,
        };
        let earlier = AccessRequest {
            id: "a".repeat(32),
            at: Timestamp::from_second(1_900_000_000).unwrap(),
            ..later.clone()
        };
        store.put_access_request(&later).unwrap();
        store.put_access_request(&earlier).unwrap();
        assert_eq!(
            store.access_requests().unwrap(),
            vec![earlier, later.clone()]
        );
        assert_eq!(store.access_request(&later.id).unwrap(), Some(later));
        assert_eq!(store.access_request(&"c".repeat(32)).unwrap(), None);
    }
}
