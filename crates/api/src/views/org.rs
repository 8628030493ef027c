//! `/orgs/{did}`: an organization's page — its profile, the latest
//! verification of it, its scope, the latest statement of each control,
//! and its records in pages, searchable by text, kind and clause (a GET
//! form, so it works without script and a search is a link).
//!
//! It stays fast however many records the organization has: listings come
//! from the index, a page decodes the records it shows, and the verdict
//! rests on the records a verification reads about one provider (the
//! latest statement per control, not every restatement).

use std::collections::HashMap;
use std::sync::Arc;

use assure_access::Visible;
use assure_model::predicate::Body;
use assure_model::{Did, Kind};
use assure_store::{Filter, LogId};
use assure_verify::{Position, Seen};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Found, Read, blocking, day, disclose, latest_controls, named, names, newest};
use crate::dashboard::{outcome_class, page};
use crate::server::{AppState, Ctx};
use crate::session::Session;

/// Records per page of the listing.
const PAGE: usize = 50;
/// Records a search looks through per request; past that the page offers
/// to search on, so that one request never decodes a whole history.
const SEARCH_SPAN: usize = 2_000;

/// The listing's search, from the page's GET form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Search {
    /// Words the statement must contain (any case).
    #[serde(default)]
    q: Option<String>,
    /// A kind (`control`, `audit`, …).
    #[serde(default)]
    kind: Option<String>,
    /// A clause the record cites (`ISO28000:8.4`).
    #[serde(default)]
    clause: Option<String>,
    /// Where the page starts (the previous page's `next`).
    #[serde(default)]
    cursor: Option<String>,
}

impl Search {
    fn text(&self) -> Option<String> {
        self.q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase)
    }

    fn clause(&self) -> Option<&str> {
        self.clause
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    fn kind(&self) -> Option<&str> {
        self.kind.as_deref().filter(|k| !k.is_empty())
    }

    /// The query string of this search from `cursor` on.
    fn link(&self, did: &Did, cursor: &str) -> String {
        let mut query = String::new();
        for (key, value) in [
            ("q", &self.q),
            ("kind", &self.kind),
            ("clause", &self.clause),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                query.push_str(&format!("{key}={}&", escape(v)));
            }
        }
        format!("/orgs/{did}?{query}cursor={}#records", escape(cursor))
    }
}

/// `text` for a query string: every byte but the unreserved ones
/// percent-encoded.
fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the search matched, and where it stopped.
struct Listing {
    found: Vec<Found>,
    next: Option<String>,
    /// The search looked through [`SEARCH_SPAN`] records without filling
    /// the page.
    cut: bool,
}

pub(super) async fn org(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(did): Path<String>,
    session: Option<Session>,
    search: Result<Query<Search>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let caller = ctx.caller.clone();
    let Ok(did) = did.parse::<Did>() else {
        return crate::dashboard::not_found(&caller);
    };
    let search = search.map(|Query(s)| s).unwrap_or_default();
    let asking = crate::asking::OrgAsk::of(&state, &ctx, session, did).await;
    blocking(caller, move || {
        render(&state, &ctx, did, &search, asking).ok().flatten()
    })
    .await
}

