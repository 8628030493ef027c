//! The read side of the dashboard over real HTTP, with three real nodes: a
//! maker, its supplier, and a regulator the supplier reports to. Record
//! pages (withdrawn, superseded, who reads, who received), coverage, the
//! organization page's search and pages, the graph's filter, the
//! regulator's home; forbidden and random ids answer as missing, and an
//! anonymous caller sees public data only. Then the same pages in a
//! browser (tests/browser/scenarios/views.mjs).

use assure_access::{Clearance, Role};
use assure_model::Keypair;
use assure_tests::{TestNode, audit, control, raw_request, relationship};
use serde_json::json;

/// Status and body of a GET, as the administrator or anonymously.
fn fetch(node: &TestNode, path: &str, admin: bool) -> (u16, String) {
    let api = node.node().api_address().unwrap();
    let headers = match admin {
        true => vec![("Authorization", format!("Bearer {}", node.admin_token()))],
        false => Vec::new(),
    };
    let (status, response) = raw_request(api, &api.to_string(), "GET", path, &headers, b"");
    let body = response[response.find("\r\n\r\n").unwrap() + 4..].to_owned();
    (status, body)
}

fn get(node: &TestNode, path: &str, admin: bool) -> String {
    let (status, body) = fetch(node, path, admin);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

struct World {
    maker: TestNode,
    supplier: TestNode,
    regulator: TestNode,
    /// The supplier's records, by what they are for.
    superseded: String,
    newer: String,
    withdrawn: String,
    private: String,
    /// The maker's relationship record.
    ours: String,
}

const NAME: &str = "Precision Castings BV";
const CONTROLS: usize = 55;

async fn world(seed: u8) -> World {
    let mut maker = TestNode::start(seed, "maker").await;
    let supplier = TestNode::start(seed + 1, "supplier").await;
    let mut regulator = TestNode::start(seed + 2, "regulator").await;
    let (m, s, r) = (maker.did(), supplier.did(), regulator.did());
    supplier
        .grant(m, Clearance::Partner, &[Role::Customer])
        .await;
    supplier
        .grant(r, Clearance::Confidential, &[Role::Regulator])
        .await;
    maker.grant(s, Clearance::Partner, &[Role::Supplier]).await;
    maker.connect(&supplier).await;
    regulator.connect(&supplier).await;
    maker.wait_synced(supplier.log("partners"), 0).await;
    regulator.wait_synced(supplier.log("regulators"), 0).await;
    supplier
        .publish(
            "public",
            &[format!("kind = \"profile\"\nlegalName = \"{NAME}\"\n")],
        )
        .await;
    let first = supplier
        .publish_wider(
            "partners",
            &[
                relationship(s, m, "machined housings"),
                "kind = \"scope\"\nprocesses = [\"machined housings\"]\n".into(),
                "kind = \"control\"\ncontrolId = \"ISO22340:7.2.4\"\nstatus = \"partial\"\n\
                 statement = \"Badges are collected on the last day.\"\n"
                    .into(),
                "kind = \"control\"\ncontrolId = \"ISO22340:10.2.2\"\nstatus = \"implemented\"\n\
                 statement = \"The gate is staffed at night (wrongly stated).\"\n"
                    .into(),
            ],
        )
        .await;
    let (superseded, withdrawn) = (first[2].id.to_string(), first[3].id.to_string());
    let second = supplier
        .publish_wider(
            "partners",
            &[
                format!(
                    "kind = \"control\"\ncontrolId = \"ISO22340:7.2.4\"\nstatus = \"implemented\"\n\
                     statement = \"Badges and accounts are withdrawn on the last day.\"\n\
                     supersedes = [\"{superseded}\"]\n"
                ),
                format!(
                    "kind = \"withdrawal\"\nwithdrawn = \"{withdrawn}\"\n\
                     reason = \"The night gate is not staffed yet.\"\n"
                ),
            ],
        )
        .await;
    let newer = second[0].id.to_string();
    let many: Vec<String> = (0..CONTROLS).map(control).collect();
    supplier.publish("partners", &many).await;
    supplier
        .publish_wider(
            "regulators",
            &[
                audit(s, "CERT-2026-7"),
                "kind = \"incident\"\ncategory = \"theft\"\nseverity = \"high\"\n\
                 summary = \"Trailer seal broken at the Venlo yard\"\n\
                 occurredAt = \"2026-11-20T03:10:00Z\"\ndetectedAt = \"2026-11-20T05:40:00Z\"\n\
                 status = \"open\"\n"
                    .into(),
            ],
        )
        .await;
    let private = first[1].id.to_string();
    let ours = maker
        .publish_wider("partners", &[relationship(s, m, "machined housings")])
        .await[0]
        .id
        .to_string();
    let partners = 4 + 2 + CONTROLS as u64;
    maker.wait_synced(supplier.log("partners"), partners).await;
    maker.wait_synced(supplier.log("public"), 1).await;
    regulator.wait_synced(supplier.log("regulators"), 2).await;
    World {
        maker,
        supplier,
        regulator,
        superseded,
        newer,
        withdrawn,
        private,
        ours,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_side_speaks_in_names_and_hides_what_it_must() {
    let w = world(140).await;
    let (maker, supplier) = (&w.maker, &w.supplier);
    let s = supplier.did();

    // A withdrawn record says so, with its reason; a superseded one links
    // to the newer; names, not DIDs; the statement only when asked.
    let page = get(maker, &format!("/records/{}", w.withdrawn), true);
    assert!(
        page.contains("Withdrawn by its issuer: The night gate is not staffed yet."),
        "{page}"
    );
    assert!(page.contains(&format!("{NAME} (")), "{page}");
    assert!(
        page.contains("<details><summary>Show the signed statement</summary>"),
        "{page}"
    );
    let page = get(maker, &format!("/records/{}", w.superseded), true);
    assert!(
        page.contains(&format!("href=\"/records/{}\"", w.newer)),
        "{page}"
    );
    assert!(page.contains("Superseded by"), "{page}");
    let page = get(maker, &format!("/records/{}", w.newer), true);
    assert!(
        !page.contains("Superseded by") && !page.contains("Withdrawn"),
        "{page}"
    );
    assert!(page.contains("Badges and accounts are withdrawn"), "{page}");
    // Another's record: no readers, no deliveries.
    assert!(!page.contains("Who can read it"), "{page}");

    // Our own record: who can read it and who has received it.
    let page = get(maker, &format!("/records/{}", w.ours), true);
    assert!(page.contains("Who can read it"), "{page}");
    assert!(page.contains("Who has received it"), "{page}");

    // Coverage: the catalog by domain, what was stated, a maturity level.
    let page = get(maker, &format!("/orgs/{s}/coverage"), true);
    assert!(page.contains("Maturity by domain"), "{page}");
    assert!(
        page.contains(&format!("href=\"/records/{}\"", w.newer)),
        "{page}"
    );
    assert!(
        !page.contains(&w.superseded) && !page.contains(&w.withdrawn),
        "{page}"
    );
    assert!(page.contains("not stated"), "{page}");
    let ours = get(maker, "/coverage", true);
    assert!(ours.contains("Maturity by domain"), "{ours}");

    // The organization page: latest per control, pages, search.
    let page = get(maker, &format!("/orgs/{s}"), true);
    assert!(
        page.contains("Controls: the latest statement of each"),
        "{page}"
    );
    assert!(page.contains("machined housings"), "{page}");
    let next = page
        .split("rel=\"next\"")
        .next()
        .and_then(|head| head.rsplit("href=\"").next())
        .map(|link| link.split('"').next().unwrap().replace("&amp;", "&"))
        .unwrap();
    assert!(next.contains("cursor="), "{next}");
    let rest = get(maker, &next, true);
    assert!(rest.contains("/records/"), "{rest}");
    assert!(
        !rest.contains("rel=\"next\""),
        "the second page is the last: {rest}"
    );
    let found = get(maker, &format!("/orgs/{s}?q=badges+nowhere"), true);
    assert!(found.contains("No records match"), "{found}");
    let found = get(maker, &format!("/orgs/{s}?q=BADGES"), true);
    assert!(found.contains(&format!("/records/{}", w.newer)), "{found}");
    let found = get(
        maker,
        &format!("/orgs/{s}?clause=ISO22340:7.2.4&kind=control"),
        true,
    );
    assert!(
        found.contains(&w.superseded) && found.contains(&w.newer),
        "{found}"
    );
    let found = get(maker, &format!("/orgs/{s}?kind=scope"), true);
    assert!(found.contains("machined housings"), "{found}");
    let (status, bad) = fetch(maker, &format!("/orgs/{s}?kind=nonsense"), true);
    assert_eq!(status, 400, "{bad}");
    assert!(bad.contains("Not a kind of record"), "{bad}");

    // The graph's filter, by the verdict the graph gives the supplier.
    let admin_graph = get(maker, "/", true);
    let link = format!("<a href=\"/orgs/{s}\">");
    assert!(admin_graph.contains(&link), "{admin_graph}");
    let verdict = ["pass", "fail", "inconclusive", "none"]
        .into_iter()
        .find(|v| get(maker, &format!("/?verdict={v}"), true).contains(&link))
        .expect("the supplier has one verdict");
    for other in ["pass", "fail", "inconclusive", "none"]
        .into_iter()
        .filter(|v| *v != verdict)
    {
        let page = get(maker, &format!("/?verdict={other}"), true);
        assert!(!page.contains(&link), "{other}: {page}");
    }
    assert!(admin_graph.contains("<title>"), "{admin_graph}");

    // The regulator's home lists the supplier, its certification and its
    // open incident; the maker supervises no one.
    let home = get(&w.regulator, "/supervised", true);
    assert!(home.contains(&s.fmt_short()), "{home}");
    assert!(home.contains("ISO 28000:2022"), "{home}");
    assert!(
        home.contains("Trailer seal broken at the Venlo yard"),
        "{home}"
    );
    let none = get(maker, "/supervised", true);
    assert!(none.contains("No operator has granted"), "{none}");

    // Forbidden answers exactly as missing, on every view and parameter.
    let random_did = Keypair::from_seed([201; 32]).did();
    let random_id = "ab".repeat(32);
    let missing = fetch(supplier, &format!("/records/{random_id}"), false);
    assert_eq!(missing.0, 404);
    for path in [
        format!("/records/{}", w.private),
        format!("/records/{}", w.withdrawn),
        format!("/orgs/{random_did}"),
        format!("/orgs/{random_did}/coverage"),
        "/supervised".into(),
        format!("/records/{}", "zz"),
    ] {
        assert_eq!(fetch(supplier, &path, false), missing, "{path}");
    }
    // The maker's replicas are its author's alone: anonymously, the
    // supplier is not found at the maker's node.
    for path in [
        format!("/orgs/{s}"),
        format!("/orgs/{s}/coverage"),
        format!("/records/{}", w.newer),
    ] {
        assert_eq!(fetch(maker, &path, false), missing, "{path}");
    }
    // Anonymous at the supplier: the public profile, nothing else.
    let public = get(supplier, &format!("/orgs/{s}"), false);
    assert!(public.contains(NAME), "{public}");
    for secret in ["machined housings", "Badges", "monitored around the clock"] {
        assert!(
            !public.contains(secret),
            "{secret} shown to anyone: {public}"
        );
    }
    let public = get(supplier, &format!("/orgs/{s}/coverage"), false);
    assert!(
        !public.contains("Badges") && !public.contains("/records/"),
        "{public}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_side_passes_the_browser_checks() {
    let w = world(150).await;
    let nodes = json!({
        "maker": { "url": w.maker.api(), "token": w.maker.admin_token(), "did": w.maker.did().to_string() },
        "regulator": { "url": w.regulator.api(), "token": w.regulator.admin_token() },
        "supplier": { "did": w.supplier.did().to_string(), "name": NAME },
        "withdrawn": w.withdrawn,
        "superseded": w.superseded,
        "newer": w.newer,
        "ours": w.ours,
    });
    tokio::task::spawn_blocking(move || assure_tests::browser::scenario("views", &nodes))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_made_regulator_finds_the_operator_supervised() {
    // The regulator pulls the supplier's partner log as a customer first;
    // granted the regulator role later, the replica it holds already is
    // relabelled and the supplier appears on its home.
    let mut supplier = TestNode::start(231, "supplier").await;
    let mut regulator = TestNode::start(232, "regulator").await;
    let r = regulator.did();
    supplier
        .grant(r, Clearance::Partner, &[Role::Customer])
        .await;
    regulator.connect(&supplier).await;
    let partners = supplier.log("partners");
    supplier.publish("partners", &[control(1)]).await;
    regulator.wait_synced(partners, 1).await;
    let before = get(&regulator, "/supervised", true);
    assert!(before.contains("No operator has granted"), "{before}");

    supplier
        .grant(r, Clearance::Partner, &[Role::Regulator])
        .await;
    supplier.publish("partners", &[control(2)]).await;
    regulator.wait_synced(partners, 2).await;
    let short = supplier.did().fmt_short();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let home = get(&regulator, "/supervised", true);
        if home.contains(&short) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{home}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    supplier.stop().await;
    regulator.stop().await;
}
