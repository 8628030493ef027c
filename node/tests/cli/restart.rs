//! Peers that come back, with real `assure run` processes: a hub killed
//! with SIGKILL and started again with the same configuration file gets
//! every partner back, and an incident written while it was down reaches
//! the affected partner, as the hub's `/metrics` confirms to its operator.

use std::time::Instant;

use crate::common::{Node, example, free_port};
use crate::network::{Running, compartment_id, config};

/// `GET /metrics` from the API at `address`, with the admin token or
/// without; the body.
fn metrics(address: &str, token: Option<&str>) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request =
        format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

fn compartment_ids(node: &Node) -> Vec<String> {
    let listed: serde_json::Value =
        serde_json::from_str(&node.ok(&["compartments", "--json"])).unwrap();
    let ids = listed.as_array().unwrap().iter();
    ids.map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_hub_killed_with_sigkill_gets_its_partners_back() {
    let (hub, hub_did) = Node::init("Logistics");
    let partners: Vec<(Node, String)> = ["Manufacturer", "Supplier", "Carrier"]
        .iter()
        .map(|n| Node::init(n))
        .collect();
    for (_, did) in &partners {
        hub.ok(&[
            "grant",
            "add",
            "--unknown-party",
            did,
            "--role",
            "customer",
            "--basis",
            "MSA-2026-7",
        ]);
    }
    hub.ok(&[
        "publish",
        &example("scope.toml"),
        "--compartment",
        "partners",
    ]);
    let partners_log = compartment_id(&hub, "partners");

    // The hub names its port, as a deployed node does; its partners
    // bootstrap to it and to no one else.
    let address = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let hub_config = config(&hub, None).replace("/ip4/127.0.0.1/tcp/0", &address);
    let running_hub = Running::start(&hub, &hub_config);
    running_hub.wait_for(&["listening", &address]);
    let running: Vec<Running> = partners
        .iter()
        .map(|(node, _)| Running::start(node, &config(node, Some((&hub_did, &address)))))
        .collect();
    for partner in &running {
        partner.wait_for(&["synced", &hub_did, &partners_log, " 1"]);
    }
    let connected: Vec<[&str; 2]> = partners.iter().map(|(_, d)| ["connected", d]).collect();
    let wanted: Vec<&[&str]> = connected.iter().map(|w| &w[..]).collect();
    running_hub.wait_for_each(&wanted);

    running_hub.kill();
    for partner in &running {
        partner.wait_for(&["disconnected", &hub_did]);
    }
    // While it is down, the hub's operator records an incident that
    // concerns the first partner.
    let before = compartment_ids(&hub);
    let incident = hub.file(
        "incident.toml",
        format!(
            "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
             status = \"open\"\nsummary = \"Seal mismatch on a trailer\"\n\
             occurredAt = 2026-11-18T23:40:00Z\ndetectedAt = 2026-11-19T06:15:00Z\n\
             affected = [\"{}\"]\n",
            partners[0].1
        ),
    );
    hub.ok(&["publish", &incident]);
    let audience = compartment_ids(&hub)
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("the incident's own compartment");

    // Same configuration file, no change: every partner is back within 30 s.
    let started = Instant::now();
    let running_hub = Running::start(&hub, &hub_config);
    let mut wanted_and_api = wanted.clone();
    wanted_and_api.push(&["api http://"]);
    let lines = running_hub.wait_for_each(&wanted_and_api);
    running[0].wait_for(&["synced", &hub_did, &audience, " 1"]);
    eprintln!(
        "partners back and incident delivered {:?} after the restart",
        started.elapsed()
    );

    // The hub's operator sees every partner connected and nothing left
    // undelivered, and no one else sees those figures.
    let api = lines
        .iter()
        .find_map(|l| l.strip_prefix("api http://"))
        .expect("the API address");
    let token = std::fs::read_to_string(hub.data().join("admin.token")).unwrap();
    let scrape = metrics(api, Some(token.trim()));
    for (gauge, value) in [
        ("assure_peers", 3),
        ("assure_grantees_never_connected", 0),
        ("assure_undelivered_notices", 0),
    ] {
        assert!(
            scrape.lines().any(|l| l == format!("{gauge} {value}")),
            "{gauge} is not {value}: {scrape}"
        );
    }
    let anonymous = metrics(api, None);
    assert!(
        !anonymous.contains("assure_undelivered_notices") && !anonymous.contains("assure_peers ")
    );

    for partner in running {
        partner.stop();
    }
    running_hub.stop();
}
