//! Replication and propagation, measured as users run nodes.
//!
//! Run with `cargo bench -p assure-node --bench replicate` (about a minute),
//! or one part with `-- replicate` or `-- propagate` (`NODES=n` sets the
//! network size of the second, 20 by default; `RECORDS=n` the records of the
//! first, 100,000 by default: `RECORDS=1000000` is the million-record run,
//! kept out of CI for its minutes and its ~2 GB of temporary data).
//! Not a criterion bench: it prints throughput, ratios, percentiles and RSS.
//!
//! 1. The raw rate of `ed25519_dalek::verify_batch` on every core, measured
//!    first in the same run, as the limit replication is compared with.
//! 2. 100,000 records replicated between two `assure run` processes over TCP
//!    loopback, every envelope verified: records/s from the member's start
//!    to its `synced … 100000` line, its ratio to the raw rate, and the
//!    member's peak RSS (VmHWM), which pages committed as they arrive keep
//!    bounded by the pages in flight.
//! 3. Propagation in a 20-node network (in one process, nodes built by
//!    `Node::spawn`): time from publish to the record being verified and
//!    stored on every member, p50/p99 over 100 publishes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assure_model::Keypair;
use assure_net::Event;
use assure_node::datadir::DataDir;
use assure_node::{Node, NodeConfig};
use assure_store::NewEntry;
use jiff::Timestamp;
use rayon::prelude::*;

mod common;
use common::{control, grant};

const RECORDS: usize = 100_000;
const NODES: usize = 20;

