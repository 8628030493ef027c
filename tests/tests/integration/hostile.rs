//! The API as a hostile party would try it, generated from the route table
//! (`assure_api::route_table`): every route, every path and query
//! parameter, filled with ids of compartments the caller may not read,
//! random ids, other organizations' DIDs, forged and foreign cursors, as an
//! anonymous caller, an ungranted party, a partner, a confidential
//! customer and a regulator. No answer may carry a byte of what the caller
//! may not read (markers, record ids, compartment ids, in plain text or
//! base64), forbidden and nonexistent must answer byte for byte alike, and
//! counts must count only what the caller may read. Every state-changing
//! route, tried the same way by every caller but the administrator (and by
//! a browser form without a session), is refused and changes nothing.

use std::collections::BTreeSet;

use assure_access::{Clearance, Compartment, CompartmentId, Role, Rule};
use assure_api::client::{Answer, Auth, Client};
use assure_model::Keypair;
use assure_tests::TestNode;
use assure_tests::base64_variants;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;

/// One compartment of the author's, who may read it, and what it holds.
struct Held {
    label: &'static str,
    id: CompartmentId,
    /// Record ids, hex.
    records: Vec<String>,
    /// The statement marker of each record.
    markers: Vec<String>,
}

/// The callers, in the order of `Held::readers`.
const CALLERS: [&str; 5] = [
    "anonymous",
    "ungranted",
    "partner",
    "confidential",
    "regulator",
];
/// The regulator's place in `CALLERS`.
const REGULATOR: usize = 4;

struct World {
    author: TestNode,
    client: Client,
    parties: Vec<Keypair>,
    held: Vec<Held>,
    /// For each compartment label, which callers may read it.
    readers: Vec<(&'static str, [bool; 5])>,
}

fn draft(marker: &str) -> String {
    format!(
        "kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"implemented\"\n\
         domain = \"cyber\"\nstatement = \"Monitored around the clock ({marker}).\"\n"
    )
}

async fn world() -> World {
    let author = TestNode::start_with(120, "hostile-author", |c| {
        if let Some(api) = c.api.as_mut() {
            // The suite sends thousands of requests as fast as it can.
            api.requests_per_second = 100_000;
        }
    })
    .await;
    let parties: Vec<Keypair> = (121..=124).map(|n| Keypair::from_seed([n; 32])).collect();
    let [ungranted, partner, confidential, regulator] = [0, 1, 2, 3].map(|i| parties[i].did());
    let _ = ungranted;
    author
        .grant(partner, Clearance::Partner, &[Role::Customer])
        .await;
    author
        .grant(confidential, Clearance::Confidential, &[Role::Customer])
        .await;
    author
        .grant(regulator, Clearance::Partner, &[Role::Regulator])
        .await;
    // An audience compartment naming the confidential customer alone.
    let store = author.node().store();
    store
        .create_compartment(
            author.node().keypair(),
            Compartment::new(
                CompartmentId::random().unwrap(),
                "for-customer",
                Rule::audience([confidential], []),
            )
            .unwrap(),
            Timestamp::now(),
        )
        .unwrap();
    author
        .publish(
            "public",
            &["kind = \"profile\"\nlegalName = \"Hostile Test Author\"\n".to_owned()],
        )
        .await;
    let mut held = Vec::new();
    for label in [
        "public",
        "partners",
        "confidential",
        "regulators",
        "for-customer",
    ] {
        let markers: Vec<String> = (0..3)
            .map(|n| format!("MARK{}{n}X", label.replace('-', "").to_uppercase()))
            .collect();
        let drafts: Vec<String> = markers.iter().map(|m| draft(m)).collect();
        let appended = author.publish(label, &drafts).await;
        held.push(Held {
            label,
            id: author.log(label).compartment,
            records: appended.iter().map(|a| a.id.to_string()).collect(),
            markers,
        });
    }
    let readers = vec![
        ("public", [true, true, true, true, true]),
        ("partners", [false, false, true, true, true]),
        ("confidential", [false, false, false, true, false]),
        ("regulators", [false, false, false, false, true]),
        ("for-customer", [false, false, false, true, false]),
    ];
    World {
        client: Client::new(&author.api()),
        author,
        parties,
        held,
        readers,
    }
}

impl World {
    fn auth(&self, caller: usize) -> Auth<'_> {
        match caller {
            0 => Auth::None,
            n => Auth::Sign(&self.parties[n - 1]),
        }
    }

    fn may_read(&self, caller: usize, label: &str) -> bool {
        self.readers
            .iter()
            .find(|(l, _)| *l == label)
            .is_some_and(|(_, who)| who[caller])
    }

