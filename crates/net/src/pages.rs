//! A replica pulled page by page: each page is fetched, verified and
//! committed as it arrives, proven a prefix of the author's signed tree, so
//! that memory holds the pages in flight rather than the whole pull, and a
//! member stopped half way keeps what it committed.
//!
//! Three stages overlap: requests for the next pages are out while earlier
//! ones are verified (signature batches on every core, on blocking threads),
//! and verified pages are committed in order on a blocking thread, as many
//! at a time as are ready, each commit one atomic, flushed write.

use assure_access::{Compartment, LogId};
use assure_log::{Hash, SignedCheckpoint};
use assure_model::{Did, Record};
use assure_store::Store;
use futures::StreamExt as _;
use jiff::Timestamp;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::protocol::{MAX_PAGE_ENTRIES, Request, Response};
use crate::{Client, Error, notices};

/// Page requests in flight to one author during a pull.
pub(crate) const PAGES_IN_FLIGHT: usize = 4;
/// Verified pages waiting for the store.
const COMMIT_QUEUE: usize = 4;

/// A verified page, ready to commit.
struct Page {
    /// Index of its first entry.
    from: u64,
    /// The envelopes, as received, with their records.
    entries: Vec<(Vec<u8>, Record)>,
    /// The consistency proof from the tree its last entry ends to the target.
    proof: Vec<Hash>,
}

/// What a pull adds to one replica.
pub(crate) struct Pull<'a> {
    pub(crate) client: &'a Client,
    pub(crate) store: &'a Store,
    pub(crate) me: Did,
    /// Whether we read the log as the author's regulator.
    pub(crate) regulator: bool,
    pub(crate) log: LogId,
    /// Our compartment for it, stored with the first page.
    pub(crate) compartment: Compartment,
}

impl Pull<'_> {
    /// Fetches, verifies and commits entries `held..` up to `target`'s size;
    /// returns the size held at the end. Pages verified before a failure are
    /// committed before the failure is returned.
    pub(crate) async fn run(&self, held: u64, target: &SignedCheckpoint) -> Result<u64, Error> {
        let size = target.checkpoint().size();
        if held >= size {
            // Nothing to fetch: a new, empty replica, or a note to adopt.
            return self
                .commit(
                    vec![Page {
                        from: held,
                        entries: Vec::new(),
                        proof: Vec::new(),
                    }],
                    target,
                )
                .await;
        }
        let (queue, mut ready) = mpsc::channel::<Page>(COMMIT_QUEUE);
        let fetch = async move {
            let ranges = (held..size)
                .step_by(MAX_PAGE_ENTRIES as usize)
                .map(|from| (from, (size - from).min(u64::from(MAX_PAGE_ENTRIES))));
            let mut pages = futures::stream::iter(ranges)
                .map(|(from, count)| self.fetch(from, count, size))
                .buffered(PAGES_IN_FLIGHT);
            while let Some(fetched) = pages.next().await {
                for page in fetched? {
                    if queue.send(page).await.is_err() {
                        // The store refused a page: the pull stops there.
                        return Ok(());
                    }
                }
            }
            Ok::<(), Error>(())
        };
        let commit = async {
            let mut at = held;
            while let Some(first) = ready.recv().await {
                let mut batch = vec![first];
                while batch.len() < 2 * COMMIT_QUEUE
                    && let Ok(page) = ready.try_recv()
                {
                    batch.push(page);
                }
                at = self.commit(batch, target).await?;
            }
            Ok::<u64, Error>(at)
        };
        let (fetched, committed) = futures::join!(fetch, commit);
        let at = committed?;
        fetched?;
        Ok(at)
    }

    /// Fetches and verifies entries `from..from + count`, in as many pages
    /// as the author's size cap needs, each with its proof to `size`.
    async fn fetch(&self, mut from: u64, count: u64, size: u64) -> Result<Vec<Page>, Error> {
        let (client, log) = (self.client, self.log);
        let end = from + count;
        let mut out = Vec::new();
        let mut backoff = 0;
        while from < end {
            let request = Request::Entries {
                compartment: log.compartment,
                from,
                max: (end - from).min(u64::from(MAX_PAGE_ENTRIES)) as u32,
                prove_to: Some(size),
            };
            let (entries, got_from, mut proof) = match client.request(log.origin, request).await? {
                Response::Entries {
                    entries,
                    from,
                    proof,
                    ..
                } => (entries, from, proof),
                Response::Refused(reason) if reason.contains("rate limit") && backoff < 5 => {
                    // Slow down rather than fail: the author is busy, not refusing.
                    backoff += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 << backoff)).await;
                    continue;
                }
                _ => return Err(Error::Protocol("entries refused".into())),
            };
            if got_from != from || entries.is_empty() || entries.len() as u64 > end - from {
                return Err(Error::Protocol("entries out of order".into()));
            }
            let sent = from + entries.len() as u64;
            if proof.is_empty() && sent < size {
                // An author that predates proofs in pages is asked apart.
                proof = self.consistency(sent, size).await?;
            }
            let verified = tokio::task::spawn_blocking(move || {
                crate::verify::verify_entries(from, &entries, Timestamp::now())
                    .map(|records| entries.into_iter().map(String::into_bytes).zip(records))
                    .map(Iterator::collect)
            })
            .await
            .map_err(|e| Error::Protocol(e.to_string()))??;
            out.push(Page {
                from,
                entries: verified,
                proof,
            });
            from = sent;
        }
        Ok(out)
    }

    /// The author's consistency proof between two sizes of the log.
    async fn consistency(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, Error> {
        let request = Request::Consistency {
            compartment: self.log.compartment,
            old_size,
            new_size,
        };
        match self.client.request(self.log.origin, request).await? {
            Response::Consistency(proof) => Ok(proof),
            _ => Err(Error::Protocol("no consistency proof".into())),
        }
    }

    /// Commits consecutive verified pages as one write, proven by the last
    /// one's proof, and raises the notices they carry; the size held after.
    async fn commit(&self, batch: Vec<Page>, target: &SignedCheckpoint) -> Result<u64, Error> {
        let from = batch.first().map_or(0, |p| p.from);
        let mut proof = Vec::new();
        let mut entries = Vec::new();
        for page in batch {
            if page.from != from + entries.len() as u64 {
                return Err(Error::Protocol("entries out of order".into()));
            }
            entries.extend(page.entries);
            proof = page.proof;
        }
        let (store, me, regulator, log) = (self.store.clone(), self.me, self.regulator, self.log);
        let (compartment, note) = (self.compartment.clone(), target.clone());
        let (size, raised) = tokio::task::spawn_blocking(move || {
            let notices = notices::notices(me, regulator, &entries, |record| {
                notices::cosigned_by_us(&store, me, record)
            });
            let size = store.commit_prefix(log, &compartment, from, &entries, &note, &proof)?;
            let mut raised = Vec::new();
            for (alert, event) in notices {
                if store.raise_once(&alert)? {
                    raised.push((alert, event));
                }
            }
            Ok::<_, Error>((size, raised))
        })
        .await
        .map_err(|e| Error::Protocol(e.to_string()))??;
        for (alert, event) in raised {
            warn!(
                kind = %alert.kind,
                from = %log.origin.fmt_short(),
                record = alert.record.as_deref().unwrap_or_default(),
                "alert raised: see `assure alerts`"
            );
            self.client.emit(event);
        }
        debug!(origin = %log.origin.fmt_short(), compartment = %log.compartment.fmt_short(), size, "committed");
        Ok(size)
    }
}
