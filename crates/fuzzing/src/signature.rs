//! What the HTTP API reads from untrusted headers and queries
//! (`assure-api`): RFC 9421 signatures and page cursors.

use assure_api::signature::{self, Covered, Scheme};

use crate::{key, now, text};

/// The one request the signature target checks signatures of.
pub(crate) fn covered<'a>(date: &'a str, digest: &'a str, purpose: Option<&'a str>) -> Covered<'a> {
    Covered {
        method: "GET",
        scheme: Scheme::Http,
        authority: "127.0.0.1:7100",
        path: "/v1/orgs",
        query: "",
        date,
        content_digest: digest,
        purpose,
    }
}

/// The `Date` header the signature target's request carries.
pub(crate) fn date() -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(now().as_second().unsigned_abs());
    httpdate::fmt_http_date(at)
}

/// `Signature-Input`, a newline, `Signature` and, after another newline,
/// an `Assure-Purpose` header, checked against one fixed request at
/// [`now`]. A signature that verifies is one [`key`] made.
pub fn signature(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut parts = text.splitn(3, '\n');
    let (Some(input), Some(sig)) = (parts.next(), parts.next()) else {
        return;
    };
    let purpose = parts.next();
    let (date, digest) = (date(), signature::content_digest(b""));
    let covered = covered(&date, &digest, purpose);
    let at = now().as_second();
    if let Ok(verified) = signature::verify(&covered, input, sig, b"", at, at - 300) {
        assert_eq!(verified.signer, key().did(), "a forged signature verified");
    }
}

/// A page cursor from a query string. One that decodes encodes back to the
/// same text, so that a cursor names one position only.
pub fn cursor(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Some(again) = assure_api::fuzz::cursor_round_trip(text) {
        assert_eq!(again, text, "a cursor decoded and encoded changed");
    }
}
