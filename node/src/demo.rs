//! `assure demo`: six organizations of one supply chain, each a real node
//! (`Node::spawn`: sled in a temporary directory, libp2p over TCP on
//! 127.0.0.1, the HTTP API), publishing realistic records, replicating them
//! under need-to-know, and the manufacturer verifying its providers two tiers
//! out.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use assure_access::{Clearance, Grant, Reader, Role};
use assure_api::NewCompartment;
use assure_model::predicate::Outcome;
use assure_model::{Catalog, Did, Domain, Keypair, Record};
use jiff::{SignedDuration, Timestamp};

use crate::config::VerifyConfig;
use crate::datadir::DataDir;
use crate::publish::Placement;
use crate::verification::{Verdict, Verifier, attest, load_profile};
use crate::{Node, NodeConfig};

const LOGISTICS_PROFILE: &str = include_str!("../../config/profiles/logistics-provider.toml");
const COMPONENT_PROFILE: &str = include_str!("../../config/profiles/component-supplier.toml");
const CRITICAL_PROFILE: &str = include_str!("../../config/profiles/critical-supplier.toml");

/// The six organizations, in seed order.
const ORGS: [(&str, &str); 6] = [
    ("manufacturer", "Helix Drives GmbH"),
    ("tier-1 supplier", "Kessler Precision Components AG"),
    ("tier-2 supplier", "Ostrava Castings s.r.o."),
    ("logistics provider", "Maasrijn Logistics B.V."),
    ("certification body", "Northgate Certification Ltd"),
    ("customs regulator", "Demo Customs Authority"),
];
const MAKER: usize = 0;
const TIER1: usize = 1;
const TIER2: usize = 2;
const HAULIER: usize = 3;
const CERT: usize = 4;
const CUSTOMS: usize = 5;

/// The demo's keys: seed 1 gives the fixed keys of config/records
/// (`[1; 32]` … `[6; 32]`); any other seed derives six others from it.
pub fn keys(seed: u8) -> Vec<Keypair> {
    (1..=6u8)
        .map(|n| {
            if seed == 1 {
                Keypair::from_seed([n; 32])
            } else {
                Keypair::from_seed(blake3::derive_key("assure demo keys", &[seed, n]))
            }
        })
        .collect()
}

/// One organization of the demo.
#[derive(Debug)]
pub struct Org {
    /// Its role in the chain.
    pub role: &'static str,
    /// Its legal name.
    pub name: &'static str,
    /// Its data directory.
    pub dir: PathBuf,
    /// The running node.
    pub node: Node,
}

/// The running demo network.
#[derive(Debug)]
pub struct Demo {
    /// The organizations, manufacturer first.
    pub orgs: Vec<Org>,
    /// The manufacturer's verdicts.
    pub verdicts: Vec<Verdict>,
    _temp: tempfile::TempDir,
}

