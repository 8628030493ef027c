//! Access requests, the trust-centre flow (DESIGN.md §8a), on both sides.
//!
//! On the side asked: an organization sends a request signed by its key
//! (`POST /v1/access-requests`); it is checked and rate-limited here,
//! stored, listed for the operator (`assure requests`, the dashboard,
//! `assure status`), and approved (a grant through [`Ops::grant`]) or
//! declined with a reason.
//!
//! On the requester's side: `assure request-access` sends the signed
//! request and records it; the running node then asks the other node how it
//! was decided (`GET /v1/access-requests/{id}`, signed) with exponential
//! backoff until it is, and raises an alert with the outcome. Polling
//! needs nothing of the other node but the API it already serves: it never
//! has to reach us (we may be behind NAT, our API on loopback), and only
//! the signer of a request can read its outcome.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use assure_access::{Clearance, Reader, Role};
use assure_api::client::{Auth, Client, Target};
use assure_api::{
    AccessAsk, AccessDecision, AccessOutcome, AccessRequestView, AskRefused, GrantTerms, NotSent,
    Readable,
};
use assure_model::Did;
use assure_store::{AccessRequest, Alert, Asked, Decided, OutgoingRequest};
use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

use super::{NotFound, Ops, named};

/// Requests one party may have pending at once.
pub const MAX_PENDING_PER_PARTY: usize = 3;
/// Requests one party may send within an hour.
pub const MAX_PER_HOUR: usize = 10;
/// Requests pending from everyone together: keys cost nothing to make, so
/// per-party limits alone do not bound the store.
pub const MAX_PENDING: usize = 200;
/// The longest purpose and decline reason.
const MAX_PURPOSE: usize = 500;
/// The longest basis.
const MAX_BASIS: usize = 200;
/// The first follow-up of a sent request, doubling up to [`MAX_BACKOFF`].
const FIRST_POLL: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How long another node may take to answer a follow-up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serialises the check of the rate limits with the store write.
static ASKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
/// Serialises storing a follow-up's answer with the check that no other
/// follow-up (the node's, or "Check now") stored a decision meanwhile.
static FOLLOWING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A request we sent, as `assure request-access`, `assure requests
/// --sent` and the dashboard show it.
pub use assure_api::SentRequest as SentRow;

/// A text field: trimmed, not empty, at most `max` characters, one line.
fn text(what: &str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(format!(
            "{what} is {chars} characters long; at most {max} are allowed"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{what} must not contain control characters such as line breaks"
        ));
    }
    Ok(value.to_owned())
}

/// What `ask` asks for, or why it cannot be taken (and which field is
/// wrong).
fn asked(ask: &AccessAsk) -> Result<Asked, NotSent> {
    let clearance: Clearance = ask.clearance.trim().parse().map_err(|_| {
        NotSent::at(
            "clearance",
            format!(
                "clearance `{}`: give partner, confidential or secret",
                ask.clearance
            ),
        )
    })?;
    let role: Role = ask.role.trim().parse().map_err(|_| {
        NotSent::at(
            "role",
            format!(
                "role `{}`: give customer, supplier, logistics, auditor or regulator",
                ask.role
            ),
        )
    })?;
    let purpose =
        text("the purpose", &ask.purpose, MAX_PURPOSE).map_err(|m| NotSent::at("purpose", m))?;
    let (basis, legal_basis) = match (role, &ask.basis, &ask.legal_basis) {
        (Role::Regulator, None, Some(legal)) => (
            text("the legal basis", legal, MAX_BASIS).map_err(|m| NotSent::at("legal_basis", m))?,
            true,
        ),
        (Role::Regulator, _, _) => {
            return Err(NotSent::at(
                "legal_basis",
                "a regulator's request gives its legal basis (legalBasis, --legal-basis) \
                 instead of a contract or NDA",
            ));
        }
        (_, Some(basis), None) => (
            text("the basis", basis, MAX_BASIS).map_err(|m| NotSent::at("basis", m))?,
            false,
        ),
        (_, _, Some(_)) => {
            return Err(NotSent::at(
                "legal_basis",
                "only a regulator's request gives a legal basis; give basis",
            ));
        }
        (_, None, None) => {
            return Err(NotSent::at(
                "basis",
                "the basis must not be empty: give the NDA or contract reference",
            ));
        }
    };
    Ok(Asked {
        clearance,
        role,
        purpose,
        basis,
        legal_basis,
    })
}

