//! The sync protocol on `/assure/sync/1` (DESIGN.md §5), CBOR-encoded.
//!
//! Every request is answered only from what the asking party may read now. A
//! compartment the party may not read and a compartment that does not exist
//! get the same answer, [`Response::NotFound`], byte for byte.

use assure_access::{Compartment, CompartmentId};
use serde::{Deserialize, Serialize};

/// The protocol name.
pub const PROTOCOL: &str = "/assure/sync/1";
/// Most entries in one `Entries` answer.
pub const MAX_PAGE_ENTRIES: u32 = 512;
/// Most envelope bytes in one `Entries` answer.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Most tags in one `Witness` request.
pub const MAX_WITNESS_TAGS: usize = 256;

/// A request from one node to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Which of your compartments may I read, and where do they stand?
    Compartments,
    /// Up to `max` envelopes of a compartment from index `from`.
    Entries {
        /// The compartment.
        compartment: CompartmentId,
        /// First index wanted.
        from: u64,
        /// Most entries wanted (capped at [`MAX_PAGE_ENTRIES`]).
        max: u32,
    },
    /// An RFC 9162 consistency proof between two sizes of a compartment.
    Consistency {
        /// The compartment.
        compartment: CompartmentId,
        /// The older size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
    },
    /// The author appended to a compartment: pull it now.
    Notify {
        /// The compartment.
        compartment: CompartmentId,
        /// Its new signed checkpoint.
        checkpoint: String,
    },
    /// For each log named by its tag (blake3 of its origin line, which only
    /// its members know), your latest checkpoint and any equivocation
    /// evidence.
    Witness {
        /// The tags.
        tags: Vec<[u8; 32]>,
    },
}

/// A compartment the asker may read, with its signed head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The compartment: id, label and access rule.
    pub compartment: Compartment,
    /// Its latest signed checkpoint.
    pub checkpoint: String,
}

/// What a witness knows of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witnessed {
    /// The log's tag.
    pub tag: [u8; 32],
    /// The witness's latest checkpoint of it.
    pub checkpoint: String,
    /// Two conflicting checkpoints, if the witness holds evidence.
    pub evidence: Option<(String, String)>,
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The compartments the asker may read.
    Compartments(Vec<Offer>),
    /// Envelopes from `from`, byte for byte, and the current checkpoint.
    Entries {
        /// The current signed checkpoint.
        checkpoint: String,
        /// Index of the first envelope.
        from: u64,
        /// The envelopes.
        entries: Vec<String>,
    },
    /// A consistency proof.
    Consistency(Vec<[u8; 32]>),
    /// Notice received.
    Ack,
    /// What the witness knows of the logs asked about.
    Witness(Vec<Witnessed>),
    /// Nothing the asker may see: the same for "forbidden" and "missing".
    NotFound,
    /// The request was refused (rate limit, malformed).
    Refused(String),
}

/// The tag of a log: blake3 of its origin line.
pub fn tag(origin_line: &str) -> [u8; 32] {
    *blake3::hash(origin_line.as_bytes()).as_bytes()
}
