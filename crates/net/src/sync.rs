//! Pulling from an author: offers, entries page by page, full verification,
//! and the equivocation checks every member makes as a witness.

use assure_log::{Blake3, SignedCheckpoint, verify_consistency};
use assure_model::{Did, Record};
use assure_store::{Evidence, LogId, Store};
use futures::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use tracing::{info, warn};

use assure_access::{Compartment, Reader, Rule};

use crate::protocol::{MAX_PAGE_ENTRIES, Offer, Request, Response, WITNESS_ASKS, Witnessed};
use crate::serve::checked_note;
use crate::{Client, Error, Event, Shared, notices, witness};

/// Pulls every compartment `author` lets this node read.
pub(crate) async fn pull(shared: &Shared, author: Did) -> Result<(), Error> {
    let Shared { store, client, .. } = shared;
    let me = shared.me();
    let Response::Compartments(offers) = client.request(author, Request::Compartments).await?
    else {
        return Err(Error::Protocol("expected a list of compartments".into()));
    };
    for offer in offers {
        let log = LogId {
            origin: author,
            compartment: offer.compartment,
        };
        if witness::check(&offer.ticket, log, me, Timestamp::now()) {
            shared.keep_ticket(log, offer.ticket.clone());
        }
        if let Err(error) = pull_one(client, store, me, author, offer).await {
            warn!(author = %author.fmt_short(), %error, "pull failed");
            client.emit(Event::Rejected {
                peer: author,
                reason: error.to_string(),
            });
        }
    }
    Ok(())
}

async fn pull_one(
    client: &Client,
    store: &Store,
    me: Did,
    author: Did,
    offer: Offer,
) -> Result<(), Error> {
    let log = LogId {
        origin: author,
        compartment: offer.compartment,
    };
    let note = checked_note(log, &offer.checkpoint)
        .ok_or_else(|| Error::Protocol("checkpoint not signed by its author".into()))?;
    let ours = store.gate(Reader::Owner, Timestamp::now(), "network")?;
    if store.evidence(&ours, log)?.is_some() {
        return Ok(());
    }
    let (size, tree) = match store.log_state(&ours, log) {
        Some(state) => (state.tree.len(), Some(state)),
        None => (0, None),
    };
    let target = note.checkpoint().size();
    if let Some(state) = &tree
        && let Some(reason) = conflict(&state.tree, &state.checkpoint, &note)
    {
        return equivocation(client, store, log, &state.checkpoint, &note, &reason);
    }
    if tree.is_some() && target <= size {
        return Ok(());
    }
    // Pages are fetched and verified a few at a time, in order.
    let ranges: Vec<(u64, u64)> = (size..target)
        .step_by(MAX_PAGE_ENTRIES as usize)
        .map(|from| (from, (target - from).min(u64::from(MAX_PAGE_ENTRIES))))
        .collect();
    let pages: Vec<Vec<(Vec<u8>, Record)>> = futures::stream::iter(ranges)
        .map(|(from, count)| fetch_range(client, author, log, from, count))
        .buffered(PAGES_IN_FLIGHT)
        .try_collect()
        .await?;
    let received: Vec<(Vec<u8>, Record)> = pages.into_iter().flatten().collect();
    let notices = notices::notices(me, offer.regulator, &received, |record| {
        notices::cosigned_by_us(store, me, record)
    });
    let stored = store.clone();
    // We keep only what the author tells every reader: the id and the TLP
    // label, under a local label of our own, which says whether we read it
    // as the author's regulator.
    let label = match offer.regulator {
        true => assure_store::RECEIVED_AS_REGULATOR,
        false => "received",
    };
    let compartment = Compartment::new(offer.compartment, label, Rule::as_received(offer.tlp, me))
        .map_err(|e| Error::Protocol(e.to_string()))?;
    let appended = note.clone();
    tokio::task::spawn_blocking(move || {
        stored.append_replica(log, &compartment, &received, &appended)
    })
    .await
    .map_err(|e| Error::Protocol(e.to_string()))??;
    for (alert, event) in notices {
        if store.raise_once(&alert)? {
            warn!(
                kind = %alert.kind,
                from = %author.fmt_short(),
                record = alert.record.as_deref().unwrap_or_default(),
                "alert raised: see `assure alerts`"
            );
            client.emit(event);
        }
    }
    info!(author = %author.fmt_short(), compartment = %log.compartment.fmt_short(), size = target, "replicated");
    client.emit(Event::Synced { log, size: target });
    Ok(())
}

/// Page requests in flight to one author during a pull.
const PAGES_IN_FLIGHT: usize = 4;

