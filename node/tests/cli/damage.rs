//! Damage to a stopped node's data directory: every file of it flipped,
//! cut short or deleted. Each command either works (a damaged replica is
//! set aside and fetched again) or fails naming what is damaged and the
//! way forward; never a panic, never a hang, never a wrong record.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Node, example, json};
use crate::network::{Running, compartment_id, config};

/// A member holding a replica of its author's `partners` log (one record)
/// and its own record, both stopped: the author, its DID, the member, the
/// replicated compartment's id.
fn replicated() -> (Node, String, Node, String) {
    let (author, author_did) = Node::init("Damage Author");
    let (member, member_did) = Node::init("Damage Member");
    author.ok(&[
        "grant",
        "add",
        &member_did,
        "--unknown-party",
        "--basis",
        "NDA",
    ]);
    author.ok(&[
        "publish",
        &example("scope.toml"),
        "--compartment",
        "partners",
    ]);
    member.ok(&[
        "publish",
        &example("scope.toml"),
        "--compartment",
        "partners",
    ]);
    let partners = compartment_id(&author, "partners");
    let running_author = Running::start(&author, &config(&author, None));
    let line = running_author.wait_for(&["listening", "/ip4/127.0.0.1/tcp/"]);
    let address = line.trim_start_matches("listening ").to_owned();
    let running = Running::start(&member, &config(&member, Some((&author_did, &address))));
    running.wait_for(&["synced", &author_did, &partners, " 1"]);
    running.stop();
    running_author.stop();
    (author, author_did, member, partners)
}

fn segment(node: &Node) -> PathBuf {
    node.data().join("db/segments/00000000.seg")
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// The `log verify --json` row of the log `compartment` of `origin`.
fn row(node: &Node, origin: &str, compartment: &str) -> serde_json::Value {
    let rows = json(&node.ok(&["log", "verify", "--json"]));
    let found = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["origin"] == origin && r["compartmentId"] == compartment);
    found
        .cloned()
        .unwrap_or_else(|| panic!("no log {compartment} of {origin}: {rows}"))
}

