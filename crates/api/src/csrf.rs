//! CSRF protection for every dashboard form, in one middleware.
//!
//! The dashboard is cookie-authenticated, so any request that changes state
//! must prove it comes from one of our own pages. [`guard`] refuses every
//! request but GET, HEAD, OPTIONS and TRACE outside `/v1` (whose callers
//! authenticate with a bearer token or a signature, never a cookie) and
//! the probes and metrics (which serve GET alone), unless its
//! `application/x-www-form-urlencoded` body carries the field
//! [`FIELD`] equal to the token of the session its cookie names, and the
//! browser does not report it as sent from another origin
//! (`Sec-Fetch-Site`). Forms render that field with [`field`]. The sign-in
//! form has no session yet: its token is the pre-session cookie set by the
//! page that shows the form, so another site cannot sign a browser in
//! either (login CSRF). A refusal is a 403 problem document, and the
//! handler never runs.
//!
//! Every page outside `/v1` is also refused to frames, so no other site can
//! overlay our buttons (clickjacking).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest as _, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use maud::{Markup, html};
use serde::Deserialize;

use crate::problem::Problem;
use crate::server::{AppState, constant_time_eq};
use crate::session::{LOGIN_COOKIE, Session, cookie};

/// The routes outside `/v1` that serve programs, not browsers.
const MACHINE: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The form field that carries the CSRF token.
pub(crate) const FIELD: &str = "csrf";

/// The hidden field every dashboard form must contain.
pub(crate) fn field(session: &Session) -> Markup {
    hidden(&session.csrf)
}

/// The hidden field with a given token (the sign-in form's pre-session one).
pub(crate) fn hidden(token: &str) -> Markup {
    html! { input type="hidden" name=(FIELD) value=(token); }
}

/// Routes whose forms are checked against the pre-session cookie instead
/// of a session.
pub(crate) fn is_sign_in(path: &str) -> bool {
    path == "/login"
}

#[derive(Deserialize)]
struct Token {
    csrf: Option<String>,
}

/// Refuses state-changing dashboard requests without the right token; see
/// the module documentation.
pub(crate) async fn guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/v1/") {
        return next.run(request).await;
    }
    // The probes and metrics take no form and change nothing: a method
    // they do not serve is the router's 405, not a CSRF refusal.
    let safe = MACHINE.contains(&path)
        || matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        );
    if safe {
        let mut response = next.run(request).await;
        refuse_frames(response.headers_mut());
        return response;
    }
    let expected = if is_sign_in(path) {
        cookie(request.headers(), LOGIN_COOKIE).map(str::to_owned)
    } else {
        state
            .sessions
            .of_request(request.headers())
            .map(|session| session.csrf)
    };
    let cross_site = request
        .headers()
        .get_all("sec-fetch-site")
        .iter()
        .any(|site| site != "same-origin");
    let (parts, body) = request.into_parts();
    // The body was read and size-limited by `authenticate`; this only
    // collects the buffer again.
    let Ok(collected) = body.collect().await else {
        return refused();
    };
    let bytes = collected.to_bytes();
    let mut form = Request::new(Body::from(bytes.clone()));
    *form.method_mut() = parts.method.clone();
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        form.headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    let sent = axum::Form::<Token>::from_request(form, &())
        .await
        .ok()
        .and_then(|f| f.0.csrf);
    let matches = matches!(
        (&expected, &sent),
        (Some(expected), Some(sent))
            if !expected.is_empty() && constant_time_eq(expected.as_bytes(), sent.as_bytes())
    );
    if cross_site || !matches {
        return refused();
    }
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    refuse_frames(response.headers_mut());
    response
}

fn refused() -> Response {
    Problem::new(
        StatusCode::FORBIDDEN,
        "the form's CSRF token is missing or does not match this session; \
         reload the page and send the form again",
    )
    .into_response()
}

fn refuse_frames(headers: &mut HeaderMap) {
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("frame-ancestors 'none'"));
}
