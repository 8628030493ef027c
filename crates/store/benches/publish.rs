//! Durable publish: batches of records appended and flushed, and single
//! records appended and flushed one by one (latency percentiles).
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

fn main() {
    let dir = tempfile::tempdir().unwrap();
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
    println!(
        "  p50 {:?}  p99 {:?}  max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
}
