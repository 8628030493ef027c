//! One printer per answer: a table (or text) for people, or with `--json`
//! the answer itself. The same whether the node carried the request out or
//! this process did.

use std::path::Path;

use anyhow::{Result, bail};
use assure_api::CompartmentInfo;
use assure_model::predicate::Outcome;
use assure_model::{Catalog, Did, Domain};
use assure_node::ops::{
    Alerts, DisclosureRow, GrantChangeRow, GrantRow, IntegrityFailure, LogRow, Published,
    RecordRow, Reply, Shown, Status, VerdictRow,
};
use assure_node::publish::Preview;
use assure_verify::{Bundle, Report};

use super::now;
use crate::cli::Output;
use crate::output::{Table, clean, json};

pub(super) fn reply(reply: &Reply, output: Output) -> Result<()> {
    match reply {
        Reply::Published(published) => json_or(output, published, || self::published(published)),
        Reply::Preview(previews) => {
            let records: Vec<_> = previews.iter().map(|(p, _)| p).collect();
            json_or(
                output,
                &serde_json::json!({ "dryRun": true, "records": records }),
                || preview(previews),
            )
        }
        Reply::Records(rows) => json_or(output, rows, || records(rows)),
        Reply::Shown(shown) => json_or(output, shown, || self::shown(shown)),
        Reply::Compartments(listed) => json_or(output, listed, || compartments(listed)),
        Reply::CompartmentAdded { info, made } => json_or(output, info, || {
            compartments(std::slice::from_ref(info));
            if !made {
                eprintln!(
                    "compartment `{}` exists already; nothing changed",
                    info.label
                );
            }
            for reader in info.readers.iter().filter(|r| !r.granted) {
                eprintln!(
                    "note: {} holds no grant that admits it; it reads `{}` once granted \
                     (`assure grant add`)",
                    reader.did, info.label
                );
            }
        }),
        Reply::Grants(rows) => json_or(output, rows, || grants(rows)),
        Reply::GrantHistory(rows) => json_or(output, rows, || grant_history(rows)),
        Reply::Disclosures(rows) => json_or(output, rows, || disclosures(rows)),
        Reply::Alerts(alerts) => json_or(output, alerts, || self::alerts(alerts)),
        Reply::AlertAcked(alert) => json_or(output, alert, || {
            println!(
                "acknowledged the {} alert {} ({})",
                alert.kind,
                alert.id,
                clean(&alert.detail)
            );
        }),
        Reply::Webhooks {
            webhooks,
            deliveries,
        } => json_or(
            output,
            &serde_json::json!({ "webhooks": webhooks, "deliveries": deliveries }),
            || self::webhooks(webhooks, deliveries),
        ),
        Reply::WebhookAdded(hook) => json_or(output, hook, || {
            println!(
                "registered the webhook {}: it receives every alert raised from now on",
                hook.url
            );
        }),
        Reply::WebhookRemoved(hook) => json_or(output, hook, || {
            println!("removed the webhook {}", hook.url);
        }),
        Reply::Checked(checked) => json_or(output, &checked.report, || {
            report(&checked.report, &checked.provider_name);
            if let Some(id) = &checked.published {
                println!("\npublished as verification record {id}");
            }
        }),
        Reply::Verdicts(rows) => json_or(output, rows, || verdicts(rows)),
        Reply::Cosigned(cosigned) => json_or(output, cosigned, || {
            for r in &cosigned.published.records {
                println!(
                    "co-signed record {} published into {} at entry {}",
                    r.id, r.compartment, r.index
                );
            }
            if let Some(out) = &cosigned.out {
                println!("the co-signed envelope is also in {}", out.display());
            }
        }),
        Reply::BundleWritten(b) => json_or(output, b, || {
            println!(
                "{}: {} for {}, {} evidence records, {} keys",
                b.out.display(),
                verdict(b.report.result),
                clean(&b.provider_name),
                b.entries,
                b.keys
            );
        }),
        Reply::Exported(e) => json_or(output, e, || {
            eprintln!(
                "exported {} entries of {} ({}) to {}",
                e.entries,
                e.label,
                e.tlp,
                e.out.display()
            );
        }),
        Reply::BackedUp(b) => json_or(output, b, || {
            eprintln!(
                "backed up {} compartments, {} entries, {} grants{} to {}",
                b.compartments,
                b.entries,
                b.grants,
                if b.key { " and the key" } else { " (no key)" },
                b.file.display()
            );
        }),
        Reply::LogVerified(rows) => {
            json_or(output, rows, || logs(rows))?;
            let damaged: Vec<&str> = rows
                .iter()
                .filter(|r| r.status == "damaged")
                .map(|r| r.error.as_deref().unwrap_or(&r.compartment))
                .collect();
            if !damaged.is_empty() {
                return Err(IntegrityFailure(format!(
                    "{} log(s) do not match their signed checkpoints:\n  {}",
                    damaged.len(),
                    damaged.join("\n  ")
                ))
                .into());
            }
            Ok(())
        }
        Reply::Status(status) => {
            json_or(output, status, || self::status(status))?;
            if !status.attention.is_empty() {
                // A monitoring probe reads the exit code.
                return Err(NeedsAttention(status.attention.len()).into());
            }
            Ok(())
        }
        Reply::DashboardLink { .. } => dashboard_link(reply, None),
        Reply::ReportWritten(r) => json_or(output, r, || {
            eprintln!(
                "wrote the report of {} provider(s) to {} ({}, {} bytes)",
                r.providers,
                r.out.display(),
                r.format.extension(),
                r.bytes
            );
        }),
        Reply::Csv(text) => {
            print!("{text}");
            Ok(())
        }
        Reply::AccessRequests(rows) => json_or(output, rows, || access_requests(rows)),
        Reply::SentAccessRequests(rows) => json_or(output, rows, || sent_requests(rows)),
    }
}

