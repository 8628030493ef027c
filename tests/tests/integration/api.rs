//! The HTTP API over real HTTP on 127.0.0.1: every endpoint; a regulator, a
//! customer, an uncleared party and an anonymous caller each see exactly
//! what they should; forbidden and missing answer byte for byte alike;
//! forged, expired, replayed and misdirected signatures are refused; bad
//! bodies, slow clients, floods and overload get 400/413/408, a cut connection,
//! 429 and 503.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use assure_access::{Clearance, Role};
use assure_api::client::{Answer, Auth, Client, Target, signature_headers};
use assure_model::Keypair;
use assure_tests::{TestNode, control};
use serde_json::Value;

fn json(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        )
    })
}

/// A GET; signed ones state a purpose, as the regulator must.
async fn get(client: &Client, path: &str, auth: Auth<'_>) -> Answer {
    let purpose = matches!(auth, Auth::Sign(_)).then_some("API test");
    client
        .send("GET", path, Vec::new(), auth, purpose)
        .await
        .unwrap()
}

/// An author with records in each of its four compartments, and three
/// other organizations: a regulator, a customer cleared for confidential,
/// and one without a grant.
struct World {
    author: TestNode,
    regulator: Keypair,
    customer: Keypair,
    uncleared: Keypair,
    client: Client,
    confidential_id: String,
}

async fn world(edit: impl FnOnce(&mut assure_node::NodeConfig)) -> World {
    let author = TestNode::start_with(100, "author", edit).await;
    let (regulator, customer, uncleared) = (
        Keypair::from_seed([101; 32]),
        Keypair::from_seed([102; 32]),
        Keypair::from_seed([103; 32]),
    );
    author
        .grant(regulator.did(), Clearance::Partner, &[Role::Regulator])
        .await;
    author
        .grant(customer.did(), Clearance::Confidential, &[Role::Customer])
        .await;
    author
        .publish(
            "public",
            &["kind = \"profile\"\nlegalName = \"Author Components GmbH\"\n".to_owned()],
        )
        .await;
    author.publish("partners", &[control(1), control(2)]).await;
    let confidential = author.publish("confidential", &[control(3)]).await;
    author.publish("regulators", &[control(4)]).await;
    let client = Client::new(&author.api());
    World {
        client,
        regulator,
        customer,
        uncleared,
        confidential_id: confidential[0].id.to_string(),
        author,
    }
}

