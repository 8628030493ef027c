//! `assure publish`: drafts signed by this organization, or envelopes signed by
//! others, appended as one durable batch; with `--dry-run`, where each would
//! go and who could read it there, nothing signed or stored.

use std::path::PathBuf;

use anyhow::Result;
use assure_node::publish::{Input, Placement, Preview, prepare, read_files};
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
    #[serde(rename = "alreadyPublished")]
    already_published: bool,
    file: PathBuf,
}

pub(super) fn publish(
    dir: &DataDir,
    files: &[PathBuf],
    placement: &Placement,
    envelopes: bool,
    dry_run: bool,
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
    let kinds: Vec<String> = signed.iter().map(|(_, r)| r.kind().to_string()).collect();
    let prepared = prepare(&store, &keypair, placement, signed, now)?;
    if dry_run {
        return print_preview(&prepared.preview(&store, now)?, files, output);
    }
    let appended = prepared.append(&store, &keypair, now)?;
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
        .zip(kinds.iter().zip(files))
        .map(|(at, (kind, file))| Published {
            id: at.id.to_string(),
            kind: kind.clone(),
            compartment: label(at.location.log),
            index: at.location.index,
            already_published: at.already,
            file: file.clone(),
        })
        .collect();
    let mut logs: Vec<_> = appended
        .iter()
        .filter(|a| !a.already)
        .map(|a| a.location.log)
        .collect();
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
    for p in published.iter().filter(|p| p.already_published) {
        println!(
            "\n{}: record {} already published at {} index {}; nothing appended",
            p.file.display(),
            p.id,
            p.compartment,
            p.index
        );
    }
    for checkpoint in checkpoints {
        println!("\n{checkpoint}");
    }
    Ok(())
}

fn print_preview(previews: &[Preview], files: &[PathBuf], output: Output) -> Result<()> {
    if output.json {
        return json(&serde_json::json!({ "dryRun": true, "records": previews }));
    }
    println!("dry run: nothing signed into a log, nothing stored\n");
    for (p, file) in previews.iter().zip(files) {
        println!("{}", file.display());
        println!("  statement    {} {} about {}", p.kind, p.id, p.subject);
        let id = p
            .compartment_id
            .as_deref()
            .unwrap_or("new, made on publishing");
        println!("  compartment  {} ({id})", p.compartment);
        if let Some(at) = &p.already {
            println!("  already      published at {at}: nothing would be appended");
        }
        let readers = match (p.public, p.readers.is_empty()) {
            (true, _) => "anyone, with or without a grant".to_owned(),
            (false, true) => "no one today but us".to_owned(),
            (false, false) => p
                .readers
                .iter()
                .map(|r| match &r.name {
                    Some(name) => format!("{name} ({})", r.did),
                    None => r.did.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        println!("  readers      {readers}");
        let roles = match p.roles.is_empty() {
            true => "none named".to_owned(),
            false => p.roles.join(", "),
        };
        println!("  roles        {roles}");
        println!("  clearance    {} or higher\n", p.min_clearance);
    }
    Ok(())
}
