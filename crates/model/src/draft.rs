//! Drafts: what an operator writes to publish a record — a `kind`, optionally a
//! `subject`, and the predicate's own fields — before the node fills in the
//! issuer and time and signs it.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::de::Deserialize as _;

use crate::catalog::Catalog;
use crate::identity::Did;
use crate::identity::Keypair;
use crate::json::{self, JsonError};
use crate::predicate::{Body, Common, Kind, Predicate, UnknownValue};
use crate::record::{Record, ValidationError, issue};
use crate::statement::SubjectRef;

/// The largest draft file accepted, in bytes.
pub const MAX_DRAFT_BYTES: usize = 256 * 1024;

/// Why a draft was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// The file is larger than [`MAX_DRAFT_BYTES`].
    #[error("file is {0} bytes, more than the {MAX_DRAFT_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON, too deep, or a repeated key.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// Not TOML.
    #[error("not valid TOML: {0}")]
    Toml(String),
    /// The top level is not a table or object.
    #[error("expected a table (TOML) or an object (JSON) at the top level")]
    NotATable,
    /// No `kind` field.
    #[error("missing field `kind` (one of: {0})")]
    MissingKind(String),
    /// `kind` is not a record kind.
    #[error(transparent)]
    Kind(#[from] UnknownValue),
    /// `subject` is not a DID.
    #[error("field `subject`: {0}")]
    Subject(String),
    /// A field the node fills in itself.
    #[error("field `{0}` is filled in by the node; remove it from the file")]
    Reserved(&'static str),
    /// A field the kind does not have.
    #[error("unknown field `{field}` for {} record", kind.with_article())]
    UnknownField {
        /// The record kind.
        kind: Kind,
        /// The unknown field's path.
        field: String,
    },
    /// A field is missing or has the wrong type.
    #[error("{kind} record: {detail}")]
    Field {
        /// The record kind.
        kind: Kind,
        /// What is wrong.
        detail: String,
    },
    /// A control id that is not in the catalog.
    #[error("control `{0}` is not in the control catalog (see `assure catalog`)")]
    UnknownControl(String),
    /// A control whose domain differs from the catalog's.
    #[error("control `{id}` belongs to the {expected} domain, not {found}")]
    WrongDomain {
        /// The control id.
        id: String,
        /// The catalog's domain.
        expected: String,
        /// The draft's domain.
        found: String,
    },
    /// The statement the draft makes is not a valid record.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// A record to be issued: its kind, subject and predicate fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// The kind of record.
    pub kind: Kind,
    /// Who the record is about; `None` means the issuing organization.
    pub subject: Option<SubjectRef>,
    /// A part of the issuing organization the record is about, from a
    /// subject written as a fragment alone (`subject = "#site=rotterdam"`),
    /// so that a draft about one's own site names no DID.
    own_fragment: Option<String>,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Draft {
    /// Reads a draft written in JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DraftError> {
        if bytes.len() > MAX_DRAFT_BYTES {
            return Err(DraftError::TooLarge(bytes.len()));
        }
        json::check_structure(bytes)?;
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| JsonError::Syntax(e.to_string()))?;
        Self::from_value(value)
    }

    /// Reads a draft written in TOML. Dates and times may be written as TOML
    /// datetimes or as RFC 3339 strings.
    pub fn from_toml(text: &str) -> Result<Self, DraftError> {
        if text.len() > MAX_DRAFT_BYTES {
            return Err(DraftError::TooLarge(text.len()));
        }
        let table: toml::Table =
            toml::from_str(text).map_err(|e| DraftError::Toml(e.to_string()))?;
        let value = toml_to_json(toml::Value::Table(table));
        let bytes = value.to_string();
        // TOML refuses duplicate keys itself; this bounds the depth.
        json::check_structure(bytes.as_bytes())?;
        Self::from_value(value)
    }

    fn from_value(value: serde_json::Value) -> Result<Self, DraftError> {
        let serde_json::Value::Object(mut fields) = value else {
            return Err(DraftError::NotATable);
        };
        let kinds = Kind::ALL
            .iter()
            .map(Kind::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let kind: Kind = match fields.remove("kind") {
            Some(serde_json::Value::String(kind)) => kind.parse()?,
            _ => return Err(DraftError::MissingKind(kinds)),
        };
        let mut own_fragment = None;
        let subject = match fields.remove("subject") {
            None => None,
            Some(serde_json::Value::String(s)) if s.starts_with('#') => {
                let fragment = &s[1..];
                if fragment.is_empty() || fragment.contains(char::is_whitespace) {
                    return Err(DraftError::Subject(format!(
                        "`{s}`: a fragment such as `#site=rotterdam`"
                    )));
                }
                own_fragment = Some(fragment.to_owned());
                None
            }
            Some(serde_json::Value::String(s)) => {
                Some(s.parse().map_err(|e| DraftError::Subject(format!("{e}")))?)
            }
            Some(_) => return Err(DraftError::Subject("expected a DID string".into())),
        };
        for reserved in ["issuer", "issuedAt"] {
            if fields.contains_key(reserved) {
                return Err(DraftError::Reserved(reserved));
            }
        }
        Ok(Self {
            kind,
            subject,
            own_fragment,
            fields,
        })
    }

    /// The record this draft becomes when `issuer` signs it at `now`: the
    /// one way a draft, from a file, the admin API or a dashboard form,
    /// becomes an envelope.
    pub fn sign(
        self,
        issuer: &Keypair,
        now: Timestamp,
        catalog: &Catalog,
    ) -> Result<(Vec<u8>, Record), DraftError> {
        let (subject, predicate) = self.into_predicate(issuer.did(), now, catalog)?;
        Ok(issue(issuer, &subject, &predicate)?)
    }

    /// The predicate this draft becomes when `issuer` issues it at `now`.
    /// Control ids are checked against `catalog`, and a control's domain is
    /// taken from it when the draft does not name one.
    pub fn into_predicate(
        self,
        issuer: Did,
        now: Timestamp,
        catalog: &Catalog,
    ) -> Result<(SubjectRef, Predicate), DraftError> {
        let kind = self.kind;
        let mut fields = self.fields;
        fields.insert("issuer".into(), issuer.to_string().into());
        fields.insert("issuedAt".into(), now.to_string().into());
        if kind == Kind::Control
            && !fields.contains_key("domain")
            && let Some(control) = fields
                .get("controlId")
                .and_then(|id| id.as_str())
                .and_then(|id| catalog.get(id))
        {
            fields.insert("domain".into(), control.domain.as_str().into());
        }
        let value = serde_json::Value::Object(fields);
        let predicate = parse_strict(kind, &value)?;
        if let Body::Control(control) = &predicate.body {
            check_control(catalog, &control.control_id, predicate.common.domain)?;
        }
        let subject = self.subject.unwrap_or(SubjectRef {
            did: issuer,
            fragment: self.own_fragment,
        });
        Ok((subject, predicate))
    }
}

/// Parses a predicate, refusing fields that neither the common part nor the
/// kind's part knows.
fn parse_strict(kind: Kind, value: &serde_json::Value) -> Result<Predicate, DraftError> {
    let field_error = |e: serde_json::Error| DraftError::Field {
        kind,
        detail: e.to_string(),
    };
    let mut ignored_by_common = BTreeSet::new();
    let mut note_common = |path: serde_ignored::Path<'_>| {
        ignored_by_common.insert(path.to_string());
    };
    let common = json::with_path(value, |de| {
        Common::deserialize(serde_ignored::Deserializer::new(de, &mut note_common))
    })
    .map_err(field_error)?;
    let mut ignored_by_body = BTreeSet::new();
    let body = Body::from_value_with(kind, value, |path| {
        ignored_by_body.insert(path);
    })
    .map_err(field_error)?;
    // Top-level keys belong to one part or the other; nested unknown keys are
    // reported by the part that owns them.
    let unknown = ignored_by_body.iter().find(|path| {
        let top_level = !path.contains('.');
        !top_level || ignored_by_common.contains(*path)
    });
    if let Some(field) = unknown {
        return Err(DraftError::UnknownField {
            kind,
            field: field.clone(),
        });
    }
    Ok(Predicate { common, body })
}

fn check_control(
    catalog: &Catalog,
    id: &str,
    domain: Option<crate::predicate::Domain>,
) -> Result<(), DraftError> {
    let control = catalog
        .get(id)
        .ok_or_else(|| DraftError::UnknownControl(id.to_owned()))?;
    match domain {
        Some(found) if found != control.domain => Err(DraftError::WrongDomain {
            id: id.to_owned(),
            expected: control.domain.to_string(),
            found: found.to_string(),
        }),
        _ => Ok(()),
    }
}

/// TOML values as JSON; TOML datetimes become RFC 3339 strings.
fn toml_to_json(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => J::from(f),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => J::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}
