//! Signed checkpoints in the C2SP signed-note format.
//!
//! A note is the checkpoint body, a blank line, then one line per signature:
//! an em dash (U+2014), a space, the key name, a space, and the base64 of a
//! 4-byte key hash followed by the signature. Assure's key names are DIDs and
//! its signatures Ed25519 over the body, with the key hash
//! `SHA-256(key name || "\n" || 0x01 || public key)[..4]`.
//!
//! Parsing is strict, so that [`SignedCheckpoint::to_text`] gives back the
//! parsed text byte for byte. Signature lines of other algorithms (a witness's
//! timestamped cosignature, say) are kept, since signed-note requires
//! verifiers to ignore signatures from keys they do not know.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::checkpoint::{Checkpoint, CheckpointError};

/// The largest note accepted or produced, in bytes.
pub const MAX_NOTE_LEN: usize = 8 * 1024;

/// The most signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;

/// The signed-note signature type of plain Ed25519 signatures.
const ED25519: u8 = 0x01;

/// What starts a signature line: an em dash and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a note could not be parsed, signed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is longer than [`MAX_NOTE_LEN`] bytes.
    #[error("the note has {len} bytes, more than {MAX_NOTE_LEN}")]
    TooLarge {
        /// The note's length in bytes.
        len: usize,
    },
    /// The note contains a carriage return.
    #[error("the note contains a carriage return")]
    CarriageReturn,
    /// The note contains an ASCII control character other than newline.
    #[error("the note contains a control character")]
    ControlCharacter,
    /// The note does not end in a newline.
    #[error("the note does not end in a newline")]
    MissingFinalNewline,
    /// No blank line separates the body from the signatures.
    #[error("the note has no blank line before its signatures")]
    MissingBlankLine,
    /// Nothing follows the blank line.
    #[error("the note has no signatures")]
    NoSignatures,
    /// The note carries more than [`MAX_SIGNATURES`] signatures.
    #[error("the note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line is not `— <key name> <base64>`.
    #[error("signature line {line} is not of the form `— <key name> <signature>`")]
    MalformedSignatureLine {
        /// The 1-based number of the line among the signature lines.
        line: usize,
    },
    /// A key name is empty or contains whitespace or `+`.
    #[error("key name {0:?} is empty or contains whitespace or '+'")]
    InvalidKeyName(String),
    /// A signature is not canonical base64 of a key hash and signature bytes.
    #[error("a signature is not canonical base64 of at least five bytes")]
    BadSignatureEncoding,
    /// Two signatures share a key name and key hash.
    #[error("two signatures by key {0:?} with the same key hash")]
    DuplicateSignature(String),
    /// The body is not a valid checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// No signature carries this key name and the key's hash.
    #[error("no signature by key {0:?}")]
    NotSigned(String),
    /// The signature by this key does not verify.
    #[error("the signature by key {0:?} does not verify")]
    BadSignature(String),
}

