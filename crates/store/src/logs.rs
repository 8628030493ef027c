//! Logs: appending envelopes durably, and checking every log against its
//! signed checkpoint when the store opens.

use std::collections::BTreeMap;

use assure_access::{Compartment, CompartmentId};
use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
use assure_model::{Keypair, Record, RecordId};
use jiff::Timestamp;
use sled::Transactional as _;

use crate::keys::{LOG_ID_LEN, Location, LogId, index_key};
use crate::{Error, Store, Trees};

/// One log held in memory: its compartment, its Merkle tree and its head.
#[derive(Clone, Debug)]
pub struct LogState {
    /// The compartment the log holds.
    pub compartment: Compartment,
    /// Leaf hashes of every entry.
    pub tree: Tree<Blake3>,
    /// The last signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

/// A log as listed for users.
#[derive(Clone, Debug)]
pub struct LogSummary {
    /// Which log.
    pub log: LogId,
    /// Its compartment.
    pub compartment: Compartment,
    /// The last signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

/// An envelope to append to one of the owner's compartments.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The compartment to append to.
    pub compartment: CompartmentId,
    /// The envelope bytes, stored as they are.
    pub bytes: Vec<u8>,
    /// The validated record those bytes hold.
    pub record: Record,
}

/// Where an appended record landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The record.
    pub id: RecordId,
    /// Its place.
    pub location: Location,
}

/// The sled batches of one append, one per tree of [`Trees::append_set`].
#[derive(Default)]
pub(crate) struct Batches {
    batches: [sled::Batch; 7],
    entries: usize,
}

impl Batches {
    /// Entries added so far.
    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    pub(crate) fn entry(&mut self, at: Location, bytes: &[u8], leaf: &[u8; 32], record: &Record) {
        let key = at.to_bytes();
        self.entries += 1;
        let [entries, leaves, _, records, by_subject, by_kind, by_time] = &mut self.batches;
        entries.insert(&key[..], bytes);
        leaves.insert(&key[..], &leaf[..]);
        let mut record_key = record.id.0.to_vec();
        record_key.extend_from_slice(&key);
        records.insert(record_key, &[][..]);
        let issued = record.predicate.common.issued_at;
        by_subject.insert(
            index_key(record.subject.did.public_bytes(), issued, &record.id),
            &key[..],
        );
        by_kind.insert(
            index_key(&[kind_byte(record)], issued, &record.id),
            &key[..],
        );
        by_time.insert(index_key(&[], issued, &record.id), &key[..]);
    }

    pub(crate) fn checkpoint(&mut self, log: LogId, note: &SignedCheckpoint) {
        self.batches[2].insert(&log.to_bytes()[..], note.to_string().as_bytes());
    }

