//! Every refusal of `validate` gives its own `ValidationError`, and every kind
//! of record that `issue` signs validates to the same record.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use assure_model::dsse::{Envelope, PAYLOAD_TYPE, Signature};
use assure_model::json::{JsonError, MAX_DEPTH};
use assure_model::predicate::{
    Accreditation, AccreditedRole, Audit, AuditResult, AuditType, Control, ControlStatus,
    CorrectiveAction, Evidence, ExternalProcess, Finding, Incident, IncidentStatus, Outcome,
    Period, Profile, Relationship, RequirementOutcome, Scope, Severity, Site, Verification,
    Withdrawal,
};
use assure_model::record::{MAX_CLOCK_SKEW, MAX_ENVELOPE_BYTES};
use assure_model::statement::STATEMENT_TYPE;
use assure_model::{
    Body, Common, Did, Domain, Keypair, Kind, Predicate, RecordId, SubjectRef, ValidationError,
    cosign, issue, parse, validate,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use serde_json::{Value, json};

fn now() -> Timestamp {
    "2026-11-22T08:00:00Z".parse().unwrap()
}

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

/// The group order of ed25519, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn common(issuer: Did, issued_at: Timestamp) -> Common {
    Common {
        issuer,
        issued_at,
        valid_until: None,
        supersedes: Vec::new(),
        clauses: Vec::new(),
        domain: None,
    }
}

fn profile(issuer: &Keypair, issued_at: Timestamp) -> Predicate {
    Predicate {
        common: common(issuer.did(), issued_at),
        body: Body::Profile(Profile {
            legal_name: "Acme Logistics B.V.".into(),
            identifiers: BTreeMap::from([("lei".into(), "724500VKKSH9QOLTFR81".into())]),
            roles: vec!["logistics".into()],
            security_contact: Some("security@acme.example".into()),
        }),
    }
}

/// A valid profile statement of `key(1)` about itself, as JSON.
fn statement() -> Value {
    let issuer = key(1);
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [SubjectRef::org(issuer.did()).to_subject()],
        "predicateType": "urn:assure:profile:v1",
        "predicate": profile(&issuer, now()).to_value(),
    })
}

/// `statement()` changed by `edit`, signed by `key(1)`.
fn signed_statement(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value = statement();
    edit(&mut value);
    Envelope::sign(&serde_json::to_vec(&value).unwrap(), &key(1)).to_bytes()
}

/// A valid envelope of `statement()`, as JSON, changed by `edit`.
fn edited_envelope(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&signed_statement(|_| ())).unwrap();
    edit(&mut value);
    serde_json::to_vec(&value).unwrap()
}

/// The statement's payload bytes and an envelope signed by `key(1)`.
fn envelope() -> (Vec<u8>, Envelope) {
    let payload = serde_json::to_vec(&statement()).unwrap();
    let envelope = Envelope::sign(&payload, &key(1));
    (payload, envelope)
}

