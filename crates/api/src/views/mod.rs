//! The read side of the dashboard in human terms: record pages laid out by
//! kind, organization pages with search and pages, coverage of the control
//! catalog with a maturity per domain, the supply chain graph, and the
//! regulator's home.
//!
//! Pages read through the caller's `Visible` like every route, pick what
//! they show with [`Store::scan`] (nothing disclosed) and disclose exactly
//! what they show. They decode only the records they look at: the index
//! answers kind, subject and time without decoding.

mod coverage;
mod graph;
mod org;
mod record;
mod supervised;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use assure_access::Visible;
use assure_model::predicate::Body;
use assure_model::{Did, Kind, Record, RecordId};
use assure_store::{Filter, Listed, Location, Store};
use axum::response::Response;
use axum::routing::get;
use jiff::Timestamp;

use crate::problem::Problem;
use crate::server::AppState;
use crate::table::Table;

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/", &["GET"], get(graph::home))
        .route("/orgs/{did}", &["GET"], get(org::org))
        .route("/orgs/{did}/coverage", &["GET"], get(coverage::provider))
        .route("/coverage", &["GET"], get(coverage::ours))
        .route("/records/{id}", &["GET"], get(record::record))
        .route("/supervised", &["GET"], get(supervised::supervised))
}

type Read<T> = Result<T, Problem>;

/// A record the page read, where it sits.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub(crate) location: Location,
    pub(crate) record: Record,
}

/// Decodes a listed envelope (validated before it was stored).
fn decode(item: Listed) -> Option<Found> {
    let record = assure_model::parse(&item.bytes, Timestamp::MAX)
        .ok()?
        .into_verified_record();
    Some(Found {
        location: item.location,
        record,
    })
}

/// Readable records matching `filter`, newest first, decoded, at most
/// `limit`; nothing disclosed.
fn newest(store: &Store, visible: &Visible, filter: Filter, limit: usize) -> Read<Vec<Found>> {
    let page = store.scan(visible, &filter, limit)?;
    Ok(page.items.into_iter().filter_map(decode).collect())
}

/// Every readable withdrawal: the record it withdraws → its reason and the
/// withdrawal's id. Withdrawals are few; they are all read.
fn withdrawals(store: &Store, visible: &Visible) -> Read<HashMap<RecordId, (String, RecordId)>> {
    let found = newest(
        store,
        visible,
        Filter {
            kind: Some(Kind::Withdrawal),
            ..Filter::default()
        },
        usize::MAX,
    )?;
    Ok(found
        .into_iter()
        .filter_map(|f| match &f.record.predicate.body {
            Body::Withdrawal(w) => Some((w.withdrawn, (w.reason.clone(), f.record.id))),
            _ => None,
        })
        .collect())
}

/// How many control records are decoded per batch while looking for the
/// latest statement of each control.
const BATCH: usize = 256;

/// The latest statement of each control about `did`, not withdrawn,
/// newest first. Reads newest first and stops once every catalog control
/// has its statement, so an organization that restates its controls reads
/// only its most recent records.
fn latest_controls(store: &Store, visible: &Visible, did: Did) -> Read<Vec<Found>> {
    let catalog: BTreeSet<String> = assure_model::Catalog::builtin()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let withdrawn = withdrawals(store, visible)?;
    let mut latest: BTreeMap<String, Found> = BTreeMap::new();
    let mut after = None;
    loop {
        let filter = Filter {
            kind: Some(Kind::Control),
            subject: Some(did),
            after,
            ..Filter::default()
        };
        let page = store.scan(visible, &filter, BATCH)?;
        let more = page.next;
        for found in page.items.into_iter().filter_map(decode) {
            let Body::Control(c) = &found.record.predicate.body else {
                continue;
            };
            if withdrawn.contains_key(&found.record.id) {
                continue;
            }
            latest.entry(c.control_id.clone()).or_insert(found);
        }
        let complete = catalog.iter().all(|id| latest.contains_key(id));
        match more {
            Some(next) if !complete => after = Some(next),
            _ => break,
        }
    }
    let mut found: Vec<Found> = latest.into_values().collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.record.predicate.common.issued_at));
    Ok(found)
}

/// Names for people: legal names from the self-issued profile records the
/// caller may read, and ours from `init` until we publish a profile. Read
/// without disclosing; [`Names::disclose`] discloses the profiles whose
/// names the page shows.
pub(crate) struct Names {
    by_did: BTreeMap<Did, String>,
    profiles: Vec<Found>,
}

impl Names {
    fn get(&self, did: &Did) -> Option<&String> {
        self.by_did.get(did)
    }

    /// Discloses the profile records whose legal names `shown` (the page
    /// about to be sent) carries.
    fn disclose(&self, store: &Store, visible: &Visible, shown: &str) -> Read<()> {
        let named = self
            .profiles
            .iter()
            .filter(|f| match &f.record.predicate.body {
                Body::Profile(p) => crate::routes::mentions(shown, &p.legal_name),
                _ => false,
            });
        disclose(store, visible, named)
    }
}

fn names(state: &AppState, visible: &Visible) -> Read<Names> {
    let profiles: Vec<Found> = newest(
        &state.config.store,
        visible,
        Filter {
            kind: Some(Kind::Profile),
            ..Filter::default()
        },
        usize::MAX,
    )?
    .into_iter()
    .filter(|f| f.record.issuer() == f.record.subject.did)
    .collect();
    let mut by_did = BTreeMap::new();
    for f in &profiles {
        if let Body::Profile(p) = &f.record.predicate.body {
            by_did
                .entry(f.record.subject.did)
                .or_insert_with(|| p.legal_name.clone());
        }
    }
    if let Ok(Some(own)) = state.config.store.name() {
        by_did.entry(state.owner()).or_insert(own);
    }
    Ok(Names { by_did, profiles })
}

/// "Legal Name (z6Mk…abc123)", or the short DID.
fn named(names: &Names, did: &Did) -> String {
    did.named(names.get(did).map(String::as_str))
}

/// Discloses the records a page shows, as it is sent.
fn disclose<'a>(
    store: &Store,
    visible: &Visible,
    shown: impl IntoIterator<Item = &'a Found>,
) -> Read<()> {
    Ok(store.disclose(visible, shown.into_iter().map(|f| f.location))?)
}

/// Runs a page's blocking work off the runtime; a failure or a refusal
/// answers as not found.
async fn blocking(
    caller: crate::visibility::Caller,
    work: impl FnOnce() -> Option<Response> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(Some(response)) => response,
        _ => crate::dashboard::not_found(&caller),
    }
}

fn day(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

/// How long ago, in days, for tables.
fn age(t: Timestamp, now: Timestamp) -> String {
    let days = now.duration_since(t).as_hours() / 24;
    match days {
        ..=0 => "today".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}
