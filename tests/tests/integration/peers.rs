//! Peers that come back (issue 10, "a restarted node is cut off for
//! good"): a node restarted with no configuration change gets every
//! partner back — from its own peer book and from its partners' redials —
//! and what it publishes right after reaches them (and the hub knows it
//! did); a revoked party is never dialled again.

use std::time::{Duration, Instant};

use assure_access::{Clearance, Role};
use assure_model::Did;
use assure_net::{Event, PeerStatus};
use assure_node::publish::Placement;
use assure_tests::{TestNode, control, free_address, raw_request};
use tokio::sync::broadcast;

/// How long partners may take to come back after a restart.
const RECONNECT: Duration = Duration::from_secs(30);

fn did_of(seed: u8) -> Did {
    assure_model::Keypair::from_seed([seed; 32]).did()
}

fn incident(affected: Did) -> String {
    format!(
        "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
         summary = \"Seal mismatch on trailer 7 at the cross-dock\"\n\
         occurredAt = \"2026-11-20T03:10:00Z\"\ndetectedAt = \"2026-11-20T05:40:00Z\"\n\
         status = \"open\"\naffected = [\"{affected}\"]\n"
    )
}

/// Waits until `check` holds of the node's peer book, re-checking after
/// each event.
async fn wait_book(node: &mut TestNode, check: impl Fn(&[PeerStatus]) -> bool) -> Vec<PeerStatus> {
    let client = node.node().client().clone();
    let events = &mut node.events;
    tokio::time::timeout(RECONNECT, async {
        loop {
            let book = client.book().await.unwrap();
            if check(&book) {
                return book;
            }
            match events.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events closed: {e}"),
            }
        }
    })
    .await
    .expect("timed out waiting for the peer book")
}

/// Whether the book holds `party` with an address.
fn knows(book: &[PeerStatus], party: Did) -> bool {
    book.iter()
        .any(|p| p.peer.did == party && !p.peer.addresses.is_empty())
}

/// Waits for an event matching `pred`, at most [`RECONNECT`].
async fn wait_for(events: &mut broadcast::Receiver<Event>, pred: impl Fn(&Event) -> bool) {
    let found = tokio::time::timeout(RECONNECT, async {
        loop {
            match events.recv().await {
                Ok(event) if pred(&event) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events closed: {e}"),
            }
        }
    })
    .await;
    assert!(found.is_ok(), "timed out waiting for an event");
}

/// A hub (seed `seed`, on an address it keeps) that granted `partners`
/// seeds and published one partners record.
async fn hub_with_grants(seed: u8, partners: &[u8]) -> TestNode {
    let address = free_address();
    let hub = TestNode::start_with(seed, "hub", |c| c.net.listen = vec![address]).await;
    for &partner in partners {
        hub.grant(did_of(partner), Clearance::Partner, &[Role::Customer])
            .await;
    }
    hub.publish("partners", &[control(1)]).await;
    hub
}

