//! Turning files into records to append, the same way offline (`assure
//! publish`) and in a running node: drafts are signed on every core, envelopes
//! validated, and each record placed (DESIGN.md §3): into the compartment the
//! operator names or, by default, the compartment of exactly the parties it
//! names (an incident's affected partners plus regulators, ISO 28000 8.6.3),
//! never where others could read about a third party unless the operator
//! says `--share-wider`.

use std::path::{Path, PathBuf};

use std::collections::BTreeSet;

use anyhow::{Context as _, Result, bail};
use assure_access::{
    Beyond, Clearance, Compartment, Rule, default_rule, parties, readers, wider_than,
};
pub use assure_api::{Outcome, Placement, Preview};
use assure_model::{Body, Catalog, Did, Draft, Keypair, Record, validate};
use assure_store::{Location, NewEntry, Store};
use jiff::Timestamp;
use rayon::prelude::*;

use crate::{compartments, guard};

/// The largest file read, in bytes (drafts and envelopes share the limit).
pub const MAX_FILE_BYTES: u64 = assure_model::record::MAX_ENVELOPE_BYTES as u64;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Drafts (JSON or TOML) that this organization signs.
    Drafts,
    /// Envelopes signed by someone else, validated before they are kept.
    Envelopes,
}

/// Reads and signs (or validates) every file; any failure fails the whole
/// batch before anything is stored.
pub fn read_files(
    files: &[PathBuf],
    input: Input,
    keypair: &Keypair,
    now: Timestamp,
) -> Result<Vec<(Vec<u8>, Record)>> {
    let catalog = Catalog::builtin();
    files
        .par_iter()
        .map(|file| {
            read_one(file, input, keypair, catalog, now)
                .with_context(|| format!("{}: nothing was published", file.display()))
        })
        .collect()
}

fn read_one(
    file: &Path,
    input: Input,
    keypair: &Keypair,
    catalog: &Catalog,
    now: Timestamp,
) -> Result<(Vec<u8>, Record)> {
    let bytes = read_limited(file)?;
    match input {
        Input::Envelopes => {
            let record = validate(&bytes, now)?;
            Ok((bytes, record))
        }
        Input::Drafts => sign_draft(file, &bytes, keypair, catalog, now),
    }
}

fn read_limited(file: &Path) -> Result<Vec<u8>> {
    crate::files::read_limited(file, MAX_FILE_BYTES, "file")
}

fn sign_draft(
    file: &Path,
    bytes: &[u8],
    keypair: &Keypair,
    catalog: &Catalog,
    now: Timestamp,
) -> Result<(Vec<u8>, Record)> {
    let draft = if file.extension().is_some_and(|ext| ext == "toml") {
        Draft::from_toml(std::str::from_utf8(bytes).context("a TOML file must be UTF-8")?)?
    } else {
        Draft::from_json(bytes)?
    };
    Ok(draft.sign(keypair, now, catalog)?)
}

/// Decides the compartment of each record and checks every rule of
/// [`crate::guard`] and the third-party rule (DESIGN.md §3), for the whole
/// batch, without writing anything: what [`Prepared::preview`] shows for
/// `--dry-run` and [`publish`] appends.
///
/// A record goes to the compartment `placement` names, or, when it names
/// none, to its default: the compartment of exactly its parties (a
/// relationship's other party, an audit's auditee; an incident's affected
/// parties plus regulators), found or made; a withdrawal to the compartment
/// of the record it withdraws. A record that names no one but us has no
/// default. A record naming a third party is refused in a compartment
/// others can read ([`assure_access::wider_than`]) unless the placement
/// says `share_wider`; the refusal says who else would read it. An envelope
/// one of our logs already holds is kept where it is, not appended again.
pub fn prepare(
    store: &Store,
    keypair: &Keypair,
    placement: &Placement,
    records: Vec<(Vec<u8>, Record)>,
    now: Timestamp,
) -> Result<Prepared> {
    let us = keypair.did();
    let ours = store.as_owner()?;
    let named = placement
        .compartment
        .as_deref()
        .map(|name| store.find_compartment(&ours, name).map(|s| s.compartment))
        .transpose()?;
    let mut steps = Vec::with_capacity(records.len());
    let mut withdrawn = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (bytes, record) in records {
        let id = record.id;
        let refused = |e: anyhow::Error| e.context(format!("record {id}: nothing was published"));
        if !ids.insert(record.id) {
            bail!(
                "record {} is twice in this batch: give each record once",
                record.id
            );
        }
        if let Some(location) = guard::held(store, &us, &bytes, &record)? {
            steps.push(Step::Held { location, record });
            continue;
        }
        let earlier: Vec<&Record> = steps.iter().filter_map(Step::new_record).collect();
        guard::subject(&us, &record).map_err(refused)?;
        guard::supersedes(store, &us, &record, &earlier).map_err(refused)?;
        guard::deliverable(store, &us, &record, placement.undeliverable, now).map_err(refused)?;
        let home =
            guard::withdrawal(store, &us, &record, named.as_ref(), &withdrawn).map_err(refused)?;
        if let Body::Withdrawal(w) = &record.predicate.body {
            withdrawn.insert(w.withdrawn);
        }
        let parties = parties(&record.subject.did, &record.predicate.body, &us);
        let target = match (home, &named) {
            (Some(home), _) => Target::Named(home),
            (None, Some(compartment)) => Target::Named(compartment.clone()),
            (None, None) => match default_rule(&record.predicate.body, &parties) {
                Some(rule) => match compartments::with_rule(store, us, &rule) {
                    Some(found) => Target::Named(found),
                    None => Target::Audience(rule),
                },
                None => bail!(
                    "this {} record names no organization but us, so it has no default \
                     compartment: give --compartment (for example `partners`; see `assure \
                     compartments`)",
                    record.kind()
                ),
            },
        };
        if !placement.share_wider
            && let Some(beyond) = wider_than(target.rule(), &parties)
        {
            bail!(refusal(
                store, us, &target, &beyond, &record, &parties, now
            )?);
        }
        steps.push(Step::New {
            target,
            parties,
            bytes,
            record,
        });
    }
    Ok(Prepared { steps })
}

