//! Every requirement kind against pass, fail and inconclusive, and the
//! records that must not count.
#![allow(clippy::unwrap_used)]

mod fixture;

use assure_model::predicate::{AuditResult, ControlStatus, IncidentStatus, Outcome, Severity};
use assure_model::{Body, Keypair};
use assure_verify::Report;
use fixture::{CloneKey as _, World, profile};

const CERTIFICATION: &str = r#"
name = "t"
title = "t"
[[requirement]]
id = "certified"
kind = "certification"
clauses = ["ISO28000:8.4.g"]
standard = "ISO 28000:2022"
max_age = "3years"
"#;

const CONTROL: &str = r#"
name = "t"
title = "t"
[[requirement]]
id = "access"
kind = "control"
clauses = ["ISO22340:8.2.2"]
control = "ISO22340:8.2.2"
min_status = "implemented"
max_age = "1year"
"#;

const DOMAIN: &str = r#"
name = "t"
title = "t"
[[requirement]]
id = "physical"
kind = "control"
clauses = ["ISO22340:10.2"]
domain = "physical"
min_status = "partial"
"#;

const INCIDENTS: &str = r#"
name = "t"
title = "t"
[[requirement]]
id = "incidents"
kind = "incidents"
clauses = ["ISO28000:8.6.3"]
severity = "high"
open_for = "30days"
window = "1year"
"#;

const SCOPE: &str = r#"
name = "t"
title = "t"
[[requirement]]
id = "scope"
kind = "scope"
clauses = ["ISO28000:4.3"]
"#;

const RELATIONSHIP: &str = r#"
name = "t"
title = "t"
[[requirement]]
id = "relationship"
kind = "relationship"
clauses = ["ISO28000:4.3"]
"#;

fn cosigned(threshold: usize, signers: &str) -> String {
    format!(
        r#"
name = "t"
title = "t"
[[requirement]]
id = "acknowledged"
kind = "cosigned"
clauses = ["ISO28000:9.2"]
record = "audit"
threshold = {threshold}
signers = [{signers}]
"#
    )
}

/// The single requirement's outcome and reason.
fn outcome(world: &World, text: &str) -> (Outcome, String) {
    let report: Report = world.verify(&profile(text));
    assert_eq!(report.requirements.len(), 1);
    let r = &report.requirements[0];
    assert_eq!(
        report.result, r.outcome,
        "one requirement decides the result"
    );
    (r.outcome, r.reason.clone())
}

fn expect(world: &World, text: &str, want: Outcome, words: &str) {
    let (got, reason) = outcome(world, text);
    assert_eq!(got, want, "{reason}");
    assert!(reason.contains(words), "`{reason}` lacks `{words}`");
}

fn certified_world() -> World {
    let mut world = World::new();
    world.accredit(100, 1000);
    world
}

#[test]
fn certification() {
    let mut w = certified_world();
    w.certification(AuditResult::Certified, 30, 1000);
    expect(&w, CERTIFICATION, Outcome::Pass, "certificate C-100");

    // Expired certificate: the reason says when.
    let mut w = certified_world();
    w.certification(AuditResult::Certified, 400, 300);
    expect(&w, CERTIFICATION, Outcome::Fail, "expired on 2026-07-24");

    let mut w = certified_world();
    w.certification(AuditResult::NotCertified, 30, 1000);
    expect(
        &w,
        CERTIFICATION,
        Outcome::Fail,
        "resulted in not-certified",
    );

    let mut w = certified_world();
    w.certification(AuditResult::Certified, 1200, 2000);
    expect(&w, CERTIFICATION, Outcome::Fail, "older than 1095 days");

    // Unaccredited auditor.
    let mut w = World::new();
    w.certification(AuditResult::Certified, 30, 1000);
    expect(&w, CERTIFICATION, Outcome::Fail, "not accredited");

    // Accreditation by someone who is not our anchor.
    let mut w = World::new();
    let auditor = w.auditor.did();
    let other = w.other.clone_key();
    let accreditation = w.accredit(10, 100);
    w.add(&other, auditor, 10, Some(100), accreditation.predicate.body);
    w.seen.remove(0);
    w.certification(AuditResult::Certified, 30, 1000);
    expect(&w, CERTIFICATION, Outcome::Fail, "not accredited");

    // Accreditation expired.
    let mut w = World::new();
    w.accredit(400, 100);
    w.certification(AuditResult::Certified, 30, 1000);
    expect(&w, CERTIFICATION, Outcome::Fail, "accreditation");
    expect(&w, CERTIFICATION, Outcome::Fail, "expired on");

    // Nothing visible.
    let w = certified_world();
    expect(
        &w,
        CERTIFICATION,
        Outcome::Inconclusive,
        "among the records visible to us",
    );

    // A newer good audit wins over an older expired one.
    let mut w = certified_world();
    w.certification(AuditResult::Certified, 400, 300);
    w.certification(AuditResult::Certified, 10, 1000);
    expect(&w, CERTIFICATION, Outcome::Pass, "certified against");
}

