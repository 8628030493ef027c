//! Signed requests bound to one node (README.md, "Signed requests"), over
//! real HTTP to real nodes: a signature is accepted once, by the node it
//! names, under any label, with the purpose it covers; a regulator says
//! why it asks; and an independent Python client signs from the README.

use assure_access::{Clearance, Role};
use assure_api::client::{Auth, Client, Target, signature_headers};
use assure_api::signature::Scheme;
use assure_model::Keypair;
use assure_tests::{TestNode, control, raw_request};
use serde_json::Value;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn target(authority: &str) -> Target {
    Target {
        scheme: Scheme::Http,
        authority: authority.to_owned(),
    }
}

/// A node whose API answers as `authority`, with a partner cleared for
/// confidential that may read one confidential record (its id returned).
async fn node_with_partner(
    seed: u8,
    authority: &'static str,
    partner: &Keypair,
) -> (TestNode, String) {
    let node = TestNode::start_with(seed, "author", answer_as(authority)).await;
    node.grant(partner.did(), Clearance::Confidential, &[Role::Customer])
        .await;
    let record = node.publish("confidential", &[control(seed.into())]).await;
    (node, record[0].id.to_string())
}

fn answer_as(authority: &'static str) -> impl FnOnce(&mut assure_node::NodeConfig) {
    move |config| {
        if let Some(api) = config.api.as_mut() {
            api.authorities = Some(vec![authority.to_owned()]);
        }
    }
}

fn address(node: &TestNode) -> std::net::SocketAddr {
    node.node().api_address().unwrap()
}

