//! `/records/{id}`: one record as a person reads it — its statement laid out
//! by kind, organizations by name, whether it was withdrawn, superseded or
//! has expired, and, on our own records for the administrator, who may read
//! it and who has received it.

use std::sync::Arc;

use assure_model::predicate::Body;
use assure_model::{Did, RecordId};
use assure_store::Filter;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use jiff::Timestamp;
use maud::{Markup, html};

use super::{Found, blocking, day, disclose, named, names, newest, withdrawals};
use crate::CompartmentInfo;
use crate::dashboard::page;
use crate::server::{AppState, Ctx};

pub(super) async fn record(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let caller = ctx.caller.clone();
    let Ok(id) = id.parse::<RecordId>() else {
        return crate::dashboard::not_found(&caller);
    };
    // Our compartments with their readers, for our own records: asked of
    // the node before the blocking read, for the administrator only.
    let compartments = match caller.is_admin() {
        true => state.config.control.compartments().await.ok(),
        false => None,
    };
    blocking(caller, move || render(&state, &ctx, id, compartments)).await
}

fn render(
    state: &AppState,
    ctx: &Ctx,
    id: RecordId,
    compartments: Option<Vec<CompartmentInfo>>,
) -> Option<Response> {
    let store = &state.config.store;
    let visible = state.visible(ctx).ok()?;
    // Our own copy first: it carries our co-signature, if any.
    let mut copies = store.record(&visible, &id).ok()?;
    let ours_first = copies
        .iter()
        .position(|c| c.location.log.origin == state.owner())
        .unwrap_or(0);
    if copies.is_empty() {
        return None;
    }
    let stored = copies.swap_remove(ours_first);
    let record = &stored.record;
    let now = Timestamp::now();
    let names = names(state, &visible).ok()?;
    let name = |d: &Did| named(&names, d);
    let withdrawn = withdrawals(store, &visible).ok()?.remove(&id);
    // The banner shows the withdrawal's reason: reading it discloses it.
    if let Some((_, by)) = &withdrawn {
        store.record(&visible, by).ok()?;
    }
    // Newer records of the same kind about the same organization that name
    // this one in `supersedes`: only records issued since are read.
    let newer: Vec<Found> = newest(
        store,
        &visible,
        Filter {
            kind: Some(record.kind()),
            subject: Some(record.subject.did),
            since: Some(record.predicate.common.issued_at),
            ..Filter::default()
        },
        usize::MAX,
    )
    .ok()?
    .into_iter()
    .filter(|f| f.record.predicate.common.supersedes.contains(&id))
    .collect();
    let superseded_by = newer.last();
    disclose(store, &visible, superseded_by).ok()?;
    let expired = record
        .predicate
        .common
        .valid_until
        .filter(|until| *until < now);
    let ours = ctx.caller.is_admin() && stored.location.log.origin == state.owner();
    let compartment = compartments.filter(|_| ours).and_then(|all| {
        all.into_iter()
            .find(|c| c.id == stored.location.log.compartment)
    });
    let deliveries = match ours {
        true => store.deliveries(&visible, stored.location).ok()?,
        false => Vec::new(),
    };
    let statement = serde_json::to_string_pretty(&record.predicate.to_value()).ok()?;
    let body = html! {
        @if let Some((reason, by)) = &withdrawn {
            div class="banner fail" role="status" {
                "Withdrawn by its issuer: " (reason) " "
                a href=(format!("/records/{by}")) { "(the withdrawal)" }
            }
        }
        @if let Some(newer) = superseded_by {
            div class="banner inconclusive" role="status" {
                "Superseded by "
                a href=(format!("/records/{}", newer.record.id)) {
                    "a newer " (record.kind()) " record of " (day(newer.record.predicate.common.issued_at))
                }
            }
        }
        @if let Some(until) = expired {
            div class="banner inconclusive" role="status" { "Expired on " (day(until)) ": it no longer counts in verification." }
        }
        dl class="card facts" {
            dt { "About" } dd { a href=(format!("/orgs/{}", record.subject.did)) { (name(&record.subject.did)) }
                @if let Some(f) = &record.subject.fragment { " — " (f) } }
            dt { "Issued by" } dd { (name(&record.issuer())) " on " (day(record.predicate.common.issued_at)) }
            dt { "Signed by" } dd { (record.signers.iter().map(&name).collect::<Vec<_>>().join(", ")) }
            @if let Some(until) = record.predicate.common.valid_until { dt { "Valid until" } dd { (day(until)) } }
            @if let Some(domain) = record.predicate.common.domain { dt { "Domain" } dd { (domain) } }
            @if !record.predicate.common.clauses.is_empty() {
                dt { "Clauses" } dd { (record.predicate.common.clauses.join(", ")) }
            }
            @if !record.predicate.common.supersedes.is_empty() {
                dt { "Replaces" } dd { @for s in &record.predicate.common.supersedes {
                    a href=(format!("/records/{s}")) { (s.fmt_short()) } " "
                } }
            }
        }
        @if ours && record.issuer() == state.owner() { (crate::forms::record_links(record)) }
        h2 { "What it states" }
        (laid_out(&record.predicate.body, &name))
        @if let Some(c) = &compartment {
            h2 { "Who can read it" }
            p {
                "In our compartment " strong { (c.label) } " (" (c.tlp) "): "
                @if c.public { "anyone." }
                @else if c.readers.is_empty() { "no one holds a grant that reaches it yet." }
                @else { (c.readers.iter().map(|r| r.did.named(r.name.as_deref())).collect::<Vec<_>>().join(", ")) }
            }
        }
        @if ours && !deliveries.is_empty() {
            h2 { @if record.kind() == assure_model::Kind::Incident { "Delivery to the affected parties" } @else { "Who has received it" } }
            table {
                tr { th { "Party" } th { "Received" } }
                @for d in &deliveries {
                    tr {
                        td { (name(&d.party)) }
                        @match (d.received, d.at) {
                            (true, Some(at)) => td class="pass" { "received " (at.strftime("%Y-%m-%d %H:%M:%S")) },
                            _ if !d.may_read => td class="fail" { "cannot receive it: no grant lets it read this compartment" },
                            _ => td class="inconclusive" { "not yet" },
                        }
                    }
                }
            }
        }
        @if ours && deliveries.is_empty() && record.kind() == assure_model::Kind::Incident {
            h2 { "Delivery to the affected parties" }
            p class="muted" { "The incident names no affected party." }
        }
        details {
            summary { "Show the signed statement" }
            p class="muted" { "Record " code { (id) } ", entry " (stored.location.index) " of " code { (stored.location.log.origin_line()) } }
            pre class="card" { (statement) }
        }
    };
    let title = format!("{} record", record.kind());
    names
        .disclose(store, &visible, &format!("{title}{}", body.0))
        .ok()?;
    Some(page(&title, &ctx.caller, body))
}

