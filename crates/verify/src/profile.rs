//! Requirement profiles: what an organization requires of one kind of
//! provider (ISO 28000 8.4 g), read from TOML.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use assure_model::Catalog;
use assure_model::Did;
use assure_model::predicate::{AccreditedRole, AuditResult, ControlStatus, Domain, Kind, Severity};
use assure_model::record::is_clause_ref;
use serde::Deserialize;

/// A profile file was refused: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ProfileError {
    /// The 1-based line the problem was found on, when known.
    pub line: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A duration in a profile: `30d`, `12w`, `1y`, `90days`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Age(pub Duration);

impl Age {
    /// Whole days, for messages.
    pub fn days(&self) -> u64 {
        self.0.as_secs() / 86_400
    }

    /// The duration as a signed span for timestamp arithmetic.
    pub fn signed(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::try_from(self.0).unwrap_or(jiff::SignedDuration::MAX)
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} days", self.days())
    }
}

impl<'de> Deserialize<'de> for Age {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        humantime::parse_duration(&text).map(Age).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({e}); expected for example \"30d\", \"12w\" or \"3y\""
            ))
        })
    }
}

/// Who may count towards a `cosigned` requirement.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signer {
    /// The organization the record is about (the auditee of an audit).
    Subject,
    /// A named organization.
    Party(Did),
}

impl<'de> Deserialize<'de> for Signer {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        if text == "subject" {
            return Ok(Signer::Subject);
        }
        text.parse().map(Signer::Party).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is neither \"subject\" nor a did:key identifier"
            ))
        })
    }
}

/// One requirement of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    /// Short id, unique in the profile, e.g. `certified`.
    pub id: String,
    /// The clauses this requirement serves, e.g. `ISO28000:8.4.g`.
    pub clauses: Vec<String>,
    /// What is checked, with its parameters.
    pub rule: Rule,
}

/// What a requirement checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// A current certification audit against `standard` by an auditor
    /// accredited by a trust anchor.
    Certification {
        /// The standard, compared without case and spaces: "ISO 28000:2022".
        standard: String,
        /// The oldest audit accepted, counted from its issue date.
        max_age: Option<Age>,
        /// Audit results that count as certified.
        accept: Vec<AuditResult>,
    },
    /// Controls by catalog id, each at least at `min_status`.
    Control {
        /// What the profile asked for: one id, or "every <domain> control".
        asked: String,
        /// The catalog ids required.
        controls: Vec<String>,
        /// The lowest status accepted.
        min_status: ControlStatus,
        /// The oldest accepted test (or record, when never tested).
        max_age: Option<Age>,
    },
    /// No incident at or above `severity` left open longer than `open_for`
    /// within `window`, and corrective actions for the resolved ones.
    Incidents {
        /// The lowest severity considered.
        severity: Severity,
        /// How long such an incident may stay open.
        open_for: Age,
        /// How far back incidents are considered.
        window: Age,
        /// Whether resolved incidents must list corrective actions.
        corrective_actions: bool,
    },
    /// The provider's current scope covers these processes or services; when
    /// empty, those our relationship with the provider says it supplies.
    Scope {
        /// Processes or services that must be in scope.
        covers: Vec<String>,
    },
    /// The relationship is confirmed by both sides.
    Relationship,
    /// A record of `record` kind carries valid signatures of at least
    /// `threshold` of the eligible parties.
    Cosigned {
        /// The kind of record that must be co-signed.
        record: Kind,
        /// How many eligible signatures are needed.
        threshold: usize,
        /// Named eligible parties.
        signers: BTreeSet<Signer>,
        /// Also eligible: anyone a trust anchor accredits in this role.
        accredited: Option<AccreditedRole>,
    },
}

impl Rule {
    /// The requirement kind as written in profiles.
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::Certification { .. } => "certification",
            Rule::Control { .. } => "control",
            Rule::Incidents { .. } => "incidents",
            Rule::Scope { .. } => "scope",
            Rule::Relationship => "relationship",
            Rule::Cosigned { .. } => "cosigned",
        }
    }
}

/// A requirement profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Short name, e.g. `critical-supplier`.
    pub name: String,
    /// One line saying who the profile is for.
    pub title: String,
    /// blake3 of the file text, hex: names exactly this version.
    pub digest: String,
    /// The requirements, in file order.
    pub requirements: Vec<Requirement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    title: String,
    #[serde(default, rename = "requirement")]
    requirements: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum RawRule {
    Certification {
        standard: String,
        max_age: Option<Age>,
        #[serde(default = "certified")]
        accept: Vec<AuditResult>,
    },
    Control {
        control: Option<String>,
        domain: Option<Domain>,
        #[serde(default = "implemented")]
        min_status: ControlStatus,
        max_age: Option<Age>,
    },
    Incidents {
        severity: Severity,
        open_for: Age,
        window: Age,
        #[serde(default = "yes")]
        corrective_actions: bool,
    },
    Scope {
        #[serde(default)]
        covers: Vec<String>,
    },
    Relationship {},
    Cosigned {
        record: Kind,
        threshold: usize,
        #[serde(default)]
        signers: BTreeSet<Signer>,
        accredited: Option<AccreditedRole>,
    },
}

