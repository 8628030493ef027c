//! Alerts and webhooks through the admin API: `GET /v1/admin/alerts`
//! (filtered by kind, acknowledged or not, organization), `POST
//! /v1/admin/alerts/{id}/ack`, `GET`/`POST`/`DELETE /v1/admin/webhooks` and
//! `GET /v1/admin/webhooks/deliveries`. Every one runs the node's one
//! implementation through [`Control`](crate::Control), as `assure alerts`,
//! `assure alert ack` and `assure webhook` do.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::problem::Problem;
use crate::routes::refused;
use crate::server::AppState;
use crate::table::Table;

/// Which alerts to list; `None` in a field means "no filter".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AlertFilter {
    /// Only alerts of this kind (`incident`, `expiring-certification`, …).
    pub kind: Option<String>,
    /// Only acknowledged alerts (`true`) or only the others (`false`).
    pub acknowledged: Option<bool>,
    /// Only alerts about this organization (its DID).
    pub org: Option<String>,
}

/// Who acknowledged an alert, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Acknowledged {
    /// `dashboard`, `admin API`, or the CLI user (`cli:alice`).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

/// An alert, stored when it was raised or computed when read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// Its stable id (32 hex characters).
    pub id: String,
    /// When it was raised, or when a computed one began to apply (RFC 3339).
    pub at: String,
    /// `equivocation`, `incident`, `awaiting-acknowledgement`,
    /// `access-request`, `expiring-certification` or `expiring-grant`.
    pub kind: String,
    /// The organization concerned (its DID).
    pub origin: String,
    /// The organization by name, with its short DID.
    pub origin_name: String,
    /// What happened, in plain words.
    pub detail: String,
    /// The record concerned, if any.
    pub record: Option<String>,
    /// The log it concerns, if any (its origin line).
    pub log: Option<String>,
    /// `true` for an alert computed from the store when read (an expiring
    /// certification or grant), `false` for one raised and stored.
    pub computed: bool,
    /// For an expiring certification or grant: when it ends (RFC 3339).
    pub until: Option<String>,
    /// Who acknowledged it and when; `None` while it is not acknowledged.
    pub acknowledged: Option<Acknowledged>,
}

/// The alerts, and the equivocation evidence behind them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertList {
    /// The alerts that pass the filter, oldest first.
    pub alerts: Vec<AlertView>,
    /// Equivocation evidence held.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Vec<assure_store::Evidence>,
}

/// A registered webhook.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookView {
    /// Where events are POSTed.
    url: String,
    /// When it was registered (RFC 3339).
    added_at: String,
    /// Who registered it.
    added_by: String,
}

impl From<&assure_store::Webhook> for WebhookView {
    fn from(w: &assure_store::Webhook) -> Self {
        Self {
            url: w.url.clone(),
            added_at: w.added_at.to_string(),
            added_by: w.added_by.clone(),
        }
    }
}

/// One attempt at delivering an event.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttemptView {
    /// When the attempt ended (RFC 3339).
    at: String,
    /// The webhook.
    url: String,
    /// The alert the event is about.
    event: String,
    /// The alert's kind.
    kind: String,
    /// 1 for the first attempt.
    attempt: u32,
    /// The receiver's HTTP status, if it answered.
    status: Option<u16>,
    /// What went wrong, if anything.
    error: Option<String>,
    /// `delivered`, `retrying` or `failed`.
    outcome: String,
}

impl From<&assure_store::Attempt> for AttemptView {
    fn from(a: &assure_store::Attempt) -> Self {
        Self {
            at: a.at.to_string(),
            url: a.url.clone(),
            event: a.event.clone(),
            kind: a.kind.clone(),
            attempt: a.attempt,
            status: a.status,
            error: a.error.clone(),
            outcome: a.outcome.clone(),
        }
    }
}

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/v1/admin/alerts", &["GET"], get(admin_alerts))
        .route("/v1/admin/alerts/{id}/ack", &["POST"], post(admin_ack))
        .route(
            "/v1/admin/webhooks",
            &["GET", "POST", "DELETE"],
            get(admin_webhooks)
                .post(admin_add_webhook)
                .delete(admin_remove_webhook),
        )
        .route(
            "/v1/admin/webhooks/deliveries",
            &["GET"],
            get(admin_deliveries),
        )
}

/// The filter of `GET /v1/admin/alerts`; an empty value is no filter.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertQuery {
    /// Only this kind.
    kind: Option<String>,
    /// `true` for acknowledged alerts only, `false` for the others.
    acknowledged: Option<String>,
    /// Only alerts about this organization (DID).
    org: Option<String>,
}

