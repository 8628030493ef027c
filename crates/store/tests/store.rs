//! The sled store on disk: appends that survive reopening, reads of arbitrary
//! ranges, the record index, integrity checks at open, locking, grants,
//! disclosures, and backup and restore.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use assure_access::{
    Access, Clearance, Compartment, CompartmentId, Grant, Reader, Role, Rule, Visible,
};
use assure_log::{
    Blake3, Checkpoint, Hash, Hasher as _, SignedCheckpoint, Tree, root_of, verify_consistency,
    verify_inclusion,
};
use assure_model::predicate::{
    Body, Common, Control, ControlStatus, Domain, Predicate, Withdrawal,
};
use assure_model::{Did, Keypair, Kind, Record, RecordId, SubjectRef, issue};
use assure_store::{
    Alert, BackupHeader, Disclosure, Error, Evidence, Filter, ForkProof, GrantChange, Location,
    LogId, NewEntry, Older, RESTORE_FORMAT, Store,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use proptest::prelude::*;
use rayon::prelude::*;

/// Records in the shared pool of signed control records.
const POOL: usize = 1200;

fn owner() -> Keypair {
    Keypair::from_seed([1; 32])
}

fn stranger() -> Keypair {
    Keypair::from_seed([2; 32])
}

/// A fixed instant `s` seconds into the test epoch.
fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn common(issuer: Did, issued_at: Timestamp) -> Common {
    Common {
        issuer,
        issued_at,
        valid_until: None,
        supersedes: vec![],
        clauses: vec!["ISO22340:9.2.4".into()],
        domain: Some(Domain::Cyber),
    }
}

/// A control record about the owner, issued at `t(n)`.
fn control(owner: &Keypair, n: usize) -> (Vec<u8>, Record) {
    let predicate = Predicate {
        common: common(owner.did(), t(n as i64)),
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

/// A withdrawal by the owner about `subject`, issued at `t(n)`.
fn withdrawal(owner: &Keypair, subject: Did, n: usize) -> (Vec<u8>, Record) {
    let predicate = Predicate {
        common: common(owner.did(), t(n as i64)),
        body: Body::Withdrawal(Withdrawal {
            withdrawn: RecordId([n as u8; 32]),
            reason: format!("withdrawn {n}"),
        }),
    };
    issue(owner, &SubjectRef::org(subject), &predicate).unwrap()
}

/// Control records 0..POOL, signed once for every test.
fn pool() -> &'static [(Vec<u8>, Record)] {
    static POOL_RECORDS: OnceLock<Vec<(Vec<u8>, Record)>> = OnceLock::new();
    POOL_RECORDS.get_or_init(|| {
        let owner = owner();
        (0..POOL)
            .into_par_iter()
            .map(|n| control(&owner, n))
            .collect()
    })
}

fn new_entry(compartment: CompartmentId, signed: &(Vec<u8>, Record)) -> NewEntry {
    NewEntry {
        compartment,
        bytes: signed.0.clone(),
        record: signed.1.clone(),
    }
}

fn entries_of(compartment: CompartmentId, range: std::ops::Range<usize>) -> Vec<NewEntry> {
    pool()[range]
        .iter()
        .map(|s| new_entry(compartment, s))
        .collect()
}

fn log_of(compartment: CompartmentId) -> LogId {
    LogId {
        origin: owner().did(),
        compartment,
    }
}

/// The owner's view: every log the store holds.
fn everything(store: &Store) -> Visible {
    store.as_owner().unwrap()
}

/// Entries `from..from+max` of `log` as the owner reads them.
fn entries(store: &Store, log: LogId, from: u64, max: u64) -> Vec<Vec<u8>> {
    store
        .read_entries(&everything(store), log, from, max, usize::MAX)
        .unwrap()
        .unwrap()
}

/// A store with an owner and the compartments `public`, `partners` and
/// `confidential`.
struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    owner: Keypair,
    public: CompartmentId,
    partners: CompartmentId,
    confidential: CompartmentId,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let owner = owner();
        store.set_owner(owner.did()).unwrap();
        let mut ids = Vec::new();
        for (n, (label, rule)) in [
            ("public", Rule::public()),
            ("partners", Rule::partners()),
            ("confidential", Rule::confidential()),
        ]
        .into_iter()
        .enumerate()
        {
            let id = CompartmentId::from_bytes([n as u8 + 1; 16]);
            let compartment = Compartment::new(id, label, rule).unwrap();
            store.create_compartment(&owner, compartment, t(0)).unwrap();
            ids.push(id);
        }
        Self {
            dir,
            store,
            owner,
            public: ids[0],
            partners: ids[1],
            confidential: ids[2],
        }
    }

    fn append(&self, entries: &[NewEntry]) {
        self.store.append(&self.owner, entries, t(10_000)).unwrap();
    }

    /// Drops the store and opens it again.
    fn reopen(self) -> Self {
        self.reopen_with(|_| {})
    }

    /// Drops the store, runs `between` on its closed data directory, and
    /// opens it again.
    fn reopen_with(self, between: impl FnOnce(&Path)) -> Self {
        let Self {
            dir,
            store,
            owner,
            public,
            partners,
            confidential,
        } = self;
        drop(store);
        between(dir.path());
        let store = Store::open(dir.path()).unwrap();
        Self {
            dir,
            store,
            owner,
            public,
            partners,
            confidential,
        }
    }
}

/// What a log's head looks like in memory.
type Head = (LogId, Compartment, u64, Hash, SignedCheckpoint);

fn heads(store: &Store) -> Vec<Head> {
    let all = everything(store);
    store
        .logs(&all)
        .into_iter()
        .map(|s| {
            let state = store.log_state(&all, s.log).unwrap();
            assert_eq!(state.checkpoint, s.checkpoint);
            (
                s.log,
                s.compartment,
                state.tree.len(),
                state.tree.root(),
                s.checkpoint,
            )
        })
        .collect()
}

/// Everything a backup carries, as read back through the store.
#[derive(Debug, PartialEq)]
struct Dump {
    owner: Option<Did>,
    logs: Vec<(LogId, Compartment, String, Vec<Vec<u8>>)>,
    index: Vec<Location>,
    grants: Vec<Grant>,
    grant_log: Vec<GrantChange>,
    disclosures: Vec<Disclosure>,
}

fn dump(store: &Store) -> Dump {
    let all = everything(store);
    let logs = store
        .logs(&all)
        .into_iter()
        .map(|s| {
            let size = s.checkpoint.checkpoint().size();
            let entries = entries(store, s.log, 0, size);
            (s.log, s.compartment, s.checkpoint.to_string(), entries)
        })
        .collect();
    let index = store
        .records(&all, &Filter::default(), usize::MAX)
        .unwrap()
        .into_iter()
        .map(|r| r.location)
        .collect();
    Dump {
        owner: store.owner().unwrap(),
        logs,
        index,
        grants: store.grants().unwrap(),
        grant_log: store.grant_log().unwrap(),
        disclosures: store.disclosures(0, usize::MAX).unwrap(),
    }
}

