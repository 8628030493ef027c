//! The dashboard's alerts and webhooks pages.
//!
//! `/alerts` shows everyone the incidents and expiring certifications they
//! may see; the administrator also gets every alert of the node, stored and
//! computed, filtered by kind, acknowledged or not, and organization, each
//! with a button that acknowledges it (`POST /alerts/{id}/ack`).
//! `/webhooks` (administrator only) registers and removes the URLs alerts
//! are delivered to and shows the delivery log. Every form is a plain POST
//! with the session's CSRF token; nothing needs script. All of it runs the
//! node's one implementation through [`Control`](crate::Control).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use assure_model::predicate::Body;
use assure_model::{Did, RecordId};
use assure_verify::View;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;

use crate::alerts::{AlertFilter, AlertQuery};
use crate::dashboard::{not_found, page};
use crate::routes::legal_names;
use crate::server::{AppState, Ctx};
use crate::session::{AdminSession, Session};
use crate::table::Table;
use crate::{AlertView, csrf};

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/alerts", &["GET"], get(alerts))
        .route("/alerts/{id}/ack", &["POST"], post(acknowledge))
        .route(
            "/webhooks",
            &["GET", "POST"],
            get(webhooks).post(add_webhook),
        )
        .route("/webhooks/remove", &["POST"], post(remove_webhook))
}

