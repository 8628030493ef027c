//! Catching an author that forks its log: what a member compares, and the
//! evidence it keeps, which anyone can check with the author's key alone
//! (`assure_store::Evidence`).
//!
//! Evidence is only ever made of what shows the fork: two checkpoints of
//! one size with different roots, or, where the sizes differ, the larger
//! tree's own root at the smaller size with the consistency proof that
//! leads from it to the larger checkpoint. The larger tree's holder makes
//! that proof: a member from the entries it holds, or the author from
//! its own tree when it shows a member a larger checkpoint that does not
//! extend the one the member holds. A consistency proof that fails to
//! verify is not evidence: whoever sent it may be another fork, or lying.

use assure_log::{Blake3, Hash, Hasher as _, SignedCheckpoint, root_of, verify_consistency};
use assure_store::{Evidence, ForkProof, LogId, LogState};
use jiff::Timestamp;

use crate::Client;
use crate::protocol::{MAX_PAGE_ENTRIES, Request, Response};

/// What two checkpoints of one log are to each other.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Both can be true.
    Consistent,
    /// They cannot, and the evidence shows it.
    Forked(Box<Evidence>),
    /// Nothing at hand shows either.
    Unproven,
}

/// `other` against the checkpoint of the replica `held`, by the entries
/// held. Only a checkpoint no larger than the one held can be settled so:
/// of a larger one, the holder of the larger tree shows the fork (its
/// member, as a witness, or its author when it is ours, see
/// [`from_author`]).
pub(crate) async fn against_held(
    client: &Client,
    log: LogId,
    held: &LogState,
    other: &SignedCheckpoint,
) -> Verdict {
    let (mine, theirs) = (held.checkpoint.checkpoint(), other.checkpoint());
    let tree = &held.tree;
    if theirs.size() == mine.size() {
        return match theirs.root() == mine.root() {
            true => Verdict::Consistent,
            false => forked(log, &held.checkpoint, other, None),
        };
    }
    if theirs.size() > mine.size() {
        return Verdict::Unproven;
    }
    if theirs.size() > tree.len() {
        // Held in part: only the author's proof that verifies settles it.
        let (old, new) = (theirs.size(), mine.size());
        return match consistency(client, log, old, new).await {
            Some(path)
                if verify_consistency::<Blake3>(old, new, theirs.root(), mine.root(), &path)
                    .is_ok() =>
            {
                Verdict::Consistent
            }
            _ => Verdict::Unproven,
        };
    }
    let Ok(ours_then) = tree.root_at(theirs.size()) else {
        return Verdict::Unproven;
    };
    if ours_then == *theirs.root() {
        return Verdict::Consistent;
    }
    // The tree held is the larger one's: it gives the proof, or, held in
    // part, the author's proof from the held prefix's root does.
    let path = match tree.len() == mine.size() {
        true => tree.consistency_proof(theirs.size(), mine.size()).ok(),
        false => consistency(client, log, theirs.size(), mine.size()).await,
    };
    match path {
        Some(path) => forked(
            log,
            other,
            &held.checkpoint,
            Some(ForkProof::new(&ours_then, &path)),
        ),
        None => Verdict::Unproven,
    }
}

/// Whether `larger`, the checkpoint the log's author shows us now, extends
/// `smaller`, the one we hold: the author's consistency proof settles it
/// when it verifies; when it does not, the author's own tree is asked for
/// its root at the smaller size, and the proof from it is the evidence.
pub(crate) async fn from_author(
    client: &Client,
    log: LogId,
    smaller: &SignedCheckpoint,
    larger: &SignedCheckpoint,
) -> Verdict {
    let (small, large) = (smaller.checkpoint(), larger.checkpoint());
    let (m, n) = (small.size(), large.size());
    if m == 0 || m >= n {
        return Verdict::Unproven;
    }
    let Some(path) = consistency(client, log, m, n).await else {
        return Verdict::Unproven;
    };
    if verify_consistency::<Blake3>(m, n, small.root(), large.root(), &path).is_ok() {
        return Verdict::Consistent;
    }
    let Some(root) = root_at(client, log, m).await else {
        return Verdict::Unproven;
    };
    forked(log, smaller, larger, Some(ForkProof::new(&root, &path)))
}

/// The evidence that `a` and `b` cannot both be true, if it checks.
fn forked(
    log: LogId,
    a: &SignedCheckpoint,
    b: &SignedCheckpoint,
    proof: Option<ForkProof>,
) -> Verdict {
    match Evidence::new(log, a, b, proof, Timestamp::now()) {
        Ok(evidence) => Verdict::Forked(Box::new(evidence)),
        Err(_) => Verdict::Unproven,
    }
}

/// The author's consistency proof between two sizes of its log.
async fn consistency(
    client: &Client,
    log: LogId,
    old_size: u64,
    new_size: u64,
) -> Option<Vec<Hash>> {
    let request = Request::Consistency {
        compartment: log.compartment,
        old_size,
        new_size,
    };
    match client.request(log.origin, request).await {
        Ok(Response::Consistency(proof)) => Some(proof),
        _ => None,
    }
}

/// The root of the author's tree at `size`, from its first `size` entries
/// (their bytes hash to the leaves; nothing else is needed of them).
async fn root_at(client: &Client, log: LogId, size: u64) -> Option<Hash> {
    let mut leaves = Vec::with_capacity(usize::try_from(size).ok()?);
    let mut backoff = 0;
    while (leaves.len() as u64) < size {
        let from = leaves.len() as u64;
        let request = Request::Entries {
            compartment: log.compartment,
            from,
            max: (size - from).min(u64::from(MAX_PAGE_ENTRIES)) as u32,
            prove_to: Some(size),
        };
        match client.request(log.origin, request).await.ok()? {
            Response::Entries {
                from: got, entries, ..
            } if got == from && !entries.is_empty() => {
                leaves.extend(entries.iter().map(|e| Blake3::leaf(e.as_bytes())));
            }
            Response::Refused(reason) if reason.contains("rate limit") && backoff < 5 => {
                backoff += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100 << backoff)).await;
            }
            _ => return None,
        }
    }
    leaves.truncate(usize::try_from(size).ok()?);
    Some(root_of::<Blake3>(&leaves))
}
