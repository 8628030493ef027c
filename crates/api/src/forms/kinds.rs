//! The record kinds the dashboard publishes: for each, the inputs of its
//! form and the draft its fields make (the same draft a TOML file of
//! `assure new KIND` makes), with every field checked and its error kept
//! beside it.

use assure_model::predicate::{AuditResult, AuditType, ControlStatus, IncidentStatus, Severity};
use assure_model::{Catalog, Did, Domain};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::fields::{Errors, Fields, Input, cell, words};

/// A kind with a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FormKind {
    Profile,
    Scope,
    Control,
    Incident,
    Relationship,
    Audit,
}

impl FormKind {
    pub(crate) const ALL: &'static [FormKind] = &[
        FormKind::Profile,
        FormKind::Scope,
        FormKind::Control,
        FormKind::Incident,
        FormKind::Relationship,
        FormKind::Audit,
    ];

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == text)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FormKind::Profile => "profile",
            FormKind::Scope => "scope",
            FormKind::Control => "control",
            FormKind::Incident => "incident",
            FormKind::Relationship => "relationship",
            FormKind::Audit => "audit",
        }
    }

    /// What the form is for, in a sentence.
    pub(crate) fn purpose(self) -> &'static str {
        match self {
            FormKind::Profile => "Who we are: legal name, identifiers, roles, security contact.",
            FormKind::Scope => {
                "What our security management system covers, and the processes others perform \
                 for us with the controls we require of them (ISO 28000 4.3)."
            }
            FormKind::Control => {
                "How we meet one control of the catalog, with digests of the evidence we keep \
                 (ISO 28000 8.4)."
            }
            FormKind::Incident => {
                "A security incident and what is done about it; affected partners receive a \
                 notice (ISO 28000 10.2, 8.6.3)."
            }
            FormKind::Relationship => {
                "That we supply another organization, or it supplies us; confirmed once both \
                 sides have published one."
            }
            FormKind::Audit => {
                "As an auditor: the outcome of an audit of another organization, which it may \
                 co-sign (ISO 28000 9.2)."
            }
        }
    }

    /// The compartment the form proposes: `public` for a profile, our
    /// partners for what names no one else, else each record's default.
    pub(crate) fn proposed_compartment(self) -> &'static str {
        match self {
            FormKind::Profile => "public",
            FormKind::Scope | FormKind::Control => "partners",
            FormKind::Incident | FormKind::Relationship | FormKind::Audit => "",
        }
    }

    /// The inputs of this kind's own fields.
    pub(crate) fn inputs(self, input: Input<'_>, catalog: &Catalog) -> Markup {
        match self {
            FormKind::Profile => profile_inputs(input),
            FormKind::Scope => scope_inputs(input),
            FormKind::Control => control_inputs(input, catalog),
            FormKind::Incident => incident_inputs(input),
            FormKind::Relationship => relationship_inputs(input),
            FormKind::Audit => audit_inputs(input),
        }
    }

    /// The draft (JSON, as `assure publish` reads it) the fields make, or
    /// what is wrong with them.
    pub(crate) fn draft(
        self,
        fields: &Fields,
        us: Did,
        catalog: &Catalog,
    ) -> Result<Value, Errors> {
        let mut errors = Errors::default();
        let mut draft = Map::new();
        draft.insert("kind".into(), self.as_str().into());
        common(fields, &mut errors, &mut draft);
        match self {
            FormKind::Profile => profile(fields, &mut errors, &mut draft),
            FormKind::Scope => scope(fields, &mut errors, &mut draft, catalog),
            FormKind::Control => control(fields, &mut errors, &mut draft, catalog),
            FormKind::Incident => incident(fields, &mut errors, &mut draft),
            FormKind::Relationship => relationship(fields, &mut errors, &mut draft, us),
            FormKind::Audit => audit(fields, &mut errors, &mut draft, us),
        }
        match errors.is_empty() {
            true => Ok(Value::Object(draft)),
            false => Err(errors),
        }
    }
}

