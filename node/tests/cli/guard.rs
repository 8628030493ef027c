//! The rules checked before signing: each mistake that would otherwise be
//! signed into an append-only log for good is refused with what is wrong
//! and what to do, and the store is left exactly as it was.

use crate::common::Node;
use crate::network::{Running, config};

/// Everything the store holds, and the verdict over every log.
fn state(node: &Node) -> String {
    format!(
        "{}{}",
        node.snapshot(),
        node.ok(&["log", "verify", "--json"])
    )
}

/// Publishes drafts and returns the record ids printed, in order.
fn publish(node: &Node, args: &[&str]) -> Vec<String> {
    let mut all = vec!["publish", "--json"];
    all.extend_from_slice(args);
    let out: serde_json::Value = serde_json::from_str(&node.ok(&all)).unwrap();
    out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A control about ourselves.
fn control(node: &Node, name: &str) -> String {
    node.file(
        name,
        "kind = \"control\"\ncontrolId = \"ISO22340:8.2.1\"\nstatus = \"implemented\"\n\
         statement = \"Badges are checked at every gate.\"\n",
    )
}

fn withdrawal(node: &Node, name: &str, withdrawn: &str) -> String {
    node.file(
        name,
        format!("kind = \"withdrawal\"\nwithdrawn = \"{withdrawn}\"\nreason = \"Published too early.\"\n"),
    )
}

fn incident(node: &Node, affected: &str) -> String {
    node.file(
        "incident.toml",
        format!(
            "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
             status = \"open\"\nsummary = \"Seal mismatch on a trailer\"\n\
             occurredAt = 2026-01-18T23:40:00Z\ndetectedAt = 2026-01-19T06:15:00Z\n\
             affected = [\"{affected}\"]\n"
        ),
    )
}

/// Refuses `args` with exit code 1; checks the store is unchanged and the
/// message says each of `says`.
fn refused(node: &Node, args: &[&str], says: &[&str]) -> String {
    let before = state(node);
    let error = node.fails(args, 1);
    for words in says {
        assert!(error.contains(words), "{words:?} not in {error}");
    }
    assert_eq!(state(node), before, "the refusal changed the store");
    error
}

#[test]
fn a_control_about_another_organization_is_refused() {
    // A control that names the logistics provider of demo seed 4 as its
    // subject; this node is another organization.
    let (node, us) = Node::init("Manufacturer");
    let theirs = node.file(
        "theirs.toml",
        "kind = \"control\"\nsubject = \"did:key:z6Mkt6316e2PN3mZdB6N9CrzomJYUd1s5yBZi1XYHmwT9TUP\"\n\
         controlId = \"ISO22340:8.2.1\"\nstatus = \"implemented\"\nstatement = \"Gates.\"\n",
    );
    let error = refused(
        &node,
        &["publish", &theirs, "--compartment", "partners"],
        &[
            "is about the organization that issues it",
            &us,
            "remove `subject`",
            "#site-",
        ],
    );
    assert!(error.contains("did:key:z6Mkt6316e2PN3m"), "{error}");
    // One of our own sites is ourselves.
    let site = node.file(
        "site.toml",
        format!(
            "kind = \"control\"\nsubject = \"{us}#site=rotterdam\"\ncontrolId = \
             \"ISO22340:8.2.1\"\nstatus = \"implemented\"\nstatement = \"Gates.\"\n"
        ),
    );
    publish(&node, &[&site, "--compartment", "partners"]);
}

#[test]
fn a_withdrawal_into_public_of_a_partners_record_is_refused() {
    let (node, _) = Node::init("Manufacturer");
    let id = publish(&node, &[&control(&node, "c.toml"), "-c", "partners"]).remove(0);
    let withdraw = withdrawal(&node, "w.toml", &id);
    refused(
        &node,
        &["publish", &withdraw, "--compartment", "public"],
        &["`partners`", "`public`", "--compartment partners"],
    );
    // Without --compartment it goes where the record is.
    let out: serde_json::Value =
        serde_json::from_str(&node.ok(&["publish", "--json", &withdraw])).unwrap();
    assert_eq!(out["records"][0]["compartment"], "partners", "{out}");
    assert_eq!(out["records"][0]["index"], 1, "{out}");
}

#[test]
fn a_record_withdrawn_twice_is_refused() {
    let (node, _) = Node::init("Manufacturer");
    let id = publish(&node, &[&control(&node, "c.toml"), "-c", "partners"]).remove(0);
    let first = withdrawal(&node, "w1.toml", &id);
    let second = node.file(
        "w2.toml",
        format!("kind = \"withdrawal\"\nwithdrawn = \"{id}\"\nreason = \"Wrong site.\"\n"),
    );
    refused(
        &node,
        &["publish", &first, &second],
        &[&id, "withdrawn twice in this batch"],
    );
    publish(&node, &[&first]);
    refused(
        &node,
        &["publish", &second],
        &[&id, "already withdrawn", "change nothing"],
    );
}

#[test]
fn a_withdrawal_of_a_record_we_do_not_hold_is_refused() {
    let (node, _) = Node::init("Manufacturer");
    let missing = "ab".repeat(32);
    refused(
        &node,
        &[
            "publish",
            &withdrawal(&node, "w.toml", &missing),
            "-c",
            "partners",
        ],
        &[&missing, "nothing to withdraw", "assure records"],
    );
}

#[test]
fn a_supersedes_of_another_kind_or_an_unknown_record_is_refused() {
    let (node, _) = Node::init("Manufacturer");
    let id = publish(&node, &[&control(&node, "c.toml"), "-c", "partners"]).remove(0);
    let scope = |name: &str, replaced: &str| {
        node.file(
            name,
            format!(
                "kind = \"scope\"\nsupersedes = [\"{replaced}\"]\nprocesses = [\"assembly\"]\n\
                 sites = [{{ id = \"hq\", name = \"Head office\", country = \"NL\" }}]\n"
            ),
        )
    };
    refused(
        &node,
        &["publish", &scope("s1.toml", &id), "-c", "partners"],
        &[&id, "which is a control", "its own kind"],
    );
    let missing = "cd".repeat(32);
    refused(
        &node,
        &["publish", &scope("s2.toml", &missing), "-c", "partners"],
        &[
            &missing,
            "not held in our compartments",
            "assure records --kind scope",
        ],
    );
    // A control superseding our control is what supersedes is for.
    let update = node.file(
        "c2.toml",
        format!(
            "kind = \"control\"\nsupersedes = [\"{id}\"]\ncontrolId = \"ISO22340:8.2.1\"\n\
             status = \"partial\"\nstatement = \"Badges are checked at two gates.\"\n"
        ),
    );
    publish(&node, &[&update, "-c", "partners"]);
}

#[test]
fn the_same_envelope_published_twice_is_stored_once() {
    let (node, _) = Node::init("Manufacturer");
    let id = publish(&node, &[&control(&node, "c.toml"), "-c", "partners"]).remove(0);
    let out = node.dir.path().join("export");
    node.ok(&["export", "-c", "partners", "--out", out.to_str().unwrap()]);
    let entry = std::fs::read_dir(out.join("entries"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let entry = entry.to_str().unwrap();
    let before = state(&node);
    let again = node.ok(&["publish", "--envelope", entry, "-c", "partners"]);
    assert!(
        again.contains(&format!(
            "record {id} already published at partners index 0; nothing appended"
        )),
        "{again}"
    );
    // Into another compartment it is the same record, already held.
    let json = node.ok(&[
        "publish",
        "--json",
        "--envelope",
        entry,
        "-c",
        "confidential",
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["records"][0]["alreadyPublished"], true, "{json}");
    assert_eq!(json["records"][0]["compartment"], "partners", "{json}");
    assert_eq!(state(&node), before, "a second copy was stored");
}

#[test]
fn an_incident_to_a_party_without_a_grant_is_refused() {
    let (node, _) = Node::init("Haulier");
    let (_, customer) = Node::init("Customer");
    let file = incident(&node, &customer);
    refused(
        &node,
        &["publish", &file],
        &[
            &customer,
            "holds no active grant",
            "could never reach it",
            "assure grant add",
            "--undeliverable",
        ],
    );
    node.ok(&["publish", &file, "--undeliverable"]);
}

#[test]
fn a_grant_to_a_party_never_seen_is_refused() {
    let (node, _) = Node::init("Manufacturer");
    let (_, stranger) = Node::init("Stranger");
    let grant = ["grant", "add", stranger.as_str(), "--basis", "MSA-1"];
    refused(
        &node,
        &grant,
        &[&stranger, "unknown here", "mistyped", "--unknown-party"],
    );
    let mut anyway = grant.to_vec();
    anyway.push("--unknown-party");
    node.ok(&anyway);
    // Once granted, it is known: a new version needs no flag.
    node.ok(&["grant", "add", &stranger, "--basis", "MSA-1 amendment 1"]);
}

#[test]
fn a_grant_to_a_party_named_in_our_records_needs_no_flag() {
    let (node, _) = Node::init("Haulier");
    let (_, customer) = Node::init("Customer");
    node.ok(&["publish", &incident(&node, &customer), "--undeliverable"]);
    node.ok(&["grant", "add", &customer, "--basis", "MSA-2"]);
}

#[test]
fn a_dry_run_signs_and_stores_nothing_and_shows_who_reads() {
    let (node, us) = Node::init("Haulier");
    let (_, customer) = Node::init("Customer");
    node.ok(&[
        "grant",
        "add",
        &customer,
        "--basis",
        "MSA-3",
        "--role",
        "customer",
        "--unknown-party",
    ]);
    let file = incident(&node, &customer);
    let before = state(&node);
    let shown = node.ok(&["publish", "--dry-run", &file]);
    assert_eq!(state(&node), before, "a dry run changed the store");
    for words in [
        "dry run: nothing signed",
        "incident",
        &format!("about {us}"),
        "compartment  incident-",
        "new, made on publishing",
        &customer,
        "regulator",
        "partner or higher",
    ] {
        assert!(shown.contains(words), "{words:?} not in {shown}");
    }
    let json = node.ok(&[
        "publish",
        "--dry-run",
        "--json",
        &control(&node, "c.toml"),
        "-c",
        "partners",
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let record = &json["records"][0];
    assert_eq!(record["kind"], "control", "{json}");
    assert_eq!(record["subject"], us.as_str(), "{json}");
    assert_eq!(record["compartment"], "partners", "{json}");
    assert_eq!(
        record["compartmentId"].as_str().unwrap().len(),
        32,
        "{json}"
    );
    assert_eq!(record["readers"][0]["did"], customer.as_str(), "{json}");
    assert_eq!(state(&node), before, "a dry run changed the store");
}

#[test]
fn through_the_running_node_a_duplicate_is_stored_once_and_a_stranger_is_not_granted() {
    let (node, _) = Node::init("Manufacturer");
    let (_, stranger) = Node::init("Stranger");
    let id = publish(&node, &[&control(&node, "c.toml"), "-c", "partners"]).remove(0);
    let out = node.dir.path().join("export");
    node.ok(&["export", "-c", "partners", "--out", out.to_str().unwrap()]);
    let entry = std::fs::read_dir(out.join("entries"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let entry = entry.to_str().unwrap();

    let running = Running::start(&node, &config(&node, None));
    running.wait_for(&["api http://127.0.0.1:"]);
    // Both go through POST /v1/admin/publish and PUT /v1/admin/grants.
    let before = format!(
        "{}{}",
        node.ok(&["records", "--json"]),
        node.ok(&["grant", "list", "--json"])
    );
    // Through the control socket, as `assure publish` reaches a running node.
    let again = node.ok(&["publish", "--json", "--envelope", entry, "-c", "partners"]);
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    let again = &again["records"][0];
    assert_eq!(again["id"], id.as_str(), "{again}");
    assert_eq!(again["alreadyPublished"], true, "{again}");
    assert_eq!(again["index"], 0, "{again}");
    // Through the admin API.
    let body = node.dir.path().join("publish.json");
    let envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
    std::fs::write(
        &body,
        serde_json::json!({ "compartment": "partners", "envelopes": [envelope] }).to_string(),
    )
    .unwrap();
    let answer = node.ok(&[
        "api-request",
        "--admin",
        "POST",
        "/v1/admin/publish",
        "--body",
        body.to_str().unwrap(),
    ]);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer[0]["alreadyPublished"], true, "{answer}");
    assert!(
        answer[0]["status"]
            .as_str()
            .unwrap()
            .starts_with("already published at assure/"),
        "{answer}"
    );
    let grant = node.dir.path().join("grant.json");
    std::fs::write(&grant, r#"{"clearance": "partner", "basis": "MSA-4"}"#).unwrap();
    let error = node.fails(
        &[
            "api-request",
            "--admin",
            "PUT",
            &format!("/v1/admin/grants/{stranger}"),
            "--body",
            grant.to_str().unwrap(),
        ],
        1,
    );
    assert!(error.contains("400"), "{error}");
    assert!(error.contains("unknownParty"), "{error}");
    let error = node.fails(&["grant", "add", &stranger, "--basis", "MSA-4"], 1);
    assert!(error.contains(&stranger), "{error}");
    assert!(error.contains("unknownParty"), "{error}");
    let after = format!(
        "{}{}",
        node.ok(&["records", "--json"]),
        node.ok(&["grant", "list", "--json"])
    );
    assert_eq!(after, before, "the running node changed its store");
    node.ok(&[
        "grant",
        "add",
        &stranger,
        "--basis",
        "MSA-4",
        "--unknown-party",
    ]);
    running.stop();
}

/// We were listed among an incident's affected parties and the incident was
/// refused until we granted ourselves; the command it suggested lacked
/// the flags `grant add` needs.
#[test]
fn an_incident_naming_us_as_affected_needs_no_grant_of_ours() {
    let (node, us) = Node::init("Haulier");
    // It names no one else, so it has no default compartment; it needs
    // no grant of ours.
    node.ok(&["publish", &incident(&node, &us), "-c", "partners"]);
    let (_, customer) = Node::init("Customer");
    let both = node.file(
        "both.toml",
        std::fs::read_to_string(incident(&node, &customer))
            .unwrap()
            .replace(
                &format!("affected = [\"{customer}\"]"),
                &format!("affected = [\"{us}\", \"{customer}\"]"),
            ),
    );
    let error = refused(
        &node,
        &["publish", &both],
        &[&customer, "holds no active grant"],
    );
    assert!(!error.contains(&format!("party {us}")), "{error}");
    // The suggested command works as given.
    let start = error.find("`assure grant add").unwrap() + 1;
    let command = &error[start..start + error[start..].find('`').unwrap()];
    let args: Vec<&str> = command
        .split(' ')
        .skip(1)
        .map(|a| a.trim_matches('"'))
        .collect();
    let mut args = args;
    args.push("--unknown-party");
    node.ok(&args);
    node.ok(&["publish", &both]);
}

/// The same party listed twice in `affected` was signed as written.
#[test]
fn an_incident_listing_a_party_twice_is_refused() {
    let (node, us) = Node::init("Haulier");
    let twice = node.file(
        "twice.toml",
        std::fs::read_to_string(incident(&node, &us))
            .unwrap()
            .replace(
                &format!("affected = [\"{us}\"]"),
                &format!("affected = [\"{us}\", \"{us}\"]"),
            ),
    );
    refused(
        &node,
        &["publish", &twice, "--undeliverable"],
        &[&us, "listed twice in `affected`", "each party once"],
    );
}

/// A withdrawal of a withdrawal was accepted, though it brings nothing back.
#[test]
fn a_withdrawal_of_a_withdrawal_is_refused() {
    let (node, _) = Node::init("Manufacturer");
    let id = publish(&node, &[&control(&node, "c.toml"), "-c", "partners"]).remove(0);
    let withdrawn = publish(&node, &[&withdrawal(&node, "w1.toml", &id)]).remove(0);
    refused(
        &node,
        &["publish", &withdrawal(&node, "w2.toml", &withdrawn)],
        &[
            &withdrawn,
            "a withdrawal cannot be withdrawn",
            "publish the record again",
        ],
    );
}

/// Messages said "a incident record" and "wrote a audit draft".
#[test]
fn kinds_starting_with_a_vowel_take_an() {
    let (node, _) = Node::init("Manufacturer");
    let (_, other) = Node::init("Other");
    let theirs = node.file(
        "theirs.toml",
        std::fs::read_to_string(incident(&node, &other))
            .unwrap()
            .replace(
                "kind = \"incident\"\n",
                &format!("kind = \"incident\"\nsubject = \"{other}\"\n"),
            ),
    );
    refused(
        &node,
        &["publish", &theirs],
        &["an incident record is about"],
    );
    let out = node.dir.path().join("audit.toml");
    let written = node.run(&["new", "audit", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&written.stderr);
    assert!(stderr.contains("wrote an audit draft"), "{stderr}");
}

/// A JSON draft with a key twice said so twice.
#[test]
fn a_json_draft_with_a_duplicate_key_is_reported_once() {
    let (node, _) = Node::init("Manufacturer");
    let draft = node.file(
        "duplicate.json",
        r#"{"kind": "control", "controlId": "ISO22340:8.2.1", "controlId": "ISO22340:8.2.2",
            "status": "implemented", "statement": "Gates."}"#,
    );
    let error = refused(&node, &["publish", &draft], &["`controlId` twice"]);
    assert_eq!(error.matches("twice").count(), 1, "{error}");
}

/// Withdrawing a partner's record we hold as a copy of its log said no
/// such record was held.
#[test]
fn a_withdrawal_of_a_partners_record_says_only_its_issuer_can() {
    let (supplier, supplier_did) = Node::init("Supplier");
    let (member, member_did) = Node::init("Manufacturer");
    supplier.ok(&[
        "grant",
        "add",
        &member_did,
        "--basis",
        "MSA-1",
        "--unknown-party",
    ]);
    let id = publish(
        &supplier,
        &[&control(&supplier, "c.toml"), "-c", "partners"],
    )
    .remove(0);
    let running_supplier = Running::start(&supplier, &config(&supplier, None));
    let line = running_supplier.wait_for(&["listening", "/ip4/127.0.0.1/tcp/"]);
    let address = line.trim_start_matches("listening ").to_owned();
    let running = Running::start(&member, &config(&member, Some((&supplier_did, &address))));
    // The partners log, with the record, not the empty public one.
    running.wait_for(&["synced", &supplier_did, " 1"]);
    // The line may be of another of the supplier's logs: wait for the record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !member.ok(&["records", "--json"]).contains(&id) {
        assert!(
            std::time::Instant::now() < deadline,
            "record {id} never arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let error = member.fails(
        &[
            "publish",
            &withdrawal(&member, "w.toml", &id),
            "-c",
            "partners",
        ],
        1,
    );
    assert!(
        error.contains(&id)
            && error.contains("another organization's")
            && error.contains("only its issuer can withdraw it"),
        "{error}"
    );
    running.stop();
    running_supplier.stop();
}
