//! The published RFC 6962 test vectors, run through the same generic code
//! that Assure runs with BLAKE3, with SHA-256 plugged in as the hasher.
//!
//! The data and its sources are in `data.rs`. The corruptions follow
//! `corruptInclusionProof`, `corruptConsistencyProof` and the edge cases of
//! `TestVerifyConsistency` in transparency-dev/merkle's `proof/verify_test.go`.
#![allow(clippy::unwrap_used)]

mod data;

use assure_log::{Hash, Hasher, ProofError, Tree, root_of, verify_consistency, verify_inclusion};
use data::{CONSISTENCY, INCLUSION, LEAF_HASHES, LEAF_INPUTS, ROOTS, SOME_HASH, Sha256};

/// A corrupted proof: what was changed, two sizes, two hashes (leaf and root,
/// or old and new root) and the proof hashes.
type Probe = (&'static str, u64, u64, Hash, Hash, Vec<Hash>);

/// A consistency claim: sizes, roots, proof and the expected verdict.
type Case<'a> = (u64, u64, Hash, Hash, &'a [Hash], Result<(), ProofError>);

fn h(hex: &str) -> Hash {
    hex::decode(hex).unwrap().try_into().unwrap()
}

fn hashes(hexes: &[&str]) -> Vec<Hash> {
    hexes.iter().map(|x| h(x)).collect()
}

fn root(size: u64) -> Hash {
    h(ROOTS[size as usize])
}

fn tree() -> Tree<Sha256> {
    let mut tree = Tree::new();
    for input in LEAF_INPUTS {
        tree.append(&hex::decode(input).unwrap());
    }
    tree
}

#[test]
fn leaf_hashes_match() {
    let tree = tree();
    for (index, expected) in LEAF_HASHES.iter().enumerate() {
        assert_eq!(
            tree.leaf_hash(index as u64),
            Some(h(expected)),
            "leaf {index}"
        );
    }
}

#[test]
fn roots_match_for_every_size() {
    assert_eq!(Sha256::empty(), root(0));
    let leaf_hashes = hashes(&LEAF_HASHES);
    let mut incremental = Tree::<Sha256>::new();
    assert_eq!(incremental.root(), root(0));
    for size in 1..=8u64 {
        incremental.append(&hex::decode(LEAF_INPUTS[size as usize - 1]).unwrap());
        assert_eq!(incremental.root(), root(size), "append to {size}");
        assert_eq!(root_of::<Sha256>(&leaf_hashes[..size as usize]), root(size));
    }
    let bulk = Tree::<Sha256>::from_leaf_hashes(leaf_hashes);
    for size in 0..=8 {
        assert_eq!(bulk.root_at(size), Ok(root(size)), "root_at({size})");
    }
}

#[test]
fn inclusion_proofs_match_and_verify() {
    let tree = tree();
    for (index, size, expected) in INCLUSION {
        let proof = tree.inclusion_proof(index, size).unwrap();
        assert_eq!(proof, hashes(expected), "PATH({index}, {size})");
        let leaf = tree.leaf_hash(index).unwrap();
        assert_eq!(
            verify_inclusion::<Sha256>(index, size, &leaf, &proof, &root(size)),
            Ok(())
        );
        assert_corrupt_inclusion_fails(index, size, &leaf, &proof);
    }
}

/// Upstream's `corruptInclusionProof`, minus the probes of hashes that are not
/// 32 bytes, which `Hash` cannot express.
fn assert_corrupt_inclusion_fails(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) {
    let root = root(size);
    let some = h(SOME_HASH);
    let mut probes: Vec<Probe> = vec![
        (
            "index - 1",
            index.wrapping_sub(1),
            size,
            *leaf,
            root,
            proof.to_vec(),
        ),
        ("index + 1", index + 1, size, *leaf, root, proof.to_vec()),
        ("index ^ 2", index ^ 2, size, *leaf, root, proof.to_vec()),
        ("size * 2", index, size * 2, *leaf, root, proof.to_vec()),
        ("size / 2", index, size / 2, *leaf, root, proof.to_vec()),
        ("wrong leaf", index, size, some, root, proof.to_vec()),
        (
            "empty root",
            index,
            size,
            *leaf,
            Sha256::empty(),
            proof.to_vec(),
        ),
        ("random root", index, size, *leaf, some, proof.to_vec()),
        (
            "trailing root",
            index,
            size,
            *leaf,
            root,
            [proof, &[root]].concat(),
        ),
        (
            "preceding root",
            index,
            size,
            *leaf,
            root,
            [&[root], proof].concat(),
        ),
    ];
    for i in 0..proof.len() {
        let mut wrong = proof.to_vec();
        wrong[i][0] ^= 8;
        probes.push(("modified proof bit 3", index, size, *leaf, root, wrong));
    }
    if let Some((_, shorter)) = proof.split_last() {
        probes.push((
            "removed component",
            index,
            size,
            *leaf,
            root,
            shorter.to_vec(),
        ));
    }
    if proof.len() > 1 {
        let inserted = [&[proof[0], some], &proof[1..]].concat();
        probes.push(("inserted component", index, size, *leaf, root, inserted));
    }
    for (what, index, size, leaf, root, proof) in probes {
        let result = verify_inclusion::<Sha256>(index, size, &leaf, &proof, &root);
        assert!(result.is_err(), "{what} verified for PATH({index}, {size})");
    }
}

