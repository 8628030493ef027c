//! Audience compartments through the admin API (DESIGN.md §3):
//! `GET /v1/admin/compartments` lists the node's own compartments with their
//! readers, `POST /v1/admin/compartments` finds or makes the compartment of
//! exactly the named readers. Both run the node's one implementation through
//! [`Control`](crate::Control), as `assure compartments` and `assure
//! compartment add` do.

use std::collections::BTreeSet;
use std::sync::Arc;

use assure_access::{Clearance, CompartmentId, Role, Rule, Tlp};
use assure_model::Did;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Json;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::problem::Problem;
use crate::server::AppState;
use crate::table::Table;

/// Where records go when published: the compartment the operator named,
/// or each record's default (DESIGN.md §3), and what the operator accepts
/// beyond the rules: that a record naming a third party is read by others,
/// that an incident reaches no one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Placement {
    /// The compartment (label or id); `None` for each record's default.
    pub compartment: Option<String>,
    /// The operator's explicit `--share-wider`: publish a record that names
    /// a third party into a compartment others can read.
    pub share_wider: bool,
    /// The operator's explicit `--undeliverable`: publish an incident
    /// although an affected party holds no active grant, so that the notice
    /// cannot reach it.
    pub undeliverable: bool,
}

impl Placement {
    /// Into the compartment `name` (label or id), refusing to share wider.
    pub fn into(name: impl Into<String>) -> Self {
        Self {
            compartment: Some(name.into()),
            ..Self::default()
        }
    }

    /// The same placement with the operator's consent to share wider.
    pub fn share_wider(self) -> Self {
        Self {
            share_wider: true,
            ..self
        }
    }
}

/// One record of a publish: where it is, and whether that publish put it
/// there or found the same envelope already held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The record.
    pub id: assure_model::RecordId,
    /// Its place in one of the node's own logs.
    pub location: assure_store::Location,
    /// `true` when the log held these very bytes before: nothing was appended.
    pub already: bool,
}

impl From<&str> for Placement {
    fn from(name: &str) -> Self {
        Self::into(name)
    }
}

/// What a publish would do with one record (`assure publish --dry-run`,
/// the dashboard's preview): where it goes and who could read it there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The record id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Its subject (a DID, with a fragment for a site or process).
    pub subject: String,
    /// The label of the compartment it goes to.
    pub compartment: String,
    /// That compartment's id; `None` when it would be made by this publish.
    pub compartment_id: Option<String>,
    /// Where the record already is, when the log holds it: nothing to append.
    pub already: Option<String>,
    /// Who may read it: the organizations named and those granted, today.
    pub readers: Vec<Reader>,
    /// Roles whose holders may read it.
    pub roles: Vec<String>,
    /// The least clearance a reader's grant must carry.
    pub min_clearance: String,
    /// Anyone may read it.
    pub public: bool,
}

/// A compartment of exactly some readers, to find or make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCompartment {
    /// Its local label.
    pub label: String,
    /// The organizations that may read it (at least one).
    pub readers: BTreeSet<Did>,
    /// Roles whose holders may read it too: only `regulator` is accepted,
    /// any other would admit every holder of that role.
    pub roles: BTreeSet<Role>,
    /// The least clearance a reader's grant must carry.
    pub min_clearance: Clearance,
}

/// One of the node's own compartments and who may read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompartmentInfo {
    /// The local label.
    pub label: String,
    /// The opaque id (32 hex characters).
    #[schema(value_type = String)]
    pub id: CompartmentId,
    /// The access rule.
    #[schema(value_type = Object)]
    pub rule: Rule,
    /// The TLP 2.0 label exports carry.
    #[schema(value_type = String)]
    pub tlp: Tlp,
    /// Entries in its log.
    pub size: u64,
    /// The signed checkpoint (C2SP note).
    pub checkpoint: String,
    /// Whether anyone may read it, grant or not.
    pub public: bool,
    /// The organizations the rule names and those our grants admit today
    /// (none listed for a public compartment: anyone reads it).
    pub readers: Vec<Reader>,
}

/// A reader of a compartment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reader {
    /// Its DID.
    #[schema(value_type = String)]
    pub did: Did,
    /// Its legal name, from its own `profile` record when we hold one.
    pub name: Option<String>,
    /// Whether a grant lets it read now (a named reader without a grant
    /// reads once it is granted).
    pub granted: bool,
}

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new().route(
        "/v1/admin/compartments",
        &["GET", "POST"],
        get(admin_compartments).post(admin_add_compartment),
    )
}

/// The node's own compartments with their rules and readers (admin).
#[utoipa::path(get, path = "/v1/admin/compartments", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = Vec<CompartmentInfo>), (status = 401, body = Problem)))]
pub(crate) async fn admin_compartments(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<CompartmentInfo>>, Problem> {
    let listed = state
        .config
        .control
        .compartments()
        .await
        .map_err(Problem::internal)?;
    Ok(Json(listed))
}

/// A compartment readable by exactly the named organizations.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CompartmentRequest {
    /// The local label: 1 to 64 characters of `a-z 0-9 - _ .`.
    label: String,
    /// The DIDs of the organizations that may read it (at least one).
    readers: Vec<String>,
    /// `["regulator"]` to let parties granted that role read it too.
    #[serde(default)]
    roles: Vec<String>,
    /// `partner` (the default), `confidential` or `secret`.
    min_clearance: Option<String>,
}

/// Finds or makes the compartment readable by exactly `readers` (admin):
/// 201 when it was made, 200 when it existed with that label and rule.
#[utoipa::path(post, path = "/v1/admin/compartments", tag = "admin",
    request_body = CompartmentRequest, security(("admin" = [])),
    responses((status = 201, body = CompartmentInfo), (status = 200, body = CompartmentInfo),
              (status = 400, body = Problem), (status = 401, body = Problem)))]
pub(crate) async fn admin_add_compartment(
    State(state): State<Arc<AppState>>,
    body: Result<Json<CompartmentRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CompartmentInfo>), Problem> {
    let Json(request) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    let new = request.parse().map_err(Problem::bad_request)?;
    let (info, created) = state
        .config
        .control
        .add_compartment(new)
        .await
        .map_err(Problem::bad_request)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)))
}

impl CompartmentRequest {
    fn parse(self) -> Result<NewCompartment, String> {
        let readers = self
            .readers
            .iter()
            .map(|r| {
                r.parse::<Did>()
                    .map_err(|e| format!("readers: `{r}` is not a did:key identifier ({e})"))
            })
            .collect::<Result<_, _>>()?;
        let roles = self
            .roles
            .iter()
            .map(|r| r.parse::<Role>().map_err(|e| format!("roles: {e}")))
            .collect::<Result<_, _>>()?;
        let min_clearance = match self.min_clearance {
            Some(text) => text.parse().map_err(|e| format!("minClearance: {e}"))?,
            None => Clearance::Partner,
        };
        Ok(NewCompartment {
            label: self.label,
            readers,
            roles,
            min_clearance,
        })
    }
}
