//! Properties of the third-party rule (DESIGN.md §3, "Audience
//! compartments"): a compartment it accepts for a record can never be read by
//! anyone but the record's parties and regulators, whatever grants are made;
//! a compartment it refuses can be, and the refusal says by whom; the
//! default compartment of a record is always accepted.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::LazyLock;

use assure_access::{
    Beyond, Clearance, Grant, Role, Rule, default_rule, parties, readers, wider_than,
};
use assure_model::predicate::{
    Control, ControlStatus, Incident, IncidentStatus, Relationship, Severity,
};
use assure_model::{Body, Did, Keypair};
use jiff::Timestamp;
use proptest::prelude::*;
use proptest::sample::select;

/// A handful of organizations; the last one is never named by a generated
/// rule or record, so it stands for "someone granted later".
static ORGS: LazyLock<Vec<Did>> = LazyLock::new(|| {
    (1..=6u8)
        .map(|n| Keypair::from_seed([n; 32]).did())
        .collect()
});

fn outsider() -> Did {
    ORGS[5]
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).unwrap()
}

fn party() -> impl Strategy<Value = Did> {
    select(ORGS[..5].to_vec())
}

fn orgs() -> impl Strategy<Value = BTreeSet<Did>> {
    prop::collection::btree_set(party(), 0..=3)
}

fn roles() -> impl Strategy<Value = BTreeSet<Role>> {
    prop::collection::btree_set(select(Role::ALL), 0..=3)
}

/// Any valid compartment rule.
fn rule() -> impl Strategy<Value = Rule> {
    (select(Clearance::ALL), roles(), orgs()).prop_map(|(min_clearance, roles, orgs)| {
        if min_clearance == Clearance::Public {
            Rule::public()
        } else {
            Rule {
                min_clearance,
                roles,
                orgs,
            }
        }
    })
}

/// Parties (at least one) and a rule close to them: some of the parties,
/// sometimes one more organization, sometimes the regulator role or another
/// one, so that about half are accepted.
fn near_rule() -> impl Strategy<Value = (BTreeSet<Did>, Rule)> {
    (
        prop::collection::btree_set(party(), 1..=3),
        prop::collection::vec(any::<bool>(), 3),
        prop::option::weighted(0.2, party()),
        prop::collection::btree_set(
            prop_oneof![4 => Just(Role::Regulator), 1 => select(Role::ALL)],
            0..=2,
        ),
        select(&Clearance::ALL[1..]),
    )
        .prop_map(|(named, keep, extra, roles, min_clearance)| {
            let mut orgs: BTreeSet<Did> = named
                .iter()
                .zip(keep)
                .filter(|(_, keep)| *keep)
                .map(|(did, _)| *did)
                .collect();
            orgs.extend(extra);
            let rule = Rule {
                min_clearance,
                roles,
                orgs,
            };
            (named, rule)
        })
}

/// An active grant of any terms for `party`.
fn grant(party: Did, roles: BTreeSet<Role>, clearance: Clearance) -> Grant {
    Grant::new(party, roles, clearance, "NDA-1", at(0), None, 1).unwrap()
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (party(), party()).prop_map(|(supplier, customer)| Body::Relationship(Relationship {
            supplier,
            customer,
            supplies: vec!["road haulage".into()],
            since: "2024-01-01".parse().unwrap(),
        })),
        prop::collection::vec(party(), 0..4).prop_map(|affected| Body::Incident(Incident {
            category: "cargo-tampering".into(),
            severity: Severity::High,
            summary: "Seal mismatch".into(),
            occurred_at: at(0),
            detected_at: at(1),
            status: IncidentStatus::Open,
            affected,
            corrective_actions: Vec::new(),
        })),
        Just(Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: "Monitored".into(),
            evidence: Vec::new(),
            last_tested: None,
        })),
    ]
}

