//! A rogue peer over libp2p, built from the production behaviour and driven
//! by hand, asks an author and a witness for everything it may not have:
//! entries and consistency proofs of forbidden, random and readable logs,
//! ranges past the end and absurd sizes, notices for logs it does not own,
//! witness asks with garbage, with other parties' tickets and with expired
//! ones. Each answer about a forbidden log is compared, as encoded on the
//! wire, with the answer about a log that does not exist; the disclosure
//! logs must hold exactly the readable ranges that were served.

use std::collections::BTreeMap;
use std::time::Duration;

use assure_access::{Clearance, Compartment, CompartmentId, LogId, Role, Rule};
use assure_model::{Did, Keypair};
use assure_net::protocol::PROTOCOL;
use assure_net::{Behaviour, BehaviourEvent, Config, Inbound, Request, Response, witness};
use assure_tests::{TIMEOUT, TestNode, control};
use futures::StreamExt as _;
use jiff::Timestamp;
use libp2p::request_response::{self, Codec as _, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol, Swarm};

/// The rogue: a production behaviour, a hand on the wheel.
struct Rogue {
    keypair: Keypair,
    swarm: Swarm<Behaviour>,
}

impl Rogue {
    fn new(keypair: Keypair) -> Self {
        let swarm = super::rogue::swarm(&keypair, |key| {
            Behaviour::new(key, &Config::default()).unwrap()
        });
        Self { keypair, swarm }
    }

    fn did(&self) -> Did {
        self.keypair.did()
    }

    fn knows(&mut self, peer: Did, address: Multiaddr) {
        self.swarm
            .add_peer_address(assure_net::peer_id(&peer), address);
    }

    /// Sends `request` to `peer` and waits for its answer, answering what
    /// the peer asks meanwhile as a peer with nothing to offer.
    async fn ask(&mut self, peer: Did, request: Request) -> Response {
        let target = assure_net::peer_id(&peer);
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&target, Inbound::Request(request.clone()));
        let answer = tokio::time::timeout(TIMEOUT, async {
            loop {
                let SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) =
                    self.swarm.select_next_some().await
                else {
                    continue;
                };
                match event {
                    request_response::Event::Message {
                        message:
                            Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    } if request_id == id => return response,
                    request_response::Event::Message {
                        message:
                            Message::Request {
                                request, channel, ..
                            },
                        ..
                    } => {
                        let reply = match request {
                            Inbound::Request(Request::Compartments) => {
                                Response::Compartments(vec![])
                            }
                            Inbound::Request(Request::Witness { .. }) => Response::Witness(vec![]),
                            _ => Response::NotFound,
                        };
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .sync
                            .send_response(channel, reply);
                    }
                    request_response::Event::OutboundFailure {
                        request_id, error, ..
                    } if request_id == id => panic!("{request:?} to {peer}: {error}"),
                    _ => {}
                }
            }
        })
        .await;
        answer.unwrap_or_else(|_| panic!("no answer to {request:?}"))
    }
}

/// A response as the production codec puts it on the wire.
async fn wire(response: &Response) -> Vec<u8> {
    let mut codec = assure_net::Codec::new(u64::MAX, u64::MAX);
    let mut out = futures::io::Cursor::new(Vec::new());
    codec
        .write_response(&StreamProtocol::new(PROTOCOL), &mut out, response.clone())
        .await
        .unwrap();
    out.into_inner()
}

/// Entries, consistency and notice requests about `compartment`, with the
/// numbers that matter for a log of `size` entries: from the start, at the
/// end, past it, empty and huge pages; proofs with old > new, past the end,
/// absurd sizes; a notice with a real checkpoint of someone else's.
fn battery(compartment: CompartmentId, size: u64, checkpoint: &str) -> Vec<Request> {
    let mut out = Vec::new();
    for (from, max) in [
        (0, 10),
        (1, 1),
        (size, 10),
        (size + 1, 1),
        (u64::MAX, 10),
        (u64::MAX, u32::MAX),
        (0, 0),
        (0, u32::MAX),
    ] {
        out.push(Request::Entries {
            compartment,
            from,
            max,
            prove_to: None,
        });
    }
    for (old_size, new_size) in [
        (1, size),
        (0, size),
        (size, size),
        (size, 1),
        (2, 1),
        (size, size + 1),
        (size + 1, size + 5),
        (u64::MAX, u64::MAX),
        (0, u64::MAX),
    ] {
        out.push(Request::Consistency {
            compartment,
            old_size,
            new_size,
        });
    }
    out.push(Request::Notify {
        compartment,
        checkpoint: checkpoint.to_owned(),
    });
    out.push(Request::Notify {
        compartment,
        checkpoint: "garbage".into(),
    });
    out
}

