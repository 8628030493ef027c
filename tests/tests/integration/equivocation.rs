//! Test 4: an author that shows one history to one partner and another to a
//! second partner is caught by both, and by a third member once the evidence
//! is shared.

use std::path::Path;
use std::sync::Arc;

use assure_access::{Clearance, Role};
use assure_model::Keypair;
use assure_net::Event;
use assure_node::datadir::DataDir;
use assure_tests::{TestNode, control, wait};
use jiff::Timestamp;

pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One organization key, two data directories with the same compartments:
/// the author runs two nodes and can tell each a different story.
async fn forked_author(seed: u8) -> (TestNode, TestNode) {
    let temp = Arc::new(tempfile::tempdir().unwrap());
    let (dir1, dir2) = (temp.path().join("author-1"), temp.path().join("author-2"));
    DataDir::new(&dir1)
        .init("Author", &Keypair::from_seed([seed; 32]), Timestamp::now())
        .unwrap();
    copy_dir(&dir1, &dir2);
    let author1 = TestNode::spawn(Keypair::from_seed([seed; 32]), dir1, temp.clone()).await;
    let author2 = TestNode::spawn(Keypair::from_seed([seed; 32]), dir2, temp).await;
    (author1, author2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equivocating_author_is_detected_and_the_evidence_spreads() {
    let (author1, author2) = forked_author(40).await;
    let mut b = TestNode::start(41, "b").await;
    let mut c = TestNode::start(42, "c").await;
    let mut d = TestNode::start(43, "d").await;
    for party in [b.did(), d.did()] {
        author1
            .grant(party, Clearance::Partner, &[Role::Customer])
            .await;
    }
    author2
        .grant(c.did(), Clearance::Partner, &[Role::Customer])
        .await;
    author1.publish("partners", &[control(1)]).await;
    author2.publish("partners", &[control(2)]).await;
    let log = author1.log("partners");
    assert_eq!(log, author2.log("partners"));

    b.connect(&author1).await;
    c.connect(&author2).await;
    b.wait_synced(log, 1).await;
    c.wait_synced(log, 1).await;

    // B and C compare notes as witnesses.
    b.connect(&c).await;
    wait(
        &mut b.events,
        |e| matches!(e, Event::Equivocation { log: l } if *l == log),
    )
    .await;
    wait(
        &mut c.events,
        |e| matches!(e, Event::Equivocation { log: l } if *l == log),
    )
    .await;

    // D holds author 1's story; B shares the evidence with it.
    d.connect(&author1).await;
    d.wait_synced(log, 1).await;
    assert!(
        d.node()
            .store()
            .evidence(&d.node().store().as_owner().unwrap(), log)
            .unwrap()
            .is_none()
    );
    d.connect(&b).await;
    wait(
        &mut d.events,
        |e| matches!(e, Event::Equivocation { log: l } if *l == log),
    )
    .await;

    for member in [&b, &c, &d] {
        let store = member.node().store();
        let evidence = store
            .evidence(&store.as_owner().unwrap(), log)
            .unwrap()
            .expect("evidence kept");
        assert_ne!(evidence.first, evidence.second);
        assert!(
            store
                .alerts(&store.as_owner().unwrap())
                .unwrap()
                .iter()
                .any(|a| a.kind == "equivocation")
        );
    }
    for mut node in [author1, author2, b, c, d] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_alerts_go_only_to_readers_of_the_log() {
    use assure_api::client::{Auth, Client};

    // A forked author shows member B one story and member C another.
    let (author1, author2) = forked_author(44).await;
    let mut b = TestNode::start(45, "b").await;
    let mut c = TestNode::start(46, "c").await;
    author1
        .grant(b.did(), Clearance::Partner, &[Role::Customer])
        .await;
    author2
        .grant(c.did(), Clearance::Partner, &[Role::Customer])
        .await;
    author1.publish("partners", &[control(1)]).await;
    author2.publish("partners", &[control(2)]).await;
    let log = author1.log("partners");
    b.connect(&author1).await;
    c.connect(&author2).await;
    b.wait_synced(log, 1).await;
    c.wait_synced(log, 1).await;
    b.connect(&c).await;
    wait(
        &mut b.events,
        |e| matches!(e, Event::Equivocation { log: l } if *l == log),
    )
    .await;

    // B's own partner, granted by B, may not read the author's log: it
    // learns nothing of the fork from B, nor does anyone else.
    let partner_of_b = Keypair::from_seed([47; 32]);
    let stranger = Keypair::from_seed([48; 32]);
    b.grant(partner_of_b.did(), Clearance::Secret, &[Role::Customer])
        .await;
    let client = Client::new(&b.api());
    let author = Keypair::from_seed([44; 32]).did().to_string();
    for auth in [Auth::None, Auth::Sign(&stranger), Auth::Sign(&partner_of_b)] {
        let answer = client
            .send("GET", "/v1/alerts", Vec::new(), auth, None)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&answer.body);
        assert_eq!(text, r#"{"alerts":[],"evidence":[]}"#);
        let page = client
            .send("GET", "/alerts", Vec::new(), auth, None)
            .await
            .unwrap();
        let page = String::from_utf8_lossy(&page.body);
        assert!(!page.contains(&author), "{page}");
        assert!(!page.contains("equivocation"), "{page}");
    }
    let metrics = client
        .send("GET", "/metrics", Vec::new(), Auth::None, None)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&metrics.body).contains("assure_alerts 0"));
    // B's administration sees it.
    let token = b.admin_token();
    let admin = client
        .send(
            "GET",
            "/v1/admin/alerts",
            Vec::new(),
            Auth::Bearer(&token),
            None,
        )
        .await
        .unwrap();
    let admin = String::from_utf8_lossy(&admin.body);
    assert!(
        admin.contains("equivocation") && admin.contains(&author),
        "{admin}"
    );
    for mut node in [author1, author2, b, c] {
        node.stop().await;
    }
}
