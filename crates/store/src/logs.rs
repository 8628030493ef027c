//! Logs: appending envelopes durably, reading them back, and checking every
//! log against its signed checkpoint when the store opens.
//!
//! The envelopes, their leaf hashes and index tuples live in the segment
//! files (`segments.rs`); sled holds each log's compartment and signed
//! checkpoint. An append writes its blocks and makes them durable, then
//! commits the checkpoints that cover them in one sled transaction and
//! makes that durable: a block no checkpoint covers was not acknowledged.

use std::collections::BTreeMap;

use assure_access::{Compartment, CompartmentId, Reader, Visible};
use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
use assure_model::{Keypair, Record, RecordId};
use jiff::Timestamp;
use sled::Transactional as _;

use crate::error::Within as _;
use crate::keys::{Location, LogId};
use crate::pages::{Page, TUPLE_LEN, Tuple};
use crate::quarantine::{self, Quarantined};
use crate::replica::Prefix;
use crate::segments::{Place, Segments};
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

    /// Writes every page to the segments, durably, then every checkpoint
    /// and compartment in one sled transaction (made durable by the
    /// caller's flush); returns where the entries of each page are.
    pub(crate) fn commit(
        &self,
        trees: &Trees,
        segments: &Segments,
    ) -> Result<Vec<Vec<Place>>, Error> {
        let places = segments.append(&self.pages)?;
        if self.checkpoints.is_empty() && self.compartments.is_empty() && self.prefixes.is_empty() {
            return Ok(places);
        }
        let set = [trees.checkpoints.clone(), trees.compartments.clone()];
        set.as_slice()
            .transaction(|views| {
                for (log, note) in &self.checkpoints {
                    views[0].insert(&log.to_bytes()[..], note.to_string().as_bytes())?;
                }
                for (log, meta) in &self.compartments {
                    views[1].insert(&log.to_bytes()[..], meta.as_slice())?;
                }
                for (log, proof) in &self.prefixes {
                    let key = crate::replica::prefix_key(*log);
                    match proof {
                        Some(proof) => views[0].insert(key, proof.as_slice())?,
                        None => views[0].remove(key)?,
                    };
                }
                Ok(())
            })
            .within("keyspaces `checkpoints` and `compartments`")?;
        Ok(places)
    }

    /// Records the written pages in the in-memory index and places.
    pub(crate) fn index_into(&self, state: &mut State, places: Vec<Vec<Place>>) {
        for (page, places) in self.pages.iter().zip(places) {
            for (n, tuple) in page.tuples().iter().enumerate() {
                state.index.insert(
                    *tuple,
                    Location {
                        log: page.log,
                        index: page.first + n as u64,
                    },
                );
            }
            state.places.entry(page.log).or_default().extend(places);
        }
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
        write.commit(&self.inner.trees, &self.inner.segments)?;
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
        let places = write.commit(&self.inner.trees, &self.inner.segments)?;
        self.flush()?;
        write.index_into(&mut state, places);
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

    /// Entries `from..from+max` of a log, as stored, each checked against
    /// its leaf hash.
    pub(crate) fn entries(&self, log: LogId, from: u64, max: u64) -> Result<Vec<Vec<u8>>, Error> {
        let (places, leaves, describe) = {
            let state = self.state();
            let Some(held) = state.logs.get(&log) else {
                return Ok(Vec::new());
            };
            let all = state
                .places
                .get(&log)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let start = (from as usize).min(all.len());
            let end = (from.saturating_add(max) as usize).min(all.len());
            let places = all[start..end].to_vec();
            let leaves = &held.tree.leaf_hashes()[start..end];
            let describe = (held.compartment.clone(), from);
            (places, leaves.to_vec(), describe)
        };
        let entries = self.inner.segments.read(&places)?;
        for (n, (bytes, leaf)) in entries.iter().zip(&leaves).enumerate() {
            if Blake3::leaf(bytes) != *leaf {
                let (compartment, from) = describe;
                return Err(self.damaged(
                    log,
                    &compartment,
                    format!("entry {} does not match its leaf hash", from + n as u64),
                ));
            }
        }
        Ok(entries)
    }

    /// The error for a damaged log found when reading, saying whose it is;
    /// a replica is marked for the next open to set aside.
    pub(crate) fn damaged(&self, log: LogId, compartment: &Compartment, detail: String) -> Error {
        let owner = self.owner().ok().flatten();
        if owner.is_some_and(|owner| owner != log.origin) {
            let marked = quarantine::mark(&self.inner.trees, log, &detail);
            if let Err(error) = marked.and_then(|()| self.flush()) {
                tracing::warn!(%error, "marking a damaged replica");
            }
        }
        damaged(owner, log, compartment, detail)
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
        let scan = self.inner.segments.scan()?;
        let mut tree: Tree<Blake3> = Tree::new();
        let damaged = |detail: String| self.damaged(log, &compartment, detail);
        // A copy set aside as damaged, before the one held now.
        let aside = quarantine::points(&self.inner.trees)?.get(&log).copied();
        let held = scan
            .blocks
            .iter()
            .filter(|b| b.log == log && aside.is_none_or(|end| (b.segment, b.end) > end));
        for block in held {
            if block.first != tree.len() {
                break;
            }
            let Some(bytes) = self.inner.segments.body(block)? else {
                return Err(damaged(format!(
                    "entries from {} do not match their checksum",
                    block.first
                )));
            };
            for (bytes, leaf) in bytes.iter().zip(&block.leaves) {
                if Blake3::leaf(bytes) != *leaf {
                    let at = tree.len();
                    return Err(damaged(format!("entry {at} does not match its leaf hash")));
                }
                tree.push_leaf_hash(*leaf);
            }
        }
        let note = read_checkpoint(&self.inner.trees, log).map_err(damaged)?;
        let head = note.checkpoint();
        // Blocks beyond the checkpoint were never acknowledged.
        if tree.len() < head.size() {
            return Err(damaged(format!("entries from {} are missing", tree.len())));
        }
        let tree = Tree::from_leaf_hashes(tree.leaf_hashes()[..head.size() as usize].to_vec());
        if *head.root() != tree.root() {
            return Err(damaged(format!(
                "recomputed root over {} entries differs from the checkpoint",
                tree.len()
            )));
        }
        Ok(LogState {
            compartment,
            tree,
            checkpoint: note,
        })
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
        .get(log.to_bytes())
        .within("keyspace `compartments`")?
        .ok_or_else(|| Error::NoCompartment(log.compartment.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|_| Error::corrupt(format!("compartment {log:?}")))
}

/// Every log checked and loaded with the index, the logs that failed, and
/// the replicas set aside.
pub(crate) struct Loaded {
    pub(crate) state: State,
    /// Our own logs that do not match their checkpoints (and damaged
    /// replicas, when the open cannot set them aside).
    pub(crate) damaged: Vec<(LogId, Error)>,
    /// Damaged replicas set aside by this open, to be fetched again.
    pub(crate) quarantined: Vec<Quarantined>,
}

/// The error for a damaged log: which compartment, and whether the log is
/// ours or a replica and whose.
pub(crate) fn damaged(
    owner: Option<assure_model::Did>,
    log: LogId,
    compartment: &Compartment,
    detail: String,
) -> Error {
    let (whose, remedy) = match owner == Some(log.origin) {
        true => (
            format!("our own log, id {}", log.compartment),
            "restore it with `assure restore FILE` from the node's backup (`assure log verify` \
             lists every damaged log)"
                .to_owned(),
        ),
        false => (
            format!("replica of {}'s log, id {}", log.origin, log.compartment),
            format!(
                "the replica is set aside when the store next opens and fetched again from {}",
                log.origin
            ),
        ),
    };
    Error::Integrity {
        compartment: compartment.label.clone(),
        log: whose,
        detail,
        remedy,
    }
}

/// One log as the open rebuilds it from the segments.
struct Loading {
    compartment: Compartment,
    note: Result<SignedCheckpoint, String>,
    leaves: Vec<[u8; 32]>,
    places: Vec<Place>,
    tuples: Vec<Tuple>,
    /// For a replica held in part, how many entries were committed and
    /// the proof that they are a prefix of the checkpoint's tree.
    prefix: Option<Prefix>,
    problem: Option<String>,
}

impl Loading {
    /// Whether what was committed covers the block: the checkpoint, or for
    /// a replica held in part its committed prefix. A log whose checkpoint
    /// cannot be read keeps all it has.
    fn covers(&self, end: u64) -> bool {
        if let Some(prefix) = &self.prefix {
            return end <= prefix.size;
        }
        self.note
            .as_ref()
            .ok()
            .is_none_or(|note| end <= note.checkpoint().size())
    }
}

/// Loads and checks every log: rebuilds each from the segments, compares
/// its root with its checkpoint, and cuts the segments back past the last
/// block a checkpoint covers (an append that was not acknowledged).
pub(crate) fn load_all(trees: &Trees, segments: &Segments) -> Result<Loaded, Error> {
    let owner = crate::owner_of(trees)?;
    let set_aside = quarantine::points(trees)?;
    let mut marks = quarantine::marks(trees)?;
    // A block of a replica set aside, up to where its damaged copy ended.
    let aside = |block: &crate::segments::Block| {
        set_aside
            .get(&block.log)
            .is_some_and(|end| (block.segment, block.end) <= *end)
    };
    let mut logs = BTreeMap::new();
    for item in trees.compartments.iter() {
        let (key, value) = item.within("keyspace `compartments`")?;
        let log = LogId::from_bytes(&key).ok_or_else(|| Error::corrupt("compartment key"))?;
        let compartment: Compartment = serde_json::from_slice(&value)
            .map_err(|_| Error::corrupt(format!("compartment {log:?}")))?;
        logs.insert(
            log,
            Loading {
                compartment,
                note: read_checkpoint(trees, log),
                leaves: Vec::new(),
                places: Vec::new(),
                tuples: Vec::new(),
                prefix: Prefix::read(trees, log)?,
                problem: marks.remove(&log),
            },
        );
    }
    let scan = segments.scan()?;
    let files = segments.listed()?;
    let mut subjects = std::collections::HashMap::new();
    // Where the last covered block ends, and uncovered blocks before it.
    let mut cut: Option<(u32, u64)> = None;
    let mut uncovered: Vec<(LogId, (u32, u64))> = Vec::new();
    for block in &scan.blocks {
        if aside(block) {
            // Not ours to cut: new blocks of the log are written after it.
            cut = cut.max(Some((block.segment, block.end)));
            continue;
        }
        let Some(loading) = logs.get_mut(&block.log) else {
            // Our own logs are made, and their checkpoints committed,
            // before anything is appended to them; a replica's first
            // commit may have been cut short. Blocks of our own log that
            // sled does not know, or any block when sled does not know
            // its owner, mean sled lost what it had committed (its log is
            // damaged and was read back to an earlier state): cutting
            // them would destroy the entries.
            if owner.is_none_or(|owner| owner == block.log.origin) {
                return Err(lost(segments, block, owner.is_none()));
            }
            uncovered.push((block.log, (block.segment, block.offset)));
            continue;
        };
        if !loading.covers(block.first + block.count()) {
            uncovered.push((block.log, (block.segment, block.offset)));
            continue;
        }
        cut = cut.max(Some((block.segment, block.end)));
        if loading.problem.is_some() {
            continue;
        }
        if block.first != loading.leaves.len() as u64 {
            loading.problem = Some(format!(
                "entries from {} are missing ({files})",
                loading.leaves.len()
            ));
            continue;
        }
        loading.leaves.extend_from_slice(&block.leaves);
        loading.places.extend(block.places());
        for bytes in block.tuples.chunks_exact(TUPLE_LEN) {
            let tuple = Tuple::decode_cached(bytes, &mut subjects)
                .ok_or_else(|| Error::corrupt("index tuple"))?;
            loading.tuples.push(tuple);
        }
    }
    // Torn or damaged blocks: damage if a checkpoint covers them (or if
    // acknowledged blocks follow, for one whose log cannot be told).
    let mut torn = Vec::new();
    for damage in &scan.torn {
        let at = (damage.segment, damage.offset);
        let place = format!(
            "{} at byte {}: {}",
            crate::segments::shown(damage.segment),
            damage.offset,
            damage.what
        );
        match &damage.block {
            Some(block) if aside(block) => cut = cut.max(Some((block.segment, block.end))),
            Some(block) => match logs.get_mut(&block.log) {
                Some(loading) if loading.covers(block.first + block.count()) => {
                    loading.problem = Some(place);
                    cut = cut.max(Some((block.segment, block.end)));
                }
                _ => uncovered.push((block.log, at)),
            },
            None => torn.push((at, place)),
        }
    }
    let torn: Vec<String> = torn
        .into_iter()
        .filter(|(at, _)| cut.is_some_and(|cut| *at < cut))
        .map(|(_, place)| place)
        .collect();
    let mut state = State::default();
    let mut damage = Vec::new();
    let mut replicas = Vec::new();
    for (log, mut loading) in logs {
        match check(&mut loading, &files) {
            Ok(tree) => {
                for (n, tuple) in loading.tuples.into_iter().enumerate() {
                    state.index.insert(
                        tuple,
                        Location {
                            log,
                            index: n as u64,
                        },
                    );
                }
                state.places.insert(log, loading.places);
                state.logs.insert(
                    log,
                    LogState {
                        compartment: loading.compartment,
                        tree,
                        checkpoint: loading.note.map_err(Error::corrupt)?,
                    },
                );
            }
            Err(mut detail) => {
                if let Some(first) = torn.first() {
                    detail = format!("{detail} ({first})");
                }
                match owner.is_some_and(|owner| owner != log.origin) {
                    true => replicas.push((log, loading, detail)),
                    false => damage.push((log, damaged(owner, log, &loading.compartment, detail))),
                }
            }
        }
    }
    let mut quarantined = Vec::new();
    if damage.is_empty() {
        for (log, loading, detail) in replicas {
            // Where its last block ends, torn ones included.
            let whole = scan.blocks.iter().filter(|b| b.log == log);
            let torn = scan.torn.iter().filter_map(|d| d.block.as_ref());
            let end = whole
                .chain(torn.filter(|b| b.log == log))
                .map(|b| (b.segment, b.end))
                .max()
                .unwrap_or_default();
            cut = cut.max(Some(end));
            uncovered.retain(|(other, _)| *other != log);
            let note = loading.note.as_ref().ok();
            quarantined.push(quarantine::set_aside(
                trees,
                log,
                &loading.compartment,
                end,
                note,
                &detail,
            )?);
        }
    } else {
        // Our own logs are damaged and the store is not used: set nothing
        // aside, but say which replicas are damaged too.
        for (log, loading, detail) in replicas {
            damage.push((log, damaged(owner, log, &loading.compartment, detail)));
        }
    }
    let first_file = cut.map_or(0, |c| c.0);
    let cut = cut.unwrap_or((first_file, 0));
    let beyond = uncovered.iter().any(|(_, at)| *at >= cut)
        || scan.torn.iter().any(|d| (d.segment, d.offset) >= cut)
        || segments.ends_after(cut)?;
    if let Some((log, _)) = uncovered.iter().find(|(_, at)| *at < cut) {
        // Entries beyond a checkpoint with acknowledged ones after them:
        // not an interrupted append. Keep everything as it is.
        segments.refuse(format!("entries of {log:?} beyond its checkpoint"));
    } else if beyond && damage.is_empty() {
        segments.cut(cut)?;
    } else if beyond {
        segments.refuse("damaged".into());
    }
    Ok(Loaded {
        state,
        damaged: damage,
        quarantined,
    })
}

/// The error for a block that shows sled lost what it had committed.
fn lost(segments: &Segments, block: &crate::segments::Block, no_owner: bool) -> Error {
    let what = match no_owner {
        true => "does not know its owner".to_owned(),
        false => format!("does not know our own log {}", block.log.compartment),
    };
    Error::Missing {
        path: segments.db_file(),
        why: format!(
            "{what}, yet {} holds its entries from {} at byte {} (sled's log is damaged and was \
             read back to an earlier state)",
            crate::segments::shown(block.segment),
            block.first,
            block.offset
        ),
    }
}

/// The log's tree, if it matches its checkpoint; what is wrong otherwise.
fn check(loading: &mut Loading, files: &str) -> Result<Tree<Blake3>, String> {
    if let Some(problem) = &loading.problem {
        return Err(problem.clone());
    }
    let note = loading.note.as_ref().map_err(Clone::clone)?;
    let head = note.checkpoint();
    let held = loading.leaves.len() as u64;
    if let Some(prefix) = &loading.prefix {
        let tree = Tree::from_leaf_hashes(std::mem::take(&mut loading.leaves));
        if !prefix.proves(&tree, note) {
            return Err(format!(
                "the {held} entries held are not proven a prefix of the checkpoint of size {}",
                head.size()
            ));
        }
        return Ok(tree);
    }
    if held < head.size() {
        return Err(format!("entries from {held} are missing ({files})"));
    }
    let tree = Tree::from_leaf_hashes(std::mem::take(&mut loading.leaves));
    if *head.root() != tree.root() {
        return Err(format!(
            "recomputed root over {held} entries differs from the checkpoint of size {}",
            head.size()
        ));
    }
    Ok(tree)
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
