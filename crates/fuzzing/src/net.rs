//! The sync protocol's wire decoders with their size caps (`assure-net`).

use assure_net::{Inbound, Limits, decode_request, decode_response};

/// A request as a peer would send it, under the default request cap. One
/// that decodes decodes again, equal, from our own encoding of it; one
/// over the cap is refused whatever it holds.
pub fn sync_request(data: &[u8]) {
    let max = Limits::default().max_request_bytes;
    match decode_request(data, max) {
        Inbound::Request(request) => {
            let bytes = cbor4ii::serde::to_vec(Vec::new(), &request)
                .unwrap_or_else(|e| panic!("a decoded request does not encode: {e}"));
            assert_eq!(decode_request(&bytes, u64::MAX), Inbound::Request(request));
        }
        Inbound::Malformed(_) => {}
    }
    let cap = (data.len() as u64).saturating_sub(1);
    assert!(matches!(decode_request(data, cap), Inbound::Malformed(_)));
}

/// A response as a peer would send it, under the default response cap,
/// with the same round trip and cap as [`sync_request`].
pub fn sync_response(data: &[u8]) {
    let max = Limits::default().max_response_bytes;
    if let Ok(response) = decode_response(data, max) {
        let bytes = cbor4ii::serde::to_vec(Vec::new(), &response)
            .unwrap_or_else(|e| panic!("a decoded response does not encode: {e}"));
        let again = decode_response(&bytes, u64::MAX)
            .unwrap_or_else(|e| panic!("our encoding of a response does not decode: {e}"));
        assert_eq!(again, response);
    }
    let cap = (data.len() as u64).saturating_sub(1);
    if !data.is_empty() {
        assert!(decode_response(data, cap).is_err());
    }
}
