//! Alerts as the operator works with them: every alert the node raised and
//! those computed from the store when read (certifications of us or of our
//! providers ending within 60 days, our grants ending within 30 days), each
//! with a stable id, filtered, and acknowledged by someone at some time;
//! and the webhooks that new alerts are delivered to (see
//! [`crate::webhooks`]). The CLI, the admin API and the dashboard all call
//! these.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use assure_api::{Acknowledged, AlertFilter, AlertList, AlertView};
use assure_model::predicate::{AuditType, Body};
use assure_model::{Did, Kind};
use assure_store::{Acknowledgement, Alert, Webhook};
use assure_verify::View;
use jiff::{SignedDuration, Timestamp};

use super::{NotFound, Ops, named, parse_did};

/// Certifications ending within this long are alerts.
pub const EXPIRING_CERTIFICATIONS: SignedDuration = SignedDuration::from_hours(60 * 24);
/// Grants ending within this long are alerts.
pub const EXPIRING_GRANTS: SignedDuration = SignedDuration::from_hours(30 * 24);

impl Ops {
    /// Every alert that passes `filter`, oldest first, with the evidence of
    /// equivocation held.
    pub fn alert_list(&self, filter: &AlertFilter) -> Result<AlertList> {
        let kind = match filter.kind.as_deref() {
            Some(kind) if !Alert::KINDS.contains(&kind) => bail!(
                "`{kind}` is not an alert kind: give one of {}",
                Alert::KINDS.join(", ")
            ),
            kind => kind,
        };
        let org = filter
            .org
            .as_deref()
            .map(|o| parse_did("the organization", o))
            .transpose()?;
        let mut alerts = self.every_alert(Timestamp::now())?;
        alerts.retain(|a| {
            kind.is_none_or(|k| a.kind == k)
                && filter
                    .acknowledged
                    .is_none_or(|ack| a.acknowledged.is_some() == ack)
                && org.is_none_or(|o| a.origin == o.to_string())
        });
        let ours = self.store.as_owner()?;
        let evidence = self
            .store
            .all_evidence(&ours)?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        Ok(AlertList { alerts, evidence })
    }

    /// Every alert, stored and computed at `now`, oldest first.
    pub(crate) fn every_alert(&self, now: Timestamp) -> Result<Vec<AlertView>> {
        let ours = self.store.as_owner()?;
        let names = self.names()?;
        let acks = self.store.acknowledgements()?;
        let name_of = |origin: &str| {
            origin
                .parse::<Did>()
                .map_or_else(|_| origin.to_owned(), |d| named(&d, &names))
        };
        let mut views: Vec<AlertView> = self
            .store
            .alerts(&ours)?
            .into_iter()
            .map(|alert| AlertView {
                id: alert.id(),
                at: alert.at.to_string(),
                kind: alert.kind.clone(),
                origin_name: name_of(&alert.origin),
                origin: alert.origin,
                detail: alert.detail,
                record: alert.record,
                log: alert.log,
                computed: false,
                until: None,
                acknowledged: None,
            })
            .collect();
        let mut computed = self.expiring_certifications(now, &names)?;
        computed.extend(self.expiring_grants(now, &names)?);
        views.extend(computed);
        for view in &mut views {
            view.acknowledged = acks.get(&view.id).map(|a| Acknowledged {
                by: a.by.clone(),
                at: a.at.to_string(),
            });
        }
        views.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(views)
    }

    /// Certification audits of us or of our tier-1 providers, current and
    /// ending within [`EXPIRING_CERTIFICATIONS`].
    fn expiring_certifications(
        &self,
        now: Timestamp,
        names: &BTreeMap<Did, String>,
    ) -> Result<Vec<AlertView>> {
        let ours = self.store.as_owner()?;
        let seen = self.store.seen(&ours)?;
        let view = View::new(&seen, now);
        let mut subjects = vec![self.did()];
        subjects.extend(
            assure_verify::chain::providers(&view, self.did(), 1)
                .into_iter()
                .map(|l| l.provider),
        );
        let mut found = Vec::new();
        for subject in subjects {
            for entry in view.about_of_kind(subject, Kind::Audit) {
                let Body::Audit(audit) = &entry.record.predicate.body else {
                    continue;
                };
                let Some(until) = entry.record.predicate.common.valid_until else {
                    continue;
                };
                if audit.audit_type != AuditType::Certification
                    || entry.expired
                    || until.duration_since(now) > EXPIRING_CERTIFICATIONS
                {
                    continue;
                }
                let whose = match subject == self.did() {
                    true => "our".to_owned(),
                    false => format!("the provider {}'s", named(&subject, names)),
                };
                let number = audit
                    .certificate_number
                    .as_deref()
                    .map(|n| format!(" (certificate {n})"))
                    .unwrap_or_default();
                let id = entry.record.id.to_string();
                found.push(AlertView {
                    id: Alert::computed_id(Alert::EXPIRING_CERTIFICATION, &id),
                    at: until
                        .saturating_sub(EXPIRING_CERTIFICATIONS)
                        .unwrap_or(until)
                        .max(entry.issued_at())
                        .to_string(),
                    kind: Alert::EXPIRING_CERTIFICATION.to_owned(),
                    origin: subject.to_string(),
                    origin_name: named(&subject, names),
                    detail: format!(
                        "{whose} {} certification{number} by {} ends on {}",
                        audit.standard,
                        named(&entry.record.issuer(), names),
                        until.strftime("%Y-%m-%d")
                    ),
                    record: Some(id),
                    log: None,
                    computed: true,
                    until: Some(until.to_string()),
                    acknowledged: None,
                });
            }
        }
        Ok(found)
    }

