//! The HTTP API under load, measured against a real node (`Node::spawn`,
//! sled on disk, the axum server on 127.0.0.1) with a load generator built
//! from the project's own client, in the same process, on the same cores.
//!
//! Run with `cargo bench -p assure-node --bench api` (about 40 s).
//!
//! The request: a page of 100 records, `GET /v1/orgs/<did>/records?limit=100`,
//! from a node holding 2,000 records (1,000 public, 1,000 in `partners`).
//!
//! 1. Throughput: 32 connections in a closed loop for 8 s: anonymous (public
//!    records, no disclosure); signed by a partner (RFC 9421 signature made
//!    by the client and checked by the server) asking for public records only;
//!    and signed by a partner reading `partners` records, each answer written
//!    durably to the disclosure log before it is sent.
//! 2. Latency at a fixed 1,000 requests/s for 5 s (open loop, requests sent
//!    on schedule whatever the answers do): p50, p99, max, anonymous and
//!    signed.
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

const PER_COMPARTMENT: usize = 1_000;
const CONNECTIONS: usize = 32;

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
        let node = Node::spawn(config).await.unwrap();
        node.put_grant(grant(partner.did()), "added").await.unwrap();
        for (compartment, offset) in [("public", 0), ("partners", PER_COMPARTMENT)] {
            let records = (0..PER_COMPARTMENT).map(|n| control(&owner, offset + n)).collect();
            node.publish(compartment, records).await.unwrap();
        }
        let client = Client::new(&format!("http://{}", node.api_address().unwrap()));
        let path = format!("/v1/orgs/{}/records?limit=100", owner.did());
        let page = client.send("GET", &path, Vec::new(), Auth::None, None).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(body["records"].as_array().unwrap().len(), 100);
        println!(
            "node holds {} records; one page of 100 is {} bytes",
            2 * PER_COMPARTMENT,
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
        node.shutdown().await.unwrap();
    });
}
