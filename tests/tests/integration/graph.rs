//! The supply chain graph at fifty providers, in a browser
//! (tests/browser/scenarios/graph.mjs): five real suppliers over TCP, each
//! naming nine providers of its own, so that the graph has one column per
//! tier, verdicts of every kind, and names too long for their boxes.

use assure_access::{Clearance, Role};
use assure_model::Keypair;
use assure_tests::{TestNode, relationship};
use serde_json::json;

/// A profile for providers of castings: cyber monitoring implemented. A
/// provider stating it passes, one stating less fails, one stating nothing
/// is inconclusive; providers of paint get no profile.
const PROFILE: &str = r#"name = "castings"
title = "Castings supplier"

[[requirement]]
id = "cyber-monitoring"
kind = "control"
clauses = ["ISO22340:9.2.4"]
control = "ISO22340:9.2.4"
min_status = "implemented"
"#;

/// Tier-1 suppliers: legal name and the status of their monitoring control.
const SUPPLIERS: [(&str, Option<&str>); 5] = [
    (
        "Rheinland Präzisionsguss und Schmiedetechnik GmbH & Co. KG",
        Some("implemented"),
    ),
    ("Baltic Castings", Some("implemented")),
    (
        "Companhia Portuguesa de Fundição e Maquinação S.A.",
        Some("planned"),
    ),
    ("Anatolia Döküm", Some("partial")),
    ("Silesian Foundry Works Spółka Akcyjna", None),
];

/// Providers each supplier names: even ones supply castings, odd ones paint.
const BELOW: u8 = 9;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_stays_readable_at_fifty_providers() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("castings.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let mut maker = TestNode::start_with(220, "maker", |config| {
        config.verify.profiles = vec![(vec!["castings".into()], profile.clone())];
    })
    .await;
    let m = maker.did();
    let mut suppliers = Vec::new();
    for (n, (name, status)) in SUPPLIERS.iter().enumerate() {
        let supplier = TestNode::start(221 + n as u8, &format!("supplier{n}")).await;
        let s = supplier.did();
        supplier
            .grant(m, Clearance::Partner, &[Role::Customer])
            .await;
        maker.connect(&supplier).await;
        supplier
            .publish(
                "public",
                &[format!("kind = \"profile\"\nlegalName = \"{name}\"\n")],
            )
            .await;
        let mut drafts = vec![relationship(s, m, "castings")];
        if let Some(status) = status {
            drafts.push(format!(
                "kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"{status}\"\n\
                 statement = \"Security events are watched.\"\n"
            ));
        }
        for j in 0..BELOW {
            let mut seed = [77; 32];
            (seed[0], seed[1]) = (n as u8, j);
            let provider = Keypair::from_seed(seed).did();
            let supplies = if j % 2 == 0 { "castings" } else { "paint" };
            drafts.push(relationship(provider, s, supplies));
        }
        let size = drafts.len() as u64;
        supplier.publish_wider("partners", &drafts).await;
        maker
            .publish_wider("partners", &[relationship(s, m, "castings")])
            .await;
        maker.wait_synced(supplier.log("partners"), size).await;
        maker.wait_synced(supplier.log("public"), 1).await;
        suppliers.push(supplier);
    }
    let names: Vec<&str> = SUPPLIERS.iter().map(|(name, _)| *name).collect();
    let nodes = json!({
        "maker": { "url": maker.api(), "token": maker.admin_token() },
        "suppliers": names,
        "providers": SUPPLIERS.len() * (1 + BELOW as usize),
    });
    tokio::task::spawn_blocking(move || assure_tests::browser::scenario("graph", &nodes))
        .await
        .unwrap();
}
