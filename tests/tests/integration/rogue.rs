//! Tests 5 and 7: peers that lie or misbehave. The rogue peers are real libp2p
//! swarms on 127.0.0.1 built from the production behaviour, driven by hand.

use std::sync::Arc;
use std::time::Duration;

use assure_access::{Clearance, Compartment, CompartmentId, Role, Rule};
use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
use assure_model::{Keypair, SubjectRef};
use assure_net::protocol::Offer;
use assure_net::{Behaviour, Config, Event, Inbound, Request, Response};
use assure_tests::{TestNet, TestNode, control, wait};
use futures::StreamExt as _;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm, noise, tcp, yamux};

pub(crate) type Answer = Arc<dyn Fn(Request) -> Response + Send + Sync>;

pub(crate) fn swarm<B: libp2p::swarm::NetworkBehaviour>(
    keypair: &Keypair,
    behaviour: impl FnOnce(&libp2p::identity::Keypair) -> B,
) -> Swarm<B> {
    libp2p::SwarmBuilder::with_existing_identity(assure_net::libp2p_keypair(keypair))
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| behaviour(key))
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// A rogue author: answers every request with `answer`.
pub(crate) async fn rogue_author(keypair: &Keypair, answer: Answer) -> Multiaddr {
    let mut swarm = swarm(keypair, |key| {
        Behaviour::new(key, &Config::default()).unwrap()
    });
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let address = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    tokio::spawn(async move {
        loop {
            if let SwarmEvent::Behaviour(assure_net::BehaviourEvent::Sync(
                request_response::Event::Message {
                    message:
                        Message::Request {
                            request: Inbound::Request(request),
                            channel,
                            ..
                        },
                    ..
                },
            )) = swarm.select_next_some().await
            {
                let _ = swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, answer(request));
            }
        }
    });
    address
}