#[test]
fn withdrawn_superseded_and_future_dated_records_do_not_count() {
    // Withdrawn by its issuer: as if never published.
    let mut w = certified_world();
    let audit = w.certification(AuditResult::Certified, 30, 1000);
    let auditor = w.auditor.clone_key();
    w.withdraw(&auditor, &audit);
    expect(&w, CERTIFICATION, Outcome::Inconclusive, "no certification");

    // A withdrawal by anyone else changes nothing.
    let mut w = certified_world();
    let audit = w.certification(AuditResult::Certified, 30, 1000);
    let provider = w.provider.clone_key();
    w.withdraw(&provider, &audit);
    expect(&w, CERTIFICATION, Outcome::Pass, "certified");

    // Superseded by a later record of the same issuer.
    let mut w = World::new();
    let old = w.control("ISO22340:8.2.2", ControlStatus::Implemented, 40);
    let provider = w.provider.clone_key();
    let mut newer = old.predicate.clone();
    newer.common.issued_at = w.now - fixture::days(5);
    newer.common.supersedes = vec![old.id];
    newer.body = match newer.body {
        Body::Control(mut c) => {
            c.status = ControlStatus::Planned;
            Body::Control(c)
        }
        other => other,
    };
    let did = provider.did();
    w.add_common(&provider, did, newer.common, newer.body);
    expect(&w, CONTROL, Outcome::Fail, "is planned");

    // Dated a day ahead: not yet there.
    let mut w = certified_world();
    w.certification(AuditResult::Certified, -1, 1000);
    expect(&w, CERTIFICATION, Outcome::Inconclusive, "no certification");
}

#[test]
fn a_record_not_signed_by_its_issuer_never_counts() {
    let mut w = certified_world();
    let audit = w.certification(AuditResult::Certified, 30, 1000);
    // Forge the verified-signer list: the issuer's signature is gone.
    w.seen.last_mut().unwrap().record.signers = vec![w.other.did()];
    let _ = audit;
    expect(&w, CERTIFICATION, Outcome::Inconclusive, "no certification");
}

#[test]
fn control_by_id_and_by_domain() {
    let mut w = World::new();
    w.control("ISO22340:8.2.2", ControlStatus::Implemented, 30);
    expect(&w, CONTROL, Outcome::Pass, "1 control");

    let mut w = World::new();
    w.control("ISO22340:8.2.2", ControlStatus::Partial, 30);
    expect(
        &w,
        CONTROL,
        Outcome::Fail,
        "is partial, implemented required",
    );

    let mut w = World::new();
    w.control("ISO22340:8.2.2", ControlStatus::Implemented, 400);
    expect(&w, CONTROL, Outcome::Fail, "last tested");

    let mut w = World::new();
    w.control("ISO22340:8.2.1", ControlStatus::Implemented, 30);
    expect(
        &w,
        CONTROL,
        Outcome::Inconclusive,
        "no record of ISO22340:8.2.2",
    );

    // A control record about the provider issued by someone else is not
    // the provider's statement.
    let mut w = World::new();
    let other = w.other.clone_key();
    let provider = w.provider.did();
    let body = w
        .control("ISO22340:8.2.2", ControlStatus::Implemented, 30)
        .predicate
        .body;
    w.seen.clear();
    w.add(&other, provider, 30, None, body);
    expect(&w, CONTROL, Outcome::Inconclusive, "no record");

    // Every physical control: all present passes; one missing is
    // inconclusive; one planned fails.
    let physical: Vec<String> = fixture::catalog()
        .in_domain(assure_model::Domain::Physical)
        .map(|c| c.id.clone())
        .collect();
    assert!(physical.len() >= 2);
    let mut w = World::new();
    for id in &physical[1..] {
        w.control(id, ControlStatus::Implemented, 30);
    }
    expect(&w, DOMAIN, Outcome::Inconclusive, &physical[0]);
    w.control(&physical[0], ControlStatus::Partial, 30);
    let all = format!("every physical control: {} controls", physical.len());
    expect(&w, DOMAIN, Outcome::Pass, &all);
    w.control(&physical[0], ControlStatus::Planned, 1);
    expect(
        &w,
        DOMAIN,
        Outcome::Fail,
        &format!("{} is planned", physical[0]),
    );
}

