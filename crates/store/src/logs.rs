//! Logs: appending envelopes durably, reading them back, and checking every
//! log against its signed checkpoint when the store opens.

use std::collections::BTreeMap;

use assure_access::{Compartment, CompartmentId, Reader, Visible};
use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
use assure_model::{Keypair, Record, RecordId};
use jiff::Timestamp;
use sled::Transactional as _;

use crate::index::Index;
use crate::keys::{EntryKey as _, Location, LogId};
use crate::pages::{self, Page, Tuple};
use crate::{Error, State, Store, Trees};

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

/// Everything one append writes: pages per log and the new checkpoints.
#[derive(Debug, Default)]
pub(crate) struct Write {
    pages: Vec<Page>,
    checkpoints: Vec<(LogId, SignedCheckpoint)>,
    compartments: Vec<(LogId, Vec<u8>)>,
    /// Replicas held in part: the proof that the entries held are a prefix
    /// of the checkpoint's tree, or `None` to drop it once all are held.
    prefixes: Vec<(LogId, Option<Vec<u8>>)>,
}

impl Write {
    /// Adds an entry at the end of `tree`, starting a new page when needed.
    pub(crate) fn push(
        &mut self,
        log: LogId,
        tree: &mut Tree<Blake3>,
        bytes: &[u8],
        record: &Record,
    ) {
        let leaf = Blake3::leaf(bytes);
        let index = tree.push_leaf_hash(leaf);
        let fits = self
            .pages
            .last()
            .is_some_and(|page| page.log == log && !page.is_full_for(bytes.len()));
        if !fits {
            self.pages.push(Page::new(log, index));
        }
        if let Some(page) = self.pages.last_mut() {
            page.push(bytes, &leaf, &Tuple::of(record));
        }
    }

    pub(crate) fn checkpoint(&mut self, log: LogId, note: SignedCheckpoint) {
        self.checkpoints.push((log, note));
    }

    /// Records the proof that a replica's entries are a prefix of its
    /// checkpoint's tree (`None`: the replica holds every entry).
    pub(crate) fn prefix(&mut self, log: LogId, proof: Option<Vec<u8>>) {
        self.prefixes.push((log, proof));
    }

    /// Records a log's compartment (for a new log).
    pub(crate) fn compartment(
        &mut self,
        log: LogId,
        compartment: &Compartment,
    ) -> Result<(), Error> {
        let meta = serde_json::to_vec(compartment).map_err(|e| Error::corrupt(e.to_string()))?;
        self.compartments.push((log, meta));
        Ok(())
    }

    pub(crate) fn entries(&self) -> usize {
        self.pages.iter().map(Page::len).sum()
    }

