//! The README's walk-through: init, publish, records, show, log verify,
//! grants, backup and restore.

use crate::common::{Node, example, record_ids};

#[test]
fn init_publish_records_verify() {
    let (node, did) = Node::init("Rotterdam Logistics BV");
    assert_eq!(node.ok(&["id"]).trim(), did);

    let compartments = node.ok(&["compartments"]);
    for label in ["public", "partners", "confidential", "regulators"] {
        assert!(compartments.contains(label), "{compartments}");
    }
    assert!(compartments.contains("TLP:CLEAR") && compartments.contains("TLP:GREEN"));

    let out = node.ok(&[
        "publish",
        &example("scope.toml"),
        &example("control-cyber.toml"),
        "--compartment",
        "partners",
    ]);
    let ids = record_ids(&out);
    assert_eq!(ids.len(), 2, "{out}");
    assert!(
        out.contains(&format!("assure/{did}/")),
        "checkpoint printed: {out}"
    );

    let listed = node.ok(&["records", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let controls = node.ok(&["records", "--kind", "control", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&controls)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let public = node.ok(&["records", "--compartment", "public", "--json"]);
    assert_eq!(public.trim(), "[]");

    let shown = node.ok(&["show", &ids[0], "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["signers"][0], did.as_str());
    assert_eq!(shown["statement"]["predicateType"], "urn:assure:scope:v1");

    let verified = node.ok(&["log", "verify", "--json"]);
    let verified: serde_json::Value = serde_json::from_str(&verified).unwrap();
    let partners = verified
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["compartment"] == "partners")
        .unwrap();
    assert_eq!(partners["size"], 2);
    assert_eq!(partners["status"], "ok");
}

#[test]
fn grants_are_added_replaced_revoked_and_logged() {
    let (node, _) = Node::init("Manufacturer");
    let (_, partner) = Node::init("Supplier");
    node.ok(&[
        "grant",
        "add",
        "--unknown-party",
        &partner,
        "--clearance",
        "confidential",
        "--role",
        "supplier",
        "--basis",
        "MSA-2026-17",
    ]);
    node.ok(&[
        "grant",
        "add",
        "--unknown-party",
        &partner,
        "--clearance",
        "partner",
        "--role",
        "supplier",
        "--basis",
        "MSA-2026-17 amendment 1",
    ]);
    let list: serde_json::Value =
        serde_json::from_str(&node.ok(&["grant", "list", "--json"])).unwrap();
    assert_eq!(list[0]["version"], 2);
    assert_eq!(list[0]["clearance"], "partner");
    node.ok(&["grant", "revoke", &partner]);
    let history: serde_json::Value =
        serde_json::from_str(&node.ok(&["grant", "list", "--history", "--json"])).unwrap();
    let changes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["added", "replaced", "revoked"]);
    node.fails(&["grant", "revoke", &partner], 1);
}

#[test]
fn backup_and_restore_round_trip() {
    let (node, _) = Node::init("Manufacturer");
    node.ok(&[
        "publish",
        &example("scope.toml"),
        "--compartment",
        "partners",
    ]);
    node.ok(&[
        "publish",
        &example("profile.toml"),
        "--compartment",
        "public",
    ]);
    let before = node.snapshot();
    let backup = node.dir.path().join("node.backup");
    node.ok(&["backup", backup.to_str().unwrap(), "--no-key"]);
    node.ok(&["restore", backup.to_str().unwrap()]);
    assert_eq!(node.snapshot(), before);
    node.ok(&["log", "verify"]);

    // A damaged backup is refused and the node stays as it was.
    let mut text = std::fs::read_to_string(&backup).unwrap();
    let at = text.find("\"entry\":\"").unwrap() + 12;
    text.replace_range(at..at + 1, if &text[at..at + 1] == "A" { "B" } else { "A" });
    let damaged = node.file("damaged.backup", text);
    let err = node.fails(&["restore", &damaged], 1);
    assert!(err.contains("line"), "{err}");
    let full = std::fs::read_to_string(&backup).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    let truncated = node.file("truncated.backup", lines[..lines.len() - 1].join("\n"));
    let err = node.fails(&["restore", &truncated], 1);
    assert!(err.contains("truncated"), "{err}");
    assert_eq!(node.snapshot(), before);
}

#[test]
fn a_tampered_log_is_an_integrity_failure_naming_the_compartment() {
    let (node, _) = Node::init("Tampered");
    node.ok(&[
        "publish",
        &example("scope.toml"),
        &example("profile.toml"),
        "--compartment",
        "confidential",
    ]);
    {
        // The envelopes sit at the end of the segment file: flip a byte of
        // the last one.
        let segment = node.data().join("db/segments/00000000.seg");
        let mut bytes = std::fs::read(&segment).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        std::fs::write(&segment, bytes).unwrap();
    }
    let err = node.fails(&["records"], 2);
    assert!(
        err.contains("confidential") && err.contains("assure restore"),
        "{err}"
    );
    let out = node.run(&["log", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("DAMAGED") && table.contains("partners"),
        "{table}"
    );
}

#[test]
fn a_second_process_on_the_same_directory_is_refused() {
    let (node, _) = Node::init("Busy");
    let _held = assure_store::Store::open(&node.data()).unwrap();
    let err = node.fails(&["records"], 1);
    assert!(
        err.contains("node already running on this data directory"),
        "{err}"
    );
}
