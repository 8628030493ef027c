//! The disclosure log is complete and exact (DESIGN.md §4). Several signed
//! parties make a varied set of reads (record pages with filters and
//! cursors, single records, verification, the dashboard, alerts,
//! checkpoints, the organizations list, the graph) and a member pulls over
//! libp2p. From each answer itself the test works out every non-public
//! entry (compartment, index) and every non-public head the party
//! received, and compares that with what the author's disclosure log
//! gained for that party during the request, entry for entry: anything
//! logged and not received, or received and not logged, fails.

use std::collections::BTreeSet;

use assure_access::{Clearance, CompartmentId, LogId, Role, Rule};
use assure_api::client::{Answer, Auth, Client};
use assure_model::{Did, Keypair};
use assure_node::publish::Placement;
use assure_store::Disclosure;
use assure_tests::TestNode;
use assure_tests::base64_variants;
use jiff::Timestamp;
use serde_json::Value;

/// One of the author's records.
struct Known {
    log: LogId,
    index: u64,
    id: String,
    marker: String,
    /// For a relationship in which the author is the customer: the
    /// supplier, whom a graph shows as a provider because of it.
    edge: Option<String>,
}

/// (compartment, index) of an entry; heads are (compartment, size).
type Entry = (CompartmentId, u64);

struct World {
    author: TestNode,
    client: Client,
    known: Vec<Known>,
    public: CompartmentId,
}

/// A marker different from every other at both ends.
fn marker(tag: &str, n: usize) -> String {
    format!("{tag}{n}QDISCLOSEDQ{tag}{n}")
}

/// A control of the catalog in `domain`.
fn control(marker: &str, domain: &str) -> String {
    let id = match domain {
        "governance" => "ISO28000:4.3",
        "personnel" => "ISO28000:7.2",
        "information" => "ISO28000:7.5.3",
        "physical" => "ISO28000:8.4.e",
        _ => "ISO22340:9.2.1",
    };
    format!(
        "kind = \"control\"\ncontrolId = \"{id}\"\nstatus = \"implemented\"\n\
         domain = \"{domain}\"\nstatement = \"Controlled ({marker}).\"\n"
    )
}

impl World {
    fn is_restricted(&self, log: &LogId) -> bool {
        log.origin == self.author.did() && log.compartment != self.public
    }

    /// What `answer` shows of the author's restricted logs: the entries it
    /// names by position or shows by content (record id, marker), and the
    /// heads it shows without entries.
    fn received(&self, path: &str, answer: &Answer) -> (BTreeSet<Entry>, BTreeSet<Entry>) {
        let text = String::from_utf8_lossy(&answer.body);
        let mut entries = BTreeSet::new();
        let mut heads = BTreeSet::new();
        let graph = path == "/" || path == "/v1/graph";
        for k in &self.known {
            // A graph shows who supplies us: the relationship it rests on.
            let edge = graph && k.edge.as_ref().is_some_and(|s| text.contains(s.as_str()));
            let shown = edge
                || text.contains(&k.id)
                || text.contains(&k.marker)
                || base64_variants(&k.marker).iter().any(|v| text.contains(v));
            if shown && self.is_restricted(&k.log) {
                entries.insert((k.log.compartment, k.index));
            }
        }
        if let Ok(json) = serde_json::from_slice::<Value>(&answer.body) {
            self.walk(&json, &mut entries, &mut heads);
        }
        (entries, heads)
    }

