//! The OpenAPI 3.1 document: the contract a client, or a tester driven by
//! the schema, relies on.
//!
//! The handlers' `utoipa` annotations give each operation's own answers.
//! This module adds, once, what the layers every request passes decide for
//! all of them: every problem answer as `application/problem+json`; the
//! statuses the middleware answers (400 unreadable body or a regulator
//! without a purpose, 401 a wrong credential, 408, 413, 429, 503); the
//! security schemes (the admin token, RFC 9421 signatures, the dashboard's
//! session); the identifiers' patterns (DID, record id, compartment id,
//! cursor) and the parameters' ranges; examples that a node accepts; and
//! the dashboard's pages. The document a node serves is fitted to it: its
//! page size limit and the profiles it verifies against.

use serde_json::{Map, Value, json};

use crate::Settings;

/// A did:key of an ed25519 key, as the API takes it. The pattern gives the
/// shape; the key must also be a valid point (format `did-key`).
pub(crate) const DID_PATTERN: &str = "^did:key:z6Mk[e-kmn-w][1-9A-HJ-NP-Za-km-z]{43}$";

/// The statuses every operation may answer, from the layers around the
/// handlers, with the component describing each.
const SHARED: &[(&str, &str)] = &[
    ("400", "BadRequest"),
    ("401", "Unauthorized"),
    ("408", "RequestTimeout"),
    ("413", "ContentTooLarge"),
    ("429", "TooManyRequests"),
    ("500", "InternalError"),
    ("503", "Unavailable"),
];

/// The dashboard's pages: method, path, what it is. Forms POST
/// `application/x-www-form-urlencoded` with the session's CSRF token.
const DASHBOARD: &[(&str, &str, &str)] = &[
    (
        "get",
        "/",
        "The supply chain graph with each provider's verdict",
    ),
    ("get", "/orgs/{did}", "An organization's records, by kind"),
    (
        "get",
        "/orgs/{did}/coverage",
        "An organization's coverage of the control catalog",
    ),
    (
        "get",
        "/coverage",
        "Our own coverage of the control catalog",
    ),
    ("get", "/records/{id}", "One record, in words"),
    ("get", "/supervised", "The operators a regulator supervises"),
    (
        "get",
        "/admin",
        "The disclosure log, grants, peers and sync state (administrator)",
    ),
    (
        "get",
        "/alerts",
        "Incidents and expiring certifications; every alert for the administrator",
    ),
    (
        "post",
        "/alerts/{id}/ack",
        "Acknowledges an alert (administrator)",
    ),
    (
        "get",
        "/webhooks",
        "The webhooks and their delivery log (administrator)",
    ),
    ("post", "/webhooks", "Registers a webhook (administrator)"),
    (
        "post",
        "/webhooks/remove",
        "Removes a webhook (administrator)",
    ),
    ("get", "/publish", "The publishing forms (administrator)"),
    (
        "get",
        "/publish/{kind}",
        "The form of one record kind (administrator)",
    ),
    (
        "post",
        "/publish/{kind}",
        "Previews or publishes a record (administrator)",
    ),
    (
        "get",
        "/records/{id}/update",
        "The update form of one of our incidents (administrator)",
    ),
    (
        "post",
        "/records/{id}/update",
        "Previews or publishes an incident's update (administrator)",
    ),
    (
        "get",
        "/records/{id}/withdraw",
        "The withdrawal form of one of our records (administrator)",
    ),
    (
        "post",
        "/records/{id}/withdraw",
        "Previews or publishes a withdrawal (administrator)",
    ),
    (
        "post",
        "/cosign/{id}",
        "Co-signs an audit of us (administrator)",
    ),
    (
        "get",
        "/grants",
        "Grants and audience compartments (administrator)",
    ),
    (
        "post",
        "/grants",
        "Previews or makes a grant (administrator)",
    ),
    ("post", "/grants/revoke", "Revokes a grant (administrator)"),
    (
        "post",
        "/grants/compartments",
        "Makes a compartment for a named audience (administrator)",
    ),
    (
        "get",
        "/requests",
        "Access requests sent to us (administrator)",
    ),
    (
        "post",
        "/requests/{id}",
        "Approves or declines an access request (administrator)",
    ),
    (
        "get",
        "/requests/sent",
        "The access requests we sent (administrator)",
    ),
    (
        "post",
        "/requests/sent",
        "Asks another organization for access (administrator)",
    ),
    (
        "post",
        "/requests/sent/{id}/check",
        "Asks now how a request we sent was decided (administrator)",
    ),
    (
        "get",
        "/reports",
        "Verification reports as PDF, CSV or a printable page (administrator)",
    ),
    (
        "get",
        "/reports/disclosures.csv",
        "The disclosure log of a period as CSV (administrator)",
    ),
    ("get", "/login", "The sign-in form"),
    (
        "post",
        "/login",
        "Signs in with the admin token or a one-time code",
    ),
    (
        "get",
        "/login/once/{code}",
        "A one-time sign-in link's page",
    ),
    ("get", "/logout", "Signs out (a form that POSTs)"),
    ("post", "/logout", "Signs out"),
];

