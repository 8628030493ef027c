//! An append-only Merkle tree (RFC 9162 §2.1) and the proofs it can produce.

use std::fmt;
use std::marker::PhantomData;

use crate::hasher::{Blake3, Hash, Hasher};

/// Why a tree could not answer a request for a root or a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The requested tree size is larger than the number of leaves held.
    #[error("tree size {size} exceeds the {len} leaves held")]
    SizeBeyondTree {
        /// The size that was asked for.
        size: u64,
        /// The number of leaves the tree holds.
        len: u64,
    },
    /// The leaf index is not below the tree size it should be proved in.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index that was asked for.
        index: u64,
        /// The tree size the proof was asked against.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old size {old_size} exceeds new size {new_size}")]
    SizesReversed {
        /// The size of the older tree.
        old_size: u64,
        /// The size of the newer tree.
        new_size: u64,
    },
}

/// An append-only Merkle tree over leaf hashes.
///
/// The tree keeps every complete perfect subtree: `levels[k][i]` is the root of
/// the subtree over leaves `i·2^k .. (i+1)·2^k`, and `levels[0]` are the leaf
/// hashes. That costs about twice the memory of the leaf hashes alone and buys
/// amortised O(1) appends, O(log n) roots at any size ≤ [`len`](Self::len),
/// and O(log² n) inclusion and consistency proofs against any such size, so a
/// node can still prove statements about the checkpoints it signed earlier.
pub struct Tree<H = Blake3> {
    /// Perfect subtree roots by height; never empty (`levels[0]` always exists).
    levels: Vec<Vec<Hash>>,
    hasher: PhantomData<fn() -> H>,
}

