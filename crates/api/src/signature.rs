//! HTTP Message Signatures (RFC 9421) as Assure uses them: ed25519, the key
//! id is the signer's DID, and the signature covers the method, the path, the
//! query, the `Date` header and the `Content-Digest` (RFC 9530, SHA-256) of
//! the body.
//!
//! One profile only, parsed strictly: the covered components must be exactly
//! `("@method" "@path" "@query" "date" "content-digest")` and the parameters
//! `created`, `keyid`, `alg="ed25519"` and optionally `nonce`. Anything else
//! is refused rather than interpreted.

use assure_model::{Did, Keypair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signature;
use sha2::{Digest as _, Sha256};

/// The label of the one signature we read and write.
pub const LABEL: &str = "sig1";

/// The covered components, in order, as serialized in `Signature-Input`.
const COMPONENTS: &str = r#"("@method" "@path" "@query" "date" "content-digest")"#;

/// How far `created` and `Date` may be from the server's clock, in seconds.
pub const WINDOW_SECONDS: i64 = 300;

/// Why a signed request was refused. The message goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A header the scheme needs is missing.
    #[error("missing header `{0}`")]
    Missing(&'static str),
    /// `Signature-Input` is not in the accepted form.
    #[error("Signature-Input: {0}")]
    Input(String),
    /// `Signature` is not `sig1=:<base64 of 64 bytes>:`.
    #[error("Signature: expected sig1=:<base64 of an ed25519 signature>:")]
    Malformed,
    /// `Content-Digest` does not match the body.
    #[error("Content-Digest does not match the body")]
    Digest,
    /// `created` or `Date` is outside the 5-minute window.
    #[error("the signature was created outside the {WINDOW_SECONDS}-second window")]
    Expired,
    /// The key id is not a did:key identifier.
    #[error("keyid is not a did:key identifier")]
    KeyId,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    Invalid,
    /// The same signature was seen before.
    #[error("this signature was already used")]
    Replayed,
}

/// The parts of a request the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Covered<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, e.g. `/v1/orgs`.
    pub path: &'a str,
    /// The query without `?` (empty when there is none).
    pub query: &'a str,
    /// The `Date` header value.
    pub date: &'a str,
    /// The `Content-Digest` header value.
    pub content_digest: &'a str,
}

/// `sha-256=:<base64>:` of a body.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// The signature base of RFC 9421 §2.5 for our components and `params`
/// (the serialized `Signature-Input` member value).
fn base(covered: &Covered<'_>, params: &str) -> String {
    format!(
        "\"@method\": {}\n\"@path\": {}\n\"@query\": ?{}\n\"date\": {}\n\"content-digest\": {}\n\
         \"@signature-params\": {params}",
        covered.method.to_ascii_uppercase(),
        covered.path,
        covered.query,
        covered.date,
        covered.content_digest,
    )
}

/// Headers to add to a request: `Signature-Input` and `Signature`.
pub fn sign(
    keypair: &Keypair,
    covered: &Covered<'_>,
    created: i64,
    nonce: &str,
) -> (String, String) {
    let params = format!(
        "{COMPONENTS};created={created};keyid=\"{}\";alg=\"ed25519\";nonce=\"{nonce}\"",
        keypair.did()
    );
    let signature = keypair.sign(base(covered, &params).as_bytes());
    (
        format!("{LABEL}={params}"),
        format!("{LABEL}=:{}:", BASE64.encode(signature)),
    )
}

/// A signature that checked out: who signed, and the value to remember for
/// replay protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signer.
    pub signer: Did,
    /// The signature bytes.
    pub signature: [u8; 64],
    /// `created`, unix seconds.
    pub created: i64,
}

/// Checks a request's signature at `now` (unix seconds). `body` is the full
/// request body; `date_seconds` the parsed `Date` header.
pub fn verify(
    covered: &Covered<'_>,
    signature_input: &str,
    signature: &str,
    body: &[u8],
    date_seconds: i64,
    now: i64,
) -> Result<Verified, SignatureError> {
    let params = signature_input
        .strip_prefix(LABEL)
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or_else(|| SignatureError::Input(format!("expected one member `{LABEL}=`")))?;
    let parsed = Params::parse(params)?;
    if covered.content_digest != content_digest(body) {
        return Err(SignatureError::Digest);
    }
    if (now - parsed.created).abs() > WINDOW_SECONDS || (now - date_seconds).abs() > WINDOW_SECONDS
    {
        return Err(SignatureError::Expired);
    }
    let signer: Did = parsed.keyid.parse().map_err(|_| SignatureError::KeyId)?;
    let bytes = signature
        .strip_prefix(LABEL)
        .and_then(|s| s.strip_prefix("=:"))
        .and_then(|s| s.strip_suffix(':'))
        .and_then(|s| BASE64.decode(s).ok())
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or(SignatureError::Malformed)?;
    signer
        .verifying_key()
        .verify_strict(
            base(covered, params).as_bytes(),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| SignatureError::Invalid)?;
    Ok(Verified {
        signer,
        signature: bytes,
        created: parsed.created,
    })
}

