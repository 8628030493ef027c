//! Answering requests through the read gate: each answer is computed from
//! the [`Visible`] set of the asking party, made now (DESIGN.md §4).

use std::collections::BTreeSet;

use assure_access::{LogId, Reader, Role, Visible};
use assure_log::SignedCheckpoint;
use assure_model::{Did, Keypair};
use assure_store::Store;
use jiff::Timestamp;

use crate::protocol::{Ask, MAX_PAGE_BYTES, MAX_PAGE_ENTRIES, Offer, Request, Response, Witnessed};
use crate::witness;

/// What the event loop must do besides answering.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// Nothing.
    None,
    /// The asker, an author, announced a new checkpoint: pull from it.
    Pull,
}

/// The answer to `request` from `party`, and what to do next. `me` signs
/// the witness tickets of the offers.
pub(crate) fn answer(
    store: &Store,
    me: &Keypair,
    ticket_lifetime: std::time::Duration,
    party: Did,
    request: Request,
    now: Timestamp,
) -> Result<(Response, FollowUp), assure_store::Error> {
    let owner = me.did();
    let visible = store.gate(Reader::Party(party), now, "network")?;
    // Over the network a party reads the owner's own logs only; replicas
    // are fetched from their authors.
    let own = visible.narrow(|log| log.origin == owner);
    let log = |compartment| LogId {
        origin: owner,
        compartment,
    };
    let response = match request {
        Request::Compartments => {
            let regulator = store
                .grant(&party)?
                .is_some_and(|g| g.is_active(now) && g.roles.contains(&Role::Regulator));
            let offers = store
                .logs(&own)
                .into_iter()
                .map(|summary| Offer {
                    compartment: summary.log.compartment,
                    checkpoint: summary.checkpoint.to_string(),
                    tlp: summary.compartment.rule.tlp(),
                    ticket: witness::issue(me, summary.log, party, now, ticket_lifetime),
                    regulator: regulator
                        && summary.compartment.rule.roles.contains(&Role::Regulator),
                })
                .collect();
            store.disclose_heads(&own, own.logs().map(|(log, _)| log))?;
            Response::Compartments(offers)
        }
        Request::Entries {
            compartment,
            from,
            max,
            prove_to,
        } => entries(store, &own, log(compartment), from, max, prove_to)?,
        Request::Consistency {
            compartment,
            old_size,
            new_size,
        } => match store.consistency_proof(&own, log(compartment), old_size, new_size) {
            Some(Ok(proof)) => Response::Consistency(proof),
            _ => Response::NotFound,
        },
        Request::Notify { .. } => return Ok((Response::Ack, FollowUp::Pull)),
        Request::Witness { asks } => witness_answer(store, owner, party, &asks, now)?,
    };
    Ok((response, FollowUp::None))
}