/// Rows shown for a group: those sent, and one empty row to fill in.
fn shown_rows(fields: &Fields, prefix: &str, columns: &[&str]) -> usize {
    let sent = fields.rows(prefix);
    let filled = (0..sent)
        .filter(|n| !fields.row_is_empty(prefix, *n, columns))
        .count();
    filled.max(sent.saturating_sub(1)) + 1
}

fn insert_nonempty(draft: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Null => true,
        _ => false,
    };
    if !empty {
        draft.insert(key.into(), value);
    }
}

/// The fields every kind may carry.
fn common(fields: &Fields, errors: &mut Errors, draft: &mut Map<String, Value>) {
    if let Some(until) = errors.date(fields, "validUntil", false) {
        draft.insert("validUntil".into(), format!("{until}T23:59:59Z").into());
    }
    let supersedes = errors.record_ids(fields, "supersedes");
    insert_nonempty(
        draft,
        "supersedes",
        supersedes.iter().map(|id| id.to_string()).collect(),
    );
    let clauses = fields.list("clauses");
    for clause in &clauses {
        if !assure_model::record::is_clause_ref(clause) {
            errors.add(
                "clauses",
                format!("`{clause}` is not a clause reference such as ISO28000:8.4"),
            );
        }
    }
    insert_nonempty(draft, "clauses", clauses.into());
}

/// The inputs of the fields every kind may carry.
pub(crate) fn common_inputs(input: Input<'_>, supersedes: bool) -> Markup {
    html! {
        fieldset {
            legend { "Validity and references (optional)" }
            (input.line("date", "validUntil", "Valid until", "(after this day the record counts as absent)"))
            (input.text("clauses", "Clauses served", "(comma-separated, e.g. ISO28000:8.4)"))
            @if supersedes {
                (input.text("supersedes", "Replaces", "(ids of our earlier records of this kind)"))
            }
        }
    }
}

fn profile_inputs(input: Input<'_>) -> Markup {
    let rows = shown_rows(input.fields, "id", &["scheme", "value"]);
    html! {
        (input.text("legalName", "Legal name", "(registered)"))
        (input.text("roles", "Roles", "(comma-separated: manufacturer, supplier, logistics, …)"))
        (input.text("securityContact", "Security contact", "(mailto: or https: address)"))
        fieldset {
            legend { "Identifiers (LEI, EORI, AEO, C-TPAT, …)" }
            @for n in 0..rows {
                div class="row" {
                    (input.text(&cell("id", n, "scheme"), "Scheme", ""))
                    (input.text(&cell("id", n, "value"), "Number", ""))
                }
            }
            (more_rows())
        }
    }
}

fn profile(fields: &Fields, errors: &mut Errors, draft: &mut Map<String, Value>) {
    draft.insert(
        "legalName".into(),
        errors.required(fields, "legalName").into(),
    );
    insert_nonempty(draft, "roles", fields.list("roles").into());
    insert_nonempty(
        draft,
        "securityContact",
        fields.get("securityContact").into(),
    );
    let mut identifiers = Map::new();
    for n in 0..fields.rows("id") {
        let (scheme, value) = (cell("id", n, "scheme"), cell("id", n, "value"));
        match (fields.get(&scheme), fields.get(&value)) {
            ("", "") => {}
            ("", _) => errors.add(&scheme, "required with a number: lei, eori, aeo, ctpat, …"),
            (_, "") => errors.add(&value, "required with a scheme"),
            (s, v) => {
                identifiers.insert(s.to_lowercase(), v.into());
            }
        }
    }
    insert_nonempty(draft, "identifiers", Value::Object(identifiers));
}