fn certified() -> Vec<AuditResult> {
    vec![AuditResult::Certified]
}

fn implemented() -> ControlStatus {
    ControlStatus::Implemented
}

fn yes() -> bool {
    true
}

impl Profile {
    /// Reads a profile, checking control ids against `catalog`.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Self, ProfileError> {
        let raw: RawProfile = toml::from_str(text).map_err(|e| ProfileError {
            line: e.span().map(|span| line_of(text, span.start)),
            message: e.message().to_owned(),
        })?;
        if raw.requirements.is_empty() {
            return Err(ProfileError {
                line: None,
                message: "a profile needs at least one [[requirement]]".into(),
            });
        }
        let mut ids = BTreeSet::new();
        let mut requirements = Vec::with_capacity(raw.requirements.len());
        for spanned in raw.requirements {
            let line = line_of(text, spanned.span().start);
            let fail = |message: String| ProfileError {
                line: Some(line),
                message,
            };
            let requirement = Requirement::from_table(spanned.into_inner(), catalog)
                .map_err(|message| fail(message.clone()))?;
            if !ids.insert(requirement.id.clone()) {
                return Err(fail(format!(
                    "requirement id `{}` is used twice",
                    requirement.id
                )));
            }
            requirements.push(requirement);
        }
        Ok(Self {
            name: raw.name,
            title: raw.title,
            digest: blake3::hash(text.as_bytes()).to_hex().to_string(),
            requirements,
        })
    }
}

impl Requirement {
    fn from_table(mut table: toml::Table, catalog: &Catalog) -> Result<Self, String> {
        let id = match table.remove("id") {
            Some(toml::Value::String(id)) if !id.trim().is_empty() => id,
            Some(_) => return Err("`id` must be a non-empty string".into()),
            None => return Err("missing field `id` (a short name such as \"certified\")".into()),
        };
        let within = |message: String| format!("requirement `{id}`: {message}");
        let clauses: Vec<String> = match table.remove("clauses") {
            Some(value) => value
                .try_into()
                .map_err(|_| within("`clauses` must be a list of strings".into()))?,
            None => {
                return Err(within(
                    "missing field `clauses` (the clauses it serves, e.g. [\"ISO28000:8.4.g\"])"
                        .into(),
                ));
            }
        };
        if clauses.is_empty() {
            return Err(within("`clauses` must name at least one clause".into()));
        }
        if let Some(bad) = clauses.iter().find(|c| !is_clause_ref(c)) {
            return Err(within(format!(
                "`{bad}` is not a clause reference such as ISO28000:8.4.g"
            )));
        }
        if !table.contains_key("kind") {
            return Err(within(
                "missing field `kind` (certification, control, incidents, scope, relationship \
                 or cosigned)"
                    .into(),
            ));
        }
        let raw: RawRule = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| within(e.message().trim().to_owned()))?;
        let rule = Rule::resolve(raw, catalog).map_err(within)?;
        Ok(Self { id, clauses, rule })
    }
}

impl Rule {
    fn resolve(raw: RawRule, catalog: &Catalog) -> Result<Self, String> {
        Ok(match raw {
            RawRule::Certification {
                standard,
                max_age,
                accept,
            } => {
                if standard.trim().is_empty() {
                    return Err("`standard` must name a standard, e.g. \"ISO 28000:2022\"".into());
                }
                if accept.is_empty() {
                    return Err("`accept` must list at least one audit result".into());
                }
                Rule::Certification {
                    standard,
                    max_age,
                    accept,
                }
            }
            RawRule::Control {
                control,
                domain,
                min_status,
                max_age,
            } => {
                let (asked, controls) = match (control, domain) {
                    (Some(id), None) => {
                        if catalog.get(&id).is_none() {
                            return Err(format!(
                                "unknown control id `{id}` (see `assure catalog` for the ids)"
                            ));
                        }
                        (format!("control {id}"), vec![id])
                    }
                    (None, Some(domain)) => (
                        format!("every {domain} control"),
                        catalog.in_domain(domain).map(|c| c.id.clone()).collect(),
                    ),
                    _ => {
                        return Err(
                            "give exactly one of `control` (a catalog id) or `domain`".into()
                        );
                    }
                };
                Rule::Control {
                    asked,
                    controls,
                    min_status,
                    max_age,
                }
            }
            RawRule::Incidents {
                severity,
                open_for,
                window,
                corrective_actions,
            } => Rule::Incidents {
                severity,
                open_for,
                window,
                corrective_actions,
            },
            RawRule::Scope { covers } => Rule::Scope { covers },
            RawRule::Relationship {} => Rule::Relationship,
            RawRule::Cosigned {
                record,
                threshold,
                signers,
                accredited,
            } => {
                if threshold == 0 {
                    return Err("`threshold` must be at least 1".into());
                }
                if accredited.is_none() && threshold > signers.len() {
                    return Err(format!(
                        "`threshold` {threshold} is more than the {} signers named",
                        signers.len()
                    ));
                }
                Rule::Cosigned {
                    record,
                    threshold,
                    signers,
                    accredited,
                }
            }
        })
    }
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
