//! Alerts delivered and acknowledged: a real HTTP receiver on 127.0.0.1
//! checks every event's RFC 9421 signature with the sending node's public
//! key (its DID); an incident naming us arrives as one signed event; a
//! receiver that fails twice gets the event on the third attempt, and the
//! delivery log shows all three; alerts are filtered and acknowledged
//! through the admin API, and `assure status` stops counting them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assure_access::{Clearance, Role};
use assure_api::client::{Auth, Client};
use assure_api::signature::{self, Covered, Scheme};
use assure_api::webhook::Event;
use assure_model::Did;
use assure_node::ops::{Reply, Request};
use assure_node::publish::Placement;
use assure_store::Alert;
use assure_tests::TestNode;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A webhook receiver: answers each POST to `/hook` with the next status
/// of its script (then 200), and passes on what it got.
struct Receiver {
    url: String,
    authority: String,
    got: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let (tx, got) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(VecDeque::from(script.to_vec())));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let status = script.lock().unwrap().pop_front().unwrap_or(200);
                let _ = tx.send((headers, body));
                async move { StatusCode::from_u16(status).unwrap() }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{authority}/hook"),
            authority,
            got,
        }
    }

    /// The next event, its signature checked against `signer`'s key.
    async fn next(&mut self, signer: Did) -> Event {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(60), self.got.recv())
            .await
            .expect("an event within 60 s")
            .unwrap();
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        let (date, digest) = (header("date"), header("content-digest"));
        let covered = Covered {
            method: "POST",
            scheme: Scheme::Http,
            authority: &self.authority,
            path: "/hook",
            query: "",
            date: &date,
            content_digest: &digest,
            purpose: None,
        };
        let now = jiff::Timestamp::now().as_second();
        let verified = signature::verify(
            &covered,
            &header("signature-input"),
            &header("signature"),
            &body,
            now,
            0,
        )
        .expect("a valid RFC 9421 signature");
        assert_eq!(verified.signer, signer, "signed with the node's key");
        // A body changed in transit does not check.
        assert!(
            signature::verify(
                &covered,
                &header("signature-input"),
                &header("signature"),
                b"{}",
                now,
                0
            )
            .is_err()
        );
        serde_json::from_slice(&body).unwrap()
    }
}

async fn admin(node: &TestNode, method: &str, path: &str, body: Value) -> (u16, Value) {
    let token = node.admin_token();
    let body = match body {
        Value::Null => Vec::new(),
        body => serde_json::to_vec(&body).unwrap(),
    };
    let answer = Client::new(&node.api())
        .send(method, path, body, Auth::Bearer(&token), None)
        .await
        .unwrap();
    let value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    (answer.status.as_u16(), value)
}