/// The same request about another compartment.
fn about(request: &Request, other: CompartmentId) -> Request {
    let mut request = request.clone();
    match &mut request {
        Request::Entries { compartment, .. }
        | Request::Consistency { compartment, .. }
        | Request::Notify { compartment, .. } => *compartment = other,
        _ => {}
    }
    request
}

/// What the disclosure log holds for `party`, as (compartment, from, to),
/// past the first `skip` entries.
fn disclosed(node: &TestNode, party: Did, skip: usize) -> Vec<(CompartmentId, u64, u64)> {
    let mut out: Vec<(CompartmentId, u64, u64)> = node
        .node()
        .store()
        .disclosures(skip, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|d| d.party == party)
        .map(|d| (d.compartment, d.from, d.to))
        .collect();
    out.sort();
    out
}

fn log_of(node: &TestNode, compartment: CompartmentId) -> LogId {
    LogId {
        origin: node.did(),
        compartment,
    }
}

/// Asks `target` the whole battery about each log: forbidden ones must
/// answer exactly as random ones; readable ones must answer correctly.
/// Returns the ranges of readable, non-public logs that were served.
async fn interrogate(
    rogue: &mut Rogue,
    target: &TestNode,
    forbidden: &[CompartmentId],
    readable: &[(CompartmentId, bool)],
    checkpoint: &str,
) -> Vec<(CompartmentId, u64, u64)> {
    let random = CompartmentId::random().unwrap();
    let store = target.node().store();
    let owner = store.as_owner().unwrap();
    let size_of = |c: CompartmentId| {
        store
            .log_state(&owner, log_of(target, c))
            .map_or(3, |s| s.tree.len())
    };
    let mut tried = 0;
    for &hidden in forbidden {
        for request in battery(hidden, size_of(hidden), checkpoint) {
            let a = rogue.ask(target.did(), request.clone()).await;
            let b = rogue.ask(target.did(), about(&request, random)).await;
            assert_eq!(
                wire(&a).await,
                wire(&b).await,
                "{request:?} to {}: {a:?} / {b:?}",
                target.did()
            );
            assert!(
                matches!(a, Response::NotFound | Response::Ack),
                "{request:?}: {a:?}"
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 19 * forbidden.len());
    let mut served = Vec::new();
    for &(shown, public) in readable {
        let state = store.log_state(&owner, log_of(target, shown)).unwrap();
        let size = state.tree.len();
        let stored = store
            .read_entries(&owner, log_of(target, shown), 0, size, usize::MAX)
            .unwrap()
            .unwrap();
        for request in battery(shown, size, checkpoint) {
            let answer = rogue.ask(target.did(), request.clone()).await;
            match (&request, &answer) {
                (
                    Request::Entries { from, max, .. },
                    Response::Entries {
                        checkpoint,
                        from: echoed,
                        entries,
                        ..
                    },
                ) => {
                    assert_eq!(echoed, from);
                    assert_eq!(*checkpoint, state.checkpoint.to_string());
                    let want: Vec<String> = stored
                        .iter()
                        .skip(usize::try_from(*from).unwrap_or(usize::MAX))
                        .take(*max as usize)
                        .map(|e| String::from_utf8(e.clone()).unwrap())
                        .collect();
                    assert_eq!(*entries, want, "{request:?}");
                    // A page shows its entries; an empty one, the head.
                    if !public {
                        served.push(match entries.len() as u64 {
                            0 => (shown, size, size),
                            n => (shown, *from, from + n),
                        });
                    }
                }
                (
                    Request::Consistency {
                        old_size, new_size, ..
                    },
                    answer,
                ) => {
                    let valid = old_size <= new_size && *new_size <= size;
                    assert_eq!(
                        matches!(answer, Response::Consistency(_)),
                        valid,
                        "{request:?}: {answer:?}"
                    );
                }
                (Request::Notify { .. }, Response::Ack) => {}
                _ => panic!("{request:?}: {answer:?}"),
            }
        }
    }
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_peer_learns_nothing_of_forbidden_logs() {
    let fast = |c: &mut assure_node::NodeConfig| c.net.limits.requests_per_second = 10_000;
    let author = TestNode::start_with(170, "author", fast).await;
    let mut witness_node = TestNode::start_with(171, "witness", fast).await;
    let other = Keypair::from_seed([172; 32]).did();
    let mut rogue = Rogue::new(Keypair::from_seed([173; 32]));
    let w = witness_node.did();

    // The rogue may read public and partners; the witness also
    // confidential and a compartment of its own.
    author
        .grant(rogue.did(), Clearance::Partner, &[Role::Customer])
        .await;
    author
        .grant(w, Clearance::Confidential, &[Role::Customer])
        .await;
    author
        .node()
        .store()
        .create_compartment(
            author.node().keypair(),
            Compartment::new(
                CompartmentId::random().unwrap(),
                "for-witness",
                Rule::audience([w], []),
            )
            .unwrap(),
            Timestamp::now(),
        )
        .unwrap();
    let sizes = [
        ("public", 2),
        ("partners", 3),
        ("confidential", 2),
        ("regulators", 1),
        ("for-witness", 2),
    ];
    for (label, n) in sizes {
        let drafts: Vec<String> = (0..n).map(control).collect();
        author.publish(label, &drafts).await;
    }
    witness_node.publish("public", &[control(7)]).await;
    witness_node
        .publish("partners", &[control(8), control(9)])
        .await;
    let id = |node: &TestNode, label: &str| node.log(label).compartment;
    witness_node.connect(&author).await;
    for label in ["partners", "confidential", "for-witness"] {
        witness_node.wait_synced(author.log(label), 2).await;
    }

    rogue.knows(author.did(), author.address());
    rogue.knows(w, witness_node.address());
    let before = (
        author
            .node()
            .store()
            .disclosures(0, usize::MAX)
            .unwrap()
            .len(),
        witness_node
            .node()
            .store()
            .disclosures(0, usize::MAX)
            .unwrap()
            .len(),
    );
    let foreign_checkpoint = {
        let store = author.node().store();
        store
            .log(&store.as_owner().unwrap(), author.log("confidential"))
            .unwrap()
            .checkpoint
            .to_string()
    };

    // The offers: readable logs only, each head disclosed when restricted.
    let Response::Compartments(offers) = rogue.ask(author.did(), Request::Compartments).await
    else {
        panic!("offers")
    };
    let offered: Vec<CompartmentId> = offers.iter().map(|o| o.compartment).collect();
    let mut expected_offers = vec![id(&author, "public"), id(&author, "partners")];
    expected_offers.sort();
    let mut sorted = offered.clone();
    sorted.sort();
    assert_eq!(sorted, expected_offers);
    let mut served = vec![(id(&author, "partners"), 3, 3)];

    // The author: its restricted logs, the witness's, and random ids.
    let forbidden = [
        id(&author, "confidential"),
        id(&author, "regulators"),
        id(&author, "for-witness"),
        id(&witness_node, "partners"),
    ];
    let readable = [
        (id(&author, "public"), true),
        (id(&author, "partners"), false),
    ];
    served.extend(
        interrogate(
            &mut rogue,
            &author,
            &forbidden,
            &readable,
            &foreign_checkpoint,
        )
        .await,
    );

    // The witness serves its own logs only: the author's logs it holds are
    // as unknown there as random ones, readable by the rogue or not.
    let forbidden = [
        id(&witness_node, "partners"),
        id(&witness_node, "confidential"),
        id(&author, "partners"),
        id(&author, "confidential"),
        id(&author, "for-witness"),
    ];
    let readable = [(id(&witness_node, "public"), true)];
    let nothing = interrogate(
        &mut rogue,
        &witness_node,
        &forbidden,
        &readable,
        &foreign_checkpoint,
    )
    .await;
    assert!(nothing.is_empty());

    // Witness asks: garbage, other parties' tickets, expired tickets,
    // tickets of another log, each against the same ask about a log that
    // does not exist.
    let now = Timestamp::now();
    let lifetime = Duration::from_secs(300);
    let keys = author.node().keypair();
    let nowhere = log_of(&author, CompartmentId::random().unwrap());
    let mut asked = 0;
    for target in [&author, &witness_node] {
        let garbage = rogue
            .ask(
                target.did(),
                Request::Witness {
                    asks: witness::padded(vec![]),
                },
            )
            .await;
        assert_eq!(garbage, Response::Witness(vec![]));
        for label in ["confidential", "regulators", "for-witness"] {
            let log = author.log(label);
            let past = Timestamp::from_second(now.as_second() - 3_600).unwrap();
            let tickets: Vec<(&str, Vec<u8>)> = vec![
                ("none", vec![0; witness::TICKET_LEN]),
                ("short", vec![1; 7]),
                ("the witness's", witness::issue(keys, log, w, now, lifetime)),
                (
                    "a stranger's",
                    witness::issue(keys, log, other, now, lifetime),
                ),
                (
                    "expired",
                    witness::issue(keys, log, rogue.did(), past, Duration::from_secs(60)),
                ),
                (
                    "for another log",
                    witness::issue(keys, author.log("partners"), rogue.did(), now, lifetime),
                ),
                (
                    "signed by the rogue",
                    witness::issue(&rogue.keypair, log, rogue.did(), now, lifetime),
                ),
            ];
            for (what, ticket) in tickets {
                let mut answers = Vec::new();
                for about in [log, nowhere] {
                    let ask = witness::ask(about, rogue.did(), target.did(), &ticket).unwrap();
                    let asks = witness::padded(vec![ask]);
                    answers.push(rogue.ask(target.did(), Request::Witness { asks }).await);
                }
                assert_eq!(
                    wire(&answers[0]).await,
                    wire(&answers[1]).await,
                    "{label} with {what} ticket to {}: {answers:?}",
                    target.did()
                );
                assert_eq!(answers[0], Response::Witness(vec![]));
                asked += 1;
            }
        }
    }
    assert_eq!(asked, 2 * 3 * 7);
    // The asks are read: a readable log, with the rogue's own ticket, is
    // answered by the author and by the witness alike.
    let partners = author.log("partners");
    for target in [&author, &witness_node] {
        let ticket = witness::issue(keys, partners, rogue.did(), now, lifetime);
        let ask = witness::ask(partners, rogue.did(), target.did(), &ticket).unwrap();
        let answer = rogue
            .ask(
                target.did(),
                Request::Witness {
                    asks: witness::padded(vec![ask]),
                },
            )
            .await;
        assert!(
            matches!(&answer, Response::Witness(w) if w.len() == 1),
            "{answer:?}"
        );
    }
    // The author's answer showed the head of its restricted log.
    served.push((partners.compartment, 3, 3));

    // Exactly the readable restricted ranges and heads shown are
    // disclosed, by the author; the witness disclosed nothing (it answered
    // about the author's log, on the author's word). A head shown again
    // over the network under the same grant is disclosed once.
    served.sort();
    served.dedup_by(|a, b| a == b && a.1 == a.2);
    assert_eq!(disclosed(&author, rogue.did(), before.0), served);
    assert_eq!(disclosed(&witness_node, rogue.did(), before.1), vec![]);
    let by_log: BTreeMap<CompartmentId, usize> =
        served.iter().fold(BTreeMap::new(), |mut m, (c, _, _)| {
            *m.entry(*c).or_default() += 1;
            m
        });
    assert_eq!(
        by_log.keys().copied().collect::<Vec<_>>(),
        [id(&author, "partners")]
    );
    let mut nodes = [author, witness_node];
    for node in &mut nodes {
        node.stop().await;
    }
}
