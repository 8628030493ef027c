//! Durability at the system-call level: `assure run` under `strace`, fed
//! publishes of 1 to 2,000 records through the admin API, then signed reads
//! of a partner that disclose them (each disclosure recorded durably before
//! the answer is sent). Before each `200`
//! is written to the socket, every file of the store (`data/db`) written
//! since the previous one has been `fsync`ed or `fdatasync`ed after its last
//! write, and the directory of every file created since then has been
//! `fsync`ed. (The running node's announcements beside the store, such as
//! `api.url`, are rewritten at every start and hold no data.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::Node;
use crate::network::{Running, config};

/// One system call, whole: its name, arguments, result, and the trace lines
/// where it started and ended (a call another thread interrupted is two
/// lines, `<unfinished ...>` and `<... resumed>`).
#[derive(Debug)]
struct Call {
    name: String,
    args: String,
    result: String,
    start: usize,
    end: usize,
}

fn parse(trace: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut open: HashMap<String, (String, usize)> = HashMap::new();
    for (n, line) in trace.lines().enumerate() {
        // `PID TIME CALL`; strace pads short pids (`4986  03:27:01.039919`).
        let Some((pid, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let Some((_time, rest)) = rest.trim_start().split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let (text, start) = if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((_, tail)) = resumed.split_once(" resumed>") else {
                continue;
            };
            match open.remove(pid) {
                Some((head, start)) => (format!("{head}{tail}"), start),
                None => continue,
            }
        } else if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(pid.to_owned(), (head.to_owned(), n));
            continue;
        } else {
            (rest.to_owned(), n)
        };
        let Some((name, after)) = text.split_once('(') else {
            continue;
        };
        // strace pads short calls: `fsync(12)      = 0`.
        let Some((args, result)) = after.rsplit_once(" = ") else {
            continue;
        };
        let Some(args) = args.trim_end().strip_suffix(')') else {
            continue;
        };
        calls.push(Call {
            name: name.to_owned(),
            args: args.to_owned(),
            result: result.split(' ').next().unwrap_or_default().to_owned(),
            start,
            end: n,
        });
    }
    calls.sort_by_key(|c| c.end);
    calls
}

/// The first quoted string of a call's arguments.
fn quoted(args: &str) -> Option<&str> {
    let from = args.find('"')? + 1;
    let to = from + args[from..].find('"')?;
    Some(&args[from..to])
}

fn first_arg(args: &str) -> &str {
    args.split(',').next().unwrap_or_default().trim()
}

/// What the trace says about one data directory between acknowledgements.
#[derive(Default)]
struct Checker {
    /// Open descriptors of the data directory's files and directories.
    fds: HashMap<String, PathBuf>,
    /// Files written since their last sync: path → line the write ended.
    dirty: BTreeMap<PathBuf, usize>,
    /// Directories holding a file created since their last sync.
    new_in: BTreeMap<PathBuf, (usize, PathBuf)>,
    /// Paths seen to exist.
    known: BTreeSet<PathBuf>,
    acks: usize,
    syncs: usize,
    writes: usize,
}

