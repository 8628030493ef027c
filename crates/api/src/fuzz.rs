//! Entry points for the fuzz targets in `fuzz/` to decoders that are
//! otherwise private to this crate. Not part of the API.

/// Decodes a page cursor as the routes do and, when it decodes, encodes it
/// again: `Some` of the re-encoded text, `None` when it is refused.
pub fn cursor_round_trip(text: &str) -> Option<String> {
    crate::routes::decode_cursor(text)
        .ok()
        .map(crate::routes::encode_cursor)
}
