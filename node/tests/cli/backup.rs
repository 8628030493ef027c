//! `assure backup` and `assure restore`: a backup brings a node back in an
//! empty directory, keeps its key under a passphrase, and a refused restore
//! writes nothing.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Node, example, free_port};
use crate::network::{Running, compartment_id, config};

/// A node whose data directory does not exist yet.
fn empty() -> Node {
    Node {
        dir: tempfile::tempdir().unwrap(),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A backup of `node` with the key under `passphrase`; returns its path.
fn backup(node: &Node, passphrase: &str) -> String {
    let file = node.dir.path().join("node.backup");
    let passphrase = node.file("passphrase", format!("{passphrase}\n"));
    node.ok(&[
        "backup",
        file.to_str().unwrap(),
        "--passphrase-file",
        &passphrase,
    ]);
    file.to_str().unwrap().to_owned()
}

fn restore(node: &Node, file: &str, passphrase: &str) -> std::process::Output {
    let passphrase = node.file("passphrase", passphrase);
    node.run(&["restore", file, "--passphrase-file", &passphrase])
}

/// Whether `openssl pkey` accepts a key file; `None` without openssl.
fn openssl_accepts(key: &Path) -> Option<bool> {
    let status = Command::new("openssl")
        .args(["pkey", "-noout", "-in"])
        .arg(key)
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(status) => Some(status.success()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("running openssl: {e}"),
    }
}

#[test]
fn openssl_reads_the_key_that_init_writes() {
    let (node, _) = Node::init("Kessler Precision Components AG");
    let key = node.data().join("key.pem");
    match openssl_accepts(&key) {
        Some(accepted) => assert!(accepted, "openssl pkey refused {}", key.display()),
        None => eprintln!("skipped: no openssl on PATH"),
    }
}

#[test]
fn a_restored_node_runs_verifies_and_its_partner_reconnects() {
    let (supplier, supplier_did) = Node::init("Supplier");
    let (maker, maker_did) = Node::init("Maker");
    supplier.ok(&[
        "grant",
        "add",
        &maker_did,
        "--unknown-party",
        "--role",
        "customer",
        "--basis",
        "MSA-2026-7",
    ]);
    supplier.ok(&["publish", &example("scope.toml"), "-c", "partners"]);
    let partners = compartment_id(&supplier, "partners");
    let file = backup(&supplier, "correct horse battery staple");
    assert_eq!(mode(Path::new(&file)), 0o600);

    // The partner replicates from the original node, which is then lost.
    let address = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let supplier_config = config(&supplier, None).replace("/ip4/127.0.0.1/tcp/0", &address);
    let original = Running::start(&supplier, &supplier_config);
    original.wait_for(&["listening", &address]);
    let partner = Running::start(&maker, &config(&maker, Some((&supplier_did, &address))));
    partner.wait_for(&["synced", &supplier_did, &partners, " 1"]);
    original.kill();
    partner.wait_for(&["disconnected", &supplier_did]);

    // Restored on another machine: a new, empty data directory.
    let restored = empty();
    let out = restore(&restored, &file, "correct horse battery staple");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(restored.ok(&["id"]).trim(), supplier_did);
    let key = restored.data().join("key.pem");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&restored.data().join("admin.token")), 0o600);
    if let Some(accepted) = openssl_accepts(&key) {
        assert!(accepted, "openssl pkey refused the restored key");
    }
    restored.ok(&["log", "verify"]);
    assert_eq!(restored.snapshot(), supplier.snapshot());

    // The restored node signs on and serves it at the old address; the
    // partner comes back to it by itself.
    restored.ok(&["publish", &example("control-cyber.toml"), "-c", "partners"]);
    let running = Running::start(
        &restored,
        &config(&restored, None).replace("/ip4/127.0.0.1/tcp/0", &address),
    );
    running.wait_for(&["listening", &address]);
    partner.wait_for(&["synced", &supplier_did, &partners, " 2"]);

    // A restore while the node runs says to stop it.
    let refused = restore(&restored, &file, "correct horse battery staple");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stop it"), "{stderr}");

    running.stop();
    partner.stop();
}

#[test]
fn a_wrong_passphrase_is_refused_and_nothing_is_written() {
    let (node, _) = Node::init("Supplier");
    let file = backup(&node, "the right one");
    let target = empty();
    let out = restore(&target, &file, "the wrong one");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("passphrase does not open"), "{stderr}");
    assert!(!target.data().exists(), "{stderr}");
}

