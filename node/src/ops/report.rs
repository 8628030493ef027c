//! Reports for management and auditors: a verification as a printable
//! page, CSV or PDF ([`crate::report`]), and the disclosure log of a period
//! as CSV.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{DisclosureRow, Ops, parse_did};
use crate::report::{Document, Format, push_row};

/// A report written to a file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportWritten {
    pub out: PathBuf,
    pub format: Format,
    pub providers: usize,
    pub bytes: usize,
}

impl Ops {
    /// The verification report of `provider` (against `profile`, or the
    /// profile our configuration maps it to), or of every provider of our
    /// confirmed relationships, in `format`.
    pub async fn report(
        &self,
        provider: Option<String>,
        profile: Option<PathBuf>,
        config: Option<PathBuf>,
        anchors: Vec<String>,
        format: Format,
    ) -> Result<(Vec<u8>, usize)> {
        let reports = match (provider, profile) {
            (Some(provider), Some(profile)) => {
                let checked = self
                    .verify_one(provider, profile, config, anchors, None)
                    .await?;
                vec![(checked.report, Vec::new())]
            }
            (provider, None) => {
                let provider = provider
                    .map(|p| parse_did("the provider", &p))
                    .transpose()?;
                let rows = self.verify_all(1, config, anchors, None).await?;
                let rows: Vec<_> = rows
                    .into_iter()
                    .filter(|r| provider.is_none_or(|p| r.provider == p))
                    .map(|r| (r.report, r.supplies))
                    .collect();
                if rows.is_empty()
                    && let Some(provider) = provider
                {
                    bail!(
                        "{provider} is not among our providers (no relationship confirmed by \
                         both sides): give --profile FILE to verify it against a profile"
                    );
                }
                rows
            }
            (None, Some(_)) => bail!("--profile needs the provider's DID"),
        };
        let names = self.names()?;
        let document = Document::new(self.did(), &names, reports);
        let count = document.providers.len();
        Ok((
            tokio::task::spawn_blocking(move || document.write(format)).await?,
            count,
        ))
    }

    /// Writes [`Ops::report`] to a new file.
    pub(super) async fn report_to(
        &self,
        provider: Option<String>,
        profile: Option<PathBuf>,
        config: Option<PathBuf>,
        anchors: Vec<String>,
        format: Format,
        out: PathBuf,
    ) -> Result<ReportWritten> {
        let (bytes, providers) = self
            .report(provider, profile, config, anchors, format)
            .await?;
        let mut file = std::fs::File::create_new(&out)
            .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
        std::io::Write::write_all(&mut file, &bytes)?;
        file.sync_all()?;
        Ok(ReportWritten {
            out,
            format,
            providers,
            bytes: bytes.len(),
        })
    }

    /// The disclosure log from `since` to `until` (RFC 3339, both optional)
    /// as CSV: one row per disclosure.
    pub fn disclosures_csv(&self, since: Option<&str>, until: Option<&str>) -> Result<String> {
        let rows = self.disclosures_between(usize::MAX, since, until)?;
        let mut out = String::new();
        push_row(
            &mut out,
            [
                "at",
                "party",
                "party_did",
                "compartment",
                "compartment_id",
                "first",
                "last",
                "count",
                "grant_version",
                "channel",
                "purpose",
            ]
            .map(str::to_owned),
        );
        for d in rows {
            push_row(&mut out, csv_fields(d));
        }
        Ok(out)
    }

    /// The disclosures made from `since` to `until`, oldest first.
    pub(super) fn disclosures_between(
        &self,
        limit: usize,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<Vec<DisclosureRow>> {
        let time = |what: &str, t: Option<&str>| -> Result<Option<Timestamp>> {
            t.map(|v| {
                v.parse().with_context(|| {
                    format!("{what} `{v}` is not an RFC 3339 time such as 2026-11-01T00:00:00Z")
                })
            })
            .transpose()
        };
        let (since, until) = (time("--since", since)?, time("--until", until)?);
        Ok(self
            .disclosures(usize::MAX)?
            .into_iter()
            .filter(|d| {
                let at: Option<Timestamp> = d.at.parse().ok();
                since.is_none_or(|s| at.is_some_and(|a| a >= s))
                    && until.is_none_or(|u| at.is_some_and(|a| a < u))
            })
            .take(limit)
            .collect())
    }
}

fn csv_fields(d: DisclosureRow) -> [String; 11] {
    let number = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    [
        d.at,
        d.party_name,
        d.party,
        d.compartment_label,
        d.compartment,
        number(d.first),
        number(d.last),
        d.count.to_string(),
        number(d.grant_version),
        d.channel,
        d.purpose.unwrap_or_default(),
    ]
}