fn did_key_of(public: [u8; 32]) -> String {
    let mut bytes = vec![0xed, 0x01];
    bytes.extend(public);
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

#[test]
fn the_baseline_envelope_validates() {
    let record = validate(&signed_statement(|_| ()), now()).unwrap();
    assert_eq!(record.kind(), Kind::Profile);
    assert_eq!(record.signers, vec![key(1).did()]);
}

// --- size and envelope structure ---------------------------------------------

#[test]
fn refuses_envelopes_over_256_kib() {
    // Trailing whitespace is valid JSON, so padding shows the exact limit.
    let mut bytes = signed_statement(|_| ());
    bytes.resize(MAX_ENVELOPE_BYTES, b' ');
    assert!(validate(&bytes, now()).is_ok());
    bytes.push(b' ');
    assert_eq!(
        validate(&bytes, now()),
        Err(ValidationError::TooLarge {
            size: MAX_ENVELOPE_BYTES + 1
        })
    );
}

#[test]
fn issue_refuses_a_record_that_would_be_too_large() {
    let issuer = key(1);
    let mut predicate = profile(&issuer, now());
    let Body::Profile(p) = &mut predicate.body else {
        unreachable!()
    };
    p.legal_name = "x".repeat(MAX_ENVELOPE_BYTES);
    let err = issue(&issuer, &SubjectRef::org(issuer.did()), &predicate).unwrap_err();
    assert!(matches!(err, ValidationError::TooLarge { .. }), "{err}");
}

#[test]
fn refuses_unknown_and_deeply_nested_envelope_fields() {
    // Envelopes refuse unknown fields, so nothing can nest deep inside one.
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    let bytes = edited_envelope(|e| e["extra"] = serde_json::from_str(&deep).unwrap());
    let err = validate(&bytes, now()).unwrap_err();
    assert!(
        matches!(&err, ValidationError::NotAnEnvelope(m) if m.contains("unknown field `extra`")),
        "{err}"
    );
}

#[test]
fn refuses_envelope_json_with_a_duplicate_key() {
    let bytes = signed_statement(|_| ());
    let text = String::from_utf8(bytes).unwrap();
    let twice = text.replacen("{\"payload\":", "{\"payloadType\":\"x\",\"payload\":", 1);
    assert_eq!(
        validate(twice.as_bytes(), now()),
        Err(ValidationError::EnvelopeJson(JsonError::DuplicateKey(
            "payloadType".into()
        )))
    );
}

#[test]
fn refuses_envelope_json_syntax_errors() {
    let mut bytes = signed_statement(|_| ());
    bytes.pop();
    let err = validate(&bytes, now()).unwrap_err();
    assert!(
        matches!(err, ValidationError::EnvelopeJson(JsonError::Syntax(_))),
        "{err}"
    );
}

#[test]
fn refuses_what_is_not_an_envelope() {
    let missing = edited_envelope(|e| {
        e.as_object_mut().unwrap().remove("signatures");
    });
    let err = validate(&missing, now()).unwrap_err();
    assert!(
        matches!(&err, ValidationError::NotAnEnvelope(m) if m.contains("signatures")),
        "{err}"
    );
    let wrong_type = edited_envelope(|e| e["payload"] = json!(5));
    let err = validate(&wrong_type, now()).unwrap_err();
    assert!(matches!(err, ValidationError::NotAnEnvelope(_)), "{err}");
    let err = validate(b"[1, 2]", now()).unwrap_err();
    assert!(matches!(err, ValidationError::NotAnEnvelope(_)), "{err}");
}

#[test]
fn refuses_a_foreign_payload_type() {
    let bytes = edited_envelope(|e| e["payloadType"] = json!("application/json"));
    assert_eq!(
        validate(&bytes, now()),
        Err(ValidationError::PayloadType("application/json".into()))
    );
}

#[test]
fn refuses_a_payload_that_is_not_base64() {
    let bytes = edited_envelope(|e| e["payload"] = json!("not base64!"));
    assert_eq!(validate(&bytes, now()), Err(ValidationError::PayloadBase64));
}

// --- statement structure -----------------------------------------------------

/// An envelope whose payload is `payload`, signed by `key(1)`.
fn signed_payload(payload: &[u8]) -> Vec<u8> {
    Envelope::sign(payload, &key(1)).to_bytes()
}

#[test]
fn refuses_statement_json_too_deep_inside_the_payload() {
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    // The predicate object adds one level, the statement another.
    let bytes =
        signed_statement(|s| s["predicate"]["notes"] = serde_json::from_str(&deep).unwrap());
    assert_eq!(
        validate(&bytes, now()),
        Err(ValidationError::StatementJson(JsonError::TooDeep))
    );
}

#[test]
fn refuses_statement_json_with_a_duplicate_key_inside_the_payload() {
    let text = serde_json::to_string(&statement()).unwrap();
    let twice = text.replacen("{\"_type\":", "{\"_type\":\"x\",\"_type\":", 1);
    assert_eq!(
        validate(&signed_payload(twice.as_bytes()), now()),
        Err(ValidationError::StatementJson(JsonError::DuplicateKey(
            "_type".into()
        )))
    );
}

#[test]
fn refuses_statement_json_syntax_errors() {
    let err = validate(&signed_payload(b"{\"_type\":"), now()).unwrap_err();
    assert!(
        matches!(err, ValidationError::StatementJson(JsonError::Syntax(_))),
        "{err}"
    );
}

#[test]
fn refuses_what_is_not_a_statement() {
    let missing = signed_statement(|s| {
        s.as_object_mut().unwrap().remove("predicateType");
    });
    let err = validate(&missing, now()).unwrap_err();
    assert!(
        matches!(&err, ValidationError::NotAStatement(m) if m.contains("predicateType")),
        "{err}"
    );
    let wrong_type = signed_statement(|s| s["subject"] = json!("did:key:z6Mk"));
    let err = validate(&wrong_type, now()).unwrap_err();
    assert!(matches!(err, ValidationError::NotAStatement(_)), "{err}");
}

#[test]
fn refuses_an_unknown_statement_type() {
    let bytes = signed_statement(|s| s["_type"] = json!("https://in-toto.io/Statement/v0.1"));
    assert_eq!(
        validate(&bytes, now()),
        Err(ValidationError::StatementType(
            "https://in-toto.io/Statement/v0.1".into()
        ))
    );
}

#[test]
fn refuses_unknown_predicate_types() {
    for unknown in [
        "urn:assure:invoice:v1",
        "urn:assure:profile:v2",
        "https://slsa.dev/provenance/v1",
    ] {
        let bytes = signed_statement(|s| s["predicateType"] = json!(unknown));
        assert_eq!(
            validate(&bytes, now()),
            Err(ValidationError::PredicateType(unknown.into()))
        );
    }
}

#[test]
fn refuses_a_statement_without_subject() {
    let bytes = signed_statement(|s| s["subject"] = json!([]));
    let err = validate(&bytes, now()).unwrap_err();
    assert!(matches!(err, ValidationError::Subject(_)), "{err}");
}

#[test]
fn refuses_a_subject_that_is_not_a_did() {
    let bytes = signed_statement(|s| s["subject"][0]["name"] = json!("acme-logistics"));
    let err = validate(&bytes, now()).unwrap_err();
    assert!(
        matches!(&err, ValidationError::Subject(m) if m.contains("acme-logistics")),
        "{err}"
    );
}

#[test]
fn refuses_a_subject_digest_that_does_not_match_its_did() {
    let other = key(2).did().digest_hex();
    let bytes = signed_statement(|s| s["subject"][0]["digest"]["blake3"] = json!(other));
    let expected = Err(ValidationError::SubjectDigest(key(1).did().to_string()));
    assert_eq!(validate(&bytes, now()), expected);
    let sha256_only = signed_statement(|s| s["subject"][0]["digest"] = json!({"sha256": other}));
    assert_eq!(validate(&sha256_only, now()), expected);
}

// --- predicate -----------------------------------------------------------------

fn field_error(bytes: &[u8]) -> String {
    match validate(bytes, now()) {
        Err(ValidationError::Field {
            kind: Kind::Profile,
            detail,
        }) => detail,
        other => panic!("expected a Field error, got {other:?}"),
    }
}

#[test]
fn refuses_a_missing_predicate_field() {
    let bytes = signed_statement(|s| {
        s["predicate"].as_object_mut().unwrap().remove("legalName");
    });
    assert!(field_error(&bytes).contains("legalName"));
    let bytes = signed_statement(|s| {
        s["predicate"].as_object_mut().unwrap().remove("issuedAt");
    });
    assert!(field_error(&bytes).contains("issuedAt"));
}

#[test]
fn refuses_a_predicate_field_of_the_wrong_type() {
    let bytes = signed_statement(|s| s["predicate"]["legalName"] = json!(5));
    let detail = field_error(&bytes);
    assert!(
        detail.contains("`legalName`") && detail.contains("invalid type"),
        "{detail}"
    );
    let bytes = signed_statement(|s| s["predicate"]["issuedAt"] = json!("yesterday"));
    assert!(field_error(&bytes).contains("`issuedAt`"));
    let bytes = signed_statement(|s| s["predicate"]["roles"] = json!(["a", {"logistics": true}]));
    assert!(field_error(&bytes).contains("`roles.1`"));
}

#[test]
fn refuses_a_weak_issuer_in_the_predicate() {
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let bytes = signed_statement(|s| s["predicate"]["issuer"] = json!(did_key_of(weak)));
    let detail = field_error(&bytes);
    assert!(
        detail.contains("`issuer`") && detail.contains("weak"),
        "{detail}"
    );
}

/// A statement of `kind` whose predicate is `predicate`, signed by `signer`.
fn signed_predicate(kind: Kind, predicate: Value, signer: &Keypair) -> Vec<u8> {
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [SubjectRef::org(signer.did()).to_subject()],
        "predicateType": kind.predicate_type(),
        "predicate": predicate,
    });
    Envelope::sign(&serde_json::to_vec(&statement).unwrap(), signer).to_bytes()
}

