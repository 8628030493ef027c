//! Sharing per relationship (DESIGN.md §3, "Audience compartments"; ISO
//! 22340 8.2.2 need-to-know, 8.3 sharing agreements between organizations):
//! which organizations a record names, the compartment it goes to when the
//! operator names none, and the third-party rule that keeps a multi-party
//! compartment from telling one customer who the others are.
//!
//! Everything here is a pure function of the record's fields and a
//! compartment's [`Rule`]; today's grants only ever appear in messages
//! ([`readers`]), never in the decision, so a compartment that happens to
//! have one reader today cannot leak to the second one granted tomorrow.

use std::collections::BTreeSet;

use assure_model::{Body, Did};
use jiff::Timestamp;

use crate::decision::decide;
use crate::grant::Grant;
use crate::rule::Rule;
use crate::words::{Clearance, Role};

/// The organizations other than `us` that a record names: its subject (for
/// an audit, the auditee), a relationship's supplier and customer, and an
/// incident's affected parties. These are the record's **parties**; a
/// compartment whose readers are among them (and regulators) tells no one
/// anything about someone else.
///
/// `us` is the organization publishing the record, whoever issued it: the
/// auditee republishing its auditor's audit names no one but itself. The
/// issuer is not a party: an envelope always shows who signed it, and a
/// party that may read the compartment learns the issuer either way.
///
/// The providers of a `scope`'s external processes are not counted: the
/// design lists exactly the fields above (DESIGN.md §3).
pub fn parties(subject: &Did, body: &Body, us: &Did) -> BTreeSet<Did> {
    let mut named = BTreeSet::from([*subject]);
    match body {
        Body::Relationship(r) => {
            named.insert(r.supplier);
            named.insert(r.customer);
        }
        Body::Incident(i) => named.extend(i.affected.iter().copied()),
        _ => {}
    }
    named.remove(us);
    named
}

/// The rule of the compartment a record goes to when the operator names
/// none: exactly its [`parties`], and for an incident regulators too (the
/// affected parties and the authorities are who ISO 28000 8.6.3 warns).
/// So a `relationship` goes to the compartment of its other party, an
/// `audit` to the auditor's compartment for exactly that auditee.
///
/// `None` when the record names no one but us: a control, a scope, a
/// profile or an incident without affected parties has no natural audience,
/// and the operator must choose one.
pub fn default_rule(body: &Body, parties: &BTreeSet<Did>) -> Option<Rule> {
    if parties.is_empty() {
        return None;
    }
    let roles: &[Role] = match body {
        Body::Incident(_) => &[Role::Regulator],
        _ => &[],
    };
    Some(Rule::audience(
        parties.iter().copied(),
        roles.iter().copied(),
    ))
}

/// Who a rule lets read beyond a record's parties and regulators: why
/// [`wider_than`] refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Beyond {
    /// The rule is public: anyone at all, grant or not.
    Anyone,
    /// The rule names no roles and no organizations: every party holding an
    /// active grant of at least this clearance.
    EveryGrantee(Clearance),
    /// The rule names roles other than `regulator`, or organizations that
    /// are not among the record's parties (either set may be empty, not
    /// both).
    Named {
        /// Roles, other than `regulator`, whose every holder may read.
        roles: BTreeSet<Role>,
        /// Organizations admitted by name that the record does not name.
        orgs: BTreeSet<Did>,
    },
}