/// The signed-note key hash of an Ed25519 key:
/// `SHA-256(key name || "\n" || 0x01 || public key)[..4]`.
pub fn key_hash(key_name: &str, key: &VerifyingKey) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(key_name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ED25519])
        .chain_update(key.as_bytes())
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    key_name: String,
    key_hash: [u8; 4],
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line from its parts, as received from another signer.
    ///
    /// The key name must be non-empty and free of whitespace and `+`; the
    /// signature must be non-empty (Ed25519 signatures have 64 bytes).
    pub fn new(
        key_name: impl Into<String>,
        key_hash: [u8; 4],
        signature: Vec<u8>,
    ) -> Result<Self, NoteError> {
        let key_name = key_name.into();
        check_key_name(&key_name)?;
        if signature.is_empty() {
            return Err(NoteError::BadSignatureEncoding);
        }
        Ok(Self {
            key_name,
            key_hash,
            signature,
        })
    }

    /// The Ed25519 signature of `checkpoint`'s body by `key`, named `key_name`.
    pub fn sign(
        checkpoint: &Checkpoint,
        key_name: &str,
        key: &SigningKey,
    ) -> Result<Self, NoteError> {
        let signature = key.sign(checkpoint.body().as_bytes());
        let key_hash = key_hash(key_name, &key.verifying_key());
        Self::new(key_name, key_hash, signature.to_bytes().to_vec())
    }

    /// The name of the key that made the signature (for Assure, a DID).
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The signed-note key hash of the key that made the signature.
    pub fn key_hash(&self) -> [u8; 4] {
        self.key_hash
    }

    /// The signature bytes, without the key hash.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The signature line, ending in a newline.
    fn line(&self) -> String {
        format!("{self}\n")
    }

    /// Parses one signature line, without its newline; `number` is 1-based.
    fn parse_line(line: &str, number: usize) -> Result<Self, NoteError> {
        let malformed = NoteError::MalformedSignatureLine { line: number };
        let (key_name, encoded) = line
            .strip_prefix(SIGNATURE_PREFIX)
            .and_then(|rest| rest.split_once(' '))
            .ok_or(malformed)?;
        check_key_name(key_name)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| NoteError::BadSignatureEncoding)?;
        if bytes.len() < 5 || STANDARD.encode(&bytes) != encoded {
            return Err(NoteError::BadSignatureEncoding);
        }
        let (key_hash, signature) = bytes.split_at(4);
        let key_hash = [key_hash[0], key_hash[1], key_hash[2], key_hash[3]];
        Self::new(key_name, key_hash, signature.to_vec())
    }
}

/// The signature line without its newline: `— <key name> <base64>`.
impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_hash);
        bytes.extend_from_slice(&self.signature);
        let encoded = STANDARD.encode(bytes);
        write!(f, "{SIGNATURE_PREFIX}{} {encoded}", self.key_name)
    }
}

/// A checkpoint with the signatures of its log and witnesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    signatures: Vec<NoteSignature>,
}

impl SignedCheckpoint {
    /// Signs `checkpoint` with `key`, under the name `key_name`.
    pub fn sign(
        checkpoint: Checkpoint,
        key_name: &str,
        key: &SigningKey,
    ) -> Result<Self, NoteError> {
        let signature = NoteSignature::sign(&checkpoint, key_name, key)?;
        let mut signed = Self {
            checkpoint,
            signatures: Vec::new(),
        };
        signed.push_signature(signature)?;
        Ok(signed)
    }

    /// Adds the signature of another key (a witness's cosignature).
    pub fn add_signature(&mut self, key_name: &str, key: &SigningKey) -> Result<(), NoteError> {
        let signature = NoteSignature::sign(&self.checkpoint, key_name, key)?;
        self.push_signature(signature)
    }

    /// Adds a signature made elsewhere, unverified. Refuses a second
    /// signature with the same key name and key hash, and signatures that
    /// would break [`MAX_SIGNATURES`] or [`MAX_NOTE_LEN`].
    pub fn push_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        let duplicate = self.signatures.iter().any(|existing| {
            existing.key_name == signature.key_name && existing.key_hash == signature.key_hash
        });
        if duplicate {
            return Err(NoteError::DuplicateSignature(signature.key_name));
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let len = self.to_text().len() + signature.line().len();
        if len > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { len });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// The signed checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signatures, in note order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Whether a signature line names `key_name`. This does **not** verify
    /// anything; use [`verify`](Self::verify) before trusting the note.
    pub fn signed_by(&self, key_name: &str) -> bool {
        self.signatures.iter().any(|s| s.key_name == key_name)
    }