fn inconsistent(bytes: &[u8], kind: Kind, needle: &str) {
    match validate(bytes, now()) {
        Err(ValidationError::Inconsistent { kind: k, detail }) => {
            assert_eq!(k, kind);
            assert!(detail.contains(needle), "`{detail}` lacks `{needle}`");
        }
        other => panic!("expected an Inconsistent error, got {other:?}"),
    }
}

#[test]
fn refuses_a_relationship_issued_by_a_third_party() {
    let issuer = key(5);
    let predicate = Predicate {
        common: common(issuer.did(), now()),
        body: Body::Relationship(Relationship {
            supplier: key(4).did(),
            customer: key(1).did(),
            supplies: vec!["road haulage".into()],
            since: "2024-03-01".parse().unwrap(),
        }),
    };
    let subject = SubjectRef::org(issuer.did());
    let bytes = signed_predicate(Kind::Relationship, predicate.to_value(), &issuer);
    inconsistent(&bytes, Kind::Relationship, "supplier or the customer");
    // `issue` applies the same rule.
    assert!(matches!(
        issue(&issuer, &subject, &predicate),
        Err(ValidationError::Inconsistent { .. })
    ));
}

#[test]
fn refuses_a_relationship_with_itself() {
    let issuer = key(4);
    let predicate = Predicate {
        common: common(issuer.did(), now()),
        body: Body::Relationship(Relationship {
            supplier: issuer.did(),
            customer: issuer.did(),
            supplies: vec!["road haulage".into()],
            since: "2024-03-01".parse().unwrap(),
        }),
    };
    let bytes = signed_predicate(Kind::Relationship, predicate.to_value(), &issuer);
    inconsistent(&bytes, Kind::Relationship, "same organization");
}

