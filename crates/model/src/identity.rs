//! Organization identities: ed25519 keys and their `did:key` form.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Multicodec prefix of an ed25519 public key (`ed25519-pub`, varint 0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
const DID_KEY_PREFIX: &str = "did:key:";

/// Why a `did:key` string or a key file was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// The string does not start with `did:key:z`.
    #[error("`{0}` is not a did:key identifier (expected `did:key:z6Mk…`)")]
    NotDidKey(String),
    /// The multibase part is not valid base58btc.
    #[error("`{0}` is not valid base58btc")]
    Base58(String),
    /// The decoded key is not an ed25519 public key.
    #[error("`{0}` does not hold an ed25519 public key (multicodec 0xed01, 32 bytes)")]
    NotEd25519(String),
    /// The bytes are not a point on the curve, or the point has small order.
    #[error("`{0}` holds an invalid or weak ed25519 public key")]
    WeakKey(String),
    /// A secret key file could not be decoded.
    #[error("the secret key is not a PKCS#8 ed25519 key in PEM form: {0}")]
    SecretKey(String),
}

/// An organization's identifier: the `did:key` of its ed25519 public key.
///
/// Parsing refuses keys of small order, so every `Did` can be used with
/// `verify_strict`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did([u8; 32]);

impl Did {
    /// The DID of a public key, refusing weak keys.
    pub fn from_public_bytes(bytes: [u8; 32]) -> Result<Self, IdentityError> {
        match keys::decompress(&bytes) {
            Some(_) => Ok(Self(bytes)),
            None => Err(IdentityError::WeakKey(hex::encode(bytes))),
        }
    }

    /// The raw 32 public key bytes.
    pub fn public_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The public key for signature checks.
    pub fn verifying_key(&self) -> VerifyingKey {
        // Invariant: every `Did` is built by `from_public_bytes`, which checked
        // that the bytes decompress to a point that is not of small order.
        #[allow(clippy::expect_used)]
        keys::decompress(&self.0).expect("Did holds a valid point")
    }

    /// blake3 of the public key bytes, hex encoded: the digest an in-toto
    /// subject naming this organization carries.
    pub fn digest_hex(&self) -> String {
        blake3::hash(&self.0).to_hex().to_string()
    }

    /// Short form for logs and tables: `z6Mk…` and the last six characters.
    pub fn fmt_short(&self) -> String {
        let full = self.to_string();
        let tail = &full[full.len() - 6..];
        format!("z6Mk…{tail}")
    }

    /// For people: the organization's name with the short DID beside it,
    /// `Helix Drives GmbH (z6Mk…a1b2c3)`, or the short DID alone.
    pub fn named(&self, name: Option<&str>) -> String {
        match name {
            Some(name) => format!("{name} ({})", self.fmt_short()),
            None => self.fmt_short(),
        }
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = keys::text(&self.0, || {
            let mut bytes = Vec::with_capacity(34);
            bytes.extend_from_slice(&ED25519_PUB);
            bytes.extend_from_slice(&self.0);
            format!("{DID_KEY_PREFIX}z{}", bs58::encode(bytes).into_string())
        });
        f.write_str(&text)
    }
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Did({})", self.fmt_short())
    }
}

impl FromStr for Did {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(bytes) = keys::by_text(s) {
            return Ok(Self(bytes));
        }
        let encoded = s
            .strip_prefix(DID_KEY_PREFIX)
            .and_then(|rest| rest.strip_prefix('z'))
            .ok_or_else(|| IdentityError::NotDidKey(s.to_owned()))?;
        let bytes = bs58::decode(encoded)
            .into_vec()
            .map_err(|_| IdentityError::Base58(s.to_owned()))?;
        let key: [u8; 32] = bytes
            .strip_prefix(&ED25519_PUB)
            .and_then(|key| key.try_into().ok())
            .ok_or_else(|| IdentityError::NotEd25519(s.to_owned()))?;
        let did = Self::from_public_bytes(key).map_err(|_| IdentityError::WeakKey(s.to_owned()))?;
        // Remember the text only once it has proved to be this key's canonical
        // form (base58 has a single encoding without leading-zero games here,
        // but compare anyway so that no other spelling is ever cached).
        if did.to_string() != s {
            return Err(IdentityError::Base58(s.to_owned()));
        }
        Ok(did)
    }
}

