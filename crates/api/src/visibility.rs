//! Who is asking, what they may see, and the disclosure log.

use std::collections::BTreeMap;

use assure_access::decide;
use assure_model::Did;
use assure_store::{Disclosure, LogId, LogSummary, Store};
use jiff::Timestamp;

/// The party behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No credentials: public compartments only.
    Anonymous,
    /// A request signed with an organization key.
    Party(Did),
    /// The node's own administration (bearer token, or a dashboard session).
    Admin,
}

impl Caller {
    pub(crate) fn is_admin(&self) -> bool {
        matches!(self, Caller::Admin)
    }
}

/// One log the caller may see, and on what footing.
#[derive(Clone, Debug)]
pub(crate) struct Visible {
    pub(crate) summary: LogSummary,
    /// The grant version it rests on; `None` for public logs, the caller's
    /// own replicated logs and the admin.
    pub(crate) grant_version: Option<u64>,
    /// Whether serving it must be logged.
    pub(crate) disclosed: bool,
}

/// The logs `caller` may see at `now`, by log id.
///
/// Our own logs go by the read decision of DESIGN.md §4, as on the network.
/// Replicas of other organizations' logs are only shown when public, or to
/// their own author: their author's grants decided that we may read them,
/// not that we may pass them on.
pub(crate) fn visible(
    store: &Store,
    owner: Did,
    caller: &Caller,
    now: Timestamp,
) -> Result<BTreeMap<LogId, Visible>, assure_store::Error> {
    let grant = match caller {
        Caller::Party(party) => store.grant(party)?,
        _ => None,
    };
    let mut out = BTreeMap::new();
    for summary in store.logs_summary() {
        let public = summary.compartment.rule.is_public();
        let found = match caller {
            Caller::Admin => Some((None, false)),
            Caller::Anonymous => public.then_some((None, false)),
            Caller::Party(party) if summary.log.origin == owner => {
                decide(&summary.compartment.rule, party, grant.as_ref(), now)
                    .map(|d| (d.grant_version(), !public))
            }
            Caller::Party(party) => {
                (public || summary.log.origin == *party).then_some((None, false))
            }
        };
        if let Some((grant_version, disclosed)) = found {
            out.insert(
                summary.log,
                Visible {
                    summary,
                    grant_version,
                    disclosed,
                },
            );
        }
    }
    Ok(out)
}

/// Logs that `caller` was shown the entries `shown` (log and index range; an
/// empty range for a log's checkpoint alone), for the non-public logs, one
/// disclosure per log covering what was shown of it.
pub(crate) fn disclose(
    store: &Store,
    caller: &Caller,
    purpose: Option<&str>,
    visible: &BTreeMap<LogId, Visible>,
    shown: impl IntoIterator<Item = (LogId, std::ops::Range<u64>)>,
    now: Timestamp,
) -> Result<(), assure_store::Error> {
    let Caller::Party(party) = caller else {
        return Ok(());
    };
    let mut ranges: BTreeMap<LogId, (u64, u64)> = BTreeMap::new();
    for (log, part) in shown {
        if visible.get(&log).is_some_and(|v| v.disclosed) {
            let range = ranges.entry(log).or_insert((part.start, part.end));
            range.0 = range.0.min(part.start);
            range.1 = range.1.max(part.end);
        }
    }
    if ranges.is_empty() {
        return Ok(());
    }
    let disclosures: Vec<Disclosure> = ranges
        .into_iter()
        .map(|(log, (from, to))| Disclosure {
            at: now,
            party: *party,
            compartment: log.compartment,
            from,
            to,
            grant_version: visible.get(&log).and_then(|v| v.grant_version),
            channel: "api".into(),
            purpose: purpose.map(str::to_owned),
        })
        .collect();
    store.log_disclosures(&disclosures)
}
