//! Connections: how many may be open, in all and per IP address, and the
//! socket the HTTP stack reads and writes, which turns the stack's own
//! refusals of unparsable requests into problem documents.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;

use crate::metrics::{RefusalLabels, Refusals};
use crate::problem::Problem;

/// The open connections, counted in all and per address.
#[derive(Debug)]
pub(crate) struct Conns {
    total: usize,
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    count: AtomicUsize,
    /// Refusals being written; beyond [`MAX_REFUSING`] a connection is
    /// closed without one.
    refusing: AtomicUsize,
    refused: Refusals,
}

/// The most refusals written at once.
const MAX_REFUSING: usize = 256;

/// How long a refused connection is given to take its answer.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Ticket {
    conns: Arc<Conns>,
    address: IpAddr,
}

impl Conns {
    pub(crate) fn new(total: usize, per_address: usize, refused: Refusals) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_address,
            open: Mutex::new(HashMap::new()),
            count: AtomicUsize::new(0),
            refusing: AtomicUsize::new(0),
            refused,
        })
    }

    /// A place for a connection from `address`, or why there is none.
    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Ticket, &'static str> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if self.count.load(Ordering::Relaxed) >= self.total {
            return Err("the node has as many connections open as it takes; try again shortly");
        }
        let mine = open.entry(address).or_insert(0);
        if *mine >= self.per_address {
            return Err("too many connections from your address; reuse or close some");
        }
        *mine += 1;
        self.count.fetch_add(1, Ordering::Relaxed);
        Ok(Ticket {
            conns: self.clone(),
            address,
        })
    }

    /// Answers a connection that was not admitted with a 503 problem
    /// document and closes it, in the background and within a second;
    /// when many refusals are under way already, just closes it.
    pub(crate) fn refuse(self: &Arc<Self>, mut stream: TcpStream, why: &'static str) {
        self.refused
            .get_or_create(&RefusalLabels {
                reason: "connections".to_owned(),
            })
            .inc();
        if self.refusing.fetch_add(1, Ordering::Relaxed) >= MAX_REFUSING {
            self.refusing.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let conns = self.clone();
        tokio::spawn(async move {
            let bytes =
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, why).to_wire(&[("retry-after", "1")]);
            let _ = tokio::time::timeout(REFUSAL_TIME, async {
                stream.write_all(&bytes).await?;
                stream.shutdown().await?;
                // Read what the client sent, so that closing does not
                // reset the connection before it reads the answer.
                let mut sink = [0u8; 4096];
                while stream.read(&mut sink).await? > 0 {}
                Ok::<_, io::Error>(())
            })
            .await;
            conns.refusing.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.conns.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mine) = open.get_mut(&self.address) {
            *mine -= 1;
            if *mine == 0 {
                open.remove(&self.address);
            }
        }
        self.conns.count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's socket as the HTTP stack sees it. hyper answers a request
/// it cannot parse (a malformed request line or header: 400; a head larger
/// than its buffer: 431; a target too long: 414) by itself, with an empty
/// body, and offers no hook to write anything else. Those answers are the
/// only ones with one of these statuses and `content-length: 0` (every
/// error of ours carries a problem document), so this socket recognises
/// them as they are written and writes the problem document instead. It
/// asks hyper for whole writes (no vectored I/O), so a response head
/// arrives in one buffer.
#[derive(Debug)]
pub(crate) struct Socket {
    stream: TcpStream,
    /// A replacement being written, and how much of it is.
    pending: Option<(Vec<u8>, usize)>,
}

impl Socket {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            pending: None,
        }
    }

    /// Writes what is left of a replacement.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
            if *written == bytes.len() {
                self.pending = None;
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The problem document that replaces hyper's own empty answer in `buf`,
/// if `buf` is one.
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    let (status, detail) = if buf.starts_with(b"HTTP/1.1 400 ") {
        (
            StatusCode::BAD_REQUEST,
            "the request could not be parsed as HTTP/1.1",
        )
    } else if buf.starts_with(b"HTTP/1.1 431 ") {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            crate::front::HEAD_TOO_LARGE,
        )
    } else if buf.starts_with(b"HTTP/1.1 414 ") {
        (StatusCode::URI_TOO_LONG, "the request target is too long")
    } else {
        return None;
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    head.contains("\r\ncontent-length: 0")
        .then(|| Problem::new(status, detail).to_wire(&[]))
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(bytes) = replacement(buf) {
            self.pending = Some((bytes, 0));
            // The replacement is the answer; hyper's is taken as written.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stacks_empty_refusals_are_replaced() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\
                      date: Wed, 02 Dec 2026 14:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(replacement(hyper).unwrap()).unwrap();
        assert!(replaced.starts_with("HTTP/1.1 431 "), "{replaced}");
        assert!(replaced.contains("application/problem+json"));
        let ours = Problem::new(StatusCode::BAD_REQUEST, "no").to_wire(&[]);
        assert!(replacement(&ours).is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }

    #[tokio::test]
    async fn the_cap_per_address_frees_places_as_connections_close() {
        let conns = Conns::new(3, 2, Refusals::default());
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let first = conns.admit(a).unwrap();
        let _second = conns.admit(a).unwrap();
        assert!(conns.admit(a).is_err(), "a third from one address");
        let _other = conns.admit(b).unwrap();
        assert!(conns.admit(b).is_err(), "over the total");
        drop(first);
        assert!(conns.admit(a).is_ok());
    }
}
