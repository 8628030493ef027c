//! Pulling from an author: offers, entries page by page (see [`pages`]),
//! and the equivocation checks every member makes as a witness (see
//! [`forks`]).

use assure_model::Did;
use assure_store::{Evidence, LogId, LogState, Store};
use jiff::Timestamp;
use tracing::{debug, info, warn};

use assure_access::{Compartment, Reader, Rule};

use crate::forks::{self, Verdict};
use crate::protocol::{Offer, Request, Response, WITNESS_ASKS, Witnessed};
use crate::serve::checked_note;
use crate::{Error, Event, Shared, pages, witness};

/// Pulls every compartment `author` lets this node read.
pub(crate) async fn pull(shared: &Shared, author: Did) -> Result<(), Error> {
    let client = &shared.client;
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
        if let Err(error) = pull_one(shared, author, offer).await {
            warn!(author = %author.fmt_short(), %error, "pull failed");
            client.emit(Event::Rejected {
                peer: author,
                reason: error.to_string(),
            });
        }
    }
    Ok(())
}

async fn pull_one(shared: &Shared, author: Did, offer: Offer) -> Result<(), Error> {
    let Shared { store, client, .. } = shared;
    let me = shared.me();
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
    let from = held.as_ref().map_or(0, |state| state.tree.len());
    // Entries are fetched only towards the checkpoint this author shows now,
    // and verified against it: never against one that another author (a
    // fork of this one) showed us.
    let before = match &held {
        None => None,
        Some(state) => {
            let (mine, theirs) = (
                state.checkpoint.checkpoint().size(),
                note.checkpoint().size(),
            );
            let verdict = match theirs > mine && from < mine {
                // Held in part: the note must be shown to extend the one held.
                true => forks::from_author(client, log, &state.checkpoint, &note).await,
                false => forks::against_held(client, log, state, &note).await,
            };
            match verdict {
                Verdict::Forked(evidence) => return equivocation(shared, log, &evidence).await,
                Verdict::Unproven if theirs > mine && from < mine => {
                    return Err(Error::Protocol(format!(
                        "the author's checkpoint of size {theirs} is not shown to extend the one \
                         held of size {mine}"
                    )));
                }
                // A larger one: the pages prove it extends the entries held.
                _ if theirs > mine => {}
                // The one held, still held in part.
                Verdict::Consistent if theirs == mine && from < mine => {}
                // Nothing to fetch from an author that is not ahead.
                _ => return Ok(()),
            }
            Some(state.checkpoint.clone())
        }
    };
    let size = note.checkpoint().size();
    drop(held);
    let pull = pages::Pull {
        client,
        store,
        me,
        regulator: offer.regulator,
        log,
        compartment,
    };
    if let Err(error) = pull.run(from, &note).await {
        // Pages that do not extend the entries held: the author's own tree
        // shows whether it forked.
        if let Some(before) = before.filter(|b| b.checkpoint().size() == from && from < size)
            && let Verdict::Forked(evidence) = forks::from_author(client, log, &before, &note).await
        {
            return equivocation(shared, log, &evidence).await;
        }
        return Err(error);
    }
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

/// Keeps `evidence` and freezes the replica; the first time, raises the
/// alert and asks for a witness round, in which readers still without the
/// evidence are asked to compare again.
async fn equivocation(shared: &Shared, log: LogId, evidence: &Evidence) -> Result<(), Error> {
    let (store, evidence) = (shared.store.clone(), evidence.clone());
    let reason = evidence.reason.clone();
    let frozen = tokio::task::spawn_blocking(move || store.freeze(log, &evidence))
        .await
        .map_err(|e| Error::Protocol(e.to_string()))??;
    if frozen {
        warn!(origin = %log.origin, %reason, "equivocation: replica frozen");
        shared.client.emit(Event::Equivocation { log });
        let _ = shared.client.send(crate::Command::Witness).await;
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
                check_witnessed(shared, witness, *log, &answer).await?;
            }
        }
    }
    Ok(())
}

/// What `witness` told us of `log`: evidence that checks freezes our
/// replica; otherwise its checkpoint is compared with the one held.
async fn check_witnessed(
    shared: &Shared,
    witness: Did,
    log: LogId,
    answer: &Witnessed,
) -> Result<(), Error> {
    let store = &shared.store;
    let Some(held) = held(store, log).await? else {
        // Frozen: a reader that holds no evidence yet is asked to compare
        // again (a notice makes it pull, then hold a witness round with us).
        if answer.evidence.is_none()
            && witness != log.origin
            && let Err(error) = poke(shared, witness, log).await
        {
            debug!(reader = %witness.fmt_short(), %error, "not asked to compare again");
        }
        return Ok(());
    };
    if let Some((first, second)) = &answer.evidence
        && let (Some(a), Some(b)) = (checked_note(log, first), checked_note(log, second))
        && let Ok(mut evidence) = Evidence::new(log, &a, &b, answer.proof.clone(), Timestamp::now())
    {
        evidence.reason.push_str("; shown by a witness");
        return equivocation(shared, log, &evidence).await;
    }
    let (Some(state), Some(theirs)) = (held, checked_note(log, &answer.checkpoint)) else {
        return Ok(());
    };
    if let Verdict::Forked(evidence) =
        forks::against_held(&shared.client, log, &state, &theirs).await
    {
        return equivocation(shared, log, &evidence).await;
    }
    Ok(())
}

/// Tells `reader`, which has just shown it reads `log`, that there is news
/// of it: it pulls from us and then asks us, as a witness, what we know.
async fn poke(shared: &Shared, reader: Did, log: LogId) -> Result<(), Error> {
    let store = shared.store.clone();
    let evidence = tokio::task::spawn_blocking(move || {
        let ours = store.gate(Reader::Owner, Timestamp::now(), "network")?;
        store.evidence(&ours, log)
    })
    .await
    .map_err(|e| Error::Protocol(e.to_string()))??;
    if let Some(evidence) = evidence {
        let request = Request::Notify {
            compartment: log.compartment,
            checkpoint: evidence.second,
        };
        shared.client.request(reader, request).await?;
    }
    Ok(())
}