#[test]
fn incidents() {
    let mut w = World::new();
    w.control("ISO22340:8.2.2", ControlStatus::Implemented, 30);
    expect(&w, INCIDENTS, Outcome::Pass, "no high or worse incident");

    w.incident(Severity::High, IncidentStatus::Open, 10, false);
    expect(
        &w,
        INCIDENTS,
        Outcome::Pass,
        "none open longer than 30 days",
    );

    w.incident(Severity::Critical, IncidentStatus::Contained, 45, false);
    expect(&w, INCIDENTS, Outcome::Fail, "critical incident");

    let mut w = World::new();
    w.incident(Severity::Medium, IncidentStatus::Open, 100, false);
    expect(&w, INCIDENTS, Outcome::Pass, "no high or worse");

    let mut w = World::new();
    w.incident(Severity::High, IncidentStatus::Open, 400, false);
    expect(&w, INCIDENTS, Outcome::Pass, "no high or worse");

    let mut w = World::new();
    w.incident(Severity::High, IncidentStatus::Resolved, 100, false);
    expect(&w, INCIDENTS, Outcome::Fail, "without corrective actions");

    let mut w = World::new();
    w.incident(Severity::High, IncidentStatus::Resolved, 100, true);
    expect(&w, INCIDENTS, Outcome::Pass, "1 incident");

    // Nothing at all of the provider: we cannot tell.
    let w = World::new();
    expect(&w, INCIDENTS, Outcome::Inconclusive, "no current record");
}

#[test]
fn scope() {
    let mut w = World::new();
    w.relationship(true, true, &["road transport"]);
    expect(&w, SCOPE, Outcome::Inconclusive, "no scope record");
    w.scope(&["Road Transport", "warehousing"], &[]);
    expect(&w, SCOPE, Outcome::Pass, "covers road transport");

    let mut w = World::new();
    w.relationship(true, true, &["road transport"]);
    w.scope(&["warehousing"], &[]);
    expect(
        &w,
        SCOPE,
        Outcome::Fail,
        "does not cover \"road transport\"",
    );

    let mut w = World::new();
    w.relationship(true, true, &["road transport"]);
    w.scope(&["road transport"], &["road transport"]);
    expect(&w, SCOPE, Outcome::Fail, "excludes");

    let mut w = World::new();
    w.scope(&["road transport"], &[]);
    expect(&w, SCOPE, Outcome::Inconclusive, "no relationship says");

    let named = SCOPE.replace(
        "clauses = [\"ISO28000:4.3\"]",
        "clauses = [\"ISO28000:4.3\"]\ncovers = [\"warehousing\"]",
    );
    expect(&w, &named, Outcome::Fail, "warehousing");
}

#[test]
fn relationship() {
    let mut w = World::new();
    expect(&w, RELATIONSHIP, Outcome::Fail, "we have not issued");
    w.relationship(true, false, &["parts"]);
    expect(&w, RELATIONSHIP, Outcome::Inconclusive, "no confirmation");
    w.relationship(false, true, &["parts"]);
    expect(&w, RELATIONSHIP, Outcome::Pass, "confirmed by both");

    let mut w = World::new();
    w.relationship(false, true, &["parts"]);
    expect(&w, RELATIONSHIP, Outcome::Fail, "we have not issued");
}

#[test]
fn cosigned_k_of_n() {
    let mut w = certified_world();
    let audit = w.certification(AuditResult::Certified, 30, 1000);
    let subject_only = cosigned(1, "\"subject\"");
    expect(&w, &subject_only, Outcome::Fail, "0 of the 1");

    let provider = w.provider.clone_key();
    w.cosign(&audit, &provider);
    expect(&w, &subject_only, Outcome::Pass, "signed by");

    // 2 of {subject, other}: with only the subject it is k−1.
    let other = w.other.did();
    let two = cosigned(2, &format!("\"subject\", \"{other}\""));
    expect(&w, &two, Outcome::Fail, "1 of the 2");
    let other_key = w.other.clone_key();
    w.cosign(&audit, &other_key);
    expect(&w, &two, Outcome::Pass, "signed by");

    // A forged co-signature is refused with its envelope, so it never counts.
    let mut w = certified_world();
    let audit = w.certification(AuditResult::Certified, 30, 1000);
    let (bytes, _) = assure_model::cosign(&audit, &Keypair::from_seed([2; 32])).unwrap();
    let mut envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    envelope["signatures"][1]["sig"] = serde_json::Value::String(
        envelope["signatures"][0]["sig"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let forged = serde_json::to_vec(&envelope).unwrap();
    assert!(assure_model::validate(&forged, w.now).is_err());
    expect(&w, &subject_only, Outcome::Fail, "0 of the 1");

    let w = certified_world();
    expect(&w, &subject_only, Outcome::Inconclusive, "no current audit");
}

#[test]
fn the_overall_result_is_the_worst_outcome() {
    let both = format!(
        "{CERTIFICATION}\n{}",
        RELATIONSHIP.replace("name = \"t\"\ntitle = \"t\"\n", "")
    );
    let mut w = certified_world();
    w.certification(AuditResult::Certified, 30, 1000);
    w.relationship(true, false, &["parts"]);
    let report = w.verify(&profile(&both));
    assert_eq!(report.result, Outcome::Inconclusive);
    assert!(
        report
            .headline()
            .starts_with("relationship: no confirmation")
    );

    let w = certified_world();
    let report = w.verify(&profile(&both));
    assert_eq!(
        report.result,
        Outcome::Fail,
        "a failure outweighs inconclusive"
    );
}