impl Serialize for Did {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Did {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Decompressing a public key costs as much as a tenth of a signature check,
/// and base58 is slow to decode and encode; one record names the same few
/// organizations several times (issuer, subject, signer). A small per-thread
/// cache of keys, their decompressed points and their `did:key` text keeps
/// validation close to the cost of the signature arithmetic. Every entry is
/// derived from its key bytes alone, so the cache cannot change a result.
mod keys {
    use std::cell::RefCell;

    use ed25519_dalek::VerifyingKey;

    const SLOTS: usize = 32;

    struct Entry {
        bytes: [u8; 32],
        key: VerifyingKey,
        text: Option<String>,
    }

    #[derive(Default)]
    struct Cache {
        next: usize,
        entries: Vec<Entry>,
    }

    impl Cache {
        /// Stores an entry, replacing the oldest when full; returns its slot.
        fn insert(&mut self, entry: Entry) -> usize {
            if self.entries.len() < SLOTS {
                self.entries.push(entry);
                self.entries.len() - 1
            } else {
                let slot = self.next;
                self.entries[slot] = entry;
                self.next = (slot + 1) % SLOTS;
                slot
            }
        }
    }

    thread_local! {
        static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    }

    /// The decompressed key, or `None` if the bytes are not a point or the
    /// point has small order.
    pub(super) fn decompress(bytes: &[u8; 32]) -> Option<VerifyingKey> {
        let cached = CACHE.with_borrow(|cache| {
            cache
                .entries
                .iter()
                .find(|e| &e.bytes == bytes)
                .map(|e| e.key)
        });
        if cached.is_some() {
            return cached;
        }
        let key = VerifyingKey::from_bytes(bytes)
            .ok()
            .filter(|key| !key.is_weak())?;
        CACHE.with_borrow_mut(|cache| {
            cache.insert(Entry {
                bytes: *bytes,
                key,
                text: None,
            })
        });
        Some(key)
    }

    /// The key bytes of a `did:key` text seen before.
    pub(super) fn by_text(text: &str) -> Option<[u8; 32]> {
        CACHE.with_borrow(|cache| {
            cache
                .entries
                .iter()
                .find(|e| e.text.as_deref() == Some(text))
                .map(|e| e.bytes)
        })
    }

    /// The `did:key` text of a key, computing it with `encode` once.
    pub(super) fn text(bytes: &[u8; 32], encode: impl FnOnce() -> String) -> String {
        CACHE.with_borrow_mut(|cache| {
            let slot = match cache.entries.iter().position(|e| &e.bytes == bytes) {
                Some(slot) => slot,
                None => match VerifyingKey::from_bytes(bytes) {
                    Ok(key) => cache.insert(Entry {
                        bytes: *bytes,
                        key,
                        text: None,
                    }),
                    Err(_) => return encode(),
                },
            };
            cache.entries[slot].text.get_or_insert_with(encode).clone()
        })
    }
}

/// An organization's key pair. The secret never leaves the node.
pub struct Keypair {
    secret: SigningKey,
    did: Did,
}

impl Keypair {
    /// A new key pair from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(Self::from_seed(seed))
    }

    /// The key pair derived from a 32-byte seed (tests and reproducible demos).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let secret = SigningKey::from_bytes(&seed);
        // An ed25519 public key derived from a secret scalar is never weak.
        let did = Did(secret.verifying_key().to_bytes());
        Self { secret, did }
    }

    /// The organization's DID.
    pub fn did(&self) -> Did {
        self.did
    }

