//! `/`: the supply chain graph, readable at fifty providers — one column per
//! tier, each column sorted by verdict (failing first), long names
//! shortened with the full name on hover (`<title>`), and a filter by
//! verdict (a GET form; the graph and the table show the matching
//! providers).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Extension, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use crate::dashboard::{colour, connected, label, outcome_class, page, warnings};
use crate::routes::{Graph, GraphNode};
use crate::server::{AppState, Ctx};

/// Names longer than this are shortened in the graph's boxes.
const SHORT: usize = 26;
const BOX_WIDTH: f64 = 220.0;
const COLUMN: f64 = 270.0;
const ROW: f64 = 46.0;

/// The verdicts the filter offers: value and label.
const VERDICTS: &[(&str, &str)] = &[
    ("", "every verdict"),
    ("fail", "fail"),
    ("inconclusive", "inconclusive"),
    ("pass", "pass"),
    ("none", "no profile"),
];

#[derive(Debug, Default, Deserialize)]
pub(super) struct Filter {
    #[serde(default)]
    verdict: Option<String>,
}

/// Failing first, then inconclusive, passing, and those no profile judged.
fn rank(node: &GraphNode) -> u8 {
    match node.result.as_deref() {
        Some("fail") => 0,
        Some("inconclusive") => 1,
        Some("pass") => 2,
        _ => 3,
    }
}

fn wanted(node: &GraphNode, verdict: Option<&str>) -> bool {
    node.tier == 0
        || match verdict {
            None => true,
            Some("none") => node.result.is_none(),
            Some(v) => node.result.as_deref() == Some(v),
        }
}

fn shorten(name: &str) -> String {
    match name.chars().count() > SHORT {
        true => format!("{}…", name.chars().take(SHORT - 1).collect::<String>()),
        false => name.to_owned(),
    }
}

/// The graph as SVG, scaled to the page's width: one column per tier,
/// edges from supplier to customer.
fn svg(graph: &Graph, shown: &[&GraphNode]) -> Markup {
    let mut columns: BTreeMap<u32, Vec<&GraphNode>> = BTreeMap::new();
    for node in shown {
        columns.entry(node.tier).or_default().push(node);
    }
    for members in columns.values_mut() {
        members.sort_by(|a, b| (rank(a), &a.name).cmp(&(rank(b), &b.name)));
    }
    let rows = columns.values().map(Vec::len).max().unwrap_or(1);
    let width = COLUMN * columns.len() as f64 + 20.0;
    let height = ROW * rows as f64 + 20.0;
    let mut at: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (column, members) in columns.values().enumerate() {
        for (row, node) in members.iter().enumerate() {
            at.insert(
                node.did.as_str(),
                (20.0 + COLUMN * column as f64, 30.0 + ROW * row as f64),
            );
        }
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {width} {height}"))
            width=(width) style="max-width:100%;height:auto" role="group" aria-label="Supply chain graph" {
            @for edge in &graph.edges {
                @if let (Some(a), Some(b)) = (at.get(edge.supplier.as_str()), at.get(edge.customer.as_str())) {
                    line x1=(a.0) y1=(a.1) x2=(b.0 + BOX_WIDTH) y2=(b.1) stroke="#9aa" stroke-width="1.2" {}
                }
            }
            @for node in shown {
                @if let Some((x, y)) = at.get(node.did.as_str()) {
                    @let full = label(node.name.as_ref(), &node.did);
                    a href=(format!("/orgs/{}", node.did)) {
                        title { (full) }
                        rect x=(x) y=(y - 17.0) width=(BOX_WIDTH) height="34" rx="6"
                            fill="#fff" stroke=(colour(node.result.as_deref()))
                            stroke-width="3"
                            stroke-dasharray=(if node.transitive { "6 4" } else { "none" }) {}
                        text x=(x + 8.0) y=(y - 2.0) { (shorten(&full)) }
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

fn filter_form(verdict: Option<&str>, counts: &BTreeMap<&str, usize>) -> Markup {
    html! {
        form method="get" action="/" class="search" {
            label {
                "Show "
                select name="verdict" {
                    @for (value, text) in VERDICTS {
                        option value=(value) selected[verdict.unwrap_or("") == *value] {
                            (text)
                            @if let Some(n) = counts.get(value) { " (" (n) ")" }
                        }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

pub(super) async fn home(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let caller = ctx.caller.clone();
    let verdict = filter
        .ok()
        .and_then(|Query(f)| f.verdict)
        .filter(|v| VERDICTS.iter().any(|(value, _)| value == v) && !v.is_empty());
    let peers = match caller.is_admin() {
        true => Some(connected(&state).await),
        false => None,
    };
    super::blocking(caller, move || {
        let (graph, seen, visible) = state.graph(&ctx).ok()?;
        let banner = match peers {
            Some(peers) => Some(warnings(&state, peers).ok()?),
            None => None,
        };
        let verdict = verdict.as_deref();
        let providers: Vec<&GraphNode> = graph.nodes.iter().filter(|n| n.tier > 0).collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        counts.insert("", providers.len());
        for n in &providers {
            *counts.entry(n.result.as_deref().unwrap_or("none")).or_default() += 1;
        }
        let shown: Vec<&GraphNode> = graph.nodes.iter().filter(|n| wanted(n, verdict)).collect();
        let mut listed: Vec<&GraphNode> = shown.iter().copied().filter(|n| n.tier > 0).collect();
        listed.sort_by(|a, b| (a.tier, rank(a), &a.name).cmp(&(b.tier, rank(b), &b.name)));
        let body = html! {
            @if let Some(banner) = &banner { (banner) }
            p class="muted" {
                "Providers found in confirmed relationship records, two tiers out, each verified "
                "against the profile its relationship maps to. Green passes, red fails, amber is "
                "inconclusive (the records needed are not visible here); a dashed border marks a "
                "verdict taken from a provider's published verification."
            }
            (filter_form(verdict, &counts))
            div class="card graph" { (svg(&graph, &shown)) }
            h2 { "Providers" }
            table {
                tr { th { "Tier" } th { "Organization" } th { "Profile" } th { "Verdict" } th { "Reason" } }
                @for node in &listed {
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
            } @else if listed.is_empty() {
                p class="muted" { "No provider has this verdict." }
            }
        };
        state.disclose_names(&visible, &seen, &body.0).ok()?;
        Some(page("Supply chain", &ctx.caller, body))
    })
    .await
}
