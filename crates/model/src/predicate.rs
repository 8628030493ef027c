//! Typed predicates: the fields common to every record and those of each kind
//! (DESIGN.md §2).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::dsse::RecordId;
use crate::identity::Did;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in records.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: stringify!($name),
                        value: s.to_owned(),
                        expected: vec![$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

/// A word that is not one of an enumeration's values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {what} `{value}` (expected one of: {expected})")]
pub struct UnknownValue {
    /// The enumeration.
    pub what: &'static str,
    /// The refused word.
    pub value: String,
    /// The accepted words.
    pub expected: String,
}

string_enum! {
    /// The kind of a record, named in `predicateType` as `urn:assure:<kind>:v1`.
    Kind {
        /// Who the organization is.
        Profile = "profile",
        /// What its security management system covers.
        Scope = "scope",
        /// One implemented (or planned) control.
        Control = "control",
        /// An audit's result.
        Audit = "audit",
        /// A security incident and its handling.
        Incident = "incident",
        /// A supplier–customer relationship.
        Relationship = "relationship",
        /// A trust anchor's accreditation of an auditor or operator.
        Accreditation = "accreditation",
        /// A verifying organization's signed verdict about a provider.
        Verification = "verification",
        /// The withdrawal of an earlier record.
        Withdrawal = "withdrawal",
    }
}

impl Kind {
    /// The in-toto `predicateType` of this kind.
    pub fn predicate_type(&self) -> String {
        format!("urn:assure:{}:v1", self.as_str())
    }

    /// The kind with its indefinite article, for messages: "an audit",
    /// "a profile".
    pub fn with_article(&self) -> String {
        let word = self.as_str();
        match word.starts_with(['a', 'e', 'i', 'o', 'u']) {
            true => format!("an {word}"),
            false => format!("a {word}"),
        }
    }

    /// The kind named by a `predicateType`, if it is one of ours.
    pub fn from_predicate_type(predicate_type: &str) -> Option<Self> {
        predicate_type
            .strip_prefix("urn:assure:")?
            .strip_suffix(":v1")?
            .parse()
            .ok()
    }
}

string_enum! {
    /// The five protective-security domains of ISO 22340 5.2.
    Domain {
        /// Governance.
        Governance = "governance",
        /// Personnel.
        Personnel = "personnel",
        /// Information.
        Information = "information",
        /// Cyber.
        Cyber = "cyber",
        /// Physical.
        Physical = "physical",
    }
}

string_enum! {
    /// How far a control is in place.
    ControlStatus {
        /// In place and operating.
        Implemented = "implemented",
        /// Partly in place.
        Partial = "partial",
        /// Decided but not yet in place.
        Planned = "planned",
        /// Does not apply to this organization.
        NotApplicable = "not-applicable",
    }
}

string_enum! {
    /// Who ran an audit, relative to the auditee.
    AuditType {
        /// The organization's own audit (ISO 28000 9.2).
        Internal = "internal",
        /// An audit by a customer or other interested party.
        SecondParty = "second-party",
        /// A certification audit by an accredited body.
        Certification = "certification",
    }
}

string_enum! {
    /// The conclusion of an audit.
    AuditResult {
        /// Certificate granted or maintained.
        Certified = "certified",
        /// No nonconformity found.
        Conformant = "conformant",
        /// Only minor nonconformities.
        MinorNonconformities = "minor-nonconformities",
        /// At least one major nonconformity.
        MajorNonconformities = "major-nonconformities",
        /// Certification refused, suspended or withdrawn.
        NotCertified = "not-certified",
    }
}

string_enum! {
    /// Severity of a finding or an incident, ordered.
    Severity {
        /// Little effect.
        Low = "low",
        /// Noticeable effect.
        Medium = "medium",
        /// Serious effect.
        High = "high",
        /// Threatens operations or safety.
        Critical = "critical",
    }
}

string_enum! {
    /// Where an incident stands.
    IncidentStatus {
        /// Being handled.
        Open = "open",
        /// Stopped from spreading, not yet resolved.
        Contained = "contained",
        /// Closed.
        Resolved = "resolved",
    }
}

string_enum! {
    /// What a trust anchor accredits an organization as.
    AccreditedRole {
        /// May issue certification audits.
        Auditor = "auditor",
        /// A recognised operator (AEO, C-TPAT, TAPA…).
        Operator = "operator",
    }
}

string_enum! {
    /// Overall or per-requirement outcome of a verification.
    Outcome {
        /// Requirement met.
        Pass = "pass",
        /// Requirement not met.
        Fail = "fail",
        /// Not enough visible evidence to decide.
        Inconclusive = "inconclusive",
    }
}

/// Fields every predicate carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    /// The issuing organization; the envelope's first signature is its key's.
    pub issuer: Did,
    /// When the issuer made the record.
    pub issued_at: Timestamp,
    /// After this moment the record counts as absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Earlier records this one replaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<RecordId>,
    /// Clauses the record serves, e.g. `ISO28000:8.4`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clauses: Vec<String>,
    /// The ISO 22340 domain the record belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
}