/// A partner that bootstraps to `hub` only, once it holds the hub's
/// partners log.
async fn bootstrapped_partner(seed: u8, hub: &TestNode) -> TestNode {
    let bootstrap = (hub.did(), hub.address());
    let mut partner = TestNode::start_with(seed, &format!("partner{seed}"), |c| {
        c.net.bootstrap = vec![bootstrap];
    })
    .await;
    partner.wait_synced(hub.log("partners"), 1).await;
    partner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_hub_gets_every_partner_back() {
    let seeds = [71, 72, 73, 74];
    let mut hub = hub_with_grants(70, &seeds).await;
    let mut partners = Vec::new();
    for seed in seeds {
        partners.push(bootstrapped_partner(seed, &hub).await);
    }
    let dids: Vec<Did> = partners.iter().map(TestNode::did).collect();
    hub.wait_connected(&dids).await;
    // The hub learned where each partner listens.
    wait_book(&mut hub, |book| dids.iter().all(|d| knows(book, *d))).await;

    // Stopped and started again with exactly the same configuration; an
    // incident about the first partner is published at once, before any
    // partner is back.
    hub.restart().await;
    let restarted = Instant::now();
    let appended = hub
        .publish_to(Placement::default(), &[incident(dids[0])])
        .await;

    hub.wait_connected(&dids).await;
    let reconnected = restarted.elapsed();
    assert!(
        reconnected < RECONNECT,
        "partners back after {reconnected:?}"
    );
    wait_for(
        &mut partners[0].events,
        |e| matches!(e, Event::Incident { origin, .. } if *origin == hub.did()),
    )
    .await;
    partners[0].wait_synced(appended[0].location.log, 1).await;
    // The hub's own answer agrees: its affected party has it.
    let delivered = {
        let store = hub.node().store();
        store
            .deliveries(&store.as_owner().unwrap(), appended[0].location)
            .unwrap()
    };
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert!(
        delivered[0].party == dids[0] && delivered[0].received,
        "{delivered:?}"
    );
    let alerts = {
        let store = partners[0].node().store();
        store.alerts(&store.as_owner().unwrap()).unwrap()
    };
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == "incident" && a.detail.contains("cargo-tampering")),
        "{alerts:?}"
    );
    eprintln!(
        "partners back {reconnected:?} after the restart, incident delivered {:?} after it",
        restarted.elapsed()
    );

    // Nothing is left to redial once everyone is back.
    let book = hub.node().client().book().await.unwrap();
    for did in &dids {
        let entry = book.iter().find(|p| p.peer.did == *did).unwrap();
        assert!(entry.connected_since.is_some() && entry.next_dial.is_none());
    }
    hub.stop().await;
    for partner in &mut partners {
        partner.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_member_comes_back() {
    let mut hub = TestNode::start(80, "hub").await;
    let member_did = did_of(81);
    hub.grant(member_did, Clearance::Partner, &[Role::Customer])
        .await;
    hub.publish("partners", &[control(1)]).await;
    let log = hub.log("partners");
    // No bootstrap entry: the member dialled the hub once, by hand.
    let mut member = TestNode::start(81, "member").await;
    member.connect(&hub).await;
    member.wait_synced(log, 1).await;
    let hub_did = hub.did();
    wait_book(&mut member, |book| knows(book, hub_did)).await;
    wait_book(&mut hub, |book| knows(book, member_did)).await;

    // Same configuration, which names no port: the member comes back on
    // another one, and only its own peer book can bring it back.
    let old_address = member.address.clone();
    member.restart().await;
    assert_ne!(member.address, old_address);
    member.wait_connected(&[hub_did]).await;
    hub.wait_connected(&[member_did]).await;
    hub.publish("partners", &[control(2)]).await;
    member.wait_synced(log, 2).await;

    // The hub learned the new address and stopped redialling the old one.
    let new_address = member.address.clone();
    let book = wait_book(&mut hub, |book| {
        book.iter()
            .any(|p| p.peer.did == member_did && p.peer.addresses.first() == Some(&new_address))
    })
    .await;
    let entry = book.iter().find(|p| p.peer.did == member_did).unwrap();
    assert!(entry.next_dial.is_none() && entry.connected_since.is_some());

    // The admin API shows the book.
    let api = hub.node().api_address().unwrap();
    let bearer = ("Authorization", format!("Bearer {}", hub.admin_token()));
    let (status, response) = raw_request(
        api,
        &api.to_string(),
        "GET",
        "/v1/admin/peers",
        &[bearer],
        b"",
    );
    assert_eq!(status, 200, "{response}");
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let peers: serde_json::Value = serde_json::from_str(body).unwrap();
    let shown = peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["did"] == member_did.to_string())
        .unwrap_or_else(|| panic!("{peers}"));
    assert_eq!(shown["connected"], true, "{shown}");
    assert_eq!(shown["addresses"][0], new_address.as_str(), "{shown}");
    assert!(shown["connectedSince"].is_string() && shown["lastSeen"].is_string());
    assert!(shown["nextDial"].is_null(), "{shown}");
    let sources = shown["sources"].as_array().unwrap();
    assert!(sources.contains(&"identify".into()) && sources.contains(&"grantee".into()));
    hub.stop().await;
    member.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_lost_its_peer_book_is_redialled_by_its_partners() {
    let mut hub = hub_with_grants(90, &[91, 92]).await;
    let log = hub.log("partners");
    // One partner bootstraps to the hub; the other dialled it by hand
    // and keeps it because it replicates the hub's logs.
    let mut first = bootstrapped_partner(91, &hub).await;
    let mut second = TestNode::start(92, "second").await;
    second.connect(&hub).await;
    second.wait_synced(log, 1).await;
    let dids = [first.did(), second.did()];
    hub.wait_connected(&dids).await;
    wait_book(&mut hub, |book| dids.iter().all(|d| knows(book, *d))).await;

    // The hub goes down and comes back without its book (as from a
    // backup, which holds none): only the partners can bring it back.
    hub.stop().await;
    {
        let store = assure_node::datadir::DataDir::new(&hub.dir)
            .store()
            .unwrap();
        for did in dids {
            assert!(store.forget_peer(&did).unwrap());
        }
    }
    let hub_did = hub.did();
    for partner in [&mut first, &mut second] {
        wait_for(
            &mut partner.events,
            |e| matches!(e, Event::DialFailed { peer, .. } if *peer == hub_did),
        )
        .await;
    }
    hub.restart().await;
    hub.wait_connected(&dids).await;
    wait_book(&mut hub, |book| dids.iter().all(|d| knows(book, *d))).await;
    for node in [&mut hub, &mut first, &mut second] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_party_is_never_redialled() {
    let mut hub = hub_with_grants(100, &[101]).await;
    let log = hub.log("partners");
    let mut member = TestNode::start(101, "member").await;
    member.connect(&hub).await;
    member.wait_synced(log, 1).await;
    let (hub_did, member_did) = (hub.did(), member.did());
    wait_book(&mut hub, |book| knows(book, member_did)).await;

    hub.node().revoke(member_did).await.unwrap();
    wait_for(&mut hub.events, |e| *e == Event::Disconnected(member_did)).await;
    // The member still wants the hub's logs and keeps trying, less and
    // less often; the hub never dials it.
    for _ in 0..2 {
        wait_for(
            &mut member.events,
            |e| matches!(e, Event::Dialing { peer } if *peer == hub_did),
        )
        .await;
    }
    while let Ok(event) = hub.events.try_recv() {
        assert_ne!(event, Event::Dialing { peer: member_did });
    }
    let book = hub.node().client().book().await.unwrap();
    let entry = book.iter().find(|p| p.peer.did == member_did).unwrap();
    assert!(entry.next_dial.is_none() && !entry.dialing && entry.connected_since.is_none());
    hub.stop().await;
    member.stop().await;
}

/// A party revoked and then granted again was kept on the block list of
/// the revocation until the node restarted: its dials were refused for as
/// long as the hub ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_granted_again_after_a_revocation_is_accepted_at_once() {
    let mut hub = hub_with_grants(120, &[121]).await;
    let log = hub.log("partners");
    let mut member = TestNode::start(121, "member").await;
    member.connect(&hub).await;
    member.wait_synced(log, 1).await;
    let member_did = member.did();
    wait_book(&mut hub, |book| knows(book, member_did)).await;

    hub.node().revoke(member_did).await.unwrap();
    wait_for(&mut hub.events, |e| *e == Event::Disconnected(member_did)).await;
    hub.grant(member_did, Clearance::Partner, &[Role::Customer])
        .await;
    hub.publish("partners", &[control(2)]).await;
    // The hub dials the party at once; the party's own redial backoff,
    // grown while it was refused, does not delay it.
    tokio::time::timeout(Duration::from_secs(10), member.wait_synced(log, 2))
        .await
        .expect("the party granted again did not get the new record within 10 s");
    hub.stop().await;
    member.stop().await;
}

/// Counts the events matching `pred` for `span`.
async fn count_for(
    events: &mut broadcast::Receiver<Event>,
    span: Duration,
    pred: impl Fn(&Event) -> bool,
) -> usize {
    let deadline = tokio::time::Instant::now() + span;
    let mut count = 0;
    while let Ok(event) = tokio::time::timeout_at(deadline, events.recv()).await {
        match event {
            Ok(event) if pred(&event) => count += 1,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(e) => panic!("events closed: {e}"),
        }
    }
    count
}

/// A node refused right after the handshake redialled in a loop, at
/// ~500 connections a second: each connection is a dial that succeeded,
/// and must not start the backoff over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refused_right_after_the_handshake_backs_off() {
    let mut hub = hub_with_grants(130, &[131]).await;
    let mut member = bootstrapped_partner(131, &hub).await;
    let (hub_did, member_did) = (hub.did(), member.did());
    hub.wait_connected(&[member_did]).await;
    // Revoked: the hub refuses every connection of the member once the
    // handshake tells it who dials.
    hub.node().revoke(member_did).await.unwrap();
    wait_for(&mut hub.events, |e| *e == Event::Disconnected(member_did)).await;
    let attempts = count_for(
        &mut member.events,
        Duration::from_secs(12),
        |e| matches!(e, Event::Dialing { peer } | Event::Connected(peer) if *peer == hub_did),
    )
    .await;
    // 1, 2, 4, 8 s apart (±20 %): at most five dials and their
    // connections in 12 s, and at least two (it keeps trying).
    assert!(
        (2..=10).contains(&attempts),
        "{attempts} dials and connections in 12 s"
    );
    hub.stop().await;
    member.stop().await;
}

