//! Records: validated envelopes with their typed statement, and the checks
//! every untrusted envelope passes before anything keeps it (DESIGN.md §2).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signature as Ed25519Signature;
use jiff::{SignedDuration, Timestamp};

use crate::dsse::{Envelope, PAYLOAD_TYPE, RecordId, pae};
use crate::identity::{Did, Keypair};
use crate::json::{self, JsonError};
use crate::predicate::{Body, Kind, Predicate};
use crate::statement::{STATEMENT_TYPE, Statement, SubjectRef};

/// The largest envelope accepted, in bytes.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;
/// How far in the future an `issuedAt` may lie, for clock skew.
pub const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// Why an envelope was refused. Nothing refused is stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The envelope is larger than [`MAX_ENVELOPE_BYTES`].
    #[error("envelope is {size} bytes, more than the {MAX_ENVELOPE_BYTES}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// The envelope JSON is malformed, too deep, or repeats a key.
    #[error("envelope: {0}")]
    EnvelopeJson(JsonError),
    /// The envelope lacks a DSSE field or has one of the wrong type.
    #[error("not a DSSE envelope: {0}")]
    NotAnEnvelope(String),
    /// `payloadType` is not the in-toto media type.
    #[error("payload type `{0}` is not `{PAYLOAD_TYPE}`")]
    PayloadType(String),
    /// The payload is not valid base64.
    #[error("payload is not valid base64")]
    PayloadBase64,
    /// The payload JSON is malformed, too deep, or repeats a key.
    #[error("statement: {0}")]
    StatementJson(JsonError),
    /// The payload lacks a statement field or has one of the wrong type.
    #[error("not an in-toto statement: {0}")]
    NotAStatement(String),
    /// `_type` is not in-toto Statement v1.
    #[error("statement type `{0}` is not `{STATEMENT_TYPE}`")]
    StatementType(String),
    /// `predicateType` is not one of the record kinds.
    #[error("unknown predicate type `{0}` (expected urn:assure:<kind>:v1)")]
    PredicateType(String),
    /// The statement has no subject, or the first subject is not a DID.
    #[error("bad subject: {0}")]
    Subject(String),
    /// The subject's digest does not match its DID.
    #[error("subject digest does not match the key of {0}")]
    SubjectDigest(String),
    /// A predicate field is missing or has the wrong type.
    #[error("{kind} predicate: {detail}")]
    Field {
        /// The record kind.
        kind: Kind,
        /// serde's description of the problem.
        detail: String,
    },
    /// The predicate is well typed but inconsistent.
    #[error("{kind} predicate: {detail}")]
    Inconsistent {
        /// The record kind.
        kind: Kind,
        /// What is wrong.
        detail: String,
    },
    /// The envelope carries no signature.
    #[error("envelope is not signed")]
    Unsigned,
    /// The first signature is not the issuer's.
    #[error("the first signature must be the issuer's ({issuer}), found {found}")]
    IssuerNotFirst {
        /// The predicate's issuer.
        issuer: Did,
        /// The first signature's key id.
        found: String,
    },
    /// A signature's key id is not a usable DID.
    #[error("signature key id `{0}` is not an ed25519 did:key")]
    KeyId(String),
    /// Two signatures by the same key.
    #[error("two signatures by {0}")]
    DuplicateSigner(Did),
    /// A signature is not 64 base64-encoded bytes.
    #[error("signature by {0} is not a base64 ed25519 signature")]
    SignatureEncoding(Did),
    /// A signature does not verify (forged, tampered payload, or non-canonical).
    #[error("signature by {0} does not verify")]
    BadSignature(Did),
    /// `issuedAt` lies too far in the future.
    #[error("issuedAt {issued_at} is more than 5 minutes in the future")]
    FromTheFuture {
        /// The refused timestamp.
        issued_at: Timestamp,
    },
}

/// A validated record: the envelope, its decoded statement, and who signed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// blake3 of the PAE bytes.
    pub id: RecordId,
    /// The envelope as received.
    pub envelope: Envelope,
    /// The organization the record is about.
    pub subject: SubjectRef,
    /// The typed predicate.
    pub predicate: Predicate,
    /// Verified signers, issuer first.
    pub signers: Vec<Did>,
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        self.predicate.body.kind()
    }

    /// The issuing organization.
    pub fn issuer(&self) -> Did {
        self.predicate.common.issuer
    }

    /// Whether the record has expired at `now`.
    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.predicate
            .common
            .valid_until
            .is_some_and(|until| until <= now)
    }
}

/// An envelope that passed every check except the signature arithmetic, so
/// that signatures can be checked one by one or in a batch.
#[derive(Debug)]
pub struct Unverified {
    record: Record,
    pae: Vec<u8>,
    signatures: Vec<(Did, Ed25519Signature)>,
}

