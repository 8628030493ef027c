//! The CLI with a node running: commands on its data directory go through
//! its admin API, and another organization queries it with a signed
//! `assure api-request`.

use crate::common::{Node, example};
use crate::network::{Running, config};

#[test]
fn a_running_node_is_driven_through_its_api_and_queried_with_signed_requests() {
    let (author, author_did) = Node::init("Manufacturer");
    let (regulator, regulator_did) = Node::init("Customs");
    let (outsider, _) = Node::init("Outsider");
    let running = Running::start(&author, &config(&author, None));
    let line = running.wait_for(&["api http://127.0.0.1:"]);
    let url = line.trim_start_matches("api ").to_owned();

    // The store is held by the node; these commands go through its API.
    author.ok(&[
        "grant",
        "add",
        "--unknown-party",
        &regulator_did,
        "--role",
        "regulator",
        "--basis",
        "Customs MoU 2026",
    ]);
    let listed = author.ok(&["grant", "list", "--json"]);
    assert!(listed.contains(&regulator_did), "{listed}");
    author.ok(&[
        "publish",
        &example("scope.toml"),
        "--compartment",
        "regulators",
    ]);
    author.ok(&[
        "publish",
        &example("profile.toml"),
        "--compartment",
        "public",
    ]);
    let records = author.ok(&["records", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&records)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Daily commands run while the node runs, through the node itself.
    let backup = author.dir.path().join("while-running.backup");
    author.ok(&["backup", "--no-key", backup.to_str().unwrap()]);
    assert!(backup.exists());

    // The regulator signs its query; the outsider sees the public record only.
    let path = format!("/v1/orgs/{author_did}/records");
    let seen = regulator.ok(&[
        "api-request",
        "GET",
        &path,
        "--url",
        &url,
        "--purpose",
        "customs inspection 2026-114",
    ]);
    let seen: serde_json::Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(seen["records"].as_array().unwrap().len(), 2);
    let public = outsider.ok(&["api-request", "GET", &path, "--url", &url]);
    let public: serde_json::Value = serde_json::from_str(&public).unwrap();
    assert_eq!(public["records"].as_array().unwrap().len(), 1);
    let missing = outsider.fails(&["api-request", "GET", "/v1/records/00", "--url", &url], 1);
    assert!(missing.contains("404"), "{missing}");
    // A regulator that does not say why is refused, with the reason.
    let (out, refused) = {
        let out = regulator.run(&["api-request", "GET", &path, "--url", &url]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out, stdout)
    };
    assert_eq!(out.status.code(), Some(1));
    assert!(refused.contains("Assure-Purpose"), "{refused}");

    // Each side keeps its own record of what it asked: the requester's log.
    let log = regulator.ok(&["api-request", "--log", "--json"]);
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["url"], url.as_str());
    assert_eq!(log[0]["method"], "GET");
    assert_eq!(log[0]["path"], path.as_str());
    assert_eq!(log[0]["purpose"], "customs inspection 2026-114");
    assert_eq!(log[0]["status"], 200);
    assert!(log[0]["bytes"].as_u64().unwrap() > 100, "{log:?}");
    assert_eq!(log[1]["status"], 400);
    assert!(log[1]["purpose"].is_null());
    let table = regulator.ok(&["api-request", "--log"]);
    assert!(
        table.starts_with("at") && table.contains("customs inspection 2026-114"),
        "{table}"
    );
    let outsider_log = outsider.ok(&["api-request", "--log", "--json"]);
    assert!(outsider_log.contains("\"status\": 404"), "{outsider_log}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let file = regulator.data().join("requests.jsonl");
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let disclosures = author.ok(&["disclosures", "--json"]);
    assert!(
        disclosures.contains("customs inspection 2026-114"),
        "{disclosures}"
    );

    // A one-time dashboard sign-in link, minted by the running node: not
    // the admin token.
    let link = author.ok(&["dashboard-link"]);
    let link = link.trim();
    assert!(link.starts_with(&format!("{url}/login/once/")), "{link}");
    let token = std::fs::read_to_string(author.data().join("admin.token")).unwrap();
    assert!(!link.contains(token.trim()), "{link}");
    let page = outsider.ok(&["api-request", "GET", &link[url.len()..], "--url", &url]);
    assert!(page.contains("one-time link"), "{page}");
    let proxied = author.ok(&["dashboard-link", "--base", "https://assure.example/"]);
    assert!(
        proxied.starts_with("https://assure.example/login/once/"),
        "{proxied}"
    );
    running.stop();
    let error = author.fails(&["dashboard-link"], 1);
    assert!(error.contains("no node is running"), "{error}");

    // Stopped, the same commands open the store directly again.
    let records = author.ok(&["records", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&records)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
