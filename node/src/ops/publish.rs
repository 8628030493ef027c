//! Writing records: publish (drafts or envelopes) and co-sign.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use assure_api::{Outcome, Placement, Preview};
use assure_model::{Record, validate};
use assure_store::LogId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{NotFound, Ops, Reply};
use crate::publish::{Input, prepare, read_files};

/// What a publish appended.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub records: Vec<PublishedRecord>,
    /// The new signed checkpoint of each log appended to.
    pub checkpoints: Vec<String>,
}

/// One record published.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedRecord {
    pub id: String,
    pub kind: String,
    pub compartment: String,
    pub compartment_id: String,
    pub index: u64,
    /// The log held these very bytes already: nothing was appended.
    pub already_published: bool,
    /// The file it came from, when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// A co-signed record, as published.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cosigned {
    pub published: Published,
    /// Where the co-signed envelope was also written.
    pub out: Option<PathBuf>,
}

impl Ops {
    pub(super) async fn publish_files(
        &self,
        files: Vec<PathBuf>,
        envelope: bool,
        placement: Placement,
        dry_run: bool,
    ) -> Result<Reply> {
        let input = if envelope {
            Input::Envelopes
        } else {
            Input::Drafts
        };
        let keypair = self.keypair.clone();
        let (signed, names) = tokio::task::spawn_blocking({
            let files = files.clone();
            move || -> Result<_> {
                let signed = read_files(&files, input, &keypair, Timestamp::now())?;
                Ok((signed, files))
            }
        })
        .await??;
        if dry_run {
            let previews = self.preview(placement, signed).await?;
            return Ok(Reply::Preview(previews.into_iter().zip(names).collect()));
        }
        let files = names.into_iter().map(Some);
        Ok(Reply::Published(
            self.publish(placement, signed, files).await?,
        ))
    }

    /// What a publish of `records` would do, nothing written: the guard
    /// rails and placement of [`crate::publish::prepare`], then where each
    /// record goes and who could read it there. The dry run of `assure
    /// publish --dry-run` and the dashboard's preview.
    pub async fn preview(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> Result<Vec<Preview>> {
        self.blocking(move |ops| {
            let now = Timestamp::now();
            prepare(&ops.store, &ops.keypair, &placement, records, now)?.preview(&ops.store, now)
        })
        .await
    }

    /// Appends signed records where `placement` says, durably, then tells
    /// connected readers of each log appended to. `files` names where each
    /// record came from, for the answer.
    pub async fn publish(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
        files: impl IntoIterator<Item = Option<PathBuf>>,
    ) -> Result<Published> {
        let kinds: Vec<String> = records.iter().map(|(_, r)| r.kind().to_string()).collect();
        let appended = self.append(placement, records).await?;
        let ours = self.store.as_owner()?;
        let logs = self.store.logs(&ours);
        let label = |log: LogId| {
            logs.iter()
                .find(|s| s.log == log)
                .map(|s| s.compartment.label.clone())
                .unwrap_or_default()
        };
        let mut touched: Vec<LogId> = appended
            .iter()
            .filter(|a| !a.already)
            .map(|a| a.location.log)
            .collect();
        touched.dedup();
        Ok(Published {
            records: appended
                .iter()
                .zip(kinds)
                .zip(files.into_iter().chain(std::iter::repeat(None)))
                .map(|((at, kind), file)| PublishedRecord {
                    id: at.id.to_string(),
                    kind,
                    compartment: label(at.location.log),
                    compartment_id: at.location.log.compartment.to_string(),
                    index: at.location.index,
                    already_published: at.already,
                    file,
                })
                .collect(),
            checkpoints: logs
                .iter()
                .filter(|s| touched.contains(&s.log))
                .map(|s| s.checkpoint.to_string())
                .collect(),
        })
    }

    /// Checks and places signed records (see [`crate::publish::prepare`]:
    /// the guard rails, the placement rules) and appends them durably, then
    /// tells connected readers of each log appended to. An envelope the log
    /// holds already is not appended again; its outcome says where it is.
    pub async fn append(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> Result<Vec<Outcome>> {
        let appended = self
            .blocking(move |ops| {
                crate::publish::publish(
                    &ops.store,
                    &ops.keypair,
                    &placement,
                    records,
                    Timestamp::now(),
                )
            })
            .await?;
        self.announce(&appended).await?;
        Ok(appended)
    }

    /// Tells connected readers of each log appended to, when the node runs.
    async fn announce(&self, appended: &[Outcome]) -> Result<()> {
        let Some(network) = &self.network else {
            return Ok(());
        };
        let mut logs: Vec<LogId> = appended
            .iter()
            .filter(|a| !a.already)
            .map(|a| a.location.log)
            .collect();
        logs.dedup();
        let ours = self.store.as_owner()?;
        for log in logs {
            if let Some(state) = self.store.log_state(&ours, log) {
                network.notify(log, state.checkpoint.to_string()).await?;
            }
        }
        Ok(())
    }

    /// Co-signs someone else's record — one we hold as a replica, named by
    /// its id, or an envelope file — and publishes it: by default into
    /// `partners` for a record about us alone (an audit of us), else the
    /// compartment of exactly the other organizations it names.
    pub async fn cosign(
        &self,
        record: String,
        placement: Placement,
        out: Option<PathBuf>,
    ) -> Result<Cosigned> {
        let ops = self.clone();
        let (cosigned, record) = self
            .blocking(move |_| {
                let (bytes, name) = ops.envelope_of(&record)?;
                let record = validate(&bytes, Timestamp::now()).with_context(|| name.clone())?;
                if record.issuer() == ops.did() {
                    bail!("{name} is our own record; co-signing is for records others issued");
                }
                if record.signers.contains(&ops.did()) {
                    bail!("{name} is co-signed by us already; nothing to do");
                }
                Ok(assure_model::cosign(&record, &ops.keypair)?)
            })
            .await?;
        let names_only_us =
            assure_access::parties(&record.subject.did, &record.predicate.body, &self.did())
                .is_empty();
        let placement = match placement.compartment {
            None if names_only_us => Placement {
                compartment: Some("partners".into()),
                ..placement
            },
            _ => placement,
        };
        let published = self
            .publish(placement, vec![(cosigned.clone(), record)], [None])
            .await?;
        if let Some(out) = &out {
            std::fs::write(out, &cosigned).with_context(|| format!("writing {}", out.display()))?;
        }
        Ok(Cosigned { published, out })
    }

    /// The envelope bytes of a record we hold (by id), or of a file.
    fn envelope_of(&self, record: &str) -> Result<(Vec<u8>, String)> {
        let path = PathBuf::from(record);
        if !path.exists()
            && let Ok(id) = self.record_id(record)
        {
            let ours = self.store.as_owner()?;
            let missing = || NotFound(format!("no record {id} in this store"));
            // Our own copy first: it carries our signature if we co-signed.
            let locations = self.store.locations(&ours, &id);
            let at = *locations
                .iter()
                .find(|at| at.log.origin == self.did())
                .or(locations.first())
                .ok_or_else(missing)?;
            let bytes = self
                .store
                .read_entries(&ours, at.log, at.index, 1, usize::MAX)?
                .and_then(|entries| entries.into_iter().next())
                .ok_or_else(missing)?;
            return Ok((bytes, format!("record {id}")));
        }
        let max = assure_model::record::MAX_ENVELOPE_BYTES as u64;
        let bytes = crate::files::read_limited(&path, max, "envelope").with_context(|| {
            format!(
                "`{record}` is neither a record id (64 hex characters) nor a readable envelope file"
            )
        })?;
        Ok((bytes, path.display().to_string()))
    }
}
