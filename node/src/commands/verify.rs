//! `assure verify`, `cosign` and `bundle`: checking providers against
//! profiles, acknowledging others' records, and evidence for offline checks.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_model::predicate::Outcome;
use assure_model::{Did, validate};
use assure_node::NodeConfig;
use assure_node::publish::{Placement, publish};
use assure_node::verification::{Verdict, Verifier, load_profile, publish_report};
use assure_verify::{Bundle, Report};
use serde::Serialize;

use super::{IntegrityFailure, now};
use crate::cli::Output;
use crate::datadir::DataDir;
use crate::output::{Table, json};

/// Options every verification shares.
#[derive(Debug)]
pub(super) struct How {
    pub(super) config: Option<PathBuf>,
    pub(super) anchors: Vec<String>,
    pub(super) publish: Option<Placement>,
    pub(super) output: Output,
}

/// The node config (when given) and the trust anchors from it and the
/// command line.
fn settings(config: Option<&Path>, anchors: &[String]) -> Result<(Option<NodeConfig>, Vec<Did>)> {
    let config = config.map(NodeConfig::load).transpose()?;
    let mut all: Vec<Did> = config
        .as_ref()
        .map(|c| c.trust_anchors.clone())
        .unwrap_or_default();
    for anchor in anchors {
        all.push(
            anchor
                .parse()
                .with_context(|| format!("--anchor `{anchor}` is not a did:key identifier"))?,
        );
    }
    Ok((config, all))
}

fn provider_did(text: &str) -> Result<Did> {
    text.parse()
        .with_context(|| format!("`{text}` is not a did:key identifier"))
}

pub(super) fn one(dir: &DataDir, provider: &str, profile: &Path, how: &How) -> Result<()> {
    let provider = provider_did(provider)?;
    let profile = load_profile(profile)?;
    let (_, anchors) = settings(how.config.as_deref(), &how.anchors)?;
    let keypair = dir.keypair()?;
    let store = dir.store()?;
    let now = now();
    let verifier = Verifier::new(&store, keypair.did(), &anchors, now)?;
    let report = verifier.verify(&profile.profile, provider);
    let published = match &how.publish {
        Some(placement) => Some(publish_report(&store, &keypair, placement, &report, now)?),
        None => None,
    };
    if how.output.json {
        return json(&report);
    }
    print_report(&report);
    if let Some(appended) = published {
        println!("\npublished as verification record {}", appended.id);
    }
    Ok(())
}

pub(super) fn print_report(report: &Report) {
    println!(
        "{} against {} ({}): {}",
        report.provider,
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
                Some(p) => format!("{} ({} #{})", e.record.fmt_short(), e.kind, p.index),
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

#[derive(Serialize)]
struct Row<'a> {
    tier: u32,
    provider: Did,
    customer: Did,
    supplies: &'a [String],
    profile: Option<&'a Path>,
    report: &'a Report,
}

pub(super) fn all(dir: &DataDir, tiers: u32, how: &How) -> Result<()> {
    if tiers == 0 {
        bail!("--tiers must be at least 1");
    }
    let (config, anchors) = settings(how.config.as_deref(), &how.anchors)?;
    let verify_config = config.map(|c| c.verify).unwrap_or_default();
    let keypair = dir.keypair()?;
    let store = dir.store()?;
    let now = now();
    let verifier = Verifier::new(&store, keypair.did(), &anchors, now)?;
    let verdicts = verifier.verify_all(&verify_config, tiers)?;
    if let Some(placement) = &how.publish {
        for v in verdicts.iter().filter(|v| v.report.transitive.is_none()) {
            if !v.report.profile.is_empty() {
                publish_report(&store, &keypair, placement, &v.report, now)?;
            }
        }
    }
    if how.output.json {
        let rows: Vec<Row<'_>> = verdicts
            .iter()
            .map(|v| Row {
                tier: v.link.tier,
                provider: v.link.provider,
                customer: v.link.customer,
                supplies: &v.link.supplies,
                profile: v.profile.as_deref(),
                report: &v.report,
            })
            .collect();
        return json(&rows);
    }
    print_summary(&verdicts);
    Ok(())
}

fn print_summary(verdicts: &[Verdict]) {
    if verdicts.is_empty() {
        println!(
            "no providers: no relationship records confirmed by both sides name this \
             organization as customer"
        );
        return;
    }
    let mut table = Table::new(&[
        "TIER", "PROVIDER", "SUPPLIES", "PROFILE", "VERDICT", "REASON",
    ]);
    for v in verdicts {
        let mut verdict = verdict(v.report.result).to_owned();
        if v.report.transitive.is_some() {
            verdict.push_str(" (transitive)");
        }
        table.row(vec![
            v.link.tier.to_string(),
            v.link.provider.fmt_short(),
            v.link.supplies.join(", "),
            v.report.profile.clone(),
            verdict,
            v.report.headline(),
        ]);
    }
    table.print();
    let count = |o: Outcome| verdicts.iter().filter(|v| v.report.result == o).count();
    println!(
        "\n{} providers: {} pass, {} fail, {} inconclusive",
        verdicts.len(),
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Inconclusive)
    );
}

