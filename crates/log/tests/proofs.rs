//! Inclusion and consistency proofs for every tree size up to 256, checked
//! against the verifiers and against RFC 9162's recursive definitions, with
//! every kind of tampering the verifiers must catch.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use assure_log::{Blake3, Hash, Hasher, ProofError, Tree, verify_consistency, verify_inclusion};
use proptest::prelude::*;

/// The largest tree size checked exhaustively.
const MAX: u64 = 256;

/// One tree of `MAX` leaves and its root at every size; proofs for smaller
/// trees come from the same tree, as a node proves against old checkpoints.
struct Fixture {
    tree: Tree<Blake3>,
    roots: Vec<Hash>,
}

impl Fixture {
    fn new(len: u64) -> Self {
        let mut tree = Tree::new();
        for i in 0..len {
            tree.append(&i.to_be_bytes());
        }
        let roots = (0..=len).map(|size| tree.root_at(size).unwrap()).collect();
        Self { tree, roots }
    }

    fn root(&self, size: u64) -> Hash {
        self.roots[size as usize]
    }

    fn leaf(&self, index: u64) -> Hash {
        self.tree.leaf_hash(index).unwrap()
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture::new(MAX))
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped
}

/// A bit to flip, spread over all 256 positions as the arguments vary.
fn some_bit(a: u64, b: u64, k: usize) -> usize {
    ((a * 31 + b * 7) as usize + k * 13) % 256
}

fn inclusion(
    f: &Fixture,
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    verify_inclusion::<Blake3>(index, size, leaf, proof, &f.root(size))
}

fn check_inclusion(f: &Fixture, index: u64, size: u64) {
    let proof = f.tree.inclusion_proof(index, size).unwrap();
    let leaf = f.leaf(index);
    let root = f.root(size);
    assert_eq!(
        inclusion(f, index, size, &leaf, &proof),
        Ok(()),
        "PATH({index}, {size})"
    );

    for k in 0..proof.len() {
        let mut wrong = proof.clone();
        wrong[k] = flip(&wrong[k], some_bit(index, size, k));
        let result = inclusion(f, index, size, &leaf, &wrong);
        assert_eq!(
            result,
            Err(ProofError::RootMismatch),
            "PATH({index}, {size}) hash {k}"
        );
    }
    // Another tree size, with that size's true root: an old proof must not
    // pass for a grown tree, nor a new proof for a shrunk one.
    for other in [size - 1, size + 1] {
        if other > index && other <= MAX {
            let result = inclusion(f, index, other, &leaf, &proof);
            assert!(
                result.is_err(),
                "PATH({index}, {size}) passed as size {other}"
            );
        }
    }
    // Another index, still inside the tree.
    for other in [index.wrapping_sub(1), index + 1, index ^ 2] {
        if other < size && other != index {
            let result = verify_inclusion::<Blake3>(other, size, &leaf, &proof, &root);
            assert!(
                result.is_err(),
                "PATH({index}, {size}) passed as index {other}"
            );
        }
    }
    let out_of_range = verify_inclusion::<Blake3>(size, size, &leaf, &proof, &root);
    assert_eq!(
        out_of_range,
        Err(ProofError::IndexOutOfRange { index: size, size })
    );

    let expected = proof.len();
    if let Some((_, shorter)) = proof.split_last() {
        let result = inclusion(f, index, size, &leaf, shorter);
        let wrong_length = ProofError::WrongProofLength {
            expected,
            actual: expected - 1,
        };
        assert_eq!(result, Err(wrong_length), "PATH({index}, {size}) truncated");
    }
    let longer = [&proof[..], &[root]].concat();
    let result = inclusion(f, index, size, &leaf, &longer);
    let wrong_length = ProofError::WrongProofLength {
        expected,
        actual: expected + 1,
    };
    assert_eq!(result, Err(wrong_length), "PATH({index}, {size}) extended");

    let wrong_root = flip(&root, some_bit(size, index, 0));
    let result = verify_inclusion::<Blake3>(index, size, &leaf, &proof, &wrong_root);
    assert_eq!(
        result,
        Err(ProofError::RootMismatch),
        "PATH({index}, {size}) wrong root"
    );
    let wrong_leaf = Blake3::leaf(b"not in the tree");
    let result = inclusion(f, index, size, &wrong_leaf, &proof);
    assert_eq!(
        result,
        Err(ProofError::RootMismatch),
        "PATH({index}, {size}) wrong leaf"
    );
}

