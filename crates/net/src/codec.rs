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

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Inbound;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Inbound>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_capped(io, self.max_request).await?;
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
