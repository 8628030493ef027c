//! Every operation on a node's data, implemented once.
//!
//! A command is a [`Request`]; its answer is a [`Reply`]. [`Ops::run`]
//! carries it out over the store and the pure crates, in one of two places:
//!
//! - in the CLI's own process, when no node holds the data directory
//!   ([`Ops::offline`]); records published then reach readers when the node
//!   next runs and syncs;
//! - in the running node, which the CLI reaches through the control socket
//!   in the data directory ([`crate::control`]); the node then also tells
//!   connected readers at once.
//!
//! Both run this code and answer with the same `Reply`, which the CLI prints
//! with one printer: a command answers alike whether or not the node runs.
//! The admin API calls the same methods (through [`assure_api::Control`]).

mod access;
mod alerts;
mod grants;
mod logs;
mod publish;
mod records;
mod report;
mod status;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use assure_api::{CompartmentInfo, Placement, SignInLinks};
use assure_model::{Did, Keypair};
use assure_net::Client;
use assure_store::{LogId, Store};
use serde::{Deserialize, Serialize};

use crate::NodeConfig;
use crate::datadir::DataDir;

pub(crate) use access::follow;
pub use access::{MAX_PENDING, MAX_PENDING_PER_PARTY, MAX_PER_HOUR, SentRow};
pub use alerts::{EXPIRING_CERTIFICATIONS, EXPIRING_GRANTS};
pub use grants::{GrantChangeRow, GrantRow, GrantTerms};
pub use logs::{Backup, Exported, LogRow};
pub use publish::{Cosigned, Published, PublishedRecord};
pub use records::{DisclosureRow, RecordRow, Shown};
pub use report::ReportWritten;

/// The alerts that passed a filter, and the evidence of equivocation.
pub type Alerts = assure_api::AlertList;
/// One alert, stored or computed, with its acknowledgement.
pub type AlertRow = assure_api::AlertView;
pub use status::{Behind, LogHeld, PeerRow, Status};
pub use verify::{BundleWritten, Checked, VerdictRow};