#[test]
fn refuses_a_control_without_domain() {
    let issuer = key(4);
    let mut predicate = control(&issuer, now());
    predicate.common.domain = None;
    let bytes = signed_predicate(Kind::Control, predicate.to_value(), &issuer);
    inconsistent(&bytes, Kind::Control, "domain");
}

#[test]
fn refuses_valid_until_before_issued_at() {
    let issuer = key(1);
    let mut predicate = profile(&issuer, now());
    predicate.common.valid_until = Some(now() - SignedDuration::from_secs(1));
    let bytes = signed_predicate(Kind::Profile, predicate.to_value(), &issuer);
    inconsistent(&bytes, Kind::Profile, "validUntil");
    predicate.common.valid_until = Some(now());
    let bytes = signed_predicate(Kind::Profile, predicate.to_value(), &issuer);
    inconsistent(&bytes, Kind::Profile, "validUntil");
}

#[test]
fn refuses_a_bad_clause_reference() {
    let issuer = key(1);
    for bad in [
        "ISO 28000 8.4",
        "ISO28000:",
        "ISO28000:8.x.4",
        ":8.4",
        "ISO28000:8.4.F",
    ] {
        let mut predicate = profile(&issuer, now());
        predicate.common.clauses = vec!["ISO28000:8.4".into(), bad.into()];
        let bytes = signed_predicate(Kind::Profile, predicate.to_value(), &issuer);
        inconsistent(&bytes, Kind::Profile, bad);
    }
}

// --- signatures ------------------------------------------------------------------

fn with_signatures(signatures: Vec<Signature>) -> Vec<u8> {
    let (_, mut envelope) = envelope();
    envelope.signatures = signatures;
    envelope.to_bytes()
}

#[test]
fn refuses_an_unsigned_envelope() {
    assert_eq!(
        validate(&with_signatures(Vec::new()), now()),
        Err(ValidationError::Unsigned)
    );
}