/// Signs nothing new, stores everything [`prepare`] decided as one durable
/// batch: makes the audience compartments needed, appends the new records,
/// and says for each record where it is (an envelope already held stays
/// where it was).
pub fn publish(
    store: &Store,
    keypair: &Keypair,
    placement: &Placement,
    records: Vec<(Vec<u8>, Record)>,
    now: Timestamp,
) -> Result<Vec<Outcome>> {
    let prepared = prepare(store, keypair, placement, records, now)?;
    prepared.append(store, keypair, now)
}

/// A batch checked and placed, nothing written yet.
#[derive(Debug)]
pub struct Prepared {
    steps: Vec<Step>,
}

/// One record of a prepared batch.
#[derive(Debug)]
enum Step {
    /// Already in one of our logs, byte for byte.
    Held { location: Location, record: Record },
    /// To append.
    New {
        target: Target,
        parties: BTreeSet<Did>,
        bytes: Vec<u8>,
        record: Record,
    },
}

impl Step {
    fn new_record(&self) -> Option<&Record> {
        match self {
            Step::New { record, .. } => Some(record),
            Step::Held { .. } => None,
        }
    }
}

impl Prepared {
    /// Where each record would go and who could read it there, in order.
    pub fn preview(&self, store: &Store, now: Timestamp) -> Result<Vec<Preview>> {
        let ours = store.as_owner()?;
        let grants = store.grants()?;
        self.steps
            .iter()
            .map(|step| {
                let (record, compartment, already) = match step {
                    Step::Held { location, record } => {
                        let held = store
                            .log(&ours, location.log)
                            .context("the log of a held record is gone")?
                            .compartment;
                        let at = format!("{} index {}", held.label, location.index);
                        (record, Target::Named(held), Some(at))
                    }
                    Step::New { target, record, .. } => (record, target.clone(), None),
                };
                let (label, id) = match &compartment {
                    Target::Named(c) => (c.label.clone(), Some(c.id.to_string())),
                    Target::Audience(rule) => {
                        let Step::New { parties, .. } = step else {
                            unreachable!("a held record has a compartment")
                        };
                        (audience_label(store, record, rule, parties)?, None)
                    }
                };
                let rule = compartment.rule();
                Ok(Preview {
                    id: record.id.to_string(),
                    kind: record.kind().to_string(),
                    subject: record.subject.to_string(),
                    compartment: label,
                    compartment_id: id,
                    already,
                    readers: compartments::readers_of(store, rule, &grants, now)?,
                    roles: rule.roles.iter().map(ToString::to_string).collect(),
                    min_clearance: rule.min_clearance.to_string(),
                    public: rule.is_public(),
                })
            })
            .collect()
    }