impl Checker {
    fn call(&mut self, call: &Call, data: &Path) -> Result<(), String> {
        let fd = first_arg(&call.args).to_owned();
        match call.name.as_str() {
            "openat" | "open" | "creat" => {
                let Some(path) = quoted(&call.args).map(PathBuf::from) else {
                    return Ok(());
                };
                if !path.starts_with(data) || call.result.starts_with('-') {
                    return Ok(());
                }
                let created = call.args.contains("O_CREAT") && !self.known.contains(&path);
                if created {
                    let dir = path.parent().unwrap().to_owned();
                    self.new_in.insert(dir, (call.end, path.clone()));
                }
                self.known.insert(path.clone());
                self.fds.insert(call.result.clone(), path);
            }
            "close" => {
                self.fds.remove(&fd);
            }
            // A socket takes a number a closed file had: it is no file.
            "accept" | "accept4" | "socket" => {
                self.fds.remove(&call.result);
            }
            "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" => {
                if let Some(path) = self.fds.get(&fd) {
                    self.dirty.insert(path.clone(), call.end);
                    self.writes += 1;
                } else if call.args.contains("HTTP/1.1 200") {
                    self.ack(call)?;
                }
            }
            "sendto" | "sendmsg" if call.args.contains("HTTP/1.1 200") => self.ack(call)?,
            "fsync" | "fdatasync" => {
                if let Some(path) = self.fds.get(&fd).cloned() {
                    self.syncs += 1;
                    if self.dirty.get(&path).is_some_and(|&w| w < call.start) {
                        self.dirty.remove(&path);
                    }
                    if self.new_in.get(&path).is_some_and(|&(c, _)| c < call.start) {
                        self.new_in.remove(&path);
                    }
                }
            }
            "rename" | "renameat" | "renameat2" => {
                if let Some(to) = call.args.rsplit('"').nth(1).map(PathBuf::from)
                    && to.starts_with(data)
                {
                    let dir = to.parent().unwrap().to_owned();
                    self.new_in.insert(dir, (call.end, to.clone()));
                    self.known.insert(to);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An acknowledgement: nothing may be left unsynced.
    fn ack(&mut self, call: &Call) -> Result<(), String> {
        self.acks += 1;
        if let Some((path, _)) = self.dirty.iter().next() {
            return Err(format!(
                "acknowledgement {} (trace line {}) was sent while {} was written and not synced",
                self.acks,
                call.start + 1,
                path.display()
            ));
        }
        if let Some((dir, (_, file))) = self.new_in.iter().next() {
            return Err(format!(
                "acknowledgement {} (trace line {}) was sent before the directory {} of the new \
                 file {} was synced",
                self.acks,
                call.start + 1,
                dir.display(),
                file.display()
            ));
        }
        Ok(())
    }
}

fn all_paths(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    out.insert(dir.to_owned());
    for item in std::fs::read_dir(dir).unwrap() {
        let path = item.unwrap().path();
        match path.is_dir() {
            true => all_paths(&path, out),
            false => {
                out.insert(path);
            }
        }
    }
}

/// POSTs to the admin API; the status line and body.
fn post(address: &str, token: &str, path: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn drafts(from: usize, count: usize) -> String {
    let drafts: Vec<serde_json::Value> = (from..from + count)
        .map(|n| {
            serde_json::json!({
                "kind": "control",
                "controlId": "ISO22340:9.2.4",
                "status": "implemented",
                "statement": format!("Security events are reviewed; alert {n} is handled."),
            })
        })
        .collect();
    serde_json::json!({ "compartment": "partners", "drafts": drafts }).to_string()
}

#[test]
fn every_publish_and_disclosure_is_synced_before_it_is_acknowledged() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("SKIPPED: strace is not installed (tests/run.sh installs it)");
        return;
    }
    let (node, node_did) = Node::init("Durable Logistics");
    let data = std::fs::canonicalize(node.data()).unwrap();
    let store = data.join("db");
    let trace = node.dir.path().join("trace.txt");
    let mut before = BTreeSet::new();
    all_paths(&data, &mut before);
    let running = Running::start_under(
        &node,
        &config(&node, None),
        &[
            "strace",
            "-f",
            "-tt",
            "-qq",
            "-s",
            "48",
            "-e",
            "trace=openat,open,creat,close,write,pwrite64,writev,pwritev,pwritev2,fsync,\
             fdatasync,sync_file_range,rename,renameat,renameat2,sendto,sendmsg,accept,accept4,socket",
            "-o",
            trace.to_str().unwrap(),
        ],
    );
    let line = running.wait_for(&["api http://127.0.0.1:"]);
    let address = line
        .trim_start_matches("api http://")
        .trim_end_matches('/')
        .to_owned();
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let token = token.trim();
    let sizes = [1, 1, 10, 100, 2000, 1, 500, 1];
    let mut from = 0;
    for size in sizes {
        let response = post(&address, token, "/v1/admin/publish", &drafts(from, size));
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        from += size;
    }
    // A partner's signed reads of `partners` records: disclosures.
    let (partner, partner_did) = Node::init("Durable Customer");
    node.ok(&[
        "grant",
        "add",
        "--unknown-party",
        &partner_did,
        "--role",
        "customer",
        "--basis",
        "MSA 2026",
    ]);
    let url = format!("http://{address}");
    let path = format!("/v1/orgs/{node_did}/records?limit=20");
    const READS: usize = 3;
    for _ in 0..READS {
        let page = partner.ok(&["api-request", "GET", &path, "--url", &url]);
        assert!(page.contains("\"envelope\""), "{page}");
    }
    running.stop_under();
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut checker = Checker {
        known: before,
        ..Default::default()
    };
    for call in parse(&text) {
        if let Err(why) = checker.call(&call, &store) {
            let lines: Vec<&str> = text.lines().collect();
            let excerpt = lines[call.start.saturating_sub(30)..=call.start].join("\n");
            panic!("{why}; the trace before it:\n{excerpt}");
        }
    }
    // (The grant went over the control socket, not HTTP.)
    let answers = sizes.len() + READS;
    if checker.acks != answers {
        let sends: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("HTTP/1.1"))
            .take(5)
            .collect();
        panic!(
            "only {} of {answers} answers seen in the trace: {sends:#?}",
            checker.acks,
        );
    }
    assert!(
        checker.syncs >= sizes.len() && checker.writes >= sizes.len(),
        "the trace shows the writes and syncs ({} writes, {} syncs)",
        checker.writes,
        checker.syncs
    );
    let records: serde_json::Value =
        serde_json::from_str(&node.ok(&["records", "--json", "--limit", "5000"])).unwrap();
    assert_eq!(records.as_array().unwrap().len(), from);
    let disclosures: serde_json::Value =
        serde_json::from_str(&node.ok(&["disclosures", "--json"])).unwrap();
    assert!(
        disclosures.as_array().unwrap().len() >= READS,
        "{disclosures}"
    );
}
