//! Sharing per relationship with the real binary (DESIGN.md §3): `assure
//! compartment add`, the listing with readers by name, the default
//! compartment of a record about one counterparty, and the refusal of a
//! record naming a third party where others can read it, unless
//! `--share-wider`; the same with the node running, through its API.

use crate::common::{Node, record_ids};
use crate::network::{Running, config};

fn relationship(node: &Node, name: &str, supplier: &str, customer: &str) -> String {
    node.file(
        name,
        format!(
            "kind = \"relationship\"\nsupplier = \"{supplier}\"\ncustomer = \"{customer}\"\n\
             supplies = [\"machined gearbox housings\"]\nsince = 2024-01-01\n"
        ),
    )
}

/// `node`'s own profile, published into its `public` compartment, as the
/// envelope another organization can import.
fn profile_envelope(node: &Node, legal_name: &str) -> String {
    let draft = node.file(
        "profile.toml",
        format!("kind = \"profile\"\nlegalName = \"{legal_name}\"\n"),
    );
    node.ok(&["publish", &draft, "--compartment", "public"]);
    let out = node.dir.path().join("export-public");
    node.ok(&[
        "export",
        "--compartment",
        "public",
        "--out",
        out.to_str().unwrap(),
    ]);
    out.join("entries/0.json").to_str().unwrap().to_owned()
}

fn short(did: &str) -> String {
    format!("z6Mk…{}", &did[did.len() - 6..])
}

#[test]
fn compartment_add_lists_readers_by_name_and_publishing_follows_the_audience() {
    let (supplier, supplier_did) = Node::init("Kessler Precision Components AG");
    let (helix, helix_did) = Node::init("Helix Drives GmbH");
    let (_, other_did) = Node::init("Other Customer SA");
    for customer in [&helix_did, &other_did] {
        supplier.ok(&[
            "grant",
            "add",
            "--unknown-party",
            customer,
            "--role",
            "customer",
            "--basis",
            "Framework agreement",
        ]);
    }

    let made = supplier.ok(&["compartment", "add", "helix", "--reader", &helix_did]);
    assert!(
        made.contains("helix") && made.contains("TLP:AMBER+STRICT"),
        "{made}"
    );
    let again = supplier.run(&["compartment", "add", "helix", "--reader", &helix_did]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    for (args, expected) in [
        (
            vec!["compartment", "add", "helix2", "--reader", &helix_did],
            "already readable by exactly these readers; publish with `--compartment helix`",
        ),
        (
            vec!["compartment", "add", "helix", "--reader", &other_did],
            "exists with another rule",
        ),
        (
            vec!["compartment", "add", "self", "--reader", &supplier_did],
            "this organization itself",
        ),
        (
            vec![
                "compartment",
                "add",
                "wide",
                "--reader",
                &helix_did,
                "--role",
                "customer",
            ],
            "only `regulator` may read beside named readers",
        ),
        (
            vec![
                "compartment",
                "add",
                "open",
                "--reader",
                &helix_did,
                "--min-clearance",
                "public",
            ],
            "partner or higher",
        ),
        (
            vec!["compartment", "add", "x", "--reader", "did:web:x"],
            "not a did:key",
        ),
    ] {
        let before = supplier.snapshot();
        let error = supplier.fails(&args, 1);
        assert!(error.contains(expected), "{args:?}: {error}");
        assert_eq!(supplier.snapshot(), before);
    }
    let out = supplier.run(&["compartment", "add", "nobody"]);
    assert_eq!(out.status.code(), Some(1), "--reader is required");

    // The customer's own profile, imported, names it: to its compartment.
    let envelope = profile_envelope(&helix, "Helix Drives GmbH");
    let imported = supplier.ok(&["publish", "--envelope", &envelope]);
    assert!(imported.contains(" helix "), "{imported}");

    // The listing names the readers: legal name from the profile, else the
    // short DID; a named reader without a grant is marked.
    supplier.ok(&[
        "compartment",
        "add",
        "regulated",
        "--reader",
        &helix_did,
        "--role",
        "regulator",
        "--min-clearance",
        "confidential",
    ]);
    let stranger = "did:key:z6MkvRXNYcE7MMduynWTgeKbDaT1iijDSC8pZqXZc8rHPrf2";
    let noted = supplier.run(&["compartment", "add", "newcomer", "--reader", stranger]);
    assert!(String::from_utf8_lossy(&noted.stderr).contains("holds no grant"));
    let table = supplier.ok(&["compartments"]);
    let row = |label: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no row {label} in:\n{table}"))
            .to_owned()
    };
    assert!(row("helix").contains("Helix Drives GmbH"), "{table}");
    assert!(row("helix").contains("org z6Mk…"), "the rule: {table}");
    let partners = row("partners");
    assert!(partners.contains("Helix Drives GmbH") && partners.contains(&short(&other_did)));
    assert!(row("public").contains("anyone"), "{table}");
    assert!(
        row("regulated").contains("role regulator or org"),
        "{table}"
    );
    assert!(
        row("regulated").contains("clearance >= confidential"),
        "{table}"
    );
    assert!(row("newcomer").contains("(no grant)"), "{table}");
    let listed: serde_json::Value =
        serde_json::from_str(&supplier.ok(&["compartments", "--json"])).unwrap();
    let helix_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "helix")
        .unwrap();
    assert_eq!(
        helix_row["readers"],
        serde_json::json!([{"did": helix_did, "name": "Helix Drives GmbH", "granted": true}])
    );
    assert_eq!(helix_row["size"], 1);

    // A relationship is refused in `partners`, with who else would read it.
    let with_helix = relationship(&supplier, "helix.toml", &supplier_did, &helix_did);
    let before = supplier.snapshot();
    let error = supplier.fails(&["publish", &with_helix, "--compartment", "partners"], 1);
    for expected in [
        "compartment `partners` is readable by every party holding a grant (2 today: ",
        "Helix Drives GmbH",
        &short(&other_did),
        "a relationship naming Helix Drives GmbH must go to a compartment of exactly its parties",
        "use `--compartment helix`",
        "--share-wider",
    ] {
        assert!(
            error.contains(expected),
            "expected `{expected}` in: {error}"
        );
    }
    assert_eq!(supplier.snapshot(), before, "a refusal stores nothing");
    // Into another customer's compartment it is refused too.
    supplier.ok(&["compartment", "add", "other", "--reader", &other_did]);
    let error = supplier.fails(&["publish", &with_helix, "--compartment", "other"], 1);
    assert!(
        error.contains(&format!(
            "readable by {}, not named in the record",
            short(&other_did)
        )),
        "{error}"
    );
    // A record about no one but us has no default.
    let scope = supplier.file("scope.toml", "kind = \"scope\"\nprocesses = [\"CNC\"]\n");
    let error = supplier.fails(&["publish", &scope], 1);
    assert!(error.contains("has no default compartment"), "{error}");

    // By default it goes to the compartment of its two parties; with
    // --share-wider, where the operator says.
    let placed = supplier.ok(&["publish", &with_helix]);
    assert!(placed.contains(" helix "), "{placed}");
    let wider = supplier.ok(&[
        "publish",
        &with_helix,
        "--compartment",
        "partners",
        "--share-wider",
    ]);
    assert!(wider.contains(" partners "), "{wider}");
    assert_eq!(record_ids(&wider).len(), 1);
}

