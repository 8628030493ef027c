//! What counts as misbehaviour, and how long it is held against a peer
//! (DESIGN.md §5 "Peers"). Issue "a long partition cuts the author off for
//! good": a stream cut by the network was taken for a malformed request,
//! four cut streams blocked a peer, and blocks never lifted. The probing
//! peer here is a real libp2p swarm on 127.0.0.1 that speaks the sync
//! protocol with our own codec, and cuts its requests where it likes.

use std::io;
use std::time::Duration;

use assure_access::{Clearance, Role};
use assure_model::Keypair;
use assure_net::{Codec, Event, Inbound, Request, Response};
use assure_tests::{TIMEOUT, TestNode, wait};
use futures::prelude::*;
use libp2p::request_response::{self, Message, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{PeerId, StreamProtocol, Swarm};
use tokio::sync::broadcast;

use crate::rogue::swarm;

/// What the probing peer sends.
#[derive(Debug, Clone)]
enum Probe {
    /// A whole request.
    Whole(Request),
    /// The first half of a request, then the stream closed (EOF): what a
    /// connection cut under a request looks like to the other side.
    HalfThenClose(Request),
    /// The first half of a request, then the stream dropped unfinished
    /// (reset): what an honest peer's own timeout does.
    HalfThenReset(Request),
    /// Bytes that are no request at all.
    Garbage,
}

/// Our codec, with requests cut short on demand.
#[derive(Clone)]
struct Cutting(Codec);

fn protocol() -> StreamProtocol {
    StreamProtocol::new(assure_net::protocol::PROTOCOL)
}

async fn encoded(codec: &mut Codec, request: Request) -> Vec<u8> {
    use request_response::Codec as _;
    let mut bytes = futures::io::Cursor::new(Vec::new());
    codec
        .write_request(&protocol(), &mut bytes, Inbound::Request(request))
        .await
        .unwrap();
    bytes.into_inner()
}

impl request_response::Codec for Cutting {
    type Protocol = StreamProtocol;
    type Request = Probe;
    type Response = Response;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<Probe> {
        Err(io::Error::other("the probe answers nothing"))
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Response> {
        request_response::Codec::read_response(&mut self.0, protocol, io).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        probe: Probe,
    ) -> io::Result<()> {
        let half = |bytes: Vec<u8>| bytes[..bytes.len() / 2].to_vec();
        let (bytes, reset) = match probe {
            Probe::Whole(request) => (encoded(&mut self.0, request).await, false),
            Probe::HalfThenClose(request) => (half(encoded(&mut self.0, request).await), false),
            Probe::HalfThenReset(request) => (half(encoded(&mut self.0, request).await), true),
            // A whole CBOR value, `[1, 2, 3]`, that is no request.
            Probe::Garbage => (vec![0x83, 0x01, 0x02, 0x03], false),
        };
        io.write_all(&bytes).await?;
        io.flush().await?;
        if reset {
            return Err(io::Error::other("given up"));
        }
        Ok(())
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Response,
    ) -> io::Result<()> {
        Err(io::Error::other("the probe answers nothing"))
    }
}

/// A peer of key `seed` that probes `target`.
struct Prober {
    swarm: Swarm<request_response::Behaviour<Cutting>>,
    target: PeerId,
    keypair: Keypair,
}

impl Prober {
    fn new(seed: u8, target: &TestNode) -> Self {
        let keypair = Keypair::from_seed([seed; 32]);
        let codec = Cutting(Codec::new(64 * 1024, 8 * 1024 * 1024));
        let mut swarm = swarm(&keypair, |_| {
            request_response::Behaviour::with_codec(
                codec,
                [(protocol(), ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            )
        });
        let target_id = assure_net::peer_id(&target.did());
        swarm.add_peer_address(target_id, target.address());
        Self {
            swarm,
            target: target_id,
            keypair,
        }
    }

    /// Sends one probe and waits for its answer or its failure.
    async fn send(&mut self, probe: Probe) -> Result<Response, String> {
        let id = self.swarm.behaviour_mut().send_request(&self.target, probe);
        let outcome = tokio::time::timeout(TIMEOUT, async {
            loop {
                match self.swarm.select_next_some().await {
                    SwarmEvent::Behaviour(request_response::Event::Message {
                        message:
                            Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    }) if request_id == id => return Ok(response),
                    SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                        request_id,
                        error,
                        ..
                    }) if request_id == id => return Err(error.to_string()),
                    _ => {}
                }
            }
        })
        .await;
        outcome.unwrap_or_else(|_| Err("no outcome".into()))
    }

    /// Whether the target still answers a whole request, with a fresh
    /// connection if the last one was closed.
    async fn answered(&mut self) -> bool {
        matches!(
            self.send(Probe::Whole(Request::Compartments)).await,
            Ok(Response::Compartments(_))
        )
    }
}

/// The cut-off events for `peer` seen so far.
fn cut_offs(events: &mut broadcast::Receiver<Event>, peer: assure_model::Did) -> usize {
    let mut found = 0;
    loop {
        match events.try_recv() {
            Ok(Event::CutOff { peer: p, .. }) if p == peer => found += 1,
            Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => return found,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_by_the_network_is_not_misbehaviour() {
    let mut author = TestNode::start(110, "author").await;
    let mut events = author.node().client().events();
    let mut prober = Prober::new(111, &author);
    assert!(prober.answered().await);
    // Each cut request was worth five strikes: four cut a peer off.
    let entries = Request::Entries {
        compartment: author.log("partners").compartment,
        from: 0,
        max: 512,
        prove_to: None,
    };
    for _ in 0..10 {
        let cut = prober.send(Probe::HalfThenClose(entries.clone())).await;
        assert!(cut.is_err(), "a cut request is not answered: {cut:?}");
        let reset = prober.send(Probe::HalfThenReset(entries.clone())).await;
        assert!(reset.is_err(), "{reset:?}");
    }
    assert!(
        prober.answered().await,
        "twenty cut streams cut the peer off"
    );
    assert_eq!(cut_offs(&mut events, prober.keypair.did()), 0);
    author.stop().await;
}

/// Sends garbage until `target` cuts the prober off.
async fn cut_off(prober: &mut Prober, events: &mut broadcast::Receiver<Event>) {
    let did = prober.keypair.did();
    for _ in 0..4 {
        let _ = prober.send(Probe::Garbage).await;
    }
    wait(
        events,
        |e| matches!(e, Event::CutOff { peer, .. } if *peer == did),
    )
    .await;
    assert!(!prober.answered().await, "a blocked peer is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_for_misbehaviour_expires() {
    let mut author = TestNode::start_with(112, "author", |c| {
        c.net.limits.block_duration = Duration::from_secs(3);
    })
    .await;
    let mut events = author.node().client().events();
    let mut prober = Prober::new(113, &author);
    cut_off(&mut prober, &mut events).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(prober.answered().await, "the block outlived its time");
    author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_granted_again_after_a_cut_off_is_unblocked_at_once() {
    let mut author = TestNode::start(114, "author").await;
    let mut events = author.node().client().events();
    let mut prober = Prober::new(115, &author);
    let party = prober.keypair.did();
    author
        .grant(party, Clearance::Partner, &[Role::Customer])
        .await;
    cut_off(&mut prober, &mut events).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !prober.answered().await,
        "the grant it held does not lift the block"
    );
    // The operator grants again (a new version): accepted at once, long
    // before the ten minutes of a block.
    author
        .grant(party, Clearance::Partner, &[Role::Customer])
        .await;
    let waited = tokio::time::timeout(Duration::from_secs(5), async {
        while !prober.answered().await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "a party granted again stays blocked");
    author.stop().await;
}
