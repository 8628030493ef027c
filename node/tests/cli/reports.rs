//! Reports for management and auditors: a verification as PDF, CSV and a
//! printable page, and the disclosure log of a period as CSV — the same
//! with the node stopped or running.

use std::process::Command;

use crate::common::{Node, granted, serve};

fn profile() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/profiles/component-supplier.toml")
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_verification_report_names_the_provider_each_outcome_and_what_to_do() {
    let (node, did) = Node::init("Kessler Precision Components AG");
    let control = node.file(
        "control.toml",
        "kind = \"control\"\ncontrolId = \"ISO22340:8.2.2\"\nstatus = \"implemented\"\n\
         statement = \"Access by need-to-know\"\n",
    );
    node.ok(&["publish", "-c", "partners", &control]);
    let out = |name: &str| node.dir.path().join(name).to_str().unwrap().to_owned();
    for format in ["pdf", "csv", "html"] {
        let file = out(&format!("report.{format}"));
        node.ok(&[
            "report",
            &did,
            "--profile",
            &profile(),
            "--format",
            format,
            "--out",
            &file,
        ]);
    }
    let csv = std::fs::read_to_string(out("report.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("provider,provider_did,profile,verdict")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6, "one row per requirement: {csv}");
    assert!(
        rows.iter()
            .all(|r| r.contains("Kessler Precision Components AG"))
    );
    assert!(
        csv.contains("information-access") && csv.contains(",pass,"),
        "{csv}"
    );
    let html = std::fs::read_to_string(out("report.html")).unwrap();
    assert!(html.contains("Verification of Kessler Precision Components AG"));
    assert!(html.contains("To pass"));
    // The PDF's text, as poppler reads it.
    let text = Command::new("pdftotext")
        .args([&out("report.pdf"), "-"])
        .output()
        .expect("pdftotext (poppler-utils, installed by tests/run.sh)");
    let text = String::from_utf8_lossy(&text.stdout);
    for words in [
        "Verification of Kessler Precision Components AG",
        "information-access",
        "To pass:",
        "FAIL",
    ] {
        assert!(text.contains(words), "{words:?} not in the PDF:\n{text}");
    }
    // A report is never written over a file.
    let error = node.fails(
        &[
            "report",
            &did,
            "--profile",
            &profile(),
            "--format",
            "csv",
            "--out",
            &out("report.csv"),
        ],
        1,
    );
    assert!(error.contains("must not exist"), "{error}");
    let error = node.fails(
        &["report", &did, "--format", "doc", "--out", &out("x.doc")],
        1,
    );
    assert!(error.contains("give pdf, csv or html"), "{error}");
}

#[test]
fn the_disclosure_log_of_a_period_is_a_csv_the_same_while_running() {
    let (node, did, partner, partner_did) = granted("Acme Logistics", "Partner");
    let control = node.file(
        "control.toml",
        "kind = \"control\"\ncontrolId = \"ISO22340:8.2.1\"\nstatus = \"implemented\"\n\
         statement = \"Classified\"\n",
    );
    node.ok(&["publish", "-c", "partners", &control]);
    let (running, url) = serve(&node);
    partner.ok(&[
        "api-request",
        "GET",
        &format!("/v1/orgs/{did}/records"),
        "--url",
        &url,
    ]);
    let csv = node.ok(&["disclosures", "--csv"]);
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[0].starts_with("at,party,party_did,compartment"),
        "{csv}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains(&partner_did) && r.contains("partners")),
        "{csv}"
    );
    let future = node.ok(&["disclosures", "--csv", "--since", "2999-01-01T00:00:00Z"]);
    assert_eq!(future.lines().count(), 1, "the header alone: {future}");
    running.stop();
    assert_eq!(
        node.ok(&["disclosures", "--csv"]),
        csv,
        "the same with the node stopped"
    );
    let error = node.fails(&["disclosures", "--csv", "--since", "yesterday"], 1);
    assert!(error.contains("RFC 3339"), "{error}");
}
