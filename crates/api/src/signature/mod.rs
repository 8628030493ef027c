//! HTTP Message Signatures (RFC 9421) as Assure uses them: ed25519, the key
//! id is the signer's DID, and the signature covers the request's method,
//! target node (`@authority`, `@scheme`), path, query, `Date`, the
//! `Content-Digest` (RFC 9530, SHA-256) of the body and, when it is sent,
//! `Assure-Purpose`. README.md ("Signed requests") is the profile another
//! implementation follows; this module is its reference.
//!
//! One profile only, parsed strictly: the covered components must be
//! exactly those (in any order, each once), the parameters `created`,
//! `keyid`, `alg="ed25519"` and optionally `nonce`, and the request must
//! carry exactly one signature, under any label (RFC 9421 §7.2.5). Anything
//! else is refused rather than interpreted.

mod authority;
mod fields;

use assure_model::{Did, Keypair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signature;
use sha2::{Digest as _, Sha256};

pub use authority::{Scheme, defaults as default_authorities, normalize as normalize_authority};
use fields::{Bare, Item, Member};

/// The label of the signature we write (any label is read).
pub const LABEL: &str = "sig1";

/// The components every signature covers, in the order we write them.
pub const COMPONENTS: [&str; 7] = [
    "@method",
    "@authority",
    "@scheme",
    "@path",
    "@query",
    "date",
    "content-digest",
];

/// The component a signature covers, after [`COMPONENTS`], when the request
/// carries an `Assure-Purpose` header.
pub const PURPOSE: &str = "assure-purpose";

/// How far in the past `created` and `Date` may be, in seconds (and how
/// far in the future `Date` may be).
pub const WINDOW_SECONDS: i64 = 300;

/// How far ahead of the node's clock `created` may be, in seconds. The
/// node holds such a request until its clock reaches `created`, so that no
/// signature is ever accepted before it was created: that is what makes
/// "created after the node started" exclude every signature an earlier run
/// accepted.
pub const AHEAD_SECONDS: i64 = 2;

/// Why a signed request was refused. The message goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A header the scheme needs is missing.
    #[error("missing header `{0}`")]
    Missing(&'static str),
    /// A header appears more than once.
    #[error("header `{0}` appears more than once")]
    Repeated(&'static str),
    /// `Date` is not an HTTP date.
    #[error("Date is not an HTTP date")]
    Date,
    /// `Signature-Input` is not in the accepted form.
    #[error("Signature-Input: {0}")]
    Input(String),
    /// `Signature` is not one `label=:<base64 of 64 bytes>:` member.
    #[error("Signature: {0}")]
    Malformed(String),
    /// `Content-Digest` does not match the body.
    #[error("Content-Digest does not match the body")]
    Digest,
    /// `created` or `Date` is outside the 5-minute window.
    #[error("the signature was created outside the {WINDOW_SECONDS}-second window")]
    Expired,
    /// `created` is ahead of the node's clock by more than [`AHEAD_SECONDS`].
    #[error(
        "`created` is more than {AHEAD_SECONDS} s ahead of this node's clock; check the signer's clock"
    )]
    Ahead,
    /// `created` is not after the node started.
    #[error("signed before this node started; sign the request again")]
    BeforeStart,
    /// The request names a host this node does not answer as.
    #[error(
        "this node does not answer as `{0}`: a signature is valid only for the node it names \
         in @authority (api.authorities in the node's configuration)"
    )]
    Authority(String),
    /// The key id is not a did:key identifier.
    #[error("keyid is not a did:key identifier")]
    KeyId,
    /// The signature does not verify.
    #[error(
        "the signature does not verify (it must cover this request as this node received it: \
         method, @authority, @scheme, path, query, Date, Content-Digest, Assure-Purpose)"
    )]
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
    /// The scheme the client used.
    pub scheme: Scheme,
    /// The node as the client addressed it, normalized by
    /// [`normalize_authority`].
    pub authority: &'a str,
    /// The path, e.g. `/v1/orgs`.
    pub path: &'a str,
    /// The query without `?` (empty when there is none).
    pub query: &'a str,
    /// The `Date` header value.
    pub date: &'a str,
    /// The `Content-Digest` header value.
    pub content_digest: &'a str,
    /// The `Assure-Purpose` header value, when it is sent.
    pub purpose: Option<&'a str>,
}

