//! `assure status`: whether the node runs, its peers, the logs it holds,
//! grants about to expire, alerts, and what needs the operator's attention.

use std::collections::BTreeMap;

use anyhow::Result;
use assure_model::Did;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{GrantRow, Ops, named};

/// Grants ending within this long are listed as expiring.
const EXPIRING: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Alerts raised within this long need attention.
const RECENT_ALERTS: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The node at a glance.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub did: String,
    /// Our name, from `assure init --name` or our profile record.
    pub name: Option<String>,
    pub running: bool,
    /// The API's address, when the node runs with one.
    pub api: Option<String>,
    pub peers: Vec<PeerRow>,
    pub logs: Vec<LogHeld>,
    /// Active grants that end within 30 days.
    pub expiring: Vec<GrantRow>,
    /// Our logs whose readers have not received every entry.
    pub behind: Vec<Behind>,
    /// Alerts raised in the last 7 days and not acknowledged, and alerts
    /// raised in all.
    pub recent_alerts: usize,
    pub alerts: usize,
    /// What needs attention, in plain words; empty when all is well.
    pub attention: Vec<String>,
}

/// A peer of the peer book.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerRow {
    pub did: String,
    pub name: String,
    pub addresses: Vec<String>,
    pub sources: Vec<String>,
    pub connected_since: Option<String>,
    pub last_connected: Option<String>,
    pub next_dial: Option<String>,
}

/// A reader of one of our logs that has not received all of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Behind {
    pub party: String,
    pub party_name: String,
    pub compartment: String,
    /// Entries in the log.
    pub size: u64,
    /// Entries served to the party.
    pub received: u64,
}

/// A log this node holds: one of ours, or a replica.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogHeld {
    pub origin: String,
    pub origin_name: String,
    pub compartment: String,
    pub ours: bool,
    pub size: u64,
    /// When its author signed the checkpoint we hold: for a replica, how
    /// recent our copy is.
    pub signed_at: String,
}

impl Ops {
    pub(super) async fn status(&self) -> Result<Status> {
        let book = match &self.network {
            Some(network) => Some(network.book().await?),
            None => None,
        };
        let running = self.network.is_some();
        let api = self.api.as_ref().map(|(url, _, _)| url.clone());
        self.blocking(move |ops| {
            let now = Timestamp::now();
            let names = ops.names()?;
            let mut attention = Vec::new();
            if !running {
                attention.push("the node is not running: start it with `assure run`".to_owned());
            }
            let peers: Vec<PeerRow> = match book {
                Some(book) => book
                    .into_iter()
                    .map(|p| PeerRow {
                        name: named(&p.peer.did, &names),
                        connected_since: p.connected_since.map(|t| t.to_string()),
                        next_dial: p.next_dial.map(|t| t.to_string()),
                        ..peer_row(&p.peer, &names)
                    })
                    .collect(),
                None => ops
                    .store
                    .peers()?
                    .iter()
                    .map(|p| peer_row(p, &names))
                    .collect(),
            };
            // The same warnings as the node's log, the dashboard and /metrics.
            let ours = ops.store.as_owner()?;
            let connected =
                running.then(|| peers.iter().filter(|p| p.connected_since.is_some()).count());
            let undelivered = ops.store.undelivered(&ours)?;
            attention.extend(undelivered.warnings(connected, |d| named(d, &names)));
            let grants = ops.store.grants()?;
            let expiring: Vec<GrantRow> = grants
                .iter()
                .filter(|g| {
                    g.is_active(now)
                        && g.valid_until
                            .is_some_and(|until| until.duration_since(now) <= EXPIRING)
                })
                .map(|g| GrantRow::named(g, &names))
                .collect();
            for grant in &expiring {
                attention.push(format!(
                    "the grant of {} ends at {}: renew it with `assure grant add`",
                    grant.party_name,
                    grant.valid_until.as_deref().unwrap_or_default()
                ));
            }
            let alerts = ops.store.alerts(&ours)?;
            let acks = ops.store.acknowledgements()?;
            // An audit awaiting our acknowledgement needs attention until we
            // co-sign it (our own log then holds it), however old.
            let acknowledged = |a: &assure_store::Alert| {
                a.record
                    .as_deref()
                    .and_then(|r| r.parse::<assure_model::RecordId>().ok())
                    .is_some_and(|id| {
                        ops.store
                            .locations(&ours, &id)
                            .iter()
                            .any(|at| at.log.origin == ops.did())
                    })
            };
            // An acknowledged alert needs no more attention.
            let recent_alerts = alerts
                .iter()
                .filter(|a| !acks.contains_key(&a.id()))
                .filter(|a| match a.kind.as_str() {
                    assure_store::Alert::AWAITING_ACKNOWLEDGEMENT => !acknowledged(a),
                    _ => now.duration_since(a.at) <= RECENT_ALERTS,
                })
                .count();
            if recent_alerts > 0 {
                attention.push(format!(
                    "{recent_alerts} alert(s) in the last 7 days not acknowledged: see `assure alerts \
                     --unacknowledged`, and `assure alert ack ID` once handled"
                ));
            }
            let asking = ops
                .store
                .access_requests()?
                .iter()
                .filter(|r| r.decided.is_none())
                .count();
            if asking > 0 {
                attention.push(format!(
                    "{asking} access request(s) await a decision: see `assure requests`"
                ));
            }
            for (log, error) in ops.damaged.iter() {
                attention.push(format!("log {} is damaged: {error}", log.compartment));
            }
            let logs = ops
                .store
                .logs(&ours)
                .into_iter()
                .map(|s| LogHeld {
                    origin: s.log.origin.to_string(),
                    origin_name: named(&s.log.origin, &names),
                    compartment: s.compartment.label.clone(),
                    ours: s.log.origin == ops.did(),
                    size: s.checkpoint.checkpoint().size(),
                    signed_at: Timestamp::from_second(s.checkpoint.checkpoint().timestamp())
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                })
                .collect();
            Ok(Status {
                did: ops.did().to_string(),
                name: names.get(&ops.did()).cloned(),
                running,
                api,
                peers,
                logs,
                expiring,
                behind: undelivered
                    .behind
                    .iter()
                    .map(|b| Behind {
                        party: b.party.to_string(),
                        party_name: named(&b.party, &names),
                        compartment: b.label.clone(),
                        size: b.size,
                        received: b.received,
                    })
                    .collect(),
                recent_alerts,
                alerts: alerts.len(),
                attention,
            })
        })
        .await
    }
}

fn peer_row(peer: &assure_store::Peer, names: &BTreeMap<Did, String>) -> PeerRow {
    PeerRow {
        did: peer.did.to_string(),
        name: named(&peer.did, names),
        addresses: peer.addresses.clone(),
        sources: peer.sources.iter().map(|s| s.as_str().to_owned()).collect(),
        connected_since: None,
        last_connected: peer.last_connected.map(|t| t.to_string()),
        next_dial: None,
    }
}
