//! The `/v1` JSON routes, `/metrics`, `/healthz`, `/readyz`, and the OpenAPI
//! document generated from the handlers' annotations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use assure_access::Grant;
use assure_model::{Catalog, Did, Domain, Kind, RecordId};
use assure_store::{Filter, Listed, Location, LogId};
use assure_verify::{Seen, View};
use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::problem::Problem;
use crate::server::{AppState, Ctx, authenticate, measure};
use assure_access::Visible;

use crate::metrics::Figures;
use crate::table::Table;
use crate::{GrantTerms, compartments, csrf, dashboard, signin};

type ApiResult<T> = Result<T, Problem>;

/// Every route, with its handlers.
pub(crate) fn table() -> Table<Arc<AppState>> {
    Table::new()
        .route("/v1/orgs", &["GET"], get(orgs))
        .route("/v1/orgs/{did}/records", &["GET"], get(org_records))
        .route("/v1/orgs/{did}/verification", &["GET"], get(verification))
        .route("/v1/records/{id}", &["GET"], get(record))
        .route("/v1/checkpoints", &["GET"], get(checkpoints))
        .route("/v1/graph", &["GET"], get(graph))
        .route("/v1/alerts", &["GET"], get(alerts))
        .route("/v1/admin/records", &["GET"], get(admin_records))
        .route("/v1/admin/verify/{did}", &["POST"], post(admin_verify))
        .route("/v1/admin/publish", &["POST"], post(admin_publish))
        .route("/v1/admin/grants", &["GET"], get(admin_grants))
        .route(
            "/v1/admin/grants/{did}",
            &["PUT", "DELETE"],
            put(admin_put_grant).delete(admin_revoke),
        )
        .route("/v1/admin/disclosures", &["GET"], get(admin_disclosures))
        .route("/v1/admin/peers", &["GET"], get(admin_peers))
        .route("/v1/openapi.json", &["GET"], get(openapi_json))
        .route("/metrics", &["GET"], get(metrics))
        .route("/healthz", &["GET"], get(healthz))
        .route("/readyz", &["GET"], get(readyz))
        .merge(compartments::routes())
        .merge(dashboard::routes())
        .merge(crate::requests::routes())
        .merge(crate::alerts::routes())
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let (router, _) = table().into_parts();
    router
        .fallback(fallback)
        .layer(from_fn_with_state(state.clone(), csrf::guard))
        .layer(from_fn_with_state(state.clone(), authenticate))
        .layer(from_fn_with_state(state.clone(), measure))
        .with_state(state)
}

/// The operations the handlers document; [`crate::openapi`] completes them
/// into the document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Assure node API",
        description = "Signed, need-to-know attestations of supply-chain security. Sign requests \
                       with RFC 9421 HTTP Message Signatures (ed25519, keyid = your DID, any \
                       label, covering @method @authority @scheme @path @query date \
                       content-digest, and assure-purpose when Assure-Purpose is sent; valid at \
                       the one node named by @authority, once; see the README's Signed \
                       requests); unsigned requests see public compartments only; /v1/admin routes take the node's bearer token. A \
                       resource you may not see answers exactly as one that does not exist."
    ),
    paths(
        orgs,
        org_records,
        verification,
        record,
        checkpoints,
        graph,
        alerts,
        admin_records,
        admin_verify,
        admin_publish,
        compartments::admin_compartments,
        compartments::admin_add_compartment,
        admin_grants,
        admin_put_grant,
        admin_revoke,
        admin_disclosures,
        admin_peers,
        signin::dashboard_link,
        crate::requests::ask,
        crate::requests::outcome,
        crate::alerts::admin_alerts,
        crate::alerts::admin_ack,
        crate::alerts::admin_webhooks,
        crate::alerts::admin_add_webhook,
        crate::alerts::admin_remove_webhook,
        crate::alerts::admin_deliveries,
        openapi_json,
        metrics,
        healthz,
        readyz
    ),
    components(schemas(Problem))
)]
pub(crate) struct ApiDoc;

async fn fallback() -> Problem {
    Problem::not_found()
}

/// This document, fitted to this node: its page size limit and the
/// profiles it verifies against.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
async fn openapi_json(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let profiles: Vec<&str> = state.config.profiles.keys().map(String::as_str).collect();
    Json(crate::openapi::document(&state.config.settings, &profiles))
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(Problem::internal)?
}

/// The organization a path names. A path whose DID is malformed, or is no
/// valid ed25519 key, names nothing: the same 404 as an unknown one, on
/// every route.
fn parse_did(text: &str) -> ApiResult<Did> {
    text.parse().map_err(|_| Problem::not_found())
}

// ---------------------------------------------------------------- organizations

/// An organization the caller may see records about.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Org {
    /// Its DID.
    pub(crate) did: String,
    /// Its legal name, from its newest visible `profile` record.
    pub(crate) name: Option<String>,
    /// How many records about it the caller may see.
    pub(crate) records: usize,
}

/// Organizations with records visible to the caller.
#[utoipa::path(get, path = "/v1/orgs", tag = "records",
    responses((status = 200, body = Vec<Org>)))]