    /// Writes every page and checkpoint in one atomic transaction.
    pub(crate) fn commit(&self, trees: &Trees) -> Result<(), Error> {
        let set = [
            trees.entries.clone(),
            trees.leaves.clone(),
            trees.index.clone(),
            trees.checkpoints.clone(),
            trees.compartments.clone(),
        ];
        set.as_slice().transaction(|views| {
            for page in &self.pages {
                for (view, value) in views.iter().zip(page.values()) {
                    view.insert(&page.key()[..], value)?;
                }
            }
            for (log, note) in &self.checkpoints {
                views[3].insert(&log.to_bytes()[..], note.to_string().as_bytes())?;
            }
            for (log, meta) in &self.compartments {
                views[4].insert(&log.to_bytes()[..], meta.as_slice())?;
            }
            for (log, proof) in &self.prefixes {
                let key = crate::replica::prefix_key(*log);
                match proof {
                    Some(proof) => views[3].insert(key, proof.as_slice())?,
                    None => views[3].remove(key)?,
                };
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Records the written pages in the in-memory index.
    pub(crate) fn index_into(&self, index: &mut Index) -> Result<(), Error> {
        for page in &self.pages {
            let [_, _, tuples] = page.values();
            for (n, tuple) in pages::tuples(tuples)?.into_iter().enumerate() {
                index.insert(
                    tuple,
                    Location {
                        log: page.log,
                        index: page.first + n as u64,
                    },
                );
            }
        }
        Ok(())
    }
}

impl Store {
    /// Creates one of the owner's compartments with an empty, signed log.
    pub fn create_compartment(
        &self,
        owner: &Keypair,
        compartment: Compartment,
        now: Timestamp,
    ) -> Result<LogId, Error> {
        let mut state = self.state();
        let taken = state
            .logs
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
        let mut write = Write::default();
        write.compartment(log, &compartment)?;
        write.checkpoint(log, note.clone());
        write.commit(&self.inner.trees)?;
        self.flush()?;
        state.logs.insert(
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
    /// write, and signs one new checkpoint per compartment touched.
    pub fn append(
        &self,
        owner: &Keypair,
        entries: &[NewEntry],
        now: Timestamp,
    ) -> Result<Vec<Appended>, Error> {
        let mut state = self.state();
        let mut trees: BTreeMap<LogId, Tree<Blake3>> = BTreeMap::new();
        let mut write = Write::default();
        let mut appended = Vec::with_capacity(entries.len());
        for entry in entries {
            let log = LogId {
                origin: owner.did(),
                compartment: entry.compartment,
            };
            let current = state
                .logs
                .get(&log)
                .ok_or_else(|| Error::NoCompartment(entry.compartment.to_string()))?;
            let tree = trees.entry(log).or_insert_with(|| current.tree.clone());
            let index = tree.len();
            write.push(log, tree, &entry.bytes, &entry.record);
            appended.push(Appended {
                id: entry.record.id,
                location: Location { log, index },
            });
        }
        for (log, tree) in &trees {
            write.checkpoint(*log, sign_checkpoint(owner, *log, tree, now)?);
        }
        write.commit(&self.inner.trees)?;
        self.flush()?;
        write.index_into(&mut state.index)?;
        for ((log, note), (_, tree)) in write.checkpoints.into_iter().zip(trees) {
            if let Some(log) = state.logs.get_mut(&log) {
                log.tree = tree;
                log.checkpoint = note;
            }
        }
        Ok(appended)
    }

    /// Every log the store holds, with its compartment and head (inside the
    /// store; readers go through [`Store::logs`]).
    pub(crate) fn logs_all(&self) -> Vec<LogSummary> {
        self.state()
            .logs
            .iter()
            .map(|(log, state)| LogSummary {
                log: *log,
                compartment: state.compartment.clone(),
                checkpoint: state.checkpoint.clone(),
            })
            .collect()
    }

    /// Entries `from..from+max` of a log, as stored.
    pub(crate) fn entries(&self, log: LogId, from: u64, max: u64) -> Result<Vec<Vec<u8>>, Error> {
        let end = from.saturating_add(max);
        let mut out = Vec::new();
        let entries = &self.inner.trees.entries;
        // The page holding `from` starts at or before it; later pages follow.
        let first = entries
            .range(log.entry_key(0)..=log.entry_key(from))
            .next_back();
        let rest = entries.range(log.entry_key(from.saturating_add(1))..log.entry_key(end));
        for item in first.into_iter().chain(rest) {
            let (key, page) = item?;
            let start = pages::page_start(&key)?.index;
            for (n, bytes) in pages::entries(&page)?.into_iter().enumerate() {
                let index = start + n as u64;
                if (from..end).contains(&index) {
                    out.push(bytes.to_vec());
                }
            }
        }
        Ok(out)
    }

    /// Recomputes one log from the database, as at open: every entry rehashed
    /// and compared with its leaf hash, the root compared with the checkpoint,
    /// and the checkpoint's signature checked.
    pub fn verify_log(&self, visible: &Visible, log: LogId) -> Result<LogState, Error> {
        // The owner's alone; the log may be one left out at open as
        // damaged, so it need not be in the set.
        if !matches!(visible.reader(), Reader::Owner) {
            return Err(Error::NoCompartment(log.compartment.to_string()));
        }
        let compartment = read_compartment(&self.inner.trees, log)?;
        rebuild(&self.inner.trees, log, compartment, &mut Index::default())
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
    serde_json::from_slice(&bytes).map_err(|_| Error::corrupt(format!("compartment {log:?}")))
}

/// Every log checked and loaded with the index, and the logs that failed.
pub(crate) type Loaded = (State, Vec<(LogId, Error)>);

/// Loads and checks every log (see [`Store::verify_log`]).
pub(crate) fn load_all(trees: &Trees) -> Result<Loaded, Error> {
    let mut state = State::default();
    let mut damaged = Vec::new();
    for item in trees.compartments.iter() {
        let (key, value) = item?;
        let log = LogId::from_bytes(&key).ok_or_else(|| Error::corrupt("compartment key"))?;
        let compartment: Compartment = serde_json::from_slice(&value)
            .map_err(|_| Error::corrupt(format!("compartment {log:?}")))?;
        let mut index = Index::default();
        match rebuild(trees, log, compartment, &mut index) {
            Ok(log_state) => {
                state.logs.insert(log, log_state);
                state.index.extend(index);
            }
            Err(error) if error.is_integrity() => damaged.push((log, error)),
            Err(error) => return Err(error),
        }
    }
    Ok((state, damaged))
}

fn rebuild(
    trees: &Trees,
    log: LogId,
    compartment: Compartment,
    index: &mut Index,
) -> Result<LogState, Error> {
    let damaged = |detail: String| Error::Integrity {
        compartment: compartment.label.clone(),
        detail,
    };
    let prefix = pages::log_prefix(log);
    let mut tree = Tree::new();
    let mut leaves = trees.leaves.scan_prefix(prefix);
    let mut tuples = trees.index.scan_prefix(prefix);
    for item in trees.entries.scan_prefix(prefix) {
        let (key, page) = item?;
        let start = pages::page_start(&key)?.index;
        if start != tree.len() {
            return Err(damaged(format!("entries from {} are missing", tree.len())));
        }
        let entries = pages::entries(&page).map_err(|e| damaged(e.to_string()))?;
        let stored_leaves = match leaves.next().transpose()? {
            Some((k, v)) if k == key => pages::leaves(&v).map_err(|e| damaged(e.to_string()))?,
            _ => {
                return Err(damaged(format!(
                    "leaf hashes of entries from {start} are missing"
                )));
            }
        };
        let page_tuples = match tuples.next().transpose()? {
            Some((k, v)) if k == key => pages::tuples(&v).map_err(|e| damaged(e.to_string()))?,
            _ => return Err(damaged(format!("index of entries from {start} is missing"))),
        };
        if stored_leaves.len() != entries.len() || page_tuples.len() != entries.len() {
            return Err(damaged(format!("page at {start} has mismatched parts")));
        }
        for ((bytes, stored), tuple) in entries.iter().zip(stored_leaves).zip(page_tuples) {
            let leaf = Blake3::leaf(bytes);
            if leaf != stored {
                let at = tree.len();
                return Err(damaged(format!("entry {at} does not match its leaf hash")));
            }
            let at = tree.push_leaf_hash(leaf);
            index.insert(tuple, Location { log, index: at });
        }
    }
    if leaves.next().is_some() || tuples.next().is_some() {
        return Err(damaged(format!(
            "leaf hashes or index beyond entry {}",
            tree.len()
        )));
    }
    let note = read_checkpoint(trees, log).map_err(damaged)?;
    let head = note.checkpoint();
    let in_part = crate::replica::held_in_part(trees, log, &tree, &note)?;
    if !in_part && (head.size() != tree.len() || *head.root() != tree.root()) {
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

pub(crate) fn read_checkpoint(trees: &Trees, log: LogId) -> Result<SignedCheckpoint, String> {
    let text = trees
        .checkpoints
        .get(log.to_bytes())
        .map_err(|e| e.to_string())?
        .ok_or("no checkpoint")?;
    let note = std::str::from_utf8(&text)
        .ok()
        .and_then(|text| SignedCheckpoint::parse(text).ok())
        .ok_or("checkpoint cannot be parsed")?;
    note.verify(&log.origin.to_string(), &log.origin.verifying_key())
        .map_err(|_| "checkpoint signature does not verify")?;
    if note.checkpoint().origin() != log.origin_line() {
        return Err("checkpoint names another log".into());
    }
    Ok(note)
}