const STYLE: &str = r#"
.filters{display:flex;flex-wrap:wrap;gap:.6em 1.2em;align-items:flex-end;margin:.6em 0}
.filters label,.field label{display:block;font-size:13px}
.filters select,.field input{font:inherit;padding:.25em .4em;max-width:100%}
.field input{width:100%;max-width:32em;box-sizing:border-box}
.scroll{overflow-x:auto;max-width:100%}
.error{color:#c0262d;font-weight:600}
.computed{font-style:italic}
td form{margin:0}
.scroll table{min-width:36em}
.wrap{overflow-wrap:anywhere}
"#;

/// A page of this module: the dashboard's page with this module's style.
fn styled(title: &str, ctx: &Ctx, body: Markup) -> Response {
    page(
        title,
        &ctx.caller,
        html! { style { (maud::PreEscaped(STYLE)) } (body) },
    )
}

/// The administrator's filter, as the form sends it back.
fn query_string(filter: &AlertFilter) -> String {
    let mut parts = Vec::new();
    if let Some(kind) = &filter.kind {
        parts.push(format!("kind={kind}"));
    }
    if let Some(ack) = filter.acknowledged {
        parts.push(format!("acknowledged={ack}"));
    }
    if let Some(org) = &filter.org {
        parts.push(format!("org={org}"));
    }
    match parts.is_empty() {
        true => String::new(),
        false => format!("?{}", parts.join("&")),
    }
}

async fn alerts(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    session: Option<Session>,
    query: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let admin = match (&session, ctx.caller.is_admin()) {
        (Some(session), true) => {
            let query = query.map(|Query(q)| q).unwrap_or_default();
            Some(admin_section(&state, session, query, None).await)
        }
        _ => None,
    };
    let caller = ctx.caller.clone();
    let work = tokio::task::spawn_blocking(move || shared_sections(&state, &ctx, admin));
    match work.await {
        Ok(Some(response)) => response,
        _ => not_found(&caller),
    }
}

/// The administrator's alert table with its filter and acknowledge
/// buttons; `error` is shown above the table (an acknowledgement refused).
async fn admin_section(
    state: &AppState,
    session: &Session,
    query: AlertQuery,
    error: Option<String>,
) -> Markup {
    let (filter, filter_error) = match query.filter() {
        Ok(filter) => (filter, None),
        Err(e) => (AlertFilter::default(), Some(e)),
    };
    let control = &state.config.control;
    let (listed, list_error) = match control.alerts(filter.clone()).await {
        Ok(listed) => (listed.alerts, None),
        Err(refused) => (Vec::new(), Some(refused.message)),
    };
    let everything = control
        .alerts(AlertFilter::default())
        .await
        .map(|l| l.alerts)
        .unwrap_or_default();
    let orgs: BTreeMap<String, String> = everything
        .iter()
        .map(|a| (a.origin.clone(), a.origin_name.clone()))
        .collect();
    let error = error.or(filter_error).or(list_error);
    let back = query_string(&filter);
    html! {
        h2 id="node-alerts" { "This node's alerts" }
        p class="muted" {
            "Raised when something happened (an incident naming us, equivocation, an audit "
            "awaiting our co-signature, an access request), or computed now (a certification "
            "ending within 60 days, a grant ending within 30 days). Acknowledged alerts no "
            "longer count in " code { "assure status" } ". "
            a href="/webhooks" { "Webhooks" } " receive each new one."
        }
        form class="filters" method="get" action="/alerts" aria-label="Filter alerts" {
            div {
                label for="kind" { "Kind" }
                select id="kind" name="kind" {
                    option value="" { "any" }
                    @for kind in assure_store::Alert::KINDS {
                        option value=(kind) selected[filter.kind.as_deref() == Some(kind)] { (kind) }
                    }
                }
            }
            div {
                label for="acknowledged" { "State" }
                select id="acknowledged" name="acknowledged" {
                    option value="" { "any" }
                    option value="false" selected[filter.acknowledged == Some(false)] { "not acknowledged" }
                    option value="true" selected[filter.acknowledged == Some(true)] { "acknowledged" }
                }
            }
            div {
                label for="org" { "Organization" }
                select id="org" name="org" {
                    option value="" { "any" }
                    @for (did, name) in &orgs {
                        option value=(did) selected[filter.org.as_deref() == Some(did.as_str())] { (name) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if let Some(error) = &error { p class="error" role="alert" { (error) } }
        div class="scroll" role="region" aria-label="This node's alerts" tabindex="0" {
            table {
                tr { th { "When" } th { "Kind" } th { "Organization" } th { "Detail" } th { "Acknowledged" } }
                @for a in &listed { (alert_row(a, session, &back)) }
            }
        }
        @if listed.is_empty() { p class="muted" { "No alerts match." } }
    }
}

fn alert_row(a: &AlertView, session: &Session, back: &str) -> Markup {
    let when = a.at.get(..16).unwrap_or(&a.at).replace('T', " ");
    html! {
        tr {
            td { (when) }
            td class=(if a.computed { "inconclusive computed" } else { "fail" }) {
                (a.kind) @if a.computed { br; span class="muted" { "computed" } }
            }
            td class="wrap" { (a.origin_name) }
            td class="wrap" {
                (a.detail)
                @if let Some(record) = &a.record {
                    " " a href=(format!("/records/{record}")) { "record" }
                    @if a.kind == assure_store::Alert::AWAITING_ACKNOWLEDGEMENT && a.acknowledged.is_none() {
                        " " (crate::forms::cosign_button(session, record))
                    }
                }
            }
            td {
                @match &a.acknowledged {
                    Some(ack) => { "by " (ack.by) br; span class="muted" { (ack.at.get(..16).unwrap_or(&ack.at).replace('T', " ")) } }
                    None => form method="post" action=(format!("/alerts/{}/ack{back}", a.id)) {
                        (csrf::field(session))
                        button type="submit" aria-label=(format!("Acknowledge the {} alert about {}", a.kind, a.origin_name)) { "Acknowledge" }
                    },
                }
            }
        }
    }
}

/// The sections everyone sees (incidents and certifications expiring
/// within 90 days among the records the visitor may read), after the
/// administrator's section, or, for a visitor, the alerts about logs it
/// may read. Runs on a blocking thread.
fn shared_sections(state: &AppState, ctx: &Ctx, admin: Option<Markup>) -> Option<Response> {
    let (seen, visible) = state.seen(ctx).ok()?;
    let now = Timestamp::now();
    let view = View::new(&seen, now);
    let names = legal_names(&seen);
    let name = |d: &Did| names.get(d).cloned().unwrap_or_else(|| d.fmt_short());
    let soon = now + jiff::SignedDuration::from_hours(24 * 90);
    let subjects: BTreeSet<Did> = seen.iter().map(|s| s.record.subject.did).collect();
    let mut incidents = Vec::new();
    let mut expiring = Vec::new();
    for did in subjects {
        for e in view.about(did) {
            match &e.record.predicate.body {
                Body::Incident(i) if !e.expired => incidents.push((did, e.record.id, i.clone())),
                Body::Audit(a) => {
                    if let Some(until) = e.record.predicate.common.valid_until
                        && until < soon
                    {
                        expiring.push((did, e.record.id, a.standard.clone(), until));
                    }
                }
                _ => {}
            }
        }
    }
    let raised = match admin {
        Some(_) => Vec::new(),
        None => state.config.store.alerts(&visible).ok()?,
    };
    // The page shows these incidents and audits: they are disclosed.
    let shown: Vec<RecordId> = incidents
        .iter()
        .map(|(_, id, _)| *id)
        .chain(expiring.iter().map(|(_, id, _, _)| *id))
        .collect();
    state
        .disclose_positions(
            &visible,
            seen.iter()
                .filter(|s| shown.contains(&s.record.id))
                .filter_map(|s| s.position.as_ref()),
        )
        .ok()?;
    let body = html! {
        @if admin.is_none() {
            h2 { "Alerts" }
            div class="scroll" role="region" aria-label="Alerts" tabindex="0" { table {
                tr { th { "When" } th { "Kind" } th { "Organization" } th { "Detail" } }
                @for a in &raised {
                    tr { td { (a.at.strftime("%Y-%m-%d %H:%M")) } td class="fail" { (a.kind) } td class="wrap" { code { (a.origin) } } td { (a.detail) } }
                }
            } }
        }
        h2 { "Certifications expiring within 90 days" }
        div class="scroll" role="region" aria-label="Certifications expiring within 90 days" tabindex="0" { table {
            tr { th { "Organization" } th { "Standard" } th { "Valid until" } }
            @for (did, id, standard, until) in &expiring {
                tr {
                    td { a href=(format!("/orgs/{did}")) { (name(did)) } }
                    td { a href=(format!("/records/{id}")) { (standard) } }
                    td class=(if *until < now { "fail" } else { "inconclusive" }) { (until.strftime("%Y-%m-%d")) }
                }
            }
        } }
        h2 { "Incidents" }
        div class="scroll" role="region" aria-label="Incidents" tabindex="0" { table {
            tr { th { "Organization" } th { "Severity" } th { "Summary" } th { "Status" } th { "Detected" } }
            @for (did, id, i) in &incidents {
                tr {
                    td { a href=(format!("/orgs/{did}")) { (name(did)) } }
                    td { (i.severity) }
                    td { a href=(format!("/records/{id}")) { (i.summary) } }
                    td class=(if i.status.as_str() == "resolved" { "pass" } else { "fail" }) { (i.status) }
                    td { (i.detected_at.strftime("%Y-%m-%d")) }
                }
            }
        } }
    };
    state.disclose_names(&visible, &seen, &body.0).ok()?;
    let body = html! { @if let Some(admin) = &admin { (admin) } (body) };
    Some(styled("Incidents and alerts", ctx, body))
}

/// Acknowledges an alert as the dashboard's administrator, then shows the
/// alerts again with the same filter; a refusal is shown on the page.
async fn acknowledge(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(id): Path<String>,
    query: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let back = query
        .clone()
        .filter()
        .map(|f| query_string(&f))
        .unwrap_or_default();
    match state
        .config
        .control
        .acknowledge(id, "dashboard".to_owned())
        .await
    {
        Ok(_) => Redirect::to(&format!("/alerts{back}#node-alerts")).into_response(),
        Err(refused) => {
            let message = match refused.not_found {
                true => "There is no such alert; nothing was acknowledged.".to_owned(),
                false => refused.message,
            };
            let admin = admin_section(&state, &session, query, Some(message)).await;
            let caller = ctx.caller.clone();
            let work =
                tokio::task::spawn_blocking(move || shared_sections(&state, &ctx, Some(admin)));
            match work.await {
                Ok(Some(response)) => response,
                _ => not_found(&caller),
            }
        }
    }
}

/// The webhooks page's form.
#[derive(Debug, Deserialize)]
struct WebhookForm {
    url: String,
}

async fn webhooks(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
) -> Response {
    webhooks_page(&state, &ctx, &session, "", None).await
}

async fn webhooks_page(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    url: &str,
    error: Option<String>,
) -> Response {
    let control = &state.config.control;
    let (hooks, attempts) = match (control.webhooks().await, control.deliveries(200).await) {
        (Ok(hooks), Ok(attempts)) => (hooks, attempts),
        _ => return not_found(&ctx.caller),
    };
    let body = html! {
        p class="muted" {
            "Each new alert is POSTed as JSON to every webhook below, signed with this "
            "organization's key (HTTP Message Signatures, RFC 9421, the key id being our DID), "
            "retried with growing pauses when the receiver fails. Redirects are not followed."
        }
        h2 { "Register a webhook" }
        form method="post" action="/webhooks" class="field" {
            (csrf::field(session))
            label for="url" { "URL (http://…)" }
            input id="url" name="url" type="text" inputmode="url" value=(url)
                autocomplete="off" aria-invalid=[error.as_ref().map(|_| "true")]
                aria-describedby=[error.as_ref().map(|_| "url-error")];
            @if let Some(error) = &error { p id="url-error" class="error" role="alert" { (error) } }
            p { button type="submit" { "Register" } }
        }
        h2 { "Webhooks" }
        div class="scroll" role="region" aria-label="Webhooks" tabindex="0" { table {
            tr { th { "URL" } th { "Registered" } th { "By" } th { "" } }
            @for hook in &hooks {
                tr {
                    td class="wrap" { code { (hook.url) } }
                    td { (hook.added_at.strftime("%Y-%m-%d %H:%M")) }
                    td { (hook.added_by) }
                    td {
                        form method="post" action="/webhooks/remove" {
                            (csrf::field(session))
                            input type="hidden" name="url" value=(hook.url);
                            button type="submit" aria-label=(format!("Remove {}", hook.url)) { "Remove" }
                        }
                    }
                }
            }
        } }
        @if hooks.is_empty() { p class="muted" { "None registered." } }
        h2 { "Delivery log" }
        div class="scroll" role="region" aria-label="Delivery log" tabindex="0" { table {
            tr { th { "When" } th { "Webhook" } th { "Event" } th { "Attempt" } th { "Answer" } th { "Outcome" } }
            @for a in &attempts {
                tr {
                    td { (a.at.strftime("%Y-%m-%d %H:%M:%S")) }
                    td class="wrap" { code { (a.url) } }
                    td { (a.kind) br; span class="muted" { (a.event.get(..12).unwrap_or(&a.event)) } }
                    td { (a.attempt) }
                    td class="wrap" {
                        @if let Some(status) = a.status { "HTTP " (status) }
                        @if let Some(error) = &a.error { " " (error) }
                    }
                    td class=(match a.outcome.as_str() { "delivered" => "pass", "failed" => "fail", _ => "inconclusive" }) { (a.outcome) }
                }
            }
        } }
        @if attempts.is_empty() { p class="muted" { "Nothing delivered yet." } }
    };
    // A refusal is the page again with the error beside the field (200:
    // browsers report a 4xx page load as an error of the page itself).
    styled("Webhooks", ctx, body)
}

async fn add_webhook(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    form: Result<Form<WebhookForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let url = form.map(|Form(f)| f.url).unwrap_or_default();
    match state
        .config
        .control
        .add_webhook(url.clone(), "dashboard".to_owned())
        .await
    {
        Ok(_) => Redirect::to("/webhooks").into_response(),
        Err(refused) => webhooks_page(&state, &ctx, &session, &url, Some(refused.message)).await,
    }
}

async fn remove_webhook(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    form: Result<Form<WebhookForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let url = form.map(|Form(f)| f.url).unwrap_or_default();
    match state.config.control.remove_webhook(url).await {
        Ok(_) => Redirect::to("/webhooks").into_response(),
        Err(refused) => webhooks_page(&state, &ctx, &session, "", Some(refused.message)).await,
    }
}
