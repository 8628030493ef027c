//! `TestNet`: nodes built exactly as in production (`Node::spawn`), in one
//! process, on 127.0.0.1 port 0, with temporary data directories and keys
//! derived from a seed. Every wait is bounded by a timeout and driven by
//! events, never by a fixed sleep.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod browser;
pub mod http;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use assure_access::{Clearance, Grant, Role};
use assure_model::{Did, Keypair, Record};
use assure_net::Event;
use assure_node::datadir::DataDir;
use assure_node::publish::Placement;
use assure_node::{Node, NodeConfig};
use assure_store::{Appended, LogId};
use jiff::Timestamp;
use tokio::sync::broadcast;

/// How long any wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// One node of a test network.
#[derive(Debug)]
pub struct TestNode {
    pub node: Option<Node>,
    pub keypair: Keypair,
    pub dir: PathBuf,
    pub address: String,
    pub events: broadcast::Receiver<Event>,
    /// The configuration it runs with, for [`TestNode::restart`].
    pub config: NodeConfig,
    _temp: std::sync::Arc<tempfile::TempDir>,
}

impl TestNode {
    /// Initializes a data directory with a seeded key and starts the node.
    pub async fn start(seed: u8, name: &str) -> Self {
        Self::start_with(seed, name, |_| {}).await
    }

    /// Like [`TestNode::start`], with the configuration edited first.
    pub async fn start_with(seed: u8, name: &str, edit: impl FnOnce(&mut NodeConfig)) -> Self {
        let temp = std::sync::Arc::new(tempfile::tempdir().unwrap());
        let dir = temp.path().join(name);
        let keypair = Keypair::from_seed([seed; 32]);
        DataDir::new(&dir)
            .init(name, &keypair, Timestamp::now())
            .unwrap();
        let mut config = NodeConfig::development(&dir);
        config.net.poll_interval = Duration::from_secs(3600);
        edit(&mut config);
        Self::spawn_config(keypair, dir, temp, config).await
    }

    /// Starts a node on an existing data directory.
    pub async fn spawn(
        keypair: Keypair,
        dir: PathBuf,
        temp: std::sync::Arc<tempfile::TempDir>,
    ) -> Self {
        let mut config = NodeConfig::development(&dir);
        config.net.poll_interval = Duration::from_secs(3600);
        Self::spawn_config(keypair, dir, temp, config).await
    }

    async fn spawn_config(
        keypair: Keypair,
        dir: PathBuf,
        temp: std::sync::Arc<tempfile::TempDir>,
        config: NodeConfig,
    ) -> Self {
        let node = Node::spawn(config.clone()).await.unwrap();
        let mut events = node.client().events();
        let mut listeners = node.client().listeners().await.unwrap();
        if listeners.is_empty() {
            wait(&mut events, |e| matches!(e, Event::Listening(_))).await;
            listeners = node.client().listeners().await.unwrap();
        }
        let address = listeners[0].to_string();
        Self {
            node: Some(node),
            keypair,
            dir,
            address,
            events,
            config,
            _temp: temp,
        }
    }

    /// Stops the node in order and starts it again with exactly the same
    /// configuration (for the same address across restarts, start it with
    /// [`free_address`] as its listen address, as a deployed node names
    /// its port).
    pub async fn restart(&mut self) {
        self.stop().await;
        let keypair = Keypair::from_seed(self.keypair.seed());
        let config = self.config.clone();
        let again = Self::spawn_config(keypair, self.dir.clone(), self._temp.clone(), config).await;
        *self = again;
    }

