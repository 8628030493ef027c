//! The sync protocol's CBOR codec. Unlike libp2p's stock CBOR codec, a request
//! that is too large or does not decode is not silently dropped: it reaches
//! the event loop as [`Inbound::Malformed`], so the sender can be counted
//! against and cut off.

use std::io;

use futures::prelude::*;
use libp2p::StreamProtocol;
use libp2p::request_response;
use serde::{Serialize, Serializer};

use crate::protocol::{Request, Response};

/// A request as read off the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A well-formed request (this is also what is sent).
    Request(Request),
    /// Bytes that are not a request, or too many of them.
    Malformed(String),
}

impl Serialize for Inbound {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Inbound::Request(request) => request.serialize(serializer),
            Inbound::Malformed(_) => Err(serde::ser::Error::custom(
                "a malformed request is never sent",
            )),
        }
    }
}

/// CBOR requests and responses with size caps.
#[derive(Clone, Debug)]
pub struct Codec {
    max_request: u64,
    max_response: u64,
}

impl Codec {
    /// A codec refusing requests over `max_request` and responses over
    /// `max_response` bytes.
    pub fn new(max_request: u64, max_response: u64) -> Self {
        Self {
            max_request,
            max_response,
        }
    }
}

/// Reads at most `max + 1` bytes: one more than a message may have, so that
/// the decoders below can tell that the sender had more to say.
async fn read_capped<T: AsyncRead + Unpin + Send>(io: &mut T, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .await?;
    Ok(bytes)
}

/// Decodes a request as read off the wire: more than `max` bytes, or bytes
/// that are not a request, are [`Inbound::Malformed`].
pub fn decode_request(bytes: &[u8], max: u64) -> Inbound {
    if bytes.len() as u64 > max {
        return Inbound::Malformed(format!("request larger than {max} bytes"));
    }
    match cbor4ii::serde::from_slice::<Request>(bytes) {
        Ok(request) => Inbound::Request(request),
        Err(error) => Inbound::Malformed(format!("request does not decode: {error}")),
    }
}

/// Decodes a response as read off the wire, refusing more than `max` bytes.
pub fn decode_response(bytes: &[u8], max: u64) -> io::Result<Response> {
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("response larger than {max} bytes"),
        ));
    }
    cbor4ii::serde::from_slice(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

/// Whether `bytes` end before a CBOR value does: nothing at all, or the
/// beginning of a value that would go on.
fn cut_short(bytes: &[u8]) -> bool {
    use cbor4ii::core::error::DecodeError;
    bytes.is_empty()
        || matches!(
            cbor4ii::serde::from_slice::<serde::de::IgnoredAny>(bytes),
            Err(cbor4ii::serde::DecodeError::Core(DecodeError::Eof { .. }))
        )
}

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Inbound;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Inbound>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_capped(io, self.max_request).await?;
        // Bytes that stop before the request does: the stream was cut (by
        // the network, or by the sender's own timeout), which is no
        // misbehaviour. It fails like any stream cut.
        if bytes.len() as u64 <= self.max_request && cut_short(&bytes) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("request cut short after {} bytes", bytes.len()),
            ));
        }
        Ok(decode_request(&bytes, self.max_request))
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_capped(io, self.max_response).await?;
        decode_response(&bytes, self.max_response)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Inbound,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = cbor4ii::serde::to_vec(Vec::new(), &request).map_err(io::Error::other)?;
        io.write_all(&bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = cbor4ii::serde::to_vec(Vec::new(), &response).map_err(io::Error::other)?;
        io.write_all(&bytes).await
    }
}

#[cfg(test)]
mod tests {
    use assure_access::CompartmentId;
    use libp2p::request_response::Codec as _;

    use super::*;

    async fn read(bytes: &[u8]) -> io::Result<Inbound> {
        let protocol = StreamProtocol::new(crate::protocol::PROTOCOL);
        let mut codec = Codec::new(64 * 1024, 1024);
        codec
            .read_request(&protocol, &mut futures::io::Cursor::new(bytes))
            .await
    }

    fn entries() -> Vec<u8> {
        let request = Request::Entries {
            compartment: CompartmentId::from_bytes([7; 16]),
            from: 3,
            max: 512,
            prove_to: Some(9),
        };
        cbor4ii::serde::to_vec(Vec::new(), &request).unwrap()
    }

    #[tokio::test]
    async fn a_request_cut_anywhere_is_a_cut_stream_not_a_malformed_request() {
        let whole = entries();
        assert!(matches!(read(&whole).await, Ok(Inbound::Request(_))));
        for end in 0..whole.len() {
            let error = read(&whole[..end])
                .await
                .expect_err(&format!("cut at {end}"));
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "cut at {end}");
        }
    }

    #[tokio::test]
    async fn whole_values_that_are_no_request_are_malformed() {
        let garbage = cbor4ii::serde::to_vec(Vec::new(), &vec![1u64, 2, 3]).unwrap();
        let unknown = cbor4ii::serde::to_vec(Vec::new(), &"Shutdown").unwrap();
        for bytes in [garbage, unknown, vec![0xff, 0x00]] {
            assert!(
                matches!(read(&bytes).await, Ok(Inbound::Malformed(_))),
                "{bytes:?}"
            );
        }
        let oversized = vec![0u8; 64 * 1024 + 1];
        assert!(
            matches!(read(&oversized).await, Ok(Inbound::Malformed(r)) if r.contains("larger"))
        );
    }
}