fn render(
    state: &AppState,
    ctx: &Ctx,
    did: Did,
    search: &Search,
    asking: Option<crate::asking::OrgAsk>,
) -> Read<Option<Response>> {
    let store = &state.config.store;
    let visible = state.visible(ctx)?;
    let about = Filter {
        subject: Some(did),
        ..Filter::default()
    };
    if store.count(&visible, &about) == 0 {
        return Ok(None);
    }
    let now = Timestamp::now();
    let names = names(state, &visible)?;
    let name = |d: &Did| named(&names, d);
    let latest = |kind: Kind, n: usize| {
        newest(
            store,
            &visible,
            Filter {
                kind: Some(kind),
                ..about.clone()
            },
            n,
        )
    };
    let profile = latest(Kind::Profile, usize::MAX)?
        .into_iter()
        .find(|f| f.record.issuer() == did);
    let scope = latest(Kind::Scope, 8)?.into_iter().find(|f| {
        f.record
            .predicate
            .common
            .valid_until
            .is_none_or(|u| u >= now)
    });
    let controls = latest_controls(store, &visible, did)?;
    let audits = latest(Kind::Audit, 10)?;
    let incidents = latest(Kind::Incident, 10)?;
    let (kind, kind_error) = match search.kind().map(str::parse::<Kind>) {
        None => (None, None),
        Some(Ok(kind)) => (Some(kind), None),
        Some(Err(_)) => (
            None,
            Some("Not a kind of record: choose one from the list."),
        ),
    };
    let (after, cursor_error) = match search.cursor.as_deref().map(crate::routes::decode_cursor) {
        None => (None, None),
        Some(Ok(after)) => (Some(after), None),
        Some(Err(_)) => (
            None,
            Some("This page link is not one this node made; start again."),
        ),
    };
    let refused = kind_error.is_some() || cursor_error.is_some();
    let listing = match refused {
        true => Listing {
            found: Vec::new(),
            next: None,
            cut: false,
        },
        false => list(store, &visible, did, kind, after, search)?,
    };
    let verdict = verdict(state, &visible, did, &controls)?;
    let shown = (profile.iter())
        .chain(&scope)
        .chain(&controls)
        .chain(&audits)
        .chain(&incidents)
        .chain(&listing.found);
    disclose(store, &visible, shown)?;
    let report = verdict.as_ref().map(|(r, _)| r);
    if let Some((report, seen)) = &verdict {
        state.disclose_reports(seen, &visible, &[report])?;
    }
    let body = html! {
        p { code class="did" { (did) } }
        @if let Some(f) = &profile {
            @if let Body::Profile(p) = &f.record.predicate.body {
                div class="card" {
                    strong { (p.legal_name) }
                    @for (k, v) in &p.identifiers { " · " (k) " " (v) }
                    @if !p.roles.is_empty() { br; "Roles: " (p.roles.join(", ")) }
                }
            }
        }
        p { a href=(format!("/orgs/{did}/coverage")) { "Coverage of the control catalog and maturity by domain" } }
        @if let Some(asking) = &asking { (asking.section(&did, &name(&did))) }
        h2 { "Latest verification" }
        (verification(report, &name))
        h2 { "Scope" }
        @match scope.as_ref().map(|f| &f.record.predicate.body) {
            Some(Body::Scope(s)) => div class="card" {
                "Processes: " (s.processes.join(", ")) br;
                "Services: " (s.services.join(", "))
                @if !s.exclusions.is_empty() { br; "Excluded: " (s.exclusions.join(", ")) }
                @for site in &s.sites { br; "Site " (site.name) }
            },
            _ => p class="muted" { "No scope visible." },
        }
        h2 { "Controls: the latest statement of each" }
        (controls_table(&controls, now))
        h2 { "Audits" }
        (audits_table(&audits, &name))
        h2 { "Incidents" }
        (incidents_table(&incidents))
        h2 id="records" { "Records" }
        (search_form(did, search, kind_error, cursor_error))
        (listing_table(&listing, did, search))
    };
    let title = name(&did);
    names.disclose(store, &visible, &format!("{title}{}", body.0))?;
    let mut response = page(&title, &ctx.caller, body);
    if refused {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(Some(response))
}

/// The page of records the search matches, from `after` on.
fn list(
    store: &assure_store::Store,
    visible: &Visible,
    did: Did,
    kind: Option<Kind>,
    after: Option<(Timestamp, assure_store::Location)>,
    search: &Search,
) -> Read<Listing> {
    let filter = Filter {
        kind,
        subject: Some(did),
        after,
        ..Filter::default()
    };
    let (text, clause) = (search.text(), search.clause());
    if text.is_none() && clause.is_none() {
        let page = store.scan(visible, &filter, PAGE)?;
        let next = page.next.map(crate::routes::encode_cursor);
        let found = page.items.into_iter().filter_map(super::decode).collect();
        return Ok(Listing {
            found,
            next,
            cut: false,
        });
    }
    // A text or clause search reads the records themselves, a span at a
    // time, until the page is full.
    let page = store.scan(visible, &filter, SEARCH_SPAN)?;
    let mut found = Vec::new();
    let mut last = None;
    let mut full = false;
    for item in page.items {
        last = Some((item.issued_at, item.location));
        let Some(f) = super::decode(item) else {
            continue;
        };
        if matches(&f, text.as_deref(), clause) {
            if found.len() == PAGE {
                full = true;
                break;
            }
            found.push(f);
        }
    }
    let next = match (full, page.next) {
        (true, _) => found
            .last()
            .map(|f: &Found| (f.record.predicate.common.issued_at, f.location)),
        (false, Some(_)) => last,
        (false, None) => None,
    };
    Ok(Listing {
        cut: !full && next.is_some(),
        found,
        next: next.map(crate::routes::encode_cursor),
    })
}

fn matches(found: &Found, text: Option<&str>, clause: Option<&str>) -> bool {
    let common = &found.record.predicate.common;
    let cites = |c: &str| {
        common.clauses.iter().any(|x| x.eq_ignore_ascii_case(c))
            || match &found.record.predicate.body {
                Body::Control(control) => control.control_id.eq_ignore_ascii_case(c),
                Body::Audit(audit) => audit
                    .findings
                    .iter()
                    .any(|f| f.clause.eq_ignore_ascii_case(c)),
                _ => false,
            }
    };
    clause.is_none_or(cites)
        && text.is_none_or(|t| {
            found
                .record
                .predicate
                .to_value()
                .to_string()
                .to_lowercase()
                .contains(t)
        })
}

/// The verdict about `did` from the profile its relationship maps to, over
/// the records a verification reads: every relationship, accreditation,
/// verification and withdrawal, and about `did` its profile, scope,
/// audits, incidents and the latest statement of each control.
fn verdict(
    state: &AppState,
    visible: &Visible,
    did: Did,
    controls: &[Found],
) -> Read<Option<(assure_verify::Report, Vec<Seen>)>> {
    let store = &state.config.store;
    let sizes: HashMap<LogId, (String, u64)> = store
        .logs(visible)
        .into_iter()
        .map(|s| {
            (
                s.log,
                (s.log.origin_line(), s.checkpoint.checkpoint().size()),
            )
        })
        .collect();
    let everyone = [
        Kind::Relationship,
        Kind::Accreditation,
        Kind::Verification,
        Kind::Withdrawal,
    ];
    let about = [Kind::Profile, Kind::Scope, Kind::Audit, Kind::Incident];
    let mut found: Vec<Found> = controls.to_vec();
    for (kinds, subject) in [(&everyone[..], None), (&about[..], Some(did))] {
        for kind in kinds {
            let filter = Filter {
                kind: Some(*kind),
                subject,
                ..Filter::default()
            };
            found.extend(newest(store, visible, filter, usize::MAX)?);
        }
    }
    let seen: Vec<Seen> = found
        .into_iter()
        .map(|f| Seen {
            position: sizes.get(&f.location.log).map(|(log, size)| Position {
                log: log.clone(),
                index: f.location.index,
                checkpoint: *size,
            }),
            record: f.record,
        })
        .collect();
    let (_, reports) = state.graph_of(&seen);
    Ok(reports
        .into_iter()
        .find(|r| r.provider == did)
        .map(|r| (r, seen)))
}

fn verification(report: Option<&assure_verify::Report>, name: &dyn Fn(&Did) -> String) -> Markup {
    html! {
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
                                a href=(format!("/records/{}", ev.record)) { (ev.record.fmt_short()) } " (" (ev.kind) ") "
                            } }
                        }
                    }
                }
            }
            None => p class="muted" { "Not among this organization's providers, or no profile applies." }
        }
    }
}

