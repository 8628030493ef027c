//! What a dashboard form sent, the errors found in it field by field, and
//! the inputs that show both: each input with its label, its value sent
//! back after a refusal, and its error beside it.

use std::collections::BTreeMap;

use assure_model::{Did, RecordId};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use maud::{Markup, html};

/// The fields of a submitted form, in the order sent.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    /// The value of `name`, trimmed; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Sets `name` to `value`, replacing what was sent.
    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value.into()));
    }

    /// The non-empty lines of a text area.
    pub(crate) fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The items of a comma-separated field.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .split([',', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// How many rows of the group `prefix` were sent (`prefix.N.column`).
    pub(crate) fn rows(&self, prefix: &str) -> usize {
        self.0
            .iter()
            .filter_map(|(n, _)| {
                let rest = n.strip_prefix(prefix)?.strip_prefix('.')?;
                rest.split('.').next()?.parse::<usize>().ok()
            })
            .map(|n| n + 1)
            .max()
            .unwrap_or(0)
    }

    /// Whether every column of row `n` of `prefix` is empty.
    pub(crate) fn row_is_empty(&self, prefix: &str, n: usize, columns: &[&str]) -> bool {
        columns
            .iter()
            .all(|c| self.get(&cell(prefix, n, c)).is_empty())
    }

    /// Every field except the CSRF token and the step: what a preview
    /// carries to its confirmation.
    pub(crate) fn carried(&self) -> impl Iterator<Item = &(String, String)> {
        self.0
            .iter()
            .filter(|(n, _)| n != crate::csrf::FIELD && n != "step")
    }
}

/// The name of one cell of a row group.
pub(crate) fn cell(prefix: &str, n: usize, column: &str) -> String {
    format!("{prefix}.{n}.{column}")
}

/// What is wrong with a form: messages by field name, and one for the
/// whole form (a guard rail, a record the model refuses).
#[derive(Clone, Debug, Default)]
pub(crate) struct Errors {
    pub(crate) fields: BTreeMap<String, String>,
    pub(crate) form: Option<String>,
}

impl Errors {
    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    pub(crate) fn whole(message: impl Into<String>) -> Self {
        Self {
            form: Some(message.into()),
            ..Self::default()
        }
    }

    /// `name` must not be empty; its value.
    pub(crate) fn required(&mut self, fields: &Fields, name: &str) -> String {
        let value = fields.get(name);
        if value.is_empty() {
            self.add(name, "required");
        }
        value.to_owned()
    }

    /// A DID in `name` (`None` when empty and not required).
    pub(crate) fn did(&mut self, fields: &Fields, name: &str, required: bool) -> Option<Did> {
        let value = fields.get(name);
        if value.is_empty() {
            if required {
                self.add(name, "required: the organization's DID (did:key:z6Mk…)");
            }
            return None;
        }
        match value.parse::<Did>() {
            Ok(did) => Some(did),
            Err(_) => {
                self.add(
                    name,
                    format!(
                        "`{value}` is not a did:key identifier: give the organization's DID \
                         (did:key:z6Mk…, as `assure id` prints it), not its name"
                    ),
                );
                None
            }
        }
    }

    /// Every line of `name` as a DID.
    pub(crate) fn dids(&mut self, fields: &Fields, name: &str) -> Vec<Did> {
        let mut found = Vec::new();
        for line in fields.lines(name) {
            match line.parse::<Did>() {
                Ok(did) => found.push(did),
                Err(_) => self.add(
                    name,
                    format!("`{line}` is not a did:key identifier (did:key:z6Mk…), one per line"),
                ),
            }
        }
        found
    }

    /// A date (`YYYY-MM-DD`) in `name`.
    pub(crate) fn date(&mut self, fields: &Fields, name: &str, required: bool) -> Option<Date> {
        let value = fields.get(name);
        if value.is_empty() {
            if required {
                self.add(name, "required: a date (YYYY-MM-DD)");
            }
            return None;
        }
        match value.parse::<Date>() {
            Ok(date) => Some(date),
            Err(_) => {
                self.add(name, format!("`{value}` is not a date (YYYY-MM-DD)"));
                None
            }
        }
    }

    /// A moment in `name`: `YYYY-MM-DDTHH:MM` in UTC (a `datetime-local`
    /// input), or RFC 3339.
    pub(crate) fn moment(
        &mut self,
        fields: &Fields,
        name: &str,
        required: bool,
    ) -> Option<Timestamp> {
        let value = fields.get(name);
        if value.is_empty() {
            if required {
                self.add(name, "required: a date and time (UTC)");
            }
            return None;
        }
        let parsed = value.parse::<Timestamp>().ok().or_else(|| {
            value
                .parse::<DateTime>()
                .ok()
                .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        });
        if parsed.is_none() {
            self.add(
                name,
                format!("`{value}` is not a date and time (YYYY-MM-DDTHH:MM, UTC)"),
            );
        }
        parsed
    }

    /// Record ids, separated by spaces, commas or lines.
    pub(crate) fn record_ids(&mut self, fields: &Fields, name: &str) -> Vec<RecordId> {
        let mut found = Vec::new();
        for word in fields.list(name).iter().flat_map(|w| w.split_whitespace()) {
            match word.parse::<RecordId>() {
                Ok(id) => found.push(id),
                Err(_) => self.add(
                    name,
                    format!("`{word}` is not a record id (64 hex characters)"),
                ),
            }
        }
        found
    }
}

/// The `[HH:MM]` form of a moment for a `datetime-local` input, in UTC.
pub(crate) fn local(at: Timestamp) -> String {
    at.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Ids for inputs: a field name with dots made safe.
fn id_of(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

/// The error beside field `name`, if any.
fn error(errors: &Errors, name: &str) -> Markup {
    html! {
        @if let Some(message) = errors.fields.get(name) {
            span class="error" id=(format!("{}-error", id_of(name))) { (message) }
        }
    }
}

/// What every input takes: the form, its errors, its name and label.
#[derive(Clone, Copy)]
pub(crate) struct Input<'a> {
    pub(crate) fields: &'a Fields,
    pub(crate) errors: &'a Errors,
}

impl Input<'_> {
    fn described(&self, name: &str) -> Option<String> {
        self.errors
            .fields
            .contains_key(name)
            .then(|| format!("{}-error", id_of(name)))
    }

    /// A one-line input of `kind` (`text`, `date`, `datetime-local`).
    pub(crate) fn line(&self, kind: &str, name: &str, label: &str, hint: &str) -> Markup {
        let id = id_of(name);
        html! {
            div class="field" {
                label for=(id) { (label) @if !hint.is_empty() { " " span class="muted" { (hint) } } }
                input type=(kind) id=(id) name=(name) value=(self.fields.get(name))
                    aria-invalid=[self.described(name).map(|_| "true")]
                    aria-describedby=[self.described(name)];
                (error(self.errors, name))
            }
        }
    }

    /// A text input.
    pub(crate) fn text(&self, name: &str, label: &str, hint: &str) -> Markup {
        self.line("text", name, label, hint)
    }

    /// A text area (lists take one item per line).
    pub(crate) fn area(&self, name: &str, label: &str, hint: &str) -> Markup {
        let id = id_of(name);
        html! {
            div class="field" {
                label for=(id) { (label) @if !hint.is_empty() { " " span class="muted" { (hint) } } }
                textarea id=(id) name=(name) rows="4"
                    aria-invalid=[self.described(name).map(|_| "true")]
                    aria-describedby=[self.described(name)] { (self.fields.get(name)) }
                (error(self.errors, name))
            }
        }
    }

    /// A choice among `options` (value, label); the first is the default.
    pub(crate) fn select(&self, name: &str, label: &str, options: &[(String, String)]) -> Markup {
        let id = id_of(name);
        let chosen = self.fields.get(name);
        html! {
            div class="field" {
                label for=(id) { (label) }
                select id=(id) name=(name)
                    aria-invalid=[self.described(name).map(|_| "true")]
                    aria-describedby=[self.described(name)] {
                    @for (value, text) in options {
                        option value=(value) selected[value == chosen] { (text) }
                    }
                }
                (error(self.errors, name))
            }
        }
    }

    /// A checkbox, checked when the form sent `on`.
    pub(crate) fn check(&self, name: &str, label: &str) -> Markup {
        let id = id_of(name);
        html! {
            div class="field check" {
                input type="checkbox" id=(id) name=(name) value="on" checked[self.fields.get(name) == "on"];
                label for=(id) { (label) }
            }
        }
    }
}

/// `(value, value)` options of an enumeration's words.
pub(crate) fn words<T: std::fmt::Display>(all: &[T]) -> Vec<(String, String)> {
    all.iter().map(|w| (w.to_string(), w.to_string())).collect()
}