/// A member whose connection to its author dropped must dial it again
/// itself: the author restarted without knowing the member's address,
/// and what it published meanwhile went unseen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_redials_an_author_whose_connection_dropped() {
    let mut hub = hub_with_grants(132, &[133]).await;
    let log = hub.log("partners");
    // Dialled by hand, not a bootstrap peer: kept because its logs are
    // replicated.
    let mut member = TestNode::start(133, "member").await;
    member.connect(&hub).await;
    member.wait_synced(log, 1).await;
    let member_did = member.did();
    hub.stop().await;
    {
        let store = assure_node::datadir::DataDir::new(&hub.dir)
            .store()
            .unwrap();
        store.forget_peer(&member_did).unwrap();
    }
    hub.restart().await;
    hub.publish("partners", &[control(2)]).await;
    tokio::time::timeout(RECONNECT, member.wait_synced(log, 2))
        .await
        .expect("the member did not dial its author again");
    hub.stop().await;
    member.stop().await;
}

/// Strangers could take every connection slot: with `max_connections =
/// 4`, four keys without a grant kept a granted partner out, and nothing
/// was logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_take_the_slots_of_granted_parties() {
    let address = free_address();
    let mut hub = TestNode::start_with(134, "hub", |c| {
        c.net.listen = vec![address];
        c.net.limits.max_connections = 4;
    })
    .await;
    let partner_did = did_of(135);
    hub.grant(partner_did, Clearance::Partner, &[Role::Customer])
        .await;
    hub.publish("partners", &[control(1)]).await;
    let mut strangers = Vec::new();
    for seed in 140..148 {
        let keypair = assure_model::Keypair::from_seed([seed; 32]);
        let mut swarm = crate::rogue::swarm(&keypair, |_| libp2p::ping::Behaviour::default());
        swarm.dial(hub.address()).unwrap();
        strangers.push(tokio::spawn(async move {
            loop {
                futures::StreamExt::select_next_some(&mut swarm).await;
            }
        }));
    }
    // Every stranger had its chance to connect.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected = hub.node().client().peers().await.unwrap();
    assert!(
        connected.len() <= 1,
        "strangers hold {} slots",
        connected.len()
    );

    // The partner gets in and syncs, slots full of strangers or not.
    let mut partner = bootstrapped_partner(135, &hub).await;
    hub.wait_connected(&[partner.did()]).await;
    for stranger in strangers {
        stranger.abort();
    }
    hub.stop().await;
    partner.stop().await;
}
