//! The defects operators met in daily use, each with the test named after
//! what broke: an audit acknowledged while the node runs, a grant revoked
//! twice, names instead of DIDs, our own name never shown, disclosure
//! ranges that read wrong, and `api-request` answering from the wrong node.

use crate::common::{Node, eventually, example, granted, json, serve};
use crate::network::{Running, config};

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
    eventually("the acknowledgement alert", 30, || {
        let alerts = json(&auditee.ok(&["alerts", "--json"]));
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "awaiting-acknowledgement" && a["record"] == id.as_str())
    });
    // The alerts table names the record to acknowledge.
    assert!(auditee.ok(&["alerts"]).contains(&id));
    // Acknowledged by its id (the 12 characters `records` prints), with the
    // node running.
    let cosigned = json(&auditee.ok(&["cosign", &id[..12], "--json"]));
    assert_eq!(cosigned["published"]["records"][0]["id"], id.as_str());
    assert_eq!(
        cosigned["published"]["records"][0]["compartment"],
        "partners"
    );
    let shown = json(&auditee.ok(&["show", &id[..12], "--json"]));
    assert_eq!(shown["signers"].as_array().unwrap().len(), 2, "{shown}");
    // Acknowledged, it no longer needs attention.
    let status = auditee.run(&["status", "--json"]);
    let status = json(&String::from_utf8_lossy(&status.stdout));
    assert_eq!(status["recentAlerts"], 0, "{status}");
    // Twice is refused, and changes nothing.
    let before = auditee.snapshot();
    let error = auditee.fails(&["cosign", &id], 1);
    assert!(error.contains("co-signed by us already"), "{error}");
    assert_eq!(auditee.snapshot(), before);
    running.stop();
    running_auditor.stop();
}

#[test]
fn commands_run_at_the_same_time_on_a_stopped_node_all_answer() {
    let (node, _) = Node::init("Acme Logistics");
    let children: Vec<_> = (0..6)
        .map(|n| {
            let args: &[&str] = match n % 2 {
                0 => &["status", "--json"],
                _ => &["records", "--json"],
            };
            node.command(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (n, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        // status exits 3 on a stopped node; records 0.
        let expected = if n % 2 == 0 { 3 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_node_on_a_deep_data_directory_still_takes_commands() {
    let (node, _) = Node::init("Acme Logistics");
    let deep = node.dir.path().join("d".repeat(60)).join("e".repeat(60));
    std::fs::create_dir_all(&deep).unwrap();
    let data = deep.join("data");
    std::fs::rename(node.data(), &data).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_assure"))
            .arg("--data")
            .arg(&data)
            .args(args)
            .output()
            .unwrap()
    };
    let config = node.file(
        "deep.toml",
        format!(
            "data_dir = \"{}\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n[api]\nlisten = \"off\"\n",
            data.display()
        ),
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assure"))
        .args(["run", "--config", &config])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    eventually("the running node to answer", 30, || {
        let out = run(&["status", "--json"]);
        String::from_utf8_lossy(&out.stdout).contains("\"running\": true")
    });
    let out = run(&["records", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn files_that_never_end_are_refused_and_the_node_keeps_running() {
    let (node, did) = Node::init("Acme Logistics");
    let running = Running::start(&node, &config(&node, None));
    running.wait_for(&["api http://"]);
    for args in [
        vec!["publish", "/dev/zero", "-c", "partners"],
        vec!["publish", "--envelope", "/dev/zero", "-c", "partners"],
        vec!["cosign", "/dev/zero"],
        vec!["verify", &did, "--profile", "/dev/zero"],
        vec!["verify", "--all", "--config", "/dev/zero"],
    ] {
        let error = node.fails(&args, 1);
        assert!(error.contains("not a regular file"), "{args:?}: {error}");
    }
    let big = node.file("big.toml", vec![b'#'; 2 << 20]);
    let error = node.fails(&["publish", &big, "-c", "partners"], 1);
    assert!(error.contains("limit"), "{error}");
    node.ok(&["records"]);
    running.stop();
}

#[test]
fn text_from_partners_cannot_write_to_our_terminal() {
    let (node, _) = Node::init("Acme Logistics");
    let dir = tempfile::tempdir().unwrap();
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_assure"))
        .arg("--data")
        .arg(dir.path().join("d"))
        .args(["init", "--name", "Evil\u{1b}[2J\nFAKE"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("control characters"));
    // A partner's legal name with escapes is shown escaped.
    let profile = node.file(
        "profile.json",
        r#"{"kind":"profile","legalName":"Helix\u001b[2J\nINJECTED"}"#,
    );
    node.ok(&["publish", "-c", "public", &profile]);
    let records = node.ok(&["records"]);
    assert!(
        !records.contains('\u{1b}') && !records.contains("\nINJECTED"),
        "{records}"
    );
    assert!(records.contains("\\u{1b}[2J\\nINJECTED"), "{records}");
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
    let (node, did, partner, _) = granted("Acme Logistics", "Partner");
    node.ok(&["publish", "-c", "partners", &control(&node)]);
    node.ok(&["publish", "-c", "partners", &example("scope.toml")]);
    let (running, url) = serve(&node);
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
    let served: Vec<&serde_json::Value> = rows
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
    let encoded = other.replace(':', "%3A");
    let error = node.fails(
        &["api-request", "GET", &format!("/v1/orgs/{encoded}/records")],
        1,
    );
    assert!(error.contains("another organization"), "{error}");
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
