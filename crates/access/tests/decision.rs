//! Properties of the read decision (DESIGN.md §4): what no grant, an inactive
//! grant, someone else's grant, clearances and named audiences do to access.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::LazyLock;

use assure_access::{
    Clearance, Compartment, CompartmentId, Decision, Grant, Role, Rule, decide, may_read, readable,
};
use assure_model::{Did, Keypair};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::sample::select;

/// A handful of organizations, so that generated rules name generated parties.
static ORGS: LazyLock<Vec<Did>> = LazyLock::new(|| {
    (1..=5u8)
        .map(|n| Keypair::from_seed([n; 32]).did())
        .collect()
});

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).unwrap()
}

fn party() -> impl Strategy<Value = Did> {
    select(ORGS.clone())
}

fn clearance() -> impl Strategy<Value = Clearance> {
    select(Clearance::ALL)
}

fn grant_clearance() -> impl Strategy<Value = Clearance> {
    select(&Clearance::ALL[1..])
}

fn roles() -> impl Strategy<Value = BTreeSet<Role>> {
    prop::collection::btree_set(select(Role::ALL), 0..=3)
}

fn orgs() -> impl Strategy<Value = BTreeSet<Did>> {
    prop::collection::btree_set(party(), 0..=3)
}

/// Any rule, including a public one naming an audience: the decision must be
/// total even on rules a compartment would refuse.
fn rule() -> impl Strategy<Value = Rule> {
    (clearance(), roles(), orgs()).prop_map(|(min_clearance, roles, orgs)| Rule {
        min_clearance,
        roles,
        orgs,
    })
}

/// A grant for `party`, active at `now`, and `now`.
fn active_grant(party: Did) -> impl Strategy<Value = (Grant, Timestamp)> {
    (
        roles(),
        grant_clearance(),
        -500i64..500,
        0i64..100,
        prop::option::of(1i64..100),
        prop::option::of(1i64..100),
        1u64..10,
    )
        .prop_map(
            move |(roles, clearance, now, since, until, revoked, version)| {
                let grant = Grant {
                    party,
                    roles,
                    clearance,
                    basis: "NDA-1".into(),
                    valid_from: at(now - since),
                    valid_until: until.map(|u| at(now + u)),
                    version,
                    revoked_at: revoked.map(|r| at(now + r)),
                };
                assert!(grant.is_active(at(now)));
                (grant, at(now))
            },
        )
}

/// A grant for any party and an instant, active at it or not about half the
/// time each.
fn grant_at() -> impl Strategy<Value = (Grant, Timestamp)> {
    party().prop_flat_map(|party| prop_oneof![active_grant(party), inactive_grant(party)])
}

/// A grant for `party` that is not active at the returned instant, in one
/// of the three ways a grant is inactive.
fn inactive_grant(party: Did) -> impl Strategy<Value = (Grant, Timestamp)> {
    (active_grant(party), 0..3u8, 0i64..100).prop_map(|((mut grant, now), how, late)| {
        let late = SignedDuration::from_secs(late);
        let now = match how {
            // Not yet valid.
            0 => {
                grant.valid_from = now + SignedDuration::from_secs(1) + late;
                now
            }
            // Expired: at or after valid_until.
            1 => {
                let until = grant
                    .valid_until
                    .unwrap_or(now + SignedDuration::from_secs(1));
                grant.valid_until = Some(until);
                until + late
            }
            // Revoked at or before now.
            _ => {
                grant = grant.revoke(now - late);
                now
            }
        };
        assert!(!grant.is_active(now));
        (grant, now)
    })
}

fn compartments(rules: Vec<Rule>) -> Vec<Compartment> {
    rules
        .into_iter()
        .enumerate()
        .map(|(i, rule)| Compartment {
            id: CompartmentId::from_bytes([i as u8; 16]),
            label: format!("c{i}"),
            rule,
        })
        .collect()
}