#[test]
fn refuses_an_envelope_whose_first_signature_is_not_the_issuers() {
    let (payload, mut envelope) = envelope();
    envelope.add_signature(&payload, &key(2));
    envelope.signatures.reverse();
    assert_eq!(
        validate(&envelope.to_bytes(), now()),
        Err(ValidationError::IssuerNotFirst {
            issuer: key(1).did(),
            found: key(2).did().to_string()
        })
    );
}

#[test]
fn refuses_a_key_id_that_is_not_a_did() {
    let (_, envelope) = envelope();
    let issuer_sig = envelope.signatures[0].clone();
    let sig = issuer_sig.sig.clone();
    for keyid in [
        "did:web:example.com",
        "",
        "z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX",
    ] {
        let bytes = with_signatures(vec![
            issuer_sig.clone(),
            Signature {
                keyid: keyid.into(),
                sig: sig.clone(),
            },
        ]);
        assert_eq!(
            validate(&bytes, now()),
            Err(ValidationError::KeyId(keyid.into()))
        );
    }
}

#[test]
fn refuses_a_small_order_key_as_key_id() {
    let (_, envelope) = envelope();
    let issuer_sig = envelope.signatures[0].clone();
    // The identity point and a point of order 2: both are weak keys.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order_two = [0u8; 32];
    order_two[0] = 0xec;
    order_two[1..31].fill(0xff);
    order_two[31] = 0x7f;
    for weak in [identity, order_two] {
        let keyid = did_key_of(weak);
        let bytes = with_signatures(vec![
            issuer_sig.clone(),
            Signature {
                keyid: keyid.clone(),
                sig: BASE64.encode([0u8; 64]),
            },
        ]);
        assert_eq!(validate(&bytes, now()), Err(ValidationError::KeyId(keyid)));
    }
}

#[test]
fn refuses_two_signatures_by_the_same_key() {
    let (payload, mut envelope) = envelope();
    envelope.add_signature(&payload, &key(1));
    assert_eq!(
        validate(&envelope.to_bytes(), now()),
        Err(ValidationError::DuplicateSigner(key(1).did()))
    );
}

#[test]
fn refuses_signatures_that_are_not_64_base64_bytes() {
    let keyid = key(1).did().to_string();
    for sig in [
        BASE64.encode([7u8; 63]),
        BASE64.encode([7u8; 65]),
        "***".into(),
        String::new(),
    ] {
        let bytes = with_signatures(vec![Signature {
            keyid: keyid.clone(),
            sig,
        }]);
        assert_eq!(
            validate(&bytes, now()),
            Err(ValidationError::SignatureEncoding(key(1).did()))
        );
    }
}

#[test]
fn refuses_a_signature_made_by_another_key() {
    let payload = serde_json::to_vec(&statement()).unwrap();
    let mut forged = Envelope::sign(&payload, &key(9));
    forged.signatures[0].keyid = key(1).did().to_string();
    assert_eq!(
        validate(&forged.to_bytes(), now()),
        Err(ValidationError::BadSignature(key(1).did()))
    );
}

#[test]
fn refuses_a_payload_changed_after_signing() {
    let (payload, mut envelope) = envelope();
    let text = String::from_utf8(payload).unwrap();
    let tampered = text.replacen("Acme Logistics", "Acme Logisticz", 1);
    assert_eq!(tampered.len(), text.len());
    assert_ne!(tampered, text);
    envelope.payload = BASE64.encode(&tampered);
    assert_eq!(
        validate(&envelope.to_bytes(), now()),
        Err(ValidationError::BadSignature(key(1).did()))
    );
}

#[test]
fn refuses_a_non_canonical_signature() {
    let (_, mut envelope) = envelope();
    assert!(validate(&envelope.to_bytes(), now()).is_ok());
    let mut sig: [u8; 64] = BASE64
        .decode(&envelope.signatures[0].sig)
        .unwrap()
        .try_into()
        .unwrap();
    // S + L is the same scalar modulo L: a lax verifier would accept it.
    let mut carry = 0u16;
    for (s, l) in sig[32..].iter_mut().zip(L) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    envelope.signatures[0].sig = BASE64.encode(sig);
    assert_eq!(
        validate(&envelope.to_bytes(), now()),
        Err(ValidationError::BadSignature(key(1).did()))
    );
}