/// The OpenAPI 3.1 document of this API, as a node with the default
/// settings and no profiles serves it.
pub fn openapi() -> Value {
    document(&Settings::default(), &[])
}

/// The document a node with `settings` and the verification `profiles`
/// (by name) serves.
pub(crate) fn document(settings: &Settings, profiles: &[&str]) -> Value {
    use utoipa::OpenApi as _;
    // Serializing utoipa's plain data types cannot fail.
    let mut doc = serde_json::to_value(crate::routes::ApiDoc::openapi()).unwrap_or_default();
    add_dashboard(&mut doc);
    doc["components"] = components(doc["components"].take());
    let example_party = assure_model::Keypair::from_seed([0x5a; 32])
        .did()
        .to_string();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                let fit = Fit {
                    path,
                    method,
                    settings,
                    profiles,
                    party: &example_party,
                };
                fit.operation(operation);
            }
        }
    }
    doc
}

fn add_dashboard(doc: &mut Value) {
    for (method, path, summary) in DASHBOARD {
        let parameters: Vec<Value> = path_parameters(path)
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(dashboard_query(method, path))
            .collect();
        let mut responses = Map::new();
        let html = json!({"text/html": {"schema": {"type": "string"}}});
        if *method == "get" {
            responses.insert(
                "200".into(),
                json!({"description": "The page", "content": html}),
            );
            if *path == "/logout" {
                responses.insert(
                    "303".into(),
                    json!({"description": "Not signed in: to the home page"}),
                );
            }
            if path.starts_with("/reports") {
                responses["200"]["content"]["application/pdf"] =
                    json!({"schema": {"type": "string"}});
                responses["200"]["content"]["text/csv"] = json!({"schema": {"type": "string"}});
            }
        } else {
            responses.insert("200".into(), json!({"description": "The form again, with a preview or what is wrong", "content": html}));
            responses.insert(
                "303".into(),
                json!({"description": "Done: to the page that shows it"}),
            );
            responses.insert("403".into(), json!({"description": "The session's CSRF token is missing or wrong, or the browser reports another origin", "content": problem()}));
        }
        responses.insert(
            "400".into(),
            json!({"description": "A refusal, in words", "content": html}),
        );
        responses.insert(
            "401".into(),
            json!({"description": "A wrong token or code (sign-in)", "content": html}),
        );
        responses.insert("404".into(), json!({"description": "No such page, or not the administrator's session", "content": html}));
        let mut operation = json!({
            "tags": ["dashboard"],
            "summary": summary,
            "operationId": format!("dashboard_{method}{}", path.replace(['/', '{', '}', '.'], "_")),
            "responses": responses,
        });
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        doc["paths"][*path][*method] = operation;
    }
}

/// The query parameters of the dashboard's pages.
fn dashboard_query(method: &str, path: &str) -> Vec<Value> {
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let text = || json!({"type": "string"});
    match (method, path) {
        ("get", "/") => vec![query(
            "verdict",
            "Only providers with this verdict: pass, fail, inconclusive or none (anything else: every provider)",
            text(),
        )],
        ("get", "/orgs/{did}") => vec![
            query("q", "Text to search for", text()),
            query("kind", "Only this kind (empty: every kind)", text()),
            query("clause", "Only records naming this clause", text()),
            query("cursor", "The next page", text()),
        ],
        ("get", "/alerts") => vec![
            query("kind", "Only this kind (the administrator's table)", text()),
            query(
                "acknowledged",
                "Acknowledged or not (the administrator's table)",
                text(),
            ),
            query(
                "org",
                "Only alerts about this organization (the administrator's table)",
                text(),
            ),
        ],
        ("get", "/reports") => vec![
            query(
                "provider",
                "The provider's DID; every provider when absent",
                text(),
            ),
            query("format", "pdf, csv or html", text()),
        ],
        ("get", "/reports/disclosures.csv") => vec![
            query("since", "From (RFC 3339)", text()),
            query("until", "Until (RFC 3339)", text()),
        ],
        _ => Vec::new(),
    }
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn problem() -> Value {
    json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}})
}