/// `http(s)://host:port` or `host:port` (plain HTTP) as the base URL of
/// another node's API.
fn base_url(given: &str) -> Result<String, NotSent> {
    let given = given.trim().trim_end_matches('/');
    let bad = |why: &str| NotSent::at("url", format!("`{given}` {why}"));
    if given.is_empty() {
        return Err(NotSent::at(
            "url",
            "give the address of their node's API, such as http://node.example:8080",
        ));
    }
    let url = match given.split_once("://") {
        Some(("http" | "https", _)) => given.to_owned(),
        Some(_) => return Err(bad("is not an http:// or https:// address")),
        None => format!("http://{given}"),
    };
    let authority = url.split_once("://").map_or("", |(_, rest)| rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', ' ', '@']) {
        return Err(bad(
            "is not a node's address: give host:port or http(s)://host:port, nothing after it",
        ));
    }
    Target::from_url(&url).map_err(|e| NotSent::at("url", e.to_string()))?;
    Ok(url)
}

fn status(decided: Option<&Decided>) -> &'static str {
    match decided {
        None => "pending",
        Some(d) if d.approved => "approved",
        Some(_) => "declined",
    }
}

fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).context("the OS random source failed")?;
    Ok(hex::encode(bytes))
}

impl Ops {
    /// Which of our compartments `party` could read under the grant `terms`
    /// describe (`None`: with no grant), by the read gate itself, at the
    /// grant's start or now, whichever is later.
    pub async fn grant_preview(
        &self,
        party: Did,
        terms: Option<GrantTerms>,
    ) -> Result<Vec<Readable>> {
        if party == self.did() {
            bail!("{party} is this organization itself; it always reads its own compartments");
        }
        self.blocking(move |ops| {
            let now = Timestamp::now();
            let grant = match &terms {
                Some(terms) => {
                    crate::guard::grant_party(&ops.store, &party, terms.unknown_party)?;
                    let version = ops.store.grant(&party)?.map_or(1, |g| g.version + 1);
                    Some(super::grants::parse_terms(terms, party, version, now)?)
                }
                None => None,
            };
            let at = grant.as_ref().map_or(now, |g| g.valid_from.max(now));
            let ours = ops.store.as_owner()?;
            let logs: Vec<_> = ops
                .store
                .logs(&ours)
                .into_iter()
                .filter(|s| s.log.origin == ops.did())
                .collect();
            let visible = assure_access::gate(
                ops.did(),
                Reader::Party(party),
                grant.as_ref(),
                logs.iter().map(|s| (s.log, &s.compartment.rule)),
                &BTreeSet::new(),
                at,
                "preview",
            );
            Ok(logs
                .iter()
                .filter(|s| visible.contains(&s.log))
                .map(|s| Readable {
                    label: s.compartment.label.clone(),
                    tlp: s.compartment.rule.tlp().to_string(),
                })
                .collect())
        })
        .await
    }

