//! A running node: the store, the network, and their orderly shutdown.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use assure_access::Grant;
use assure_api::{CompartmentInfo, NewCompartment, Outcome, Placement};
use assure_model::{Did, Keypair, Record};
use assure_net::{Client, Network};
use assure_store::{Appended, LogId, Store};
use jiff::Timestamp;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::NodeConfig;
use crate::datadir::DataDir;

/// A running node. Dropping it without [`Node::shutdown`] stops the network
/// when the runtime ends; call `shutdown` to stop in order.
#[must_use = "call shutdown to stop the node in order"]
#[derive(Debug)]
pub struct Node {
    control: Arc<Control>,
    network: Network,
    api: Option<assure_api::Server>,
    cancel: CancellationToken,
}

/// What both the node's owner (CLI, tests) and the API act through.
#[derive(Debug)]
struct Control {
    keypair: Arc<Keypair>,
    store: Store,
    client: Client,
}

impl Node {
    /// Opens the data directory (identity and store, checking every log) and
    /// starts the network.
    pub async fn spawn(config: NodeConfig) -> Result<Self> {
        let dir = DataDir::new(&config.data_dir);
        let keypair = Arc::new(dir.keypair()?);
        let store = tokio::task::spawn_blocking(move || dir.store()).await??;
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
        let control = Arc::new(Control {
            keypair: keypair.clone(),
            store: store.clone(),
            client: network.client.clone(),
        });
        let api = match config.api.clone() {
            Some(settings) => {
                let server = crate::api::start(
                    &config,
                    settings,
                    Arc::new(ApiControl(control.clone())),
                    keypair.clone(),
                    store.clone(),
                    started,
                )
                .await?;
                info!(address = %server.addr, "API listening");
                Some(server)
            }
            None => None,
        };
        info!(did = %keypair.did(), "node running");
        Ok(Self {
            control,
            network,
            api,
            cancel,
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
        self.control.keypair.did()
    }

    /// The organization's key, for signing.
    pub fn keypair(&self) -> &Keypair {
        &self.control.keypair
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.control.store
    }

    /// The network client.
    pub fn client(&self) -> &Client {
        &self.network.client
    }

    /// Appends signed records (checked and placed by
    /// [`crate::publish::prepare`]: a label or id, or a [`Placement`] for
    /// each record's default and the operator's consents) durably, then
    /// tells connected readers of each compartment touched. An envelope
    /// already held is not appended again; its place is returned.
    pub async fn publish(
        &self,
        placement: impl Into<Placement>,
        records: Vec<(Vec<u8>, Record)>,
    ) -> Result<Vec<Appended>> {
        let outcomes = self.control.publish(placement.into(), records).await?;
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
        self.control.add_compartment(new).await
    }

    /// Stores a grant (new, changed or revoked) and applies it to open
    /// connections at once. For programs that name their parties
    /// themselves (the demo, tests): a party never seen is not refused here,
    /// as it is for the operator (see [`crate::guard::grant_party`]).
    pub async fn put_grant(&self, grant: Grant, change: &str) -> Result<()> {
        self.control.put_grant(grant, change, true).await
    }

    /// Revokes a party's grant now.
    pub async fn revoke(&self, party: Did) -> Result<()> {
        let grant = self
            .control
            .store
            .grant(&party)?
            .with_context(|| format!("{party} holds no grant"))?;
        self.control
            .put_grant(grant.revoke(Timestamp::now()), "revoked", false)
            .await
    }

    /// Stops in order: the network loop first, then a final flush of the store.
    pub async fn shutdown(self) -> Result<()> {
        if let Some(api) = self.api {
            api.shutdown().await;
            crate::api::forget(self.control.store.dir());
        }
        self.cancel.cancel();
        self.network.join().await;
        let store = self.control.store.clone();
        tokio::task::spawn_blocking(move || store.flush()).await??;
        info!("node stopped");
        Ok(())
    }
}

impl Control {
    async fn publish(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> Result<Vec<Outcome>> {
        let (store, keypair) = (self.store.clone(), self.keypair.clone());
        let appended = tokio::task::spawn_blocking(move || {
            crate::publish::publish(&store, &keypair, &placement, records, Timestamp::now())
        })
        .await??;
        let mut logs: Vec<LogId> = appended
            .iter()
            .filter(|a| !a.already)
            .map(|a| a.location.log)
            .collect();
        logs.dedup();
        let ours = self.store.as_owner()?;
        for log in logs {
            if let Some(state) = self.store.log_state(&ours, log) {
                self.client
                    .notify(log, state.checkpoint.to_string())
                    .await?;
            }
        }
        Ok(appended)
    }

    async fn compartments(&self) -> Result<Vec<CompartmentInfo>> {
        let store = self.store.clone();
        let owner = self.keypair.did();
        tokio::task::spawn_blocking(move || {
            crate::compartments::list(&store, owner, Timestamp::now())
        })
        .await?
    }

    async fn add_compartment(&self, new: NewCompartment) -> Result<(CompartmentInfo, bool)> {
        let (store, keypair) = (self.store.clone(), self.keypair.clone());
        // Readers learn of it with its first record's notice.
        tokio::task::spawn_blocking(move || -> Result<_> {
            let now = Timestamp::now();
            let (compartment, made) = crate::compartments::add(&store, &keypair, &new, now)?;
            let info = crate::compartments::info(&store, keypair.did(), compartment.id, now)?;
            Ok((info, made))
        })
        .await?
    }

    async fn put_grant(&self, grant: Grant, change: &str, unknown_party: bool) -> Result<()> {
        let (store, change) = (self.store.clone(), change.to_owned());
        tokio::task::spawn_blocking(move || -> Result<()> {
            crate::guard::grant_party(&store, &grant.party, unknown_party)?;
            Ok(store.put_grant(&grant, &change, Timestamp::now())?)
        })
        .await??;
        self.client.grants_changed().await?;
        Ok(())
    }
}

/// The API's view of the node.
#[derive(Debug)]
struct ApiControl(Arc<Control>);

impl assure_api::Control for ApiControl {
    fn publish(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> assure_api::BoxFuture<'_, Result<Vec<Outcome>, String>> {
        Box::pin(async move {
            self.0
                .publish(placement, records)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn compartments(&self) -> assure_api::BoxFuture<'_, Result<Vec<CompartmentInfo>, String>> {
        Box::pin(async move { self.0.compartments().await.map_err(|e| format!("{e:#}")) })
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

    fn put_grant(
        &self,
        grant: Grant,
        change: String,
        unknown_party: bool,
    ) -> assure_api::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.0
                .put_grant(grant, &change, unknown_party)
                .await
                .map_err(|e| format!("{e:#}"))
        })
    }

    fn peers(&self) -> assure_api::BoxFuture<'_, Vec<assure_api::PeerView>> {
        Box::pin(async move {
            let book = self.0.client.book().await.unwrap_or_default();
            book.into_iter()
                .map(|p| assure_api::PeerView {
                    peer: p.peer,
                    connected_since: p.connected_since,
                    next_dial: p.next_dial,
                })
                .collect()
        })
    }
}