/// Whether `reader`, holding `grant` (or none), may read a compartment with
/// `rule`: anyone reads a public rule, a grantee what [`readers`] admits.
fn reads(rule: &Rule, reader: Did, grant: Option<&Grant>) -> bool {
    rule.is_public() || grant.is_some_and(|g| readers(rule, [g], at(10)).contains(&reader))
}

/// A party and a grant for it that lets it read `rule`, chosen from what
/// `wider_than` said: the witness that the refusal is real.
fn witness(rule: &Rule, beyond: &Beyond) -> (Did, Option<Grant>) {
    let secret =
        |party, roles: &[Role]| grant(party, roles.iter().copied().collect(), Clearance::Secret);
    match beyond {
        Beyond::Anyone => (outsider(), None),
        Beyond::EveryGrantee(_) => (outsider(), Some(secret(outsider(), &[Role::Customer]))),
        Beyond::Named { roles, orgs } => match (roles.iter().next(), orgs.iter().next()) {
            (Some(role), _) => (outsider(), Some(secret(outsider(), &[*role]))),
            (None, Some(org)) => (*org, Some(secret(*org, &[]))),
            (None, None) => panic!("an empty Beyond::Named for {rule}"),
        },
    }
}

proptest! {
    #[test]
    fn an_accepted_compartment_is_read_by_parties_and_regulators_only(
        (named, rule) in near_rule(),
        reader in select(ORGS.clone()),
        grant_roles in roles(),
        clearance in select(&Clearance::ALL[1..]),
    ) {
        prop_assume!(wider_than(&rule, &named).is_none());
        let grant = grant(reader, grant_roles.clone(), clearance);
        if reads(&rule, reader, Some(&grant)) {
            prop_assert!(
                named.contains(&reader) || grant_roles.contains(&Role::Regulator),
                "{reader} reads {rule} but is not named and not a regulator"
            );
        }
        prop_assert!(!rule.is_public(), "never public");
    }

    #[test]
    fn a_refused_compartment_can_be_read_by_someone_else(rule in rule(), named in orgs()) {
        if let Some(beyond) = wider_than(&rule, &named) {
            let (reader, grant) = witness(&rule, &beyond);
            prop_assert!(!named.contains(&reader));
            prop_assert!(grant.as_ref().is_none_or(|g| !g.roles.contains(&Role::Regulator)));
            prop_assert!(reads(&rule, reader, grant.as_ref()));
            if let Beyond::Named { roles, orgs } = &beyond {
                prop_assert!(!roles.contains(&Role::Regulator));
                prop_assert!(orgs.is_disjoint(&named));
            }
        }
    }

    #[test]
    fn a_record_naming_no_one_else_goes_anywhere(rule in rule()) {
        prop_assert_eq!(wider_than(&rule, &BTreeSet::new()), None);
    }

    #[test]
    fn a_records_default_compartment_is_accepted_and_exactly_its_parties(
        subject in party(),
        body in body(),
        us in party(),
    ) {
        let named = parties(&subject, &body, &us);
        prop_assert!(!named.contains(&us));
        match default_rule(&body, &named) {
            Some(rule) => {
                prop_assert_eq!(&rule.orgs, &named);
                prop_assert!(rule.roles.iter().all(|r| *r == Role::Regulator));
                prop_assert_eq!(wider_than(&rule, &named), None);
                prop_assert!(rule.validate().is_ok());
            }
            None => prop_assert!(named.is_empty()),
        }
    }

    #[test]
    fn widening_a_refused_rule_never_makes_it_accepted(
        rule in rule(),
        named in orgs(),
        more_orgs in orgs(),
        more_roles in roles(),
    ) {
        prop_assume!(!rule.is_public());
        if wider_than(&rule, &named).is_some() && rule.names_audience() {
            let wider = Rule {
                min_clearance: rule.min_clearance,
                roles: rule.roles.union(&more_roles).copied().collect(),
                orgs: rule.orgs.union(&more_orgs).copied().collect(),
            };
            prop_assert!(wider_than(&wider, &named).is_some());
        }
    }
}