/// Checks an untrusted envelope completely.
pub fn validate(bytes: &[u8], now: Timestamp) -> Result<Record, ValidationError> {
    parse(bytes, now)?.verify()
}

/// Checks everything about an untrusted envelope except the signatures.
pub fn parse(bytes: &[u8], now: Timestamp) -> Result<Unverified, ValidationError> {
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(ValidationError::TooLarge { size: bytes.len() });
    }
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(envelope_error)?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(ValidationError::PayloadType(envelope.payload_type));
    }
    let payload = BASE64
        .decode(&envelope.payload)
        .map_err(|_| ValidationError::PayloadBase64)?;
    let (subject, predicate) = parse_statement(&payload, now)?;
    let signatures = decode_signatures(&envelope, predicate.common.issuer)?;
    let pae = pae(&envelope.payload_type, &payload);
    let record = Record {
        id: RecordId(*blake3::hash(&pae).as_bytes()),
        signers: signatures.iter().map(|(did, _)| *did).collect(),
        envelope,
        subject,
        predicate,
    };
    Ok(Unverified {
        record,
        pae,
        signatures,
    })
}

/// Sorts serde's complaints about an envelope into syntax, duplicate keys and
/// shape.
fn envelope_error(error: serde_json::Error) -> ValidationError {
    use serde_json::error::Category;
    let message = error.to_string();
    if matches!(
        error.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        return ValidationError::EnvelopeJson(JsonError::Syntax(message));
    }
    let duplicate = message
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field.to_owned());
    match duplicate {
        Some(field) => ValidationError::EnvelopeJson(JsonError::DuplicateKey(field)),
        None => ValidationError::NotAnEnvelope(message),
    }
}

/// A statement as read from untrusted bytes: the predicate stays raw JSON until
/// its kind is known, so that it is parsed once, straight into its type.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatement<'a> {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<crate::statement::Subject>,
    predicate_type: String,
    #[serde(borrow)]
    predicate: &'a serde_json::value::RawValue,
}

fn parse_statement(
    payload: &[u8],
    now: Timestamp,
) -> Result<(SubjectRef, Predicate), ValidationError> {
    json::check_structure(payload).map_err(ValidationError::StatementJson)?;
    let statement: RawStatement<'_> = serde_json::from_slice(payload)
        .map_err(|e| ValidationError::NotAStatement(e.to_string()))?;
    if statement.type_ != STATEMENT_TYPE {
        return Err(ValidationError::StatementType(statement.type_));
    }
    let kind = Kind::from_predicate_type(&statement.predicate_type)
        .ok_or_else(|| ValidationError::PredicateType(statement.predicate_type.clone()))?;
    let first = statement
        .subject
        .first()
        .ok_or_else(|| ValidationError::Subject("the statement names no subject".into()))?;
    let subject: SubjectRef = first
        .name
        .parse()
        .map_err(|e| ValidationError::Subject(format!("{e}")))?;
    if first.digest.get("blake3") != Some(&subject.did.digest_hex()) {
        return Err(ValidationError::SubjectDigest(subject.did.to_string()));
    }
    let predicate = Predicate::from_json(kind, statement.predicate.get()).map_err(|e| {
        ValidationError::Field {
            kind,
            detail: e.to_string(),
        }
    })?;
    check_consistency(&predicate)?;
    let issued_at = predicate.common.issued_at;
    let latest = now.checked_add(MAX_CLOCK_SKEW).unwrap_or(Timestamp::MAX);
    if issued_at > latest {
        return Err(ValidationError::FromTheFuture { issued_at });
    }
    Ok((subject, predicate))
}

/// Rules that types alone do not express.
fn check_consistency(predicate: &Predicate) -> Result<(), ValidationError> {
    let kind = predicate.body.kind();
    let inconsistent = |detail: &str| {
        Err(ValidationError::Inconsistent {
            kind,
            detail: detail.to_owned(),
        })
    };
    let common = &predicate.common;
    if common
        .valid_until
        .is_some_and(|until| until <= common.issued_at)
    {
        return inconsistent("validUntil is not after issuedAt");
    }
    if let Some(bad) = common.clauses.iter().find(|c| !is_clause_ref(c)) {
        return inconsistent(&format!(
            "clause `{bad}` is not of the form ISO28000:8.4 or ISO22340:7.2.4"
        ));
    }
    match &predicate.body {
        Body::Relationship(r) if r.supplier == r.customer => {
            inconsistent("supplier and customer are the same organization")
        }
        Body::Relationship(r) if common.issuer != r.supplier && common.issuer != r.customer => {
            inconsistent("the issuer must be the supplier or the customer")
        }
        Body::Control(_) if common.domain.is_none() => {
            inconsistent("a control must name its domain")
        }
        _ => Ok(()),
    }
}

