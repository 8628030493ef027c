//! The security manager's forms: publishing every kind of record an
//! organization issues about itself (and an auditor's audit of another),
//! posting an update to one of our incidents, withdrawing one of our
//! records, and co-signing an audit of us.
//!
//! Each form is a plain POST with the session's CSRF token and works
//! without script. Sending it first shows a preview — the statement that
//! would be signed, the compartment it goes to and who could read it there
//! — from the node's one dry run ([`crate::Control::preview`], as `assure
//! publish --dry-run`), with a Confirm button that publishes through the
//! node's one publish operation ([`crate::Control::publish`]), guard rails
//! included. A field that is wrong is named beside the field, a guard
//! rail's refusal at the top of the form, the form comes back filled in
//! (an ordinary page, status 200, as a browser shows it without a console
//! error), and nothing is stored. Only the administrator sees these pages; anyone
//! else gets the dashboard's page for a missing page.

mod fields;
mod kinds;
mod preview;

use std::sync::Arc;

use assure_model::predicate::Body;
use assure_model::{Catalog, Draft, Kind, Record, RecordId};
use axum::extract::{Extension, Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, PreEscaped, html};
use serde_json::Value;

use crate::compartments::{CompartmentInfo, Placement};
use crate::dashboard::{not_found, page};
use crate::server::{AppState, Ctx};
use crate::session::{AdminSession, Session};
use crate::table::Table;
use crate::{Refused, csrf};

use fields::{Errors, Fields, Input, cell, local};
use kinds::FormKind;

pub(crate) fn routes() -> Table<Arc<AppState>> {
    Table::new()
        .route("/publish", &["GET"], get(index))
        .route(
            "/publish/{kind}",
            &["GET", "POST"],
            get(publish_form).post(publish_submit),
        )
        .route(
            "/records/{id}/update",
            &["GET", "POST"],
            get(update_form).post(update_submit),
        )
        .route(
            "/records/{id}/withdraw",
            &["GET", "POST"],
            get(withdraw_form).post(withdraw_submit),
        )
        .route("/cosign/{id}", &["POST"], post(cosign))
}

