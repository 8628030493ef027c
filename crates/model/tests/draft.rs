//! Drafts in JSON and TOML become records, and every mistake an operator can
//! make in a draft is refused with its own `DraftError` naming the field.
#![allow(clippy::unwrap_used)]

use assure_model::draft::MAX_DRAFT_BYTES;
use assure_model::json::{JsonError, MAX_DEPTH};
use assure_model::predicate::Body;
use assure_model::{
    Catalog, Domain, Draft, DraftError, Keypair, Kind, SubjectRef, issue, validate,
};
use jiff::Timestamp;
use proptest::prelude::*;

fn now() -> Timestamp {
    "2026-11-22T08:00:00Z".parse().unwrap()
}

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn catalog() -> Catalog {
    Catalog::builtin().clone()
}

const MANUFACTURER: &str = "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX";
const LOGISTICS: &str = "did:key:z6Mkt6316e2PN3mZdB6N9CrzomJYUd1s5yBZi1XYHmwT9TUP";
const RECORD: &str = "5c0a3e8a0f3bb3c2d0d1b8f4f1a2e3d4c5b6a79880716253443526170819aabb";

/// One TOML draft of each kind, all published by the logistics provider
/// (seed 4), whose counterpart is the manufacturer (seed 1).
fn toml_drafts() -> Vec<(Kind, String)> {
    vec![
        (Kind::Profile, "kind = \"profile\"\nlegalName = \"Acme Logistics B.V.\"\nroles = [\"logistics\"]\n[identifiers]\nlei = \"724500VKKSH9QOLTFR81\"\n".into()),
        (Kind::Scope, "kind = \"scope\"\nprocesses = [\"road haulage\"]\nsites = [{ id = \"rotterdam\", name = \"Rotterdam\", country = \"NL\" }]\n".into()),
        (Kind::Control, "kind = \"control\"\ncontrolId = \"ISO22340:10.2.1\"\nstatus = \"partial\"\nstatement = \"Seals are logged at loading.\"\n".into()),
        (Kind::Audit, format!("kind = \"audit\"\nsubject = \"{MANUFACTURER}\"\nauditType = \"second-party\"\nstandard = \"ISO 28000:2022\"\nresult = \"conformant\"\nperiod = {{ from = 2026-10-01, to = 2026-10-02 }}\n")),
        (Kind::Incident, format!("kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\nsummary = \"Seal broken\"\noccurredAt = 2026-11-20T21:40:00Z\ndetectedAt = \"2026-11-21T05:10:00+01:00\"\nstatus = \"open\"\naffected = [\"{MANUFACTURER}\"]\n")),
        (Kind::Relationship, format!("kind = \"relationship\"\nsupplier = \"{LOGISTICS}\"\ncustomer = \"{MANUFACTURER}\"\nsupplies = [\"road haulage\"]\nsince = 2024-03-01\n")),
        (Kind::Accreditation, format!("kind = \"accreditation\"\nsubject = \"{MANUFACTURER}\"\nrole = \"operator\"\nprogrammes = [\"AEO-F\"]\n")),
        (Kind::Verification, format!("kind = \"verification\"\nsubject = \"{MANUFACTURER}\"\nprofile = \"manufacturer\"\nprofileDigest = \"{RECORD}\"\nresult = \"inconclusive\"\n")),
        (Kind::Withdrawal, format!("kind = \"withdrawal\"\nwithdrawn = \"{RECORD}\"\nreason = \"issued in error\"\nvalidUntil = 2027-11-22T08:00:00Z\n")),
    ]
}

