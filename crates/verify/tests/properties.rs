//! Properties of the engine over random supply chains.
#![allow(clippy::unwrap_used)]

mod fixture;

use std::collections::BTreeSet;

use assure_model::predicate::{AuditResult, ControlStatus, IncidentStatus, Severity};
use assure_model::{Record, RecordId};
use assure_verify::{Profile, Report};
use fixture::{CloneKey as _, World, profile};
use proptest::prelude::*;

/// One record a random world may hold.
#[derive(Clone, Debug)]
enum Item {
    Accreditation {
        age: i64,
        valid: i64,
    },
    Certification {
        result: u8,
        age: i64,
        valid: i64,
        cosigned: bool,
    },
    Control {
        id: u8,
        status: u8,
        age: i64,
    },
    Incident {
        severity: u8,
        status: u8,
        age: i64,
        actions: bool,
    },
    Relationship {
        ours: bool,
        theirs: bool,
    },
    Scope {
        covers: bool,
    },
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (0..500i64, 1..800i64).prop_map(|(age, valid)| Item::Accreditation { age, valid }),
        (0..5u8, 0..1500i64, 1..2000i64, any::<bool>()).prop_map(
            |(result, age, valid, cosigned)| Item::Certification {
                result,
                age,
                valid,
                cosigned
            }
        ),
        (0..6u8, 0..4u8, 0..500i64).prop_map(|(id, status, age)| Item::Control { id, status, age }),
        (0..4u8, 0..3u8, 0..500i64, any::<bool>()).prop_map(|(severity, status, age, actions)| {
            Item::Incident {
                severity,
                status,
                age,
                actions,
            }
        }),
        (any::<bool>(), any::<bool>())
            .prop_map(|(ours, theirs)| Item::Relationship { ours, theirs }),
        any::<bool>().prop_map(|covers| Item::Scope { covers }),
    ]
}

const CONTROLS: [&str; 6] = [
    "ISO28000:5.2",
    "ISO28000:5.3",
    "ISO28000:8.4.f",
    "ISO22340:7.2.2",
    "ISO22340:10.2.1",
    "ISO22340:10.2.2",
];

fn build(items: &[Item]) -> (World, Vec<Record>) {
    let mut w = World::new();
    let mut records = Vec::new();
    for item in items {
        let before = w.seen.len();
        match *item {
            Item::Accreditation { age, valid } => {
                w.accredit(age, valid);
            }
            Item::Certification {
                result,
                age,
                valid,
                cosigned,
            } => {
                let audit = w.certification(AuditResult::ALL[result as usize], age, valid);
                if cosigned {
                    let provider = w.provider.clone_key();
                    w.cosign(&audit, &provider);
                }
            }
            Item::Control { id, status, age } => {
                w.control(
                    CONTROLS[id as usize],
                    ControlStatus::ALL[status as usize],
                    age,
                );
            }
            Item::Incident {
                severity,
                status,
                age,
                actions,
            } => {
                w.incident(
                    Severity::ALL[severity as usize],
                    IncidentStatus::ALL[status as usize],
                    age,
                    actions,
                );
            }
            Item::Relationship { ours, theirs } => w.relationship(ours, theirs, &["parts"]),
            Item::Scope { covers } => {
                w.scope(if covers { &["parts"] } else { &["other"] }, &[]);
            }
        }
        records.extend(w.seen[before..].iter().map(|s| s.record.clone()));
    }
    (w, records)
}

fn profiles() -> Vec<Profile> {
    [
        include_str!("../../../config/profiles/critical-supplier.toml"),
        include_str!("../../../config/profiles/logistics-provider.toml"),
        include_str!("../../../config/profiles/component-supplier.toml"),
    ]
    .into_iter()
    .map(profile)
    .collect()
}

fn verdicts(w: &World) -> Vec<Report> {
    profiles().iter().map(|p| w.verify(p)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_record_about_another_organization_changes_no_verdict(
        items in prop::collection::vec(item(), 0..14),
        extra in item(),
    ) {
        let (mut w, _) = build(&items);
        let before = verdicts(&w);
        // The same record, issued by and about an unrelated organization.
        let (scratch, records) = build(std::slice::from_ref(&extra));
        drop(scratch);
        let other = w.other.clone_key();
        let did = other.did();
        for record in records {
            let body = match record.predicate.body {
                // A relationship of the unrelated organization with a fifth.
                assure_model::Body::Relationship(mut r) => {
                    r.supplier = did;
                    r.customer = assure_model::Keypair::from_seed([10; 32]).did();
                    assure_model::Body::Relationship(r)
                }
                body => body,
            };
            w.add(&other, did, 3, None, body);
        }
        prop_assert_eq!(before, verdicts(&w));
    }

    #[test]
    fn withdrawing_a_record_equals_never_publishing_it(
        items in prop::collection::vec(item(), 1..14),
        pick in any::<prop::sample::Index>(),
    ) {
        let (full, records) = build(&items);
        prop_assume!(!records.is_empty());
        let target = &records[pick.index(records.len())];
        let issuer = [&full.verifier, &full.provider, &full.auditor, &full.anchor]
            .into_iter()
            .find(|k| k.did() == target.issuer())
            .unwrap()
            .clone_key();
        let mut withdrawn = full;
        withdrawn.withdraw(&issuer, target);

        let mut never = World::new();
        never.seen = withdrawn
            .seen
            .iter()
            .filter(|s| s.record.id != target.id && s.record.kind() != assure_model::Kind::Withdrawal)
            .cloned()
            .collect();
        prop_assert_eq!(verdicts(&withdrawn), verdicts(&never));
    }

    #[test]
    fn a_report_cites_only_records_the_verifier_holds(
        items in prop::collection::vec(item(), 0..14),
    ) {
        let (w, _) = build(&items);
        let held: BTreeSet<RecordId> = w.seen.iter().map(|s| s.record.id).collect();
        for report in verdicts(&w) {
            for requirement in &report.requirements {
                for evidence in &requirement.evidence {
                    prop_assert!(held.contains(&evidence.record));
                }
            }
        }
    }
}
