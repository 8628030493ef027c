//! sled persistence for an Assure node (DESIGN.md §6): the organization's own
//! logs and the replicas it holds, the record index and the indexes by subject,
//! kind and time, grants with their change log, the disclosure log, the
//! peer book, and what the last two say of whether our notices reached
//! their readers.
//!
//! The store moves bytes; every rule about what may be stored lives in the pure
//! crates. Every envelope it is given has been validated by
//! [`assure_model::validate`] or was just issued. Envelopes are written once,
//! to append-only segment files (`segments.rs`); sled holds checkpoints,
//! compartments and the small state. Every append is durable before the call
//! returns: its segment blocks are `fdatasync`ed (a new file and its directory
//! `fsync`ed), then its checkpoints are committed in one sled transaction and
//! sled's file `fdatasync`ed. The disclosure log is an append-only journal
//! of its own (`journal.rs`), durable by group commit before the answer it
//! records is sent. Opening a store recomputes every log's root from
//! the segments and compares it with its last signed checkpoint.
#![deny(missing_docs)]

mod backup;
mod cache;
mod delivery;
mod error;
mod grants;
mod index;
mod journal;
mod keys;
mod logs;
mod migrate;
mod pages;
mod peers;
mod quarantine;
mod query;
mod read;
mod replica;
mod requests;
mod segments;
mod webhooks;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use assure_model::Did;

pub use backup::{BackupHeader, BackupLog, BackupSummary, Older, RESTORE_FORMAT, RolledBack};
pub use delivery::{Behind, Delivery, Undelivered};
pub use error::Error;
use error::Within as _;
pub use grants::{Disclosure, GrantChange};
pub use keys::{Location, LogId};
pub use logs::{Appended, LogState, LogSummary, NewEntry};
pub use peers::{MAX_ADDRESSES, Peer, Source};
pub use quarantine::Quarantined;
pub use query::{Filter, Listed, StoredRecord};
pub use read::Page;
pub use replica::{Alert, Evidence, ForkProof};
pub use requests::{AccessRequest, Asked, Decided, OutgoingRequest};
pub use webhooks::{Acknowledgement, AlertWatch, Attempt, Webhook};

/// The local label of a replica its author lets us read as its regulator
/// (the rule admits the role and our grant holds it): how the node knows,
/// without the author's rules, which operators it supervises.
pub const RECEIVED_AS_REGULATOR: &str = "received-as-regulator";

/// The file whose lock marks a data directory as in use.
const LOCK_FILE: &str = "lock";
/// The sled database inside the data directory.
const DB_DIR: &str = "db";

/// A node's store. Cheap to clone; clones share one database.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    db: sled::Db,
    /// sled's log file, to `fdatasync` after sled's flush (which only
    /// starts writeback); fsync is per file, whoever wrote.
    db_file: File,
    trees: Trees,
    /// The envelopes.
    segments: segments::Segments,
    /// The disclosure log.
    journal: journal::Journal,
    /// Records decoded from them, by place.
    records: cache::Cache,
    /// In-memory trees and index, rebuilt and checked at open.
    state: Mutex<State>,
    /// Combines concurrent flushes of small writes into one.
    flushes: GroupFlush,
    /// Held while an alert is checked and raised once.
    raising: Mutex<()>,
    /// Damaged replicas this open set aside.
    quarantined: Vec<Quarantined>,
    /// Held for the life of the store; the OS releases it if we die.
    _lock: File,
}

/// Group commit: callers that wrote something and need it durable share one
/// flush. A caller takes a ticket after writing; a flush started after that
/// covers the write, so every ticket up to the one current when a flush
/// starts is done when it ends.
#[derive(Debug, Default)]
struct GroupFlush {
    /// (tickets issued, tickets durable, a flush is running).
    state: Mutex<(u64, u64, bool)>,
    done: std::sync::Condvar,
}

/// What the store keeps in memory, rebuilt from disk at open.
#[derive(Debug, Default)]
struct State {
    /// The Merkle tree and head of every log.
    logs: BTreeMap<LogId, LogState>,
    /// Where every record sits.
    index: index::Index,
    /// Where each log's envelopes are in the segments, by index.
    places: std::collections::HashMap<LogId, Vec<segments::Place>>,
    /// The last head disclosed over the network to each party, per log,
    /// with the grant version: peers poll and witness every few seconds,
    /// and the same head shown again tells them nothing new.
    heads_shown: std::collections::HashMap<(assure_model::Did, LogId), (u64, Option<u64>)>,
}

/// One sled tree per keyspace.
#[derive(Debug)]
struct Trees {
    meta: sled::Tree,
    compartments: sled::Tree,
    checkpoints: sled::Tree,
    grants: sled::Tree,
    grant_log: sled::Tree,
    disclosures: sled::Tree,
    evidence: sled::Tree,
    alerts: sled::Tree,
    /// The peer book, by organization.
    peers: sled::Tree,
    /// Access requests sent to us, by id.
    access_requests: sled::Tree,
    /// Access requests we sent, by node and id.
    outgoing_requests: sled::Tree,
    /// Who acknowledged which alert, and when, by alert id.
    alert_acks: sled::Tree,
    /// The webhooks alerts are delivered to, by URL.
    webhooks: sled::Tree,
    /// Every delivery attempt, oldest first.
    webhook_log: sled::Tree,
    /// The alerts handed to the webhooks already, by alert id.
    dispatched: sled::Tree,
    /// Replicas set aside as damaged, by log.
    quarantine: sled::Tree,
}