/// The same drafts written in JSON.
fn json_drafts() -> Vec<(Kind, String)> {
    vec![
        (Kind::Profile, r#"{"kind":"profile","legalName":"Acme Logistics B.V.","identifiers":{"lei":"724500VKKSH9QOLTFR81"}}"#.into()),
        (Kind::Scope, r#"{"kind":"scope","sites":[{"id":"duisburg","name":"Duisburg"}],"services":["bonded warehousing"]}"#.into()),
        (Kind::Control, r#"{"kind":"control","controlId":"ISO22340:9.2.4","domain":"cyber","status":"implemented","statement":"Monitored.","lastTested":"2026-10-01T09:00:00Z"}"#.into()),
        (Kind::Audit, format!(r#"{{"kind":"audit","subject":"{MANUFACTURER}","auditType":"internal","standard":"ISO 28000:2022","result":"conformant","period":{{"from":"2026-10-01","to":"2026-10-02"}},"scopeRef":"{RECORD}"}}"#)),
        (Kind::Incident, r#"{"kind":"incident","category":"cyber-intrusion","severity":"low","summary":"Phishing","occurredAt":"2026-11-20T21:40:00Z","detectedAt":"2026-11-20T22:00:00Z","status":"resolved"}"#.into()),
        (Kind::Relationship, format!(r#"{{"kind":"relationship","supplier":"{LOGISTICS}","customer":"{MANUFACTURER}","supplies":["road haulage"],"since":"2024-03-01"}}"#)),
        (Kind::Accreditation, format!(r#"{{"kind":"accreditation","subject":"{MANUFACTURER}","role":"auditor","programmes":["ISO 28000:2022"]}}"#)),
        (Kind::Verification, format!(r#"{{"kind":"verification","subject":"{MANUFACTURER}","profile":"manufacturer","profileDigest":"{RECORD}","result":"pass","outcomes":[{{"requirement":"cert","outcome":"pass","reason":"ok","evidence":["{RECORD}"]}}]}}"#)),
        (Kind::Withdrawal, format!(r#"{{"kind":"withdrawal","withdrawn":"{RECORD}","reason":"issued in error","supersedes":["{RECORD}"],"clauses":["ISO28000:10.2"]}}"#)),
    ]
}

/// Issues a draft as the logistics provider and validates the envelope.
fn issue_draft(draft: Draft) -> Result<assure_model::Record, DraftError> {
    let issuer = key(4);
    let (subject, predicate) = draft.into_predicate(issuer.did(), now(), &catalog())?;
    let (bytes, issued) = issue(&issuer, &subject, &predicate).unwrap();
    let record = validate(&bytes, now()).unwrap();
    assert_eq!(record, issued);
    Ok(record)
}

#[test]
fn drafts_of_every_kind_parse_and_issue() {
    for drafts in [toml_drafts(), json_drafts()] {
        let kinds: Vec<Kind> = drafts.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, Kind::ALL);
        for (kind, text) in drafts {
            let draft = if text.starts_with('{') {
                Draft::from_json(text.as_bytes())
            } else {
                Draft::from_toml(&text)
            }
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(draft.kind, kind);
            let record = issue_draft(draft.clone()).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(record.kind(), kind);
            assert_eq!(record.issuer(), key(4).did());
            assert_eq!(record.predicate.common.issued_at, now());
            let expected = draft
                .subject
                .unwrap_or_else(|| SubjectRef::org(key(4).did()));
            assert_eq!(record.subject, expected);
        }
    }
}

#[test]
fn a_subject_may_name_a_site() {
    let text = format!("kind = \"scope\"\nsubject = \"{LOGISTICS}#site=rotterdam\"\n");
    let record = issue_draft(Draft::from_toml(&text).unwrap()).unwrap();
    assert_eq!(record.subject.fragment.as_deref(), Some("site=rotterdam"));
}

fn toml_err(text: &str) -> DraftError {
    match Draft::from_toml(text) {
        Ok(draft) => issue_draft(draft).unwrap_err(),
        Err(e) => e,
    }
}

fn json_err(text: &str) -> DraftError {
    match Draft::from_json(text.as_bytes()) {
        Ok(draft) => issue_draft(draft).unwrap_err(),
        Err(e) => e,
    }
}

fn says(err: &DraftError, needle: &str) {
    let message = err.to_string();
    assert!(
        message.contains(needle),
        "`{message}` does not mention `{needle}`"
    );
}

#[test]
fn refuses_a_draft_without_kind() {
    let err = toml_err("legalName = \"Acme\"\n");
    assert!(matches!(err, DraftError::MissingKind(_)), "{err:?}");
    says(&err, "kind");
    says(&err, "withdrawal");
    let err = json_err(r#"{"kind": 3}"#);
    assert!(matches!(err, DraftError::MissingKind(_)), "{err:?}");
}

#[test]
fn refuses_an_unknown_kind() {
    let err = toml_err("kind = \"invoice\"\n");
    assert!(matches!(err, DraftError::Kind(_)), "{err:?}");
    says(&err, "invoice");
    says(&err, "profile, scope, control");
}

#[test]
fn refuses_fields_the_node_fills_in() {
    let err = toml_err(&format!(
        "kind = \"profile\"\nlegalName = \"A\"\nissuer = \"{LOGISTICS}\"\n"
    ));
    assert!(matches!(err, DraftError::Reserved("issuer")), "{err:?}");
    says(&err, "issuer");
    let err = json_err(r#"{"kind":"profile","legalName":"A","issuedAt":"2026-11-22T08:00:00Z"}"#);
    assert!(matches!(err, DraftError::Reserved("issuedAt")), "{err:?}");
    says(&err, "issuedAt");
}

#[test]
fn refuses_a_subject_that_is_not_a_did() {
    let err = toml_err("kind = \"profile\"\nlegalName = \"A\"\nsubject = \"acme\"\n");
    assert!(matches!(err, DraftError::Subject(_)), "{err:?}");
    says(&err, "subject");
    let err = toml_err("kind = \"profile\"\nlegalName = \"A\"\nsubject = 4\n");
    assert!(matches!(err, DraftError::Subject(_)), "{err:?}");
}

#[test]
fn refuses_an_unknown_top_level_field() {
    let err = toml_err("kind = \"profile\"\nlegalName = \"A\"\nlegal_name = \"A\"\n");
    assert!(
        matches!(&err, DraftError::UnknownField { kind: Kind::Profile, field } if field == "legal_name"),
        "{err:?}"
    );
    says(&err, "legal_name");
}

#[test]
fn refuses_an_unknown_nested_field() {
    let err = toml_err("kind = \"scope\"\nsites = [{ id = \"a\", name = \"b\", bogus = 1 }]\n");
    assert!(
        matches!(
            &err,
            DraftError::UnknownField {
                kind: Kind::Scope,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "bogus");
    says(&err, "sites");
    let err = json_err(&format!(
        r#"{{"kind":"audit","subject":"{MANUFACTURER}","auditType":"internal","standard":"x","result":"conformant","period":{{"from":"2026-10-01","to":"2026-10-02","until":"2026-10-03"}}}}"#
    ));
    assert!(
        matches!(
            &err,
            DraftError::UnknownField {
                kind: Kind::Audit,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "period.until");
}

#[test]
fn refuses_a_missing_field() {
    let err =
        toml_err("kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"implemented\"\n");
    assert!(
        matches!(
            &err,
            DraftError::Field {
                kind: Kind::Control,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "statement");
    let err = toml_err(&format!(
        "kind = \"audit\"\nsubject = \"{MANUFACTURER}\"\nauditType = \"internal\"\nstandard = \"x\"\nresult = \"conformant\"\nperiod = {{ from = 2026-10-01 }}\n"
    ));
    assert!(
        matches!(
            &err,
            DraftError::Field {
                kind: Kind::Audit,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "field `period`: missing field `to`");
}

#[test]
fn refuses_a_field_of_the_wrong_type() {
    let err = toml_err("kind = \"profile\"\nlegalName = 42\n");
    assert!(
        matches!(
            &err,
            DraftError::Field {
                kind: Kind::Profile,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "legalName");
    let err = toml_err(
        "kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"done\"\nstatement = \"s\"\n",
    );
    assert!(
        matches!(
            &err,
            DraftError::Field {
                kind: Kind::Control,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "status");
    says(&err, "done");
    let err = toml_err("kind = \"profile\"\nlegalName = \"A\"\nvalidUntil = \"soon\"\n");
    assert!(
        matches!(
            &err,
            DraftError::Field {
                kind: Kind::Profile,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "validUntil");
}

#[test]
fn refuses_an_unknown_control() {
    let err = toml_err(
        "kind = \"control\"\ncontrolId = \"ISO22340:99.1\"\nstatus = \"implemented\"\nstatement = \"s\"\ndomain = \"cyber\"\n",
    );
    assert!(
        matches!(&err, DraftError::UnknownControl(id) if id == "ISO22340:99.1"),
        "{err:?}"
    );
    says(&err, "ISO22340:99.1");
}

#[test]
fn refuses_a_control_in_the_wrong_domain() {
    let err = toml_err(
        "kind = \"control\"\ncontrolId = \"ISO22340:10.2.1\"\nstatus = \"implemented\"\nstatement = \"s\"\ndomain = \"cyber\"\n",
    );
    assert!(matches!(&err, DraftError::WrongDomain { .. }), "{err:?}");
    says(&err, "ISO22340:10.2.1");
    says(&err, "physical");
    says(&err, "cyber");
}

#[test]
fn takes_a_controls_domain_from_the_catalog() {
    let text = "kind = \"control\"\ncontrolId = \"ISO22340:10.2.1\"\nstatus = \"implemented\"\nstatement = \"s\"\n";
    let record = issue_draft(Draft::from_toml(text).unwrap()).unwrap();
    assert_eq!(record.predicate.common.domain, Some(Domain::Physical));
    let same = format!("{text}domain = \"physical\"\n");
    let record = issue_draft(Draft::from_toml(&same).unwrap()).unwrap();
    assert_eq!(record.predicate.common.domain, Some(Domain::Physical));
}

#[test]
fn accepts_toml_datetimes_where_a_timestamp_is_expected() {
    let text = "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\nsummary = \"s\"\noccurredAt = 2026-11-20T22:40:00+01:00\ndetectedAt = 2026-11-21T05:10:00.250Z\nstatus = \"open\"\ncorrectiveActions = [{ description = \"d\", due = 2026-12-15 }]\n";
    let record = issue_draft(Draft::from_toml(text).unwrap()).unwrap();
    let Body::Incident(incident) = &record.predicate.body else {
        panic!("not an incident")
    };
    assert_eq!(
        incident.occurred_at,
        "2026-11-20T21:40:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        incident.detected_at,
        "2026-11-21T05:10:00.25Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(
        incident.corrective_actions[0].due,
        Some("2026-12-15".parse().unwrap())
    );
    // A datetime without offset names no instant.
    let local = text.replace("+01:00", "");
    let err = toml_err(&local);
    assert!(
        matches!(
            &err,
            DraftError::Field {
                kind: Kind::Incident,
                ..
            }
        ),
        "{err:?}"
    );
    says(&err, "occurredAt");
}

#[test]
fn refuses_an_oversized_file() {
    let text = format!(
        "kind = \"profile\"\nlegalName = \"{}\"\n",
        "x".repeat(MAX_DRAFT_BYTES)
    );
    let err = toml_err(&text);
    assert!(
        matches!(err, DraftError::TooLarge(n) if n == text.len()),
        "{err:?}"
    );
    let json = format!(
        r#"{{"kind":"profile","legalName":"{}"}}"#,
        "x".repeat(MAX_DRAFT_BYTES)
    );
    assert!(matches!(json_err(&json), DraftError::TooLarge(_)));
}

#[test]
fn refuses_deeply_nested_json() {
    let deep = format!(
        r#"{{"kind":"profile","legalName":"A","roles":{}{}}}"#,
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    let err = json_err(&deep);
    assert!(
        matches!(err, DraftError::Json(JsonError::TooDeep)),
        "{err:?}"
    );
    says(&err, "nested deeper");
}

#[test]
fn refuses_deeply_nested_toml() {
    let deep = format!(
        "kind = \"profile\"\nlegalName = \"A\"\nroles = {}{}\n",
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    let err = toml_err(&deep);
    assert!(
        matches!(
            err,
            DraftError::Json(JsonError::TooDeep) | DraftError::Toml(_)
        ),
        "{err:?}"
    );
}

#[test]
fn refuses_duplicate_keys_and_syntax_errors() {
    let err = json_err(r#"{"kind":"profile","legalName":"A","legalName":"B"}"#);
    assert!(
        matches!(&err, DraftError::Json(JsonError::DuplicateKey(k)) if k == "legalName"),
        "{err:?}"
    );
    says(&err, "legalName");
    let err = json_err(r#"{"kind":"profile","#);
    assert!(
        matches!(err, DraftError::Json(JsonError::Syntax(_))),
        "{err:?}"
    );
    let err = toml_err("kind = \"profile\"\nlegalName = \"A\"\nlegalName = \"B\"\n");
    assert!(matches!(&err, DraftError::Toml(_)), "{err:?}");
    says(&err, "legalName");
    let err = json_err(r#"["kind","profile"]"#);
    assert!(matches!(err, DraftError::NotATable), "{err:?}");
}

proptest! {
    #[test]
    fn profile_drafts_round_trip_in_json_and_toml(
        legal_name in "\\PC{1,60}",
        roles in prop::collection::vec("\\PC{0,20}", 0..4),
        identifiers in prop::collection::btree_map("[a-z]{1,8}", "\\PC{0,20}", 0..4),
    ) {
        let fields = serde_json::json!({
            "kind": "profile",
            "legalName": legal_name,
            "roles": roles,
            "identifiers": identifiers,
        });
        let json = Draft::from_json(fields.to_string().as_bytes()).unwrap();
        let toml_text = toml::to_string(&fields).unwrap();
        let toml = Draft::from_toml(&toml_text).unwrap();
        prop_assert_eq!(&json, &toml);
        let record = issue_draft(json).unwrap();
        let Body::Profile(profile) = record.predicate.body else { panic!("not a profile") };
        prop_assert_eq!(profile.legal_name, legal_name);
        prop_assert_eq!(profile.roles, roles);
        prop_assert_eq!(profile.identifiers, identifiers);
    }
}

#[test]
fn a_subject_written_as_a_fragment_is_a_part_of_the_issuer() {
    let draft = Draft::from_toml(
        "kind = \"scope\"\nsubject = \"#site=rotterdam\"\nprocesses = [\"road haulage\"]\n",
    )
    .unwrap();
    assert_eq!(draft.subject, None);
    let issuer = key(4).did();
    let (subject, _) = draft.into_predicate(issuer, now(), &catalog()).unwrap();
    assert_eq!(subject.did, issuer);
    assert_eq!(subject.fragment.as_deref(), Some("site=rotterdam"));
    for bad in ["#", "# site"] {
        let text = format!("kind = \"scope\"\nsubject = \"{bad}\"\n");
        assert!(Draft::from_toml(&text).is_err(), "{bad}");
    }
}
