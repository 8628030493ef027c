//! The operator's side of alerts: who acknowledged which alert and when,
//! the webhooks alerts are delivered to, which alerts were handed to them,
//! and the log of every delivery attempt. All of it is the owner's own
//! state, like grants: none of it is ever served to another party.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Within as _;
use crate::grants::{from_json, to_json};
use crate::{Error, Store, next_key};

/// The delivery log keeps this many attempts; older ones are dropped.
const MAX_ATTEMPTS_KEPT: usize = 10_000;

/// Who acknowledged an alert, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Who: `dashboard`, `admin API`, or the CLI user (`cli:alice`).
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A URL that receives a signed JSON event for every new alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Where events are POSTed (checked by the caller: http, no userinfo).
    pub url: String,
    /// When it was registered.
    pub added_at: Timestamp,
    /// Who registered it.
    pub added_by: String,
}

/// One attempt at delivering one event to one webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When the attempt ended.
    pub at: Timestamp,
    /// The webhook.
    pub url: String,
    /// The alert the event is about (its id).
    pub event: String,
    /// The alert's kind.
    pub kind: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The HTTP status the receiver answered, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `delivered`, `retrying` (another attempt follows) or `failed`.
    pub outcome: String,
}

/// Wakes when an alert is raised.
pub struct AlertWatch(sled::Subscriber);

impl std::fmt::Debug for AlertWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertWatch")
    }
}

impl AlertWatch {
    /// Waits for the next alert raised (or the store closing).
    pub async fn raised(&mut self) {
        let _ = (&mut self.0).await;
    }
}

impl Store {
    /// Acknowledges the alert `id`; `false` (and nothing changes) when it
    /// was acknowledged before. The caller checks that the alert exists.
    pub fn acknowledge(&self, id: &str, ack: &Acknowledgement) -> Result<bool, Error> {
        let swapped = self
            .inner
            .trees
            .alert_acks
            .compare_and_swap(id.as_bytes(), None::<&[u8]>, Some(to_json(ack)?))
            .within("keyspace `alert_acks`")?;
        if swapped.is_err() {
            return Ok(false);
        }
        self.flush()?;
        Ok(true)
    }

    /// Every acknowledgement, by alert id.
    pub fn acknowledgements(&self) -> Result<BTreeMap<String, Acknowledgement>, Error> {
        self.inner
            .trees
            .alert_acks
            .iter()
            .map(|kv| {
                let (key, value) = kv.within("keyspace `alert_acks`")?;
                let id = String::from_utf8(key.to_vec())
                    .map_err(|_| Error::corrupt("alert acknowledgement key"))?;
                Ok((id, from_json(&value, "alert acknowledgement")?))
            })
            .collect()
    }

    /// Wakes its holder whenever an alert is raised.
    pub fn watch_alerts(&self) -> AlertWatch {
        AlertWatch(self.inner.trees.alerts.watch_prefix(Vec::<u8>::new()))
    }

    /// The registered webhooks, by URL.
    pub fn webhooks(&self) -> Result<Vec<Webhook>, Error> {
        self.inner
            .trees
            .webhooks
            .iter()
            .map(|kv| from_json(&kv.within("keyspace `webhooks`")?.1, "webhook"))
            .collect()
    }

    /// Registers a webhook; `false` (and nothing changes) when its URL is
    /// registered already.
    pub fn add_webhook(&self, webhook: &Webhook) -> Result<bool, Error> {
        let swapped = self
            .inner
            .trees
            .webhooks
            .compare_and_swap(
                webhook.url.as_bytes(),
                None::<&[u8]>,
                Some(to_json(webhook)?),
            )
            .within("keyspace `webhooks`")?;
        if swapped.is_err() {
            return Ok(false);
        }
        self.flush()?;
        Ok(true)
    }