// --- time ----------------------------------------------------------------------

#[test]
fn refuses_records_from_the_future_beyond_the_clock_skew() {
    let issuer = key(1);
    let subject = SubjectRef::org(issuer.did());
    let at = |mins: i64| now() + SignedDuration::from_mins(mins);
    for mins in [-60 * 24 * 365, 0, 4, 5] {
        let (bytes, _) = issue(&issuer, &subject, &profile(&issuer, at(mins))).unwrap();
        assert!(validate(&bytes, now()).is_ok(), "{mins} minutes ahead");
    }
    let (bytes, _) = issue(&issuer, &subject, &profile(&issuer, at(6))).unwrap();
    assert_eq!(
        validate(&bytes, now()),
        Err(ValidationError::FromTheFuture { issued_at: at(6) })
    );
    assert_eq!(MAX_CLOCK_SKEW, SignedDuration::from_mins(5));
    // Just past the limit.
    let just_past = now() + MAX_CLOCK_SKEW + SignedDuration::from_nanos(1);
    let (bytes, _) = issue(&issuer, &subject, &profile(&issuer, just_past)).unwrap();
    assert!(matches!(
        validate(&bytes, now()),
        Err(ValidationError::FromTheFuture { .. })
    ));
}

// --- records of every kind -------------------------------------------------------

fn control(issuer: &Keypair, issued_at: Timestamp) -> Predicate {
    let mut common = common(issuer.did(), issued_at);
    common.domain = Some(Domain::Cyber);
    common.clauses = vec!["ISO22340:9.2.4".into()];
    Predicate {
        common,
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: "Warehouse systems send their logs to a monitored SIEM.".into(),
            evidence: vec![Evidence {
                description: "monitoring runbook".into(),
                digest: format!("blake3:{}", blake3::hash(b"runbook").to_hex()),
            }],
            last_tested: Some("2026-10-01T09:00:00Z".parse().unwrap()),
        }),
    }
}