/// What a command did within `limit`: its exit code (`None`: killed, it
/// was still running), stdout and stderr.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run_for(mut command: Command, limit: Duration) -> Outcome {
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let still = child.try_wait().unwrap().is_none();
    if still {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: (!still).then(|| out.status.code()).flatten(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A deleted `db/` beside `key.pem` was replaced by an empty store: `log
/// verify` printed an empty table with exit code 0, and `records` said "no
/// identity; run assure init".
#[test]
fn a_deleted_db_directory_is_refused_not_replaced_by_an_empty_store() {
    let (node, _) = Node::init("Deleted Database");
    node.ok(&[
        "publish",
        &example("scope.toml"),
        "--compartment",
        "partners",
    ]);
    let db = node.data().join("db");
    std::fs::remove_dir_all(&db).unwrap();
    let config = node.file("node.toml", config(&node, None));
    for args in [
        &["log", "verify"][..],
        &["records"][..],
        &["run", "--config", &config][..],
    ] {
        let said = node.fails(args, 2);
        assert!(said.contains("db/db is missing"), "{args:?}: {said}");
        assert!(said.contains("assure restore"), "{args:?}: {said}");
        assert!(!said.contains("assure init"), "{args:?}: {said}");
        assert!(!db.exists(), "{args:?} made a new database");
    }
}

#[test]
fn a_damaged_replica_is_quarantined_and_fetched_again_from_its_author() {
    let (author, author_did, member, partners) = replicated();
    let theirs = row(&author, &author_did, &partners);
    // The replica's block is the last one the member wrote: its envelope
    // ends the segment file.
    let path = segment(&member);
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    flip(&path, len - 1);

    let running_author = Running::start(&author, &config(&author, None));
    let line = running_author.wait_for(&["listening", "/ip4/127.0.0.1/tcp/"]);
    let address = line.trim_start_matches("listening ").to_owned();
    let running = Running::start(&member, &config(&member, Some((&author_did, &address))));
    let warned = running.wait_for(&["quarantined", &author_did, &partners]);
    assert!(warned.contains("fetched again from"), "{warned}");
    running.wait_for(&["synced", &author_did, &partners, " 1"]);
    running.stop();
    running_author.stop();
    let mine = row(&member, &author_did, &partners);
    assert_eq!(mine["status"], "ok", "{mine}");
    assert_eq!(mine["size"], 1);
    assert_eq!(mine["root"], theirs["root"], "{mine} {theirs}");
    let records = json(&member.ok(&["records", "--json"]));
    assert_eq!(records.as_array().unwrap().len(), 2, "{records}");

    // Our own log damaged: the node does not start, and says why.
    flip(&path, 92 + 5);
    let mut command = member.command(&[]);
    command.args([
        "run",
        "--config",
        &member.file("node.toml", config(&member, None)),
    ]);
    let refused = run_for(command, Duration::from_secs(20));
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("our own log"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("assure restore"),
        "{}",
        refused.stderr
    );
}

/// What is done to a file of the data directory.
#[derive(Clone, Copy, Debug)]
enum Damage {
    FlipFirst,
    FlipMiddle,
    FlipLast,
    Truncate,
    Empty,
    Delete,
}

const DAMAGES: [Damage; 6] = [
    Damage::FlipFirst,
    Damage::FlipMiddle,
    Damage::FlipLast,
    Damage::Truncate,
    Damage::Empty,
    Damage::Delete,
];

impl Damage {
    /// Whether it does something to `path` (a directory is only deleted).
    fn fits(self, path: &Path) -> bool {
        matches!(self, Damage::Delete) || !path.is_dir()
    }

    fn apply(self, path: &Path) {
        if path.is_dir() {
            if let Damage::Delete = self {
                std::fs::remove_dir_all(path).unwrap();
            }
            return;
        }
        let len = std::fs::metadata(path).unwrap().len() as usize;
        match self {
            Damage::FlipFirst if len > 0 => flip(path, 0),
            Damage::FlipMiddle if len > 0 => flip(path, len / 2),
            Damage::FlipLast if len > 0 => flip(path, len - 1),
            Damage::Truncate => std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_len(len as u64 / 2)
                .unwrap(),
            Damage::Empty => std::fs::write(path, b"").unwrap(),
            Damage::Delete if path.is_dir() => std::fs::remove_dir_all(path).unwrap(),
            Damage::Delete => std::fs::remove_file(path).unwrap(),
            _ => {}
        }
    }
}

/// Every file and directory under `dir`, relative to it.
fn files(dir: &Path, under: &Path, out: &mut Vec<PathBuf>) {
    for item in std::fs::read_dir(dir).unwrap() {
        let item = item.unwrap();
        let path = item.path();
        out.push(path.strip_prefix(under).unwrap().to_owned());
        if item.file_type().unwrap().is_dir() {
            files(&path, under, out);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        match item.file_type().unwrap().is_dir() {
            true => copy_dir(&item.path(), &target),
            false => {
                std::fs::copy(item.path(), target).unwrap();
            }
        }
    }
}

/// The record ids and envelopes `records --json` printed.
fn records(stdout: &str) -> Vec<(String, String)> {
    let listed = json(stdout);
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].to_string(), r.to_string()))
        .collect()
}

/// Checks one command's outcome on one damaged copy; `what` names the case.
fn judge(
    what: &str,
    outcome: &Outcome,
    originals: &[(String, String)],
    records_run: bool,
) -> Result<(), String> {
    let said = &outcome.stderr;
    let fail = |why: &str| Err(format!("{what}: {why}: {said}"));
    if said.contains("panicked") {
        return fail("a panic");
    }
    let Some(code) = outcome.code else {
        return fail("still running after 20 s");
    };
    if code == 0 {
        if records_run
            && records(&outcome.stdout)
                .iter()
                .any(|r| !originals.contains(r))
        {
            return fail("a wrong record");
        }
        return Ok(());
    }
    if !said.contains("error: ") || said.contains("backtrace") {
        return fail("not a clear error");
    }
    // The configuration is the operator's file, refused with its name, the
    // field and what was expected (an empty one is every default).
    if what.contains("node.toml") && (said.contains("node.toml") || said.contains("no identity")) {
        return Ok(());
    }
    let names = [
        "key.pem",
        "admin.token",
        "node.toml",
        "db/db",
        "database",
        "log of compartment",
    ];
    if !names.iter().any(|n| said.contains(n)) {
        return fail("names nothing");
    }
    let ways = ["assure restore", "fetched again", "expected"];
    if !ways.iter().any(|w| said.contains(w)) {
        return fail("no way forward");
    }
    Ok(())
}