/// The TLP labels of the checkpoints in an answer to `GET /v1/checkpoints`
/// (compartment labels are the owner's alone): `confidential`, `partners`
/// and `public` are AMBER, GREEN and CLEAR.
fn labels(response: &str) -> Vec<String> {
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let checkpoints: Value = serde_json::from_str(body).unwrap();
    let mut labels: Vec<String> = checkpoints
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tlp"].as_str().unwrap().to_owned())
        .collect();
    labels.sort();
    labels
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_after_restart_is_refused() {
    let partner = Keypair::from_seed([121; 32]);
    let (mut node, record) = node_with_partner(120, "author.test:7100", &partner).await;
    let path = format!("/v1/orgs/{}/records", node.did());
    let headers = signature_headers(
        &partner,
        &target("author.test:7100"),
        "GET",
        &path,
        b"",
        None,
        now(),
    );
    let send = |node: &TestNode, headers: &[(&str, String)]| {
        raw_request(
            address(node),
            "author.test:7100",
            "GET",
            &path,
            headers,
            b"",
        )
    };
    assert_eq!(send(&node, &headers).0, 200);
    let (status, body) = send(&node, &headers);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("already used"), "{body}");

    // The replay cache is gone with the process; the rule that a signature
    // must be created after the node started is not.
    node.stop().await;
    node.start_again_with(answer_as("author.test:7100")).await;
    let (status, body) = send(&node, &headers);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("signed before this node started"), "{body}");

    // Signed again, it is answered at once.
    let fresh = signature_headers(
        &partner,
        &target("author.test:7100"),
        "GET",
        &path,
        b"",
        None,
        now(),
    );
    let (status, body) = send(&node, &fresh);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&record), "{body}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_to_another_node_is_refused() {
    let partner = Keypair::from_seed([131; 32]);
    let (mut b, _) = node_with_partner(130, "node-b.test:7100", &partner).await;
    let (mut c, _) = node_with_partner(132, "node-c.test:7100", &partner).await;
    let path = "/v1/checkpoints";
    let for_b = signature_headers(
        &partner,
        &target("node-b.test:7100"),
        "GET",
        path,
        b"",
        None,
        now(),
    );

    // Node B, having received the partner's request, replays it to C:
    // first with the Host it was signed for, then with C's.
    let (status, body) = raw_request(address(&c), "node-b.test:7100", "GET", path, &for_b, b"");
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("does not answer as `node-b.test:7100`"),
        "{body}"
    );
    let (status, body) = raw_request(address(&c), "node-c.test:7100", "GET", path, &for_b, b"");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("does not verify"), "{body}");
    assert!(!body.contains("confidential"), "{body}");

    // At B, where it was meant to go, it works (C's refusals did not use it up).
    let (status, body) = raw_request(address(&b), "node-b.test:7100", "GET", path, &for_b, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(labels(&body), ["TLP:AMBER", "TLP:CLEAR", "TLP:GREEN"]);

    // The same party signing for C directly is answered by C.
    let for_c = signature_headers(
        &partner,
        &target("node-c.test:7100"),
        "GET",
        path,
        b"",
        None,
        now(),
    );
    let (status, body) = raw_request(address(&c), "node-c.test:7100", "GET", path, &for_c, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(labels(&body), ["TLP:AMBER", "TLP:CLEAR", "TLP:GREEN"]);

    // A request whose Host is not one of C's names is refused however it
    // was signed.
    let for_ip = signature_headers(
        &partner,
        &target(&address(&c).to_string()),
        "GET",
        path,
        b"",
        None,
        now(),
    );
    let (status, body) = raw_request(
        address(&c),
        &address(&c).to_string(),
        "GET",
        path,
        &for_ip,
        b"",
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("does not answer as"), "{body}");
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_signature_label_is_accepted() {
    let partner = Keypair::from_seed([141; 32]);
    let (mut node, _) = node_with_partner(140, "author.test:7100", &partner).await;
    let path = "/v1/checkpoints";
    let send = |headers: &[(&str, String)]| {
        raw_request(
            address(&node),
            "author.test:7100",
            "GET",
            path,
            headers,
            b"",
        )
    };
    let sign = || {
        signature_headers(
            &partner,
            &target("author.test:7100"),
            "GET",
            path,
            b"",
            None,
            now(),
        )
    };
    for label in ["pyhms", "my-client.2", "*x"] {
        let mut headers = sign();
        headers[2].1 = headers[2].1.replacen("sig1=", &format!("{label}="), 1);
        headers[3].1 = headers[3].1.replacen("sig1=", &format!("{label}="), 1);
        let (status, body) = send(&headers);
        assert_eq!(status, 200, "{label}: {body}");
        assert_eq!(labels(&body), ["TLP:AMBER", "TLP:CLEAR", "TLP:GREEN"]);
    }

    // Different labels in the two headers, two signatures, or a label that
    // is not an RFC 8941 key: refused, saying why.
    let mut headers = sign();
    headers[3].1 = headers[3].1.replacen("sig1=", "sig2=", 1);
    let (status, body) = send(&headers);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("is not the label `sig1`"), "{body}");
    let mut headers = sign();
    let (other, _) = {
        let more = sign();
        (more[2].1.replacen("sig1=", "sig2=", 1), more[3].1.clone())
    };
    headers[2].1 = format!("{}, {other}", headers[2].1);
    let (status, body) = send(&headers);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("exactly one signature"), "{body}");
    let mut headers = sign();
    headers[2].1 = headers[2].1.replacen("sig1=", "Sig1=", 1);
    headers[3].1 = headers[3].1.replacen("sig1=", "Sig1=", 1);
    let (status, body) = send(&headers);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("Signature-Input"), "{body}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purpose_is_covered_by_the_signature() {
    let partner = Keypair::from_seed([151; 32]);
    let (mut node, _) = node_with_partner(150, "author.test:7100", &partner).await;
    let path = format!("/v1/orgs/{}/records", node.did());
    let send = |headers: &[(&str, String)]| {
        raw_request(
            address(&node),
            "author.test:7100",
            "GET",
            &path,
            headers,
            b"",
        )
    };
    let sign = |purpose: Option<&str>| {
        signature_headers(
            &partner,
            &target("author.test:7100"),
            "GET",
            &path,
            b"",
            purpose,
            now(),
        )
    };
    let purpose = "supplier audit 2026-07";
    let headers = sign(Some(purpose));
    assert_eq!(headers[4], ("assure-purpose", purpose.to_owned()));

    // The purpose changed on the way: the signature no longer verifies.
    let mut tampered = headers.clone();
    tampered[4].1 = "curiosity".into();
    let (status, body) = send(&tampered);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("does not verify"), "{body}");
    // Removed on the way: refused, the signature says there was one.
    let (status, body) = send(&headers[..4]);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("no Assure-Purpose header"), "{body}");
    // Added to a signature that does not cover it: refused, not ignored.
    let mut added = sign(None);
    added.push(("assure-purpose", "curiosity".into()));
    let (status, body) = send(&added);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("must cover \\\"assure-purpose\\\""), "{body}");

    // As signed: answered, and the disclosure log has the signed purpose.
    let (status, body) = send(&headers);
    assert_eq!(status, 200, "{body}");
    let token = node.admin_token();
    let log = Client::new(&node.api())
        .send(
            "GET",
            "/v1/admin/disclosures?limit=1000",
            Vec::new(),
            Auth::Bearer(&token),
            None,
        )
        .await
        .unwrap();
    let log: Value = serde_json::from_slice(&log.body).unwrap();
    let purposes: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["purpose"].as_str())
        .collect();
    assert!(purposes.contains(&purpose), "{log}");
    assert!(!purposes.contains(&"curiosity"), "{log}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regulator_without_purpose_is_refused() {
    let mut node = TestNode::start(160, "author").await;
    let (regulator, customer) = (Keypair::from_seed([161; 32]), Keypair::from_seed([162; 32]));
    node.grant(regulator.did(), Clearance::Partner, &[Role::Regulator])
        .await;
    node.grant(customer.did(), Clearance::Partner, &[Role::Customer])
        .await;
    let record = node.publish("regulators", &[control(160)]).await[0]
        .id
        .to_string();
    let client = Client::new(&node.api());
    let path = format!("/v1/orgs/{}/records", node.did());
    let get = |key, purpose| client.send("GET", &path, Vec::new(), Auth::Sign(key), purpose);

    let refused = get(&regulator, None).await.unwrap();
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.content_type.as_deref(),
        Some("application/problem+json")
    );
    let problem: Value = serde_json::from_slice(&refused.body).unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("regulator role must say why it asks: send an Assure-Purpose header"),
        "{problem}"
    );
    let blank = get(&regulator, Some(" ")).await.unwrap();
    assert_eq!(blank.status, 400);

    let answered = get(&regulator, Some("customs inspection 2026-114"))
        .await
        .unwrap();
    assert_eq!(answered.status, 200);
    assert!(String::from_utf8_lossy(&answered.body).contains(&record));
    // Parties without the regulator role need no purpose.
    assert_eq!(get(&customer, None).await.unwrap().status, 200);
    node.stop().await;
}