/// One operation and its arguments. Paths are absolute: the node that
/// carries it out may run in another working directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Sign drafts (or validate envelopes) and append them.
    Publish {
        files: Vec<PathBuf>,
        envelope: bool,
        placement: Placement,
        dry_run: bool,
    },
    /// Records, newest first.
    Records {
        kind: Option<String>,
        compartment: Option<String>,
        subject: Option<String>,
        limit: usize,
    },
    /// One record with its places.
    Show { id: String },
    /// Our compartments.
    Compartments,
    /// Find or make the compartment of exactly some readers.
    CompartmentAdd {
        label: String,
        readers: Vec<String>,
        roles: Vec<String>,
        min_clearance: String,
    },
    /// Grant a party access, replacing its grant.
    GrantAdd { party: String, terms: GrantTerms },
    /// Revoke a party's grant now.
    GrantRevoke { party: String },
    /// The current grants, or with `history` every change.
    Grants { history: bool },
    /// The disclosure log, oldest first, from `since` to `until`; as CSV
    /// with `csv`.
    Disclosures {
        limit: usize,
        #[serde(default)]
        since: Option<String>,
        #[serde(default)]
        until: Option<String>,
        #[serde(default)]
        csv: bool,
    },
    /// A verification report (one provider, or every provider) to a new
    /// file in `format`.
    Report {
        provider: Option<String>,
        profile: Option<PathBuf>,
        config: Option<PathBuf>,
        anchors: Vec<String>,
        format: crate::report::Format,
        out: PathBuf,
    },
    /// Alerts that pass the filter, and the evidence behind them.
    Alerts {
        #[serde(default)]
        filter: assure_api::AlertFilter,
    },
    /// Verify one provider against a profile.
    Verify {
        provider: String,
        profile: PathBuf,
        config: Option<PathBuf>,
        anchors: Vec<String>,
        publish: Option<Placement>,
    },
    /// Verify every provider of our confirmed relationships.
    VerifyAll {
        tiers: u32,
        config: Option<PathBuf>,
        anchors: Vec<String>,
        publish: Option<Placement>,
    },
    /// Co-sign a record we hold as a replica (by id), or an envelope file.
    Cosign {
        record: String,
        placement: Placement,
        out: Option<PathBuf>,
    },
    /// A verification with its evidence, written to a new file.
    BundleExport {
        provider: String,
        profile: PathBuf,
        out: PathBuf,
        config: Option<PathBuf>,
        anchors: Vec<String>,
    },
    /// A compartment's checkpoint and entries, to a new directory.
    Export { compartment: String, out: PathBuf },
    /// A self-verifying backup, to a new file, with the key encrypted
    /// under `passphrase` (none: without the key).
    Backup {
        file: PathBuf,
        passphrase: Option<Secret>,
    },
    /// Every log recomputed against its signed checkpoint.
    LogVerify,
    /// Whether the node runs and what needs attention.
    Status,
    /// A one-time dashboard sign-in link (running node with its API only).
    DashboardLink,
    /// The access requests sent to us: pending ones, or with `all` every one.
    AccessRequests { all: bool },
    /// Approve or decline an access request sent to us.
    AccessDecide {
        id: String,
        decision: assure_api::AccessDecision,
    },
    /// Send a signed access request to another organization's node.
    RequestAccess {
        node: String,
        url: String,
        ask: assure_api::AccessAsk,
    },
    /// The access requests we sent, with their outcomes.
    SentAccessRequests,
    /// Follow up the access request `id` we sent, now, once.
    CheckSentRequest { id: String },
    /// Acknowledge an alert, as `by`.
    AlertAck { id: String, by: String },
    /// Register a webhook, as `by`.
    WebhookAdd { url: String, by: String },
    /// The webhooks and the newest delivery attempts.
    Webhooks { limit: usize },
    /// Remove a webhook.
    WebhookRemove { url: String },
}

/// The answer to a [`Request`], the same from either place.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "kebab-case")]
pub enum Reply {
    Published(Published),
    /// What a publish would do, each with the file it came from.
    Preview(Vec<(crate::publish::Preview, PathBuf)>),
    Records(Vec<RecordRow>),
    Shown(Box<Shown>),
    Compartments(Vec<CompartmentInfo>),
    CompartmentAdded {
        info: CompartmentInfo,
        made: bool,
    },
    Grants(Vec<GrantRow>),
    GrantHistory(Vec<GrantChangeRow>),
    Disclosures(Vec<DisclosureRow>),
    Alerts(Alerts),
    Checked(Box<Checked>),
    Verdicts(Vec<VerdictRow>),
    Cosigned(Cosigned),
    BundleWritten(BundleWritten),
    Exported(Exported),
    BackedUp(Backup),
    LogVerified(Vec<LogRow>),
    Status(Box<Status>),
    DashboardLink {
        url: String,
        expires_in: u64,
    },
    /// A report written.
    ReportWritten(ReportWritten),
    /// A table as CSV, to print as it is.
    Csv(String),
    AccessRequests(Vec<assure_api::AccessRequestView>),
    SentAccessRequests(Vec<SentRow>),
    AlertAcked(Box<AlertRow>),
    Webhooks {
        webhooks: Vec<assure_store::Webhook>,
        /// The newest delivery attempts, newest first.
        deliveries: Vec<assure_store::Attempt>,
    },
    WebhookAdded(assure_store::Webhook),
    WebhookRemoved(assure_store::Webhook),
}

