//! The dashboard: server-rendered HTML with inline CSS and an SVG graph, no
//! script and nothing fetched from elsewhere. It shows what the visitor may
//! see: everything after signing in (a session cookie, see [`crate::signin`]),
//! public compartments otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;

use assure_model::Did;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::server::{AppState, Ctx};
use crate::table::Table;
use crate::visibility::Caller;

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/admin", &["GET"], get(admin))
        .merge(crate::signin::routes())
        .merge(crate::reports::routes())
        .merge(crate::forms::routes())
        .merge(crate::share::routes())
        .merge(crate::asking::routes())
        .merge(crate::alerts_page::routes())
        .merge(crate::views::routes())
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
.banner{background:#fff;border:2px solid currentColor;padding:.5em 1em;margin:.6em 0}.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em}.facts dt{color:#556}.facts dd{margin:0;overflow-wrap:anywhere}
.search{display:flex;flex-wrap:wrap;gap:.6em 1em;align-items:end;margin:.6em 0}.search label{display:flex;flex-direction:column;font-size:13px}.error{color:#c0262d;flex-basis:100%;margin:0}
main{overflow-wrap:anywhere}@media(max-width:700px){table{display:block;overflow-x:auto}}code.did{word-break:break-all}
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
    ("/coverage", "Our coverage", false),
    ("/supervised", "Supervised operators", true),
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
pub(crate) async fn connected(state: &AppState) -> usize {
    (state.config.control.peers().await)
        .iter()
        .filter(|p| p.is_connected())
        .count()
}

/// The operator's warnings (no peers, grantees never connected, notices
/// not received), from the store's one answer, as a banner list; nothing
/// when all is well. Call on a blocking thread, for the administration.
pub(crate) fn warnings(state: &AppState, peers: usize) -> Result<Markup, crate::problem::Problem> {
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

pub(crate) fn outcome_class(result: Option<&str>) -> &'static str {
    match result {
        Some("pass") => "pass",
        Some("fail") => "fail",
        Some("inconclusive") => "inconclusive",
        _ => "muted",
    }
}

pub(crate) fn colour(result: Option<&str>) -> &'static str {
    match result {
        Some("pass") => "#17803d",
        Some("fail") => "#c0262d",
        Some("inconclusive") => "#d48a00",
        _ => "#8a90a0",
    }
}

pub(crate) fn label(name: Option<&String>, did: &str) -> String {
    name.cloned().unwrap_or_else(|| {
        did.parse::<Did>()
            .map_or_else(|_| did.to_owned(), |d| d.fmt_short())
    })
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