fn consistency(f: &Fixture, old: u64, new: u64, proof: &[Hash]) -> Result<(), ProofError> {
    verify_consistency::<Blake3>(old, new, &f.root(old), &f.root(new), proof)
}

fn is_root_mismatch(result: &Result<(), ProofError>) -> bool {
    matches!(
        result,
        Err(ProofError::OldRootMismatch | ProofError::NewRootMismatch)
    )
}

fn check_consistency(f: &Fixture, old: u64, new: u64) {
    let proof = f.tree.consistency_proof(old, new).unwrap();
    assert_eq!(
        consistency(f, old, new, &proof),
        Ok(()),
        "PROOF({old}, {new})"
    );
    if old == 0 || old == new {
        assert!(proof.is_empty());
        return;
    }

    for k in 0..proof.len() {
        let mut wrong = proof.clone();
        wrong[k] = flip(&wrong[k], some_bit(old, new, k));
        let result = consistency(f, old, new, &wrong);
        assert!(
            is_root_mismatch(&result),
            "PROOF({old}, {new}) hash {k}: {result:?}"
        );
    }
    // Other sizes, each with its true root.
    for (other_old, other_new) in [
        (old - 1, new),
        (old + 1, new),
        (old, new - 1),
        (old, new + 1),
    ] {
        if (1..other_new).contains(&other_old) && other_new <= MAX {
            let result = consistency(f, other_old, other_new, &proof);
            assert!(
                result.is_err(),
                "PROOF({old}, {new}) passed as ({other_old}, {other_new})"
            );
        }
    }

    let expected = proof.len();
    let wrong_length = |actual| Err(ProofError::WrongProofLength { expected, actual });
    let truncated = &proof[..expected - 1];
    assert_eq!(
        consistency(f, old, new, truncated),
        wrong_length(expected - 1)
    );
    let extended = [&proof[..], &[f.root(new)]].concat();
    assert_eq!(
        consistency(f, old, new, &extended),
        wrong_length(expected + 1)
    );
    let prepended = [&[f.root(old)], &proof[..]].concat();
    assert_eq!(
        consistency(f, old, new, &prepended),
        wrong_length(expected + 1)
    );

    let (old_root, new_root) = (f.root(old), f.root(new));
    let bit = some_bit(new, old, 0);
    let result = verify_consistency::<Blake3>(old, new, &flip(&old_root, bit), &new_root, &proof);
    assert!(
        is_root_mismatch(&result),
        "PROOF({old}, {new}) wrong old root"
    );
    let result = verify_consistency::<Blake3>(old, new, &old_root, &flip(&new_root, bit), &proof);
    assert_eq!(
        result,
        Err(ProofError::NewRootMismatch),
        "PROOF({old}, {new}) wrong new root"
    );
    let result = verify_consistency::<Blake3>(old, new, &new_root, &old_root, &proof);
    assert!(
        is_root_mismatch(&result),
        "PROOF({old}, {new}) swapped roots"
    );
}

#[test]
fn every_inclusion_proof_up_to_256_verifies_and_resists_tampering() {
    let f = fixture();
    for size in 1..=MAX {
        for index in 0..size {
            check_inclusion(f, index, size);
        }
    }
}

#[test]
fn every_consistency_proof_up_to_256_verifies_and_resists_tampering() {
    let f = fixture();
    for new in 0..=MAX {
        for old in 0..=new {
            check_consistency(f, old, new);
        }
    }
}