fn access_requests(rows: &[assure_api::AccessRequestView]) {
    let mut table = Table::new(&[
        "ID", "FROM", "ASKS", "PURPOSE", "BASIS", "RECEIVED", "STATUS",
    ]);
    for r in rows {
        let basis = match r.legal_basis {
            true => format!("legal basis: {}", r.basis),
            false => r.basis.clone(),
        };
        let status = match &r.reason {
            Some(reason) => format!("{}: {reason}", r.status),
            None => r.status.clone(),
        };
        table.row(vec![
            r.id.clone(),
            r.party_name.clone(),
            format!("{} as {}", r.clearance, r.role),
            r.purpose.clone(),
            basis,
            r.at.clone(),
            status,
        ]);
    }
    table.print();
    if rows.is_empty() {
        println!("no access requests");
    }
}

fn sent_requests(rows: &[assure_node::ops::SentRow]) {
    let mut table = Table::new(&["ID", "TO", "URL", "ASKED", "SENT", "STATUS"]);
    for r in rows {
        let status = match &r.reason {
            Some(reason) => format!("{}: {reason}", r.status),
            None => r.status.clone(),
        };
        table.row(vec![
            r.id.clone(),
            r.node_name.clone(),
            r.url.clone(),
            format!("{} as {}", r.clearance, r.role),
            r.at.clone(),
            status,
        ]);
    }
    table.print();
}

/// `assure status` found something to look at (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0} thing(s) need attention")]
pub(crate) struct NeedsAttention(pub(crate) usize);

fn json_or<T: serde::Serialize>(output: Output, value: &T, text: impl FnOnce()) -> Result<()> {
    if output.json {
        return json(value);
    }
    text();
    Ok(())
}

fn published(published: &Published) {
    let mut table = Table::new(&["RECORD", "KIND", "COMPARTMENT", "INDEX", "FILE"]);
    for p in &published.records {
        table.row(vec![
            p.id.clone(),
            p.kind.clone(),
            p.compartment.clone(),
            p.index.to_string(),
            p.file
                .as_deref()
                .map(|f| f.display().to_string())
                .unwrap_or_default(),
        ]);
    }
    table.print();
    for p in published.records.iter().filter(|p| p.already_published) {
        let file = p
            .file
            .as_deref()
            .map(|f| format!("{}: ", f.display()))
            .unwrap_or_default();
        println!(
            "\n{file}record {} already published at {} index {}; nothing appended",
            p.id, p.compartment, p.index
        );
    }
    for checkpoint in &published.checkpoints {
        println!("\n{checkpoint}");
    }
}

