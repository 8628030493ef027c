//! A running node: the store, the network, and their orderly shutdown.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use assure_access::Grant;
use assure_api::{CompartmentInfo, GrantTerms, NewCompartment, Outcome, Placement};
use assure_model::{Did, Keypair, Record};
use assure_net::{Client, Network};
use assure_store::{Appended, Store};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::NodeConfig;
use crate::datadir::DataDir;
use crate::ops::Ops;

/// A running node. Dropping it without [`Node::shutdown`] stops the network
/// when the runtime ends; call `shutdown` to stop in order.
#[must_use = "call shutdown to stop the node in order"]
#[derive(Debug)]
pub struct Node {
    ops: Ops,
    network: Network,
    api: Option<assure_api::Server>,
    control: Option<crate::control::Listener>,
    webhooks: tokio::task::JoinHandle<()>,
    cancel: CancellationToken,
    /// Follows up the access requests we sent.
    follow: tokio::task::JoinHandle<()>,
}

impl Node {
    /// Opens the data directory (identity and store, checking every log) and
    /// starts the network, the API when configured, and the control socket.
    pub async fn spawn(config: NodeConfig) -> Result<Self> {
        let dir = DataDir::new(&config.data_dir);
        let keypair = Arc::new(dir.keypair()?);
        // A command may hold the store for a moment; a node does not wait
        // for another node.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let store = loop {
            let opening = dir.clone();
            match tokio::task::spawn_blocking(move || opening.store()).await? {
                Ok(store) => break store,
                Err(e)
                    if matches!(e.downcast_ref(), Some(assure_store::Error::Locked(_)))
                        && crate::control::call(dir.path(), &crate::ops::Request::Status)
                            .ok()
                            .flatten()
                            .is_none()
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        };
        // Holding the store, we are the only run on this data directory and
        // every earlier one has stopped: the API refuses signatures created
        // before the next whole second. Wait for it before anything starts,
        // so that nothing signed after the node is up is refused, and the
        // network does not run ahead of the caller that spawned us.
        let started = jiff::Timestamp::now();
        if config.api.is_some() {
            assure_api::wait_for_first_second(started).await;
        }
        let cancel = CancellationToken::new();
        let network = Network::spawn(&keypair, store.clone(), config.net.clone(), cancel.clone())
            .await
            .context("starting the network")?;
        let mut ops = Ops::running(
            store.clone(),
            keypair.clone(),
            network.client.clone(),
            Arc::new(config.clone()),
        );
        let api = match config.api.clone() {
            Some(settings) => {
                let login_link = settings.login_link.as_secs();
                let server = crate::api::start(
                    &config,
                    settings,
                    Arc::new(ApiControl(ops.clone())),
                    keypair.clone(),
                    store.clone(),
                    started,
                )
                .await?;
                info!(address = %server.addr, "API listening");
                ops = ops.with_api(
                    format!("http://{}", server.addr),
                    server.sign_in_links(),
                    login_link,
                );
                Some(server)
            }
            None => None,
        };
        let control = crate::control::Listener::start(&config.data_dir, ops.clone());
        let follow = crate::ops::follow(ops.clone(), cancel.clone());
        let webhooks = crate::webhooks::spawn(ops.clone(), cancel.clone());
        for replica in store.quarantined() {
            tracing::warn!(%replica, "damaged replica set aside");
        }
        info!(did = %keypair.did(), "node running");
        Ok(Self {
            ops,
            network,
            api,
            control,
            webhooks,
            cancel,
            follow,
        })
    }

    /// The address the HTTP API listens on, when it runs.
    pub fn api_address(&self) -> Option<std::net::SocketAddr> {
        self.api.as_ref().map(|a| a.addr)
    }

    /// A one-time link that signs a browser in to this node's dashboard as
    /// its administrator (single use, valid for `api.login_link`); `None`
    /// when the API is off.
    pub fn dashboard_link(&self) -> Result<Option<String>> {
        self.api
            .as_ref()
            .map(|api| api.dashboard_link().context("minting a sign-in link"))
            .transpose()
    }

