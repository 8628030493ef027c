//! Verification of inclusion and consistency proofs, per RFC 9162 §2.1.3.2
//! and §2.1.4.2.
//!
//! The bit-twiddling loops are the RFC's, step for step. Before running them
//! each verifier checks that the proof has exactly the length the tree sizes
//! call for (computed as in transparency-dev/merkle's `decompInclProof`), so
//! that a short or padded proof is named as such rather than as a mismatch.

use crate::hasher::{Hash, Hasher};

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The old tree size exceeds the new tree size.
    #[error("old size {old_size} exceeds new size {new_size}")]
    SizesReversed {
        /// The claimed size of the older tree.
        old_size: u64,
        /// The claimed size of the newer tree.
        new_size: u64,
    },
    /// The proof does not have the number of hashes the sizes call for.
    #[error("proof has {actual} hashes where {expected} are needed")]
    WrongProofLength {
        /// The number of hashes the sizes call for.
        expected: usize,
        /// The number of hashes the proof has.
        actual: usize,
    },
    /// The root computed from an inclusion proof differs from the given root.
    #[error("inclusion proof leads to a different root")]
    RootMismatch,
    /// The old root computed from a consistency proof differs from the given one.
    #[error("consistency proof leads to a different old root")]
    OldRootMismatch,
    /// The new root computed from a consistency proof differs from the given one.
    #[error("consistency proof leads to a different new root")]
    NewRootMismatch,
    /// Two roots claimed for the same tree size differ: the log equivocated,
    /// or one of the roots is not the log's.
    #[error("two different roots for tree size {size}")]
    SameSizeRootsDiffer {
        /// The tree size both roots claim.
        size: u64,
    },
}

