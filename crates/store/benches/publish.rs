//! Durable publish: batches of records appended and flushed, and single
//! records appended and flushed one by one (latency percentiles); then the
//! data directory's size over the envelope bytes and the time to open it
//! (every root re-checked) at 100,000 records (`ASSURE_BENCH_RECORDS` sets
//! another count, e.g. 1000000). Each figure is printed with the limit the
//! disk sets, measured in the same run: the rate of 4 KiB write + fdatasync,
//! and sequential write speed.
//!
//! Run with `cargo bench -p assure-store --bench publish`. Not a criterion
//! bench: it prints throughput and p50/p99 latency, which criterion does not.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use assure_access::{Compartment, CompartmentId, Rule};
use assure_model::predicate::{Body, Common, Control, ControlStatus, Domain, Predicate};
use assure_model::{Keypair, SubjectRef, issue};
use assure_store::{NewEntry, Store};
use jiff::Timestamp;
use rayon::prelude::*;

const BATCH: usize = 1000;
const BATCHES: usize = 30;
const SINGLES: usize = 1000;

fn record(owner: &Keypair, n: usize, compartment: CompartmentId) -> NewEntry {
    let predicate = Predicate {
        common: Common {
            issuer: owner.did(),
            issued_at: Timestamp::now(),
            valid_until: None,
            supersedes: vec![],
            clauses: vec!["ISO28000:8.4".into(), "ISO22340:9.2.4".into()],
            domain: Some(Domain::Cyber),
        },
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: format!(
                "Security events from all warehouse systems are collected centrally and \
                 reviewed around the clock; alert {n} is handled within 30 minutes."
            ),
            evidence: vec![],
            last_tested: None,
        }),
    };
    let (bytes, record) = issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap();
    NewEntry {
        compartment,
        bytes,
        record,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Bytes of every file under `path`.
fn du(path: &std::path::Path) -> u64 {
    let mut total = 0;
    for item in std::fs::read_dir(path).unwrap() {
        let item = item.unwrap();
        let meta = item.metadata().unwrap();
        total += match meta.is_dir() {
            true => du(&item.path()),
            false => meta.len(),
        };
    }
    total
}

/// The disk's limits: 4 KiB write + fdatasync per second, and sequential
/// write MB/s (64 MiB in 1 MiB writes, then one fdatasync).
fn disk(dir: &std::path::Path) -> (f64, f64) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(dir.join("raw")).unwrap();
    let block = [0x5a_u8; 4096];
    let start = Instant::now();
    let mut syncs = 0;
    while start.elapsed() < Duration::from_secs(2) {
        file.write_all(&block).unwrap();
        file.sync_data().unwrap();
        syncs += 1;
    }
    let rate = syncs as f64 / start.elapsed().as_secs_f64();
    let mut file = std::fs::File::create(dir.join("raw")).unwrap();
    let chunk = vec![0x5a_u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..64 {
        file.write_all(&chunk).unwrap();
    }
    file.sync_data().unwrap();
    let mbs = 64.0 * 1.048_576 / start.elapsed().as_secs_f64();
    std::fs::remove_file(dir.join("raw")).unwrap();
    (rate, mbs)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (sync_rate, write_mbs) = disk(dir.path());
    println!(
        "disk: {sync_rate:.0} fdatasync/s of 4 KiB ({:.2} ms each), {write_mbs:.0} MB/s sequential",
        1000.0 / sync_rate
    );
    let store = Store::open(dir.path()).unwrap();
    let owner = Keypair::from_seed([1; 32]);
    store.set_owner(owner.did()).unwrap();
    let compartment = Compartment::new(
        CompartmentId::random().unwrap(),
        "partners",
        Rule::partners(),
    )
    .unwrap();
    let id = compartment.id;
    store
        .create_compartment(&owner, compartment, Timestamp::now())
        .unwrap();

    // Batched: sign and append BATCH records, one transaction and one flush.
    let mut signed = Duration::ZERO;
    let mut appended = Duration::ZERO;
    for b in 0..BATCHES {
        let start = Instant::now();
        // Signing is independent per record; `assure publish` spreads it over
        // every core the same way.
        let entries: Vec<NewEntry> = (0..BATCH)
            .into_par_iter()
            .map(|n| record(&owner, b * BATCH + n, id))
            .collect();
        signed += start.elapsed();
        let start = Instant::now();
        store.append(&owner, &entries, Timestamp::now()).unwrap();
        appended += start.elapsed();
    }
    let total = (BATCHES * BATCH) as f64;
    println!("batched durable publish ({BATCHES} batches of {BATCH}):");
    println!(
        "  sign + append + flush: {:>9.0} records/s",
        total / (signed + appended).as_secs_f64()
    );
    println!(
        "  append + flush only:   {:>9.0} records/s",
        total / appended.as_secs_f64()
    );
    println!(
        "  signing only (all cores): {:>6.0} records/s",
        total / signed.as_secs_f64()
    );

    // Single: one record, one transaction, one flush, acknowledged.
    let mut latencies = Vec::with_capacity(SINGLES);
    for n in 0..SINGLES {
        let start = Instant::now();
        let entry = record(&owner, n, id);
        store
            .append(&owner, std::slice::from_ref(&entry), Timestamp::now())
            .unwrap();
        latencies.push(start.elapsed());
    }
    latencies.sort();
    println!(
        "single durable publish ({SINGLES} records, log of {} entries):",
        BATCHES * BATCH
    );
    let p99 = percentile(&latencies, 0.99);
    println!(
        "  p50 {:?}  p99 {:?}  max {:?}  (p99 = {:.1} fdatasyncs of 4 KiB; target 5 ms)",
        percentile(&latencies, 0.50),
        p99,
        latencies[latencies.len() - 1],
        p99.as_secs_f64() * sync_rate
    );
    drop(store);
    size_and_open(&owner, write_mbs);
}

/// Fills a fresh store with `ASSURE_BENCH_RECORDS` records (100,000 by
/// default) in batches, then reports the data directory's size over the
/// envelope bytes and the time to open it.
fn size_and_open(owner: &Keypair, write_mbs: f64) {
    let records: usize = std::env::var("ASSURE_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.set_owner(owner.did()).unwrap();
    let compartment = Compartment::new(
        CompartmentId::random().unwrap(),
        "partners",
        Rule::partners(),
    )
    .unwrap();
    let id = compartment.id;
    store
        .create_compartment(owner, compartment, Timestamp::now())
        .unwrap();
    // Sign one pool of distinct records and append it again and again:
    // signing is not what is measured here.
    let pool: Vec<NewEntry> = (0..BATCH)
        .into_par_iter()
        .map(|n| record(owner, n, id))
        .collect();
    let envelope: u64 = pool.iter().map(|e| e.bytes.len() as u64).sum();
    let mut envelopes = 0;
    let start = Instant::now();
    for _ in 0..records.div_ceil(BATCH) {
        store.append(owner, &pool, Timestamp::now()).unwrap();
        envelopes += envelope;
    }
    let filled = start.elapsed();
    let total = records.div_ceil(BATCH) * BATCH;
    drop(store);
    let bytes = du(dir.path());
    println!(
        "{total} records ({} bytes of envelopes, {} per record):",
        envelopes,
        envelope / BATCH as u64
    );
    println!(
        "  filled in {filled:.1?} ({:.0} records/s, {:.0} MB/s of envelopes = {:.0}% of the disk's sequential rate)",
        total as f64 / filled.as_secs_f64(),
        envelopes as f64 / 1e6 / filled.as_secs_f64(),
        100.0 * envelopes as f64 / 1e6 / filled.as_secs_f64() / write_mbs
    );
    println!(
        "  data directory {bytes} bytes = {:.2} x the envelope bytes (target 1.5)",
        bytes as f64 / envelopes as f64
    );
    let start = Instant::now();
    let store = Store::open(dir.path()).unwrap();
    let opened = start.elapsed();
    let all = store.as_owner().unwrap();
    assert_eq!(store.count(&all, &Default::default()), total);
    println!("  open (every root re-checked): {opened:.2?} (target 5 s at 1M)");
}
