//! The hash function behind a Merkle tree, with RFC 9162 domain separation.

/// A 32-byte node, leaf or root hash.
pub type Hash = [u8; 32];

/// The three hashes of an RFC 9162 §2.1.1 Merkle tree.
///
/// Implementors supply only the hash function; the prefixes are part of the
/// contract: `leaf(d) = H(0x00 || d)`, `node(l, r) = H(0x01 || l || r)` and
/// `empty() = H("")`. The unit struct carries no state, so every method is an
/// associated function and trees are generic over the type alone.
pub trait Hasher {
    /// The root of the empty tree, `H("")`.
    fn empty() -> Hash;

    /// The hash of a leaf holding `data`, `H(0x00 || data)`.
    fn leaf(data: &[u8]) -> Hash;

    /// The hash of an interior node, `H(0x01 || left || right)`.
    fn node(left: &Hash, right: &Hash) -> Hash;
}

/// The hasher Assure's logs use: BLAKE3 with RFC 9162's prefixes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Blake3;

impl Hasher for Blake3 {
    fn empty() -> Hash {
        blake3::hash(b"").into()
    }

    fn leaf(data: &[u8]) -> Hash {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&[0x00]);
        hasher.update(data);
        hasher.finalize().into()
    }

    fn node(left: &Hash, right: &Hash) -> Hash {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&[0x01]);
        hasher.update(left);
        hasher.update(right);
        hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        let (l, r) = ([1u8; 32], [2u8; 32]);
        let mut concatenated = Vec::new();
        concatenated.extend_from_slice(&l);
        concatenated.extend_from_slice(&r);
        assert_ne!(Blake3::leaf(&concatenated), Blake3::node(&l, &r));
        assert_ne!(Blake3::leaf(b""), Blake3::empty());
    }

    #[test]
    fn blake3_matches_the_one_shot_function() {
        assert_eq!(Blake3::empty(), *blake3::hash(b"").as_bytes());
        assert_eq!(Blake3::leaf(b"abc"), *blake3::hash(b"\x00abc").as_bytes());
        let mut input = vec![0x01];
        input.extend_from_slice(&[3u8; 32]);
        input.extend_from_slice(&[4u8; 32]);
        assert_eq!(
            Blake3::node(&[3u8; 32], &[4u8; 32]),
            *blake3::hash(&input).as_bytes()
        );
    }
}