/// Checks that `leaf_hash` is leaf `leaf_index` of the tree of size
/// `tree_size` whose root is `root`, per RFC 9162 §2.1.3.2.
///
/// Take `tree_size` and `root` from the same signed checkpoint: a proof is
/// only bound to the pair. (For most sizes, a proof for size `n` also passes
/// as size `n + 1` against the *same* root, since both trees would hash the
/// path alike; it never passes against the true root of another size.)
pub fn verify_inclusion<H: Hasher>(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    let expected = inclusion_len(leaf_index, tree_size);
    let wrong_length = ProofError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let (mut f_n, mut s_n) = (leaf_index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = H::node(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = H::node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of size `new_size` with root `new_root` extends the
/// tree of size `old_size` with root `old_root`, per RFC 9162 §2.1.4.2.
///
/// RFC 9162 only defines `0 < old_size < new_size`. At the edges this
/// function follows transparency-dev/merkle and adds one check:
///
/// - `old_size == new_size`: the proof must be empty and the roots equal
///   (otherwise [`ProofError::SameSizeRootsDiffer`]).
/// - `old_size == 0`: every tree extends the empty tree, so the proof must be
///   empty; `old_root` must also be the empty tree's root `H("")`, so that a
///   bogus old checkpoint of size 0 is not silently accepted.
pub fn verify_consistency<H: Hasher>(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesReversed { old_size, new_size });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        if old_size == 0 && *old_root != H::empty() {
            return Err(ProofError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::SameSizeRootsDiffer { size: new_size });
        }
        return Ok(());
    }
    let expected = consistency_len(old_size, new_size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let (old, new) = consistency_roots::<H>(old_size, new_size, old_root, proof)?;
    if old != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if new != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

/// Steps 2 to 6 of RFC 9162 §2.1.4.2 for `0 < m < n`: the old and new roots
/// the proof leads to. `proof` has the expected, non-zero length.
fn consistency_roots<H: Hasher>(
    m: u64,
    n: u64,
    old_root: &Hash,
    proof: &[Hash],
) -> Result<(Hash, Hash), ProofError> {
    let wrong_length = ProofError::WrongProofLength {
        expected: consistency_len(m, n),
        actual: proof.len(),
    };
    // Step 2: if m is a power of two, the proof starts with the old root.
    let (seed, rest) = if m.is_power_of_two() {
        (old_root, proof)
    } else {
        proof.split_first().ok_or(wrong_length.clone())?
    };
    let (mut f_n, mut s_n) = (m - 1, n - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = H::node(c, &fr);
            sr = H::node(c, &sr);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            sr = H::node(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    Ok((fr, sr))
}

/// The length of an inclusion proof for leaf `index < size`: the levels where
/// the leaf's path and the tree's right edge differ (`inner`), plus the
/// perfect left subtrees above them (`border`).
fn inclusion_len(index: u64, size: u64) -> usize {
    let (inner, border) = decompose(index, size - 1);
    inner + border
}

/// The length of a consistency proof for `0 < m < n`.
fn consistency_len(m: u64, n: u64) -> usize {
    // The old tree's rightmost perfect subtree has height `shift`; the proof
    // is the inclusion proof of that subtree's root, preceded by the root
    // itself unless it is the whole old tree.
    let shift = m.trailing_zeros();
    let (inner, border) = decompose((m - 1) >> shift, (n - 1) >> shift);
    let seed = usize::from(!m.is_power_of_two());
    seed + inner + border
}

/// Splits the path from leaf `index` to the root of the tree whose last leaf
/// is `last` into `(inner, border)` lengths.
fn decompose(index: u64, last: u64) -> (usize, usize) {
    let inner = u64::BITS - (index ^ last).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Blake3, Tree};

    #[test]
    fn proof_lengths_match_the_generated_proofs() {
        let mut tree = Tree::<Blake3>::new();
        for i in 0u32..40 {
            tree.append(&i.to_le_bytes());
        }
        for n in 1..=40 {
            for m in 0..n {
                let path = tree.inclusion_proof(m, n).unwrap();
                assert_eq!(path.len(), inclusion_len(m, n), "PATH({m}, {n})");
                if m > 0 {
                    let proof = tree.consistency_proof(m, n).unwrap();
                    assert_eq!(proof.len(), consistency_len(m, n), "PROOF({m}, {n})");
                }
            }
        }
    }

    #[test]
    fn lengths_do_not_overflow_at_the_largest_sizes() {
        assert_eq!(inclusion_len(0, u64::MAX), 64);
        assert_eq!(inclusion_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(inclusion_len(1 << 63, (1 << 63) + 1), 1);
        assert_eq!(consistency_len(1, u64::MAX), 64);
        assert_eq!(consistency_len(u64::MAX - 1, u64::MAX), 64);
    }

    #[test]
    fn huge_claims_are_rejected_without_panicking() {
        let h = Blake3::leaf(b"x");
        let inclusion = verify_inclusion::<Blake3>(u64::MAX - 1, u64::MAX, &h, &[h; 63], &h);
        assert_eq!(inclusion, Err(ProofError::RootMismatch));
        let inclusion = verify_inclusion::<Blake3>(0, u64::MAX, &h, &[h; 64], &h);
        assert_eq!(inclusion, Err(ProofError::RootMismatch));
        assert_eq!(consistency_len(3, u64::MAX), 65);
        let consistency = verify_consistency::<Blake3>(3, u64::MAX, &h, &h, &[h; 65]);
        assert_eq!(consistency, Err(ProofError::OldRootMismatch));
    }

    #[test]
    fn edge_sizes_of_consistency() {
        let empty = Blake3::empty();
        let root = Blake3::leaf(b"a");
        assert_eq!(
            verify_consistency::<Blake3>(0, 0, &empty, &empty, &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency::<Blake3>(0, 5, &empty, &root, &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency::<Blake3>(0, 5, &root, &root, &[]),
            Err(ProofError::OldRootMismatch)
        );
        assert_eq!(
            verify_consistency::<Blake3>(0, 5, &empty, &root, &[root]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                actual: 1
            })
        );
        assert_eq!(
            verify_consistency::<Blake3>(4, 4, &root, &root, &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency::<Blake3>(4, 4, &root, &empty, &[]),
            Err(ProofError::SameSizeRootsDiffer { size: 4 })
        );
        assert_eq!(
            verify_consistency::<Blake3>(5, 4, &root, &root, &[]),
            Err(ProofError::SizesReversed {
                old_size: 5,
                new_size: 4
            })
        );
        assert_eq!(
            verify_consistency::<Blake3>(1, 2, &root, &root, &[]),
            Err(ProofError::WrongProofLength {
                expected: 1,
                actual: 0
            })
        );
    }
}
