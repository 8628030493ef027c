//! The commands. Every operation on the node's data is one
//! [`Request`] carried out by [`assure_node::ops`]: through the running
//! node's control socket when a node holds the data directory, in this
//! process when none does. The answer is printed by [`print`] either way.
//! Only what needs no node (`init`, `restore`, `id`, `catalog`, `demo`,
//! `run`, `bundle verify`, `api-request`) runs here alone.

mod api_request;
mod init;
mod new;
mod print;
mod run;
mod sent;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_node::control;
use assure_node::ops::{GrantTerms, Ops, Reply, Request, Secret};
use assure_node::publish::Placement;

use crate::cli::{
    AlertCommand, BundleCommand, Cli, Command, CompartmentCommand, GrantCommand, LogCommand,
    RequestsCommand, WebhookCommand,
};
use crate::datadir::DataDir;

pub(crate) use assure_node::control::is_integrity_failure;
pub(crate) use print::NeedsAttention;

pub(crate) fn run(cli: Cli) -> Result<()> {
    let dir = DataDir::new(&cli.data);
    let (request, output) = match cli.command {
        Command::Init { name, demo_seed } => return init::init(&dir, &name, demo_seed),
        Command::Restore {
            file,
            passphrase_file,
            older,
        } => return init::restore(&dir, &file, passphrase_file.as_deref(), older),
        Command::New { kind, control, out } => {
            return new::new(&dir, &kind, control.as_deref(), out.as_deref());
        }
        Command::Id => return init::id(&dir),
        Command::Demo { seed, once } => return run::demo(seed, once),
        Command::Run { config } => return run::run(&config),
        Command::Catalog { domain, output } => return print::catalog(domain, output),
        Command::Bundle(BundleCommand::Verify { file, output }) => {
            return print::bundle_verify(&file, output);
        }
        Command::ApiRequest(request) => return api_request::run(&dir, request),
        Command::DashboardLink { base } => {
            let reply = match control::call(dir.path(), &Request::DashboardLink)? {
                Some(reply) => reply,
                None => bail!(
                    "no node is running on {}: a sign-in link is for a running node; start it \
                     with `assure run`, or sign in at /login with the admin token",
                    dir.path().display()
                ),
            };
            return print::dashboard_link(&reply, base.as_deref());
        }
        Command::Status { output } => (Request::Status, output),
        Command::Alerts {
            kind,
            unacknowledged,
            acknowledged,
            org,
            output,
        } => (
            Request::Alerts {
                filter: assure_api::AlertFilter {
                    kind,
                    acknowledged: match (acknowledged, unacknowledged) {
                        (true, _) => Some(true),
                        (_, true) => Some(false),
                        _ => None,
                    },
                    org,
                },
            },
            output,
        ),
        Command::Alert(AlertCommand::Ack { id, output }) => {
            (Request::AlertAck { id, by: cli_user() }, output)
        }
        Command::Webhook(WebhookCommand::Add { url, output }) => (
            Request::WebhookAdd {
                url,
                by: cli_user(),
            },
            output,
        ),
        Command::Webhook(WebhookCommand::List { limit, output }) => {
            (Request::Webhooks { limit }, output)
        }
        Command::Webhook(WebhookCommand::Remove { url, output }) => {
            (Request::WebhookRemove { url }, output)
        }
        Command::Disclosures {
            limit,
            since,
            until,
            csv,
            output,
        } => (
            Request::Disclosures {
                limit,
                since,
                until,
                csv,
            },
            output,
        ),
        Command::Report {
            provider,
            all: _,
            profile,
            format,
            out,
            config,
            anchors,
        } => (
            Request::Report {
                provider,
                profile: profile.as_deref().map(absolute_one).transpose()?,
                config: config.as_deref().map(absolute_one).transpose()?,
                anchors,
                format: format.parse().map_err(|e: String| anyhow::anyhow!(e))?,
                out: absolute_one(&out)?,
            },
            crate::cli::Output::default(),
        ),
        Command::Publish {
            files,
            compartment,
            envelope,
            share,
            undeliverable,
            dry_run,
            output,
        } => (
            Request::Publish {
                files: absolute(files)?,
                envelope,
                placement: Placement {
                    compartment,
                    share_wider: share.share_wider,
                    undeliverable,
                },
                dry_run,
            },
            output,
        ),
        Command::Records {
            kind,
            compartment,
            subject,
            limit,
            output,
        } => (
            Request::Records {
                kind,
                compartment,
                subject,
                limit,
            },
            output,
        ),
        Command::Show { id, output } => (Request::Show { id }, output),
        Command::Compartments { output } => (Request::Compartments, output),
        Command::Compartment(CompartmentCommand::Add(add)) => (
            Request::CompartmentAdd {
                label: add.label,
                readers: add.readers,
                roles: add.roles,
                min_clearance: add.min_clearance,
            },
            add.output,
        ),
        Command::Grant(GrantCommand::Add(add)) => (
            Request::GrantAdd {
                party: add.party,
                terms: GrantTerms {
                    clearance: add.clearance,
                    roles: add.roles,
                    basis: add.basis,
                    valid_from: add.from,
                    valid_until: add.until,
                    unknown_party: add.unknown_party,
                },
            },
            add.output,
        ),
        Command::Grant(GrantCommand::Revoke { party, output }) => {
            (Request::GrantRevoke { party }, output)
        }
        Command::Grant(GrantCommand::List { history, output }) => {
            (Request::Grants { history }, output)
        }
        Command::Log(LogCommand::Verify { output }) => (Request::LogVerify, output),
        Command::Export { compartment, out } => (
            Request::Export {
                compartment,
                out: absolute_one(&out)?,
            },
            crate::cli::Output::default(),
        ),
        Command::Backup {
            file,
            no_key,
            passphrase_file,
        } => {
            // Asked here, where the operator is; the node only encrypts.
            let passphrase = match no_key {
                true => None,
                false => Some(Secret::new(
                    assure_node::backup::Passphrase::obtain(passphrase_file.as_deref(), true)?
                        .expose()
                        .to_owned(),
                )),
            };
            (
                Request::Backup {
                    file: absolute_one(&file)?,
                    passphrase,
                },
                crate::cli::Output::default(),
            )
        }
        Command::Verify {
            provider,
            profile,
            all,
            tiers,
            config,
            anchors,
            publish,
            share_wider,
            output,
        } => {
            let publish = publish.map(|compartment| Placement {
                compartment: Some(compartment),
                share_wider,
                ..Placement::default()
            });
            let config = config.as_deref().map(absolute_one).transpose()?;
            let request = match (provider, profile, all) {
                (_, _, true) => Request::VerifyAll {
                    tiers,
                    config,
                    anchors,
                    publish,
                },
                (Some(provider), Some(profile), false) => Request::Verify {
                    provider,
                    profile: absolute_one(&profile)?,
                    config,
                    anchors,
                    publish,
                },
                _ => bail!("give a provider DID and --profile, or --all"),
            };
            (request, output)
        }
        Command::Cosign {
            record,
            compartment,
            out,
            share,
            output,
        } => {
            // A file is read by whoever carries the request out.
            let record = match Path::new(&record).exists() {
                true => absolute_one(Path::new(&record))?.display().to_string(),
                false => record,
            };
            (
                Request::Cosign {
                    record,
                    placement: Placement {
                        compartment,
                        share_wider: share.share_wider,
                        ..Placement::default()
                    },
                    out: out.as_deref().map(absolute_one).transpose()?,
                },
                output,
            )
        }
        Command::Requests {
            action,
            all,
            sent,
            output,
        } => match action {
            None if sent => (Request::SentAccessRequests, output),
            None => (Request::AccessRequests { all }, output),
            Some(RequestsCommand::Approve { id, until, output }) => (
                Request::AccessDecide {
                    id,
                    decision: assure_api::AccessDecision::Approve { valid_until: until },
                },
                output,
            ),
            Some(RequestsCommand::Decline { id, reason, output }) => (
                Request::AccessDecide {
                    id,
                    decision: assure_api::AccessDecision::Decline { reason },
                },
                output,
            ),
            Some(RequestsCommand::Check { id, output }) => {
                (Request::CheckSentRequest { id }, output)
            }
        },
        Command::RequestAccess(ask) => (
            Request::RequestAccess {
                node: ask.node,
                url: api_request::base_url(&ask.url)?,
                ask: assure_api::AccessAsk {
                    clearance: ask.clearance,
                    role: ask.role,
                    purpose: ask.purpose,
                    basis: ask.basis,
                    legal_basis: ask.legal_basis,
                },
            },
            ask.output,
        ),
        Command::Bundle(BundleCommand::Export {
            provider,
            profile,
            out,
            config,
            anchors,
        }) => (
            Request::BundleExport {
                provider,
                profile: absolute_one(&profile)?,
                out: absolute_one(&out)?,
                config: config.as_deref().map(absolute_one).transpose()?,
                anchors,
            },
            crate::cli::Output::default(),
        ),
    };
    let reply = execute(&dir, request)?;
    print::reply(&reply, output)
}

