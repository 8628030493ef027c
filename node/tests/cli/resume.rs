//! A member killed with SIGKILL in the middle of a pull resumes from what it
//! committed: the author never serves again a range the member held, only
//! the pages that were in flight are fetched twice, and in the end the
//! replica verifies and equals the author's checkpoint.

use std::time::{Duration, Instant};

use assure_access::{Clearance, Grant, Role};
use assure_model::predicate::{Body, Common, Control, ControlStatus, Domain, Predicate};
use assure_model::{Did, Keypair, SubjectRef, issue};
use assure_node::datadir::DataDir;
use assure_store::{LogId, NewEntry, Store};
use jiff::Timestamp;
use rayon::prelude::*;

use crate::common::Node;
use crate::crash::Rng;
use crate::network::{Running, config};

/// Enough that ten kills land before the member holds it all, however fast
/// the pull runs between them.
const RECORDS: usize = 40_000;
/// Kills that must land while the pull is under way.
const KILLS: usize = 10;
/// Pages a member may have asked for and not committed when it dies: the
/// requests in flight (4), the pages waiting for and under verification (3),
/// the verified pages queued for the store and being committed (5): see
/// `assure_net`'s pages.
const PAGES_UNCOMMITTED: u64 = 12;
const PAGE: u64 = 512;

fn control(owner: &Keypair, n: usize) -> (Vec<u8>, assure_model::Record) {
    let predicate = Predicate {
        common: Common {
            issuer: owner.did(),
            issued_at: Timestamp::now(),
            valid_until: None,
            supersedes: vec![],
            clauses: vec!["ISO22340:9.2.4".into()],
            domain: Some(Domain::Cyber),
        },
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: format!("Warehouse systems are monitored around the clock; check {n}."),
            evidence: vec![],
            last_tested: None,
        }),
    };
    issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap()
}

/// An author holding `RECORDS` records in `partners`, readable by `member`.
fn author_with_records(member: Did) -> (Node, Keypair, LogId) {
    let node = Node {
        dir: tempfile::tempdir().unwrap(),
    };
    let keypair = Keypair::from_seed([61; 32]);
    let store = DataDir::new(&node.data())
        .init("Resume Author", &keypair, Timestamp::now())
        .unwrap();
    let grant = Grant::new(
        member,
        [Role::Customer].into(),
        Clearance::Partner,
        "MSA-RESUME",
        Timestamp::now(),
        None,
        1,
    )
    .unwrap();
    store.put_grant(&grant, "added", Timestamp::now()).unwrap();
    let log = store
        .find_compartment(&store.as_owner().unwrap(), "partners")
        .unwrap()
        .log;
    for batch in 0..RECORDS / 1000 {
        let entries: Vec<NewEntry> = (0..1000)
            .into_par_iter()
            .map(|n| {
                let (bytes, record) = control(&keypair, batch * 1000 + n);
                NewEntry {
                    compartment: log.compartment,
                    bytes,
                    record,
                }
            })
            .collect();
        store.append(&keypair, &entries, Timestamp::now()).unwrap();
    }
    (node, keypair, log)
}

/// How many entries of `log` the stopped member holds, read from its store.
fn held(member: &Node, log: LogId) -> u64 {
    let store = Store::open(&member.data()).unwrap();
    let ours = store.as_owner().unwrap();
    store.log_state(&ours, log).map_or(0, |s| s.tree.len())
}

/// Every range of entries the author served, `(first, count)`, oldest first.
fn served(author: &Node) -> Vec<(u64, u64)> {
    let rows: serde_json::Value =
        serde_json::from_str(&author.ok(&["disclosures", "--json"])).unwrap();
    let mut ranges: Vec<(String, u64, u64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["count"] != 0)
        .map(|d| {
            let at = d["at"].as_str().unwrap().to_owned();
            (
                at,
                d["first"].as_u64().unwrap(),
                d["count"].as_u64().unwrap(),
            )
        })
        .collect();
    ranges.sort();
    ranges.into_iter().map(|(_, f, c)| (f, c)).collect()
}

fn log_row(node: &Node, log: LogId) -> serde_json::Value {
    let rows: serde_json::Value =
        serde_json::from_str(&node.ok(&["log", "verify", "--json"])).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["origin"] == log.origin.to_string()
                && r["compartmentId"] == log.compartment.to_string()
        })
        .cloned();
    row.unwrap_or_else(|| panic!("no log {log:?}: {rows}"))
}

#[test]
fn a_member_killed_during_a_pull_resumes_from_what_it_committed() {
    let (member, member_did) = Node::init("Resume Member");
    let (author, author_key, log) = author_with_records(member_did.parse().unwrap());
    let author_did = author_key.did().to_string();
    let running_author = Running::start(&author, &config(&author, None));
    let line = running_author.wait_for(&["listening", "/ip4/127.0.0.1/tcp/"]);
    let address = line.trim_start_matches("listening ").to_owned();
    let member_config = config(&member, Some((&author_did, &address)));

    let mut rng = Rng::new();
    let (mut kills, mut runs, mut before) = (0, 0, 0);
    let mut seen = 0;
    while kills < KILLS && runs < 40 {
        runs += 1;
        let running = Running::start(&member, &member_config);
        // Killed at a random moment once the author serves it pages.
        let deadline = Instant::now() + Duration::from_secs(30);
        while served(&author).len() == seen && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let alive = Duration::from_millis(rng.below(1_200));
        std::thread::sleep(alive);
        running.kill();
        let now = held(&member, log);
        eprintln!("run {runs}: killed {alive:?} into the pull, holding {now}");
        assert!(now >= before, "the member went back from {before} to {now}");
        // What was served since the member started asks from what it held.
        let ranges = served(&author);
        for &(first, count) in &ranges[seen..] {
            assert!(
                first >= before,
                "entries {first}..{} served again to a member holding {before}",
                first + count
            );
        }
        seen = ranges.len();
        if now < RECORDS as u64 && now > before {
            kills += 1;
        }
        before = now;
    }
    assert!(kills >= KILLS, "only {kills} kills landed during the pull");

    let running = Running::start(&member, &member_config);
    let size = format!(" {RECORDS}");
    running.wait_for(&["synced", &author_did, &log.compartment.to_string(), &size]);
    running.stop();
    let total: u64 = served(&author).iter().map(|(_, count)| count).sum();
    eprintln!(
        "{runs} runs, {kills} killed during the pull: the author served {total} entries \
         for {RECORDS} ({:.2}x)",
        total as f64 / RECORDS as f64
    );
    assert!(
        total <= RECORDS as u64 + runs as u64 * PAGES_UNCOMMITTED * PAGE,
        "served {total} entries for {RECORDS} over {runs} runs"
    );
    running_author.stop();

    // The replica verifies and is the author's log, root for root.
    let (mine, theirs) = (log_row(&member, log), log_row(&author, log));
    assert_eq!(mine["status"], "ok", "{mine}");
    assert_eq!(mine["size"], RECORDS as u64);
    assert_eq!(mine["root"], theirs["root"], "{mine} {theirs}");
}