    /// Everything `caller` must never receive.
    fn forbidden(&self, caller: usize) -> Vec<String> {
        let mut out = Vec::new();
        for held in self.held.iter().filter(|h| !self.may_read(caller, h.label)) {
            out.push(held.id.to_string());
            if held.label.contains('-') {
                // A label no page uses as an ordinary word.
                out.push(held.label.to_owned());
            }
            for (id, marker) in held.records.iter().zip(&held.markers) {
                out.push(id.clone());
                out.extend(base64_variants(marker));
                out.push(marker.clone());
            }
        }
        out
    }

    /// A GET as `caller`; the regulator says why it asks, as it must.
    async fn get(&self, path: &str, caller: usize) -> Answer {
        let purpose = (caller == REGULATOR).then_some("customs inspection 2026-7");
        self.client
            .send("GET", path, Vec::new(), self.auth(caller), purpose)
            .await
            .unwrap()
    }
}

/// The values to try for one path or query parameter.
fn values(world: &World, name: &str) -> Vec<String> {
    let random_did = Keypair::from_seed([250; 32]).did().to_string();
    let author = world.author.did().to_string();
    match name {
        "did" => {
            let mut dids = vec![author, random_did, "did:key:zNope".into(), "%ff".into()];
            dids.extend(world.parties.iter().map(|p| p.did().to_string()));
            dids
        }
        "id" => {
            let mut ids: Vec<String> = world
                .held
                .iter()
                .flat_map(|h| h.records.iter().cloned())
                .collect();
            ids.push("ab".repeat(32));
            ids.push("not-an-id".into());
            ids
        }
        "compartment" => {
            let mut ids: Vec<String> = world.held.iter().map(|h| h.id.to_string()).collect();
            ids.push("00".repeat(16));
            ids.push(CompartmentId::random().unwrap().to_string());
            ids.push("xyz".into());
            ids
        }
        "cursor" => vec![
            URL_SAFE_NO_PAD.encode([7u8; 64]),
            URL_SAFE_NO_PAD.encode([0u8; 64]),
            "garbage".into(),
        ],
        "kind" => vec!["control".into(), "profile".into(), "nonsense".into()],
        "domain" => vec!["cyber".into(), "physical".into(), "bogus".into()],
        "since" => vec!["2000-01-01T00:00:00Z".into(), "yesterday".into()],
        "limit" => vec!["1".into(), "0".into(), "100000".into()],
        "profile" => vec!["critical-supplier".into(), "nope".into()],
        _ => vec!["x".into()],
    }
}