proptest! {
    #[test]
    fn without_a_grant_only_public_rules_are_readable(
        rules in prop::collection::vec(rule(), 0..8),
        party in party(),
        now in (-500i64..500).prop_map(at),
    ) {
        let compartments = compartments(rules);
        let read: Vec<&Compartment> = readable(&compartments, &party, None, now).map(|(c, _)| c).collect();
        let public: Vec<&Compartment> = compartments.iter().filter(|c| c.rule.is_public()).collect();
        prop_assert_eq!(read, public);
    }

    #[test]
    fn an_inactive_grant_reads_only_public_rules(
        rule in rule(),
        (grant, now) in party().prop_flat_map(inactive_grant),
    ) {
        prop_assert_eq!(may_read(&rule, &grant.party, Some(&grant), now), rule.is_public());
    }

    #[test]
    fn revoking_cuts_access_at_once(
        rule in rule(),
        (grant, now) in party().prop_flat_map(active_grant),
    ) {
        let revoked = grant.revoke(now);
        prop_assert_eq!(may_read(&rule, &grant.party, Some(&revoked), now), rule.is_public());
    }

    #[test]
    fn a_grant_for_another_party_never_helps(
        rule in rule(),
        party in party(),
        (grant, now) in grant_at(),
    ) {
        prop_assume!(grant.party != party);
        prop_assert_eq!(
            decide(&rule, &party, Some(&grant), now),
            decide(&rule, &party, None, now)
        );
    }

    #[test]
    fn raising_a_grants_clearance_never_removes_access(
        rule in rule(),
        (grant, now) in grant_at(),
        higher in grant_clearance(),
    ) {
        let raised = Grant { clearance: grant.clearance.max(higher), ..grant.clone() };
        if may_read(&rule, &grant.party, Some(&grant), now) {
            prop_assert!(may_read(&rule, &grant.party, Some(&raised), now));
        }
    }

    #[test]
    fn raising_a_rules_min_clearance_never_adds_access(
        rule in rule(),
        (grant, now) in grant_at(),
        higher in clearance(),
    ) {
        let (party, grant) = (grant.party, Some(grant));
        let raised = Rule { min_clearance: rule.min_clearance.max(higher), ..rule.clone() };
        if may_read(&raised, &party, grant.as_ref(), now) {
            prop_assert!(may_read(&rule, &party, grant.as_ref(), now));
        }
    }

    #[test]
    fn a_rule_naming_orgs_admits_exactly_those_orgs(
        min_clearance in grant_clearance(),
        named in orgs().prop_filter("names someone", |o| !o.is_empty()),
        (grant, now) in party().prop_flat_map(active_grant),
    ) {
        let rule = Rule { min_clearance, roles: BTreeSet::new(), orgs: named.clone() };
        let allowed = may_read(&rule, &grant.party, Some(&grant), now);
        let expected = named.contains(&grant.party) && grant.clearance >= min_clearance;
        prop_assert_eq!(allowed, expected);
    }

    #[test]
    fn a_rule_naming_roles_admits_holders_of_one_of_them(
        min_clearance in grant_clearance(),
        named in roles().prop_filter("names a role", |r| !r.is_empty()),
        (grant, now) in party().prop_flat_map(active_grant),
    ) {
        let rule = Rule { min_clearance, roles: named.clone(), orgs: BTreeSet::new() };
        let allowed = may_read(&rule, &grant.party, Some(&grant), now);
        let expected = !grant.roles.is_disjoint(&named) && grant.clearance >= min_clearance;
        prop_assert_eq!(allowed, expected);
    }

    #[test]
    fn an_active_grant_reads_by_clearance_alone_when_no_audience_is_named(
        min_clearance in grant_clearance(),
        (grant, now) in party().prop_flat_map(active_grant),
    ) {
        let rule = Rule { min_clearance, roles: BTreeSet::new(), orgs: BTreeSet::new() };
        let expected = (grant.clearance >= min_clearance).then_some(Decision::Granted { version: grant.version });
        prop_assert_eq!(decide(&rule, &grant.party, Some(&grant), now), expected);
    }

    #[test]
    fn readable_is_may_read_with_the_decision(
        rules in prop::collection::vec(rule(), 0..8),
        (grant, now) in grant_at(),
        ask_as_grantee in any::<bool>(),
        other in party(),
    ) {
        let party = if ask_as_grantee { grant.party } else { other };
        let grant = Some(grant);
        let compartments = compartments(rules);
        let read: Vec<(&Compartment, Decision)> = readable(&compartments, &party, grant.as_ref(), now).collect();
        let expected: Vec<&Compartment> =
            compartments.iter().filter(|c| may_read(&c.rule, &party, grant.as_ref(), now)).collect();
        prop_assert_eq!(read.iter().map(|(c, _)| *c).collect::<Vec<_>>(), expected);
        for (c, decision) in read {
            let version = grant.as_ref().map(|g| g.version);
            prop_assert_eq!(decision.grant_version(), if c.rule.is_public() { None } else { version });
        }
    }
}