/// The parameters of our one accepted `Signature-Input` form.
#[derive(Debug)]
struct Params<'a> {
    created: i64,
    keyid: &'a str,
}

impl<'a> Params<'a> {
    fn parse(value: &'a str) -> Result<Self, SignatureError> {
        let bad = |what: &str| SignatureError::Input(what.to_owned());
        let rest = value.strip_prefix(COMPONENTS).ok_or_else(|| {
            bad("the covered components must be exactly \
                 (\"@method\" \"@path\" \"@query\" \"date\" \"content-digest\")")
        })?;
        let (mut created, mut keyid, mut alg, mut nonce) = (None, None, None, None);
        for param in rest.split(';').skip(1) {
            let (key, raw) = param
                .split_once('=')
                .ok_or_else(|| bad("a parameter has no value"))?;
            let slot = match key {
                "created" => &mut created,
                "keyid" => &mut keyid,
                "alg" => &mut alg,
                "nonce" => &mut nonce,
                other => return Err(bad(&format!("unknown parameter `{other}`"))),
            };
            if slot.replace(raw).is_some() {
                return Err(bad(&format!("parameter `{key}` given twice")));
            }
        }
        if !rest.is_empty() && !rest.starts_with(';') {
            return Err(bad("parameters must follow the component list"));
        }
        let string = |raw: Option<&'a str>, name: &str| -> Result<&'a str, SignatureError> {
            let raw = raw.ok_or_else(|| bad(&format!("missing parameter `{name}`")))?;
            let inner = raw
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .filter(|s| {
                    s.bytes()
                        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
                })
                .ok_or_else(|| bad(&format!("`{name}` must be a plain quoted string")))?;
            Ok(inner)
        };
        let created = created
            .and_then(|c| (c.len() <= 15).then(|| c.parse::<i64>().ok()).flatten())
            .ok_or_else(|| bad("`created` must be an integer (unix seconds)"))?;
        let keyid = string(keyid, "keyid")?;
        if string(alg, "alg")? != "ed25519" {
            return Err(bad("`alg` must be \"ed25519\""));
        }
        if nonce.is_some() {
            string(nonce, "nonce")?;
        }
        Ok(Self { created, keyid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered<'a>(digest: &'a str) -> Covered<'a> {
        Covered {
            method: "GET",
            path: "/v1/orgs",
            query: "limit=5",
            date: "Sun, 22 Nov 2026 12:00:00 GMT",
            content_digest: digest,
        }
    }

    #[test]
    fn a_signed_request_verifies_and_every_change_breaks_it() {
        let key = Keypair::from_seed([3; 32]);
        let digest = content_digest(b"");
        let (input, signature) = sign(&key, &covered(&digest), 1_000, "n1");
        let ok = verify(&covered(&digest), &input, &signature, b"", 1_000, 1_010).unwrap();
        assert_eq!(ok.signer, key.did());

        let mut other = covered(&digest);
        other.path = "/v1/alerts";
        assert_eq!(
            verify(&other, &input, &signature, b"", 1_000, 1_000),
            Err(SignatureError::Invalid)
        );
        let mut other = covered(&digest);
        other.query = "limit=500";
        assert!(verify(&other, &input, &signature, b"", 1_000, 1_000).is_err());
        assert_eq!(
            verify(&covered(&digest), &input, &signature, b"x", 1_000, 1_000),
            Err(SignatureError::Digest)
        );
        assert_eq!(
            verify(&covered(&digest), &input, &signature, b"", 1_000, 1_400),
            Err(SignatureError::Expired)
        );
        let forged = input.replace(
            &key.did().to_string(),
            &Keypair::from_seed([4; 32]).did().to_string(),
        );
        assert_eq!(
            verify(&covered(&digest), &forged, &signature, b"", 1_000, 1_000),
            Err(SignatureError::Invalid)
        );
        for bad in [
            input.replace("\"date\" ", ""),
            input.replace("alg=\"ed25519\"", "alg=\"rsa\""),
            input.replace(";created=1000", ""),
            format!("{input};created=5"),
            input.replace("sig1=", "sig2="),
            format!("{input};extra=1"),
        ] {
            assert!(
                matches!(
                    verify(&covered(&digest), &bad, &signature, b"", 1_000, 1_000),
                    Err(SignatureError::Input(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            verify(&covered(&digest), &input, "sig1=:AAAA:", b"", 1_000, 1_000),
            Err(SignatureError::Malformed)
        );
    }
}