/// A secret carried by a request (a backup passphrase): never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: String) -> Self {
        Self(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A failure caused by damaged data rather than by the caller's input
/// (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IntegrityFailure(pub String);

/// A request named something that is not there (the API answers 404).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

/// What the operations act on.
#[derive(Clone, Debug)]
pub struct Ops {
    store: Store,
    keypair: Arc<Keypair>,
    /// The running node's network, to tell peers of changes at once.
    network: Option<Client>,
    /// The running node's configuration (trust anchors, profiles).
    config: Option<Arc<NodeConfig>>,
    /// The running node's API: its address and sign-in links.
    api: Option<(String, SignInLinks, u64)>,
    /// Logs left out at open because they do not match their checkpoints.
    damaged: Arc<Vec<(LogId, String)>>,
}

impl Ops {
    /// Operations in this process over the data directory `dir`: fails if a
    /// node (or another command) holds its store.
    pub fn offline(dir: &DataDir) -> Result<Self> {
        let (ops, damaged) = Self::offline_report(dir)?;
        match damaged.first() {
            Some((_, error)) => Err(IntegrityFailure(error.to_string()).into()),
            None => Ok(ops),
        }
    }

    /// Like [`Ops::offline`], but a log that does not match its checkpoint
    /// is left out and reported rather than refused, so that `assure log
    /// verify` can name every damaged compartment.
    pub fn offline_report(dir: &DataDir) -> Result<(Self, Vec<(LogId, String)>)> {
        let keypair = Arc::new(dir.keypair()?);
        dir.make_private()?;
        let (store, damaged) = Store::open_report(dir.path())?;
        let damaged: Vec<(LogId, String)> = damaged
            .into_iter()
            .map(|(l, e)| (l, e.to_string()))
            .collect();
        let owner = store
            .owner()?
            .context("this data directory has no store owner; run `assure init`")?;
        if owner != keypair.did() {
            return Err(IntegrityFailure(format!(
                "the key {} ({}) is not the store's owner ({owner}): the key file is damaged or \
                 another organization's; restore it with `assure restore FILE` from the node's \
                 backup",
                dir.key_path().display(),
                keypair.did()
            ))
            .into());
        }
        let ops = Self {
            store,
            keypair,
            network: None,
            config: None,
            api: None,
            damaged: Arc::new(damaged.clone()),
        };
        Ok((ops, damaged))
    }

    /// Operations inside a running node.
    pub(crate) fn running(
        store: Store,
        keypair: Arc<Keypair>,
        network: Client,
        config: Arc<NodeConfig>,
    ) -> Self {
        Self {
            store,
            keypair,
            network: Some(network),
            config: Some(config),
            api: None,
            damaged: Arc::default(),
        }
    }

    /// The running node's API, for status and sign-in links.
    pub(crate) fn with_api(mut self, url: String, links: SignInLinks, expires_in: u64) -> Self {
        self.api = Some((url, links, expires_in));
        self
    }

    /// This organization.
    pub fn did(&self) -> Did {
        self.keypair.did()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The organization's key.
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The running node's network client.
    pub fn network(&self) -> Option<&Client> {
        self.network.as_ref()
    }

    /// Carries out one request.
    pub async fn run(&self, request: Request) -> Result<Reply> {
        Ok(match request {
            Request::Publish {
                files,
                envelope,
                placement,
                dry_run,
            } => {
                self.publish_files(files, envelope, placement, dry_run)
                    .await?
            }
            Request::Records {
                kind,
                compartment,
                subject,
                limit,
            } => Reply::Records(
                self.blocking(move |ops| ops.records(kind, compartment, subject, limit))
                    .await?,
            ),
            Request::Show { id } => {
                Reply::Shown(Box::new(self.blocking(move |ops| ops.show(&id)).await?))
            }
            Request::Compartments => {
                Reply::Compartments(self.blocking(|ops| ops.compartments()).await?)
            }
            Request::CompartmentAdd {
                label,
                readers,
                roles,
                min_clearance,
            } => {
                let new = compartment_request(label, &readers, &roles, &min_clearance)?;
                let (info, made) = self.add_compartment(new).await?;
                Reply::CompartmentAdded { info, made }
            }
            Request::GrantAdd { party, terms } => {
                let party = parse_did("the party", &party)?;
                Reply::Grants(vec![GrantRow::named(
                    &self.grant(party, terms).await?,
                    &self.names()?,
                )])
            }
            Request::GrantRevoke { party } => {
                let party = parse_did("the party", &party)?;
                Reply::Grants(vec![GrantRow::named(
                    &self.revoke(party).await?,
                    &self.names()?,
                )])
            }
            Request::Grants { history: false } => {
                Reply::Grants(self.blocking(|ops| ops.grants()).await?)
            }
            Request::Grants { history: true } => {
                Reply::GrantHistory(self.blocking(|ops| ops.grant_history()).await?)
            }
            Request::Disclosures {
                limit,
                since,
                until,
                csv: false,
            } => Reply::Disclosures(
                self.blocking(move |ops| {
                    ops.disclosures_between(limit, since.as_deref(), until.as_deref())
                })
                .await?,
            ),
            Request::Disclosures {
                since,
                until,
                csv: true,
                ..
            } => Reply::Csv(
                self.blocking(move |ops| ops.disclosures_csv(since.as_deref(), until.as_deref()))
                    .await?,
            ),
            Request::Report {
                provider,
                profile,
                config,
                anchors,
                format,
                out,
            } => Reply::ReportWritten(
                self.report_to(provider, profile, config, anchors, format, out)
                    .await?,
            ),
            Request::Alerts { filter } => {
                Reply::Alerts(self.blocking(move |ops| ops.alert_list(&filter)).await?)
            }
            Request::Verify {
                provider,
                profile,
                config,
                anchors,
                publish,
            } => Reply::Checked(Box::new(
                self.verify_one(provider, profile, config, anchors, publish)
                    .await?,
            )),
            Request::VerifyAll {
                tiers,
                config,
                anchors,
                publish,
            } => Reply::Verdicts(self.verify_all(tiers, config, anchors, publish).await?),
            Request::Cosign {
                record,
                placement,
                out,
            } => Reply::Cosigned(self.cosign(record, placement, out).await?),
            Request::BundleExport {
                provider,
                profile,
                out,
                config,
                anchors,
            } => Reply::BundleWritten(
                self.blocking(move |ops| {
                    ops.bundle_export(&provider, &profile, &out, config, &anchors)
                })
                .await?,
            ),
            Request::Export { compartment, out } => Reply::Exported(
                self.blocking(move |ops| ops.export(&compartment, &out))
                    .await?,
            ),
            Request::Backup { file, passphrase } => Reply::BackedUp(
                self.blocking(move |ops| ops.backup(&file, passphrase.as_ref()))
                    .await?,
            ),
            Request::LogVerify => Reply::LogVerified(self.blocking(|ops| ops.log_verify()).await?),
            Request::Status => Reply::Status(Box::new(self.status().await?)),
            Request::DashboardLink => {
                let (_, links, expires_in) = self.api.as_ref().context(
                    "the node runs with `api.listen = \"off\"`: there is no dashboard to sign in to",
                )?;
                Reply::DashboardLink {
                    url: links.mint().context("minting a sign-in link")?,
                    expires_in: *expires_in,
                }
            }
            Request::AccessRequests { all } => {
                Reply::AccessRequests(self.blocking(move |ops| ops.access_requests(all)).await?)
            }
            Request::AccessDecide { id, decision } => {
                Reply::AccessRequests(vec![self.decide_access(id, decision).await?])
            }
            Request::RequestAccess { node, url, ask } => {
                let node = parse_did("the organization asked", &node)?;
                Reply::SentAccessRequests(vec![self.request_access(node, url, ask).await?])
            }
            Request::SentAccessRequests => {
                Reply::SentAccessRequests(self.blocking(|ops| ops.sent_requests()).await?)
            }
            Request::CheckSentRequest { id } => {
                Reply::SentAccessRequests(vec![self.check_sent_request(id).await?])
            }
            Request::AlertAck { id, by } => Reply::AlertAcked(Box::new(
                self.blocking(move |ops| ops.acknowledge(&id, &by)).await?,
            )),
            Request::WebhookAdd { url, by } => {
                Reply::WebhookAdded(self.blocking(move |ops| ops.add_webhook(&url, &by)).await?)
            }
            Request::Webhooks { limit } => {
                let (webhooks, deliveries) = self
                    .blocking(move |ops| Ok((ops.webhooks()?, ops.deliveries(limit)?)))
                    .await?;
                Reply::Webhooks {
                    webhooks,
                    deliveries,
                }
            }
            Request::WebhookRemove { url } => {
                Reply::WebhookRemoved(self.blocking(move |ops| ops.remove_webhook(&url)).await?)
            }
        })
    }

    /// Runs `work` on a thread where blocking on the store is fine.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Ops) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let ops = self.clone();
        tokio::task::spawn_blocking(move || work(&ops)).await?
    }

    /// The node configuration a verification uses: the file given, else the
    /// running node's own.
    fn node_config(&self, file: Option<PathBuf>) -> Result<Option<Arc<NodeConfig>>> {
        match file {
            Some(file) => Ok(Some(Arc::new(NodeConfig::load(&file)?))),
            None => Ok(self.config.clone()),
        }
    }
}

/// Parses a DID given by a person, with an error that says what was given
/// and what was expected.
pub fn parse_did(what: &str, text: &str) -> Result<Did> {
    text.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "{what} `{text}` is not a did:key identifier: give the organization's DID \
             (`did:key:z6Mk…`, as `assure id` prints it on their node), not its name"
        )
    })
}