fn components(components: Value) -> Value {
    let mut components = match components {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let example_did = assure_model::Keypair::from_seed([0x5a; 32])
        .did()
        .to_string();
    let schemas = components.entry("schemas").or_insert_with(|| json!({}));
    schemas["Did"] = json!({
        "type": "string",
        "format": "did-key",
        "pattern": DID_PATTERN,
        "description": "An organization's did:key: `did:key:z` and the base58btc of 0xed 0x01 and its \
                        32-byte ed25519 public key, which must be a valid point.",
        "example": example_did,
    });
    schemas["RecordId"] = json!({
        "type": "string",
        "pattern": "^[0-9a-fA-F]{64}$",
        "description": "A record id: blake3 of the DSSE pre-authentication encoding, 64 hex characters.",
        "example": "d9de41729e20920fec09ef2b1c287b557119f9d546efc0148357b79bc3b760cf",
    });
    schemas["CompartmentId"] = json!({
        "type": "string",
        "pattern": "^[0-9a-f]{32}$",
        "description": "A compartment's opaque id, 32 lowercase hex characters.",
        "example": "fab7ace2558b23ba8ac3c1a3ed35c85d",
    });
    schemas["Cursor"] = json!({
        "type": "string",
        "format": "assure-cursor",
        "pattern": "^[A-Za-z0-9_-]{86}$",
        "description": "The `next` of a page, as the node wrote it (unpadded base64url of 64 bytes: \
                        a time, a log and an index).",
        "example": example_cursor(),
    });
    schemas["Envelope"] = json!({
        "type": "object",
        "description": "A DSSE envelope around an in-toto Statement v1: the issuer's signature \
                        first, then co-signers'. At most 256 KiB; validated in full before it is \
                        kept.",
        "required": ["payload", "payloadType", "signatures"],
        "additionalProperties": false,
        "properties": {
            "payload": {
                "type": "string",
                "contentEncoding": "base64",
                "pattern": "^[A-Za-z0-9+/]*={0,2}$",
                "description": "The statement's JSON, base64",
            },
            "payloadType": {"type": "string", "const": assure_model::dsse::PAYLOAD_TYPE},
            "signatures": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["keyid", "sig"],
                    "additionalProperties": false,
                    "properties": {
                        "keyid": {"$ref": "#/components/schemas/Did"},
                        "sig": {"type": "string", "description": "The base64 ed25519 signature of \
                                the DSSE pre-authentication encoding"},
                    },
                },
            },
        },
    });
    schemas["Draft"] = json!({
        "type": "object",
        "description": "A record to sign: its kind and its fields, as `assure new KIND` writes \
                        them (in JSON).",
        "required": ["kind"],
        "properties": {"kind": {
            "type": "string",
            "enum": assure_model::Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        }},
    });
    for (pointer, schema) in [
        ("/PublishRequest/properties/envelopes/items", "Envelope"),
        ("/PublishRequest/properties/drafts/items", "Draft"),
        ("/RecordItem/properties/envelope", "Envelope"),
        ("/RecordDetail/properties/envelope", "Envelope"),
    ] {
        if let Some(place) = schemas.pointer_mut(pointer) {
            *place = json!({"$ref": format!("#/components/schemas/{schema}")});
        }
    }
    schemas["Problem"]["example"] = json!({
        "type": "about:blank", "title": "Not Found", "status": 404, "detail": "no such resource"
    });
    let retry =
        json!({"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}});
    let response = |description: &str| json!({"description": description, "content": problem()});
    let mut responses = Map::new();
    responses.insert(
        "BadRequest".into(),
        response(
            "The request is malformed (a parameter, the body, a body that could not be read), or a \
         party granted the regulator role signed it without an Assure-Purpose header",
        ),
    );
    let mut unauthorized = response(
        "A credential was sent and is wrong: an Authorization header that is not this node's \
         admin token (accepted on /v1/admin routes and /metrics only), or an RFC 9421 signature \
         that does not verify (not for this node, expired, replayed, malformed); or an admin \
         route was asked without the token",
    );
    unauthorized["headers"] = json!({"WWW-Authenticate": {
        "description": "The schemes this node takes", "schema": {"type": "string"}}});
    responses.insert("Unauthorized".into(), unauthorized);
    responses.insert(
        "RequestTimeout".into(),
        response("The request did not arrive whole in time (api.request_timeout)"),
    );
    responses.insert(
        "ContentTooLarge".into(),
        response("The body is larger than api.max_body_bytes"),
    );
    let mut limited =
        response("More requests than api.requests_per_second allows this party (or address)");
    limited["headers"] = retry.clone();
    responses.insert("TooManyRequests".into(), limited);
    responses.insert(
        "InternalError".into(),
        response("The node could not answer; its log says why"),
    );
    let mut busy =
        response("More requests in flight than api.max_concurrent: refused at once, not queued");
    busy["headers"] = retry;
    responses.insert("Unavailable".into(), busy);
    components.insert("responses".into(), Value::Object(responses));
    components.insert("securitySchemes".into(), json!({
        "admin": {
            "type": "http",
            "scheme": "bearer",
            "description": "The node's admin token (`admin.token` in its data directory, 0600), as \
                            `Authorization: Bearer <token>`; /v1/admin routes and /metrics only.",
        },
        "signature": {
            "type": "apiKey",
            "in": "header",
            "name": "Signature",
            "description": "RFC 9421 HTTP Message Signatures with the organization's ed25519 key \
                            (OpenAPI has no scheme of its own for them): `Signature-Input` and \
                            `Signature` under one label, covering @method @authority @scheme @path \
                            @query date content-digest (and assure-purpose when Assure-Purpose is \
                            sent), with created, keyid (the signer's DID) and alg=\"ed25519\"; \
                            valid at the one node named by @authority, for 300 s, once. See the \
                            README's Signed requests. Unsigned requests see public compartments only.",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "assure_session",
            "description": "The dashboard's session after signing in at /login; dashboard pages only.",
        },
    }));
    Value::Object(components)
}

/// Fits one operation to what the node answers.
struct Fit<'a> {
    path: &'a str,
    method: &'a str,
    settings: &'a Settings,
    profiles: &'a [&'a str],
    party: &'a str,
}