impl AlertQuery {
    /// The filter it asks for, or what is wrong with it.
    pub(crate) fn filter(self) -> Result<AlertFilter, String> {
        let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let acknowledged = match given(self.acknowledged).as_deref() {
            None => None,
            Some("true" | "yes") => Some(true),
            Some("false" | "no") => Some(false),
            Some(other) => {
                return Err(format!(
                    "acknowledged: `{other}` is neither `true` nor `false`"
                ));
            }
        };
        Ok(AlertFilter {
            kind: given(self.kind),
            acknowledged,
            org: given(self.org),
        })
    }
}

/// The node's alerts, stored and computed (expiring certifications and
/// grants), with who acknowledged each (admin).
#[utoipa::path(get, path = "/v1/admin/alerts", tag = "admin", params(AlertQuery),
    security(("admin" = [])),
    responses((status = 200, body = AlertList), (status = 400, body = Problem),
              (status = 401, body = Problem)))]
pub(crate) async fn admin_alerts(
    State(state): State<Arc<AppState>>,
    query: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AlertList>, Problem> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let filter = query.filter().map_err(Problem::bad_request)?;
    let listed = state
        .config
        .control
        .alerts(filter)
        .await
        .map_err(|r| Problem::bad_request(r.message))?;
    Ok(Json(listed))
}

/// Acknowledges an alert (admin): 200 with the alert, 404 when there is no
/// such alert, 400 when it was acknowledged before.
#[utoipa::path(post, path = "/v1/admin/alerts/{id}/ack", tag = "admin",
    params(("id" = String, Path, description = "The alert's id")), security(("admin" = [])),
    responses((status = 200, body = AlertView), (status = 400, body = Problem),
              (status = 404, body = Problem), (status = 401, body = Problem)))]
pub(crate) async fn admin_ack(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, Problem> {
    let acked = state
        .config
        .control
        .acknowledge(id, "admin API".to_owned())
        .await
        .map_err(refused)?;
    Ok(Json(acked))
}

/// The registered webhooks (admin).
#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<WebhookView>), (status = 401, body = Problem)))]
pub(crate) async fn admin_webhooks(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<WebhookView>>, Problem> {
    let hooks = state
        .config
        .control
        .webhooks()
        .await
        .map_err(|r| Problem::internal(r.message))?;
    Ok(Json(hooks.iter().map(WebhookView::from).collect()))
}

/// A webhook to register or remove.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookRequest {
    /// `http://host[:port]/path`: receives a signed JSON event per alert.
    url: String,
}

/// Registers a webhook (admin): 201 with it; 400 for a URL that is not
/// http, or one registered already.
#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "admin", request_body = WebhookRequest,
    security(("admin" = [])),
    responses((status = 201, body = WebhookView), (status = 400, body = Problem),
              (status = 401, body = Problem)))]
pub(crate) async fn admin_add_webhook(
    State(state): State<Arc<AppState>>,
    body: Result<Json<WebhookRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<WebhookView>), Problem> {
    let Json(request) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    let hook = state
        .config
        .control
        .add_webhook(request.url, "admin API".to_owned())
        .await
        .map_err(|r| Problem::bad_request(r.message))?;
    Ok((StatusCode::CREATED, Json(WebhookView::from(&hook))))
}

/// The webhook to remove.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct WebhookQuery {
    /// Its URL, as registered.
    url: String,
}

/// Removes a webhook (admin): 200 with it, 404 when none has that URL.
#[utoipa::path(delete, path = "/v1/admin/webhooks", tag = "admin", params(WebhookQuery),
    security(("admin" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = Problem),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
pub(crate) async fn admin_remove_webhook(
    State(state): State<Arc<AppState>>,
    query: Result<Query<WebhookQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<WebhookView>, Problem> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let hook = state
        .config
        .control
        .remove_webhook(query.url)
        .await
        .map_err(refused)?;
    Ok(Json(WebhookView::from(&hook)))
}

/// How many delivery attempts to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveryQuery {
    /// At most this many, newest first (1 to 1000, default 100).
    limit: Option<usize>,
}

/// The webhook delivery log, newest first (admin).
#[utoipa::path(get, path = "/v1/admin/webhooks/deliveries", tag = "admin",
    params(DeliveryQuery), security(("admin" = [])),
    responses((status = 200, body = Vec<AttemptView>), (status = 400, body = Problem),
              (status = 401, body = Problem)))]
pub(crate) async fn admin_deliveries(
    State(state): State<Arc<AppState>>,
    query: Result<Query<DeliveryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AttemptView>>, Problem> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request("limit must be between 1 and 1000"));
    }
    let attempts = state
        .config
        .control
        .deliveries(limit)
        .await
        .map_err(|r| Problem::internal(r.message))?;
    Ok(Json(attempts.iter().map(AttemptView::from).collect()))
}
