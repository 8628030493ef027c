//! Webhook delivery in the running node: every new alert, stored or
//! computed, becomes one signed JSON event per registered webhook
//! ([`assure_api::webhook`]), delivered with retries and capped exponential
//! backoff, each attempt written to the store's delivery log.
//!
//! A dispatcher wakes when an alert is raised (and every minute, for the
//! computed ones: a certification or grant comes within its window as time
//! passes), and hands each alert not dispatched before to a bounded queue,
//! one job per webhook. A worker takes jobs from the queue and delivers up
//! to [`CONCURRENT`] at once. An alert is marked dispatched, durably, only
//! once every one of its jobs is through (delivered, or given up and logged
//! as failed): what is queued or being retried when the node stops, or is
//! killed, is delivered after it starts again (a receiver may then get an
//! event twice; its id tells). What a full queue cannot take is logged as
//! failed rather than waited for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use assure_api::AlertView;
use assure_api::webhook::{DeliveryError, Event, Sender};
use assure_store::Attempt;
use jiff::Timestamp;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::ops::Ops;

/// Events waiting for delivery, at most.
pub const QUEUE: usize = 256;
/// Deliveries in flight, at most.
pub const CONCURRENT: usize = 4;
/// Attempts per event and webhook, at most.
pub const MAX_ATTEMPTS: u32 = 6;
/// The pause after the first failed attempt; it doubles after each.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest pause between attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(60);
/// How long one attempt may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How often computed alerts are looked for without a raised one.
const RESCAN: Duration = Duration::from_secs(60);

/// One event for one webhook.
#[derive(Debug)]
struct Job {
    url: String,
    alert: AlertView,
}

/// The alerts handed to the queue and not dispatched yet: how many of
/// their jobs (one per webhook) are still to go through.
type InFlight = Arc<Mutex<HashMap<String, usize>>>;

/// Starts delivering until `cancel`; join the handle after cancelling.
pub(crate) fn spawn(ops: Ops, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let in_flight = InFlight::default();
        let worker = tokio::spawn(work(ops.clone(), jobs, in_flight.clone(), cancel.clone()));
        let mut raised = ops.store().watch_alerts();
        let mut rescan = tokio::time::interval(RESCAN);
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = raised.raised() => {}
                _ = rescan.tick() => {}
            }
            let (ops, queue, in_flight) = (ops.clone(), queue.clone(), in_flight.clone());
            match tokio::task::spawn_blocking(move || dispatch(&ops, &queue, &in_flight)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => warn!(error = %format!("{error:#}"), "webhook dispatch failed"),
                Err(error) => warn!(%error, "webhook dispatch failed"),
            }
        }
        drop(queue);
        let _ = worker.await;
    })
}

/// Hands every alert not dispatched before (nor in flight) to the queue,
/// once per webhook; an alert no job is left for is marked dispatched at
/// once. Runs on a blocking thread.
fn dispatch(ops: &Ops, queue: &mpsc::Sender<Job>, in_flight: &InFlight) -> Result<()> {
    let store = ops.store();
    let now = Timestamp::now();
    let hooks = store.webhooks()?;
    let mut fresh = Vec::new();
    for alert in ops.every_alert(now)? {
        if !store.is_dispatched(&alert.id)? && !lock(in_flight).contains_key(&alert.id) {
            fresh.push(alert);
        }
    }
    let mut done = Vec::new();
    for alert in fresh {
        if hooks.is_empty() {
            done.push(alert.id);
            continue;
        }
        // Counted before the first job is queued, so that the worker
        // always finds the count it takes its finished jobs from.
        lock(in_flight).insert(alert.id.clone(), hooks.len());
        for hook in &hooks {
            let job = Job {
                url: hook.url.clone(),
                alert: alert.clone(),
            };
            match queue.try_send(job) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(job)) => {
                    store.log_attempt(&Attempt {
                        at: now,
                        url: job.url,
                        event: job.alert.id,
                        kind: job.alert.kind,
                        attempt: 0,
                        status: None,
                        error: Some(format!("not sent: {QUEUE} events are waiting already")),
                        outcome: "failed".into(),
                    })?;
                    if finish(in_flight, &alert.id).is_none() {
                        done.push(alert.id.clone());
                    }
                }
                // The node is stopping: the alert is dispatched after it
                // starts again.
                Err(mpsc::error::TrySendError::Closed(_)) => return Ok(()),
            }
        }
    }
    store.mark_dispatched(done.iter().map(String::as_str), now)?;
    Ok(())
}

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    in_flight.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts one job of `alert` through; `None` when it was its last (the
/// alert is then no longer in flight), else how many are left.
fn finish(in_flight: &InFlight, alert: &str) -> Option<usize> {
    let mut in_flight = lock(in_flight);
    let left = in_flight.get_mut(alert)?;
    *left = left.saturating_sub(1);
    if *left == 0 {
        in_flight.remove(alert);
        return None;
    }
    Some(*left)
}

/// Delivers jobs, [`CONCURRENT`] at a time, until the queue closes or
/// `cancel`; marks an alert dispatched once its last job is through.
async fn work(
    ops: Ops,
    mut jobs: mpsc::Receiver<Job>,
    in_flight: InFlight,
    cancel: CancellationToken,
) {
    let sender = Sender::new(TIMEOUT);
    let permits = Arc::new(Semaphore::new(CONCURRENT));
    let mut running = JoinSet::new();
    loop {
        let job = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            job = jobs.recv() => job,
        };
        let Some(job) = job else { break };
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (ops, sender, cancel) = (ops.clone(), sender.clone(), cancel.clone());
        let in_flight = in_flight.clone();
        running.spawn(async move {
            let alert = job.alert.id.clone();
            if deliver(&ops, &sender, job, &cancel).await && finish(&in_flight, &alert).is_none() {
                let store = ops.store().clone();
                let marked = tokio::task::spawn_blocking(move || {
                    store.mark_dispatched([alert.as_str()], Timestamp::now())
                });
                match marked.await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => warn!(%error, "marking a webhook event dispatched"),
                    Err(error) => warn!(%error, "marking a webhook event dispatched"),
                }
            }
            drop(permit);
        });
        while running.try_join_next().is_some() {}
    }
    running.shutdown().await;
}

