//! The HTTP API and dashboard of an Assure node (DESIGN.md §8).
//!
//! Remote parties sign requests with their organization key (RFC 9421) and
//! see exactly what their grants allow, decided by the same function as the
//! network; anonymous callers see `public` compartments only; the admin token
//! opens the admin routes. Every non-public answer is written to the
//! disclosure log. A party that may not see something gets the same 404 as
//! for something that does not exist, byte for byte.
//!
//! The dashboard signs its administrator in with a POST form (the admin
//! token or a one-time code, never in a URL) into a session that expires
//! and ends at `/logout`; one middleware refuses every state-changing
//! dashboard request without the session's CSRF token.
//!
//! The server is axum on hyper. In front of the router, the connection
//! layer (`front.rs`, `conn.rs`) caps connections in all and per address, bounds how
//! long headers and bodies may take, refuses an oversized `Content-Length`
//! at once, reads each body before the request takes one of the
//! concurrency slots (shedding load with 503), and answers the health
//! routes in a lane of their own; the router's middleware applies a
//! per-party rate limit that answers 429. Every error is a problem document
//! (`problem.rs`).
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod alerts;
mod alerts_page;
mod asking;
pub mod client;
mod compartments;
mod conn;
mod csrf;
mod dashboard;
mod forms;
mod front;
#[doc(hidden)]
pub mod fuzz;
mod limits;
mod metrics;
mod openapi;
mod problem;
mod reports;
mod requests;
mod routes;
mod server;
mod session;
mod share;
pub mod signature;
mod signin;
mod table;
mod views;
mod visibility;
pub mod webhook;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use assure_access::Grant;
use assure_model::{Did, Keypair, Record, RecordId};
use assure_store::Store;
use assure_verify::Profile;

pub use alerts::{Acknowledged, AlertFilter, AlertList, AlertView};
pub use compartments::{CompartmentInfo, NewCompartment, Outcome, Placement, Preview, Reader};
pub use openapi::openapi;
pub use requests::{
    AccessAsk, AccessDecision, AccessOutcome, AccessRequestView, AskRefused, NotSent, Readable,
    SentRequest,
};
pub use routes::GrantView;
pub use server::{Server, SignInLinks, serve, wait_for_first_second};
pub use table::{Route, route_table};