/// Two valid records of the rogue, a compartment, and a checkpoint over them.
fn story(
    rogue: &Keypair,
    root_override: Option<[u8; 32]>,
) -> (Compartment, SignedCheckpoint, Vec<String>) {
    let catalog = assure_model::Catalog::builtin().clone();
    let entries: Vec<String> = (0..2)
        .map(|n| {
            let draft = assure_model::Draft::from_toml(&control(n)).unwrap();
            let (_, predicate) = draft
                .into_predicate(rogue.did(), jiff::Timestamp::now(), &catalog)
                .unwrap();
            let (bytes, _) =
                assure_model::issue(rogue, &SubjectRef::org(rogue.did()), &predicate).unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    let compartment =
        Compartment::new(CompartmentId::random().unwrap(), "partners", Rule::public()).unwrap();
    let mut tree: Tree<Blake3> = Tree::new();
    for entry in &entries {
        tree.push_leaf_hash(Blake3::leaf(entry.as_bytes()));
    }
    let origin = format!("assure/{}/{}", rogue.did(), compartment.id);
    let root = root_override.unwrap_or(tree.root());
    let checkpoint = Checkpoint::new(origin, 2, root, jiff::Timestamp::now().as_second()).unwrap();
    let note =
        SignedCheckpoint::sign(checkpoint, &rogue.did().to_string(), rogue.signing_key()).unwrap();
    (compartment, note, entries)
}

fn serving(compartment: Compartment, note: SignedCheckpoint, entries: Vec<String>) -> Answer {
    Arc::new(move |request| match request {
        Request::Compartments => Response::Compartments(vec![Offer {
            compartment: compartment.id,
            checkpoint: note.to_string(),
            tlp: compartment.rule.tlp(),
            ticket: Vec::new(),
            regulator: false,
        }]),
        Request::Entries { from, .. } => Response::Entries {
            checkpoint: note.to_string(),
            from,
            entries: entries.iter().skip(from as usize).cloned().collect(),
            proof: Vec::new(),
        },
        _ => Response::NotFound,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_envelope_or_a_wrong_root_in_transit_is_rejected_and_not_stored() {
    // A tampered envelope: one byte of the statement changed after signing.
    let rogue = Keypair::from_seed([70; 32]);
    let (compartment, note, mut entries) = story(&rogue, None);
    entries[1] = entries[1].replacen("\"payload\":\"eyJ", "\"payload\":\"eyK", 1);
    let address = rogue_author(&rogue, serving(compartment.clone(), note, entries)).await;
    let mut member = TestNode::start(71, "member").await;
    member
        .node()
        .client()
        .dial(rogue.did(), address)
        .await
        .unwrap();
    let event = wait(&mut member.events, |e| matches!(e, Event::Rejected { .. })).await;
    assert!(format!("{event:?}").contains("entry 1"), "{event:?}");
    let log = assure_store::LogId {
        origin: rogue.did(),
        compartment: compartment.id,
    };
    assert_eq!(
        member.size(log),
        None,
        "nothing of the tampered log was stored"
    );

    // Valid envelopes under a checkpoint whose root does not match them.
    let liar = Keypair::from_seed([72; 32]);
    let (compartment, note, entries) = story(&liar, Some([7; 32]));
    let address = rogue_author(&liar, serving(compartment.clone(), note, entries)).await;
    member
        .node()
        .client()
        .dial(liar.did(), address)
        .await
        .unwrap();
    let event = wait(
        &mut member.events,
        |e| matches!(e, Event::Rejected { peer, .. } if *peer == liar.did()),
    )
    .await;
    assert!(format!("{event:?}").contains("do not match"), "{event:?}");
    let log = assure_store::LogId {
        origin: liar.did(),
        compartment: compartment.id,
    };
    assert_eq!(member.size(log), None);
    member.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_cut_off_and_the_others_keep_syncing() {
    let (mut net, partners) = author_with_honest_member(80).await;
    let mut author_events = net.nodes[0].node().client().events();

    // The flooder sends far more requests than its rate allows.
    let flooder = Keypair::from_seed([88; 32]);
    let mut swarm = swarm(&flooder, |key| {
        Behaviour::new(key, &Config::default()).unwrap()
    });
    let target = assure_net::peer_id(&net.nodes[0].did());
    swarm.add_peer_address(target, net.nodes[0].address.parse().unwrap());
    for _ in 0..32 {
        swarm
            .behaviour_mut()
            .sync
            .send_request(&target, Inbound::Request(Request::Compartments));
    }
    // Each answer or failure triggers another request, at most 2,000 in all.
    let flood = tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut sent = 32;
        while let Ok(event) = tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            let answered = matches!(
                event,
                SwarmEvent::Behaviour(assure_net::BehaviourEvent::Sync(
                    request_response::Event::Message { .. }
                        | request_response::Event::OutboundFailure { .. }
                ))
            );
            if answered && sent < 2000 {
                swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&target, Inbound::Request(Request::Compartments));
                sent += 1;
            }
        }
    });
    let cut = wait(
        &mut author_events,
        |e| matches!(e, Event::CutOff { peer, .. } if *peer == flooder.did()),
    )
    .await;
    assert!(format!("{cut:?}").contains("rate limit"), "{cut:?}");
    flood.abort();

    // Meanwhile the honest member keeps syncing.
    net.nodes[0]
        .publish("partners", &[control(1), control(2)])
        .await;
    net.nodes[1].wait_synced(partners, 2).await;
    net.stop().await;
}

/// An author and an honest member that has synced its `partners` log.
async fn author_with_honest_member(seed: u8) -> (TestNet, assure_store::LogId) {
    let mut net = TestNet::new(2, seed).await;
    let honest = net.nodes[1].did();
    net.nodes[0]
        .grant(honest, Clearance::Partner, &[Role::Customer])
        .await;
    net.nodes[1].connect(&net.nodes[0]).await;
    let partners = net.nodes[0].log("partners");
    net.nodes[1].wait_synced(partners, 0).await;
    (net, partners)
}

/// A request of the wrong shape on the sync protocol.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Garbage(Vec<u64>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_cut_the_peer_off() {
    let (mut net, partners) = author_with_honest_member(90).await;
    let mut author_events = net.nodes[0].node().client().events();

    let sender = Keypair::from_seed([98; 32]);
    let protocol = libp2p::StreamProtocol::new(assure_net::protocol::PROTOCOL);
    let mut swarm = swarm(&sender, |_| {
        request_response::cbor::Behaviour::<Garbage, Garbage>::new(
            [(protocol, request_response::ProtocolSupport::Full)],
            request_response::Config::default(),
        )
    });
    let target = assure_net::peer_id(&net.nodes[0].did());
    swarm.add_peer_address(target, net.nodes[0].address.parse().unwrap());
    // Malformed (not a Request), then oversized (over the 64 KiB request cap).
    swarm
        .behaviour_mut()
        .send_request(&target, Garbage(vec![1, 2, 3]));
    for _ in 0..4 {
        swarm
            .behaviour_mut()
            .send_request(&target, Garbage(vec![u64::MAX; 20_000]));
    }
    let run = tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .is_ok()
        {}
    });
    wait(
        &mut author_events,
        |e| matches!(e, Event::CutOff { peer, .. } if *peer == sender.did()),
    )
    .await;
    run.abort();

    net.nodes[0].publish("partners", &[control(1)]).await;
    net.nodes[1].wait_synced(partners, 1).await;
    net.stop().await;
}