fn scope_inputs(input: Input<'_>) -> Markup {
    let sites = shown_rows(input.fields, "site", &["id", "name", "country"]);
    let external = shown_rows(input.fields, "ext", &["process", "provider", "controls"]);
    html! {
        (input.area("processes", "Processes covered", "(one per line)"))
        (input.area("services", "Services offered", "(one per line)"))
        (input.area("exclusions", "Exclusions, and why", "(one per line)"))
        fieldset {
            legend { "Sites" }
            @for n in 0..sites {
                div class="row" {
                    (input.text(&cell("site", n, "id"), "Short id", "(e.g. rotterdam)"))
                    (input.text(&cell("site", n, "name"), "Name and address", ""))
                    (input.text(&cell("site", n, "country"), "Country", "(ISO 3166, e.g. NL)"))
                }
            }
            (more_rows())
        }
        fieldset {
            legend { "Externally provided processes" }
            @for n in 0..external {
                div class="row" {
                    (input.text(&cell("ext", n, "process"), "Process", "(e.g. road haulage)"))
                    (input.text(&cell("ext", n, "provider"), "Provider's DID", ""))
                    (input.text(&cell("ext", n, "controls"), "Required controls", "(catalog ids, comma-separated)"))
                }
            }
            (more_rows())
        }
    }
}

fn scope(fields: &Fields, errors: &mut Errors, draft: &mut Map<String, Value>, catalog: &Catalog) {
    draft.insert("processes".into(), fields.lines("processes").into());
    draft.insert("services".into(), fields.lines("services").into());
    insert_nonempty(draft, "exclusions", fields.lines("exclusions").into());
    let mut sites = Vec::new();
    for n in 0..fields.rows("site") {
        if fields.row_is_empty("site", n, &["id", "name", "country"]) {
            continue;
        }
        let id = errors.required(fields, &cell("site", n, "id"));
        if id.contains(char::is_whitespace) {
            errors.add(&cell("site", n, "id"), "a short id without spaces");
        }
        let name = errors.required(fields, &cell("site", n, "name"));
        let mut site = json!({ "id": id, "name": name });
        let country = fields.get(&cell("site", n, "country"));
        if !country.is_empty() {
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
                errors.add(&cell("site", n, "country"), "a two-letter ISO 3166 code");
            }
            site["country"] = country.to_uppercase().into();
        }
        sites.push(site);
    }
    draft.insert("sites".into(), sites.into());
    let mut external = Vec::new();
    for n in 0..fields.rows("ext") {
        if fields.row_is_empty("ext", n, &["process", "provider", "controls"]) {
            continue;
        }
        let process = errors.required(fields, &cell("ext", n, "process"));
        let provider = errors.did(fields, &cell("ext", n, "provider"), true);
        let controls = catalog_ids(fields, errors, &cell("ext", n, "controls"), catalog);
        let mut item = json!({ "process": process, "provider": provider.map(|d| d.to_string()) });
        if !controls.is_empty() {
            item["requiredControls"] = controls.into();
        }
        external.push(item);
    }
    insert_nonempty(draft, "externalProcesses", external.into());
}

fn catalog_ids(fields: &Fields, errors: &mut Errors, name: &str, catalog: &Catalog) -> Vec<String> {
    let ids = fields.list(name);
    for id in &ids {
        if catalog.get(id).is_none() {
            errors.add(
                name,
                format!("`{id}` is not in the control catalog (ids such as ISO22340:9.2.4)"),
            );
        }
    }
    ids
}

