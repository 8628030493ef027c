//! Access rules and the TLP 2.0 label each one carries in exports.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use assure_model::Did;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{CompartmentError, ParseError};
use crate::words::{Clearance, Role};

/// Who may read a compartment (DESIGN.md §3 and §4).
///
/// A party may read when `min_clearance` is [`Clearance::Public`], or when it
/// holds an active grant with at least `min_clearance` and, if `roles` or
/// `orgs` is not empty, one of its granted roles is in `roles` or the party
/// itself is in `orgs`. [`decide`](crate::decide) is the one place this is
/// evaluated.
///
/// Deserializing refuses unknown fields and a public rule that names roles or
/// organizations; `roles` and `orgs` may be left out when empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct Rule {
    /// The least clearance a grant must carry; `public` admits anyone.
    pub min_clearance: Clearance,
    /// Roles that admit a grant holding one of them. With `orgs`, empty
    /// for both means any role.
    pub roles: BTreeSet<Role>,
    /// Organizations admitted by name, whatever their roles.
    pub orgs: BTreeSet<Did>,
}

impl Rule {
    /// Anyone, with or without a grant: the `public` compartment.
    pub fn public() -> Self {
        Self::at_least(Clearance::Public)
    }

    /// Any party with an active grant: the `partners` compartment.
    pub fn partners() -> Self {
        Self::at_least(Clearance::Partner)
    }

    /// Any party with an active grant of clearance `confidential` or higher:
    /// the `confidential` compartment.
    pub fn confidential() -> Self {
        Self::at_least(Clearance::Confidential)
    }

    /// Parties with an active grant naming the role `regulator`: the
    /// `regulators` compartment.
    pub fn regulators() -> Self {
        Self::audience([], [Role::Regulator])
    }

    /// An explicit audience: parties with an active grant (clearance
    /// `partner` or higher) that are named in `orgs` or hold one of `roles`.
    /// For an incident, the affected parties and `[Role::Regulator]`.
    ///
    /// With both empty this is [`Rule::partners`].
    pub fn audience(
        orgs: impl IntoIterator<Item = Did>,
        roles: impl IntoIterator<Item = Role>,
    ) -> Self {
        Self {
            min_clearance: Clearance::Partner,
            roles: roles.into_iter().collect(),
            orgs: orgs.into_iter().collect(),
        }
    }

    /// The rule a member keeps for a log it replicates, from the TLP label
    /// its author sent: the author tells readers how to handle the log, never
    /// who else reads it. The rule gives the same label back; for
    /// `TLP:AMBER+STRICT` it names `me`, the one reader we know of.
    pub fn as_received(tlp: Tlp, me: Did) -> Self {
        match tlp {
            Tlp::Clear => Self::public(),
            Tlp::Green => Self::partners(),
            Tlp::Amber => Self::confidential(),
            Tlp::AmberStrict => Self::audience([me], []),
            Tlp::Red => Self::at_least(Clearance::Secret),
        }
    }

    fn at_least(min_clearance: Clearance) -> Self {
        Self {
            min_clearance,
            roles: BTreeSet::new(),
            orgs: BTreeSet::new(),
        }
    }

    /// Whether anyone may read, grant or not.
    pub fn is_public(&self) -> bool {
        self.min_clearance == Clearance::Public
    }

    /// Whether the rule narrows its readers by role or by name.
    pub fn names_audience(&self) -> bool {
        !self.roles.is_empty() || !self.orgs.is_empty()
    }

    /// Refuses a public rule that names roles or organizations: it would
    /// suggest a restriction that it does not make.
    pub fn validate(&self) -> Result<(), CompartmentError> {
        if self.is_public() && self.names_audience() {
            return Err(CompartmentError::PublicAudience);
        }
        Ok(())
    }

    /// The TLP 2.0 label exports of this compartment carry, checked in this
    /// order:
    ///
    /// | rule | label |
    /// |---|---|
    /// | `min_clearance` public | `TLP:CLEAR` |
    /// | `min_clearance` secret | `TLP:RED` |
    /// | names organizations | `TLP:AMBER+STRICT` |
    /// | `min_clearance` confidential, or names roles | `TLP:AMBER` |
    /// | `min_clearance` partner, no roles, no organizations | `TLP:GREEN` |
    ///
    /// So `public` → CLEAR, `partners` → GREEN, `confidential` and
    /// `regulators` → AMBER, an incident's audience → AMBER+STRICT.
    pub fn tlp(&self) -> Tlp {
        match self.min_clearance {
            Clearance::Public => Tlp::Clear,
            Clearance::Secret => Tlp::Red,
            _ if !self.orgs.is_empty() => Tlp::AmberStrict,
            Clearance::Confidential => Tlp::Amber,
            Clearance::Partner if self.roles.is_empty() => Tlp::Green,
            Clearance::Partner => Tlp::Amber,
        }
    }
}

/// For tables and logs: `public`, `clearance >= partner`,
/// `clearance >= partner, role regulator or org z6Mk…a1b2c3`. Organizations
/// are shortened; the serialized form carries the full DIDs.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_public() && !self.names_audience() {
            return f.write_str("public");
        }
        write!(f, "clearance >= {}", self.min_clearance)?;
        let roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        let orgs: Vec<String> = self.orgs.iter().map(Did::fmt_short).collect();
        match (roles.is_empty(), orgs.is_empty()) {
            (true, true) => Ok(()),
            (false, true) => write!(f, ", role {}", roles.join("|")),
            (true, false) => write!(f, ", org {}", orgs.join("|")),
            (false, false) => write!(f, ", role {} or org {}", roles.join("|"), orgs.join("|")),
        }
    }
}

/// The serialized form, checked before it becomes a [`Rule`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    min_clearance: Clearance,
    #[serde(default)]
    roles: BTreeSet<Role>,
    #[serde(default)]
    orgs: BTreeSet<Did>,
}

