//! A manufacturer verifies its supply chain over the network: a tier-1
//! supplier certified by an accredited auditor (audit co-signed by the
//! supplier), a logistics provider with an open high-severity incident, and a
//! tier-2 supplier visible only through the tier-1 supplier's published
//! verification.

use std::path::PathBuf;

use assure_access::{Clearance, Role};
use assure_model::Did;
use assure_model::predicate::Outcome;
use assure_node::config::VerifyConfig;
use assure_node::publish::Placement;
use assure_node::verification::{Verifier, attest, load_profile};
use assure_tests::{TestNet, TestNode, relationship};
use jiff::Timestamp;

const SUPPLIER_PROFILE: &str = r#"
name = "test-component-supplier"
title = "Component supplier"

[[requirement]]
id = "relationship"
kind = "relationship"
clauses = ["ISO28000:4.3"]

[[requirement]]
id = "scope"
kind = "scope"
clauses = ["ISO28000:4.3"]

[[requirement]]
id = "certified"
kind = "certification"
clauses = ["ISO28000:8.4.g"]
standard = "ISO 28000:2022"
max_age = "3years"

[[requirement]]
id = "acknowledged"
kind = "cosigned"
clauses = ["ISO28000:9.2"]
record = "audit"
threshold = 1
signers = ["subject"]

[[requirement]]
id = "monitoring"
kind = "control"
clauses = ["ISO22340:9.2.4"]
control = "ISO22340:9.2.4"
"#;

