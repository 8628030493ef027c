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
    let a = net.nodes[1]
        .node()
        .store()
        .entries(partners, 0, 602)
        .unwrap();
    let b = net.nodes[2]
        .node()
        .store()
        .entries(partners, 0, 602)
        .unwrap();
    let c = net.nodes[0]
        .node()
        .store()
        .entries(partners, 0, 602)
        .unwrap();
    assert!(a == c && b == c, "replicas hold the author's bytes");
    net.stop().await;
}