async fn orgs(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<Vec<Org>>> {
    blocking(move || {
        let store = &state.config.store;
        let visible = state.visible(&ctx)?;
        let counts = store.subjects(&visible)?;
        let names = state.names(&visible)?;
        Ok(Json(
            counts
                .into_iter()
                .map(|(did, records)| Org {
                    did: did.to_string(),
                    name: names.get(&did).cloned(),
                    records,
                })
                .collect(),
        ))
    })
    .await
}

impl AppState {
    /// Legal names from the profile records readable under `visible`
    /// (read, and so disclosed, as the names are sent).
    pub(crate) fn names(&self, visible: &Visible) -> ApiResult<BTreeMap<Did, String>> {
        Ok(self.config.store.names(visible)?)
    }
}

// ---------------------------------------------------------------------- records

/// Filters and paging for a record listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecordQuery {
    /// Only this kind (`profile`, `scope`, `control`, `audit`, …).
    kind: Option<String>,
    /// Only this ISO 22340 domain.
    domain: Option<String>,
    /// Only records issued at or after this RFC 3339 time.
    since: Option<String>,
    /// Only records of this compartment (32 hex characters).
    compartment: Option<String>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
    /// Page size: 1 to the server's maximum (default 100).
    limit: Option<usize>,
}

/// One record in a listing (the shape `page_body` writes).
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordItem {
    /// The record id (blake3 of the DSSE PAE), hex.
    id: String,
    /// Its kind.
    kind: String,
    /// The organization it is about.
    subject: String,
    /// When it was issued.
    issued_at: String,
    /// The log's origin line.
    log: String,
    /// The compartment id.
    compartment: String,
    /// Its index in the log.
    index: u64,
    /// The DSSE envelope as stored.
    #[schema(value_type = Object)]
    envelope: Box<RawValue>,
}

/// A page of records (the shape `page_body` writes).
#[allow(dead_code)]
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordPage {
    /// The records, newest first.
    records: Vec<RecordItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next: Option<String>,
}

/// Records about an organization, newest first.
#[utoipa::path(get, path = "/v1/orgs/{did}/records", tag = "records",
    params(("did" = String, Path, description = "The organization's DID"), RecordQuery),
    responses((status = 200, body = RecordPage), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
async fn org_records(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(did): Path<String>,
    query: Result<Query<RecordQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<JsonBytes> {
    let subject = parse_did(&did)?;
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    blocking(move || state.records(&ctx, Some(subject), query)).await
}

/// Every record the node holds (admin).
#[utoipa::path(get, path = "/v1/admin/records", tag = "admin",
    params(RecordQuery), security(("admin" = [])),
    responses((status = 200, body = RecordPage), (status = 401, body = Problem)))]
async fn admin_records(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    query: Result<Query<RecordQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<JsonBytes> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    blocking(move || state.records(&ctx, None, query)).await
}

impl AppState {
    pub(crate) fn owner(&self) -> Did {
        self.config.keypair.did()
    }

    fn records(&self, ctx: &Ctx, subject: Option<Did>, query: RecordQuery) -> ApiResult<JsonBytes> {
        let max = self.config.settings.max_page;
        let limit = query.limit.unwrap_or(100.min(max));
        if limit == 0 || limit > max {
            return Err(Problem::bad_request(format!(
                "limit must be between 1 and {max}"
            )));
        }
        let kind = query
            .kind
            .as_deref()
            .map(str::parse::<Kind>)
            .transpose()
            .map_err(|e| Problem::bad_request(e.to_string()))?;
        let domain = query
            .domain
            .as_deref()
            .map(str::parse::<Domain>)
            .transpose()
            .map_err(|e| Problem::bad_request(e.to_string()))?;
        let since = query
            .since
            .as_deref()
            .map(|s| {
                s.parse::<Timestamp>()
                    .map_err(|_| Problem::bad_request("since must be an RFC 3339 time"))
            })
            .transpose()?;
        let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let mut visible = self.visible(ctx)?;
        if let Some(compartment) = &query.compartment {
            let id: assure_access::CompartmentId = compartment
                .parse()
                .map_err(|_| Problem::bad_request("compartment must be 32 hex characters"))?;
            // A compartment the caller may not see narrows to nothing,
            // exactly as one that does not exist.
            visible = visible.narrow(|log| log.compartment == id);
        }
        let filter = Filter {
            kind,
            subject,
            since,
            domain,
            after,
        };
        let page = self.config.store.page(&visible, &filter, limit)?;
        let next = page.next.map(encode_cursor);
        Ok(JsonBytes(page_body(&page.items, next.as_deref())))
    }
}

/// A JSON body written by hand.
pub(crate) struct JsonBytes(Vec<u8>);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

/// A record's fields in a listing, besides its envelope.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordMeta<'a> {
    id: &'a str,
    kind: &'a str,
    subject: &'a str,
    issued_at: &'a str,
    log: &'a str,
    compartment: &'a str,
    index: u64,
}

