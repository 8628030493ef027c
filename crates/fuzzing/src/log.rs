//! Checkpoints, signed notes and Merkle proofs (`assure-log`).

use assure_log::{
    Blake3, Checkpoint, Hash, SignedCheckpoint, Tree, verify_consistency, verify_inclusion,
};

use crate::{key, text};

/// A checkpoint body. One that parses formats back byte for byte.
pub fn checkpoint(data: &[u8]) {
    let Some(body) = text(data) else { return };
    if let Ok(checkpoint) = Checkpoint::parse_body(body) {
        assert_eq!(
            checkpoint.body(),
            body,
            "parse then format changed the body"
        );
    }
}

/// A signed note. One that parses formats back byte for byte, and verifies
/// under [`key`] only if it carries a signature by that name.
pub fn note(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(note) = SignedCheckpoint::parse(text) {
        assert_eq!(note.to_text(), text, "parse then format changed the note");
        let name = key().did().to_string();
        if note
            .verify(&name, &key().signing_key().verifying_key())
            .is_ok()
        {
            assert!(note.signed_by(&name));
        }
    }
}

/// Proof verification with arbitrary sizes, indexes, roots and paths, laid
/// out as: one byte for the size of an honest tree, two u64 `a` and `b`
/// (big-endian), then 32-byte hashes `first`, `second` and the path. The
/// arbitrary calls must not panic. Against the honest tree, leaf `a % size`
/// and old size `a % size + 1`, the proofs the tree generates verify and
/// the path verifies only if it is that proof.
pub fn proof(data: &[u8]) {
    let Some((&leaves, rest)) = data.split_first() else {
        return;
    };
    let (a, rest) = u64_at(rest);
    let (b, rest) = u64_at(rest);
    let hashes: Vec<Hash> = rest
        .chunks_exact(32)
        .map(|c| <Hash>::try_from(c).unwrap_or_default())
        .collect();
    let (first, second, path) = match hashes.as_slice() {
        [first, second, path @ ..] => (*first, *second, path),
        [first] => (*first, [0; 32], &[][..]),
        [] => ([0; 32], [0; 32], &[][..]),
    };
    let _ = verify_inclusion::<Blake3>(a, b, &first, path, &second);
    let _ = verify_consistency::<Blake3>(a, b, &first, &second, path);

    let tree = honest_tree(leaves);
    let (size, root) = (tree.len(), tree.root());
    let index = a % size;
    let leaf = tree.leaf_hash(index).unwrap_or_default();
    let honest = tree.inclusion_proof(index, size).unwrap_or_default();
    assert_eq!(
        verify_inclusion::<Blake3>(index, size, &leaf, &honest, &root),
        Ok(())
    );
    if verify_inclusion::<Blake3>(index, size, &leaf, path, &root).is_ok() {
        assert_eq!(path, honest.as_slice(), "a forged inclusion proof verified");
    }
    let old = index + 1;
    let old_root = tree.root_at(old).unwrap_or_default();
    let honest = tree.consistency_proof(old, size).unwrap_or_default();
    assert_eq!(
        verify_consistency::<Blake3>(old, size, &old_root, &root, &honest),
        Ok(())
    );
    if verify_consistency::<Blake3>(old, size, &old_root, &root, path).is_ok() {
        assert_eq!(
            path,
            honest.as_slice(),
            "a forged consistency proof verified"
        );
    }
}

/// The tree [`proof`] checks against: `leaves % 64 + 1` leaves, leaf `n`
/// holding `n` as a big-endian u64.
pub(crate) fn honest_tree(leaves: u8) -> Tree<Blake3> {
    let mut tree = Tree::new();
    for n in 0..=u64::from(leaves % 64) {
        tree.append(&n.to_be_bytes());
    }
    tree
}

fn u64_at(data: &[u8]) -> (u64, &[u8]) {
    let mut bytes = [0; 8];
    let n = data.len().min(8);
    bytes[..n].copy_from_slice(&data[..n]);
    (u64::from_be_bytes(bytes), &data[n..])
}
