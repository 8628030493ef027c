//! The dashboard in headless Chromium: a manufacturer with a supplier that
//! passes and a haulier that fails; the graph shows both verdicts, the link
//! to the supplier's page leads to its verification, and a screenshot is
//! saved. Needs Debian's `chromium` (installed by ./test.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use assure_access::{Clearance, Role};
use assure_node::config::VerifyConfig;
use assure_tests::{TestNode, relationship};

const CHROMIUM: &str = "/usr/bin/chromium";

const SUPPLIER_PROFILE: &str = r#"
name = "simple-supplier"
title = "Supplier"
[[requirement]]
id = "relationship"
kind = "relationship"
clauses = ["ISO28000:4.3"]
[[requirement]]
id = "scope"
kind = "scope"
clauses = ["ISO28000:4.3"]
"#;

/// Runs headless Chromium on `url` with `extra` flags; returns stdout.
fn chromium(profile: &Path, extra: &[&str], url: &str) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run ./test.sh, which installs Debian's chromium"
    );
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn profile(name: &str) -> String {
    format!("kind = \"profile\"\nlegalName = \"{name}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_verdicts_and_links_to_a_providers_page() {
    let files = tempfile::tempdir().unwrap();
    let supplier_profile = files.path().join("supplier.toml");
    std::fs::write(&supplier_profile, SUPPLIER_PROFILE).unwrap();
    let logistics_profile = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/profiles/logistics-provider.toml"
    ));
    let mut maker = TestNode::start_with(110, "maker", |config| {
        config.verify = VerifyConfig {
            default_profile: Some(supplier_profile.clone()),
            profiles: vec![(vec!["road haulage".into()], logistics_profile.clone())],
        };
    })
    .await;
    let mut supplier = TestNode::start(111, "supplier").await;
    let mut haulier = TestNode::start(112, "haulier").await;
    let (m, s, h) = (maker.did(), supplier.did(), haulier.did());
    for author in [&supplier, &haulier] {
        author.grant(m, Clearance::Partner, &[Role::Customer]).await;
        maker.connect(author).await;
    }
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
    haulier
        .publish_wider(
            "partners",
            &[
                profile("Rhine Road Haulage GmbH"),
                relationship(h, m, "road haulage"),
                "kind = \"scope\"\nprocesses = [\"warehousing\"]\n".into(),
            ],
        )
        .await;
    maker
        .publish_wider(
            "partners",
            &[
                relationship(s, m, "machined housings"),
                relationship(h, m, "road haulage"),
            ],
        )
        .await;
    for author in [&supplier, &haulier] {
        let log = author.log("partners");
        maker.wait_synced(log, 3).await;
    }

    let base = maker.api();
    let token = maker.admin_token();
    let browser = tempfile::tempdir().unwrap();
    let home = chromium(
        browser.path(),
        &["--dump-dom"],
        &format!("{base}/login?token={token}&next=/"),
    );
    assert!(home.contains("Supply chain"), "{home}");
    assert!(home.contains("Precision Castings BV") && home.contains("Rhine Road Haulage GmbH"));
    assert!(
        home.contains(r#"<td class="pass">pass"#),
        "supplier passes: {home}"
    );
    assert!(
        home.contains(r#"<td class="fail">fail"#),
        "haulier fails: {home}"
    );
    assert!(home.contains("<svg"), "the graph is drawn");

    // Follow the link from the graph to the supplier's page.
    let link = format!("/orgs/{s}");
    assert!(
        home.contains(&format!("href=\"{link}\"")),
        "no link to {link}"
    );
    let page = chromium(
        browser.path(),
        &["--dump-dom"],
        &format!("{base}/login?token={token}&next={link}"),
    );
    assert!(page.contains("Latest verification"), "{page}");
    assert!(page.contains("simple-supplier"));
    assert!(page.contains("machined housings"));

    // Anonymous visitors (a fresh browser, no session cookie) see only
    // public data: no providers at all here.
    let stranger = tempfile::tempdir().unwrap();
    let public = chromium(stranger.path(), &["--dump-dom"], &format!("{base}/"));
    assert!(!public.contains("Precision Castings BV"), "{public}");
    assert!(public.contains("public view"));

    // The admin pages: disclosures, grants, peers and sync state; alerts.
    let admin = chromium(
        browser.path(),
        &["--dump-dom"],
        &format!("{base}/login?token={token}&next=/admin"),
    );
    for heading in [
        "Peers connected",
        "Logs and sync state",
        "Grants",
        "Disclosure log",
    ] {
        assert!(admin.contains(heading), "{heading} missing: {admin}");
    }
    let alerts = chromium(
        browser.path(),
        &["--dump-dom"],
        &format!("{base}/login?token={token}&next=/alerts"),
    );
    assert!(
        alerts.contains("Certifications expiring within 90 days"),
        "{alerts}"
    );
    let hidden = chromium(stranger.path(), &["--dump-dom"], &format!("{base}/admin"));
    assert!(hidden.contains("No such page.") && !hidden.contains("Disclosure log"));

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        browser.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
        ],
        &format!("{base}/login?token={token}&next=/"),
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 10_000, "suspiciously small screenshot");

    for node in [&mut maker, &mut supplier, &mut haulier] {
        node.stop().await;
    }
}
