//! Sharing per relationship (issue 9, defects 6 to 8; DESIGN.md §3): a
//! record about one counterparty goes to the compartment of exactly its
//! parties, a compartment others can read refuses it, and an operator can
//! make a compartment for one counterparty. Real nodes over libp2p; each
//! test asks the author, as the party that must not know, for the
//! compartment it must not see.

use std::collections::BTreeSet;

use assure_access::{Clearance, CompartmentId, Role, parties};
use assure_api::client::{Auth, Client};
use assure_model::{Did, Kind};
use assure_net::{Request, Response};
use assure_node::publish::Placement;
use assure_store::LogId;
use assure_tests::{TestNet, TestNode, audit, control, relationship};

/// Every organization other than `holder` that a record `holder` holds in
/// another author's log names, besides that author: empty when `holder` only
/// ever received records about itself and the author.
fn named_by_replicas(holder: &TestNode) -> BTreeSet<Did> {
    let store = holder.node().store();
    let mut named = BTreeSet::new();
    for summary in store.logs(&store.as_owner().unwrap()) {
        if summary.log.origin == holder.did() {
            continue;
        }
        for stored in store
            .read_log(&store.as_owner().unwrap(), summary.log)
            .unwrap()
        {
            let r = &stored.record;
            named.extend(parties(
                &r.subject.did,
                &r.predicate.body,
                &summary.log.origin,
            ));
        }
    }
    named.remove(&holder.did());
    named
}

/// What the author answers `asker` for the entries of `compartment`.
async fn ask(asker: &TestNode, author: Did, compartment: CompartmentId) -> Response {
    let entries = Request::Entries {
        compartment,
        from: 0,
        max: 10,
        prove_to: None,
    };
    asker
        .node()
        .client()
        .request(author, entries)
        .await
        .unwrap()
}

