//! The HTTP API under load, measured against a real node (`Node::spawn`,
//! sled on disk, the axum server on 127.0.0.1) with a load generator built
//! from the project's own client, in the same process, on the same cores.
//!
//! Run with `cargo bench -p assure-node --bench api` (about 40 s);
//! `RECORDS=1000000 cargo bench -p assure-node --bench api` for a node
//! holding a million records (minutes: every record is signed first).
//!
//! The request: a page of 100 records, `GET /v1/orgs/<did>/records?limit=100`,
//! from a node holding `RECORDS` records (2,000 by default: half public,
//! half in `partners`) and a provider's log of 10,000 records as a replica.
//!
//! 1. Throughput: 32 connections in a closed loop for 8 s: anonymous (public
//!    records, no disclosure); signed by a partner (RFC 9421 signature made
//!    by the client and checked by the server) asking for public records only;
//!    and signed by a partner reading `partners` records, each answer written
//!    durably to the disclosure log before it is sent.
//! 2. Latency at a fixed 1,000 requests/s for 5 s (open loop, requests sent
//!    on schedule whatever the answers do): p50, p99, max, anonymous and
//!    signed.
//! 3. Verification of the provider through the API
//!    (`POST /v1/admin/verify/<did>`, the critical-supplier profile): median
//!    of 30.
//! 4. The node restarted on the same data: the time to open it (every root
//!    re-checked).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assure_api::client::{Auth, Client};
use assure_model::Keypair;
use assure_node::datadir::DataDir;
use assure_node::{Node, NodeConfig};
use jiff::Timestamp;

mod common;
use common::{control, grant};

const CONNECTIONS: usize = 32;
/// Records of the provider held as a replica.
const PROVIDER_RECORDS: usize = 10_000;

fn record_count() -> usize {
    std::env::var("RECORDS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(2_000)
}

/// Stores `PROVIDER_RECORDS` records of `provider` as a replica, as a pull
/// would, into the stopped node's store.
fn hold_provider(dir: &std::path::Path, provider: &Keypair) {
    use assure_access::{Compartment, CompartmentId, Rule};
    use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
    let store = assure_store::Store::open(dir).unwrap();
    let id = CompartmentId::from_bytes([5; 16]);
    let log = assure_store::LogId {
        origin: provider.did(),
        compartment: id,
    };
    let compartment = Compartment::new(id, "customers", Rule::partners()).unwrap();
    let entries: Vec<_> = (0..PROVIDER_RECORDS)
        .map(|n| control(provider, n))
        .collect();
    let mut tree: Tree<Blake3> = Tree::new();
    for (bytes, _) in &entries {
        tree.push_leaf_hash(Blake3::leaf(bytes));
    }
    let size = entries.len() as u64;
    let checkpoint = Checkpoint::new(log.origin_line(), size, tree.root(), 1).unwrap();
    let note = SignedCheckpoint::sign(
        checkpoint,
        &provider.did().to_string(),
        provider.signing_key(),
    )
    .unwrap();
    store
        .append_replica(log, &compartment, &entries, &note)
        .unwrap();
}

async fn throughput(client: &Client, path: &str, auth: Option<&Keypair>, seconds: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, path, done) = (client.clone(), path.to_owned(), done.clone());
        let key = auth.map(|k| Keypair::from_seed(k.seed()));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let auth = key.as_ref().map_or(Auth::None, Auth::Sign);
                let answer = client
                    .send("GET", &path, Vec::new(), auth, None)
                    .await
                    .unwrap();
                assert_eq!(
                    answer.status,
                    200,
                    "{}",
                    String::from_utf8_lossy(&answer.body)
                );
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / seconds as f64
}

