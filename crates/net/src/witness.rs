//! Witness exchanges among the readers of one log, without telling anyone
//! else that the log exists, and without outliving a revocation.
//!
//! Every reader is a witness for the logs it holds (DESIGN.md §5): readers
//! compare the checkpoints their author showed them. Readers of a
//! restricted log may not know each other, and nobody else may learn of the
//! log, so an exchange must reveal nothing to a peer that is not a reader,
//! and nothing new to a party the author has since revoked:
//!
//! - **Tickets.** With every offer, the author signs a ticket: "this party
//!   may read this log until this time" ([`TICKET_LIFETIME`]). A witness
//!   answers about a replica only to an asker that shows a valid ticket of
//!   its own for it, so a revoked party learns nothing once its last ticket
//!   expires; the author itself answers by the read gate, at once.
//! - **Blind tags.** An ask names its log by a keyed hash of the log's
//!   origin line over the asker's and the witness's keys. Only a party that
//!   knows the origin line (a reader) can match it, and the same log gives
//!   different tags towards different witnesses.
//! - **Sealed tickets.** The ticket travels sealed (ChaCha20-Poly1305)
//!   under a key derived from the origin line, so a peer that is not a
//!   reader cannot see whose log it is, or whose ticket.
//! - **Padding.** A request carries exactly [`WITNESS_ASKS`] asks, real or
//!   random, so the count says nothing of how many logs the asker holds.

use assure_access::LogId;
use assure_model::{Did, Keypair};
use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ed25519_dalek::Signature;
use jiff::Timestamp;

use crate::protocol::{Ask, WITNESS_ASKS};

/// How long a ticket is valid by default. Readers pull at least every poll
/// interval (30 s by default), which renews it; a revoked party's last
/// ticket lapses this long after its revocation at the latest.
pub const TICKET_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);

const TICKET_DOMAIN: &[u8] = b"assure-witness-ticket/1\n";
/// Bytes of a ticket: version byte, log id, party key, expiry, signature.
pub const TICKET_LEN: usize = 1 + LogId::LEN + 32 + 8 + 64;
const NONCE_LEN: usize = 12;
/// A sealed ticket: nonce, ciphertext, tag.
const SEALED_LEN: usize = NONCE_LEN + TICKET_LEN + 16;

/// The ticket `author` gives `party` for `log`, valid for `lifetime` from
/// `now`.
pub fn issue(
    author: &Keypair,
    log: LogId,
    party: Did,
    now: Timestamp,
    lifetime: std::time::Duration,
) -> Vec<u8> {
    let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let not_after = now.as_second().saturating_add(lifetime);
    let mut out = Vec::with_capacity(TICKET_LEN);
    out.push(1);
    out.extend_from_slice(&log.to_bytes());
    out.extend_from_slice(party.public_bytes());
    out.extend_from_slice(&not_after.to_be_bytes());
    let signature = author.sign(&signed_part(&out));
    out.extend_from_slice(&signature);
    out
}

/// Whether `ticket` is `log`'s author's word, valid at `now`, that `party`
/// may read `log`.
pub fn check(ticket: &[u8], log: LogId, party: Did, now: Timestamp) -> bool {
    if ticket.len() != TICKET_LEN || ticket[0] != 1 {
        return false;
    }
    let (body, signature) = ticket.split_at(TICKET_LEN - 64);
    let named = LogId::from_bytes(&body[1..1 + LogId::LEN]);
    let holder = &body[1 + LogId::LEN..1 + LogId::LEN + 32];
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&body[1 + LogId::LEN + 32..]);
    if named != Some(log)
        || holder != party.public_bytes()
        || i64::from_be_bytes(expiry) < now.as_second()
    {
        return false;
    }
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    log.origin
        .verifying_key()
        .verify_strict(&signed_part(body), &signature)
        .is_ok()
}

/// When a ticket for `log` expires, if it is well formed.
pub fn expiry(ticket: &[u8]) -> Option<Timestamp> {
    let at = ticket.get(1 + LogId::LEN + 32..1 + LogId::LEN + 40)?;
    Timestamp::from_second(i64::from_be_bytes(at.try_into().ok()?)).ok()
}

fn signed_part(body: &[u8]) -> Vec<u8> {
    [TICKET_DOMAIN, body].concat()
}

