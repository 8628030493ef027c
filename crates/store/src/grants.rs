//! Grants with their change log, and the disclosure log (DESIGN.md §4).

use assure_access::{CompartmentId, Grant};
use assure_model::Did;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Within as _;
use crate::{Error, Store, next_key};

/// One change to a grant, as kept in the grant log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrantChange {
    /// When the change was made.
    pub at: Timestamp,
    /// `added`, `replaced` or `revoked`.
    pub change: String,
    /// The grant after the change.
    pub grant: Grant,
}

/// One range of a compartment served to a party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// When it was served.
    pub at: Timestamp,
    /// To whom.
    pub party: Did,
    /// Which compartment.
    pub compartment: CompartmentId,
    /// First index served.
    pub from: u64,
    /// One past the last index served.
    pub to: u64,
    /// The grant version it was served under (`None` for public data).
    pub grant_version: Option<u64>,
    /// `network` or `api`.
    pub channel: String,
    /// The purpose the party gave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

impl Store {
    /// Stores a grant (new or replacing the party's current one) and logs the
    /// change. Refuses a grant whose version does not increase.
    pub fn put_grant(&self, grant: &Grant, change: &str, at: Timestamp) -> Result<(), Error> {
        let trees = &self.inner.trees;
        let key = grant.party.public_bytes().to_vec();
        let value = to_json(grant)?;
        let log = to_json(&GrantChange {
            at,
            change: change.to_owned(),
            grant: grant.clone(),
        })?;
        let seq = next_key(&self.inner.db)?;
        let previous = self.grant(&grant.party)?;
        if previous
            .as_ref()
            .is_some_and(|p| p.version >= grant.version)
        {
            return Err(Error::StaleGrant {
                party: grant.party,
                version: grant.version,
            });
        }
        use sled::Transactional as _;
        (&trees.grants, &trees.grant_log)
            .transaction(|(g, l)| {
                g.insert(key.as_slice(), value.as_slice())?;
                l.insert(&seq[..], log.as_slice())?;
                Ok::<_, sled::transaction::ConflictableTransactionError<Error>>(())
            })
            .within("keyspaces `grants` and `grant_log`")?;
        self.flush()
    }

    /// The current grant of a party.
    pub fn grant(&self, party: &Did) -> Result<Option<Grant>, Error> {
        self.inner
            .trees
            .grants
            .get(party.public_bytes())
            .within("keyspace `grants`")?
            .map(|bytes| from_json(&bytes, "grant"))
            .transpose()
    }

    /// Every current grant.
    pub fn grants(&self) -> Result<Vec<Grant>, Error> {
        self.inner
            .trees
            .grants
            .iter()
            .map(|kv| from_json(&kv.within("keyspace `grants`")?.1, "grant"))
            .collect()
    }

    /// The grant change log, oldest first.
    pub fn grant_log(&self) -> Result<Vec<GrantChange>, Error> {
        self.inner
            .trees
            .grant_log
            .iter()
            .map(|kv| from_json(&kv.within("keyspace `grant_log`")?.1, "grant log"))
            .collect()
    }

    /// Appends disclosures to the disclosure log, durably: when this
    /// returns, they are on disk (one `fdatasync` shared with concurrent
    /// callers, see the journal).
    pub fn log_disclosures(&self, disclosures: &[Disclosure]) -> Result<(), Error> {
        let payloads = disclosures
            .iter()
            .map(to_json)
            .collect::<Result<Vec<_>, _>>()?;
        self.inner.journal.append(&payloads)
    }

    /// The disclosure log, oldest first, at most `limit` entries after skipping
    /// `skip`.
    pub fn disclosures(&self, skip: usize, limit: usize) -> Result<Vec<Disclosure>, Error> {
        self.inner
            .journal
            .read_all()?
            .iter()
            .skip(skip)
            .take(limit)
            .map(|bytes| from_json(bytes, "disclosure"))
            .collect()
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::corrupt(e.to_string()))
}

pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    what: &str,
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|_| Error::corrupt(what))
}
