//! Damaged replicas, set aside to be fetched again from their authors
//! (DESIGN.md §6).
//!
//! A replica whose entries do not match its checkpoint when the store opens
//! is not ours to restore: its author holds it whole. The open sets it aside
//! in one sled transaction: its compartment, checkpoint and prefix proof
//! are removed, and the `quarantine` keyspace records where its blocks end in
//! the segments, so that later opens skip them (segments are append-only:
//! the blocks stay where they are) and never cut the segments back below
//! them. Holding nothing of the log, the node pulls it again from index 0 the
//! next time it reaches the author. Damage found when reading (an envelope
//! that does not match its leaf hash, which the open does not rehash) marks
//! the replica, and the next open sets it aside.

use std::collections::HashMap;

use assure_access::Compartment;
use assure_log::SignedCheckpoint;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sled::Transactional as _;

use crate::error::Within as _;
use crate::grants::{from_json, to_json};
use crate::keys::LogId;
use crate::{Error, Trees};

/// The `meta` key prefix of a replica found damaged when read.
const MARK: &[u8] = b"damaged/";

/// A replica set aside at open because it did not match its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    /// Which log: its origin is the author it is fetched again from.
    pub log: LogId,
    /// The local label of its compartment.
    pub compartment: String,
    /// What did not match.
    pub detail: String,
    /// The size of the checkpoint it was held against.
    pub size: Option<u64>,
}

impl std::fmt::Display for Quarantined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the replica of {}'s log (compartment {}, id {}) was damaged: {}; it is set aside, \
             not served and not counted as verified, and fetched again from {} when the node \
             reaches it",
            self.log.origin, self.compartment, self.log.compartment, self.detail, self.log.origin
        )
    }
}

/// What the `quarantine` keyspace keeps of a replica set aside.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// The segment file and offset where its last block ended: blocks of
    /// the log that end there or before are the damaged copy.
    segment: u32,
    end: u64,
    /// The checkpoint it was held against, as signed.
    checkpoint: Option<String>,
    detail: String,
    at: Timestamp,
}

/// Where the blocks of every replica set aside end.
pub(crate) fn points(trees: &Trees) -> Result<HashMap<LogId, (u32, u64)>, Error> {
    let mut out = HashMap::new();
    for item in trees.quarantine.iter() {
        let (key, value) = item.within("keyspace `quarantine`")?;
        let log = LogId::from_bytes(&key).ok_or_else(|| Error::corrupt("quarantine key"))?;
        let record: Record = from_json(&value, "quarantine")?;
        out.insert(log, (record.segment, record.end));
    }
    Ok(out)
}

/// The replicas found damaged when read, with what was wrong.
pub(crate) fn marks(trees: &Trees) -> Result<HashMap<LogId, String>, Error> {
    let mut out = HashMap::new();
    for item in trees.meta.scan_prefix(MARK) {
        let (key, value) = item.within("keyspace `meta`")?;
        if let Some(log) = LogId::from_bytes(&key[MARK.len()..]) {
            out.insert(log, String::from_utf8_lossy(&value).into_owned());
        }
    }
    Ok(out)
}

/// Marks a replica found damaged when read, for the next open to set aside.
pub(crate) fn mark(trees: &Trees, log: LogId, detail: &str) -> Result<(), Error> {
    let mut key = MARK.to_vec();
    key.extend_from_slice(&log.to_bytes());
    trees
        .meta
        .insert(key, detail.as_bytes())
        .within("keyspace `meta`")?;
    Ok(())
}

/// Sets a damaged replica aside, in one transaction (made durable by the
/// caller's flush): its compartment, checkpoint, prefix proof and mark
/// removed, and where its blocks end recorded.
pub(crate) fn set_aside(
    trees: &Trees,
    log: LogId,
    compartment: &Compartment,
    end: (u32, u64),
    note: Option<&SignedCheckpoint>,
    detail: &str,
) -> Result<Quarantined, Error> {
    let record = to_json(&Record {
        segment: end.0,
        end: end.1,
        checkpoint: note.map(ToString::to_string),
        detail: detail.to_owned(),
        at: Timestamp::now(),
    })?;
    let key = log.to_bytes();
    let mut mark = MARK.to_vec();
    mark.extend_from_slice(&key);
    let set = [
        trees.compartments.clone(),
        trees.checkpoints.clone(),
        trees.quarantine.clone(),
        trees.meta.clone(),
    ];
    set.as_slice()
        .transaction(|views| {
            views[0].remove(&key[..])?;
            views[1].remove(&key[..])?;
            views[1].remove(crate::replica::prefix_key(log))?;
            views[2].insert(&key[..], record.as_slice())?;
            views[3].remove(mark.as_slice())?;
            Ok::<_, sled::transaction::ConflictableTransactionError<Error>>(())
        })
        .within("keyspaces `compartments`, `checkpoints` and `quarantine`")?;
    Ok(Quarantined {
        log,
        compartment: compartment.label.clone(),
        detail: detail.to_owned(),
        size: note.map(|note| note.checkpoint().size()),
    })
}