    /// This organization.
    pub fn did(&self) -> Did {
        self.ops.did()
    }

    /// The organization's key, for signing.
    pub fn keypair(&self) -> &Keypair {
        self.ops.keypair()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.ops.store()
    }

    /// The network client.
    pub fn client(&self) -> &Client {
        &self.network.client
    }

    /// Every operation, as the CLI runs them through the control socket.
    pub fn ops(&self) -> &Ops {
        &self.ops
    }

    /// Appends signed records (placed by [`crate::publish::place`]: a label
    /// or id, or a [`Placement`] for each record's default and
    /// `--share-wider`) durably, then tells connected readers of each
    /// compartment touched.
    pub async fn publish(
        &self,
        placement: impl Into<Placement>,
        records: Vec<(Vec<u8>, Record)>,
    ) -> Result<Vec<Appended>> {
        let outcomes = self.ops.append(placement.into(), records).await?;
        Ok(outcomes
            .into_iter()
            .map(|o| Appended {
                id: o.id,
                location: o.location,
            })
            .collect())
    }

    /// Finds or makes the compartment readable by exactly `new.readers`
    /// (see [`crate::compartments::add`]); `true` when it was made.
    pub async fn add_compartment(&self, new: NewCompartment) -> Result<(CompartmentInfo, bool)> {
        self.ops.add_compartment(new).await
    }

    /// Stores a grant (new, changed or revoked) and applies it to open
    /// connections at once. For programs that name their parties and
    /// versions themselves (the demo, tests): neither the version nor the
    /// party is checked as `assure grant add` checks them ([`Ops::grant`]).
    pub async fn put_grant(&self, grant: Grant, change: &str) -> Result<()> {
        self.ops.put_grant(grant, change).await
    }

    /// Revokes a party's grant now.
    pub async fn revoke(&self, party: Did) -> Result<()> {
        self.ops.revoke(party).await.map(drop)
    }

    /// Stops in order: the control socket and the API, the network loop,
    /// then a final flush of the store.
    pub async fn shutdown(self) -> Result<()> {
        if let Some(control) = self.control {
            control.stop().await;
        }
        if let Some(api) = self.api {
            api.shutdown().await;
            crate::api::forget(self.ops.store().dir());
        }
        self.cancel.cancel();
        let _ = self.follow.await;
        self.network.join().await;
        let _ = self.webhooks.await;
        let store = self.ops.store().clone();
        tokio::task::spawn_blocking(move || store.flush()).await??;
        info!("node stopped");
        Ok(())
    }
}

/// Runs `work` on a blocking thread, an error as the API's refusal.
async fn on_store<T: Send + 'static>(
    ops: &Ops,
    work: impl FnOnce(&Ops) -> Result<T> + Send + 'static,
) -> Result<T, assure_api::Refused> {
    let ops = ops.clone();
    match tokio::task::spawn_blocking(move || work(&ops)).await {
        Ok(result) => result.map_err(refused),
        Err(e) => Err(refused(e.into())),
    }
}

/// The API's view of the node: the same operations as the CLI's.
#[derive(Debug)]
struct ApiControl(Ops);

fn refused(error: anyhow::Error) -> assure_api::Refused {
    assure_api::Refused {
        not_found: error.chain().any(|c| c.is::<crate::ops::NotFound>()),
        message: format!("{error:#}"),
    }
}