/// The third-party rule: `Some` when a record naming `parties` (see
/// [`parties`]) must not go to a compartment with `rule`, because the rule
/// admits someone else; `None` when it may.
///
/// Precisely, a record that names no party but us may go anywhere. A record
/// that names parties may go to a compartment only when every party the rule
/// can ever admit is one of those parties or a holder of the `regulator`
/// role, whatever grants are made later:
///
/// - a public rule admits anyone ([`Beyond::Anyone`]);
/// - a rule naming neither roles nor organizations (`partners`,
///   `confidential`) admits every grantee ([`Beyond::EveryGrantee`]);
/// - a rule naming a role other than `regulator` admits every holder of it,
///   and a rule naming an organization the record does not name admits
///   that organization ([`Beyond::Named`]).
///
/// `min_clearance` only narrows, so it does not matter here.
///
/// **Regulators may read.** A rule that admits the `regulator` role, beside
/// the record's parties or alone (`regulators`), is not "others": the
/// authorities that supervise us are entitled to what we tell our
/// counterparties, and an incident's default audience is its affected
/// parties plus regulators (ISO 28000 8.6.3). A party we grant the
/// `regulator` role is trusted with every record that names someone.
///
/// The decision depends on the rule alone, never on today's grants: a
/// `partners` compartment with a single reader today is still refused.
pub fn wider_than(rule: &Rule, parties: &BTreeSet<Did>) -> Option<Beyond> {
    if parties.is_empty() {
        return None;
    }
    if rule.is_public() {
        return Some(Beyond::Anyone);
    }
    if !rule.names_audience() {
        return Some(Beyond::EveryGrantee(rule.min_clearance));
    }
    let roles: BTreeSet<Role> = rule
        .roles
        .iter()
        .copied()
        .filter(|r| *r != Role::Regulator)
        .collect();
    let orgs: BTreeSet<Did> = rule.orgs.difference(parties).copied().collect();
    (!roles.is_empty() || !orgs.is_empty()).then_some(Beyond::Named { roles, orgs })
}

/// The parties that may read a compartment with `rule` at `now` by the
/// grants we hold, in the order of `grants`: who "today" means in a refusal
/// and in the list of compartments. A public rule is read by anyone besides
/// these.
pub fn readers<'g>(
    rule: &Rule,
    grants: impl IntoIterator<Item = &'g Grant>,
    now: Timestamp,
) -> Vec<Did> {
    grants
        .into_iter()
        .filter(|g| decide(rule, &g.party, Some(g), now).is_some())
        .map(|g| g.party)
        .collect()
}

#[cfg(test)]
mod tests {
    use assure_model::Keypair;
    use assure_model::predicate::{
        Audit, AuditResult, AuditType, Control, ControlStatus, Incident, IncidentStatus, Period,
        Relationship, Severity,
    };

    use super::*;

