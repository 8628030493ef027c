//! Grants: who may read what (DESIGN.md §4). Versions, refusals and the
//! change log are decided here, for the CLI and the admin API alike.

use std::collections::BTreeSet;

use anyhow::{Context as _, Result, bail};
use assure_access::{Clearance, Grant, Role};
use assure_model::Did;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use assure_api::GrantTerms;

use super::{NotFound, Ops};

/// A grant as tables and JSON show it: the admin API's view.
pub type GrantRow = assure_api::GrantView;

/// One change of the grant log.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantChangeRow {
    pub at: String,
    /// `added`, `replaced` or `revoked`.
    pub change: String,
    pub grant: GrantRow,
}

/// The grant `terms` describe, at `version`.
pub(super) fn parse_terms(
    terms: &GrantTerms,
    party: Did,
    version: u64,
    now: Timestamp,
) -> Result<Grant> {
    let clearance: Clearance = terms.clearance.parse().with_context(|| {
        format!(
            "clearance `{}`: give partner, confidential or secret",
            terms.clearance
        )
    })?;
    let roles: BTreeSet<Role> = terms
        .roles
        .iter()
        .map(|r| {
            r.parse::<Role>().with_context(|| {
                format!("role `{r}`: give customer, supplier, logistics, auditor or regulator")
            })
        })
        .collect::<Result<_>>()?;
    let time = |what: &str, t: &Option<String>| -> Result<Option<Timestamp>> {
        t.as_deref()
            .map(|v| {
                v.parse().with_context(|| {
                    format!("{what} `{v}` is not an RFC 3339 time such as 2027-01-31T00:00:00Z")
                })
            })
            .transpose()
    };
    let from = time("valid from", &terms.valid_from)?.unwrap_or(now);
    let until = time("valid until", &terms.valid_until)?;
    Ok(Grant::new(
        party,
        roles,
        clearance,
        terms.basis.clone(),
        from,
        until,
        version,
    )?)
}

impl Ops {
    /// Grants `party` access on `terms`, replacing its grant (the version
    /// goes up by one), and applies it to open connections at once.
    pub async fn grant(&self, party: Did, terms: GrantTerms) -> Result<Grant> {
        if party == self.did() {
            bail!("{party} is this organization itself; it always reads its own compartments");
        }
        let grant = self
            .blocking(move |ops| {
                let now = Timestamp::now();
                crate::guard::grant_party(&ops.store, &party, terms.unknown_party)?;
                let previous = ops.store.grant(&party)?;
                let version = previous.as_ref().map_or(1, |g| g.version + 1);
                let grant = parse_terms(&terms, party, version, now)?;
                let change = if previous.is_none() {
                    "added"
                } else {
                    "replaced"
                };
                Ok((grant, change))
            })
            .await?;
        let (grant, change) = grant;
        self.put_grant(grant.clone(), change).await?;
        Ok(grant)
    }

    /// Stores `grant` as the party's grant (its version must be higher than
    /// the one it replaces), logs the change, and applies it to open
    /// connections at once.
    pub async fn put_grant(&self, grant: Grant, change: &str) -> Result<()> {
        let change = change.to_owned();
        self.blocking(move |ops| Ok(ops.store.put_grant(&grant, &change, Timestamp::now())?))
            .await?;
        self.grants_changed().await
    }

    /// Revokes `party`'s grant now; refused when it holds none or it is
    /// revoked already.
    pub async fn revoke(&self, party: Did) -> Result<Grant> {
        let grant = self
            .blocking(move |ops| {
                let now = Timestamp::now();
                let current = ops
                    .store
                    .grant(&party)?
                    .ok_or_else(|| NotFound(format!("{party} holds no grant")))?;
                if let Some(at) = current.revoked_at {
                    bail!("the grant of {party} was revoked already, at {at}; nothing changed");
                }
                Ok(current.revoke(now))
            })
            .await?;
        self.put_grant(grant.clone(), "revoked").await?;
        Ok(grant)
    }

    async fn grants_changed(&self) -> Result<()> {
        if let Some(network) = &self.network {
            network.grants_changed().await?;
        }
        Ok(())
    }

    pub(super) fn grants(&self) -> Result<Vec<GrantRow>> {
        let names = self.names()?;
        Ok(self
            .store
            .grants()?
            .into_iter()
            .map(|g| self.row(g, &names))
            .collect())
    }

    pub(super) fn grant_history(&self) -> Result<Vec<GrantChangeRow>> {
        let names = self.names()?;
        Ok(self
            .store
            .grant_log()?
            .into_iter()
            .map(|c| GrantChangeRow {
                at: c.at.to_string(),
                change: c.change,
                grant: self.row(c.grant, &names),
            })
            .collect())
    }

    fn row(&self, grant: Grant, names: &std::collections::BTreeMap<Did, String>) -> GrantRow {
        GrantRow::named(&grant, names)
    }
}
