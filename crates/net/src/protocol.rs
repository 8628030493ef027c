//! The sync protocol on `/assure/sync/1` (DESIGN.md §5), CBOR-encoded.
//!
//! Every request is answered only from what the asking party may read now. A
//! compartment the party may not read and a compartment that does not exist
//! get the same answer, [`Response::NotFound`], byte for byte.
//!
//! Fields added since the protocol's first version are optional and left
//! out when empty, so that the protocol name stays: a node that does not
//! know a field ignores it, and a message without it decodes as before.
//! `Entries` gained `prove_to` (request) and `proof` (response): a member
//! commits each page as it arrives, proven a prefix of the signed tree; an
//! author that sends no proof is asked with `Consistency`. `Witnessed`
//! gained `proof`: evidence of checkpoints of different sizes carries what
//! lets anyone check that the larger does not extend the smaller.

use assure_access::{CompartmentId, Tlp};
use serde::{Deserialize, Serialize};

/// The protocol name.
pub const PROTOCOL: &str = "/assure/sync/1";
/// Most entries in one `Entries` answer.
pub const MAX_PAGE_ENTRIES: u32 = 512;
/// Most envelope bytes in one `Entries` answer.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Asks in one `Witness` request: always exactly this many, real ones
/// padded with random filler, so that a peer learns nothing from the count.
pub const WITNESS_ASKS: usize = 32;

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
        /// The size of the author's checkpoint the asker holds: the answer
        /// then stops at it and carries the consistency proof from the tree
        /// its entries end to that size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prove_to: Option<u64>,
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
    /// For each log asked about, your latest checkpoint and any
    /// equivocation evidence. Each ask names its log by a tag only readers
    /// can compute, and carries the asker's ticket for it sealed under a key
    /// only readers can derive (see `witness`): to anyone else the request
    /// is [`WITNESS_ASKS`] random-looking asks.
    Witness {
        /// Exactly [`WITNESS_ASKS`] asks.
        asks: Vec<Ask>,
    },
}

/// A compartment the asker may read, with its signed head: `(id,
/// checkpoint)` of DESIGN.md §5, the TLP label that says how to handle it,
/// and the asker's witness ticket. Never the local label or the rule, whose
/// named organizations are the other readers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The compartment's id.
    pub compartment: CompartmentId,
    /// Its latest signed checkpoint.
    pub checkpoint: String,
    /// How to handle what it holds.
    pub tlp: Tlp,
    /// The author's word that the asker may read this log until the
    /// ticket's expiry, for witness exchanges with other readers.
    pub ticket: Vec<u8>,
    /// Whether the asker reads this log as a regulator: the rule admits
    /// the regulator role and the asker's grant holds it. It tells the
    /// asker about its own footing only, never about other readers; an
    /// incident in such a log is a notice to the regulator.
    #[serde(default)]
    pub regulator: bool,
}

/// One log asked about in a `Witness` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    /// Names the log, for this asker and this witness only.
    pub blind: [u8; 32],
    /// The asker's ticket for the log, sealed.
    pub sealed: Vec<u8>,
}

/// What a witness knows of one log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witnessed {
    /// The ask's blind tag.
    pub blind: [u8; 32],
    /// The witness's latest checkpoint of it.
    pub checkpoint: String,
    /// Two conflicting checkpoints, if the witness holds evidence: the
    /// smaller first.
    pub evidence: Option<(String, String)>,
    /// Where the two differ in size: what shows that the larger does not
    /// extend the smaller (see `assure_store::Evidence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<assure_store::ForkProof>,
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
        /// For a request with `prove_to`: the RFC 9162 consistency proof
        /// from the tree of the entries up to the last one sent to the tree
        /// of size `prove_to` (empty when they reach it).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        proof: Vec<[u8; 32]>,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// `Entries` as the first version of the protocol had it.
    mod first {
        use super::*;

        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        pub(super) enum Request {
            Entries {
                compartment: CompartmentId,
                from: u64,
                max: u32,
            },
        }

        /// Before evidence carried a proof.
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        pub(super) struct Witnessed {
            pub(super) blind: [u8; 32],
            pub(super) checkpoint: String,
            pub(super) evidence: Option<(String, String)>,
        }

        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        pub(super) enum Response {
            Entries {
                checkpoint: String,
                from: u64,
                entries: Vec<String>,
            },
        }
    }

    #[test]
    fn witness_answers_with_a_fork_proof_and_without_decode_on_both_versions() {
        let proof = assure_store::ForkProof {
            root: "cm9vdA==".into(),
            path: vec!["cGF0aA==".into()],
        };
        let new = Witnessed {
            blind: [1; 32],
            checkpoint: "note".into(),
            evidence: Some(("small".into(), "large".into())),
            proof: Some(proof.clone()),
        };
        let old: first::Witnessed = cbor4ii::serde::from_slice(&cbor(&new)).unwrap();
        assert_eq!(old.evidence, new.evidence);
        let read: Witnessed = cbor4ii::serde::from_slice(&cbor(&old)).unwrap();
        assert_eq!(read.proof, None);
        let read: Witnessed = cbor4ii::serde::from_slice(&cbor(&new)).unwrap();
        assert_eq!(read.proof, Some(proof));
        // Without a proof, the answer is the first version's, byte for byte.
        let unproven = Witnessed { proof: None, ..new };
        let before = first::Witnessed {
            blind: [1; 32],
            checkpoint: "note".into(),
            evidence: Some(("small".into(), "large".into())),
        };
        assert_eq!(cbor(&unproven), cbor(&before));
    }

    fn cbor(value: &impl Serialize) -> Vec<u8> {
        cbor4ii::serde::to_vec(Vec::new(), value).unwrap()
    }

    #[test]
    fn pages_with_proofs_and_pages_without_decode_on_both_versions() {
        let compartment = CompartmentId::from_bytes([3; 16]);
        let old = first::Request::Entries {
            compartment,
            from: 512,
            max: 512,
        };
        let new = Request::Entries {
            compartment,
            from: 512,
            max: 512,
            prove_to: Some(2048),
        };
        let read: Request = cbor4ii::serde::from_slice(&cbor(&old)).unwrap();
        assert_eq!(
            read,
            Request::Entries {
                compartment,
                from: 512,
                max: 512,
                prove_to: None
            }
        );
        let read: first::Request = cbor4ii::serde::from_slice(&cbor(&new)).unwrap();
        assert_eq!(read, old);
        // Without a size to prove to, the request is the first version's, byte for byte.
        let unproven = Request::Entries {
            compartment,
            from: 512,
            max: 512,
            prove_to: None,
        };
        assert_eq!(cbor(&unproven), cbor(&old));

        let old = first::Response::Entries {
            checkpoint: "note".into(),
            from: 512,
            entries: vec!["{}".into()],
        };
        let new = Response::Entries {
            checkpoint: "note".into(),
            from: 512,
            entries: vec!["{}".into()],
            proof: vec![[7; 32], [8; 32]],
        };
        let read: Response = cbor4ii::serde::from_slice(&cbor(&old)).unwrap();
        assert!(matches!(read, Response::Entries { proof, .. } if proof.is_empty()));
        let read: first::Response = cbor4ii::serde::from_slice(&cbor(&new)).unwrap();
        assert_eq!(read, old);
    }
}