    fn org(n: u8) -> Did {
        Keypair::from_seed([n; 32]).did()
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn relationship(supplier: Did, customer: Did) -> Body {
        Body::Relationship(Relationship {
            supplier,
            customer,
            supplies: vec!["road haulage".into()],
            since: "2024-01-01".parse().unwrap(),
        })
    }

    fn incident(affected: &[Did]) -> Body {
        Body::Incident(Incident {
            category: "cargo-tampering".into(),
            severity: Severity::High,
            summary: "Seal mismatch".into(),
            occurred_at: at(0),
            detected_at: at(1),
            status: IncidentStatus::Open,
            affected: affected.to_vec(),
            corrective_actions: Vec::new(),
        })
    }

    fn audit() -> Body {
        Body::Audit(Audit {
            audit_type: AuditType::Certification,
            standard: "ISO 28000:2022".into(),
            scope_ref: None,
            period: Period {
                from: "2026-09-14".parse().unwrap(),
                to: "2026-09-17".parse().unwrap(),
            },
            result: AuditResult::Certified,
            findings: Vec::new(),
            certificate_number: None,
        })
    }

    fn control() -> Body {
        Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: "Monitored".into(),
            evidence: Vec::new(),
            last_tested: None,
        })
    }

    fn set(dids: &[Did]) -> BTreeSet<Did> {
        dids.iter().copied().collect()
    }

    #[test]
    fn parties_are_the_named_organizations_but_us() {
        let (us, customer, other) = (org(1), org(2), org(3));
        assert_eq!(
            parties(&us, &relationship(us, customer), &us),
            set(&[customer])
        );
        assert_eq!(
            parties(&customer, &relationship(customer, other), &us),
            set(&[customer, other]),
            "a relationship between two others names both"
        );
        assert_eq!(parties(&customer, &audit(), &us), set(&[customer]));
        assert_eq!(
            parties(&us, &audit(), &us),
            set(&[]),
            "the auditee republishing its audit"
        );
        assert_eq!(
            parties(&us, &incident(&[customer, other, us]), &us),
            set(&[customer, other])
        );
        assert_eq!(parties(&us, &control(), &us), set(&[]));
        assert_eq!(parties(&other, &control(), &us), set(&[other]));
    }

    #[test]
    fn defaults_are_exactly_the_parties() {
        let (customer, other) = (org(2), org(3));
        assert_eq!(
            default_rule(&relationship(org(1), customer), &set(&[customer])),
            Some(Rule::audience([customer], []))
        );
        assert_eq!(
            default_rule(&audit(), &set(&[customer])),
            Some(Rule::audience([customer], []))
        );
        assert_eq!(
            default_rule(&incident(&[customer, other]), &set(&[customer, other])),
            Some(Rule::audience([customer, other], [Role::Regulator]))
        );
        assert_eq!(default_rule(&control(), &set(&[])), None);
        assert_eq!(default_rule(&incident(&[]), &set(&[])), None);
    }

    #[test]
    fn the_default_compartments_are_too_wide_for_a_named_party() {
        let named = set(&[org(2)]);
        assert_eq!(wider_than(&Rule::public(), &named), Some(Beyond::Anyone));
        assert_eq!(
            wider_than(&Rule::partners(), &named),
            Some(Beyond::EveryGrantee(Clearance::Partner))
        );
        assert_eq!(
            wider_than(&Rule::confidential(), &named),
            Some(Beyond::EveryGrantee(Clearance::Confidential))
        );
        assert_eq!(wider_than(&Rule::regulators(), &named), None);
        for rule in [Rule::public(), Rule::partners(), Rule::regulators()] {
            assert_eq!(wider_than(&rule, &set(&[])), None, "names no one: {rule}");
        }
    }

    #[test]
    fn named_readers_beyond_the_parties_are_refused() {
        let (customer, other) = (org(2), org(3));
        let named = set(&[customer]);
        assert_eq!(wider_than(&Rule::audience([customer], []), &named), None);
        assert_eq!(
            wider_than(&Rule::audience([customer], [Role::Regulator]), &named),
            None
        );
        assert_eq!(
            wider_than(&Rule::audience([customer, other], []), &named),
            Some(Beyond::Named {
                roles: BTreeSet::new(),
                orgs: set(&[other])
            })
        );
        assert_eq!(
            wider_than(
                &Rule::audience([customer], [Role::Customer, Role::Regulator]),
                &named
            ),
            Some(Beyond::Named {
                roles: [Role::Customer].into(),
                orgs: BTreeSet::new()
            })
        );
        // Fewer readers than parties is fine: an incident told to one of two.
        assert_eq!(
            wider_than(&Rule::audience([customer], []), &set(&[customer, other])),
            None
        );
        // A higher clearance only narrows.
        let secret = Rule {
            min_clearance: Clearance::Secret,
            ..Rule::audience([customer], [])
        };
        assert_eq!(wider_than(&secret, &named), None);
    }

    #[test]
    fn readers_are_todays_grantees_the_rule_admits() {
        let grant = |n: u8, roles: &[Role]| {
            Grant::new(
                org(n),
                roles.iter().copied().collect(),
                Clearance::Partner,
                "NDA-1",
                at(0),
                None,
                1,
            )
            .unwrap()
        };
        let grants = [
            grant(2, &[Role::Customer]),
            grant(3, &[Role::Customer]),
            grant(4, &[Role::Regulator]),
            grant(5, &[Role::Supplier]).revoke(at(5)),
        ];
        assert_eq!(
            readers(&Rule::partners(), &grants, at(10)),
            [org(2), org(3), org(4)]
        );
        assert_eq!(
            readers(&Rule::audience([org(2)], []), &grants, at(10)),
            [org(2)]
        );
        assert_eq!(
            readers(
                &Rule::audience([org(3)], [Role::Regulator]),
                &grants,
                at(10)
            ),
            [org(3), org(4)]
        );
        assert!(readers(&Rule::public(), &[], at(10)).is_empty());
    }
}