/// What to do after an attempt.
enum Next {
    Delivered,
    Retry,
    GiveUp,
}

/// Whether an answer is a delivery, worth another attempt, or final.
fn judge(result: &Result<u16, DeliveryError>) -> (Next, Option<String>) {
    match result {
        Ok(200..=299) => (Next::Delivered, None),
        Ok(status @ 300..=399) => (
            Next::GiveUp,
            Some(format!(
                "redirect ({status}) not followed: register the final URL"
            )),
        ),
        Ok(408 | 429) | Ok(500..) => (Next::Retry, None),
        Ok(_) => (Next::GiveUp, None),
        Err(DeliveryError::Url(e)) => (Next::GiveUp, Some(e.clone())),
        Err(e) => (Next::Retry, Some(e.to_string())),
    }
}

/// The pause after failed attempt `n` (1 for the first).
pub fn backoff(n: u32) -> Duration {
    FIRST_RETRY
        .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
        .min(MAX_RETRY)
}

/// Delivers one event to one webhook, retrying, logging every attempt;
/// `false` when the node stopped first.
async fn deliver(ops: &Ops, sender: &Sender, job: Job, cancel: &CancellationToken) -> bool {
    let event = Event {
        kind: job.alert.kind.clone(),
        id: job.alert.id.clone(),
        node: ops.did().to_string(),
        alert: job.alert.clone(),
    };
    let Ok(body) = serde_json::to_vec(&event) else {
        return true;
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let result = sender
            .post(&job.url, body.clone(), ops.keypair())
            .await
            .map(|a| a.status);
        let (mut next, error) = judge(&result);
        if matches!(next, Next::Retry) && attempt == MAX_ATTEMPTS {
            next = Next::GiveUp;
        }
        let outcome = match next {
            Next::Delivered => "delivered",
            Next::Retry => "retrying",
            Next::GiveUp => "failed",
        };
        debug!(url = %job.url, event = %event.id, attempt, outcome, "webhook attempt");
        let logged = Attempt {
            at: Timestamp::now(),
            url: job.url.clone(),
            event: event.id.clone(),
            kind: event.kind.clone(),
            attempt,
            status: result.as_ref().ok().copied(),
            error,
            outcome: outcome.into(),
        };
        let store = ops.store().clone();
        match tokio::task::spawn_blocking(move || store.log_attempt(&logged)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, "writing the webhook delivery log"),
            Err(error) => warn!(%error, "writing the webhook delivery log"),
        }
        if !matches!(next, Next::Retry) {
            return true;
        }
        tokio::select! {
            biased;
            () = cancel.cancelled() => return false,
            () = tokio::time::sleep(backoff(attempt)) => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let pauses: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn only_server_failures_and_silence_are_retried() {
        let next = |r: Result<u16, DeliveryError>| judge(&r).0;
        assert!(matches!(next(Ok(204)), Next::Delivered));
        assert!(matches!(next(Ok(500)), Next::Retry));
        assert!(matches!(next(Ok(503)), Next::Retry));
        assert!(matches!(next(Ok(429)), Next::Retry));
        assert!(matches!(next(Ok(302)), Next::GiveUp));
        assert!(matches!(next(Ok(404)), Next::GiveUp));
        assert!(matches!(
            next(Err(DeliveryError::Timeout(TIMEOUT))),
            Next::Retry
        ));
        assert!(matches!(
            next(Err(DeliveryError::Url("ftp://x".into()))),
            Next::GiveUp
        ));
    }
}