const STYLE: &str = r#"
form.record{max-width:900px}.field{margin:.5em 0;display:flex;flex-direction:column;gap:.15em;min-width:0}
.field.check{flex-direction:row;align-items:center;gap:.4em}
.field input,.field select,.field textarea{font:inherit;padding:.3em;border:1px solid #99a;max-width:100%;box-sizing:border-box}
.field>input:not([type=checkbox]),.field select,.field textarea{width:100%}main code{overflow-wrap:anywhere}
.field textarea{min-height:4em}fieldset{border:1px solid #dde;background:#fff;margin:.8em 0;padding:.4em 1em;min-width:0}
.row{display:flex;flex-wrap:wrap;gap:0 1em}.row>.field{flex:1 1 12em}
.error{color:#c0262d;font-weight:600}.refused{overflow-wrap:anywhere;background:#fdecec;border:1px solid #c0262d;padding:.5em 1em;margin:.6em 0}
button{font:inherit;padding:.35em 1em;margin:.3em .4em .3em 0;cursor:pointer}button.secondary{background:#eef}
dl.statement{display:grid;grid-template-columns:minmax(8em,max-content) 1fr;gap:.2em 1em;margin:.3em 0}
dl.statement dt{font-weight:600}dl.statement dd{margin:0;overflow-wrap:anywhere}dl.statement ul{margin:0;padding-left:1.2em}
"#;

/// What a form publishes.
#[derive(Clone, Copy, Debug)]
enum What {
    /// A new record of a kind.
    New(FormKind),
    /// The next version of our incident, superseding it.
    Update(RecordId),
    /// The withdrawal of a record.
    Withdraw(RecordId),
}

impl What {
    fn action(self) -> String {
        match self {
            What::New(kind) => format!("/publish/{}", kind.as_str()),
            What::Update(id) => format!("/records/{id}/update"),
            What::Withdraw(id) => format!("/records/{id}/withdraw"),
        }
    }

    fn title(self) -> String {
        match self {
            What::New(FormKind::Audit) => "Publish an audit".to_owned(),
            What::New(kind) => format!("Publish {}", kind_article(kind.as_str())),
            What::Update(_) => "Post an update to this incident".to_owned(),
            What::Withdraw(_) => "Withdraw a record".to_owned(),
        }
    }

    /// The draft the fields make, as `assure publish` would read it.
    fn draft(self, fields: &Fields, state: &AppState, catalog: &Catalog) -> Result<Value, Errors> {
        let us = state.owner();
        match self {
            What::New(kind) => kind.draft(fields, us, catalog),
            What::Update(id) => {
                let mut fields = fields.clone();
                fields.set("supersedes", id.to_string());
                FormKind::Incident.draft(&fields, us, catalog)
            }
            What::Withdraw(id) => {
                let mut errors = Errors::default();
                let reason = errors.required(fields, "reason");
                match errors.is_empty() {
                    true => Ok(serde_json::json!({
                        "kind": "withdrawal", "withdrawn": id.to_string(), "reason": reason,
                    })),
                    false => Err(errors),
                }
            }
        }
    }
}

fn kind_article(kind: &str) -> String {
    match kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => format!("an {kind}"),
        false => format!("a {kind}"),
    }
}

async fn index(Extension(ctx): Extension<Ctx>, AdminSession(_): AdminSession) -> Response {
    let body = html! {
        p { "Every form shows what will be signed, where it goes and who will read it before anything is published." }
        ul {
            @for kind in FormKind::ALL {
                li { a href=(What::New(*kind).action()) { (What::New(*kind).title()) } " — " (kind.purpose()) }
            }
        }
        p class="muted" { "To post an update to an incident or to withdraw a record, open the record from our organization's page." }
    };
    page("Publish", &ctx.caller, body)
}

async fn publish_form(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(kind): Path<String>,
) -> Response {
    let Some(kind) = FormKind::parse(&kind) else {
        return not_found(&ctx.caller);
    };
    let mut fields = Fields::default();
    fields.set("compartment", kind.proposed_compartment());
    let form = FormPage::new(&state, &ctx, &session, What::New(kind)).await;
    form.render(&fields, &Errors::default(), StatusCode::OK)
}

async fn publish_submit(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(kind): Path<String>,
    Form(sent): Form<Vec<(String, String)>>,
) -> Response {
    let Some(kind) = FormKind::parse(&kind) else {
        return not_found(&ctx.caller);
    };
    let form = FormPage::new(&state, &ctx, &session, What::New(kind)).await;
    form.submit(Fields(sent)).await
}

/// Our own record `id`, held in one of our logs, with its compartment's
/// label, for the administration.
fn ours(state: &AppState, ctx: &Ctx, id: &str) -> Option<(RecordId, Record, String)> {
    let id: RecordId = id.parse().ok()?;
    let store = &state.config.store;
    let visible = state.visible(ctx).ok()?;
    let owner = state.owner();
    let stored = store
        .record(&visible, &id)
        .ok()?
        .into_iter()
        .find(|s| s.location.log.origin == owner && s.record.issuer() == owner)?;
    let label = store
        .logs(&visible)
        .into_iter()
        .find(|s| s.log == stored.location.log)?
        .compartment
        .label;
    Some((id, stored.record, label))
}

/// Our incident `id` as the fields of its update form.
fn incident_fields(record: &Record, label: String) -> Option<Fields> {
    let Body::Incident(i) = &record.predicate.body else {
        return None;
    };
    let mut fields = Fields::default();
    fields.set("category", &i.category);
    fields.set("severity", i.severity.as_str());
    fields.set("status", i.status.as_str());
    if let Some(domain) = record.predicate.common.domain {
        fields.set("domain", domain.as_str());
    }
    fields.set("summary", &i.summary);
    fields.set("occurredAt", local(i.occurred_at));
    fields.set("detectedAt", local(i.detected_at));
    let affected: Vec<String> = i.affected.iter().map(ToString::to_string).collect();
    fields.set("affected", affected.join("\n"));
    for (n, action) in i.corrective_actions.iter().enumerate() {
        fields.set(&cell("ca", n, "description"), &action.description);
        let day = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string()).unwrap_or_default();
        fields.set(&cell("ca", n, "due"), day(action.due));
        fields.set(&cell("ca", n, "completed"), day(action.completed));
    }
    fields.set("compartment", label);
    Some(fields)
}

async fn update_form(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(id): Path<String>,
) -> Response {
    let found = {
        let (state, ctx) = (state.clone(), ctx.clone());
        tokio::task::spawn_blocking(move || {
            let (id, record, label) = ours(&state, &ctx, &id)?;
            Some((id, incident_fields(&record, label)?))
        })
        .await
    };
    let Ok(Some((id, fields))) = found else {
        return not_found(&ctx.caller);
    };
    let form = FormPage::new(&state, &ctx, &session, What::Update(id)).await;
    form.render(&fields, &Errors::default(), StatusCode::OK)
}

async fn update_submit(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(id): Path<String>,
    Form(sent): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = id.parse::<RecordId>() else {
        return not_found(&ctx.caller);
    };
    let form = FormPage::new(&state, &ctx, &session, What::Update(id)).await;
    form.submit(Fields(sent)).await
}

/// A record this node holds, for the withdrawal form: its kind and
/// subject. The guard rails decide whether it may be withdrawn.
fn held(state: &AppState, ctx: &Ctx, id: &str) -> Option<(RecordId, String)> {
    let id: RecordId = id.parse().ok()?;
    let visible = state.visible(ctx).ok()?;
    let stored = state.config.store.record(&visible, &id).ok()?;
    let record = &stored.first()?.record;
    Some((
        id,
        format!("{} record about {}", record.kind(), record.subject),
    ))
}

async fn withdraw_form(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(id): Path<String>,
) -> Response {
    let found = {
        let (state, ctx) = (state.clone(), ctx.clone());
        tokio::task::spawn_blocking(move || held(&state, &ctx, &id)).await
    };
    let Ok(Some((id, _))) = found else {
        return not_found(&ctx.caller);
    };
    let form = FormPage::new(&state, &ctx, &session, What::Withdraw(id)).await;
    form.render(&Fields::default(), &Errors::default(), StatusCode::OK)
}

async fn withdraw_submit(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(session): AdminSession,
    Path(id): Path<String>,
    Form(sent): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = id.parse::<RecordId>() else {
        return not_found(&ctx.caller);
    };
    let form = FormPage::new(&state, &ctx, &session, What::Withdraw(id)).await;
    form.submit(Fields(sent)).await
}

/// Co-signs an audit of us (from the alert that announces it), as `assure
/// cosign ID`, then shows the record.
async fn cosign(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<Ctx>,
    AdminSession(_): AdminSession,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<RecordId>() else {
        return not_found(&ctx.caller);
    };
    match state.config.control.cosign(id).await {
        Ok(()) => Redirect::to(&format!("/records/{id}")).into_response(),
        Err(Refused {
            not_found: true, ..
        }) => not_found(&ctx.caller),
        Err(refused) => {
            let body = html! {
                div class="refused" role="alert" { (refused.message) }
                p { a href="/alerts" { "Back to the alerts" } }
            };
            page("Not co-signed", &ctx.caller, body)
        }
    }
}

/// The button that co-signs record `id` (an audit of us awaiting our
/// acknowledgement), for the alerts page.
pub(crate) fn cosign_button(session: &Session, id: &str) -> Markup {
    html! {
        form method="post" action=(format!("/cosign/{id}")) style="display:inline" {
            (csrf::field(session))
            button type="submit" { "Co-sign" }
        }
    }
}

/// Links to the forms that act on our record, for its page.
pub(crate) fn record_links(record: &Record) -> Markup {
    let id = record.id;
    html! {
        p {
            @if record.kind() == Kind::Incident {
                a href=(format!("/records/{id}/update")) { "Post an update" } " · "
            }
            @if record.kind() != Kind::Withdrawal {
                a href=(format!("/records/{id}/withdraw")) { "Withdraw this record" }
            }
        }
    }
}

/// One form, with what every rendering of it needs.
struct FormPage<'a> {
    state: &'a Arc<AppState>,
    ctx: &'a Ctx,
    session: &'a Session,
    what: What,
    compartments: Vec<CompartmentInfo>,
    catalog: &'static Catalog,
}

impl<'a> FormPage<'a> {
    async fn new(state: &'a Arc<AppState>, ctx: &'a Ctx, session: &'a Session, what: What) -> Self {
        let compartments = state
            .config
            .control
            .compartments()
            .await
            .unwrap_or_default();
        Self {
            state,
            ctx,
            session,
            what,
            compartments,
            catalog: Catalog::builtin(),
        }
    }

    /// Previews, or (after the preview) publishes, what `fields` make.
    async fn submit(self, fields: Fields) -> Response {
        let step = fields.get("step").to_owned();
        if step == "edit" {
            return self.render(&fields, &Errors::default(), StatusCode::OK);
        }
        let catalog = self.catalog;
        let draft = match self.what.draft(&fields, self.state, catalog) {
            Ok(draft) => draft,
            Err(errors) => return self.render(&fields, &errors, StatusCode::OK),
        };
        let signed = match sign(self.state, &draft, catalog) {
            Ok(signed) => signed,
            Err(message) => return self.refuse(&fields, &message),
        };
        let placement = Placement {
            compartment: Some(fields.get("compartment").to_owned()).filter(|c| !c.is_empty()),
            share_wider: fields.get("shareWider") == "on",
            undeliverable: fields.get("undeliverable") == "on",
        };
        let control = &self.state.config.control;
        let previews = match control
            .preview(placement.clone(), vec![signed.clone()])
            .await
        {
            Ok(previews) => previews,
            Err(refused) => return self.refuse(&fields, &refused.message),
        };
        if step != "confirm" {
            return preview::page(
                self.state,
                self.ctx,
                self.session,
                &self,
                &fields,
                &signed.1,
                &previews,
            )
            .await;
        }
        match control.publish(placement, vec![signed]).await {
            Ok(outcomes) => match outcomes.first() {
                Some(done) => Redirect::to(&format!("/records/{}", done.id)).into_response(),
                None => self.refuse(&fields, "nothing was published"),
            },
            Err(message) => self.refuse(&fields, &message),
        }
    }

    fn refuse(&self, fields: &Fields, message: &str) -> Response {
        let message = format!("Nothing was published: {message}");
        self.render(fields, &Errors::whole(message), StatusCode::OK)
    }

    /// The form, filled in with `fields`, each error beside its field.
    fn render(&self, fields: &Fields, errors: &Errors, status: StatusCode) -> Response {
        let input = Input { fields, errors };
        let what = self.what;
        let options: Vec<(String, String)> = std::iter::once((
            String::new(),
            "Default: the compartment of exactly the organizations it names".to_owned(),
        ))
        .chain(self.compartments.iter().map(|c| {
            let readers = match c.public {
                true => "anyone".to_owned(),
                false => format!("{} readers today", c.readers.len()),
            };
            (c.label.clone(), format!("{} ({readers})", c.label))
        }))
        .collect();
        let body = html! {
            style { (PreEscaped(STYLE)) }
            @match what {
                What::New(kind) => p { (kind.purpose()) },
                What::Update(id) => p { "The update supersedes " a href=(format!("/records/{id}")) { code { (id.fmt_short()) } } "; affected partners receive it as they received the incident." },
                What::Withdraw(id) => p { "Withdraws " a href=(format!("/records/{id}")) { code { (id) } } ". The withdrawal goes where the record is, so that everyone who could read the record reads why it was withdrawn." },
            }
            @if let Some(message) = &errors.form {
                div class="refused" role="alert" { (message) }
            } @else if !errors.fields.is_empty() {
                div class="refused" role="alert" { "Nothing was published: correct the fields marked below." }
            }
            form class="record" method="post" action=(what.action()) {
                (csrf::field(self.session))
                @match (what, self.catalog) {
                    (What::Withdraw(_), _) => (input.area("reason", "Reason", "(why it is withdrawn, for its readers)")),
                    (What::New(kind), catalog) => {
                        (kind.inputs(input, catalog))
                        (kinds::common_inputs(input, true))
                    }
                    (What::Update(_), catalog) => {
                        (FormKind::Incident.inputs(input, catalog))
                        (kinds::common_inputs(input, false))
                    }
                }
                @if !matches!(what, What::Withdraw(_)) {
                    fieldset {
                        legend { "Where it goes" }
                        (input.select("compartment", "Compartment", &options))
                        (input.check("shareWider", "Share wider: it names another organization, and others may read this compartment"))
                        @if matches!(what, What::New(FormKind::Incident) | What::Update(_)) {
                            (input.check("undeliverable", "Publish although an affected partner holds no grant, so its notice cannot reach it"))
                        }
                    }
                }
                button type="submit" name="step" value="preview" { "Preview" }
            }
        };
        let mut response = page(&what.title(), &self.ctx.caller, body);
        *response.status_mut() = status;
        response
    }
}

/// Signs a draft as this organization, as `assure publish` does.
fn sign(state: &AppState, draft: &Value, catalog: &Catalog) -> Result<(Vec<u8>, Record), String> {
    let keypair = &state.config.keypair;
    Draft::from_json(draft.to_string().as_bytes())
        .and_then(|d| d.sign(keypair, jiff::Timestamp::now(), catalog))
        .map_err(|e| e.to_string())
}