    /// Waits until every one of `parties` is connected.
    pub async fn wait_connected(&mut self, parties: &[Did]) {
        let client = self.node().client().clone();
        let waited = tokio::time::timeout(TIMEOUT, async {
            loop {
                let connected = client.peers().await.unwrap();
                if parties.iter().all(|p| connected.contains(p)) {
                    return;
                }
                match self.events.recv().await {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(e) => panic!("events closed: {e}"),
                }
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "timed out waiting for connections to {parties:?}"
        );
    }

    /// Starts the node again on its data directory after [`TestNode::stop`].
    pub async fn start_again(&mut self) {
        let keypair = Keypair::from_seed(self.keypair.seed());
        let again = Self::spawn(keypair, self.dir.clone(), self._temp.clone()).await;
        *self = again;
    }

    /// The node's libp2p listen address.
    pub fn address(&self) -> libp2p::Multiaddr {
        self.address.parse().expect("a multiaddr")
    }

    /// Like [`TestNode::start_again`], with the configuration edited first.
    pub async fn start_again_with(&mut self, edit: impl FnOnce(&mut NodeConfig)) {
        let keypair = Keypair::from_seed(self.keypair.seed());
        let mut config = NodeConfig::development(&self.dir);
        config.net.poll_interval = Duration::from_secs(3600);
        edit(&mut config);
        let again = Self::spawn_config(keypair, self.dir.clone(), self._temp.clone(), config).await;
        *self = again;
    }

    /// The base URL of the node's HTTP API.
    pub fn api(&self) -> String {
        format!("http://{}", self.node().api_address().expect("API running"))
    }

    /// The node's admin token.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.dir.join(assure_node::datadir::TOKEN_FILE))
            .unwrap()
            .trim()
            .to_owned()
    }

    pub fn node(&self) -> &Node {
        self.node.as_ref().expect("node is running")
    }

    pub fn did(&self) -> Did {
        self.keypair.did()
    }

    /// Stops the node in order.
    pub async fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await.unwrap();
        }
    }

    /// Connects to another node.
    pub async fn connect(&self, other: &TestNode) {
        let address = other.address.parse().unwrap();
        self.node()
            .client()
            .dial(other.did(), address)
            .await
            .unwrap();
    }

    /// Grants `party` access.
    pub async fn grant(&self, party: Did, clearance: Clearance, roles: &[Role]) {
        let version = self
            .node()
            .store()
            .grant(&party)
            .unwrap()
            .map_or(1, |g| g.version + 1);
        let roles: BTreeSet<Role> = roles.iter().copied().collect();
        let grant = Grant::new(
            party,
            roles,
            clearance,
            "MSA-TEST",
            Timestamp::now(),
            None,
            version,
        )
        .unwrap();
        self.node().put_grant(grant, "added").await.unwrap();
    }

    /// Publishes drafts (TOML text) into a compartment.
    pub async fn publish(&self, compartment: &str, drafts: &[String]) -> Vec<Appended> {
        self.publish_to(compartment, drafts).await
    }

    /// Publishes drafts where `placement` says: each record's default
    /// compartment (`Placement::default()`), or a named one.
    pub async fn publish_to(
        &self,
        placement: impl Into<Placement>,
        drafts: &[String],
    ) -> Vec<Appended> {
        self.try_publish(placement, drafts).await.unwrap()
    }

    /// Publishes drafts naming third parties into a compartment others can
    /// read, as the operator's `--share-wider` does.
    pub async fn publish_wider(&self, compartment: &str, drafts: &[String]) -> Vec<Appended> {
        self.publish_to(Placement::into(compartment).share_wider(), drafts)
            .await
    }

    /// Publishes drafts, returning the refusal instead of failing the test.
    pub async fn try_publish(
        &self,
        placement: impl Into<Placement>,
        drafts: &[String],
    ) -> anyhow::Result<Vec<Appended>> {
        let records = drafts.iter().map(|text| self.sign(text)).collect();
        self.node().publish(placement, records).await
    }

    /// Signs a TOML draft as this organization.
    pub fn sign(&self, text: &str) -> (Vec<u8>, Record) {
        let catalog = assure_model::Catalog::builtin().clone();
        let draft = assure_model::Draft::from_toml(text).unwrap();
        let (subject, predicate) = draft
            .into_predicate(self.did(), Timestamp::now(), &catalog)
            .unwrap();
        assure_model::issue(&self.keypair, &subject, &predicate).unwrap()
    }

    /// Sends `ask` to `to` as `assure request-access` does; the request's id.
    pub async fn request_access(&self, to: &TestNode, ask: assure_api::AccessAsk) -> String {
        let reply = self
            .node()
            .ops()
            .run(assure_node::ops::Request::RequestAccess {
                node: to.did().to_string(),
                url: to.api(),
                ask,
            })
            .await
            .unwrap();
        let assure_node::ops::Reply::SentAccessRequests(rows) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(rows[0].status, "pending");
        rows[0].id.clone()
    }

    /// The log of `author`'s compartment `label`, as known to `author`.
    pub fn log(&self, label: &str) -> LogId {
        self.node()
            .store()
            .find_compartment(&self.node().store().as_owner().unwrap(), label)
            .unwrap()
            .log
    }

    /// Size of a log held here (own or replica).
    pub fn size(&self, log: LogId) -> Option<u64> {
        let store = self.node().store();
        store
            .log_state(&store.as_owner().unwrap(), log)
            .map(|s| s.tree.len())
    }

    /// Waits until this node holds `log` at `size` or more.
    pub async fn wait_synced(&mut self, log: LogId, size: u64) {
        if self.size(log).is_some_and(|s| s >= size) {
            return;
        }
        let found = tokio::time::timeout(TIMEOUT, async {
            loop {
                match self.events.recv().await {
                    Ok(Event::Synced { log: l, size: s }) if l == log && s >= size => return,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if self.size(log).is_some_and(|s| s >= size) {
                            return;
                        }
                    }
                    Err(e) => panic!("events closed: {e}"),
                }
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "timed out waiting for {log:?} at size {size}"
        );
    }
}

