//! Turning files into records to append, the same way offline (`assure
//! publish`) and in a running node: drafts are signed on every core, envelopes
//! validated, and incidents that name affected partners go to the compartment
//! readable by exactly those partners plus regulators (ISO 28000 8.6.3).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_access::{Compartment, CompartmentId, Role, Rule};
use assure_model::{Body, Catalog, Draft, Keypair, Record, issue, validate};
use assure_store::{NewEntry, Store};
use jiff::Timestamp;
use rayon::prelude::*;

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

/// Decides the compartment of each record: `compartment` (a label or id of
/// the owner's), except for incidents naming affected partners, which go to
/// the compartment whose rule is exactly those partners plus regulators,
/// created if needed.
pub fn place(
    store: &Store,
    keypair: &Keypair,
    compartment: &str,
    records: Vec<(Vec<u8>, Record)>,
    now: Timestamp,
) -> Result<Vec<NewEntry>> {
    let target = store
        .find_compartment(keypair.did(), compartment)?
        .compartment
        .id;
    records
        .into_iter()
        .map(|(bytes, record)| {
            let compartment = match &record.predicate.body {
                Body::Incident(incident)
                    if !incident.affected.is_empty() && record.issuer() == keypair.did() =>
                {
                    audience(store, keypair, incident.affected.iter().copied(), now)?
                }
                _ => target,
            };
            Ok(NewEntry {
                compartment,
                bytes,
                record,
            })
        })
        .collect()
}

/// The owner's compartment readable by exactly `orgs` and regulators.
fn audience(
    store: &Store,
    keypair: &Keypair,
    orgs: impl IntoIterator<Item = assure_model::Did>,
    now: Timestamp,
) -> Result<CompartmentId> {
    let rule = Rule::audience(orgs, [Role::Regulator]);
    let existing = store
        .logs(&store.as_owner()?)
        .into_iter()
        .find(|s| s.log.origin == keypair.did() && s.compartment.rule == rule);
    if let Some(summary) = existing {
        return Ok(summary.compartment.id);
    }
    let id = CompartmentId::random()?;
    let label = format!("incident-{}", id.fmt_short());
    store.create_compartment(keypair, Compartment::new(id, label, rule)?, now)?;
    Ok(id)
}
