//! `assure publish`: drafts signed by this organization, or envelopes signed by
//! others, appended as one durable batch.

use std::path::PathBuf;

use anyhow::Result;
use assure_node::publish::{Input, Placement, place, read_files};
use serde::Serialize;

use super::now;
use crate::cli::Output;
use crate::datadir::DataDir;
use crate::output::{Table, json};

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
    placement: &Placement,
    envelopes: bool,
    output: Output,
) -> Result<()> {
    let keypair = dir.keypair()?;
    let store = dir.store()?;
    let now = now();
    let input = if envelopes {
        Input::Envelopes
    } else {
        Input::Drafts
    };
    let signed = read_files(files, input, &keypair, now)?;
    let entries = place(&store, &keypair, placement, signed, now)?;
    let appended = store.append(&keypair, &entries, now)?;
    let summaries = store.logs(&store.as_owner()?);
    let label = |log: assure_store::LogId| {
        summaries
            .iter()
            .find(|s| s.log == log)
            .map(|s| s.compartment.label.clone())
            .unwrap_or_default()
    };
    let published: Vec<Published> = appended
        .iter()
        .zip(entries.iter().zip(files))
        .map(|(at, (entry, file))| Published {
            id: at.id.to_string(),
            kind: entry.record.kind().to_string(),
            compartment: label(at.location.log),
            index: at.location.index,
            file: file.clone(),
        })
        .collect();
    let mut logs: Vec<_> = appended.iter().map(|a| a.location.log).collect();
    logs.dedup();
    let checkpoints: Vec<String> = summaries
        .iter()
        .filter(|s| logs.contains(&s.log))
        .map(|s| s.checkpoint.to_string())
        .collect();
    if output.json {
        return json(&serde_json::json!({ "records": published, "checkpoints": checkpoints }));
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
    for checkpoint in checkpoints {
        println!("\n{checkpoint}");
    }
    Ok(())
}