/// Up to `max` entries of `log` from `from`, within the page caps; with
/// `prove_to`, none beyond it, and the proof that they lead to it.
fn entries(
    store: &Store,
    own: &Visible,
    log: LogId,
    from: u64,
    max: u32,
    prove_to: Option<u64>,
) -> Result<Response, assure_store::Error> {
    let Some(summary) = store.log(own, log) else {
        return Ok(Response::NotFound);
    };
    let size = summary.checkpoint.checkpoint().size();
    // A size beyond ours is one we never signed: entries then stop at ours,
    // and no proof can be made.
    let end = prove_to.map_or(size, |to| to.min(size));
    let max = u64::from(max.min(MAX_PAGE_ENTRIES)).min(end.saturating_sub(from));
    let envelopes = store
        .read_entries(own, log, from, max, MAX_PAGE_BYTES)?
        .unwrap_or_default();
    if envelopes.is_empty() {
        // No entries, but the checkpoint: the head is shown.
        store.disclose_heads(own, [log])?;
    }
    let sent = from + envelopes.len() as u64;
    let proof = match prove_to {
        Some(to) if to <= size && sent < to && !envelopes.is_empty() => store
            .consistency_proof(own, log, sent, to)
            .and_then(Result::ok)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(Response::Entries {
        checkpoint: summary.checkpoint.to_string(),
        from,
        proof,
        // Stored envelopes passed validation, which parsed them as JSON text.
        entries: envelopes
            .into_iter()
            .map(|e| String::from_utf8_lossy(&e).into_owned())
            .collect(),
    })
}

/// What this node knows of the logs the asks name, through the gate: an
/// own log when the asker may read it, a replica when the asker shows a
/// valid ticket of the log's author for it (the gate's `Vouched`). Asks that match nothing (other
/// logs, filler) get no answer, exactly as logs we do not hold.
fn witness_answer(
    store: &Store,
    owner: Did,
    party: Did,
    asks: &[Ask],
    now: Timestamp,
) -> Result<Response, assure_store::Error> {
    // Which held logs the asks name: matching tags reads nothing out.
    let held = store.gate(Reader::Owner, now, "network")?;
    let blinds: std::collections::HashMap<[u8; 32], LogId> = held
        .logs()
        .map(|(log, _)| (witness::blind(log, party, owner), log))
        .collect();
    let named: Vec<(LogId, &Ask)> = asks
        .iter()
        .take(crate::protocol::WITNESS_ASKS)
        .filter_map(|ask| Some((*blinds.get(&ask.blind)?, ask)))
        .collect();
    let vouched: BTreeSet<LogId> = named
        .iter()
        .filter(|(log, ask)| {
            log.origin != owner
                && witness::unseal(*log, ask).is_some_and(|t| witness::check(&t, *log, party, now))
        })
        .map(|(log, _)| *log)
        .collect();
    let visible = store.gate_vouched(Reader::Party(party), &vouched, now, "network")?;
    let mut out = Vec::new();
    let mut shown = Vec::new();
    for (log, ask) in named {
        let Some(summary) = store.log(&visible, log) else {
            continue;
        };
        let evidence = store.evidence(&visible, log)?;
        let proof = evidence.as_ref().and_then(|e| e.proof.clone());
        out.push(Witnessed {
            blind: ask.blind,
            checkpoint: summary.checkpoint.to_string(),
            evidence: evidence.map(|e| (e.first, e.second)),
            proof,
        });
        shown.push(log);
    }
    // Our own restricted logs' heads are shown as in an offer.
    store.disclose_heads(&visible, shown)?;
    Ok(Response::Witness(out))
}

/// Parses and checks a checkpoint of `log` signed by its origin.
///
/// The same note comes back many times (every witness exchange repeats the
/// checkpoints a peer holds), so notes whose signature checked out are
/// remembered, by blake3 of the log and the exact text: a repeat costs a
/// hash instead of an ed25519 verification.
pub(crate) fn checked_note(log: LogId, text: &str) -> Option<SignedCheckpoint> {
    let note = SignedCheckpoint::parse(text).ok()?;
    if note.checkpoint().origin() != log.origin_line() {
        return None;
    }
    let key = *blake3::Hasher::new()
        .update(log.origin.public_bytes())
        .update(log.compartment.as_bytes())
        .update(text.as_bytes())
        .finalize()
        .as_bytes();
    if VERIFIED_NOTES.contains(&key) {
        return Some(note);
    }
    note.verify(&log.origin.to_string(), &log.origin.verifying_key())
        .ok()?;
    VERIFIED_NOTES.insert(key);
    Some(note)
}

/// Checkpoint notes whose signature checked out, process-wide, bounded.
static VERIFIED_NOTES: VerifiedNotes = VerifiedNotes(std::sync::Mutex::new(None));

struct VerifiedNotes(std::sync::Mutex<Option<std::collections::HashSet<[u8; 32]>>>);

impl VerifiedNotes {
    /// At most this many are kept; the set starts over when full.
    const MAX: usize = 1 << 16;

    fn contains(&self, key: &[u8; 32]) -> bool {
        let set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        set.as_ref().is_some_and(|s| s.contains(key))
    }

    fn insert(&self, key: [u8; 32]) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let set = set.get_or_insert_with(Default::default);
        if set.len() >= Self::MAX {
            set.clear();
        }
        set.insert(key);
    }
}
