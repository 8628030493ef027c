//! Every operation run three ways — node stopped, node running with its
//! API, node running with `api.listen = "off"` — answers the same: the same
//! exit code, the same JSON for what reads, the same JSON shape for what
//! writes (whose ids and times differ by nature). Generated from the table
//! of operations below, so a new command belongs in it.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{Node, example};
use crate::network::Running;

/// How the data directory is held while a command runs.
#[derive(Clone, Copy, Debug)]
enum Way {
    Stopped,
    Api,
    ApiOff,
}

const WAYS: [Way; 3] = [Way::Stopped, Way::Api, Way::ApiOff];

fn start(node: &Node, way: Way) -> Option<Running> {
    let api = match way {
        Way::Stopped => return None,
        Way::Api => "127.0.0.1:0",
        Way::ApiOff => "off",
    };
    let config = format!(
        "data_dir = \"{}\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n[api]\nlisten = \"{api}\"\n",
        node.data().display()
    );
    let running = Running::start(node, &config);
    running.wait_for(&["listening"]);
    Some(running)
}

fn control(node: &Node, name: &str, n: usize) -> String {
    const IDS: [&str; 5] = [
        "ISO22340:8.2.1",
        "ISO22340:8.2.2",
        "ISO22340:8.3",
        "ISO22340:7.3",
        "ISO22340:7.2.4",
    ];
    let id = IDS[n % IDS.len()];
    node.file(
        name,
        format!(
            "kind = \"control\"\ncontrolId = \"{id}\"\nstatus = \"implemented\"\n\
             statement = \"Statement {n}\"\n"
        ),
    )
}

/// Every key path of a JSON value (array items merged): its shape.
fn shape(value: &Value, at: &str, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = format!("{at}.{key}");
                into.insert(path.clone());
                shape(v, &path, into);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| shape(v, &format!("{at}[]"), into)),
        _ => {}
    }
}

fn shape_of(text: &str) -> BTreeSet<String> {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let mut paths = BTreeSet::new();
    shape(&value, "", &mut paths);
    paths
}

