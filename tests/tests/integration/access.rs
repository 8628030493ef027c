//! Access requests, the trust-centre flow, between real nodes over TCP and
//! signed HTTP: a request is listed for the operator (CLI through the
//! control socket, status), approving it makes the grant and the
//! requester's node syncs and raises an alert with the outcome, declining
//! tells the requester why, no one else learns anything of it, and
//! malformed or excessive requests are refused with nothing stored.

use std::time::Duration;

use assure_api::client::{Answer, Auth, Client};
use assure_api::{AccessAsk, AccessDecision};
use assure_model::Keypair;
use assure_node::ops::{Reply, Request};
use assure_store::Alert;
use assure_tests::{TIMEOUT, TestNode};

fn ask(role: &str) -> AccessAsk {
    AccessAsk {
        clearance: "partner".into(),
        role: role.into(),
        purpose: "supplier qualification for machined housings".into(),
        basis: Some("NDA-2026-17".into()),
        legal_basis: None,
    }
}

async fn post(node: &TestNode, key: &Keypair, body: &serde_json::Value) -> Answer {
    Client::new(&node.api())
        .send(
            "POST",
            "/v1/access-requests",
            serde_json::to_vec(body).unwrap(),
            Auth::Sign(key),
            None,
        )
        .await
        .unwrap()
}

async fn get(node: &TestNode, key: Option<&Keypair>, id: &str) -> Answer {
    let auth = key.map_or(Auth::None, Auth::Sign);
    Client::new(&node.api())
        .send(
            "GET",
            &format!("/v1/access-requests/{id}"),
            Vec::new(),
            auth,
            None,
        )
        .await
        .unwrap()
}

/// The request, as the CLI gets it through the running node's control socket.
fn cli(node: &TestNode, request: &Request) -> Reply {
    assure_node::control::call(&node.dir, request)
        .unwrap()
        .expect("the node answers on its control socket")
}

fn pending(node: &TestNode) -> Vec<assure_api::AccessRequestView> {
    match cli(node, &Request::AccessRequests { all: false }) {
        Reply::AccessRequests(rows) => rows,
        other => panic!("{other:?}"),
    }
}

async fn attention(node: &TestNode) -> Vec<String> {
    match node.node().ops().run(Request::Status).await.unwrap() {
        Reply::Status(status) => status.attention,
        other => panic!("{other:?}"),
    }
}

/// Sends `ask` from `from` to `to` as `assure request-access` does.
async fn request_access(from: &TestNode, to: &TestNode, ask: AccessAsk) -> String {
    from.request_access(to, ask).await
}