/// Opens the database of a closed store directly, waiting for the dropped
/// store's sled to let go of its lock.
fn raw_db(dir: &Path) -> sled::Db {
    for _ in 0..200 {
        match sled::open(dir.join("db")) {
            Ok(db) => return db,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    sled::open(dir.join("db")).unwrap()
}

fn log_key(log: LogId) -> Vec<u8> {
    [
        &log.origin.public_bytes()[..],
        &log.compartment.as_bytes()[..],
    ]
    .concat()
}

/// A block of the segment files, as laid out in `segments.rs`.
struct Block {
    path: std::path::PathBuf,
    offset: u64,
    log: Vec<u8>,
    first: u64,
    count: u64,
    end: u64,
}

/// Bytes of a block header, and of one entry's meta.
const HEADER_LEN: u64 = 92;
const META_LEN: u64 = 109;

/// Every block of the segment files of a closed store, in order.
fn blocks(dir: &Path) -> Vec<Block> {
    let segments = dir.join("db").join("segments");
    let mut files: Vec<_> = std::fs::read_dir(&segments)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let mut at = 0usize;
        while at + HEADER_LEN as usize <= bytes.len() {
            let h = &bytes[at..at + HEADER_LEN as usize];
            assert_eq!(&h[..4], b"ASG1");
            let count = u32::from_be_bytes(h[4..8].try_into().unwrap()) as u64;
            let body = u32::from_be_bytes(h[8..12].try_into().unwrap()) as u64;
            let first = u64::from_be_bytes(h[12..20].try_into().unwrap());
            let end = at as u64 + HEADER_LEN + count * META_LEN + body;
            out.push(Block {
                path: path.clone(),
                offset: at as u64,
                log: h[20..68].to_vec(),
                first,
                count,
                end,
            });
            at = end as usize;
        }
    }
    out
}

fn page_starts(dir: &Path, log: LogId) -> Vec<u64> {
    blocks(dir)
        .into_iter()
        .filter(|b| b.log == log_key(log))
        .map(|b| b.first)
        .collect()
}

/// Flips one byte of a file.
fn flip_file(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// The block of `log` whose first entry is `first`.
fn block_of(dir: &Path, log: LogId, first: u64) -> Block {
    blocks(dir)
        .into_iter()
        .find(|b| b.log == log_key(log) && b.first == first)
        .unwrap()
}

/// Runs `change` on the sled database of a closed store.
fn with_db(dir: &Path, change: impl FnOnce(&sled::Db)) {
    let db = raw_db(dir);
    change(&db);
    db.flush().unwrap();
}

#[test]
fn appended_logs_read_back_identically_after_reopen() {
    let f = Fixture::new();
    let log = log_of(f.public);
    // One batch of 1100 (pages at 0, 512, 1024), then 20 one-entry pages.
    let appended = f
        .store
        .append(&f.owner, &entries_of(f.public, 0..1100), t(10_000))
        .unwrap();
    assert_eq!(appended.len(), 1100);
    for (n, a) in appended.iter().enumerate() {
        assert_eq!(a.id, pool()[n].1.id);
        assert_eq!(
            a.location,
            Location {
                log,
                index: n as u64
            }
        );
    }
    for n in 1100..1120 {
        f.append(&entries_of(f.public, n..n + 1));
    }
    f.append(&entries_of(f.partners, 0..5));
    let before = heads(&f.store);
    let f = f.reopen_with(|dir| {
        let mut expected: Vec<u64> = vec![0, 512, 1024];
        expected.extend(1100..1120);
        assert_eq!(page_starts(dir, log), expected);
        let counts: u64 = blocks(dir).iter().map(|b| b.count).sum();
        assert_eq!(counts, 1125);
    });
    assert_eq!(heads(&f.store), before);
    assert_eq!(before.len(), 3);
    let all = everything(&f.store);

    let stored: Vec<Vec<u8>> = pool()[..1120].iter().map(|s| s.0.clone()).collect();
    let len = stored.len() as u64;
    let mut ranges: Vec<(u64, u64)> = vec![
        (0, 0),
        (0, 1),
        (0, len),
        (0, 10_000),
        (500, 30),
        (511, 2),
        (512, 512),
        (1023, 3),
        (1000, 110),
        (1099, 5),
        (1105, 3),
        (1119, 1),
        (1119, 50),
        (len, 1),
        (1200, 5),
        (u64::MAX - 1, 5),
        (u64::MAX, u64::MAX),
        (3, u64::MAX),
    ];
    for from in (0..len + 3).step_by(37) {
        for max in [0, 1, 2, 7, 100, 600] {
            ranges.push((from, max));
        }
    }
    for (from, max) in ranges {
        let start = from.min(len) as usize;
        let end = from.saturating_add(max).min(len) as usize;
        let got = entries(&f.store, log, from, max);
        assert!(
            got == stored[start..end],
            "entries({from}, {max}) returned {} entries, expected {}",
            got.len(),
            end - start
        );
    }

    // At most `max_bytes` of entries, but always at least one.
    let two = stored[0].len() + stored[1].len();
    for (max_bytes, n) in [(0, 1), (two - 1, 1), (two, 2), (usize::MAX, 10)] {
        let got = f.store.read_entries(&all, log, 0, 10, max_bytes).unwrap();
        assert_eq!(got.unwrap(), stored[..n], "{max_bytes} bytes");
    }

    for index in [5, 511, 512, 1023, 1024, 1099, 1100, 1119] {
        let at = Location { log, index };
        let record = f.store.entry_at(&all, at).unwrap().unwrap();
        assert_eq!(record.location, at);
        assert_eq!(record.bytes, stored[index as usize]);
        assert_eq!(record.record.id, pool()[index as usize].1.id);
        assert_eq!(f.store.locations(&all, &record.record.id), vec![at]);
    }
    assert!(matches!(
        f.store.entry_at(&all, Location { log, index: len }),
        Err(Error::OutOfRange { index, size }) if index == len && size == len
    ));

    let records = f.store.read_log(&all, log).unwrap();
    assert_eq!(records.len(), stored.len());
    for (n, r) in records.iter().enumerate() {
        assert_eq!(
            r.location,
            Location {
                log,
                index: n as u64
            }
        );
        assert_eq!(r.bytes, stored[n]);
        assert_eq!(r.record, pool()[n].1);
    }
    assert_eq!(f.store.read_log(&all, log_of(f.partners)).unwrap().len(), 5);
    assert!(
        f.store
            .read_log(&all, log_of(f.confidential))
            .unwrap()
            .is_empty()
    );
    // The partners records are the pool's first five, stored a second time.
    assert_eq!(
        f.store.locations(&all, &pool()[0].1.id),
        vec![
            Location { log, index: 0 },
            Location {
                log: log_of(f.partners),
                index: 0
            }
        ]
    );
    let verified = f.store.verify_log(&everything(&f.store), log).unwrap();
    assert_eq!(verified.tree.root(), before[0].3);
}

#[test]
fn one_append_signs_one_checkpoint_per_compartment_touched() {
    let mut f = Fixture::new();
    f.append(&entries_of(f.public, 0..3));
    let untouched = f
        .store
        .log_state(&everything(&f.store), log_of(f.confidential))
        .unwrap();
    // Interleaved: public, partners, public, partners, ...
    let batch: Vec<NewEntry> = (3..23)
        .map(|n| {
            let id = if n % 2 == 1 { f.public } else { f.partners };
            new_entry(id, &pool()[n])
        })
        .collect();
    let appended = f.store.append(&f.owner, &batch, t(20_000)).unwrap();
    let (mut next_public, mut next_partners) = (3, 0);
    for (a, e) in appended.iter().zip(&batch) {
        let next = if e.compartment == f.public {
            &mut next_public
        } else {
            &mut next_partners
        };
        assert_eq!(
            a.location,
            Location {
                log: log_of(e.compartment),
                index: *next
            }
        );
        *next += 1;
    }
    assert_eq!((next_public, next_partners), (13, 10));

    for round in 0..2 {
        let all = everything(&f.store);
        for (id, size) in [(f.public, 13), (f.partners, 10)] {
            let log = log_of(id);
            let state = f.store.log_state(&all, log).unwrap();
            let note = &state.checkpoint;
            note.verify(&f.owner.did().to_string(), &f.owner.did().verifying_key())
                .unwrap();
            assert!(
                note.verify(
                    &f.owner.did().to_string(),
                    &stranger().did().verifying_key()
                )
                .is_err()
            );
            let head = note.checkpoint();
            assert_eq!(head.origin(), log.origin_line());
            assert_eq!(head.size(), size);
            assert_eq!(head.timestamp(), t(20_000).as_second());
            let leaves: Vec<Hash> = entries(&f.store, log, 0, size)
                .iter()
                .map(|b| Blake3::leaf(b))
                .collect();
            assert_eq!(leaves.len() as u64, size);
            assert_eq!(*head.root(), root_of::<Blake3>(&leaves));
            assert_eq!(state.tree.root(), *head.root());
        }
        let confidential = f.store.log_state(&all, log_of(f.confidential)).unwrap();
        assert_eq!(
            confidential.checkpoint, untouched.checkpoint,
            "round {round}"
        );
        f = f.reopen();
    }
}

#[test]
fn records_are_found_by_kind_subject_time_and_log_newest_first() {
    let mut f = Fixture::new();
    let other = stranger().did();
    // Controls about the owner at t(0..10) in public; withdrawals about
    // another organization at t(20..25) in partners.
    f.append(&entries_of(f.public, 0..10));
    let withdrawals: Vec<NewEntry> = (20..25)
        .map(|n| new_entry(f.partners, &withdrawal(&f.owner, other, n)))
        .collect();
    f.append(&withdrawals);
    let issued = |r: &assure_store::StoredRecord| r.record.predicate.common.issued_at;

    for round in 0..2 {
        let every = everything(&f.store);
        let all = f.store.records(&every, &Filter::default(), 100).unwrap();
        assert_eq!(all.len(), 15, "round {round}");
        assert!(all.windows(2).all(|w| issued(&w[0]) > issued(&w[1])));
        assert_eq!(issued(&all[0]), t(24));
        assert_eq!(issued(&all[14]), t(0));
        for r in &all {
            let read = f.store.entry_at(&every, r.location).unwrap().unwrap();
            assert_eq!(read.bytes, r.bytes);
        }

        let by_kind = Filter {
            kind: Some(Kind::Withdrawal),
            ..Filter::default()
        };
        let found = f.store.records(&every, &by_kind, 100).unwrap();
        assert_eq!(found.len(), 5);
        assert!(found.iter().all(|r| r.record.kind() == Kind::Withdrawal));

        let by_subject = Filter {
            subject: Some(f.owner.did()),
            ..Filter::default()
        };
        let found = f.store.records(&every, &by_subject, 100).unwrap();
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|r| r.record.subject.did == f.owner.did()));
        let by_other = Filter {
            subject: Some(other),
            ..Filter::default()
        };
        assert_eq!(f.store.records(&every, &by_other, 100).unwrap().len(), 5);

        let since = Filter {
            since: Some(t(7)),
            ..Filter::default()
        };
        let found = f.store.records(&every, &since, 100).unwrap();
        let times: Vec<Timestamp> = found.iter().map(issued).collect();
        assert_eq!(
            times,
            vec![t(24), t(23), t(22), t(21), t(20), t(9), t(8), t(7)]
        );

        let in_public = every.only(&log_of(f.public));
        let found = f
            .store
            .records(&in_public, &Filter::default(), 100)
            .unwrap();
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|r| r.location.log == log_of(f.public)));
        let in_nothing = every.only(&log_of(f.confidential));
        assert!(
            f.store
                .records(&in_nothing, &Filter::default(), 100)
                .unwrap()
                .is_empty()
        );
        // Narrowing to a log outside the set, or to no log, reads nothing.
        let nowhere = log_of(CompartmentId::from_bytes([0xee; 16]));
        for none in [every.only(&nowhere), every.narrow(|_| false)] {
            assert!(none.is_empty());
            assert!(
                f.store
                    .records(&none, &Filter::default(), 100)
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(f.store.count(&none, &Filter::default()), 0);
        }
        assert_eq!(f.store.count(&every, &Filter::default()), 15);
        assert_eq!(f.store.count(&in_public, &since), 3);

        let limited = f.store.records(&every, &Filter::default(), 3).unwrap();
        let ids: Vec<RecordId> = limited.iter().map(|r| r.record.id).collect();
        let first: Vec<RecordId> = all[..3].iter().map(|r| r.record.id).collect();
        assert_eq!(ids, first);
        assert!(
            f.store
                .records(&every, &Filter::default(), 0)
                .unwrap()
                .is_empty()
        );

        let combined = Filter {
            kind: Some(Kind::Control),
            since: Some(t(8)),
            subject: Some(f.owner.did()),
            domain: None,
            after: None,
        };
        let found = f.store.records(&in_public, &combined, 100).unwrap();

        // Paging with a cursor walks the same order, each record once.
        let everything: Vec<RecordId> = f
            .store
            .records(&every, &Filter::default(), usize::MAX)
            .unwrap()
            .iter()
            .map(|r| r.record.id)
            .collect();
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = f
                .store
                .page(
                    &every,
                    &Filter {
                        after,
                        ..Filter::default()
                    },
                    2,
                )
                .unwrap();
            assert!(!page.items.is_empty());
            for listed in &page.items {
                let read = f.store.entry_at(&every, listed.location).unwrap().unwrap();
                assert_eq!(read.bytes, listed.bytes);
                paged.push(listed.id);
            }
            let Some(next) = page.next else { break };
            let last = page.items.last().unwrap();
            assert_eq!(next, (last.issued_at, last.location));
            after = Some(next);
        }
        assert_eq!(paged, everything);
        assert_eq!(
            found.iter().map(issued).collect::<Vec<_>>(),
            vec![t(9), t(8)]
        );
        // The index is rebuilt from disk at open: the same answers again.
        f = f.reopen();
    }
}

