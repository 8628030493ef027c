//! `assure new KIND`: every kind's draft parses, and publishes after at most
//! filling in its `REQUIRED: …` values.

use assure_model::Kind;

use crate::common::{Node, record_ids};

/// The draft with every `REQUIRED: …` string replaced as its field needs.
fn filled(draft: &str, other: &str, record: &str) -> String {
    draft
        .lines()
        .map(|line| {
            let Some((key, _)) = line
                .split_once(" = \"REQUIRED")
                .filter(|_| !line.starts_with('#'))
            else {
                return line.to_owned();
            };
            let value = match key {
                "withdrawn" => record.to_owned(),
                "profileDigest" => "ab".repeat(32),
                _ => other.to_owned(),
            };
            format!("{key} = \"{value}\"")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_kind_has_a_draft_that_publishes() {
    let (node, did) = Node::init("Supplier");
    let (_, other) = Node::init("Customer");
    let mut published = None;
    for kind in Kind::ALL {
        let draft = node.ok(&["new", kind.as_str()]);
        let table: toml::Table = toml::from_str(&draft).unwrap();
        assert_eq!(table["kind"].as_str(), Some(kind.as_str()), "{draft}");
        let about_us = matches!(
            kind,
            Kind::Profile | Kind::Scope | Kind::Control | Kind::Incident
        );
        let required = draft
            .lines()
            .any(|l| !l.starts_with('#') && l.contains("= \"REQUIRED"));
        assert_eq!(!required, about_us, "{kind}: {draft}");
        assert!(draft.contains(&did), "{kind}: our DID is named");
        let text = if about_us {
            draft
        } else {
            filled(&draft, &other, published.as_deref().unwrap_or_default())
        };
        let file = node.file(&format!("{kind}.toml"), &text);
        let mut args = vec!["publish", &file];
        match kind {
            // The withdrawn record is the profile, in `public`.
            Kind::Profile | Kind::Withdrawal => args.extend(["-c", "public"]),
            Kind::Accreditation => args.extend(["-c", "public", "--share-wider"]),
            Kind::Verification => args.extend(["-c", "partners", "--share-wider"]),
            Kind::Scope | Kind::Control | Kind::Incident => args.extend(["-c", "partners"]),
            _ => {}
        }
        let out = node.ok(&args);
        if published.is_none() {
            published = record_ids(&out).into_iter().next();
        }
    }
    let listed = node.ok(&["records", "--json", "--limit", "100"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), Kind::ALL.len());
}

#[test]
fn a_control_draft_fills_the_control_asked_for() {
    let (node, _) = Node::init("Supplier");
    let draft = node.ok(&["new", "control", "--control", "ISO22340:10.2.1"]);
    assert!(draft.contains("controlId = \"ISO22340:10.2.1\""), "{draft}");
    let listing = node.ok(&["new", "control"]);
    assert!(listing.contains("#   ISO22340:9.2.4"), "{listing}");
    let err = node.fails(&["new", "control", "--control", "ISO22340:99"], 1);
    assert!(err.contains("not in the control catalog"), "{err}");
    let err = node.fails(&["new", "scope", "--control", "ISO22340:10.2.1"], 1);
    assert!(err.contains("--control is for"), "{err}");
    let err = node.fails(&["new", "memo"], 1);
    assert!(err.contains("profile, scope"), "{err}");

    let out = node.dir.path().join("scope.toml");
    node.ok(&["new", "scope", "--out", out.to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("kind = \"scope\"")
    );
    node.fails(&["new", "scope", "--out", out.to_str().unwrap()], 1);
}

#[test]
fn without_an_identity_a_draft_says_so() {
    let node = Node {
        dir: tempfile::tempdir().unwrap(),
    };
    let out = node.run(&["new", "relationship"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no identity"), "{stderr}");
    let draft = String::from_utf8(out.stdout).unwrap();
    assert!(
        draft.contains("supplier = \"REQUIRED: your did:key"),
        "{draft}"
    );
}
