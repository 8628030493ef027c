//! The dashboard as the operators' workplace, driven by Playwright in
//! Debian's chromium against real nodes (tests/browser/): every page passes
//! the harness's checks — screenshots at 1400 px and 420 px without
//! horizontal overflow, no serious or critical axe-core violation, no
//! console error.

use assure_access::{Clearance, Role};
use assure_tests::{TestNode, relationship};
use serde_json::json;

fn profile(name: &str) -> String {
    format!("kind = \"profile\"\nlegalName = \"{name}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_the_browser_checks_and_reports_download() {
    let profile_file = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/profiles/component-supplier.toml"
    ));
    let mut maker = TestNode::start_with(120, "maker", |config| {
        config.verify.default_profile = Some(profile_file.clone());
    })
    .await;
    let supplier = TestNode::start(121, "supplier").await;
    let (m, s) = (maker.did(), supplier.did());
    supplier
        .grant(m, Clearance::Partner, &[Role::Customer])
        .await;
    maker.connect(&supplier).await;
    supplier
        .publish_wider(
            "partners",
            &[
                profile("Precision Castings BV"),
                relationship(s, m, "machined housings"),
                "kind = \"scope\"\nprocesses = [\"machined housings\"]\n".into(),
            ],
        )
        .await;
    let ours = maker
        .publish_wider("partners", &[relationship(s, m, "machined housings")])
        .await;
    maker.wait_synced(supplier.log("partners"), 3).await;
    let nodes = json!({
        "maker": { "url": maker.api(), "token": maker.admin_token(), "did": m.to_string() },
        "supplier": { "did": s.to_string(), "name": "Precision Castings BV" },
        "record": ours[0].id.to_string(),
    });
    tokio::task::spawn_blocking(move || {
        assure_tests::browser::scenario("pages", &nodes);
        assure_tests::browser::scenario("reports", &nodes);
    })
    .await
    .unwrap();
}