#[test]
fn a_damaged_backup_is_refused_and_nothing_is_written() {
    let (node, _) = Node::init("Supplier");
    node.ok(&["publish", &example("scope.toml"), "-c", "partners"]);
    let file = backup(&node, "passphrase");
    let text = std::fs::read_to_string(&file).unwrap();
    // One character of the signed checkpoint's origin changed.
    let damaged = text.replacen("assure/did:key:z6Mk", "assure/did:key:z6Mj", 1);
    assert_ne!(damaged, text);
    let damaged = node.file("damaged.backup", damaged);
    let target = empty();
    std::fs::create_dir(target.data()).unwrap();
    let out = restore(&target, &damaged, "passphrase");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was not restored"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(target.data()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_no_key_backup_needs_the_key_put_back_first() {
    let (node, did) = Node::init("Supplier");
    let file = node.dir.path().join("nokey.backup");
    let file = file.to_str().unwrap();
    node.ok(&["backup", file, "--no-key"]);
    assert!(!std::fs::read_to_string(file).unwrap().contains("AGE"));

    let target = empty();
    let out = target.command(&["restore", file]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--no-key"), "{stderr}");
    let key_path = target.data().join("key.pem");
    assert!(
        stderr.contains(&format!(
            "put the key file of {did} at {}",
            key_path.display()
        )),
        "{stderr}"
    );
    assert!(!target.data().exists());

    // With the key put back by hand, the same backup restores.
    std::fs::create_dir(target.data()).unwrap();
    std::fs::copy(node.data().join("key.pem"), &key_path).unwrap();
    target.ok(&["restore", file]);
    assert_eq!(target.ok(&["id"]).trim(), did);
    target.ok(&["log", "verify"]);
}

#[test]
fn a_backup_is_not_restored_over_another_organization() {
    let (node, did) = Node::init("Supplier");
    let file = backup(&node, "passphrase");
    let (other, other_did) = Node::init("Someone else");
    let before = other.snapshot();
    let out = restore(&other, &file, "passphrase");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("holds the identity {other_did}")) && stderr.contains(&did),
        "{stderr}"
    );
    assert_eq!(other.snapshot(), before);
}

#[test]
fn a_passphrase_is_never_empty_and_never_guessed() {
    let (node, _) = Node::init("Supplier");
    let file = node.dir.path().join("x.backup");
    let file = file.to_str().unwrap();
    let out = node
        .command(&["backup", file])
        .env_remove("ASSURE_BACKUP_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--passphrase-file") && stderr.contains("ASSURE_BACKUP_PASSPHRASE"),
        "{stderr}"
    );
    let out = node
        .command(&["backup", file])
        .env("ASSURE_BACKUP_PASSPHRASE", "")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");
    assert!(!Path::new(file).exists());

    // From the environment, as a scheduled job would.
    let out = node
        .command(&["backup", file])
        .env("ASSURE_BACKUP_PASSPHRASE", "from the environment")
        .output()
        .unwrap();
    assert!(out.status.success());
    let target = empty();
    let out = target
        .command(&["restore", file])
        .env("ASSURE_BACKUP_PASSPHRASE", "from the environment")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restoring an older backup over the directory it was taken from took its
/// logs back without a word; partners holding the newer entries then
/// reported equivocation at the next record and froze our logs.
#[test]
fn an_older_backup_is_not_restored_over_newer_logs_without_older() {
    let (node, _) = Node::init("Supplier");
    node.ok(&["publish", &example("scope.toml"), "-c", "partners"]);
    let file = backup(&node, "passphrase");
    node.ok(&["publish", &example("control-cyber.toml"), "-c", "partners"]);

    let out = restore(&node, &file, "passphrase");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`partners` has 2 entries here, 1 in the backup")
            && stderr.contains("forked history")
            && stderr.contains("--older")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    let aside = std::fs::read_dir(node.data())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("db.replaced-"));
    assert!(!aside, "a refused restore replaced the database");

    let passphrase = node.file("passphrase", "passphrase");
    let out = node.run(&[
        "restore",
        &file,
        "--passphrase-file",
        &passphrase,
        "--older",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("`partners` went back from 2 entries to 1"),
        "{stderr}"
    );
    assert!(stderr.contains("partners 1"), "{stderr}");
}

/// Every restore, into an empty directory too, says when the backup was
/// written and what partners may hold that it lacks.
#[test]
fn every_restore_says_when_the_backup_was_written_and_warns_of_a_fork() {
    let (node, _) = Node::init("Supplier");
    node.ok(&["publish", &example("scope.toml"), "-c", "partners"]);
    let file = backup(&node, "passphrase");
    let target = empty();
    let out = restore(&target, &file, "passphrase");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the backup was written 20") && stderr.contains("partners 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("partners hold newer checkpoints and will report a fork")
            && stderr.contains("restore a newer backup"),
        "{stderr}"
    );
}

/// A missing passphrase file printed the OS's reason twice.
#[test]
fn a_missing_passphrase_file_is_reported_once() {
    let (node, _) = Node::init("Supplier");
    let file = node.dir.path().join("x.backup");
    let out = node.run(&[
        "backup",
        file.to_str().unwrap(),
        "--passphrase-file",
        "/nonexistent/passphrase",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/passphrase"), "{stderr}");
}