impl TryFrom<RawRule> for Rule {
    type Error = CompartmentError;

    fn try_from(raw: RawRule) -> Result<Self, Self::Error> {
        let rule = Self {
            min_clearance: raw.min_clearance,
            roles: raw.roles,
            orgs: raw.orgs,
        };
        rule.validate()?;
        Ok(rule)
    }
}

/// A Traffic Light Protocol 2.0 label, ordered from least to most
/// restrictive. Written as in the standard: `TLP:CLEAR` … `TLP:RED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tlp {
    /// Disclosure is not limited.
    Clear,
    /// Limited to the recipient's community.
    Green,
    /// Limited to the recipient's organization and its clients, on a need to
    /// know basis.
    Amber,
    /// Limited to the recipient's organization only.
    AmberStrict,
    /// For the named recipients only.
    Red,
}

impl Tlp {
    /// Every label, least restrictive first.
    pub const ALL: &'static [Tlp] = &[
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The label as written in TLP 2.0.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tlp {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tlp::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseError::Unknown {
                what: "TLP label",
                value: s.to_owned(),
                expected: Tlp::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl Serialize for Tlp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Tlp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use assure_model::Keypair;

    use super::*;

    fn org(n: u8) -> Did {
        Keypair::from_seed([n; 32]).did()
    }

    #[test]
    fn default_rules_map_to_tlp_labels() {
        assert_eq!(Rule::public().tlp(), Tlp::Clear);
        assert_eq!(Rule::partners().tlp(), Tlp::Green);
        assert_eq!(Rule::confidential().tlp(), Tlp::Amber);
        assert_eq!(Rule::regulators().tlp(), Tlp::Amber);
        assert_eq!(
            Rule::audience([org(1)], [Role::Regulator]).tlp(),
            Tlp::AmberStrict
        );
        assert_eq!(Rule::audience([org(1)], []).tlp(), Tlp::AmberStrict);
        assert_eq!(Rule::audience([], []).tlp(), Tlp::Green);
    }

    #[test]
    fn received_rules_keep_their_label() {
        for &tlp in Tlp::ALL {
            let rule = Rule::as_received(tlp, org(1));
            assert_eq!(rule.tlp(), tlp);
            assert_eq!(rule.is_public(), tlp == Tlp::Clear);
        }
    }

    #[test]
    fn tlp_by_clearance_and_audience() {
        let rule = |min_clearance, roles: &[Role], orgs: &[Did]| Rule {
            min_clearance,
            roles: roles.iter().copied().collect(),
            orgs: orgs.iter().copied().collect(),
        };
        let named = [org(1), org(2)];
        assert_eq!(
            rule(Clearance::Confidential, &[], &named).tlp(),
            Tlp::AmberStrict
        );
        assert_eq!(
            rule(Clearance::Confidential, &[Role::Auditor], &[]).tlp(),
            Tlp::Amber
        );
        assert_eq!(rule(Clearance::Secret, &[], &[]).tlp(), Tlp::Red);
        assert_eq!(
            rule(Clearance::Secret, &[Role::Auditor], &named).tlp(),
            Tlp::Red
        );
        // Invalid as a compartment's rule, but the label stays CLEAR.
        assert_eq!(
            rule(Clearance::Public, &[Role::Auditor], &[]).tlp(),
            Tlp::Clear
        );
    }

    #[test]
    fn tlp_text_and_serde() {
        let shown: Vec<String> = Tlp::ALL.iter().map(Tlp::to_string).collect();
        assert_eq!(
            shown,
            [
                "TLP:CLEAR",
                "TLP:GREEN",
                "TLP:AMBER",
                "TLP:AMBER+STRICT",
                "TLP:RED"
            ]
        );
        for &t in Tlp::ALL {
            assert_eq!(t.as_str().parse(), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<Tlp>(&json).unwrap(), t);
        }
        let err = "TLP:WHITE".parse::<Tlp>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown TLP label `TLP:WHITE` (expected one of: TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED)"
        );
    }

    #[test]
    fn display() {
        assert_eq!(Rule::public().to_string(), "public");
        assert_eq!(Rule::partners().to_string(), "clearance >= partner");
        assert_eq!(
            Rule::regulators().to_string(),
            "clearance >= partner, role regulator"
        );
        let audience = Rule::audience([org(1)], [Role::Customer, Role::Regulator]);
        assert_eq!(
            audience.to_string(),
            format!(
                "clearance >= partner, role customer|regulator or org {}",
                org(1).fmt_short()
            )
        );
        assert_eq!(
            Rule::audience([org(1)], []).to_string(),
            format!("clearance >= partner, org {}", org(1).fmt_short())
        );
    }

    #[test]
    fn serde_round_trip_and_refusals() {
        let rule = Rule::audience([org(1), org(2)], [Role::Regulator]);
        let json = serde_json::to_string(&rule).unwrap();
        assert!(json.contains(&org(1).to_string()), "full DIDs: {json}");
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);

        let short: Rule = serde_json::from_str(r#"{"min_clearance":"confidential"}"#).unwrap();
        assert_eq!(short, Rule::confidential());

        let unknown =
            serde_json::from_str::<Rule>(r#"{"min_clearance":"partner","role":["auditor"]}"#);
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown field `role`")
        );

        let public =
            serde_json::from_str::<Rule>(r#"{"min_clearance":"public","roles":["auditor"]}"#);
        assert!(
            public
                .unwrap_err()
                .to_string()
                .contains("must not name roles")
        );

        let bad_org =
            serde_json::from_str::<Rule>(r#"{"min_clearance":"partner","orgs":["did:web:x"]}"#);
        assert!(bad_org.is_err());
    }
}
