//! Bundles round-trip, and every kind of tampering is caught offline.
#![allow(clippy::unwrap_used)]

mod fixture;

use assure_log::{Blake3, Checkpoint, SignedCheckpoint, Tree};
use assure_model::predicate::AuditResult;
use assure_model::{Body, SubjectRef};
use assure_verify::{Bundle, BundleEntry, BundleError, Position, Seen, View};
use fixture::{CloneKey as _, World, profile};

const PROFILE: &str = r#"
name = "t"
title = "t"
[[requirement]]
id = "certified"
kind = "certification"
clauses = ["ISO28000:8.4.g"]
standard = "ISO 28000:2022"
"#;

/// A certified provider; its audit sits in the auditor's log and the
/// accreditation in the anchor's; the verifier signs the report.
fn bundle() -> Bundle {
    let mut w = World::new();
    let accreditation = w.accredit(100, 1000);
    let audit = w.certification(AuditResult::Certified, 30, 1000);
    let mut entries = Vec::new();
    let mut seen = Vec::new();
    for (record, author) in [
        (&accreditation, w.anchor.clone_key()),
        (&audit, w.auditor.clone_key()),
    ] {
        let bytes = record.envelope.to_bytes();
        let mut tree = Tree::<Blake3>::new();
        tree.append(b"an earlier entry");
        let index = tree.append(&bytes);
        tree.append(b"a later entry");
        let origin = assure_log::origin(&author.did().to_string(), &[7; 16]);
        let checkpoint = Checkpoint::new(&origin, tree.len(), tree.root(), 1_790_000_000).unwrap();
        let note =
            SignedCheckpoint::sign(checkpoint, &author.did().to_string(), author.signing_key())
                .unwrap();
        entries.push(BundleEntry::new(&bytes, index, &tree, &note).unwrap());
        seen.push(Seen {
            record: record.clone(),
            position: Some(Position {
                log: origin,
                index,
                checkpoint: tree.len(),
            }),
        });
    }
    let profile_text = PROFILE.to_owned();
    let view = View::new(&seen, w.now);
    let report = assure_verify::verify(&view, &profile(PROFILE), w.provider.did(), &w.context());
    assert_eq!(
        report.result,
        assure_model::predicate::Outcome::Pass,
        "{report:?}"
    );
    let attestation = attest(&w, &report);
    Bundle::new(profile_text, report, attestation, entries)
}

fn attest(w: &World, report: &assure_verify::Report) -> String {
    let predicate = assure_model::Predicate {
        common: assure_model::Common {
            issuer: w.verifier.did(),
            issued_at: w.now,
            valid_until: None,
            supersedes: Vec::new(),
            clauses: Vec::new(),
            domain: None,
        },
        body: Body::Verification(report.to_predicate()),
    };
    let (bytes, _) =
        assure_model::issue(&w.verifier, &SubjectRef::org(report.provider), &predicate).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn check(bundle: &Bundle) -> Result<assure_verify::bundle::Checked, BundleError> {
    Bundle::check(&serde_json::to_vec(bundle).unwrap(), fixture::now())
}

#[test]
fn a_bundle_round_trips_and_checks_offline() {
    let bundle = bundle();
    let checked = check(&bundle).unwrap();
    assert_eq!(checked.entries, 2);
    assert_eq!(checked.report, bundle.report);
}

#[test]
fn tampered_bundles_are_refused_with_the_reason() {
    let good = bundle();

    let mut b = good.clone();
    b.entries[1].envelope = b.entries[1]
        .envelope
        .replacen("\"sig\":\"", "\"sig\":\"A", 1);
    assert!(
        matches!(check(&b), Err(BundleError::Envelope { entry: 1, .. })),
        "{:?}",
        check(&b)
    );

    let mut b = good.clone();
    b.entries[0].proof[0] = "00".repeat(32);
    assert!(matches!(
        check(&b),
        Err(BundleError::Proof { entry: 0, .. })
    ));

    let mut b = good.clone();
    b.entries[0].index += 1;
    assert!(matches!(check(&b), Err(BundleError::Proof { .. })));

    let mut b = good.clone();
    b.entries[1].checkpoint = b.entries[0].checkpoint.clone();
    assert!(matches!(
        check(&b),
        Err(BundleError::Checkpoint { entry: 1, .. })
    ));

    let mut b = good.clone();
    let author = assure_verify::bundle::log_author(&b.entries[1].log).unwrap();
    b.keys.retain(|k| *k != author);
    let error = check(&b).unwrap_err();
    assert!(matches!(error, BundleError::MissingKey(k) if k == author));
    assert!(error.to_string().contains("lacks the key"));

    let mut b = good.clone();
    b.report.requirements[0].reason = "all fine, trust me".into();
    assert!(matches!(check(&b), Err(BundleError::Attestation(_))));

    let mut b = good.clone();
    b.profile.push_str("\n# edited\n");
    assert!(matches!(check(&b), Err(BundleError::Attestation(_))));

    let mut b = good.clone();
    b.entries.remove(1);
    assert!(matches!(check(&b), Err(BundleError::MissingEvidence(_))));

    assert!(matches!(
        Bundle::check(b"{\"format\":", fixture::now()),
        Err(BundleError::Malformed(_))
    ));
    let mut b = good;
    b.format = "assure-bundle/9".into();
    assert!(matches!(check(&b), Err(BundleError::Format(_))));
}
