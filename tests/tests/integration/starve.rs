//! Starving the API, as an attacker on one address would try it: hundreds
//! of connections sending headers or bodies a byte a second, and a flood of
//! requests, while a client on another address (127.0.0.2) keeps using the
//! node as usual: anonymously, with the admin token, and as a health probe.
//! Real server, real TCP on loopback.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assure_tests::TestNode;
use assure_tests::http::{self, Reply};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::task::JoinSet;

const ATTACKER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// How an attacking connection sends.
#[derive(Clone, Copy, Debug)]
enum Slow {
    /// The head of a POST with `Content-Length: 1000`, then the body a
    /// byte a second.
    Body,
    /// Most of a head, then the rest of it a byte a second.
    Head,
}

/// `n` connections from the attacker's address, each sending as `slow`
/// says and reconnecting a second after the node closes it, until `stop`.
/// Returns how many connections were opened in all.
fn attack(
    addr: SocketAddr,
    n: usize,
    slow: Slow,
    stop: Arc<AtomicBool>,
    tasks: &mut JoinSet<usize>,
) {
    for _ in 0..n {
        let stop = stop.clone();
        tasks.spawn(async move {
            let mut opened = 0;
            while !stop.load(Ordering::Relaxed) {
                if opened > 0 {
                    // Back again a second after the node closed the last one.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let Ok(mut stream) = http::connect_from(ATTACKER, addr).await else {
                    continue;
                };
                opened += 1;
                let head = match slow {
                    Slow::Body => {
                        "POST /v1/orgs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"
                    }
                    Slow::Head => "GET /v1/orgs HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                };
                if stream.write_all(head.as_bytes()).await.is_err() {
                    continue;
                }
                // A byte a second until the node closes the connection.
                let mut sink = [0u8; 1024];
                loop {
                    tokio::select! {
                        read = stream.read(&mut sink) => {
                            if !matches!(read, Ok(n) if n > 0) {
                                break;
                            }
                        }
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {
                            if stop.load(Ordering::Relaxed)
                                || stream.write_all(b"a").await.is_err()
                            {
                                break;
                            }
                        }
                    }
                }
            }
            opened
        });
    }
}

/// Latencies of the normal client's requests, and every answer that was
/// not a 200.
#[derive(Debug, Default)]
struct Usage {
    latencies: Vec<Duration>,
    failures: Vec<(String, u16, String)>,
}

impl Usage {
    fn p99(&mut self) -> Duration {
        self.latencies.sort();
        self.latencies[self.latencies.len() * 99 / 100]
    }
}

/// The normal client on 127.0.0.2, for `period`: an anonymous page, an
/// admin page with the token, and the health probe, in turn, each on a
/// fresh connection.
async fn use_normally(addr: SocketAddr, token: &str, period: Duration) -> Usage {
    let bearer = format!("Bearer {token}");
    let mut usage = Usage::default();
    let started = Instant::now();
    while started.elapsed() < period {
        for (target, headers) in [
            ("/v1/orgs", vec![]),
            ("/v1/admin/peers", vec![("authorization", bearer.as_str())]),
            ("/healthz", vec![]),
        ] {
            let sent = Instant::now();
            let reply: Reply = http::get_from(CLIENT, addr, target, &headers).await;
            usage.latencies.push(sent.elapsed());
            if reply.status != 200 {
                usage
                    .failures
                    .push((target.to_owned(), reply.status, reply.body));
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    usage
}

async fn starve(node: &TestNode, slow_bodies: usize, slow_heads: usize) -> (Usage, usize) {
    let addr = node.node().api_address().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    attack(addr, slow_bodies, Slow::Body, stop.clone(), &mut tasks);
    attack(addr, slow_heads, Slow::Head, stop.clone(), &mut tasks);
    // Let every attacking connection get its head in.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let usage = use_normally(addr, &node.admin_token(), Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let mut opened = 0;
    while let Some(n) = tasks.join_next().await {
        opened += n.unwrap();
    }
    (usage, opened)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_and_heads_from_500_connections_starve_no_one() {
    let mut node = TestNode::start(160, "starve-defaults").await;
    let (mut usage, opened) = starve(&node, 250, 250).await;
    assert!(opened >= 500, "only {opened} attacking connections");
    assert!(usage.failures.is_empty(), "{:?}", usage.failures);
    let p99 = usage.p99();
    eprintln!(
        "{opened} attacking connections; {} normal requests, p99 {p99:?}",
        usage.latencies.len()
    );
    assert!(
        p99 < Duration::from_millis(100),
        "p99 {p99:?} over {} requests",
        usage.latencies.len()
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_hold_no_concurrency_slot() {
    // The outside probe's attack: slow bodies on every slot. Here no cap
    // per address stops them, and they may send as slowly as they like
    // until the body timeout: still they never reach a concurrency slot.
    let mut node = TestNode::start_with(161, "starve-slots", |c| {
        let api = c.api.as_mut().unwrap();
        api.max_connections_per_address = 2_000;
        api.max_connections = 2_000;
        api.max_concurrent = 16;
        api.min_body_rate = 1;
        api.body_timeout = Duration::from_secs(15);
    })
    .await;
    let (mut usage, opened) = starve(&node, 500, 0).await;
    assert!(opened >= 500, "only {opened} attacking connections");
    assert!(usage.failures.is_empty(), "{:?}", usage.failures);
    let p99 = usage.p99();
    eprintln!(
        "{opened} slow bodies; {} normal requests, p99 {p99:?}",
        usage.latencies.len()
    );
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
    node.stop().await;
}

/// The resident set of this process (the node runs in it), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_keeps_memory_bounded_and_health_probes_answering() {
    let mut node = TestNode::start(162, "starve-flood").await;
    let addr = node.node().api_address().unwrap();
    let before = rss();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    // 300 connections from one address, each as fast as it can: pages,
    // bodies of 512 KiB, metrics, on fresh connections.
    let body: Arc<Vec<u8>> = Arc::new({
        let mut request = format!(
            "POST /v1/admin/publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            512 * 1024
        )
        .into_bytes();
        request.resize(request.len() + 512 * 1024, b'x');
        request
    });
    let mut flood = JoinSet::new();
    for n in 0..300 {
        let (stop, sent, body) = (stop.clone(), sent.clone(), body.clone());
        flood.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request: &[u8] = match n % 3 {
                    0 => b"GET /v1/orgs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    1 => &body,
                    _ => b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                };
                let Ok(mut stream) = http::connect_from(ATTACKER, addr).await else {
                    continue;
                };
                if stream.write_all(request).await.is_ok() {
                    let mut sink = Vec::new();
                    let _ = stream.read_to_end(&mut sink).await;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut peak = before;
    let mut probes = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        for target in ["/healthz", "/readyz"] {
            let reply = http::get_from(CLIENT, addr, target, &[]).await;
            probes.push((target, reply.status));
        }
        peak = peak.max(rss());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    while flood.join_next().await.is_some() {}
    let failed: Vec<_> = probes.iter().filter(|(_, s)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} probes failed: {failed:?}",
        failed.len(),
        probes.len()
    );
    let flooded = sent.load(Ordering::Relaxed);
    assert!(flooded > 1_000, "only {flooded} flood requests");
    let grown = peak.saturating_sub(before);
    eprintln!(
        "{flooded} flood requests, {} probes, RSS {} MiB then peak {} MiB",
        probes.len(),
        before >> 20,
        peak >> 20
    );
    assert!(
        grown < 256 << 20,
        "RSS grew by {} MiB under a flood of {flooded} requests",
        grown >> 20
    );
    node.stop().await;
}