fn controls_table(controls: &[Found], now: Timestamp) -> Markup {
    html! {
        @if controls.is_empty() { p class="muted" { "No control statements visible." } }
        @else {
            table {
                tr { th { "Control" } th { "Domain" } th { "Status" } th { "Statement" } th { "Stated" } }
                @for f in controls {
                    @if let Body::Control(c) = &f.record.predicate.body {
                        tr {
                            td { a href=(format!("/records/{}", f.record.id)) { (c.control_id) } }
                            td { (f.record.predicate.common.domain.map(|d| d.to_string()).unwrap_or_default()) }
                            td { (c.status) }
                            td { (c.statement) }
                            td class="muted" { (super::age(f.record.predicate.common.issued_at, now)) }
                        }
                    }
                }
            }
        }
    }
}

fn audits_table(audits: &[Found], name: &dyn Fn(&Did) -> String) -> Markup {
    html! {
        @if audits.is_empty() { p class="muted" { "No audits visible." } }
        @else {
            table {
                tr { th { "Standard" } th { "Type" } th { "Result" } th { "Auditor" } th { "Signed by" } th { "Valid until" } }
                @for f in audits {
                    @if let Body::Audit(a) = &f.record.predicate.body {
                        tr {
                            td { a href=(format!("/records/{}", f.record.id)) { (a.standard) } }
                            td { (a.audit_type) }
                            td { (a.result) }
                            td { (name(&f.record.issuer())) }
                            td { (f.record.signers.iter().map(name).collect::<Vec<_>>().join(", ")) }
                            td { (f.record.predicate.common.valid_until.map(day).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

fn incidents_table(incidents: &[Found]) -> Markup {
    html! {
        @if incidents.is_empty() { p class="muted" { "No incidents visible." } }
        @else {
            table {
                tr { th { "Detected" } th { "Severity" } th { "Summary" } th { "Status" } }
                @for f in incidents {
                    @if let Body::Incident(i) = &f.record.predicate.body {
                        tr {
                            td { (day(i.detected_at)) }
                            td { (i.severity) }
                            td { a href=(format!("/records/{}", f.record.id)) { (i.summary) } }
                            td { (i.status) }
                        }
                    }
                }
            }
        }
    }
}

fn search_form(
    did: Did,
    search: &Search,
    kind_error: Option<&str>,
    cursor_error: Option<&str>,
) -> Markup {
    html! {
        form method="get" action=(format!("/orgs/{did}#records")) class="search" {
            label { "Text " input type="search" name="q" value=(search.q.clone().unwrap_or_default()); }
            label {
                "Kind "
                select name="kind" aria-invalid=[kind_error.map(|_| "true")] aria-describedby=[kind_error.map(|_| "kind-error")] {
                    option value="" { "any" }
                    @for k in Kind::ALL {
                        option value=(k.as_str()) selected[search.kind() == Some(k.as_str())] { (k) }
                    }
                }
            }
            label { "Clause " input type="text" name="clause" placeholder="ISO28000:8.4" value=(search.clause.clone().unwrap_or_default()); }
            button type="submit" { "Search" }
            @if let Some(e) = kind_error { p class="error" id="kind-error" { (e) } }
            @if let Some(e) = cursor_error { p class="error" { (e) } }
        }
    }
}

fn listing_table(listing: &Listing, did: Did, search: &Search) -> Markup {
    html! {
        @if listing.found.is_empty() { p class="muted" { "No records match." } }
        @else {
            table {
                tr { th { "Issued" } th { "Kind" } th { "Record" } }
                @for f in &listing.found {
                    tr {
                        td { (day(f.record.predicate.common.issued_at)) }
                        td { (f.record.kind()) }
                        td { a href=(format!("/records/{}", f.record.id)) { (summary(f)) } }
                    }
                }
            }
        }
        @if let Some(next) = &listing.next {
            p {
                @if listing.cut { "Searched " (SEARCH_SPAN) " records. " }
                a href=(search.link(&did, next)) rel="next" {
                    @if listing.cut { "Search older records" } @else { "Next page" }
                }
            }
        }
    }
}

/// One line saying what a record is.
fn summary(f: &Found) -> String {
    match &f.record.predicate.body {
        Body::Profile(p) => p.legal_name.clone(),
        Body::Scope(s) => s.processes.join(", "),
        Body::Control(c) => format!("{} — {}", c.control_id, c.status),
        Body::Audit(a) => format!("{} {} — {}", a.audit_type, a.standard, a.result),
        Body::Incident(i) => format!("{} — {}", i.summary, i.status),
        Body::Relationship(r) => r.supplies.join(", "),
        Body::Accreditation(a) => format!("{} — {}", a.role, a.programmes.join(", ")),
        Body::Verification(v) => format!("{} — {}", v.profile, v.result),
        Body::Withdrawal(w) => format!("withdraws {} — {}", w.withdrawn.fmt_short(), w.reason),
    }
}