impl Covered<'_> {
    /// The components a signature of this request must cover.
    fn components(&self) -> Vec<&'static str> {
        let mut out = COMPONENTS.to_vec();
        if self.purpose.is_some() {
            out.push(PURPOSE);
        }
        out
    }

    /// A component's value in the signature base (RFC 9421 §2.1, §2.2).
    fn value(&self, component: &str) -> Option<String> {
        Some(match component {
            "@method" => self.method.to_ascii_uppercase(),
            "@authority" => self.authority.to_owned(),
            "@scheme" => self.scheme.as_str().to_owned(),
            "@path" if self.path.is_empty() => "/".to_owned(),
            "@path" => self.path.to_owned(),
            "@query" => format!("?{}", self.query),
            "date" => self.date.trim().to_owned(),
            "content-digest" => self.content_digest.trim().to_owned(),
            PURPOSE => self.purpose?.trim().to_owned(),
            _ => return None,
        })
    }
}

/// `sha-256=:<base64>:` of a body.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// The signature base of RFC 9421 §2.5: one line per component in the
/// signer's order, then `"@signature-params": <params>` (the serialized
/// `Signature-Input` member value).
pub fn base(covered: &Covered<'_>, components: &[&str], params: &str) -> String {
    let mut out = String::new();
    for component in components {
        let value = covered.value(component).unwrap_or_default();
        out += &format!("\"{component}\": {value}\n");
    }
    out + &format!("\"@signature-params\": {params}")
}

/// Headers to add to a request: `Signature-Input` and `Signature`.
pub fn sign(
    keypair: &Keypair,
    covered: &Covered<'_>,
    created: i64,
    nonce: &str,
) -> (String, String) {
    let components = covered.components();
    let items: Vec<Item> = components
        .iter()
        .map(|c| Item {
            bare: Bare::String((*c).to_owned()),
            params: Vec::new(),
        })
        .collect();
    let params = vec![
        ("created".to_owned(), Bare::Integer(created)),
        ("keyid".to_owned(), Bare::String(keypair.did().to_string())),
        ("alg".to_owned(), Bare::String("ed25519".to_owned())),
        ("nonce".to_owned(), Bare::String(nonce.to_owned())),
    ];
    let params = fields::serialize_inner_list(&items, &params);
    let signature = keypair.sign(base(covered, &components, &params).as_bytes());
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
    /// `created`, unix seconds; at most [`AHEAD_SECONDS`] after `now`.
    pub created: i64,
    /// The label it was sent under.
    pub label: String,
}