/// `ISO28000:8.4`, `ISO22340:7.2.4`, `ISO28000:8.4.f`: a standard, a colon, a
/// dotted clause number whose last part may be a letter.
pub fn is_clause_ref(clause: &str) -> bool {
    let Some((standard, number)) = clause.split_once(':') else {
        return false;
    };
    let standard_ok = standard.len() <= 16
        && !standard.is_empty()
        && standard
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let mut parts = number.split('.').peekable();
    let mut numeric = 0;
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        if !part.is_empty() && part.len() <= 3 && part.bytes().all(|b| b.is_ascii_digit()) {
            numeric += 1;
        } else if !(last
            && numeric > 0
            && part.len() == 1
            && part.as_bytes()[0].is_ascii_lowercase())
        {
            return false;
        }
    }
    standard_ok && numeric > 0
}

fn decode_signatures(
    envelope: &Envelope,
    issuer: Did,
) -> Result<Vec<(Did, Ed25519Signature)>, ValidationError> {
    let first = envelope
        .signatures
        .first()
        .ok_or(ValidationError::Unsigned)?;
    if first.keyid != issuer.to_string() {
        return Err(ValidationError::IssuerNotFirst {
            issuer,
            found: first.keyid.clone(),
        });
    }
    let mut out: Vec<(Did, Ed25519Signature)> = Vec::with_capacity(envelope.signatures.len());
    for signature in &envelope.signatures {
        let did: Did = signature
            .keyid
            .parse()
            .map_err(|_| ValidationError::KeyId(signature.keyid.clone()))?;
        if out.iter().any(|(seen, _)| *seen == did) {
            return Err(ValidationError::DuplicateSigner(did));
        }
        let bytes: [u8; 64] = BASE64
            .decode(&signature.sig)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(ValidationError::SignatureEncoding(did))?;
        out.push((did, Ed25519Signature::from_bytes(&bytes)));
    }
    Ok(out)
}

impl Unverified {
    /// Checks every signature with `verify_strict`.
    pub fn verify(self) -> Result<Record, ValidationError> {
        for (did, signature) in &self.signatures {
            did.verifying_key()
                .verify_strict(&self.pae, signature)
                .map_err(|_| ValidationError::BadSignature(*did))?;
        }
        Ok(self.record)
    }

    /// The record, once its signatures have been checked elsewhere.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The signed message (the PAE bytes) and each signature, for batch checks.
    pub fn signatures(&self) -> (&[u8], &[(Did, Ed25519Signature)]) {
        (&self.pae, &self.signatures)
    }

    /// The record, trusting that [`Self::signatures`] were verified.
    pub fn into_verified_record(self) -> Record {
        self.record
    }
}

/// Signs a new record about `subject` as `issuer`. Returns the envelope bytes
/// to store and the record they hold.
pub fn issue(
    issuer: &Keypair,
    subject: &SubjectRef,
    predicate: &Predicate,
) -> Result<(Vec<u8>, Record), ValidationError> {
    let kind = predicate.body.kind();
    if predicate.common.issuer != issuer.did() {
        return Err(ValidationError::IssuerNotFirst {
            issuer: predicate.common.issuer,
            found: issuer.did().to_string(),
        });
    }
    check_consistency(predicate)?;
    let statement = Statement {
        type_: STATEMENT_TYPE.to_owned(),
        subject: vec![subject.to_subject()],
        predicate_type: kind.predicate_type(),
        predicate: predicate.to_value(),
    };
    let payload = serde_json::to_vec(&statement)
        .map_err(|e| ValidationError::NotAStatement(e.to_string()))?;
    let envelope = Envelope::sign(&payload, issuer);
    let bytes = envelope.to_bytes();
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(ValidationError::TooLarge { size: bytes.len() });
    }
    let record = Record {
        id: RecordId::of(PAYLOAD_TYPE, &payload),
        envelope,
        subject: subject.clone(),
        predicate: predicate.clone(),
        signers: vec![issuer.did()],
    };
    Ok((bytes, record))
}

/// Adds `cosigner`'s signature to a validated record. The record id stays the
/// same.
pub fn cosign(record: &Record, cosigner: &Keypair) -> Result<(Vec<u8>, Record), ValidationError> {
    if record.signers.contains(&cosigner.did()) {
        return Err(ValidationError::DuplicateSigner(cosigner.did()));
    }
    let payload = BASE64
        .decode(&record.envelope.payload)
        .map_err(|_| ValidationError::PayloadBase64)?;
    let mut record = record.clone();
    record.envelope.add_signature(&payload, cosigner);
    record.signers.push(cosigner.did());
    let bytes = record.envelope.to_bytes();
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(ValidationError::TooLarge { size: bytes.len() });
    }
    Ok((bytes, record))
}
