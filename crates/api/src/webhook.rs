//! Webhook delivery, the sending side: which URLs may receive events, the
//! event's JSON, and one signed POST of it. The node decides what to send,
//! when, and how often to retry; this module only moves one request.
//!
//! Each event is signed as our API clients sign their requests (RFC 9421,
//! [`crate::client::signature_headers`]): ed25519 with the organization
//! key, `keyid` our DID, covering `@method`, `@authority`, `@scheme`,
//! `@path`, `@query`, `date` and `content-digest`, so a receiver checks it
//! with the public key in our DID. Redirects are not followed, and at most
//! [`MAX_RESPONSE_BYTES`] of an answer are read.

use std::time::Duration;

use assure_model::Keypair;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use crate::AlertView;
use crate::client::{Target, signature_headers};

/// The most of a receiver's answer that is read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The longest webhook URL accepted.
const MAX_URL: usize = 2048;

/// Checks a webhook URL as an operator gives it: `http://host[:port]/path`,
/// no user name or password in it. `https` is refused for now, with what to
/// do instead: the node has no TLS client.
pub fn check_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("give the webhook's URL, e.g. http://127.0.0.1:9000/assure".into());
    }
    if url.len() > MAX_URL {
        return Err(format!("the URL is longer than {MAX_URL} characters"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not an http:// URL ({e})"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "`{url}`: https webhooks are not supported yet; point the webhook at a \
                 TLS-terminating proxy over http"
            ));
        }
        _ => return Err(format!("`{url}` is not an http:// URL")),
    }
    let Some(authority) = uri.authority() else {
        return Err(format!("`{url}` names no host"));
    };
    if authority.as_str().contains('@') {
        return Err(format!(
            "`{url}` carries a user name or password: they would be stored and shown in clear"
        ));
    }
    if authority.host().is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    // A bare host is its root: one spelling of each webhook.
    if !url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains(['/', '?']))
    {
        return Ok(format!("{url}/"));
    }
    Ok(url.to_owned())
}

/// The JSON body POSTed to a webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The event's kind: the alert's (`incident`, `equivocation`,
    /// `access-request`, `expiring-certification`, …).
    pub kind: String,
    /// The event's id: the alert's, the same on every retry.
    pub id: String,
    /// The node that sends it (our DID; the signature's `keyid`).
    pub node: String,
    /// The alert.
    pub alert: AlertView,
}

/// What a receiver answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    /// Its HTTP status.
    pub status: u16,
}

/// Why an attempt got no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The URL cannot be used.
    #[error("{0}")]
    Url(String),
    /// No connection, or it broke.
    #[error("cannot reach the webhook: {0}")]
    Unreachable(String),
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// Sends webhook events.
#[derive(Debug, Clone)]
pub struct Sender {
    http: HyperClient<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Sender {
    /// A sender whose attempts give up after `timeout` (connecting,
    /// sending and reading the answer together).
    pub fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.enforce_http(true);
        Self {
            http: HyperClient::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    /// POSTs `body` to `url`, signed with `keypair`. Reads at most
    /// [`MAX_RESPONSE_BYTES`] of the answer and never follows a redirect:
    /// a 3xx is the answer.
    pub async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        keypair: &Keypair,
    ) -> Result<Answered, DeliveryError> {
        let url = check_url(url).map_err(DeliveryError::Url)?;
        let uri: Uri = url.parse().map_err(|_| DeliveryError::Url(url.clone()))?;
        let target = Target::from_url(&url).map_err(|e| DeliveryError::Url(e.to_string()))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = Request::post(uri.clone())
            .header("content-type", "application/json")
            .header("user-agent", "assure-webhook");
        for (name, value) in signature_headers(
            keypair,
            &target,
            "POST",
            path,
            &body,
            None,
            jiff::Timestamp::now(),
        ) {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| DeliveryError::Url(e.to_string()))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| DeliveryError::Unreachable(error_chain(&e)))?;
            let status = response.status().as_u16();
            // Read (a bounded part of) the answer so the connection can be
            // reused; what it says does not matter.
            let _ = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await;
            Ok(Answered { status })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| DeliveryError::Timeout(self.timeout))?
    }
}

/// An error with its sources, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn only_plain_http_urls_without_credentials_are_accepted() {
        assert_eq!(
            check_url(" http://127.0.0.1:9000/hook ").unwrap(),
            "http://127.0.0.1:9000/hook"
        );
        assert_eq!(
            check_url("http://receiver.example").unwrap(),
            "http://receiver.example/"
        );
        for bad in [
            "",
            "ftp://example.org/x",
            "file:///etc/passwd",
            "receiver.example/hook",
            "http://user:secret@example.org/hook",
            "javascript:alert(1)",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(
            check_url("https://example.org/hook")
                .unwrap_err()
                .contains("proxy")
        );
    }
}