/// `profile`: who the organization is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Registered legal name.
    pub legal_name: String,
    /// Identifiers by scheme, e.g. `lei`, `aeo`, `ctpat`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identifiers: BTreeMap<String, String>,
    /// Roles in the supply chain (manufacturer, supplier, logistics, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Where to report a security problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_contact: Option<String>,
}

/// A site covered by a scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    /// Short id, used as a subject fragment (`#site=<id>`).
    pub id: String,
    /// Name and address.
    pub name: String,
    /// ISO 3166 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A process another organization performs for this one (ISO 28000 4.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalProcess {
    /// What is done.
    pub process: String,
    /// Who does it.
    pub provider: Did,
    /// Catalog ids of the controls required of the provider.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_controls: Vec<String>,
}

/// `scope`: what the security management system covers (ISO 28000 4.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// Sites covered.
    #[serde(default)]
    pub sites: Vec<Site>,
    /// Processes covered.
    #[serde(default)]
    pub processes: Vec<String>,
    /// Services offered to customers under the system.
    #[serde(default)]
    pub services: Vec<String>,
    /// What is explicitly left out, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<String>,
    /// Processes performed by providers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_processes: Vec<ExternalProcess>,
}

/// A digest of a piece of evidence kept by the organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// What the evidence is.
    pub description: String,
    /// Its digest, `<algorithm>:<hex>`.
    pub digest: String,
}

/// `control`: one control and its state (ISO 28000 8.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    /// Catalog id, e.g. `ISO28000:8.4.f`.
    pub control_id: String,
    /// How far it is in place.
    pub status: ControlStatus,
    /// How the organization meets it, in its own words.
    pub statement: String,
    /// Evidence kept, by digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// When it was last tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tested: Option<Timestamp>,
}

/// A period of time, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

/// One finding of an audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The clause concerned, e.g. `ISO28000:8.4`.
    pub clause: String,
    /// How serious.
    pub severity: Severity,
    /// What was found.
    pub description: String,
}

/// `audit`: an audit's outcome, issued by the auditor (ISO 28000 9.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    /// Internal, second-party or certification.
    pub audit_type: AuditType,
    /// The standard audited against, e.g. `ISO 28000:2022`.
    pub standard: String,
    /// The auditee's `scope` record the audit covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_ref: Option<RecordId>,
    /// When the audit took place.
    pub period: Period,
    /// The conclusion.
    pub result: AuditResult,
    /// Findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Certificate number, for certification audits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_number: Option<String>,
}

/// A corrective action taken after an incident (ISO 28000 10.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrectiveAction {
    /// What is done.
    pub description: String,
    /// When it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    /// When it was completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Date>,
}

/// `incident`: a security incident; updates supersede earlier versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Category, e.g. `cargo-tampering`, `cyber-intrusion`.
    pub category: String,
    /// How serious.
    pub severity: Severity,
    /// What happened, for the partners who receive it.
    pub summary: String,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When it was detected.
    pub detected_at: Timestamp,
    /// Where it stands.
    pub status: IncidentStatus,
    /// Partners affected, who receive a notice (ISO 28000 8.6.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Did>,
    /// What is done about it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrective_actions: Vec<CorrectiveAction>,
}

/// `relationship`: one organization supplies another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// The providing organization.
    pub supplier: Did,
    /// The receiving organization.
    pub customer: Did,
    /// Processes or services supplied.
    pub supplies: Vec<String>,
    /// Since when.
    pub since: Date,
}

/// `accreditation`: a trust anchor recognises an auditor or operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accreditation {
    /// What the subject is accredited as.
    pub role: AccreditedRole,
    /// Standards or programmes covered, e.g. `ISO 28000:2022`, `AEO`.
    pub programmes: Vec<String>,
    /// The anchor's reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// The outcome of one requirement in a published verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequirementOutcome {
    /// The requirement's id within the profile.
    pub requirement: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Why, in plain words.
    pub reason: String,
    /// Records relied on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<RecordId>,
}

/// `verification`: a signed verdict about a provider against a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The profile's name.
    pub profile: String,
    /// blake3 of the profile file, hex.
    pub profile_digest: String,
    /// Overall outcome.
    pub result: Outcome,
    /// Per requirement.
    #[serde(default)]
    pub outcomes: Vec<RequirementOutcome>,
    /// Whether the verdict relied on another verifier's verdicts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transitive: bool,
}

/// `withdrawal`: the issuer withdraws one of its records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    /// The withdrawn record.
    pub withdrawn: RecordId,
    /// Why.
    pub reason: String,
}