/// A boxed future, for the [`Control`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the API asks of the running node: the actions that must also reach
/// the network (a publish notifies readers, a grant change closes streams),
/// and the operations the node library implements once for the CLI and the
/// API alike (audience compartments).
pub trait Control: Send + Sync + 'static {
    /// Appends signed records where `placement` says (each record's default
    /// compartment, or the one named, subject to the node's rules for
    /// publishing) and notifies readers. An envelope already held is not
    /// appended again: its outcome says where it is.
    fn publish(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> BoxFuture<'_, Result<Vec<Outcome>, String>>;
    /// The node's own compartments with their readers.
    fn compartments(&self) -> BoxFuture<'_, Result<Vec<CompartmentInfo>, String>>;
    /// Finds or makes the compartment readable by exactly the named readers;
    /// `true` when it was made.
    fn add_compartment(
        &self,
        new: NewCompartment,
    ) -> BoxFuture<'_, Result<(CompartmentInfo, bool), String>>;
    /// Grants `party` access on `terms`, replacing its grant, and applies
    /// it to open connections.
    fn grant(&self, party: Did, terms: GrantTerms) -> BoxFuture<'_, Result<Grant, Refused>>;
    /// Revokes `party`'s grant now.
    fn revoke(&self, party: Did) -> BoxFuture<'_, Result<Grant, Refused>>;
    /// Whether the node's network event loop is running (for `/readyz`).
    fn network_running(&self) -> bool;
    /// The peer book: every peer the node knows, connected or not.
    fn peers(&self) -> BoxFuture<'_, Vec<PeerView>>;
    /// The verification report of `provider` (every provider of our
    /// confirmed relationships when `None`) in `format` (pdf, csv, html):
    /// its bytes and media type.
    fn report(
        &self,
        provider: Option<Did>,
        format: String,
    ) -> BoxFuture<'_, Result<(Vec<u8>, &'static str), Refused>>;
    /// The disclosure log from `since` to `until` (RFC 3339) as CSV.
    fn disclosures_csv(
        &self,
        since: Option<String>,
        until: Option<String>,
    ) -> BoxFuture<'_, Result<String, Refused>>;
    /// What publishing `records` where `placement` says would do, with the
    /// guard rails and placement rules of [`Control::publish`] and nothing
    /// written: where each record goes and who could read it there (the
    /// dry run of `assure publish --dry-run`).
    fn preview(
        &self,
        placement: Placement,
        records: Vec<(Vec<u8>, Record)>,
    ) -> BoxFuture<'_, Result<Vec<Preview>, Refused>>;
    /// Adds our signature to a record another organization issued that the
    /// node holds (an audit of us) and publishes it, as `assure cosign ID`.
    fn cosign(&self, record: RecordId) -> BoxFuture<'_, Result<(), Refused>>;
    /// Which of our compartments `party` could read with the grant `terms`
    /// describe (`None`: with no grant), as the read gate decides (a
    /// preview: nothing changes).
    fn grant_preview(
        &self,
        party: Did,
        terms: Option<GrantTerms>,
    ) -> BoxFuture<'_, Result<Vec<Readable>, Refused>>;
    /// Takes an access request that `party` signed; nothing is stored when
    /// it is refused.
    fn ask_access(
        &self,
        party: Did,
        ask: AccessAsk,
    ) -> BoxFuture<'_, Result<AccessOutcome, AskRefused>>;
    /// What `party` may know of its request `id`; `None` when there is no
    /// such request of `party`'s.
    fn access_outcome(&self, party: Did, id: String) -> BoxFuture<'_, Option<AccessOutcome>>;
    /// Every access request sent to us, oldest first.
    fn access_requests(&self) -> BoxFuture<'_, Result<Vec<AccessRequestView>, String>>;
    /// Approves (granting what was asked) or declines a pending request.
    fn decide_access(
        &self,
        id: String,
        decision: AccessDecision,
    ) -> BoxFuture<'_, Result<AccessRequestView, Refused>>;
    /// Checks an access request to `node` at `url` as
    /// [`Control::request_access`] would, sending and storing nothing: the
    /// address it would be sent to, or why it would be refused.
    fn check_access_request(
        &self,
        node: Did,
        url: String,
        ask: AccessAsk,
    ) -> BoxFuture<'_, Result<String, NotSent>>;
    /// Sends an access request signed by our key to `node`'s API at `url`
    /// and records it for the node to follow up (`assure request-access`).
    fn request_access(
        &self,
        node: Did,
        url: String,
        ask: AccessAsk,
    ) -> BoxFuture<'_, Result<SentRequest, NotSent>>;
    /// The access requests we sent, oldest first, with their outcomes.
    fn sent_requests(&self) -> BoxFuture<'_, Result<Vec<SentRequest>, Refused>>;
    /// Follows up our request `id` now, once (the node otherwise does so
    /// with a backoff), and answers it as it then stands.
    fn check_sent_request(&self, id: String) -> BoxFuture<'_, Result<SentRequest, Refused>>;
    /// The alerts that pass `filter`, stored and computed, with who
    /// acknowledged each.
    fn alerts(&self, filter: AlertFilter) -> BoxFuture<'_, Result<AlertList, Refused>>;
    /// Acknowledges the alert `id` (or a unique prefix of it) as `by`.
    fn acknowledge(&self, id: String, by: String) -> BoxFuture<'_, Result<AlertView, Refused>>;
    /// The registered webhooks.
    fn webhooks(&self) -> BoxFuture<'_, Result<Vec<assure_store::Webhook>, Refused>>;
    /// Registers a webhook, as `by`.
    fn add_webhook(
        &self,
        url: String,
        by: String,
    ) -> BoxFuture<'_, Result<assure_store::Webhook, Refused>>;
    /// Removes a webhook.
    fn remove_webhook(&self, url: String) -> BoxFuture<'_, Result<assure_store::Webhook, Refused>>;
    /// The newest `limit` webhook delivery attempts, newest first.
    fn deliveries(
        &self,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<assure_store::Attempt>, Refused>>;
}

/// Why the node did not carry out an operation.
#[derive(Clone, Debug)]
pub struct Refused {
    /// It named something that is not there (404 rather than 400).
    pub not_found: bool,
    /// What is wrong and what to do, for the caller.
    pub message: String,
}

