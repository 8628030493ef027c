//! One module per group of commands; each opens what it needs and nothing more.

mod compartments;
mod grant;
mod init;
mod logs;
mod new;
mod publish;
mod records;
mod remote;
mod run;
mod sent;
mod verify;

use anyhow::Result;
use assure_node::publish::Placement;

use crate::cli::{Cli, Command};
use crate::datadir::DataDir;

/// A failure caused by damaged data rather than by the user's input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct IntegrityFailure(pub(crate) String);

pub(crate) fn run(cli: Cli) -> Result<()> {
    let dir = DataDir::new(&cli.data);
    // With a node running on the directory, commands go through its API
    // (`api-request` names its node itself; `new` only reads the key).
    if !matches!(
        cli.command,
        Command::ApiRequest { .. } | Command::New { .. }
    ) && let Some(url) = remote::running(&dir)
    {
        return remote::run(&dir, &url, cli.command);
    }
    match cli.command {
        Command::Init { name, demo_seed } => init::init(&dir, &name, demo_seed),
        Command::Id => init::id(&dir),
        Command::Demo { seed, once } => run::demo(seed, once),
        Command::Run { config } => run::run(&config),
        Command::DashboardLink { .. } => anyhow::bail!(
            "no node is running on {}: a sign-in link is for a running node; start it with \
             `assure run`, or sign in at /login with the admin token",
            dir.path().display()
        ),
        Command::Alerts { output } => records::alerts(&dir, output),
        Command::Disclosures { limit, output } => records::disclosures(&dir, limit, output),
        Command::Publish {
            files,
            compartment,
            envelope,
            share,
            output,
        } => {
            let placement = Placement {
                compartment,
                share_wider: share.share_wider,
            };
            publish::publish(&dir, &files, &placement, envelope, output)
        }
        Command::New { kind, control, out } => {
            new::new(&dir, &kind, control.as_deref(), out.as_deref())
        }
        Command::Records {
            kind,
            compartment,
            subject,
            limit,
            output,
        } => records::list(&dir, kind, compartment, subject, limit, output),
        Command::Show { id, output } => records::show(&dir, &id, output),
        Command::Compartments { output } => compartments::list(&dir, output),
        Command::Compartment(crate::cli::CompartmentCommand::Add(add)) => {
            compartments::add(&dir, add)
        }
        Command::Grant(command) => grant::run(&dir, command),
        Command::Log(crate::cli::LogCommand::Verify { output }) => logs::verify(&dir, output),
        Command::Export { compartment, out } => logs::export(&dir, &compartment, &out),
        Command::Backup {
            file,
            no_key,
            passphrase_file,
        } => logs::backup(&dir, &file, no_key, passphrase_file.as_deref()),
        Command::Restore {
            file,
            passphrase_file,
        } => logs::restore(&dir, &file, passphrase_file.as_deref()),
        Command::Catalog { domain, output } => records::catalog(domain, output),
        Command::ApiRequest {
            log: true, output, ..
        } => sent::print(&dir, output),
        Command::ApiRequest {
            method: Some(method),
            path: Some(path),
            url,
            body,
            purpose,
            admin,
            ..
        } => remote::api_request(&dir, &method, &path, url, body, purpose, admin),
        Command::ApiRequest { .. } => anyhow::bail!("give METHOD and PATH, or --log"),
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
            let how = verify::How {
                config,
                anchors,
                publish: publish.map(|compartment| Placement {
                    compartment: Some(compartment),
                    share_wider,
                }),
                output,
            };
            match (provider, profile, all) {
                (_, _, true) => verify::all(&dir, tiers, &how),
                (Some(provider), Some(profile), false) => {
                    verify::one(&dir, &provider, &profile, &how)
                }
                _ => anyhow::bail!("give a provider DID and --profile, or --all"),
            }
        }
        Command::Cosign {
            envelope,
            compartment,
            out,
            share,
        } => {
            let placement = Placement {
                compartment,
                share_wider: share.share_wider,
            };
            verify::cosign(&dir, &envelope, &placement, out.as_deref())
        }
        Command::Bundle(crate::cli::BundleCommand::Export {
            provider,
            profile,
            out,
            config,
            anchors,
        }) => verify::bundle_export(&dir, &provider, &profile, &out, config, anchors),
        Command::Bundle(crate::cli::BundleCommand::Verify { file, output }) => {
            verify::bundle_verify(&file, output)
        }
    }
}

/// Whether a failure means damaged data (exit code 2).
pub(crate) fn is_integrity_failure(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<IntegrityFailure>().is_some()
            || cause
                .downcast_ref::<assure_store::Error>()
                .is_some_and(assure_store::Error::is_integrity)
    })
}

/// The current time, for signing and validity checks.
pub(crate) fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}
