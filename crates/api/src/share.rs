//! The dashboard's sharing pages, for the administrator: grants (add,
//! change, revoke, each after a preview of what the party would then read),
//! compartments for a named audience, and the access requests other
//! organizations sent (approve with a validity, or decline saying why).
//!
//! Every action is a POST form carrying the session's CSRF token, and runs
//! the node's own operation through [`crate::Control`]: the same one as
//! the CLI and the admin API. A form sent without `confirm=yes` only shows
//! the preview; bad input is shown next to its field and changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use assure_model::Did;
use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use serde::Deserialize;

use crate::csrf;
use crate::dashboard::{not_found, page};
use crate::server::{AppState, Ctx};
use crate::session::{AdminSession, Session};
use crate::table::Table;
use crate::visibility::Caller;
use crate::{AccessDecision, AccessRequestView, GrantTerms, GrantView, NewCompartment, Readable};

/// The status of a form shown again with its errors: 200, as the page is
/// what the browser should show (a 4xx would be logged as a failed load).
const REFUSED: StatusCode = StatusCode::OK;

/// Grants ending within this long are listed as expiring.
const EXPIRING: SignedDuration = SignedDuration::from_hours(30 * 24);

const CLEARANCES: &[&str] = &["partner", "confidential", "secret"];
const ROLES: &[&str] = &["customer", "supplier", "logistics", "auditor", "regulator"];

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/grants", &["GET", "POST"], get(grants_page).post(grant))
        .route("/grants/revoke", &["POST"], post(revoke))
        .route("/grants/compartments", &["POST"], post(add_compartment))
        .route("/requests", &["GET"], get(requests_page))
        .route("/requests/{id}", &["POST"], post(decide))
}

/// A form as sent: every field, in order (roles repeat).
type Fields = Vec<(String, String)>;

fn one<'f>(fields: &'f Fields, name: &str) -> &'f str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

fn all<'f>(fields: &'f Fields, name: &'f str) -> impl Iterator<Item = &'f str> {
    fields
        .iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.trim())
}

fn confirmed(fields: &Fields) -> bool {
    one(fields, "confirm") == "yes"
}

/// Errors by field; `""` for the form as a whole.
#[derive(Debug, Default)]
struct Errors(BTreeMap<&'static str, String>);

impl Errors {
    fn of(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.0.insert(field, message.into());
        errors
    }

    /// A refusal of the grant operation, next to the field it is about.
    fn of_grant(message: String) -> Self {
        let lower = message.to_lowercase();
        let field = if lower.starts_with("clearance") {
            "clearance"
        } else if lower.starts_with("role") {
            "roles"
        } else if lower.starts_with("valid from") {
            "from"
        } else if lower.starts_with("valid until") || lower.contains("ends before") {
            "until"
        } else if lower.contains("basis") {
            "basis"
        } else if lower.contains("did:key") || lower.contains("unknown here") {
            "party"
        } else {
            ""
        };
        Self::of(field, message)
    }

    fn at(&self, field: &str) -> Markup {
        html! {
            @if let Some(message) = self.0.get(field) {
                span class="fail" id=(format!("{field}-error")) role="alert" { " " (message) }
            }
        }
    }

    fn described(&self, field: &str) -> Option<String> {
        self.0.get(field).map(|_| format!("{field}-error"))
    }
}

/// The answer for anyone but the administrator: the dashboard's not-found
/// page.
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

/// `YYYY-MM-DD` from a date field as the end (or start) of that day in
/// UTC; anything else as given, for the operation to judge.
fn day(text: &str, end: bool) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let is_date = text.len() == 10 && text.parse::<jiff::civil::Date>().is_ok();
    Some(match (is_date, end) {
        (true, true) => format!("{text}T23:59:59Z"),
        (true, false) => format!("{text}T00:00:00Z"),
        (false, _) => text.to_owned(),
    })
}

