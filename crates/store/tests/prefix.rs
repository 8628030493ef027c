//! Replicas held in part: each page committed as it arrives, proven a
//! prefix of the author's signed tree, readable at once, kept across a
//! reopen; a page whose proof or entries are wrong is refused and leaves
//! nothing behind.
#![allow(clippy::unwrap_used)]

use assure_access::{Compartment, CompartmentId, Reader, Rule};
use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
use assure_model::predicate::{Body, Common, Control, ControlStatus, Domain, Predicate};
use assure_model::{Keypair, Record, SubjectRef, issue};
use assure_store::{Error, LogId, Store};
use jiff::Timestamp;

fn control(owner: &Keypair, n: usize) -> (Vec<u8>, Record) {
    let predicate = Predicate {
        common: Common {
            issuer: owner.did(),
            issued_at: Timestamp::now(),
            valid_until: None,
            supersedes: vec![],
            clauses: vec!["ISO22340:9.2.4".into()],
            domain: Some(Domain::Cyber),
        },
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: format!("Warehouse systems are monitored; check {n}."),
            evidence: vec![],
            last_tested: None,
        }),
    };
    issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap()
}

struct Author {
    log: LogId,
    entries: Vec<(Vec<u8>, Record)>,
    tree: Tree<Blake3>,
    note: SignedCheckpoint,
}

fn author(seed: u8, count: usize) -> Author {
    let keypair = Keypair::from_seed([seed; 32]);
    let log = LogId {
        origin: keypair.did(),
        compartment: CompartmentId::from_bytes([seed; 16]),
    };
    let entries: Vec<_> = (0..count).map(|n| control(&keypair, n)).collect();
    let mut tree = Tree::new();
    for (bytes, _) in &entries {
        tree.push_leaf_hash(Blake3::leaf(bytes));
    }
    let checkpoint =
        Checkpoint::new(log.origin_line(), tree.len(), tree.root(), 1_800_000_000).unwrap();
    let note = SignedCheckpoint::sign(
        checkpoint,
        &keypair.did().to_string(),
        keypair.signing_key(),
    )
    .unwrap();
    Author {
        log,
        entries,
        tree,
        note,
    }
}

/// The member's store.
fn open(dir: &std::path::Path) -> Store {
    let store = Store::open(dir).unwrap();
    store.set_owner(Keypair::from_seed([99; 32]).did()).unwrap();
    store
}

fn received(log: LogId) -> Compartment {
    Compartment::new(log.compartment, "received", Rule::public()).unwrap()
}

/// What the store holds of the log: entries, and records found by id.
fn held(store: &Store, a: &Author) -> (u64, usize, usize) {
    let ours = store.gate(Reader::Owner, Timestamp::now(), "test").unwrap();
    let size = store.log_state(&ours, a.log).map_or(0, |s| s.tree.len());
    let read = store
        .read_entries(&ours, a.log, 0, 10_000, usize::MAX)
        .unwrap()
        .map_or(0, |e| e.len());
    let found = a
        .entries
        .iter()
        .filter(|(_, r)| !store.locations(&ours, &r.id).is_empty())
        .count();
    (size, read, found)
}

#[test]
fn pages_are_held_as_proven_prefixes_and_reach_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let a = author(1, 10);
    let store = open(dir.path());
    let proof = a.tree.consistency_proof(4, 10).unwrap();
    let size = store
        .commit_prefix(a.log, &received(a.log), 0, &a.entries[..4], &a.note, &proof)
        .unwrap();
    assert_eq!(size, 4);
    assert_eq!(
        held(&store, &a),
        (4, 4, 4),
        "the prefix is read and indexed"
    );
    drop(store);

    // Kept across a reopen (which checks the stored proof), and continued.
    let store = open(dir.path());
    assert_eq!(held(&store, &a), (4, 4, 4));
    let proof = a.tree.consistency_proof(7, 10).unwrap();
    store
        .commit_prefix(
            a.log,
            &received(a.log),
            4,
            &a.entries[4..7],
            &a.note,
            &proof,
        )
        .unwrap();
    store
        .commit_prefix(a.log, &received(a.log), 7, &a.entries[7..], &a.note, &[])
        .unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(held(&store, &a), (10, 10, 10));
    let ours = store.as_owner().unwrap();
    store.verify_log(&ours, a.log).unwrap();
}

#[test]
fn a_page_with_a_wrong_proof_or_other_entries_is_refused_and_nothing_of_it_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let a = author(2, 10);
    let other = author(2, 12); // the same key and log, other entries
    let store = open(dir.path());
    let proof = a.tree.consistency_proof(3, 10).unwrap();
    store
        .commit_prefix(a.log, &received(a.log), 0, &a.entries[..3], &a.note, &proof)
        .unwrap();

    // A proof for other sizes, a proof with a hash changed, a missing proof.
    let wrong = a.tree.consistency_proof(5, 10).unwrap();
    let mut flipped = a.tree.consistency_proof(6, 10).unwrap();
    flipped[0][0] ^= 1;
    for proof in [wrong, flipped, Vec::new()] {
        let refused = store.commit_prefix(
            a.log,
            &received(a.log),
            3,
            &a.entries[3..6],
            &a.note,
            &proof,
        );
        assert!(
            matches!(refused, Err(Error::RootMismatch { .. })),
            "{refused:?}"
        );
        assert_eq!(held(&store, &a), (3, 3, 3), "nothing of the page is stored");
    }
    // Entries that are not the author's at those places, with the proof of
    // the right sizes.
    let proof = a.tree.consistency_proof(6, 10).unwrap();
    let refused = store.commit_prefix(
        a.log,
        &received(a.log),
        3,
        &other.entries[3..6],
        &a.note,
        &proof,
    );
    assert!(
        matches!(refused, Err(Error::RootMismatch { .. })),
        "{refused:?}"
    );
    // Entries that do not start where the replica ends, and more entries
    // than the checkpoint has.
    let refused = store.commit_prefix(
        a.log,
        &received(a.log),
        4,
        &a.entries[4..6],
        &a.note,
        &proof,
    );
    assert!(
        matches!(refused, Err(Error::Gap { held: 3, .. })),
        "{refused:?}"
    );
    let refused = store.commit_prefix(
        a.log,
        &received(a.log),
        3,
        &other.entries[3..12],
        &a.note,
        &[],
    );
    assert!(
        matches!(refused, Err(Error::RootMismatch { .. })),
        "{refused:?}"
    );
    assert_eq!(held(&store, &a), (3, 3, 3));
    let found_other = other.entries[3..]
        .iter()
        .filter(|(_, r)| {
            !store
                .locations(&store.as_owner().unwrap(), &r.id)
                .is_empty()
        })
        .count();
    assert_eq!(found_other, 0, "no refused record is indexed");
    drop(store);

    // Nothing refused reached the disk either; the right page still fits.
    let store = open(dir.path());
    assert_eq!(held(&store, &a), (3, 3, 3));
    let proof = a.tree.consistency_proof(6, 10).unwrap();
    store
        .commit_prefix(
            a.log,
            &received(a.log),
            3,
            &a.entries[3..6],
            &a.note,
            &proof,
        )
        .unwrap();
    assert_eq!(held(&store, &a), (6, 6, 6));
}
