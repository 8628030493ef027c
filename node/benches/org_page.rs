//! The dashboard's organization page of an organization with 20,000
//! records, rendered by a real node (`Node::spawn`, sled on disk, the axum
//! server on 127.0.0.1) and fetched over HTTP by the administrator.
//!
//! Run with `cargo bench -p assure-node --bench org_page` (about a minute,
//! most of it publishing). Measured in the same run, as the limit the page
//! is compared with: the JSON listing of one page of 50 of the same
//! records (`/v1/orgs/<did>/records?limit=50`), and the same page of an
//! organization with 2,000 records (how the time grows with the history).
//!
//! The organization: every catalog control restated over time (18,000
//! control records), 1,500 incidents, 400 audits of itself, 100 scopes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use assure_api::client::{Auth, Client};
use assure_model::predicate::{
    Audit, AuditResult, AuditType, Body, Common, Control, ControlStatus, Incident, IncidentStatus,
    Period, Predicate, Scope, Severity,
};
use assure_model::{Catalog, Keypair, SubjectRef, issue};
use assure_node::datadir::DataDir;
use assure_node::{Node, NodeConfig};
use jiff::Timestamp;

const SAMPLES: usize = 30;

fn record(owner: &Keypair, n: usize, catalog: &Catalog) -> (Vec<u8>, assure_model::Record) {
    let controls: Vec<_> = catalog.iter().collect();
    let common = |domain| Common {
        issuer: owner.did(),
        issued_at: Timestamp::now(),
        valid_until: None,
        supersedes: vec![],
        clauses: vec![],
        domain,
    };
    let predicate = match n % 200 {
        0..=179 => {
            let c = controls[n % controls.len()];
            Predicate {
                common: common(Some(c.domain)),
                body: Body::Control(Control {
                    control_id: c.id.clone(),
                    status: ControlStatus::Implemented,
                    statement: format!("{} — restated, review {n}.", c.title),
                    evidence: vec![],
                    last_tested: None,
                }),
            }
        }
        180..=194 => Predicate {
            common: common(None),
            body: Body::Incident(Incident {
                category: "cargo-tampering".into(),
                severity: Severity::Low,
                summary: format!("Seal mismatch on trailer {n}"),
                occurred_at: Timestamp::now(),
                detected_at: Timestamp::now(),
                status: IncidentStatus::Resolved,
                affected: vec![],
                corrective_actions: vec![],
            }),
        },
        195..=198 => Predicate {
            common: common(None),
            body: Body::Audit(Audit {
                audit_type: AuditType::Internal,
                standard: "ISO 28000:2022".into(),
                scope_ref: None,
                period: Period {
                    from: jiff::civil::date(2026, 1, 1),
                    to: jiff::civil::date(2026, 1, 2),
                },
                result: AuditResult::Certified,
                findings: vec![],
                certificate_number: None,
            }),
        },
        _ => Predicate {
            common: common(None),
            body: Body::Scope(Scope {
                sites: vec![],
                processes: vec![format!("machined housings, line {n}")],
                services: vec![],
                exclusions: vec![],
                external_processes: vec![],
            }),
        },
    };
    issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap()
}

async fn time(client: &Client, path: &str, token: &str) -> (Duration, usize) {
    let mut times = Vec::with_capacity(SAMPLES);
    let mut bytes = 0;
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let answer = client
            .send("GET", path, Vec::new(), Auth::Bearer(token), None)
            .await
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(answer.status, 200, "{path}");
        bytes = answer.body.len();
    }
    times.sort();
    (times[SAMPLES / 2], bytes)
}

async fn organization(records: usize, seed: u8) -> (f64, f64, usize) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("node");
    let owner = Keypair::from_seed([seed; 32]);
    DataDir::new(&dir)
        .init("Bench", &owner, Timestamp::now())
        .unwrap();
    let mut config = NodeConfig::development(&dir);
    if let Some(api) = config.api.as_mut() {
        api.requests_per_second = 1_000_000;
    }
    let node = Node::spawn(config).await.unwrap();
    let catalog = Catalog::builtin().clone();
    for batch in (0..records).collect::<Vec<_>>().chunks(1_000) {
        let signed = batch.iter().map(|&n| record(&owner, n, &catalog)).collect();
        node.publish("partners", signed).await.unwrap();
    }
    let client = Client::new(&format!("http://{}", node.api_address().unwrap()));
    let token = std::fs::read_to_string(dir.join("admin.token")).unwrap();
    let token = token.trim();
    let page = format!("/orgs/{}", owner.did());
    let json = "/v1/admin/records?limit=50";
    time(&client, &page, token).await; // warm up
    let (page_time, bytes) = time(&client, &page, token).await;
    let (json_time, _) = time(&client, json, token).await;
    node.shutdown().await.unwrap();
    (page_time.as_secs_f64(), json_time.as_secs_f64(), bytes)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (small, _, _) = organization(2_000, 21).await;
        let (page, json, bytes) = organization(20_000, 22).await;
        println!(
            "organization page, 20,000 records: median {:.1} ms over {SAMPLES} requests ({bytes} bytes)",
            page * 1e3
        );
        println!(
            "JSON page of 50 records from the same node: median {:.1} ms; the page takes {:.1}×",
            json * 1e3,
            page / json
        );
        println!(
            "organization page, 2,000 records: median {:.1} ms; 10× the records take {:.2}× the time",
            small * 1e3,
            page / small
        );
        println!(
            "target < 200 ms: {:.0} % of the target",
            page * 1e3 / 200.0 * 100.0
        );
    });
}