/// A record of `kind` issued by `key(4)`, the logistics provider, or by the
/// party that issues that kind.
fn record_of(kind: Kind) -> (Keypair, SubjectRef, Predicate) {
    let at = now() - SignedDuration::from_hours(1);
    let (manufacturer, logistics) = (key(1).did(), key(4).did());
    let id = RecordId::of(PAYLOAD_TYPE, b"an earlier record");
    let date = |s: &str| s.parse().unwrap();
    let (issuer, subject, body) = match kind {
        Kind::Profile => return (key(4), SubjectRef::org(logistics), profile(&key(4), at)),
        Kind::Control => return (key(4), SubjectRef::org(logistics), control(&key(4), at)),
        Kind::Scope => (
            key(4),
            "did:key:z6Mkt6316e2PN3mZdB6N9CrzomJYUd1s5yBZi1XYHmwT9TUP#site=rotterdam"
                .parse()
                .unwrap(),
            Body::Scope(Scope {
                sites: vec![Site {
                    id: "rotterdam".into(),
                    name: "Rotterdam cross-dock".into(),
                    country: Some("NL".into()),
                }],
                processes: vec!["cross-dock consolidation".into()],
                services: vec!["bonded warehousing".into()],
                exclusions: vec!["air freight".into()],
                external_processes: vec![ExternalProcess {
                    process: "guarding".into(),
                    provider: key(3).did(),
                    required_controls: vec!["ISO22340:10.2.2".into()],
                }],
            }),
        ),
        Kind::Audit => (
            key(5),
            SubjectRef::org(logistics),
            Body::Audit(Audit {
                audit_type: AuditType::Certification,
                standard: "ISO 28000:2022".into(),
                scope_ref: Some(id),
                period: Period {
                    from: date("2026-10-12"),
                    to: date("2026-10-14"),
                },
                result: AuditResult::Certified,
                findings: vec![Finding {
                    clause: "ISO28000:7.5.3".into(),
                    severity: Severity::Low,
                    description: "two seal logs kept on paper only".into(),
                }],
                certificate_number: Some("CB-28000-0042".into()),
            }),
        ),
        Kind::Incident => (
            key(4),
            SubjectRef::org(logistics),
            Body::Incident(Incident {
                category: "cargo-tampering".into(),
                severity: Severity::High,
                summary: "seal found broken on arrival".into(),
                occurred_at: "2026-11-20T21:40:00Z".parse().unwrap(),
                detected_at: "2026-11-21T05:10:00Z".parse().unwrap(),
                status: IncidentStatus::Contained,
                affected: vec![manufacturer],
                corrective_actions: vec![CorrectiveAction {
                    description: "re-train drivers on seal checks".into(),
                    due: Some(date("2026-12-15")),
                    completed: None,
                }],
            }),
        ),
        Kind::Relationship => (
            key(4),
            SubjectRef::org(manufacturer),
            Body::Relationship(Relationship {
                supplier: logistics,
                customer: manufacturer,
                supplies: vec!["road haulage".into()],
                since: date("2024-03-01"),
            }),
        ),
        Kind::Accreditation => (
            key(6),
            SubjectRef::org(key(5).did()),
            Body::Accreditation(Accreditation {
                role: AccreditedRole::Auditor,
                programmes: vec!["ISO 28000:2022".into()],
                reference: Some("ACC-2026-117".into()),
            }),
        ),
        Kind::Verification => (
            key(1),
            SubjectRef::org(logistics),
            Body::Verification(Verification {
                profile: "logistics-provider".into(),
                profile_digest: blake3::hash(b"profile").to_hex().to_string(),
                result: Outcome::Pass,
                outcomes: vec![RequirementOutcome {
                    requirement: "certified".into(),
                    outcome: Outcome::Pass,
                    reason: "certified by an accredited body".into(),
                    evidence: vec![id],
                }],
                transitive: true,
            }),
        ),
        Kind::Withdrawal => (
            key(4),
            SubjectRef::org(logistics),
            Body::Withdrawal(Withdrawal {
                withdrawn: id,
                reason: "issued in error".into(),
            }),
        ),
    };
    let mut common = common(issuer.did(), at);
    common.valid_until = Some(now() + SignedDuration::from_hours(24 * 365));
    common.supersedes = vec![id];
    common.clauses = vec!["ISO28000:8.4.g".into()];
    (issuer, subject, Predicate { common, body })
}

#[test]
fn a_record_of_every_kind_validates_and_round_trips() {
    for kind in Kind::ALL {
        let (issuer, subject, predicate) = record_of(*kind);
        assert_eq!(predicate.body.kind(), *kind);
        let (bytes, issued) = issue(&issuer, &subject, &predicate).unwrap();
        let record = validate(&bytes, now()).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(record.id, issued.id, "{kind}");
        assert_eq!(record.predicate, predicate, "{kind}");
        assert_eq!(record.subject, subject, "{kind}");
        assert_eq!(record.signers, vec![issuer.did()], "{kind}");
        assert_eq!(record, issued, "{kind}");
        assert_eq!(record.envelope.to_bytes(), bytes, "{kind}");
    }
}

#[test]
fn issue_refuses_a_predicate_naming_another_issuer() {
    let predicate = profile(&key(1), now());
    let err = issue(&key(2), &SubjectRef::org(key(1).did()), &predicate).unwrap_err();
    assert!(
        matches!(err, ValidationError::IssuerNotFirst { .. }),
        "{err}"
    );
}

#[test]
fn cosign_keeps_the_record_id_and_adds_a_verified_signer() {
    let (auditor, subject, predicate) = record_of(Kind::Audit);
    let auditee = key(4);
    let (_, issued) = issue(&auditor, &subject, &predicate).unwrap();
    let (bytes, cosigned) = cosign(&issued, &auditee).unwrap();
    assert_eq!(cosigned.id, issued.id);
    let record = validate(&bytes, now()).unwrap();
    assert_eq!(record.id, issued.id);
    assert_eq!(record.signers, vec![auditor.did(), auditee.did()]);
    assert_eq!(record, cosigned);
    assert_eq!(
        cosign(&record, &auditee),
        Err(ValidationError::DuplicateSigner(auditee.did()))
    );
}