fn control_inputs(input: Input<'_>, catalog: &Catalog) -> Markup {
    let evidence = shown_rows(input.fields, "ev", &["description", "digest"]);
    let chosen = input.fields.get("controlId");
    html! {
        div class="field" {
            label for="f-controlId" { "Control " span class="muted" { "(from the catalog, by domain)" } }
            select id="f-controlId" name="controlId"
                aria-invalid=[input.errors.fields.contains_key("controlId").then_some("true")]
                aria-describedby=[input.errors.fields.contains_key("controlId").then_some("f-controlId-error")] {
                option value="" { "— choose a control —" }
                @for domain in Domain::ALL {
                    optgroup label=(domain) {
                        @for c in catalog.in_domain(*domain) {
                            option value=(c.id) selected[c.id == chosen] { (c.id) " — " (c.title) }
                        }
                    }
                }
            }
            @if let Some(message) = input.errors.fields.get("controlId") {
                span class="error" id="f-controlId-error" { (message) }
            }
        }
        (input.select("status", "Status", &words(ControlStatus::ALL)))
        (input.area("statement", "Statement", "(how we meet it, in our own words)"))
        (input.line("date", "lastTested", "Last tested", "(optional)"))
        (input.text("site", "Site", "(optional: the short id of one site of our scope)"))
        fieldset {
            legend { "Evidence (only its digest is published)" }
            @for n in 0..evidence {
                div class="row" {
                    (input.text(&cell("ev", n, "description"), "What it is", ""))
                    (input.text(&cell("ev", n, "digest"), "Digest", "(sha256:<hex> or blake3:<hex>)"))
                    div class="field hash" hidden {
                        label for=(format!("f-ev-{n}-file")) { "Or choose the file: hashed in this browser, never sent" }
                        input type="file" id=(format!("f-ev-{n}-file")) data-digest=(format!("f-ev-{n}-digest"))
                            data-description=(format!("f-ev-{n}-description"));
                    }
                }
            }
            (more_rows())
        }
        script { (maud::PreEscaped(HASH_SCRIPT)) }
    }
}

/// Hashes a chosen evidence file locally with WebCrypto and fills in its
/// digest; the file input has no name, so the file itself is never sent.
/// Without script (or WebCrypto) the digest field is typed in.
const HASH_SCRIPT: &str = r#"
(function(){
  if (!(window.crypto && crypto.subtle)) return;
  document.querySelectorAll("input[type=file][data-digest]").forEach(function(input){
    input.parentElement.hidden = false;
    input.addEventListener("change", async function(){
      var file = input.files[0];
      if (!file) return;
      var digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
      var hex = Array.from(new Uint8Array(digest), function(b){ return b.toString(16).padStart(2, "0"); }).join("");
      document.getElementById(input.dataset.digest).value = "sha256:" + hex;
      var description = document.getElementById(input.dataset.description);
      if (!description.value) description.value = file.name;
    });
  });
})();
"#;

fn control(
    fields: &Fields,
    errors: &mut Errors,
    draft: &mut Map<String, Value>,
    catalog: &Catalog,
) {
    let id = fields.get("controlId");
    if id.is_empty() {
        errors.add("controlId", "required: choose a control of the catalog");
    } else if catalog.get(id).is_none() {
        errors.add("controlId", format!("`{id}` is not in the control catalog"));
    }
    draft.insert("controlId".into(), id.into());
    draft.insert("status".into(), errors.required(fields, "status").into());
    draft.insert(
        "statement".into(),
        errors.required(fields, "statement").into(),
    );
    if let Some(day) = errors.date(fields, "lastTested", false) {
        draft.insert("lastTested".into(), format!("{day}T00:00:00Z").into());
    }
    let site = fields.get("site");
    if !site.is_empty() {
        if site.contains(char::is_whitespace) || site.contains('#') {
            errors.add("site", "the short id of a site, without spaces");
        }
        draft.insert("subject".into(), format!("#site={site}").into());
    }
    let mut evidence = Vec::new();
    for n in 0..fields.rows("ev") {
        if fields.row_is_empty("ev", n, &["description", "digest"]) {
            continue;
        }
        let description = errors.required(fields, &cell("ev", n, "description"));
        let name = cell("ev", n, "digest");
        let digest = fields.get(&name).to_lowercase();
        if !is_digest(&digest) {
            errors.add(
                &name,
                "a digest `sha256:` or `blake3:` followed by 64 hex characters (choose the file \
                 to compute it here)",
            );
        }
        evidence.push(json!({ "description": description, "digest": digest }));
    }
    insert_nonempty(draft, "evidence", evidence.into());
}

