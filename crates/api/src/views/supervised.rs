//! `/supervised`: the regulator's home. When operators have granted this
//! node the regulator role (it holds replicas it reads as their regulator),
//! the administrator sees each of them with its certifications (audit
//! records), its open incidents and the latest verification of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use assure_model::predicate::{Body, IncidentStatus};
use assure_model::{Did, Kind};
use assure_store::{Filter, RECEIVED_AS_REGULATOR};
use axum::extract::{Extension, State};
use axum::response::Response;
use jiff::Timestamp;
use maud::html;

use super::{Found, blocking, day, disclose, named, names, newest};
use crate::dashboard::{outcome_class, page};
use crate::server::{AppState, Ctx};

/// Audits shown per operator.
const AUDITS: usize = 5;

pub(super) async fn supervised(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let caller = ctx.caller.clone();
    if !caller.is_admin() {
        return crate::dashboard::not_found(&caller);
    }
    blocking(caller, move || render(&state, &ctx)).await
}

struct Operator {
    did: Did,
    audits: Vec<Found>,
    open: Vec<Found>,
    verification: Option<Found>,
}

fn render(state: &AppState, ctx: &Ctx) -> Option<Response> {
    let store = &state.config.store;
    let visible = state.visible(ctx).ok()?;
    let now = Timestamp::now();
    let operators: BTreeSet<Did> = store
        .logs(&visible)
        .into_iter()
        .filter(|s| s.log.origin != state.owner() && s.compartment.label == RECEIVED_AS_REGULATOR)
        .map(|s| s.log.origin)
        .collect();
    let names = names(state, &visible).ok()?;
    let of = |did: Did, kind: Kind, n: usize| {
        newest(
            store,
            &visible,
            Filter {
                kind: Some(kind),
                subject: Some(did),
                ..Filter::default()
            },
            n,
        )
    };
    let mut rows = Vec::new();
    for did in operators {
        let audits = of(did, Kind::Audit, AUDITS).ok()?;
        // An incident's updates supersede it: the newest of each counts.
        let incidents = of(did, Kind::Incident, usize::MAX).ok()?;
        let replaced: BTreeSet<_> = incidents
            .iter()
            .flat_map(|f| f.record.predicate.common.supersedes.iter().copied())
            .collect();
        let open = incidents
            .into_iter()
            .filter(|f| !replaced.contains(&f.record.id))
            .filter(|f| {
                matches!(&f.record.predicate.body,
                    Body::Incident(i) if i.status != IncidentStatus::Resolved)
            })
            .collect();
        let verification = of(did, Kind::Verification, 1).ok()?.pop();
        rows.push(Operator {
            did,
            audits,
            open,
            verification,
        });
    }
    let shown = rows
        .iter()
        .flat_map(|o| o.audits.iter().chain(&o.open).chain(&o.verification));
    disclose(store, &visible, shown).ok()?;
    let name = |d: &Did| named(&names, d);
    let link = |f: &Found| format!("/records/{}", f.record.id);
    let body = html! {
        p class="muted" {
            "Operators that have granted this organization the regulator role, from the logs "
            "they let it read as their regulator."
        }
        @if rows.is_empty() {
            p { "No operator has granted this organization the regulator role." }
        }
        @for o in &rows {
            section class="card" aria-label=(name(&o.did)) {
                h2 { a href=(format!("/orgs/{}", o.did)) { (name(&o.did)) } }
                h3 { "Certifications" }
                @if o.audits.is_empty() { p class="muted" { "No audit records." } }
                ul {
                    @for f in &o.audits {
                        @if let Body::Audit(a) = &f.record.predicate.body {
                            @let expired = f.record.predicate.common.valid_until.is_some_and(|u| u < now);
                            li {
                                a href=(link(f)) { (a.standard) " — " (a.audit_type) ", " (a.result) }
                                " by " (name(&f.record.issuer()))
                                @if let Some(u) = f.record.predicate.common.valid_until {
                                    @if expired { span class="fail" { ", expired " (day(u)) } }
                                    @else { ", valid until " (day(u)) }
                                }
                            }
                        }
                    }
                }
                h3 { "Open incidents" }
                @if o.open.is_empty() { p class="muted" { "None open." } }
                ul {
                    @for f in &o.open {
                        @if let Body::Incident(i) = &f.record.predicate.body {
                            li { span class="fail" { (i.severity) } " " a href=(link(f)) { (i.summary) } " — " (i.status) ", detected " (day(i.detected_at)) }
                        }
                    }
                }
                h3 { "Latest verification" }
                @match o.verification.as_ref().map(|f| (f, &f.record.predicate.body)) {
                    Some((f, Body::Verification(v))) => p {
                        a href=(link(f)) { (v.profile) } ": "
                        span class=(outcome_class(Some(v.result.as_str()))) { (v.result) }
                        " by " (name(&f.record.issuer())) ", " (day(f.record.predicate.common.issued_at))
                    },
                    _ => p class="muted" { "No verification published." },
                }
            }
        }
    };
    names.disclose(store, &visible, &body.0).ok()?;
    Some(page("Supervised operators", &ctx.caller, body))
}