/// Checks a request's signature at `now` (unix seconds, rounded down).
/// `body` is the full request body; `not_before` the first second whose
/// signatures this node accepts (the second after it started).
pub fn verify(
    covered: &Covered<'_>,
    signature_input: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    not_before: i64,
) -> Result<Verified, SignatureError> {
    let (label, components, params) = parse_input(signature_input, covered)?;
    let bytes = parse_signature(signature, &label)?;
    let parsed = Params::parse(&params)?;
    if covered.content_digest.trim() != content_digest(body) {
        return Err(SignatureError::Digest);
    }
    let date = httpdate::parse_http_date(covered.date.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .ok_or(SignatureError::Date)?;
    if now - parsed.created > WINDOW_SECONDS || (now - date).abs() > WINDOW_SECONDS {
        return Err(SignatureError::Expired);
    }
    if parsed.created - now > AHEAD_SECONDS {
        return Err(SignatureError::Ahead);
    }
    if parsed.created < not_before {
        return Err(SignatureError::BeforeStart);
    }
    let signer: Did = parsed.keyid.parse().map_err(|_| SignatureError::KeyId)?;
    let items: Vec<Item> = components
        .iter()
        .map(|c| Item {
            bare: Bare::String(c.clone()),
            params: Vec::new(),
        })
        .collect();
    let serialized = fields::serialize_inner_list(&items, &params);
    let names: Vec<&str> = components.iter().map(String::as_str).collect();
    signer
        .verifying_key()
        .verify_strict(
            base(covered, &names, &serialized).as_bytes(),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| SignatureError::Invalid)?;
    Ok(Verified {
        signer,
        signature: bytes,
        created: parsed.created,
        label,
    })
}

/// The one member of `Signature-Input`: its label, its components (checked
/// against what `covered` needs) and its parameters.
fn parse_input(
    text: &str,
    covered: &Covered<'_>,
) -> Result<(String, Vec<String>, fields::Params), SignatureError> {
    let bad = |what: String| SignatureError::Input(what);
    let mut members = fields::dictionary(text).map_err(bad)?;
    if members.len() != 1 {
        return Err(bad(format!(
            "exactly one signature is accepted, found {}",
            members.len()
        )));
    }
    let (label, member) = members.remove(0);
    let Member::InnerList(items, params) = member else {
        return Err(bad(format!(
            "`{label}` must be a list of components with parameters"
        )));
    };
    let mut components = Vec::new();
    for item in items {
        match item.bare {
            Bare::String(name) if item.params.is_empty() => components.push(name),
            _ => {
                return Err(bad(
                    "components are plain quoted names, without parameters".into()
                ));
            }
        }
    }
    let needed = covered.components();
    for name in &components {
        if components.iter().filter(|c| *c == name).count() > 1 {
            return Err(bad(format!("component \"{name}\" is listed twice")));
        }
    }
    if covered.purpose.is_some() && !components.iter().any(|c| c == PURPOSE) {
        return Err(bad(format!(
            "the request carries Assure-Purpose, so the signature must cover \"{PURPOSE}\""
        )));
    }
    if covered.purpose.is_none() && components.iter().any(|c| c == PURPOSE) {
        return Err(bad(format!(
            "\"{PURPOSE}\" is covered but the request has no Assure-Purpose header"
        )));
    }
    if components.len() != needed.len() || !needed.iter().all(|n| components.iter().any(|c| c == n))
    {
        let list: Vec<String> = COMPONENTS.iter().map(|c| format!("\"{c}\"")).collect();
        return Err(bad(format!(
            "the covered components must be exactly ({}), plus \"{PURPOSE}\" when \
             Assure-Purpose is sent",
            list.join(" ")
        )));
    }
    Ok((label, components, params))
}

/// The 64 signature bytes of the one member of `Signature`, which must have
/// the label of `Signature-Input`.
fn parse_signature(text: &str, label: &str) -> Result<[u8; 64], SignatureError> {
    let bad = |what: String| SignatureError::Malformed(what);
    let mut members = fields::dictionary(text).map_err(bad)?;
    if members.len() != 1 {
        return Err(bad(format!(
            "exactly one signature is accepted, found {}",
            members.len()
        )));
    }
    let (found, member) = members.remove(0);
    if found != label {
        return Err(bad(format!(
            "the label `{found}` is not the label `{label}` of Signature-Input"
        )));
    }
    match member {
        Member::Item(Item {
            bare: Bare::Bytes(bytes),
            params,
        }) if params.is_empty() => {
            <[u8; 64]>::try_from(bytes).map_err(|_| bad("an ed25519 signature is 64 bytes".into()))
        }
        _ => Err(bad(format!(
            "expected {label}=:<base64 of an ed25519 signature>:"
        ))),
    }
}

/// The parameters of our one accepted `Signature-Input` form.
#[derive(Debug)]
struct Params {
    created: i64,
    keyid: String,
}

impl Params {
    fn parse(params: &fields::Params) -> Result<Self, SignatureError> {
        let bad = |what: &str| SignatureError::Input(what.to_owned());
        let (mut created, mut keyid, mut alg) = (None, None, None);
        for (key, value) in params {
            match (key.as_str(), value) {
                ("created", Bare::Integer(n)) => created = Some(*n),
                ("keyid", Bare::String(s)) => keyid = Some(s.clone()),
                ("alg", Bare::String(s)) => alg = Some(s.as_str()),
                ("nonce", Bare::String(_)) => {}
                ("created", _) => return Err(bad("`created` must be an integer (unix seconds)")),
                ("keyid" | "alg" | "nonce", _) => {
                    return Err(bad(&format!("`{key}` must be a quoted string")));
                }
                (other, _) => return Err(bad(&format!("unknown parameter `{other}`"))),
            }
        }
        let created = created.ok_or_else(|| bad("missing parameter `created`"))?;
        let keyid = keyid.ok_or_else(|| bad("missing parameter `keyid`"))?;
        if alg.ok_or_else(|| bad("missing parameter `alg`"))? != "ed25519" {
            return Err(bad("`alg` must be \"ed25519\""));
        }
        Ok(Self { created, keyid })
    }
}

#[cfg(test)]
mod tests;
