//! A replica pulled page by page: each page is fetched, verified and
//! committed as it arrives, proven a prefix of the author's signed tree, so
//! that memory holds the pages in flight rather than the whole pull, and a
//! member stopped half way keeps what it committed.
//!
//! Three stages overlap: requests for the next pages are out while the page
//! due next is verified (in order, one page at a time, its signature batches
//! on every core, on a blocking thread), and verified pages are committed in
//! order on a blocking thread, as many at a time as are ready, each commit
//! one atomic, flushed write. What a member holds and has not committed is
//! at most the pages in flight and the two short queues between the stages.

use assure_access::{Compartment, LogId};
use assure_log::{Hash, SignedCheckpoint};
use assure_model::{Did, Record};
use assure_store::{Alert, Store};
use futures::StreamExt as _;
use jiff::Timestamp;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::protocol::{MAX_PAGE_ENTRIES, Request, Response};
use crate::{Client, Error, Event, notices};

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

/// A page as received, not verified yet.
struct Fetched {
    from: u64,
    entries: Vec<String>,
    proof: Vec<Hash>,
}

impl Fetched {
    /// Checks every envelope (blocking: signature batches on every core).
    fn verify(self) -> Result<Page, Error> {
        let Fetched {
            from,
            entries,
            proof,
        } = self;
        let records = crate::verify::verify_entries(from, &entries, Timestamp::now())?;
        Ok(Page {
            from,
            entries: entries
                .into_iter()
                .map(String::into_bytes)
                .zip(records)
                .collect(),
            proof,
        })
    }
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
        let (fetched, mut to_verify) = mpsc::channel::<Fetched>(1);
        let (verified, mut ready) = mpsc::channel::<Page>(COMMIT_QUEUE);
        let fetch = async move {
            let ranges = (held..size)
                .step_by(MAX_PAGE_ENTRIES as usize)
                .map(|from| (from, (size - from).min(u64::from(MAX_PAGE_ENTRIES))));
            let mut pages = futures::stream::iter(ranges)
                .map(|(from, count)| self.fetch(from, count, size))
                .buffered(PAGES_IN_FLIGHT);
            while let Some(pages) = pages.next().await {
                for page in pages? {
                    if fetched.send(page).await.is_err() {
                        // A page was refused: the pull stops there.
                        return Ok(());
                    }
                }
            }
            Ok::<(), Error>(())
        };
        // In order, one page at a time on every core: the page committed
        // next is verified first.
        let verify = async move {
            while let Some(page) = to_verify.recv().await {
                let page = tokio::task::spawn_blocking(move || page.verify())
                    .await
                    .map_err(|e| Error::Protocol(e.to_string()))??;
                if verified.send(page).await.is_err() {
                    return Ok(());
                }
            }
            Ok::<(), Error>(())
        };
        let commit = async {
            let mut at = held;
            while let Some(first) = ready.recv().await {
                let mut batch = vec![first];
                while batch.len() <= COMMIT_QUEUE
                    && let Ok(page) = ready.try_recv()
                {
                    batch.push(page);
                }
                at = self.commit(batch, target).await?;
            }
            Ok::<u64, Error>(at)
        };
        let (fetched, verified, committed) = futures::join!(fetch, verify, commit);
        let at = committed?;
        verified?;
        fetched?;
        Ok(at)
    }

    /// Fetches entries `from..from + count`, in as many pages as the
    /// author's size cap needs, each with its proof to `size`.
    async fn fetch(&self, mut from: u64, count: u64, size: u64) -> Result<Vec<Fetched>, Error> {
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
            out.push(Fetched {
                from,
                entries,
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
    /// A batch refused is committed again page by page, so that the pages
    /// before a bad one are kept and nothing of the bad one is.
    async fn commit(&self, batch: Vec<Page>, target: &SignedCheckpoint) -> Result<u64, Error> {
        let from = batch.first().map_or(0, |p| p.from);
        // Where each page ends in the batch, with its proof.
        let mut ends = Vec::with_capacity(batch.len());
        let mut entries = Vec::new();
        for page in batch {
            if page.from != from + entries.len() as u64 {
                return Err(Error::Protocol("entries out of order".into()));
            }
            entries.extend(page.entries);
            ends.push((entries.len(), page.proof));
        }
        let (store, me, regulator, log) = (self.store.clone(), self.me, self.regulator, self.log);
        let (compartment, note) = (self.compartment.clone(), target.clone());
        let (size, raised) = tokio::task::spawn_blocking(move || {
            let commit = |start: usize, end: usize, proof: &[Hash]| {
                let slice = &entries[start..end];
                store.commit_prefix(log, &compartment, from + start as u64, slice, &note, proof)
            };
            let whole = match ends.last() {
                Some((end, proof)) => commit(0, *end, proof),
                None => commit(0, 0, &[]),
            };
            let (size, kept) = match whole {
                Ok(size) => (size, entries.len()),
                Err(error) if ends.len() < 2 => return Err(Error::from(error)),
                Err(_) => {
                    let mut start = 0;
                    for (end, proof) in &ends {
                        if let Err(error) = commit(start, *end, proof) {
                            raise(&store, me, regulator, &entries[..start])?;
                            return Err(Error::from(error));
                        }
                        start = *end;
                    }
                    (from + start as u64, start)
                }
            };
            Ok::<_, Error>((size, raise(&store, me, regulator, &entries[..kept])?))
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

/// Raises, once each, the alerts that committed records carry; returns
/// those raised now.
fn raise(
    store: &Store,
    me: Did,
    regulator: bool,
    committed: &[(Vec<u8>, Record)],
) -> Result<Vec<(Alert, Event)>, Error> {
    let notices = notices::notices(me, regulator, committed, |record| {
        notices::cosigned_by_us(store, me, record)
    });
    let mut raised = Vec::new();
    for (alert, event) in notices {
        if store.raise_once(&alert)? {
            raised.push((alert, event));
        }
    }
    Ok(raised)
}
