//! The read decision: may this party read this compartment now?

use assure_model::Did;
use jiff::Timestamp;

use crate::grant::Grant;
use crate::rule::Rule;

/// Why a party may read a compartment: what a disclosure is recorded under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Decision {
    /// The rule admits anyone; no grant was needed or consulted.
    Public,
    /// The party's grant admits it.
    Granted {
        /// The grant's version, for the disclosure log.
        version: u64,
    },
}

impl Decision {
    /// The version of the grant the read rests on, `None` for public data.
    #[cfg(test)]
    fn grant_version(self) -> Option<u64> {
        match self {
            Decision::Public => None,
            Decision::Granted { version } => Some(version),
        }
    }
}

/// Whether `party` may read a compartment with `rule` at `now`, and on what
/// ground. The one place the read rule of DESIGN.md §4 is evaluated.
///
/// `grant` is the grant the reading organization holds for `party`; a grant
/// naming another party is ignored. The read is allowed when the rule is
/// public, or when the grant is active at `now`, its clearance is at least
/// the rule's `min_clearance` and, if the rule names roles or organizations,
/// one of the grant's roles is named or `party` is named. Everything else is
/// `None`, which callers must make look exactly like "no such compartment".
///
/// The owner reading its own compartments is not asked about here: callers
/// let it through before deciding.
#[must_use]
pub(crate) fn decide(
    rule: &Rule,
    party: &Did,
    grant: Option<&Grant>,
    now: Timestamp,
) -> Option<Decision> {
    if rule.is_public() {
        return Some(Decision::Public);
    }
    let grant = grant.filter(|g| g.party == *party && g.is_active(now))?;
    let cleared = grant.clearance >= rule.min_clearance;
    let in_audience = !rule.names_audience()
        || !grant.roles.is_disjoint(&rule.roles)
        || rule.orgs.contains(party);
    (cleared && in_audience).then_some(Decision::Granted {
        version: grant.version,
    })
}

#[cfg(test)]
mod tests {
    use assure_model::Keypair;

    use super::*;
    use crate::{Clearance, Compartment, CompartmentId, Role};

    fn org(n: u8) -> Did {
        Keypair::from_seed([n; 32]).did()
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn grant(party: Did, roles: &[Role], clearance: Clearance) -> Grant {
        let roles = roles.iter().copied().collect();
        Grant::new(party, roles, clearance, "NDA-1", at(0), Some(at(100)), 4).unwrap()
    }

    #[test]
    fn default_compartments() {
        let (customer, regulator) = (org(1), org(2));
        let customer_grant = grant(customer, &[Role::Customer], Clearance::Partner);
        let regulator_grant = grant(regulator, &[Role::Regulator], Clearance::Confidential);
        let compartments: Vec<Compartment> = [
            ("public", Rule::public()),
            ("partners", Rule::partners()),
            ("confidential", Rule::confidential()),
            ("regulators", Rule::regulators()),
            ("incident", Rule::audience([customer], [Role::Regulator])),
        ]
        .into_iter()
        .map(|(label, rule)| {
            Compartment::new(
                CompartmentId::from_bytes([label.len() as u8; 16]),
                label,
                rule,
            )
            .unwrap()
        })
        .collect();
        let labels = |party: &Did, grant: Option<&Grant>, now| -> Vec<(&str, Option<u64>)> {
            compartments
                .iter()
                .filter_map(|c| Some((c, decide(&c.rule, party, grant, now)?)))
                .map(|(c, d)| (c.label.as_str(), d.grant_version()))
                .collect()
        };

        assert_eq!(labels(&customer, None, at(10)), [("public", None)]);
        assert_eq!(
            labels(&customer, Some(&customer_grant), at(10)),
            [
                ("public", None),
                ("partners", Some(4)),
                ("incident", Some(4))
            ]
        );
        assert_eq!(
            labels(&regulator, Some(&regulator_grant), at(10)),
            [
                ("public", None),
                ("partners", Some(4)),
                ("confidential", Some(4)),
                ("regulators", Some(4)),
                ("incident", Some(4)),
            ]
        );
        assert_eq!(
            labels(&regulator, Some(&customer_grant), at(10)),
            [("public", None)]
        );
        assert_eq!(
            labels(&customer, Some(&customer_grant), at(100)),
            [("public", None)]
        );
    }
}