/// Fetches and verifies entries `from..from + count`, in as many pages as the
/// author's size cap needs.
async fn fetch_range(
    client: &Client,
    author: Did,
    log: LogId,
    mut from: u64,
    count: u64,
) -> Result<Vec<(Vec<u8>, Record)>, Error> {
    let end = from + count;
    let mut out = Vec::with_capacity(count as usize);
    let mut backoff = 0;
    while from < end {
        let max = (end - from).min(u64::from(MAX_PAGE_ENTRIES)) as u32;
        let request = Request::Entries {
            compartment: log.compartment,
            from,
            max,
        };
        let (entries, got_from) = match client.request(author, request).await? {
            Response::Entries { entries, from, .. } => (entries, from),
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
        let got = entries.len() as u64;
        let (entries, records) = tokio::task::spawn_blocking(move || {
            crate::verify::verify_entries(from, &entries, Timestamp::now())
                .map(|records| (entries, records))
        })
        .await
        .map_err(|e| Error::Protocol(e.to_string()))??;
        out.extend(entries.into_iter().map(String::into_bytes).zip(records));
        from += got;
    }
    Ok(out)
}

/// Why two validly signed checkpoints of one log cannot both be true, given the
/// tree this node holds at `held`.
fn conflict(
    tree: &assure_log::Tree<Blake3>,
    held: &SignedCheckpoint,
    other: &SignedCheckpoint,
) -> Option<String> {
    let (mine, theirs) = (held.checkpoint(), other.checkpoint());
    if theirs.size() == mine.size() && theirs.root() != mine.root() {
        return Some(format!("two different roots at size {}", mine.size()));
    }
    if theirs.size() < mine.size() {
        let ours_then = tree.root_at(theirs.size()).ok()?;
        if ours_then != *theirs.root() {
            return Some(format!(
                "size {} does not match the history of size {}",
                theirs.size(),
                mine.size()
            ));
        }
    }
    None
}

fn equivocation(
    client: &Client,
    store: &Store,
    log: LogId,
    first: &SignedCheckpoint,
    second: &SignedCheckpoint,
    reason: &str,
) -> Result<(), Error> {
    let evidence = Evidence {
        origin: log.origin_line(),
        first: first.to_string(),
        second: second.to_string(),
        reason: reason.to_owned(),
        detected_at: Timestamp::now(),
    };
    if store.freeze(log, &evidence)? {
        warn!(origin = %log.origin, %reason, "equivocation: replica frozen");
        client.emit(Event::Equivocation { log });
    }
    Ok(())
}

/// Asks `witness` what it knows of the replicas this node holds a current
/// ticket for, and freezes any replica whose author showed the witness a
/// conflicting history. Asks go in requests of exactly `WITNESS_ASKS`.
pub(crate) async fn witness(shared: &Shared, witness: Did) -> Result<(), Error> {
    let Shared { store, client, .. } = shared;
    let me = shared.me();
    let now = Timestamp::now();
    let mut tickets = shared.tickets(now);
    // The author answers about its own logs by its gate: no ticket needed.
    let ours = store.gate(Reader::Owner, now, "network")?;
    for (log, _) in ours.logs() {
        if log.origin == witness {
            tickets
                .entry(log)
                .or_insert_with(|| vec![0; witness::TICKET_LEN]);
        }
    }
    let asked: Vec<(LogId, crate::protocol::Ask)> = tickets
        .into_iter()
        .filter(|(log, _)| log.origin != me)
        .filter_map(|(log, ticket)| Some((log, witness::ask(log, me, witness, &ticket)?)))
        .collect();
    for chunk in asked.chunks(WITNESS_ASKS) {
        let asks = witness::padded(chunk.iter().map(|(_, ask)| ask.clone()).collect());
        let Response::Witness(answers) = client.request(witness, Request::Witness { asks }).await?
        else {
            return Err(Error::Protocol("expected a witness answer".into()));
        };
        for answer in answers {
            if let Some((log, _)) = chunk.iter().find(|(_, ask)| ask.blind == answer.blind) {
                check_witnessed(client, store, *log, &answer).await?;
            }
        }
    }
    Ok(())
}

async fn check_witnessed(
    client: &Client,
    store: &Store,
    log: LogId,
    answer: &Witnessed,
) -> Result<(), Error> {
    if let Some((first, second)) = &answer.evidence
        && let (Some(a), Some(b)) = (checked_note(log, first), checked_note(log, second))
        && a.checkpoint().size() == b.checkpoint().size()
        && a.checkpoint().root() != b.checkpoint().root()
    {
        return equivocation(client, store, log, &a, &b, "evidence shared by a witness");
    }
    let ours = store.gate(Reader::Owner, Timestamp::now(), "network")?;
    let (Some(state), Some(theirs)) = (
        store.log_state(&ours, log),
        checked_note(log, &answer.checkpoint),
    ) else {
        return Ok(());
    };
    if let Some(reason) = conflict(&state.tree, &state.checkpoint, &theirs) {
        return equivocation(client, store, log, &state.checkpoint, &theirs, &reason);
    }
    let (mine, newer) = (state.checkpoint.checkpoint(), theirs.checkpoint());
    if newer.size() > mine.size() && mine.size() > 0 {
        // Ask the author to prove the newer head extends ours.
        let request = Request::Consistency {
            compartment: log.compartment,
            old_size: mine.size(),
            new_size: newer.size(),
        };
        if let Ok(Response::Consistency(proof)) = client.request(log.origin, request).await
            && verify_consistency::<Blake3>(
                mine.size(),
                newer.size(),
                mine.root(),
                newer.root(),
                &proof,
            )
            .is_err()
        {
            let reason = format!("size {} does not extend size {}", newer.size(), mine.size());
            return equivocation(client, store, log, &state.checkpoint, &theirs, &reason);
        }
    }
    Ok(())
}