#[test]
fn a_running_node_adds_lists_and_refuses_through_its_api() {
    let (supplier, supplier_did) = Node::init("Supplier");
    let (_, customer_did) = Node::init("Customer");
    let running = Running::start(&supplier, &config(&supplier, None));
    running.wait_for(&["api http://127.0.0.1:"]);
    supplier.ok(&[
        "grant",
        "add",
        "--unknown-party",
        &customer_did,
        "--role",
        "customer",
        "--basis",
        "MSA",
    ]);
    let made = supplier.ok(&["compartment", "add", "acme", "--reader", &customer_did]);
    assert!(made.contains("acme"), "{made}");
    let again = supplier.run(&["compartment", "add", "acme", "--reader", &customer_did]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let error = supplier.fails(
        &["compartment", "add", "acme", "--reader", &supplier_did],
        1,
    );
    assert!(error.contains("this organization itself"), "{error}");
    let table = supplier.ok(&["compartments"]);
    assert!(table.lines().any(|l| l.starts_with("acme ")), "{table}");

    let file = relationship(&supplier, "rel.toml", &supplier_did, &customer_did);
    let error = supplier.fails(&["publish", &file, "--compartment", "partners"], 1);
    assert!(
        error.contains("readable by every party holding a grant"),
        "{error}"
    );
    assert!(error.contains("use `--compartment acme`"), "{error}");
    supplier.ok(&["publish", &file]);
    supplier.ok(&[
        "publish",
        &file,
        "--compartment",
        "partners",
        "--share-wider",
    ]);
    let listed: serde_json::Value =
        serde_json::from_str(&supplier.ok(&["compartments", "--json"])).unwrap();
    let size = |label: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == label)
            .unwrap()["size"]
            .clone()
    };
    assert_eq!((size("acme"), size("partners")), (1.into(), 1.into()));
    running.stop();
}
