//! Evidence bundles: one file holding a verification report, its signed
//! attestation, every evidence envelope with its inclusion proof against a
//! signed checkpoint, and the keys needed, checkable with no network and no
//! store.

use std::collections::{BTreeMap, BTreeSet};

use assure_log::{Blake3, Hash, Hasher as _, SignedCheckpoint, Tree, verify_inclusion};
use assure_model::predicate::Body;
use assure_model::{Did, RecordId, ValidationError, validate};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::report::Report;

/// The `format` field of a bundle this build writes and reads.
pub const FORMAT: &str = "assure-bundle/1";

/// The largest bundle `check` reads.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

/// One evidence envelope and the proof that it is in its log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEntry {
    /// The DSSE envelope exactly as logged (JSON text).
    pub envelope: String,
    /// The log's origin line.
    pub log: String,
    /// The entry's index in the log.
    pub index: u64,
    /// The log's checkpoint as a signed note.
    pub checkpoint: String,
    /// The RFC 9162 inclusion proof against that checkpoint, hex hashes.
    pub proof: Vec<String>,
}

/// A self-contained, offline-checkable verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: String,
    /// The profile file the report was made against, verbatim.
    pub profile: String,
    /// The report.
    pub report: Report,
    /// The report as a `verification` record signed by the verifier (DSSE
    /// envelope, JSON text).
    pub attestation: String,
    /// Every evidence envelope with its proof.
    pub entries: Vec<BundleEntry>,
    /// The keys needed: the verifier's and each log author's.
    pub keys: Vec<Did>,
}

/// Why a bundle failed to check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("the bundle has {0} bytes, more than the {MAX_BUNDLE_BYTES} accepted")]
    TooLarge(usize),
    /// Not a bundle: bad JSON, missing or unknown fields.
    #[error("not an Assure bundle: {0}")]
    Malformed(String),
    /// A format this build does not read.
    #[error("bundle format `{0}` is not {FORMAT}")]
    Format(String),
    /// A key needed to check the bundle is not in its `keys` list.
    #[error("the bundle lacks the key of {0}, needed to check it")]
    MissingKey(Did),
    /// The attestation is not a valid signed verification of this report.
    #[error("attestation: {0}")]
    Attestation(String),
    /// An evidence envelope is invalid.
    #[error("entry {entry}: envelope refused: {error}")]
    Envelope {
        /// The entry's position in the bundle.
        entry: usize,
        /// Why.
        error: ValidationError,
    },
    /// A checkpoint is malformed, for another log or wrongly signed.
    #[error("entry {entry}: checkpoint: {reason}")]
    Checkpoint {
        /// The entry's position in the bundle.
        entry: usize,
        /// Why.
        reason: String,
    },
    /// An inclusion proof does not lead to the checkpoint's root.
    #[error("entry {entry}: the inclusion proof does not match the checkpoint: {reason}")]
    Proof {
        /// The entry's position in the bundle.
        entry: usize,
        /// Why.
        reason: String,
    },
    /// The report cites evidence the bundle does not hold.
    #[error("the report cites record {0} but the bundle does not hold it at that position")]
    MissingEvidence(RecordId),
}

/// What a successful check established.
#[derive(Debug)]
pub struct Checked {
    /// The report, now known to be signed by its verifier.
    pub report: Report,
    /// Evidence envelopes proven to be in their logs.
    pub entries: usize,
}

impl BundleEntry {
    /// The entry for envelope `index` of the log `tree`, proven against
    /// `checkpoint`, which must be a checkpoint of that tree.
    pub fn new(
        envelope: &[u8],
        index: u64,
        tree: &Tree<Blake3>,
        checkpoint: &SignedCheckpoint,
    ) -> Result<Self, String> {
        let envelope = std::str::from_utf8(envelope)
            .map_err(|_| "the envelope is not UTF-8 JSON".to_owned())?
            .to_owned();
        let proof = tree
            .inclusion_proof(index, checkpoint.checkpoint().size())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            envelope,
            log: checkpoint.checkpoint().origin().to_owned(),
            index,
            checkpoint: checkpoint.to_text(),
            proof: proof.iter().map(hex::encode).collect(),
        })
    }
}

impl Bundle {
    /// Assembles a bundle; the keys are derived from the verifier and the logs.
    pub fn new(
        profile: String,
        report: Report,
        attestation: String,
        entries: Vec<BundleEntry>,
    ) -> Self {
        let mut keys = BTreeSet::from([report.verifier]);
        keys.extend(entries.iter().filter_map(|e| log_author(&e.log)));
        Self {
            format: FORMAT.to_owned(),
            profile,
            report,
            attestation,
            entries,
            keys: keys.into_iter().collect(),
        }
    }

