//! A small HTTP client for the API: signs requests with an organization key
//! (RFC 9421) or sends the admin token. Used by `assure api-request`, by the
//! CLI when a node is running, and by tests.

use assure_model::Keypair;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::signature::{self, Covered, Scheme};

/// How a request proves who sends it.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// No credentials: public compartments only.
    None,
    /// Signed with this organization key.
    Sign(&'a Keypair),
    /// The node's admin token.
    Bearer(&'a str),
}

/// Why a request failed before any answer came.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL or method is not usable.
    #[error("{0}")]
    Request(String),
    /// No connection, or the connection broke.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// An answer: status, content type and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
    /// Every header of the answer.
    pub headers: axum::http::HeaderMap,
}

/// The node a request is for, as its signature names it: the scheme and
/// the normalized authority of the URL the client connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// `host` or `host:port`, as [`signature::normalize_authority`] makes it.
    pub authority: String,
}

impl Target {
    /// The target of a base URL such as `http://127.0.0.1:8080`.
    pub fn from_url(url: &str) -> Result<Self, ClientError> {
        let bad = |why: String| ClientError::Request(format!("`{url}`: {why}"));
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(e.to_string()))?;
        let scheme: Scheme = uri
            .scheme_str()
            .ok_or_else(|| bad("the URL needs http:// or https://".into()))?
            .parse()
            .map_err(bad)?;
        let authority = uri
            .authority()
            .ok_or_else(|| bad("the URL names no host".into()))?;
        let authority = signature::normalize_authority(authority.as_str(), scheme).map_err(bad)?;
        Ok(Self { scheme, authority })
    }
}

/// The headers that sign a request for `target`: `Date`, `Content-Digest`,
/// `Signature-Input` and `Signature`, then `Assure-Purpose` when there is a
/// purpose (it is covered by the signature).
pub fn signature_headers(
    keypair: &Keypair,
    target: &Target,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    purpose: Option<&str>,
    now: jiff::Timestamp,
) -> Vec<(&'static str, String)> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let date = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.as_second().max(0) as u64),
    );
    let digest = signature::content_digest(body);
    let covered = Covered {
        method,
        scheme: target.scheme,
        authority: &target.authority,
        path,
        query,
        date: &date,
        content_digest: &digest,
        purpose,
    };
    let mut nonce = [0u8; 12];
    let _ = getrandom::fill(&mut nonce);
    let (input, sig) = signature::sign(keypair, &covered, now.as_second(), &hex::encode(nonce));
    let mut headers = vec![
        ("date", date),
        ("content-digest", digest),
        ("signature-input", input),
        ("signature", sig),
    ];
    if let Some(purpose) = purpose {
        headers.push(("assure-purpose", purpose.to_owned()));
    }
    headers
}

/// A client for one node's API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client for the API at `base`, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends one request. `purpose` goes into the node's disclosure log (and,
    /// for a signed request, is covered by the signature).
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        body: Vec<u8>,
        auth: Auth<'_>,
        purpose: Option<&str>,
    ) -> Result<Answer, ClientError> {
        let method: Method = method
            .to_ascii_uppercase()
            .parse()
            .map_err(|_| ClientError::Request(format!("`{method}` is not an HTTP method")))?;
        if !path_and_query.starts_with('/') {
            return Err(ClientError::Request(format!(
                "`{path_and_query}` must start with /"
            )));
        }
        let url = format!("{}{path_and_query}", self.base);
        let mut request = Request::builder().method(method.clone()).uri(&url);
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        match auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            Auth::Sign(keypair) => {
                let target = Target::from_url(&self.base)?;
                for (name, value) in signature_headers(
                    keypair,
                    &target,
                    method.as_str(),
                    path_and_query,
                    &body,
                    purpose,
                    jiff::Timestamp::now(),
                ) {
                    request = request.header(name, value);
                }
            }
        }
        if let (Some(purpose), false) = (purpose, matches!(auth, Auth::Sign(_))) {
            request = request.header("assure-purpose", purpose);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Request(e.to_string()))?;
        let unreachable = |reason: String| ClientError::Unreachable {
            url: url.clone(),
            reason,
        };
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        Ok(Answer {
            status,
            content_type,
            body,
            headers,
        })
    }
}