fn scope(process: &str) -> String {
    format!("kind = \"scope\"\nprocesses = [\"{process}\"]\n")
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn grant(author: &TestNode, parties: &[Did]) {
    for &party in parties {
        author
            .grant(party, Clearance::Partner, &[Role::Customer])
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manufacturer_verifies_two_tiers_with_the_expected_verdicts() {
    let mut net = TestNet::new(6, 70).await;
    let [m, t1, auditor, logistics, t2, anchor] = [0, 1, 2, 3, 4, 5].map(|i| net.nodes[i].did());
    let profiles = tempfile::tempdir().unwrap();
    let supplier_profile = write(profiles.path(), "supplier.toml", SUPPLIER_PROFILE);
    let logistics_profile = write(
        profiles.path(),
        "logistics.toml",
        include_str!("../../../config/profiles/logistics-provider.toml"),
    );

    // Who may read whom.
    grant(&net.nodes[1], &[m]).await; // tier-1 → manufacturer
    grant(&net.nodes[2], &[m, t1]).await; // auditor → both
    grant(&net.nodes[3], &[m]).await; // logistics → manufacturer
    grant(&net.nodes[4], &[t1]).await; // tier-2 → tier-1 only
    for (member, authors) in [(0, &[1, 2, 3, 5][..]), (1, &[2, 4, 5][..])] {
        for &author in authors {
            let (a, b) = (&net.nodes[member], &net.nodes[author]);
            a.connect(b).await;
        }
    }

    // The anchor accredits the auditor; the auditor certifies tier-1.
    // Every author here shares wider on purpose: each compartment has the
    // readers the chain needs (tests/tests/integration/sharing.rs shows the
    // defaults).
    net.nodes[5]
        .publish_wider(
            "public",
            &[format!(
                "kind = \"accreditation\"\nsubject = \"{auditor}\"\nrole = \"auditor\"\n\
                 programmes = [\"ISO 28000:2022\"]\n"
            )],
        )
        .await;
    let audit = net.nodes[2]
        .publish_wider(
            "partners",
            &[format!(
                "kind = \"audit\"\nsubject = \"{t1}\"\nauditType = \"certification\"\n\
                 standard = \"ISO 28000:2022\"\nresult = \"certified\"\n\
                 certificateNumber = \"C-1\"\nperiod = {{ from = 2026-10-01, to = 2026-10-03 }}\n"
            )],
        )
        .await;

    // Tier-1 receives the audit, co-signs it, and publishes its own records.
    let audit_log = net.nodes[2].log("partners");
    net.nodes[1].wait_synced(audit_log, 1).await;
    let store = net.nodes[1].node().store();
    let held = store
        .entry_at(&store.as_owner().unwrap(), audit[0].location)
        .unwrap()
        .unwrap();
    let cosigned = assure_model::cosign(&held.record, &net.nodes[1].keypair).unwrap();
    net.nodes[1]
        .node()
        .publish("partners", vec![cosigned])
        .await
        .unwrap();
    net.nodes[1]
        .publish_wider(
            "partners",
            &[
                relationship(t1, m, "machined housings"),
                relationship(t2, t1, "castings"),
                scope("machined housings"),
                assure_tests::control(1),
            ],
        )
        .await;

    // Tier-2 publishes to tier-1 only; tier-1 verifies it and publishes the
    // verification where the manufacturer can read it.
    net.nodes[4]
        .publish_wider(
            "partners",
            &[relationship(t2, t1, "castings"), scope("die casting")],
        )
        .await;
    let tier2_log = net.nodes[4].log("partners");
    net.nodes[1].wait_synced(tier2_log, 2).await;
    {
        let tier1 = &net.nodes[1];
        let profile = load_profile(&supplier_profile).unwrap();
        let verifier =
            Verifier::new(tier1.node().store(), t1, &[anchor], Timestamp::now()).unwrap();
        let report = verifier.verify(&profile.profile, t2);
        // Its scope says "die casting", not the "castings" it supplies.
        assert_eq!(report.result, Outcome::Fail, "{}", report.headline());
        let signed = attest(&tier1.keypair, &report, Timestamp::now()).unwrap();
        tier1
            .node()
            .publish(Placement::into("partners").share_wider(), vec![signed])
            .await
            .unwrap();
    }

    // Logistics: an open high-severity incident detected 45 days ago.
    let detected = Timestamp::now() - jiff::SignedDuration::from_hours(24 * 45);
    net.nodes[3]
        .publish_wider(
            "partners",
            &[
                relationship(logistics, m, "road haulage"),
                scope("road haulage"),
                format!(
                    "kind = \"incident\"\ncategory = \"theft\"\nseverity = \"high\"\n\
                     summary = \"Trailer broken into at a rest area\"\n\
                     occurredAt = \"{detected}\"\ndetectedAt = \"{detected}\"\nstatus = \"open\"\n"
                ),
            ],
        )
        .await;

    // The manufacturer confirms its two direct providers.
    net.nodes[0]
        .publish_wider(
            "partners",
            &[
                relationship(t1, m, "machined housings"),
                relationship(logistics, m, "road haulage"),
            ],
        )
        .await;
    for (author, size) in [(1, 6), (2, 1), (3, 3)] {
        let log = net.nodes[author].log("partners");
        net.nodes[0].wait_synced(log, size).await;
    }
    let anchor_log = net.nodes[5].log("public");
    net.nodes[0].wait_synced(anchor_log, 1).await;
    // Nothing of tier-2 reached the manufacturer.
    assert_eq!(net.nodes[0].size(net.nodes[4].log("partners")), None);

    let config = VerifyConfig {
        default_profile: Some(supplier_profile),
        profiles: vec![(vec!["road haulage".into()], logistics_profile)],
    };
    let store = net.nodes[0].node().store();
    let verifier = Verifier::new(store, m, &[anchor], Timestamp::now()).unwrap();
    let verdicts = verifier.verify_all(&config, 2).unwrap();
    let find = |did: Did| {
        verdicts
            .iter()
            .find(|v| v.link.provider == did)
            .unwrap_or_else(|| panic!("{did} not verified"))
    };

    let tier1 = find(t1);
    assert_eq!(tier1.link.tier, 1);
    assert_eq!(tier1.report.result, Outcome::Pass, "{:#?}", tier1.report);

    let haulier = find(logistics);
    assert_eq!(haulier.report.result, Outcome::Fail);
    let incidents = haulier
        .report
        .requirements
        .iter()
        .find(|r| r.id == "incidents")
        .unwrap();
    assert_eq!(incidents.outcome, Outcome::Fail);
    assert!(
        incidents.reason.contains("Trailer broken into"),
        "{}",
        incidents.reason
    );

    let tier2 = find(t2);
    assert_eq!(tier2.link.tier, 2);
    assert_eq!(tier2.link.customer, t1);
    let via = tier2
        .report
        .transitive
        .as_ref()
        .expect("transitive verdict");
    assert_eq!(via.via, t1);
    assert_eq!(tier2.report.result, Outcome::Fail);
    assert!(
        tier2
            .report
            .headline()
            .contains("does not cover \"castings\"")
    );
    assert_eq!(verdicts.len(), 3);

    net.stop().await;
}

/// A verification through the API reads only what `assure_verify::Reads`
/// names (`Store::seen_for`), not every record the node holds. On every
/// node of the demo, for every organization it holds records about and
/// every profile of `config/profiles`, that gives the very report a view
/// of every record gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_of_the_records_it_reads_equals_one_of_every_record() {
    use assure_verify::{Context, Profile, View, verify};
    let demo = assure_node::demo::start(5, &mut std::io::sink())
        .await
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/profiles");
    let mut profiles = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        profiles.push(Profile::parse(&text, assure_model::Catalog::builtin()).unwrap());
    }
    let (mut compared, mut passed) = (0, 0);
    for org in &demo.orgs {
        let store = org.node.store();
        let all = store.as_owner().unwrap();
        let seen = store.seen(&all).unwrap();
        let now = Timestamp::now();
        let full = View::new(&seen, now);
        let subjects: std::collections::BTreeSet<Did> =
            seen.iter().map(|s| s.record.subject.did).collect();
        // Every accreditation's issuer trusted, so that accreditations count.
        let anchors = seen
            .iter()
            .filter(|s| s.record.kind() == assure_model::Kind::Accreditation)
            .map(|s| s.record.issuer())
            .collect();
        let context = Context {
            verifier: org.node.did(),
            anchors,
        };
        for provider in subjects {
            let read = store.seen_for(&all, provider).unwrap();
            assert!(read.len() <= seen.len());
            let part = View::new(&read, now);
            for profile in &profiles {
                let whole = verify(&full, profile, provider, &context);
                let from_read = verify(&part, profile, provider, &context);
                assert_eq!(
                    serde_json::to_value(&whole).unwrap(),
                    serde_json::to_value(&from_read).unwrap(),
                    "{} verifying {provider} against {}",
                    org.name,
                    profile.name
                );
                compared += 1;
                passed += usize::from(whole.result == Outcome::Pass);
            }
        }
    }
    // Not a comparison of empty reports: the demo has passing verdicts.
    assert!(
        compared >= 30 && passed >= 3,
        "{compared} compared, {passed} passed"
    );
}