/// The JSON of a [`RecordPage`], written directly: each envelope goes in as
/// stored. Envelopes are JSON validated before they were stored, so they are
/// copied, not parsed again. Names repeated across the page (subjects, logs)
/// are formatted once.
fn page_body(items: &[Listed], next: Option<&str>) -> Vec<u8> {
    let size: usize = items.iter().map(|i| i.bytes.len() + 400).sum();
    let mut out = Vec::with_capacity(size + 64);
    let mut subjects: BTreeMap<Did, String> = BTreeMap::new();
    let mut logs: BTreeMap<LogId, (String, String)> = BTreeMap::new();
    out.extend_from_slice(b"{\"records\":[");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let subject = subjects
            .entry(item.subject)
            .or_insert_with(|| item.subject.to_string());
        let (log, compartment) = logs.entry(item.location.log).or_insert_with(|| {
            (
                item.location.log.origin_line(),
                item.location.log.compartment.to_string(),
            )
        });
        let meta = RecordMeta {
            id: &item.id.to_string(),
            kind: item.kind.as_str(),
            subject,
            issued_at: &item.issued_at.to_string(),
            log,
            compartment,
            index: item.location.index,
        };
        // Serializing plain strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &meta);
        out.pop();
        out.extend_from_slice(b",\"envelope\":");
        out.extend_from_slice(&item.bytes);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"next\":");
    let _ = serde_json::to_writer(&mut out, &next);
    out.push(b'}');
    out
}

pub(crate) fn encode_cursor((at, location): (Timestamp, Location)) -> String {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(&at.as_microsecond().to_be_bytes());
    bytes.extend_from_slice(location.log.origin.public_bytes());
    bytes.extend_from_slice(location.log.compartment.as_bytes());
    bytes.extend_from_slice(&location.index.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode_cursor(text: &str) -> ApiResult<(Timestamp, Location)> {
    let bad = || Problem::bad_request("cursor is not one this server issued");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    if bytes.len() != 64 {
        return Err(bad());
    }
    let micros = i64::from_be_bytes(bytes[..8].try_into().map_err(|_| bad())?);
    let origin =
        Did::from_public_bytes(bytes[8..40].try_into().map_err(|_| bad())?).map_err(|_| bad())?;
    let compartment =
        assure_access::CompartmentId::from_bytes(bytes[40..56].try_into().map_err(|_| bad())?);
    let index = u64::from_be_bytes(bytes[56..64].try_into().map_err(|_| bad())?);
    let at = Timestamp::from_microsecond(micros).map_err(|_| bad())?;
    Ok((
        at,
        Location {
            log: LogId {
                origin,
                compartment,
            },
            index,
        },
    ))
}

/// One record with what proves it is in its log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordDetail {
    /// The record id, hex.
    id: String,
    /// The log's origin line.
    log: String,
    /// Its index in the log.
    index: u64,
    /// The DSSE envelope as stored.
    #[schema(value_type = Object)]
    envelope: Box<RawValue>,
    /// The decoded in-toto statement.
    #[schema(value_type = Object)]
    statement: serde_json::Value,
    /// Verified signers, issuer first.
    signers: Vec<String>,
    /// RFC 9162 inclusion proof against `checkpoint`, hex hashes.
    proof: Vec<String>,
    /// The log's signed checkpoint (C2SP signed note).
    checkpoint: String,
}

/// One record, its inclusion proof and the checkpoint it proves against.
#[utoipa::path(get, path = "/v1/records/{id}", tag = "records",
    params(("id" = String, Path, description = "The record id, 64 hex characters")),
    responses((status = 200, body = RecordDetail), (status = 404, body = Problem)))]
async fn record(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordDetail>> {
    let id: RecordId = id.parse().map_err(|_| Problem::not_found())?;
    blocking(move || {
        let store = &state.config.store;
        let visible = state.visible(&ctx)?;
        let stored = store
            .record(&visible, &id)?
            .into_iter()
            .next()
            .ok_or_else(Problem::not_found)?;
        let location = stored.location;
        let log = store
            .log_state(&visible, location.log)
            .ok_or_else(Problem::not_found)?;
        let size = log.checkpoint.checkpoint().size();
        let proof = log
            .tree
            .inclusion_proof(location.index, size)
            .map_err(Problem::internal)?;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&stored.record.envelope.payload)
            .map_err(Problem::internal)?;
        let statement = serde_json::from_slice(&payload).map_err(Problem::internal)?;
        Ok(Json(RecordDetail {
            id: id.to_string(),
            log: location.log.origin_line(),
            index: location.index,
            envelope: RawValue::from_string(String::from_utf8_lossy(&stored.bytes).into_owned())
                .map_err(Problem::internal)?,
            statement,
            signers: stored.record.signers.iter().map(Did::to_string).collect(),
            proof: proof.iter().map(hex::encode).collect(),
            checkpoint: log.checkpoint.to_text(),
        }))
    })
    .await
}

/// The head of one log the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckpointItem {
    /// The log's origin line.
    log: String,
    /// The compartment id.
    compartment: String,
    /// The compartment's local label, shown to the node's own
    /// administration only.
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    /// Its TLP marking.
    tlp: String,
    /// Entries in the log.
    size: u64,
    /// The signed checkpoint (C2SP signed note).
    checkpoint: String,
}

/// Checkpoints of every log the caller may see.
#[utoipa::path(get, path = "/v1/checkpoints", tag = "records",
    responses((status = 200, body = Vec<CheckpointItem>)))]
