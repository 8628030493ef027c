//! Assure's append-only logs: Merkle trees shaped as in RFC 9162 §2.1, their
//! inclusion and consistency proofs, and checkpoints (signed log heads) in the
//! C2SP signed-note and tlog-checkpoint formats.
//!
//! This crate owns the tree algebra, proof generation and verification, and
//! the checkpoint text format with its Ed25519 signatures. It does no I/O and
//! knows nothing of envelopes, compartments' access rules or storage: callers
//! hand it leaf hashes and keys, and persist what it returns.
//!
//! Trees are generic over a [`Hasher`]; Assure uses [`Blake3`], and the tests
//! plug in SHA-256 to check the published RFC 6962 test vectors.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod checkpoint;
mod hasher;
mod note;
mod proof;
mod time;
mod tree;

pub use checkpoint::{Checkpoint, CheckpointError, origin};
pub use hasher::{Blake3, Hash, Hasher};
pub use note::{
    MAX_NOTE_LEN, MAX_SIGNATURES, NoteError, NoteSignature, SignedCheckpoint, key_hash,
};
pub use proof::{ProofError, verify_consistency, verify_inclusion};
pub use tree::{Tree, TreeError, root_of};
