//! Each persona's whole job, from the dashboard alone, in one browser
//! session per person (tests/browser/scenarios/personas.mjs), against six
//! real nodes over TCP: a logistics provider (the supplier), two customers
//! at different clearances, its certification body, its customs regulator,
//! and the haulier it subcontracts, which asks it for access.
//!
//! The setup only starts the nodes, connects them, and does what other
//! organizations do on their own nodes (profiles, the haulier's records,
//! the regulator's own verification); every step of the supplier, the
//! auditor, the customers, the regulator and the haulier's access request
//! is clicked.

use assure_access::{Clearance, Role};
use assure_node::ops::{Reply, Request};
use assure_node::publish::Placement;
use assure_tests::{TestNode, control, relationship};
use serde_json::{Value, json};

const SUPPLIER: &str = "Northsea Logistics BV";
const PARTNER: &str = "Helix Drives GmbH";
const CONFIDANT: &str = "Aurora Pharma AG";
const AUDITOR: &str = "Veritas Certification Ltd";
const REGULATOR: &str = "Customs Authority Rotterdam";
const HAULIER: &str = "Fjord Haulage AS";

fn profile(name: &str) -> String {
    format!("kind = \"profile\"\nlegalName = \"{name}\"\n")
}

fn person(node: &TestNode, name: &str) -> Value {
    json!({
        "url": node.api(),
        "token": node.admin_token(),
        "did": node.did().to_string(),
        "short": node.did().fmt_short(),
        "name": name,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_persona_does_its_whole_job_from_the_dashboard() {
    let profiles =
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/profiles"));
    let logistics = profiles.join("logistics-provider.toml");
    let mut supplier = TestNode::start_with(210, "supplier", |config| {
        config.verify.default_profile = Some(logistics.clone());
    })
    .await;
    let mut partner = TestNode::start(211, "partner").await;
    let mut confidant = TestNode::start(212, "confidant").await;
    let auditor = TestNode::start(213, "auditor").await;
    let mut regulator = TestNode::start(214, "regulator").await;
    let mut haulier = TestNode::start(215, "haulier").await;
    let a = supplier.did();
    for (node, name) in [
        (&supplier, SUPPLIER),
        (&partner, PARTNER),
        (&confidant, CONFIDANT),
        (&auditor, AUDITOR),
        (&regulator, REGULATOR),
        (&haulier, HAULIER),
    ] {
        node.publish("public", &[profile(name)]).await;
    }
    for other in [&partner, &confidant, &auditor, &regulator, &haulier] {
        other.connect(&supplier).await;
    }
    let everyone: Vec<_> = [&partner, &confidant, &auditor, &regulator, &haulier]
        .iter()
        .map(|n| n.did())
        .collect();
    supplier.wait_connected(&everyone).await;

    // The haulier the supplier subcontracts shares its records with it,
    // and asks to read the supplier's.
    let h = haulier.did();
    haulier
        .grant(a, Clearance::Partner, &[Role::Customer])
        .await;
    haulier
        .publish_wider(
            "partners",
            &[relationship(h, a, "road haulage"), control(1)],
        )
        .await;
    supplier.wait_synced(haulier.log("partners"), 2).await;
    supplier.wait_synced(haulier.log("public"), 1).await;
    // The haulier knows the supplier's name before asking it: its
    // profile is public.
    haulier.wait_synced(supplier.log("public"), 1).await;

    // The regulator's own verification of the operator, on its node.
    let verified = regulator
        .node()
        .ops()
        .run(Request::Verify {
            provider: a.to_string(),
            profile: logistics.clone(),
            config: None,
            anchors: Vec::new(),
            publish: Some(Placement::into("regulators").share_wider()),
        })
        .await
        .unwrap();
    assert!(matches!(verified, Reply::Checked(_)), "{verified:?}");
    // The customers and the regulator know the supplier's name before
    // any grant: its profile is public.
    for node in [&mut partner, &mut confidant, &mut regulator] {
        node.wait_synced(supplier.log("public"), 1).await;
    }

    let catalog = assure_model::Catalog::builtin();
    let secret = catalog.get("ISO22340:8.2.2").unwrap();
    let nodes = json!({
        "supplier": person(&supplier, SUPPLIER),
        "partner": person(&partner, PARTNER),
        "confidant": person(&confidant, CONFIDANT),
        "auditor": person(&auditor, AUDITOR),
        "regulator": person(&regulator, REGULATOR),
        "haulier": person(&haulier, HAULIER),
        "secret": { "control": secret.id, "title": secret.title },
    });
    tokio::task::spawn_blocking(move || assure_tests::browser::scenario("personas", &nodes))
        .await
        .unwrap();

    // What the clicks did, as the store holds it: the four grants and the
    // approved request, and the haulier granted what it asked for.
    let store = supplier.node().store();
    let now = jiff::Timestamp::now();
    for (party, clearance, role) in [
        (partner.did(), Clearance::Partner, Role::Customer),
        (confidant.did(), Clearance::Confidential, Role::Customer),
        (auditor.did(), Clearance::Partner, Role::Auditor),
        (regulator.did(), Clearance::Partner, Role::Regulator),
        (h, Clearance::Partner, Role::Supplier),
    ] {
        let grant = store.grant(&party).unwrap().expect("a grant");
        assert!(grant.is_active(now), "{grant:?}");
        assert_eq!(grant.clearance, clearance, "{grant:?}");
        assert!(grant.roles.contains(&role), "{grant:?}");
    }
    // The haulier sent exactly one request, and holds it approved.
    let sent = haulier.node().store().outgoing_requests().unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].decided.as_ref().is_some_and(|d| d.approved),
        "{sent:?}"
    );
    assert_eq!(store.access_requests().unwrap().len(), 1);
}