    /// The 32-byte seed, for handing the same key to libp2p.
    pub fn seed(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// The ed25519 signing key, for signing checkpoints.
    pub fn signing_key(&self) -> &SigningKey {
        &self.secret
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.secret.sign(message).to_bytes()
    }

    /// The secret key as PKCS#8 v1 PEM (RFC 8410 `OneAsymmetricKey` version
    /// 0, no public key), for the node's 0600 key file.
    ///
    /// v1 because OpenSSL 3.0 (`openssl pkey`) and pyca/cryptography refuse
    /// the v2 form with the public key that `SigningKey::to_pkcs8_pem` writes;
    /// the public key is derived from the secret anyway.
    pub fn to_pem(&self) -> Result<String, IdentityError> {
        KeypairBytes {
            secret_key: self.secret.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| IdentityError::SecretKey(e.to_string()))
    }

    /// Reads a key pair from PKCS#8 PEM, v1 or v2 (a v2 file's public key
    /// must match its secret).
    pub fn from_pem(pem: &str) -> Result<Self, IdentityError> {
        let secret =
            SigningKey::from_pkcs8_pem(pem).map_err(|e| IdentityError::SecretKey(e.to_string()))?;
        let did = Did(secret.verifying_key().to_bytes());
        Ok(Self { secret, did })
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn did_key_matches_the_w3c_test_vector() {
        // did:key test vector from the W3C CCG did:key spec (ed25519 seed of zeros
        // is not published there; this is the spec's first example key).
        let did: Did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
            .parse()
            .unwrap();
        assert_eq!(
            did.to_string(),
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
        );
        assert_eq!(did.fmt_short(), "z6Mk…ta2doK");
    }

    #[test]
    fn refuses_what_is_not_an_ed25519_did_key() {
        assert!(matches!(
            "did:web:example.com".parse::<Did>(),
            Err(IdentityError::NotDidKey(_))
        ));
        assert!(matches!(
            "did:key:z0OIl".parse::<Did>(),
            Err(IdentityError::Base58(_))
        ));
        // secp256k1 multicodec (0xe7 0x01) instead of ed25519.
        let mut bytes = vec![0xe7, 0x01];
        bytes.extend([7u8; 33]);
        let secp = format!("did:key:z{}", bs58::encode(bytes).into_string());
        assert!(matches!(
            secp.parse::<Did>(),
            Err(IdentityError::NotEd25519(_))
        ));
    }

    #[test]
    fn refuses_small_order_keys() {
        // The identity point encodes as 0x01 followed by zeros.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut bytes = ED25519_PUB.to_vec();
        bytes.extend(identity);
        let weak = format!("did:key:z{}", bs58::encode(bytes).into_string());
        assert!(matches!(
            weak.parse::<Did>(),
            Err(IdentityError::WeakKey(_))
        ));
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let pair = Keypair::from_seed([9; 32]);
        let pem = pair.to_pem().unwrap();
        let back = Keypair::from_pem(&pem).unwrap();
        assert_eq!(back.did(), pair.did());
        assert_eq!(back.seed(), pair.seed());
        assert!(
            Keypair::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }

    /// RFC 8410 section 10.3's example key, seed `d4ee72db…`: PKCS#8 v1 is
    /// the `30 2e 02 01 00` prefix (version 0), and it is exactly 48 bytes,
    /// with no room for a public key.
    const RFC8410_V1: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";

    #[test]
    fn to_pem_writes_pkcs8_v1_without_the_public_key() {
        let seed: [u8; 32] =
            hex::decode("d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842")
                .unwrap()
                .try_into()
                .unwrap();
        let pem = Keypair::from_seed(seed).to_pem().unwrap();
        assert_eq!(pem, RFC8410_V1);
    }

    #[test]
    fn a_pkcs8_v2_key_file_still_loads_to_the_same_did() {
        let pair = Keypair::from_seed([7; 32]);
        // What earlier versions wrote: v2 (version 1) with the public key.
        let v2 = pair
            .signing_key()
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap()
            .to_string();
        let der = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            v2.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
        assert_eq!(&der[2..5], [0x02, 0x01, 0x01], "the fixture is v2");
        assert_eq!(Keypair::from_pem(&v2).unwrap().did(), pair.did());
        assert_ne!(v2, pair.to_pem().unwrap());
    }

    proptest! {
        #[test]
        fn did_string_round_trips(seed in any::<[u8; 32]>()) {
            let did = Keypair::from_seed(seed).did();
            prop_assert_eq!(did.to_string().parse::<Did>().unwrap(), did);
            let json = serde_json::to_string(&did).unwrap();
            prop_assert_eq!(serde_json::from_str::<Did>(&json).unwrap(), did);
        }
    }
}
