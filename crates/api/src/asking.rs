//! The requester's side of the trust-centre flow on the dashboard, for the
//! administrator: `/requests/sent` asks another organization's node for
//! access and lists the requests we sent with how each was decided; the
//! page of an organization whose records we see carries the same form.
//!
//! A form sent without `confirm=yes` only shows the preview: what will be
//! sent, signed by our key, to whom, and what they learn by it. Confirming
//! sends it through [`crate::Control::request_access`], the operation of
//! `assure request-access`. Bad input, an address that does not answer and
//! a refusal by the other node are shown beside the field they are about
//! (or above the form), and nothing is stored. Anyone but the
//! administrator gets the dashboard's not-found page.

use std::collections::BTreeMap;
use std::sync::Arc;

use assure_model::Did;
use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use crate::csrf;
use crate::dashboard::page;
use crate::server::{AppState, Ctx};
use crate::session::{AdminSession, Session};
use crate::table::Table;
use crate::visibility::Caller;
use crate::{AccessAsk, NotSent, SentRequest};

/// Where the page lives.
pub(crate) const PATH: &str = "/requests/sent";
/// "Check now": one follow-up of the pending request `id`.
const CHECK: &str = "/requests/sent/{id}/check";

const CLEARANCES: &[&str] = &["partner", "confidential", "secret"];
const ROLES: &[&str] = &["customer", "supplier", "logistics", "auditor", "regulator"];

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route(PATH, &["GET", "POST"], get(sent_page).post(ask))
        .route(CHECK, &["POST"], post(check))
}

/// The form as sent: every field, in order.
type Fields = Vec<(String, String)>;

fn one<'f>(fields: &'f Fields, name: &str) -> &'f str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

/// The request the form describes; an empty basis field is no basis.
fn ask_of(fields: &Fields) -> AccessAsk {
    let optional = |name| Some(one(fields, name).to_owned()).filter(|v| !v.is_empty());
    AccessAsk {
        clearance: one(fields, "clearance").to_owned(),
        role: one(fields, "role").to_owned(),
        purpose: one(fields, "purpose").to_owned(),
        basis: optional("basis"),
        legal_basis: optional("legal_basis"),
    }
}

