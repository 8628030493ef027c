//! The requester's side of access requests on the dashboard, between two
//! real nodes over TCP: the asker's administrator asks from the supplier's
//! organization page (preview, then send), the supplier's administrator
//! approves on its own dashboard, the asker's page then says approved and
//! its node syncs what it may now read. Refused input is shown beside its
//! field and nothing is sent or stored; without a session the page is the
//! dashboard's not-found page, and a form without the session's CSRF
//! token changes nothing.

use std::net::SocketAddr;

use assure_node::ops::{Reply as OpsReply, Request};
use assure_tests::TestNode;
use assure_tests::http::{Reply, form_encode, send};

fn profile(name: &str) -> String {
    format!("kind = \"profile\"\nlegalName = \"{name}\"\n")
}

async fn sent(node: &TestNode) -> Vec<assure_node::ops::SentRow> {
    match node
        .node()
        .ops()
        .run(Request::SentAccessRequests)
        .await
        .unwrap()
    {
        OpsReply::SentAccessRequests(rows) => rows,
        other => panic!("{other:?}"),
    }
}

async fn post(addr: SocketAddr, target: &str, cookie: &str, form: &str) -> Reply {
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", cookie),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    send(addr, "POST", target, &headers, form).await
}

/// Signs in through the form: the session cookie and its CSRF token.
async fn sign_in(node: &TestNode) -> (String, String) {
    let addr = addr(node);
    let page = send(addr, "GET", "/login", &[], "").await;
    let login = page.field("csrf").unwrap();
    let form = form_encode(&[("token", node.admin_token()), ("csrf", login.clone())]);
    let reply = post(addr, "/login", &format!("assure_login={login}"), &form).await;
    assert_eq!(reply.status, 303, "{reply:?}");
    let cookie = format!("assure_session={}", reply.cookie("assure_session").unwrap());
    let csrf = send(addr, "GET", "/logout", &[("Cookie", &cookie)], "")
        .await
        .field("csrf")
        .unwrap();
    (cookie, csrf)
}