/// `count` valid records of `author` and the tree over them.
fn envelopes(author: &Keypair, count: usize, salt: usize) -> (Vec<String>, Tree<Blake3>) {
    let catalog = assure_model::Catalog::builtin();
    let entries: Vec<String> = (0..count)
        .map(|n| {
            let draft = assure_model::Draft::from_toml(&control(salt + n)).unwrap();
            let (_, predicate) = draft
                .into_predicate(author.did(), jiff::Timestamp::now(), catalog)
                .unwrap();
            let (bytes, _) =
                assure_model::issue(author, &SubjectRef::org(author.did()), &predicate).unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    let mut tree: Tree<Blake3> = Tree::new();
    for entry in &entries {
        tree.push_leaf_hash(Blake3::leaf(entry.as_bytes()));
    }
    (entries, tree)
}

/// Entries of the rogue's log: three pages.
const SIZE: u64 = 1100;

/// How a rogue makes its second page from the honest entries and proof.
type Lie = Box<dyn Fn(Vec<String>, Vec<[u8; 32]>) -> (Vec<String>, Vec<[u8; 32]>) + Send + Sync>;

/// A rogue holding three pages that serves the first and the last honestly,
/// with the proof to the checkpoint asked for, and lies in the second: `lie`
/// makes its entries and proof from the honest ones.
fn second_page_lies(author: &Keypair, lie: Lie) -> (Compartment, Answer) {
    let (entries, tree) = envelopes(author, SIZE as usize, 0);
    let compartment =
        Compartment::new(CompartmentId::random().unwrap(), "partners", Rule::public()).unwrap();
    let origin = format!("assure/{}/{}", author.did(), compartment.id);
    let checkpoint = Checkpoint::new(origin, SIZE, tree.root(), 1_800_000_000).unwrap();
    let note = SignedCheckpoint::sign(checkpoint, &author.did().to_string(), author.signing_key())
        .unwrap();
    let id = compartment.id;
    let answer: Answer = Arc::new(move |request| match request {
        Request::Compartments => Response::Compartments(vec![Offer {
            compartment: id,
            checkpoint: note.to_string(),
            tlp: Rule::public().tlp(),
            ticket: Vec::new(),
            regulator: false,
        }]),
        Request::Entries {
            from,
            max,
            prove_to,
            ..
        } => {
            let end = (from + u64::from(max)).min(prove_to.unwrap_or(SIZE));
            let page = entries[from as usize..end as usize].to_vec();
            let proof = match end < SIZE {
                true => tree.consistency_proof(end, SIZE).unwrap(),
                false => Vec::new(),
            };
            let (page, proof) = match from {
                512 => lie(page, proof),
                _ => (page, proof),
            };
            Response::Entries {
                checkpoint: note.to_string(),
                from,
                entries: page,
                proof,
            }
        }
        _ => Response::NotFound,
    });
    (compartment, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_with_a_wrong_proof_or_other_entries_is_refused_and_nothing_of_it_is_stored() {
    let mut member = TestNode::start(73, "member").await;
    // The second page's proof with one hash changed; then entries validly
    // signed by the author that are not those of its checkpoint, with the
    // honest proof. Were either taken, the honest last page would complete
    // the log to its signed root.
    let forger = Keypair::from_seed([74; 32]);
    let (other, _) = envelopes(&forger, 512, 10_000);
    let liars: Vec<(Keypair, Lie)> = vec![
        (
            Keypair::from_seed([75; 32]),
            Box::new(|page, mut proof| {
                proof[0][0] ^= 1;
                (page, proof)
            }),
        ),
        (forger, Box::new(move |_, proof| (other.clone(), proof))),
    ];
    for (liar, lie) in liars {
        let (compartment, answer) = second_page_lies(&liar, lie);
        let address = rogue_author(&liar, answer).await;
        member
            .node()
            .client()
            .dial(liar.did(), address)
            .await
            .unwrap();
        let event = wait(
            &mut member.events,
            |e| matches!(e, Event::Rejected { peer, .. } if *peer == liar.did()),
        )
        .await;
        assert!(format!("{event:?}").contains("do not match"), "{event:?}");
        let log = assure_store::LogId {
            origin: liar.did(),
            compartment: compartment.id,
        };
        // The honest first page is held; nothing of the second, nor after.
        assert_eq!(member.size(log), Some(512), "{event:?}");
    }
    member.stop().await;
}
