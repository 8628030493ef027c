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
pub use assure_api::Placement;
use assure_model::{Catalog, Did, Draft, Keypair, Record, issue, validate};
use assure_store::{NewEntry, Store};
use jiff::Timestamp;
use rayon::prelude::*;

use crate::compartments;

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
    let catalog = Catalog::builtin()?;
    files
        .par_iter()
        .map(|file| {
            read_one(file, input, keypair, &catalog, now)
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
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!("file is {size} bytes, more than the {MAX_FILE_BYTES}-byte limit");
    }
    Ok(std::fs::read(file)?)
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
    let (subject, predicate) = draft.into_predicate(keypair.did(), now, catalog)?;
    Ok(issue(keypair, &subject, &predicate)?)
}

/// Decides the compartment of each record and checks the third-party rule
/// (DESIGN.md §3), for the whole batch before anything is made or stored.
///
/// A record goes to the compartment `placement` names, or, when it names
/// none, to its default: the compartment of exactly its parties (a
/// relationship's other party, an audit's auditee; an incident's affected
/// parties plus regulators), found or made. A record that names no one but
/// us has no default. A record naming a third party is refused in a
/// compartment others can read ([`assure_access::wider_than`]) unless the
/// placement says `share_wider`; the refusal says who else would read it.
pub fn place(
    store: &Store,
    keypair: &Keypair,
    placement: &Placement,
    records: Vec<(Vec<u8>, Record)>,
    now: Timestamp,
) -> Result<Vec<NewEntry>> {
    let us = keypair.did();
    let ours = store.as_owner()?;
    let named = placement
        .compartment
        .as_deref()
        .map(|name| store.find_compartment(&ours, name).map(|s| s.compartment))
        .transpose()?;
    // First every decision, then the compartments to make, then the entries:
    // a refusal of the last record makes nothing for the first.
    let mut planned = Vec::with_capacity(records.len());
    for (bytes, record) in records {
        let parties = parties(&record.subject.did, &record.predicate.body, &us);
        let target = match &named {
            Some(compartment) => Target::Named(compartment.clone()),
            None => match default_rule(&record.predicate.body, &parties) {
                Some(rule) => Target::Audience(rule),
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
        planned.push((target, parties, bytes, record));
    }
    planned
        .into_iter()
        .map(|(target, parties, bytes, record)| {
            let compartment = match target {
                Target::Named(compartment) => compartment.id,
                Target::Audience(rule) => {
                    let names = compartments::names(store, &parties)?;
                    let label = compartments::default_label(
                        &record.predicate.body,
                        &rule,
                        &parties,
                        &names,
                    );
                    compartments::find_or_create(store, keypair, &rule, &label, now)?
                        .0
                        .id
                }
            };
            Ok(NewEntry {
                compartment,
                bytes,
                record,
            })
        })
        .collect()
}

/// Where one record goes.
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