#[test]
fn unknown_compartments_and_taken_labels_are_refused_without_change() {
    let mut f = Fixture::new();
    f.append(&entries_of(f.public, 0..2));
    let before = heads(&f.store);
    let nowhere = CompartmentId::from_bytes([0xee; 16]);
    let mut batch = entries_of(f.public, 2..4);
    batch.push(new_entry(nowhere, &pool()[4]));
    let refused = f.store.append(&f.owner, &batch, t(30_000));
    assert!(
        matches!(&refused, Err(Error::NoCompartment(name)) if *name == nowhere.to_string()),
        "{refused:?}"
    );
    assert_eq!(heads(&f.store), before);
    assert!(
        f.store
            .locations(&everything(&f.store), &pool()[2].1.id)
            .is_empty()
    );

    let taken = Compartment::new(
        CompartmentId::from_bytes([0xdd; 16]),
        "partners",
        Rule::regulators(),
    )
    .unwrap();
    let refused = f.store.create_compartment(&f.owner, taken, t(30_000));
    assert!(
        matches!(&refused, Err(Error::CompartmentExists(label)) if label == "partners"),
        "{refused:?}"
    );
    assert_eq!(heads(&f.store), before);

    f = f.reopen();
    assert_eq!(heads(&f.store), before);
    assert_eq!(entries(&f.store, log_of(f.public), 0, 100).len(), 2);
    assert!(matches!(
        f.store.find_compartment(&everything(&f.store), "nowhere"),
        Err(Error::NoCompartment(_))
    ));
    let found = f
        .store
        .find_compartment(&everything(&f.store), "partners")
        .unwrap();
    assert_eq!(found.compartment.rule, Rule::partners());
}

/// One way of damaging a closed store's log of `public`.
type Damage = fn(&Path, LogId, &Keypair);

/// A damage, its name and what the integrity error says.
type Case = (&'static str, &'static str, Damage);

fn damages() -> Vec<Case> {
    vec![
        (
            "envelope at the end of the segment",
            "the envelopes from 601 do not match their checksum",
            |dir, log, _| {
                let last = block_of(dir, log, 601);
                flip_file(&last.path, last.end - 1);
            },
        ),
        (
            "segment cut short",
            "entries from 601 are missing",
            |dir, log, _| {
                let last = block_of(dir, log, 601);
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&last.path)
                    .unwrap();
                file.set_len(last.end - 3).unwrap();
            },
        ),
        (
            "block header",
            "entries from 512 are missing",
            |dir, log, _| {
                let block = block_of(dir, log, 512);
                flip_file(&block.path, block.offset + 30);
            },
        ),
        (
            "leaf hash",
            "the leaf hashes of the entries from 512 do not match their checksum",
            |dir, log, _| {
                let block = block_of(dir, log, 512);
                flip_file(&block.path, block.offset + HEADER_LEN + 5);
            },
        ),
        (
            "checkpoint by another key",
            "checkpoint signature does not verify",
            |dir, log, owner| {
                with_db(dir, |db| {
                    let checkpoints = db.open_tree("checkpoints").unwrap();
                    let text = checkpoints.get(log_key(log)).unwrap().unwrap();
                    let note =
                        SignedCheckpoint::parse(std::str::from_utf8(&text).unwrap()).unwrap();
                    let forged = SignedCheckpoint::sign(
                        note.checkpoint().clone(),
                        &owner.did().to_string(),
                        stranger().signing_key(),
                    )
                    .unwrap();
                    checkpoints
                        .insert(log_key(log), forged.to_string().as_bytes())
                        .unwrap();
                })
            },
        ),
        (
            "checkpoint of another log",
            "checkpoint names another log",
            |dir, log, owner| {
                with_db(dir, |db| {
                    // Validly signed by the owner, for another compartment, with the
                    // same size and root.
                    let checkpoints = db.open_tree("checkpoints").unwrap();
                    let text = checkpoints.get(log_key(log)).unwrap().unwrap();
                    let note =
                        SignedCheckpoint::parse(std::str::from_utf8(&text).unwrap()).unwrap();
                    let head = note.checkpoint();
                    let other = LogId {
                        compartment: CompartmentId::from_bytes([0x77; 16]),
                        ..log
                    };
                    let moved =
                        Checkpoint::new(other.origin_line(), head.size(), *head.root(), 1).unwrap();
                    let signed = SignedCheckpoint::sign(
                        moved,
                        &owner.did().to_string(),
                        owner.signing_key(),
                    )
                    .unwrap();
                    checkpoints
                        .insert(log_key(log), signed.to_string().as_bytes())
                        .unwrap();
                })
            },
        ),
        (
            "checkpoint unparsable",
            "checkpoint cannot be parsed",
            |dir, log, _| {
                with_db(dir, |db| {
                    let checkpoints = db.open_tree("checkpoints").unwrap();
                    checkpoints
                        .insert(log_key(log), &b"not a note\n"[..])
                        .unwrap();
                })
            },
        ),
        (
            "checkpoint not utf-8",
            "checkpoint cannot be parsed",
            |dir, log, _| {
                with_db(dir, |db| {
                    let checkpoints = db.open_tree("checkpoints").unwrap();
                    checkpoints.insert(log_key(log), &[0xff, 0xfe][..]).unwrap();
                })
            },
        ),
        ("checkpoint deleted", "no checkpoint", |dir, log, _| {
            with_db(dir, |db| {
                let checkpoints = db.open_tree("checkpoints").unwrap();
                assert!(checkpoints.remove(log_key(log)).unwrap().is_some());
            })
        }),
    ]
}

