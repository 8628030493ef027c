//! Batch verification accepts exactly what one-by-one strict validation
//! accepts, for every case where ed25519 batch and strict checks can differ
//! without the signer's help: weak keys, non-canonical S, non-canonical or
//! small-order R, and a bad signature hidden among good ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assure_model::predicate::{Body, Common, Control, ControlStatus, Domain, Predicate};
use assure_model::{Keypair, SubjectRef, issue, validate};
use assure_net::verify::verify_entries;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;

fn envelope(issuer: &Keypair, n: usize) -> String {
    let predicate = Predicate {
        common: Common {
            issuer: issuer.did(),
            issued_at: Timestamp::now(),
            valid_until: None,
            supersedes: vec![],
            clauses: vec![],
            domain: Some(Domain::Cyber),
        },
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: format!("monitoring {n}"),
            evidence: vec![],
            last_tested: None,
        }),
    };
    String::from_utf8(
        issue(issuer, &SubjectRef::org(issuer.did()), &predicate)
            .unwrap()
            .0,
    )
    .unwrap()
}

/// Replaces the first signature's bytes with `edit(bytes)`.
fn with_signature(envelope: &str, edit: impl Fn(&mut [u8; 64])) -> String {
    let mut json: serde_json::Value = serde_json::from_str(envelope).unwrap();
    let mut sig: [u8; 64] = BASE64
        .decode(json["signatures"][0]["sig"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    edit(&mut sig);
    json["signatures"][0]["sig"] = BASE64.encode(sig).into();
    serde_json::to_string(&json).unwrap()
}

/// Both paths must agree on every envelope of `batch`, placed at `first`.
fn agree(first: u64, batch: &[String]) -> bool {
    let now = Timestamp::now() + jiff::SignedDuration::from_secs(1);
    let single = batch.iter().all(|e| validate(e.as_bytes(), now).is_ok());
    let batched = verify_entries(first, batch, now).is_ok();
    assert_eq!(single, batched, "batch and strict verification disagree");
    single
}

fn good(n: usize) -> Vec<String> {
    let issuer = Keypair::from_seed([3; 32]);
    (0..n).map(|i| envelope(&issuer, i)).collect()
}

#[test]
fn valid_batches_of_every_shape_are_accepted_by_both() {
    for (first, n) in [(0, 1), (0, 63), (0, 64), (5, 65), (63, 200)] {
        assert!(agree(first, &good(n)));
    }
}

#[test]
fn a_bad_signature_hidden_in_a_batch_is_refused_and_named() {
    let mut batch = good(100);
    let forger = Keypair::from_seed([4; 32]);
    let forged = envelope(&forger, 0);
    let forged_sig =
        serde_json::from_str::<serde_json::Value>(&forged).unwrap()["signatures"][0]["sig"].clone();
    let mut json: serde_json::Value = serde_json::from_str(&batch[57]).unwrap();
    json["signatures"][0]["sig"] = forged_sig;
    batch[57] = serde_json::to_string(&json).unwrap();
    assert!(!agree(0, &batch));
    let error = verify_entries(
        0,
        &batch,
        Timestamp::now() + jiff::SignedDuration::from_secs(1),
    )
    .unwrap_err();
    assert_eq!(error.index, 57);
}

#[test]
fn non_canonical_s_is_refused_by_both() {
    // S + L, the group order, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut batch = good(10);
    batch[3] = with_signature(&batch[3], |sig| {
        let mut carry = 0u16;
        for (byte, l) in sig[32..].iter_mut().zip(L) {
            let sum = *byte as u16 + l as u16 + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
    });
    assert!(!agree(0, &batch));
}

#[test]
fn small_order_and_non_canonical_r_are_refused_by_both() {
    for point in curve25519_dalek::constants::EIGHT_TORSION {
        let r = point.compress().to_bytes();
        let mut batch = good(8);
        batch[2] = with_signature(&batch[2], |sig| sig[..32].copy_from_slice(&r));
        assert!(!agree(0, &batch));
    }
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    let mut batch = good(8);
    batch[6] = with_signature(&batch[6], |sig| sig[..32].copy_from_slice(&non_canonical));
    assert!(!agree(0, &batch));
}

#[test]
fn a_weak_key_is_refused_by_both() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut bytes = vec![0xed, 0x01];
    bytes.extend(identity);
    let weak = format!("did:key:z{}", bs58_encode(&bytes));
    let mut batch = good(4);
    let mut json: serde_json::Value = serde_json::from_str(&batch[1]).unwrap();
    json["signatures"][0]["keyid"] = weak.into();
    batch[1] = serde_json::to_string(&json).unwrap();
    assert!(!agree(0, &batch));
}

/// Base58btc, enough for a test key.
fn bs58_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = byte as u32;
        for digit in digits.iter_mut() {
            carry += (*digit as u32) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    std::iter::repeat_n('1', zeros)
        .chain(digits.iter().rev().map(|d| ALPHABET[*d as usize] as char))
        .collect()
}
