//! What checking a record costs, next to the bare signature check it contains.
//!
//! One group, four measurements, each reported per element so that criterion
//! prints elements/s:
//!
//! - `a_verify_strict_600B`: `VerifyingKey::verify_strict` of one signature
//!   over a 600-byte message;
//! - `b_validate_control_record`: `assure_model::validate` of a realistic
//!   control-record envelope of about 1 KiB (size check, JSON structure checks
//!   on envelope and statement, base64, typed predicate, consistency rules,
//!   one `verify_strict`);
//! - `c_verify_batch_64`: `ed25519_dalek::verify_batch` of 64 signatures by 64
//!   keys over 600-byte messages, reported per signature;
//! - `d_issue_control_record`: `assure_model::issue` of the same record
//!   (serialize, sign, envelope).
//!
//! Run with `cargo bench -p assure-model --bench verify` (about 30 s).
//!
//! The overhead of validation over the signature check is the ratio (b)/(a):
//! divide the middle value of the `time: [low mid high]` line of
//! `b_validate_control_record` by that of `a_verify_strict_600B` (equivalently,
//! divide (a)'s elements/s by (b)'s). The gain of batching is (a)'s time
//! divided by (c)'s time per element (c's time / 64).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use assure_model::predicate::{Control, ControlStatus, Evidence};
use assure_model::{Body, Common, Domain, Keypair, Predicate, SubjectRef, issue, validate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use jiff::Timestamp;

const MESSAGE_BYTES: usize = 600;
const BATCH: usize = 64;

fn now() -> Timestamp {
    "2026-11-22T08:00:00Z".parse().unwrap()
}

/// A control record as a logistics provider would publish it.
fn control_record(issuer: &Keypair) -> Predicate {
    let digest = |what: &[u8]| format!("blake3:{}", blake3::hash(what).to_hex());
    Predicate {
        common: Common {
            issuer: issuer.did(),
            issued_at: "2026-11-22T07:30:00Z".parse().unwrap(),
            valid_until: None,
            supersedes: Vec::new(),
            clauses: vec!["ISO22340:9.2.4".into()],
            domain: Some(Domain::Cyber),
        },
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: "Site systems log to a 24/7 monitoring service.".into(),
            evidence: vec![Evidence {
                description: "runbook v4".into(),
                digest: digest(b"runbook"),
            }],
            last_tested: Some("2026-09-18T10:00:00Z".parse().unwrap()),
        }),
    }
}

fn message(n: usize) -> Vec<u8> {
    (0..MESSAGE_BYTES).map(|i| (i * 31 + n) as u8).collect()
}

fn benches(c: &mut Criterion) {
    let issuer = Keypair::from_seed([4; 32]);
    let subject = SubjectRef::org(issuer.did());
    let predicate = control_record(&issuer);
    let now = now();
    let (envelope, _) = issue(&issuer, &subject, &predicate).unwrap();
    validate(&envelope, now).unwrap();

    let signing = SigningKey::from_bytes(&[7; 32]);
    let verifying = signing.verifying_key();
    let single = message(0);
    let signature = signing.sign(&single);

    let keys: Vec<SigningKey> = (0..BATCH)
        .map(|n| SigningKey::from_bytes(&[n as u8; 32]))
        .collect();
    let messages: Vec<Vec<u8>> = (0..BATCH).map(message).collect();
    let signatures: Vec<Signature> = keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
    let verifying_keys: Vec<VerifyingKey> = keys.iter().map(SigningKey::verifying_key).collect();
    let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    ed25519_dalek::verify_batch(&message_refs, &signatures, &verifying_keys).unwrap();

    eprintln!(
        "message {} bytes; control-record envelope {} bytes",
        single.len(),
        envelope.len()
    );

    let mut group = c.benchmark_group("verify");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30);

    group.throughput(Throughput::Elements(1));
    group.bench_function("a_verify_strict_600B", |b| {
        b.iter(|| {
            verifying
                .verify_strict(black_box(&single), black_box(&signature))
                .unwrap()
        })
    });
    group.bench_function("b_validate_control_record", |b| {
        b.iter(|| validate(black_box(&envelope), now).unwrap())
    });

    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("c_verify_batch_64", |b| {
        b.iter(|| {
            ed25519_dalek::verify_batch(
                black_box(&message_refs),
                black_box(&signatures),
                black_box(&verifying_keys),
            )
            .unwrap()
        })
    });

    group.throughput(Throughput::Elements(1));
    group.bench_function("d_issue_control_record", |b| {
        b.iter(|| issue(&issuer, &subject, black_box(&predicate)).unwrap())
    });
    group.finish();
}

criterion_group!(verify, benches);
criterion_main!(verify);