/// The tag that names `log` in asks from `asker` to `witness`.
pub fn blind(log: LogId, asker: Did, witness: Did) -> [u8; 32] {
    let key = blake3::derive_key("assure witness blind tag v1", log.origin_line().as_bytes());
    *blake3::Hasher::new_keyed(&key)
        .update(asker.public_bytes())
        .update(witness.public_bytes())
        .finalize()
        .as_bytes()
}

fn cipher(log: LogId) -> ChaCha20Poly1305 {
    let key = blake3::derive_key("assure witness seal v1", log.origin_line().as_bytes());
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// An ask about `log`, carrying `ticket`.
pub fn ask(log: LogId, asker: Did, witness: Did, ticket: &[u8]) -> Option<Ask> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).ok()?;
    let sealed = cipher(log)
        .encrypt(Nonce::from_slice(&nonce), ticket)
        .ok()?;
    Some(Ask {
        blind: blind(log, asker, witness),
        sealed: [&nonce[..], &sealed].concat(),
    })
}

/// The ticket inside an ask about `log`, if it was sealed for it.
pub fn unseal(log: LogId, ask: &Ask) -> Option<Vec<u8>> {
    if ask.sealed.len() != SEALED_LEN {
        return None;
    }
    let (nonce, sealed) = ask.sealed.split_at(NONCE_LEN);
    cipher(log).decrypt(Nonce::from_slice(nonce), sealed).ok()
}

/// `asks` padded with random asks to exactly [`WITNESS_ASKS`].
pub fn padded(mut asks: Vec<Ask>) -> Vec<Ask> {
    while asks.len() < WITNESS_ASKS {
        let mut blind = [0u8; 32];
        let mut sealed = vec![0u8; SEALED_LEN];
        if getrandom::fill(&mut blind).is_err() || getrandom::fill(&mut sealed).is_err() {
            break;
        }
        asks.push(Ask { blind, sealed });
    }
    asks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use assure_access::CompartmentId;

    use super::*;

    fn log(author: &Keypair) -> LogId {
        LogId {
            origin: author.did(),
            compartment: CompartmentId::from_bytes([9; 16]),
        }
    }

    #[test]
    fn tickets_bind_log_party_and_time() {
        let (author, reader, other) = (
            Keypair::from_seed([1; 32]),
            Keypair::from_seed([2; 32]).did(),
            Keypair::from_seed([3; 32]).did(),
        );
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let ticket = issue(&author, log(&author), reader, now, TICKET_LIFETIME);
        assert!(check(&ticket, log(&author), reader, now));
        assert!(!check(&ticket, log(&author), other, now));
        let later = Timestamp::from_second(now.as_second() + 301).unwrap();
        assert!(!check(&ticket, log(&author), reader, later));
        let other_log = LogId {
            compartment: CompartmentId::from_bytes([8; 16]),
            ..log(&author)
        };
        assert!(!check(&ticket, other_log, reader, now));
        let mut forged = ticket.clone();
        forged[TICKET_LEN - 70] ^= 1;
        assert!(!check(&forged, log(&author), reader, now));
        // Signed by someone else than the log's author.
        let stranger = issue(
            &Keypair::from_seed([4; 32]),
            log(&author),
            reader,
            now,
            TICKET_LIFETIME,
        );
        assert!(!check(&stranger, log(&author), reader, now));
    }

    #[test]
    fn asks_open_only_for_readers_of_the_log() {
        let author = Keypair::from_seed([1; 32]);
        let (asker, witness) = (
            Keypair::from_seed([2; 32]).did(),
            Keypair::from_seed([3; 32]).did(),
        );
        let ticket = issue(
            &author,
            log(&author),
            asker,
            Timestamp::now(),
            TICKET_LIFETIME,
        );
        let ask = ask(log(&author), asker, witness, &ticket).unwrap();
        assert_eq!(ask.blind, blind(log(&author), asker, witness));
        assert_ne!(ask.blind, blind(log(&author), asker, asker));
        assert_eq!(unseal(log(&author), &ask), Some(ticket));
        let other_log = LogId {
            compartment: CompartmentId::from_bytes([8; 16]),
            ..log(&author)
        };
        assert_eq!(unseal(other_log, &ask), None);
        let asks = padded(vec![ask]);
        assert_eq!(asks.len(), WITNESS_ASKS);
        assert!(asks.iter().all(|a| a.sealed.len() == SEALED_LEN));
    }
}