async fn checkpoints(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<Vec<CheckpointItem>>> {
    blocking(move || {
        let visible = state.visible(&ctx)?;
        let owner = ctx.caller.is_admin();
        Ok(Json(
            state
                .config
                .store
                .heads(&visible)?
                .into_iter()
                .map(|s| CheckpointItem {
                    log: s.log.origin_line(),
                    compartment: s.compartment.id.to_string(),
                    // Labels are local: the owner's alone.
                    label: owner.then(|| s.compartment.label.clone()),
                    tlp: s.compartment.rule.tlp().to_string(),
                    size: s.checkpoint.checkpoint().size(),
                    checkpoint: s.checkpoint.to_text(),
                })
                .collect(),
        ))
    })
    .await
}

// ------------------------------------------------------------------ verification

/// The profile to verify against.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct VerificationQuery {
    /// A profile name the node knows (see its configuration).
    profile: String,
}

impl AppState {
    /// The records the caller may see, for the engine, and the set they
    /// were read under.
    pub(crate) fn seen(&self, ctx: &Ctx) -> ApiResult<(Vec<Seen>, Visible)> {
        let visible = self.visible(ctx)?;
        let seen = self.config.store.seen(&visible)?;
        Ok((seen, visible))
    }

    /// What the caller may see of the records a verification of
    /// `provider` reads ([`assure_verify::Reads`]).
    pub(crate) fn seen_for(&self, ctx: &Ctx, provider: Did) -> ApiResult<(Vec<Seen>, Visible)> {
        let visible = self.visible(ctx)?;
        let seen = self.config.store.seen_for(&visible, provider)?;
        Ok((seen, visible))
    }

    pub(crate) fn context(&self) -> assure_verify::Context {
        assure_verify::Context {
            verifier: self.owner(),
            anchors: self.config.anchors.iter().copied().collect(),
        }
    }

    /// Discloses the records at `positions`, as a page built from them is
    /// sent.
    pub(crate) fn disclose_positions<'p>(
        &self,
        visible: &Visible,
        positions: impl IntoIterator<Item = &'p assure_verify::Position>,
    ) -> ApiResult<()> {
        let shown = positions.into_iter().filter_map(|p| {
            Some(Location {
                log: LogId::from_origin_line(&p.log)?,
                index: p.index,
            })
        });
        Ok(self.config.store.disclose(visible, shown)?)
    }

    /// Discloses the self-issued profile records whose legal names
    /// `shown` (the text of an answer about to be sent) carries. Pages and
    /// reports name organizations by the legal name of a profile record
    /// the caller may see, which may sit in a restricted log: showing the
    /// name shows that entry.
    pub(crate) fn disclose_names(
        &self,
        visible: &Visible,
        seen: &[Seen],
        shown: &str,
    ) -> ApiResult<()> {
        let named = seen.iter().filter(|s| match &s.record.predicate.body {
            assure_model::Body::Profile(p) => {
                s.record.issuer() == s.record.subject.did && mentions(shown, &p.legal_name)
            }
            _ => false,
        });
        self.disclose_positions(visible, named.filter_map(|s| s.position.as_ref()))
    }

    /// Discloses every record the reports may rest on, as they are sent:
    /// their evidence, and every record about each provider (a reason can
    /// speak of a record without citing it, as "no record of …" does when
    /// others are present).
    pub(crate) fn disclose_reports(
        &self,
        seen: &[Seen],
        visible: &Visible,
        reports: &[&assure_verify::Report],
    ) -> ApiResult<()> {
        let providers: BTreeSet<Did> = reports.iter().map(|r| r.provider).collect();
        let about = seen
            .iter()
            .filter(|s| providers.contains(&s.record.subject.did))
            .filter_map(|s| s.position.as_ref());
        let evidence = reports
            .iter()
            .flat_map(|r| &r.requirements)
            .flat_map(|r| &r.evidence)
            .filter_map(|e| e.position.as_ref());
        self.disclose_positions(visible, about.chain(evidence))
    }
}

/// Whether `text`, as JSON or HTML, shows `name`.
pub(crate) fn mentions(text: &str, name: &str) -> bool {
    let html = maud::html! { (name) }.into_string();
    let json = serde_json::to_string(name).unwrap_or_default();
    !name.is_empty()
        && (text.contains(name) || text.contains(&html) || text.contains(json.trim_matches('"')))
}

/// Verifies an organization against a named profile, with the records the
/// caller may see.
#[utoipa::path(get, path = "/v1/orgs/{did}/verification", tag = "verification",
    params(("did" = String, Path, description = "The provider's DID"), VerificationQuery),
    responses((status = 200, description = "A verification report", body = Object),
              (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn verification(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(did): Path<String>,
    query: Result<Query<VerificationQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<assure_verify::Report>> {
    let provider = parse_did(&did)?;
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    blocking(move || {
        let (profile, _) = state.config.profiles.get(&query.profile).ok_or_else(|| {
            let known: Vec<&String> = state.config.profiles.keys().collect();
            Problem::bad_request(format!("unknown profile; this node knows {known:?}"))
        })?;
        let (seen, visible) = state.seen_for(&ctx, provider)?;
        if !seen.iter().any(|s| s.record.subject.did == provider) {
            return Err(Problem::not_found());
        }
        let view = View::new(&seen, Timestamp::now());
        let report = assure_verify::verify(&view, profile, provider, &state.context());
        state.disclose_reports(&seen, &visible, &[&report])?;
        let text = serde_json::to_string(&report).map_err(Problem::internal)?;
        state.disclose_names(&visible, &seen, &text)?;
        Ok(Json(report))
    })
    .await
}

/// Verifies an organization against the profile in the body (TOML, as in
/// config/profiles/), over every record the node holds (admin).
#[utoipa::path(post, path = "/v1/admin/verify/{did}", tag = "admin",
    params(("did" = String, Path, description = "The provider's DID")),
    request_body(content = String, content_type = "application/toml", description = "A profile"),
    security(("admin" = [])),
    responses((status = 200, description = "A verification report", body = Object),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 404, description = "The DID is no valid did:key", body = Problem)))]
