//! Reading: records, one record, the disclosure log.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use assure_model::{Did, Kind, RecordId};
use assure_store::{Filter, LogId, LogSummary};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{NotFound, Ops, named, parse_did};

/// One record in a listing.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordRow {
    pub id: String,
    pub kind: String,
    pub subject: String,
    /// The subject by name, with its short DID.
    pub subject_name: String,
    pub issuer: String,
    pub issued_at: String,
    /// The compartment's label (for a replica, as its author labelled it).
    pub compartment: String,
    pub compartment_id: String,
    /// The organization whose log holds it.
    pub origin: String,
    pub index: u64,
}

/// One record: its statement, signers and every place it is stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shown {
    pub id: String,
    pub kind: String,
    pub subject: String,
    /// Signers, the issuer first, by name.
    pub signers: Vec<String>,
    pub signer_names: Vec<String>,
    pub locations: Vec<Place>,
    pub statement: serde_json::Value,
    /// For our own record: whether each party it is for has received it
    /// (an incident's affected parties; otherwise every reader granted).
    pub deliveries: Vec<DeliveryRow>,
}

/// Whether a party has received one of our records.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRow {
    pub party: String,
    pub party_name: String,
    /// A grant lets it read the record now.
    pub may_read: bool,
    pub received: bool,
    pub at: Option<String>,
}

/// Where a record is stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    pub origin: String,
    pub compartment: String,
    pub compartment_id: String,
    pub index: u64,
}

/// One disclosure: entries `first..=last` of a compartment, to a party.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisclosureRow {
    pub at: String,
    pub party: String,
    pub party_name: String,
    pub compartment: String,
    pub compartment_label: String,
    /// The first entry served; `None` when only the head was shown.
    pub first: Option<u64>,
    /// The last entry served.
    pub last: Option<u64>,
    /// How many entries.
    pub count: u64,
    pub grant_version: Option<u64>,
    pub channel: String,
    pub purpose: Option<String>,
}

impl Ops {
    pub(super) fn records(
        &self,
        kind: Option<String>,
        compartment: Option<String>,
        subject: Option<String>,
        limit: usize,
    ) -> Result<Vec<RecordRow>> {
        let filter = Filter {
            kind: kind
                .map(|k| {
                    k.parse::<Kind>()
                        .with_context(|| format!("--kind `{k}` is not a record kind"))
                })
                .transpose()?,
            subject: subject.map(|s| parse_did("--subject", &s)).transpose()?,
            ..Filter::default()
        };
        let mut ours = self.store.as_owner()?;
        if let Some(name) = &compartment {
            let log = self.store.find_compartment(&ours, name)?.log;
            ours = ours.only(&log);
        }
        let logs = self.store.logs(&ours);
        let names = self.names()?;
        Ok(self
            .store
            .records(&ours, &filter, limit)?
            .iter()
            .map(|stored| {
                let record = &stored.record;
                let subject_name = named(&record.subject.did, &names);
                RecordRow {
                    id: record.id.to_string(),
                    kind: record.kind().to_string(),
                    subject: record.subject.to_string(),
                    subject_name,
                    issuer: record.issuer().to_string(),
                    issued_at: record.predicate.common.issued_at.to_string(),
                    compartment: label(&logs, stored.location.log),
                    compartment_id: stored.location.log.compartment.to_string(),
                    origin: stored.location.log.origin.to_string(),
                    index: stored.location.index,
                }
            })
            .collect())
    }