    /// Our active grants ending within [`EXPIRING_GRANTS`].
    fn expiring_grants(
        &self,
        now: Timestamp,
        names: &BTreeMap<Did, String>,
    ) -> Result<Vec<AlertView>> {
        Ok(self
            .store
            .grants()?
            .iter()
            .filter(|g| g.is_active(now))
            .filter_map(|g| {
                let until = g.valid_until?;
                (until.duration_since(now) <= EXPIRING_GRANTS).then(|| AlertView {
                    id: Alert::computed_id(
                        Alert::EXPIRING_GRANT,
                        &format!("{} v{} {until}", g.party, g.version),
                    ),
                    at: until
                        .saturating_sub(EXPIRING_GRANTS)
                        .unwrap_or(until)
                        .max(g.valid_from)
                        .to_string(),
                    kind: Alert::EXPIRING_GRANT.to_owned(),
                    origin: g.party.to_string(),
                    origin_name: named(&g.party, names),
                    detail: format!(
                        "the grant of {} ends at {}: renew it with `assure grant add`",
                        named(&g.party, names),
                        until.strftime("%Y-%m-%d %H:%M")
                    ),
                    record: None,
                    log: None,
                    computed: true,
                    until: Some(until.to_string()),
                    acknowledged: None,
                })
            })
            .collect())
    }

    /// Acknowledges the alert `id` (its 32 hex characters, or a prefix of at
    /// least 8 that names one alert) as `by`.
    pub fn acknowledge(&self, id: &str, by: &str) -> Result<AlertView> {
        let text = id.trim().to_ascii_lowercase();
        if text.len() < 8 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                "`{id}` is not an alert id: give the id `assure alerts` prints (at least its \
                 first 8 characters)"
            );
        }
        let by = by.trim();
        if by.is_empty() || by.len() > 200 || by.chars().any(char::is_control) {
            bail!("say who acknowledges the alert: 1 to 200 printable characters");
        }
        let alerts = self.every_alert(Timestamp::now())?;
        let mut matching = alerts.into_iter().filter(|a| a.id.starts_with(&text));
        let mut alert = match (matching.next(), matching.next()) {
            (Some(alert), None) => alert,
            (None, _) => return Err(NotFound(format!("no alert {text}")).into()),
            (Some(_), Some(_)) => {
                bail!("several alerts have ids starting with {text}; give more of the id")
            }
        };
        if let Some(ack) = &alert.acknowledged {
            bail!(
                "the alert {} was acknowledged already, by {} at {}",
                alert.id,
                ack.by,
                ack.at
            );
        }
        let ack = Acknowledgement {
            by: by.to_owned(),
            at: Timestamp::now(),
        };
        if !self.store.acknowledge(&alert.id, &ack)? {
            bail!("the alert {} was acknowledged already", alert.id);
        }
        alert.acknowledged = Some(Acknowledged {
            by: ack.by,
            at: ack.at.to_string(),
        });
        Ok(alert)
    }

    /// The registered webhooks.
    pub fn webhooks(&self) -> Result<Vec<Webhook>> {
        Ok(self.store.webhooks()?)
    }

    /// Registers a webhook; it receives the alerts raised from now on.
    pub fn add_webhook(&self, url: &str, by: &str) -> Result<Webhook> {
        let url = assure_api::webhook::check_url(url).map_err(anyhow::Error::msg)?;
        let now = Timestamp::now();
        let hook = Webhook {
            url: url.clone(),
            added_at: now,
            added_by: by.trim().to_owned(),
        };
        // What was raised before it was registered is not news to it.
        let current: Vec<String> = self.every_alert(now)?.into_iter().map(|a| a.id).collect();
        self.store
            .mark_dispatched(current.iter().map(String::as_str), now)?;
        if !self.store.add_webhook(&hook)? {
            bail!("the webhook {url} is registered already");
        }
        Ok(hook)
    }

    /// Removes a webhook.
    pub fn remove_webhook(&self, url: &str) -> Result<Webhook> {
        let url = url.trim();
        if let Some(found) = self.store.remove_webhook(url)? {
            return Ok(found);
        }
        // As registered, a bare host got a trailing slash.
        if let Ok(normal) = assure_api::webhook::check_url(url)
            && normal != url
            && let Some(found) = self.store.remove_webhook(&normal)?
        {
            return Ok(found);
        }
        Err(NotFound(format!("no webhook {url} is registered")).into())
    }

    /// The newest `limit` delivery attempts, newest first.
    pub fn deliveries(&self, limit: usize) -> Result<Vec<assure_store::Attempt>> {
        Ok(self.store.attempts(limit)?)
    }
}