/// The author's answer for a compartment `asker` may not read is the answer
/// for one that does not exist, and `asker` holds nothing of it.
async fn hidden_from(asker: &TestNode, log: LogId) {
    let random = CompartmentId::random().unwrap();
    assert_eq!(
        ask(asker, log.origin, log.compartment).await,
        ask(asker, log.origin, random).await
    );
    assert_eq!(
        ask(asker, log.origin, log.compartment).await,
        Response::NotFound
    );
    assert_eq!(asker.size(log), None, "{} holds {log:?}", asker.did());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suppliers_customers_do_not_see_each_other() {
    let mut net = TestNet::new(3, 140).await;
    let [s, c1, c2] = [0, 1, 2].map(|i| net.nodes[i].did());
    for customer in [c1, c2] {
        net.nodes[0]
            .grant(customer, Clearance::Partner, &[Role::Customer])
            .await;
    }
    for i in [1, 2] {
        net.nodes[i].connect(&net.nodes[0]).await;
    }

    // By default each relationship goes to the compartment of its two parties.
    let supplier = &net.nodes[0];
    let appended = supplier
        .publish_to(
            Placement::default(),
            &[
                relationship(s, c1, "machined housings"),
                relationship(s, c2, "die castings"),
            ],
        )
        .await;
    let (first, second) = (appended[0].location.log, appended[1].location.log);
    assert_ne!(first, second);
    let partners = supplier.log("partners");
    assert!(first != partners && second != partners);
    supplier.publish("partners", &[control(1)]).await;

    // Sent to `partners`, a relationship is refused and nothing is stored.
    let refused = supplier
        .try_publish("partners", &[relationship(s, c2, "die castings")])
        .await
        .unwrap_err();
    let message = format!("{refused:#}");
    assert!(
        message.contains(
            "compartment `partners` is readable by every party holding a grant (2 today: "
        ),
        "{message}"
    );
    assert!(
        message.contains(&c1.fmt_short()) && message.contains(&c2.fmt_short()),
        "{message}"
    );
    assert!(message.contains("a relationship naming"), "{message}");
    assert!(message.contains("--share-wider"), "{message}");
    assert_eq!(supplier.size(partners), Some(1));
    assert_eq!(supplier.size(second), Some(1));

    net.nodes[1].wait_synced(first, 1).await;
    net.nodes[1].wait_synced(partners, 1).await;
    net.nodes[2].wait_synced(second, 1).await;
    net.nodes[2].wait_synced(partners, 1).await;
    for (me, theirs, them) in [(1, second, c2), (2, first, c1)] {
        let customer = &net.nodes[me];
        hidden_from(customer, theirs).await;
        let named = named_by_replicas(customer);
        assert!(
            !named.contains(&them),
            "{} learns of {them}",
            customer.did()
        );
        assert!(named.is_empty(), "{named:?}");
        assert_eq!(
            customer.size(partners),
            Some(1),
            "the shared compartment still arrives"
        );
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditors_clients_do_not_see_each_others_audits() {
    let mut net = TestNet::new(4, 150).await;
    let [_, k1, k2, buyer] = [0, 1, 2, 3].map(|i| net.nodes[i].did());
    for client in [k1, k2] {
        net.nodes[0]
            .grant(client, Clearance::Partner, &[Role::Customer])
            .await;
    }
    net.nodes[1]
        .grant(buyer, Clearance::Partner, &[Role::Customer])
        .await;
    for i in [1, 2] {
        net.nodes[i].connect(&net.nodes[0]).await;
    }
    net.nodes[3].connect(&net.nodes[1]).await;

    let auditor = &net.nodes[0];
    let appended = auditor
        .publish_to(
            Placement::default(),
            &[audit(k1, "NGC-0388"), audit(k2, "NGC-0417")],
        )
        .await;
    let (first, second) = (appended[0].location.log, appended[1].location.log);
    assert_ne!(first, second);
    let refused = auditor
        .try_publish("partners", &[audit(k2, "NGC-0418")])
        .await
        .unwrap_err();
    assert!(
        format!("{refused:#}").contains("an audit naming"),
        "{refused:#}"
    );

    net.nodes[1].wait_synced(first, 1).await;
    net.nodes[2].wait_synced(second, 1).await;
    hidden_from(&net.nodes[1], second).await;
    hidden_from(&net.nodes[2], first).await;
    assert!(!named_by_replicas(&net.nodes[1]).contains(&k2));
    assert!(!named_by_replicas(&net.nodes[2]).contains(&k1));

    // The auditee shows its own audit to its own customer, as it chooses:
    // the audit names no one but itself there.
    let client = &net.nodes[1];
    let store = client.node().store();
    let held = store
        .entry_at(&store.as_owner().unwrap(), appended[0].location)
        .unwrap()
        .unwrap();
    let cosigned = assure_model::cosign(&held.record, &client.keypair).unwrap();
    client
        .node()
        .publish("partners", vec![cosigned])
        .await
        .unwrap();
    let shown = client.log("partners");
    net.nodes[3].wait_synced(shown, 1).await;
    let store = net.nodes[3].node().store();
    let audits: Vec<Did> = store
        .read_log(&store.as_owner().unwrap(), shown)
        .unwrap()
        .iter()
        .filter(|s| s.record.kind() == Kind::Audit)
        .map(|s| s.record.subject.did)
        .collect();
    assert_eq!(audits, [k1]);
    assert!(!named_by_replicas(&net.nodes[3]).contains(&k2));
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_can_share_with_one_counterparty() {
    let mut net = TestNet::new(3, 160).await;
    let [o, p1, p2] = [0, 1, 2].map(|i| net.nodes[i].did());
    for party in [p1, p2] {
        net.nodes[0]
            .grant(party, Clearance::Partner, &[Role::Customer])
            .await;
    }
    for i in [1, 2] {
        net.nodes[i].connect(&net.nodes[0]).await;
    }

    // The operator makes the compartment through the admin API.
    let operator = &net.nodes[0];
    let client = Client::new(&operator.api());
    let token = operator.admin_token();
    let admin = Auth::Bearer(&token);
    let body = serde_json::json!({ "label": "acme", "readers": [p1.to_string()] });
    let made = client
        .send(
            "POST",
            "/v1/admin/compartments",
            body.to_string().into_bytes(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let again = client
        .send(
            "POST",
            "/v1/admin/compartments",
            body.to_string().into_bytes(),
            admin,
            None,
        )
        .await
        .unwrap();
    assert_eq!(again.status, 200, "asking again changes nothing");
    let listed = client
        .send("GET", "/v1/admin/compartments", Vec::new(), admin, None)
        .await
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.body).unwrap();
    let acme = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "acme")
        .expect("acme listed");
    assert_eq!(acme["tlp"], "TLP:AMBER+STRICT");
    assert_eq!(
        acme["readers"],
        serde_json::json!([{ "did": p1.to_string(), "name": null, "granted": true }])
    );
    let anonymous = client
        .send(
            "GET",
            "/v1/admin/compartments",
            Vec::new(),
            Auth::None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);

    // Records for that counterparty go there, named or by default.
    let shared = operator.publish("acme", &[control(1)]).await[0]
        .location
        .log;
    let by_default = operator
        .publish_to(Placement::default(), &[relationship(o, p1, "road haulage")])
        .await;
    assert_eq!(
        by_default[0].location.log, shared,
        "the audience's one compartment"
    );
    net.nodes[1].wait_synced(shared, 2).await;
    hidden_from(&net.nodes[2], shared).await;
    let operator = &net.nodes[0];

    // The API refuses a relationship in `partners` with who else reads it,
    // unless the operator shares wider.
    let draft = serde_json::json!({"kind": "relationship", "supplier": o.to_string(),
        "customer": p1.to_string(), "supplies": ["road haulage"], "since": "2024-01-01"});
    let send = |share_wider: bool| {
        let body = serde_json::json!({
            "compartment": "partners", "shareWider": share_wider, "drafts": [draft.clone()]
        });
        client.send(
            "POST",
            "/v1/admin/publish",
            body.to_string().into_bytes(),
            admin,
            None,
        )
    };
    let refused = send(false).await.unwrap();
    assert_eq!(refused.status, 400);
    let detail: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    let detail = detail["detail"].as_str().unwrap();
    assert!(detail.contains(&p2.fmt_short()), "{detail}");
    assert!(detail.contains("--compartment acme"), "{detail}");
    assert_eq!(operator.size(operator.log("partners")), Some(0));
    let wider = send(true).await.unwrap();
    assert_eq!(
        wider.status,
        200,
        "{}",
        String::from_utf8_lossy(&wider.body)
    );
    assert_eq!(operator.size(operator.log("partners")), Some(1));
    net.stop().await;
}

/// The shipped demo follows the defaults: each certified supplier holds
/// only its own audit, the logistics provider nothing about the tier-1
/// supplier's certificate, and no organization a record naming a third
/// party, except where an operator shared wider on purpose (the trust
/// anchor's public accreditation, the tier-1 supplier telling its customer
/// who its supplier is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shares_each_record_with_its_parties_only() {
    let demo = assure_node::demo::start(3, &mut std::io::sink())
        .await
        .unwrap();
    let node = |n: usize| &demo.orgs[n].node;
    let (tier1, haulier, customs) = (1, 3, 5);
    let wider = node(tier1)
        .store()
        .find_compartment(&node(tier1).store().as_owner().unwrap(), "helix-drives")
        .unwrap()
        .log;
    for holder in &demo.orgs {
        let store = holder.node.store();
        let mut audits = BTreeSet::new();
        for summary in store.logs(&store.as_owner().unwrap()) {
            let author = summary.log.origin;
            for stored in store
                .read_log(&store.as_owner().unwrap(), summary.log)
                .unwrap()
            {
                let r = &stored.record;
                if r.kind() == Kind::Audit {
                    audits.insert(r.subject.did);
                }
                if author == holder.node.did() || summary.log == wider {
                    continue;
                }
                let accreditation =
                    r.kind() == Kind::Accreditation && author == node(customs).did();
                let mut named = parties(&r.subject.did, &r.predicate.body, &author);
                named.remove(&holder.node.did());
                assert!(
                    accreditation || named.is_empty(),
                    "{} holds a {} of {} naming {named:?}",
                    holder.name,
                    r.kind(),
                    author
                );
            }
        }
        // The auditees, their auditor, their customer and the regulator,
        // through the auditees' own co-signed copies.
        let (t1, h) = (node(tier1).did(), node(haulier).did());
        let expected: BTreeSet<Did> = match demo.orgs.iter().position(|o| o.name == holder.name) {
            Some(n) if n == tier1 => [t1].into(),
            Some(n) if n == haulier => [h].into(),
            Some(2) => BTreeSet::new(),
            _ => [t1, h].into(),
        };
        assert_eq!(audits, expected, "audits held by {}", holder.name);
    }
    demo.shutdown().await.unwrap();
}
