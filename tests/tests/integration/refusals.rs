//! Every refusal is an RFC 9457 problem document, tried on every route of
//! the route table (`assure_api::route_table`): an unknown method, a method
//! the route does not answer, a path parameter that is not UTF-8, a
//! `Content-Length` over the limit, a repeated query field, a body that is
//! not UTF-8, a body that never arrives. Then the head limit however the
//! bytes arrive, and the challenge of a 401. Raw HTTP/1.1 over loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use assure_api::Route;
use assure_tests::TestNode;
use assure_tests::http::{self, Reply};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Node {
    node: TestNode,
    addr: SocketAddr,
    bearer: String,
}

async fn node(seed: u8) -> Node {
    let node = TestNode::start_with(seed, "refusals", |c| {
        let api = c.api.as_mut().unwrap();
        api.requests_per_second = 100_000;
    })
    .await;
    Node {
        addr: node.node().api_address().unwrap(),
        bearer: format!("Bearer {}", node.admin_token()),
        node,
    }
}

impl Node {
    /// The credentials a route takes: the admin token on admin routes and
    /// dashboard pages, none on the other `/v1` routes (which refuse it).
    fn auth(&self, path: &str) -> Vec<(&'static str, String)> {
        if path.starts_with("/v1/") && !path.starts_with("/v1/admin") {
            Vec::new()
        } else {
            vec![("authorization", self.bearer.clone())]
        }
    }

    /// One request with exactly this method, target, credentials for the
    /// route, extra headers and body, on a connection closed after it.
    async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        let path = target.split('?').next().unwrap_or(target);
        for (name, value) in self.auth(path) {
            request += &format!("{name}: {value}\r\n");
        }
        for (name, value) in headers {
            request += &format!("{name}: {value}\r\n");
        }
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            request += &format!("Content-Length: {}\r\n", body.len());
        }
        request += "\r\n";
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        http::exchange(CLIENT, self.addr, &bytes).await
    }
}

/// The route's path with every parameter filled with `value`.
fn fill(route: &Route, value: &str) -> String {
    let mut path = String::new();
    let mut rest = route.path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        path += &rest[..open];
        path += value;
        rest = &rest[close + 1..];
    }
    path + rest
}

