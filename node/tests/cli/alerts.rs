//! Alerts as the operator works with them from the command line: a
//! certification of us ending soon is an alert computed when read, it is
//! acknowledged by the CLI user and filtered, and webhooks are registered
//! and removed; bad input is refused with a clear message.

use assure_model::{Keypair, SubjectRef, issue};

use crate::common::Node;

/// A certification audit of `subject` by `auditor`, valid for `days` more.
fn certification(auditor: &Keypair, subject: &str, days: i64) -> Vec<u8> {
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days);
    let draft = assure_model::Draft::from_toml(&format!(
        "kind = \"audit\"\nsubject = \"{subject}\"\nstandard = \"ISO 28000:2022\"\n\
         auditType = \"certification\"\nresult = \"certified\"\n\
         certificateNumber = \"C-7781\"\nvalidUntil = \"{until}\"\n\
         period = {{ from = 2026-10-01, to = 2026-10-20 }}\n"
    ))
    .unwrap();
    let catalog = assure_model::Catalog::builtin().clone();
    let (subject, predicate) = draft
        .into_predicate(auditor.did(), jiff::Timestamp::now(), &catalog)
        .unwrap();
    let subject: SubjectRef = subject;
    issue(auditor, &subject, &predicate).unwrap().0
}

fn alerts(node: &Node, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["alerts", "--json"];
    all.extend_from_slice(args);
    let out: serde_json::Value = serde_json::from_str(&node.ok(&all)).unwrap();
    out["alerts"].as_array().unwrap().clone()
}

#[test]
fn an_expiring_certification_is_an_alert_acknowledged_from_the_cli() {
    let (node, us) = Node::init("Harbour Logistics");
    let auditor = Keypair::from_seed([41; 32]);
    let soon = node.file("soon.json", certification(&auditor, &us, 20));
    let later = node.file("later.json", certification(&auditor, &us, 200));
    node.ok(&["publish", &soon, &later, "--envelope", "-c", "partners"]);

    let listed = alerts(&node, &[]);
    let expiring: Vec<_> = listed
        .iter()
        .filter(|a| a["kind"] == "expiring-certification")
        .collect();
    assert_eq!(
        expiring.len(),
        1,
        "only the one ending within 60 days: {listed:?}"
    );
    let alert = expiring[0];
    assert_eq!(alert["computed"], true, "{alert}");
    assert_eq!(alert["origin"], us.as_str());
    assert!(
        alert["detail"].as_str().unwrap().contains("C-7781"),
        "{alert}"
    );
    assert!(alert["acknowledged"].is_null(), "{alert}");
    let id = alert["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    // Computed again, it is the same alert.
    assert_eq!(
        alerts(&node, &["--kind", "expiring-certification"])[0]["id"],
        id.as_str()
    );

    let out = node.ok(&["alert", "ack", &id[..12]]);
    assert!(out.contains("acknowledged"), "{out}");
    assert!(
        alerts(&node, &["--unacknowledged"])
            .iter()
            .all(|a| a["id"] != id.as_str())
    );
    let acked = alerts(&node, &["--acknowledged"]);
    assert_eq!(acked.len(), 1, "{acked:?}");
    assert!(
        acked[0]["acknowledged"]["by"]
            .as_str()
            .unwrap()
            .starts_with("cli:"),
        "{acked:?}"
    );
    assert!(alerts(&node, &["--org", &auditor.did().to_string()]).is_empty());

    let again = node.fails(&["alert", "ack", &id], 1);
    assert!(again.contains("acknowledged already"), "{again}");
    let unknown = node.fails(&["alert", "ack", "0123456789abcdef"], 1);
    assert!(unknown.contains("no alert"), "{unknown}");
    let short = node.fails(&["alert", "ack", "abc"], 1);
    assert!(short.contains("not an alert id"), "{short}");
    let kind = node.fails(&["alerts", "--kind", "fire"], 1);
    assert!(kind.contains("not an alert kind"), "{kind}");
    let org = node.fails(&["alerts", "--org", "Harbour"], 1);
    assert!(org.contains("did:key"), "{org}");
}

#[test]
fn webhooks_are_registered_listed_and_removed() {
    let (node, _) = Node::init("Harbour Logistics");
    for (url, why) in [
        ("ftp://127.0.0.1/hook", "not an http:// URL"),
        ("http://user:pw@127.0.0.1/hook", "password"),
        ("https://receiver.example/hook", "proxy"),
    ] {
        let err = node.fails(&["webhook", "add", url], 1);
        assert!(err.contains(why), "{url}: {err}");
    }
    let listed = |node: &Node| -> serde_json::Value {
        serde_json::from_str(&node.ok(&["webhook", "list", "--json"])).unwrap()
    };
    assert_eq!(listed(&node)["webhooks"], serde_json::json!([]));

    node.ok(&["webhook", "add", "http://127.0.0.1:9/assure"]);
    let twice = node.fails(&["webhook", "add", "http://127.0.0.1:9/assure"], 1);
    assert!(twice.contains("registered already"), "{twice}");
    let hooks = listed(&node);
    assert_eq!(
        hooks["webhooks"][0]["url"], "http://127.0.0.1:9/assure",
        "{hooks}"
    );
    assert!(
        hooks["webhooks"][0]["added_by"]
            .as_str()
            .unwrap()
            .starts_with("cli:"),
        "{hooks}"
    );

    let gone = node.fails(&["webhook", "remove", "http://127.0.0.1:9/other"], 1);
    assert!(gone.contains("no webhook"), "{gone}");
    node.ok(&["webhook", "remove", "http://127.0.0.1:9/assure"]);
    assert_eq!(listed(&node)["webhooks"], serde_json::json!([]));
}
