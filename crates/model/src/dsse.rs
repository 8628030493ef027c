//! DSSE envelopes (<https://github.com/secure-systems-lab/dsse>) with several
//! signatures, and the record id derived from their pre-authentication
//! encoding.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::identity::Keypair;

/// The payload type of every Assure record: an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The DSSE pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A record's identity: blake3 of the PAE bytes. Adding a co-signature does
/// not change it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub [u8; 32]);

impl RecordId {
    /// The id of a payload of the given type.
    pub fn of(payload_type: &str, payload: &[u8]) -> Self {
        Self(*blake3::hash(&pae(payload_type, payload)).as_bytes())
    }

    /// First 12 hex characters, for tables and logs.
    pub fn fmt_short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", self.fmt_short())
    }
}

/// A record id that is not 64 hex characters.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a record id (expected 64 hex characters)")]
pub struct RecordIdError(pub String);

impl FromStr for RecordId {
    type Err = RecordIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| RecordIdError(s.to_owned()))?;
        Ok(Self(bytes))
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One signature of an envelope, as DSSE writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signer's DID.
    pub keyid: String,
    /// The base64 ed25519 signature over the PAE bytes.
    pub sig: String,
}

/// A DSSE envelope as it travels and is stored.
///
/// Unknown fields are refused, so that with serde's own duplicate-field check
/// an envelope needs no separate structural pass: its shape bounds its depth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// The base64 payload.
    pub payload: String,
    /// The payload's media type.
    pub payload_type: String,
    /// The issuer's signature first, then co-signers'.
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// Signs an in-toto payload as its issuer.
    pub fn sign(payload: &[u8], issuer: &Keypair) -> Self {
        let mut envelope = Self {
            payload: BASE64.encode(payload),
            payload_type: PAYLOAD_TYPE.to_owned(),
            signatures: Vec::new(),
        };
        envelope.add_signature(payload, issuer);
        envelope
    }

    /// Adds a signature by `signer` over `payload`, which must be this
    /// envelope's decoded payload.
    pub fn add_signature(&mut self, payload: &[u8], signer: &Keypair) {
        let sig = signer.sign(&pae(&self.payload_type, payload));
        self.signatures.push(Signature {
            keyid: signer.did().to_string(),
            sig: BASE64.encode(sig),
        });
    }

    /// The envelope as compact JSON, the bytes that are stored and hashed.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing a struct of strings to a Vec cannot fail.
        #[allow(clippy::expect_used)]
        serde_json::to_vec(self).expect("envelope serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn record_id_does_not_change_with_a_cosignature() {
        let issuer = Keypair::from_seed([1; 32]);
        let cosigner = Keypair::from_seed([2; 32]);
        let payload = br#"{"hello":"world"}"#;
        let mut envelope = Envelope::sign(payload, &issuer);
        let before = RecordId::of(&envelope.payload_type, payload);
        envelope.add_signature(payload, &cosigner);
        assert_eq!(RecordId::of(&envelope.payload_type, payload), before);
        assert_eq!(envelope.signatures.len(), 2);
    }

    #[test]
    fn record_id_round_trips_and_refuses_bad_hex() {
        let id = RecordId::of(PAYLOAD_TYPE, b"x");
        assert_eq!(id.to_string().parse::<RecordId>().unwrap(), id);
        assert!("abc".parse::<RecordId>().is_err());
        assert!("zz".repeat(32).parse::<RecordId>().is_err());
    }
}