/// The delivery log's attempts for `event`, oldest first, once one of
/// them is final.
async fn attempts(node: &TestNode, event: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, log) = admin(node, "GET", "/v1/admin/webhooks/deliveries", Value::Null).await;
        assert_eq!(status, 200, "{log}");
        let mut mine: Vec<Value> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["event"] == event)
            .cloned()
            .collect();
        mine.reverse();
        if mine.iter().any(|a| a["outcome"] != "retrying") {
            return mine;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no final attempt: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn raise(node: &TestNode, kind: &str, origin: Did, detail: &str) {
    let store = node.node().store().clone();
    let alert = Alert {
        at: jiff::Timestamp::now(),
        kind: kind.into(),
        origin: origin.to_string(),
        detail: detail.into(),
        record: None,
        log: None,
    };
    tokio::task::spawn_blocking(move || store.raise(&alert))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_naming_us_reaches_our_webhook_as_one_signed_event() {
    let author = TestNode::start(130, "author").await;
    let mut member = TestNode::start(131, "member").await;
    let mut receiver = Receiver::start(&[]).await;
    let (status, hook) = admin(
        &member,
        "POST",
        "/v1/admin/webhooks",
        json!({ "url": receiver.url }),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    author
        .grant(member.did(), Clearance::Partner, &[Role::Customer])
        .await;
    member.connect(&author).await;
    member.wait_synced(author.log("partners"), 0).await;

    let incident = format!(
        "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
         summary = \"Seal mismatch on trailer 7\"\noccurredAt = \"2026-11-20T03:10:00Z\"\n\
         detectedAt = \"2026-11-20T05:40:00Z\"\nstatus = \"open\"\naffected = [\"{}\"]\n",
        member.did()
    );
    let appended = author.publish_to(Placement::default(), &[incident]).await;
    let event = receiver.next(member.did()).await;
    assert_eq!(event.kind, "incident");
    assert_eq!(event.node, member.did().to_string());
    assert_eq!(event.alert.origin, author.did().to_string());
    assert_eq!(event.alert.record, Some(appended[0].id.to_string()));
    assert_eq!(event.id, event.alert.id);

    let log = attempts(&member, &event.id).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["outcome"], "delivered");
    assert_eq!(log[0]["status"], 200);
    assert!(receiver.got.try_recv().is_err(), "one event, not more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_twice_gets_the_event_on_the_third_attempt() {
    let node = TestNode::start(132, "harbour").await;
    let mut receiver = Receiver::start(&[500, 500]).await;
    let (status, _) = admin(
        &node,
        "POST",
        "/v1/admin/webhooks",
        json!({ "url": receiver.url }),
    )
    .await;
    assert_eq!(status, 201);
    let requester = assure_model::Keypair::from_seed([133; 32]).did();
    raise(
        &node,
        Alert::ACCESS_REQUEST,
        requester,
        "asks for confidential access",
    )
    .await;

    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(receiver.next(node.did()).await);
    }
    assert_eq!(events[0].kind, "access-request");
    assert!(
        events.iter().all(|e| *e == events[0]),
        "the same event each time"
    );
    let log = attempts(&node, &events[0].id).await;
    let summary: Vec<(u64, u64, &str)> = log
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["status"].as_u64().unwrap(),
                a["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, 500, "retrying"),
            (2, 500, "retrying"),
            (3, 200, "delivered")
        ]
    );
    assert!(receiver.got.try_recv().is_err());

    // Removed, it gets nothing more.
    let path = format!("/v1/admin/webhooks?url={}", receiver.url);
    assert_eq!(admin(&node, "DELETE", &path, Value::Null).await.0, 200);
    assert_eq!(admin(&node, "DELETE", &path, Value::Null).await.0, 404);
    let (_, hooks) = admin(&node, "GET", "/v1/admin/webhooks", Value::Null).await;
    assert_eq!(hooks, json!([]));
    let (status, refused) = admin(
        &node,
        "POST",
        "/v1/admin/webhooks",
        json!({ "url": "file:///etc/passwd" }),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("http://"),
        "{refused}"
    );
}

async fn status_recent(node: &TestNode) -> usize {
    match node.node().ops().run(Request::Status).await.unwrap() {
        Reply::Status(status) => status.recent_alerts,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_filtered_and_acknowledged_through_the_admin_api() {
    let node = TestNode::start(134, "harbour").await;
    let other = assure_model::Keypair::from_seed([135; 32]).did();
    raise(
        &node,
        Alert::INCIDENT,
        other,
        "a theft at the Rotterdam gate",
    )
    .await;
    raise(&node, Alert::ACCESS_REQUEST, other, "asks for access").await;
    assert_eq!(status_recent(&node).await, 2);

    let list = |query: String| {
        let node = &node;
        async move {
            let (status, body) = admin(
                node,
                "GET",
                &format!("/v1/admin/alerts{query}"),
                Value::Null,
            )
            .await;
            assert_eq!(status, 200, "{query}: {body}");
            body["alerts"].as_array().unwrap().clone()
        }
    };
    assert_eq!(list(String::new()).await.len(), 2);
    let incidents = list("?kind=incident&acknowledged=".into()).await;
    assert_eq!(incidents.len(), 1);
    let id = incidents[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list(format!("?org={other}")).await.len(), 2);

    for bad in [
        "?kind=fire",
        "?acknowledged=maybe",
        "?org=nobody",
        "?colour=red",
    ] {
        let (status, body) =
            admin(&node, "GET", &format!("/v1/admin/alerts{bad}"), Value::Null).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let (status, acked) = admin(
        &node,
        "POST",
        &format!("/v1/admin/alerts/{id}/ack"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["acknowledged"]["by"], "admin API");
    let (status, again) = admin(
        &node,
        "POST",
        &format!("/v1/admin/alerts/{id}/ack"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 400, "{again}");
    assert!(
        again["detail"].as_str().unwrap().contains("already"),
        "{again}"
    );
    let (status, _) = admin(
        &node,
        "POST",
        "/v1/admin/alerts/ffffffffffffffff/ack",
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    let anonymous = Client::new(&node.api())
        .send(
            "POST",
            &format!("/v1/admin/alerts/{id}/ack"),
            Vec::new(),
            Auth::None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(anonymous.status.as_u16(), 401);

    let open = list("?acknowledged=false".into()).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["kind"], "access-request");
    let done = list("?acknowledged=true".into()).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["id"], id.as_str());
    assert_eq!(
        status_recent(&node).await,
        1,
        "an acknowledged alert no longer counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_acknowledges_filters_and_registers_webhooks() {
    let node = TestNode::start(136, "harbour").await;
    let other = assure_model::Keypair::from_seed([137; 32]).did();
    raise(
        &node,
        Alert::INCIDENT,
        other,
        "a theft at the Rotterdam gate",
    )
    .await;
    raise(&node, Alert::ACCESS_REQUEST, other, "asks for access").await;
    let receiver = Receiver::start(&[]).await;
    let scenario = json!({
        "node": { "url": node.api(), "token": node.admin_token() },
        "receiver": receiver.url,
    });
    tokio::task::spawn_blocking(move || assure_tests::browser::scenario("alerts", &scenario))
        .await
        .unwrap();
    let (_, hooks) = admin(&node, "GET", "/v1/admin/webhooks", Value::Null).await;
    assert_eq!(hooks[0]["url"], receiver.url.as_str(), "{hooks}");
    assert_eq!(hooks[0]["addedBy"], "dashboard", "{hooks}");
    let (_, done) = admin(
        &node,
        "GET",
        "/v1/admin/alerts?acknowledged=true",
        Value::Null,
    )
    .await;
    assert_eq!(done["alerts"][0]["kind"], "incident", "{done}");
    assert_eq!(
        done["alerts"][0]["acknowledged"]["by"], "dashboard",
        "{done}"
    );
}