async fn admin_verify(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(did): Path<String>,
    body: String,
) -> ApiResult<Json<assure_verify::Report>> {
    let provider = parse_did(&did)?;
    blocking(move || {
        let catalog = Catalog::builtin();
        let profile = assure_verify::Profile::parse(&body, catalog)
            .map_err(|e| Problem::bad_request(format!("profile: {e}")))?;
        let (seen, _) = state.seen_for(&ctx, provider)?;
        let view = View::new(&seen, Timestamp::now());
        Ok(Json(assure_verify::verify(
            &view,
            &profile,
            provider,
            &state.context(),
        )))
    })
    .await
}

/// An organization in the supply chain graph.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct GraphNode {
    /// Its DID.
    pub(crate) did: String,
    /// Its legal name, when known.
    pub(crate) name: Option<String>,
    /// 0 for this node's organization, 1 for its providers, 2 for theirs.
    pub(crate) tier: u32,
    /// `pass`, `fail` or `inconclusive`; absent when no profile applies.
    pub(crate) result: Option<String>,
    /// Whether the verdict is a provider's published verification.
    pub(crate) transitive: bool,
    /// The profile applied.
    pub(crate) profile: Option<String>,
    /// The verdict's one-line reason.
    pub(crate) reason: Option<String>,
}

/// A supply relationship.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct GraphEdge {
    /// The supplier's DID.
    pub(crate) supplier: String,
    /// The customer's DID.
    pub(crate) customer: String,
    /// What is supplied.
    pub(crate) supplies: Vec<String>,
}

/// The supply chain as the caller may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Graph {
    /// Organizations, this node's first.
    pub(crate) nodes: Vec<GraphNode>,
    /// Who supplies whom.
    pub(crate) edges: Vec<GraphEdge>,
}

impl AppState {
    /// Providers two tiers out with their verdicts, computed over what
    /// `caller` may see, to show whole: every verdict's evidence is
    /// disclosed. With the records and the set they were read under.
    pub(crate) fn graph(&self, ctx: &Ctx) -> ApiResult<(Graph, Vec<Seen>, Visible)> {
        let (seen, visible) = self.seen(ctx)?;
        let (graph, reports) = self.graph_of(&seen);
        self.disclose_reports(&seen, &visible, &reports.iter().collect::<Vec<_>>())?;
        Ok((graph, seen, visible))
    }

    /// [`AppState::graph`] over records already read, nothing disclosed:
    /// the caller discloses the evidence of the verdicts it shows.
    pub(crate) fn graph_of(&self, seen: &[Seen]) -> (Graph, Vec<assure_verify::Report>) {
        let view = View::new(seen, Timestamp::now());
        let owner = self.owner();
        let links = assure_verify::chain::providers(&view, owner, 2);
        let names = legal_names(seen);
        let name = |did: &Did| names.get(did).cloned();
        let mut nodes = vec![GraphNode {
            did: owner.to_string(),
            name: name(&owner),
            tier: 0,
            result: None,
            transitive: false,
            profile: None,
            reason: None,
        }];
        let mut edges = Vec::new();
        let mut reports = Vec::new();
        for link in links {
            let profile = self.profile_for(&link.supplies);
            let report = assure_verify::chain::judge(&view, &link, profile, &self.context());
            nodes.push(GraphNode {
                did: link.provider.to_string(),
                name: name(&link.provider),
                tier: link.tier,
                result: report.as_ref().map(|r| r.result.to_string()),
                transitive: report.as_ref().is_some_and(|r| r.transitive.is_some()),
                profile: report.as_ref().map(|r| r.profile.clone()),
                reason: report.as_ref().map(assure_verify::Report::headline),
            });
            edges.push(GraphEdge {
                supplier: link.provider.to_string(),
                customer: link.customer.to_string(),
                supplies: link.supplies,
            });
            reports.extend(report);
        }
        (Graph { nodes, edges }, reports)
    }

    fn profile_for(&self, supplies: &[String]) -> Option<&assure_verify::Profile> {
        let profiles = &self.config.profiles;
        profiles
            .values()
            .find(|(_, names)| assure_verify::chain::supplies_match(names, supplies))
            .or_else(|| profiles.values().find(|(_, names)| names.is_empty()))
            .map(|(profile, _)| profile)
    }
}

/// Legal names from self-issued profile records.
pub(crate) fn legal_names(seen: &[Seen]) -> BTreeMap<Did, String> {
    let mut names = BTreeMap::new();
    for s in seen {
        if let assure_model::Body::Profile(p) = &s.record.predicate.body
            && s.record.issuer() == s.record.subject.did
        {
            names.insert(s.record.subject.did, p.legal_name.clone());
        }
    }
    names
}

