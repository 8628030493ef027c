//! The defects operators met in daily use, each with the test named after
//! what broke: an audit acknowledged while the node runs, a grant revoked
//! twice, names instead of DIDs, our own name never shown, disclosure
//! ranges that read wrong, and `api-request` answering from the wrong node.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Node, example};
use crate::network::{Running, config};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Retries `check` for at most 30 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_audit_about_us_is_acknowledged_by_record_id_while_the_node_runs() {
    let (auditor, auditor_did) = Node::init("Certifier");
    let (auditee, auditee_did) = Node::init("Acme Logistics");
    auditor.ok(&[
        "grant",
        "add",
        &auditee_did,
        "--basis",
        "Certification contract 7",
        "--unknown-party",
    ]);
    let draft = auditor.file(
        "audit.toml",
        format!(
            "kind = \"audit\"\nsubject = \"{auditee_did}\"\nstandard = \"ISO 28000:2022\"\n\
             auditType = \"certification\"\nresult = \"certified\"\n\
             period = {{ from = 2026-10-01, to = 2026-10-20 }}\n"
        ),
    );
    let published = json(&auditor.ok(&["publish", "--json", &draft]));
    let id = published["records"][0]["id"].as_str().unwrap().to_owned();

    let running_auditor = Running::start(&auditor, &config(&auditor, None));
    let line = running_auditor.wait_for(&["listening", "/ip4/127.0.0.1/tcp/"]);
    let address = line.trim_start_matches("listening ").to_owned();
    let running = Running::start(&auditee, &config(&auditee, Some((&auditor_did, &address))));
    running.wait_for(&["synced", &auditor_did]);
    // The audit arrived: an alert says it awaits our acknowledgement.
    eventually("the acknowledgement alert", || {
        let alerts = json(&auditee.ok(&["alerts", "--json"]));
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "awaiting-acknowledgement" && a["record"] == id.as_str())
    });
    // Acknowledged by its id, with the node running.
    let cosigned = json(&auditee.ok(&["cosign", &id, "--json"]));
    assert_eq!(cosigned["published"]["records"][0]["id"], id.as_str());
    assert_eq!(
        cosigned["published"]["records"][0]["compartment"],
        "partners"
    );
    let shown = json(&auditee.ok(&["show", &id, "--json"]));
    assert_eq!(shown["signers"].as_array().unwrap().len(), 2, "{shown}");
    // Twice is refused, and changes nothing.
    let before = auditee.snapshot();
    let error = auditee.fails(&["cosign", &id], 1);
    assert!(error.contains("co-signed by us already"), "{error}");
    assert_eq!(auditee.snapshot(), before);
    running.stop();
    running_auditor.stop();
}

#[test]
fn revoking_a_revoked_grant_is_refused_whether_or_not_the_node_runs() {
    let (node, _) = Node::init("Acme Logistics");
    let (_, party) = Node::init("Partner");
    node.ok(&[
        "grant",
        "add",
        &party,
        "--basis",
        "NDA 1",
        "--unknown-party",
    ]);
    node.ok(&["grant", "revoke", &party]);
    let before = node.snapshot();
    let offline = node.fails(&["grant", "revoke", &party], 1);
    let running = Running::start(&node, &config(&node, None));
    running.wait_for(&["api http://"]);
    let online = node.fails(&["grant", "revoke", &party], 1);
    assert_eq!(online, offline);
    assert!(online.contains("revoked already"), "{online}");
    assert_eq!(node.snapshot(), before);
    running.stop();
}

#[test]
fn a_name_given_instead_of_a_did_says_what_was_expected() {
    let (node, _) = Node::init("Acme Logistics");
    for args in [
        vec!["grant", "add", "Kessler Precision", "--basis", "NDA"],
        vec!["grant", "revoke", "Kessler Precision"],
        vec!["records", "--subject", "Kessler"],
        vec!["compartment", "add", "k", "--reader", "Kessler"],
        vec!["verify", "Kessler", "--profile", "x.toml"],
    ] {
        let error = node.fails(&args, 1);
        assert!(
            error.contains("is not a did:key identifier") && error.contains("not its name"),
            "{args:?}: {error}"
        );
        assert!(!error.contains("invalid uri character"), "{error}");
    }
    let error = node.fails(
        &[
            "api-request",
            "GET",
            "/v1/orgs/Kessler Precision/records",
            "--url",
            "127.0.0.1:9",
        ],
        1,
    );
    assert!(error.contains("not by their name"), "{error}");
    assert!(!error.contains("invalid uri character"), "{error}");
}

