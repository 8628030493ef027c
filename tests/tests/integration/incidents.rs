//! Test 8: an incident naming two affected partners reaches exactly those two
//! and a regulator, and shows as an alert on the affected partners' nodes
//! and, worded for a regulator, on the regulator's.

use assure_access::{Clearance, Role};
use assure_net::Event;
use assure_node::publish::Placement;
use assure_tests::{TestNet, wait};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_reaches_exactly_the_affected_partners_and_regulators() {
    let mut net = TestNet::new(5, 50).await;
    let [_, b, c, regulator, bystander] = [0, 1, 2, 3, 4].map(|i| net.nodes[i].did());
    for party in [b, c, bystander] {
        net.nodes[0]
            .grant(party, Clearance::Partner, &[Role::Customer])
            .await;
    }
    net.nodes[0]
        .grant(regulator, Clearance::Partner, &[Role::Regulator])
        .await;
    for i in 1..5 {
        let (author, member) = (&net.nodes[0], &net.nodes[i]);
        member.connect(author).await;
    }
    for i in 1..5 {
        let log = net.nodes[0].log("partners");
        net.nodes[i].wait_synced(log, 0).await;
    }

    let incident = format!(
        "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
         summary = \"Seal mismatch on trailer 7 at the Duisburg cross-dock\"\n\
         occurredAt = \"2026-11-20T03:10:00Z\"\ndetectedAt = \"2026-11-20T05:40:00Z\"\n\
         status = \"open\"\naffected = [\"{b}\", \"{c}\"]\n"
    );
    let appended = net.nodes[0]
        .publish_to(Placement::default(), &[incident])
        .await;
    let audience = appended[0].location.log;
    assert_ne!(
        audience,
        net.nodes[0].log("partners"),
        "incidents go to their own audience"
    );

    for i in [1, 2] {
        wait(&mut net.nodes[i].events, |e| {
            matches!(e, Event::Incident { .. })
        })
        .await;
        let alerts = {
            let store = net.nodes[i].node().store();
            store.alerts(&store.as_owner().unwrap()).unwrap()
        };
        assert!(
            alerts
                .iter()
                .any(|a| a.kind == "incident" && a.detail.contains("cargo-tampering"))
        );
    }
    net.nodes[3].wait_synced(audience, 1).await;
    // The regulator is told as a regulator, once: pulling again raises
    // nothing new.
    let regulator_alerts = || {
        let store = net.nodes[3].node().store();
        store.alerts(&store.as_owner().unwrap()).unwrap()
    };
    // The alert is raised as the pull is handled; wait for it (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while regulator_alerts().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let alerts = regulator_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, "incident");
    assert!(alerts[0].detail.contains("as its regulator"), "{alerts:?}");
    assert_eq!(alerts[0].record, Some(appended[0].id.to_string()));
    // A partner that is neither affected nor a regulator is not told.
    for i in [1, 2] {
        let store = net.nodes[i].node().store();
        let alerts = store.alerts(&store.as_owner().unwrap()).unwrap();
        assert!(
            alerts
                .iter()
                .all(|a| !a.detail.contains("as its regulator"))
        );
    }
    // The bystander never receives the compartment, nor learns of it.
    let offers = net.nodes[4]
        .node()
        .client()
        .request(net.nodes[0].did(), assure_net::Request::Compartments)
        .await
        .unwrap();
    let assure_net::Response::Compartments(offers) = offers else {
        panic!("offers")
    };
    assert!(offers.iter().all(|o| o.compartment != audience.compartment));
    assert_eq!(net.nodes[4].size(audience), None);
    net.stop().await;
}