    /// The heads a `/v1/orgs` answer shows: the restricted logs among
    /// `listed` (the party's checkpoints) that hold records, which must be
    /// what the author's count is made of.
    fn counted(&self, answer: &Answer, listed: &BTreeSet<Entry>) -> BTreeSet<Entry> {
        let json: Value = serde_json::from_slice(&answer.body).unwrap();
        let count = json
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["did"] == self.author.did().to_string())
            .map_or(0, |o| o["records"].as_u64().unwrap());
        let heads: BTreeSet<Entry> = listed
            .iter()
            .filter(|(_, size)| *size > 0)
            .copied()
            .collect();
        let public = self
            .known
            .iter()
            .filter(|k| !self.is_restricted(&k.log))
            .count() as u64;
        let restricted: u64 = heads.iter().map(|(_, size)| size).sum();
        assert_eq!(count, public + restricted, "{json}");
        heads
    }

    /// Positions named in a JSON answer: `{log, index}` and `{compartment,
    /// index}` are entries; `{compartment, size, checkpoint}` is a head.
    fn walk(&self, json: &Value, entries: &mut BTreeSet<Entry>, heads: &mut BTreeSet<Entry>) {
        match json {
            Value::Array(items) => items.iter().for_each(|i| self.walk(i, entries, heads)),
            Value::Object(map) => {
                let log = map
                    .get("log")
                    .and_then(Value::as_str)
                    .and_then(LogId::from_origin_line)
                    .or_else(|| {
                        let compartment = map.get("compartment")?.as_str()?.parse().ok()?;
                        Some(LogId {
                            origin: self.author.did(),
                            compartment,
                        })
                    });
                if let Some(log) = log.filter(|l| self.is_restricted(l)) {
                    if let Some(index) = map.get("index").and_then(Value::as_u64) {
                        entries.insert((log.compartment, index));
                    } else if let (Some(size), true) = (
                        map.get("size").and_then(Value::as_u64),
                        map.contains_key("checkpoint"),
                    ) {
                        heads.insert((log.compartment, size));
                    }
                }
                map.values().for_each(|v| self.walk(v, entries, heads));
            }
            _ => {}
        }
    }
}

/// A disclosure log's ranges, expanded: entries and heads.
fn expand(disclosures: &[Disclosure]) -> (BTreeSet<Entry>, BTreeSet<Entry>) {
    let mut entries = BTreeSet::new();
    let mut heads = BTreeSet::new();
    for d in disclosures {
        if d.from == d.to {
            heads.insert((d.compartment, d.from));
        }
        for index in d.from..d.to {
            entries.insert((d.compartment, index));
        }
    }
    (entries, heads)
}

