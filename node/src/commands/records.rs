//! Reading: `assure records`, `show` and `catalog`.

use anyhow::{Context as _, Result};
use assure_model::{Catalog, Did, Domain, Kind, RecordId};
use assure_store::{Filter, StoredRecord};
use base64::Engine as _;
use serde::Serialize;

use crate::cli::Output;
use crate::datadir::DataDir;
use crate::output::{Table, json};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    id: String,
    kind: String,
    subject: String,
    issuer: String,
    issued_at: String,
    compartment: String,
    index: u64,
}

pub(super) fn list(
    dir: &DataDir,
    kind: Option<String>,
    compartment: Option<String>,
    subject: Option<String>,
    limit: usize,
    output: Output,
) -> Result<()> {
    let store = dir.store()?;
    store
        .owner()?
        .context("this data directory has no identity; run `assure init`")?;
    let filter = Filter {
        kind: kind.map(|k| k.parse::<Kind>()).transpose()?,
        subject: subject.map(|s| s.parse::<Did>()).transpose()?,
        ..Filter::default()
    };
    let mut ours = store.as_owner()?;
    if let Some(name) = &compartment {
        let log = store.find_compartment(&ours, name)?.log;
        ours = ours.only(&log);
    }
    let labels = store.logs(&ours);
    let label = |record: &StoredRecord| {
        labels
            .iter()
            .find(|s| s.log == record.location.log)
            .map(|s| s.compartment.label.clone())
            .unwrap_or_default()
    };
    let rows: Vec<Row> = store
        .records(&ours, &filter, limit)?
        .iter()
        .map(|stored| Row {
            id: stored.record.id.to_string(),
            kind: stored.record.kind().to_string(),
            subject: stored.record.subject.to_string(),
            issuer: stored.record.issuer().to_string(),
            issued_at: stored.record.predicate.common.issued_at.to_string(),
            compartment: label(stored),
            index: stored.location.index,
        })
        .collect();
    if output.json {
        return json(&rows);
    }
    let mut table = Table::new(&[
        "RECORD",
        "KIND",
        "SUBJECT",
        "ISSUED",
        "COMPARTMENT",
        "INDEX",
    ]);
    for row in rows {
        let subject: Option<Did> = row.subject.split('#').next().and_then(|d| d.parse().ok());
        table.row(vec![
            row.id[..12].to_owned(),
            row.kind,
            subject.map(|d| d.fmt_short()).unwrap_or(row.subject),
            row.issued_at,
            row.compartment,
            row.index.to_string(),
        ]);
    }
    table.print();
    Ok(())
}

pub(super) fn show(dir: &DataDir, id: &str, output: Output) -> Result<()> {
    let id: RecordId = id.parse()?;
    let store = dir.store()?;
    let ours = store.as_owner()?;
    let locations = store.locations(&ours, &id);
    let first = locations
        .first()
        .with_context(|| format!("no record {id} in this store"))?;
    let stored = store
        .entry_at(&ours, *first)?
        .with_context(|| format!("no record {id} in this store"))?;
    let payload =
        base64::engine::general_purpose::STANDARD.decode(&stored.record.envelope.payload)?;
    let statement: serde_json::Value = serde_json::from_slice(&payload)?;
    let labels = store.logs(&ours);
    let places: Vec<serde_json::Value> = locations
        .iter()
        .map(|at| {
            let label = labels
                .iter()
                .find(|s| s.log == at.log)
                .map(|s| s.compartment.label.clone());
            serde_json::json!({
                "origin": at.log.origin.to_string(),
                "compartment": label.unwrap_or_else(|| at.log.compartment.to_string()),
                "index": at.index,
            })
        })
        .collect();
    let signers: Vec<String> = stored.record.signers.iter().map(Did::to_string).collect();
    let view = serde_json::json!({
        "id": id.to_string(),
        "kind": stored.record.kind().to_string(),
        "signers": signers,
        "locations": places,
        "statement": statement,
    });
    if output.json {
        return json(&view);
    }
    println!("record   {id}");
    println!("kind     {}", stored.record.kind());
    println!("subject  {}", stored.record.subject);
    for (n, signer) in signers.iter().enumerate() {
        println!("{:<9}{signer}", if n == 0 { "issuer" } else { "cosigner" });
    }
    for place in &places {
        println!(
            "stored   {} #{}",
            place["compartment"].as_str().unwrap_or(""),
            place["index"]
        );
    }
    println!("{}", serde_json::to_string_pretty(&statement["predicate"])?);
    Ok(())
}

pub(super) fn catalog(domain: Option<String>, output: Output) -> Result<()> {
    let catalog = Catalog::builtin()?;
    let domain = domain.map(|d| d.parse::<Domain>()).transpose()?;
    let controls: Vec<_> = catalog
        .iter()
        .filter(|c| domain.is_none_or(|d| c.domain == d))
        .collect();
    if output.json {
        let rows: Vec<_> = controls
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "domain": c.domain, "title": c.title}))
            .collect();
        return json(&rows);
    }
    let mut table = Table::new(&["CONTROL", "DOMAIN", "TITLE"]);
    for c in controls {
        table.row(vec![c.id.clone(), c.domain.to_string(), c.title.clone()]);
    }
    table.print();
    Ok(())
}

pub(super) fn alerts(dir: &DataDir, output: Output) -> Result<()> {
    let store = dir.store()?;
    let alerts = store.alerts(&store.as_owner()?)?;
    if output.json {
        let evidence: Vec<_> = store
            .all_evidence(&store.as_owner()?)?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        return json(&serde_json::json!({ "alerts": alerts, "evidence": evidence }));
    }
    let mut table = Table::new(&["AT", "KIND", "FROM", "DETAIL"]);
    for alert in alerts {
        let from = alert
            .origin
            .parse::<Did>()
            .map(|d| d.fmt_short())
            .unwrap_or(alert.origin);
        table.row(vec![alert.at.to_string(), alert.kind, from, alert.detail]);
    }
    table.print();
    Ok(())
}

pub(super) fn disclosures(dir: &DataDir, limit: usize, output: Output) -> Result<()> {
    let store = dir.store()?;
    let disclosures = store.disclosures(0, limit)?;
    if output.json {
        return json(&disclosures);
    }
    let mut table = Table::new(&["AT", "PARTY", "COMPARTMENT", "RANGE", "GRANT", "CHANNEL"]);
    for d in disclosures {
        table.row(vec![
            d.at.to_string(),
            d.party.fmt_short(),
            d.compartment.fmt_short(),
            format!("{}..{}", d.from, d.to),
            d.grant_version
                .map_or_else(|| "-".into(), |v| format!("v{v}")),
            d.channel,
        ]);
    }
    table.print();
    Ok(())
}
