//! Regression tests for what the network told parties without access, each
//! named after what broke: offers naming the other readers, witness
//! requests telling strangers what we replicate, witness answers outliving
//! a revocation, the DHT handing out our partners, equivocation alerts to
//! anyone, and dashboard and alert answers missing from the disclosure log.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assure_access::{Clearance, Compartment, CompartmentId, Role, Rule};
use assure_api::client::{Auth, Client};
use assure_model::Keypair;
use assure_net::protocol::WITNESS_ASKS;
use assure_net::{Request, Response, witness};
use assure_tests::{TestNet, TestNode, control};
use jiff::Timestamp;

use super::rogue::rogue_author;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_say_no_more_than_the_checkpoint() {
    let net = TestNet::new(3, 130).await;
    let (author, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    for party in [b.did(), c.did()] {
        author
            .grant(party, Clearance::Partner, &[Role::Customer])
            .await;
    }
    // A compartment whose rule names both customers.
    author
        .node()
        .store()
        .create_compartment(
            author.node().keypair(),
            Compartment::new(
                CompartmentId::random().unwrap(),
                "two-customers-secret-label",
                Rule::audience([b.did(), c.did()], []),
            )
            .unwrap(),
            Timestamp::now(),
        )
        .unwrap();
    b.connect(author).await;
    let Response::Compartments(offers) = b
        .node()
        .client()
        .request(author.did(), Request::Compartments)
        .await
        .unwrap()
    else {
        panic!("expected offers");
    };
    assert_eq!(offers.len(), 3, "public, partners and the shared one");
    let bytes = serde_json::to_string(&offers).unwrap();
    assert!(!bytes.contains("two-customers-secret-label"), "{bytes}");
    assert!(!bytes.contains("partners"), "no label: {bytes}");
    assert!(
        !bytes.contains(&c.did().to_string()),
        "the other reader: {bytes}"
    );
    assert!(
        offers.iter().all(|o| witness::check(
            &o.ticket,
            log(author, o.compartment),
            b.did(),
            Timestamp::now()
        )),
        "each offer carries the asker's ticket"
    );
    let mut net = net;
    net.stop().await;
}

fn log(author: &TestNode, compartment: CompartmentId) -> assure_access::LogId {
    assure_access::LogId {
        origin: author.did(),
        compartment,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_requests_tell_a_stranger_nothing() {
    let mut net = TestNet::new(3, 134).await;
    let (a1, a2, member) = (0, 1, 2);
    for author in [a1, a2] {
        net.nodes[author]
            .grant(
                net.nodes[member].did(),
                Clearance::Partner,
                &[Role::Customer],
            )
            .await;
        net.nodes[author].publish("partners", &[control(1)]).await;
    }
    // A stranger that records every request it receives.
    let stranger = Keypair::from_seed([137; 32]);
    let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
    let recorded = seen.clone();
    let address = rogue_author(
        &stranger,
        Arc::new(move |request| {
            recorded.lock().unwrap().push(request);
            Response::NotFound
        }),
    )
    .await;
    let mut sizes = Vec::new();
    for author in [a1, a2] {
        let log = net.nodes[author].log("partners");
        let (first, second) = net.nodes.split_at_mut(member);
        second[0].connect(&first[author]).await;
        second[0].wait_synced(log, 1).await;
        net.nodes[member]
            .node()
            .client()
            .dial(stranger.did(), address.clone())
            .await
            .unwrap();
        let asks = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let found = seen.lock().unwrap().iter().rev().find_map(|r| match r {
                    Request::Witness { asks } => Some(asks.clone()),
                    _ => None,
                });
                if let Some(asks) = found {
                    seen.lock().unwrap().clear();
                    break asks;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("the member asks connected peers as witnesses");
        // Always exactly WITNESS_ASKS asks of one size: the count says
        // nothing of how many logs the member holds.
        assert_eq!(asks.len(), WITNESS_ASKS);
        let lengths: BTreeSet<usize> = asks.iter().map(|a| a.sealed.len()).collect();
        assert_eq!(lengths.len(), 1);
        sizes.push(asks.len());
        // Nothing in it names the log, its author or the member's ticket.
        let text = format!("{asks:?}");
        for author in [a1, a2] {
            let did = net.nodes[author].did();
            let log = net.nodes[author].log("partners");
            assert!(!text.contains(&did.to_string()));
            let blind = witness::blind(log, net.nodes[member].did(), stranger.did());
            assert!(
                asks.iter().any(|a| a.blind == blind) || author != a1,
                "the asks are about the replicas, blinded for this witness"
            );
            let plain = assure_access::LogId::to_bytes(log);
            assert!(
                !asks
                    .iter()
                    .any(|a| a.sealed.windows(plain.len()).any(|w| w == plain)),
                "the ticket is sealed"
            );
        }
    }
    assert_eq!(
        sizes[0], sizes[1],
        "one replica or two: the same request size"
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_answer_does_not_outlive_a_revocation() {
    // Tickets last 2 s here, so that the window closes within the test.
    let author = TestNode::start_with(140, "author", |c| {
        c.net.ticket_lifetime = Duration::from_secs(2);
    })
    .await;
    let mut witness_node = TestNode::start(141, "witness").await;
    let revoked = TestNode::start(142, "revoked").await;
    for party in [witness_node.did(), revoked.did()] {
        author
            .grant(party, Clearance::Partner, &[Role::Customer])
            .await;
    }
    author.publish("partners", &[control(1)]).await;
    let partners = author.log("partners");
    witness_node.connect(&author).await;
    witness_node.wait_synced(partners, 1).await;
    revoked.connect(&witness_node).await;
    revoked.connect(&author).await;

    // The reader to be revoked keeps the ticket its last offer carried.
    let offers = revoked
        .node()
        .client()
        .request(author.did(), Request::Compartments)
        .await;
    let Ok(Response::Compartments(offers)) = offers else {
        panic!("offers: {offers:?}");
    };
    let ticket = offers
        .iter()
        .find(|o| o.compartment == partners.compartment)
        .unwrap()
        .ticket
        .clone();
    let ask_witness = || async {
        let ask = witness::ask(partners, revoked.did(), witness_node.did(), &ticket).unwrap();
        let asks = witness::padded(vec![ask]);
        revoked
            .node()
            .client()
            .request(witness_node.did(), Request::Witness { asks })
            .await
            .unwrap()
    };
    let Response::Witness(answered) = ask_witness().await else {
        panic!("a witness answer");
    };
    assert_eq!(answered.len(), 1, "a current reader is answered");

    // Revoked: the author refuses at once, and offers no ticket any more.
    let token = author.admin_token();
    Client::new(&author.api())
        .send(
            "DELETE",
            &format!("/v1/admin/grants/{}", revoked.did()),
            Vec::new(),
            Auth::Bearer(&token),
            None,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let offers = revoked
        .node()
        .client()
        .request(author.did(), Request::Compartments)
        .await;
    assert!(
        !matches!(&offers, Ok(Response::Compartments(o)) if o.iter().any(|o| o.compartment == partners.compartment)),
        "{offers:?}"
    );
    // Once its last ticket has lapsed, no other reader tells it anything.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ask_witness().await, Response::Witness(Vec::new()));
    let mut nodes = [author, witness_node, revoked];
    for node in &mut nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dht_tells_outsiders_nothing_of_our_partners() {
    use futures::StreamExt as _;
    use libp2p::kad;
    use libp2p::swarm::SwarmEvent;

    for kademlia in [false, true] {
        let hub = TestNode::start_with(150, "hub", |c| c.net.kademlia = kademlia).await;
        let partner = TestNode::start(151, "partner").await;
        hub.grant(partner.did(), Clearance::Partner, &[Role::Customer])
            .await;
        partner.connect(&hub).await;
        // A stranger runs a Kademlia server and asks the hub for peers.
        let stranger = Keypair::from_seed([152; 32]);
        let mut swarm = super::rogue::swarm(&stranger, |key| {
            let peer = key.public().to_peer_id();
            let mut kad = kad::Behaviour::new(peer, kad::store::MemoryStore::new(peer));
            kad.set_mode(Some(kad::Mode::Server));
            kad
        });
        let hub_peer = assure_net::peer_id(&hub.did());
        swarm.add_peer_address(hub_peer, hub_address(&hub));
        swarm
            .behaviour_mut()
            .add_address(&hub_peer, hub_address(&hub));
        swarm
            .behaviour_mut()
            .get_closest_peers(assure_net::peer_id(&partner.did()));
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let SwarmEvent::Behaviour(kad::Event::OutboundQueryProgressed {
                    result: kad::QueryResult::GetClosestPeers(result),
                    step,
                    ..
                }) = swarm.select_next_some().await
                {
                    let peers: Vec<libp2p::PeerId> = match result {
                        Ok(ok) => ok.peers.into_iter().map(|p| p.peer_id).collect(),
                        Err(kad::GetClosestPeersError::Timeout { peers, .. }) => {
                            peers.into_iter().map(|p| p.peer_id).collect()
                        }
                    };
                    if step.last {
                        break peers;
                    }
                }
            }
        })
        .await
        .unwrap_or_default();
        assert!(
            !found.contains(&assure_net::peer_id(&partner.did())),
            "kademlia = {kademlia}: the stranger learned our partner"
        );
        let mut nodes = [hub, partner];
        for node in &mut nodes {
            node.stop().await;
        }
    }
}

fn hub_address(hub: &TestNode) -> libp2p::Multiaddr {
    hub.address()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_and_alert_evidence_are_disclosed() {
    let author = TestNode::start(160, "author").await;
    let partner = Keypair::from_seed([161; 32]);
    let regulator = Keypair::from_seed([162; 32]);
    author
        .grant(partner.did(), Clearance::Partner, &[Role::Customer])
        .await;
    author
        .grant(regulator.did(), Clearance::Partner, &[Role::Regulator])
        .await;
    author.publish("public", &[control(0)]).await;
    author.publish("partners", &[control(1), control(2)]).await;
    author.publish("regulators", &[control(3)]).await;
    let client = Client::new(&author.api());
    let store = author.node().store();
    let disclosed = |party: &Keypair| -> Vec<(String, u64, u64)> {
        store
            .disclosures(0, 10_000)
            .unwrap()
            .into_iter()
            .filter(|d| d.party == party.did())
            .map(|d| (d.compartment.to_string(), d.from, d.to))
            .collect()
    };
    let partners = author.log("partners").compartment.to_string();
    let regulators = author.log("regulators").compartment.to_string();

    // Regression: `GET /v1/orgs` (names and counts) was logged as a
    // disclosure of entries; it shows heads, no entries.
    client
        .send("GET", "/v1/orgs", Vec::new(), Auth::Sign(&partner), None)
        .await
        .unwrap();
    let after_orgs = disclosed(&partner);
    assert!(!after_orgs.is_empty());
    assert!(
        after_orgs.iter().all(|(_, from, to)| from == to),
        "{after_orgs:?}"
    );

    // Regression: dashboard pages answered to signed requests were not
    // disclosed; the regulator's page was logged for `partners` only.
    let page = format!("/orgs/{}", author.did());
    let answer = client
        .send(
            "GET",
            &page,
            Vec::new(),
            Auth::Sign(&regulator),
            Some("inspection"),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let regulator_log = disclosed(&regulator);
    for compartment in [&partners, &regulators] {
        assert!(
            regulator_log
                .iter()
                .any(|(c, from, to)| c == compartment && to > from),
            "{compartment} missing from {regulator_log:?}"
        );
    }
    client
        .send("GET", "/alerts", Vec::new(), Auth::Sign(&partner), None)
        .await
        .unwrap();
    let mut author = author;
    author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compartment_filter_bypass_returns_nothing_and_discloses_nothing() {
    // The reproduction of the issue: a `compartment` filter naming an
    // unreadable or random id once returned every record of every
    // compartment, envelopes included, to anyone, on the author's node and
    // on a partner's node serving its replicas.
    let author = TestNode::start(170, "author").await;
    let mut member = TestNode::start(171, "member").await;
    author
        .grant(member.did(), Clearance::Confidential, &[Role::Customer])
        .await;
    author.publish("public", &[control(0)]).await;
    author.publish("partners", &[control(1)]).await;
    author.publish("confidential", &[control(2)]).await;
    let (partners, confidential) = (author.log("partners"), author.log("confidential"));
    member.connect(&author).await;
    member.wait_synced(confidential, 1).await;
    let stranger = Keypair::from_seed([172; 32]);
    let ids = [
        "00".repeat(16),
        CompartmentId::random().unwrap().to_string(),
        partners.compartment.to_string(),
        confidential.compartment.to_string(),
    ];
    for node in [&author, &member] {
        let client = Client::new(&node.api());
        // The member's own pulls go on meanwhile (network disclosures);
        // the API must add none.
        let api_disclosures = || {
            node.node()
                .store()
                .disclosures(0, 10_000)
                .unwrap()
                .into_iter()
                .filter(|d| d.channel == "api")
                .count()
        };
        let before = api_disclosures();
        for id in &ids {
            for auth in [Auth::None, Auth::Sign(&stranger)] {
                let path = format!("/v1/orgs/{}/records?compartment={id}", author.did());
                let answer = client
                    .send("GET", &path, Vec::new(), auth, None)
                    .await
                    .unwrap();
                assert_eq!(answer.status, 200);
                assert_eq!(
                    String::from_utf8_lossy(&answer.body),
                    r#"{"records":[],"next":null}"#,
                    "GET {path} on {}",
                    node.did()
                );
            }
        }
        assert_eq!(before, api_disclosures(), "nothing was disclosed");
    }
    let mut nodes = [author, member];
    for node in &mut nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_tell_outsiders_nothing_of_the_operators_activity() {
    // Found from outside: per-route request counters showed anonymous
    // scrapers every grant, revocation and hidden publish.
    let author = TestNode::start(180, "author").await;
    let partner = Keypair::from_seed([181; 32]);
    author
        .grant(partner.did(), Clearance::Confidential, &[Role::Customer])
        .await;
    author.publish("confidential", &[control(1)]).await;
    let client = Client::new(&author.api());
    let token = author.admin_token();
    let admin = client
        .send(
            "GET",
            "/v1/admin/grants",
            Vec::new(),
            Auth::Bearer(&token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(admin.status, 200);
    for auth in [Auth::None, Auth::Sign(&partner)] {
        let metrics = client
            .send("GET", "/metrics", Vec::new(), auth, None)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&metrics.body);
        assert!(!text.contains("route="), "{text}");
        assert!(!text.contains("/v1/admin"), "{text}");
        // A partner's scrape counts the public logs only, as anyone's:
        // metrics are no way around the disclosure log.
        assert!(text.contains("assure_records 0"), "{text}");
        assert!(text.contains("assure_compartments 1"), "{text}");
    }
    let full = client
        .send("GET", "/metrics", Vec::new(), Auth::Bearer(&token), None)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&full.body).contains("route=\"/v1/admin/grants\""));
    assert!(
        store_api_disclosures(&author).is_empty(),
        "scrapes disclose nothing"
    );
    let mut author = author;
    author.stop().await;
}

fn store_api_disclosures(node: &TestNode) -> Vec<assure_store::Disclosure> {
    node.node()
        .store()
        .disclosures(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|d| d.channel == "api")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_logs_we_hold_do_not_list_whom_we_deal_with() {
    // Found from outside: anonymous `/v1/checkpoints` and `/v1/orgs` listed
    // every peer whose public log the node replicated, revoked ones too.
    let mut net = TestNet::new(3, 185).await;
    let (member, supplier, customer) = (0, 1, 2);
    for other in [supplier, customer] {
        net.nodes[other]
            .grant(
                net.nodes[member].did(),
                Clearance::Partner,
                &[Role::Customer],
            )
            .await;
        net.nodes[other]
            .publish(
                "public",
                &[format!(
                    "kind = \"profile\"\nlegalName = \"Counterparty {other} Ltd\"\n"
                )],
            )
            .await;
        let log = net.nodes[other].log("public");
        let (first, rest) = net.nodes.split_at_mut(1);
        first[0].connect(&rest[other - 1]).await;
        first[0].wait_synced(log, 1).await;
    }
    let client = Client::new(&net.nodes[member].api());
    let stranger = Keypair::from_seed([189; 32]);
    for auth in [Auth::None, Auth::Sign(&stranger)] {
        for path in ["/v1/checkpoints", "/v1/orgs", "/v1/graph", "/"] {
            let answer = client
                .send("GET", path, Vec::new(), auth, None)
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&answer.body);
            for other in [supplier, customer] {
                assert!(
                    !text.contains(&net.nodes[other].did().to_string()),
                    "GET {path} named a counterparty: {text}"
                );
                assert!(
                    !text.contains(&format!("Counterparty {other} Ltd")),
                    "{text}"
                );
            }
        }
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_report_discloses_every_record_it_may_rest_on() {
    // Found from outside: a report whose reasons left out a partners
    // control was answered, but only its cited evidence was disclosed.
    let profiles = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/profiles");
    let author = TestNode::start_with(190, "author", |c| {
        c.verify.default_profile = Some(format!("{profiles}/component-supplier.toml").into());
    })
    .await;
    let partner = Keypair::from_seed([191; 32]);
    author
        .grant(partner.did(), Clearance::Partner, &[Role::Customer])
        .await;
    author.publish("public", &[control(0)]).await;
    let partners_records = author.publish("partners", &[control(1), control(2)]).await;
    let client = Client::new(&author.api());
    let path = format!(
        "/v1/orgs/{}/verification?profile=component-supplier",
        author.did()
    );
    let answer = client
        .send("GET", &path, Vec::new(), Auth::Sign(&partner), None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let disclosed: BTreeSet<(String, u64)> = store_api_disclosures(&author)
        .into_iter()
        .flat_map(|d| (d.from..d.to).map(move |i| (d.compartment.to_string(), i)))
        .collect();
    for appended in &partners_records {
        let at = (
            appended.location.log.compartment.to_string(),
            appended.location.index,
        );
        assert!(disclosed.contains(&at), "{at:?} not in {disclosed:?}");
    }
    let mut author = author;
    author.stop().await;
}