/// Carries out `request`: in the node running on `dir` when there is one,
/// else here.
pub(crate) fn execute(dir: &DataDir, request: Request) -> Result<Reply> {
    // Another command may hold the store for a moment: wait for it, or for
    // a node that is starting to open its socket.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        if let Some(reply) = control::call(dir.path(), &request)? {
            return Ok(reply);
        }
        let opened = match request {
            Request::LogVerify => Ops::offline_report(dir).map(|(ops, _)| ops),
            _ => Ops::offline(dir),
        };
        match opened {
            Ok(ops) => {
                for replica in ops.store().quarantined() {
                    eprintln!("warning: {replica}");
                }
                return tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(ops.run(request));
            }
            Err(error) if is_locked(&error) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(error) if is_locked(&error) => bail!(
                "a node already running on this data directory, or another command, holds the \
                 store in {}, and no node answers on its control socket ({}): wait for that \
                 command to finish, or check the node's log",
                dir.path().display(),
                control::socket_path(dir.path()).display()
            ),
            Err(error) => return Err(error),
        }
    }
}

/// How long a command waits for another to let go of the store.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn is_locked(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|c| matches!(c.downcast_ref(), Some(assure_store::Error::Locked(_))))
}

fn absolute_one(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

fn absolute(paths: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    paths.iter().map(|p| absolute_one(p)).collect()
}

/// The current time, for signing and validity checks.
pub(crate) fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Who runs this command, for acknowledgements: `cli:` and the user name.
fn cli_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown user".to_owned());
    format!("cli:{user}")
}