impl<H: Hasher> Tree<H> {
    /// An empty tree.
    pub fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
            hasher: PhantomData,
        }
    }

    /// A tree over the given leaf hashes, in order. Runs in O(n).
    pub fn from_leaf_hashes(leaf_hashes: Vec<Hash>) -> Self {
        let mut levels = vec![leaf_hashes];
        while let Some(below) = levels.last().filter(|level| level.len() >= 2) {
            let above = below
                .chunks_exact(2)
                .map(|pair| H::node(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self {
            levels,
            hasher: PhantomData,
        }
    }

    /// Appends a leaf by its hash and returns the new leaf's index.
    pub fn push_leaf_hash(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.len();
        self.levels[0].push(leaf_hash);
        let mut height = 0;
        // A level with an even number of entries has just completed a pair,
        // whose parent belongs one level up.
        while self.levels[height].len().is_multiple_of(2) {
            let level = &self.levels[height];
            let parent = H::node(&level[level.len() - 2], &level[level.len() - 1]);
            if self.levels.len() == height + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[height + 1].push(parent);
            height += 1;
        }
        index
    }

    /// Appends a leaf holding `data` and returns the new leaf's index.
    pub fn append(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(H::leaf(data))
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        // usize is at most 64 bits on every supported target.
        self.leaf_hashes().len() as u64
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.leaf_hashes().is_empty()
    }

    /// The hash of leaf `index`, if the tree has that many leaves.
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.leaf_hashes().get(index).copied()
    }

    /// All leaf hashes, in order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The root of the whole tree, in O(log n).
    pub fn root(&self) -> Hash {
        self.root_of_prefix(self.leaf_hashes().len())
    }

    /// The root the tree had when it held `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        let size = self.check_size(size)?;
        Ok(self.root_of_prefix(size))
    }

    /// Drops every leaf from `size` on, so that the tree is again the one it
    /// was at `size` (a tree shorter than `size` is left as it is). A caller
    /// that appended to a tree in place undoes the append with it when what
    /// it appended is refused.
    pub fn truncate(&mut self, size: u64) {
        let Ok(size) = usize::try_from(size) else {
            return;
        };
        // `levels[k][i]` covers leaves `i·2^k .. (i+1)·2^k`: it survives
        // exactly when that range ends at or before `size`.
        for (height, level) in self.levels.iter_mut().enumerate() {
            level.truncate(size >> height);
        }
        while self.levels.len() > 1 && self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
    }

    /// The inclusion proof of leaf `index` in the tree of size `size`, per
    /// RFC 9162 §2.1.3.1 (`PATH`): sibling hashes from the leaf upwards.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        let n = self.check_size(size)?;
        let mut m = usize::try_from(index)
            .ok()
            .filter(|m| *m < n)
            .ok_or(TreeError::IndexOutOfRange { index, size })?;
        let (mut start, mut n) = (0, n);
        // PATH recurses into the half holding the leaf and appends the hash of
        // the other half after the deeper path; walk down and reverse.
        let mut path = Vec::new();
        while n > 1 {
            let k = split_point(n);
            if m < k {
                path.push(self.subtree_hash(start + k, n - k));
                n = k;
            } else {
                path.push(self.subtree_hash(start, k));
                (start, m, n) = (start + k, m - k, n - k);
            }
        }
        path.reverse();
        Ok(path)
    }

    /// The consistency proof from the tree of size `old_size` to the tree of
    /// size `new_size`, per RFC 9162 §2.1.4.1 (`PROOF`/`SUBPROOF`).
    ///
    /// The proof is empty when `old_size` is 0 or equals `new_size`, matching
    /// what [`verify_consistency`](crate::verify_consistency) accepts.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, TreeError> {
        let n = self.check_size(new_size)?;
        if old_size > new_size {
            return Err(TreeError::SizesReversed { old_size, new_size });
        }
        // old_size <= new_size, which fits in usize.
        let m = old_size as usize;
        if m == 0 || m == n {
            return Ok(Vec::new());
        }
        Ok(self.subproof(m, n))
    }

    /// `SUBPROOF(m, D[0:n], true)` for `0 < m < n <= len`.
    fn subproof(&self, m: usize, n: usize) -> Vec<Hash> {
        let (mut start, mut m, mut n) = (0, m, n);
        // Whether the current subtree's root is the old root, which the
        // verifier already knows (SUBPROOF's `b`).
        let mut known = true;
        let mut proof = Vec::new();
        while m != n {
            let k = split_point(n);
            if m <= k {
                proof.push(self.subtree_hash(start + k, n - k));
                n = k;
            } else {
                proof.push(self.subtree_hash(start, k));
                (start, m, n) = (start + k, m - k, n - k);
                known = false;
            }
        }
        if !known {
            proof.push(self.subtree_hash(start, n));
        }
        proof.reverse();
        proof
    }

    /// Converts `size` to an index bound, refusing sizes beyond the tree.
    fn check_size(&self, size: u64) -> Result<usize, TreeError> {
        usize::try_from(size)
            .ok()
            .filter(|size| *size <= self.leaf_hashes().len())
            .ok_or(TreeError::SizeBeyondTree {
                size,
                len: self.len(),
            })
    }

    /// `MTH(D[0:size])` for `size <= len`.
    fn root_of_prefix(&self, size: usize) -> Hash {
        if size == 0 {
            return H::empty();
        }
        self.subtree_hash(0, size)
    }

    /// `MTH(D[start:start+n])` for `n >= 1` and `start + n <= len`, where
    /// `start` is a multiple of the smallest power of two `>= n`.
    ///
    /// Every range RFC 9162's recursions visit has that alignment: the whole
    /// tree starts at 0, and splitting an aligned range at its largest power of
    /// two `k < n` yields two aligned ranges. Such a range is a run of perfect
    /// subtrees of decreasing size (one per set bit of `n`), all stored in
    /// `levels`; the RFC's root folds them from the right.
    fn subtree_hash(&self, start: usize, n: usize) -> Hash {
        debug_assert!(n >= 1 && start.is_multiple_of(n.next_power_of_two()));
        let mut end = start + n;
        let mut acc: Option<Hash> = None;
        for height in 0..usize::BITS as usize {
            let width = 1usize << height;
            if n & width == 0 {
                continue;
            }
            end -= width;
            let subtree = self.levels[height][end >> height];
            acc = Some(match acc {
                None => subtree,
                Some(right) => H::node(&subtree, &right),
            });
            if end == start {
                break;
            }
        }
        // n >= 1 has at least one set bit, so the loop assigned `acc`.
        acc.unwrap_or_else(H::empty)
    }
}

/// The largest power of two strictly below `n`, for `n >= 2` (RFC 9162's `k`).
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root of the tree over `leaf_hashes`, in O(n) time and O(log n) space.
pub fn root_of<H: Hasher>(leaf_hashes: &[Hash]) -> Hash {
    // Perfect subtree roots of strictly decreasing size, left to right.
    let mut frontier: Vec<Hash> = Vec::new();
    for (count, leaf) in (1usize..).zip(leaf_hashes) {
        let mut hash = *leaf;
        // The count's trailing zeros say how many pairs this leaf completes.
        for _ in 0..count.trailing_zeros() {
            if let Some(left) = frontier.pop() {
                hash = H::node(&left, &hash);
            }
        }
        frontier.push(hash);
    }
    let mut roots = frontier.into_iter().rev();
    match roots.next() {
        None => H::empty(),
        Some(last) => roots.fold(last, |right, left| H::node(&left, &right)),
    }
}