/// The kind-specific part of a predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Body {
    Profile(Profile),
    Scope(Scope),
    Control(Control),
    Audit(Audit),
    Incident(Incident),
    Relationship(Relationship),
    Accreditation(Accreditation),
    Verification(Verification),
    Withdrawal(Withdrawal),
}

/// A predicate: common fields plus the fields of its kind, one JSON object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicate {
    /// Fields every record carries.
    pub common: Common,
    /// Fields of the record's kind.
    pub body: Body,
}

impl Body {
    /// The kind of this body.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Profile(_) => Kind::Profile,
            Body::Scope(_) => Kind::Scope,
            Body::Control(_) => Kind::Control,
            Body::Audit(_) => Kind::Audit,
            Body::Incident(_) => Kind::Incident,
            Body::Relationship(_) => Kind::Relationship,
            Body::Accreditation(_) => Kind::Accreditation,
            Body::Verification(_) => Kind::Verification,
            Body::Withdrawal(_) => Kind::Withdrawal,
        }
    }

    /// Reads the fields of `kind` from a predicate object.
    pub fn from_value(kind: Kind, value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        crate::json::with_path(value, |de| Self::deserialize(kind, de))
    }

    /// Like [`Body::from_value`], calling `on_ignored` with the path of every
    /// field the kind does not have.
    pub fn from_value_with(
        kind: Kind,
        value: &serde_json::Value,
        mut on_ignored: impl FnMut(String),
    ) -> Result<Self, serde_json::Error> {
        let mut note = |path: serde_ignored::Path<'_>| on_ignored(path.to_string());
        crate::json::with_path(value, |de| {
            Self::deserialize(kind, serde_ignored::Deserializer::new(de, &mut note))
        })
    }

    fn deserialize<'de, D: serde::Deserializer<'de>>(kind: Kind, de: D) -> Result<Self, D::Error> {
        Ok(match kind {
            Kind::Profile => Body::Profile(Profile::deserialize(de)?),
            Kind::Scope => Body::Scope(Scope::deserialize(de)?),
            Kind::Control => Body::Control(Control::deserialize(de)?),
            Kind::Audit => Body::Audit(Audit::deserialize(de)?),
            Kind::Incident => Body::Incident(Incident::deserialize(de)?),
            Kind::Relationship => Body::Relationship(Relationship::deserialize(de)?),
            Kind::Accreditation => Body::Accreditation(Accreditation::deserialize(de)?),
            Kind::Verification => Body::Verification(Verification::deserialize(de)?),
            Kind::Withdrawal => Body::Withdrawal(Withdrawal::deserialize(de)?),
        })
    }

    fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            Body::Profile(b) => serde_json::to_value(b),
            Body::Scope(b) => serde_json::to_value(b),
            Body::Control(b) => serde_json::to_value(b),
            Body::Audit(b) => serde_json::to_value(b),
            Body::Incident(b) => serde_json::to_value(b),
            Body::Relationship(b) => serde_json::to_value(b),
            Body::Accreditation(b) => serde_json::to_value(b),
            Body::Verification(b) => serde_json::to_value(b),
            Body::Withdrawal(b) => serde_json::to_value(b),
        }
    }
}

impl Predicate {
    /// Reads a predicate object of the given kind from JSON text. Parses the
    /// text directly; only when that fails does it parse again through a
    /// `Value` to name the field at fault.
    pub fn from_json(kind: Kind, json: &str) -> Result<Self, serde_json::Error> {
        let direct = serde_json::from_str::<Common>(json).and_then(|common| {
            let mut de = serde_json::Deserializer::from_str(json);
            let body = Body::deserialize(kind, &mut de)?;
            de.end()?;
            Ok(Self { common, body })
        });
        match direct {
            Ok(predicate) => Ok(predicate),
            Err(error) => {
                let value: serde_json::Value = serde_json::from_str(json).map_err(|_| error)?;
                Self::from_value(kind, &value)
            }
        }
    }

    /// Reads a predicate object of the given kind.
    pub fn from_value(kind: Kind, value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        Ok(Self {
            common: crate::json::with_path(value, |de| Common::deserialize(de))?,
            body: Body::from_value(kind, value)?,
        })
    }

    /// The predicate as one JSON object: common fields first, then the kind's.
    pub fn to_value(&self) -> serde_json::Value {
        // Both parts are plain structs of strings, numbers and lists; they
        // serialize to objects without error.
        #[allow(clippy::expect_used)]
        let (common, body) = (
            serde_json::to_value(&self.common).expect("common fields serialize"),
            self.body.to_value().expect("predicate body serializes"),
        );
        let mut object = match common {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        if let serde_json::Value::Object(fields) = body {
            object.extend(fields);
        }
        serde_json::Value::Object(object)
    }
}