/// The answer for a page the node could not make.
fn failed(caller: &Caller, error: &str) -> Response {
    tracing::error!(%error, "dashboard page failed");
    let mut response = page(
        "Not available",
        caller,
        html! { p class="fail" { "The node could not answer; see its log." } },
    );
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// Legal names of the organizations we see, and ours.
async fn names(state: &Arc<AppState>, ctx: &Ctx) -> Result<BTreeMap<Did, String>, String> {
    let (state, ctx) = (state.clone(), ctx.clone());
    tokio::task::spawn_blocking(move || {
        let visible = state.visible(&ctx).map_err(|p| p.detail)?;
        let mut names = state.names(&visible).map_err(|p| p.detail)?;
        if let Ok(Some(own)) = state.config.store.name() {
            names.entry(state.owner()).or_insert(own);
        }
        Ok(names)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The address of `node`'s API we used last, if we ever asked it.
fn known_url(sent: &[SentRequest], node: &Did) -> Option<String> {
    let node = node.to_string();
    sent.iter()
        .rev()
        .find(|s| s.node == node)
        .map(|s| s.url.clone())
}

/// The refusal shown beside `field`, if it is about that field.
fn error_at(error: Option<&NotSent>, field: &str) -> Markup {
    html! {
        @if let Some(e) = error.filter(|e| e.field == Some(field) || (field.is_empty() && e.field.is_none())) {
            @if field.is_empty() {
                p class="fail" id="ask-error" role="alert" { (e.message) }
            } @else {
                span class="fail" id=(format!("{field}-error")) role="alert" { " " (e.message) }
            }
        }
    }
}

fn described(error: Option<&NotSent>, field: &'static str) -> Option<String> {
    error
        .filter(|e| e.field == Some(field))
        .map(|_| format!("{field}-error"))
}

/// The "Request access" form, filled with `fields`, the refusal beside its
/// field. `to`: the organization it is for (a hidden field then), else a
/// field for its DID.
fn form(
    session: &Session,
    to: Option<(&Did, &str)>,
    fields: &Fields,
    error: Option<&NotSent>,
) -> Markup {
    let value = |name: &str| one(fields, name).to_owned();
    let input = |name: &'static str, label: &str, hint: &str| {
        html! {
            p { label for=(name) { (label) } br;
                @if !hint.is_empty() { span class="muted" id=(format!("{name}-hint")) { (hint) } br; }
                input id=(name) name=(name) value=(value(name)) style="width:36em;max-width:100%"
                    aria-describedby=[described(error, name).or_else(|| (!hint.is_empty()).then(|| format!("{name}-hint")))];
                (error_at(error, name)) }
        }
    };
    let chosen = |name: &str, default: &str| {
        let v = value(name);
        if v.is_empty() { default.to_owned() } else { v }
    };
    html! {
        (error_at(error, ""))
        form method="post" action=(PATH) class="card" id="ask" {
            (csrf::field(session))
            @match to {
                Some((did, name)) => {
                    input type="hidden" name="node" value=(did);
                    p { "To " strong { (name) } }
                    (error_at(error, "node"))
                }
                None => (input("node", "Organization (its DID)", "did:key:z6Mk…, from their trust centre or contract")),
            }
            (input("url", "Their node's API address", "such as http://node.example:8080"))
            p { label for="clearance" { "Clearance" } br;
                select id="clearance" name="clearance" aria-describedby=[described(error, "clearance")] {
                    @for c in CLEARANCES { option value=(c) selected[*c == chosen("clearance", "partner")] { (c) } }
                }
                (error_at(error, "clearance")) }
            p { label for="role" { "Role" } br;
                select id="role" name="role" aria-describedby=[described(error, "role")] {
                    @for r in ROLES { option value=(r) selected[*r == chosen("role", "customer")] { (r) } }
                }
                (error_at(error, "role")) }
            (input("purpose", "Purpose", "why we need access, in a sentence they will read"))
            (input("basis", "Basis", "the NDA or contract reference"))
            (input("legal_basis", "Legal basis", "for the regulator role only, instead of a basis"))
            button type="submit" { "Preview the request" }
        }
    }
}

/// The "Request access" section of an organization's page, for the
/// administrator: its session and the address of that organization's
/// node we used last.
#[derive(Debug)]
pub(crate) struct OrgAsk {
    session: Session,
    url: Option<String>,
}

impl OrgAsk {
    /// The section for the page of `did`: `None` for anyone but the
    /// administrator, and on our own page.
    pub(crate) async fn of(
        state: &Arc<AppState>,
        ctx: &Ctx,
        session: Option<Session>,
        did: Did,
    ) -> Option<Self> {
        let session = session.filter(|_| ctx.caller.is_admin())?;
        if did == state.owner() {
            return None;
        }
        let sent = state.config.control.sent_requests().await.ok()?;
        Some(Self {
            session,
            url: known_url(&sent, &did),
        })
    }

    /// The section, for `did` known as `name`.
    pub(crate) fn section(&self, did: &Did, name: &str) -> Markup {
        let fields: Fields = self.url.iter().map(|u| ("url".into(), u.clone())).collect();
        html! {
            h2 id="request-access" { "Request access" }
            p class="muted" {
                "Ask " (name) " for access to what it shares with its partners. "
                a href=(PATH) { "Our requests and how they were decided" }
            }
            (form(&self.session, Some((did, name)), &fields, None))
        }
    }
}

#[derive(Debug, Deserialize)]
struct SentQuery {
    /// The id of the request just sent.
    sent: Option<String>,
}

async fn sent_page(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Query(query): Query<SentQuery>,
) -> Response {
    view(
        &state,
        &ctx,
        &session,
        &Vec::new(),
        None,
        query.sent.as_deref(),
    )
    .await
}

/// The page: our requests, and the form filled with `fields`.
async fn view(
    state: &Arc<AppState>,
    ctx: &Ctx,
    session: &Session,
    fields: &Fields,
    error: Option<&NotSent>,
    just_sent: Option<&str>,
) -> Response {
    let sent = match state.config.control.sent_requests().await {
        Ok(sent) => sent,
        Err(refused) => return failed(&ctx.caller, &refused.message),
    };
    let body = html! {
        p class="muted" {
            "Ask another organization's node for access to what it shares with its partners. "
            "The request is signed with our key; they learn only what it says. "
            "Our node asks theirs how it was decided until it is, and raises an alert with the outcome. "
            a href="/requests" { "Requests other organizations sent us" }
        }
        @if just_sent.is_some_and(|id| sent.iter().any(|s| s.id == id)) {
            p class="pass" role="status" { "Sent: the request awaits their decision." }
        }
        h2 { "Our requests" }
        @if sent.is_empty() { p class="muted" { "None yet." } }
        @else { (sent_table(session, &sent)) }
        h2 id="request-access" { "Request access" }
        (form(session, None, fields, error))
    };
    page("Asking for access", &ctx.caller, body)
}

fn sent_table(session: &Session, sent: &[SentRequest]) -> Markup {
    let day = |t: &str| {
        t.parse::<jiff::Timestamp>()
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|_| t.to_owned())
    };
    html! {
        div style="overflow-x:auto" {
            table {
                tr { th { "To" } th { "Sent" } th { "Asked for" } th { "Status" } }
                @for s in sent.iter().rev() {
                    tr {
                        td { (s.node_name) br; span class="muted" { (s.url) } }
                        td { (day(&s.at)) }
                        td { (s.clearance) " clearance as " (s.role) }
                        td {
                            span class=(match s.status.as_str() { "approved" => "pass", "declined" => "fail", _ => "inconclusive" }) { (s.status) }
                            @if let Some(at) = &s.decided_at { " " span class="muted" { (day(at)) } }
                            @if let Some(reason) = &s.reason { ": " (reason) }
                            @if s.status == "pending" {
                                form method="post" action=(CHECK.replace("{id}", &s.id)) style="display:inline" {
                                    (csrf::field(session))
                                    " " button type="submit" aria-label=(format!("Check now how {} decided", s.node_name)) { "Check now" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Asks the other node now how our request `id` was decided (one
/// follow-up, as the node's own), then shows the page again.
async fn check(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(id): Path<String>,
) -> Response {
    match state.config.control.check_sent_request(id).await {
        Ok(_) => Redirect::to(PATH).into_response(),
        Err(refused) if refused.not_found => {
            let error = NotSent {
                field: None,
                message: refused.message,
            };
            let mut response = view(&state, &ctx, &session, &Vec::new(), Some(&error), None).await;
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
        Err(refused) => failed(&ctx.caller, &refused.message),
    }
}

/// Previews a request, or with `confirm=yes` sends it.
async fn ask(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Form(fields): Form<Fields>,
) -> Response {
    let bad = |error: NotSent| {
        let (state, ctx, session, fields) = (&state, &ctx, &session, &fields);
        async move { view(state, ctx, session, fields, Some(&error), None).await }
    };
    let Ok(node) = one(&fields, "node").parse::<Did>() else {
        return bad(NotSent::at(
            "node",
            "not a did:key identifier: give the organization's DID (did:key:z6Mk…), not its name",
        ))
        .await;
    };
    let ask = ask_of(&fields);
    let url = one(&fields, "url").to_owned();
    let control = &state.config.control;
    if one(&fields, "confirm") == "yes" {
        return match control.request_access(node, url, ask).await {
            Ok(sent) => Redirect::to(&format!("{PATH}?sent={}", sent.id)).into_response(),
            Err(error) => bad(error).await,
        };
    }
    let url = match control.check_access_request(node, url, ask.clone()).await {
        Ok(url) => url,
        Err(error) => return bad(error).await,
    };
    let names = match names(&state, &ctx).await {
        Ok(names) => names,
        Err(error) => return failed(&ctx.caller, &error),
    };
    let us = state.owner();
    let body = html! {
        div class="card" {
            dl class="facts" {
                dt { "To" } dd { strong { (node.named(names.get(&node).map(String::as_str))) } }
                dt { "Their node" } dd { (url) }
                dt { "Signed by our key" } dd { (us.named(names.get(&us).map(String::as_str))) }
                dt { "Clearance" } dd { (ask.clearance) }
                dt { "Role" } dd { (ask.role) }
                dt { "Purpose" } dd { (ask.purpose) }
                @if let Some(basis) = &ask.basis { dt { "Basis" } dd { (basis) } }
                @if let Some(legal) = &ask.legal_basis { dt { "Legal basis" } dd { (legal) } }
            }
        }
        h2 { "What they will learn" }
        p { "Only this request: our organization's key (its DID) and the fields above. "
            "Nothing of our records, our grants or our other partners. "
            "Their operator approves it (a grant) or declines it with a reason; our node asks how it was decided." }
        form method="post" action=(PATH) {
            (csrf::field(&session))
            @for (k, v) in fields.iter().filter(|(k, _)| k != "csrf" && k != "confirm") {
                input type="hidden" name=(k) value=(v);
            }
            input type="hidden" name="confirm" value="yes";
            button type="submit" { "Send the request" }
            " " a href=(PATH) { "Cancel" }
        }
    };
    page("Preview the access request", &ctx.caller, body)
}