/// `reply` is a problem document of `status`, for `what`.
fn assert_problem(reply: &Reply, status: u16, what: &str) {
    assert_eq!(
        reply.status, status,
        "{what}: {} {}",
        reply.status, reply.body
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{what}: {reply:?}"
    );
    let document: serde_json::Value = serde_json::from_str(&reply.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", reply.body));
    assert_eq!(document["status"], status, "{what}: {document}");
    assert_eq!(document["type"], "about:blank", "{what}");
    assert!(
        document["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {document}"
    );
}

/// `reply` refuses with `status` as [`assert_problem`] says, except that
/// outside the API a dashboard page may answer a browser with a page of its
/// own (4xx), and the CSRF guard refuses every method that changes state
/// before routing (403).
fn assert_refused(reply: &Reply, status: u16, path: &str, what: &str) {
    let page = reply
        .header("content-type")
        .is_some_and(|k| k.starts_with("text/html"));
    if page && !path.starts_with("/v1/") {
        assert!((400..500).contains(&reply.status), "{what}: {reply:?}");
    } else if reply.status == 403 && !path.starts_with("/v1/") {
        assert_problem(reply, 403, what);
    } else {
        assert_problem(reply, status, what);
    }
}

/// The query parameters a route takes, from the OpenAPI document.
fn query_params(openapi: &serde_json::Value, path: &str) -> Vec<String> {
    openapi["paths"][path]["get"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_malformed_requests_with_problem_documents() {
    let mut n = node(170).await;
    let openapi = serde_json::to_value(assure_api::openapi()).unwrap();
    let table = assure_api::route_table();
    let mut tried = 0;
    for route in &table {
        let path = fill(route, "x");
        // A method nobody knows, and one that is real but not served here.
        for method in ["BREW", "PATCH"] {
            let reply = n.send(method, &path, &[], b"").await;
            let what = format!("{method} {path}");
            assert_refused(&reply, 405, &path, &what);
            if reply.status == 405 {
                assert!(reply.header("allow").is_some(), "{what}: no Allow");
            }
            tried += 1;
        }
        let method = route.methods[0];
        // A path parameter that is not UTF-8.
        if route.path.contains('{') {
            let bad = fill(route, "%FF%FE");
            let reply = n.send(method, &bad, &[], b"").await;
            assert_refused(&reply, 400, &bad, &format!("{method} {bad}"));
            tried += 1;
        }
        // A Content-Length of a terabyte: refused before any body.
        let started = Instant::now();
        let reply = n
            .send(method, &path, &[("content-length", "1099511627776")], b"")
            .await;
        assert_problem(&reply, 413, &format!("{method} {path} with 1 TB"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path}: not at once"
        );
        tried += 1;
        // Each query field twice, on the API (a dashboard page shows a
        // browser what it made of its form instead).
        if route.methods.contains(&"GET") && route.path.starts_with("/v1/") {
            // Of an organization that exists, so that the query is read.
            let path = fill(route, &n.node.did().to_string());
            for field in query_params(&openapi, route.path) {
                let target = format!("{path}?{field}=1&{field}=1");
                let reply = n.send("GET", &target, &[], b"").await;
                assert_problem(&reply, 400, &format!("GET {target}"));
                tried += 1;
            }
        }
        // A body that is not UTF-8, on every route that reads one (the
        // OpenAPI document says which; a dashboard form may be any).
        for method in route.methods.iter().filter(|m| **m != "GET") {
            let documented = &openapi["paths"][route.path][method.to_lowercase()];
            let reads_body = documented.get("requestBody").is_some();
            for kind in ["application/json", "application/x-www-form-urlencoded"] {
                let reply = n
                    .send(
                        method,
                        &path,
                        &[("content-type", kind)],
                        b"\xff\xfe{\xc3\x28}",
                    )
                    .await;
                let what = format!("{method} {path} with a non-UTF-8 {kind} body");
                if reads_body {
                    assert!((400..500).contains(&reply.status), "{what}: {reply:?}");
                    assert_problem(&reply, reply.status, &what);
                } else if reply.status >= 400 {
                    // A dashboard form answers a browser with its page.
                    let kind = reply.header("content-type").unwrap_or_default();
                    assert!(
                        kind.starts_with("text/html") || kind == "application/problem+json",
                        "{what}: {reply:?}"
                    );
                }
                tried += 1;
            }
        }
    }
    // A body that never arrives, on every route at once.
    let mut stalled = Vec::new();
    for route in &table {
        let path = fill(route, "x");
        let method = route.methods[0];
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000\r\n",
            n.addr
        );
        for (name, value) in n.auth(&path) {
            head += &format!("{name}: {value}\r\n");
        }
        head += "\r\n{";
        let mut stream = http::connect_from(CLIENT, n.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push((format!("{method} {path}"), stream));
    }
    for (what, mut stream) in stalled {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{what}: a stalled body is never cut off"))
            .unwrap();
        let reply = http::parse(&String::from_utf8_lossy(&answer));
        assert_problem(&reply, 408, &format!("{what} with a stalled body"));
        tried += 1;
    }
    assert!(tried > 5 * table.len(), "only {tried} requests were tried");
    n.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terabyte_content_length_is_refused_at_once() {
    let mut n = node(171).await;
    let started = Instant::now();
    let reply = n
        .send(
            "POST",
            "/v1/orgs",
            &[("content-length", "1000000000000")],
            b"",
        )
        .await;
    assert_problem(&reply, 413, "POST /v1/orgs with 1 TB");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    n.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_over_64_kib_is_refused_however_it_arrives() {
    let mut n = node(172).await;
    for size in [70 * 1024, 100 * 1024, 1 << 20] {
        let value = "a".repeat(size);
        // In one write.
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {value}\r\n\r\n"
        );
        let reply = http::exchange(CLIENT, n.addr, request.as_bytes()).await;
        assert_problem(&reply, 431, &format!("a {size}-byte header in one write"));
        // In many small writes.
        let mut stream = http::connect_from(CLIENT, n.addr).await.unwrap();
        let mut answer = Vec::new();
        for chunk in request.as_bytes().chunks(1000) {
            if stream.write_all(chunk).await.is_err() {
                break;
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let reply = http::parse(&String::from_utf8_lossy(&answer));
        assert_problem(
            &reply,
            431,
            &format!("a {size}-byte header in small writes"),
        );
    }
    // Just under the limit is served.
    let value = "a".repeat(60 * 1024);
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {value}\r\n\r\n");
    assert_eq!(
        http::exchange(CLIENT, n.addr, request.as_bytes())
            .await
            .status,
        200
    );
    n.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_cannot_parse_get_problem_documents() {
    let mut n = node(173).await;
    for (what, request) in [
        ("a broken request line", "GET\r\n\r\n".to_owned()),
        (
            "a header without a colon",
            "GET / HTTP/1.1\r\nHost x\r\n\r\n".to_owned(),
        ),
        (
            "two different Content-Lengths",
            "POST /v1/orgs HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
                .to_owned(),
        ),
    ] {
        let reply = http::exchange(CLIENT, n.addr, request.as_bytes()).await;
        assert_problem(&reply, 400, what);
    }
    n.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_answers_name_the_scheme_to_use() {
    let mut n = node(174).await;
    // A signed route with a broken signature: sign, RFC 9421.
    let reply = n
        .send(
            "GET",
            "/v1/orgs",
            &[
                ("signature-input", "sig1=();keyid=\"x\""),
                ("signature", "sig1=:AA==:"),
            ],
            b"",
        )
        .await;
    assert_problem(&reply, 401, "a broken signature");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Signature realm=\"assure\"")
    );
    let accept = reply.header("accept-signature").unwrap();
    for component in assure_api::signature::COMPONENTS {
        assert!(accept.contains(&format!("\"{component}\"")), "{accept}");
    }
    assert!(accept.contains("alg=\"ed25519\""), "{accept}");
    // An admin route without the token: the bearer token.
    let anonymous = http::get_from(CLIENT, n.addr, "/v1/admin/peers", &[]).await;
    assert_problem(&anonymous, 401, "an admin route without the token");
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"assure-admin\"")
    );
    let wrong = http::get_from(
        CLIENT,
        n.addr,
        "/v1/admin/peers",
        &[("authorization", "Bearer wrong")],
    )
    .await;
    assert_problem(&wrong, 401, "a wrong admin token");
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    n.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes_are_neither_shed_nor_rate_limited() {
    let mut node = TestNode::start_with(175, "refusals-health", |c| {
        let api = c.api.as_mut().unwrap();
        api.requests_per_second = 2;
    })
    .await;
    let addr = node.node().api_address().unwrap();
    for target in ["/healthz", "/readyz", "/metrics"] {
        for _ in 0..20 {
            let reply = http::get_from(CLIENT, addr, target, &[]).await;
            assert_eq!(reply.status, 200, "{target}: {reply:?}");
        }
    }
    // The same address is over its rate everywhere else.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(http::get_from(CLIENT, addr, "/v1/orgs", &[]).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_per_address_get_a_problem_document() {
    let mut node = TestNode::start_with(176, "refusals-conns", |c| {
        c.api.as_mut().unwrap().max_connections_per_address = 2;
    })
    .await;
    let addr = node.node().api_address().unwrap();
    let _held = [
        http::connect_from(CLIENT, addr).await.unwrap(),
        http::connect_from(CLIENT, addr).await.unwrap(),
    ];
    // Accepted in order: wait until both are counted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = http::get_from(CLIENT, addr, "/healthz", &[]).await;
    assert_problem(&refused, 503, "a third connection");
    assert_eq!(refused.header("retry-after"), Some("1"));
    let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(
        http::get_from(other, addr, "/healthz", &[]).await.status,
        200
    );
    drop(_held);
    // The places are freed once the node sees them closed.
    let freed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if http::get_from(CLIENT, addr, "/healthz", &[]).await.status == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(freed.is_ok(), "closed connections still count");
    // The administration sees what was refused.
    let bearer = format!("Bearer {}", node.admin_token());
    let scrape = http::get_from(other, addr, "/metrics", &[("authorization", &bearer)]).await;
    assert!(
        scrape
            .body
            .contains("assure_api_refused_total{reason=\"connections\"} "),
        "{}",
        scrape.body
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_kept_alive_connections_are_closed_after_the_header_timeout() {
    let mut node = TestNode::start_with(177, "refusals-idle", |c| {
        c.api.as_mut().unwrap().header_timeout = Duration::from_millis(500);
    })
    .await;
    let addr = node.node().api_address().unwrap();
    // One that never sends a byte, and one kept alive after an answer.
    let mut idle = http::connect_from(CLIENT, addr).await.unwrap();
    let mut kept = http::connect_from(CLIENT, addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    for (what, stream) in [("idle", &mut idle), ("kept alive", &mut kept)] {
        let started = Instant::now();
        let mut sink = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await;
        assert!(closed.is_ok(), "an {what} connection stays open");
        assert!(started.elapsed() < Duration::from_secs(3), "{what}");
    }
    node.stop().await;
}