impl Trees {
    fn open(db: &sled::Db) -> Result<Self, Error> {
        let tree = |name: &str| db.open_tree(name).within(&format!("keyspace `{name}`"));
        Ok(Self {
            meta: tree("meta")?,
            compartments: tree("compartments")?,
            checkpoints: tree("checkpoints")?,
            grants: tree("grants")?,
            grant_log: tree("grant_log")?,
            disclosures: tree("disclosures")?,
            evidence: tree("evidence")?,
            alerts: tree("alerts")?,
            peers: tree("peers")?,
            access_requests: tree("access_requests")?,
            outgoing_requests: tree("outgoing_requests")?,
            alert_acks: tree("alert_acks")?,
            webhooks: tree("webhooks")?,
            webhook_log: tree("webhook_log")?,
            dispatched: tree("dispatched")?,
            quarantine: tree("quarantine")?,
        })
    }
}

impl Store {
    /// Opens the store in a data directory, creating the database if needed.
    ///
    /// Fails with [`Error::Locked`] when another process holds the directory,
    /// and with [`Error::Integrity`] when a log does not match its checkpoint.
    /// A database that is there in part (sled's files or the segments
    /// without sled's log) is refused with [`Error::Missing`], never made
    /// anew.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Self::checked(Self::open_with(dir, Create::IfAbsent)?)
    }

    /// Opens the store of a data directory that must hold one already (it
    /// holds the organization's key): a missing database is refused with
    /// [`Error::Missing`] rather than made anew and empty.
    pub fn open_existing(dir: &Path) -> Result<Self, Error> {
        Self::checked(Self::open_with(dir, Create::Never)?)
    }

    /// The store, or the first damage found: our own logs come first.
    fn checked((store, damaged): (Self, Vec<(LogId, Error)>)) -> Result<Self, Error> {
        match damaged.into_iter().next() {
            Some((_, error)) => Err(error),
            None => Ok(store),
        }
    }

    /// Opens the store like [`Store::open_existing`], but instead of failing
    /// on damaged logs of our own, leaves them out and reports them, so that
    /// `assure log verify` can name every damaged compartment.
    pub fn open_report(dir: &Path) -> Result<(Self, Vec<(LogId, Error)>), Error> {
        Self::open_with(dir, Create::Never)
    }

    fn open_with(dir: &Path, create: Create) -> Result<(Self, Vec<(LogId, Error)>), Error> {
        let lock = lock_dir(dir)?;
        let db_dir = dir.join(DB_DIR);
        present(&db_dir, create)?;
        let db = open_db(&db_dir)?;
        let db_file = open_db_file(&db_dir)?;
        let trees = Trees::open(&db)?;
        let segments = segments::Segments::open(&db_dir)?;
        let sync = || sync_db(&db, &db_file, &db_dir);
        migrate::upgrade(&db, &trees, &segments, &sync)?;
        let journal = journal::Journal::open(&db_dir)?;
        migrate::disclosures_to_journal(&trees, &journal, &sync)?;
        // sled renames a new snapshot into place when it opens, and does
        // not sync the directory.
        segments::sync_dir(&db_dir)?;
        let logs::Loaded {
            state,
            damaged,
            quarantined,
        } = logs::load_all(&trees, &segments)?;
        if !quarantined.is_empty() {
            sync()?;
        }
        let store = Self {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                db,
                db_file,
                trees,
                segments,
                journal,
                records: cache::Cache::default(),
                state: Mutex::new(state),
                flushes: GroupFlush::default(),
                raising: Mutex::new(()),
                quarantined,
                _lock: lock,
            }),
        };
        Ok((store, damaged))
    }

    /// The damaged replicas the open set aside, to be fetched again from
    /// their authors (their origins); the node tells its operator of each.
    pub fn quarantined(&self) -> &[Quarantined] {
        &self.inner.quarantined
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The organization that owns this store, once set by `init`.
    pub fn owner(&self) -> Result<Option<Did>, Error> {
        owner_of(&self.inner.trees)
    }

    /// Records the owning organization. Refuses to change an existing owner.
    pub fn set_owner(&self, owner: Did) -> Result<(), Error> {
        let new = owner.to_string();
        let swapped = self
            .inner
            .trees
            .meta
            .compare_and_swap("owner", None as Option<&[u8]>, Some(new.as_bytes()))
            .within("keyspace `meta`")?;
        if let Err(current) = swapped
            && current.current.as_deref() != Some(new.as_bytes())
        {
            return Err(Error::OwnerMismatch);
        }
        self.flush()
    }

    /// The organization's local name, set by `init`.
    pub fn name(&self) -> Result<Option<String>, Error> {
        let name = self
            .inner
            .trees
            .meta
            .get("name")
            .within("keyspace `meta`")?;
        Ok(name.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Sets the organization's local name.
    pub fn set_name(&self, name: &str) -> Result<(), Error> {
        self.inner
            .trees
            .meta
            .insert("name", name.as_bytes())
            .within("keyspace `meta`")?;
        self.flush()
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), Error> {
        let inner = &self.inner;
        sync_db(&inner.db, &inner.db_file, &inner.dir.join(DB_DIR))
    }

    /// Bytes in the segment files (for benchmarks and reports).
    pub fn segment_bytes(&self) -> Result<u64, Error> {
        self.inner.segments.size()
    }

    /// Makes everything written before the call durable, sharing the flush
    /// with concurrent callers.
    pub(crate) fn flush_shared(&self) -> Result<(), Error> {
        let group = &self.inner.flushes;
        let lock = || group.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = lock();
        state.0 += 1;
        let ticket = state.0;
        loop {
            if state.1 >= ticket {
                return Ok(());
            }
            if !state.2 {
                state.2 = true;
                let target = state.0;
                drop(state);
                let flushed = self.flush();
                let mut after = lock();
                after.2 = false;
                if flushed.is_ok() {
                    after.1 = after.1.max(target);
                }
                group.done.notify_all();
                flushed?;
                return Ok(());
            }
            state = group.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the in-memory state as it was
        // before the append that panicked (appends update memory only after the
        // durable commit), so the data is still consistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A new key for a log-like keyspace (grant changes, alerts, delivery
/// attempts): sled's id, big-endian, so keys sort in the order written.
pub(crate) fn next_key(db: &sled::Db) -> Result<[u8; 8], Error> {
    Ok(db.generate_id().within("generating an id")?.to_be_bytes())
}

/// The owning organization recorded in `meta`.
pub(crate) fn owner_of(trees: &Trees) -> Result<Option<Did>, Error> {
    match trees.meta.get("owner").within("keyspace `meta`")? {
        None => Ok(None),
        Some(bytes) => {
            let text = std::str::from_utf8(&bytes).map_err(|_| Error::corrupt("meta/owner"))?;
            text.parse()
                .map(Some)
                .map_err(|_| Error::corrupt("meta/owner"))
        }
    }
}

/// sled's log file, opened to be `fdatasync`ed.
pub(crate) fn open_db_file(db_dir: &Path) -> Result<File, Error> {
    let path = db_dir.join("db");
    File::open(&path).map_err(|e| Error::io(&path, e))
}

/// Whether an open may make a new database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Create {
    /// When there is none at all (no `db/`, or an empty one).
    IfAbsent,
    /// Never: the data directory holds an identity, so it had a database.
    Never,
}

/// Refuses to open a database that is not there, or there in part, when a
/// new one would be made silently in its place: sled makes an empty
/// database when its log file `db/db` is missing, and the open would then
/// cut every segment as never acknowledged.
fn present(db_dir: &Path, create: Create) -> Result<(), Error> {
    let log = db_dir.join("db");
    let missing = |why: &str| Error::Missing {
        path: log.clone(),
        why: why.to_owned(),
    };
    match std::fs::symlink_metadata(&log) {
        Ok(meta) if meta.len() > 0 => return Ok(()),
        Ok(_) => return Err(missing("is empty")),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&log, e)),
        Err(_) => {}
    }
    let others = match std::fs::read_dir(db_dir) {
        Ok(entries) => entries.count(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(Error::io(db_dir, e)),
    };
    match (others, create) {
        (0, Create::IfAbsent) => Ok(()),
        (0, Create::Never) => Err(missing(
            "is missing from a data directory that holds the organization's key",
        )),
        _ => Err(missing(
            "is missing, though the rest of the database is there (sled's other files or the \
             segments)",
        )),
    }
}

/// Flushes sled and makes what it wrote durable.
pub(crate) fn sync_db(db: &sled::Db, file: &File, db_dir: &Path) -> Result<(), Error> {
    db.flush()
        .within(&format!("flushing {}", db_dir.display()))?;
    file.sync_data()
        .map_err(|e| Error::io(&db_dir.join("db"), e))
}

/// Opens sled. We hold the directory lock, so a sled lock held by someone
/// else can only be a store of this process that was just dropped and whose
/// background flusher has not exited yet: wait for it briefly.
fn open_db(path: &Path) -> Result<sled::Db, Error> {
    let mut tries = 0;
    loop {
        // No background flusher: every write that must last is flushed and
        // synced by the caller; one that is not would be written between
        // two acknowledgements without being synced.
        let config = sled::Config::new().path(path).flush_every_ms(None);
        match config.open() {
            // sled reports its lock failure as an `Other` error with this text.
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock") && tries < 200 =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result.within(&format!("opening {}", path.display())),
        }
    }
}

/// Whether another process (a running node) holds the store in `dir`.
pub fn is_locked(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(LOCK_FILE)) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

fn lock_dir(dir: &Path) -> Result<File, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    // A store of this process that was just dropped may still be held for
    // a moment by a task finishing its last read; wait briefly before
    // concluding that another node holds the directory.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
}