fn labels(page: &Value, author: &TestNode) -> Vec<String> {
    let summaries = {
        let store = author.node().store();
        store.logs(&store.as_owner().unwrap())
    };
    let mut found: Vec<String> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["compartment"].as_str().unwrap();
            summaries
                .iter()
                .find(|s| s.compartment.id.to_string() == id)
                .unwrap()
                .compartment
                .label
                .clone()
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_party_sees_exactly_what_its_grant_allows() {
    let mut w = world(|_| {}).await;
    let author = w.author.did();
    let path = format!("/v1/orgs/{author}/records");
    let cases: [(&str, Auth<'_>, &[&str]); 4] = [
        ("anonymous", Auth::None, &["public"]),
        ("uncleared", Auth::Sign(&w.uncleared), &["public"]),
        (
            "customer",
            Auth::Sign(&w.customer),
            &["confidential", "partners", "partners", "public"],
        ),
        (
            "regulator",
            Auth::Sign(&w.regulator),
            &["partners", "partners", "public", "regulators"],
        ),
    ];
    for (who, auth, expected) in cases {
        let answer = get(&w.client, &path, auth).await;
        assert_eq!(answer.status, 200, "{who}");
        assert_eq!(labels(&json(&answer), &w.author), expected, "{who}");

        // Checkpoints: only the logs the party may see; local labels are
        // never shown to other parties.
        let checkpoints = json(&get(&w.client, "/v1/checkpoints", auth).await);
        let store = w.author.node().store();
        let held = store.logs(&store.as_owner().unwrap());
        let mut seen: Vec<String> = checkpoints
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                assert!(c.get("label").is_none(), "{who}: a label was shown");
                let id = c["compartment"].as_str().unwrap();
                held.iter()
                    .find(|s| s.compartment.id.to_string() == id)
                    .map(|s| s.compartment.label.clone())
                    .unwrap()
            })
            .collect();
        seen.sort();
        let mut wanted: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        wanted.dedup();
        assert_eq!(seen, wanted, "{who}");

        // Organizations: counts only of what the party sees.
        let orgs = json(&get(&w.client, "/v1/orgs", auth).await);
        assert_eq!(orgs[0]["records"], expected.len(), "{who}");
        assert_eq!(orgs[0]["name"], "Author Components GmbH");
    }

    // Forbidden and missing are byte-identical, whatever the route.
    let hidden = format!("/v1/records/{}", w.confidential_id);
    let missing = format!("/v1/records/{}", "ab".repeat(32));
    for auth in [
        Auth::None,
        Auth::Sign(&w.uncleared),
        Auth::Sign(&w.regulator),
    ] {
        let (a, b) = (
            get(&w.client, &hidden, auth).await,
            get(&w.client, &missing, auth).await,
        );
        assert_eq!(a.status, 404);
        assert_eq!(
            (a.status, &a.content_type, &a.body),
            (b.status, &b.content_type, &b.body)
        );
        let garbage = get(&w.client, "/v1/records/not-an-id", auth).await;
        assert_eq!(garbage.body, b.body);
    }
    let shown = get(&w.client, &hidden, Auth::Sign(&w.customer)).await;
    assert_eq!(shown.status, 200);
    let detail = json(&shown);
    assert_eq!(
        detail["statement"]["predicateType"],
        "urn:assure:control:v1"
    );
    assert!(!detail["proof"].as_array().unwrap().is_empty() || detail["index"] == 0);
    assert!(detail["checkpoint"].as_str().unwrap().contains("assure/"));

    // A compartment filter on a hidden compartment answers like an unknown one.
    let confidential = w.author.log("confidential").compartment.to_string();
    let hidden_filter = format!("{path}?compartment={confidential}");
    let unknown_filter = format!("{path}?compartment={}", "cd".repeat(16));
    let (a, b) = (
        get(&w.client, &hidden_filter, Auth::Sign(&w.regulator)).await,
        get(&w.client, &unknown_filter, Auth::Sign(&w.regulator)).await,
    );
    assert_eq!((a.status, a.body), (b.status, b.body));

    // Every non-public answer is in the disclosure log, with its purpose.
    w.client
        .send(
            "GET",
            &path,
            Vec::new(),
            Auth::Sign(&w.regulator),
            Some("customs inspection 2026-114"),
        )
        .await
        .unwrap();
    let token = w.author.admin_token();
    let log = json(
        &get(
            &w.client,
            "/v1/admin/disclosures?limit=1000",
            Auth::Bearer(&token),
        )
        .await,
    );
    let entries = log.as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|d| d["party"] == w.regulator.did().to_string()
                && d["channel"] == "api"
                && d["purpose"] == "customs inspection 2026-114")
    );
    assert!(
        entries
            .iter()
            .all(|d| d["party"] != w.uncleared.did().to_string())
    );
    w.author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_filters_admin_routes_and_operations() {
    let mut w = world(|c| {
        if let Some(api) = c.api.as_mut() {
            api.max_page = 3;
        }
    })
    .await;
    let author = w.author.did();
    let token = w.author.admin_token();
    let admin = Auth::Bearer(&token);

    // Cursor pagination with a capped page size.
    let first = json(&get(&w.client, "/v1/admin/records?limit=3", admin).await);
    assert_eq!(first["records"].as_array().unwrap().len(), 3);
    let next = first["next"].as_str().unwrap();
    let second = json(
        &get(
            &w.client,
            &format!("/v1/admin/records?limit=3&cursor={next}"),
            admin,
        )
        .await,
    );
    let ids: Vec<&Value> = first["records"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["records"].as_array().unwrap())
        .map(|r| &r["id"])
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(second["next"].is_null());
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5, "no record twice across pages");
    for bad in [
        "limit=4",
        "limit=0",
        "cursor=xyz",
        "kind=nonsense",
        "since=yesterday",
        "colour=red",
    ] {
        let answer = get(&w.client, &format!("/v1/admin/records?{bad}"), admin).await;
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json")
        );
        assert!(json(&answer)["detail"].is_string());
    }
    let profiles = json(
        &get(
            &w.client,
            &format!("/v1/orgs/{author}/records?kind=profile"),
            Auth::None,
        )
        .await,
    );
    assert_eq!(profiles["records"].as_array().unwrap().len(), 1);

    // Admin routes need the token; the token opens nothing else.
    for auth in [Auth::None, Auth::Sign(&w.customer)] {
        assert_eq!(get(&w.client, "/v1/admin/grants", auth).await.status, 401);
    }
    assert_eq!(get(&w.client, "/v1/orgs", admin).await.status, 401);
    assert_eq!(
        get(&w.client, "/v1/admin/grants", Auth::Bearer("wrong"))
            .await
            .status,
        401
    );
    let grants = json(&get(&w.client, "/v1/admin/grants", admin).await);
    assert_eq!(grants.as_array().unwrap().len(), 2);
    assert!(
        get(&w.client, "/v1/admin/peers", admin)
            .await
            .status
            .is_success()
    );

    // Publish through the API: a draft is signed, a bad batch changes nothing.
    let before = {
        let store = w.author.node().store();
        store.logs(&store.as_owner().unwrap())
    };
    let body = serde_json::json!({
        "compartment": "partners",
        "drafts": [{"kind": "control", "controlId": "ISO22340:9.2.4", "status": "partial",
                    "statement": "Published through the API."}]
    });
    let published = w
        .client
        .send(
            "POST",
            "/v1/admin/publish",
            body.to_string().into_bytes(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        published.status,
        200,
        "{}",
        String::from_utf8_lossy(&published.body)
    );
    let bad = serde_json::json!({
        "compartment": "partners",
        "drafts": [{"kind": "control", "controlId": "ISO22340:9.2.4", "status": "partial", "statement": "ok"},
                   {"kind": "control", "controlId": "nope", "status": "partial", "statement": "bad"}]
    });
    let refused = w
        .client
        .send(
            "POST",
            "/v1/admin/publish",
            bad.to_string().into_bytes(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 400);
    assert!(
        json(&refused)["detail"]
            .as_str()
            .unwrap()
            .contains("drafts[1]")
    );
    for body in [
        b"{not json".to_vec(),
        b"{\"compartment\":\"partners\",\"extra\":1}".to_vec(),
        Vec::new(),
    ] {
        let answer = w
            .client
            .send("POST", "/v1/admin/publish", body, admin, None)
            .await
            .unwrap();
        assert_eq!(answer.status, 400);
    }
    // The node answers 413 as soon as the body passes the limit and
    // closes the connection; a client still sending may see the reset
    // instead of the answer. Either way nothing is stored (checked below).
    let oversized = vec![b' '; 2 << 20];
    match w
        .client
        .send("POST", "/v1/admin/publish", oversized, admin, None)
        .await
    {
        Ok(answer) => assert_eq!(answer.status, 413),
        Err(assure_api::client::ClientError::Unreachable { reason, .. }) => {
            assert!(reason.contains("SendRequest"), "{reason}");
        }
        Err(other) => panic!("{other}"),
    }
    let after = {
        let store = w.author.node().store();
        store.logs(&store.as_owner().unwrap())
    };
    let size = |s: &[assure_store::LogSummary]| -> u64 {
        s.iter().map(|l| l.checkpoint.checkpoint().size()).sum()
    };
    assert_eq!(
        size(&after),
        size(&before) + 1,
        "only the good batch was stored"
    );

    // Grants through the API: a party never seen needs the operator's word.
    let party = Keypair::from_seed([104; 32]).did();
    let mut grant =
        serde_json::json!({"clearance": "partner", "roles": ["auditor"], "basis": "NDA-7"});
    let answer = w
        .client
        .send(
            "PUT",
            &format!("/v1/admin/grants/{party}"),
            grant.to_string().into_bytes(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 400);
    let detail = json(&answer)["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains(&party.to_string()), "{detail}");
    assert!(detail.contains("\"unknownParty\": true"), "{detail}");
    grant["unknownParty"] = true.into();
    let answer = w
        .client
        .send(
            "PUT",
            &format!("/v1/admin/grants/{party}"),
            grant.to_string().into_bytes(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let answer = w
        .client
        .send(
            "DELETE",
            &format!("/v1/admin/grants/{party}"),
            Vec::new(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(json(&answer)["active"], false);
    let bad_grant = serde_json::json!({"clearance": "godlike", "basis": "x"});
    let answer = w
        .client
        .send(
            "PUT",
            &format!("/v1/admin/grants/{party}"),
            bad_grant.to_string().into_bytes(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 400);

    // Operations.
    assert_eq!(get(&w.client, "/healthz", Auth::None).await.status, 200);
    assert_eq!(get(&w.client, "/readyz", Auth::None).await.status, 200);
    let metrics = get(&w.client, "/metrics", admin).await;
    let text = String::from_utf8_lossy(&metrics.body);
    for name in [
        "assure_records",
        "assure_compartments",
        "assure_peers",
        "assure_alerts",
        "assure_api_requests_total",
        "assure_api_request_duration_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    let all = json(&get(&w.client, "/v1/admin/alerts", admin).await);
    assert!(all["alerts"].is_array() && all["evidence"].is_array());
    let alerts = json(&get(&w.client, "/v1/alerts", Auth::None).await);
    assert!(alerts["alerts"].as_array().unwrap().is_empty());
    let graph = json(&get(&w.client, "/v1/graph", Auth::None).await);
    assert_eq!(graph["nodes"][0]["did"], author.to_string());
    let unknown = get(
        &w.client,
        &format!("/v1/orgs/{author}/verification?profile=nope"),
        Auth::None,
    )
    .await;
    assert_eq!(unknown.status, 400);
    w.author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_replayed_and_misdirected_signatures_are_refused() {
    let mut w = world(|_| {}).await;
    let base = w.author.api();
    let path = format!("/v1/orgs/{}/records", w.author.did());
    let http = reqwest_like(&base);
    let target = Target::from_url(&base).unwrap();

    // A valid signed request, then the same headers again: a replay.
    let headers = signature_headers(
        &w.customer,
        &target,
        "GET",
        &path,
        b"",
        None,
        jiff::Timestamp::now(),
    );
    assert_eq!(http.get(&path, &headers, b"").0, 200);
    let (status, body) = http.get(&path, &headers, b"");
    assert_eq!(status, 401);
    assert!(body.contains("already used"), "{body}");

    // Created ten minutes ago.
    let old = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    let headers = signature_headers(&w.customer, &target, "GET", &path, b"", None, old);
    let (status, body) = http.get(&path, &headers, b"");
    assert_eq!(status, 401);
    assert!(body.contains("window"), "{body}");

    // Signed for another path, or another body.
    let headers = signature_headers(
        &w.customer,
        &target,
        "GET",
        "/v1/checkpoints",
        b"",
        None,
        jiff::Timestamp::now(),
    );
    assert_eq!(http.get(&path, &headers, b"").0, 401);
    let headers = signature_headers(
        &w.customer,
        &target,
        "GET",
        &path,
        b"{}",
        None,
        jiff::Timestamp::now(),
    );
    assert_eq!(http.get(&path, &headers, b"").0, 401);

    // Signed by one key, claiming another (unknown) key's id.
    let mut headers = signature_headers(
        &w.uncleared,
        &target,
        "GET",
        &path,
        b"",
        None,
        jiff::Timestamp::now(),
    );
    let stranger = Keypair::from_seed([105; 32]).did().to_string();
    headers[2].1 = headers[2]
        .1
        .replace(&w.uncleared.did().to_string(), &stranger);
    let (status, body) = http.get(&path, &headers, b"");
    assert_eq!(status, 401);
    assert!(body.contains("does not verify"), "{body}");

    // Garbage in the signature headers.
    let mut headers = signature_headers(
        &w.customer,
        &target,
        "GET",
        &path,
        b"",
        None,
        jiff::Timestamp::now(),
    );
    headers[3].1 = "sig1=:bm90IGEgc2lnbmF0dXJl:".into();
    assert_eq!(http.get(&path, &headers, b"").0, 401);
    w.author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_floods_and_overload_are_cut_off() {
    let mut w = world(|c| {
        if let Some(api) = c.api.as_mut() {
            api.header_timeout = Duration::from_millis(500);
            api.request_timeout = Duration::from_secs(2);
            api.requests_per_second = 5;
            api.max_concurrent = 1;
        }
    })
    .await;
    let address = w.author.node().api_address().unwrap();

    // Headers that never finish: the connection is closed.
    let mut slow = std::net::TcpStream::connect(address).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = std::time::Instant::now();
    let mut buffer = Vec::new();
    let _ = slow.read_to_end(&mut buffer);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "slow client not cut off"
    );

    // A body that never arrives is read outside the one concurrency slot:
    // other requests are answered meanwhile, a second body finds the one
    // body reader busy (503 at once), and the stalled body is cut off
    // (408, a problem document) once it falls under the minimum rate.
    let mut holder = std::net::TcpStream::connect(address).unwrap();
    holder
        .write_all(b"POST /v1/orgs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(get(&w.client, "/v1/orgs", Auth::None).await.status, 200);
    let second = assure_tests::http::send(address, "POST", "/v1/orgs", &[], "{}").await;
    assert_eq!(second.status, 503, "{second:?}");
    holder
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = holder.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");

    // More than the rate: 429, with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(
            get(&w.client, "/v1/orgs", Auth::Sign(&w.customer))
                .await
                .status
                .as_u16(),
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses[..5].iter().all(|s| *s == 200), "{statuses:?}");
    w.author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_generated_and_valid() {
    let mut w = world(|_| {}).await;
    let answer = get(&w.client, "/v1/openapi.json", Auth::None).await;
    assert_eq!(answer.status, 200);
    let document = json(&answer);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/orgs",
        "/v1/orgs/{did}/records",
        "/v1/records/{id}",
        "/v1/checkpoints",
        "/v1/graph",
        "/v1/alerts",
        "/v1/admin/publish",
        "/v1/admin/compartments",
        "/v1/admin/disclosures",
    ] {
        assert!(document["paths"][path].is_object(), "{path} not documented");
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &answer.body).unwrap();
    let check = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("python3");
    assert!(
        check.status.success(),
        "openapi-spec-validator (installed by ./test.sh) refused the document: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    w.author.stop().await;
}

/// Raw HTTP/1.1 over a socket, to send exactly the headers a test wants.
struct Raw(std::net::SocketAddr);

fn reqwest_like(base: &str) -> Raw {
    Raw(base.trim_start_matches("http://").parse().unwrap())
}

impl Raw {
    fn get(&self, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
        assure_tests::raw_request(self.0, &self.0.to_string(), "GET", path, headers, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_through_the_api_uses_only_what_the_caller_may_see() {
    let profiles = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/profiles");
    let mut w = world(|c| {
        c.verify.default_profile = Some(format!("{profiles}/component-supplier.toml").into());
    })
    .await;
    let author = w.author.did();
    let path = format!("/v1/orgs/{author}/verification?profile=component-supplier");
    let outcome = |report: &Value, id: &str| -> String {
        report["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["outcome"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The customer sees the partners controls (ISO22340:9.2.4); an
    // anonymous caller sees the public profile only.
    let customer = json(&get(&w.client, &path, Auth::Sign(&w.customer)).await);
    assert_eq!(customer["profile"], "component-supplier");
    assert_eq!(outcome(&customer, "cyber-monitoring"), "pass");
    let anonymous = json(&get(&w.client, &path, Auth::None).await);
    assert_eq!(outcome(&anonymous, "cyber-monitoring"), "inconclusive");

    // An organization the caller knows nothing of answers like a missing one.
    let stranger = Keypair::from_seed([106; 32]).did();
    let unknown = get(
        &w.client,
        &format!("/v1/orgs/{stranger}/verification?profile=component-supplier"),
        Auth::None,
    )
    .await;
    let missing = get(&w.client, "/v1/records/00", Auth::None).await;
    assert_eq!(
        (unknown.status, unknown.body),
        (missing.status, missing.body)
    );

    // The admin posts any profile.
    let token = w.author.admin_token();
    let text = std::fs::read(format!("{profiles}/logistics-provider.toml")).unwrap();
    let answer = w
        .client
        .send(
            "POST",
            &format!("/v1/admin/verify/{author}"),
            text,
            Auth::Bearer(&token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(json(&answer)["profile"], "logistics-provider");
    let bad = w
        .client
        .send(
            "POST",
            &format!("/v1/admin/verify/{author}"),
            b"name = 1".to_vec(),
            Auth::Bearer(&token),
            None,
        )
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
    assert!(
        json(&bad)["detail"]
            .as_str()
            .unwrap()
            .starts_with("profile: line 1")
    );
    w.author.stop().await;
}
