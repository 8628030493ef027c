//! Pulling from an author: offers, entries page by page (see [`pages`]),
//! and the equivocation checks every member makes as a witness.

use assure_log::{Blake3, SignedCheckpoint, verify_consistency};
use assure_model::Did;
use assure_store::{Evidence, LogId, LogState, Store};
use jiff::Timestamp;
use tracing::{info, warn};

use assure_access::{Compartment, Reader, Rule};

use crate::protocol::{Offer, Request, Response, WITNESS_ASKS, Witnessed};
use crate::serve::checked_note;
use crate::{Client, Error, Event, Shared, pages, witness};

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
    let Some(held) = held(store, log).await? else {
        return Ok(());
    };
    // We keep only what the author tells every reader: the id and the TLP
    // label, under a local label of our own, which says whether we read it
    // as the author's regulator (that follows our grant, so a replica held
    // already is relabelled when it changes).
    let label = match offer.regulator {
        true => assure_store::RECEIVED_AS_REGULATOR,
        false => "received",
    };
    let compartment = Compartment::new(offer.compartment, label, Rule::as_received(offer.tlp, me))
        .map_err(|e| Error::Protocol(e.to_string()))?;
    if held.is_some() {
        let (store, compartment) = (store.clone(), compartment.clone());
        tokio::task::spawn_blocking(move || store.relabel_replica(log, &compartment))
            .await
            .map_err(|e| Error::Protocol(e.to_string()))??;
    }
    let target = match &held {
        None => note,
        Some(state) => {
            if let Some(reason) = conflict(client, log, state, &note, Check::Pull).await {
                return equivocation(client, store, log, &state.checkpoint, &note, &reason);
            }
            let mine = state.checkpoint.checkpoint().size();
            if state.tree.len() >= mine.max(note.checkpoint().size()) {
                return Ok(());
            }
            // Pull towards the larger of the two: they are consistent.
            match note.checkpoint().size() > mine {
                true => note,
                false => state.checkpoint.clone(),
            }
        }
    };
    let size = target.checkpoint().size();
    let from = held.as_ref().map_or(0, |state| state.tree.len());
    drop(held);
    let pull = pages::Pull {
        client,
        store,
        me,
        regulator: offer.regulator,
        log,
        compartment,
    };
    pull.run(from, &target).await?;
    info!(author = %author.fmt_short(), compartment = %log.compartment.fmt_short(), size, "replicated");
    client.emit(Event::Synced { log, size });
    Ok(())
}

/// What this node holds of `log`: `None` when the replica is frozen, else
/// its state if it holds any. Read on a blocking thread (it copies the tree).
async fn held(store: &Store, log: LogId) -> Result<Option<Option<LogState>>, Error> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let ours = store.gate(Reader::Owner, Timestamp::now(), "network")?;
        if store.evidence(&ours, log)?.is_some() {
            return Ok(None);
        }
        Ok(Some(store.log_state(&ours, log)))
    })
    .await
    .map_err(|e| Error::Protocol(e.to_string()))?
}

/// Who proves what the tree held cannot show.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// A pull: the pages that follow prove that a larger checkpoint extends
    /// the entries held; the author is asked only about a checkpoint the
    /// replica is held against in part.
    Pull,
    /// A witness's checkpoint: the author is asked to prove every size the
    /// tree held cannot show.
    Witness,
}

/// Why `other` and the checkpoint of `held` cannot both be true, both validly
/// signed by the log's author. The tree held (every entry of its checkpoint,
/// or a proven prefix of them) shows sizes up to its own; beyond it the
/// author is asked for a consistency proof, and one that does not verify is
/// a conflict (an author that does not answer is not).
async fn conflict(
    client: &Client,
    log: LogId,
    held: &LogState,
    other: &SignedCheckpoint,
    check: Check,
) -> Option<String> {
    let (mine, theirs) = (held.checkpoint.checkpoint(), other.checkpoint());
    if theirs.size() == mine.size() {
        return (theirs.root() != mine.root())
            .then(|| format!("two different roots at size {}", mine.size()));
    }
    let tree = &held.tree;
    if theirs.size() < mine.size() && theirs.size() <= tree.len() {
        let ours_then = tree.root_at(theirs.size()).ok()?;
        return (ours_then != *theirs.root()).then(|| {
            format!(
                "size {} does not match the history of size {}",
                theirs.size(),
                mine.size()
            )
        });
    }
    let (older, newer) = match theirs.size() < mine.size() {
        true => (theirs, mine),
        false => (mine, theirs),
    };
    let shown = older.size() <= tree.len();
    if older.size() == 0 || (shown && check == Check::Pull) {
        return None;
    }
    let request = Request::Consistency {
        compartment: log.compartment,
        old_size: older.size(),
        new_size: newer.size(),
    };
    let Ok(Response::Consistency(proof)) = client.request(log.origin, request).await else {
        return None;
    };
    verify_consistency::<Blake3>(
        older.size(),
        newer.size(),
        older.root(),
        newer.root(),
        &proof,
    )
    .is_err()
    .then(|| {
        format!(
            "size {} does not extend size {}",
            newer.size(),
            older.size()
        )
    })
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
    let (Some(Some(state)), Some(theirs)) = (
        held(store, log).await?,
        checked_note(log, &answer.checkpoint),
    ) else {
        return Ok(());
    };
    if let Some(reason) = conflict(client, log, &state, &theirs, Check::Witness).await {
        return equivocation(client, store, log, &state.checkpoint, &theirs, &reason);
    }
    Ok(())
}