pub(super) fn cosign(
    dir: &DataDir,
    envelope: &Path,
    placement: &Placement,
    out: Option<&Path>,
) -> Result<()> {
    let keypair = dir.keypair()?;
    let bytes =
        std::fs::read(envelope).with_context(|| format!("cannot read {}", envelope.display()))?;
    let now = now();
    let record = validate(&bytes, now).with_context(|| format!("{}", envelope.display()))?;
    if record.issuer() == keypair.did() {
        bail!("this is our own record; co-signing is for records others issued");
    }
    let (cosigned, record) = assure_model::cosign(&record, &keypair)?;
    let store = dir.store()?;
    // An audit of us names no one else: shown to our partners unless the
    // operator says otherwise. Anything naming others goes to its default.
    let names_only_us =
        assure_access::parties(&record.subject.did, &record.predicate.body, &keypair.did())
            .is_empty();
    let partners;
    let placement = match &placement.compartment {
        None if names_only_us => {
            partners = Placement {
                compartment: Some("partners".into()),
                ..placement.clone()
            };
            &partners
        }
        _ => placement,
    };
    let appended = publish(
        &store,
        &keypair,
        placement,
        vec![(cosigned.clone(), record)],
        now,
    )?;
    if let Some(out) = out {
        std::fs::write(out, &cosigned).with_context(|| format!("writing {}", out.display()))?;
    }
    for a in appended {
        let how = if a.already {
            "already published"
        } else {
            "published"
        };
        println!(
            "co-signed record {} {how} at index {}",
            a.id, a.location.index
        );
    }
    Ok(())
}

pub(super) fn bundle_export(
    dir: &DataDir,
    provider: &str,
    profile: &Path,
    out: &Path,
    config: Option<PathBuf>,
    anchors: Vec<String>,
) -> Result<()> {
    let provider = provider_did(provider)?;
    let profile = load_profile(profile)?;
    let (_, anchors) = settings(config.as_deref(), &anchors)?;
    let keypair = dir.keypair()?;
    let store = dir.store()?;
    let verifier = Verifier::new(&store, keypair.did(), &anchors, now())?;
    let report = verifier.verify(&profile.profile, provider);
    let bundle = verifier.bundle(&store, &keypair, &profile, &report)?;
    let file = std::fs::File::create_new(out)
        .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
    serde_json::to_writer_pretty(std::io::BufWriter::new(file), &bundle)?;
    println!(
        "{}: {} for {}, {} evidence records, {} keys",
        out.display(),
        verdict(report.result),
        provider,
        bundle.entries.len(),
        bundle.keys.len()
    );
    Ok(())
}

pub(super) fn bundle_verify(file: &Path, output: Output) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
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
    print_report(&checked.report);
    Ok(())
}
