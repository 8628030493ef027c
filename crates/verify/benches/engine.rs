//! What verification costs.
//!
//! - `one_supplier_10k_records`: one supplier that has published 10,000
//!   records (every catalog control many times over, incidents, its scope,
//!   a co-signed certification), checked against the critical-supplier
//!   profile: building the view of all 10,000 records and running every
//!   requirement. Target: under 20 ms.
//! - `all_500_suppliers`: the `verify --all` core for 500 suppliers with 20
//!   records each (10,000 records): one view, the supply-chain walk, and a
//!   critical-supplier verification per supplier.
//!
//! Run with `cargo bench -p assure-verify --bench engine` (about 20 s).
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::hint::black_box;
use std::time::Duration;

use assure_model::predicate::{AuditResult, ControlStatus, IncidentStatus, Severity};
use assure_model::{Catalog, Keypair};
use assure_verify::{Profile, View};
use criterion::{Criterion, criterion_group, criterion_main};
use fixture::{CloneKey as _, World};

fn critical() -> Profile {
    let text = include_str!("../../../config/profiles/critical-supplier.toml");
    Profile::parse(text, &Catalog::builtin().clone()).unwrap()
}

/// A supplier with a full, passing record set, then `extra` more control
/// and incident records.
fn supplier(w: &mut World, extra: usize) {
    let audit = w.certification(AuditResult::Certified, 30, 1000);
    let provider = w.provider.clone_key();
    w.cosign(&audit, &provider);
    w.relationship(true, true, &["parts"]);
    w.scope(&["parts"], &[]);
    let catalog = Catalog::builtin().clone();
    let ids: Vec<String> = catalog.iter().map(|c| c.id.clone()).collect();
    for i in 0..extra {
        if i % 10 == 9 {
            w.incident(
                Severity::ALL[i % 4],
                IncidentStatus::Resolved,
                (i % 300) as i64,
                true,
            );
        } else {
            w.control(
                &ids[i % ids.len()],
                ControlStatus::Implemented,
                (i % 200) as i64,
            );
        }
    }
}

fn bench(c: &mut Criterion) {
    let profile = critical();
    let mut group = c.benchmark_group("verify");
    group.measurement_time(Duration::from_secs(8));

    let mut w = World::new();
    w.accredit(100, 1000);
    supplier(&mut w, 10_000 - 1 - 5);
    assert_eq!(w.seen.len(), 10_000);
    let report = w.verify(&profile);
    assert_eq!(
        report.result,
        assure_model::predicate::Outcome::Pass,
        "{}",
        report.headline()
    );
    group.bench_function("one_supplier_10k_records", |b| {
        b.iter(|| {
            let view = View::new(black_box(&w.seen), w.now);
            assure_verify::verify(&view, &profile, w.provider.did(), &w.context())
        })
    });

    // 500 suppliers of one manufacturer, 20 records each.
    let mut all = World::new();
    all.accredit(100, 1000);
    let mut suppliers = Vec::new();
    for n in 0..500u32 {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&n.to_le_bytes());
        seed[31] = 0xaa;
        all.provider = Keypair::from_seed(seed);
        suppliers.push(all.provider.did());
        supplier(&mut all, 15);
    }
    assert_eq!(all.seen.len(), 1 + 500 * 20);
    group.bench_function("all_500_suppliers", |b| {
        b.iter(|| {
            let view = View::new(black_box(&all.seen), all.now);
            let links = assure_verify::chain::providers(&view, all.verifier.did(), 2);
            assert_eq!(links.len(), 500);
            links
                .iter()
                .map(|l| assure_verify::verify(&view, &profile, l.provider, &all.context()).result)
                .filter(|r| *r == assure_model::predicate::Outcome::Pass)
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