/// The supply chain graph, two tiers out, with each provider's verdict.
#[utoipa::path(get, path = "/v1/graph", tag = "verification",
    responses((status = 200, body = Graph)))]
async fn graph(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<Graph>> {
    blocking(move || {
        let (graph, seen, visible) = state.graph(&ctx)?;
        let text = serde_json::to_string(&graph).map_err(Problem::internal)?;
        state.disclose_names(&visible, &seen, &text)?;
        Ok(Json(graph))
    })
    .await
}

// ------------------------------------------------------------------------ alerts

/// An alert and, for equivocation, its evidence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AlertItem {
    /// When it was raised.
    at: String,
    /// `equivocation` or `incident`.
    kind: String,
    /// The organization concerned.
    origin: String,
    /// What happened.
    detail: String,
    /// The record concerned.
    record: Option<String>,
}

/// Conflicting checkpoints of one log: proof of equivocation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceItem {
    /// The log's origin line.
    origin: String,
    /// One signed checkpoint.
    first: String,
    /// The other.
    second: String,
    /// Why they conflict.
    reason: String,
}

/// Alerts and equivocation evidence.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Alerts {
    /// Alerts about logs the caller may read (all, for the admin).
    alerts: Vec<AlertItem>,
    /// Equivocation evidence about logs the caller may see.
    evidence: Vec<EvidenceItem>,
}

/// Alerts (equivocation, incidents naming this node) and equivocation
/// evidence about logs the caller may read.
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", responses((status = 200, body = Alerts)))]
async fn alerts(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<Alerts>> {
    blocking(move || {
        let store = &state.config.store;
        let visible = state.visible(&ctx)?;
        let alerts = store
            .alerts(&visible)?
            .into_iter()
            .map(|a| AlertItem {
                at: a.at.to_string(),
                kind: a.kind,
                origin: a.origin,
                detail: a.detail,
                record: a.record,
            })
            .collect();
        let evidence = store
            .all_evidence(&visible)?
            .into_iter()
            .map(|(_, e)| EvidenceItem {
                origin: e.origin,
                first: e.first,
                second: e.second,
                reason: e.reason,
            })
            .collect();
        Ok(Json(Alerts { alerts, evidence }))
    })
    .await
}

// ------------------------------------------------------------------------- admin

/// Records to publish into one compartment, as one batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishRequest {
    /// The compartment (label or id); each record's default when absent
    /// (a relationship or an audit: the compartment of exactly its parties;
    /// an incident: its affected parties and regulators).
    compartment: Option<String>,
    /// Publish a record naming a third party into a compartment others can
    /// read (refused otherwise).
    #[serde(default, rename = "shareWider")]
    share_wider: bool,
    /// Publish an incident although an affected party holds no active
    /// grant, so that its notice cannot reach that party (refused
    /// otherwise).
    #[serde(default)]
    undeliverable: bool,
    /// Drafts (a `kind` and its fields) this node signs.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    drafts: Vec<Box<RawValue>>,
    /// Envelopes signed by others, validated before they are kept.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    envelopes: Vec<Box<RawValue>>,
}

/// A record appended, or found already held.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Published {
    /// The record id.
    id: String,
    /// The log's origin line.
    log: String,
    /// Its index.
    index: u64,
    /// `true` when the log already held this envelope: nothing was appended.
    #[serde(rename = "alreadyPublished")]
    already_published: bool,
    /// What happened, for people: `appended at LOG index N`, or `already
    /// published at LOG index N`.
    status: String,
}

/// Signs and publishes records (admin). All or nothing; an envelope the
/// node's logs already hold is not appended again.
#[utoipa::path(post, path = "/v1/admin/publish", tag = "admin", request_body = PublishRequest,
    security(("admin" = [])),
    responses((status = 200, body = Vec<Published>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 413, body = Problem)))]
async fn admin_publish(
    State(state): State<Arc<AppState>>,
    body: Result<Json<PublishRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Vec<Published>>> {
    let Json(request) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    if request.drafts.is_empty() && request.envelopes.is_empty() {
        return Err(Problem::bad_request(
            "nothing to publish: give drafts or envelopes",
        ));
    }
    let keypair = state.config.keypair.clone();
    let records = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let now = Timestamp::now();
        let catalog = Catalog::builtin();
        let mut records = Vec::new();
        for (n, draft) in request.drafts.iter().enumerate() {
            let signed = assure_model::Draft::from_json(draft.get().as_bytes())
                .and_then(|d| d.sign(&keypair, now, catalog))
                .map_err(|e| Problem::bad_request(format!("drafts[{n}]: {e}")))?;
            records.push(signed);
        }
        for (n, envelope) in request.envelopes.iter().enumerate() {
            let bytes = envelope.get().as_bytes().to_vec();
            let record = assure_model::validate(&bytes, now)
                .map_err(|e| Problem::bad_request(format!("envelopes[{n}]: {e}")))?;
            records.push((bytes, record));
        }
        let placement = crate::Placement {
            compartment: request.compartment,
            share_wider: request.share_wider,
            undeliverable: request.undeliverable,
        };
        Ok((placement, records))
    })
    .await
    .map_err(Problem::internal)??;
    let (placement, records) = records;
    let appended = state
        .config
        .control
        .publish(placement, records)
        .await
        .map_err(Problem::bad_request)?;
    Ok(Json(
        appended
            .into_iter()
            .map(|a| {
                let log = a.location.log.origin_line();
                let index = a.location.index;
                let how = if a.already {
                    "already published"
                } else {
                    "appended"
                };
                Published {
                    id: a.id.to_string(),
                    status: format!("{how} at {log} index {index}"),
                    log,
                    index,
                    already_published: a.already,
                }
            })
            .collect(),
    ))
}