fn short_day(text: Option<&str>) -> String {
    text.and_then(|t| t.parse::<Timestamp>().ok())
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn terms_of(fields: &Fields) -> GrantTerms {
    GrantTerms {
        clearance: one(fields, "clearance").to_owned(),
        roles: all(fields, "roles").map(str::to_owned).collect(),
        basis: one(fields, "basis").to_owned(),
        valid_from: day(one(fields, "from"), false),
        valid_until: day(one(fields, "until"), true),
        unknown_party: one(fields, "unknown") == "yes",
    }
}

fn readable_list(readable: &[Readable]) -> Markup {
    html! {
        @if readable.is_empty() {
            p { strong { "nothing" } " of ours." }
        } @else {
            ul { @for r in readable { li { strong { (r.label) } " " span class="muted" { "(" (r.tlp) ")" } } } }
        }
    }
}

// ------------------------------------------------------------------ grants

#[derive(Debug, Deserialize)]
struct GrantsQuery {
    /// The party whose grant the form is filled with.
    change: Option<String>,
}

async fn grants_page(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Query(query): Query<GrantsQuery>,
) -> Response {
    let mut fields: Fields = Vec::new();
    if let Some(party) = query.change {
        let grants = grants(&state, &ctx).await;
        if let Ok(grants) = grants
            && let Some(g) = grants.iter().find(|g| g.party == party)
        {
            fields.push(("party".into(), g.party.clone()));
            fields.push(("clearance".into(), g.clearance.clone()));
            fields.extend(g.roles.iter().map(|r| ("roles".into(), r.clone())));
            fields.push(("basis".into(), g.basis.clone()));
            fields.push(("until".into(), short_day(g.valid_until.as_deref())));
        }
    }
    grants_view(
        &state,
        &ctx,
        &session,
        &fields,
        &Errors::default(),
        StatusCode::OK,
    )
    .await
}

async fn grants(state: &Arc<AppState>, ctx: &Ctx) -> Result<Vec<GrantView>, String> {
    let state = state.clone();
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let names = state
            .names(&state.visible(&ctx).map_err(|p| p.detail)?)
            .map_err(|p| p.detail)?;
        let grants = state.config.store.grants().map_err(|e| e.to_string())?;
        Ok(grants.iter().map(|g| GrantView::named(g, &names)).collect())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The grants page, its grant form filled with `fields` and `errors`
/// beside them.
async fn grants_view(
    state: &Arc<AppState>,
    ctx: &Ctx,
    session: &Session,
    fields: &Fields,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let grants = match grants(state, ctx).await {
        Ok(grants) => grants,
        Err(error) => return failed(&ctx.caller, &error),
    };
    let compartments = match state.config.control.compartments().await {
        Ok(compartments) => compartments,
        Err(error) => return failed(&ctx.caller, &error),
    };
    let now = Timestamp::now();
    let expiring: Vec<&GrantView> = grants
        .iter()
        .filter(|g| g.active)
        .filter(|g| {
            g.valid_until
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .is_some_and(|until| until.duration_since(now) <= EXPIRING)
        })
        .collect();
    let body = html! {
        p { a href="/requests" { "Access requests" } " other organizations sent us." }
        h2 id="expiring" { "Grants ending within 30 days" }
        @if expiring.is_empty() { p class="muted" { "None." } }
        ul { @for g in &expiring {
            li { (g.party_name) " — ends " (short_day(g.valid_until.as_deref())) " "
                 a href=(format!("/grants?change={}#grant", g.party)) { "renew" } }
        } }
        h2 { "Grants" }
        div style="overflow-x:auto" {
            table {
                tr { th { "Party" } th { "Clearance" } th { "Roles" } th { "Basis" } th { "Valid until" } th { "Version" } th { "State" } th { "Actions" } }
                @for g in &grants {
                    tr {
                        td style="word-break:break-all" { (g.party_name) }
                        td { (g.clearance) }
                        td { (g.roles.join(", ")) }
                        td { (g.basis) }
                        td { @match &g.valid_until { Some(_) => (short_day(g.valid_until.as_deref())), None => "open-ended" } }
                        td { (g.version) }
                        td class=(if g.active { "pass" } else { "fail" }) {
                            @if g.revoked_at.is_some() { "revoked" } @else if g.active { "active" } @else { "not active" }
                        }
                        td {
                            a href=(format!("/grants?change={}#grant", g.party)) { "Change" }
                            @if g.revoked_at.is_none() {
                                form method="post" action="/grants/revoke" style="display:inline" {
                                    (csrf::field(session))
                                    input type="hidden" name="party" value=(g.party);
                                    " " button type="submit" aria-label=(format!("Revoke the grant of {}", g.party_name)) { "Revoke…" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if grants.is_empty() { p class="muted" { "No grants: only public compartments are read." } }
        h2 id="grant" { "Add or change a grant" }
        p class="muted" { "A grant replaces the party's current one. You see what it would let the party read before anything changes." }
        (grant_form(session, fields, errors))
        h2 id="compartments" { "Compartments" }
        div style="overflow-x:auto" {
            table {
                tr { th { "Label" } th { "TLP" } th { "Entries" } th { "Readers" } }
                @for c in &compartments {
                    tr {
                        td { (c.label) }
                        td { (c.tlp) }
                        td { (c.size) }
                        td style="word-break:break-all" {
                            @if c.public { "anyone" } @else {
                                (c.readers.iter().map(|r| r.did.named(r.name.as_deref())).collect::<Vec<_>>().join(", "))
                            }
                        }
                    }
                }
            }
        }
        h3 { "A compartment for a named audience" }
        (compartment_form(session, fields, errors))
    };
    let mut response = page("Grants and compartments", &ctx.caller, body);
    *response.status_mut() = status;
    response
}

fn grant_form(session: &Session, fields: &Fields, errors: &Errors) -> Markup {
    let roles: Vec<&str> = all(fields, "roles").collect();
    let clearance = match one(fields, "clearance") {
        "" => "partner",
        c => c,
    };
    html! {
        @if !one(fields, "compartment").is_empty() {} @else { (errors.at("")) }
        form method="post" action="/grants" class="card" {
            (csrf::field(session))
            p { label for="party" { "Party (DID)" } br;
                input id="party" name="party" value=(one(fields, "party")) required size="40"
                    style="max-width:100%" aria-describedby=[errors.described("party")];
                (errors.at("party")) }
            p { label for="clearance" { "Clearance" } br;
                select id="clearance" name="clearance" aria-describedby=[errors.described("clearance")] {
                    @for c in CLEARANCES { option value=(c) selected[*c == clearance] { (c) } }
                }
                (errors.at("clearance")) }
            fieldset aria-describedby=[errors.described("roles")] {
                legend { "Roles" }
                @for r in ROLES {
                    label { input type="checkbox" name="roles" value=(r) checked[roles.contains(r)]; " " (r) } " "
                }
                (errors.at("roles"))
            }
            p { label for="basis" { "Basis (contract or NDA reference)" } br;
                input id="basis" name="basis" value=(one(fields, "basis")) required
                    aria-describedby=[errors.described("basis")];
                (errors.at("basis")) }
            p { label for="from" { "Valid from (empty: now)" } br;
                input id="from" type="date" name="from" value=(one(fields, "from"))
                    aria-describedby=[errors.described("from")];
                (errors.at("from")) }
            p { label for="until" { "Valid until (empty: open-ended)" } br;
                input id="until" type="date" name="until" value=(one(fields, "until"))
                    aria-describedby=[errors.described("until")];
                (errors.at("until")) }
            p { label { input type="checkbox" name="unknown" value="yes" checked[one(fields, "unknown") == "yes"];
                " this party is new here (no record by or about it, not in the peer book)" } }
            button type="submit" { "Preview" }
        }
    }
}

fn compartment_form(session: &Session, fields: &Fields, errors: &Errors) -> Markup {
    let ours = !one(fields, "compartment").is_empty();
    let value = |name: &str| if ours { one(fields, name) } else { "" };
    html! {
        @if ours { (errors.at("")) }
        form method="post" action="/grants/compartments" class="card" {
            (csrf::field(session))
            input type="hidden" name="compartment" value="yes";
            p { label for="label" { "Label" } br;
                input id="label" name="label" value=(value("label")) required
                    aria-describedby=[errors.described("label")];
                (errors.at("label")) }
            p { label for="readers" { "Readers (one DID per line)" } br;
                textarea id="readers" name="readers" rows="3" cols="40" style="max-width:100%"
                    aria-describedby=[errors.described("readers")] { (value("readers")) }
                (errors.at("readers")) }
            p { label { input type="checkbox" name="regulators" value="yes" checked[value("regulators") == "yes"];
                " regulators may read it too" } }
            p { label for="min_clearance" { "Least clearance" } br;
                select id="min_clearance" name="min_clearance" {
                    @for c in CLEARANCES { option value=(c) selected[*c == value("min_clearance")] { (c) } }
                } }
            button type="submit" { "Find or make the compartment" }
        }
    }
}

/// Previews a grant, or with `confirm=yes` makes it.
async fn grant(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Form(fields): Form<Fields>,
) -> Response {
    let bad = |errors: Errors| {
        let (state, ctx, session, fields) = (&state, &ctx, &session, &fields);
        async move { grants_view(state, ctx, session, fields, &errors, REFUSED).await }
    };
    let Ok(party) = one(&fields, "party").parse::<Did>() else {
        return bad(Errors::of(
            "party",
            "not a did:key identifier: give the organization's DID (did:key:z6Mk…), not its name",
        ))
        .await;
    };
    let terms = terms_of(&fields);
    let control = &state.config.control;
    if confirmed(&fields) {
        return match control.grant(party, terms).await {
            Ok(_) => Redirect::to("/grants").into_response(),
            Err(refused) => bad(Errors::of_grant(refused.message)).await,
        };
    }
    let readable = match control.grant_preview(party, Some(terms.clone())).await {
        Ok(readable) => readable,
        Err(refused) => return bad(Errors::of_grant(refused.message)).await,
    };
    let body = html! {
        div class="card" {
            p { "Party " code style="word-break:break-all" { (party) } }
            p { "Clearance " strong { (terms.clearance) } ", roles "
                strong { @if terms.roles.is_empty() { "none" } @else { (terms.roles.join(", ")) } }
                ", basis " strong { (terms.basis) } }
            p { "Valid from " (terms.valid_from.as_deref().unwrap_or("now"))
                " until " (terms.valid_until.as_deref().unwrap_or("revoked (open-ended)")) }
        }
        h2 { "This party will be able to read:" }
        (readable_list(&readable))
        form method="post" action="/grants" {
            (csrf::field(&session))
            @for (k, v) in fields.iter().filter(|(k, _)| k != "csrf" && k != "confirm") {
                input type="hidden" name=(k) value=(v);
            }
            input type="hidden" name="confirm" value="yes";
            button type="submit" { "Grant" }
            " " a href="/grants" { "Cancel" }
        }
    };
    page("Preview the grant", &ctx.caller, body)
}

/// Previews revoking a grant, or with `confirm=yes` revokes it.
async fn revoke(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Form(fields): Form<Fields>,
) -> Response {
    let bad = |message: String| {
        let (state, ctx, session) = (&state, &ctx, &session);
        async move {
            let errors = Errors::of("", message);
            grants_view(state, ctx, session, &Vec::new(), &errors, REFUSED).await
        }
    };
    let Ok(party) = one(&fields, "party").parse::<Did>() else {
        return bad("not a did:key identifier".to_owned()).await;
    };
    let control = &state.config.control;
    if confirmed(&fields) {
        return match control.revoke(party).await {
            Ok(_) => Redirect::to("/grants").into_response(),
            Err(refused) => bad(refused.message).await,
        };
    }
    let readable = match control.grant_preview(party, None).await {
        Ok(readable) => readable,
        Err(refused) => return bad(refused.message).await,
    };
    let body = html! {
        p { "Revoking takes effect at once: open streams to "
            code style="word-break:break-all" { (party) } " are closed." }
        h2 { "This party will be able to read:" }
        (readable_list(&readable))
        form method="post" action="/grants/revoke" {
            (csrf::field(&session))
            input type="hidden" name="party" value=(party);
            input type="hidden" name="confirm" value="yes";
            button type="submit" { "Revoke" }
            " " a href="/grants" { "Cancel" }
        }
    };
    page("Preview the revocation", &ctx.caller, body)
}

/// Finds or makes the compartment of exactly the readers given.
async fn add_compartment(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Form(fields): Form<Fields>,
) -> Response {
    let bad = |errors: Errors| {
        let (state, ctx, session, fields) = (&state, &ctx, &session, &fields);
        async move { grants_view(state, ctx, session, fields, &errors, REFUSED).await }
    };
    let mut readers = std::collections::BTreeSet::new();
    for line in one(&fields, "readers")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        match line.parse::<Did>() {
            Ok(did) => readers.insert(did),
            Err(_) => {
                return bad(Errors::of(
                    "readers",
                    format!("`{line}` is not a did:key identifier"),
                ))
                .await;
            }
        };
    }
    let Ok(min_clearance) = one(&fields, "min_clearance").parse() else {
        return bad(Errors::of(
            "",
            "give partner, confidential or secret as the least clearance",
        ))
        .await;
    };
    let new = NewCompartment {
        label: one(&fields, "label").to_owned(),
        readers,
        roles: match one(&fields, "regulators") {
            "yes" => [assure_access::Role::Regulator].into(),
            _ => Default::default(),
        },
        min_clearance,
    };
    match state.config.control.add_compartment(new).await {
        Ok(_) => Redirect::to("/grants#compartments").into_response(),
        Err(message) => {
            let field = if message.contains("label") {
                "label"
            } else if message.contains("reader") {
                "readers"
            } else {
                ""
            };
            bad(Errors::of(field, message)).await
        }
    }
}

// ---------------------------------------------------------------- requests

async fn requests_page(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
) -> Response {
    requests_view(&state, &ctx, &session, None, StatusCode::OK).await
}

/// The requests page, with `error` beside the request it is about.
async fn requests_view(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    error: Option<(&str, &str, String)>,
    status: StatusCode,
) -> Response {
    let requests = match state.config.control.access_requests().await {
        Ok(requests) => requests,
        Err(error) => return failed(&ctx.caller, &error),
    };
    let (pending, decided): (Vec<_>, Vec<_>) =
        requests.iter().rev().partition(|r| r.status == "pending");
    let error_at = |id: &str, field: &str| -> Markup {
        html! {
            @if let Some((i, f, message)) = &error {
                @if *i == id && *f == field { span class="fail" id=(format!("{field}-{id}-error")) role="alert" { " " (message) } }
            }
        }
    };
    let body = html! {
        p class="muted" {
            "Organizations that can see our public profile ask for access with a request signed by their key. "
            "Approving makes the grant they asked for, with the validity you choose; declining tells them why."
        }
        p { a href=(crate::asking::PATH) { "Our own requests to other organizations, and asking for access" } }
        h2 { "Awaiting a decision" }
        @if pending.is_empty() { p class="muted" { "None." } }
        @for r in &pending {
            div class="card" {
                (request_summary(r))
                form method="post" action=(format!("/requests/{}", r.id)) {
                    (csrf::field(session))
                    input type="hidden" name="action" value="approve";
                    label for=(format!("until-{}", r.id)) { "Valid until (empty: open-ended)" } " "
                    input id=(format!("until-{}", r.id)) type="date" name="until";
                    (error_at(&r.id, "until"))
                    " " button type="submit" { "Preview approval" }
                }
                form method="post" action=(format!("/requests/{}", r.id)) {
                    (csrf::field(session))
                    input type="hidden" name="action" value="decline";
                    label for=(format!("reason-{}", r.id)) { "Reason" } " "
                    input id=(format!("reason-{}", r.id)) name="reason" required;
                    (error_at(&r.id, "reason"))
                    " " button type="submit" { "Decline" }
                }
            }
        }
        h2 { "Decided" }
        @if decided.is_empty() { p class="muted" { "None." } }
        div style="overflow-x:auto" {
            table {
                tr { th { "Asked" } th { "Organization" } th { "Asked for" } th { "Decision" } }
                @for r in &decided {
                    tr {
                        td { (short_day(Some(&r.at))) }
                        td style="word-break:break-all" { (r.party_name) }
                        td { (r.clearance) ", " (r.role) }
                        td class=(if r.status == "approved" { "pass" } else { "fail" }) {
                            (r.status) " " (short_day(r.decided_at.as_deref()))
                            @if let Some(reason) = &r.reason { ": " (reason) }
                        }
                    }
                }
            }
        }
    };
    let mut response = page("Access requests", &ctx.caller, body);
    *response.status_mut() = status;
    response
}

fn request_summary(r: &AccessRequestView) -> Markup {
    html! {
        p { strong style="word-break:break-all" { (r.party_name) } " asks for "
            strong { (r.clearance) } " clearance as " strong { (r.role) } "." }
        p { "Purpose: " (r.purpose) br;
            @if r.legal_basis { "Legal basis: " } @else { "Basis: " } (r.basis) br;
            span class="muted" { "Received " (short_day(Some(&r.at))) } }
    }
}

/// Approves (after a preview, with `confirm=yes`) or declines a request.
async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let control = &state.config.control;
    let requests = match control.access_requests().await {
        Ok(requests) => requests,
        Err(error) => return failed(&ctx.caller, &error),
    };
    let Some(request) = requests.into_iter().find(|r| r.id == id) else {
        return not_found(&ctx.caller);
    };
    let bad = |field: &'static str, message: String| {
        let (state, ctx, session, id) = (&state, &ctx, &session, &id);
        async move { requests_view(state, ctx, session, Some((id, field, message)), REFUSED).await }
    };
    let until = day(one(&fields, "until"), true);
    let decision = match one(&fields, "action") {
        "decline" => AccessDecision::Decline {
            reason: one(&fields, "reason").to_owned(),
        },
        _ if confirmed(&fields) => AccessDecision::Approve {
            valid_until: until.clone(),
        },
        _ => {
            let Ok(party) = request.party.parse::<Did>() else {
                return not_found(&ctx.caller);
            };
            let terms = GrantTerms {
                clearance: request.clearance.clone(),
                roles: vec![request.role.clone()],
                basis: request.basis.clone(),
                valid_until: until.clone(),
                unknown_party: true,
                ..GrantTerms::default()
            };
            let readable = match control.grant_preview(party, Some(terms)).await {
                Ok(readable) => readable,
                Err(refused) => return bad("until", refused.message).await,
            };
            let body = html! {
                div class="card" { (request_summary(&request)) }
                p { "Valid until " strong { (until.as_deref().unwrap_or("revoked (open-ended)")) } }
                h2 { "This party will be able to read:" }
                (readable_list(&readable))
                form method="post" action=(format!("/requests/{id}")) {
                    (csrf::field(&session))
                    input type="hidden" name="action" value="approve";
                    input type="hidden" name="until" value=(one(&fields, "until"));
                    input type="hidden" name="confirm" value="yes";
                    button type="submit" { "Approve and grant" }
                    " " a href="/requests" { "Cancel" }
                }
            };
            return page("Preview the approval", &ctx.caller, body);
        }
    };
    let field = match decision {
        AccessDecision::Decline { .. } => "reason",
        AccessDecision::Approve { .. } => "until",
    };
    match control.decide_access(id.clone(), decision).await {
        Ok(_) => Redirect::to("/requests").into_response(),
        Err(refused) => bad(field, refused.message).await,
    }
}
