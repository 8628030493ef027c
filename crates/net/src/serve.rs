//! Answering requests, under need-to-know: each answer is computed from the
//! compartments the asking party may read now (DESIGN.md §4).

use assure_access::decide;
use assure_log::SignedCheckpoint;
use assure_model::Did;
use assure_store::{Disclosure, LogId, LogSummary, Store};
use jiff::Timestamp;

use crate::protocol::{
    MAX_PAGE_BYTES, MAX_PAGE_ENTRIES, MAX_WITNESS_TAGS, Offer, Request, Response, Witnessed, tag,
};

/// What the event loop must do besides answering.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// Nothing.
    None,
    /// The asker, an author, announced a new checkpoint: pull from it.
    Pull,
}

/// The answer to `request` from `party`, and what to do next.
pub(crate) fn answer(
    store: &Store,
    owner: Did,
    party: Did,
    request: Request,
    now: Timestamp,
) -> Result<(Response, FollowUp), assure_store::Error> {
    let response = match request {
        Request::Compartments => {
            let offers = readable(store, owner, party, now)?
                .into_iter()
                .map(|(summary, _)| Offer {
                    compartment: summary.compartment,
                    checkpoint: summary.checkpoint.to_string(),
                })
                .collect();
            Response::Compartments(offers)
        }
        Request::Entries {
            compartment,
            from,
            max,
        } => {
            let log = LogId {
                origin: owner,
                compartment,
            };
            match readable(store, owner, party, now)?
                .into_iter()
                .find(|(s, _)| s.log == log)
            {
                None => Response::NotFound,
                Some((summary, grant_version)) => {
                    entries(store, &summary, party, grant_version, from, max, now)?
                }
            }
        }
        Request::Consistency {
            compartment,
            old_size,
            new_size,
        } => {
            let log = LogId {
                origin: owner,
                compartment,
            };
            let readable = readable(store, owner, party, now)?;
            let tree = readable
                .iter()
                .find(|(s, _)| s.log == log)
                .and_then(|_| store.tree(log));
            match tree.map(|t| t.consistency_proof(old_size, new_size)) {
                Some(Ok(proof)) => Response::Consistency(proof),
                _ => Response::NotFound,
            }
        }
        Request::Notify { .. } => return Ok((Response::Ack, FollowUp::Pull)),
        Request::Witness { tags } => witness(store, owner, party, &tags, now)?,
    };
    Ok((response, FollowUp::None))
}

/// The owner's compartments `party` may read now, with the grant version.
fn readable(
    store: &Store,
    owner: Did,
    party: Did,
    now: Timestamp,
) -> Result<Vec<(LogSummary, Option<u64>)>, assure_store::Error> {
    let grant = store.grant(&party)?;
    Ok(store
        .logs_summary()
        .into_iter()
        .filter(|s| s.log.origin == owner)
        .filter_map(|s| {
            let decision = decide(&s.compartment.rule, &party, grant.as_ref(), now)?;
            Some((s, decision.grant_version()))
        })
        .collect())
}

fn entries(
    store: &Store,
    summary: &LogSummary,
    party: Did,
    grant_version: Option<u64>,
    from: u64,
    max: u32,
    now: Timestamp,
) -> Result<Response, assure_store::Error> {
    let size = summary.checkpoint.checkpoint().size();
    let max = u64::from(max.min(MAX_PAGE_ENTRIES));
    let mut entries = Vec::new();
    let mut bytes = 0;
    for envelope in store.entries(summary.log, from, max.min(size.saturating_sub(from)))? {
        bytes += envelope.len();
        if bytes > MAX_PAGE_BYTES && !entries.is_empty() {
            break;
        }
        // Stored envelopes passed validation, which parsed them as JSON text.
        entries.push(String::from_utf8_lossy(&envelope).into_owned());
    }
    if !entries.is_empty() && !summary.compartment.rule.is_public() {
        store.log_disclosures(&[Disclosure {
            at: now,
            party,
            compartment: summary.compartment.id,
            from,
            to: from + entries.len() as u64,
            grant_version,
            channel: "network".into(),
            purpose: None,
        }])?;
    }
    Ok(Response::Entries {
        checkpoint: summary.checkpoint.to_string(),
        from,
        entries,
    })
}

/// What this node knows of the logs named by `tags`. Own logs are answered
/// under need-to-know; replicas only to a party that knows the log's origin
/// line (its tag), which only the log's readers were told.
fn witness(
    store: &Store,
    owner: Did,
    party: Did,
    tags: &[[u8; 32]],
    now: Timestamp,
) -> Result<Response, assure_store::Error> {
    let own: Vec<LogId> = readable(store, owner, party, now)?
        .into_iter()
        .map(|(s, _)| s.log)
        .collect();
    let mut out = Vec::new();
    for summary in store.logs_summary() {
        let log = summary.log;
        let log_tag = tag(&log.origin_line());
        if !tags.iter().take(MAX_WITNESS_TAGS).any(|t| *t == log_tag) {
            continue;
        }
        if log.origin == owner && !own.contains(&log) {
            continue;
        }
        let evidence = store.evidence(log)?.map(|e| (e.first, e.second));
        out.push(Witnessed {
            tag: log_tag,
            checkpoint: summary.checkpoint.to_string(),
            evidence,
        });
    }
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