#[test]
fn refuses_a_cosignature_by_a_forged_key() {
    let (auditor, subject, predicate) = record_of(Kind::Audit);
    let (_, issued) = issue(&auditor, &subject, &predicate).unwrap();
    // Key 9 signs, but the signature claims to be the auditee's.
    let (_, mut forged) = cosign(&issued, &key(9)).unwrap();
    forged.envelope.signatures[1].keyid = key(4).did().to_string();
    assert_eq!(
        validate(&forged.envelope.to_bytes(), now()),
        Err(ValidationError::BadSignature(key(4).did()))
    );
}

#[test]
fn batch_verification_agrees_with_validate() {
    let (auditor, subject, predicate) = record_of(Kind::Audit);
    let (_, issued) = issue(&auditor, &subject, &predicate).unwrap();
    let (good, _) = cosign(&issued, &key(4)).unwrap();
    let (_, mut forged) = cosign(&issued, &key(9)).unwrap();
    forged.envelope.signatures[1].keyid = key(4).did().to_string();
    let batch = |bytes: &[u8]| {
        let unverified = parse(bytes, now()).unwrap();
        let (message, signatures) = unverified.signatures();
        let messages = vec![message; signatures.len()];
        let sigs: Vec<_> = signatures.iter().map(|(_, s)| *s).collect();
        let keys: Vec<_> = signatures.iter().map(|(d, _)| d.verifying_key()).collect();
        ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok()
    };
    assert!(batch(&good));
    assert!(!batch(&forged.envelope.to_bytes()));
}

// --- properties ------------------------------------------------------------------

fn any_envelope() -> impl Strategy<Value = Envelope> {
    let signature =
        ("\\PC{0,40}", "[A-Za-z0-9+/=]{0,90}").prop_map(|(keyid, sig)| Signature { keyid, sig });
    (
        "\\PC{0,200}",
        "\\PC{0,40}",
        prop::collection::vec(signature, 0..4),
    )
        .prop_map(|(payload, payload_type, signatures)| Envelope {
            payload,
            payload_type,
            signatures,
        })
}

proptest! {
    #[test]
    fn envelope_json_round_trips(envelope in any_envelope()) {
        let bytes = envelope.to_bytes();
        assert_model_json_is_clean(&bytes)?;
        let back: Envelope = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(back, envelope);
    }

    #[test]
    fn subject_refs_round_trip(seed in any::<[u8; 32]>(), fragment in prop::option::of("\\PC{0,30}")) {
        let subject = SubjectRef { did: Keypair::from_seed(seed).did(), fragment };
        let text = subject.to_string();
        prop_assert_eq!(text.parse::<SubjectRef>().unwrap(), subject.clone());
        let json = serde_json::to_string(&subject).unwrap();
        prop_assert_eq!(serde_json::from_str::<SubjectRef>(&json).unwrap(), subject);
    }

    #[test]
    fn profiles_with_any_text_round_trip(
        legal_name in "\\PC{0,80}",
        roles in prop::collection::vec("\\PC{0,20}", 0..4),
        identifiers in prop::collection::btree_map("[a-z]{1,8}", "\\PC{0,20}", 0..4),
        secs in -1_000_000_000i64..300,
    ) {
        let issuer = key(3);
        let mut predicate = profile(&issuer, now() + SignedDuration::from_secs(secs));
        predicate.body = Body::Profile(Profile {
            legal_name, identifiers, roles, security_contact: None,
        });
        let subject = SubjectRef::org(issuer.did());
        let (bytes, issued) = issue(&issuer, &subject, &predicate).unwrap();
        prop_assert_eq!(validate(&bytes, now()).unwrap(), issued);
    }

    #[test]
    fn no_single_byte_change_yields_a_valid_record(index in any::<prop::sample::Index>(), flip in 1u8..) {
        let mut bytes = signed_statement(|_| ());
        let at = index.index(bytes.len());
        bytes[at] ^= flip;
        prop_assert!(validate(&bytes, now()).is_err(), "byte {} ^ {:#x} accepted", at, flip);
    }

    #[test]
    fn validate_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = validate(&bytes, now());
    }
}

fn assert_model_json_is_clean(bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(assure_model::json::check_structure(bytes), Ok(()));
    Ok(())
}