impl Fit<'_> {
    fn operation(&self, operation: &mut Value) {
        let admin = self.path.starts_with("/v1/admin");
        let dashboard = !self.path.starts_with("/v1/")
            && !matches!(self.path, "/metrics" | "/healthz" | "/readyz");
        operation["security"] = match self.path {
            _ if admin => json!([{"admin": []}]),
            p if p.starts_with("/v1/access-requests") => json!([{"signature": []}]),
            p if p.starts_with("/v1/") => json!([{}, {"signature": []}]),
            "/metrics" => json!([{}, {"admin": []}]),
            _ if dashboard => json!([{}, {"session": []}]),
            _ => json!([{}]),
        };
        if let Some(parameters) = operation
            .pointer_mut("/parameters")
            .and_then(Value::as_array_mut)
        {
            for parameter in parameters {
                self.parameter(parameter);
            }
        }
        let Some(responses) = operation
            .pointer_mut("/responses")
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        for (status, response) in responses.iter_mut() {
            as_problem(status, response);
        }
        for (status, name) in SHARED {
            // The admin is not rate limited; /healthz is never shed.
            let skip = (*status == "429" && admin) || (*status == "503" && self.path == "/healthz");
            if !skip && !responses.contains_key(*status) {
                responses.insert(
                    (*status).into(),
                    json!({"$ref": format!("#/components/responses/{name}")}),
                );
            }
        }
        self.examples(operation);
    }

    fn parameter(&self, parameter: &mut Value) {
        let name = parameter["name"].as_str().unwrap_or_default().to_owned();
        let schema = match (parameter["in"].as_str(), name.as_str()) {
            (Some("path"), "did") => json!({"$ref": "#/components/schemas/Did"}),
            (Some("path"), "id")
                if self.path.contains("records/") || self.path.starts_with("/cosign") =>
            {
                json!({"$ref": "#/components/schemas/RecordId"})
            }
            (Some("path"), "id") if self.path.starts_with("/v1/admin/alerts") => json!({
                "type": "string", "pattern": "^[0-9a-f]{8,32}$",
                "description": "The alert's id (32 hex characters) or its first 8 or more"}),
            (Some("query"), "cursor") => json!({"$ref": "#/components/schemas/Cursor"}),
            (Some("query"), "compartment") => json!({"$ref": "#/components/schemas/CompartmentId"}),
            (Some("query"), "since") if self.path.starts_with("/v1/") => {
                json!({"type": "string", "format": "date-time"})
            }
            (Some("query"), "kind") if self.path.ends_with("/records") => json!({
                "type": "string",
                "enum": assure_model::Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()}),
            (Some("query"), "kind") if self.path == "/orgs/{did}" => {
                let mut kinds = vec![""];
                kinds.extend(assure_model::Kind::ALL.iter().map(|k| k.as_str()));
                json!({"type": "string", "enum": kinds})
            }
            (Some("query"), "kind") if self.path == "/v1/admin/alerts" => {
                let mut kinds = vec![""];
                kinds.extend(assure_store::Alert::KINDS);
                json!({"type": "string", "enum": kinds})
            }
            (Some("query"), "acknowledged") if self.path.starts_with("/v1/") => {
                json!({"type": "string", "enum": ["", "true", "false", "yes", "no"]})
            }
            (Some("query"), "org") if self.path.starts_with("/v1/") => json!({
                "anyOf": [{"type": "string", "const": ""}, {"$ref": "#/components/schemas/Did"}]}),
            (Some("query"), "domain") => json!({
                "type": "string",
                "enum": assure_model::Domain::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>()}),
            (Some("query"), "limit") if self.path.ends_with("/records") => json!({
                "type": "integer", "minimum": 1, "maximum": self.settings.max_page,
                "default": 100.min(self.settings.max_page)}),
            (Some("query"), "limit") => {
                json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})
            }
            (Some("query"), "skip") => json!({"type": "integer", "minimum": 0, "default": 0}),
            (Some("query"), "profile") if !self.profiles.is_empty() => {
                json!({"type": "string", "enum": self.profiles})
            }
            _ => return,
        };
        parameter["schema"] = schema;
    }

    /// Examples a node accepts: what a schema-driven tester starts from.
    fn examples(&self, operation: &mut Value) {
        let body = match (self.method, self.path) {
            ("post", "/v1/admin/publish") => json!({
                "compartment": "public",
                "drafts": [{"kind": "scope", "processes": ["CNC machining", "machined gearbox housings"]}],
            }),
            ("put", "/v1/admin/grants/{did}") => json!({
                "clearance": "partner",
                "roles": ["customer"],
                "basis": "Framework agreement 2026-17",
                "unknownParty": true,
            }),
            ("post", "/v1/admin/compartments") => json!({
                "label": "with-example-customer",
                "readers": [self.party],
            }),
            ("post", "/v1/admin/webhooks") => json!({"url": "http://127.0.0.1:9/assure-events"}),
            ("post", "/v1/admin/verify/{did}") => {
                if let Some(content) = operation
                    .pointer_mut("/requestBody/content/application~1toml")
                    .and_then(Value::as_object_mut)
                {
                    content.insert("example".into(), json!(EXAMPLE_PROFILE));
                }
                Value::Null
            }
            ("post", "/v1/access-requests") => json!({
                "clearance": "partner", "role": "customer",
                "purpose": "supplier qualification", "basis": "NDA 2026-04"}),
            _ => Value::Null,
        };
        if let Some(content) = operation
            .pointer_mut("/requestBody/content/application~1json")
            .and_then(Value::as_object_mut)
            && !body.is_null()
        {
            content.insert("example".into(), body);
        }
        if self.path == "/v1/admin/grants/{did}"
            && let Some(parameters) = operation
                .pointer_mut("/parameters")
                .and_then(Value::as_array_mut)
        {
            for parameter in parameters.iter_mut().filter(|p| p["name"] == "did") {
                parameter["example"] = json!(self.party);
            }
        }
    }
}