#[test]
fn the_name_given_to_init_is_shown_where_our_did_is() {
    let (node, did) = Node::init("Acme Logistics B.V.");
    node.ok(&["publish", "-c", "partners", &control(&node)]);
    let status = node.run(&["status"]);
    assert_eq!(
        status.status.code(),
        Some(3),
        "a stopped node needs attention"
    );
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("Acme Logistics B.V.") && text.contains(&did),
        "{text}"
    );
    assert!(text.contains("not running"), "{text}");
    let records = node.ok(&["records"]);
    assert!(records.contains("Acme Logistics B.V. (z6Mk"), "{records}");
    let status = json(&String::from_utf8_lossy(
        &node.run(&["status", "--json"]).stdout,
    ));
    assert_eq!(status["name"], "Acme Logistics B.V.");
    assert_eq!(status["running"], false);
}

fn control(node: &Node) -> String {
    node.file(
        "control.toml",
        "kind = \"control\"\ncontrolId = \"ISO22340:8.2.1\"\nstatus = \"implemented\"\n\
         statement = \"Policies approved by the board\"\n",
    )
}

#[test]
fn disclosure_ranges_read_as_first_and_last_entry_with_a_count() {
    let (node, did) = Node::init("Acme Logistics");
    let (partner, partner_did) = Node::init("Partner");
    node.ok(&[
        "grant",
        "add",
        &partner_did,
        "--basis",
        "NDA",
        "--unknown-party",
    ]);
    node.ok(&["publish", "-c", "partners", &control(&node)]);
    node.ok(&["publish", "-c", "partners", &example("scope.toml")]);
    let running = Running::start(&node, &config(&node, None));
    let line = running.wait_for(&["api http://"]);
    let url = line.trim_start_matches("api ").to_owned();
    let host_port = url.trim_start_matches("http://").to_owned();
    // The partner asks with host:port alone; the answer decoded as statements.
    let decoded = partner.ok(&[
        "api-request",
        "GET",
        &format!("/v1/orgs/{did}/records"),
        "--url",
        &host_port,
        "--decode",
    ]);
    assert!(
        decoded.contains("STATEMENT") && decoded.contains("control"),
        "{decoded}"
    );
    assert!(decoded.contains("ok, 1 signer(s)"), "{decoded}");
    assert!(!decoded.contains("\"payload\""), "{decoded}");
    let table = node.ok(&["disclosures"]);
    assert!(
        table.contains("partners ("),
        "the label with its id: {table}"
    );
    assert!(table.contains("0–1 (2)"), "first–last and a count: {table}");
    let rows = json(&node.ok(&["disclosures", "--json"]));
    let served: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["count"] == 2)
        .collect();
    assert_eq!(served.len(), 1, "{rows}");
    assert_eq!(
        (served[0]["first"].clone(), served[0]["last"].clone()),
        (0.into(), 1.into())
    );
    running.stop();
}

#[test]
fn api_request_without_url_does_not_ask_our_own_node_about_another_organization() {
    let (node, _) = Node::init("Customs Authority");
    let (_, other) = Node::init("Acme Logistics");
    // No node running: say what to give.
    let error = node.fails(
        &["api-request", "GET", &format!("/v1/orgs/{other}/records")],
        1,
    );
    assert!(error.contains("give --url"), "{error}");
    let running = Running::start(&node, &config(&node, None));
    running.wait_for(&["api http://"]);
    let error = node.fails(
        &["api-request", "GET", &format!("/v1/orgs/{other}/records")],
        1,
    );
    assert!(
        error.contains("another organization") && error.contains("--url"),
        "{error}"
    );
    for (url, expected) in [
        ("ftp://x:1", "scheme must be http or https"),
        ("http://x:1/v1/orgs", "not a node's address"),
        ("", "not a node's address"),
    ] {
        let error = node.fails(&["api-request", "GET", "/v1/orgs", "--url", url], 1);
        assert!(error.contains(expected), "{url}: {error}");
    }
    // Nothing refused was sent, so nothing is on our record of requests.
    let log = node.ok(&["api-request", "--log", "--json"]);
    assert_eq!(json(&log).as_array().map(Vec::len), Some(0), "{log}");
    running.stop();
}
