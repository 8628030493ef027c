//! `/orgs/{did}/coverage` and `/coverage` (ours): the control catalog by
//! domain with what the organization has stated for each control — the
//! answer to "which controls have they stated" a questionnaire would ask —
//! and a maturity level per ISO 22340 domain computed from it
//! ([`assure_verify::coverage`]).

use std::sync::Arc;

use assure_model::{Catalog, Did};
use assure_store::Filter;
use assure_verify::coverage::{Stated, coverage, maturity};
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use jiff::Timestamp;
use maud::html;

use super::{Read, blocking, disclose, latest_controls, named, names};
use crate::dashboard::page;
use crate::server::{AppState, Ctx};

pub(super) async fn provider(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(did): Path<String>,
) -> Response {
    let caller = ctx.caller.clone();
    let Ok(did) = did.parse::<Did>() else {
        return crate::dashboard::not_found(&caller);
    };
    blocking(caller, move || render(&state, &ctx, did).ok().flatten()).await
}

pub(super) async fn ours(State(state): State<Arc<AppState>>, ext: Extension<Ctx>) -> Response {
    let owner = state.owner();
    let caller = ext.0.caller.clone();
    blocking(caller, move || render(&state, &ext.0, owner).ok().flatten()).await
}

fn render(state: &AppState, ctx: &Ctx, did: Did) -> Read<Option<Response>> {
    let store = &state.config.store;
    let visible = state.visible(ctx)?;
    let about = Filter {
        subject: Some(did),
        ..Filter::default()
    };
    // Our own page exists before we state anything; another organization's
    // only when the caller sees a record about it.
    if did != state.owner() && store.count(&visible, &about) == 0 {
        return Ok(None);
    }
    let now = Timestamp::now();
    let names = names(state, &visible)?;
    let catalog = Catalog::builtin();
    let controls = latest_controls(store, &visible, did)?;
    disclose(store, &visible, &controls)?;
    let stated: Vec<Stated> = controls
        .iter()
        .filter_map(|f| Stated::of(&f.record, now))
        .collect();
    let link = |s: &Stated| format!("/records/{}", s.record);
    let cover = coverage(catalog, &stated);
    let levels = maturity(&cover, now);
    let body = html! {
        p {
            "The control catalog by ISO 22340 domain, with the latest statement "
            (named(&names, &did)) " has made about each control that this view may see. "
            a href=(format!("/orgs/{did}")) { "All records" }
        }
        h2 { "Maturity by domain" }
        table {
            tr { th { "Domain" } th { "Level" } th { "Stated" } th { "In place" } th { "Partly" } th { "With evidence" } th { "Older than a year" } }
            @for m in &levels {
                tr {
                    td { (m.domain) }
                    td class=(level_class(m.level)) { (m.level) }
                    td { (m.stated) " of " (m.controls) }
                    td { (m.in_place) }
                    td { (m.partial) }
                    td { (m.evidenced) }
                    td { (m.stale) }
                }
            }
        }
        p class="muted" {
            "Levels: not stated; initial (fewer than half of the domain's controls in place); developing "
            "(at least half in place or partly); established (every control stated, in place or not "
            "applicable, within the last year); evidenced (established, with evidence for each)."
        }
        @for (domain, rows) in &cover.domains {
            h2 { "Controls: " (domain) }
            table {
                tr { th { "Control" } th { "Title" } th { "Status" } th { "Stated" } th { "Evidence" } }
                @for row in rows {
                    tr {
                        td { (row.id) }
                        td { (row.title) }
                        @match &row.stated {
                            Some(s) => {
                                td class=(status_class(s)) {
                                    a href=(link(s)) { (s.status) }
                                    @if s.expired { " (expired)" }
                                }
                                td { (super::age(s.issued_at, now)) }
                                td { @if s.evidence > 0 { (s.evidence) " attached" } @else { "none" } }
                            }
                            None => { td class="muted" { "not stated" } td {} td {} }
                        }
                    }
                }
            }
        }
        @if !cover.uncatalogued.is_empty() {
            h2 { "Controls outside the catalog" }
            table {
                tr { th { "Control" } th { "Status" } th { "Stated" } }
                @for s in &cover.uncatalogued {
                    tr { td { a href=(link(s)) { (s.control_id) } } td { (s.status) } td { (super::age(s.issued_at, now)) } }
                }
            }
        }
    };
    let title = format!("Coverage — {}", named(&names, &did));
    names.disclose(store, &visible, &format!("{title}{}", body.0))?;
    Ok(Some(page(&title, &ctx.caller, body)))
}

fn level_class(level: assure_verify::coverage::Level) -> &'static str {
    use assure_verify::coverage::Level;
    match level {
        Level::Established | Level::Evidenced => "pass",
        Level::Developing => "inconclusive",
        Level::Initial | Level::NotStated => "fail",
    }
}

fn status_class(s: &Stated) -> &'static str {
    use assure_model::predicate::ControlStatus;
    match (s.expired, s.status) {
        (true, _) => "fail",
        (_, ControlStatus::Implemented | ControlStatus::NotApplicable) => "pass",
        (_, ControlStatus::Partial) => "inconclusive",
        _ => "fail",
    }
}
