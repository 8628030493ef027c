//! Signing in to the dashboard and out again.
//!
//! `GET /login` shows a form that POSTs the admin token to `/login`; the
//! token is never read from a URL. `GET /login/once/{code}` shows a button
//! that POSTs a one-time code instead (minted by the running node for
//! `assure dashboard-link` and the demo, good once, for
//! `api.login_link`). Either starts a session (`assure_session` cookie,
//! `api.session` long). `POST /logout` ends it. The sign-in form carries a
//! pre-session token from the `assure_login` cookie and every other form
//! the session's CSRF token; [`crate::csrf::guard`] checks both.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::csrf;
use crate::dashboard::page;
use crate::problem::Problem;
use crate::server::{AppState, constant_time_eq};
use crate::session::{LOGIN_COOKIE, SESSION_COOKIE, Session, cookie, random_secret, set_cookie};
use crate::table::Table;
use crate::visibility::Caller;

/// How long the sign-in form's pre-session token lasts.
const LOGIN_COOKIE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/login", &["GET", "POST"], get(login_page).post(sign_in))
        .route("/login/once/{code}", &["GET"], get(once_page))
        .route("/logout", &["GET", "POST"], get(logout_page).post(sign_out))
        .route("/v1/admin/dashboard-link", &["POST"], post(dashboard_link))
}

/// The pre-session token the browser already holds, or a new one to set.
fn login_token(headers: &HeaderMap) -> Result<(String, bool), Problem> {
    match cookie(headers, LOGIN_COOKIE) {
        Some(token) if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok((token.to_owned(), false))
        }
        _ => Ok((random_secret()?, true)),
    }
}

/// A sign-in page: never cached, never named in a `Referer`, and setting
/// the pre-session cookie when the browser did not have it.
fn sign_in_page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    body: Markup,
    token: &str,
    new: bool,
) -> Response {
    let mut response = page(title, &Caller::Anonymous, body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    private(headers);
    if new {
        headers.append(
            header::SET_COOKIE,
            set_cookie(
                LOGIN_COOKIE,
                token,
                "/login",
                Some(LOGIN_COOKIE_LIFETIME),
                state.config.settings.secure_cookies,
            ),
        );
    }
    response
}

fn private(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn token_form(token: &str, next: &str, notice: Option<&str>) -> Markup {
    html! {
        @if let Some(notice) = notice { p class="fail" { (notice) } }
        form method="post" action="/login" {
            (csrf::hidden(token))
            input type="hidden" name="next" value=(next);
            label { "Admin token " input type="password" name="token" autocomplete="current-password" required autofocus; }
            " " button type="submit" { "Sign in" }
        }
        p class="muted" {
            "The token is in " code { "admin.token" } " in the node's data directory. "
            code { "assure dashboard-link" } " prints a one-time sign-in link instead."
        }
    }
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    /// The dashboard page to show after signing in.
    next: Option<String>,
    /// Only to refuse it: the token is never taken from a URL.
    token: Option<String>,
}

/// Only a path on this site: never an open redirect.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.contains('\\')
            && !n.contains(char::is_control)
    })
    .unwrap_or("/")
}

async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let (token, new) = match login_token(&headers) {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    let next = safe_next(query.next.as_deref());
    let (status, notice) = if query.token.is_some() {
        (
            StatusCode::BAD_REQUEST,
            Some("The token is never accepted in a link: type it here instead."),
        )
    } else {
        (StatusCode::OK, None)
    };
    let body = token_form(&token, next, notice);
    sign_in_page(&state, status, "Sign in", body, &token, new)
}

async fn once_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let (token, new) = match login_token(&headers) {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    if !state.sessions.code_is_valid(&code) {
        return used_link(&state, &token, new);
    }
    let body = html! {
        p { "This one-time link signs this browser in as the node's administrator." }
        form method="post" action="/login" {
            (csrf::hidden(&token))
            input type="hidden" name="code" value=(code);
            button type="submit" { "Sign in" }
        }
    };
    sign_in_page(&state, StatusCode::OK, "Sign in", body, &token, new)
}

fn used_link(state: &AppState, token: &str, new: bool) -> Response {
    let body = html! {
        p class="fail" { "This sign-in link is not valid: it was used already, or it expired." }
        p { "Print a new one with " code { "assure dashboard-link" } ", or "
            a href="/login" { "sign in with the admin token" } "." }
    };
    sign_in_page(state, StatusCode::NOT_FOUND, "Sign in", body, token, new)
}

#[derive(Debug, Deserialize)]
struct SignIn {
    /// The admin token, from the sign-in form.
    token: Option<String>,
    /// A one-time code, from the page of a one-time link.
    code: Option<String>,
    next: Option<String>,
}

/// Checks the admin token or the one-time code, starts a session and
/// redirects to the page asked for.
async fn sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    // The guard let this through only with a pre-session token.
    let token = cookie(&headers, LOGIN_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let next = safe_next(form.next.as_deref()).to_owned();
    let accepted = match (&form.code, &form.token) {
        (Some(code), _) => {
            if !state.sessions.redeem(code) {
                let mut refused = used_link(&state, &token, false);
                *refused.status_mut() = StatusCode::UNAUTHORIZED;
                return refused;
            }
            true
        }
        (None, Some(given)) => {
            constant_time_eq(given.as_bytes(), state.config.admin_token.as_bytes())
        }
        (None, None) => false,
    };
    if !accepted {
        let body = token_form(&token, &next, Some("Wrong token."));
        return sign_in_page(
            &state,
            StatusCode::UNAUTHORIZED,
            "Sign in",
            body,
            &token,
            false,
        );
    }
    if let Some(old) = state.sessions.of_request(&headers) {
        state.sessions.end(&old);
    }
    let (id, _) = match state.sessions.create() {
        Ok(created) => created,
        Err(problem) => return problem.into_response(),
    };
    let secure = state.config.settings.secure_cookies;
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    private(headers);
    headers.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &id,
            "/",
            Some(state.sessions.lifetime()),
            secure,
        ),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, "", "/login", None, secure),
    );
    response
}

async fn logout_page(session: Option<Session>) -> Response {
    let Some(session) = session else {
        return Redirect::to("/").into_response();
    };
    let body = html! {
        form method="post" action="/logout" {
            (csrf::field(&session))
            button type="submit" { "Sign out" }
        }
    };
    let mut response = page("Sign out", &Caller::Admin, body);
    private(response.headers_mut());
    response
}

/// Ends the session and clears its cookie.
async fn sign_out(State(state): State<Arc<AppState>>, session: Option<Session>) -> Response {
    if let Some(session) = session {
        state.sessions.end(&session);
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            "",
            "/",
            None,
            state.config.settings.secure_cookies,
        ),
    );
    response
}

/// A one-time sign-in link to this node's dashboard.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DashboardLink {
    /// The path to open on this node's API address; it signs one browser
    /// in once.
    path: String,
    /// Seconds it stays valid.
    expires_in: u64,
}

/// Mints a one-time dashboard sign-in link (admin).
#[utoipa::path(post, path = "/v1/admin/dashboard-link", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = DashboardLink), (status = 401, body = Problem)))]
pub(crate) async fn dashboard_link(State(state): State<Arc<AppState>>) -> Response {
    match state.sessions.mint_code() {
        Ok(code) => Json(DashboardLink {
            path: format!("/login/once/{code}"),
            expires_in: state.sessions.code_lifetime().as_secs(),
        })
        .into_response(),
        Err(problem) => problem.into_response(),
    }
}