/// The records replicated: `RECORDS=n` in the environment, else 100,000.
fn record_count() -> usize {
    std::env::var("RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(RECORDS)
}

/// The network size for propagation: `NODES=n` in the environment, else 20.
fn node_count() -> usize {
    std::env::var("NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(NODES)
}
const PUBLISHES: usize = 100;

/// Signatures per second of `verify_batch` over batches of 64, on every core.
fn raw_batch_rate(envelopes: &[Vec<u8>]) -> f64 {
    let parsed: Vec<_> = envelopes
        .iter()
        .map(|e| assure_model::parse(e, Timestamp::MAX).unwrap())
        .collect();
    let start = Instant::now();
    parsed.par_chunks(64).for_each(|chunk| {
        let messages: Vec<&[u8]> = chunk.iter().map(|u| u.signatures().0).collect();
        let signatures: Vec<_> = chunk.iter().map(|u| u.signatures().1[0].1).collect();
        let keys: Vec<_> = chunk
            .iter()
            .map(|u| u.signatures().1[0].0.verifying_key())
            .collect();
        ed25519_dalek::verify_batch(&messages, &signatures, &keys).unwrap();
    });
    parsed.len() as f64 / start.elapsed().as_secs_f64()
}

fn config_file(dir: &std::path::Path, bootstrap: Option<(&str, &str)>) -> std::path::PathBuf {
    let mut text = format!(
        "data_dir = \"{}\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n",
        dir.display()
    );
    if let Some((did, address)) = bootstrap {
        text += &format!("[[bootstrap]]\ndid = \"{did}\"\naddress = \"{address}\"\n");
    }
    text += "[log]\nlevel = \"warn\"\n[api]\nlisten = \"off\"\n";
    let path = dir.with_extension("toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// CPU seconds a process has used (user + system), from /proc: Linux's
/// clock tick is 1/100 s.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn replicate() {
    let records = record_count();
    let temp = tempfile::tempdir().unwrap();
    let (author_dir, member_dir) = (temp.path().join("author"), temp.path().join("member"));
    let (author, member) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
    let store = DataDir::new(&author_dir)
        .init("Author", &author, Timestamp::now())
        .unwrap();
    drop(
        DataDir::new(&member_dir)
            .init("Member", &member, Timestamp::now())
            .unwrap(),
    );
    store
        .put_grant(&grant(member.did()), "added", Timestamp::now())
        .unwrap();
    let partners = store
        .find_compartment(&store.as_owner().unwrap(), "partners")
        .unwrap()
        .compartment
        .id;
    let mut envelopes = Vec::with_capacity(records.min(RECORDS));
    for batch in 0..records / 1000 {
        let records: Vec<_> = (0..1000)
            .into_par_iter()
            .map(|n| control(&author, batch * 1000 + n))
            .collect();
        // The raw rate is measured on the first 100,000: enough for a
        // steady figure, without holding a million envelopes twice.
        if envelopes.len() < RECORDS {
            envelopes.extend(records.iter().map(|(bytes, _)| bytes.clone()));
        }
        let entries: Vec<NewEntry> = records
            .into_iter()
            .map(|(bytes, record)| NewEntry {
                compartment: partners,
                bytes,
                record,
            })
            .collect();
        store.append(&author, &entries, Timestamp::now()).unwrap();
    }
    drop(store);
    let raw = raw_batch_rate(&envelopes);
    println!("raw verify_batch on 2 cores: {raw:>9.0} signatures/s");

    let binary = env!("CARGO_BIN_EXE_assure");
    let mut author_run = Command::new(binary)
        .args(["run", "--config"])
        .arg(config_file(&author_dir, None))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut author_lines = BufReader::new(author_run.stdout.take().unwrap()).lines();
    let address = loop {
        let line = author_lines.next().unwrap().unwrap();
        if let Some(address) = line.strip_prefix("listening ") {
            break address.to_owned();
        }
    };
    let author_did = author.did().to_string();
    let author_before = cpu_seconds(author_run.id());
    let start = Instant::now();
    let mut member_run = Command::new(binary)
        .args(["run", "--config"])
        .arg(config_file(&member_dir, Some((&author_did, &address))))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(member_run.stdout.take().unwrap()).lines();
    for line in lines {
        if line.unwrap().ends_with(&format!("{partners} {records}")) {
            break;
        }
    }
    let elapsed = start.elapsed();
    let member_cpu = cpu_seconds(member_run.id());
    let author_cpu = cpu_seconds(author_run.id()) - author_before;
    let status = std::fs::read_to_string(format!("/proc/{}/status", member_run.id())).unwrap();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_owned();
    // The member idle, holding the replica.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let status = std::fs::read_to_string(format!("/proc/{}/status", member_run.id())).unwrap();
    let idle = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("VmRSS: ?")
        .to_owned();
    for child in [&mut member_run, &mut author_run] {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap();
    }
    let rate = records as f64 / elapsed.as_secs_f64();
    println!("replication of {records} records over TCP loopback, every envelope verified:");
    println!(
        "  {rate:>9.0} records/s ({:.2} s), {:.0} % of the raw batch-verify rate",
        elapsed.as_secs_f64(),
        100.0 * rate / raw
    );
    // Where the cores went: what verifying alone needs at the raw rate,
    // against what each process used.
    let verify_cpu = 2.0 * records as f64 / raw;
    println!(
        "  CPU used: member {member_cpu:.2} s, author {author_cpu:.2} s, of {:.2} s on 2 cores; \
         verifying {records} signatures at the raw rate takes {verify_cpu:.2} s",
        2.0 * elapsed.as_secs_f64()
    );
    println!(
        "  receiving node peak RSS: {}; idle 5 s later, holding the replica: {}",
        peak.trim_start_matches("VmHWM:").trim(),
        idle.trim_start_matches("VmRSS:").trim()
    );
}

async fn propagate() {
    let temp = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for i in 0..node_count() {
        let dir = temp.path().join(format!("org{i}"));
        let keypair = Keypair::from_seed([10 + i as u8; 32]);
        DataDir::new(&dir)
            .init("org", &keypair, Timestamp::now())
            .unwrap();
        let mut config = NodeConfig::development(&dir);
        config.net.poll_interval = Duration::from_secs(3600);
        nodes.push(Node::spawn(config).await.unwrap());
    }
    let author = &nodes[0];
    for member in &nodes[1..] {
        author
            .put_grant(grant(member.did()), "added")
            .await
            .unwrap();
    }
    let address = author.client().listeners().await.unwrap()[0].clone();
    let mut events: Vec<_> = nodes[1..].iter().map(|n| n.client().events()).collect();
    for member in &nodes[1..] {
        member
            .client()
            .dial(author.did(), address.clone())
            .await
            .unwrap();
    }
    let partners = author
        .store()
        .find_compartment(&author.store().as_owner().unwrap(), "partners")
        .unwrap()
        .log;
    for rx in &mut events {
        wait_size(rx, partners, 0).await;
    }
    let mut times = Vec::new();
    for n in 0..PUBLISHES {
        let record = control(author.keypair(), n);
        let start = Instant::now();
        author.publish("partners", vec![record]).await.unwrap();
        for rx in &mut events {
            wait_size(rx, partners, n as u64 + 1).await;
        }
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "propagation to all {} members of a {}-node network, {PUBLISHES} publishes:",
        node_count() - 1,
        node_count()
    );
    println!(
        "  p50 {:?}  p99 {:?}",
        times[PUBLISHES / 2],
        times[PUBLISHES * 99 / 100]
    );
    for node in nodes {
        node.shutdown().await.unwrap();
    }
}

async fn wait_size(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    log: assure_store::LogId,
    size: u64,
) {
    let wait = async {
        loop {
            if let Ok(Event::Synced { log: l, size: s }) = rx.recv().await
                && l == log
                && s >= size
            {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("member did not sync in 30 s");
}

fn main() {
    // `cargo bench -p assure-node --bench replicate -- propagate` runs one part.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "replicate") {
        replicate();
    }
    if only.as_deref().is_some_and(|o| o != "propagate") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(propagate());
}
