//! What a request passes before the router, in order: its head is at most
//! [`MAX_HEAD`] bytes (431); a `Content-Length` over the body limit is
//! refused before a byte of the body is read (413); `/healthz`, `/readyz`
//! and `/metrics` go to a lane of their own, with its own small cap and no
//! rate limit, so that no load on the rest starves a health probe; any
//! other request's body is read whole, under its own deadline and minimum
//! rate (408) and in a pool of its own, before the request takes one of
//! the concurrency slots, so a client sending slowly holds none of them;
//! a full pool answers 503 at once rather than queueing. Every answer then
//! leaves through [`problem::finish`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::Settings;
use crate::metrics::{RefusalLabels, Refusals};
use crate::problem::{self, Problem};

/// The largest request head (request line and headers), in bytes.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// What a head over [`MAX_HEAD`] is told.
pub(crate) const HEAD_TOO_LARGE: &str = "the request line and headers are larger than 64 KiB";

/// How long a body may take to start before its minimum rate applies.
const BODY_GRACE: Duration = Duration::from_secs(1);

/// The routes of the operations lane: answered outside load shedding and
/// outside the per-party rate limit.
pub(crate) fn is_operations(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The router and the pools in front of it.
#[derive(Debug)]
pub(crate) struct Front {
    router: Router,
    max_body: usize,
    body_timeout: Duration,
    min_body_rate: u32,
    request_timeout: Duration,
    /// Requests being handled.
    handling: Semaphore,
    /// Bodies being read.
    reading: Semaphore,
    /// Requests of the operations lane being handled.
    operations: Semaphore,
    refused: Refusals,
}

impl Front {
    pub(crate) fn new(router: Router, settings: &Settings, refused: Refusals) -> Arc<Self> {
        Arc::new(Self {
            router,
            max_body: settings.max_body_bytes,
            body_timeout: settings.body_timeout,
            min_body_rate: settings.min_body_rate.max(1),
            request_timeout: settings.request_timeout,
            handling: Semaphore::new(settings.max_concurrent),
            reading: Semaphore::new(settings.max_concurrent),
            operations: Semaphore::new(settings.max_operations),
            refused,
        })
    }

    /// Answers one request from `peer`.
    pub(crate) async fn answer(
        &self,
        mut request: Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> Response {
        request.extensions_mut().insert(ConnectInfo(peer));
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = self.admit(request).await;
        problem::finish(&method, &path, response).await
    }

    /// Counts a refusal.
    fn refuse(&self, reason: &str) {
        self.refused
            .get_or_create(&RefusalLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    async fn admit(&self, request: Request<hyper::body::Incoming>) -> Response {
        if head_size(&request) > MAX_HEAD {
            self.refuse("head_too_large");
            return Problem::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, HEAD_TOO_LARGE)
                .closing();
        }
        let headers = request.headers();
        let declared = content_length(headers);
        if declared.is_some_and(|n| n > self.max_body as u64) {
            self.refuse("body_too_large");
            return Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {} bytes", self.max_body),
            )
            .closing();
        }
        let has_body =
            declared.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING);
        let probe = matches!(*request.method(), Method::GET | Method::HEAD);
        if probe && !has_body && is_operations(request.uri().path()) {
            let Ok(_slot) = self.operations.try_acquire() else {
                self.refuse("busy_operations");
                return Problem::busy("the node is answering many health probes; try again");
            };
            return self.handle(request.map(|_| Body::empty())).await;
        }
        let (parts, body) = request.into_parts();
        let bytes = if has_body {
            let Ok(_reading) = self.reading.try_acquire() else {
                self.refuse("busy_reading");
                // The body is left unread: the connection cannot carry more.
                let mut response =
                    Problem::busy("the node is reading many bodies; try again shortly");
                response.headers_mut().insert(
                    header::CONNECTION,
                    header::HeaderValue::from_static("close"),
                );
                return response;
            };
            match self.read(body).await {
                Ok(bytes) => bytes,
                Err(problem) => {
                    self.refuse(match problem.status {
                        408 => "body_too_slow",
                        413 => "body_too_large",
                        _ => "body_unreadable",
                    });
                    return problem.closing();
                }
            }
        } else {
            Bytes::new()
        };
        let Ok(_slot) = self.handling.try_acquire() else {
            self.refuse("busy_handling");
            return Problem::busy("the node is busy; try again shortly");
        };
        self.handle(Request::from_parts(parts, Body::from(bytes)))
            .await
    }

    /// Runs the router on a request whose body is at hand.
    async fn handle(&self, request: Request) -> Response {
        let answered = tokio::time::timeout(self.request_timeout, async {
            let response = self.router.clone().oneshot(request).await;
            response.unwrap_or_else(|never| match never {})
        });
        match answered.await {
            Ok(response) => response,
            Err(_) => {
                self.refuse("no_answer");
                let mut response = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the node did not answer within {} s; try again shortly",
                        self.request_timeout.as_secs_f64()
                    ),
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
                response
            }
        }
    }

    /// Reads a whole body of at most the body limit, within the body
    /// timeout and never slower than the minimum rate after its first
    /// second.
    async fn read(&self, mut body: hyper::body::Incoming) -> Result<Bytes, Problem> {
        let started = Instant::now();
        let deadline = started + self.body_timeout;
        let mut bytes = Vec::new();
        loop {
            // The next bytes are due when those so far would fall under
            // the minimum rate.
            let due = started
                + BODY_GRACE
                + Duration::from_secs_f64(bytes.len() as f64 / f64::from(self.min_body_rate));
            let frame = match tokio::time::timeout_at(due.min(deadline), body.frame()).await {
                Ok(frame) => frame,
                Err(_) if due < deadline => {
                    return Err(Problem::new(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "the body arrived slower than {} bytes a second",
                            self.min_body_rate
                        ),
                    ));
                }
                Err(_) => {
                    return Err(Problem::new(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "the body did not arrive within {} s",
                            self.body_timeout.as_secs_f64()
                        ),
                    ));
                }
            };
            match frame {
                None => return Ok(Bytes::from(bytes)),
                Some(Err(_)) => return Err(Problem::bad_request("the body could not be read")),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if bytes.len() + data.len() > self.max_body {
                            return Err(Problem::new(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                format!("the body is larger than {} bytes", self.max_body),
                            ));
                        }
                        bytes.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

/// The size of the request line and headers, about as they were sent.
fn head_size<B>(request: &Request<B>) -> usize {
    let line = request.method().as_str().len() + request.uri().to_string().len() + 12;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    line + headers
}

/// The `Content-Length` the client declared (hyper has already refused
/// one that is malformed or repeated with different values).
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
