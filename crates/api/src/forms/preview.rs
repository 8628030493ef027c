//! The second step of every form: the statement that would be signed, laid
//! out for reading, where it would go and who could read it there, with
//! the Confirm button that publishes it.

use std::sync::Arc;

use assure_model::{Did, Record};
use axum::response::Response;
use maud::{Markup, PreEscaped, html};
use serde_json::Value;

use super::fields::Fields;
use super::{FormPage, STYLE};
use crate::Preview;
use crate::csrf;
use crate::server::{AppState, Ctx};
use crate::session::Session;

/// The preview page of `record`, about to be published as `previews` say.
pub(super) async fn page(
    state: &Arc<AppState>,
    ctx: &Ctx,
    session: &Session,
    form: &FormPage<'_>,
    fields: &Fields,
    record: &Record,
    previews: &[Preview],
) -> Response {
    let names = {
        let (state, ctx) = (state.clone(), ctx.clone());
        tokio::task::spawn_blocking(move || {
            let visible = state.visible(&ctx).ok()?;
            let mut names = state.names(&visible).ok()?;
            if let Ok(Some(own)) = state.config.store.name() {
                names.entry(state.owner()).or_insert(own);
            }
            Some(names)
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
    };
    let named = |did: &Did| did.named(names.get(did).map(String::as_str));
    let body = html! {
        style { (PreEscaped(STYLE)) }
        p { "Nothing is signed or published yet. Check the statement, where it goes and who will read it, then confirm." }
        h2 { "What will be signed" }
        div class="card" {
            dl class="statement" {
                dt { "Kind" } dd { (record.kind()) }
                dt { "About" } dd { (named(&record.subject.did))
                    @if let Some(fragment) = &record.subject.fragment { " — " (fragment) } }
                (fields_of(&record.predicate.to_value(), &named))
            }
        }
        @for p in previews {
            h2 { "Where it goes" }
            p {
                "Compartment " strong { (p.compartment) }
                @match (&p.already, &p.compartment_id) {
                    (Some(at), _) => { " — already published at " (at) ": nothing would be appended." }
                    (None, None) => { " — made by this publish, readable by exactly the organizations it names." }
                    (None, Some(_)) => {}
                }
            }
            h2 { "Who will be able to read it" }
            @if p.public {
                p class="fail" { "Anyone: this compartment is public." }
            } @else {
                @if p.readers.is_empty() {
                    p class="muted" { "No organization today." }
                } @else {
                    ul {
                        @for r in &p.readers {
                            li { (r.did.named(r.name.as_deref()))
                                @if !r.granted { span class="muted" { " — named, reads once granted" } } }
                        }
                    }
                }
                p {
                    "Roles: " (if p.roles.is_empty() { "none".to_owned() } else { p.roles.join(", ") })
                    " · least clearance: " strong { (p.min_clearance) }
                }
            }
        }
        form method="post" action=(form.what.action()) {
            (csrf::field(session))
            @for (name, value) in fields.carried() {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" name="step" value="confirm" { "Confirm and publish" }
            button type="submit" name="step" value="edit" class="secondary" { "Edit" }
        }
    };
    crate::dashboard::page(
        &format!("Preview: {}", form.what.title().to_lowercase()),
        &ctx.caller,
        body,
    )
}

/// A predicate's fields as terms and descriptions, DIDs by name.
fn fields_of(value: &Value, named: &dyn Fn(&Did) -> String) -> Markup {
    let Value::Object(object) = value else {
        return html! { dd { (shown(value, named)) } };
    };
    html! {
        @for (key, value) in object {
            dt { (words(key)) }
            dd { (shown(value, named)) }
        }
    }
}

fn shown(value: &Value, named: &dyn Fn(&Did) -> String) -> Markup {
    match value {
        Value::String(s) => match s.parse::<Did>() {
            Ok(did) => html! { (named(&did)) },
            Err(_) => html! { (s) },
        },
        Value::Array(items) if items.is_empty() => html! { "—" },
        Value::Array(items) => html! {
            ul { @for item in items { li { (shown(item, named)) } } }
        },
        Value::Object(_) => html! { dl class="statement" { (fields_of(value, named)) } },
        other => html! { (other.to_string()) },
    }
}

/// `legalName` as "legal name".
fn words(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_read_as_words() {
        assert_eq!(super::words("legalName"), "legal name");
        assert_eq!(super::words("issuedAt"), "issued at");
        assert_eq!(super::words("kind"), "kind");
    }
}