fn compartment_request(
    label: String,
    readers: &[String],
    roles: &[String],
    min_clearance: &str,
) -> Result<assure_api::NewCompartment> {
    let readers = readers
        .iter()
        .map(|r| parse_did("--reader", r))
        .collect::<Result<_>>()?;
    let roles = roles
        .iter()
        .map(|r| {
            r.parse::<assure_access::Role>()
                .with_context(|| format!("--role `{r}`"))
        })
        .collect::<Result<_>>()?;
    let min_clearance = min_clearance
        .parse()
        .with_context(|| format!("--min-clearance `{min_clearance}`"))?;
    Ok(assure_api::NewCompartment {
        label,
        readers,
        roles,
        min_clearance,
    })
}

/// A name for people: the legal name with the short DID beside it, else the
/// short DID.
pub fn named(did: &Did, names: &std::collections::BTreeMap<Did, String>) -> String {
    did.named(names.get(did).map(String::as_str))
}

impl Ops {
    /// Legal names of every organization we hold a profile of, and our own
    /// name from `assure init --name` where we published no profile.
    pub(crate) fn names(&self) -> Result<std::collections::BTreeMap<Did, String>> {
        let mut names = self.store.names(&self.store.as_owner()?)?;
        if let Some(own) = self.store.name()? {
            names.entry(self.did()).or_insert(own);
        }
        Ok(names)
    }
}

impl Ops {
    /// Our compartments with their readers by name.
    pub fn compartments(&self) -> Result<Vec<CompartmentInfo>> {
        crate::compartments::list(&self.store, self.did(), jiff::Timestamp::now())
    }

    /// Finds or makes the compartment readable by exactly `new.readers`
    /// (see [`crate::compartments::add`]); `true` when it was made. Readers
    /// learn of it with its first record's notice.
    pub async fn add_compartment(
        &self,
        new: assure_api::NewCompartment,
    ) -> Result<(CompartmentInfo, bool)> {
        self.blocking(move |ops| {
            let now = jiff::Timestamp::now();
            let (compartment, made) =
                crate::compartments::add(&ops.store, &ops.keypair, &new, now)?;
            let info = crate::compartments::info(&ops.store, ops.did(), compartment.id, now)?;
            Ok((info, made))
        })
        .await
    }
}