    /// Checks a bundle completely, as of `now`.
    pub fn check(bytes: &[u8], now: Timestamp) -> Result<Checked, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(bytes.len()));
        }
        let bundle: Bundle =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
        if bundle.format != FORMAT {
            return Err(BundleError::Format(bundle.format));
        }
        let keys: BTreeSet<Did> = bundle.keys.iter().copied().collect();
        bundle.check_attestation(&keys, now)?;
        let mut proven: BTreeMap<RecordId, Vec<(String, u64)>> = BTreeMap::new();
        for (at, entry) in bundle.entries.iter().enumerate() {
            let id = check_entry(at, entry, &keys, now)?;
            proven
                .entry(id)
                .or_default()
                .push((entry.log.clone(), entry.index));
        }
        for requirement in &bundle.report.requirements {
            for evidence in &requirement.evidence {
                let places = proven.get(&evidence.record);
                let held = match (&evidence.position, places) {
                    (_, None) => false,
                    (None, Some(_)) => true,
                    (Some(p), Some(places)) => places
                        .iter()
                        .any(|(log, index)| *log == p.log && *index == p.index),
                };
                if !held {
                    return Err(BundleError::MissingEvidence(evidence.record));
                }
            }
        }
        Ok(Checked {
            entries: bundle.entries.len(),
            report: bundle.report,
        })
    }

    fn check_attestation(&self, keys: &BTreeSet<Did>, now: Timestamp) -> Result<(), BundleError> {
        let report = &self.report;
        if !keys.contains(&report.verifier) {
            return Err(BundleError::MissingKey(report.verifier));
        }
        let digest = blake3::hash(self.profile.as_bytes()).to_hex().to_string();
        if digest != report.profile_digest {
            return Err(BundleError::Attestation(
                "the profile in the bundle is not the one the report names".into(),
            ));
        }
        let record = validate(self.attestation.as_bytes(), now)
            .map_err(|e| BundleError::Attestation(e.to_string()))?;
        if record.issuer() != report.verifier {
            return Err(BundleError::Attestation(format!(
                "signed by {}, not by the verifier {}",
                record.issuer(),
                report.verifier
            )));
        }
        if record.subject.did != report.provider {
            return Err(BundleError::Attestation(
                "it is about another organization than the report".into(),
            ));
        }
        match &record.predicate.body {
            Body::Verification(v) if *v == report.to_predicate() => Ok(()),
            Body::Verification(_) => Err(BundleError::Attestation(
                "the signed outcomes differ from the report's".into(),
            )),
            _ => Err(BundleError::Attestation(
                "it is not a verification record".into(),
            )),
        }
    }
}

/// Checks one entry: the envelope, the checkpoint's signature and the
/// inclusion proof. Returns the record's id.
fn check_entry(
    at: usize,
    entry: &BundleEntry,
    keys: &BTreeSet<Did>,
    now: Timestamp,
) -> Result<RecordId, BundleError> {
    let bytes = entry.envelope.as_bytes();
    let record =
        validate(bytes, now).map_err(|error| BundleError::Envelope { entry: at, error })?;
    let checkpoint_error = |reason: String| BundleError::Checkpoint { entry: at, reason };
    let author = log_author(&entry.log)
        .ok_or_else(|| checkpoint_error(format!("`{}` is not an Assure log", entry.log)))?;
    if !keys.contains(&author) {
        return Err(BundleError::MissingKey(author));
    }
    let note =
        SignedCheckpoint::parse(&entry.checkpoint).map_err(|e| checkpoint_error(e.to_string()))?;
    if note.checkpoint().origin() != entry.log {
        return Err(checkpoint_error(format!(
            "it is for {}, not {}",
            note.checkpoint().origin(),
            entry.log
        )));
    }
    note.verify(&author.to_string(), &author.verifying_key())
        .map_err(|e| checkpoint_error(e.to_string()))?;
    let proof = entry
        .proof
        .iter()
        .map(|h| {
            let mut hash: Hash = [0; 32];
            hex::decode_to_slice(h, &mut hash).map(|()| hash)
        })
        .collect::<Result<Vec<Hash>, _>>()
        .map_err(|e| BundleError::Proof {
            entry: at,
            reason: format!("a proof hash is not 32 bytes of hex: {e}"),
        })?;
    let checkpoint = note.checkpoint();
    verify_inclusion::<Blake3>(
        entry.index,
        checkpoint.size(),
        &Blake3::leaf(bytes),
        &proof,
        checkpoint.root(),
    )
    .map_err(|e| BundleError::Proof {
        entry: at,
        reason: e.to_string(),
    })?;
    Ok(record.id)
}

/// The author of a log from its origin line `assure/<did>/<hex>`.
pub fn log_author(origin: &str) -> Option<Did> {
    let rest = origin.strip_prefix("assure/")?;
    let (did, _) = rest.rsplit_once('/')?;
    did.parse().ok()
}
