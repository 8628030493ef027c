//! Reports to download from the dashboard, made by the node's report
//! operation (the same as `assure report` and `assure disclosures --csv`):
//! a verification as PDF, CSV or a printable page, and the disclosure log
//! of a period as CSV. For the administrator alone; anyone else gets the
//! dashboard's "not found".

use std::sync::Arc;

use assure_model::Did;
use axum::extract::{Extension, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::dashboard::{not_found, page};
use crate::server::{AppState, Ctx};
use crate::table::Table;

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new().route("/reports", &["GET"], get(report)).route(
        "/reports/disclosures.csv",
        &["GET"],
        get(disclosures),
    )
}

/// Which report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// The provider's DID; every provider when absent.
    provider: Option<String>,
    /// pdf, csv or html.
    format: Option<String>,
}

async fn report(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !ctx.caller.is_admin() {
        return not_found(&ctx.caller);
    }
    let Ok(Query(query)) = query else {
        return refused(&ctx, "the report link is not one this node makes");
    };
    if query.provider.is_none() && query.format.is_none() {
        return index(state, ctx).await;
    }
    let provider = match query.provider.as_deref().map(str::parse::<Did>) {
        None => None,
        Some(Ok(did)) => Some(did),
        Some(Err(_)) => return refused(&ctx, "the provider is not a DID"),
    };
    let format = query.format.unwrap_or_else(|| "html".into());
    match state.config.control.report(provider, format.clone()).await {
        Ok((bytes, media_type)) => {
            let name = match provider {
                Some(p) => format!("verification-{}", &p.to_string()[8..20]),
                None => "verification-all".to_owned(),
            };
            download(bytes, media_type, &name, &format)
        }
        Err(refusal) => refused(&ctx, &refusal.message),
    }
}

/// The reports page: every provider with its links, and the disclosure
/// log of a period.
async fn index(state: Arc<AppState>, ctx: Ctx) -> Response {
    let graph = {
        let ctx = ctx.clone();
        tokio::task::spawn_blocking(move || state.graph(&ctx).map(|(graph, _, _)| graph)).await
    };
    let Ok(Ok(graph)) = graph else {
        return not_found(&ctx.caller);
    };
    let links = |provider: Option<&str>| {
        let of = provider.map_or_else(String::new, |p| format!("provider={p}&"));
        maud::html! {
            a href={ "/reports?" (of) "format=pdf" } { "PDF" } " · "
            a href={ "/reports?" (of) "format=csv" } { "CSV" } " · "
            a href={ "/reports?" (of) "format=html" } { "printable page" }
        }
    };
    let body = maud::html! {
        p { "Verification reports for management and auditors: each requirement with its              outcome, the reason, the evidence and what the provider must do to pass." }
        table {
            thead { tr { th scope="col" { "Provider" } th scope="col" { "Verdict" } th scope="col" { "Report" } } }
            tbody {
                tr { td { strong { "Every provider" } } td {} td { (links(None)) } }
                @for n in graph.nodes.iter().filter(|n| n.tier == 1) {
                    tr {
                        td { (n.name.clone().unwrap_or_else(|| n.did.clone())) }
                        td { (n.result.clone().unwrap_or_else(|| "no profile".into())) }
                        td { (links(Some(&n.did))) }
                    }
                }
            }
        }
        h2 { "Disclosure log" }
        form method="get" action="/reports/disclosures.csv" {
            label { "From " input type="date" name="since"; }
            " "
            label { "until " input type="date" name="until"; }
            " "
            button type="submit" { "Download CSV" }
        }
        p class="muted" { "Every disclosure of the period: when, to whom, which entries, under which grant, for what purpose." }
    };
    page("Reports", &ctx.caller, body)
}

/// Which period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodQuery {
    /// From (RFC 3339 or a date, YYYY-MM-DD).
    since: Option<String>,
    /// Until, not included.
    until: Option<String>,
}

async fn disclosures(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    query: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !ctx.caller.is_admin() {
        return not_found(&ctx.caller);
    }
    let Ok(Query(query)) = query else {
        return refused(&ctx, "give since and until as dates or RFC 3339 times");
    };
    let (since, until) = (day(query.since), day(query.until));
    match state.config.control.disclosures_csv(since, until).await {
        Ok(csv) => download(
            csv.into_bytes(),
            "text/csv; charset=utf-8",
            "disclosures",
            "csv",
        ),
        Err(refusal) => refused(&ctx, &refusal.message),
    }
}

/// A date from a date field (YYYY-MM-DD) as the start of that day in UTC;
/// anything else as given.
fn day(value: Option<String>) -> Option<String> {
    let value = value.filter(|v| !v.trim().is_empty())?;
    match value.len() == 10 && value.parse::<jiff::civil::Date>().is_ok() {
        true => Some(format!("{value}T00:00:00Z")),
        false => Some(value),
    }
}

fn download(bytes: Vec<u8>, media_type: &str, name: &str, extension: &str) -> Response {
    let disposition = match extension {
        // The printable page opens in the browser.
        "html" => "inline".to_owned(),
        _ => format!("attachment; filename=\"{name}.{extension}\""),
    };
    (
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

fn refused(ctx: &Ctx, message: &str) -> Response {
    let body = maud::html! { p class="fail" role="alert" { (message) } };
    let mut response = page("No report", &ctx.caller, body);
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}
