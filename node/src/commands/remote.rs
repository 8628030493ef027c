//! Commands through a node's HTTP API: `assure api-request`, and the other
//! commands while a node runs on the data directory (it holds the store).

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use assure_api::CompartmentInfo;
use assure_api::client::{Answer, Auth, Client};
use assure_node::publish::{Input, read_files};
use serde_json::Value;

use super::{now, sent};
use crate::cli::{Command, CompartmentCommand, GrantCommand, Output};
use crate::datadir::DataDir;
use crate::output::{Table, json};

/// The API of a node running on `dir`: it wrote its address and holds the
/// store's lock.
pub(super) fn running(dir: &DataDir) -> Option<String> {
    let url = assure_node::api::running(dir.path())?;
    assure_store::is_locked(dir.path()).then_some(url)
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

/// Calls the admin API of the node running on `dir`; an error status
/// becomes an error with the problem's detail.
fn admin(dir: &DataDir, url: &str, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    admin_raw(dir, url, method, path, body)
}

/// Like [`admin`], with the status of the answer.
fn admin_status(
    dir: &DataDir,
    url: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    admin_send(dir, url, method, path, body)
}

/// Sends `body` to an admin route with the token of `dir`.
fn admin_raw(dir: &DataDir, url: &str, method: &str, path: &str, body: Vec<u8>) -> Result<Value> {
    Ok(admin_send(dir, url, method, path, body)?.1)
}

fn admin_send(
    dir: &DataDir,
    url: &str,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<(u16, Value)> {
    let token = std::fs::read_to_string(dir.path().join(assure_node::datadir::TOKEN_FILE))
        .context("reading the admin token")?;
    let answer = call(url, method, path, body, Auth::Bearer(token.trim()), None)?;
    let value: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if !answer.status.is_success() {
        let detail = value["detail"].as_str().unwrap_or("no detail");
        bail!("the running node refused: {} ({detail})", answer.status);
    }
    Ok((answer.status.as_u16(), value))
}

pub(super) fn run(dir: &DataDir, url: &str, command: Command) -> Result<()> {
    match command {
        Command::Id => super::init::id(dir),
        Command::Catalog { domain, output } => super::records::catalog(domain, output),
        Command::Publish {
            files,
            compartment,
            envelope,
            share,
            undeliverable,
            dry_run,
            output,
        } => {
            if dry_run {
                bail!(
                    "a dry run reads the store, which the running node holds: stop it and \
                     run `assure publish --dry-run` again"
                );
            }
            // Drafts are signed here, with the key; the node validates and
            // appends them as envelopes and notifies its readers.
            let keypair = dir.keypair()?;
            let input = if envelope {
                Input::Envelopes
            } else {
                Input::Drafts
            };
            let signed = read_files(&files, input, &keypair, now())?;
            let envelopes: Vec<Value> = signed
                .iter()
                .map(|(bytes, _)| serde_json::from_slice(bytes))
                .collect::<Result<_, _>>()?;
            let body = serde_json::json!({
                "compartment": compartment,
                "shareWider": share.share_wider,
                "undeliverable": undeliverable,
                "envelopes": envelopes,
            });
            let published = admin(dir, url, "POST", "/v1/admin/publish", Some(body))?;
            print(&published, output, &["id", "log", "index", "status"])
        }
        Command::Records {
            kind,
            compartment,
            subject,
            limit,
            output,
        } => {
            if subject.is_some() || compartment.is_some() {
                bail!(
                    "while the node runs, filter with `assure api-request GET \
                     /v1/orgs/<did>/records?compartment=<id>`"
                );
            }
            let mut path = format!("/v1/admin/records?limit={}", limit.min(500));
            if let Some(kind) = kind {
                path += &format!("&kind={kind}");
            }
            let page = admin(dir, url, "GET", &path, None)?;
            print(
                &page["records"],
                output,
                &["id", "kind", "subject", "issuedAt", "compartment", "index"],
            )
        }
        Command::Compartments { output } => {
            let listed = admin(dir, url, "GET", "/v1/admin/compartments", None)?;
            let listed: Vec<CompartmentInfo> = serde_json::from_value(listed)?;
            super::compartments::print(&listed, output)
        }
        Command::Compartment(CompartmentCommand::Add(add)) => {
            let body = serde_json::json!({
                "label": add.label,
                "readers": add.readers,
                "roles": add.roles,
                "minClearance": add.min_clearance,
            });
            let (status, answer) =
                admin_status(dir, url, "POST", "/v1/admin/compartments", Some(body))?;
            let info: CompartmentInfo = serde_json::from_value(answer)?;
            super::compartments::print_added(&info, status == 201, add.output)
        }
        Command::Grant(GrantCommand::Add(add)) => {
            let body = serde_json::json!({
                "clearance": add.clearance,
                "roles": add.roles,
                "basis": add.basis,
                "validFrom": add.from,
                "validUntil": add.until,
                "unknownParty": add.unknown_party,
            });
            let grant = admin(
                dir,
                url,
                "PUT",
                &format!("/v1/admin/grants/{}", add.party),
                Some(body),
            )?;
            println!("granted {} version {}", add.party, grant["version"]);
            Ok(())
        }
        Command::Grant(GrantCommand::Revoke { party }) => {
            admin(
                dir,
                url,
                "DELETE",
                &format!("/v1/admin/grants/{party}"),
                None,
            )?;
            println!("revoked {party}");
            Ok(())
        }
        Command::Grant(GrantCommand::List { history, output }) => {
            if history {
                bail!("the grant history is read with the node stopped");
            }
            let grants = admin(dir, url, "GET", "/v1/admin/grants", None)?;
            print(
                &grants,
                output,
                &["party", "clearance", "roles", "basis", "version", "active"],
            )
        }
        Command::Disclosures { limit, output } => {
            let path = format!("/v1/admin/disclosures?limit={}", limit.clamp(1, 1000));
            let log = admin(dir, url, "GET", &path, None)?;
            print(
                &log,
                output,
                &[
                    "at",
                    "party",
                    "compartment",
                    "from",
                    "to",
                    "channel",
                    "purpose",
                ],
            )
        }
        Command::DashboardLink { base } => {
            let link = admin(dir, url, "POST", "/v1/admin/dashboard-link", None)?;
            let path = link["path"].as_str().context("the node sent no link")?;
            let base = base.as_deref().unwrap_or(url).trim_end_matches('/');
            println!("{base}{path}");
            eprintln!(
                "signs one browser in once, within {} s",
                link["expiresIn"].as_u64().unwrap_or_default()
            );
            Ok(())
        }
        Command::Alerts { output } => {
            let alerts = admin(dir, url, "GET", "/v1/admin/alerts", None)?;
            if output.json {
                return json(&alerts);
            }
            print(
                &alerts["alerts"],
                output,
                &["at", "kind", "origin", "detail"],
            )
        }
        Command::Verify {
            provider: Some(provider),
            profile: Some(profile),
            all: false,
            publish,
            share_wider,
            output,
            ..
        } => {
            let text = std::fs::read_to_string(&profile)
                .with_context(|| format!("cannot read profile {}", profile.display()))?;
            // Check the file here first, for errors that name it.
            assure_node::verification::load_profile(&profile)?;
            let path = format!("/v1/admin/verify/{provider}");
            let report = admin_raw(dir, url, "POST", &path, text.into_bytes())?;
            let report: assure_verify::Report = serde_json::from_value(report)?;
            if let Some(compartment) = publish {
                let keypair = dir.keypair()?;
                let (bytes, _) = assure_node::verification::attest(&keypair, &report, now())?;
                let envelope: Value = serde_json::from_slice(&bytes)?;
                let body = serde_json::json!({
                    "compartment": compartment,
                    "shareWider": share_wider,
                    "envelopes": [envelope],
                });
                admin(dir, url, "POST", "/v1/admin/publish", Some(body))?;
            }
            if output.json {
                return json(&report);
            }
            super::verify::print_report(&report);
            Ok(())
        }
        _ => bail!(
            "a node is running on {} (API {url}); stop it first, or use `assure api-request`",
            dir.path().display()
        ),
    }
}

/// Prints a JSON array as a table of `columns`, or as JSON.
fn print(value: &Value, output: Output, columns: &[&'static str]) -> Result<()> {
    if output.json {
        return json(value);
    }
    let header: Vec<&'static str> = columns.to_vec();
    let mut table = Table::new(&header);
    for item in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        table.row(
            columns
                .iter()
                .map(|c| match &item[*c] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect(),
        );
    }
    table.print();
    Ok(())
}

pub(super) fn api_request(
    dir: &DataDir,
    method: &str,
    path: &str,
    url: Option<String>,
    body: Option<PathBuf>,
    purpose: Option<String>,
    use_admin: bool,
) -> Result<()> {
    let url = url
        .or_else(|| assure_node::api::running(dir.path()))
        .context("give --url: no node is running on this data directory")?;
    let body = match body {
        Some(file) => {
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?
        }
        None => Vec::new(),
    };
    let keypair;
    let token;
    let auth = if use_admin {
        token = std::fs::read_to_string(dir.path().join(assure_node::datadir::TOKEN_FILE))
            .context("reading the admin token")?;
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
        url: url.trim_end_matches('/').to_owned(),
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        purpose: purpose.clone(),
        auth: if use_admin { "admin" } else { "signed" }.to_owned(),
        status: None,
        bytes: 0,
        error: None,
    };
    let answer = match call(&url, method, path, body, auth, purpose.as_deref()) {
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
    let text = match serde_json::from_slice::<Value>(&answer.body) {
        Ok(value) => serde_json::to_string_pretty(&value)?,
        Err(_) => String::from_utf8_lossy(&answer.body).into_owned(),
    };
    println!("{}", text.trim_end());
    if !answer.status.is_success() {
        bail!("{method} {path}: {}", answer.status);
    }
    Ok(())
}
