//! `assure verify`, `cosign` and `bundle` with the real binary: an auditor's
//! certification co-signed by the supplier, carried to the manufacturer as
//! envelopes, verified, published, bundled and checked offline.

use crate::common::Node;

/// Exports `node`'s compartment and returns the path of entry `index`.
fn envelope(node: &Node, compartment: &str, index: usize) -> String {
    let out = node
        .dir
        .path()
        .join(format!("export-{compartment}-{index}"));
    node.ok(&[
        "export",
        "--compartment",
        compartment,
        "--out",
        out.to_str().unwrap(),
    ]);
    out.join("entries")
        .join(format!("{index}.json"))
        .to_str()
        .unwrap()
        .to_owned()
}

fn profile(node: &Node) -> String {
    node.file(
        "profile.toml",
        r#"
name = "test-supplier"
title = "Test supplier"

[[requirement]]
id = "certified"
kind = "certification"
clauses = ["ISO28000:8.4.g"]
standard = "ISO 28000:2022"

[[requirement]]
id = "acknowledged"
kind = "cosigned"
clauses = ["ISO28000:9.2"]
record = "audit"
threshold = 1
signers = ["subject"]
"#,
    )
}

#[test]
fn verify_cosign_publish_and_bundle_round_trip() {
    let (anchor, anchor_did) = Node::init("Regulator");
    let (auditor, auditor_did) = Node::init("Cert body");
    let (supplier, supplier_did) = Node::init("Supplier");
    let (maker, _) = Node::init("Manufacturer");

    let accreditation = anchor.file(
        "accreditation.toml",
        format!(
            "kind = \"accreditation\"\nsubject = \"{auditor_did}\"\nrole = \"auditor\"\n\
             programmes = [\"ISO 28000:2022\"]\n"
        ),
    );
    // An accreditation names the auditor: public on purpose.
    anchor.ok(&[
        "publish",
        &accreditation,
        "--compartment",
        "public",
        "--share-wider",
    ]);
    let audit = auditor.file(
        "audit.toml",
        format!(
            "kind = \"audit\"\nsubject = \"{supplier_did}\"\nauditType = \"certification\"\n\
             standard = \"ISO 28000:2022\"\nresult = \"certified\"\ncertificateNumber = \"C-7\"\n\
             period = {{ from = 2026-10-01, to = 2026-10-03 }}\n"
        ),
    );
    // The auditor keeps one compartment per client.
    auditor.ok(&["compartment", "add", "client-7", "--reader", &supplier_did]);
    auditor.ok(&["publish", &audit, "--compartment", "client-7"]);
    let audit_envelope = envelope(&auditor, "client-7", 0);

    // The supplier acknowledges the audit; co-signing our own record is refused.
    let cosigned = supplier.dir.path().join("cosigned.json");
    let out = supplier.ok(&[
        "cosign",
        &audit_envelope,
        "--out",
        cosigned.to_str().unwrap(),
    ]);
    assert!(out.contains("co-signed record"), "{out}");
    let error = auditor.fails(&["cosign", &audit_envelope], 1);
    assert!(error.contains("our own record"), "{error}");

    // The manufacturer holds the envelopes it was given.
    let profile = profile(&maker);
    let anchor_arg = format!("--anchor={anchor_did}");
    let only_audit = maker.ok(&["verify", &supplier_did, "--profile", &profile, &anchor_arg]);
    assert!(only_audit.contains("INCONCLUSIVE"), "{only_audit}");
    assert!(only_audit.contains("not accredited") || only_audit.contains("no certification"));

    let accreditation_envelope = envelope(&anchor, "public", 0);
    // Others' records about others go, by default, to the compartment of
    // exactly the organization each names.
    maker.ok(&[
        "publish",
        "--envelope",
        &accreditation_envelope,
        &audit_envelope,
    ]);
    let partial = maker.ok(&["verify", &supplier_did, "--profile", &profile, &anchor_arg]);
    assert!(partial.contains("FAIL"), "{partial}");
    assert!(
        partial.contains("0 of the 1 required signatures"),
        "{partial}"
    );

    maker.ok(&["publish", "--envelope", cosigned.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&maker.ok(&[
        "verify",
        &supplier_did,
        "--profile",
        &profile,
        &anchor_arg,
        "--json",
        "--publish",
        "partners",
        "--share-wider",
    ]))
    .unwrap();
    assert_eq!(report["result"], "pass", "{report:#}");
    assert_eq!(
        report["requirements"][0]["evidence"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let published = maker.ok(&["records", "--kind", "verification", "--json"]);
    assert!(published.contains(&supplier_did), "{published}");

    // The bundle checks offline, and a tampered one does not (exit code 2).
    let bundle = maker.dir.path().join("bundle.json");
    let bundle_path = bundle.to_str().unwrap();
    maker.ok(&[
        "bundle",
        "export",
        &supplier_did,
        "--profile",
        &profile,
        "--out",
        bundle_path,
        &anchor_arg,
    ]);
    let checked = anchor.ok(&["bundle", "verify", bundle_path]);
    assert!(checked.contains("valid"), "{checked}");
    assert!(checked.contains("PASS"), "{checked}");
    let error = maker.fails(
        &[
            "bundle",
            "export",
            &supplier_did,
            "--profile",
            &profile,
            "--out",
            bundle_path,
        ],
        1,
    );
    assert!(error.contains("must not exist"), "{error}");

    let text = std::fs::read_to_string(&bundle).unwrap();
    let tampered = text.replacen("C-7", "C-8", 1);
    assert_ne!(text, tampered);
    let tampered_path = maker.file("tampered.json", tampered);
    let error = anchor.fails(&["bundle", "verify", &tampered_path], 2);
    assert!(error.contains("tampered.json"), "{error}");
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["keys"] = serde_json::json!([]);
    let keyless = maker.file("keyless.json", value.to_string());
    let error = anchor.fails(&["bundle", "verify", &keyless], 2);
    assert!(error.contains("lacks the key"), "{error}");
}

#[test]
fn bad_profiles_and_arguments_are_refused_with_the_file_and_line() {
    let (node, did) = Node::init("Manufacturer");
    let bad = node.file(
        "bad.toml",
        "name = \"p\"\ntitle = \"p\"\n\n[[requirement]]\nid = \"x\"\nkind = \"control\"\n\
         clauses = [\"ISO28000:8.4\"]\ncontrol = \"ISO28000:99\"\n",
    );
    let error = node.fails(&["verify", &did, "--profile", &bad], 1);
    assert!(
        error.contains("bad.toml: line 4: requirement `x`: unknown control id"),
        "{error}"
    );
    let error = node.fails(&["verify", "did:key:nope", "--profile", &bad], 1);
    assert!(error.contains("not a did:key"), "{error}");
    let out = node.run(&["verify", &did]);
    assert_eq!(out.status.code(), Some(1), "a usage error is a user error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--profile"));
    let missing = node.fails(&["bundle", "verify", "/nonexistent/bundle.json"], 1);
    assert!(missing.contains("cannot read"), "{missing}");
    // With no relationships there is nobody to verify, and it says so.
    let out = node.ok(&["verify", "--all"]);
    assert!(out.contains("no providers"), "{out}");
}