#[test]
fn damaged_logs_are_refused_at_open_and_left_out_by_open_report() {
    for (name, expected, damage) in damages() {
        let f = Fixture::new();
        // public: pages at 0 and 512 from one batch, then 600 and 601,
        // the last block of the segment.
        f.append(&entries_of(f.public, 0..600));
        f.append(&entries_of(f.partners, 700..703));
        f.append(&entries_of(f.public, 600..601));
        f.append(&entries_of(f.public, 601..602));
        let public = log_of(f.public);
        let intact: Vec<Head> = heads(&f.store)
            .into_iter()
            .filter(|h| h.0 != public)
            .collect();
        let Fixture {
            dir, store, owner, ..
        } = f;
        drop(store);
        assert_eq!(page_starts(dir.path(), public), vec![0, 512, 600, 601]);
        damage(dir.path(), public, &owner);

        let refused = Store::open(dir.path());
        match &refused {
            Err(Error::Integrity {
                compartment,
                log,
                detail,
                ..
            }) => {
                assert_eq!(compartment, "public", "{name}");
                assert!(log.starts_with("our own log"), "{name}: {log}");
                assert!(detail.contains(expected), "{name}: {detail}");
            }
            other => panic!("{name}: expected an integrity error, got {other:?}"),
        }
        assert!(refused.unwrap_err().is_integrity());

        let (store, damaged) = Store::open_report(dir.path()).unwrap();
        assert_eq!(damaged.len(), 1, "{name}");
        assert_eq!(damaged[0].0, public, "{name}");
        assert!(
            matches!(&damaged[0].1, Error::Integrity { compartment, .. } if compartment == "public"),
            "{name}: {:?}",
            damaged[0].1
        );
        let all = everything(&store);
        assert!(store.log_state(&all, public).is_none(), "{name}");
        assert_eq!(heads(&store), intact, "{name}");
        let found = store.records(&all, &Filter::default(), 100).unwrap();
        assert_eq!(found.len(), 3, "{name}");
        assert!(
            found
                .iter()
                .all(|r| r.location.log == log_of(CompartmentId::from_bytes([2; 16])))
        );
        assert!(
            matches!(
                store.verify_log(&store.as_owner().unwrap(), public),
                Err(Error::Integrity { .. })
            ),
            "{name}"
        );
    }
}

#[test]
fn a_second_open_of_a_data_directory_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap();
    first.set_owner(owner().did()).unwrap();
    match Store::open(dir.path()) {
        Err(Error::Locked(path)) => assert_eq!(path, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(matches!(
        Store::open_report(dir.path()),
        Err(Error::Locked(_))
    ));
    assert!(matches!(
        Store::restore(dir.path(), owner().did(), &b""[..], Older::Refuse),
        Err(Error::Locked(_))
    ));
    let clone = first.clone();
    drop(first);
    // A clone shares the lock.
    assert!(matches!(Store::open(dir.path()), Err(Error::Locked(_))));
    drop(clone);
    let second = Store::open(dir.path()).unwrap();
    assert_eq!(second.owner().unwrap(), Some(owner().did()));
}

#[test]
fn the_owner_is_set_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.owner().unwrap(), None);
    store.set_owner(owner().did()).unwrap();
    store.set_owner(owner().did()).unwrap();
    assert!(matches!(
        store.set_owner(stranger().did()),
        Err(Error::OwnerMismatch)
    ));
    assert_eq!(store.owner().unwrap(), Some(owner().did()));
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.owner().unwrap(), Some(owner().did()));
    assert!(matches!(
        store.set_owner(stranger().did()),
        Err(Error::OwnerMismatch)
    ));
}

fn grant(party: Did, version: u64) -> Grant {
    Grant::new(
        party,
        BTreeSet::from([Role::Customer]),
        Clearance::Partner,
        "NDA 2024-17",
        t(0),
        None,
        version,
    )
    .unwrap()
}

#[test]
fn grants_only_move_forward_and_every_change_is_logged() {
    let mut f = Fixture::new();
    let party = stranger().did();
    let other = Keypair::from_seed([3; 32]).did();
    let v1 = grant(party, 1);
    let v2 = v1.renew(Some(t(500))).unwrap();
    let v3 = v2.revoke(t(100));
    assert_eq!((v2.version, v3.version), (2, 3));
    f.store.put_grant(&v1, "added", t(1)).unwrap();
    f.store.put_grant(&v2, "replaced", t(2)).unwrap();
    for stale in [&v1, &v2] {
        let refused = f.store.put_grant(stale, "replaced", t(3));
        assert!(
            matches!(&refused, Err(Error::StaleGrant { party: p, version }) if *p == party && *version == stale.version),
            "{refused:?}"
        );
    }
    assert_eq!(f.store.grant(&party).unwrap(), Some(v2.clone()));
    assert_eq!(f.store.grant_log().unwrap().len(), 2);
    f.store.put_grant(&v3, "revoked", t(4)).unwrap();
    // Versions are per party.
    f.store.put_grant(&grant(other, 1), "added", t(5)).unwrap();
    assert_eq!(
        f.store.grant(&Keypair::from_seed([9; 32]).did()).unwrap(),
        None
    );

    let expected: Vec<(Timestamp, String, Grant)> = vec![
        (t(1), "added".into(), v1),
        (t(2), "replaced".into(), v2),
        (t(4), "revoked".into(), v3.clone()),
        (t(5), "added".into(), grant(other, 1)),
    ];
    for _ in 0..2 {
        let log: Vec<(Timestamp, String, Grant)> = f
            .store
            .grant_log()
            .unwrap()
            .into_iter()
            .map(|c| (c.at, c.change, c.grant))
            .collect();
        assert_eq!(log, expected);
        let mut grants = f.store.grants().unwrap();
        grants.sort_by_key(|g| g.party);
        let mut want = vec![v3.clone(), grant(other, 1)];
        want.sort_by_key(|g| g.party);
        assert_eq!(grants, want);
        f = f.reopen();
    }
}

fn disclosure(n: u64, party: Did, compartment: CompartmentId) -> Disclosure {
    Disclosure {
        at: t(n as i64),
        party,
        compartment,
        from: n * 10,
        to: n * 10 + 5,
        grant_version: n.is_multiple_of(2).then_some(n),
        channel: if n.is_multiple_of(2) {
            "network"
        } else {
            "api"
        }
        .into(),
        purpose: (n == 3).then(|| "annual review".into()),
    }
}

#[test]
fn disclosures_read_back_in_order_with_paging() {
    let mut f = Fixture::new();
    let party = stranger().did();
    let all: Vec<Disclosure> = (0..6).map(|n| disclosure(n, party, f.partners)).collect();
    f.store.log_disclosures(&all[..2]).unwrap();
    f.store.log_disclosures(&[]).unwrap();
    f.store.log_disclosures(&all[2..]).unwrap();
    for _ in 0..2 {
        assert_eq!(f.store.disclosures(0, usize::MAX).unwrap(), all);
        assert_eq!(f.store.disclosures(1, 2).unwrap(), all[1..3]);
        assert_eq!(f.store.disclosures(5, 10).unwrap(), all[5..]);
        assert!(f.store.disclosures(6, 10).unwrap().is_empty());
        assert!(f.store.disclosures(0, 0).unwrap().is_empty());
        f = f.reopen();
    }
}