    /// The record a person names: its 64 hex characters, or a prefix of
    /// at least 8 of them (as `assure records` prints 12) that names one
    /// record we hold.
    pub(super) fn record_id(&self, text: &str) -> Result<RecordId> {
        let text = text.trim().to_ascii_lowercase();
        if let Ok(id) = text.parse::<RecordId>() {
            return Ok(id);
        }
        if text.len() < 8 || text.len() > 64 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
            anyhow::bail!(
                "`{text}` is not a record id: give its 64 hex characters, or the first 12 \
                 that `assure records` prints"
            );
        }
        let ours = self.store.as_owner()?;
        let mut found: Vec<RecordId> = self
            .store
            .records(&ours, &Filter::default(), usize::MAX)?
            .into_iter()
            .map(|r| r.record.id)
            .filter(|id| id.to_string().starts_with(&text))
            .collect();
        found.sort();
        found.dedup();
        match found.as_slice() {
            [id] => Ok(*id),
            [] => Err(NotFound(format!(
                "no record whose id starts with {text} in this store"
            ))
            .into()),
            many => anyhow::bail!(
                "{} records have ids starting with {text}; give more of the id",
                many.len()
            ),
        }
    }

    pub(super) fn show(&self, id: &str) -> Result<Shown> {
        let id = self.record_id(id)?;
        let ours = self.store.as_owner()?;
        let locations = self.store.locations(&ours, &id);
        let missing = || NotFound(format!("no record {id} in this store"));
        // Our own copy first: it carries our co-signature, if any.
        let first = locations
            .iter()
            .find(|at| at.log.origin == self.did())
            .or(locations.first())
            .ok_or_else(missing)?;
        let stored = self.store.entry_at(&ours, *first)?.ok_or_else(missing)?;
        let payload =
            base64::engine::general_purpose::STANDARD.decode(&stored.record.envelope.payload)?;
        let statement: serde_json::Value = serde_json::from_slice(&payload)?;
        let logs = self.store.logs(&ours);
        let names = self.names()?;
        let mut deliveries = Vec::new();
        for at in locations.iter().filter(|at| at.log.origin == self.did()) {
            for d in self.store.deliveries(&ours, *at)? {
                deliveries.push(DeliveryRow {
                    party: d.party.to_string(),
                    party_name: named(&d.party, &names),
                    may_read: d.may_read,
                    received: d.received,
                    at: d.at.map(|t| t.to_string()),
                });
            }
        }
        Ok(Shown {
            id: id.to_string(),
            kind: stored.record.kind().to_string(),
            subject: stored.record.subject.to_string(),
            signers: stored.record.signers.iter().map(Did::to_string).collect(),
            signer_names: stored
                .record
                .signers
                .iter()
                .map(|d| named(d, &names))
                .collect(),
            locations: locations
                .iter()
                .map(|at| Place {
                    origin: at.log.origin.to_string(),
                    compartment: label(&logs, at.log),
                    compartment_id: at.log.compartment.to_string(),
                    index: at.index,
                })
                .collect(),
            statement,
            deliveries,
        })
    }

    pub(super) fn disclosures(&self, limit: usize) -> Result<Vec<DisclosureRow>> {
        let logs = self.store.logs(&self.store.as_owner()?);
        let labels: BTreeMap<_, _> = logs
            .iter()
            .filter(|s| s.log.origin == self.did())
            .map(|s| (s.log.compartment, s.compartment.label.clone()))
            .collect();
        let names = self.names()?;
        Ok(self
            .store
            .disclosures(0, limit)?
            .into_iter()
            .map(|d| {
                let count = d.to.saturating_sub(d.from);
                DisclosureRow {
                    at: d.at.to_string(),
                    party: d.party.to_string(),
                    party_name: named(&d.party, &names),
                    compartment: d.compartment.to_string(),
                    compartment_label: labels.get(&d.compartment).cloned().unwrap_or_default(),
                    first: (count > 0).then_some(d.from),
                    last: (count > 0).then(|| d.to - 1),
                    count,
                    grant_version: d.grant_version,
                    channel: d.channel,
                    purpose: d.purpose,
                }
            })
            .collect())
    }
}

/// The label of a log's compartment as held.
fn label(logs: &[LogSummary], log: LogId) -> String {
    logs.iter()
        .find(|s| s.log == log)
        .map(|s| s.compartment.label.clone())
        .unwrap_or_default()
}
