//! Errors as RFC 9457 problem details.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub(crate) type_: &'static str,
    /// The status's reason phrase.
    pub(crate) title: &'static str,
    /// The HTTP status.
    pub(crate) status: u16,
    /// What went wrong, in plain words.
    pub(crate) detail: String,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            type_: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// The one answer for "does not exist" and "not yours to see": nothing
    /// in it depends on which.
    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no such resource")
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the node could not answer; see its log",
        )
    }

    /// The answer when a bounded pool is full: try again in a second.
    pub(crate) fn busy(detail: impl Into<String>) -> Response {
        let mut response = Self::new(StatusCode::SERVICE_UNAVAILABLE, detail).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }

    /// The answer to a caller over its rate.
    pub(crate) fn too_many(detail: impl Into<String>) -> Response {
        let mut response = Self::new(StatusCode::TOO_MANY_REQUESTS, detail).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }

    /// This problem, on a connection that then closes: for a request whose
    /// body is left unread, so the connection cannot carry another.
    pub(crate) fn closing(self) -> Response {
        let mut response = self.into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }

    /// This problem as the bytes of a whole HTTP/1.1 response on a
    /// connection that then closes, for the socket level, where no HTTP
    /// stack writes for us (a connection over its cap).
    pub(crate) fn to_wire(&self, extra: &[(&str, &str)]) -> Vec<u8> {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: {PROBLEM}\r\ncontent-length: {}\r\n\
             connection: close\r\n",
            self.status,
            self.title,
            body.len()
        );
        for (name, value) in extra {
            head += &format!("{name}: {value}\r\n");
        }
        head += "\r\n";
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        bytes
    }
}

/// The media type of a problem document.
const PROBLEM: &str = "application/problem+json";

/// The most of a non-problem error body kept as the problem's detail.
const MAX_DETAIL: usize = 500;

/// Every answer leaves through here: an error (4xx, 5xx) that the router
/// or an extractor wrote some other way (axum's 405 with no body, a
/// `text/plain` rejection of a path, query or form) becomes a problem
/// document with the same status and headers, the text of a 4xx kept as
/// the detail; a 401 gets the challenge of the route's scheme. Dashboard pages
/// (`text/html`) stay pages.
pub(crate) async fn finish(method: &Method, path: &str, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut response = if kind.starts_with(PROBLEM) || kind.starts_with("text/html") {
        response
    } else {
        let (mut parts, body) = response.into_parts();
        let text = match http_body_util::Limited::new(body, 4 * MAX_DETAIL)
            .collect()
            .await
        {
            Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            Err(_) => String::new(),
        };
        let detail = match text.trim() {
            _ if status == StatusCode::METHOD_NOT_ALLOWED => format!(
                "{} is not a method of {}; the Allow header lists those that are",
                method.as_str().chars().take(20).collect::<String>(),
                path.chars().take(200).collect::<String>()
            ),
            // A 5xx says nothing internal.
            text if text.is_empty() || status.is_server_error() => {
                status.canonical_reason().unwrap_or("error").to_lowercase()
            }
            text => text.chars().take(MAX_DETAIL).collect(),
        };
        let mut fresh = Problem::new(status, detail).into_response();
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        fresh.headers_mut().extend(parts.headers);
        fresh
    };
    if status == StatusCode::UNAUTHORIZED {
        challenge(path, response.headers_mut());
    }
    response
}

/// What a 401 asks for (RFC 9110 §11.6.1): the admin bearer token on the
/// admin routes and the dashboard, an RFC 9421 signature (ed25519, keyed by
/// the signer's DID, covering what the README's signing profile names,
/// `Accept-Signature` per RFC 9421 §5.1) on every other route.
fn challenge(path: &str, headers: &mut HeaderMap) {
    if headers.contains_key(header::WWW_AUTHENTICATE) {
        return;
    }
    let signed = path.starts_with("/v1/") && !path.starts_with("/v1/admin");
    if signed {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Signature realm=\"assure\""),
        );
        let components: Vec<String> = crate::signature::COMPONENTS
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect();
        let accept = format!(
            "{}=({});alg=\"ed25519\"",
            crate::signature::LABEL,
            components.join(" ")
        );
        if let Ok(value) = HeaderValue::from_str(&accept) {
            headers.insert("accept-signature", value);
        }
    } else {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"assure-admin\""),
        );
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM));
        response
    }
}

impl From<assure_store::Error> for Problem {
    fn from(error: assure_store::Error) -> Self {
        Problem::internal(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    async fn finished(path: &str, response: Response) -> (Response, serde_json::Value) {
        let response = finish(&Method::GET, path, response).await;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or_default();
        (Response::from_parts(parts, Body::empty()), json)
    }

    #[tokio::test]
    async fn errors_become_problems_and_pages_stay_pages() {
        let empty = (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")]).into_response();
        let (response, json) = finished("/v1/orgs", empty).await;
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM);
        assert_eq!(response.headers()[header::ALLOW], "GET");
        assert_eq!(json["status"], 405);
        let plain = (StatusCode::BAD_REQUEST, "Invalid URL: not UTF-8").into_response();
        let (_, json) = finished("/v1/records/x", plain).await;
        assert_eq!(json["detail"], "Invalid URL: not UTF-8");
        let internal = (StatusCode::INTERNAL_SERVER_ERROR, "sled: /data/db broke").into_response();
        let (_, json) = finished("/v1/orgs", internal).await;
        assert_eq!(json["detail"], "internal server error");
        let page = (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<p>no</p>",
        )
            .into_response();
        let (response, _) = finished("/orgs/x", page).await;
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let ok = (StatusCode::OK, "fine").into_response();
        let (response, _) = finished("/healthz", ok).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_401_names_the_scheme_of_its_route() {
        let signed = Problem::unauthorized("no").into_response();
        let (response, _) = finished("/v1/orgs", signed).await;
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Signature realm=\"assure\""
        );
        assert!(response.headers().contains_key("accept-signature"));
        let admin = Problem::unauthorized("no").into_response();
        let (response, _) = finished("/v1/admin/peers", admin).await;
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"assure-admin\""
        );
    }
}
