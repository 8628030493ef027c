//! What each node keeps on disk. Six organizations over real libp2p, every
//! compartment kind (public, partners, confidential, regulators, audience
//! compartments made by the relationship and audit defaults and by the
//! operator, an incident's audience), a regulator, two customers at
//! different clearances, a supplier and a bystander without a grant. Every
//! record carries a marker of its own. Once all have synced, every node is
//! stopped and every byte of its data directory is searched for every
//! marker (plain, base64 at the three alignments, hex), every record id and
//! every compartment id (hex, raw bytes, base64): each node holds exactly
//! what its organization may read, and what it may read is found, so the
//! scan is shown to see what it looks for.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use assure_access::{Clearance, LogId, Role, Rule};
use assure_model::Did;
use assure_node::publish::Placement;
use assure_tests::TestNode;
use jiff::Timestamp;

/// The organizations, by index.
const A: usize = 0; // the author: every compartment kind
const R: usize = 1; // a regulator (partner clearance)
const C1: usize = 2; // a customer at partner clearance
const C2: usize = 3; // a customer cleared for confidential
const S: usize = 4; // a supplier of the author's
const B: usize = 5; // a bystander: no grant from anyone
const ALL: [usize; 6] = [A, R, C1, C2, S, B];
const NAMES: [&str; 6] = [
    "author",
    "regulator",
    "customer1",
    "customer2",
    "supplier",
    "bystander",
];

/// One record as published: where, and what identifies it.
struct Published {
    log: LogId,
    id: [u8; 32],
    marker: String,
}

/// Every form in which `bytes` could sit on disk.
fn forms(bytes: &[u8], raw: bool) -> Vec<Vec<u8>> {
    let mut out = vec![
        hex::encode(bytes).into_bytes(),
        hex::encode_upper(bytes).into_bytes(),
    ];
    if raw {
        out.push(bytes.to_vec());
    }
    out.extend(
        assure_tests::base64_variants(bytes)
            .into_iter()
            .map(String::into_bytes),
    );
    out
}

/// A marker that differs from every other one at both ends, so that no
/// base64 window of one matches another.
fn marker(org: usize, tag: &str, n: usize) -> String {
    let id = format!("{}{tag}{n}", NAMES[org][..2].to_uppercase());
    format!("{id}QSCANMARKQ{id}")
}

fn control(marker: &str) -> String {
    format!(
        "kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"implemented\"\n\
         domain = \"cyber\"\nstatement = \"Events are monitored ({marker}).\"\n"
    )
}

