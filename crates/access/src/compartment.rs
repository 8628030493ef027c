//! Compartments: an opaque id, a local label and the rule of who may read.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{CompartmentError, ParseError};
use crate::rule::Rule;

/// A compartment's opaque random id (16 bytes), written as 32 lowercase hex
/// characters. It names the compartment's log in checkpoints
/// (`assure/<did>/<id>`) and says nothing about its content.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompartmentId([u8; 16]);

impl CompartmentId {
    /// A new id from the operating system's random source.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The id with these bytes (decoding stored keys, tests).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Short form for logs and tables: the first 8 hex characters.
    pub fn fmt_short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for CompartmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CompartmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompartmentId({self})")
    }
}

impl FromStr for CompartmentId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 16];
        if !is_id_text(s) || hex::decode_to_slice(s, &mut bytes).is_err() {
            return Err(ParseError::CompartmentId(s.to_owned()));
        }
        Ok(Self(bytes))
    }
}

/// Whether `s` has the text form of a compartment id.
fn is_id_text(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Serialize for CompartmentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CompartmentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One compartment of an organization's records (DESIGN.md §3): its own
/// append-only log, read by exactly the parties its [`Rule`] admits.
///
/// The label is local: it is shown to the owner and never to other parties.
/// Deserializing checks the label and the rule as [`Compartment::new`] does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCompartment")]
pub struct Compartment {
    /// The opaque id.
    pub id: CompartmentId,
    /// The local label, such as `partners`: 1 to 64 characters of
    /// `a-z 0-9 - _ .`.
    pub label: String,
    /// Who may read it.
    pub rule: Rule,
}

impl Compartment {
    /// The longest label, in characters.
    pub const MAX_LABEL_LEN: usize = 64;

    /// A compartment, refusing an invalid label or rule.
    pub fn new(
        id: CompartmentId,
        label: impl Into<String>,
        rule: Rule,
    ) -> Result<Self, CompartmentError> {
        let compartment = Self {
            id,
            label: label.into(),
            rule,
        };
        compartment.validate()?;
        Ok(compartment)
    }

    /// Checks the label and the rule (the fields are public, so a value built
    /// by hand may not hold).
    pub fn validate(&self) -> Result<(), CompartmentError> {
        Self::validate_label(&self.label)?;
        self.rule.validate()
    }

    /// Checks a label: 1 to 64 characters of `a-z 0-9 - _ .`, and not 32 hex
    /// characters, which would read as a compartment id where either is
    /// accepted.
    pub fn validate_label(label: &str) -> Result<(), CompartmentError> {
        if label.is_empty() {
            return Err(CompartmentError::EmptyLabel);
        }
        let chars = label.chars().count();
        if chars > Self::MAX_LABEL_LEN {
            return Err(CompartmentError::LabelTooLong {
                chars,
                max: Self::MAX_LABEL_LEN,
            });
        }
        let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.');
        if let Some(found) = label.chars().find(|&c| !allowed(c)) {
            return Err(CompartmentError::LabelCharacter {
                label: label.to_owned(),
                found,
            });
        }
        if is_id_text(label) {
            return Err(CompartmentError::LabelLooksLikeId(label.to_owned()));
        }
        Ok(())
    }
}

/// The serialized form, checked before it becomes a [`Compartment`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompartment {
    id: CompartmentId,
    label: String,
    rule: Rule,
}

impl TryFrom<RawCompartment> for Compartment {
    type Error = CompartmentError;

    fn try_from(raw: RawCompartment) -> Result<Self, Self::Error> {
        Self::new(raw.id, raw.label, raw.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: CompartmentId = CompartmentId::from_bytes([
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32,
        0x10,
    ]);

    #[test]
    fn id_text_is_32_lowercase_hex() {
        assert_eq!(ID.to_string(), "0123456789abcdeffedcba9876543210");
        assert_eq!(ID.fmt_short(), "01234567");
        assert_eq!(
            format!("{ID:?}"),
            "CompartmentId(0123456789abcdeffedcba9876543210)"
        );
        assert_eq!("0123456789abcdeffedcba9876543210".parse(), Ok(ID));
        for bad in [
            "",
            "0123456789ABCDEFFEDCBA9876543210",
            "0123456789abcdeffedcba987654321",
            "0123456789abcdeffedcba98765432100",
            "0123456789abcdeffedcba987654321g",
            " 123456789abcdeffedcba9876543210",
        ] {
            assert_eq!(
                bad.parse::<CompartmentId>(),
                Err(ParseError::CompartmentId(bad.to_owned()))
            );
        }
        let err = "xyz".parse::<CompartmentId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`xyz` is not a compartment id (expected 32 lowercase hex characters)"
        );
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(
            CompartmentId::random().unwrap(),
            CompartmentId::random().unwrap()
        );
    }

    #[test]
    fn compartment_round_trips_through_json() {
        let compartment = Compartment::new(ID, "regulators", Rule::regulators()).unwrap();
        let json = serde_json::to_value(&compartment).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "0123456789abcdeffedcba9876543210",
                "label": "regulators",
                "rule": {"min_clearance": "partner", "roles": ["regulator"], "orgs": []},
            })
        );
        assert_eq!(
            serde_json::from_value::<Compartment>(json).unwrap(),
            compartment
        );
    }

    #[test]
    fn deserializing_checks_fields_and_label() {
        let with = |label: &str, extra: bool| {
            let mut json = serde_json::json!({
                "id": ID.to_string(),
                "label": label,
                "rule": {"min_clearance": "public"},
            });
            if extra {
                json["owner"] = "me".into();
            }
            serde_json::from_value::<Compartment>(json)
        };
        assert!(with("public", false).is_ok());
        assert!(
            with("public", true)
                .unwrap_err()
                .to_string()
                .contains("unknown field `owner`")
        );
        assert!(
            with("Public", false)
                .unwrap_err()
                .to_string()
                .contains("holds `P`")
        );
    }

    #[test]
    fn labels() {
        for good in ["public", "a", "incident-2026.04_affected", &"x".repeat(64)] {
            assert_eq!(Compartment::validate_label(good), Ok(()), "{good}");
        }
        assert_eq!(
            Compartment::validate_label(""),
            Err(CompartmentError::EmptyLabel)
        );
        assert_eq!(
            Compartment::validate_label(&"x".repeat(65)),
            Err(CompartmentError::LabelTooLong { chars: 65, max: 64 })
        );
        assert_eq!(
            Compartment::validate_label("two words"),
            Err(CompartmentError::LabelCharacter {
                label: "two words".into(),
                found: ' '
            })
        );
        assert_eq!(
            Compartment::validate_label("café"),
            Err(CompartmentError::LabelCharacter {
                label: "café".into(),
                found: 'é'
            })
        );
        assert_eq!(
            Compartment::validate_label(&ID.to_string()),
            Err(CompartmentError::LabelLooksLikeId(ID.to_string()))
        );
    }

    #[test]
    fn a_public_rule_naming_an_audience_is_refused() {
        let mut rule = Rule::regulators();
        rule.min_clearance = crate::Clearance::Public;
        assert_eq!(
            Compartment::new(ID, "odd", rule),
            Err(CompartmentError::PublicAudience)
        );
    }
}
