//! Running the binary against a temporary data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