async fn latency(
    client: &Client,
    path: &str,
    auth: Option<&Keypair>,
    rate: u64,
    seconds: u64,
) -> Vec<Duration> {
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for _ in 0..rate * seconds {
        ticker.tick().await;
        let (client, path) = (client.clone(), path.to_owned());
        let key = auth.map(|k| Keypair::from_seed(k.seed()));
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let auth = key.as_ref().map_or(Auth::None, Auth::Sign);
            let answer = client
                .send("GET", &path, Vec::new(), auth, None)
                .await
                .unwrap();
            assert_eq!(answer.status, 200);
            started.elapsed()
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.push(task.await.unwrap());
    }
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("node");
        let owner = Keypair::from_seed([7; 32]);
        let partner = Keypair::from_seed([8; 32]);
        DataDir::new(&dir).init("Bench", &owner, Timestamp::now()).unwrap();
        let mut config = NodeConfig::development(&dir);
        if let Some(api) = config.api.as_mut() {
            api.requests_per_second = 1_000_000;
            api.max_concurrent = 1024;
        }
        let provider = Keypair::from_seed([9; 32]);
        hold_provider(&dir, &provider);
        let node = Node::spawn(config.clone()).await.unwrap();
        node.put_grant(grant(partner.did()), "added").await.unwrap();
        let per_compartment = record_count() / 2;
        let filling = Instant::now();
        for (compartment, offset) in [("public", 0), ("partners", per_compartment)] {
            for start in (0..per_compartment).step_by(1_000) {
                let end = (start + 1_000).min(per_compartment);
                let records = (start..end).map(|n| control(&owner, offset + n)).collect();
                node.publish(compartment, records).await.unwrap();
                if end % 100_000 == 0 {
                    eprintln!(
                        "filled {compartment}: {end} of {per_compartment} ({:.0} s)",
                        filling.elapsed().as_secs_f64()
                    );
                }
            }
        }
        let client = Client::new(&format!("http://{}", node.api_address().unwrap()));
        let path = format!("/v1/orgs/{}/records?limit=100", owner.did());
        let page = client.send("GET", &path, Vec::new(), Auth::None, None).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(body["records"].as_array().unwrap().len(), 100);
        println!(
            "node holds {} records of its own and {PROVIDER_RECORDS} of a provider; one page \
             of 100 is {} bytes",
            2 * per_compartment,
            page.body.len()
        );

        // Warm up.
        throughput(&client, &path, None, 1).await;
        let anonymous = throughput(&client, &path, None, 8).await;
        println!("throughput, anonymous, {CONNECTIONS} connections: {anonymous:.0} requests/s");
        let public = node
            .store()
            .find_compartment(&node.store().as_owner().unwrap(), "public")
            .unwrap();
        let public_path = format!("{path}&compartment={}", public.compartment.id);
        let signed_public = throughput(&client, &public_path, Some(&partner), 8).await;
        println!(
            "throughput, signed by a partner, public records only (nothing to disclose): \
             {signed_public:.0} requests/s"
        );
        let signed = throughput(&client, &path, Some(&partner), 8).await;
        println!(
            "throughput, signed by a partner, partners records (one durable disclosure each): \
             {signed:.0} requests/s"
        );

        for (label, auth) in [("anonymous", None), ("signed", Some(&partner))] {
            let times = latency(&client, &path, auth, 1_000, 5).await;
            println!(
                "latency at 1,000 requests/s, {label}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} requests)",
                percentile(&times, 0.50).as_secs_f64() * 1e3,
                percentile(&times, 0.99).as_secs_f64() * 1e3,
                times.last().unwrap().as_secs_f64() * 1e3,
                times.len()
            );
        }
        let disclosures = node.store().disclosures(0, usize::MAX).unwrap().len();
        println!("disclosure-log entries written: {disclosures}");

        let token = std::fs::read_to_string(dir.join("admin.token")).unwrap();
        let profile = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../config/profiles/critical-supplier.toml"),
        )
        .unwrap();
        let verify_path = format!("/v1/admin/verify/{}", provider.did());
        let mut times = Vec::new();
        for _ in 0..31 {
            let started = Instant::now();
            let answer = client
                .send("POST", &verify_path, profile.clone(), Auth::Bearer(token.trim()), None)
                .await
                .unwrap();
            assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
            times.push(started.elapsed());
        }
        times.remove(0);
        times.sort();
        println!(
            "verification of the provider ({PROVIDER_RECORDS} records) through the API: \
             median {:.1} ms, max {:.1} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3
        );
        node.shutdown().await.unwrap();

        let opening = Instant::now();
        let node = Node::spawn(config).await.unwrap();
        let opened = opening.elapsed();
        println!(
            "restart on the same data: open {:.2} s (this process's memory holds what the \
             fill allocated; `--bench replicate` measures a node's own)",
            opened.as_secs_f64(),
        );
        node.shutdown().await.unwrap();
    });
}