fn preview(previews: &[(Preview, std::path::PathBuf)]) {
    println!("dry run: nothing signed into a log, nothing stored\n");
    for (p, file) in previews {
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
        println!("  readers      {}", clean(&readers));
        let roles = match p.roles.is_empty() {
            true => "none named".to_owned(),
            false => p.roles.join(", "),
        };
        println!("  roles        {roles}");
        println!("  clearance    {} or higher\n", p.min_clearance);
    }
}

fn records(rows: &[RecordRow]) {
    let mut table = Table::new(&[
        "RECORD",
        "KIND",
        "SUBJECT",
        "ISSUED",
        "COMPARTMENT",
        "INDEX",
    ]);
    for row in rows {
        table.row(vec![
            row.id[..12].to_owned(),
            row.kind.clone(),
            row.subject_name.clone(),
            row.issued_at.clone(),
            row.compartment.clone(),
            row.index.to_string(),
        ]);
    }
    table.print();
}

fn shown(shown: &Shown) {
    println!("record   {}", shown.id);
    println!("kind     {}", shown.kind);
    println!("subject  {}", shown.subject);
    for (n, signer) in shown.signer_names.iter().enumerate() {
        let role = if n == 0 { "issuer" } else { "cosigner" };
        println!("{role:<9}{}", clean(signer));
    }
    for place in &shown.locations {
        println!(
            "stored   {} ({}) entry {}",
            place.compartment,
            short(&place.compartment_id),
            place.index
        );
    }
    for d in &shown.deliveries {
        let state = match (d.received, d.may_read) {
            (true, _) => format!("received {}", d.at.as_deref().unwrap_or_default()),
            (false, true) => "not yet received".to_owned(),
            (false, false) => "cannot receive it (no grant)".to_owned(),
        };
        println!("reader   {}: {state}", clean(&d.party_name));
    }
    let predicate = &shown.statement["predicate"];
    println!(
        "{}",
        serde_json::to_string_pretty(predicate).unwrap_or_default()
    );
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// The table of `assure compartments`.
fn compartments(listed: &[CompartmentInfo]) {
    let mut table = Table::new(&["LABEL", "ID", "RULE", "TLP", "READERS", "SIZE"]);
    for c in listed {
        table.row(vec![
            c.label.clone(),
            c.id.to_string(),
            c.rule.to_string(),
            c.tlp.to_string(),
            readers(c),
            c.size.to_string(),
        ]);
    }
    table.print();
}

/// Who reads, for people: `anyone`, or names (short DIDs where no profile
/// gives one), a named reader without a grant marked as such.
fn readers(c: &CompartmentInfo) -> String {
    if c.public {
        return "anyone".to_owned();
    }
    if c.readers.is_empty() {
        return "none yet".to_owned();
    }
    c.readers
        .iter()
        .map(|r| {
            let name = r.did.named(r.name.as_deref());
            if r.granted {
                name
            } else {
                format!("{name} (no grant)")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn grants(rows: &[GrantRow]) {
    let mut table = Table::new(&[
        "PARTY",
        "CLEARANCE",
        "ROLES",
        "BASIS",
        "VALID",
        "VERSION",
        "STATE",
    ]);
    for g in rows {
        let until = g.valid_until.as_deref().unwrap_or("open");
        let state = match (&g.revoked_at, g.active) {
            (Some(at), _) => format!("revoked {at}"),
            (None, true) => "active".to_owned(),
            (None, false) => "inactive".to_owned(),
        };
        table.row(vec![
            g.party_name.clone(),
            g.clearance.clone(),
            g.roles.join(","),
            g.basis.clone(),
            format!("{} .. {until}", g.valid_from),
            g.version.to_string(),
            state,
        ]);
    }
    table.print();
}

fn grant_history(rows: &[GrantChangeRow]) {
    let mut table = Table::new(&["AT", "CHANGE", "PARTY", "VERSION", "CLEARANCE"]);
    for c in rows {
        table.row(vec![
            c.at.clone(),
            c.change.clone(),
            c.grant.party_name.clone(),
            c.grant.version.to_string(),
            c.grant.clearance.clone(),
        ]);
    }
    table.print();
}

fn disclosures(rows: &[DisclosureRow]) {
    let mut table = Table::new(&[
        "AT",
        "PARTY",
        "COMPARTMENT",
        "ENTRIES",
        "GRANT",
        "CHANNEL",
        "PURPOSE",
    ]);
    for d in rows {
        let entries = match (d.first, d.last) {
            (Some(first), Some(last)) if first == last => format!("{first} (1)"),
            (Some(first), Some(last)) => format!("{first}–{last} ({})", d.count),
            _ => "head only".to_owned(),
        };
        let compartment = match d.compartment_label.is_empty() {
            true => short(&d.compartment).to_owned(),
            false => format!("{} ({})", d.compartment_label, short(&d.compartment)),
        };
        table.row(vec![
            d.at.clone(),
            d.party_name.clone(),
            compartment,
            entries,
            d.grant_version
                .map_or_else(|| "-".into(), |v| format!("v{v}")),
            d.channel.clone(),
            d.purpose.clone().unwrap_or_default(),
        ]);
    }
    table.print();
}

fn alerts(alerts: &Alerts) {
    let mut table = Table::new(&[
        "ID",
        "AT",
        "KIND",
        "FROM",
        "RECORD",
        "DETAIL",
        "ACKNOWLEDGED",
    ]);
    for row in &alerts.alerts {
        let kind = match row.computed {
            true => format!("{} (computed)", row.kind),
            false => row.kind.clone(),
        };
        table.row(vec![
            row.id.get(..12).unwrap_or(&row.id).to_owned(),
            row.at.clone(),
            kind,
            clean(&row.origin_name).into_owned(),
            row.record.clone().unwrap_or_default(),
            clean(&row.detail).into_owned(),
            row.acknowledged
                .as_ref()
                .map_or_else(|| "-".to_owned(), |a| format!("{} at {}", a.by, a.at)),
        ]);
    }
    table.print();
}

fn webhooks(webhooks: &[assure_store::Webhook], deliveries: &[assure_store::Attempt]) {
    let mut table = Table::new(&["URL", "REGISTERED", "BY"]);
    for w in webhooks {
        table.row(vec![
            w.url.clone(),
            w.added_at.to_string(),
            w.added_by.clone(),
        ]);
    }
    table.print();
    if deliveries.is_empty() {
        return;
    }
    println!();
    let mut table = Table::new(&["AT", "URL", "EVENT", "KIND", "ATTEMPT", "ANSWER", "OUTCOME"]);
    for d in deliveries {
        let answer = match (d.status, &d.error) {
            (Some(status), Some(error)) => format!("HTTP {status}: {error}"),
            (Some(status), None) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => String::new(),
        };
        table.row(vec![
            d.at.to_string(),
            d.url.clone(),
            d.event.get(..12).unwrap_or(&d.event).to_owned(),
            d.kind.clone(),
            d.attempt.to_string(),
            answer,
            d.outcome.clone(),
        ]);
    }
    table.print();
}

fn logs(rows: &[LogRow]) {
    let mut table = Table::new(&["COMPARTMENT", "SIZE", "ROOT", "STATUS"]);
    for row in rows {
        let status = match &row.error {
            Some(error) => format!("{}: {error}", row.status.to_uppercase()),
            None => "ok".to_owned(),
        };
        table.row(vec![
            row.compartment.clone(),
            row.size.map(|s| s.to_string()).unwrap_or_default(),
            row.root.clone().unwrap_or_default(),
            status,
        ]);
    }
    table.print();
}

fn status(status: &Status) {
    let name = clean(status.name.as_deref().unwrap_or("(no name)"));
    println!("{name}  {}", status.did);
    match (status.running, &status.api) {
        (true, Some(api)) => println!("running, API {api}"),
        (true, None) => println!("running, API off"),
        (false, _) => println!("not running"),
    }
    println!();
    if status.peers.is_empty() {
        println!("peers: none known");
    } else {
        let mut table = Table::new(&["PEER", "STATE", "SINCE", "ADDRESS"]);
        for p in &status.peers {
            let (state, since) = match (&p.connected_since, &p.last_connected) {
                (Some(since), _) => ("connected", since.clone()),
                (None, Some(last)) => ("disconnected", format!("last {last}")),
                (None, None) => ("never connected", String::new()),
            };
            table.row(vec![
                p.name.clone(),
                state.to_owned(),
                since,
                p.addresses.first().cloned().unwrap_or_default(),
            ]);
        }
        table.print();
    }
    println!();
    let mut table = Table::new(&["LOG", "COMPARTMENT", "ENTRIES", "SIGNED"]);
    for log in &status.logs {
        table.row(vec![
            if log.ours {
                "ours".to_owned()
            } else {
                log.origin_name.clone()
            },
            log.compartment.clone(),
            log.size.to_string(),
            log.signed_at.clone(),
        ]);
    }
    table.print();
    println!(
        "\nalerts: {} in the last 7 days, {} in all",
        status.recent_alerts, status.alerts
    );
    if status.attention.is_empty() {
        println!("all well");
    } else {
        println!("\nneeds attention:");
        for item in &status.attention {
            println!("  - {}", clean(item));
        }
    }
}

fn verdicts(rows: &[VerdictRow]) {
    if rows.is_empty() {
        println!(
            "no providers: no relationship records confirmed by both sides name this \
             organization as customer"
        );
        return;
    }
    let mut table = Table::new(&[
        "TIER", "PROVIDER", "SUPPLIES", "PROFILE", "VERDICT", "REASON",
    ]);
    for v in rows {
        let mut verdict = verdict(v.report.result).to_owned();
        if v.report.transitive.is_some() {
            verdict.push_str(" (transitive)");
        }
        table.row(vec![
            v.tier.to_string(),
            v.provider_name.clone(),
            v.supplies.join(", "),
            v.report.profile.clone(),
            verdict,
            v.report.headline(),
        ]);
    }
    table.print();
    let count = |o: Outcome| rows.iter().filter(|v| v.report.result == o).count();
    println!(
        "\n{} providers: {} pass, {} fail, {} inconclusive",
        rows.len(),
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Inconclusive)
    );
}

pub(super) fn report(report: &Report, provider: &str) {
    println!(
        "{} against {} ({}): {}",
        clean(provider),
        report.profile,
        &report.profile_digest[..report.profile_digest.len().min(12)],
        verdict(report.result)
    );
    if let Some(t) = &report.transitive {
        println!("as verified by {} in record {}", t.via, t.record);
    }
    println!();
    let mut table = Table::new(&["REQUIREMENT", "OUTCOME", "REASON", "EVIDENCE"]);
    for r in &report.requirements {
        let evidence: Vec<String> = r
            .evidence
            .iter()
            .map(|e| match &e.position {
                Some(p) => format!("{} ({} entry {})", e.record.fmt_short(), e.kind, p.index),
                None => format!("{} ({})", e.record.fmt_short(), e.kind),
            })
            .collect();
        table.row(vec![
            r.id.clone(),
            r.outcome.to_string(),
            r.reason.clone(),
            evidence.join(", "),
        ]);
    }
    table.print();
}

fn verdict(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
        Outcome::Inconclusive => "INCONCLUSIVE",
    }
}

pub(super) fn dashboard_link(reply: &Reply, base: Option<&str>) -> Result<()> {
    let Reply::DashboardLink { url, expires_in } = reply else {
        bail!("the node answered something else than a sign-in link");
    };
    let link = match base {
        // The node's own address replaced by the one browsers reach.
        Some(base) => match url.find("/login/") {
            Some(at) => format!("{}{}", base.trim_end_matches('/'), &url[at..]),
            None => url.clone(),
        },
        None => url.clone(),
    };
    println!("{link}");
    eprintln!("signs one browser in once, within {expires_in} s");
    Ok(())
}

pub(super) fn catalog(domain: Option<String>, output: Output) -> Result<()> {
    let catalog = Catalog::builtin();
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

/// The largest bundle checked.
const MAX_BUNDLE_BYTES: u64 = 1 << 30;

pub(super) fn bundle_verify(file: &Path, output: Output) -> Result<()> {
    let bytes = assure_node::files::read_limited(file, MAX_BUNDLE_BYTES, "bundle")?;
    let checked = Bundle::check(&bytes, now())
        .map_err(|e| IntegrityFailure(format!("{}: {e}", file.display())))?;
    if output.json {
        return json(&checked.report);
    }
    println!(
        "{}: valid — {} evidence records proven against signed checkpoints; report signed by {}",
        file.display(),
        checked.entries,
        checked.report.verifier
    );
    report(&checked.report, &Did::fmt_short(&checked.report.provider));
    Ok(())
}
