//! Peers that come back, with real `assure run` processes: a hub killed
//! with SIGKILL and started again with the same configuration file gets
//! every partner back, and an incident written while it was down reaches
//! the affected partner.

use std::time::Instant;

use crate::common::{Node, example};
use crate::network::{Running, compartment_id, config};

/// A loopback port no one listens on now, for a hub that keeps its address.
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
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
    running_hub.wait_for_each(&wanted);
    running[0].wait_for(&["synced", &hub_did, &audience, " 1"]);
    eprintln!(
        "partners back and incident delivered {:?} after the restart",
        started.elapsed()
    );

    for partner in running {
        partner.stop();
    }
    running_hub.stop();
}