fn is_digest(text: &str) -> bool {
    let hex = text
        .strip_prefix("sha256:")
        .or_else(|| text.strip_prefix("blake3:"));
    hex.is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn incident_inputs(input: Input<'_>) -> Markup {
    let actions = shown_rows(input.fields, "ca", &["description", "due", "completed"]);
    let mut domains = vec![(String::new(), "—".to_owned())];
    domains.extend(words(Domain::ALL));
    html! {
        (input.text("category", "Category", "(e.g. cargo-tampering, cyber-intrusion)"))
        (input.select("severity", "Severity", &words(Severity::ALL)))
        (input.select("status", "Status", &words(IncidentStatus::ALL)))
        (input.select("domain", "Domain", &domains))
        (input.area("summary", "Summary", "(what happened, for the partners who receive it)"))
        (input.line("datetime-local", "occurredAt", "Occurred", "(UTC)"))
        (input.line("datetime-local", "detectedAt", "Detected", "(UTC)"))
        (input.area("affected", "Affected partners", "(their DIDs, one per line: each receives a notice)"))
        fieldset {
            legend { "Corrective actions" }
            @for n in 0..actions {
                div class="row" {
                    (input.text(&cell("ca", n, "description"), "Action", ""))
                    (input.line("date", &cell("ca", n, "due"), "Due", ""))
                    (input.line("date", &cell("ca", n, "completed"), "Completed", ""))
                }
            }
            (more_rows())
        }
    }
}

fn incident(fields: &Fields, errors: &mut Errors, draft: &mut Map<String, Value>) {
    draft.insert(
        "category".into(),
        errors.required(fields, "category").into(),
    );
    draft.insert(
        "severity".into(),
        errors.required(fields, "severity").into(),
    );
    draft.insert("status".into(), errors.required(fields, "status").into());
    insert_nonempty(draft, "domain", fields.get("domain").into());
    draft.insert("summary".into(), errors.required(fields, "summary").into());
    let occurred = errors.moment(fields, "occurredAt", true);
    let detected = errors.moment(fields, "detectedAt", true);
    if let (Some(o), Some(d)) = (occurred, detected)
        && d < o
    {
        errors.add(
            "detectedAt",
            "detected before it occurred: check both times",
        );
    }
    for (key, at) in [("occurredAt", occurred), ("detectedAt", detected)] {
        if let Some(at) = at {
            draft.insert(key.into(), at.to_string().into());
        }
    }
    let affected = errors.dids(fields, "affected");
    insert_nonempty(
        draft,
        "affected",
        affected.iter().map(|d| d.to_string()).collect(),
    );
    let mut actions = Vec::new();
    for n in 0..fields.rows("ca") {
        if fields.row_is_empty("ca", n, &["description", "due", "completed"]) {
            continue;
        }
        let mut action =
            json!({ "description": errors.required(fields, &cell("ca", n, "description")) });
        for column in ["due", "completed"] {
            if let Some(day) = errors.date(fields, &cell("ca", n, column), false) {
                action[column] = day.to_string().into();
            }
        }
        actions.push(action);
    }
    insert_nonempty(draft, "correctiveActions", actions.into());
}

fn relationship_inputs(input: Input<'_>) -> Markup {
    let sides = vec![
        (
            "supplier".to_owned(),
            "We supply the other organization".to_owned(),
        ),
        (
            "customer".to_owned(),
            "The other organization supplies us".to_owned(),
        ),
    ];
    html! {
        (input.select("side", "Our side", &sides))
        (input.text("other", "The other organization's DID", ""))
        (input.area("supplies", "Processes or services supplied", "(one per line)"))
        (input.line("date", "since", "Since", ""))
    }
}

fn relationship(fields: &Fields, errors: &mut Errors, draft: &mut Map<String, Value>, us: Did) {
    let other = errors.did(fields, "other", true);
    if other == Some(us) {
        errors.add("other", "that is our own DID: name the other organization");
    }
    let other = other.map(|d| d.to_string()).unwrap_or_default();
    let (supplier, customer) = match fields.get("side") {
        "customer" => (other, us.to_string()),
        _ => (us.to_string(), other),
    };
    draft.insert("supplier".into(), supplier.into());
    draft.insert("customer".into(), customer.into());
    let supplies = fields.lines("supplies");
    if supplies.is_empty() {
        errors.add("supplies", "required: at least one process or service");
    }
    draft.insert("supplies".into(), supplies.into());
    if let Some(since) = errors.date(fields, "since", true) {
        draft.insert("since".into(), since.to_string().into());
    }
}

fn audit_inputs(input: Input<'_>) -> Markup {
    let findings = shown_rows(
        input.fields,
        "finding",
        &["clause", "severity", "description"],
    );
    let mut severities = vec![(String::new(), "—".to_owned())];
    severities.extend(words(Severity::ALL));
    html! {
        (input.text("subject", "The audited organization's DID", ""))
        (input.select("auditType", "Type", &words(AuditType::ALL)))
        (input.text("standard", "Standard", "(e.g. ISO 28000:2022)"))
        (input.text("scopeRef", "Scope record", "(optional: the id of the auditee's scope record)"))
        div class="row" {
            (input.line("date", "from", "From", ""))
            (input.line("date", "to", "To", ""))
        }
        (input.select("result", "Result", &words(AuditResult::ALL)))
        (input.text("certificateNumber", "Certificate number", "(certification audits)"))
        fieldset {
            legend { "Findings" }
            @for n in 0..findings {
                div class="row" {
                    (input.text(&cell("finding", n, "clause"), "Clause", "(e.g. ISO28000:8.4)"))
                    (input.select(&cell("finding", n, "severity"), "Severity", &severities))
                    (input.text(&cell("finding", n, "description"), "What was found", ""))
                }
            }
            (more_rows())
        }
    }
}

fn audit(fields: &Fields, errors: &mut Errors, draft: &mut Map<String, Value>, us: Did) {
    if let Some(subject) = errors.did(fields, "subject", true) {
        if subject == us {
            errors.add(
                "subject",
                "that is our own DID: this form is for an audit of another organization",
            );
        }
        draft.insert("subject".into(), subject.to_string().into());
    }
    draft.insert(
        "auditType".into(),
        errors.required(fields, "auditType").into(),
    );
    draft.insert(
        "standard".into(),
        errors.required(fields, "standard").into(),
    );
    let scope = errors.record_ids(fields, "scopeRef");
    if let Some(scope) = scope.first() {
        draft.insert("scopeRef".into(), scope.to_string().into());
    }
    let from = errors.date(fields, "from", true);
    let to = errors.date(fields, "to", true);
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            errors.add("to", "the last day comes before the first");
        }
        draft.insert(
            "period".into(),
            json!({ "from": from.to_string(), "to": to.to_string() }),
        );
    }
    draft.insert("result".into(), errors.required(fields, "result").into());
    insert_nonempty(
        draft,
        "certificateNumber",
        fields.get("certificateNumber").into(),
    );
    let mut findings = Vec::new();
    let columns = ["clause", "severity", "description"];
    for n in 0..fields.rows("finding") {
        if fields.row_is_empty("finding", n, &columns) {
            continue;
        }
        let [clause, severity, description] =
            columns.map(|c| errors.required(fields, &cell("finding", n, c)));
        findings
            .push(json!({ "clause": clause, "severity": severity, "description": description }));
    }
    insert_nonempty(draft, "findings", findings.into());
}

/// A button that shows the form again with an empty row in every group.
fn more_rows() -> Markup {
    html! {
        button type="submit" name="step" value="edit" class="secondary" { "Add a row" }
    }
}