    /// Checks the signature of `key` under the name `key_name`: the line with
    /// that name and the key's hash must hold a valid Ed25519 signature of the
    /// body (checked with `verify_strict`). Lines of other keys are ignored.
    pub fn verify(&self, key_name: &str, key: &VerifyingKey) -> Result<(), NoteError> {
        let expected_hash = key_hash(key_name, key);
        let line = self
            .signatures
            .iter()
            .find(|s| s.key_name == key_name && s.key_hash == expected_hash)
            .ok_or_else(|| NoteError::NotSigned(key_name.to_owned()))?;
        let bad = || NoteError::BadSignature(key_name.to_owned());
        let bytes: [u8; 64] = line.signature.as_slice().try_into().map_err(|_| bad())?;
        key.verify_strict(
            self.checkpoint.body().as_bytes(),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| bad())
    }

    /// The note text: body, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut text = self.checkpoint.body();
        text.push('\n');
        for signature in &self.signatures {
            text.push_str(&signature.line());
        }
        text
    }

    /// Parses a note, strictly: see [`NoteError`] and [`CheckpointError`]
    /// for what is refused.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        if text.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge { len: text.len() });
        }
        if text.contains('\r') {
            return Err(NoteError::CarriageReturn);
        }
        if text.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::ControlCharacter);
        }
        if !text.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        // The body ends at the last blank line; signature lines are never empty.
        let split = text.rfind("\n\n").ok_or(NoteError::MissingBlankLine)?;
        let (body, signature_lines) = (&text[..=split], &text[split + 2..]);
        let lines: Vec<&str> = signature_lines.split_terminator('\n').collect();
        if lines.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let mut signed = Self {
            checkpoint: Checkpoint::parse_body(body)?,
            signatures: Vec::with_capacity(lines.len()),
        };
        for (number, line) in (1..).zip(lines) {
            signed.push_signature(NoteSignature::parse_line(line, number)?)?;
        }
        Ok(signed)
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl FromStr for SignedCheckpoint {
    type Err = NoteError;

    fn from_str(text: &str) -> Result<Self, NoteError> {
        Self::parse(text)
    }
}

fn check_key_name(key_name: &str) -> Result<(), NoteError> {
    if key_name.is_empty() || key_name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::InvalidKeyName(key_name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint::new("assure/did:key:z6MkLog/00", 3, [9; 32], 1_795_336_200).unwrap()
    }

    #[test]
    fn key_hash_follows_signed_note() {
        let key = key(1).verifying_key();
        let mut input = b"did:key:z6MkLog\n\x01".to_vec();
        input.extend_from_slice(key.as_bytes());
        let digest = Sha256::digest(&input);
        assert_eq!(key_hash("did:key:z6MkLog", &key), digest[..4]);
    }

    #[test]
    fn signature_lines_start_with_an_em_dash() {
        let signed = SignedCheckpoint::sign(checkpoint(), "did:key:z6MkLog", &key(1)).unwrap();
        let text = signed.to_text();
        let (body, signatures) = text.split_once("\n\n").unwrap();
        assert_eq!(format!("{body}\n"), signed.checkpoint().body());
        assert!(signatures.starts_with("\u{2014} did:key:z6MkLog "));
        assert_eq!(signed.to_string(), text);
    }

    #[test]
    fn push_refuses_duplicates_and_oversize_notes() {
        let mut signed = SignedCheckpoint::sign(checkpoint(), "log", &key(1)).unwrap();
        assert_eq!(
            signed.add_signature("log", &key(1)),
            Err(NoteError::DuplicateSignature("log".into()))
        );
        let mut index = 0u32;
        let error = loop {
            index += 1;
            let name = format!("witness-{index}");
            if let Err(error) = signed.add_signature(&name, &key(2)) {
                break error;
            }
        };
        assert!(matches!(error, NoteError::TooLarge { .. }), "{error}");
        assert!(signed.to_text().len() <= MAX_NOTE_LEN);
        assert_eq!(SignedCheckpoint::parse(&signed.to_text()), Ok(signed));
    }

    #[test]
    fn invalid_key_names_are_refused() {
        for name in ["", "a b", "a+b", "a\tb"] {
            assert_eq!(
                SignedCheckpoint::sign(checkpoint(), name, &key(1)),
                Err(NoteError::InvalidKeyName(name.into()))
            );
        }
    }
}