    /// Removes a webhook; `None` when no webhook has that URL.
    pub fn remove_webhook(&self, url: &str) -> Result<Option<Webhook>, Error> {
        let removed = self
            .inner
            .trees
            .webhooks
            .remove(url.as_bytes())
            .within("keyspace `webhooks`")?;
        self.flush()?;
        removed.map(|v| from_json(&v, "webhook")).transpose()
    }

    /// Whether the alert `id` was handed to the webhooks already.
    pub fn is_dispatched(&self, id: &str) -> Result<bool, Error> {
        self.inner
            .trees
            .dispatched
            .contains_key(id.as_bytes())
            .within("keyspace `dispatched`")
    }

    /// Marks alerts as handed to the webhooks, durably.
    pub fn mark_dispatched<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
        at: Timestamp,
    ) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        let value = at.as_second().to_be_bytes();
        for id in ids {
            batch.insert(id.as_bytes(), &value);
        }
        self.inner
            .trees
            .dispatched
            .apply_batch(batch)
            .within("keyspace `dispatched`")?;
        self.flush()
    }

    /// Appends a delivery attempt to the log, durably, dropping the oldest
    /// beyond the log's capacity.
    pub fn log_attempt(&self, attempt: &Attempt) -> Result<(), Error> {
        let log = &self.inner.trees.webhook_log;
        let seq = next_key(&self.inner.db)?;
        log.insert(seq, to_json(attempt)?)
            .within("keyspace `webhook_log`")?;
        while log.len() > MAX_ATTEMPTS_KEPT {
            match log.pop_min().within("keyspace `webhook_log`")? {
                Some(_) => {}
                None => break,
            }
        }
        self.flush()
    }

    /// The newest `limit` delivery attempts, newest first.
    pub fn attempts(&self, limit: usize) -> Result<Vec<Attempt>, Error> {
        self.inner
            .trees
            .webhook_log
            .iter()
            .rev()
            .take(limit)
            .map(|kv| from_json(&kv.within("keyspace `webhook_log`")?.1, "webhook delivery"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn an_alert_is_acknowledged_once() {
        let (_dir, store) = store();
        let ack = Acknowledgement {
            by: "cli:alice".into(),
            at: Timestamp::now(),
        };
        assert!(store.acknowledge("abc", &ack).unwrap());
        let again = Acknowledgement {
            by: "dashboard".into(),
            ..ack.clone()
        };
        assert!(!store.acknowledge("abc", &again).unwrap());
        assert_eq!(store.acknowledgements().unwrap()["abc"], ack);
    }

    #[test]
    fn webhooks_are_added_once_and_removed() {
        let (_dir, store) = store();
        let hook = Webhook {
            url: "http://127.0.0.1:9/hook".into(),
            added_at: Timestamp::now(),
            added_by: "cli:alice".into(),
        };
        assert!(store.add_webhook(&hook).unwrap());
        assert!(!store.add_webhook(&hook).unwrap());
        assert_eq!(store.webhooks().unwrap(), std::slice::from_ref(&hook));
        assert_eq!(store.remove_webhook(&hook.url).unwrap(), Some(hook));
        assert_eq!(
            store.remove_webhook("http://127.0.0.1:9/hook").unwrap(),
            None
        );
        assert!(store.webhooks().unwrap().is_empty());
    }

    #[test]
    fn attempts_read_newest_first() {
        let (_dir, store) = store();
        for n in 1..=3 {
            store
                .log_attempt(&Attempt {
                    at: Timestamp::now(),
                    url: "http://127.0.0.1:9/".into(),
                    event: "e".into(),
                    kind: "incident".into(),
                    attempt: n,
                    status: Some(500),
                    error: None,
                    outcome: "retrying".into(),
                })
                .unwrap();
        }
        let read: Vec<u32> = store
            .attempts(2)
            .unwrap()
            .iter()
            .map(|a| a.attempt)
            .collect();
        assert_eq!(read, [3, 2]);
        assert!(!store.is_dispatched("x").unwrap());
        store.mark_dispatched(["x"], Timestamp::now()).unwrap();
        assert!(store.is_dispatched("x").unwrap());
    }
}
