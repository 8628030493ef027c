//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Assure: signed, need-to-know attestations of supply-chain security.
///
/// Every organization runs a node that signs records about its own security
/// management into compartments, each an append-only Merkle log.
#[derive(Debug, Parser)]
#[command(name = "assure", version, about, long_about)]
pub(crate) struct Cli {
    /// The node's data directory.
    #[arg(
        long,
        global = true,
        env = "ASSURE_DATA",
        default_value = "./assure-data"
    )]
    pub(crate) data: PathBuf,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create this organization's identity and default compartments.
    Init {
        /// A local name for the organization.
        #[arg(long)]
        name: String,
        /// For demonstrations only: derive the key from the public seed N
        /// (1 to 255), so that the DIDs of a demo network are known in
        /// advance (config/records/README.md, config/demo/). Never for a
        /// real organization: anyone can compute the key.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
        demo_seed: Option<u8>,
    },
    /// Print this organization's DID.
    Id,
    /// Run a demo supply chain: six organizations, each a real node on
    /// 127.0.0.1 with a temporary data directory, publishing, replicating and
    /// verifying; prints the manufacturer's verdicts and the dashboards, then
    /// runs until ctrl-c.
    Demo {
        /// Key seed (1 gives the DIDs of config/records/README.md).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..))]
        seed: u8,
        /// Exit after printing instead of running until ctrl-c.
        #[arg(long)]
        once: bool,
    },
    /// Run the node: replicate compartments with partners until ctrl-c.
    ///
    /// Prints `listening <multiaddr>` for each address it listens on. The
    /// configuration file is documented in config/node.example.toml.
    Run {
        /// The node configuration file (TOML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Print a one-time link that signs a browser in to the running node's
    /// dashboard as its administrator.
    ///
    /// The link is good for one sign-in within `api.login_link` (10 minutes
    /// by default); it is not the admin token, and the token never appears
    /// in a URL. Needs the node running (`assure run`) on --data.
    DashboardLink {
        /// The address browsers reach the node at, if not the one it listens
        /// on (a proxy, a published container port), e.g.
        /// `https://assure.example`.
        #[arg(long)]
        base: Option<String>,
    },
    /// Show whether the node runs, its peers, the logs it holds, grants
    /// about to expire and alerts; exit code 3 when something needs
    /// attention (a monitoring probe), 0 when all is well.
    ///
    /// Works with the node stopped too (it then reports that, and exits 3).
    Status {
        #[command(flatten)]
        output: Output,
    },
    /// List alerts, oldest first, each with its id and who acknowledged it:
    /// equivocation by an author, incidents naming us, audits awaiting our
    /// co-signature, access requests, and, computed now, certifications of
    /// us or our providers ending within 60 days and grants ending within
    /// 30 days.
    Alerts {
        /// Only alerts of this kind (equivocation, incident,
        /// awaiting-acknowledgement, access-request, expiring-certification,
        /// expiring-grant).
        #[arg(long)]
        kind: Option<String>,
        /// Only alerts nobody acknowledged yet.
        #[arg(long, conflicts_with = "acknowledged")]
        unacknowledged: bool,
        /// Only acknowledged alerts.
        #[arg(long)]
        acknowledged: bool,
        /// Only alerts about this organization (its DID).
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Work on one alert.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Manage the webhooks that receive every new alert as a signed JSON
    /// event.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// List the disclosure log: what was served to whom, under which grant.
    Disclosures {
        /// At most this many, oldest first.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Only disclosures at or after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only disclosures before this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Print every disclosure of the period as CSV (for a spreadsheet or
        /// an auditor), one row each; --limit does not apply.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Write a verification report for management or auditors: one
    /// provider, or every provider of our confirmed relationships, as a PDF,
    /// a CSV or a printable HTML page.
    ///
    /// Each requirement with its outcome, the reason in plain words, the
    /// evidence records and what the provider must do to pass. Without
    /// --profile a provider is verified against the profile the node
    /// configuration maps it to, as `verify --all` does.
    #[command(group = clap::ArgGroup::new("whom").required(true).args(["provider", "all"]))]
    Report {
        /// The provider's DID.
        provider: Option<String>,
        /// Every provider of our confirmed relationships.
        #[arg(long)]
        all: bool,
        /// The profile file for the provider (TOML, see config/profiles/).
        #[arg(long, conflicts_with = "all")]
        profile: Option<PathBuf>,
        /// pdf, csv or html.
        #[arg(long, default_value = "pdf")]
        format: String,
        /// The file to create.
        #[arg(long)]
        out: PathBuf,
        /// The node configuration: trust anchors and profiles.
        #[arg(long, env = "ASSURE_CONFIG")]
        config: Option<PathBuf>,
        /// A trust anchor (DID) besides those in the config (repeatable).
        #[arg(long = "anchor")]
        anchors: Vec<String>,
    },
    /// Sign and publish records (several files are one batch).
    ///
    /// Each FILE is JSON or TOML with a `kind` and that kind's fields; see
    /// config/records/ for one example per kind. With --envelope, each FILE is
    /// an already signed DSSE envelope (for example an auditor's), published
    /// after full validation.
    ///
    /// Without --compartment, a record that names other organizations goes
    /// to the compartment of exactly those organizations, made if needed: a
    /// relationship to its other party, an audit to its auditee, an incident
    /// to its affected parties and regulators. A record naming a third party
    /// is refused in a compartment others can read (`partners`, `public`, a
    /// compartment of other readers) unless --share-wider is given.
    Publish {
        /// Record files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The compartment (label or id) to publish into; each record's
        /// default when absent.
        #[arg(long, short)]
        compartment: Option<String>,
        /// The files are signed envelopes, not drafts.
        #[arg(long)]
        envelope: bool,
        #[command(flatten)]
        share: Share,
        /// Publish an incident although an affected party holds no active
        /// grant, so that its notice cannot reach it; refused otherwise.
        #[arg(long)]
        undeliverable: bool,
        /// Show each record, the compartment it would go to and who could
        /// read it there; sign nothing into a log, store nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Write a draft of a record to fill in and publish: every field of the
    /// kind, commented, with this organization's DID where it goes.
    ///
    /// KIND is profile, scope, control, audit, incident, relationship,
    /// accreditation, verification or withdrawal. A draft of what an
    /// organization says about itself (profile, scope, control, incident)
    /// publishes as written; replace its example values first. Values
    /// written `REQUIRED: …` (another organization's DID, a record id) must
    /// be filled in. Without an identity (`assure init`), a placeholder
    /// stands for our DID. Prints to stdout unless --out is given.
    New {
        /// The record kind.
        kind: String,
        /// For a control: the catalog id to fill in (`assure catalog`);
        /// without it the draft lists every control of the catalog.
        #[arg(long, value_name = "ID")]
        control: Option<String>,
        /// Write the draft to this new file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List records, newest first.
    Records {
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only this compartment (label or id).
        #[arg(long)]
        compartment: Option<String>,
        /// Only records about this organization (DID).
        #[arg(long)]
        subject: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Show one record: its statement, signers and places.
    Show {
        /// The record id (64 hex characters).
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// List this organization's compartments: label, id, rule, TLP label,
    /// readers by name, size.
    Compartments {
        #[command(flatten)]
        output: Output,
    },
    /// Manage compartments.
    #[command(subcommand)]
    Compartment(CompartmentCommand),
    /// Manage the grants that decide who may read what.
    #[command(subcommand)]
    Grant(GrantCommand),
    /// Check the logs.
    #[command(subcommand)]
    Log(LogCommand),
    /// Write a compartment's checkpoint and entries, byte for byte, to a directory.
    Export {
        /// The compartment (label or id).
        #[arg(long, short)]
        compartment: String,
        /// The directory to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a self-verifying backup that restores this node: its logs,
    /// grants, disclosures and its key. Only the key is encrypted, with age
    /// under a passphrase (scrypt); the logs, grants and disclosures are in
    /// clear, as JSON lines, in a file of mode 0600: protect it as the data
    /// directory itself.
    ///
    /// The passphrase comes from --passphrase-file, else from the
    /// environment variable ASSURE_BACKUP_PASSPHRASE, else it is asked twice
    /// on the terminal; it is never an argument, and never empty. The file
    /// is created whole or not at all, mode 0600, and never overwritten.
    Backup {
        /// The backup file to create.
        file: PathBuf,
        /// Leave the key out (no passphrase needed). A restore then needs
        /// the key file put back by hand: copy the organization's key.pem
        /// into the data directory (mode 0600) before `assure restore`.
        #[arg(long, conflicts_with = "passphrase_file")]
        no_key: bool,
        /// Read the passphrase from the first line of this file.
        #[arg(long, value_name = "PATH")]
        passphrase_file: Option<PathBuf>,
    },
    /// Restore a node from a backup; the node must be stopped.
    ///
    /// Into an empty or new data directory: the key (asking for the
    /// backup's passphrase as `assure backup` does), a new admin token and
    /// the store, a node ready for `assure run`. Into a directory that holds
    /// the same organization's key: its database is replaced (the old one
    /// kept as db.replaced-TIME). Refuses a backup of another organization,
    /// or one holding fewer (or other) entries of our logs than the
    /// directory unless --older, and writes nothing unless the whole backup
    /// verifies.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Read the passphrase from the first line of this file.
        #[arg(long, value_name = "PATH")]
        passphrase_file: Option<PathBuf>,
        /// Restore a backup that holds fewer entries of our logs than the
        /// data directory (or other ones). Partners hold the newer entries:
        /// anything this node signs afterwards forks the history they know.
        #[arg(long)]
        older: bool,
    },
    /// Verify a provider against a requirement profile (ISO 28000 8.4 g).
    ///
    /// Prints each requirement's outcome (pass, fail, inconclusive), the
    /// reason and the evidence records. "Inconclusive" means the records
    /// needed are not among those this node holds. Exit code 0 whatever the
    /// verdict; the verdict is in the output.
    #[command(group = clap::ArgGroup::new("target").required(true).args(["provider", "all"]))]
    Verify {
        /// The provider's DID.
        provider: Option<String>,
        /// The profile file (TOML, see config/profiles/).
        #[arg(long, required_unless_present = "all")]
        profile: Option<PathBuf>,
        /// Every provider in our confirmed relationships, each against the
        /// profile the node config maps it to.
        #[arg(long)]
        all: bool,
        /// With --all: walk relationships this many tiers out.
        #[arg(long, default_value_t = 1, requires = "all")]
        tiers: u32,
        /// The node configuration: trust anchors and, for --all, profiles.
        #[arg(long, env = "ASSURE_CONFIG")]
        config: Option<PathBuf>,
        /// A trust anchor (DID) besides those in the config (repeatable).
        #[arg(long = "anchor")]
        anchors: Vec<String>,
        /// Sign each report as a `verification` record into this compartment.
        #[arg(long, value_name = "COMPARTMENT")]
        publish: Option<String>,
        /// With --publish: a verification names its provider, so a
        /// compartment others can read (such as `partners`) needs this.
        #[arg(long, requires = "publish")]
        share_wider: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Co-sign someone else's record (e.g. acknowledge an audit of us) and
    /// publish it. The record id stays the same.
    ///
    /// An audit about us that arrives from its auditor raises the alert
    /// "awaiting your acknowledgement" with its record id: `assure cosign
    /// RECORD_ID` acknowledges it, while the node runs or not.
    Cosign {
        /// The record id (64 hex characters) of a record this node holds,
        /// or a file with the signed envelope (JSON).
        record: String,
        /// The compartment (label or id) to publish into; by default
        /// `partners` for a record about us alone (an audit of us), else the
        /// compartment of exactly the other organizations it names.
        #[arg(long, short)]
        compartment: Option<String>,
        /// Also write the co-signed envelope here, to hand back to the issuer.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        share: Share,
        #[command(flatten)]
        output: Output,
    },
    /// Evidence bundles: a report with every envelope, proof and key, for
    /// checking offline.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Send a request to a node's HTTP API, signed with this organization's
    /// key (RFC 9421), and print the answer; or, with --log, list the
    /// requests sent so far.
    ///
    /// A regulator queries any node with, for example:
    /// `assure api-request GET /v1/orgs --url http://node.example:8080
    /// --purpose "customs inspection 2026-114"`. The signature is valid at
    /// that node only (it covers the URL's scheme and host:port) and covers
    /// the purpose. Every request sent is appended to requests.jsonl in the
    /// data directory (when, to which node, method, path, purpose, status,
    /// bytes received): `assure api-request --log` prints it.
    ApiRequest(ApiRequest),
    /// List the control catalog.
    Catalog {
        /// Only this domain.
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// List the access requests other organizations sent us (pending ones
    /// unless --all), or approve or decline one.
    Requests {
        #[command(subcommand)]
        action: Option<RequestsCommand>,
        /// Every request, decided ones too.
        #[arg(long)]
        all: bool,
        /// The requests we sent to other organizations, with their outcomes.
        #[arg(long)]
        sent: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Ask another organization's node for access, with a request signed by
    /// our key; our node then asks it how the request was decided, and
    /// raises an alert with the outcome.
    RequestAccess(RequestAccess),
}

#[derive(Debug, Args)]
pub(crate) struct ApiRequest {
    /// GET, POST, PUT or DELETE.
    #[arg(required_unless_present = "log")]
    pub(crate) method: Option<String>,
    /// The path and query, e.g. `/v1/orgs/did:key:z6Mk…/records?kind=audit`.
    #[arg(required_unless_present = "log")]
    pub(crate) path: Option<String>,
    /// The node to ask: `host:port` (plain HTTP) or `http(s)://host:port`.
    /// Without it, our own node on --data, and only about ourselves (or
    /// with --admin): another organization's data is asked of its node.
    #[arg(long, conflicts_with = "log")]
    pub(crate) url: Option<String>,
    /// A JSON file to send as the body.
    #[arg(long, conflicts_with = "log")]
    pub(crate) body: Option<PathBuf>,
    /// Why: signed, and recorded in the node's disclosure log and ours.
    /// Required by a node that granted us the regulator role.
    #[arg(long, conflicts_with = "log")]
    pub(crate) purpose: Option<String>,
    /// Send the admin token of --data instead of signing (own node only).
    #[arg(long, conflicts_with = "log")]
    pub(crate) admin: bool,
    /// List the requests sent from this data directory instead.
    #[arg(long, conflicts_with_all = ["method", "path"])]
    pub(crate) log: bool,
    /// Print the statements of the envelopes in the answer as a table
    /// (each signature checked) instead of the JSON answer.
    #[arg(long, conflicts_with = "log")]
    pub(crate) decode: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CompartmentCommand {
    /// Make a compartment readable by exactly the named organizations (and,
    /// with --role regulator, by regulators), for records about one
    /// counterparty; prints it. Asking again with the same label and readers
    /// changes nothing.
    Add(CompartmentAdd),
}

#[derive(Debug, Args)]
pub(crate) struct CompartmentAdd {
    /// The local label: a-z, 0-9, `-`, `_`, `.`.
    pub(crate) label: String,
    /// An organization that may read it (DID; repeatable, at least one).
    #[arg(long = "reader", value_name = "DID", required = true)]
    pub(crate) readers: Vec<String>,
    /// `regulator`: parties granted that role may read it too.
    #[arg(long = "role", value_name = "ROLE")]
    pub(crate) roles: Vec<String>,
    /// The least clearance a reader's grant must carry: partner,
    /// confidential or secret.
    #[arg(long, default_value = "partner")]
    pub(crate) min_clearance: String,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// The operator's consent to let others read a record naming a third party.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct Share {
    /// Publish even where parties the record does not name can read it
    /// (for example a relationship into `partners`); refused otherwise.
    #[arg(long)]
    pub(crate) share_wider: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GrantCommand {
    /// Grant a party access (replaces its current grant).
    Add(GrantAdd),
    /// Revoke a party's grant at once.
    Revoke {
        /// The party's DID.
        party: String,
        #[command(flatten)]
        output: Output,
    },
    /// List grants.
    List {
        /// Show the change log instead of the current grants.
        #[arg(long)]
        history: bool,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub(crate) struct GrantAdd {
    /// The party's DID.
    pub(crate) party: String,
    /// partner, confidential or secret.
    #[arg(long, default_value = "partner")]
    pub(crate) clearance: String,
    /// customer, supplier, logistics, auditor or regulator (repeatable).
    #[arg(long = "role")]
    pub(crate) roles: Vec<String>,
    /// The contract or NDA the grant rests on.
    #[arg(long)]
    pub(crate) basis: String,
    /// Start of validity (RFC 3339); now when absent.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// End of validity (RFC 3339); open-ended when absent.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Grant a party this node has never seen (no record by or about it,
    /// not in the peer book): refused without, as a guard against a
    /// mistyped DID.
    #[arg(long)]
    pub(crate) unknown_party: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlertCommand {
    /// Acknowledge an alert: it no longer counts in `assure status`; the
    /// acknowledgement names this user.
    Ack {
        /// The alert's id as `assure alerts` prints it (at least 8
        /// characters of it).
        id: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Register a URL (http://) that receives each new alert, signed with
    /// this organization's key (RFC 9421).
    Add {
        /// The URL.
        url: String,
        #[command(flatten)]
        output: Output,
    },
    /// List the webhooks and the newest delivery attempts.
    List {
        /// At most this many delivery attempts, newest first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        output: Output,
    },
    /// Remove a webhook.
    Remove {
        /// The URL, as registered.
        url: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum BundleCommand {
    /// Verify a provider and write the report with its evidence to a file.
    Export {
        /// The provider's DID.
        provider: String,
        /// The profile file.
        #[arg(long)]
        profile: PathBuf,
        /// The bundle file to create.
        #[arg(long)]
        out: PathBuf,
        /// The node configuration (for trust anchors).
        #[arg(long, env = "ASSURE_CONFIG")]
        config: Option<PathBuf>,
        /// A trust anchor (DID) besides those in the config (repeatable).
        #[arg(long = "anchor")]
        anchors: Vec<String>,
    },
    /// Check a bundle: signatures, proofs, checkpoints. Needs no node.
    Verify {
        /// The bundle file.
        file: PathBuf,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// Recompute every root and check every checkpoint signature.
    Verify {
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args, Clone, Copy, Default)]
pub(crate) struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RequestsCommand {
    /// Approve a request: grant what it asked for.
    Approve {
        /// The request's id (see `assure requests`).
        id: String,
        /// End of validity (RFC 3339); open-ended when absent.
        #[arg(long)]
        until: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Decline a request; the requester is told the reason.
    Decline {
        /// The request's id (see `assure requests`).
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        output: Output,
    },
    /// Ask now how a request we sent was decided, once (the running node
    /// otherwise asks with a backoff).
    Check {
        /// The id of the request we sent (see `assure requests --sent`).
        id: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RequestAccess {
    /// The DID of the organization asked.
    pub(crate) node: String,
    /// Its node's API: host:port or http(s)://host:port.
    #[arg(long)]
    pub(crate) url: String,
    /// partner, confidential or secret.
    #[arg(long, default_value = "partner")]
    pub(crate) clearance: String,
    /// customer, supplier, logistics, auditor or regulator.
    #[arg(long)]
    pub(crate) role: String,
    /// Why we need access.
    #[arg(long)]
    pub(crate) purpose: String,
    /// The NDA or contract reference (not for a regulator).
    #[arg(long)]
    pub(crate) basis: Option<String>,
    /// A regulator's legal basis, instead of --basis.
    #[arg(long)]
    pub(crate) legal_basis: Option<String>,
    #[command(flatten)]
    pub(crate) output: Output,
}
