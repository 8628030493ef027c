//! Verification (ISO 28000 8.4 g): one provider, every provider of our
//! confirmed relationships, and evidence bundles.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_api::Placement;
use assure_model::Did;
use assure_verify::Report;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Ops, named, parse_did};
use crate::verification::{Verifier, attest, load_profile};

/// One provider's report, and the record it was published as.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    pub report: Report,
    /// The provider by name.
    pub provider_name: String,
    pub published: Option<String>,
}

/// One provider of a supply-chain verification.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerdictRow {
    pub tier: u32,
    pub provider: Did,
    pub provider_name: String,
    pub customer: Did,
    pub supplies: Vec<String>,
    pub profile: Option<PathBuf>,
    pub report: Report,
}

/// A bundle written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleWritten {
    pub out: PathBuf,
    pub report: Report,
    pub provider_name: String,
    pub entries: usize,
    pub keys: usize,
}

impl Ops {
    /// The trust anchors of `config` (or the running node's) and `extra`.
    fn anchors(&self, config: Option<PathBuf>, extra: &[String]) -> Result<Vec<Did>> {
        let config = self.node_config(config)?;
        let mut all: Vec<Did> = config.map(|c| c.trust_anchors.clone()).unwrap_or_default();
        for anchor in extra {
            all.push(parse_did("--anchor", anchor)?);
        }
        Ok(all)
    }

    pub(super) async fn verify_one(
        &self,
        provider: String,
        profile: PathBuf,
        config: Option<PathBuf>,
        anchors: Vec<String>,
        publish: Option<Placement>,
    ) -> Result<Checked> {
        let provider = parse_did("the provider", &provider)?;
        let (report, provider_name) = self
            .blocking(move |ops| {
                let profile = load_profile(&profile)?;
                let anchors = ops.anchors(config, &anchors)?;
                let verifier = Verifier::new(&ops.store, ops.did(), &anchors, Timestamp::now())?;
                let names = ops.names()?;
                Ok((
                    verifier.verify(&profile.profile, provider),
                    named(&provider, &names),
                ))
            })
            .await?;
        let published = match publish {
            Some(placement) => Some(self.publish_report(placement, &report).await?),
            None => None,
        };
        Ok(Checked {
            report,
            provider_name,
            published,
        })
    }

    async fn publish_report(&self, placement: Placement, report: &Report) -> Result<String> {
        let signed = attest(&self.keypair, report, Timestamp::now())?;
        let published = self.publish(placement, vec![signed], [None]).await?;
        published
            .records
            .into_iter()
            .next()
            .map(|r| r.id)
            .context("the store appended nothing")
    }

    pub(super) async fn verify_all(
        &self,
        tiers: u32,
        config: Option<PathBuf>,
        anchors: Vec<String>,
        publish: Option<Placement>,
    ) -> Result<Vec<VerdictRow>> {
        if tiers == 0 {
            bail!("--tiers must be at least 1");
        }
        let rows = self
            .blocking(move |ops| {
                let node_config = ops.node_config(config.clone())?;
                let verify_config = node_config.map(|c| c.verify.clone()).unwrap_or_default();
                let anchors = ops.anchors(config, &anchors)?;
                let verifier = Verifier::new(&ops.store, ops.did(), &anchors, Timestamp::now())?;
                let names = ops.names()?;
                Ok(verifier
                    .verify_all(&verify_config, tiers)?
                    .into_iter()
                    .map(|v| VerdictRow {
                        tier: v.link.tier,
                        provider: v.link.provider,
                        provider_name: named(&v.link.provider, &names),
                        customer: v.link.customer,
                        supplies: v.link.supplies,
                        profile: v.profile,
                        report: v.report,
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        if let Some(placement) = publish {
            for row in rows.iter().filter(|r| r.report.transitive.is_none()) {
                if !row.report.profile.is_empty() {
                    self.publish_report(placement.clone(), &row.report).await?;
                }
            }
        }
        Ok(rows)
    }

    pub(super) fn bundle_export(
        &self,
        provider: &str,
        profile: &Path,
        out: &Path,
        config: Option<PathBuf>,
        anchors: &[String],
    ) -> Result<BundleWritten> {
        let provider = parse_did("the provider", provider)?;
        let profile = load_profile(profile)?;
        let anchors = self.anchors(config, anchors)?;
        let verifier = Verifier::new(&self.store, self.did(), &anchors, Timestamp::now())?;
        let report = verifier.verify(&profile.profile, provider);
        let bundle = verifier.bundle(&self.store, &self.keypair, &profile, &report)?;
        let file = std::fs::File::create_new(out)
            .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
        serde_json::to_writer_pretty(std::io::BufWriter::new(file), &bundle)?;
        Ok(BundleWritten {
            out: out.to_owned(),
            provider_name: named(&provider, &self.names()?),
            report,
            entries: bundle.entries.len(),
            keys: bundle.keys.len(),
        })
    }
}