/// A grant as the admin API and the CLI show it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantView {
    /// The party's DID.
    pub party: String,
    /// The party by its legal name with its short DID, where a profile
    /// names it; else the short DID.
    pub party_name: String,
    /// Roles the grant gives.
    pub roles: Vec<String>,
    /// `partner`, `confidential` or `secret`.
    pub clearance: String,
    /// The contract or NDA it rests on.
    pub basis: String,
    /// Start of validity.
    pub valid_from: String,
    /// End of validity; open-ended when absent.
    pub valid_until: Option<String>,
    /// Goes up by one with every change.
    pub version: u64,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// Whether it admits the party now.
    pub active: bool,
}

impl GrantView {
    /// The view of `grant`, its party named from `names`.
    pub fn named(grant: &Grant, names: &BTreeMap<Did, String>) -> Self {
        Self {
            party_name: grant
                .party
                .named(names.get(&grant.party).map(String::as_str)),
            ..Self::from(grant)
        }
    }
}

impl From<&Grant> for GrantView {
    fn from(g: &Grant) -> Self {
        Self {
            party: g.party.to_string(),
            party_name: g.party.fmt_short(),
            roles: g.roles.iter().map(ToString::to_string).collect(),
            clearance: g.clearance.to_string(),
            basis: g.basis.clone(),
            valid_from: g.valid_from.to_string(),
            valid_until: g.valid_until.map(|t| t.to_string()),
            version: g.version,
            revoked_at: g.revoked_at.map(|t| t.to_string()),
            active: g.is_active(Timestamp::now()),
        }
    }
}

/// Every grant (admin).
#[utoipa::path(get, path = "/v1/admin/grants", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<GrantView>), (status = 401, body = Problem)))]
async fn admin_grants(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<Vec<GrantView>>> {
    blocking(move || {
        let names = state.names(&state.visible(&ctx)?)?;
        let grants = state.config.store.grants()?;
        Ok(Json(
            grants.iter().map(|g| GrantView::named(g, &names)).collect(),
        ))
    })
    .await
}

/// Grants a party access, replacing its grant (admin).
#[utoipa::path(put, path = "/v1/admin/grants/{did}", tag = "admin", request_body = GrantTerms,
    params(("did" = String, Path, description = "The party's DID")), security(("admin" = [])),
    responses((status = 200, body = GrantView), (status = 400, body = Problem),
              (status = 401, body = Problem),
              (status = 404, description = "The DID is no valid did:key", body = Problem)))]
async fn admin_put_grant(
    State(state): State<Arc<AppState>>,
    Path(did): Path<String>,
    body: Result<Json<GrantTerms>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<GrantView>> {
    let party = parse_did(&did)?;
    let Json(terms) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    let grant = state
        .config
        .control
        .grant(party, terms)
        .await
        .map_err(refused)?;
    Ok(Json(GrantView::from(&grant)))
}

/// Revokes a party's grant at once (admin).
#[utoipa::path(delete, path = "/v1/admin/grants/{did}", tag = "admin",
    params(("did" = String, Path, description = "The party's DID")), security(("admin" = [])),
    responses((status = 200, body = GrantView), (status = 400, body = Problem),
              (status = 404, body = Problem), (status = 401, body = Problem)))]
async fn admin_revoke(
    State(state): State<Arc<AppState>>,
    Path(did): Path<String>,
) -> ApiResult<Json<GrantView>> {
    let party = parse_did(&did)?;
    let grant = state.config.control.revoke(party).await.map_err(refused)?;
    Ok(Json(GrantView::from(&grant)))
}

/// The problem for an operation the node refused.
pub(crate) fn refused(refused: crate::Refused) -> Problem {
    match refused.not_found {
        true => Problem::not_found(),
        false => Problem::bad_request(refused.message),
    }
}

/// Paging of the disclosure log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DisclosureQuery {
    /// Entries to skip, oldest first.
    #[serde(default)]
    skip: usize,
    /// At most this many (1 to 1000, default 100).
    limit: Option<usize>,
}

/// One entry of the disclosure log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DisclosureItem {
    at: String,
    party: String,
    compartment: String,
    from: u64,
    to: u64,
    grant_version: Option<u64>,
    channel: String,
    purpose: Option<String>,
}

/// The disclosure log: what was served to whom, under which grant (admin).
#[utoipa::path(get, path = "/v1/admin/disclosures", tag = "admin", params(DisclosureQuery),
    security(("admin" = [])),
    responses((status = 200, body = Vec<DisclosureItem>), (status = 400, body = Problem),
              (status = 401, body = Problem)))]
