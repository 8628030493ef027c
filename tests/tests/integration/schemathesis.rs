//! The OpenAPI document is the contract, checked by an outside tester:
//! Schemathesis (PyPI, installed by tests/run.sh) derives requests from the
//! document the node serves and runs every check and every phase it has
//! (examples, coverage, fuzzing, stateful) against a real node with data
//! over HTTP, anonymously and with the admin token. Any failure it reports
//! (a 5xx, a status, media type, header or body the document does not
//! state, schema-valid input refused, invalid input accepted, an admin
//! route that ignores its token) fails this test with Schemathesis's own
//! report. Its configuration and hooks are in tests/schemathesis/.

use std::process::Command;

use assure_access::{Clearance, Role};
use assure_api::client::Auth;
use assure_model::Keypair;
use assure_tests::{TestNode, control, relationship};

/// Requests per operation and phase: enough to find what the document
/// leaves unsaid, bounded so that a run takes about a minute on 2 cores.
const MAX_EXAMPLES: &str = "25";

fn installed() -> bool {
    Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `schemathesis run` with the document in `schema` against the node
/// at `base`, with `extra` arguments; the report when it found anything.
async fn schemathesis(
    schema: &std::path::Path,
    base: &str,
    extra: Vec<String>,
) -> Result<(), String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/schemathesis");
    let seed = std::env::var("ASSURE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261202".into());
    let scratch = tempfile::tempdir().unwrap();
    let (schema, base) = (schema.to_owned(), base.to_owned());
    let storage = scratch.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .current_dir(dir)
            // Hypothesis keeps its caches there, not in the repository.
            .env("HYPOTHESIS_STORAGE_DIRECTORY", storage)
            .arg("run")
            .arg(&schema)
            .args([
                "--url",
                &base,
                "--checks",
                "all",
                "--max-examples",
                MAX_EXAMPLES,
            ])
            .args(["--workers", "2", "--seed", &seed, "--no-color"])
            .args(["--generation-database", "none", "--request-timeout", "10"])
            .args(extra)
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    match output.status.success() {
        true => Ok(()),
        false => Err(report),
    }
}

/// A node with records in each of its compartments, a relationship with a
/// provider, grants, and an access request: something for every route to
/// find.
async fn node_with_data() -> TestNode {
    let profiles = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/profiles");
    let node = TestNode::start_with(130, "schemathesis", |c| {
        c.verify.default_profile = Some(format!("{profiles}/component-supplier.toml").into());
        if let Some(api) = c.api.as_mut() {
            // The tester is one address; it is not here to measure the
            // rate limit (tests/tests/integration/api.rs does).
            api.requests_per_second = 100_000;
        }
    })
    .await;
    let (provider, customer) = (Keypair::from_seed([131; 32]), Keypair::from_seed([132; 32]));
    node.grant(customer.did(), Clearance::Confidential, &[Role::Customer])
        .await;
    node.grant(provider.did(), Clearance::Partner, &[Role::Supplier])
        .await;
    node.publish(
        "public",
        &["kind = \"profile\"\nlegalName = \"Schemathesis Components GmbH\"\n".to_owned()],
    )
    .await;
    node.publish("partners", &[control(1), control(2)]).await;
    node.publish("confidential", &[control(3)]).await;
    node.publish_to(
        assure_node::publish::Placement::default(),
        &[relationship(
            provider.did(),
            node.did(),
            "machined gearbox housings",
        )],
    )
    .await;
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure_anonymously_or_with_the_admin_token() {
    if !installed() {
        eprintln!("skipped: schemathesis is not installed (tests/run.sh installs it from PyPI)");
        return;
    }
    let mut node = node_with_data().await;
    // The document as the node serves it, fetched once: the admin token is
    // refused on /v1/openapi.json, as on every /v1 route but the admin's.
    let base = node.api();
    let document = assure_api::client::Client::new(&base)
        .send("GET", "/v1/openapi.json", Vec::new(), Auth::None, None)
        .await
        .unwrap();
    assert_eq!(document.status, 200);
    let schema = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(schema.path(), &document.body).unwrap();
    let anonymous = schemathesis(schema.path(), &base, Vec::new()).await;
    let admin = schemathesis(
        schema.path(),
        &base,
        vec![
            "--header".into(),
            format!("Authorization: Bearer {}", node.admin_token()),
            "--include-path-regex".into(),
            "^/(v1/admin|metrics)".into(),
        ],
    )
    .await;
    node.stop().await;
    if let Err(report) = anonymous {
        panic!("schemathesis, anonymous, found failures:\n{report}");
    }
    if let Err(report) = admin {
        panic!("schemathesis, with the admin token, found failures:\n{report}");
    }
}

/// Regressions Schemathesis found, each tried over real HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_method_on_a_probe_was_a_csrf_refusal_not_405() {
    let mut node = TestNode::start(133, "undeclared-method").await;
    let client = assure_api::client::Client::new(&node.api());
    for path in ["/healthz", "/readyz", "/metrics"] {
        for method in ["QUERY", "POST", "PUT", "PATCH", "DELETE"] {
            let answer = client
                .send(method, path, Vec::new(), Auth::None, None)
                .await
                .unwrap();
            assert_eq!(answer.status, 405, "{method} {path}");
            assert!(answer.headers.contains_key("allow"), "{method} {path}");
        }
    }
    // Dashboard pages still refuse every state-changing request without
    // the session's CSRF token, whether the page serves the method or not.
    for (method, path) in [("POST", "/grants"), ("POST", "/coverage"), ("QUERY", "/")] {
        let answer = client
            .send(method, path, Vec::new(), Auth::None, None)
            .await
            .unwrap();
        assert_eq!(answer.status, 403, "{method} {path}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_did_that_is_no_key_was_400_on_two_admin_routes_and_404_elsewhere() {
    let mut node = TestNode::start(134, "path-did").await;
    let token = node.admin_token();
    let client = assure_api::client::Client::new(&node.api());
    // The shape of a did:key, but no point on the curve.
    let no_key = format!("did:key:z6Mke{}", "1".repeat(43));
    assert!(no_key.parse::<assure_model::Did>().is_err());
    let body = br#"{"clearance":"partner","basis":"NDA","unknownParty":true}"#.to_vec();
    for (method, path, body) in [
        ("PUT", format!("/v1/admin/grants/{no_key}"), body),
        ("DELETE", format!("/v1/admin/grants/{no_key}"), Vec::new()),
        (
            "POST",
            format!("/v1/admin/verify/{no_key}"),
            b"name = \"x\"".to_vec(),
        ),
    ] {
        let answer = client
            .send(method, &path, body, Auth::Bearer(&token), None)
            .await
            .unwrap();
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json")
        );
    }
    let public = client
        .send(
            "GET",
            &format!("/v1/orgs/{no_key}/records"),
            Vec::new(),
            Auth::None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(public.status, 404);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_log_limit_out_of_range_was_clamped_not_refused() {
    let mut node = TestNode::start(135, "deliveries-limit").await;
    let token = node.admin_token();
    let client = assure_api::client::Client::new(&node.api());
    for (limit, status) in [("0", 400), ("1001", 400), ("1", 200), ("1000", 200)] {
        let answer = client
            .send(
                "GET",
                &format!("/v1/admin/webhooks/deliveries?limit={limit}"),
                Vec::new(),
                Auth::Bearer(&token),
                None,
            )
            .await
            .unwrap();
        assert_eq!(answer.status, status, "limit={limit}");
    }
    node.stop().await;
}
