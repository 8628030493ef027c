//! The segment files on disk: an append that was cut short is cut back at
//! open, damage names the log and whose it is, and a data directory of the
//! previous format is migrated.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assure_access::{Compartment, CompartmentId, Rule};
use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
use assure_model::predicate::{Body, Common, Control, ControlStatus, Domain, Predicate};
use assure_model::{Keypair, Record, SubjectRef, issue};
use assure_store::{Error, Filter, LogId, NewEntry, Store};
use jiff::Timestamp;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn control(owner: &Keypair, n: usize) -> (Vec<u8>, Record) {
    let predicate = Predicate {
        common: Common {
            issuer: owner.did(),
            issued_at: t(n as i64),
            valid_until: None,
            supersedes: vec![],
            clauses: vec!["ISO22340:9.2.4".into()],
            domain: Some(Domain::Cyber),
        },
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: format!("Security events are reviewed; alert {n} is handled."),
            evidence: vec![],
            last_tested: None,
        }),
    };
    issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap()
}

struct Node {
    dir: tempfile::TempDir,
    owner: Keypair,
    compartment: CompartmentId,
}

impl Node {
    fn new() -> (Self, Store) {
        let dir = tempfile::tempdir().unwrap();
        let owner = Keypair::from_seed([1; 32]);
        let store = Store::open(dir.path()).unwrap();
        store.set_owner(owner.did()).unwrap();
        let compartment = CompartmentId::from_bytes([3; 16]);
        let c = Compartment::new(compartment, "partners", Rule::partners()).unwrap();
        store.create_compartment(&owner, c, t(0)).unwrap();
        let node = Self {
            dir,
            owner,
            compartment,
        };
        (node, store)
    }

    fn append(&self, store: &Store, range: std::ops::Range<usize>) {
        let entries: Vec<NewEntry> = range
            .map(|n| {
                let (bytes, record) = control(&self.owner, n);
                NewEntry {
                    compartment: self.compartment,
                    bytes,
                    record,
                }
            })
            .collect();
        store.append(&self.owner, &entries, t(1)).unwrap();
    }

    fn log(&self) -> LogId {
        LogId {
            origin: self.owner.did(),
            compartment: self.compartment,
        }
    }
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("db").join("segments").join("00000000.seg")
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_dir(&item.path(), &target);
        } else if item.file_name() != "lock" {
            std::fs::copy(item.path(), target).unwrap();
        }
    }
}

fn sizes(store: &Store) -> Vec<(String, u64)> {
    let all = store.as_owner().unwrap();
    store
        .logs(&all)
        .into_iter()
        .map(|l| (l.compartment.label, l.checkpoint.checkpoint().size()))
        .collect()
}

/// A crash after the segments were synced and before sled committed the
/// checkpoint leaves blocks no checkpoint covers, whole or torn: the open
/// cuts them, and appending goes on from there.
#[test]
fn an_append_the_checkpoint_does_not_cover_is_cut_at_open() {
    let (node, store) = Node::new();
    node.append(&store, 0..10);
    node.append(&store, 10..11);
    drop(store);
    let acknowledged = std::fs::read(segment(node.dir.path())).unwrap();
    // The same store after two more appends: its segment holds blocks the
    // first store's checkpoint does not cover.
    let later = tempfile::tempdir().unwrap();
    copy_dir(node.dir.path(), later.path());
    let store = Store::open(later.path()).unwrap();
    node.append(&store, 11..20);
    node.append(&store, 20..21);
    drop(store);
    let longer = std::fs::read(segment(later.path())).unwrap();
    assert!(longer.len() > acknowledged.len() + 200);
    let tails: Vec<(&str, Vec<u8>)> = vec![
        ("two whole blocks", longer.clone()),
        ("a torn block", longer[..acknowledged.len() + 150].to_vec()),
        ("a torn header", longer[..acknowledged.len() + 20].to_vec()),
        ("garbage", [&acknowledged[..], &[0xa5; 333][..]].concat()),
    ];
    for (name, bytes) in tails {
        std::fs::write(segment(node.dir.path()), &bytes).unwrap();
        let store = Store::open(node.dir.path()).unwrap();
        assert_eq!(sizes(&store), vec![("partners".to_owned(), 11)], "{name}");
        assert_eq!(
            size(&segment(node.dir.path())),
            acknowledged.len() as u64,
            "{name}"
        );
        let all = store.as_owner().unwrap();
        assert_eq!(
            store.read_log(&all, node.log()).unwrap().len(),
            11,
            "{name}"
        );
        drop(store);
    }
    // Appends continue where the acknowledged ones end, and survive.
    let store = Store::open(node.dir.path()).unwrap();
    node.append(&store, 30..32);
    drop(store);
    let store = Store::open(node.dir.path()).unwrap();
    assert_eq!(sizes(&store), vec![("partners".to_owned(), 13)]);
    store
        .verify_log(&store.as_owner().unwrap(), node.log())
        .unwrap();
}

