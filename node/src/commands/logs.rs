//! `assure log verify`, `export`, `backup` and `restore` (the last two over
//! [`assure_node::backup`]).

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use assure_node::backup::{self, Passphrase};
use assure_store::Store;

use super::{IntegrityFailure, now};
use crate::cli::Output;
use crate::datadir::DataDir;
use crate::output::{Table, json};

pub(super) fn verify(dir: &DataDir, output: Output) -> Result<()> {
    let (store, damaged) = Store::open_report(dir.path())?;
    let mut rows = Vec::new();
    for summary in store.logs(&store.as_owner()?) {
        let head = summary.checkpoint.checkpoint();
        rows.push(serde_json::json!({
            "compartment": summary.compartment.label,
            "origin": summary.log.origin.to_string(),
            "size": head.size(),
            "root": hex::encode(*head.root()),
            "status": "ok",
        }));
    }
    for (log, error) in &damaged {
        rows.push(serde_json::json!({
            "compartment": log.compartment.to_string(),
            "origin": log.origin.to_string(),
            "status": "damaged",
            "error": error.to_string(),
        }));
    }
    if output.json {
        json(&rows)?;
    } else {
        let mut table = Table::new(&["COMPARTMENT", "SIZE", "ROOT", "STATUS"]);
        for row in &rows {
            let text = |key: &str| row[key].as_str().unwrap_or_default().to_owned();
            let status = match row.get("error") {
                Some(error) => format!("DAMAGED: {}", error.as_str().unwrap_or_default()),
                None => "ok".to_owned(),
            };
            table.row(vec![
                text("compartment"),
                row["size"].to_string(),
                text("root"),
                status,
            ]);
        }
        table.print();
    }
    if !damaged.is_empty() {
        return Err(IntegrityFailure(format!(
            "{} log(s) do not match their signed checkpoints; restore with `assure restore FILE`",
            damaged.len()
        ))
        .into());
    }
    Ok(())
}

pub(super) fn export(dir: &DataDir, compartment: &str, out: &Path) -> Result<()> {
    let store = dir.store()?;
    let owner = store
        .owner()?
        .context("this data directory has no identity; run `assure init`")?;
    let summary = store.find_compartment(&store.as_owner()?, compartment)?;
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} exists and is not empty; choose a new directory",
            out.display()
        );
    }
    let entries_dir = out.join("entries");
    std::fs::create_dir_all(&entries_dir)
        .with_context(|| format!("creating {}", entries_dir.display()))?;
    let head = summary.checkpoint.checkpoint();
    let entries = store
        .read_entries(&store.as_owner()?, summary.log, 0, head.size(), usize::MAX)?
        .unwrap_or_default();
    for (index, bytes) in entries.iter().enumerate() {
        std::fs::write(entries_dir.join(format!("{index}.json")), bytes)?;
    }
    std::fs::write(out.join("checkpoint"), summary.checkpoint.to_string())?;
    let about = serde_json::json!({
        "origin": owner.to_string(),
        "compartment": summary.compartment.id.to_string(),
        "label": summary.compartment.label,
        "tlp": summary.compartment.rule.tlp().to_string(),
        "size": head.size(),
        "leafHash": "blake3(0x00 || entry bytes)",
        "nodeHash": "blake3(0x01 || left || right)",
    });
    std::fs::write(
        out.join("compartment.json"),
        serde_json::to_vec_pretty(&about)?,
    )?;
    eprintln!(
        "exported {} entries of {} ({}) to {}",
        entries.len(),
        summary.compartment.label,
        summary.compartment.rule.tlp(),
        out.display()
    );
    Ok(())
}

pub(super) fn backup(
    dir: &DataDir,
    file: &Path,
    no_key: bool,
    passphrase_file: Option<&Path>,
) -> Result<()> {
    let store = dir.store()?;
    let key = if no_key {
        None
    } else {
        Some((dir.keypair()?, Passphrase::obtain(passphrase_file, true)?))
    };
    let written = backup::write(&store, key.as_ref().map(|(k, p)| (k, p)), file, now())?;
    let summary = written.summary;
    eprintln!(
        "backed up {} compartments, {} entries, {} grants{} to {}",
        summary.compartments,
        summary.entries,
        summary.grants,
        if written.key {
            " and the key"
        } else {
            " (no key)"
        },
        file.display()
    );
    Ok(())
}

pub(super) fn restore(dir: &DataDir, file: &Path, passphrase_file: Option<&Path>) -> Result<()> {
    let restored = backup::restore(dir, file, &mut || {
        Passphrase::obtain(passphrase_file, false)
    })
    .with_context(|| format!("{} was not restored", file.display()))?;
    let summary = restored.summary;
    eprintln!(
        "restored {} compartments, {} entries, {} grants from {}{}{}",
        summary.compartments,
        summary.entries,
        summary.grants,
        file.display(),
        if restored.key_written {
            "; wrote key.pem"
        } else {
            ""
        },
        if restored.token_written {
            "; wrote a new admin.token"
        } else {
            ""
        },
    );
    Ok(())
}