/// Progress lines go to `progress` (stderr for the CLI).
pub async fn start(seed: u8, progress: &mut impl Write) -> Result<Demo> {
    let started = Instant::now();
    let temp = tempfile::Builder::new().prefix("assure-demo-").tempdir()?;
    let keys = keys(seed);
    let profiles = temp.path().join("profiles");
    std::fs::create_dir_all(&profiles)?;
    let write = |name: &str, text: &str| -> Result<PathBuf> {
        let path = profiles.join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let logistics = write("logistics-provider.toml", LOGISTICS_PROFILE)?;
    let component = write("component-supplier.toml", COMPONENT_PROFILE)?;
    let critical = write("critical-supplier.toml", CRITICAL_PROFILE)?;

    let _ = write!(progress, "starting six nodes ");
    let mut orgs = Vec::new();
    for (n, (role, name)) in ORGS.iter().enumerate() {
        let dir = temp.path().join(role.replace(' ', "-"));
        DataDir::new(&dir).init(name, &keys[n], Timestamp::now())?;
        let mut config = NodeConfig::development(&dir);
        config.log_level = "warn".into();
        config.net.poll_interval = Duration::from_secs(2);
        config.trust_anchors = vec![keys[CUSTOMS].did()];
        config.verify = VerifyConfig {
            default_profile: Some(component.clone()),
            profiles: vec![
                (vec!["machined gearbox housings".into()], critical.clone()),
                (vec!["road haulage".into()], logistics.clone()),
            ],
        };
        let node = Node::spawn(config).await?;
        orgs.push(Org {
            role,
            name,
            dir,
            node,
        });
        let _ = write!(progress, ".");
        let _ = progress.flush();
    }
    let _ = writeln!(progress, " done");

    let _ = write!(progress, "connecting them over TCP on 127.0.0.1 ... ");
    let mut addresses = Vec::new();
    for org in &orgs {
        addresses.push(listen_address(&org.node).await?);
    }
    for i in 0..orgs.len() {
        for j in 0..i {
            orgs[i]
                .node
                .client()
                .dial(orgs[j].node.did(), addresses[j].clone())
                .await?;
        }
    }
    let _ = writeln!(progress, "done");

    let _ = write!(progress, "granting access and publishing records ... ");
    grants(&orgs).await?;
    publish_profiles(&orgs).await?;
    // Profiles first, so that compartments made for one counterparty are
    // labelled with its name.
    replicated(&orgs).await?;
    publish_first(&orgs).await?;
    let _ = writeln!(progress, "done");
    let _ = write!(progress, "replicating under need-to-know ... ");
    replicated(&orgs).await?;
    let _ = writeln!(progress, "done");

    let _ = write!(
        progress,
        "suppliers acknowledge their audits; the tier-1 supplier verifies its own supplier ... "
    );
    acknowledge_and_verify(&orgs, &component).await?;
    replicated(&orgs).await?;
    let _ = writeln!(progress, "done");

    let _ = write!(progress, "the manufacturer verifies its supply chain ... ");
    let maker = &orgs[MAKER].node;
    let config = VerifyConfig {
        default_profile: Some(component),
        profiles: vec![
            (vec!["machined gearbox housings".into()], critical),
            (vec!["road haulage".into()], logistics),
        ],
    };
    let verifier = Verifier::new(
        maker.store(),
        maker.did(),
        &[keys[CUSTOMS].did()],
        Timestamp::now(),
    )?;
    let verdicts = verifier.verify_all(&config, 2)?;
    let _ = writeln!(
        progress,
        "done ({:.1} s in all)",
        started.elapsed().as_secs_f64()
    );
    Ok(Demo {
        orgs,
        verdicts,
        _temp: temp,
    })
}

async fn listen_address(node: &Node) -> Result<libp2p::Multiaddr> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(address) = node.client().listeners().await?.into_iter().next() {
            return Ok(address);
        }
        if Instant::now() > deadline {
            bail!("a node did not start listening");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn grant(org: &Org, party: Did, clearance: Clearance, role: Role, basis: &str) -> Result<()> {
    let grant = Grant::new(
        party,
        [role].into(),
        clearance,
        basis,
        Timestamp::now(),
        None,
        1,
    )?;
    org.node.put_grant(grant, "added").await
}

async fn grants(orgs: &[Org]) -> Result<()> {
    let did = |n: usize| orgs[n].node.did();
    for n in [MAKER, TIER1, TIER2, HAULIER, CERT] {
        let basis = "Customs MoU 2026-07";
        grant(
            &orgs[n],
            did(CUSTOMS),
            Clearance::Partner,
            Role::Regulator,
            basis,
        )
        .await?;
    }
    let maker = &orgs[MAKER];
    grant(
        maker,
        did(TIER1),
        Clearance::Partner,
        Role::Supplier,
        "Framework agreement HD-2023-11",
    )
    .await?;
    grant(
        maker,
        did(HAULIER),
        Clearance::Partner,
        Role::Logistics,
        "Transport contract HD-LOG-7",
    )
    .await?;
    let tier1 = &orgs[TIER1];
    grant(
        tier1,
        did(MAKER),
        Clearance::Confidential,
        Role::Customer,
        "Framework agreement HD-2023-11, NDA",
    )
    .await?;
    grant(
        tier1,
        did(CERT),
        Clearance::Partner,
        Role::Auditor,
        "Certification contract NGC-4471",
    )
    .await?;
    grant(
        &orgs[TIER2],
        did(TIER1),
        Clearance::Partner,
        Role::Customer,
        "Supply contract KPC-OC-2022",
    )
    .await?;
    let haulier = &orgs[HAULIER];
    grant(
        haulier,
        did(MAKER),
        Clearance::Partner,
        Role::Customer,
        "Transport contract HD-LOG-7",
    )
    .await?;
    grant(
        haulier,
        did(CERT),
        Clearance::Partner,
        Role::Auditor,
        "Certification contract NGC-5120",
    )
    .await?;
    // The certification body's clients; the manufacturer sees their audits
    // only as its suppliers show them.
    for n in [TIER1, HAULIER] {
        grant(
            &orgs[CERT],
            did(n),
            Clearance::Partner,
            Role::Customer,
            "Certification contract",
        )
        .await?;
    }
    Ok(())
}

/// Signs TOML drafts as `org`.
fn sign(org: &Org, drafts: &[String]) -> Result<Vec<(Vec<u8>, Record)>> {
    let catalog = Catalog::builtin();
    let keypair = org.node.keypair();
    drafts
        .iter()
        .map(|text| {
            let draft = assure_model::Draft::from_toml(text)
                .with_context(|| format!("demo draft of {}: {text}", org.name))?;
            let (subject, predicate) =
                draft.into_predicate(keypair.did(), Timestamp::now(), catalog)?;
            Ok(assure_model::issue(keypair, &subject, &predicate)?)
        })
        .collect()
}

async fn publish(org: &Org, placement: impl Into<Placement>, drafts: &[String]) -> Result<()> {
    let records = sign(org, drafts)?;
    org.node.publish(placement, records).await?;
    Ok(())
}

/// Each record to its own default compartment: exactly the parties it names.
fn by_default() -> Placement {
    Placement::default()
}

fn profile(name: &str, roles: &[&str]) -> String {
    let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
    format!(
        "kind = \"profile\"\nlegalName = \"{name}\"\nroles = [{}]\nsecurityContact = \"mailto:security@{}.example\"\n",
        roles.join(", "),
        name.split_whitespace()
            .next()
            .unwrap_or("org")
            .to_lowercase()
    )
}

fn relationship(supplier: Did, customer: Did, supplies: &str) -> String {
    format!(
        "kind = \"relationship\"\nsupplier = \"{supplier}\"\ncustomer = \"{customer}\"\n\
         supplies = [\"{supplies}\"]\nsince = 2022-03-01\nclauses = [\"ISO22340:6.2.2.9\", \"ISO28000:8.4.g\"]\n"
    )
}

fn scope(processes: &[&str], exclusions: &[&str]) -> String {
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "kind = \"scope\"\nclauses = [\"ISO28000:4.3\"]\nprocesses = [{}]\nexclusions = [{}]\n",
        list(processes),
        list(exclusions)
    )
}

/// A control of the catalog, implemented and tested `days` ago.
fn control(catalog: &Catalog, id: &str, status: &str, days: i64) -> String {
    let title = catalog.get(id).map_or("Control", |c| c.title.as_str());
    let tested = Timestamp::now() - SignedDuration::from_hours(24 * days);
    format!(
        "kind = \"control\"\ncontrolId = \"{id}\"\nstatus = \"{status}\"\n\
         statement = \"{title}: in place at every site, owned by the security manager, last \
         checked in the internal audit.\"\nlastTested = {tested}\n"
    )
}

fn days_ago(days: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(24 * days)
}

fn audit(subject: Did, certificate: &str) -> String {
    let until = Timestamp::now() + SignedDuration::from_hours(24 * 900);
    format!(
        "kind = \"audit\"\nsubject = \"{subject}\"\nauditType = \"certification\"\n\
         standard = \"ISO 28000:2022\"\nresult = \"certified\"\ncertificateNumber = \"{certificate}\"\n\
         validUntil = {until}\nperiod = {{ from = 2026-09-14, to = 2026-09-17 }}\n\
         [[findings]]\nclause = \"ISO28000:7.5.3\"\nseverity = \"low\"\n\
         description = \"Visitor registers of one site are kept on paper only.\"\n"
    )
}

async fn publish_profiles(orgs: &[Org]) -> Result<()> {
    let did = |n: usize| orgs[n].node.did();
    for (n, org) in orgs.iter().enumerate() {
        let roles: &[&str] = match n {
            MAKER => &["manufacturer"],
            TIER1 | TIER2 => &["supplier"],
            HAULIER => &["logistics", "customs-bonded-operator"],
            CERT => &["certification-body"],
            _ => &["regulator"],
        };
        publish(org, "public", &[profile(org.name, roles)]).await?;
    }

    // The regulator accredits the certification body: a trust anchor's word
    // is public on purpose, so it says so (it names the certification body).
    publish(
        &orgs[CUSTOMS],
        Placement::into("public").share_wider(),
        &[format!(
            "kind = \"accreditation\"\nsubject = \"{}\"\nrole = \"auditor\"\n\
             programmes = [\"ISO 28000:2022\"]\nreference = \"DCA-ACC-2026-0093\"\n",
            did(CERT)
        )],
    )
    .await
}

async fn publish_first(orgs: &[Org]) -> Result<()> {
    let catalog = Catalog::builtin();
    let did = |n: usize| orgs[n].node.did();

    // The manufacturer: its scope for every partner; each relationship goes
    // to the compartment of exactly its two parties, so its supplier never
    // learns who its haulier is, nor the other way round.
    let maker = &orgs[MAKER];
    publish(
        maker,
        "partners",
        &[scope(&["gearbox assembly", "final test", "dispatch"], &[])],
    )
    .await?;
    publish(
        maker,
        by_default(),
        &[
            relationship(did(TIER1), did(MAKER), "machined gearbox housings"),
            relationship(did(HAULIER), did(MAKER), "road haulage"),
        ],
    )
    .await?;

    // Tier 1 keeps a compartment for its customer, the manufacturer; its
    // relationship with the manufacturer goes there by default. It tells the
    // manufacturer who its own supplier is on purpose (--share-wider), so
    // that the manufacturer can walk its chain to tier 2.
    let tier1 = &orgs[TIER1];
    tier1
        .node
        .add_compartment(NewCompartment {
            label: "helix-drives".into(),
            readers: [did(MAKER)].into(),
            roles: Default::default(),
            min_clearance: Clearance::Partner,
        })
        .await?;
    publish(
        tier1,
        by_default(),
        &[relationship(
            did(TIER1),
            did(MAKER),
            "machined gearbox housings",
        )],
    )
    .await?;
    publish(
        tier1,
        Placement::into("helix-drives").share_wider(),
        &[relationship(
            did(TIER2),
            did(TIER1),
            "aluminium die castings",
        )],
    )
    .await?;

    // Tier 1: every catalog control; cyber controls only for confidential
    // readers; its customs declaration control for regulators only.
    let mut partners = vec![
        scope(
            &[
                "machined gearbox housings",
                "CNC machining",
                "final inspection",
            ],
            &[],
        ),
        format!(
            "kind = \"incident\"\ncategory = \"phishing\"\nseverity = \"medium\"\n\
             summary = \"A purchasing clerk entered credentials on a fake supplier portal; the account was locked within 20 minutes.\"\n\
             occurredAt = {}\ndetectedAt = {}\nstatus = \"resolved\"\n\
             [[correctiveActions]]\ndescription = \"Password reset and session revocation for the account.\"\ncompleted = 2026-09-03\n\
             [[correctiveActions]]\ndescription = \"Phishing-resistant sign-in for all purchasing staff.\"\ncompleted = 2026-10-01\n",
            days_ago(80),
            days_ago(80)
        ),
    ];
    let mut confidential = Vec::new();
    for c in catalog.iter() {
        let text = control(catalog, &c.id, "implemented", 40);
        match (c.domain, c.id.as_str()) {
            (_, "ISO28000:4.2.2") => {}
            (Domain::Cyber, _) => confidential.push(text),
            _ => partners.push(text),
        }
    }
    publish(tier1, "partners", &partners).await?;
    publish(tier1, "confidential", &confidential).await?;
    publish(
        tier1,
        "regulators",
        &[control(catalog, "ISO28000:4.2.2", "implemented", 20)],
    )
    .await?;

    // Tier 2: sells only to tier 1; the manufacturer never sees its records.
    publish(
        &orgs[TIER2],
        by_default(),
        &[relationship(
            did(TIER2),
            did(TIER1),
            "aluminium die castings",
        )],
    )
    .await?;
    let mut tier2 = vec![
        scope(&["aluminium die castings", "heat treatment"], &[]),
        control(catalog, "ISO22340:8.2.2", "implemented", 100),
        control(catalog, "ISO22340:9.2.4", "partial", 100),
    ];
    tier2.extend(
        catalog
            .in_domain(Domain::Governance)
            .map(|c| control(catalog, &c.id, "partial", 150)),
    );
    publish(&orgs[TIER2], "partners", &tier2).await?;

    // Logistics: certified, but a high-severity incident left open.
    let haulier = &orgs[HAULIER];
    let mut records = vec![
        scope(
            &[
                "road haulage",
                "cross-dock consolidation",
                "bonded warehousing",
            ],
            &["air freight"],
        ),
        control(catalog, "ISO22340:7.2.2", "implemented", 60),
        format!(
            "kind = \"incident\"\ncategory = \"cargo-tampering\"\nseverity = \"high\"\n\
             summary = \"Seal mismatch on a trailer at the Duisburg cross-dock; two pallets opened.\"\n\
             occurredAt = {}\ndetectedAt = {}\nstatus = \"contained\"\n\
             [[correctiveActions]]\ndescription = \"Load quarantined and counted with the customer present.\"\ncompleted = 2026-10-08\n",
            days_ago(46),
            days_ago(45)
        ),
    ];
    records.extend(
        catalog
            .in_domain(Domain::Physical)
            .map(|c| control(catalog, &c.id, "implemented", 30)),
    );
    publish(haulier, "partners", &records).await?;
    publish(
        haulier,
        by_default(),
        &[relationship(did(HAULIER), did(MAKER), "road haulage")],
    )
    .await?;
    publish(
        haulier,
        "regulators",
        &[
            control(catalog, "ISO28000:4.2.2", "implemented", 10),
            format!(
                "kind = \"incident\"\ncategory = \"customs-irregularity\"\nseverity = \"medium\"\n\
                 summary = \"Bonded goods released 40 minutes before the customs release message arrived.\"\n\
                 occurredAt = {}\ndetectedAt = {}\nstatus = \"resolved\"\n\
                 [[correctiveActions]]\ndescription = \"Gate system blocks release without the message.\"\ncompleted = 2026-08-20\n",
                days_ago(120),
                days_ago(120)
            ),
        ],
    )
    .await?;

    // The certification body certifies tier 1 and the logistics provider;
    // each audit goes to the compartment of exactly its auditee, so neither
    // learns of the other's certificate.
    publish(
        &orgs[CERT],
        by_default(),
        &[
            audit(did(TIER1), "NGC-28000-2026-0388"),
            audit(did(HAULIER), "NGC-28000-2026-0417"),
        ],
    )
    .await
}

/// Waits until every organization holds every log it may read at the
/// author's size.
async fn replicated(orgs: &[Org]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut missing = 0;
        let now = Timestamp::now();
        for author in orgs {
            let store = author.node.store();
            for summary in store.logs(&store.as_owner()?) {
                if summary.log.origin != author.node.did() {
                    continue;
                }
                let size = summary.checkpoint.checkpoint().size();
                for member in orgs.iter().filter(|m| m.node.did() != author.node.did()) {
                    let readers = store.gate(Reader::Party(member.node.did()), now, "local")?;
                    if !readers.contains(&summary.log) {
                        continue;
                    }
                    let theirs = member.node.store();
                    let held = theirs
                        .log_state(&theirs.as_owner()?, summary.log)
                        .map_or(0, |s| s.tree.len());
                    if held < size {
                        missing += 1;
                    }
                }
            }
        }
        if missing == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{missing} logs did not replicate within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn acknowledge_and_verify(orgs: &[Org], component: &Path) -> Result<()> {
    // Each certified supplier co-signs the audit about it and shows it to
    // its own partners: the audit names no one but itself.
    for n in [TIER1, HAULIER] {
        let org = &orgs[n];
        let store = org.node.store();
        let audits = store.records(
            &store.as_owner()?,
            &assure_store::Filter {
                kind: Some(assure_model::Kind::Audit),
                subject: Some(org.node.did()),
                ..Default::default()
            },
            1,
        )?;
        let audit = audits.first().context("the audit did not arrive")?;
        let cosigned = assure_model::cosign(&audit.record, org.node.keypair())?;
        org.node.publish("partners", vec![cosigned]).await?;
    }
    // Tier 1 verifies tier 2 and publishes the result for its customer, on
    // purpose: the verification names its supplier.
    let tier1 = &orgs[TIER1];
    let profile = load_profile(component)?;
    let verifier = Verifier::new(
        tier1.node.store(),
        tier1.node.did(),
        &[orgs[CUSTOMS].node.did()],
        Timestamp::now(),
    )?;
    let report = verifier.verify(&profile.profile, orgs[TIER2].node.did());
    let signed = attest(tier1.node.keypair(), &report, Timestamp::now())?;
    tier1
        .node
        .publish(Placement::into("helix-drives").share_wider(), vec![signed])
        .await?;
    Ok(())
}

impl Demo {
    /// The organization a DID belongs to.
    pub fn name_of(&self, did: Did) -> String {
        self.orgs
            .iter()
            .find(|o| o.node.did() == did)
            .map_or_else(|| did.fmt_short(), |o| o.name.to_owned())
    }

    /// Entries each of two organizations holds of every log, where they
    /// differ: (author, compartment label, held by `a`, held by `b`).
    pub fn difference(&self, a: usize, b: usize) -> Vec<(String, String, u64, u64)> {
        let held = |n: usize| -> BTreeMap<assure_store::LogId, (String, u64)> {
            let store = self.orgs[n].node.store();
            store
                .as_owner()
                .map(|ours| store.logs(&ours))
                .unwrap_or_default()
                .into_iter()
                .map(|s| {
                    (
                        s.log,
                        (
                            s.compartment.label.clone(),
                            s.checkpoint.checkpoint().size(),
                        ),
                    )
                })
                .collect()
        };
        let (first, second) = (held(a), held(b));
        let mut logs: Vec<_> = first.keys().chain(second.keys()).copied().collect();
        logs.sort();
        logs.dedup();
        logs.into_iter()
            .filter_map(|log| {
                // Members hold no labels of others' logs: the author's own
                // label names the compartment here.
                let label = self
                    .orgs
                    .iter()
                    .find(|o| o.node.did() == log.origin)
                    .and_then(|o| {
                        o.node
                            .store()
                            .find_compartment(
                                &o.node.store().as_owner().ok()?,
                                &log.compartment.to_string(),
                            )
                            .ok()
                    })
                    .map(|s| s.compartment.label)
                    .or_else(|| {
                        first
                            .get(&log)
                            .or_else(|| second.get(&log))
                            .map(|(l, _)| l.clone())
                    })?;
                let x = first.get(&log).map_or(0, |(_, n)| *n);
                let y = second.get(&log).map_or(0, |(_, n)| *n);
                (x != y).then(|| (self.name_of(log.origin), label, x, y))
            })
            .collect()
    }

    /// Prints the verdicts, the need-to-know comparison, the dashboards and
    /// an example signed request.
    pub fn report(&self, out: &mut impl Write) -> Result<()> {
        writeln!(
            out,
            "\nThe manufacturer ({}) verifies its supply chain:\n",
            self.orgs[MAKER].name
        )?;
        let mut rows = vec![[
            "TIER".to_owned(),
            "PROVIDER".to_owned(),
            "PROFILE".to_owned(),
            "VERDICT".to_owned(),
            "REASON".to_owned(),
        ]];
        for v in &self.verdicts {
            let mut verdict = match v.report.result {
                Outcome::Pass => "PASS",
                Outcome::Fail => "FAIL",
                Outcome::Inconclusive => "INCONCLUSIVE",
            }
            .to_owned();
            let mut reason = if v.report.result == Outcome::Pass {
                "every requirement met".to_owned()
            } else {
                v.report.headline()
            };
            if let Some(t) = &v.report.transitive {
                verdict += " (transitive)";
                reason = format!("as verified by {}: {reason}", self.name_of(t.via));
            }
            rows.push([
                v.link.tier.to_string(),
                self.name_of(v.link.provider),
                v.report.profile.clone(),
                verdict,
                reason,
            ]);
        }
        table(out, &rows)?;

        writeln!(
            out,
            "\nNeed-to-know at work: entries the {} holds that the {} does not, and the other way round:\n",
            ORGS[CUSTOMS].0, ORGS[MAKER].0
        )?;
        let mut rows = vec![[
            "AUTHOR".to_owned(),
            "COMPARTMENT".to_owned(),
            "REGULATOR".to_owned(),
            "MANUFACTURER".to_owned(),
        ]];
        for (author, label, regulator, maker) in self.difference(CUSTOMS, MAKER) {
            rows.push([author, label, regulator.to_string(), maker.to_string()]);
        }
        table(out, &rows)?;

        writeln!(
            out,
            "\nDashboards: each link signs one browser in as that organization's \
             administrator, once, within 10 minutes:\n"
        )?;
        for org in &self.orgs {
            if let Some(link) = org.node.dashboard_link()? {
                writeln!(out, "  {:<32} {link}", org.name)?;
                writeln!(
                    out,
                    "  {:<32} another: assure --data {} dashboard-link",
                    "",
                    org.dir.display()
                )?;
            }
        }
        let regulator = &self.orgs[CUSTOMS];
        let haulier = &self.orgs[HAULIER];
        if let Some(address) = haulier.node.api_address() {
            writeln!(
                out,
                "\nThe regulator asks the logistics provider's node for its incidents, signing \
                 with its own key:\n\n  assure --data {} api-request GET \
                 '/v1/orgs/{}/records?kind=incident' --url http://{address} --purpose 'customs \
                 inspection 2026-114'",
                regulator.dir.display(),
                haulier.node.did()
            )?;
        }
        Ok(())
    }

    /// Stops every node in order.
    pub async fn shutdown(self) -> Result<()> {
        for org in self.orgs {
            org.node.shutdown().await?;
        }
        Ok(())
    }
}

fn table<const N: usize>(out: &mut impl Write, rows: &[[String; N]]) -> Result<()> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        writeln!(out, "  {}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