#[test]
fn every_single_bit_flip_breaks_small_proofs() {
    let f = fixture();
    for size in 1..=16 {
        for index in 0..size {
            let proof = f.tree.inclusion_proof(index, size).unwrap();
            let leaf = f.leaf(index);
            for k in 0..proof.len() {
                for bit in 0..256 {
                    let mut wrong = proof.clone();
                    wrong[k] = flip(&wrong[k], bit);
                    assert!(inclusion(f, index, size, &leaf, &wrong).is_err());
                }
            }
        }
        for old in 1..size {
            let proof = f.tree.consistency_proof(old, size).unwrap();
            for k in 0..proof.len() {
                for bit in 0..256 {
                    let mut wrong = proof.clone();
                    wrong[k] = flip(&wrong[k], bit);
                    assert!(is_root_mismatch(&consistency(f, old, size, &wrong)));
                }
            }
        }
    }
}

/// `MTH`, `PATH` and `SUBPROOF` exactly as RFC 9162 §2.1 writes them.
mod reference {
    use super::*;

    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    pub(super) fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Blake3::empty(),
            1 => leaves[0],
            n => Blake3::node(&mth(&leaves[..split(n)]), &mth(&leaves[split(n)..])),
        }
    }

    pub(super) fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n == 1 {
            return Vec::new();
        }
        let k = split(n);
        let (mut sub, other) = if m < k {
            (path(m, &leaves[..k]), mth(&leaves[k..]))
        } else {
            (path(m - k, &leaves[k..]), mth(&leaves[..k]))
        };
        sub.push(other);
        sub
    }

    pub(super) fn subproof(m: usize, leaves: &[Hash], known: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if known { Vec::new() } else { vec![mth(leaves)] };
        }
        let k = split(n);
        let (mut sub, other) = if m <= k {
            (subproof(m, &leaves[..k], known), mth(&leaves[k..]))
        } else {
            (subproof(m - k, &leaves[k..], false), mth(&leaves[..k]))
        };
        sub.push(other);
        sub
    }
}

#[test]
fn generated_proofs_match_the_rfc_recursion() {
    let f = fixture();
    let leaves = f.tree.leaf_hashes();
    for n in 1..=70usize {
        assert_eq!(f.root(n as u64), reference::mth(&leaves[..n]));
        for m in 0..n {
            let path = f.tree.inclusion_proof(m as u64, n as u64).unwrap();
            assert_eq!(path, reference::path(m, &leaves[..n]), "PATH({m}, {n})");
            if m > 0 {
                let proof = f.tree.consistency_proof(m as u64, n as u64).unwrap();
                let expected = reference::subproof(m, &leaves[..n], true);
                assert_eq!(proof, expected, "PROOF({m}, {n})");
            }
        }
    }
}

/// A larger tree for random probes beyond the exhaustive range.
fn large() -> &'static Fixture {
    static LARGE: OnceLock<Fixture> = OnceLock::new();
    LARGE.get_or_init(|| Fixture::new(5_000))
}

proptest! {
    #[test]
    fn random_inclusion_proofs_in_a_larger_tree(size in 1..=5_000u64, seed in any::<u64>()) {
        check_inclusion(large(), seed % size, size);
    }

    #[test]
    fn random_consistency_proofs_in_a_larger_tree(new in 1..=5_000u64, seed in any::<u64>()) {
        check_consistency(large(), seed % (new + 1), new);
    }

    #[test]
    fn bulk_and_incremental_trees_agree(len in 0..600usize) {
        let leaves: Vec<Hash> = (0..len as u64).map(|i| Blake3::leaf(&i.to_le_bytes())).collect();
        let bulk = Tree::<Blake3>::from_leaf_hashes(leaves.clone());
        let mut incremental = Tree::<Blake3>::new();
        for leaf in &leaves {
            incremental.push_leaf_hash(*leaf);
        }
        prop_assert_eq!(bulk.root(), incremental.root());
        prop_assert_eq!(bulk.root(), assure_log::root_of::<Blake3>(&leaves));
        prop_assert_eq!(bulk.root(), reference::mth(&leaves));
    }
}