/// A report says when it was made: the one field that differs by nature.
fn without_report_time(text: &str) -> String {
    text.lines()
        .map(|line| match line.trim_start().starts_with("\"at\": ") {
            true => "  \"at\": …,",
            false => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_operation_answers_the_same_with_the_node_stopped_running_and_running_without_api() {
    let (node, us) = Node::init("Acme Logistics");
    let (auditor, _) = Node::init("Certifier");
    let (partner, partner_did) = Node::init("Partner");
    let _ = partner;
    node.ok(&["publish", "-c", "public", &example("profile.toml")]);
    node.ok(&["publish", "-c", "partners", &control(&node, "c0.toml", 1)]);
    node.ok(&[
        "grant",
        "add",
        &partner_did,
        "--basis",
        "MSA-1",
        "--unknown-party",
    ]);
    let records: Value = serde_json::from_str(&node.ok(&["records", "--json"])).unwrap();
    let id = records[0]["id"].as_str().unwrap().to_owned();
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/profiles/component-supplier.toml");
    let profile = profile.to_str().unwrap().to_owned();
    // Audits of us, one to co-sign each way.
    let mut audits = Vec::new();
    for n in 0..WAYS.len() {
        let draft = auditor.file(
            &format!("audit{n}.toml"),
            format!(
                "kind = \"audit\"\nsubject = \"{us}\"\nstandard = \"ISO 28000:2022\"\n\
                 auditType = \"certification\"\nresult = \"certified\"\n\
                 period = {{ from = 2026-10-0{}, to = 2026-10-20 }}\n",
                n + 1
            ),
        );
        let out = auditor.run(&["publish", "-c", "partners", "--share-wider", &draft]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exported = auditor.dir.path().join(format!("audit-export-{n}"));
        let _ = std::fs::remove_dir_all(&exported);
        auditor.ok(&[
            "export",
            "-c",
            "partners",
            "--out",
            exported.to_str().unwrap(),
        ]);
        audits.push(
            exported
                .join(format!("entries/{n}.json"))
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }

    let passphrase = node.file("passphrase", "correct horse battery staple\n");
    // What only reads answers with equal bytes every way.
    let reads: Vec<Vec<String>> = [
        vec!["records", "--json"],
        vec!["records"],
        vec!["records", "--json", "--kind", "control"],
        vec!["records", "--json", "--compartment", "partners"],
        vec!["records", "--json", "--subject", &us],
        vec!["show", &id, "--json"],
        vec!["show", &id],
        vec!["compartments", "--json"],
        vec!["compartments"],
        vec!["grant", "list", "--json"],
        vec!["grant", "list"],
        vec!["grant", "list", "--history", "--json"],
        vec!["disclosures", "--json"],
        vec!["disclosures"],
        vec!["alerts", "--json"],
        vec!["verify", &us, "--profile", &profile, "--json"],
        vec!["verify", "--all", "--json"],
        vec!["log", "verify", "--json"],
        vec!["log", "verify"],
        // Refusals answer alike too.
        vec![
            "show",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ],
        vec!["records", "--subject", "Acme"],
        vec![
            "grant",
            "revoke",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        ],
    ]
    .iter()
    .map(|args| args.iter().map(|a| a.to_string()).collect())
    .collect();
    let mut read_answers: Vec<Vec<(Option<i32>, String, String)>> = vec![Vec::new(); reads.len()];
    for way in WAYS {
        let running = start(&node, way);
        for (args, answers) in reads.iter().zip(&mut read_answers) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = node.run(&args);
            answers.push((
                out.status.code(),
                without_report_time(&String::from_utf8_lossy(&out.stdout)),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        if let Some(running) = running {
            running.stop();
        }
    }
    // Then what writes, which changes what the reads above would see: the
    // same shape every way.
    let mut write_answers: Vec<Vec<(Option<i32>, BTreeSet<String>)>> = Vec::new();
    for (n, way) in WAYS.into_iter().enumerate() {
        let running = start(&node, way);
        let party = Node::init(&format!("Grantee {n}")).1;
        let file = control(&node, &format!("c{}.toml", n + 2), n + 2);
        let backup = node.dir.path().join(format!("backup-{n}"));
        let export = node.dir.path().join(format!("export-{n}"));
        let bundle = node.dir.path().join(format!("bundle-{n}.json"));
        let label = format!("audience-{n}");
        let writes: Vec<Vec<&str>> = vec![
            vec!["publish", "--json", "-c", "partners", &file],
            vec!["publish", "--json", "--dry-run", "-c", "partners", &file],
            vec![
                "grant",
                "add",
                &party,
                "--basis",
                "NDA",
                "--unknown-party",
                "--json",
            ],
            vec!["grant", "revoke", &party, "--json"],
            vec!["compartment", "add", &label, "--reader", &party, "--json"],
            vec!["cosign", &audits[n], "--json"],
            vec![
                "backup",
                "--passphrase-file",
                &passphrase,
                backup.to_str().unwrap(),
            ],
            vec![
                "export",
                "-c",
                "partners",
                "--out",
                export.to_str().unwrap(),
            ],
            vec![
                "bundle",
                "export",
                &us,
                "--profile",
                &profile,
                "--out",
                bundle.to_str().unwrap(),
            ],
            vec!["status", "--json"],
        ];
        for (i, args) in writes.iter().enumerate() {
            let out = node.run(args);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            if n == 0 {
                write_answers.push(Vec::new());
            }
            write_answers[i].push((out.status.code(), shape_of(&stdout)));
            if !matches!(args[0], "status") {
                assert!(
                    out.status.success(),
                    "{way:?}: assure {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        assert!(backup.exists() && export.join("checkpoint").exists() && bundle.exists());
        if let Some(running) = running {
            running.stop();
        }
    }
    for (args, answers) in reads.iter().zip(&read_answers) {
        for (way, answer) in WAYS.iter().zip(answers).skip(1) {
            assert_eq!(
                answer, &answers[0],
                "assure {args:?} answered differently {way:?} than with the node stopped"
            );
        }
    }
    for (i, answers) in write_answers.iter().enumerate() {
        for (way, answer) in WAYS.iter().zip(answers).skip(1) {
            assert_eq!(
                answer, &answers[0],
                "write #{i} answered differently {way:?} than with the node stopped"
            );
        }
    }
}