#[test]
fn every_damage_to_a_stopped_data_directory_is_named_or_survived() {
    let (_author, _author_did, member, _partners) = replicated();
    let originals = records(&member.ok(&["records", "--json"]));
    assert_eq!(originals.len(), 2);
    let mut kinds = Vec::new();
    files(&member.data(), &member.data(), &mut kinds);
    kinds.retain(|f| f != Path::new("lock") && f != Path::new("control.sock"));
    let file_kinds = ["key.pem", "admin.token", "db/db", "db/conf", "db/segments/"];
    for kind in file_kinds {
        assert!(
            kinds.iter().any(|f| f.to_string_lossy().starts_with(kind)),
            "no {kind} in {kinds:?}"
        );
    }
    // The configuration, beside the data directory.
    kinds.push(PathBuf::from("../node.toml"));
    let cases: Vec<(PathBuf, Damage)> = kinds
        .iter()
        .flat_map(|f| DAMAGES.iter().map(move |d| (f.clone(), *d)))
        .filter(|(f, d)| d.fits(&member.data().join(f)))
        .collect();
    let started = Instant::now();
    let work = std::sync::Mutex::new(cases.into_iter());
    let failed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let Some((file, damage)) = work.lock().unwrap().next() else {
                        break;
                    };
                    let found = one_case(&member, &file, damage, &originals);
                    failed.lock().unwrap().extend(found);
                }
            });
        }
    });
    eprintln!(
        "{} files, every damage, in {:?}",
        kinds.len(),
        started.elapsed()
    );
    let failed = failed.into_inner().unwrap();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

fn one_case(
    member: &Node,
    file: &Path,
    damage: Damage,
    originals: &[(String, String)],
) -> Vec<String> {
    let what = format!("{damage:?} {}", file.display());
    let copy = Node {
        dir: tempfile::tempdir().unwrap(),
    };
    copy_dir(&member.data(), &copy.data());
    let _ = std::fs::remove_file(copy.data().join("lock"));
    let _ = std::fs::remove_file(copy.data().join("control.sock"));
    let config = copy.file("node.toml", config(&copy, None));
    damage.apply(&copy.data().join(file));
    let limit = Duration::from_secs(20);
    let verify = run_for(copy.command(&["log", "verify"]), limit);
    let mut failed = Vec::new();
    failed.extend(judge(&format!("{what}, log verify"), &verify, originals, false).err());
    let listed = run_for(copy.command(&["records", "--json"]), limit);
    failed.extend(judge(&format!("{what}, records"), &listed, originals, true).err());
    let mut command = copy.command(&[]);
    command.args(["run", "--config", &config]);
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Up when the node prints its API; else it must exit on its own.
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        if copy.data().join("control.sock").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let running = child.try_wait().unwrap().is_none();
    if running {
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let outcome = Outcome {
        code: match running {
            true => Some(0),
            false => out.status.code(),
        },
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    failed.extend(judge(&format!("{what}, run"), &outcome, originals, false).err());
    let first = |o: &Outcome| o.stderr.lines().next().unwrap_or_default().to_owned();
    eprintln!(
        "{what}: log verify {:?}, records {:?} ({} listed), run {:?} [{}]",
        verify.code,
        listed.code,
        records_listed(&listed),
        outcome.code,
        [first(&verify), first(&outcome)].join(" | ")
    );
    failed
}

fn records_listed(outcome: &Outcome) -> usize {
    match outcome.code {
        Some(0) => records(&outcome.stdout).len(),
        _ => 0,
    }
}