fn relationship(supplier: Did, customer: Did, marker: &str) -> String {
    format!(
        "kind = \"relationship\"\nsupplier = \"{supplier}\"\ncustomer = \"{customer}\"\n\
         supplies = [\"{marker}\"]\nsince = 2024-01-01\n"
    )
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Which of `needles` (all at least 8 bytes) occur in any of `files`, and
/// where: one pass over the bytes, keyed by each window's first 8 bytes.
fn search(files: &[(PathBuf, Vec<u8>)], needles: &[Vec<u8>]) -> HashMap<Vec<u8>, PathBuf> {
    let key = |w: &[u8]| u64::from_le_bytes(w[..8].try_into().unwrap());
    let mut by_prefix: HashMap<u64, Vec<&Vec<u8>>> = HashMap::new();
    for needle in needles {
        assert!(needle.len() >= 8, "{needle:?} is too short to look for");
        by_prefix.entry(key(needle)).or_default().push(needle);
    }
    let prefixes: HashSet<u64> = by_prefix.keys().copied().collect();
    let mut found = HashMap::new();
    for (path, bytes) in files {
        for at in 0..bytes.len().saturating_sub(7) {
            let k = key(&bytes[at..]);
            if !prefixes.contains(&k) {
                continue;
            }
            for needle in &by_prefix[&k] {
                if bytes[at..].starts_with(needle) {
                    found
                        .entry((*needle).clone())
                        .or_insert_with(|| path.clone());
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_directory_holds_exactly_what_its_party_may_read() {
    let mut nodes = Vec::new();
    for (n, name) in NAMES.iter().enumerate() {
        nodes.push(TestNode::start(190 + n as u8, name).await);
    }
    let did: Vec<Did> = nodes.iter().map(TestNode::did).collect();

    // Who may read whom.
    let author = &nodes[A];
    author
        .grant(did[R], Clearance::Partner, &[Role::Regulator])
        .await;
    author
        .grant(did[C1], Clearance::Partner, &[Role::Customer])
        .await;
    author
        .grant(did[C2], Clearance::Confidential, &[Role::Customer])
        .await;
    author
        .grant(did[S], Clearance::Partner, &[Role::Supplier])
        .await;
    nodes[S]
        .grant(did[A], Clearance::Partner, &[Role::Customer])
        .await;
    nodes[C1]
        .grant(did[A], Clearance::Partner, &[Role::Supplier])
        .await;

    // What each organization publishes, with who may read it.
    let mut published: Vec<(Published, Vec<usize>)> = Vec::new();
    let mut readers: BTreeMap<LogId, Vec<usize>> = BTreeMap::new();
    let record = |appended: &assure_store::Appended, marker: String| Published {
        log: appended.location.log,
        id: appended.id.0,
        marker,
    };
    let mut publish =
        async |org: usize, placement: Placement, drafts: Vec<(String, String)>, who: &[usize]| {
            let texts: Vec<String> = drafts.iter().map(|(_, d)| d.clone()).collect();
            let appended = nodes[org].publish_to(placement, &texts).await;
            for (a, (m, _)) in appended.iter().zip(drafts) {
                published.push((record(a, m), who.to_vec()));
                readers.insert(a.location.log, who.to_vec());
            }
        };
    let controls = |org: usize, tag: &str, n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let m = marker(org, tag, i);
                (m.clone(), control(&m))
            })
            .collect()
    };
    let profile = |org: usize| {
        let m = marker(org, "PRO", 0);
        vec![(
            m.clone(),
            format!("kind = \"profile\"\nlegalName = \"{m}\"\n"),
        )]
    };
    let into = |label: &str| Placement::from(label);
    publish(
        A,
        into("public"),
        [profile(A), controls(A, "PUB", 1)].concat(),
        &ALL,
    )
    .await;
    publish(
        A,
        into("partners"),
        controls(A, "PAR", 2),
        &[A, R, C1, C2, S],
    )
    .await;
    publish(A, into("confidential"), controls(A, "CON", 2), &[A, C2]).await;
    publish(A, into("regulators"), controls(A, "REG", 1), &[A, R]).await;
    // The defaults: a relationship to the compartment of its two parties,
    // an audit to the auditor's compartment for its auditee, an incident to
    // its affected party and regulators.
    let m = marker(A, "REL", 0);
    publish(
        A,
        Placement::default(),
        vec![(m.clone(), relationship(did[A], did[C1], &m))],
        &[A, C1],
    )
    .await;
    let m = marker(A, "AUD", 0);
    let audit = format!(
        "kind = \"audit\"\nsubject = \"{}\"\nauditType = \"second-party\"\n\
         standard = \"ISO 28000:2022\"\nresult = \"certified\"\ncertificateNumber = \"{m}\"\n\
         period = {{ from = 2026-10-01, to = 2026-10-03 }}\n",
        did[S]
    );
    publish(A, Placement::default(), vec![(m, audit)], &[A, S]).await;
    let m = marker(A, "INC", 0);
    let incident = format!(
        "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
         summary = \"{m}\"\noccurredAt = \"2026-11-20T03:10:00Z\"\n\
         detectedAt = \"2026-11-20T05:40:00Z\"\nstatus = \"open\"\naffected = [\"{}\"]\n",
        did[C2]
    );
    publish(A, Placement::default(), vec![(m, incident)], &[A, C2, R]).await;
    // An audience compartment the operator makes for one counterparty.
    assure_node::compartments::find_or_create(
        nodes[A].node().store(),
        nodes[A].node().keypair(),
        &Rule::audience([did[C2]], []),
        "scan-only-for-customer2",
        Timestamp::now(),
    )
    .unwrap();
    publish(
        A,
        into("scan-only-for-customer2"),
        controls(A, "AC2", 1),
        &[A, C2],
    )
    .await;
    // The others' own records.
    publish(S, into("public"), controls(S, "PUB", 1), &ALL).await;
    publish(S, into("partners"), controls(S, "PAR", 1), &[S, A]).await;
    publish(S, into("confidential"), controls(S, "CON", 1), &[S]).await;
    let m = marker(C1, "REL", 0);
    publish(
        C1,
        Placement::default(),
        vec![(m.clone(), relationship(did[A], did[C1], &m))],
        &[C1, A],
    )
    .await;
    publish(C2, into("partners"), controls(C2, "PAR", 1), &[C2]).await;
    publish(R, into("public"), controls(R, "PUB", 1), &ALL).await;
    publish(B, into("public"), profile(B), &ALL).await;

    // Every other log, empty ones included: public ones reach everyone;
    // an organization's restricted logs its grantees, when their grant
    // admits them.
    for (org, node) in nodes.iter().enumerate() {
        let store = node.node().store();
        for summary in store.logs(&store.as_owner().unwrap()) {
            if summary.log.origin != node.did() || readers.contains_key(&summary.log) {
                continue;
            }
            let who = match (org, summary.compartment.label.as_str()) {
                (_, "public") => ALL.to_vec(),
                (S | C1, "partners") => vec![org, A],
                (_, "confidential" | "partners" | "regulators") => vec![org],
                (_, label) => panic!("{label} of {org} is not in the table"),
            };
            readers.insert(summary.log, who);
        }
    }
    assert_eq!(readers.len(), 6 * 4 + 5, "four defaults each, five more");

    // A full mesh: everyone connects to everyone, and pulls what it may.
    for i in 0..nodes.len() {
        for j in i + 1..nodes.len() {
            nodes[i].connect(&nodes[j]).await;
        }
    }
    for (log, who) in &readers {
        let author = ALL.into_iter().find(|&n| did[n] == log.origin).unwrap();
        let size = nodes[author].size(*log).unwrap();
        for &n in who.iter().filter(|&&n| n != author) {
            nodes[n].wait_synced(*log, size).await;
        }
    }
    // Labels are local: the author's own labels for the compartments it
    // made stay with it.
    let labels: Vec<String> = {
        let store = nodes[A].node().store();
        store
            .logs(&store.as_owner().unwrap())
            .into_iter()
            .filter(|s| s.log.origin == did[A])
            .map(|s| s.compartment.label)
            .filter(|l| !["public", "partners", "confidential", "regulators"].contains(&l.as_str()))
            .collect()
    };
    assert_eq!(labels.len(), 4);
    for node in &mut nodes {
        node.stop().await;
    }

    // The things to look for, each with the organizations that may hold it.
    let mut things: Vec<(String, Vec<Vec<u8>>, BTreeSet<usize>)> = Vec::new();
    for (log, who) in &readers {
        let id = log.compartment.as_bytes();
        things.push((
            format!("compartment {log:?}"),
            forms(id, true),
            who.iter().copied().collect(),
        ));
    }
    for (p, who) in &published {
        let who: BTreeSet<usize> = who.iter().copied().collect();
        assert_eq!(
            who,
            readers[&p.log].iter().copied().collect(),
            "{}",
            p.marker
        );
        things.push((
            format!("record {}", hex::encode(p.id)),
            forms(&p.id, true),
            who.clone(),
        ));
        let mut marker = vec![p.marker.clone().into_bytes()];
        marker.extend(forms(p.marker.as_bytes(), false));
        things.push((format!("marker {}", p.marker), marker, who));
    }
    for label in &labels {
        things.push((
            format!("label {label}"),
            vec![label.clone().into_bytes()],
            [A].into(),
        ));
    }
    let needles: Vec<Vec<u8>> = things.iter().flat_map(|(_, f, _)| f.clone()).collect();

    let mut checked = 0;
    for (n, node) in nodes.iter().enumerate() {
        let files = files(&node.dir);
        let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
        assert!(bytes > 0, "{} holds no data", NAMES[n]);
        let found = search(&files, &needles);
        for (what, forms, who) in &things {
            let hits: Vec<&PathBuf> = forms.iter().filter_map(|f| found.get(f)).collect();
            if who.contains(&n) {
                assert!(
                    !hits.is_empty(),
                    "{} may read {what} but it is not on its disk",
                    NAMES[n]
                );
            } else {
                assert!(
                    hits.is_empty(),
                    "{} holds {what}, which it may not read: {hits:?}",
                    NAMES[n]
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 6 * 60, "{checked}");
}
