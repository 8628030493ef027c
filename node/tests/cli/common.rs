//! Running the binary against a temporary data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::network::{Running, config};

/// A temporary data directory and the commands run against it.
pub(crate) struct Node {
    pub(crate) dir: tempfile::TempDir,
}

impl Node {
    /// A fresh, initialized node.
    pub(crate) fn init(name: &str) -> (Self, String) {
        let node = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = node.ok(&["init", "--name", name]);
        let did = out.trim().to_owned();
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        (node, did)
    }

    /// A fresh node with the public demo key `seed`, for the example
    /// records of config/records/ that are about that organization.
    pub(crate) fn init_seeded(name: &str, seed: u8) -> (Self, String) {
        let node = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = node.ok(&["init", "--name", name, "--demo-seed", &seed.to_string()]);
        (node, out.trim().to_owned())
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_assure"));
        command
            .arg("--data")
            .arg(self.data())
            .args(args)
            .env_remove("ASSURE_DATA");
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "assure {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail with `code`; returns its stderr.
    pub(crate) fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "assure {args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        stderr
    }

    /// Writes a file in the test directory and returns its path as a string.
    pub(crate) fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// A snapshot of everything the store holds, to prove a refusal changed nothing.
    pub(crate) fn snapshot(&self) -> String {
        let records = self.ok(&["records", "--json", "--limit", "100000"]);
        let compartments = self.ok(&["compartments", "--json"]);
        let grants = self.ok(&["grant", "list", "--json", "--history"]);
        format!("{records}{compartments}{grants}")
    }
}

/// The example record files shipped in config/records/.
pub(crate) fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/records")
        .join(name);
    assert!(path.exists(), "{}", path.display());
    path.to_str().unwrap().to_owned()
}

/// Every 64-hex-character word of a text: the record ids a command printed.
pub(crate) fn record_ids(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|word| word.len() == 64)
        .map(str::to_owned)
        .collect()
}

/// Two fresh nodes, the first granting the second partner access (basis
/// "NDA"): the author, its DID, the partner, its DID.
pub(crate) fn granted(author: &str, partner: &str) -> (Node, String, Node, String) {
    let (node, did) = Node::init(author);
    let (other, other_did) = Node::init(partner);
    node.ok(&[
        "grant",
        "add",
        &other_did,
        "--basis",
        "NDA",
        "--unknown-party",
    ]);
    (node, did, other, other_did)
}

/// Runs `node` with its API on a free loopback port: the process and the
/// API's base URL.
pub(crate) fn serve(node: &Node) -> (Running, String) {
    let running = Running::start(node, &config(node, None));
    let line = running.wait_for(&["api http://"]);
    let url = line.trim_start_matches("api ").to_owned();
    (running, url)
}

/// A loopback port no one listens on now, for a node that keeps its
/// address across restarts.
pub(crate) fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// A command's JSON output.
pub(crate) fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Retries `check` for at most `seconds`.
pub(crate) fn eventually(what: &str, seconds: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
