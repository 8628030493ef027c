//! Tests 3 and 6: revocation in the middle of a sync, restarts, late joiners.

use assure_access::{Clearance, Role};
use assure_tests::{TestNet, control};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_the_whole_history_and_a_restarted_node_resumes() {
    let mut net = TestNet::new(3, 30).await;
    let (early, late) = (net.nodes[1].did(), net.nodes[2].did());
    net.nodes[0]
        .grant(early, Clearance::Partner, &[Role::Customer])
        .await;
    net.nodes[0]
        .grant(late, Clearance::Partner, &[Role::Customer])
        .await;
    let partners = net.nodes[0].log("partners");
    let batch: Vec<String> = (0..600).map(control).collect();
    net.nodes[0].publish("partners", &batch).await;
    net.nodes[1].connect(&net.nodes[0]).await;
    net.nodes[1].wait_synced(partners, 600).await;

    // Restart the member; it resumes from what it holds.
    net.nodes[1].stop().await;
    net.nodes[0]
        .publish("partners", &[control(600), control(601)])
        .await;
    net.nodes[1].start_again().await;
    assert_eq!(
        net.nodes[1].size(partners),
        Some(600),
        "resumed from its own store"
    );
    net.nodes[1].connect(&net.nodes[0]).await;
    net.nodes[1].wait_synced(partners, 602).await;
    let disclosed: u64 = net.nodes[0]
        .node()
        .store()
        .disclosures(0, 1000)
        .unwrap()
        .iter()
        .filter(|d| d.party == early)
        .map(|d| d.to - d.from)
        .sum();
    assert_eq!(disclosed, 602, "nothing was fetched twice");

    // A late joiner gets everything it may read.
    net.nodes[2].connect(&net.nodes[0]).await;
    net.nodes[2].wait_synced(partners, 602).await;
    let a = records_of(&net.nodes[1], partners);
    let b = records_of(&net.nodes[2], partners);
    let c = records_of(&net.nodes[0], partners);
    assert!(a == c && b == c, "replicas hold the author's bytes");
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_in_the_middle_of_a_sync_stops_serving_at_once() {
    use assure_net::{Event, Request, Response};
    use assure_tests::wait;

    let mut net = TestNet::new(2, 60).await;
    let member = net.nodes[1].did();
    net.nodes[0]
        .grant(member, Clearance::Partner, &[Role::Customer])
        .await;
    let batch: Vec<String> = (0..2000).map(control).collect();
    net.nodes[0].publish("partners", &batch).await;
    let partners = net.nodes[0].log("partners");
    let author = net.nodes[0].did();
    let mut author_events = net.nodes[0].node().client().events();
    net.nodes[1].connect(&net.nodes[0]).await;

    // The member has its first page...
    let client = net.nodes[1].node().client().clone();
    let first = Request::Entries {
        compartment: partners.compartment,
        from: 0,
        max: 512,
        prove_to: None,
    };
    let Response::Entries { entries, .. } = client.request(author, first).await.unwrap() else {
        panic!("first page refused")
    };
    assert_eq!(entries.len(), 512);

    // ...then its grant is revoked: its connection closes within a second.
    // The member keeps pulling meanwhile; what was answered before the
    // revocation was stored is a legitimate disclosure.
    net.nodes[0].node().revoke(member).await.unwrap();
    let revoked_at = jiff::Timestamp::now();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        wait(
            &mut author_events,
            |e| matches!(e, Event::Disconnected(d) if *d == member),
        ),
    )
    .await;
    assert!(closed.is_ok(), "connection not closed within one second");

    // Nothing more is served: the next page is refused, and the member is blocked.
    let next = Request::Entries {
        compartment: partners.compartment,
        from: 512,
        max: 512,
        prove_to: None,
    };
    let after = client.request(author, next).await;
    assert!(
        !matches!(after, Ok(Response::Entries { .. })),
        "served after revocation"
    );
    let disclosures = net.nodes[0].node().store().disclosures(0, 10_000).unwrap();
    assert!(
        disclosures
            .iter()
            .all(|d| d.party != member || d.at <= revoked_at)
    );
    net.stop().await;
}

/// The envelopes of `log` as `node` holds them.
fn records_of(node: &assure_tests::TestNode, log: assure_store::LogId) -> Vec<Vec<u8>> {
    let store = node.node().store();
    store
        .read_log(&store.as_owner().unwrap(), log)
        .unwrap()
        .into_iter()
        .map(|r| r.bytes)
        .collect()
}
