//! The bodies of Assure's fuzz targets: one function per decoder of untrusted
//! input, each feeding it arbitrary bytes and checking what must hold of
//! whatever it accepts (round trips, signatures that cannot be forged,
//! refusals that leave nothing behind). A panic is a finding.
//!
//! `fuzz/` (cargo-fuzz, outside the workspace) calls these functions from
//! its targets, and this crate's `corpus` test replays every committed
//! input of `fuzz/corpus/` and `fuzz/regressions/` through the same
//! functions, so that a fixed crash stays fixed under `cargo test`.
//! The decoders themselves live in the crates that own them; nothing here
//! decides what is valid.
#![deny(missing_docs)]

use assure_model::Keypair;
use jiff::Timestamp;

mod backup;
mod config;
mod log;
mod model;
mod net;
pub mod seeds;
mod signature;

pub use backup::{backup_header, backup_restore};
pub use config::{node_config, profile};
pub use log::{checkpoint, note, proof};
pub use model::{draft_json, draft_toml, envelope, predicate, statement};
pub use net::{sync_request, sync_response};
pub use signature::{cursor, signature};

/// A fuzz target: its name (the file `fuzz/fuzz_targets/NAME.rs` and the
/// directories `fuzz/corpus/NAME`, `fuzz/regressions/NAME`) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    ("envelope", envelope),
    ("statement", statement),
    ("predicate", predicate),
    ("draft_json", draft_json),
    ("draft_toml", draft_toml),
    ("checkpoint", checkpoint),
    ("note", note),
    ("proof", proof),
    ("sync_request", sync_request),
    ("sync_response", sync_response),
    ("signature", signature),
    ("cursor", cursor),
    ("profile", profile),
    ("node_config", node_config),
    ("backup_header", backup_header),
    ("backup_restore", backup_restore),
];

/// The one key the targets sign with, so that seeds can carry valid
/// signatures and a fuzzer-made input that verifies under another key
/// would be a forgery.
/// Made once: deriving it costs more than many a target's whole input.
pub fn key() -> &'static Keypair {
    static KEY: std::sync::OnceLock<Keypair> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Keypair::from_seed([1; 32]))
}

/// The instant the targets validate at: 2026-11-22T08:30:00Z.
pub fn now() -> Timestamp {
    // A constant well inside jiff's range.
    Timestamp::from_second(1_795_336_200).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The input as text, if it is UTF-8: the text decoders take `&str`.
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