/// A grant's terms as a person gives them: the admin API's request body,
/// and the CLI's `grant add` flags.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantTerms {
    /// `partner`, `confidential` or `secret`.
    pub clearance: String,
    /// `customer`, `supplier`, `logistics`, `auditor`, `regulator`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The contract or NDA the grant rests on.
    pub basis: String,
    /// Start of validity (RFC 3339); now when absent.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// End of validity (RFC 3339); open-ended when absent.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// The operator knows this is a party the node has never seen (no
    /// record by or about it, not in the peer book).
    #[serde(default)]
    pub unknown_party: bool,
}

/// One peer of the node's peer book, as the running node knows it.
#[derive(Clone, Debug)]
pub struct PeerView {
    /// What the peer book holds: addresses, sources, last connection.
    pub peer: assure_store::Peer,
    /// Since when it is connected, when it is.
    pub connected_since: Option<jiff::Timestamp>,
    /// When the node dials it next, when a redial is scheduled.
    pub next_dial: Option<jiff::Timestamp>,
}

impl PeerView {
    /// Whether it is connected now.
    pub fn is_connected(&self) -> bool {
        self.connected_since.is_some()
    }
}

/// Limits and addresses of the server.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// How long a client may take to send a request body, however small.
    pub body_timeout: Duration,
    /// The slowest a body may arrive, in bytes per second, after its first
    /// second; a slower one is cut off with 408.
    pub min_body_rate: u32,
    /// How long a request may take in all, once its body has arrived.
    pub request_timeout: Duration,
    /// Requests handled at once, and separately bodies being read at once;
    /// more are refused with 503.
    pub max_concurrent: usize,
    /// Connections open at once; more are refused with 503 and closed.
    pub max_connections: usize,
    /// Connections open at once from one IP address; more are refused with
    /// 503 and closed.
    pub max_connections_per_address: usize,
    /// `/healthz`, `/readyz` and `/metrics` answered at once, outside
    /// [`Settings::max_concurrent`] and the rate limit; more get 503.
    pub max_operations: usize,
    /// Requests per second per party (per address for anonymous callers),
    /// with bursts of twice that; more are refused with 429.
    pub requests_per_second: u32,
    /// The largest page of records.
    pub max_page: usize,
    /// How long a dashboard session lasts after signing in.
    pub session: Duration,
    /// How long a one-time sign-in link stays valid (it signs in once).
    pub login_link: Duration,
    /// Mark the dashboard's cookies `Secure`: the node is reached over
    /// https (through a proxy that terminates TLS).
    pub secure_cookies: bool,
    /// The names (`host` or `host:port`) clients reach this node by; a
    /// signed request whose `Host` is not one of them is refused, and the
    /// signature must name it as `@authority`. `None`: derived from the
    /// address the server listens on ([`signature::default_authorities`]).
    pub authorities: Option<Vec<String>>,
    /// The scheme clients use: `http`, or `https` behind a TLS proxy.
    pub scheme: signature::Scheme,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 1 << 20,
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            min_body_rate: 1024,
            request_timeout: Duration::from_secs(15),
            max_concurrent: 256,
            max_connections: 1024,
            max_connections_per_address: 64,
            max_operations: 16,
            requests_per_second: 100,
            max_page: 500,
            session: Duration::from_secs(8 * 3600),
            login_link: Duration::from_secs(10 * 60),
            secure_cookies: false,
            authorities: None,
            scheme: signature::Scheme::Http,
        }
    }
}

/// Everything a server needs.
pub struct Config {
    /// The node's store.
    pub store: Store,
    /// The node's organization key (signs drafts published through the
    /// admin API).
    pub keypair: Arc<Keypair>,
    /// The admin bearer token (from the data directory).
    pub admin_token: String,
    /// Trust anchors for verification.
    pub anchors: Vec<Did>,
    /// Profiles that `/v1/orgs/{did}/verification?profile=NAME` may name,
    /// by name, each with the supplies it maps to (empty: the default).
    pub profiles: BTreeMap<String, (Profile, Vec<String>)>,
    /// The running node.
    pub control: Arc<dyn Control>,
    /// Limits.
    pub settings: Settings,
    /// When the node took its data directory (after any earlier run on it
    /// had stopped): signatures created before the next whole second are
    /// refused, since an earlier run may have accepted them.
    pub started: jiff::Timestamp,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("owner", &self.keypair.did())
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
