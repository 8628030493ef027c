//! Nothing accepted is lost across SIGKILL, with real `assure run`
//! processes: an access request the approver's node acknowledged, the
//! requester's record of it and its follow-up, an approval, a webhook event
//! queued for delivery, and an alert acknowledgement each hold when the
//! node is killed right after and started again.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Node, eventually, free_port, json};
use crate::network::{Running, config};

/// The node's configuration with its API on `port`, so that it keeps its
/// address across restarts.
fn config_on(node: &Node, port: u16) -> String {
    config(node, None).replace("127.0.0.1:0\"", &format!("127.0.0.1:{port}\""))
}

fn start(node: &Node, port: u16) -> Running {
    let running = Running::start(node, &config_on(node, port));
    running.wait_for(&[&format!("api http://127.0.0.1:{port}")]);
    running
}

#[test]
fn an_access_request_and_its_approval_survive_sigkill_on_both_sides() {
    let (approver, approver_did) = Node::init("Northsea Logistics");
    let (requester, requester_did) = Node::init("Fjord Haulage");
    let (a_port, r_port) = (free_port(), free_port());
    let a = start(&approver, a_port);
    let r = start(&requester, r_port);
    let url = format!("http://127.0.0.1:{a_port}");
    let sent = json(&requester.ok(&[
        "request-access",
        &approver_did,
        "--url",
        &url,
        "--role",
        "supplier",
        "--purpose",
        "planning the road haulage",
        "--basis",
        "Haulage contract HC-2026-4",
        "--json",
    ]));
    let id = sent[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(sent[0]["status"], "pending", "{sent}");
    // Acknowledged by the approver's node: both are killed at once.
    a.kill();
    r.kill();
    let a = start(&approver, a_port);
    let r = start(&requester, r_port);
    let listed = json(&approver.ok(&["requests", "--json"]));
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == id.as_str() && q["party"] == requester_did.as_str()),
        "the request is still listed after SIGKILL: {listed}"
    );
    let ours = json(&requester.ok(&["requests", "--sent", "--json"]));
    assert_eq!(ours[0]["id"], id.as_str(), "{ours}");
    assert_eq!(ours[0]["status"], "pending", "{ours}");

    // Approved, and killed right after the command answered.
    let approved = json(&approver.ok(&["requests", "approve", &id, "--json"]));
    assert_eq!(approved[0]["status"], "approved", "{approved}");
    a.kill();
    let a = start(&approver, a_port);
    let grants = json(&approver.ok(&["grant", "list", "--json"]));
    let grant = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["party"] == requester_did.as_str())
        .unwrap_or_else(|| panic!("the grant survives SIGKILL: {grants}"));
    assert_eq!(grant["basis"], "Haulage contract HC-2026-4", "{grant}");
    let listed = json(&approver.ok(&["requests", "--all", "--json"]));
    assert_eq!(listed[0]["status"], "approved", "{listed}");
    // The requester's node, killed and started again, still follows the
    // request up on its own and learns the outcome.
    eventually("the requester's follow-up", 60, || {
        let ours = json(&requester.ok(&["requests", "--sent", "--json"]));
        ours[0]["status"] == "approved"
    });
    r.stop();
    a.stop();
}

/// Answers webhook posts with 200 on `listener`, sending each body on.
fn receive(listener: TcpListener) -> mpsc::Receiver<Value> {
    let (send, bodies) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if send.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    bodies
}

#[test]
fn a_queued_webhook_event_and_an_acknowledgement_survive_sigkill() {
    let (node, _) = Node::init("Harbour Logistics");
    let (_, partner) = Node::init("Helix Drives");
    let hook_port = free_port();
    let hook = format!("http://127.0.0.1:{hook_port}/assure");
    node.ok(&["webhook", "add", &hook]);
    // A grant ending within 30 days: an alert computed as the node starts,
    // whose event the receiver, not listening yet, cannot take.
    let until = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 10)).to_string();
    node.ok(&[
        "grant",
        "add",
        &partner,
        "--basis",
        "MSA-7",
        "--until",
        &until,
        "--unknown-party",
    ]);
    let port = free_port();
    let running = start(&node, port);
    let retrying = |hooks: &Value| {
        hooks["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "expiring-grant" && d["outcome"] == "retrying")
            .map(|d| d["event"].as_str().unwrap().to_owned())
    };
    let mut event = None;
    eventually("a failed first delivery", 30, || {
        event = retrying(&json(&node.ok(&["webhook", "list", "--json"])));
        event.is_some()
    });
    let event = event.unwrap();
    running.kill();

    // The receiver listens now; the event is delivered after the restart.
    let bodies = receive(TcpListener::bind(("127.0.0.1", hook_port)).unwrap());
    let running = start(&node, port);
    let got = bodies.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(got["id"], event.as_str(), "{got}");
    assert_eq!(got["kind"], "expiring-grant", "{got}");
    eventually("the delivery log to say delivered", 30, || {
        let hooks = json(&node.ok(&["webhook", "list", "--json"]));
        hooks["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["event"] == event.as_str() && d["outcome"] == "delivered")
    });

    // Acknowledged, then killed at once: it stays acknowledged.
    let out = node.ok(&["alert", "ack", &event]);
    assert!(out.contains("acknowledged"), "{out}");
    running.kill();
    let running = start(&node, port);
    let acked = json(&node.ok(&["alerts", "--acknowledged", "--json"]));
    assert!(
        acked["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == event.as_str()),
        "the acknowledgement survives SIGKILL: {acked}"
    );
    // Delivered once is enough: the restart sends it no more.
    assert!(bodies.recv_timeout(Duration::from_secs(2)).is_err());
    running.stop();
}