    /// Writes every batch in one atomic transaction.
    pub(crate) fn commit(self, trees: &Trees) -> Result<(), Error> {
        let set = trees.append_set();
        set.as_slice().transaction(|views| {
            for (view, batch) in views.iter().zip(&self.batches) {
                view.apply_batch(batch)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Writes the batches tree by tree, not atomically (for restoring into a
    /// staging database that is swapped in only once complete).
    pub(crate) fn apply(self, trees: &Trees) -> Result<(), Error> {
        for (tree, batch) in trees.append_set().iter().zip(self.batches) {
            tree.apply_batch(batch)?;
        }
        Ok(())
    }
}

pub(crate) fn kind_byte(record: &Record) -> u8 {
    let kind = record.kind();
    crate::query::kind_index(kind)
}

impl Store {
    /// Creates one of the owner's compartments with an empty, signed log.
    pub fn create_compartment(
        &self,
        owner: &Keypair,
        compartment: Compartment,
        now: Timestamp,
    ) -> Result<LogId, Error> {
        let mut logs = self.logs();
        let taken = logs
            .iter()
            .any(|(log, s)| log.origin == owner.did() && s.compartment.label == compartment.label);
        if taken {
            return Err(Error::CompartmentExists(compartment.label));
        }
        let log = LogId {
            origin: owner.did(),
            compartment: compartment.id,
        };
        let tree = Tree::new();
        let note = sign_checkpoint(owner, log, &tree, now)?;
        let meta = serde_json::to_vec(&compartment).map_err(|e| Error::corrupt(e.to_string()))?;
        let trees = &self.inner.trees;
        (&trees.compartments, &trees.checkpoints).transaction(|(c, k)| {
            c.insert(&log.to_bytes()[..], meta.as_slice())?;
            k.insert(&log.to_bytes()[..], note.to_string().as_bytes())?;
            Ok::<_, sled::transaction::ConflictableTransactionError<Error>>(())
        })?;
        self.flush()?;
        logs.insert(
            log,
            LogState {
                compartment,
                tree,
                checkpoint: note,
            },
        );
        Ok(log)
    }

    /// Appends envelopes to the owner's compartments as one atomic, flushed
    /// batch, and signs one new checkpoint per compartment touched.
    pub fn append(
        &self,
        owner: &Keypair,
        entries: &[NewEntry],
        now: Timestamp,
    ) -> Result<Vec<Appended>, Error> {
        let mut logs = self.logs();
        let mut touched: BTreeMap<LogId, Tree<Blake3>> = BTreeMap::new();
        let mut batches = Batches::default();
        let mut appended = Vec::with_capacity(entries.len());
        for entry in entries {
            let log = LogId {
                origin: owner.did(),
                compartment: entry.compartment,
            };
            let state = logs
                .get(&log)
                .ok_or_else(|| Error::NoCompartment(entry.compartment.to_string()))?;
            let tree = touched.entry(log).or_insert_with(|| state.tree.clone());
            let leaf = Blake3::leaf(&entry.bytes);
            let location = Location {
                log,
                index: tree.len(),
            };
            tree.push_leaf_hash(leaf);
            batches.entry(location, &entry.bytes, &leaf, &entry.record);
            appended.push(Appended {
                id: entry.record.id,
                location,
            });
        }
        let notes = touched
            .iter()
            .map(|(log, tree)| Ok((*log, sign_checkpoint(owner, *log, tree, now)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        for (log, note) in &notes {
            batches.checkpoint(*log, note);
        }
        batches.commit(&self.inner.trees)?;
        self.flush()?;
        for ((log, note), (_, tree)) in notes.into_iter().zip(touched) {
            if let Some(state) = logs.get_mut(&log) {
                state.tree = tree;
                state.checkpoint = note;
            }
        }
        Ok(appended)
    }

    /// Every log the store holds, with its compartment and head.
    pub fn logs_summary(&self) -> Vec<LogSummary> {
        self.logs()
            .iter()
            .map(|(log, state)| LogSummary {
                log: *log,
                compartment: state.compartment.clone(),
                checkpoint: state.checkpoint.clone(),
            })
            .collect()
    }

    /// The owner's compartment with this label or id.
    pub fn find_compartment(
        &self,
        owner: assure_model::Did,
        name: &str,
    ) -> Result<LogSummary, Error> {
        self.logs_summary()
            .into_iter()
            .filter(|s| s.log.origin == owner)
            .find(|s| s.compartment.label == name || s.compartment.id.to_string() == name)
            .ok_or_else(|| Error::NoCompartment(name.to_owned()))
    }

    /// The state of one log.
    pub fn log_state(&self, log: LogId) -> Option<LogState> {
        self.logs().get(&log).cloned()
    }

    /// Entries `from..from+max` of a log, as stored.
    pub fn entries(&self, log: LogId, from: u64, max: u64) -> Result<Vec<Vec<u8>>, Error> {
        let start = log.entry_key(from);
        let end = log.entry_key(from.saturating_add(max));
        self.inner
            .trees
            .entries
            .range(start..end)
            .map(|kv| kv.map(|(_, v)| v.to_vec()).map_err(Error::from))
            .collect()
    }

    /// Recomputes one log from the database, as at open: every entry rehashed
    /// and compared with its leaf hash, the root compared with the checkpoint,
    /// and the checkpoint's signature checked.
    pub fn verify_log(&self, log: LogId) -> Result<LogState, Error> {
        let compartment = read_compartment(&self.inner.trees, log)?;
        rebuild(&self.inner.trees, log, compartment)
    }
}

fn sign_checkpoint(
    owner: &Keypair,
    log: LogId,
    tree: &Tree<Blake3>,
    now: Timestamp,
) -> Result<SignedCheckpoint, Error> {
    let checkpoint = Checkpoint::new(log.origin_line(), tree.len(), tree.root(), now.as_second())?;
    Ok(SignedCheckpoint::sign(
        checkpoint,
        &owner.did().to_string(),
        owner.signing_key(),
    )?)
}

fn read_compartment(trees: &Trees, log: LogId) -> Result<Compartment, Error> {
    let bytes = trees
        .compartments
        .get(log.to_bytes())?
        .ok_or_else(|| Error::NoCompartment(log.compartment.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|_| Error::corrupt(format!("compartment {:?}", log)))
}

/// Every log checked and loaded, and the logs that failed the check.
type Loaded = (BTreeMap<LogId, LogState>, Vec<(LogId, Error)>);

/// Loads and checks every log (see [`Store::verify_log`]).
pub(crate) fn load_all(trees: &Trees) -> Result<Loaded, Error> {
    let mut logs = BTreeMap::new();
    let mut damaged = Vec::new();
    for item in trees.compartments.iter() {
        let (key, value) = item?;
        let log = LogId::from_bytes(&key).ok_or_else(|| Error::corrupt("compartment key"))?;
        let compartment: Compartment = serde_json::from_slice(&value)
            .map_err(|_| Error::corrupt(format!("compartment {log:?}")))?;
        match rebuild(trees, log, compartment) {
            Ok(state) => {
                logs.insert(log, state);
            }
            Err(error) if error.is_integrity() => damaged.push((log, error)),
            Err(error) => return Err(error),
        }
    }
    Ok((logs, damaged))
}

fn rebuild(trees: &Trees, log: LogId, compartment: Compartment) -> Result<LogState, Error> {
    let damaged = |detail: String| Error::Integrity {
        compartment: compartment.label.clone(),
        detail,
    };
    let mut tree = Tree::new();
    let mut leaves = trees.leaves.scan_prefix(log.to_bytes());
    for item in trees.entries.scan_prefix(log.to_bytes()) {
        let (key, bytes) = item?;
        let index = u64::from_be_bytes(
            key[LOG_ID_LEN..]
                .try_into()
                .map_err(|_| Error::corrupt("entry key"))?,
        );
        if index != tree.len() {
            return Err(damaged(format!("entry {} is missing", tree.len())));
        }
        let leaf = Blake3::leaf(&bytes);
        match leaves.next().transpose()? {
            Some((leaf_key, stored)) if leaf_key == key && stored.as_ref() == leaf.as_slice() => {}
            _ => {
                return Err(damaged(format!(
                    "entry {index} does not match its leaf hash"
                )));
            }
        }
        tree.push_leaf_hash(leaf);
    }
    if leaves.next().is_some() {
        return Err(damaged(format!("leaf hashes beyond entry {}", tree.len())));
    }
    let text = trees
        .checkpoints
        .get(log.to_bytes())?
        .ok_or_else(|| damaged("no checkpoint".into()))?;
    let note = std::str::from_utf8(&text)
        .ok()
        .and_then(|text| SignedCheckpoint::parse(text).ok())
        .ok_or_else(|| damaged("checkpoint cannot be parsed".into()))?;
    note.verify(&log.origin.to_string(), &log.origin.verifying_key())
        .map_err(|_| damaged("checkpoint signature does not verify".into()))?;
    let head = note.checkpoint();
    if head.origin() != log.origin_line() {
        return Err(damaged("checkpoint names another log".into()));
    }
    if head.size() != tree.len() || *head.root() != tree.root() {
        return Err(damaged(format!(
            "recomputed root over {} entries differs from the checkpoint of size {}",
            tree.len(),
            head.size()
        )));
    }
    Ok(LogState {
        compartment,
        tree,
        checkpoint: note,
    })
}