#[test]
fn consistency_proofs_match_and_verify() {
    let tree = tree();
    for (old, new, expected) in CONSISTENCY {
        let proof = tree.consistency_proof(old, new).unwrap();
        assert_eq!(proof, hashes(expected), "PROOF({old}, {new})");
        assert_eq!(
            verify_consistency::<Sha256>(old, new, &root(old), &root(new), &proof),
            Ok(())
        );
        if !proof.is_empty() {
            assert_corrupt_consistency_fails(old, new, &proof);
        }
    }
}

/// Upstream's `corruptConsistencyProof`, minus the probes of hashes that are
/// not 32 bytes.
fn assert_corrupt_consistency_fails(old: u64, new: u64, proof: &[Hash]) {
    let (old_root, new_root) = (root(old), root(new));
    let wrong_root = h(SOME_HASH);
    let mut probes: Vec<Probe> = vec![
        ("old - 1", old - 1, new, old_root, new_root, proof.to_vec()),
        ("old + 1", old + 1, new, old_root, new_root, proof.to_vec()),
        ("old ^ 2", old ^ 2, new, old_root, new_root, proof.to_vec()),
        ("new * 2", old, new * 2, old_root, new_root, proof.to_vec()),
        ("new / 2", old, new / 2, old_root, new_root, proof.to_vec()),
        (
            "wrong old root",
            old,
            new,
            wrong_root,
            new_root,
            proof.to_vec(),
        ),
        (
            "wrong new root",
            old,
            new,
            old_root,
            wrong_root,
            proof.to_vec(),
        ),
        (
            "swapped roots",
            old,
            new,
            new_root,
            old_root,
            proof.to_vec(),
        ),
        ("empty proof", old, new, old_root, new_root, Vec::new()),
        (
            "trailing old root",
            old,
            new,
            old_root,
            new_root,
            [proof, &[old_root]].concat(),
        ),
        (
            "trailing new root",
            old,
            new,
            old_root,
            new_root,
            [proof, &[new_root]].concat(),
        ),
        (
            "preceding old root",
            old,
            new,
            old_root,
            new_root,
            [&[old_root], proof].concat(),
        ),
        (
            "preceding new root",
            old,
            new,
            old_root,
            new_root,
            [&[new_root], proof].concat(),
        ),
        (
            "preceding proof[0]",
            old,
            new,
            old_root,
            new_root,
            [&proof[..1], proof].concat(),
        ),
        (
            "truncated",
            old,
            new,
            old_root,
            new_root,
            proof[..proof.len() - 1].to_vec(),
        ),
    ];
    for i in 0..proof.len() {
        let mut wrong = proof.to_vec();
        wrong[i][0] ^= 16;
        probes.push(("modified proof bit 4", old, new, old_root, new_root, wrong));
    }
    for (what, old, new, old_root, new_root, proof) in probes {
        let result = verify_consistency::<Sha256>(old, new, &old_root, &new_root, &proof);
        assert!(result.is_err(), "{what} verified for PROOF({old}, {new})");
    }
}

#[test]
fn degenerate_inclusion_claims_fail() {
    let (some, empty) = (h(SOME_HASH), Sha256::empty());
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert_eq!(
            verify_inclusion::<Sha256>(index, size, &some, &[], &empty),
            Err(ProofError::IndexOutOfRange { index, size })
        );
    }
    assert_eq!(
        verify_inclusion::<Sha256>(0, 1, &some, &[], &empty),
        Err(ProofError::RootMismatch)
    );
    let leaf = Sha256::leaf(b"data");
    assert_eq!(verify_inclusion::<Sha256>(0, 1, &leaf, &[], &leaf), Ok(()));
}

/// Upstream's `TestVerifyConsistency` table, with one deliberate difference:
/// we also require the old root of an empty tree to be `H("")`.
#[test]
fn degenerate_consistency_claims() {
    let (some, empty) = (h(SOME_HASH), Sha256::empty());
    let cases: [Case<'_>; 12] = [
        (
            0,
            0,
            empty,
            some,
            &[],
            Err(ProofError::SameSizeRootsDiffer { size: 0 }),
        ),
        (
            1,
            1,
            some,
            empty,
            &[],
            Err(ProofError::SameSizeRootsDiffer { size: 1 }),
        ),
        (0, 0, empty, empty, &[], Ok(())),
        (0, 1, empty, some, &[], Ok(())),
        (1, 1, some, some, &[], Ok(())),
        (0, 1, some, some, &[], Err(ProofError::OldRootMismatch)),
        (
            1,
            0,
            some,
            some,
            &[],
            Err(ProofError::SizesReversed {
                old_size: 1,
                new_size: 0,
            }),
        ),
        (
            2,
            1,
            some,
            some,
            &[],
            Err(ProofError::SizesReversed {
                old_size: 2,
                new_size: 1,
            }),
        ),
        (
            1,
            2,
            some,
            empty,
            &[],
            Err(ProofError::WrongProofLength {
                expected: 1,
                actual: 0,
            }),
        ),
        (
            0,
            0,
            empty,
            empty,
            &[empty],
            Err(ProofError::WrongProofLength {
                expected: 0,
                actual: 1,
            }),
        ),
        (
            0,
            1,
            empty,
            empty,
            &[empty],
            Err(ProofError::WrongProofLength {
                expected: 0,
                actual: 1,
            }),
        ),
        (
            1,
            1,
            empty,
            empty,
            &[empty],
            Err(ProofError::WrongProofLength {
                expected: 0,
                actual: 1,
            }),
        ),
    ];
    for (old, new, old_root, new_root, proof, expected) in cases {
        let result = verify_consistency::<Sha256>(old, new, &old_root, &new_root, proof);
        assert_eq!(result, expected, "PROOF({old}, {new})");
    }
}