/// A profile `POST /v1/admin/verify/{did}` takes.
const EXAMPLE_PROFILE: &str = r#"name = "confirmed-supplier"
title = "A supplier whose relationship both sides confirmed"

[[requirement]]
id = "relationship"
kind = "relationship"
clauses = ["ISO28000:4.3"]
"#;

/// A cursor as a node writes it: a page's position after a record.
fn example_cursor() -> String {
    let location = assure_store::Location {
        log: assure_store::LogId {
            origin: assure_model::Keypair::from_seed([0x5a; 32]).did(),
            compartment: assure_access::CompartmentId::from_bytes([0xfa; 16]),
        },
        index: 0,
    };
    let at = jiff::Timestamp::from_second(1_795_953_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    crate::routes::encode_cursor((at, location))
}

/// Moves a problem answer to `application/problem+json`, the media type the
/// node sends it with, and names an empty description by its status.
fn as_problem(status: &str, response: &mut Value) {
    if response.get("$ref").is_some() {
        return;
    }
    if response["description"].as_str().is_none_or(str::is_empty) {
        let reason = status
            .parse::<u16>()
            .ok()
            .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Answer");
        response["description"] = json!(reason);
    }
    let Some(content) = response
        .pointer_mut("/content")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let is_problem = content
        .get("application/json")
        .is_some_and(|c| c["schema"]["$ref"] == "#/components/schemas/Problem");
    if is_problem && let Some(json) = content.remove("application/json") {
        content.insert("application/problem+json".into(), json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn documented(doc: &Value) -> BTreeSet<(String, String)> {
        let mut found = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
        found
    }

    #[test]
    fn the_document_omitted_served_routes_and_their_methods() {
        let served: BTreeSet<(String, String)> = crate::route_table()
            .iter()
            .flat_map(|r| {
                r.methods
                    .iter()
                    .map(|m| ((*m).to_owned(), r.path.to_owned()))
            })
            .collect();
        let doc = openapi();
        let documented = documented(&doc);
        let missing: Vec<_> = served.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&served).collect();
        assert!(missing.is_empty(), "served but not documented: {missing:?}");
        assert!(extra.is_empty(), "documented but not served: {extra:?}");
    }

    #[test]
    fn problem_answers_were_documented_as_application_json() {
        let text = openapi().to_string();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let mut problems = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let Some(content) = response["content"].as_object() else {
                        continue;
                    };
                    for (media, body) in content {
                        if body["schema"]["$ref"] == "#/components/schemas/Problem" {
                            problems += 1;
                            assert_eq!(
                                media, "application/problem+json",
                                "{method} {path} {status}"
                            );
                        }
                    }
                }
            }
        }
        assert!(problems > 20, "{problems}");
        for (_, response) in doc["components"]["responses"].as_object().unwrap() {
            assert!(response["content"]["application/problem+json"].is_object());
        }
    }

    #[test]
    fn admin_operations_named_a_security_scheme_the_document_lacked() {
        let doc = openapi();
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let security = operation["security"].as_array().unwrap();
                for requirement in security {
                    for name in requirement.as_object().unwrap().keys() {
                        assert!(schemes.contains_key(name), "{method} {path}: {name}");
                    }
                }
                if path.starts_with("/v1/admin") {
                    assert_eq!(
                        operation["security"],
                        json!([{"admin": []}]),
                        "{method} {path}"
                    );
                }
            }
        }
        assert_eq!(schemes["admin"]["scheme"], "bearer");
        assert_eq!(schemes["signature"]["name"], "Signature");
    }

    #[test]
    fn statuses_the_node_answers_were_missing() {
        let doc = openapi();
        let get = |path: &str, method: &str| doc["paths"][path][method]["responses"].clone();
        let public = get("/v1/orgs/{did}/records", "get");
        for status in ["200", "400", "401", "404", "408", "413", "429", "503"] {
            assert!(public.get(status).is_some(), "records {status}");
        }
        let admin = get("/v1/admin/publish", "post");
        for status in ["200", "400", "401", "408", "413", "503"] {
            assert!(admin.get(status).is_some(), "publish {status}");
        }
        assert!(admin.get("429").is_none(), "the admin is not rate limited");
        assert!(get("/healthz", "get").get("503").is_none());
    }

    #[test]
    fn parameters_stated_no_constraints() {
        let settings = Settings {
            max_page: 250,
            ..Settings::default()
        };
        let doc = document(&settings, &["component-supplier"]);
        let parameters = |path: &str| {
            let list = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .clone();
            move |name: &str| list.iter().find(|p| p["name"] == name).unwrap()["schema"].clone()
        };
        let records = parameters("/v1/orgs/{did}/records");
        assert_eq!(records("did")["$ref"], "#/components/schemas/Did");
        assert_eq!(records("limit")["minimum"], 1);
        assert_eq!(records("limit")["maximum"], 250);
        assert_eq!(records("cursor")["$ref"], "#/components/schemas/Cursor");
        assert!(
            records("kind")["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("audit"))
        );
        let verification = parameters("/v1/orgs/{did}/verification");
        assert_eq!(
            verification("profile")["enum"],
            json!(["component-supplier"])
        );
        let record = parameters("/v1/records/{id}");
        assert_eq!(record("id")["$ref"], "#/components/schemas/RecordId");
        let pattern = regex_lite(&doc["components"]["schemas"]["Did"]["pattern"]);
        assert!(pattern(
            &assure_model::Keypair::from_seed([9; 32]).did().to_string()
        ));
        assert!(!pattern(
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
        ));
    }

    /// The DID pattern, checked by hand: the prefix, then 44 base58 characters.
    fn regex_lite(pattern: &Value) -> impl Fn(&str) -> bool {
        assert_eq!(pattern, DID_PATTERN);
        |s: &str| {
            const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
            s.strip_prefix("did:key:z6Mk").is_some_and(|rest| {
                rest.len() == 44
                    && ('e'..='w').contains(&rest.chars().next().unwrap_or('0'))
                    && rest.chars().all(|c| B58.contains(c))
            })
        }
    }

    #[test]
    fn envelopes_had_no_shape() {
        let doc = openapi();
        let schemas = &doc["components"]["schemas"];
        let envelope = json!({"$ref": "#/components/schemas/Envelope"});
        assert_eq!(
            schemas["PublishRequest"]["properties"]["envelopes"]["items"],
            envelope
        );
        assert_eq!(schemas["RecordItem"]["properties"]["envelope"], envelope);
        assert_eq!(schemas["RecordDetail"]["properties"]["envelope"], envelope);
        let keypair = assure_model::Keypair::from_seed([4; 32]);
        let signed = assure_model::Draft::from_json(br#"{"kind":"scope","processes":["x"]}"#)
            .and_then(|d| {
                d.sign(
                    &keypair,
                    jiff::Timestamp::now(),
                    assure_model::Catalog::builtin(),
                )
            })
            .unwrap();
        let stored: Value = serde_json::from_slice(&signed.0).unwrap();
        let shape = &schemas["Envelope"];
        let fields: Vec<&String> = stored.as_object().unwrap().keys().collect();
        let mut required: Vec<&str> = shape["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        required.sort_unstable();
        assert_eq!(fields, required);
        assert_eq!(
            stored["payloadType"],
            shape["properties"]["payloadType"]["const"]
        );
    }

    #[test]
    fn request_bodies_had_no_example_a_node_accepts() {
        let doc = openapi();
        let body = |path: &str, method: &str| {
            doc["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]
                .clone()
        };
        let publish = body("/v1/admin/publish", "post");
        assert_eq!(publish["drafts"][0]["kind"], "scope");
        let draft = serde_json::to_vec(&publish["drafts"][0]).unwrap();
        let keypair = assure_model::Keypair::from_seed([3; 32]);
        assure_model::Draft::from_json(&draft)
            .and_then(|d| {
                d.sign(
                    &keypair,
                    jiff::Timestamp::now(),
                    assure_model::Catalog::builtin(),
                )
            })
            .expect("the publish example signs");
        let grant: crate::GrantTerms =
            serde_json::from_value(body("/v1/admin/grants/{did}", "put")).unwrap();
        assert!(grant.unknown_party);
        let profile = doc["paths"]["/v1/admin/verify/{did}"]["post"]["requestBody"]["content"]
            ["application/toml"]["example"]
            .as_str()
            .unwrap();
        assure_verify::Profile::parse(profile, assure_model::Catalog::builtin()).unwrap();
        let cursor = doc["components"]["schemas"]["Cursor"]["example"]
            .as_str()
            .unwrap();
        crate::routes::decode_cursor(cursor).unwrap();
    }
}
