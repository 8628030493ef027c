//! Properties of the read gate (DESIGN.md §4): what no grant, an inactive
//! grant, someone else's grant, clearances and named audiences do to access,
//! and what the gate does with replicas, anonymous readers and narrowing.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::LazyLock;

use assure_access::{
    Access, Clearance, Compartment, CompartmentId, Grant, LogId, Reader, Role, Rule, Visible, gate,
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

/// The organization whose node holds the logs: never one of `ORGS`.
static OWNER: LazyLock<Did> = LazyLock::new(|| Keypair::from_seed([99; 32]).did());

fn log_of(origin: Did, n: usize) -> LogId {
    LogId {
        origin,
        compartment: CompartmentId::from_bytes([n as u8; 16]),
    }
}

/// The gate's answer for one own log with `rule`, read by `party`.
fn decide(rule: &Rule, party: &Did, grant: Option<&Grant>, now: Timestamp) -> Option<Access> {
    let log = log_of(*OWNER, 0);
    gate(
        *OWNER,
        Reader::Party(*party),
        grant,
        [(log, rule)],
        &BTreeSet::new(),
        now,
        "test",
    )
    .get(&log)
}

fn may_read(rule: &Rule, party: &Did, grant: Option<&Grant>, now: Timestamp) -> bool {
    decide(rule, party, grant, now).is_some()
}

/// The gate over `compartments`, all held as the owner's own logs.
fn readable(
    compartments: &[Compartment],
    reader: Reader,
    grant: Option<&Grant>,
    now: Timestamp,
) -> Visible {
    gate(
        *OWNER,
        reader,
        grant,
        compartments
            .iter()
            .enumerate()
            .map(|(i, c)| (log_of(*OWNER, i), &c.rule)),
        &BTreeSet::new(),
        now,
        "test",
    )
}

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
        let public: Vec<LogId> = compartments
            .iter()
            .enumerate()
            .filter(|(_, c)| c.rule.is_public())
            .map(|(i, _)| log_of(*OWNER, i))
            .collect();
        for reader in [Reader::Party(party), Reader::Anonymous] {
            let read: Vec<LogId> = readable(&compartments, reader, None, now).logs().map(|(l, _)| l).collect();
            prop_assert_eq!(&read, &public);
        }
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
        let expected = (grant.clearance >= min_clearance).then_some(Access::Granted { version: grant.version });
        prop_assert_eq!(decide(&rule, &grant.party, Some(&grant), now), expected);
    }

    #[test]
    fn the_gate_is_the_decision_log_by_log(
        rules in prop::collection::vec(rule(), 0..8),
        (grant, now) in grant_at(),
        ask_as_grantee in any::<bool>(),
        other in party(),
    ) {
        let party = if ask_as_grantee { grant.party } else { other };
        let grant = Some(grant);
        let compartments = compartments(rules);
        let visible = readable(&compartments, Reader::Party(party), grant.as_ref(), now);
        for (i, c) in compartments.iter().enumerate() {
            let access = visible.get(&log_of(*OWNER, i));
            prop_assert_eq!(access, decide(&c.rule, &party, grant.as_ref(), now));
            let version = grant.as_ref().map(|g| g.version);
            if let Some(access) = access {
                prop_assert_eq!(access.grant_version(), if c.rule.is_public() { None } else { version });
                prop_assert_eq!(access.is_disclosure(), !c.rule.is_public());
            }
        }
    }

    #[test]
    fn replicas_are_shown_to_their_author_alone(
        rules in prop::collection::vec(rule(), 1..8),
        (grant, now) in grant_at(),
        author in party(),
        reader in party(),
    ) {
        // Logs of `author` that the owner replicates, whatever grant the
        // owner gave the reader: the owner's grants do not open others' logs.
        let held: Vec<(LogId, Rule)> = rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| (log_of(author, i), r))
            .collect();
        let grant = Grant { party: reader, ..grant };
        let visible = gate(
            *OWNER,
            Reader::Party(reader),
            Some(&grant),
            held.iter().map(|(l, r)| (*l, r)),
            &BTreeSet::new(),
            now,
            "test",
        );
        for (log, _) in &held {
            let expected = (reader == author).then_some(Access::Author);
            prop_assert_eq!(visible.get(log), expected);
        }
        // The author's word (a ticket) opens exactly the replicas it names.
        let vouched: BTreeSet<LogId> = held.iter().take(1).map(|(l, _)| *l).collect();
        let with_ticket = gate(
            *OWNER,
            Reader::Party(reader),
            None,
            held.iter().map(|(l, r)| (*l, r)),
            &vouched,
            now,
            "test",
        );
        for (log, _) in &held {
            prop_assert_eq!(
                with_ticket.contains(log),
                reader == author || vouched.contains(log)
            );
        }
    }

    #[test]
    fn the_owner_reads_everything_and_anonymous_only_public(
        rules in prop::collection::vec(rule(), 0..8),
        now in (-500i64..500).prop_map(at),
    ) {
        let compartments = compartments(rules);
        let all = readable(&compartments, Reader::Owner, None, now);
        prop_assert_eq!(all.len(), compartments.len());
        prop_assert!(all.logs().all(|(_, a)| a == Access::Owner && !a.is_disclosure()));
        let anonymous = readable(&compartments, Reader::Anonymous, None, now);
        prop_assert!(anonymous.is_public_only());
    }

    #[test]
    fn narrowing_never_widens(
        rules in prop::collection::vec(rule(), 0..8),
        (grant, now) in grant_at(),
        keep in prop::collection::vec(any::<bool>(), 8),
        asked in 0usize..16,
    ) {
        let party = grant.party;
        let compartments = compartments(rules);
        let visible = readable(&compartments, Reader::Party(party), Some(&grant), now);
        let narrowed = visible.narrow(|log| keep[log.compartment.as_bytes()[0] as usize % 8]);
        for (log, access) in narrowed.logs() {
            prop_assert_eq!(visible.get(&log), Some(access));
        }
        let one = visible.only(&log_of(*OWNER, asked));
        prop_assert!(one.len() <= 1);
        prop_assert_eq!(one.is_empty(), !visible.contains(&log_of(*OWNER, asked)));
        prop_assert!(visible.narrow(|_| false).is_empty());
    }
}
