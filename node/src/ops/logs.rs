//! The logs as files: verification against signed checkpoints, export,
//! backup.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Ops;

/// One log checked against its signed checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRow {
    pub compartment: String,
    pub compartment_id: String,
    pub origin: String,
    pub size: Option<u64>,
    pub root: Option<String>,
    /// `ok`, `damaged`, or `quarantined` (a damaged replica set aside, to
    /// be fetched again from its author).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A compartment exported.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exported {
    pub out: PathBuf,
    pub label: String,
    pub tlp: String,
    pub entries: u64,
}

/// A backup written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    pub file: PathBuf,
    pub compartments: u64,
    pub entries: u64,
    pub grants: u64,
    /// The identity key is in it, encrypted.
    pub key: bool,
}

impl Ops {
    pub(super) fn log_verify(&self) -> Result<Vec<LogRow>> {
        let ours = self.store.as_owner()?;
        let mut rows = Vec::new();
        for summary in self.store.logs(&ours) {
            let row = |status: &str, error: Option<String>| LogRow {
                compartment: summary.compartment.label.clone(),
                compartment_id: summary.compartment.id.to_string(),
                origin: summary.log.origin.to_string(),
                size: Some(summary.checkpoint.checkpoint().size()),
                root: Some(hex::encode(*summary.checkpoint.checkpoint().root())),
                status: status.to_owned(),
                error,
            };
            // Recomputed from the stored entries, not taken from memory.
            rows.push(match self.store.verify_log(&ours, summary.log) {
                Ok(_) => row("ok", None),
                Err(e) => row("damaged", Some(e.to_string())),
            });
        }
        for (log, error) in self.damaged.iter() {
            rows.push(LogRow {
                compartment: log.compartment.to_string(),
                compartment_id: log.compartment.to_string(),
                origin: log.origin.to_string(),
                size: None,
                root: None,
                status: "damaged".into(),
                error: Some(error.clone()),
            });
        }
        // Set aside at open and not fetched again yet.
        for replica in self.store.quarantined() {
            if self.store.log_state(&ours, replica.log).is_some() {
                continue;
            }
            rows.push(LogRow {
                compartment: replica.compartment.clone(),
                compartment_id: replica.log.compartment.to_string(),
                origin: replica.log.origin.to_string(),
                size: None,
                root: None,
                status: "quarantined".into(),
                error: Some(replica.to_string()),
            });
        }
        Ok(rows)
    }

    pub(super) fn export(&self, compartment: &str, out: &Path) -> Result<Exported> {
        let ours = self.store.as_owner()?;
        let summary = self.store.find_compartment(&ours, compartment)?;
        if out.exists() && std::fs::read_dir(out)?.next().is_some() {
            bail!(
                "{} exists and is not empty; choose a new directory",
                out.display()
            );
        }
        let entries_dir = out.join("entries");
        std::fs::create_dir_all(&entries_dir)
            .with_context(|| format!("creating {}", entries_dir.display()))?;
        // Entries of a compartment others may not read: for its owner alone
        // until the operator shares them.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700))?;
        let head = summary.checkpoint.checkpoint();
        let entries = self
            .store
            .read_entries(&ours, summary.log, 0, head.size(), usize::MAX)?
            .unwrap_or_default();
        for (index, bytes) in entries.iter().enumerate() {
            std::fs::write(entries_dir.join(format!("{index}.json")), bytes)?;
        }
        std::fs::write(out.join("checkpoint"), summary.checkpoint.to_string())?;
        let about = serde_json::json!({
            "origin": summary.log.origin.to_string(),
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
        Ok(Exported {
            out: out.to_owned(),
            label: summary.compartment.label.clone(),
            tlp: summary.compartment.rule.tlp().to_string(),
            entries: entries.len() as u64,
        })
    }

    pub(super) fn backup(&self, file: &Path, passphrase: Option<&super::Secret>) -> Result<Backup> {
        let passphrase = passphrase
            .map(|p| crate::backup::Passphrase::new(p.expose().to_owned()))
            .transpose()?;
        let key = passphrase.as_ref().map(|p| (self.keypair.as_ref(), p));
        let written = crate::backup::write(&self.store, key, file, Timestamp::now())?;
        Ok(Backup {
            file: file.to_owned(),
            compartments: written.summary.compartments,
            entries: written.summary.entries,
            grants: written.summary.grants,
            key: written.key,
        })
    }
}
