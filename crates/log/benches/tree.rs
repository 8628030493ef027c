//! Tree throughput: appends with a root after each, roots of large trees,
//! and inclusion and consistency proofs at 100k leaves.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use assure_log::{Blake3, Hash, Hasher, Tree, root_of, verify_consistency, verify_inclusion};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const LARGE: u64 = 100_000;

fn leaf_hashes(n: u64) -> Vec<Hash> {
    (0..n).map(|i| Blake3::leaf(&i.to_le_bytes())).collect()
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    let leaves = leaf_hashes(10_000);
    group.throughput(Throughput::Elements(leaves.len() as u64));
    group.bench_function("10k leaves, root after each", |b| {
        b.iter(|| {
            let mut tree = Tree::<Blake3>::new();
            for leaf in &leaves {
                tree.push_leaf_hash(*leaf);
                black_box(tree.root());
            }
            tree
        });
    });
    group.bench_function("10k leaves onto 100k, root after each", |b| {
        let base = Tree::<Blake3>::from_leaf_hashes(leaf_hashes(LARGE));
        b.iter_batched(
            || base.clone(),
            |mut tree| {
                for leaf in &leaves {
                    tree.push_leaf_hash(*leaf);
                    black_box(tree.root());
                }
                tree
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn roots(c: &mut Criterion) {
    let mut group = c.benchmark_group("root");
    let leaves = leaf_hashes(LARGE);
    group.throughput(Throughput::Elements(LARGE));
    group.bench_function("root_of 100k leaf hashes", |b| {
        b.iter(|| root_of::<Blake3>(black_box(&leaves)));
    });
    group.bench_function("from_leaf_hashes 100k", |b| {
        b.iter_batched(
            || leaves.clone(),
            |leaves| Tree::<Blake3>::from_leaf_hashes(leaves).root(),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let mut group = c.benchmark_group("proof at 100k");
    let tree = Tree::<Blake3>::from_leaf_hashes(leaf_hashes(LARGE));
    let root = tree.root();
    let mut index = 0u64;
    group.bench_function("inclusion generate + verify", |b| {
        b.iter(|| {
            index = (index + 7_919) % LARGE;
            let proof = tree.inclusion_proof(index, LARGE).unwrap();
            let leaf = tree.leaf_hash(index).unwrap();
            verify_inclusion::<Blake3>(index, LARGE, &leaf, &proof, &root).unwrap();
        });
    });
    let mut old = 1u64;
    group.bench_function("consistency generate + verify", |b| {
        b.iter(|| {
            old = (old + 7_919) % (LARGE - 1) + 1;
            let old_root = tree.root_at(old).unwrap();
            let proof = tree.consistency_proof(old, LARGE).unwrap();
            verify_consistency::<Blake3>(old, LARGE, &old_root, &root, &proof).unwrap();
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = appends, roots, proofs
}
criterion_main!(benches);