    /// Takes an access request signed by `party`: checked, rate-limited,
    /// stored; nothing is stored when it is refused.
    pub async fn ask_access(
        &self,
        party: Did,
        ask: AccessAsk,
    ) -> Result<AccessOutcome, AskRefused> {
        let asked = asked(&ask).map_err(|e| AskRefused::Invalid(e.message))?;
        if party == self.did() {
            return Err(AskRefused::Invalid(
                "this organization does not ask itself for access".to_owned(),
            ));
        }
        let work = self.blocking(move |ops| {
            let _one = ASKING.lock().unwrap_or_else(|e| e.into_inner());
            let now = Timestamp::now();
            let all = ops.store.access_requests()?;
            let pending = all.iter().filter(|r| r.decided.is_none());
            let mine: Vec<&AccessRequest> = all.iter().filter(|r| r.party == party).collect();
            let too_many = if pending.clone().count() >= MAX_PENDING {
                Some("this node has too many access requests awaiting a decision; try again later")
            } else if mine.iter().filter(|r| r.decided.is_none()).count() >= MAX_PENDING_PER_PARTY {
                Some("you have too many access requests awaiting a decision here; wait for them")
            } else if mine
                .iter()
                .filter(|r| now.duration_since(r.at) < SignedDuration::from_hours(1))
                .count()
                >= MAX_PER_HOUR
            {
                Some("too many access requests within the hour; try again later")
            } else {
                None
            };
            if let Some(why) = too_many {
                return Ok(Err(why.to_owned()));
            }
            let request = AccessRequest {
                id: random_id()?,
                party,
                asked,
                at: now,
                decided: None,
            };
            ops.store.put_access_request(&request)?;
            tracing::info!(%party, id = %request.id, "access request received");
            Ok(Ok(AccessOutcome {
                id: request.id,
                node: ops.did().to_string(),
                status: "pending".to_owned(),
                reason: None,
            }))
        });
        match work.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(why)) => Err(AskRefused::TooMany(why)),
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "storing an access request");
                Err(AskRefused::TooMany(
                    "the node could not take the request; try again later".to_owned(),
                ))
            }
        }
    }

    /// What `party` may know of its own request `id`: nothing of anyone
    /// else's.
    pub async fn access_outcome(&self, party: Did, id: String) -> Option<AccessOutcome> {
        let found = self
            .blocking(move |ops| Ok(ops.store.access_request(&id)?))
            .await
            .ok()
            .flatten()?;
        (found.party == party).then(|| AccessOutcome {
            id: found.id,
            node: self.did().to_string(),
            status: status(found.decided.as_ref()).to_owned(),
            reason: found
                .decided
                .as_ref()
                .filter(|d| !d.approved)
                .and_then(|d| d.reason.clone()),
        })
    }

    /// The requests sent to us, oldest first; only the pending ones unless
    /// `all`.
    pub fn access_requests(&self, all: bool) -> Result<Vec<AccessRequestView>> {
        let names = self.names()?;
        Ok(self
            .store
            .access_requests()?
            .into_iter()
            .filter(|r| all || r.decided.is_none())
            .map(|r| AccessRequestView {
                party_name: named(&r.party, &names),
                party: r.party.to_string(),
                clearance: r.asked.clearance.to_string(),
                role: r.asked.role.to_string(),
                purpose: r.asked.purpose,
                basis: r.asked.basis,
                legal_basis: r.asked.legal_basis,
                at: r.at.to_string(),
                status: status(r.decided.as_ref()).to_owned(),
                decided_at: r.decided.as_ref().map(|d| d.at.to_string()),
                reason: r.decided.as_ref().and_then(|d| d.reason.clone()),
                grant_version: r.decided.as_ref().and_then(|d| d.grant_version),
                id: r.id,
            })
            .collect())
    }

    /// Approves a pending request (granting what it asked, until
    /// `valid_until`) or declines it with a reason.
    pub async fn decide_access(
        &self,
        id: String,
        decision: AccessDecision,
    ) -> Result<AccessRequestView> {
        let wanted = id.clone();
        let request = self
            .blocking(move |ops| Ok(ops.store.access_request(&wanted)?))
            .await?
            .ok_or_else(|| NotFound(format!("no access request `{id}` (see `assure requests`)")))?;
        if let Some(decided) = &request.decided {
            bail!(
                "access request {id} was {} already, at {}; nothing changed",
                status(Some(decided)),
                decided.at
            );
        }
        let now = Timestamp::now();
        let decided = match decision {
            AccessDecision::Approve { valid_until } => {
                let asked = &request.asked;
                let basis = match asked.legal_basis {
                    true => format!("legal basis: {}", asked.basis),
                    false => asked.basis.clone(),
                };
                let terms = GrantTerms {
                    clearance: asked.clearance.to_string(),
                    roles: vec![asked.role.to_string()],
                    basis: basis.chars().take(MAX_BASIS).collect(),
                    valid_from: None,
                    valid_until,
                    // The party signed its request with its key: it is known.
                    unknown_party: true,
                };
                let grant = self.grant(request.party, terms).await?;
                Decided {
                    at: now,
                    approved: true,
                    reason: None,
                    grant_version: Some(grant.version),
                }
            }
            AccessDecision::Decline { reason } => Decided {
                at: now,
                approved: false,
                reason: Some(text("the reason", &reason, MAX_PURPOSE).map_err(anyhow::Error::msg)?),
                grant_version: None,
            },
        };
        let stored = AccessRequest {
            decided: Some(decided),
            ..request
        };
        self.blocking(move |ops| {
            ops.store.put_access_request(&stored)?;
            let view = ops.access_requests(true)?;
            view.into_iter()
                .find(|r| r.id == stored.id)
                .context("the request just stored is not listed")
        })
        .await
    }

    /// Checks what [`Ops::request_access`] would send to `node` at `url`,
    /// sending nothing: the base URL it goes to and what it asks.
    pub fn check_access_request(
        &self,
        node: &Did,
        url: &str,
        ask: &AccessAsk,
    ) -> Result<(String, Asked), NotSent> {
        if *node == self.did() {
            return Err(NotSent::at(
                "node",
                format!("{node} is this organization itself"),
            ));
        }
        let url = base_url(url)?;
        Ok((url, asked(ask)?))
    }

    /// Sends a signed access request to `node`'s API at `url` and records
    /// it, for the running node to follow up. A refusal is a [`NotSent`]
    /// (which field, what to do); nothing is stored then.
    pub async fn request_access(&self, node: Did, url: String, ask: AccessAsk) -> Result<SentRow> {
        let (url, asked) = self.check_access_request(&node, &url, &ask)?;
        let body = serde_json::to_vec(&ask)?;
        let client = Client::new(&url);
        let sent = client.send(
            "POST",
            "/v1/access-requests",
            body,
            Auth::Sign(self.keypair()),
            None,
        );
        let answer = match tokio::time::timeout(ANSWER_TIMEOUT, sent).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => return Err(NotSent::at("url", error.to_string()).into()),
            Err(_) => {
                return Err(NotSent::at(
                    "url",
                    format!(
                        "{url} did not answer within {} s; check the address",
                        ANSWER_TIMEOUT.as_secs()
                    ),
                )
                .into());
            }
        };
        let detail = || {
            serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).into_owned())
        };
        if !answer.status.is_success() {
            return Err(NotSent {
                field: None,
                message: format!(
                    "{url} refused the request: {} ({})",
                    answer.status,
                    detail()
                ),
            }
            .into());
        }
        let Ok(outcome) = serde_json::from_slice::<AccessOutcome>(&answer.body) else {
            return Err(NotSent::at(
                "url",
                format!(
                    "{url} answered with something else than a request id: is it an Assure node?"
                ),
            )
            .into());
        };
        if outcome.node != node.to_string() {
            return Err(NotSent::at(
                "url",
                format!(
                    "the node at {url} is {}, not {node}: the request went to another organization",
                    outcome.node
                ),
            )
            .into());
        }
        let now = Timestamp::now();
        let sent = OutgoingRequest {
            id: outcome.id,
            node,
            url,
            asked,
            at: now,
            decided: None,
            polls: 0,
            next_poll: now + FIRST_POLL,
        };
        self.blocking(move |ops| {
            ops.store.put_outgoing_request(&sent)?;
            Ok(ops.sent_row(&sent, &ops.names()?))
        })
        .await
    }

    /// The requests we sent, oldest first.
    pub fn sent_requests(&self) -> Result<Vec<SentRow>> {
        let names = self.names()?;
        Ok(self
            .store
            .outgoing_requests()?
            .iter()
            .map(|s| self.sent_row(s, &names))
            .collect())
    }

    fn sent_row(
        &self,
        s: &OutgoingRequest,
        names: &std::collections::BTreeMap<Did, String>,
    ) -> SentRow {
        SentRow {
            id: s.id.clone(),
            node: s.node.to_string(),
            node_name: named(&s.node, names),
            url: s.url.clone(),
            clearance: s.asked.clearance.to_string(),
            role: s.asked.role.to_string(),
            at: s.at.to_string(),
            status: status(s.decided.as_ref()).to_owned(),
            reason: s.decided.as_ref().and_then(|d| d.reason.clone()),
            decided_at: s.decided.as_ref().map(|d| d.at.to_string()),
        }
    }

    /// Asks each node about our pending requests that are due, once.
    async fn follow_up(&self) -> Result<()> {
        let now = Timestamp::now();
        let due: Vec<OutgoingRequest> = self
            .blocking(|ops| Ok(ops.store.outgoing_requests()?))
            .await?
            .into_iter()
            .filter(|s| s.decided.is_none() && s.next_poll <= now)
            .collect();
        for sent in due {
            self.ask_outcome(sent).await?;
        }
        Ok(())
    }

    /// Follows up our request `id` now, once, whenever it is due (the
    /// dashboard's "Check now"); a request decided already is only shown.
    pub async fn check_sent_request(&self, id: String) -> Result<SentRow> {
        let wanted = id.clone();
        let found = self
            .blocking(move |ops| {
                Ok(ops
                    .store
                    .outgoing_requests()?
                    .into_iter()
                    .find(|s| s.id == wanted))
            })
            .await?
            .ok_or_else(|| {
                NotFound(format!(
                    "we sent no access request `{id}` (see `assure requests --sent`)"
                ))
            })?;
        let sent = match found.decided {
            Some(_) => found,
            None => self.ask_outcome(found).await?,
        };
        self.blocking(move |ops| Ok(ops.sent_row(&sent, &ops.names()?)))
            .await
    }

    /// Asks `sent`'s node how it was decided, once, and stores the answer
    /// (the next follow-up backed off; an alert when it is decided). A
    /// follow-up that finds the request decided meanwhile by another one
    /// changes nothing. The request as stored then.
    async fn ask_outcome(&self, mut sent: OutgoingRequest) -> Result<OutgoingRequest> {
        let path = format!("/v1/access-requests/{}", sent.id);
        let client = Client::new(&sent.url);
        let answer = tokio::time::timeout(
            ANSWER_TIMEOUT,
            client.send(
                "GET",
                &path,
                Vec::new(),
                Auth::Sign(self.keypair()),
                // A node that granted us the regulator role wants a purpose.
                Some("following up our access request"),
            ),
        )
        .await;
        let outcome = match &answer {
            Ok(Ok(a)) if a.status.is_success() => {
                serde_json::from_slice::<AccessOutcome>(&a.body).ok()
            }
            _ => None,
        };
        sent.polls = sent.polls.saturating_add(1);
        let backoff = FIRST_POLL
            .saturating_mul(1 << sent.polls.min(20))
            .min(MAX_BACKOFF);
        sent.next_poll = Timestamp::now() + backoff;
        sent.decided = outcome
            .filter(|o| o.status != "pending" && o.node == sent.node.to_string())
            .map(|o| Decided {
                at: Timestamp::now(),
                approved: o.status == "approved",
                reason: o.reason,
                grant_version: None,
            });
        let node = sent.node;
        let (stored, newly_approved) = self
            .blocking(move |ops| {
                let _one = FOLLOWING.lock().unwrap_or_else(|e| e.into_inner());
                let before = ops
                    .store
                    .outgoing_requests()?
                    .into_iter()
                    .find(|s| s.node == sent.node && s.id == sent.id);
                if let Some(before) = before.filter(|b| b.decided.is_some()) {
                    return Ok((before, false));
                }
                ops.store.put_outgoing_request(&sent)?;
                if let Some(decided) = &sent.decided {
                    let who = named(&sent.node, &ops.names()?);
                    let detail = match (decided.approved, &decided.reason) {
                        (true, _) => format!(
                            "{who} approved our access request {} ({} clearance as {})",
                            sent.id, sent.asked.clearance, sent.asked.role
                        ),
                        (false, reason) => format!(
                            "{who} declined our access request {}: {}",
                            sent.id,
                            reason.as_deref().unwrap_or("no reason given")
                        ),
                    };
                    tracing::info!(node = %sent.node, "{detail}");
                    ops.store.raise(&Alert {
                        at: decided.at,
                        kind: Alert::ACCESS_REQUEST.to_owned(),
                        origin: sent.node.to_string(),
                        detail,
                        record: None,
                        log: None,
                    })?;
                }
                let approved = sent.decided.as_ref().is_some_and(|d| d.approved);
                Ok((sent, approved))
            })
            .await?;
        // Granted: fetch what we may now read, if we are connected.
        if newly_approved
            && let Some(network) = self.network()
            && let Err(error) = network.pull(node).await
        {
            tracing::debug!(%error, %node, "pulling after an approved access request");
        }
        Ok(stored)
    }
}

/// The running node's follow-up of the access requests it sent, until
/// `cancel`.
pub(crate) fn follow(ops: Ops, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(FIRST_POLL) => {}
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                done = ops.follow_up() => if let Err(error) = done {
                    tracing::warn!(error = format!("{error:#}"), "following up access requests");
                }
            }
        }
    })
}
