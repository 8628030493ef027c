//! `assure export` writes what anyone can check with their own tools: an
//! independent DSSE verifier (Node.js's built-in ed25519, no Assure code)
//! checks every exported envelope given only the organization's public key.

use std::process::Command;

use crate::common::{Node, example};

const VERIFIER: &str = r#"
// Independent DSSE verification: PAE per the DSSE spec, ed25519 via Node's crypto.
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [dir, publicKeyHex] = process.argv.slice(2);
// SPKI DER prefix of an ed25519 public key, then the 32 raw bytes.
const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKeyHex, 'hex')]);
const key = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
const pae = (type, body) => Buffer.concat([
  Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
const files = fs.readdirSync(path.join(dir, 'entries'));
let ok = 0;
for (const f of files) {
  const env = JSON.parse(fs.readFileSync(path.join(dir, 'entries', f)));
  const body = Buffer.from(env.payload, 'base64');
  const sig = Buffer.from(env.signatures[0].sig, 'base64');
  if (!crypto.verify(null, pae(env.payloadType, body), key, sig)) { console.log('BAD ' + f); process.exit(1); }
  ok++;
}
console.log(`verified ${ok}`);
"#;

#[test]
fn exported_envelopes_verify_with_an_independent_dsse_implementation() {
    // The logistics provider of config/records/, whose Rotterdam site the
    // physical control is about.
    let (node, did) = Node::init_seeded("Maasrijn Logistics B.V.", 4);
    node.ok(&[
        "publish",
        &example("scope.toml"),
        &example("control-cyber.toml"),
        &example("control-physical.toml"),
        "--compartment",
        "partners",
    ]);
    let out = node.dir.path().join("export");
    node.ok(&[
        "export",
        "--compartment",
        "partners",
        "--out",
        out.to_str().unwrap(),
    ]);
    let checkpoint = std::fs::read_to_string(out.join("checkpoint")).unwrap();
    assert!(
        checkpoint.starts_with(&format!("assure/{did}/")),
        "{checkpoint}"
    );
    assert_eq!(std::fs::read_dir(out.join("entries")).unwrap().count(), 3);

    let did: assure_model::Did = did.parse().unwrap();
    let script = node.file("verify.js", VERIFIER);
    let result = Command::new("node")
        .args([
            script.as_str(),
            out.to_str().unwrap(),
            &hex::encode(did.public_bytes()),
        ])
        .output()
        .expect("Node.js is needed for the independent DSSE check (see README)");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(stdout.trim(), "verified 3");

    // The same verifier refuses a tampered entry, so the check above can fail.
    let first = out.join("entries/0.json");
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
    envelope["payload"] = base64_flip(envelope["payload"].as_str().unwrap()).into();
    std::fs::write(&first, serde_json::to_vec(&envelope).unwrap()).unwrap();
    let result = Command::new("node")
        .args([
            script.as_str(),
            out.to_str().unwrap(),
            &hex::encode(did.public_bytes()),
        ])
        .output()
        .unwrap();
    assert!(!result.status.success());

    // Exporting into a non-empty directory is refused.
    node.fails(
        &[
            "export",
            "--compartment",
            "partners",
            "--out",
            out.to_str().unwrap(),
        ],
        1,
    );
}

fn base64_flip(payload: &str) -> String {
    let mut chars: Vec<char> = payload.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
