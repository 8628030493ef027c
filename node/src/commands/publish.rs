//! `assure publish`: drafts signed by this organization, or envelopes signed by
//! others, appended as one durable batch.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_model::{Catalog, Draft, Keypair, Record, issue, validate};
use assure_store::NewEntry;
use rayon::prelude::*;
use serde::Serialize;

use super::now;
use crate::cli::Output;
use crate::datadir::DataDir;
use crate::output::{Table, json};

/// The largest file read, in bytes (drafts and envelopes share the limit).
const MAX_FILE_BYTES: u64 = assure_model::record::MAX_ENVELOPE_BYTES as u64;

#[derive(Serialize)]
struct Published {
    id: String,
    kind: String,
    compartment: String,
    index: u64,
    file: PathBuf,
}

pub(super) fn publish(
    dir: &DataDir,
    files: &[PathBuf],
    compartment: &str,
    envelopes: bool,
    output: Output,
) -> Result<()> {
    let keypair = dir.keypair()?;
    let store = dir.store()?;
    let target = store.find_compartment(keypair.did(), compartment)?;
    let catalog = Catalog::builtin()?;
    let now = now();
    // Reading and signing are independent per file: use every core.
    let signed: Vec<(Vec<u8>, Record)> = files
        .par_iter()
        .map(|file| {
            if envelopes {
                read_envelope(file, now)
            } else {
                read_draft(file, &keypair, &catalog, now)
            }
            .with_context(|| format!("{}: nothing was published", file.display()))
        })
        .collect::<Result<_>>()?;
    let entries: Vec<NewEntry> = signed
        .into_iter()
        .map(|(bytes, record)| NewEntry {
            compartment: target.compartment.id,
            bytes,
            record,
        })
        .collect();
    let appended = store.append(&keypair, &entries, now)?;
    let published: Vec<Published> = appended
        .iter()
        .zip(entries.iter().zip(files))
        .map(|(at, (entry, file))| Published {
            id: at.id.to_string(),
            kind: entry.record.kind().to_string(),
            compartment: target.compartment.label.clone(),
            index: at.location.index,
            file: file.clone(),
        })
        .collect();
    let checkpoint = store
        .find_compartment(keypair.did(), compartment)?
        .checkpoint;
    if output.json {
        return json(&serde_json::json!({
            "records": published,
            "checkpoint": checkpoint.to_string(),
        }));
    }
    let mut table = Table::new(&["RECORD", "KIND", "COMPARTMENT", "INDEX", "FILE"]);
    for p in &published {
        table.row(vec![
            p.id.clone(),
            p.kind.clone(),
            p.compartment.clone(),
            p.index.to_string(),
            p.file.display().to_string(),
        ]);
    }
    table.print();
    println!("\n{checkpoint}");
    Ok(())
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

fn read_draft(
    file: &Path,
    keypair: &Keypair,
    catalog: &Catalog,
    now: jiff::Timestamp,
) -> Result<(Vec<u8>, Record)> {
    let bytes = read_limited(file)?;
    let is_toml = file.extension().is_some_and(|ext| ext == "toml");
    let draft = if is_toml {
        let text = std::str::from_utf8(&bytes).context("a TOML file must be UTF-8")?;
        Draft::from_toml(text)?
    } else {
        Draft::from_json(&bytes)?
    };
    let (subject, predicate) = draft.into_predicate(keypair.did(), now, catalog)?;
    Ok(issue(keypair, &subject, &predicate)?)
}

fn read_envelope(file: &Path, now: jiff::Timestamp) -> Result<(Vec<u8>, Record)> {
    let bytes = read_limited(file)?;
    let record = validate(&bytes, now)?;
    Ok((bytes, record))
}