async fn admin_disclosures(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DisclosureQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<DisclosureItem>>> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(Problem::bad_request("limit must be between 1 and 1000"));
    }
    let found = state.config.store.disclosures(query.skip, limit)?;
    Ok(Json(
        found
            .into_iter()
            .map(|d| DisclosureItem {
                at: d.at.to_string(),
                party: d.party.to_string(),
                compartment: d.compartment.to_string(),
                from: d.from,
                to: d.to,
                grant_version: d.grant_version,
                channel: d.channel,
                purpose: d.purpose,
            })
            .collect(),
    ))
}

/// A peer of the node's peer book.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Peer {
    /// Its DID.
    did: String,
    /// Its legal name, from its newest visible `profile` record.
    name: Option<String>,
    /// Where it may be reached, the most recently learned first.
    addresses: Vec<String>,
    /// Where the node learned of it: `bootstrap`, `identify`, `grantee`,
    /// `counterpart`.
    sources: Vec<String>,
    /// Whether it is connected now.
    connected: bool,
    /// Since when it is connected.
    connected_since: Option<String>,
    /// When a connection with it was last established (now or before).
    last_seen: Option<String>,
    /// The address the node last reached it at, when it dialled.
    last_address: Option<String>,
    /// When the node dials it next, when a redial is scheduled.
    next_dial: Option<String>,
}

/// The peer book: every peer known, connected or not, and when each is
/// dialled next (admin).
#[utoipa::path(get, path = "/v1/admin/peers", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<Peer>), (status = 401, body = Problem)))]
async fn admin_peers(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<Vec<Peer>>> {
    let peers = state.config.control.peers().await;
    blocking(move || {
        let visible = state.visible(&ctx)?;
        let names = state.names(&visible)?;
        let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
        Ok(Json(
            peers
                .into_iter()
                .map(|p| Peer {
                    did: p.peer.did.to_string(),
                    name: names.get(&p.peer.did).cloned(),
                    connected: p.is_connected(),
                    connected_since: time(p.connected_since),
                    last_seen: time(p.peer.last_connected),
                    next_dial: time(p.next_dial),
                    sources: p
                        .peer
                        .sources
                        .iter()
                        .map(|s| s.as_str().to_owned())
                        .collect(),
                    addresses: p.peer.addresses,
                    last_address: p.peer.last_address,
                })
                .collect(),
        ))
    })
    .await
}

// ---------------------------------------------------------------------- operations

/// Prometheus metrics (OpenMetrics text): the node's public logs for
/// anyone; every log, the peers, request counts and delivery with the
/// admin token.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text",
               content_type = "application/openmetrics-text", body = String)))]
async fn metrics(State(state): State<Arc<AppState>>, Extension(ctx): Extension<Ctx>) -> Response {
    let figures = {
        let state = state.clone();
        let ctx = ctx.clone();
        blocking(move || {
            let store = &state.config.store;
            // Anyone but the administration is counted the public logs
            // alone: metrics are no way around the disclosure log.
            let visible = state.visible(&ctx)?;
            let visible = if ctx.caller.is_admin() {
                visible
            } else {
                visible.narrow(|log| visible.get(log) == Some(assure_access::Access::Public))
            };
            let logs = store.logs(&visible);
            let now = Timestamp::now().as_second();
            Ok(Figures {
                records: logs
                    .iter()
                    .map(|s| s.checkpoint.checkpoint().size() as i64)
                    .sum(),
                compartments: logs.len() as i64,
                alerts: store.alerts(&visible)?.len() as i64,
                sync_lag: logs
                    .iter()
                    .filter(|s| s.log.origin != state.owner())
                    .map(|s| now - s.checkpoint.checkpoint().timestamp())
                    .max()
                    .unwrap_or(0)
                    .max(0),
                peers: None,
                delivery: if ctx.caller.is_admin() {
                    Some((&store.undelivered(&visible)?).into())
                } else {
                    None
                },
            })
        })
        .await
    };
    let mut figures = match figures {
        Ok(figures) => figures,
        Err(problem) => return problem.into_response(),
    };
    if ctx.caller.is_admin() {
        let peers = state.config.control.peers().await;
        figures.peers = Some(peers.iter().filter(|p| p.is_connected()).count() as i64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(&figures, ctx.caller.is_admin()),
    )
        .into_response()
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store is open and answers, and the network loop runs.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, body = Problem)))]
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if !state.config.control.network_running() {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the network loop is not running",
        )
        .into_response();
    }
    let store = state.clone();
    match tokio::task::spawn_blocking(move || store.config.store.owner()).await {
        Ok(Ok(Some(_))) => (StatusCode::OK, "ready\n").into_response(),
        _ => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the store is not ready").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let location = Location {
            log: LogId {
                origin: assure_model::Keypair::from_seed([1; 32]).did(),
                compartment: assure_access::CompartmentId::from_bytes([7; 16]),
            },
            index: 41,
        };
        let at: Timestamp = "2026-11-22T10:00:00.123456Z".parse().unwrap();
        let text = encode_cursor((at, location));
        assert_eq!(decode_cursor(&text).unwrap(), (at, location));
        for bad in ["", "AAAA", "!!", &text[..text.len() - 2]] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
