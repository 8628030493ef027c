//! Tests 1 and 2: each party receives exactly what its grant allows, and an
//! uncleared party learns nothing about restricted compartments.

use assure_access::{Clearance, CompartmentId, Role};
use assure_net::{Request, Response};
use assure_tests::{TestNet, control};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_get_partners_and_cleared_partners_get_confidential_too() {
    let mut net = TestNet::new(3, 10).await;
    let (partner, cleared) = (net.nodes[1].did(), net.nodes[2].did());
    let author = &net.nodes[0];
    author
        .grant(partner, Clearance::Partner, &[Role::Customer])
        .await;
    author
        .grant(cleared, Clearance::Confidential, &[Role::Customer])
        .await;
    author
        .publish("partners", &[control(1), control(2), control(3)])
        .await;
    author
        .publish("confidential", &[control(4), control(5)])
        .await;
    let (partners, confidential) = (author.log("partners"), author.log("confidential"));
    let (public, regulators) = (author.log("public"), author.log("regulators"));

    let author_address = net.nodes[0].address.clone();
    let author_did = net.nodes[0].did();
    for member in &mut net.nodes[1..] {
        member
            .node()
            .client()
            .dial(author_did, author_address.parse().unwrap())
            .await
            .unwrap();
        member.wait_synced(partners, 3).await;
    }
    net.nodes[2].wait_synced(confidential, 2).await;

    let store = net.nodes[1].node().store();
    assert_eq!(net.nodes[1].size(partners), Some(3));
    assert_eq!(net.nodes[1].size(public), Some(0));
    assert_eq!(
        net.nodes[1].size(confidential),
        None,
        "partner-only party got confidential"
    );
    assert_eq!(net.nodes[1].size(regulators), None);
    assert!(
        store
            .logs(&store.as_owner().unwrap())
            .iter()
            .all(|s| s.log != confidential)
    );
    assert_eq!(net.nodes[2].size(partners), Some(3));
    assert_eq!(net.nodes[2].size(confidential), Some(2));
    assert_eq!(net.nodes[2].size(regulators), None);

    // Every range served is in the author's disclosure log.
    let disclosures = net.nodes[0].node().store().disclosures(0, 100).unwrap();
    assert!(
        disclosures
            .iter()
            .any(|d| d.party == partner && d.compartment == partners.compartment)
    );
    assert!(
        disclosures
            .iter()
            .all(|d| d.party != partner || d.compartment != confidential.compartment)
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncleared_party_receives_only_public_and_learns_nothing_else() {
    let mut net = TestNet::new(2, 20).await;
    let author = &net.nodes[0];
    author.publish("public", &[control(1)]).await;
    author.publish("partners", &[control(2), control(3)]).await;
    author.publish("confidential", &[control(4)]).await;
    let (public, partners) = (author.log("public"), author.log("partners"));
    let author_did = author.did();
    net.nodes[1].connect(&net.nodes[0]).await;
    net.nodes[1].wait_synced(public, 1).await;

    // Its store holds the public log and nothing else of the author's.
    let held: Vec<_> = net.nodes[1]
        .node()
        .store()
        .logs(&net.nodes[1].node().store().as_owner().unwrap())
        .into_iter()
        .filter(|s| s.log.origin == author_did)
        .map(|s| s.log)
        .collect();
    assert_eq!(held, vec![public]);

    // Its answers to every request kind.
    let client = net.nodes[1].node().client();
    let client_did = net.nodes[1].did();
    let Response::Compartments(offers) = client
        .request(author_did, Request::Compartments)
        .await
        .unwrap()
    else {
        panic!("expected offers")
    };
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].compartment, public.compartment);

    let random = CompartmentId::random().unwrap();
    for compartment in [partners.compartment, author_confidential(&net), random] {
        let entries = Request::Entries {
            compartment,
            from: 0,
            max: 10,
            prove_to: None,
        };
        assert_eq!(
            client.request(author_did, entries).await.unwrap(),
            Response::NotFound
        );
        let consistency = Request::Consistency {
            compartment,
            old_size: 1,
            new_size: 2,
        };
        assert_eq!(
            client.request(author_did, consistency).await.unwrap(),
            Response::NotFound
        );
    }
    // A witness ask about a log it may not read, even one it could name,
    // gets no answer: for the author's own logs the gate decides.
    let ticket = vec![0; assure_net::witness::TICKET_LEN];
    let ask = assure_net::witness::ask(partners, client_did, author_did, &ticket).unwrap();
    let asks = assure_net::witness::padded(vec![ask]);
    assert_eq!(
        client
            .request(author_did, Request::Witness { asks })
            .await
            .unwrap(),
        Response::Witness(vec![])
    );
    assert!(
        net.nodes[0]
            .node()
            .store()
            .disclosures(0, 100)
            .unwrap()
            .is_empty()
    );
    net.stop().await;
}

fn author_confidential(net: &TestNet) -> CompartmentId {
    net.nodes[0].log("confidential").compartment
}
