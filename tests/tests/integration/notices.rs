//! Whether a node's notices reach their readers (issue "a node its
//! operators run every day"): an incident's delivery before and after its
//! affected party connects, as the store answers it and as `/metrics` and
//! the dashboard show it to the administration (and to no one else); and
//! an audit of us that awaits our co-signature, alerted once.

use assure_access::{Clearance, Role};
use assure_model::Did;
use assure_net::Event;
use assure_node::publish::Placement;
use assure_store::Alert;
use assure_tests::{TestNode, audit, raw_request, wait};

/// The gauges `/metrics` shows the administration alone.
const ADMIN_GAUGES: [&str; 4] = [
    "assure_peers ",
    "assure_grantees_never_connected",
    "assure_grantees_behind",
    "assure_undelivered_notices",
];

fn incident(affected: Did) -> String {
    format!(
        "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
         summary = \"Seal mismatch on trailer 7\"\n\
         occurredAt = \"2026-11-20T03:10:00Z\"\ndetectedAt = \"2026-11-20T05:40:00Z\"\n\
         status = \"open\"\naffected = [\"{affected}\"]\n"
    )
}

/// `GET path` on the node's API, with the admin token or without; the body.
fn get(node: &TestNode, path: &str, admin: bool) -> String {
    let api = node.node().api_address().unwrap();
    let headers = if admin {
        vec![("Authorization", format!("Bearer {}", node.admin_token()))]
    } else {
        Vec::new()
    };
    let (status, response) = raw_request(api, &api.to_string(), "GET", path, &headers, b"");
    assert_eq!(status, 200, "{path}: {response}");
    response[response.find("\r\n\r\n").unwrap() + 4..].to_owned()
}

/// The value of a gauge in a scrape.
fn gauge(scrape: &str, name: &str) -> i64 {
    let line = scrape
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from {scrape}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_delivered_once_its_affected_party_connects() {
    let hub = TestNode::start(110, "hub").await;
    let affected = assure_model::Keypair::from_seed([111; 32]).did();
    hub.grant(affected, Clearance::Partner, &[Role::Customer])
        .await;
    let appended = hub
        .publish_to(Placement::default(), &[incident(affected)])
        .await;
    let at = appended[0].location;
    let deliveries = || {
        let store = hub.node().store();
        store.deliveries(&store.as_owner().unwrap(), at).unwrap()
    };

    // Before the party ever connects: not received, and said so.
    let before = deliveries();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].party, affected);
    assert!(before[0].may_read && !before[0].received && before[0].at.is_none());
    let scrape = get(&hub, "/metrics", true);
    assert_eq!(gauge(&scrape, "assure_peers"), 0);
    assert_eq!(gauge(&scrape, "assure_grantees_never_connected"), 1);
    assert_eq!(gauge(&scrape, "assure_undelivered_notices"), 1);
    assert_eq!(gauge(&scrape, "assure_grantees_behind"), 1);
    let anonymous = get(&hub, "/metrics", false);
    for name in ADMIN_GAUGES {
        assert!(!anonymous.contains(name), "{name} shown to anyone");
    }
    let admin_page = get(&hub, "/admin", true);
    assert!(admin_page.contains("No peers connected"), "{admin_page}");
    assert!(admin_page.contains("has never connected"), "{admin_page}");
    assert!(admin_page.contains("has not received 1 of the 1 entries"));
    let home = get(&hub, "/", true);
    assert!(home.contains("has never connected"));
    assert!(!get(&hub, "/", false).contains("has never connected"));
    let record = get(&hub, &format!("/records/{}", appended[0].id), true);
    assert!(record.contains("Delivery to the affected parties"));
    assert!(record.contains("not yet"), "{record}");

    // The party connects and pulls: received.
    let mut party = TestNode::start(111, "affected").await;
    party.connect(&hub).await;
    wait(&mut party.events, |e| matches!(e, Event::Incident { .. })).await;
    party.wait_synced(at.log, 1).await;
    let after = deliveries();
    assert!(after[0].received && after[0].at.is_some(), "{after:?}");
    let scrape = get(&hub, "/metrics", true);
    assert_eq!(gauge(&scrape, "assure_peers"), 1);
    assert_eq!(gauge(&scrape, "assure_grantees_never_connected"), 0);
    assert_eq!(gauge(&scrape, "assure_undelivered_notices"), 0);
    let record = get(&hub, &format!("/records/{}", appended[0].id), true);
    assert!(record.contains("received 20"), "{record}");
    assert!(!get(&hub, "/admin", true).contains(r#"class="warnings""#));
    // The affected party's own view of the hub's incident shows no
    // delivery table: it is not the author.
    let theirs = get(&party, &format!("/records/{}", appended[0].id), true);
    assert!(!theirs.contains("Delivery to the affected parties"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_of_us_awaits_acknowledgement_once_across_restarts() {
    let auditor = TestNode::start(120, "auditor").await;
    let mut auditee = TestNode::start(121, "auditee").await;
    auditor
        .grant(auditee.did(), Clearance::Partner, &[Role::Customer])
        .await;
    let appended = auditor
        .publish_to(Placement::default(), &[audit(auditee.did(), "CERT-1")])
        .await;
    let log = appended[0].location.log;
    auditee.connect(&auditor).await;
    let event = wait(&mut auditee.events, |e| {
        matches!(e, Event::AwaitingAcknowledgement { .. })
    })
    .await;
    assert_eq!(
        event,
        Event::AwaitingAcknowledgement {
            origin: auditor.did(),
            record: appended[0].id.to_string(),
        }
    );
    let awaiting = |node: &TestNode| -> Vec<Alert> {
        let store = node.node().store();
        let alerts = store.alerts(&store.as_owner().unwrap()).unwrap();
        alerts
            .into_iter()
            .filter(|a| a.kind == Alert::AWAITING_ACKNOWLEDGEMENT)
            .collect()
    };
    let raised = awaiting(&auditee);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].origin, auditor.did().to_string());
    assert_eq!(raised[0].record, Some(appended[0].id.to_string()));
    assert!(
        awaiting(&auditor).is_empty(),
        "the auditor is not its subject"
    );

    // Restarted, reconnected and pulled again: still one alert.
    auditee.restart().await;
    auditee.connect(&auditor).await;
    auditee.wait_connected(&[auditor.did()]).await;
    auditor
        .publish_to(Placement::default(), &[audit(auditee.did(), "CERT-2")])
        .await;
    auditee.wait_synced(log, 2).await;
    let raised = awaiting(&auditee);
    assert_eq!(raised.len(), 2, "one per audit: {raised:?}");
    assert_eq!(raised[0].record, Some(appended[0].id.to_string()));
}