struct Party<'k> {
    name: &'static str,
    keypair: &'k Keypair,
    purpose: Option<&'static str>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_non_public_answer_is_disclosed_entry_for_entry() {
    let profiles = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/profiles");
    let author = TestNode::start_with(200, "author", |c| {
        c.verify.default_profile = Some(format!("{profiles}/critical-supplier.toml").into());
        if let Some(api) = c.api.as_mut() {
            api.requests_per_second = 100_000;
        }
    })
    .await;
    let mut member = TestNode::start(201, "member").await;
    let [partner, confidential, regulator, ungranted] =
        [202, 203, 204, 205].map(|n| Keypair::from_seed([n; 32]));
    author
        .grant(partner.did(), Clearance::Partner, &[Role::Customer])
        .await;
    author
        .grant(
            confidential.did(),
            Clearance::Confidential,
            &[Role::Customer],
        )
        .await;
    author
        .grant(regulator.did(), Clearance::Partner, &[Role::Regulator])
        .await;
    author
        .grant(member.did(), Clearance::Partner, &[Role::Customer])
        .await;
    member
        .grant(author.did(), Clearance::Partner, &[Role::Supplier])
        .await;

    // The author's records: a profile, a scope and controls in several
    // domains behind grants, an audience compartment for one customer, an
    // incident's audience, a relationship's audience.
    let a = author.did();
    assure_node::compartments::find_or_create(
        author.node().store(),
        author.node().keypair(),
        &Rule::audience([confidential.did()], []),
        "for-one-customer",
        Timestamp::now(),
    )
    .unwrap();
    let mut known = Vec::new();
    let mut put = async |placement: Placement, drafts: Vec<(String, String)>| {
        let texts: Vec<String> = drafts.iter().map(|(_, d)| d.clone()).collect();
        let appended = author.publish_to(placement, &texts).await;
        for (x, (marker, _)) in appended.iter().zip(drafts) {
            known.push(Known {
                log: x.location.log,
                index: x.location.index,
                id: x.id.to_string(),
                marker,
                edge: None,
            });
        }
    };
    let controls = |tag: &str, domains: &[&str]| -> Vec<(String, String)> {
        domains
            .iter()
            .enumerate()
            .map(|(n, d)| (marker(tag, n), control(&marker(tag, n), d)))
            .collect()
    };
    put("public".into(), controls("PUB", &["cyber", "physical"])).await;
    let profile = marker("PRO", 0);
    let scope = marker("SCO", 0);
    put(
        "partners".into(),
        [
            vec![
                (
                    profile.clone(),
                    format!("kind = \"profile\"\nlegalName = \"{profile}\"\n"),
                ),
                (
                    scope.clone(),
                    format!("kind = \"scope\"\nprocesses = [\"{scope}\"]\n"),
                ),
            ],
            controls("PAR", &["cyber", "physical", "personnel", "cyber"]),
        ]
        .concat(),
    )
    .await;
    put(
        "confidential".into(),
        controls("CON", &["information", "cyber"]),
    )
    .await;
    put("regulators".into(), controls("REG", &["governance"])).await;
    put("for-one-customer".into(), controls("ONE", &["cyber"])).await;
    let incident = marker("INC", 0);
    put(
        Placement::default(),
        vec![(
            incident.clone(),
            format!(
                "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
                 summary = \"{incident}\"\noccurredAt = \"2026-11-20T03:10:00Z\"\n\
                 detectedAt = \"2026-11-20T05:40:00Z\"\nstatus = \"open\"\naffected = [\"{}\"]\n",
                partner.did()
            ),
        )],
    )
    .await;
    let relation = marker("REL", 0);
    put(
        Placement::default(),
        vec![(
            relation.clone(),
            format!(
                "kind = \"relationship\"\nsupplier = \"{a}\"\ncustomer = \"{}\"\n\
                 supplies = [\"{relation}\"]\nsince = 2024-01-01\n",
                partner.did()
            ),
        )],
    )
    .await;
    let public = author.log("public").compartment;
    let mut w = World {
        client: Client::new(&author.api()),
        author,
        known,
        public,
    };

    // The member pulls over libp2p, is told of a new record and pulls
    // again; it also reports an incident naming the author, so the
    // author holds an alert about the member's log.
    member.connect(&w.author).await;
    let partners = w.author.log("partners");
    member.wait_synced(partners, 6).await;
    let late = marker("LAT", 0);
    let appended = w
        .author
        .publish("partners", &[control(&late, "cyber")])
        .await;
    w.known.push(Known {
        log: appended[0].location.log,
        index: appended[0].location.index,
        id: appended[0].id.to_string(),
        marker: late,
        edge: None,
    });
    member.wait_synced(partners, 7).await;
    let report = format!(
        "kind = \"incident\"\ncategory = \"theft\"\nseverity = \"medium\"\n\
         summary = \"A pallet went missing\"\noccurredAt = \"2026-11-21T03:10:00Z\"\n\
         detectedAt = \"2026-11-21T05:40:00Z\"\nstatus = \"open\"\naffected = [\"{a}\"]\n"
    );
    let reported = member.publish_to(Placement::default(), &[report]).await;
    w.author.wait_synced(reported[0].location.log, 1).await;
    // The member supplies the author, confirmed by both sides, each in the
    // compartment of exactly the two: the author's graph has a provider,
    // whose report rests on the author's restricted record.
    let m = member.did();
    let supplies = |marker: &str| {
        format!(
            "kind = \"relationship\"\nsupplier = \"{m}\"\ncustomer = \"{a}\"\n\
             supplies = [\"{marker}\"]\nsince = 2024-01-01\n"
        )
    };
    let theirs = member
        .publish_to(Placement::default(), &[supplies("machined housings")])
        .await;
    w.author.wait_synced(theirs[0].location.log, 1).await;
    let ours = marker("SUP", 0);
    let appended = w
        .author
        .publish_to(Placement::default(), &[supplies(&ours)])
        .await;
    w.known.push(Known {
        log: appended[0].location.log,
        index: appended[0].location.index,
        id: appended[0].id.to_string(),
        marker: ours,
        edge: Some(m.to_string()),
    });
    member.wait_synced(appended[0].location.log, 1).await;
    let held: Vec<(LogId, u64)> = {
        let store = member.node().store();
        store
            .logs(&store.as_owner().unwrap())
            .into_iter()
            .filter(|s| w.is_restricted(&s.log))
            .map(|s| (s.log, s.checkpoint.checkpoint().size()))
            .collect()
    };
    member.stop().await;

    // What the member holds of the author's restricted logs is what the
    // network disclosed to it, entry for entry; every head it was offered
    // is disclosed, the last one at the size it holds.
    let network: Vec<Disclosure> = w
        .author
        .node()
        .store()
        .disclosures(0, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|d| d.party == member.did() && d.channel == "network")
        .collect();
    let (logged, logged_heads) = expand(&network);
    assert_eq!(held.len(), 2, "partners and its own: {held:?}");
    let received: BTreeSet<Entry> = held
        .iter()
        .flat_map(|(log, size)| (0..*size).map(move |i| (log.compartment, i)))
        .collect();
    assert_eq!(logged, received, "entries pulled by the member");
    let offered: BTreeSet<CompartmentId> = held.iter().map(|(l, _)| l.compartment).collect();
    let headed: BTreeSet<CompartmentId> = logged_heads.iter().map(|(c, _)| *c).collect();
    assert_eq!(headed, offered, "heads offered to the member");
    for (log, size) in &held {
        assert!(
            logged_heads.contains(&(log.compartment, *size)),
            "{log:?} at {size}"
        );
    }
    let version = |did: Did| {
        w.author
            .node()
            .store()
            .grant(&did)
            .unwrap()
            .unwrap()
            .version
    };
    assert!(
        network
            .iter()
            .all(|d| d.grant_version == Some(version(member.did())) && d.purpose.is_none())
    );

    // Signed parties over the API.
    let parties = [
        Party {
            name: "partner",
            keypair: &partner,
            purpose: None,
        },
        Party {
            name: "confidential",
            keypair: &confidential,
            purpose: None,
        },
        Party {
            name: "regulator",
            keypair: &regulator,
            purpose: Some("inspection 2026-11"),
        },
        Party {
            name: "ungranted",
            keypair: &ungranted,
            purpose: None,
        },
        Party {
            name: "member",
            keypair: &member.keypair,
            purpose: None,
        },
    ];
    let random = CompartmentId::random().unwrap();
    let since = Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let compartments: Vec<CompartmentId> = {
        let store = w.author.node().store();
        store
            .logs(&store.as_owner().unwrap())
            .into_iter()
            .filter(|s| s.log.origin == a)
            .map(|s| s.log.compartment)
            .collect()
    };
    let mut paths: Vec<String> = vec![
        "/v1/checkpoints".into(),
        "/v1/orgs".into(),
        "/v1/graph".into(),
        "/v1/alerts".into(),
        format!("/v1/orgs/{a}/verification?profile=critical-supplier"),
        format!("/orgs/{a}"),
        "/alerts".into(),
        "/".into(),
        format!("/v1/orgs/{}/records", partner.did()),
        format!("/orgs/{}", member.did()),
        format!(
            "/v1/orgs/{}/verification?profile=critical-supplier",
            member.did()
        ),
        format!("/v1/orgs/{a}/records?since={since}"),
        format!("/v1/orgs/{a}/records?compartment={random}"),
    ];
    for c in &compartments {
        paths.push(format!("/v1/orgs/{a}/records?compartment={c}&limit=2"));
    }
    for k in &w.known {
        paths.push(format!("/v1/records/{}", k.id));
        paths.push(format!("/records/{}", k.id));
    }
    let paged = [
        format!("/v1/orgs/{a}/records?limit=2"),
        format!("/v1/orgs/{a}/records?kind=control&limit=3"),
        format!("/v1/orgs/{a}/records?domain=cyber&limit=1"),
        format!("/v1/orgs/{a}/records?kind=profile"),
    ];
    let mut checked = 0;
    let mut nonempty = 0;
    let mut wrong = Vec::new();
    for party in &parties {
        let mut todo: Vec<String> = paths.clone();
        todo.extend(paged.iter().cloned());
        // The checkpoints first: `/v1/orgs` shows counts of the logs it
        // lists that hold records.
        todo.push("/v1/checkpoints".into());
        let mut listed: BTreeSet<Entry> = BTreeSet::new();
        while let Some(path) = todo.pop() {
            let before = w
                .author
                .node()
                .store()
                .disclosures(0, usize::MAX)
                .unwrap()
                .len();
            let answer = w
                .client
                .send(
                    "GET",
                    &path,
                    Vec::new(),
                    Auth::Sign(party.keypair),
                    party.purpose,
                )
                .await
                .unwrap();
            assert!(
                answer.status.is_success() || answer.status == 404,
                "{} {path}: {} {}",
                party.name,
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
            let made: Vec<Disclosure> = w
                .author
                .node()
                .store()
                .disclosures(before, usize::MAX)
                .unwrap()
                .into_iter()
                .filter(|d| d.party == party.keypair.did() && d.channel == "api")
                .collect();
            for d in &made {
                assert_eq!(d.purpose.as_deref(), party.purpose, "{path}");
                assert_eq!(
                    d.grant_version,
                    Some(version(party.keypair.did())),
                    "{path}"
                );
            }
            let (mut got, got_heads) = w.received(&path, &answer);
            // A report may rest on every record about its provider that the
            // party may read (a reason can speak of one without citing it):
            // all of them are disclosed with it.
            if answer.status.is_success() && path.starts_with(&format!("/v1/orgs/{a}/verification"))
            {
                let readable: BTreeSet<CompartmentId> = listed.iter().map(|(c, _)| *c).collect();
                got.extend(
                    w.known
                        .iter()
                        .filter(|k| {
                            w.is_restricted(&k.log) && readable.contains(&k.log.compartment)
                        })
                        .map(|k| (k.log.compartment, k.index)),
                );
            }
            let (logged, logged_heads) = expand(&made);
            let got_heads = if path == "/v1/orgs" {
                w.counted(&answer, &listed)
            } else {
                got_heads
            };
            if path == "/v1/checkpoints" {
                listed = got_heads.clone();
            }
            for (what, logged, shown) in [
                ("entries", &logged, &got),
                ("heads", &logged_heads, &got_heads),
            ] {
                if logged != shown {
                    wrong.push(format!(
                        "{} GET {path}: {what} logged, not shown {:?}; shown, not logged {:?}",
                        party.name,
                        logged.difference(shown).collect::<Vec<_>>(),
                        shown.difference(logged).collect::<Vec<_>>(),
                    ));
                }
            }
            checked += 1;
            nonempty += usize::from(!got.is_empty());
            // Follow the cursor of a page.
            if let Ok(page) = serde_json::from_slice::<Value>(&answer.body)
                && let Some(next) = page.get("next").and_then(Value::as_str)
            {
                let base = path.split("&cursor=").next().unwrap();
                todo.push(format!("{base}&cursor={next}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 5 * 40, "{checked}");
    assert!(
        nonempty > 50,
        "{nonempty} answers carried restricted entries"
    );
    w.author.stop().await;
}