fn addr(node: &TestNode) -> SocketAddr {
    node.api().trim_start_matches("http://").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_asker_requests_access_in_the_browser_and_sees_it_approved() {
    let supplier = TestNode::start(226, "supplier").await;
    let mut maker = TestNode::start(227, "maker").await;
    supplier
        .publish("public", &[profile("Precision Castings BV")])
        .await;
    supplier
        .publish("partners", &[assure_tests::control(1)])
        .await;
    maker.connect(&supplier).await;
    maker.wait_synced(supplier.log("public"), 1).await;
    let (m, s) = (maker.did(), supplier.did());
    let nodes = serde_json::json!({
        "maker": { "url": maker.api(), "token": maker.admin_token(), "did": m.to_string(), "short": m.fmt_short() },
        "supplier": {
            "url": supplier.api(), "token": supplier.admin_token(), "did": s.to_string(),
            "short": s.fmt_short(), "name": "Precision Castings BV",
        },
    });
    tokio::task::spawn_blocking(move || assure_tests::browser::scenario("asking", &nodes))
        .await
        .unwrap();
    // Exactly one request went out (the refused ones were neither sent
    // nor stored), and it was approved.
    let rows = sent(&maker).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "approved");
    assert_eq!(supplier.node().store().access_requests().unwrap().len(), 1);
    let grant = supplier.node().store().grant(&m).unwrap().unwrap();
    assert!(grant.is_active(jiff::Timestamp::now()));
    assert_eq!(grant.basis, "NDA-2026-17");
    // The asker's node now syncs what the grant lets it read.
    maker.wait_synced(supplier.log("partners"), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_needs_a_session_and_the_csrf_token_and_bad_fields_send_nothing() {
    let supplier = TestNode::start(228, "supplier").await;
    let maker = TestNode::start(229, "maker").await;
    let at = addr(&maker);
    // Without a session: the dashboard's page of a missing page, for the
    // admin token too (a token is no session); a POST is refused before.
    let missing = send(at, "GET", &format!("/records/{}", "ab".repeat(32)), &[], "").await;
    assert_eq!(missing.status, 404);
    let anonymous = send(at, "GET", "/requests/sent", &[], "").await;
    assert_eq!((anonymous.status, &anonymous.body), (404, &missing.body));
    let bearer = format!("Bearer {}", maker.admin_token());
    let token = send(
        at,
        "GET",
        "/requests/sent",
        &[("Authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(token.status, 404, "a token is no session");
    assert_eq!(post(at, "/requests/sent", "", "csrf=x").await.status, 403);
    let (cookie, csrf) = sign_in(&maker).await;
    let good = |csrf: Option<&str>| {
        let mut pairs = vec![
            ("node", supplier.did().to_string()),
            ("url", supplier.api()),
            ("clearance", "partner".to_owned()),
            ("role", "customer".to_owned()),
            ("purpose", "supplier qualification".to_owned()),
            ("basis", "NDA-2026-17".to_owned()),
            ("confirm", "yes".to_owned()),
        ];
        if let Some(csrf) = csrf {
            pairs.push(("csrf", csrf.to_owned()));
        }
        pairs
    };
    // Without the session's CSRF token, or with another: refused, nothing sent.
    for pairs in [good(None), good(Some(&"0".repeat(64)))] {
        let reply = post(at, "/requests/sent", &cookie, &form_encode(&pairs)).await;
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    // Bad fields, each beside its field; nothing sent.
    let bad: [(&str, &str, &str, &str); 5] = [
        ("purpose", "  ", "purpose", "must not be empty"),
        ("role", "boss", "role", "role `boss`"),
        ("basis", "", "basis", "the basis must not be empty"),
        (
            "legal_basis",
            "Customs Code art. 46",
            "legal_basis",
            "only a regulator",
        ),
        ("url", "http://127.0.0.1:9", "url", "cannot reach"),
    ];
    for (name, value, field, says) in bad {
        let mut pairs = good(Some(&csrf));
        pairs.retain(|(n, _)| *n != name);
        pairs.push((name, value.to_owned()));
        let reply = post(at, "/requests/sent", &cookie, &form_encode(&pairs)).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        let id = format!("id=\"{field}-error\"");
        let beside = reply.body.find(&id).map(|i| &reply.body[i..]);
        assert!(
            beside.is_some_and(|b| b[..b.find("</span>").unwrap()].contains(says)),
            "{name}: {}",
            reply.body
        );
    }
    assert!(sent(&maker).await.is_empty());
    assert!(
        supplier
            .node()
            .store()
            .access_requests()
            .unwrap()
            .is_empty()
    );
    // With the token and good fields, the preview sends nothing; confirm sends.
    let mut preview = good(Some(&csrf));
    preview.retain(|(n, _)| *n != "confirm");
    let reply = post(at, "/requests/sent", &cookie, &form_encode(&preview)).await;
    assert!(
        reply.body.contains("What they will learn"),
        "{}",
        reply.body
    );
    assert!(sent(&maker).await.is_empty());
    let reply = post(
        at,
        "/requests/sent",
        &cookie,
        &form_encode(&good(Some(&csrf))),
    )
    .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(sent(&maker).await.len(), 1);
    assert_eq!(supplier.node().store().access_requests().unwrap().len(), 1);
    // The other node refusing (too many pending): said above the form, in
    // its own words, and nothing stored here.
    let limit = assure_node::ops::MAX_PENDING_PER_PARTY;
    for _ in 1..limit {
        let reply = post(
            at,
            "/requests/sent",
            &cookie,
            &form_encode(&good(Some(&csrf))),
        )
        .await;
        assert_eq!(reply.status, 303, "{}", reply.body);
    }
    let reply = post(
        at,
        "/requests/sent",
        &cookie,
        &form_encode(&good(Some(&csrf))),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let top = reply
        .body
        .find("id=\"ask-error\"")
        .map(|i| &reply.body[i..]);
    assert!(
        top.is_some_and(|t| t[..t.find("</p>").unwrap()].contains("429")
            && t[..t.find("</p>").unwrap()].contains("too many access requests")),
        "{}",
        reply.body
    );
    assert_eq!(sent(&maker).await.len(), limit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_now_follows_a_request_up_at_once_for_the_administrator_only() {
    let supplier = TestNode::start(230, "supplier").await;
    let maker = TestNode::start(231, "maker").await;
    let at = addr(&maker);
    let (cookie, csrf) = sign_in(&maker).await;
    let ask = form_encode(&[
        ("node", supplier.did().to_string()),
        ("url", supplier.api()),
        ("clearance", "partner".to_owned()),
        ("role", "customer".to_owned()),
        ("purpose", "supplier qualification".to_owned()),
        ("basis", "NDA-2026-17".to_owned()),
        ("confirm", "yes".to_owned()),
        ("csrf", csrf.clone()),
    ]);
    assert_eq!(post(at, "/requests/sent", &cookie, &ask).await.status, 303);
    let id = sent(&maker).await[0].id.clone();
    // Let the node's own follow-ups back off until the next one is
    // seconds away.
    let backed_off = async {
        loop {
            let stored = maker.node().store().outgoing_requests().unwrap();
            if stored[0].polls >= 4 {
                return stored[0].next_poll;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let next_poll = tokio::time::timeout(std::time::Duration::from_secs(30), backed_off)
        .await
        .expect("the node follows its request up");
    let decided = supplier
        .node()
        .ops()
        .run(Request::AccessDecide {
            id: id.clone(),
            decision: assure_api::AccessDecision::Approve { valid_until: None },
        })
        .await
        .unwrap();
    assert!(
        matches!(decided, OpsReply::AccessRequests(_)),
        "{decided:?}"
    );
    let check = format!("/requests/sent/{id}/check");
    // Without the CSRF token, without a session, or for a request we never
    // sent: refused, and nothing is asked.
    assert_eq!(post(at, &check, &cookie, "").await.status, 403);
    let csrf_form = format!("csrf={csrf}");
    let anonymous = post(at, &check, "", &csrf_form).await;
    assert!(
        anonymous.status == 403 || anonymous.status == 404,
        "{anonymous:?}"
    );
    let unknown = format!("/requests/sent/{}/check", "0".repeat(32));
    let reply = post(at, &unknown, &cookie, &csrf_form).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    assert!(
        reply.body.contains("we sent no access request"),
        "{}",
        reply.body
    );
    assert_eq!(sent(&maker).await[0].status, "pending");
    // Check now: approved at once, before the node would have asked again.
    let reply = post(at, &check, &cookie, &csrf_form).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert!(
        jiff::Timestamp::now() < next_poll,
        "the node's own follow-up was not due yet"
    );
    assert_eq!(sent(&maker).await[0].status, "approved");
    let page = send(at, "GET", "/requests/sent", &[("Cookie", &cookie)], "").await;
    assert!(page.body.contains("approved"), "{}", page.body);
    assert!(!page.body.contains("Check now"), "{}", page.body);
    // Checking a decided request again asks nothing and changes nothing.
    let polls = maker.node().store().outgoing_requests().unwrap()[0].polls;
    assert_eq!(post(at, &check, &cookie, &csrf_form).await.status, 303);
    assert_eq!(
        maker.node().store().outgoing_requests().unwrap()[0].polls,
        polls
    );
}
