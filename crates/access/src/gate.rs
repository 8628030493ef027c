//! The one read gate (DESIGN.md §4): who is reading, and the set of logs
//! they may read now.
//!
//! [`gate`] is the only constructor of [`Visible`], and the store releases
//! entries, records, counts, checkpoints, evidence and alerts only for a
//! `Visible`, so a read path that forgets to ask cannot compile. A `Visible`
//! can only be narrowed: filters remove logs, never add them, and an empty
//! set reads as nothing.

use std::collections::{BTreeMap, BTreeSet};

use assure_model::Did;
use jiff::Timestamp;

use crate::decision::{Decision, decide};
use crate::grant::Grant;
use crate::log_id::LogId;
use crate::rule::Rule;

/// Who is reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// No credentials: public logs only.
    Anonymous,
    /// Another organization, authenticated (a Noise connection or a signed
    /// request).
    Party(Did),
    /// The node's own organization: its operator, its own operations.
    Owner,
}

/// On what footing one log is readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// The log's rule admits anyone.
    Public,
    /// The reader's grant admits it: serving it is a disclosure, recorded
    /// under this grant version.
    Granted {
        /// The grant's version.
        version: u64,
    },
    /// The reader wrote the log: a replica shown back to its author.
    Author,
    /// A replica whose author vouched (with a witness ticket) that the
    /// reader may read it now.
    Vouched,
    /// The node's own organization reads what it holds.
    Owner,
}

impl Access {
    /// Whether serving this log to the reader must be written to the
    /// disclosure log.
    pub fn is_disclosure(self) -> bool {
        matches!(self, Access::Granted { .. })
    }

    /// The grant version the read rests on, if a grant was needed.
    pub fn grant_version(self) -> Option<u64> {
        match self {
            Access::Granted { version } => Some(version),
            _ => None,
        }
    }
}

/// The logs one reader may read now, each with its [`Access`]. Only
/// [`gate`] makes one; [`Visible::narrow`] and [`Visible::only`] make
/// smaller ones.
#[derive(Clone, Debug)]
pub struct Visible {
    reader: Reader,
    logs: BTreeMap<LogId, Access>,
    at: Timestamp,
    channel: &'static str,
    purpose: Option<String>,
}

/// Decides, for `reader` at `now`, which of the logs held by the node of
/// `owner` it may read. `logs` gives every log the node holds with the rule
/// it holds for it (for a replica, the rule as its author told it);
/// `grant` is the grant `owner` holds for the reader, if any.
///
/// - The owner reads everything it holds.
/// - Anonymous readers read the owner's public logs.
/// - A party reads the owner's own logs by [`decide`] (DESIGN.md §4), and
///   a replica only when the party wrote it, or when the party showed the
///   author's current word that it may read it (`vouched`: witness
///   tickets). We hold no grant of the author's, so we never pass its
///   restricted logs on; and not even its public ones, because which
///   public logs we hold says whom we deal with. Anyone may read those
///   from their authors.
///
/// `channel` (`api`, `network`) and the purpose go into the disclosures
/// made under this set.
pub fn gate<'r>(
    owner: Did,
    reader: Reader,
    grant: Option<&Grant>,
    logs: impl IntoIterator<Item = (LogId, &'r Rule)>,
    vouched: &BTreeSet<LogId>,
    now: Timestamp,
    channel: &'static str,
) -> Visible {
    let logs = logs
        .into_iter()
        .filter_map(|(log, rule)| {
            let access = match &reader {
                Reader::Owner => Access::Owner,
                Reader::Anonymous if log.origin == owner => {
                    rule.is_public().then_some(Access::Public)?
                }
                Reader::Anonymous => return None,
                Reader::Party(party) if log.origin == owner => {
                    match decide(rule, party, grant, now)? {
                        Decision::Public => Access::Public,
                        Decision::Granted { version } => Access::Granted { version },
                    }
                }
                Reader::Party(party) if log.origin == *party => Access::Author,
                Reader::Party(_) if vouched.contains(&log) => Access::Vouched,
                Reader::Party(_) => return None,
            };
            Some((log, access))
        })
        .collect();
    Visible {
        reader,
        logs,
        at: now,
        channel,
        purpose: None,
    }
}

impl Visible {
    /// The same set, with the purpose the reader gave for its request.
    #[must_use]
    pub fn with_purpose(mut self, purpose: Option<String>) -> Self {
        self.purpose = purpose;
        self
    }

    /// Who is reading.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// The reading party, if it is another organization.
    pub fn party(&self) -> Option<Did> {
        match self.reader {
            Reader::Party(party) => Some(party),
            _ => None,
        }
    }