    /// Makes the compartments needed and appends the new records as one
    /// durable batch.
    pub fn append(self, store: &Store, keypair: &Keypair, now: Timestamp) -> Result<Vec<Outcome>> {
        let mut entries = Vec::new();
        let mut slots = Vec::with_capacity(self.steps.len());
        for step in self.steps {
            match step {
                Step::Held { location, record } => slots.push(Err(Outcome {
                    id: record.id,
                    location,
                    already: true,
                })),
                Step::New {
                    target,
                    parties,
                    bytes,
                    record,
                } => {
                    let compartment = match target {
                        Target::Named(compartment) => compartment.id,
                        Target::Audience(rule) => {
                            let label = audience_label(store, &record, &rule, &parties)?;
                            compartments::find_or_create(store, keypair, &rule, &label, now)?
                                .0
                                .id
                        }
                    };
                    slots.push(Ok(entries.len()));
                    entries.push(NewEntry {
                        compartment,
                        bytes,
                        record,
                    });
                }
            }
        }
        let appended = match entries.is_empty() {
            true => Vec::new(),
            false => store.append(keypair, &entries, now)?,
        };
        slots
            .into_iter()
            .map(|slot| match slot {
                Err(held) => Ok(held),
                Ok(n) => {
                    let a = appended
                        .get(n)
                        .context("the store appended fewer records")?;
                    Ok(Outcome {
                        id: a.id,
                        location: a.location,
                        already: false,
                    })
                }
            })
            .collect()
    }
}

/// The label a compartment made for `record`'s audience gets.
fn audience_label(
    store: &Store,
    record: &Record,
    rule: &Rule,
    parties: &BTreeSet<Did>,
) -> Result<String> {
    let names = compartments::names(store, parties)?;
    Ok(compartments::default_label(
        &record.predicate.body,
        rule,
        parties,
        &names,
    ))
}

/// Where one record goes.
#[derive(Clone, Debug)]
enum Target {
    /// The compartment the operator named.
    Named(Compartment),
    /// The compartment with exactly this rule, found or made.
    Audience(Rule),
}

impl Target {
    fn rule(&self) -> &Rule {
        match self {
            Target::Named(compartment) => &compartment.rule,
            Target::Audience(rule) => rule,
        }
    }
}

/// Why a record may not go where it was sent, naming who else would read
/// it and how to send it elsewhere.
fn refusal(
    store: &Store,
    us: Did,
    target: &Target,
    beyond: &Beyond,
    record: &Record,
    parties: &BTreeSet<Did>,
    now: Timestamp,
) -> Result<String> {
    let rule = target.rule();
    let grants = store.grants()?;
    let today: Vec<Did> = readers(rule, &grants, now);
    let mut everyone: Vec<&Did> = parties.iter().chain(&today).collect();
    if let Beyond::Named { orgs, .. } = beyond {
        everyone.extend(orgs);
    }
    let names = compartments::names(store, everyone)?;
    let list = |dids: &mut dyn Iterator<Item = &Did>| -> String {
        dids.map(|d| compartments::display(d, &names))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let today = match today.len() {
        0 => "none today".to_owned(),
        n => format!("{n} today: {}", list(&mut today.iter())),
    };
    let who = match beyond {
        Beyond::Anyone => "anyone, with or without a grant".to_owned(),
        Beyond::EveryGrantee(Clearance::Partner) => {
            format!("every party holding a grant ({today})")
        }
        Beyond::EveryGrantee(clearance) => {
            format!("every party holding a grant of clearance {clearance} or higher ({today})")
        }
        Beyond::Named { roles, orgs } => {
            let mut parts = Vec::new();
            if !roles.is_empty() {
                let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                parts.push(format!(
                    "every party granted the role {} ({today})",
                    roles.join(" or ")
                ));
            }
            if !orgs.is_empty() {
                parts.push(format!(
                    "{}, not named in the record",
                    list(&mut orgs.iter())
                ));
            }
            parts.join(", and ")
        }
    };
    let label = match target {
        Target::Named(compartment) => compartment.label.clone(),
        Target::Audience(rule) => rule.to_string(),
    };
    let exact = default_rule(&record.predicate.body, parties)
        .and_then(|rule| compartments::with_rule(store, us, &rule))
        .map(|c| c.label);
    let instead = match exact {
        Some(existing) => format!("use `--compartment {existing}`"),
        None => "leave out --compartment for the default, use `--compartment …` for a \
                 compartment of exactly its parties (`assure compartment add`)"
            .to_owned(),
    };
    let kind = record.kind();
    let article = if kind.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    Ok(format!(
        "compartment `{label}` is readable by {who}; {article} {kind} naming {} must go to a \
         compartment of exactly its parties: {instead}, or pass --share-wider to publish it there \
         anyway",
        list(&mut parties.iter()),
    ))
}