impl assure_api::Control for ApiControl {
    fn publish(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> assure_api::BoxFuture<'_, Result<Vec<Outcome>, String>> {
        Box::pin(async move {
            self.0
                .append(placement, records)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn compartments(&self) -> assure_api::BoxFuture<'_, Result<Vec<CompartmentInfo>, String>> {
        Box::pin(async move {
            let ops = self.0.clone();
            tokio::task::spawn_blocking(move || ops.compartments())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn add_compartment(
        &self,
        new: NewCompartment,
    ) -> assure_api::BoxFuture<'_, Result<(CompartmentInfo, bool), String>> {
        Box::pin(async move {
            self.0
                .add_compartment(new)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn grant(
        &self,
        party: Did,
        terms: GrantTerms,
    ) -> assure_api::BoxFuture<'_, Result<Grant, assure_api::Refused>> {
        Box::pin(async move { self.0.grant(party, terms).await.map_err(refused) })
    }

    fn revoke(&self, party: Did) -> assure_api::BoxFuture<'_, Result<Grant, assure_api::Refused>> {
        Box::pin(async move { self.0.revoke(party).await.map_err(refused) })
    }

    fn report(
        &self,
        provider: Option<Did>,
        format: String,
    ) -> assure_api::BoxFuture<'_, Result<(Vec<u8>, &'static str), assure_api::Refused>> {
        Box::pin(async move {
            let format: crate::report::Format = format
                .parse()
                .map_err(|e: String| refused(anyhow::anyhow!(e)))?;
            let (bytes, _) = self
                .0
                .report(
                    provider.map(|p| p.to_string()),
                    None,
                    None,
                    Vec::new(),
                    format,
                )
                .await
                .map_err(refused)?;
            Ok((bytes, format.media_type()))
        })
    }

    fn disclosures_csv(
        &self,
        since: Option<String>,
        until: Option<String>,
    ) -> assure_api::BoxFuture<'_, Result<String, assure_api::Refused>> {
        Box::pin(async move {
            let ops = self.0.clone();
            tokio::task::spawn_blocking(move || {
                ops.disclosures_csv(since.as_deref(), until.as_deref())
            })
            .await
            .map_err(|e| refused(e.into()))?
            .map_err(refused)
        })
    }

    fn grant_preview(
        &self,
        party: Did,
        terms: Option<GrantTerms>,
    ) -> assure_api::BoxFuture<'_, Result<Vec<assure_api::Readable>, assure_api::Refused>> {
        Box::pin(async move { self.0.grant_preview(party, terms).await.map_err(refused) })
    }

    fn ask_access(
        &self,
        party: Did,
        ask: assure_api::AccessAsk,
    ) -> assure_api::BoxFuture<'_, Result<assure_api::AccessOutcome, assure_api::AskRefused>> {
        Box::pin(self.0.ask_access(party, ask))
    }

    fn access_outcome(
        &self,
        party: Did,
        id: String,
    ) -> assure_api::BoxFuture<'_, Option<assure_api::AccessOutcome>> {
        Box::pin(self.0.access_outcome(party, id))
    }

    fn access_requests(
        &self,
    ) -> assure_api::BoxFuture<'_, Result<Vec<assure_api::AccessRequestView>, String>> {
        Box::pin(async move {
            let ops = self.0.clone();
            tokio::task::spawn_blocking(move || ops.access_requests(true))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn decide_access(
        &self,
        id: String,
        decision: assure_api::AccessDecision,
    ) -> assure_api::BoxFuture<'_, Result<assure_api::AccessRequestView, assure_api::Refused>> {
        Box::pin(async move { self.0.decide_access(id, decision).await.map_err(refused) })
    }

    fn check_access_request(
        &self,
        node: Did,
        url: String,
        ask: assure_api::AccessAsk,
    ) -> assure_api::BoxFuture<'_, Result<String, assure_api::NotSent>> {
        Box::pin(async move {
            (self.0)
                .check_access_request(&node, &url, &ask)
                .map(|(url, _)| url)
        })
    }