/// The query parameters a route accepts, from the OpenAPI document.
fn query_params(openapi: &serde_json::Value, path: &str) -> Vec<String> {
    openapi["paths"][path]["get"]["parameters"]
        .as_array()
        .map(|params| {
            params
                .iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The concrete paths to try for one route: each path parameter filled
/// with each value, then each query parameter (one at a time, and the
/// compartment filter combined with each other one).
fn requests(world: &World, path: &'static str, queries: &[String]) -> Vec<String> {
    let mut bases = vec![path.to_owned()];
    for name in ["did", "id"] {
        let hole = format!("{{{name}}}");
        if path.contains(&hole) {
            bases = bases
                .iter()
                .flat_map(|b| {
                    values(world, name)
                        .into_iter()
                        .map(|v| b.replace(&hole, &v))
                        .collect::<Vec<_>>()
                })
                .collect();
        }
    }
    let mut out = Vec::new();
    for base in &bases {
        out.push(base.clone());
        for q in queries {
            for v in values(world, q) {
                out.push(format!("{base}?{q}={v}"));
                if q != "compartment" && queries.iter().any(|c| c == "compartment") {
                    for c in values(world, "compartment") {
                        out.push(format!("{base}?compartment={c}&{q}={v}"));
                    }
                }
            }
        }
    }
    out
}

fn same(a: &Answer, b: &Answer) -> bool {
    let headers = |x: &Answer| -> Vec<(String, Vec<u8>)> {
        x.headers
            .iter()
            .filter(|(n, _)| *n != "date")
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    };
    a.status == b.status && a.body == b.body && headers(a) == headers(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_parameter_reveals_nothing_forbidden() {
    let mut w = world().await;
    let openapi: serde_json::Value = serde_json::to_value(assure_api::openapi()).unwrap();
    let table = assure_api::route_table();
    // The table is what the router serves: every OpenAPI path is in it.
    for path in openapi["paths"].as_object().unwrap().keys() {
        assert!(
            table.iter().any(|r| r.path == path),
            "{path} is documented but not in the route table"
        );
    }
    let mut tried = 0;
    for route in &table {
        if !route.methods.contains(&"GET") {
            continue;
        }
        let queries = query_params(&openapi, route.path);
        for request in requests(&w, route.path, &queries) {
            for (caller, who) in CALLERS.iter().enumerate() {
                let answer = w.get(&request, caller).await;
                tried += 1;
                let text = String::from_utf8_lossy(&answer.body);
                let head = format!("{:?}", answer.headers);
                for secret in w.forbidden(caller) {
                    assert!(
                        !text.contains(&secret) && !head.contains(&secret),
                        "{} got `{secret}` from GET {request}: {} {text}",
                        who,
                        answer.status
                    );
                }
            }
        }
    }
    assert!(tried > 2_000, "only {tried} requests were tried");
    w.author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_answers_exactly_as_missing_on_every_route() {
    let mut w = world().await;
    let table = assure_api::route_table();
    let missing_record = "ab".repeat(32);
    let missing_compartment = CompartmentId::random().unwrap().to_string();
    let stranger = Keypair::from_seed([251; 32]).did().to_string();
    for (caller, who) in CALLERS.iter().enumerate() {
        for held in w.held.iter().filter(|h| !w.may_read(caller, h.label)) {
            for route in table.iter().filter(|r| r.methods.contains(&"GET")) {
                // A forbidden record id against an unknown one.
                if route.path.contains("{id}") {
                    let hidden = route.path.replace("{id}", &held.records[0]);
                    let unknown = route.path.replace("{id}", &missing_record);
                    let (a, b) = (w.get(&hidden, caller).await, w.get(&unknown, caller).await);
                    assert!(
                        same(&a, &b),
                        "{}: {hidden} and {unknown} differ: {} {:?} / {} {:?}",
                        who,
                        a.status,
                        a.body,
                        b.status,
                        b.body
                    );
                }
                // A forbidden compartment filter against an unknown one.
                if route.path.contains("/records") && !route.path.contains("{id}") {
                    let base = route.path.replace("{did}", &w.author.did().to_string());
                    let hidden = format!("{base}?compartment={}", held.id);
                    let unknown = format!("{base}?compartment={missing_compartment}");
                    let (a, b) = (w.get(&hidden, caller).await, w.get(&unknown, caller).await);
                    assert!(same(&a, &b), "{}: {hidden} / {unknown}", who);
                    // Regression: an unreadable compartment filter once
                    // returned every record of every compartment.
                    if a.status == 200 {
                        let page: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
                        assert_eq!(page["records"], serde_json::json!([]), "{hidden}");
                    }
                }
            }
        }
        // An organization the node knows (a grantee, named in a rule)
        // answers exactly as one it has never heard of.
        let known = w.parties[2].did().to_string();
        for route in table.iter().filter(|r| r.path.contains("{did}")) {
            if !route.methods.contains(&"GET") {
                continue;
            }
            let a = w.get(&route.path.replace("{did}", &known), caller).await;
            let b = w.get(&route.path.replace("{did}", &stranger), caller).await;
            assert!(same(&a, &b), "{} {}", who, route.path);
        }
    }
    w.author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_and_lists_count_only_what_the_caller_may_read() {
    let mut w = world().await;
    let token = w.author.admin_token();
    for (caller, who) in CALLERS.iter().enumerate() {
        let readable: Vec<&Held> = w
            .held
            .iter()
            .filter(|h| w.may_read(caller, h.label))
            .collect();
        // The profile record sits in `public` beside the three controls.
        let expected = readable.iter().map(|h| h.records.len()).sum::<usize>() + 1;
        let orgs: serde_json::Value =
            serde_json::from_slice(&w.get("/v1/orgs", caller).await.body).unwrap();
        assert_eq!(orgs[0]["records"], expected, "{}", who);
        let listed: serde_json::Value = serde_json::from_slice(
            &w.get(
                &format!("/v1/orgs/{}/records?limit=100", w.author.did()),
                caller,
            )
            .await
            .body,
        )
        .unwrap();
        assert_eq!(
            listed["records"].as_array().unwrap().len(),
            expected,
            "{}",
            who
        );
        let checkpoints: serde_json::Value =
            serde_json::from_slice(&w.get("/v1/checkpoints", caller).await.body).unwrap();
        let shown: BTreeSet<&str> = checkpoints
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["compartment"].as_str())
            .collect();
        let wanted: BTreeSet<String> = readable.iter().map(|h| h.id.to_string()).collect();
        assert_eq!(
            shown,
            wanted.iter().map(String::as_str).collect(),
            "{}",
            who
        );
    }
    // Regression: anonymous /metrics counted restricted compartments.
    let metrics = w.get("/metrics", 0).await;
    let text = String::from_utf8_lossy(&metrics.body);
    let gauge = |name: &str| -> i64 {
        text.lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {text}"))
    };
    assert_eq!(gauge("assure_records"), 4, "public profile + 3 controls");
    assert_eq!(gauge("assure_compartments"), 1);
    assert!(!text.contains("assure_peers"), "peers are the admin's");
    // Publishing more restricted records changes nothing an anonymous
    // scraper sees.
    w.author.publish("partners", &[draft("LATER")]).await;
    let again = w.get("/metrics", 0).await;
    let again = String::from_utf8_lossy(&again.body);
    assert!(again.contains("assure_records 4"));
    let admin = w
        .client
        .send("GET", "/metrics", Vec::new(), Auth::Bearer(&token), None)
        .await
        .unwrap();
    let admin = String::from_utf8_lossy(&admin.body);
    assert!(admin.contains("assure_records 17"), "{admin}");
    assert!(admin.contains("assure_peers"));
    w.author.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_metrics_count_no_restricted_data() {
    // The regression named in the issue, on its own: the counts an
    // anonymous scraper sees do not move when restricted data grows.
    let mut w = world().await;
    let before = w.get("/metrics", 0).await.body;
    w.author.publish("confidential", &[draft("MORE")]).await;
    let after = w.get("/metrics", 0).await.body;
    let figures = |body: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(body)
            .lines()
            .filter(|l| {
                ["assure_records", "assure_compartments", "assure_alerts"]
                    .iter()
                    .any(|g| l.starts_with(g))
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(figures(&before), figures(&after));
    w.author.stop().await;
}

/// What the administrator sees of the node's state: every admin GET route
/// without a path parameter, answered in full. Equal before and after
/// means nothing was changed.
async fn admin_view(w: &World, token: &str) -> Vec<(String, u16, Vec<u8>)> {
    let mut out = Vec::new();
    for route in assure_api::route_table() {
        let path = route.path;
        if !route.methods.contains(&"GET") || path.contains('{') || path == "/metrics" {
            continue;
        }
        if !path.starts_with("/v1/") || path == "/v1/openapi.json" {
            continue;
        }
        let answer = w
            .client
            .send("GET", path, Vec::new(), Auth::Bearer(token), None)
            .await
            .unwrap();
        out.push((
            path.to_owned(),
            answer.status.as_u16(),
            answer.body.to_vec(),
        ));
    }
    out
}

/// The state-changing routes anyone but the administrator may use.
const OPEN_WRITES: [(&str, &str); 3] = [
    ("POST", "/v1/access-requests"),
    ("POST", "/login"),
    ("POST", "/logout"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_caller_but_the_administrator_changes_anything_on_any_route() {
    let w = world().await;
    let token = w.author.admin_token();
    let before = admin_view(&w, &token).await;
    let addr: std::net::SocketAddr = w
        .author
        .api()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let party = w.parties[0].did().to_string();
    let bodies = [
        String::new(),
        "{}".to_owned(),
        serde_json::json!({
            "clearance": "secret", "roles": ["customer"], "party": party,
            "drafts": [draft("WRITE")], "compartment": "public", "confirm": true,
        })
        .to_string(),
    ];
    let form =
        format!("confirm=yes&party={party}&clearance=secret&role=customer&url=http://127.0.0.1:9/");
    let mut tried = 0;
    for route in assure_api::route_table() {
        for method in route.methods.iter().filter(|m| **m != "GET") {
            if OPEN_WRITES.contains(&(*method, route.path)) {
                continue;
            }
            let mut paths = requests(&w, route.path, &[]);
            paths = paths
                .into_iter()
                .map(|p| p.replace("{kind}", "control"))
                .collect();
            for path in &paths {
                for (caller, who) in CALLERS.iter().enumerate() {
                    let purpose = (caller == REGULATOR).then_some("customs inspection 2026-7");
                    for body in &bodies {
                        let answer = w
                            .client
                            .send(
                                method,
                                path,
                                body.clone().into_bytes(),
                                w.auth(caller),
                                purpose,
                            )
                            .await
                            .unwrap();
                        tried += 1;
                        assert!(
                            answer.status.is_client_error(),
                            "{who}: {method} {path} with {body:?} answered {}",
                            answer.status
                        );
                    }
                }
                // A browser's form post without a session or its token.
                let reply = assure_tests::http::send(
                    addr,
                    method,
                    path,
                    &[("content-type", "application/x-www-form-urlencoded")],
                    &form,
                )
                .await;
                tried += 1;
                assert!(
                    (400..500).contains(&reply.status),
                    "anonymous form {method} {path} answered {}",
                    reply.status
                );
            }
        }
    }
    assert!(tried > 500, "only {tried} requests were tried");
    assert!(
        before == admin_view(&w, &token).await,
        "a request without the administrator's credentials changed the node"
    );
    let mut w = w;
    w.author.stop().await;
}
