//! Access requests, the trust-centre flow: an organization asks this node
//! for access with a request signed by its key (`POST
//! /v1/access-requests`) and asks later how it was decided (`GET
//! /v1/access-requests/{id}`). The node's operations decide what may be
//! asked and how often ([`crate::Control::ask_access`]); this module only
//! parses and answers.
//!
//! The requester is told the request's id, this node's DID (public
//! anyway), whether it is pending, approved or declined, and a decline's
//! reason: never the grant's terms, other requests or any compartment.
//! Anyone but the requester gets the same 404 as for an id that does not
//! exist.

use std::sync::Arc;

use assure_model::Did;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;
use crate::server::{AppState, Ctx};
use crate::table::Table;
use crate::visibility::Caller;

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/v1/access-requests", &["POST"], post(ask))
        .route("/v1/access-requests/{id}", &["GET"], get(outcome))
}

/// What an organization asks for: the body of `POST /v1/access-requests`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessAsk {
    /// `partner`, `confidential` or `secret`.
    pub clearance: String,
    /// `customer`, `supplier`, `logistics`, `auditor` or `regulator`.
    pub role: String,
    /// Why access is needed (at most 500 characters).
    pub purpose: String,
    /// The NDA or contract reference (at most 200 characters); not for
    /// the `regulator` role.
    #[serde(default)]
    pub basis: Option<String>,
    /// A regulator's legal basis, instead of `basis` (at most 200
    /// characters); only for the `regulator` role.
    #[serde(default)]
    pub legal_basis: Option<String>,
}

/// What the requester is told of its request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessOutcome {
    /// The request's id.
    pub id: String,
    /// The DID of the organization asked (this node's).
    pub node: String,
    /// `pending`, `approved` or `declined`.
    pub status: String,
    /// Why it was declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An access request as this node's operator sees it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequestView {
    /// The request's id.
    pub id: String,
    /// The requester's DID.
    pub party: String,
    /// The requester by its legal name with its short DID, where a profile
    /// names it; else the short DID.
    pub party_name: String,
    /// The clearance asked for.
    pub clearance: String,
    /// The role asked for.
    pub role: String,
    /// Why.
    pub purpose: String,
    /// The NDA or contract reference, or the legal basis.
    pub basis: String,
    /// `basis` is a regulator's legal basis.
    pub legal_basis: bool,
    /// When it arrived.
    pub at: String,
    /// `pending`, `approved` or `declined`.
    pub status: String,
    /// When it was decided.
    pub decided_at: Option<String>,
    /// Why it was declined.
    pub reason: Option<String>,
    /// The version of the grant an approval made.
    pub grant_version: Option<u64>,
}

/// The operator's decision on a request.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum AccessDecision {
    /// Grant what was asked, valid until then (RFC 3339; open-ended when
    /// absent).
    Approve {
        /// End of validity.
        valid_until: Option<String>,
    },
    /// Decline, saying why (the requester is told).
    Decline {
        /// Why.
        reason: String,
    },
}

/// Why an access request was not taken.
#[derive(Clone, Debug)]
pub enum AskRefused {
    /// The request is malformed; nothing was stored.
    Invalid(String),
    /// The requester (or everyone together) has asked too often; nothing
    /// was stored.
    TooMany(String),
}

/// An access request we sent to another organization's node, as
/// `assure requests --sent` and the dashboard's `/requests/sent` show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentRequest {
    /// The request's id (the other node's).
    pub id: String,
    /// The DID of the organization asked.
    pub node: String,
    /// It by its legal name with its short DID, where a profile names it;
    /// else the short DID.
    pub node_name: String,
    /// The API address of its node.
    pub url: String,
    /// The clearance asked for.
    pub clearance: String,
    /// The role asked for.
    pub role: String,
    /// When it was sent.
    pub at: String,
    /// `pending`, `approved` or `declined`.
    pub status: String,
    /// Why it was declined.
    pub reason: Option<String>,
    /// When our node learned the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
}

/// Why an access request was not sent; nothing was stored.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct NotSent {
    /// The field of the request it is about (`node`, `url`, `clearance`,
    /// `role`, `purpose`, `basis`, `legal_basis`); `None` for the request
    /// as a whole, such as the other node refusing it.
    pub field: Option<&'static str>,
    /// What is wrong and what to do, in plain words.
    pub message: String,
}

impl NotSent {
    /// A refusal about `field`.
    pub fn at(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            message: message.into(),
        }
    }
}

/// One of our compartments a party would be able to read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Readable {
    /// Its local label.
    pub label: String,
    /// Its TLP label.
    pub tlp: String,
}

/// Asks this node for access (signed by the requester's key).
#[utoipa::path(post, path = "/v1/access-requests", tag = "access", request_body = AccessAsk,
    responses((status = 202, description = "taken, pending a decision", body = AccessOutcome),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 429, description = "too many requests from this party, or in all",
               body = Problem)))]
pub(crate) async fn ask(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    body: Result<Json<AccessAsk>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Caller::Party(party) = ctx.caller else {
        return Problem::unauthorized(
            "an access request must be signed with the requesting organization's key",
        )
        .into_response();
    };
    let Json(ask) = match body {
        Ok(body) => body,
        Err(e) => return Problem::bad_request(e.body_text()).into_response(),
    };
    match state.config.control.ask_access(party, ask).await {
        Ok(outcome) => (StatusCode::ACCEPTED, Json(outcome)).into_response(),
        Err(AskRefused::Invalid(detail)) => Problem::bad_request(detail).into_response(),
        Err(AskRefused::TooMany(detail)) => {
            Problem::new(StatusCode::TOO_MANY_REQUESTS, detail).into_response()
        }
    }
}

/// How the caller's access request was decided (signed by the requester's
/// key; anyone else gets 404, as for an id that does not exist).
#[utoipa::path(get, path = "/v1/access-requests/{id}", tag = "access",
    params(("id" = String, Path, description = "The request's id")),
    responses((status = 200, body = AccessOutcome), (status = 404, body = Problem)))]
pub(crate) async fn outcome(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let party: Option<Did> = match ctx.caller {
        Caller::Party(party) => Some(party),
        _ => None,
    };
    let found = match party {
        Some(party) => state.config.control.access_outcome(party, id).await,
        None => None,
    };
    match found {
        Some(outcome) => Json(outcome).into_response(),
        None => Problem::not_found().into_response(),
    }
}
