//! The dashboard: server-rendered HTML with inline CSS and an SVG graph, no
//! script and nothing fetched from elsewhere. It shows what the visitor may
//! see: everything after signing in (a session cookie, see [`crate::signin`]),
//! public compartments otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;

use assure_model::predicate::Body;
use assure_model::{Did, Domain, Kind, RecordId};
use assure_verify::View;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::routes::{Graph, legal_names};
use crate::server::{AppState, Ctx};
use crate::table::Table;
use crate::visibility::Caller;

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/", &["GET"], get(home))
        .route("/orgs/{did}", &["GET"], get(org))
        .route("/records/{id}", &["GET"], get(record))
        .route("/admin", &["GET"], get(admin))
        .merge(crate::signin::routes())
        .merge(crate::reports::routes())
        .merge(crate::forms::routes())
        .merge(crate::share::routes())
        .merge(crate::alerts_page::routes())
}

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.8em 1.5em}header a{color:#fff;margin-right:1.2em}header nav{display:inline}header .muted{color:#c9cfdb}
main{padding:1em 1.5em;max-width:1200px}h1,h2{font-weight:600}h2{margin-top:1.6em}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #dde;padding:.35em .6em;text-align:left;vertical-align:top}
.pass{color:#17803d;font-weight:600}.fail{color:#c0262d;font-weight:600}.inconclusive{color:#8a5200;font-weight:600}
.muted{color:#667}.card{background:#fff;border:1px solid #dde;padding:1em;margin:.6em 0}
code,pre{font:13px ui-monospace,monospace}pre{white-space:pre-wrap;word-break:break-all}
svg text{font:12px system-ui,sans-serif}
.warnings{background:#fff4e5;border:1px solid #e0a040;padding:.4em 1em;margin:.6em 0}.warnings li{margin:.2em 0}
svg,img{max-width:100%;height:auto}td,th,code,p,li{overflow-wrap:anywhere}header a{display:inline-block}
@media (max-width:700px){main{padding:.8em}table{display:block;overflow-x:auto}}
"#;

/// The pages in the header: path, label, and whether only the
/// administrator sees the link.
const NAV: &[(&str, &str, bool)] = &[
    ("/", "Supply chain", false),
    ("/alerts", "Incidents and alerts", false),
    ("/admin", "Disclosures, grants, peers", true),
    ("/reports", "Reports", true),
    ("/publish", "Publish", true),
    ("/grants", "Grants", true),
    ("/requests", "Access requests", true),
    ("/webhooks", "Webhooks", true),
];

pub(crate) fn page(title: &str, caller: &Caller, body: Markup) -> Response {
    let who = match caller {
        Caller::Admin => "signed in as this node's administrator",
        Caller::Party(_) => "signed request",
        Caller::Anonymous => "public view — sign in with the admin token for everything",
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { (title) " — Assure" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    nav aria-label="Dashboard" {
                        @for (href, label, admin) in NAV {
                            @if !admin || caller.is_admin() { a href=(href) { (label) } }
                        }
                    }
                    span class="muted" { (who) }
                    " "
                    @if caller.is_admin() { a href="/logout" { "Sign out" } }
                    @else { a href="/login" { "Sign in" } }
                }
                main { h1 { (title) } (body) }
            }
        }
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

pub(crate) fn not_found(caller: &Caller) -> Response {
    let mut response = page("Not found", caller, html! { p { "No such page." } });
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// How many peers are connected now, for the administration's pages.
async fn connected(state: &AppState) -> usize {
    (state.config.control.peers().await)
        .iter()
        .filter(|p| p.is_connected())
        .count()
}

/// The operator's warnings (no peers, grantees never connected, notices
/// not received), from the store's one answer, as a banner list; nothing
/// when all is well. Call on a blocking thread, for the administration.
fn warnings(state: &AppState, peers: usize) -> Result<Markup, crate::problem::Problem> {
    let store = &state.config.store;
    let ours = store.as_owner()?;
    let names = state.names(&ours)?;
    let found = store.undelivered(&ours)?;
    let listed = found.warnings(Some(peers), |d| label(names.get(d), &d.to_string()));
    Ok(html! {
        @if !listed.is_empty() {
            ul class="warnings" role="alert" {
                @for w in &listed { li { (w) } }
            }
        }
    })
}

fn outcome_class(result: Option<&str>) -> &'static str {
    match result {
        Some("pass") => "pass",
        Some("fail") => "fail",
        Some("inconclusive") => "inconclusive",
        _ => "muted",
    }
}

fn colour(result: Option<&str>) -> &'static str {
    match result {
        Some("pass") => "#17803d",
        Some("fail") => "#c0262d",
        Some("inconclusive") => "#d48a00",
        _ => "#8a90a0",
    }
}

fn label(name: Option<&String>, did: &str) -> String {
    name.cloned().unwrap_or_else(|| {
        did.parse::<Did>()
            .map_or_else(|_| did.to_owned(), |d| d.fmt_short())
    })
}

/// The graph as SVG: one column per tier, edges from supplier to customer.
fn svg(graph: &Graph) -> Markup {
    let mut columns: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (n, node) in graph.nodes.iter().enumerate() {
        columns.entry(node.tier).or_default().push(n);
    }
    let rows = columns.values().map(Vec::len).max().unwrap_or(1);
    let (width, row_height) = (290.0 * columns.len() as f64 + 40.0, 70.0);
    let height = row_height * rows as f64 + 30.0;
    let mut at: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (column, (_, members)) in columns.iter().enumerate() {
        for (row, &n) in members.iter().enumerate() {
            at.insert(
                graph.nodes[n].did.as_str(),
                (40.0 + 290.0 * column as f64, 30.0 + row_height * row as f64),
            );
        }
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            role="group" aria-label="Supply chain graph" {
            @for edge in &graph.edges {
                @if let (Some(a), Some(b)) = (at.get(edge.supplier.as_str()), at.get(edge.customer.as_str())) {
                    line x1=(a.0) y1=(a.1) x2=(b.0 + 230.0) y2=(b.1) stroke="#9aa" stroke-width="1.5" {}
                }
            }
            @for node in &graph.nodes {
                @if let Some((x, y)) = at.get(node.did.as_str()) {
                    a href=(format!("/orgs/{}", node.did)) {
                        rect x=(x) y=(y - 18.0) width="230" height="36" rx="6"
                            fill="#fff" stroke=(colour(node.result.as_deref()))
                            stroke-width="3"
                            stroke-dasharray=(if node.transitive { "6 4" } else { "none" }) {}
                        text x=(x + 8.0) y=(y - 2.0) { (label(node.name.as_ref(), &node.did)) }
                        text x=(x + 8.0) y=(y + 12.0) fill=(colour(node.result.as_deref())) {
                            @if node.tier == 0 { "this organization" }
                            @else {
                                (node.result.as_deref().unwrap_or("no profile"))
                                @if node.transitive { " (transitive)" }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn home(State(state): State<Arc<AppState>>, Extension(ctx): Extension<Ctx>) -> Response {
    let caller = ctx.caller.clone();
    let peers = if caller.is_admin() {
        Some(connected(&state).await)
    } else {
        None
    };
    let work = tokio::task::spawn_blocking(move || -> Option<Response> {
        let (graph, seen, visible) = state.graph(&ctx).ok()?;
        let banner = match peers {
            Some(peers) => Some(warnings(&state, peers).ok()?),
            None => None,
        };
        let body = html! {
            @if let Some(banner) = &banner { (banner) }
            p class="muted" {
                "Providers found in confirmed relationship records, two tiers out, each verified "
                "against the profile its relationship maps to. Green passes, red fails, amber is "
                "inconclusive (the records needed are not visible here); a dashed border marks a "
                "verdict taken from a provider's published verification."
            }
            div class="card" { (svg(&graph)) }
            h2 { "Providers" }
            table {
                tr { th { "Tier" } th { "Organization" } th { "Profile" } th { "Verdict" } th { "Reason" } }
                @for node in graph.nodes.iter().filter(|n| n.tier > 0) {
                    tr {
                        td { (node.tier) }
                        td { a href=(format!("/orgs/{}", node.did)) { (label(node.name.as_ref(), &node.did)) } }
                        td { (node.profile.clone().unwrap_or_default()) }
                        td class=(outcome_class(node.result.as_deref())) {
                            (node.result.as_deref().unwrap_or("—"))
                            @if node.transitive { " (transitive)" }
                        }
                        td { (node.reason.clone().unwrap_or_default()) }
                    }
                }
            }
            @if graph.nodes.len() == 1 {
                p class="muted" { "No providers visible: no relationship records confirmed by both sides." }
            }
        };
        state.disclose_names(&visible, &seen, &body.0).ok()?;
        Some(page("Supply chain", &ctx.caller, body))
    })
    .await;
    match work {
        Ok(Some(response)) => response,
        _ => not_found(&caller),
    }
}

async fn org(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(did): Path<String>,
) -> Response {
    let caller = ctx.caller.clone();
    let Ok(did) = did.parse::<Did>() else {
        return not_found(&caller);
    };
    let work = tokio::task::spawn_blocking(move || -> Option<Response> {
        let (seen, visible) = state.seen(&ctx).ok()?;
        if !seen.iter().any(|s| s.record.subject.did == did) {
            return None;
        }
        let now = Timestamp::now();
        let view = View::new(&seen, now);
        let names = legal_names(&seen);
        let name = |d: &Did| names.get(d).cloned().unwrap_or_else(|| d.fmt_short());
        let about: Vec<&assure_verify::Entry<'_>> = view.about(did).collect();
        let of_kind = |kind: Kind| about.iter().filter(move |e| e.record.kind() == kind);
        // What the page shows of the records about `did`, and the verdict
        // about it: exactly these are disclosed.
        let profile = of_kind(Kind::Profile).next();
        let scope = of_kind(Kind::Scope).find(|e| !e.expired);
        let controls: Vec<_> = of_kind(Kind::Control)
            .filter(|e| e.record.predicate.common.domain.is_some())
            .collect();
        let audits: Vec<_> = of_kind(Kind::Audit).collect();
        let incidents: Vec<_> = of_kind(Kind::Incident).collect();
        let (_, reports) = state.graph_of(&seen);
        let report = reports.iter().find(|r| r.provider == did);
        let shown = profile
            .into_iter()
            .chain(scope)
            .chain(controls.iter().copied())
            .chain(audits.iter().copied())
            .chain(incidents.iter().copied());
        state
            .disclose_positions(&visible, shown.filter_map(|e| e.position))
            .ok()?;
        state
            .disclose_reports(&seen, &visible, &report.into_iter().collect::<Vec<_>>())
            .ok()?;
        let evidence_link = |id: &RecordId| format!("/records/{id}");
        let body = html! {
            p { code { (did) } }
            @if let Some(e) = profile {
                @if let Body::Profile(p) = &e.record.predicate.body {
                    div class="card" {
                        strong { (p.legal_name) }
                        @for (k, v) in &p.identifiers { " · " (k) " " (v) }
                        @if !p.roles.is_empty() { br; "Roles: " (p.roles.join(", ")) }
                    }
                }
            }
            h2 { "Latest verification" }
            @match report {
                Some(r) => {
                    p {
                        "Against " strong { (r.profile) } ": "
                        span class=(outcome_class(Some(r.result.as_str()))) { (r.result) }
                        @if let Some(t) = &r.transitive { " (transitive, as verified by " (name(&t.via)) ")" }
                    }
                    table {
                        tr { th { "Requirement" } th { "Outcome" } th { "Reason" } th { "Evidence" } }
                        @for q in &r.requirements {
                            tr {
                                td { (q.id) br; span class="muted" { (q.clauses.join(" ")) } }
                                td class=(outcome_class(Some(q.outcome.as_str()))) { (q.outcome) }
                                td { (q.reason) }
                                td { @for ev in &q.evidence {
                                    a href=(evidence_link(&ev.record)) { (ev.record.fmt_short()) } " (" (ev.kind) ") "
                                } }
                            }
                        }
                    }
                }
                None => p class="muted" { "Not among this organization's providers, or no profile applies." }
            }
            h2 { "Scope" }
            @if let Some(e) = scope {
                @if let Body::Scope(s) = &e.record.predicate.body {
                    div class="card" {
                        "Processes: " (s.processes.join(", ")) br;
                        "Services: " (s.services.join(", "))
                        @if !s.exclusions.is_empty() { br; "Excluded: " (s.exclusions.join(", ")) }
                        @for site in &s.sites { br; "Site " (site.name) }
                    }
                }
            }
            h2 { "Controls by domain" }
            @for domain in Domain::ALL {
                h3 { (domain) }
                table {
                    @for e in controls.iter().filter(|e| e.record.predicate.common.domain == Some(*domain)) {
                        @if let Body::Control(c) = &e.record.predicate.body {
                            tr {
                                td { a href=(evidence_link(&e.record.id)) { (c.control_id) } }
                                td { (c.status) }
                                td { (c.statement) }
                                td class="muted" { (e.issued_at().strftime("%Y-%m-%d")) }
                            }
                        }
                    }
                }
            }
            h2 { "Audits" }
            table {
                tr { th { "Standard" } th { "Type" } th { "Result" } th { "Auditor" } th { "Signed by" } th { "Valid until" } }
                @for e in &audits {
                    @if let Body::Audit(a) = &e.record.predicate.body {
                        tr {
                            td { a href=(evidence_link(&e.record.id)) { (a.standard) } }
                            td { (a.audit_type) }
                            td { (a.result) }
                            td { (name(&e.record.issuer())) }
                            td { (e.signers.iter().map(&name).collect::<Vec<_>>().join(", ")) }
                            td { (e.record.predicate.common.valid_until.map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default())
                                 @if e.expired { " (expired)" } }
                        }
                    }
                }
            }
            h2 { "Incidents" }
            table {
                tr { th { "Detected" } th { "Severity" } th { "Summary" } th { "Status" } th { "Corrective actions" } }
                @for e in &incidents {
                    @if let Body::Incident(i) = &e.record.predicate.body {
                        tr {
                            td { (i.detected_at.strftime("%Y-%m-%d")) }
                            td { (i.severity) }
                            td { a href=(evidence_link(&e.record.id)) { (i.summary) } }
                            td { (i.status) }
                            td { (i.corrective_actions.len()) }
                        }
                    }
                }
            }
        };
        let title = name(&did);
        state
            .disclose_names(&visible, &seen, &format!("{title}{}", body.0))
            .ok()?;
        Some(page(&title, &ctx.caller, body))
    })
    .await;
    match work {
        Ok(Some(response)) => response,
        _ => not_found(&caller),
    }
}

async fn record(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let caller = ctx.caller.clone();
    let Ok(id) = id.parse::<RecordId>() else {
        return not_found(&caller);
    };
    let work = tokio::task::spawn_blocking(move || -> Option<Response> {
        let store = &state.config.store;
        let visible = state.visible(&ctx).ok()?;
        let stored = store.record(&visible, &id).ok()?.into_iter().next()?;
        let location = stored.location;
        let statement = serde_json::to_string_pretty(&stored.record.predicate.to_value()).ok()?;
        // Our own incident, for the administration: has each affected
        // party received it?
        let ours = ctx.caller.is_admin()
            && location.log.origin == state.owner()
            && stored.record.kind() == Kind::Incident;
        let deliveries = if ours {
            store.deliveries(&visible, location).ok()?
        } else {
            Vec::new()
        };
        let names = if ours { state.names(&visible).ok()? } else { BTreeMap::new() };
        let body = html! {
            p { "Record " code { (id) } }
            p { "Kind " strong { (stored.record.kind()) } ", about " a href=(format!("/orgs/{}", stored.record.subject.did)) { code { (stored.record.subject) } } }
            p { "Log " code { (location.log.origin_line()) } " entry " (location.index) }
            p { "Signed by: " @for s in &stored.record.signers { code { (s) } " " } }
            @if ctx.caller.is_admin() && stored.record.issuer() == state.owner() { (crate::forms::record_links(&stored.record)) }
            @if ours {
                h2 { "Delivery to the affected parties" }
                table {
                    tr { th { "Party" } th { "Received" } }
                    @for d in &deliveries {
                        tr {
                            td { (label(names.get(&d.party), &d.party.to_string())) }
                            @match (d.received, d.at) {
                                (true, Some(at)) => td class="pass" { "received " (at.strftime("%Y-%m-%d %H:%M:%S")) },
                                _ if !d.may_read => td class="fail" { "cannot receive it: no grant lets it read this compartment" },
                                _ => td class="inconclusive" { "not yet" },
                            }
                        }
                    }
                }
                @if deliveries.is_empty() { p class="muted" { "The incident names no affected party." } }
            }
            h2 { "Predicate" }
            pre class="card" { (statement) }
        };
        Some(page(&format!("{} record", stored.record.kind()), &ctx.caller, body))
    })
    .await;
    match work {
        Ok(Some(response)) => response,
        _ => not_found(&caller),
    }
}

async fn admin(State(state): State<Arc<AppState>>, Extension(ctx): Extension<Ctx>) -> Response {
    if !ctx.caller.is_admin() {
        return not_found(&ctx.caller);
    }
    let peers: Vec<Did> = (state.config.control.peers().await)
        .into_iter()
        .filter(|p| p.is_connected())
        .map(|p| p.peer.did)
        .collect();
    let store = &state.config.store;
    let (Ok(disclosures), Ok(grants)) = (store.disclosures(0, 10_000), store.grants()) else {
        return not_found(&ctx.caller);
    };
    let now = Timestamp::now();
    let owner = state.owner();
    let Ok(everything) = state.visible(&ctx) else {
        return not_found(&ctx.caller);
    };
    let banner = {
        let state = state.clone();
        let peers = peers.len();
        tokio::task::spawn_blocking(move || warnings(&state, peers).map(|m| m.into_string())).await
    };
    let Ok(Ok(banner)) = banner else {
        return not_found(&ctx.caller);
    };
    let Ok(mut names) = state.names(&everything) else {
        return not_found(&ctx.caller);
    };
    if let Ok(Some(own)) = store.name() {
        names.entry(owner).or_insert(own);
    }
    // A name with the short DID beside it, or the short DID.
    let named = |did: &Did| did.named(names.get(did).map(String::as_str));
    let labels: BTreeMap<_, _> = store
        .logs(&everything)
        .into_iter()
        .filter(|s| s.log.origin == owner)
        .map(|s| (s.compartment.id, s.compartment.label))
        .collect();
    let compartment = |id: &assure_access::CompartmentId| match labels.get(id) {
        Some(label) => format!("{label} ({})", id.fmt_short()),
        None => id.fmt_short(),
    };
    let entries = |d: &assure_store::Disclosure| match d.to.saturating_sub(d.from) {
        0 => "head only".to_owned(),
        1 => format!("{} (1)", d.from),
        n => format!("{}–{} ({n})", d.from, d.to - 1),
    };
    let body = html! {
        (PreEscaped(banner))
        h2 { "Peers connected" }
        ul { @for p in &peers { li { (named(p)) } } }
        @if peers.is_empty() { p class="muted" { "None." } }
        h2 { "Logs and sync state" }
        table {
            tr { th { "Author" } th { "Compartment" } th { "TLP" } th { "Size" } th { "Checkpoint age" } }
            @for s in store.logs(&everything) {
                tr {
                    td { @if s.log.origin == owner { "this node" } @else { (named(&s.log.origin)) } }
                    td { (s.compartment.label) }
                    td { (s.compartment.rule.tlp()) }
                    td { (s.checkpoint.checkpoint().size()) }
                    td { (now.as_second() - s.checkpoint.checkpoint().timestamp()) " s" }
                }
            }
        }
        h2 { "Grants" }
        table {
            tr { th { "Party" } th { "Clearance" } th { "Roles" } th { "Basis" } th { "Version" } th { "Active" } }
            @for g in &grants {
                tr {
                    td { (named(&g.party)) }
                    td { (g.clearance) }
                    td { (g.roles.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) }
                    td { (g.basis) }
                    td { (g.version) }
                    td class=(if g.is_active(now) { "pass" } else { "fail" }) { (g.is_active(now)) }
                }
            }
        }
        h2 { "Disclosure log" }
        table {
            tr { th { "When" } th { "Party" } th { "Compartment" } th { "Entries" } th { "Grant" } th { "Channel" } th { "Purpose" } }
            @for d in disclosures.iter().rev().take(500) {
                tr {
                    td { (d.at.strftime("%Y-%m-%d %H:%M:%S")) }
                    td { (named(&d.party)) }
                    td { (compartment(&d.compartment)) }
                    td { (entries(d)) }
                    td { (d.grant_version.map(|v| format!("v{v}")).unwrap_or_default()) }
                    td { (d.channel) }
                    td { (d.purpose.clone().unwrap_or_default()) }
                }
            }
        }
    };
    page("Disclosures, grants and peers", &ctx.caller, body)
}