impl<H: Hasher> Default for Tree<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> Clone for Tree<H> {
    fn clone(&self) -> Self {
        Self {
            levels: self.levels.clone(),
            hasher: PhantomData,
        }
    }
}

impl<H> fmt::Debug for Tree<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.levels.first().map_or(0, Vec::len);
        f.debug_struct("Tree")
            .field("len", &len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MTH` exactly as RFC 9162 §2.1.1 writes it.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Blake3::empty(),
            1 => leaves[0],
            n => {
                let k = split_point(n);
                Blake3::node(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| Blake3::leaf(&i.to_be_bytes())).collect()
    }

    #[test]
    fn split_point_is_the_largest_power_of_two_below() {
        let expected = [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512)];
        for (n, k) in expected {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn incremental_roots_match_the_recursive_definition() {
        let all = leaves(70);
        let mut tree = Tree::<Blake3>::new();
        assert_eq!(tree.root(), Blake3::empty());
        for (i, leaf) in all.iter().enumerate() {
            assert_eq!(tree.push_leaf_hash(*leaf), i as u64);
            let expected = reference_root(&all[..=i]);
            assert_eq!(tree.root(), expected, "size {}", i + 1);
            assert_eq!(root_of::<Blake3>(&all[..=i]), expected, "size {}", i + 1);
        }
    }

    #[test]
    fn bulk_construction_matches_appends() {
        let all = leaves(37);
        let bulk = Tree::<Blake3>::from_leaf_hashes(all.clone());
        let mut appended = Tree::<Blake3>::new();
        for leaf in &all {
            appended.push_leaf_hash(*leaf);
        }
        assert_eq!(bulk.levels, appended.levels);
        for size in 0..=37 {
            assert_eq!(
                bulk.root_at(size),
                Ok(reference_root(&all[..size as usize]))
            );
        }
    }

    #[test]
    fn append_hashes_the_data_as_a_leaf() {
        let mut tree = Tree::<Blake3>::default();
        assert!(tree.is_empty());
        assert_eq!(tree.append(b"first"), 0);
        assert_eq!(tree.append(b"second"), 1);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree.leaf_hash(1), Some(Blake3::leaf(b"second")));
        assert_eq!(tree.leaf_hash(2), None);
        assert_eq!(tree.leaf_hash(u64::MAX), None);
    }

    #[test]
    fn requests_beyond_the_tree_are_refused() {
        let tree = Tree::<Blake3>::from_leaf_hashes(leaves(5));
        assert_eq!(
            tree.root_at(6),
            Err(TreeError::SizeBeyondTree { size: 6, len: 5 })
        );
        assert_eq!(
            tree.inclusion_proof(0, 6),
            Err(TreeError::SizeBeyondTree { size: 6, len: 5 })
        );
        assert_eq!(
            tree.inclusion_proof(3, 3),
            Err(TreeError::IndexOutOfRange { index: 3, size: 3 })
        );
        assert_eq!(
            tree.consistency_proof(4, 3),
            Err(TreeError::SizesReversed {
                old_size: 4,
                new_size: 3
            })
        );
        assert_eq!(
            tree.consistency_proof(1, 9),
            Err(TreeError::SizeBeyondTree { size: 9, len: 5 })
        );
    }

    #[test]
    fn trivial_consistency_proofs_are_empty() {
        let tree = Tree::<Blake3>::from_leaf_hashes(leaves(5));
        assert_eq!(tree.consistency_proof(0, 5), Ok(Vec::new()));
        assert_eq!(tree.consistency_proof(3, 3), Ok(Vec::new()));
        assert_eq!(tree.consistency_proof(0, 0), Ok(Vec::new()));
    }

    #[test]
    fn debug_shows_the_size_only() {
        let tree = Tree::<Blake3>::from_leaf_hashes(leaves(3));
        assert_eq!(format!("{tree:?}"), "Tree { len: 3, .. }");
    }

    proptest::proptest! {
        #[test]
        fn truncating_gives_back_the_tree_of_that_size(n in 0u32..300, cut in 0u32..320, more in 0u32..40) {
            let all = leaves(n);
            let mut tree = Tree::<Blake3>::from_leaf_hashes(all.clone());
            tree.truncate(u64::from(cut));
            let kept = cut.min(n) as usize;
            let expected = Tree::<Blake3>::from_leaf_hashes(all[..kept].to_vec());
            proptest::prop_assert_eq!(&tree.levels, &expected.levels);
            // It grows again like any tree.
            let mut grown = expected;
            for leaf in leaves(more) {
                tree.push_leaf_hash(leaf);
                grown.push_leaf_hash(leaf);
            }
            proptest::prop_assert_eq!(tree.levels, grown.levels);
        }
    }
}