/// The kind's own fields as a person reads them.
fn laid_out(body: &Body, name: &dyn Fn(&Did) -> String) -> Markup {
    let list = |items: &[String]| items.join(", ");
    html! {
        dl class="card facts" {
            @match body {
                Body::Profile(p) => {
                    dt { "Legal name" } dd { (p.legal_name) }
                    @for (k, v) in &p.identifiers { dt { (k) } dd { (v) } }
                    @if !p.roles.is_empty() { dt { "Roles" } dd { (list(&p.roles)) } }
                    @if let Some(c) = &p.security_contact { dt { "Security contact" } dd { (c) } }
                }
                Body::Scope(s) => {
                    dt { "Processes" } dd { (list(&s.processes)) }
                    dt { "Services" } dd { (list(&s.services)) }
                    @if !s.exclusions.is_empty() { dt { "Excluded" } dd { (list(&s.exclusions)) } }
                    @for site in &s.sites { dt { "Site" } dd { (site.name) @if let Some(c) = &site.country { " (" (c) ")" } } }
                    @for e in &s.external_processes {
                        dt { "Provided by others" }
                        dd { (e.process) " by " (name(&e.provider))
                             @if !e.required_controls.is_empty() { ", requiring " (list(&e.required_controls)) } }
                    }
                }
                Body::Control(c) => {
                    dt { "Control" } dd { (c.control_id) }
                    dt { "Status" } dd { (c.status) }
                    dt { "Statement" } dd { (c.statement) }
                    @if let Some(t) = c.last_tested { dt { "Last tested" } dd { (day(t)) } }
                    dt { "Evidence" } dd {
                        @if c.evidence.is_empty() { "none attached" }
                        @for e in &c.evidence { (e.description) " " code { (e.digest) } br; }
                    }
                }
                Body::Audit(a) => {
                    dt { "Standard" } dd { (a.standard) }
                    dt { "Type" } dd { (a.audit_type) }
                    dt { "Period" } dd { (a.period.from) " to " (a.period.to) }
                    dt { "Result" } dd { (a.result) }
                    @if let Some(n) = &a.certificate_number { dt { "Certificate" } dd { (n) } }
                    dt { "Findings" } dd {
                        @if a.findings.is_empty() { "none" }
                        @for f in &a.findings { (f.severity) " — " (f.clause) ": " (f.description) br; }
                    }
                }
                Body::Incident(i) => {
                    dt { "Summary" } dd { (i.summary) }
                    dt { "Category" } dd { (i.category) }
                    dt { "Severity" } dd { (i.severity) }
                    dt { "Status" } dd { (i.status) }
                    dt { "Occurred" } dd { (day(i.occurred_at)) ", detected " (day(i.detected_at)) }
                    @if !i.affected.is_empty() {
                        dt { "Affected" } dd { (i.affected.iter().map(name).collect::<Vec<_>>().join(", ")) }
                    }
                    dt { "Corrective actions" } dd {
                        @if i.corrective_actions.is_empty() { "none yet" }
                        @for a in &i.corrective_actions {
                            (a.description)
                            @if let Some(d) = a.completed { " — done " (d) }
                            @else if let Some(d) = a.due { " — due " (d) }
                            br;
                        }
                    }
                }
                Body::Relationship(r) => {
                    dt { "Supplier" } dd { (name(&r.supplier)) }
                    dt { "Customer" } dd { (name(&r.customer)) }
                    dt { "Supplies" } dd { (list(&r.supplies)) }
                    dt { "Since" } dd { (r.since) }
                }
                Body::Accreditation(a) => {
                    dt { "Role" } dd { (a.role) }
                    dt { "Programmes" } dd { (list(&a.programmes)) }
                    @if let Some(r) = &a.reference { dt { "Reference" } dd { (r) } }
                }
                Body::Verification(v) => {
                    dt { "Profile" } dd { (v.profile) }
                    dt { "Result" } dd class=(v.result.as_str()) { (v.result) @if v.transitive { " (transitive)" } }
                    @for o in &v.outcomes {
                        dt { (o.requirement) }
                        dd { span class=(o.outcome.as_str()) { (o.outcome) } " — " (o.reason) }
                    }
                }
                Body::Withdrawal(w) => {
                    dt { "Withdraws" } dd { a href=(format!("/records/{}", w.withdrawn)) { (w.withdrawn.fmt_short()) } }
                    dt { "Reason" } dd { (w.reason) }
                }
            }
        }
    }
}
