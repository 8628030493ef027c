//! Test 9: five organizations run the real `assure run` binary from config
//! files on 127.0.0.1 and replicate what each may read.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::common::{Node, example};

/// A running `assure run` process and the lines it prints.
pub(crate) struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    pub(crate) fn start(node: &Node, config: &str) -> Self {
        Self::start_under(node, config, &[])
    }

    /// Starts `assure run` under another program (`wrapper` and its
    /// arguments, the binary's path appended), such as `strace`.
    pub(crate) fn start_under(node: &Node, config: &str, wrapper: &[&str]) -> Self {
        let path = node.file("node.toml", config);
        let assure = env!("CARGO_BIN_EXE_assure");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(assure);
                command
            }
            None => Command::new(assure),
        };
        let mut child = command
            .args(["run", "--config", &path])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Every line printed and not yet read.
    pub(crate) fn printed(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Waits (at most 30 s) for a printed line containing every word.
    pub(crate) fn wait_for(&self, words: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if words.iter().all(|w| line.contains(w)) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no line with {words:?} within 30 s");
    }

    /// Waits (at most 30 s) until, for each word list, a line containing
    /// every word of it was printed, in any order; returns the lines that
    /// matched.
    pub(crate) fn wait_for_each(&self, wanted: &[&[&str]]) -> Vec<String> {
        let mut matched = Vec::new();
        let mut missing: Vec<&[&str]> = wanted.to_vec();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !missing.is_empty() {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let before = missing.len();
            missing.retain(|words| !words.iter().all(|w| line.contains(w)));
            if missing.len() < before {
                matched.push(line);
            }
        }
        assert!(missing.is_empty(), "no lines with {missing:?} within 30 s");
        matched
    }

    /// Kills with SIGKILL: no shutdown, no flush, the OS closes the sockets.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Stops with SIGTERM and expects a clean exit.
    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        assert!(status.success(), "assure run exited with {status}");
    }
}

impl Running {
    /// Stops a node started under a wrapper (`start_under`): SIGTERM to
    /// the node, the wrapper's child, then a clean exit of both.
    pub(crate) fn stop_under(mut self) {
        let pid = self.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace() {
            assert!(
                Command::new("kill")
                    .args(["-TERM", child])
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "assure run exited with {status}");
    }
}

/// A test that fails does not leave its node running.
impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn config(node: &Node, bootstrap: Option<(&str, &str)>) -> String {
    let mut text = format!(
        "data_dir = \"{}\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\npoll_interval = \"1s\"\n",
        node.data().display()
    );
    text += "[api]\nlisten = \"127.0.0.1:0\"\n";
    if let Some((did, address)) = bootstrap {
        text += &format!("[[bootstrap]]\ndid = \"{did}\"\naddress = \"{address}\"\n");
    }
    text
}

pub(crate) fn compartment_id(node: &Node, label: &str) -> String {
    let listed: serde_json::Value =
        serde_json::from_str(&node.ok(&["compartments", "--json"])).unwrap();
    let found = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == label)
        .unwrap();
    found["id"].as_str().unwrap().to_owned()
}

#[test]
fn five_processes_replicate_from_config_files_under_need_to_know() {
    let (author, author_did) = Node::init("Manufacturer");
    let members: Vec<(Node, String)> = ["Supplier", "Logistics", "Auditor", "Outsider"]
        .iter()
        .map(|n| Node::init(n))
        .collect();
    for (_, did) in &members[..3] {
        author.ok(&[
            "grant",
            "add",
            "--unknown-party",
            did,
            "--role",
            "supplier",
            "--basis",
            "MSA-2026-1",
        ]);
    }
    author.ok(&[
        "publish",
        &example("scope.toml"),
        &example("control-cyber.toml"),
        "--compartment",
        "partners",
    ]);
    author.ok(&[
        "publish",
        &example("profile.toml"),
        "--compartment",
        "public",
    ]);
    let (partners, public) = (
        compartment_id(&author, "partners"),
        compartment_id(&author, "public"),
    );

    let running_author = Running::start(&author, &config(&author, None));
    let line = running_author.wait_for(&["listening", "/ip4/127.0.0.1/tcp/"]);
    let address = line.trim_start_matches("listening ").to_owned();
    let running: Vec<Running> = members
        .iter()
        .map(|(node, _)| Running::start(node, &config(node, Some((&author_did, &address)))))
        .collect();
    for member in &running[..3] {
        member.wait_for_each(&[
            &["synced", &author_did, &partners, " 2"],
            &["synced", &author_did, &public, " 1"],
        ]);
    }
    running[3].wait_for(&["synced", &author_did, &public, " 1"]);
    for member in running {
        member.stop();
    }
    running_author.stop();

    // After an orderly shutdown the stores open and hold exactly what was allowed.
    for (node, _) in &members[..3] {
        let records: serde_json::Value =
            serde_json::from_str(&node.ok(&["records", "--json"])).unwrap();
        assert_eq!(
            records.as_array().unwrap().len(),
            3,
            "two partners records and one public"
        );
        node.ok(&["log", "verify"]);
    }
    let outsider = &members[3].0;
    let records: serde_json::Value =
        serde_json::from_str(&outsider.ok(&["records", "--json"])).unwrap();
    assert_eq!(
        records.as_array().unwrap().len(),
        1,
        "the outsider holds the public record only"
    );
    let disclosures: serde_json::Value =
        serde_json::from_str(&author.ok(&["disclosures", "--json"])).unwrap();
    // Offers disclose each partners head (an empty range); entries were
    // served once per member.
    let ranges = disclosures
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["count"] != 0)
        .count();
    assert_eq!(ranges, 3, "one partners range per member: {disclosures}");
}