/// A loopback TCP address no one listens on now, for a node that must keep
/// its address across restarts.
pub fn free_address() -> libp2p::Multiaddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()
}

/// Waits for an event matching `pred`.
pub async fn wait(events: &mut broadcast::Receiver<Event>, pred: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(event) if pred(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events closed: {e}"),
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

/// A control record draft with a distinguishing statement.
pub fn control(n: usize) -> String {
    format!(
        "kind = \"control\"\ncontrolId = \"ISO22340:9.2.4\"\nstatus = \"implemented\"\n\
         statement = \"Security events are monitored around the clock (record {n}).\"\n"
    )
}

/// A relationship record draft: `supplier` supplies `customer`.
pub fn relationship(supplier: Did, customer: Did, supplies: &str) -> String {
    format!(
        "kind = \"relationship\"\nsupplier = \"{supplier}\"\ncustomer = \"{customer}\"\n\
         supplies = [\"{supplies}\"]\nsince = 2024-01-01\n"
    )
}

/// A certification audit draft about `subject`.
pub fn audit(subject: Did, certificate: &str) -> String {
    format!(
        "kind = \"audit\"\nsubject = \"{subject}\"\nauditType = \"certification\"\n\
         standard = \"ISO 28000:2022\"\nresult = \"certified\"\n\
         certificateNumber = \"{certificate}\"\nperiod = {{ from = 2026-10-01, to = 2026-10-03 }}\n"
    )
}

/// `n` nodes with seeds `seed`, `seed + 1`, …, all started.
#[derive(Debug)]
pub struct TestNet {
    pub nodes: Vec<TestNode>,
}

impl TestNet {
    pub async fn new(n: usize, seed: u8) -> Self {
        let mut nodes = Vec::new();
        for i in 0..n {
            nodes.push(TestNode::start(seed + i as u8, &format!("org{i}")).await);
        }
        Self { nodes }
    }

    pub async fn stop(&mut self) {
        for node in &mut self.nodes {
            node.stop().await;
        }
    }
}

/// One HTTP/1.1 request over a fresh socket to `addr`, with exactly the
/// `Host` and headers given: how a replaying party would send it. Returns
/// the status and the whole response.
pub fn raw_request(
    addr: std::net::SocketAddr,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += "\r\n";
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    (status, response)
}

/// `bytes` as they appear inside base64 of a larger text, at each of the
/// three alignments (the encoded characters that depend on `bytes` alone):
/// to look for a marker or an id inside envelopes and files.
pub fn base64_variants(bytes: impl AsRef<[u8]>) -> Vec<String> {
    let bytes = bytes.as_ref();
    use base64::Engine as _;
    (0..3)
        .map(|shift| {
            let mut padded = vec![b'#'; shift];
            padded.extend_from_slice(bytes);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&padded);
            let skip = (shift * 4).div_ceil(3);
            let keep = (bytes.len() * 4) / 3 - 2;
            encoded.chars().skip(skip).take(keep).collect()
        })
        .collect()
}