    fn request_access(
        &self,
        node: Did,
        url: String,
        ask: assure_api::AccessAsk,
    ) -> assure_api::BoxFuture<'_, Result<assure_api::SentRequest, assure_api::NotSent>> {
        Box::pin(async move {
            self.0
                .request_access(node, url, ask)
                .await
                .map_err(|error| {
                    match error
                        .chain()
                        .find_map(|c| c.downcast_ref::<assure_api::NotSent>())
                    {
                        Some(not_sent) => not_sent.clone(),
                        None => {
                            tracing::error!(
                                error = format!("{error:#}"),
                                "sending an access request"
                            );
                            assure_api::NotSent {
                                field: None,
                                message:
                                    "the node could not send or record the request; see its log"
                                        .to_owned(),
                            }
                        }
                    }
                })
        })
    }

    fn sent_requests(
        &self,
    ) -> assure_api::BoxFuture<'_, Result<Vec<assure_api::SentRequest>, assure_api::Refused>> {
        Box::pin(on_store(&self.0, |ops| ops.sent_requests()))
    }

    fn check_sent_request(
        &self,
        id: String,
    ) -> assure_api::BoxFuture<'_, Result<assure_api::SentRequest, assure_api::Refused>> {
        Box::pin(async move { self.0.check_sent_request(id).await.map_err(refused) })
    }

    fn network_running(&self) -> bool {
        self.0.network().is_some_and(|network| network.is_running())
    }

    fn peers(&self) -> assure_api::BoxFuture<'_, Vec<assure_api::PeerView>> {
        Box::pin(async move {
            let Some(network) = self.0.network() else {
                return Vec::new();
            };
            let book = network.book().await.unwrap_or_default();
            book.into_iter()
                .map(|p| assure_api::PeerView {
                    peer: p.peer,
                    connected_since: p.connected_since,
                    next_dial: p.next_dial,
                })
                .collect()
        })
    }

    fn preview(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> assure_api::BoxFuture<'_, Result<Vec<assure_api::Preview>, assure_api::Refused>> {
        Box::pin(async move { self.0.preview(placement, records).await.map_err(refused) })
    }

    fn cosign(
        &self,
        record: assure_model::RecordId,
    ) -> assure_api::BoxFuture<'_, Result<(), assure_api::Refused>> {
        Box::pin(async move {
            self.0
                .cosign(record.to_string(), Placement::default(), None)
                .await
                .map(drop)
                .map_err(refused)
        })
    }

    fn alerts(
        &self,
        filter: assure_api::AlertFilter,
    ) -> assure_api::BoxFuture<'_, Result<assure_api::AlertList, assure_api::Refused>> {
        Box::pin(on_store(&self.0, move |ops| ops.alert_list(&filter)))
    }

    fn acknowledge(
        &self,
        id: String,
        by: String,
    ) -> assure_api::BoxFuture<'_, Result<assure_api::AlertView, assure_api::Refused>> {
        Box::pin(on_store(&self.0, move |ops| ops.acknowledge(&id, &by)))
    }

    fn webhooks(
        &self,
    ) -> assure_api::BoxFuture<'_, Result<Vec<assure_store::Webhook>, assure_api::Refused>> {
        Box::pin(on_store(&self.0, |ops| ops.webhooks()))
    }

    fn add_webhook(
        &self,
        url: String,
        by: String,
    ) -> assure_api::BoxFuture<'_, Result<assure_store::Webhook, assure_api::Refused>> {
        Box::pin(on_store(&self.0, move |ops| ops.add_webhook(&url, &by)))
    }

    fn remove_webhook(
        &self,
        url: String,
    ) -> assure_api::BoxFuture<'_, Result<assure_store::Webhook, assure_api::Refused>> {
        Box::pin(on_store(&self.0, move |ops| ops.remove_webhook(&url)))
    }

    fn deliveries(
        &self,
        limit: usize,
    ) -> assure_api::BoxFuture<'_, Result<Vec<assure_store::Attempt>, assure_api::Refused>> {
        Box::pin(on_store(&self.0, move |ops| ops.deliveries(limit)))
    }
}