    /// When the gate decided: what the reads under this set rest on, and
    /// the time their disclosures are recorded at.
    pub fn decided_at(&self) -> Timestamp {
        self.at
    }

    /// The channel disclosures under this set are recorded with.
    pub fn channel(&self) -> &'static str {
        self.channel
    }

    /// The purpose the reader gave.
    pub fn purpose(&self) -> Option<&str> {
        self.purpose.as_deref()
    }

    /// How `log` may be read, `None` when it may not (or does not exist:
    /// the two are the same here).
    pub fn get(&self, log: &LogId) -> Option<Access> {
        self.logs.get(log).copied()
    }

    /// Whether `log` may be read.
    pub fn contains(&self, log: &LogId) -> bool {
        self.logs.contains_key(log)
    }

    /// Every readable log, in log order.
    pub fn logs(&self) -> impl Iterator<Item = (LogId, Access)> + '_ {
        self.logs.iter().map(|(log, access)| (*log, *access))
    }

    /// How many logs may be read.
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    /// Whether nothing may be read.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// Whether every readable log is public: nothing served under this set
    /// is a disclosure or restricted.
    pub fn is_public_only(&self) -> bool {
        self.logs.values().all(|a| *a == Access::Public)
    }

    /// The logs of this set for which `keep` holds.
    #[must_use]
    pub fn narrow(&self, mut keep: impl FnMut(&LogId) -> bool) -> Visible {
        Visible {
            reader: self.reader.clone(),
            logs: self
                .logs
                .iter()
                .filter(|(log, _)| keep(log))
                .map(|(log, access)| (*log, *access))
                .collect(),
            at: self.at,
            channel: self.channel,
            purpose: self.purpose.clone(),
        }
    }

    /// Just `log`, if it is in this set; otherwise an empty set.
    #[must_use]
    pub fn only(&self, log: &LogId) -> Visible {
        self.narrow(|l| l == log)
    }
}

#[cfg(test)]
mod tests {
    use assure_model::Keypair;

    use super::*;
    use crate::{Clearance, CompartmentId, Role};

    fn org(n: u8) -> Did {
        Keypair::from_seed([n; 32]).did()
    }

    fn log(origin: Did, n: u8) -> LogId {
        LogId {
            origin,
            compartment: CompartmentId::from_bytes([n; 16]),
        }
    }

    #[test]
    fn replicas_go_to_their_author_alone() {
        let (me, author, other) = (org(1), org(2), org(3));
        let public = Rule::public();
        let partners = Rule::partners();
        let held = [
            (log(me, 1), &public),
            (log(me, 2), &partners),
            (log(author, 3), &public),
            (log(author, 4), &partners),
        ];
        let grant = Grant::new(
            other,
            [Role::Customer].into_iter().collect(),
            Clearance::Partner,
            "NDA",
            Timestamp::from_second(0).unwrap(),
            None,
            7,
        )
        .unwrap();
        let now = Timestamp::from_second(10).unwrap();
        let seen = |reader, grant| -> Vec<(u8, Access)> {
            let mut seen: Vec<(u8, Access)> =
                gate(me, reader, grant, held, &BTreeSet::new(), now, "api")
                    .logs()
                    .map(|(l, a)| (l.compartment.as_bytes()[0], a))
                    .collect();
            seen.sort_by_key(|(n, _)| *n);
            seen
        };
        // Holding another's public log says whom we deal with: it is the
        // author's to show.
        assert_eq!(seen(Reader::Anonymous, None), [(1, Access::Public)]);
        assert_eq!(
            seen(Reader::Party(other), Some(&grant)),
            [(1, Access::Public), (2, Access::Granted { version: 7 })]
        );
        assert_eq!(
            seen(Reader::Party(author), None),
            [
                (1, Access::Public),
                (3, Access::Author),
                (4, Access::Author)
            ]
        );
        assert_eq!(seen(Reader::Owner, None).len(), 4);
    }

    #[test]
    fn narrowing_never_widens() {
        let me = org(1);
        let public = Rule::public();
        let held = [(log(me, 1), &public)];
        let now = Timestamp::from_second(10).unwrap();
        let visible = gate(
            me,
            Reader::Anonymous,
            None,
            held,
            &BTreeSet::new(),
            now,
            "api",
        );
        assert!(visible.only(&log(me, 9)).is_empty());
        assert!(visible.narrow(|_| false).is_empty());
        assert_eq!(visible.only(&log(me, 1)).len(), 1);
    }
}
