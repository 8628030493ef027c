//! in-toto Statement v1 (<https://github.com/in-toto/attestation>), the
//! payload of every record, and the subject naming the organization a record
//! is about.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::identity::{Did, IdentityError};

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// An in-toto statement with its predicate still untyped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// Must be [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// What the statement is about; the first subject is the organization.
    pub subject: Vec<Subject>,
    /// `urn:assure:<kind>:v1`.
    pub predicate_type: String,
    /// The predicate object.
    pub predicate: serde_json::Value,
}

/// One in-toto subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The subject's name: a DID, optionally with a fragment.
    pub name: String,
    /// Digests by algorithm; ours carry `blake3` of the subject's public key.
    pub digest: BTreeMap<String, String>,
}

/// The organization (and optionally a site or process of it) a record is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectRef {
    /// The organization.
    pub did: Did,
    /// A site or process, e.g. `site=rotterdam`.
    pub fragment: Option<String>,
}

impl SubjectRef {
    /// The organization as a whole.
    pub fn org(did: Did) -> Self {
        Self {
            did,
            fragment: None,
        }
    }

    /// The in-toto subject for this reference.
    pub fn to_subject(&self) -> Subject {
        Subject {
            name: self.to_string(),
            digest: BTreeMap::from([("blake3".to_owned(), self.did.digest_hex())]),
        }
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fragment {
            Some(fragment) => write!(f, "{}#{fragment}", self.did),
            None => write!(f, "{}", self.did),
        }
    }
}

impl FromStr for SubjectRef {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (did, fragment) = match s.split_once('#') {
            Some((did, fragment)) => (did, Some(fragment.to_owned())),
            None => (s, None),
        };
        Ok(Self {
            did: did.parse()?,
            fragment,
        })
    }
}

impl Serialize for SubjectRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SubjectRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
