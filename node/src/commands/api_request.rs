//! `assure api-request`: a request to a node's HTTP API, signed with this
//! organization's key (RFC 9421) or with our own node's admin token, and
//! recorded in `requests.jsonl`.

use anyhow::{Context as _, Result, bail};
use assure_api::client::{Answer, Auth, Client};
use serde_json::Value;

use super::{now, sent};
use crate::cli::ApiRequest;
use crate::datadir::DataDir;
use crate::output::Table;

pub(super) fn run(dir: &DataDir, request: ApiRequest) -> Result<()> {
    let ApiRequest {
        method,
        path,
        url,
        body,
        purpose,
        admin,
        log,
        decode,
        output,
    } = request;
    if log {
        return sent::print(dir, output);
    }
    let (Some(method), Some(path)) = (method, path) else {
        bail!("give METHOD and PATH, or --log");
    };
    let method = method.to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "HEAD" | "POST" | "PUT" | "DELETE") {
        bail!("METHOD `{method}`: give GET, POST, PUT or DELETE");
    }
    if !path.starts_with('/') {
        bail!("PATH `{path}` must start with `/`, e.g. `/v1/orgs`");
    }
    if let Some(bad) = path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        bail!(
            "PATH `{path}` contains {bad:?}, which a URL cannot hold: organizations are named by \
             their DID (`did:key:z6Mk…`), not by their name; percent-encode anything else"
        );
    }
    let url = match url {
        Some(url) => base_url(&url)?,
        None => own_node(dir, &path, admin)?,
    };
    let body = match body {
        Some(file) => assure_node::files::read_limited(&file, 64 << 20, "body")?,
        None => Vec::new(),
    };
    let keypair;
    let token;
    let auth = if admin {
        token = std::fs::read_to_string(dir.path().join(assure_node::datadir::TOKEN_FILE))
            .context("reading the admin token of --data (--admin is for our own node)")?;
        Auth::Bearer(token.trim())
    } else {
        keypair = dir.keypair()?;
        Auth::Sign(&keypair)
    };
    // Our own record of the request: opened first, so that a request we
    // could not record is not sent.
    let mut log = sent::Log::open(dir)?;
    let mut record = sent::Sent {
        at: now().to_string(),
        url: url.clone(),
        method: method.clone(),
        path: path.clone(),
        purpose: purpose.clone(),
        auth: if admin { "admin" } else { "signed" }.to_owned(),
        status: None,
        bytes: 0,
        error: None,
    };
    let answer = match call(&url, &method, &path, body, auth, purpose.as_deref()) {
        Ok(answer) => answer,
        Err(error) => {
            record.error = Some(format!("{error:#}"));
            log.append(&record)?;
            return Err(error);
        }
    };
    record.status = Some(answer.status.as_u16());
    record.bytes = answer.body.len() as u64;
    log.append(&record)?;
    let value = serde_json::from_slice::<Value>(&answer.body).ok();
    match (&value, decode && answer.status.is_success()) {
        (Some(value), true) => statements(value),
        (Some(value), false) => println!("{}", serde_json::to_string_pretty(value)?),
        (None, _) => println!("{}", String::from_utf8_lossy(&answer.body).trim_end()),
    }
    if !answer.status.is_success() {
        let detail = value
            .as_ref()
            .and_then(|v| v["detail"].as_str())
            .unwrap_or("no detail");
        bail!("{method} {path}: {} ({detail})", answer.status);
    }
    Ok(())
}

/// `https://host:port`, `http://host:port` or `host:port` (plain HTTP), as
/// the base of a request.
pub(super) fn base_url(given: &str) -> Result<String> {
    let url = match given.split_once("://") {
        Some(("http" | "https", _)) => given.to_owned(),
        Some((scheme, _)) => {
            bail!("--url `{given}`: the scheme must be http or https, not {scheme}")
        }
        None => format!("http://{given}"),
    };
    let authority = url
        .split_once("://")
        .map_or("", |(_, rest)| rest)
        .trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', ' ']) {
        bail!(
            "--url `{given}` is not a node's address: give host:port or http(s)://host:port, \
             and the path as PATH"
        );
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Our own node's API, for a request about ourselves or with --admin: a
/// question about another organization belongs to that organization's node.
fn own_node(dir: &DataDir, path: &str, admin: bool) -> Result<String> {
    let url = assure_node::api::running(dir.path()).with_context(|| {
        format!(
            "give --url: no node with an API is running on {}, and api-request needs the \
             address of the node to ask (host:port or http(s)://host:port)",
            dir.path().display()
        )
    })?;
    if !admin {
        let us = dir.keypair()?.did().to_string();
        let decoded = percent_decoded(path);
        let others = decoded
            .split(['/', '?', '&', '='])
            .filter(|part| part.starts_with("did:") && *part != us)
            .count();
        if others > 0 {
            bail!(
                "PATH names another organization, and without --url the request would go to \
                 our own node ({url}), which answers only with what it holds: give --url with \
                 the address of that organization's node"
            );
        }
    }
    Ok(url)
}

/// `path` with its percent-escapes decoded (bytes that do not decode are
/// kept), to see which organizations it names however it is written.
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn call(
    url: &str,
    method: &str,
    path: &str,
    body: Vec<u8>,
    auth: Auth<'_>,
    purpose: Option<&str>,
) -> Result<Answer> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::new(url);
    Ok(runtime.block_on(client.send(method, path, body, auth, purpose))?)
}

/// Every envelope in the answer, decoded and checked, as a table of
/// statements; anything else as JSON.
fn statements(value: &Value) {
    let mut found = Vec::new();
    collect_envelopes(value, &mut found);
    if found.is_empty() {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    let mut table = Table::new(&["RECORD", "KIND", "SUBJECT", "ISSUED", "SIGNED", "STATEMENT"]);
    for envelope in found {
        let bytes = envelope.to_string().into_bytes();
        match assure_model::validate(&bytes, now()) {
            Ok(record) => {
                let mut body = statement_of(envelope)["predicate"].take();
                if let Value::Object(map) = &mut body {
                    for common in ["kind", "issuer", "issuedAt"] {
                        map.remove(common);
                    }
                }
                table.row(vec![
                    record.id.fmt_short(),
                    record.kind().to_string(),
                    record.subject.did.fmt_short(),
                    record.predicate.common.issued_at.to_string(),
                    format!("ok, {} signer(s)", record.signers.len()),
                    summary(&body),
                ]);
            }
            Err(error) => table.row(vec![
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("INVALID: {error}"),
                String::new(),
            ]),
        }
    }
    table.print();
}

fn collect_envelopes<'v>(value: &'v Value, found: &mut Vec<&'v Value>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("payload") && map.contains_key("signatures") {
                found.push(value);
                return;
            }
            map.values().for_each(|v| collect_envelopes(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_envelopes(v, found)),
        _ => {}
    }
}

/// A statement's fields in one line: `field=value; …`, long values cut.
fn summary(body: &Value) -> String {
    let Value::Object(map) = body else {
        return body.to_string();
    };
    let fields: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let cut: String = text.chars().take(60).collect();
            let ellipsis = if cut.len() < text.len() { "…" } else { "" };
            format!("{k}={cut}{ellipsis}")
        })
        .collect();
    fields.join("; ")
}

/// The in-toto statement an envelope carries.
fn statement_of(envelope: &Value) -> Value {
    use base64::Engine as _;
    envelope["payload"]
        .as_str()
        .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}