/// A flipped byte inside what a checkpoint covers, away from the end of a
/// segment, is found when the entry is read and by `verify_log`.
#[test]
fn a_flipped_envelope_byte_is_found_when_read_and_verified() {
    let (node, store) = Node::new();
    node.append(&store, 0..10);
    node.append(&store, 10..11);
    drop(store);
    let path = segment(node.dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    // Inside the first block's envelopes, well before the last block.
    let at = 92 + 10 * 109 + 50;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let store = Store::open(node.dir.path()).unwrap();
    let all = store.as_owner().unwrap();
    match store.read_log(&all, node.log()) {
        Err(Error::Integrity {
            compartment,
            log,
            detail,
            ..
        }) => {
            assert_eq!(compartment, "partners");
            assert!(log.starts_with("our own log"), "{log}");
            assert!(
                detail.contains("entry 0 does not match its leaf hash"),
                "{detail}"
            );
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }
    let verified = store.verify_log(&all, node.log()).unwrap_err();
    assert!(verified.is_integrity(), "{verified}");
    assert!(
        verified.to_string().contains("assure restore"),
        "{verified}"
    );
}

/// A replica of `author`'s `customers` compartment, entries `0..n`, and
/// the checkpoint that covers them.
struct Replica {
    author: Keypair,
    log: LogId,
    compartment: Compartment,
}

impl Replica {
    fn new() -> Self {
        let author = Keypair::from_seed([9; 32]);
        let id = CompartmentId::from_bytes([5; 16]);
        let log = LogId {
            origin: author.did(),
            compartment: id,
        };
        let compartment = Compartment::new(id, "customers", Rule::partners()).unwrap();
        Self {
            author,
            log,
            compartment,
        }
    }

    fn entries(&self, n: usize) -> (Vec<(Vec<u8>, Record)>, SignedCheckpoint) {
        let entries: Vec<(Vec<u8>, Record)> = (0..n).map(|n| control(&self.author, n)).collect();
        let mut tree: Tree<Blake3> = Tree::new();
        for (bytes, _) in &entries {
            tree.push_leaf_hash(Blake3::leaf(bytes));
        }
        let checkpoint = Checkpoint::new(self.log.origin_line(), n as u64, tree.root(), 5).unwrap();
        let note = SignedCheckpoint::sign(
            checkpoint,
            &self.author.did().to_string(),
            self.author.signing_key(),
        )
        .unwrap();
        (entries, note)
    }

    /// Stores entries `0..n` as a member that pulled them would.
    fn pull(&self, store: &Store, n: usize) {
        let (entries, note) = self.entries(n);
        store
            .append_replica(self.log, &self.compartment, &entries, &note)
            .unwrap();
    }
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// Damage at the end of a replica's blocks does not stop the store: the
/// replica is set aside, named with its author, held no more, and once
/// fetched again from index 0 it is held and survives later opens, with
/// the damaged copy still in the segments before it.
#[test]
fn a_damaged_replica_is_set_aside_and_taken_again_from_index_0() {
    let (node, store) = Node::new();
    node.append(&store, 0..2);
    let replica = Replica::new();
    replica.pull(&store, 3);
    drop(store);
    let path = segment(node.dir.path());
    let len = size(&path);
    flip(&path, len as usize - 1);

    let store = Store::open(node.dir.path()).unwrap();
    let set_aside = store.quarantined();
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
    assert_eq!(set_aside[0].log, replica.log);
    assert_eq!(set_aside[0].size, Some(3));
    let text = set_aside[0].to_string();
    assert!(text.contains("compartment customers"), "{text}");
    assert!(
        text.contains(&format!("replica of {}'s log", replica.author.did())),
        "{text}"
    );
    assert!(text.contains("fetched again from"), "{text}");
    let all = store.as_owner().unwrap();
    assert!(store.log_state(&all, replica.log).is_none());
    let records = store.records(&all, &Filter::default(), 100).unwrap();
    assert_eq!(records.len(), 2, "only our own records are left");
    // The damaged copy is not cut: it stays where it is, set aside.
    assert_eq!(size(&path), len);
    drop(store);

    // Set aside once: the next open finds nothing wrong.
    let store = Store::open(node.dir.path()).unwrap();
    assert!(store.quarantined().is_empty());
    // Fetched again from index 0 (a new checkpoint with more entries).
    replica.pull(&store, 4);
    drop(store);
    let store = Store::open(node.dir.path()).unwrap();
    assert!(store.quarantined().is_empty());
    let all = store.as_owner().unwrap();
    let held = store.log_state(&all, replica.log).unwrap();
    assert_eq!(held.tree.len(), 4);
    store.verify_log(&all, replica.log).unwrap();
    assert_eq!(store.read_log(&all, replica.log).unwrap().len(), 4);
    // And our own log takes appends after both copies.
    node.append(&store, 2..3);
    drop(store);
    let store = Store::open(node.dir.path()).unwrap();
    let all = store.as_owner().unwrap();
    assert_eq!(
        store.records(&all, &Filter::default(), 100).unwrap().len(),
        7
    );
}

/// An envelope of a replica damaged away from the end of a segment is not
/// rehashed at open; found when read, the replica is named with its author,
/// and the next open sets it aside.
#[test]
fn a_replica_found_damaged_when_read_is_set_aside_at_the_next_open() {
    let (node, store) = Node::new();
    let replica = Replica::new();
    replica.pull(&store, 3);
    node.append(&store, 0..2);
    drop(store);
    let path = segment(node.dir.path());
    // Inside the replica's first envelope, the first block of the file.
    flip(&path, 92 + 3 * 109 + 50);
    let store = Store::open(node.dir.path()).unwrap();
    assert!(store.quarantined().is_empty());
    let all = store.as_owner().unwrap();
    let error = store.read_log(&all, replica.log).unwrap_err();
    assert!(error.is_integrity(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains(&format!("replica of {}'s log", replica.author.did())),
        "{text}"
    );
    assert!(text.contains("fetched again from"), "{text}");
    assert!(!text.contains("assure restore"), "{text}");
    drop(store);
    let store = Store::open(node.dir.path()).unwrap();
    assert_eq!(store.quarantined().len(), 1);
    let all = store.as_owner().unwrap();
    assert!(store.log_state(&all, replica.log).is_none());
    assert_eq!(
        store.records(&all, &Filter::default(), 100).unwrap().len(),
        2
    );
}

/// Our own log damaged stops the open, naming it and `assure restore`; a
/// replica damaged with it is named too, and nothing is set aside.
#[test]
fn our_own_damaged_log_still_refuses_the_open_beside_a_damaged_replica() {
    let (node, store) = Node::new();
    let replica = Replica::new();
    replica.pull(&store, 3);
    node.append(&store, 0..2);
    drop(store);
    let path = segment(node.dir.path());
    let len = size(&path);
    // The last block is our own; the replica's first leaf hash is damaged too.
    flip(&path, len as usize - 1);
    flip(&path, 92 + 5);
    let error = Store::open(node.dir.path()).unwrap_err();
    assert!(error.is_integrity());
    let text = error.to_string();
    assert!(text.contains("our own log"), "{text}");
    assert!(text.contains("assure restore"), "{text}");
    let (store, damaged) = Store::open_report(node.dir.path()).unwrap();
    assert_eq!(damaged.len(), 2, "{damaged:?}");
    assert!(store.quarantined().is_empty());
    drop(store);
    assert!(
        Store::open(node.dir.path()).is_err(),
        "something was set aside"
    );
}

/// sled's own damage reaches the caller naming the database and the way
/// back, never as a bare `database: Read corrupted data ...`, and never
/// opens as an empty store whose segments are then cut as unacknowledged.
#[test]
fn store_damage_that_sled_detects_names_the_database_and_assure_restore() {
    let (node, store) = Node::new();
    node.append(&store, 0..3);
    let bytes = |store: &Store| -> Vec<Vec<u8>> {
        let all = store.as_owner().unwrap();
        let read = store.read_log(&all, node.log()).unwrap();
        read.into_iter().map(|r| r.bytes).collect()
    };
    let before = bytes(&store);
    drop(store);
    let len = size(&node.dir.path().join("db").join("db")) as usize;
    let mut named = 0;
    for at in (0..len).step_by(97) {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(node.dir.path(), copy.path());
        flip(&copy.path().join("db").join("db"), at);
        let store = match Store::open(copy.path()) {
            Ok(store) => store,
            Err(error) => {
                let text = error.to_string();
                assert!(!text.contains("backtrace"), "{at}: {text}");
                assert!(text.contains("assure restore"), "{at}: {text}");
                assert!(error.is_integrity(), "{at}: {text}");
                named += 1;
                continue;
            }
        };
        // sled reads a damaged last message as a write a crash tore: the
        // last commit is lost as if the node had died before it, which the
        // open cannot tell apart. Never anything else, never another record.
        assert!(store.owner().unwrap().is_some(), "{at}");
        let after = bytes(&store);
        assert!(
            before.starts_with(&after),
            "{at}: {} of {}",
            after.len(),
            before.len()
        );
    }
    assert!(named > 0, "no flip was found by sled");
}

/// Neither a deleted sled log nor a deleted `db/` is replaced by an empty
/// database when an identity needs it; a fresh directory still gets one.
#[test]
fn a_deleted_database_is_refused_and_never_made_anew() {
    let (node, store) = Node::new();
    node.append(&store, 0..3);
    drop(store);
    let db = node.dir.path().join("db");
    std::fs::remove_file(db.join("db")).unwrap();
    for open in [Store::open, Store::open_existing] {
        let error = open(node.dir.path()).unwrap_err();
        assert!(matches!(error, Error::Missing { .. }), "{error}");
        assert!(error.is_integrity());
        assert!(error.to_string().contains("assure restore"), "{error}");
    }
    std::fs::remove_dir_all(&db).unwrap();
    let error = Store::open_existing(node.dir.path()).unwrap_err();
    assert!(matches!(error, Error::Missing { .. }), "{error}");
    assert!(!db.exists(), "the refusal made a database");
    let fresh = tempfile::tempdir().unwrap();
    assert!(
        Store::open(fresh.path())
            .unwrap()
            .owner()
            .unwrap()
            .is_none()
    );
}

/// A data directory written by the previous version (envelopes in sled
/// pages) is migrated at open: the same records, logs that verify, no old
/// trees left, and it opens again.
#[test]
fn a_data_directory_of_the_previous_format_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-data.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let data = dir.path().join("data");
    assert!(!data.join("db").join("segments").exists());
    for _ in 0..2 {
        let store = Store::open(&data).unwrap();
        let all = store.as_owner().unwrap();
        let mut logs: Vec<(String, u64)> = sizes(&store);
        logs.sort();
        assert_eq!(
            logs,
            vec![
                ("confidential".to_owned(), 2),
                ("partners".to_owned(), 2),
                ("public".to_owned(), 0),
                ("regulators".to_owned(), 0),
            ]
        );
        let records = store.records(&all, &Filter::default(), 100).unwrap();
        assert_eq!(records.len(), 4);
        for summary in store.logs(&all) {
            store.verify_log(&all, summary.log).unwrap();
        }
        assert!(store.segment_bytes().unwrap() > 0);
        drop(store);
        let db = open_raw(&data.join("db"));
        let names: Vec<Vec<u8>> = db.tree_names().into_iter().map(|n| n.to_vec()).collect();
        for old in ["entries", "leaves", "index"] {
            assert!(!names.contains(&old.as_bytes().to_vec()), "{old} is left");
        }
    }
}

fn open_raw(path: &Path) -> sled::Db {
    for _ in 0..200 {
        if let Ok(db) = sled::open(path) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sled::open(path).unwrap()
}

/// Disclosures an earlier version kept in sled's `disclosures` tree are
/// moved to the disclosure journal at open, once: the same entries, in
/// order, and the tree left empty.
#[test]
fn disclosures_kept_in_sled_by_the_previous_version_move_to_the_journal() {
    let (node, store) = Node::new();
    drop(store);
    let old: Vec<assure_store::Disclosure> = (0..3)
        .map(|n| assure_store::Disclosure {
            at: t(n),
            party: Keypair::from_seed([9; 32]).did(),
            compartment: node.compartment,
            from: n as u64,
            to: n as u64 + 1,
            grant_version: Some(1),
            channel: "api".into(),
            purpose: None,
        })
        .collect();
    {
        let db = open_raw(&node.dir.path().join("db"));
        let tree = db.open_tree("disclosures").unwrap();
        for (n, d) in old.iter().enumerate() {
            tree.insert((n as u64).to_be_bytes(), serde_json::to_vec(d).unwrap())
                .unwrap();
        }
        db.flush().unwrap();
    }
    for _ in 0..2 {
        let store = Store::open(node.dir.path()).unwrap();
        let read = store.disclosures(0, 10).unwrap();
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            serde_json::to_value(&old).unwrap()
        );
        drop(store);
        let db = open_raw(&node.dir.path().join("db"));
        assert!(db.open_tree("disclosures").unwrap().is_empty());
    }
    assert!(node.dir.path().join("db/disclosures.log").exists());
}