#[test]
fn a_forbidden_log_reads_as_a_missing_one() {
    let f = Fixture::new();
    f.append(&entries_of(f.public, 0..3));
    f.append(&entries_of(f.partners, 3..6));
    f.append(&entries_of(f.confidential, 6..9));
    let public = log_of(f.public);
    let confidential = log_of(f.confidential);
    let missing = LogId {
        origin: Keypair::from_seed([5; 32]).did(),
        compartment: CompartmentId::from_bytes([0xee; 16]),
    };
    // Evidence and an alert about both logs, an alert about the public
    // log, and one that names no log.
    for (log, key) in [
        (confidential, &f.owner),
        (missing, &Keypair::from_seed([5; 32])),
    ] {
        let tree = |n: u8| Tree::<Blake3>::from_leaf_hashes(vec![[n; 32]; 3]);
        let (a, b) = (note(key, log, &tree(1), 3), note(key, log, &tree(2), 3));
        let evidence = Evidence::new(log, &a, &b, None, t(40)).unwrap();
        assert!(f.store.freeze(log, &evidence).unwrap());
    }
    let alert = |detail: &str, log: Option<LogId>| Alert {
        at: t(41),
        kind: "incident".into(),
        origin: f.owner.did().to_string(),
        detail: detail.into(),
        record: None,
        log: log.map(|l| l.origin_line()),
    };
    f.store.raise(&alert("public", Some(public))).unwrap();
    f.store.raise(&alert("the owner's", None)).unwrap();

    let anonymous = f.store.gate(Reader::Anonymous, t(50), "api").unwrap();
    assert_eq!(
        anonymous.logs().map(|(l, _)| l).collect::<Vec<_>>(),
        [public]
    );
    // A record held only in `confidential`, and one held nowhere.
    let secret = pool()[6].1.id;
    let nothing = RecordId([0xab; 32]);

    // What every read method tells `visible` about `log` and record `id`.
    let reads = |visible: &Visible, log: LogId, id: RecordId| -> Vec<(&'static str, String)> {
        let s = &f.store;
        let only = visible.only(&log);
        let any = Filter::default();
        let at = |r: &assure_store::StoredRecord| r.location;
        let here = |l: &Location| l.log == log;
        let listed = |p: &assure_store::Page| {
            let items: Vec<Location> = p.items.iter().map(|l| l.location).collect();
            (items, p.next)
        };
        let seen = |visible: &Visible| -> Vec<(RecordId, u64)> {
            s.seen(visible)
                .unwrap()
                .into_iter()
                .filter_map(|seen| {
                    let position = seen.position?;
                    (position.log == log.origin_line()).then_some((seen.record.id, position.index))
                })
                .collect()
        };
        vec![
            (
                "logs",
                format!(
                    "{:?}",
                    s.logs(visible)
                        .iter()
                        .map(|l| l.log)
                        .filter(|l| *l == log)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "logs, narrowed",
                format!(
                    "{:?}",
                    s.logs(&only).iter().map(|l| l.log).collect::<Vec<_>>()
                ),
            ),
            (
                "log",
                format!(
                    "{:?}",
                    s.log(visible, log).map(|l| l.checkpoint.to_string())
                ),
            ),
            (
                "log_state",
                format!(
                    "{:?}",
                    s.log_state(visible, log).map(|l| l.checkpoint.to_string())
                ),
            ),
            (
                "tree",
                format!("{:?}", s.tree(visible, log).map(|t| (t.len(), t.root()))),
            ),
            (
                "read_entries",
                format!(
                    "{:?}",
                    s.read_entries(visible, log, 0, 100, usize::MAX).unwrap()
                ),
            ),
            (
                "read_log",
                format!(
                    "{:?}",
                    s.read_log(visible, log)
                        .unwrap()
                        .iter()
                        .map(at)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "entry_at",
                format!(
                    "{:?}",
                    s.entry_at(visible, Location { log, index: 0 })
                        .unwrap()
                        .as_ref()
                        .map(at)
                ),
            ),
            ("locations", format!("{:?}", s.locations(visible, &id))),
            (
                "record",
                format!(
                    "{:?}",
                    s.record(visible, &id)
                        .unwrap()
                        .iter()
                        .map(at)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "records",
                format!(
                    "{:?}",
                    s.records(visible, &any, 100)
                        .unwrap()
                        .iter()
                        .map(at)
                        .filter(here)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "records, narrowed",
                format!(
                    "{:?}",
                    s.records(&only, &any, 100)
                        .unwrap()
                        .iter()
                        .map(at)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "page",
                format!(
                    "{:?}",
                    listed(&s.page(visible, &any, 100).unwrap())
                        .0
                        .into_iter()
                        .filter(here)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "page, narrowed",
                format!("{:?}", listed(&s.page(&only, &any, 100).unwrap())),
            ),
            ("seen", format!("{:?}", seen(visible))),
            ("seen, narrowed", format!("{:?}", seen(&only))),
            ("count, narrowed", format!("{:?}", s.count(&only, &any))),
            (
                "evidence",
                format!("{:?}", s.evidence(visible, log).unwrap().map(|e| e.reason)),
            ),
            (
                "all_evidence",
                format!(
                    "{:?}",
                    s.all_evidence(visible)
                        .unwrap()
                        .into_iter()
                        .filter(|(l, _)| *l == log)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "alerts",
                format!(
                    "{:?}",
                    s.alerts(visible)
                        .unwrap()
                        .into_iter()
                        .filter(|a| a.log() == Some(log))
                        .collect::<Vec<_>>()
                ),
            ),
        ]
    };

    let hidden = reads(&anonymous, confidential, secret);
    let absent = reads(&anonymous, missing, nothing);
    assert_eq!(hidden, absent);
    for (name, read) in &absent {
        assert!(
            ["[]", "None", "0", "([], None)"].contains(&read.as_str()),
            "{name}: {read}"
        );
    }
    // The owner reads every part of `confidential`; a log the store does
    // not hold reads as nothing even for it.
    let owner = everything(&f.store);
    for ((name, read), (_, none)) in reads(&owner, confidential, secret).iter().zip(&absent) {
        assert_ne!(read, none, "{name}");
    }
    assert_eq!(reads(&owner, missing, nothing), absent);
    // What the anonymous reader is shown: the public log and its alert.
    assert_eq!(
        reads(&anonymous, public, pool()[0].1.id)[0].1,
        format!("{:?}", [public])
    );
    let details: Vec<String> = f
        .store
        .alerts(&anonymous)
        .unwrap()
        .into_iter()
        .map(|a| a.detail)
        .collect();
    assert_eq!(details, ["public"]);
    assert!(f.store.all_evidence(&anonymous).unwrap().is_empty());
    assert_eq!(f.store.alerts(&owner).unwrap().len(), 3);
    // Reading public logs is no disclosure.
    assert!(f.store.disclosures(0, 100).unwrap().is_empty());
}

#[test]
fn reads_under_a_grant_are_disclosed_once_per_run() {
    let f = Fixture::new();
    let party = stranger().did();
    let (public, partners) = (log_of(f.public), log_of(f.partners));
    f.append(&entries_of(f.public, 200..205));
    // partners: controls at 0..3, 4..6 and 7..10; withdrawals at 3 and 6.
    let mut batch = entries_of(f.partners, 100..103);
    batch.push(new_entry(f.partners, &withdrawal(&f.owner, party, 150)));
    batch.extend(entries_of(f.partners, 103..105));
    batch.push(new_entry(f.partners, &withdrawal(&f.owner, party, 151)));
    batch.extend(entries_of(f.partners, 105..108));
    f.append(&batch);
    f.append(&entries_of(f.confidential, 300..302));
    let v1 = grant(party, 1);
    f.store.put_grant(&v1, "added", t(1)).unwrap();
    f.store
        .put_grant(&v1.renew(None).unwrap(), "replaced", t(2))
        .unwrap();
    assert!(f.store.disclosures(0, 100).unwrap().is_empty());

    let visible = f
        .store
        .gate(Reader::Party(party), t(100), "api")
        .unwrap()
        .with_purpose(Some("annual review".into()));
    assert_eq!(
        visible.logs().collect::<Vec<_>>(),
        [
            (public, Access::Public),
            (partners, Access::Granted { version: 2 })
        ]
    );
    let controls = Filter {
        kind: Some(Kind::Control),
        ..Filter::default()
    };
    let before = Timestamp::now();
    let page = f.store.page(&visible, &controls, 10).unwrap();
    let after = Timestamp::now();

    // Newest first: the five public controls, then partners 9, 8, 7, 5, 4;
    // 2, 1 and 0 are on the next page.
    let at = |log, index| Location { log, index };
    let shown: Vec<Location> = page.items.iter().map(|l| l.location).collect();
    let mut expected: Vec<Location> = (0..5).rev().map(|i| at(public, i)).collect();
    expected.extend([9, 8, 7, 5, 4].map(|i| at(partners, i)));
    assert_eq!(shown, expected);
    assert!(page.next.is_some());

    let disclosures = f.store.disclosures(0, 100).unwrap();
    assert!(!disclosures.is_empty());
    // Disclosures are recorded at the time the gate decided.
    assert!(disclosures.iter().all(|d| d.at == visible.decided_at()));
    assert!(before <= after);
    assert!(disclosures.iter().all(|d| d.compartment != f.public));
    let runs: Vec<Disclosure> = [(4, 6), (7, 10)]
        .into_iter()
        .map(|(from, to)| Disclosure {
            at: disclosures[0].at,
            party,
            compartment: f.partners,
            from,
            to,
            grant_version: Some(2),
            channel: "api".into(),
            purpose: Some("annual review".into()),
        })
        .collect();
    assert_eq!(disclosures, runs);
}

/// A store with logs over several pages, grants and disclosures, and its
/// checkpoint of `public` before the last append.
fn backed_up_fixture() -> (Fixture, SignedCheckpoint) {
    let f = Fixture::new();
    f.append(&entries_of(f.public, 0..600));
    let older = f
        .store
        .log_state(&everything(&f.store), log_of(f.public))
        .unwrap()
        .checkpoint;
    f.append(&entries_of(f.public, 600..602));
    f.append(&entries_of(f.partners, 700..703));
    let party = stranger().did();
    let v1 = grant(party, 1);
    f.store.put_grant(&v1, "added", t(1)).unwrap();
    f.store
        .put_grant(&v1.renew(Some(t(900))).unwrap(), "replaced", t(2))
        .unwrap();
    let disclosures: Vec<Disclosure> = (0..3).map(|n| disclosure(n, party, f.partners)).collect();
    f.store.log_disclosures(&disclosures).unwrap();
    (f, older)
}

/// The backup's lines with a fresh `end` line over them.
fn reseal(lines: &[String]) -> Vec<u8> {
    let body = &lines[..lines.len() - 1];
    let mut out = Vec::new();
    for line in body {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    let digest = blake3::hash(&out).to_hex().to_string();
    let end = format!(
        "{{\"end\":{{\"lines\":{},\"digest\":\"{digest}\"}}}}\n",
        body.len()
    );
    out.extend_from_slice(end.as_bytes());
    out
}

fn line_index(lines: &[String], prefix: &str) -> usize {
    lines.iter().position(|l| l.starts_with(prefix)).unwrap()
}

fn altered_entry(lines: &[String]) -> Vec<u8> {
    let mut lines = lines.to_vec();
    let at = line_index(&lines, "{\"entry\":");
    let value: serde_json::Value = serde_json::from_str(&lines[at]).unwrap();
    let mut bytes = BASE64.decode(value["entry"].as_str().unwrap()).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    lines[at] = serde_json::json!({"entry": BASE64.encode(bytes)}).to_string();
    reseal(&lines)
}

fn swapped_entry(lines: &[String]) -> Vec<u8> {
    // Another valid envelope by the owner in place of the first entry.
    let mut lines = lines.to_vec();
    let at = line_index(&lines, "{\"entry\":");
    lines[at] = serde_json::json!({"entry": BASE64.encode(&pool()[1100].0)}).to_string();
    reseal(&lines)
}

fn missing_entry(lines: &[String]) -> Vec<u8> {
    let mut lines = lines.to_vec();
    lines.remove(line_index(&lines, "{\"entry\":"));
    reseal(&lines)
}

fn older_checkpoint(lines: &[String], older: &SignedCheckpoint) -> Vec<u8> {
    let mut lines = lines.to_vec();
    let at = line_index(&lines, "{\"compartment\":");
    let mut value: serde_json::Value = serde_json::from_str(&lines[at]).unwrap();
    value["compartment"]["checkpoint"] = older.to_string().into();
    lines[at] = value.to_string();
    reseal(&lines)
}

/// The backup with its `end` line's field `field` set to `value`.
fn wrong_end(lines: &[String], field: &str, value: serde_json::Value) -> Vec<u8> {
    let mut lines = lines.to_vec();
    let last = lines.len() - 1;
    let mut end: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
    end["end"][field] = value;
    lines[last] = end.to_string();
    (lines.join("\n") + "\n").into_bytes()
}

fn altered_disclosure(lines: &[String]) -> Vec<u8> {
    // Not otherwise checked: only the digest catches it.
    let mut text = lines.join("\n") + "\n";
    text = text.replacen("\"channel\":\"network\"", "\"channel\":\"api\"", 1);
    text.into_bytes()
}

#[test]
fn a_backup_restores_into_the_same_store() {
    let (f, _) = backed_up_fixture();
    let mut bytes = Vec::new();
    let summary = f.store.backup(&mut bytes, t(50_000)).unwrap();
    assert_eq!(summary.owner, Some(f.owner.did()));
    assert_eq!(
        (summary.compartments, summary.entries, summary.grants),
        (3, 605, 1)
    );
    let lines: Vec<String> = String::from_utf8(bytes.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        reseal(&lines),
        bytes,
        "reseal rebuilds the end line exactly"
    );
    let expected = dump(&f.store);
    let heads_before = heads(&f.store);

    let target = tempfile::tempdir().unwrap();
    let restored = Store::restore(target.path(), f.owner.did(), &bytes[..], Older::Refuse).unwrap();
    assert_eq!(restored, summary);
    let store = Store::open(target.path()).unwrap();
    assert_eq!(dump(&store), expected);
    assert_eq!(heads(&store), heads_before);
    for h in &heads_before {
        let state = store.log_state(&everything(&store), h.0).unwrap();
        assert_eq!(state.tree.root(), h.3);
    }
    drop(store);

    // Restoring over an existing store keeps the old database aside.
    drop(f.store);
    let restored = Store::restore(f.dir.path(), f.owner.did(), &bytes[..], Older::Refuse).unwrap();
    assert_eq!(restored, summary);
    let aside = std::fs::read_dir(f.dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("db.replaced-")
        })
        .count();
    assert_eq!(aside, 1);
    assert_eq!(dump(&Store::open(f.dir.path()).unwrap()), expected);
}

#[test]
fn grant_and_disclosure_logs_continue_after_restore() {
    let (f, _) = backed_up_fixture();
    let mut bytes = Vec::new();
    f.store.backup(&mut bytes, t(50_000)).unwrap();
    let target = tempfile::tempdir().unwrap();
    Store::restore(target.path(), f.owner.did(), &bytes[..], Older::Refuse).unwrap();
    let store = Store::open(target.path()).unwrap();
    let party = stranger().did();
    let current = store.grant(&party).unwrap().unwrap();
    let next = current.revoke(t(3));
    store.put_grant(&next, "revoked", t(3)).unwrap();
    store
        .log_disclosures(&[disclosure(7, party, f.partners)])
        .unwrap();

    let changes: Vec<(String, u64)> = store
        .grant_log()
        .unwrap()
        .into_iter()
        .map(|c| (c.change, c.grant.version))
        .collect();
    assert_eq!(
        changes,
        [("added", 1), ("replaced", 2), ("revoked", 3)].map(|(c, v)| (c.to_owned(), v))
    );
    let froms: Vec<u64> = store
        .disclosures(0, usize::MAX)
        .unwrap()
        .iter()
        .map(|d| d.from)
        .collect();
    assert_eq!(froms, vec![0, 10, 20, 70]);
}

#[test]
fn bad_backups_are_refused_and_leave_the_existing_store_untouched() {
    let (f, older) = backed_up_fixture();
    let mut bytes = Vec::new();
    f.store.backup(&mut bytes, t(50_000)).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();

    // The target holds a store of its own, different from the backup.
    let target = tempfile::tempdir().unwrap();
    {
        let store = Store::open(target.path()).unwrap();
        store.set_owner(f.owner.did()).unwrap();
        let c =
            Compartment::new(CompartmentId::from_bytes([9; 16]), "public", Rule::public()).unwrap();
        store.create_compartment(&f.owner, c, t(0)).unwrap();
        store
            .append(
                &f.owner,
                &entries_of(CompartmentId::from_bytes([9; 16]), 900..905),
                t(1),
            )
            .unwrap();
    }
    let existing = dump(&Store::open(target.path()).unwrap());
    assert_eq!(existing.logs.len(), 1);

    let without_end = lines[..lines.len() - 1].join("\n") + "\n";
    let cut = &bytes[..bytes.len() / 2];
    let another = Keypair::from_seed([4; 32]).did();
    let me = f.owner.did();
    let mismatch = "public: entries do not match the signed checkpoint";
    let damaged = "digest or line count does not match";
    let truncated = "ends before its end line";
    let digest = blake3::hash(b"x").to_hex().as_str().into();
    let bad: Vec<(&str, Vec<u8>, Did, &str)> = vec![
        (
            "altered entry",
            altered_entry(&lines),
            me,
            "line 3: entry does not verify",
        ),
        ("swapped entry", swapped_entry(&lines), me, mismatch),
        ("missing entry", missing_entry(&lines), me, mismatch),
        (
            "older checkpoint",
            older_checkpoint(&lines, &older),
            me,
            mismatch,
        ),
        (
            "wrong end digest",
            wrong_end(&lines, "digest", digest),
            me,
            damaged,
        ),
        (
            "wrong line count",
            wrong_end(&lines, "lines", (lines.len() - 2).into()),
            me,
            damaged,
        ),
        (
            "altered disclosure",
            altered_disclosure(&lines),
            me,
            damaged,
        ),
        ("no end line", without_end.into_bytes(), me, truncated),
        ("cut mid-line", cut.to_vec(), me, "not a backup line"),
        ("empty", Vec::new(), me, "the file is empty"),
        ("not a backup", b"{}\n".to_vec(), me, "not a backup line"),
        ("another owner", bytes.clone(), another, "not of this node"),
    ];
    for (name, backup, owner, expected) in bad {
        assert!(name == "another owner" || backup != bytes, "{name}");
        let refused = Store::restore(target.path(), owner, &backup[..], Older::Refuse);
        assert!(
            matches!(&refused, Err(Error::Backup(why)) if why.contains(expected)),
            "{name}: {refused:?}"
        );
        assert!(!target.path().join("db.restoring").exists(), "{name}");
        assert_eq!(
            dump(&Store::open(target.path()).unwrap()),
            existing,
            "{name}"
        );
    }
    let aside = std::fs::read_dir(target.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("db.replaced-")
        })
        .count();
    assert_eq!(aside, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn reopened_tree_matches_every_checkpoint(
        batches in prop::collection::vec(prop_oneof![4 => 0usize..12, 1 => 505usize..530], 1..5)
    ) {
        let mut f = Fixture::new();
        let log = log_of(f.public);
        let mut notes = Vec::new();
        let mut next = 0usize;
        for size in batches {
            let batch: Vec<NewEntry> = (next..next + size)
                .map(|n| new_entry(f.public, &pool()[n % POOL]))
                .collect();
            let appended = f.store.append(&f.owner, &batch, t(10_000)).unwrap();
            for (k, a) in appended.iter().enumerate() {
                prop_assert_eq!(a.location, Location { log, index: (next + k) as u64 });
            }
            next += size;
            notes.push(f.store.log_state(&everything(&f.store), log).unwrap().checkpoint);
        }
        f = f.reopen();
        let state = f.store.log_state(&everything(&f.store), log).unwrap();
        let last = notes.last().unwrap().checkpoint();
        prop_assert_eq!(state.tree.len(), next as u64);
        prop_assert_eq!(last.size(), next as u64);
        prop_assert_eq!(state.tree.root(), *last.root());
        prop_assert_eq!(&state.checkpoint, notes.last().unwrap());
        let stored = entries(&f.store, log, 0, u64::MAX);
        prop_assert_eq!(stored.len(), next);
        for (i, bytes) in stored.iter().enumerate() {
            let leaf = Blake3::leaf(bytes);
            prop_assert_eq!(state.tree.leaf_hash(i as u64), Some(leaf));
            let proof = state.tree.inclusion_proof(i as u64, last.size()).unwrap();
            verify_inclusion::<Blake3>(i as u64, last.size(), &leaf, &proof, last.root()).unwrap();
        }
        for note in &notes {
            let head = note.checkpoint();
            prop_assert_eq!(state.tree.root_at(head.size()).unwrap(), *head.root());
            let proof = state.tree.consistency_proof(head.size(), last.size()).unwrap();
            verify_consistency::<Blake3>(head.size(), last.size(), head.root(), last.root(), &proof)
                .unwrap();
            if head.size() > 0 {
                let i = head.size() - 1;
                let leaf = state.tree.leaf_hash(i).unwrap();
                let proof = state.tree.inclusion_proof(i, head.size()).unwrap();
                verify_inclusion::<Blake3>(i, head.size(), &leaf, &proof, head.root()).unwrap();
            }
        }
    }
}

#[test]
fn a_key_line_is_carried_opaque_and_covered_by_the_digest() {
    let (f, _) = backed_up_fixture();
    let mut bytes = Vec::new();
    f.store
        .backup_with_key(&mut bytes, t(50_000), Some("sealed key"))
        .unwrap();
    let header = BackupHeader::read(&bytes[..]).unwrap();
    assert_eq!(header.owner, f.owner.did());
    assert_eq!(header.format, RESTORE_FORMAT);
    assert_eq!(header.key.as_deref(), Some("sealed key"));
    let target = tempfile::tempdir().unwrap();
    Store::restore(target.path(), f.owner.did(), &bytes[..], Older::Refuse).unwrap();

    // The key line changed without resealing: the digest refuses it, and a
    // refused restore leaves no staging database behind.
    let altered = String::from_utf8(bytes.clone())
        .unwrap()
        .replacen("sealed key", "other key", 1);
    let fresh = tempfile::tempdir().unwrap();
    let refused = Store::restore(
        fresh.path(),
        f.owner.did(),
        altered.as_bytes(),
        Older::Refuse,
    );
    assert!(
        matches!(&refused, Err(Error::Backup(why)) if why.contains("damaged")),
        "{refused:?}"
    );
    assert!(!fresh.path().join("db.restoring").exists());
    assert!(!fresh.path().join("db").exists());

    // A key line anywhere but right after the header is refused.
    let mut lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let key = lines.remove(1);
    lines.insert(3, key);
    let refused = Store::restore(
        fresh.path(),
        f.owner.did(),
        &reseal(&lines)[..],
        Older::Refuse,
    );
    assert!(
        matches!(&refused, Err(Error::Backup(why)) if why.contains("right after the header")),
        "{refused:?}"
    );
}

#[test]
fn an_assure_backup_1_file_still_restores() {
    let (f, _) = backed_up_fixture();
    let mut bytes = Vec::new();
    let summary = f.store.backup(&mut bytes, t(50_000)).unwrap();
    let lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .replacen(RESTORE_FORMAT, "assure-backup/1", 1)
        .lines()
        .map(str::to_owned)
        .collect();
    let old = reseal(&lines);
    assert_eq!(BackupHeader::read(&old[..]).unwrap().key, None);
    let target = tempfile::tempdir().unwrap();
    assert_eq!(
        Store::restore(target.path(), f.owner.did(), &old[..], Older::Refuse).unwrap(),
        summary
    );
}

fn size_of(f: &Fixture, compartment: CompartmentId) -> u64 {
    f.store
        .log_state(&everything(&f.store), log_of(compartment))
        .unwrap()
        .tree
        .len()
}

/// Restoring an older backup over the logs it was taken from took them
/// back without a word; the partners holding the newer entries then saw a
/// fork at the next entry signed.
#[test]
fn an_older_backup_is_not_restored_over_newer_logs_unless_asked() {
    let (f, _) = backed_up_fixture();
    let mut old = Vec::new();
    f.store.backup(&mut old, t(50_000)).unwrap();
    f.append(&entries_of(f.partners, 800..802));
    let mut new = Vec::new();
    f.store.backup(&mut new, t(60_000)).unwrap();
    let owner = f.owner.did();

    let f = f.reopen_with(|dir| {
        let refused = Store::restore(dir, owner, &old[..], Older::Refuse);
        let Err(Error::Older(logs)) = refused else {
            panic!("an older backup was restored: {refused:?}");
        };
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(
            (logs[0].held, logs[0].backup, logs[0].forked),
            (5, 3, false)
        );
        assert!(logs[0].label == "partners", "{logs:?}");
        // The same backup again changes nothing, and a newer one is fine.
        Store::restore(dir, owner, &new[..], Older::Refuse).unwrap();
    });
    assert_eq!(
        size_of(&f, f.partners),
        5,
        "a refused restore wrote nothing"
    );

    // Asked for: restored, and the summary says what went back.
    let f = f.reopen_with(|dir| {
        let restored = Store::restore(dir, owner, &old[..], Older::Restore).unwrap();
        assert_eq!(restored.rolled_back.len(), 1);
        assert_eq!(restored.rolled_back[0].backup, 3);
        let sizes: Vec<u64> = restored.logs.iter().map(|l| l.size).collect();
        assert!(sizes.contains(&602) && sizes.contains(&3), "{sizes:?}");
    });
    assert_eq!(size_of(&f, f.partners), 3);

    // Signed on from the older backup, the log is another history than the
    // newer backup's, though that one is larger: refused as a fork.
    f.append(&entries_of(f.partners, 900..901));
    f.reopen_with(|dir| {
        let refused = Store::restore(dir, owner, &new[..], Older::Refuse);
        let Err(Error::Older(logs)) = refused else {
            panic!("a forked backup was restored: {refused:?}");
        };
        assert_eq!((logs[0].held, logs[0].backup, logs[0].forked), (4, 5, true));
    });
}

#[test]
fn a_backup_carries_the_working_state_and_refuses_a_damaged_state_line() {
    use assure_access::{Clearance, Role};
    use assure_store::{AccessRequest, Acknowledgement, Asked, Attempt, OutgoingRequest, Webhook};
    let (f, _) = backed_up_fixture();
    let asked = Asked {
        clearance: Clearance::Partner,
        role: Role::Customer,
        purpose: "planning deliveries".into(),
        basis: "NDA 7".into(),
        legal_basis: false,
    };
    let partner = stranger().did();
    f.store
        .put_access_request(&AccessRequest {
            id: "req-1".into(),
            party: partner,
            asked: asked.clone(),
            at: t(10),
            decided: None,
        })
        .unwrap();
    f.store
        .put_outgoing_request(&OutgoingRequest {
            id: "sent-1".into(),
            node: partner,
            url: "http://127.0.0.1:9".into(),
            asked,
            at: t(11),
            decided: None,
            polls: 2,
            next_poll: t(12),
        })
        .unwrap();
    let ack = Acknowledgement {
        by: "admin".into(),
        at: t(13),
    };
    f.store.acknowledge("alert-1", &ack).unwrap();
    let hook = Webhook {
        url: "http://127.0.0.1:9/hook".into(),
        added_at: t(14),
        added_by: "admin".into(),
    };
    f.store.add_webhook(&hook).unwrap();
    let attempt = Attempt {
        at: t(15),
        url: hook.url.clone(),
        event: "alert-1".into(),
        kind: "equivocation".into(),
        attempt: 1,
        status: Some(200),
        error: None,
        outcome: "delivered".into(),
    };
    f.store.log_attempt(&attempt).unwrap();
    f.store.mark_dispatched(["alert-1"], t(16)).unwrap();
    f.store
        .peer_connected(partner, Some("/ip4/127.0.0.1/tcp/4001"), t(17))
        .unwrap();
    let state = |s: &Store| {
        (
            s.access_requests().unwrap(),
            s.outgoing_requests().unwrap(),
            s.acknowledgements().unwrap(),
            s.webhooks().unwrap(),
            s.attempts(10).unwrap(),
            s.is_dispatched("alert-1").unwrap(),
            s.peers().unwrap(),
        )
    };
    let before = state(&f.store);
    assert_eq!(before.0.len(), 1);
    assert_eq!(before.6.len(), 1);
    let mut bytes = Vec::new();
    f.store.backup(&mut bytes, t(50_000)).unwrap();

    let target = tempfile::tempdir().unwrap();
    Store::restore(target.path(), f.owner.did(), &bytes[..], Older::Refuse).unwrap();
    assert_eq!(state(&Store::open(target.path()).unwrap()), before);

    // A state line of a tree the format does not carry, or whose value
    // does not read, is refused and nothing is restored.
    let lines: Vec<String> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for (from, to) in [
        ("\"webhooks\"", "\"grants\""),
        ("\"alert_acks\"", "\"alert_acks\""),
    ] {
        let mut changed = lines.clone();
        let at = changed
            .iter()
            .position(|l| l.contains("\"state\"") && l.contains(from))
            .unwrap();
        let mut line: serde_json::Value = serde_json::from_str(&changed[at]).unwrap();
        line["state"]["tree"] = serde_json::Value::String(to.trim_matches('"').into());
        if from == to {
            line["state"]["value"] = BASE64.encode(b"{\"by\": 7}").into();
        }
        changed[at] = line.to_string();
        let empty = tempfile::tempdir().unwrap();
        let err = Store::restore(
            empty.path(),
            f.owner.did(),
            &reseal(&changed)[..],
            Older::Refuse,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("state entry") || err.contains("does not read"),
            "{err}"
        );
        assert!(!empty.path().join("db").exists(), "nothing restored: {err}");
    }
}

/// `key`'s checkpoint of `log` over the first `size` leaves of `tree`.
fn note(key: &Keypair, log: LogId, tree: &Tree<Blake3>, size: u64) -> SignedCheckpoint {
    let root = tree.root_at(size).unwrap();
    let checkpoint = Checkpoint::new(log.origin_line(), size, root, 1_700_000_000).unwrap();
    SignedCheckpoint::sign(checkpoint, &key.did().to_string(), key.signing_key()).unwrap()
}

#[test]
fn evidence_of_different_sizes_holds_a_proof_anyone_can_check() {
    let f = Fixture::new();
    // A log the reader holds (here the owner's own; a replica reads alike).
    let (key, log) = (&f.owner, log_of(f.confidential));
    let leaves = |tag: u8, n: u8| (0..n).map(|i| [tag ^ i; 32]).collect::<Vec<Hash>>();
    // Both forks share the first two entries, then differ.
    let shared = leaves(0, 2);
    let fork_a = Tree::<Blake3>::from_leaf_hashes([shared.clone(), leaves(0x10, 2)].concat());
    let fork_b = Tree::<Blake3>::from_leaf_hashes([shared, leaves(0x20, 5)].concat());
    for (small, large) in [(3, 7), (4, 7), (1, 7), (2, 6)] {
        let (s, l) = (
            note(key, log, &fork_a, small),
            note(key, log, &fork_b, large),
        );
        let root = fork_b.root_at(small).unwrap();
        let path = fork_b.consistency_proof(small, large).unwrap();
        let proof = ForkProof::new(&root, &path);
        let made = Evidence::new(log, &l, &s, Some(proof.clone()), t(1));
        if small <= 2 {
            // The shared prefix: the two are consistent, nothing to show.
            assert!(made.is_err(), "{small} {large}");
            continue;
        }
        let evidence = made.unwrap();
        assert_eq!(evidence.first, s.to_string(), "the smaller one first");
        assert!(
            evidence
                .reason
                .contains(&format!("size {large} does not extend size {small}"))
        );
        assert_eq!(evidence.check(log).unwrap(), evidence.reason);
        // What a third party cannot check is refused.
        let refused = |e: Evidence| assert!(matches!(e.check(log), Err(Error::Evidence(_))));
        refused(Evidence {
            proof: None,
            ..evidence.clone()
        });
        let failing = fork_a.consistency_proof(small, fork_a.len()).unwrap();
        refused(Evidence {
            proof: Some(ForkProof::new(&root, &failing)),
            ..evidence.clone()
        });
        refused(Evidence {
            proof: Some(ForkProof::new(
                fork_a.root_at(small).as_ref().unwrap(),
                &path,
            )),
            ..evidence.clone()
        });
        refused(Evidence {
            first: evidence.second.clone(),
            second: evidence.first.clone(),
            ..evidence.clone()
        });
        let stranger = Keypair::from_seed([6; 32]);
        refused(Evidence {
            second: note(&stranger, log, &fork_b, large).to_string(),
            ..evidence.clone()
        });
        let stored = f.store.freeze(log, &evidence);
        assert!(stored.unwrap() || small != 3);
    }
    // Bad evidence changes nothing; good evidence raises one alert, once.
    let ours = f.store.as_owner().unwrap();
    let alerts = f.store.alerts(&ours).unwrap();
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a.kind == Alert::EQUIVOCATION)
            .count(),
        1
    );
}

#[test]
fn one_fork_found_twice_at_once_raises_one_alert() {
    // A pull and a witness round finding the same fork at the same
    // instant, again and again.
    for _ in 0..20 {
        let f = Fixture::new();
        for compartment in [f.public, f.partners, f.confidential] {
            let log = log_of(compartment);
            let tree = |n: u8| Tree::<Blake3>::from_leaf_hashes(vec![[n; 32]; 2]);
            let (a, b) = (
                note(&f.owner, log, &tree(1), 2),
                note(&f.owner, log, &tree(2), 2),
            );
            let evidence = Evidence::new(log, &a, &b, None, t(1)).unwrap();
            let start = std::sync::Barrier::new(2);
            let froze: Vec<bool> = std::thread::scope(|scope| {
                let freeze = || {
                    start.wait();
                    f.store.freeze(log, &evidence).unwrap()
                };
                let threads: Vec<_> = (0..2).map(|_| scope.spawn(freeze)).collect();
                threads.into_iter().map(|t| t.join().unwrap()).collect()
            });
            assert_eq!(froze.iter().filter(|f| **f).count(), 1);
            let ours = f.store.as_owner().unwrap();
            let alerts = f.store.alerts(&ours).unwrap();
            let raised = alerts
                .iter()
                .filter(|a| a.kind == Alert::EQUIVOCATION && a.log() == Some(log));
            assert_eq!(raised.count(), 1, "{alerts:?}");
        }
    }
}

/// `BackupHeader::read` and a restore refuse a file that is no backup with
/// the same words: they share one reading of the first line.
#[test]
fn a_file_that_is_no_backup_is_named_alike_by_the_header_reader_and_a_restore() {
    let me = owner().did();
    let unknown = format!(
        "{{\"header\":{{\"format\":\"assure-backup/99\",\"owner\":\"{me}\",\"created\":\"2026-01-01T00:00:00Z\"}}}}\n"
    );
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty", b"", "the file is empty"),
        ("not JSON", b"PK\x03\x04\n", "not a backup line"),
        (
            "no header",
            b"{\"end\":{\"lines\":0,\"digest\":\"\"}}\n",
            "missing header",
        ),
        ("unknown format", unknown.as_bytes(), "assure-backup/99"),
    ];
    for (name, bytes, expected) in cases {
        let read = BackupHeader::read(bytes);
        assert!(
            matches!(&read, Err(Error::Backup(why)) if why.contains(expected)),
            "{name}: {read:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let restored = Store::restore(dir.path(), me, bytes, Older::Refuse);
        assert!(
            matches!(&restored, Err(Error::Backup(why)) if why.contains(expected)),
            "{name}: {restored:?}"
        );
        assert!(!dir.path().join("db.restoring").exists(), "{name}");
        assert!(!dir.path().join("db").exists(), "{name}");
    }
}