/// The README's profile, followed by another implementation: a Python
/// client (http-message-signatures, installed by tests/run.sh) signs with
/// an organization's `key.pem` and reads a partner's record from a real
/// node, which also refuses the same request sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_signs_from_the_readme() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let partner = Keypair::from_seed([171; 32]);
    assure_node::datadir::DataDir::new(&temp.path().join("partner"))
        .init("Partner", &partner, now())
        .unwrap();
    // The node answers as 127.0.0.1:PORT, the URL the client uses (the
    // default for a node listening there).
    let mut node = TestNode::start(170, "author").await;
    node.grant(partner.did(), Clearance::Confidential, &[Role::Customer])
        .await;
    let record = node.publish("confidential", &[control(170)]).await[0]
        .id
        .to_string();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/interop/signed_request.py");
    let key = temp
        .path()
        .join("partner")
        .join(assure_node::datadir::KEY_FILE);
    let path = format!("/v1/orgs/{}/records?kind=control", node.did());
    let mut python = std::process::Command::new("python3");
    python
        .arg(script)
        .arg(&key)
        .arg(node.api())
        .arg(&path)
        .arg("supplier review 2026-Q3")
        .arg(&record);
    let run = tokio::task::spawn_blocking(move || python.output());
    let out = tokio::time::timeout(assure_tests::TIMEOUT * 3, run)
        .await
        .expect("the Python client timed out")
        .unwrap()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the Python client (tests/interop/signed_request.py; tests/run.sh installs \
         http-message-signatures) failed:\n{text}"
    );
    assert!(text.contains("Signature-Input: py=("), "{text}");
    node.stop().await;
}
