//! Every refusal is a clear message, exit code 1, and changes nothing on disk.

use assure_model::{Keypair, SubjectRef, issue};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::common::{Node, example};

/// Publishes `file` (a draft, or an envelope with `--envelope`), expects a
/// refusal mentioning `expected`, and checks the store did not change.
fn refused(node: &Node, file: &str, envelope: bool, expected: &str) {
    let before = node.snapshot();
    let mut args = vec!["publish", file, "--compartment", "partners"];
    if envelope {
        args.push("--envelope");
    }
    let err = node.fails(&args, 1);
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
    assert!(err.contains("nothing was published"), "{err}");
    assert_eq!(
        node.snapshot(),
        before,
        "a refused publish changed the store"
    );
}

#[test]
fn malformed_drafts_are_refused() {
    let (node, _) = Node::init("Org");
    let cases: &[(&str, &str, &str)] = &[
        ("syntax.json", r#"{"kind": "scope", "#, "not valid JSON"),
        (
            "syntax.toml",
            "kind = \"scope\"\nprocesses = [",
            "not valid TOML",
        ),
        (
            "nokind.json",
            r#"{"processes": []}"#,
            "missing field `kind`",
        ),
        (
            "unknown-kind.toml",
            "kind = \"horoscope\"",
            "unknown Kind `horoscope`",
        ),
        (
            "wrong-type.toml",
            "kind = \"scope\"\nprocesses = \"everything\"",
            "invalid type",
        ),
        (
            "unknown-field.toml",
            "kind = \"scope\"\nprocesess = [\"typo\"]",
            "unknown field `procesess`",
        ),
        (
            "reserved.toml",
            "kind = \"scope\"\nissuer = \"me\"",
            "filled in by the node",
        ),
        (
            "duplicate.json",
            r#"{"kind":"scope","kind":"control"}"#,
            "twice",
        ),
        (
            "bad-control.toml",
            "kind = \"control\"\ncontrolId = \"ISO9999:1\"\nstatus = \"implemented\"\nstatement = \"x\"",
            "not in the control catalog",
        ),
        (
            "bad-status.toml",
            "kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"done\"\nstatement = \"x\"",
            "unknown variant `done`",
        ),
        ("array.json", "[1, 2]", "expected a table"),
    ];
    for (name, contents, expected) in cases {
        refused(&node, &node.file(name, contents), false, expected);
    }
    let deep = format!(
        "{{\"kind\":\"scope\",\"x\":{}{}}}",
        "[".repeat(40),
        "]".repeat(40)
    );
    refused(
        &node,
        &node.file("deep.json", deep),
        false,
        "nested deeper than 32",
    );
    let big = format!(
        "kind = \"scope\"\nprocesses = [\"{}\"]",
        "a".repeat(300 * 1024)
    );
    refused(&node, &node.file("big.toml", big), false, "byte limit");
    refused(
        &node,
        &node.file("missing.toml", ""),
        false,
        "missing field `kind`",
    );
}

#[test]
fn a_batch_with_one_bad_file_publishes_nothing() {
    let (node, _) = Node::init("Org");
    let before = node.snapshot();
    let bad = node.file("bad.toml", "kind = \"scope\"\nprocesses = 3");
    let err = node.fails(
        &[
            "publish",
            &example("scope.toml"),
            &bad,
            "--compartment",
            "partners",
        ],
        1,
    );
    assert!(err.contains("bad.toml"), "{err}");
    assert_eq!(node.snapshot(), before);
}

#[test]
fn unknown_compartment_second_init_and_missing_file_are_refused() {
    let (node, did) = Node::init("Org");
    let before = node.snapshot();
    let err = node.fails(
        &[
            "publish",
            &example("scope.toml"),
            "--compartment",
            "secret-lab",
        ],
        1,
    );
    assert!(err.contains("no compartment `secret-lab`"), "{err}");
    let err = node.fails(&["init", "--name", "Again"], 1);
    assert!(
        err.contains("refusing to overwrite") && err.contains(&did),
        "{err}"
    );
    let err = node.fails(
        &[
            "publish",
            "/nonexistent/x.toml",
            "--compartment",
            "partners",
        ],
        1,
    );
    assert!(err.contains("cannot read"), "{err}");
    assert_eq!(node.snapshot(), before);
    assert_eq!(
        node.ok(&["id"]).trim(),
        did,
        "the identity survived the second init"
    );
}

#[test]
fn commands_on_an_uninitialized_directory_say_what_to_do() {
    let node = Node {
        dir: tempfile::tempdir().unwrap(),
    };
    let err = node.fails(
        &[
            "publish",
            &example("scope.toml"),
            "--compartment",
            "partners",
        ],
        1,
    );
    assert!(err.contains("assure init"), "{err}");
}

/// A valid envelope issued by `issuer`, as JSON.
fn envelope(issuer: &Keypair) -> serde_json::Value {
    let draft =
        assure_model::Draft::from_toml(&std::fs::read_to_string(example("scope.toml")).unwrap())
            .unwrap();
    let catalog = assure_model::Catalog::builtin().clone();
    let (subject, predicate) = draft
        .into_predicate(issuer.did(), jiff::Timestamp::now(), &catalog)
        .unwrap();
    let subject: SubjectRef = subject;
    let (bytes, _) = issue(issuer, &subject, &predicate).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn bad_envelopes_are_refused() {
    let (node, _) = Node::init("Org");
    let auditor = Keypair::from_seed([5; 32]);
    let good = envelope(&auditor);
    let good_file = node.file("good.json", serde_json::to_vec(&good).unwrap());

    let mut forged = good.clone();
    let forger = Keypair::from_seed([66; 32]);
    let payload = BASE64.decode(good["payload"].as_str().unwrap()).unwrap();
    let sig = forger.sign(&assure_model::dsse::pae(
        assure_model::dsse::PAYLOAD_TYPE,
        &payload,
    ));
    forged["signatures"][0]["sig"] = BASE64.encode(sig).into();
    refused(
        &node,
        &node.file("forged.json", serde_json::to_vec(&forged).unwrap()),
        true,
        "does not verify",
    );

    let mut unsigned = good.clone();
    unsigned["signatures"] = serde_json::json!([]);
    refused(
        &node,
        &node.file("unsigned.json", serde_json::to_vec(&unsigned).unwrap()),
        true,
        "not signed",
    );

    let mut tampered = good.clone();
    let mut statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    statement["predicate"]["processes"][0] = "smuggling".into();
    tampered["payload"] = BASE64
        .encode(serde_json::to_vec(&statement).unwrap())
        .into();
    refused(
        &node,
        &node.file("tampered.json", serde_json::to_vec(&tampered).unwrap()),
        true,
        "does not verify",
    );

    // S + L: the same signature in a non-canonical encoding.
    let mut malleable = good.clone();
    let mut sig = BASE64
        .decode(good["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    add_group_order(&mut sig[32..]);
    malleable["signatures"][0]["sig"] = BASE64.encode(&sig).into();
    refused(
        &node,
        &node.file("malleable.json", serde_json::to_vec(&malleable).unwrap()),
        true,
        "does not verify",
    );

    let big = format!(
        "{{\"payload\":\"{}\",\"payloadType\":\"x\",\"signatures\":[]}}",
        "A".repeat(300 * 1024)
    );
    refused(&node, &node.file("big.json", big), true, "byte limit");

    refused(
        &node,
        &node.file("notjson.json", "garbage"),
        true,
        "not valid JSON",
    );

    // The good one goes in, once refusals are done: another organization's
    // scope, so by default into the compartment of exactly that organization.
    node.ok(&["publish", &good_file, "--envelope"]);
}

/// Adds the ed25519 group order L to a 32-byte little-endian scalar.
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (byte, l) in s.iter_mut().zip(L) {
        let sum = *byte as u16 + l as u16 + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
}