/// Waits for the requester's node to raise the outcome alert.
async fn outcome_alert(node: &TestNode) -> Alert {
    let store = node.node().store().clone();
    tokio::time::timeout(TIMEOUT * 2, async {
        loop {
            let alerts = store.alerts(&store.as_owner().unwrap()).unwrap();
            if let Some(a) = alerts.into_iter().find(|a| a.kind == Alert::ACCESS_REQUEST) {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the requester's node raises an alert with the outcome")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_request_grants_access_and_the_requester_is_told() {
    let supplier = TestNode::start(140, "supplier").await;
    let mut maker = TestNode::start(141, "maker").await;
    supplier
        .publish(
            "partners",
            &[assure_tests::control(1), assure_tests::control(2)],
        )
        .await;
    maker.connect(&supplier).await;
    let id = request_access(&maker, &supplier, ask("customer")).await;

    // Listed for the operator: the CLI (through the control socket), status.
    let rows = pending(&supplier);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert_eq!(rows[0].party, maker.did().to_string());
    assert_eq!(
        (rows[0].clearance.as_str(), rows[0].role.as_str()),
        ("partner", "customer")
    );
    assert_eq!(rows[0].basis, "NDA-2026-17");
    assert!(
        attention(&supplier)
            .await
            .contains(&"1 access request(s) await a decision: see `assure requests`".to_owned())
    );
    // The requester sees it pending, and nothing of any grant.
    let answer = get(&supplier, Some(&maker.keypair), &id).await;
    assert_eq!(answer.status, 200);
    let outcome: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        outcome,
        serde_json::json!({"id": id, "node": supplier.did().to_string(), "status": "pending"})
    );

    let until = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 90)).to_string();
    let decided = cli(
        &supplier,
        &Request::AccessDecide {
            id: id.clone(),
            decision: AccessDecision::Approve {
                valid_until: Some(until.clone()),
            },
        },
    );
    let Reply::AccessRequests(rows) = decided else {
        panic!("{decided:?}")
    };
    assert_eq!(rows[0].status, "approved");
    let grant = supplier
        .node()
        .store()
        .grant(&maker.did())
        .unwrap()
        .unwrap();
    assert!(grant.is_active(jiff::Timestamp::now()));
    assert_eq!(grant.valid_until.unwrap().to_string(), until);
    assert_eq!(grant.basis, "NDA-2026-17");
    assert!(pending(&supplier).is_empty());
    // Deciding twice is refused.
    let again = assure_node::control::call(
        &supplier.dir,
        &Request::AccessDecide {
            id: id.clone(),
            decision: AccessDecision::Decline {
                reason: "changed our mind".into(),
            },
        },
    );
    assert!(again.is_err(), "{again:?}");

    let alert = outcome_alert(&maker).await;
    assert!(
        alert.detail.contains("approved our access request"),
        "{alert:?}"
    );
    assert_eq!(alert.origin, supplier.did().to_string());
    // The grant reaches the open connection: the maker syncs partners.
    maker.wait_synced(supplier.log("partners"), 2).await;
    let Reply::SentAccessRequests(sent) = maker
        .node()
        .ops()
        .run(Request::SentAccessRequests)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(sent[0].status, "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_request_tells_the_requester_why_and_no_one_else_anything() {
    let supplier = TestNode::start(142, "supplier").await;
    let maker = TestNode::start(143, "maker").await;
    let id = request_access(&maker, &supplier, ask("customer")).await;
    // Someone else, anonymous or signed, gets exactly the 404 of a missing id.
    let stranger = Keypair::from_seed([144; 32]);
    let missing = "0".repeat(32);
    let theirs = get(&supplier, Some(&stranger), &id).await;
    let none = get(&supplier, Some(&stranger), &missing).await;
    let anonymous = get(&supplier, None, &id).await;
    let mine_missing = get(&supplier, Some(&maker.keypair), &missing).await;
    for answer in [&theirs, &anonymous, &mine_missing] {
        assert_eq!(answer.status, 404);
        assert_eq!(answer.body, none.body);
        assert_eq!(answer.content_type, none.content_type);
    }
    assert!(!String::from_utf8_lossy(&theirs.body).contains(&maker.did().to_string()));

    cli(
        &supplier,
        &Request::AccessDecide {
            id: id.clone(),
            decision: AccessDecision::Decline {
                reason: "no contract with us yet".into(),
            },
        },
    );
    assert!(
        supplier
            .node()
            .store()
            .grant(&maker.did())
            .unwrap()
            .is_none()
    );
    let alert = outcome_alert(&maker).await;
    assert!(
        alert.detail.contains("declined our access request")
            && alert.detail.contains("no contract with us yet"),
        "{alert:?}"
    );
    let outcome: serde_json::Value =
        serde_json::from_slice(&get(&supplier, Some(&maker.keypair), &id).await.body).unwrap();
    assert_eq!(outcome["status"], "declined");
    assert_eq!(outcome["reason"], "no contract with us yet");
    // The decline is not a grant: nothing but status and reason is told.
    assert_eq!(outcome.as_object().unwrap().len(), 4, "{outcome}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_nothing_is_stored() {
    let supplier = TestNode::start(145, "supplier").await;
    let asker = Keypair::from_seed([146; 32]);
    let long = "x".repeat(501);
    let bad = [
        (
            serde_json::json!({"clearance": "partner", "role": "boss", "purpose": "p", "basis": "NDA"}),
            "role `boss`",
        ),
        (
            serde_json::json!({"clearance": "top", "role": "customer", "purpose": "p", "basis": "NDA"}),
            "clearance `top`",
        ),
        (
            serde_json::json!({"clearance": "partner", "role": "customer", "purpose": "p", "basis": "  "}),
            "the basis must not be empty",
        ),
        (
            serde_json::json!({"clearance": "partner", "role": "customer", "purpose": "p"}),
            "the basis must not be empty",
        ),
        (
            serde_json::json!({"clearance": "partner", "role": "customer", "purpose": long, "basis": "NDA"}),
            "at most 500",
        ),
        (
            serde_json::json!({"clearance": "partner", "role": "customer", "purpose": "p", "basis": "NDA\nx"}),
            "control characters",
        ),
        (
            serde_json::json!({"clearance": "partner", "role": "regulator", "purpose": "p", "basis": "NDA"}),
            "legal basis",
        ),
        (
            serde_json::json!({"clearance": "partner", "role": "customer", "purpose": "p", "basis": "NDA", "grant": true}),
            "unknown field",
        ),
    ];
    for (body, says) in &bad {
        let answer = post(&supplier, &asker, body).await;
        let text = String::from_utf8_lossy(&answer.body);
        assert_eq!(answer.status, 400, "{body}: {text}");
        assert!(text.contains(says), "{body}: {text}");
    }
    // Unsigned: refused.
    let unsigned = Client::new(&supplier.api())
        .send(
            "POST",
            "/v1/access-requests",
            serde_json::to_vec(&ask("customer")).unwrap(),
            Auth::None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(unsigned.status, 401);
    assert!(
        supplier
            .node()
            .store()
            .access_requests()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_rate_limited_per_requester() {
    let supplier = TestNode::start(147, "supplier").await;
    let asker = Keypair::from_seed([148; 32]);
    let body = serde_json::to_value(ask("customer")).unwrap();
    for _ in 0..assure_node::ops::MAX_PENDING_PER_PARTY {
        assert_eq!(post(&supplier, &asker, &body).await.status, 202);
    }
    let refused = post(&supplier, &asker, &body).await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    assert_eq!(
        supplier.node().store().access_requests().unwrap().len(),
        assure_node::ops::MAX_PENDING_PER_PARTY
    );
    // Another requester is not held back by this one.
    let other = Keypair::from_seed([149; 32]);
    assert_eq!(post(&supplier, &other, &body).await.status, 202);
    // Declined requests still count within the hour.
    for row in pending(&supplier)
        .iter()
        .filter(|r| r.party == asker.did().to_string())
    {
        cli(
            &supplier,
            &Request::AccessDecide {
                id: row.id.clone(),
                decision: AccessDecision::Decline {
                    reason: "duplicate".into(),
                },
            },
        );
    }
    let mut accepted = assure_node::ops::MAX_PENDING_PER_PARTY;
    loop {
        let answer = post(&supplier, &asker, &body).await;
        if answer.status == 429 {
            break;
        }
        assert_eq!(answer.status, 202);
        accepted += 1;
        if accepted.is_multiple_of(assure_node::ops::MAX_PENDING_PER_PARTY) {
            for row in pending(&supplier)
                .iter()
                .filter(|r| r.party == asker.did().to_string())
            {
                cli(
                    &supplier,
                    &Request::AccessDecide {
                        id: row.id.clone(),
                        decision: AccessDecision::Decline {
                            reason: "duplicate".into(),
                        },
                    },
                );
            }
        }
        assert!(
            accepted <= assure_node::ops::MAX_PER_HOUR,
            "no hourly limit"
        );
    }
    assert_eq!(accepted, assure_node::ops::MAX_PER_HOUR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regulator_asks_with_its_legal_basis() {
    let supplier = TestNode::start(150, "supplier").await;
    let regulator = TestNode::start(151, "regulator").await;
    let id = request_access(
        &regulator,
        &supplier,
        AccessAsk {
            role: "regulator".into(),
            basis: None,
            legal_basis: Some("Customs Code art. 46".into()),
            ..ask("regulator")
        },
    )
    .await;
    let rows = pending(&supplier);
    assert_eq!(rows[0].id, id);
    assert!(rows[0].legal_basis);
    assert_eq!(rows[0].basis, "Customs Code art. 46");
    cli(
        &supplier,
        &Request::AccessDecide {
            id,
            decision: AccessDecision::Approve { valid_until: None },
        },
    );
    let grant = supplier
        .node()
        .store()
        .grant(&regulator.did())
        .unwrap()
        .unwrap();
    assert!(grant.roles.contains(&assure_access::Role::Regulator));
    assert_eq!(grant.basis, "legal basis: Customs Code art. 46");
    assert!(outcome_alert(&regulator).await.detail.contains("approved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_decides_requests_and_manages_grants_in_the_browser() {
    let supplier = TestNode::start(152, "supplier").await;
    let maker = TestNode::start(153, "maker").await;
    supplier
        .publish("partners", &[assure_tests::control(1)])
        .await;
    let request = request_access(&maker, &supplier, ask("customer")).await;
    let newcomer = Keypair::from_seed([154; 32]).did();
    let nodes = serde_json::json!({
        "supplier": { "url": supplier.api(), "token": supplier.admin_token() },
        "maker": { "did": maker.did().to_string(), "short": maker.did().fmt_short() },
        "newcomer": { "did": newcomer.to_string(), "short": newcomer.fmt_short() },
        "request": request,
    });
    tokio::task::spawn_blocking(move || assure_tests::browser::scenario("access", &nodes))
        .await
        .unwrap();
    let grant = supplier.node().store().grant(&newcomer).unwrap().unwrap();
    assert!(
        grant.revoked_at.is_some() && grant.version == 3,
        "{grant:?}"
    );
    assert!(
        supplier
            .node()
            .store()
            .grant(&maker.did())
            .unwrap()
            .unwrap()
            .is_active(jiff::Timestamp::now())
    );
}
