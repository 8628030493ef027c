//! Replicas of other organizations' logs, the equivocation evidence that
//! freezes one, and the alerts a node raises.

use assure_access::Compartment;
use assure_log::{Blake3, Hash, SignedCheckpoint, Tree, verify_consistency};
use assure_model::Record;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Within as _;
use crate::grants::{from_json, to_json};
use crate::keys::LogId;
use crate::logs::{LogState, Write};
use crate::{Error, Store, Trees, next_key};

/// Two validly signed checkpoints of one log that cannot both be true, with
/// what lets anyone check that offline ([`Evidence::check`]).
///
/// `first` is the smaller checkpoint (at the same size, either). At the
/// same size the two roots differ. At different sizes, `proof` is taken
/// from the larger checkpoint's tree: the root of its first `first`-size
/// entries and the RFC 9162 consistency proof from that root to the
/// larger checkpoint's signed root. The proof verifies, so (hashes being
/// collision-resistant) that root is the one the larger tree has at the
/// smaller size; it is not the smaller checkpoint's signed root, so the
/// larger checkpoint does not extend the smaller one. A consistency proof
/// that merely fails to verify proves nothing and is never evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The log's origin line.
    pub origin: String,
    /// One checkpoint, as signed: the smaller one.
    pub first: String,
    /// The other, as signed.
    pub second: String,
    /// Why they conflict.
    pub reason: String,
    /// When this node learned of it.
    pub detected_at: Timestamp,
    /// Where the sizes differ: what shows the larger does not extend the
    /// smaller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<ForkProof>,
}

/// What shows that a larger checkpoint does not extend a smaller one of the
/// same log (see [`Evidence`]); hashes in base64, as in a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkProof {
    /// The root of the larger tree's first entries, as many as the smaller
    /// checkpoint's size.
    pub root: String,
    /// The RFC 9162 consistency proof from that root to the larger
    /// checkpoint's root.
    pub path: Vec<String>,
}

impl ForkProof {
    /// The proof from the larger tree's `root` at the smaller size and the
    /// consistency `path` from there.
    pub fn new(root: &Hash, path: &[Hash]) -> Self {
        Self {
            root: BASE64.encode(root),
            path: path.iter().map(|h| BASE64.encode(h)).collect(),
        }
    }

    fn decode(&self) -> Option<(Hash, Vec<Hash>)> {
        let hash = |text: &str| BASE64.decode(text).ok()?.try_into().ok();
        let root = hash(&self.root)?;
        let path = self.path.iter().map(|h| hash(h)).collect::<Option<_>>()?;
        Some((root, path))
    }
}

impl Evidence {
    /// The evidence that `a` and `b`, two checkpoints of `log`, cannot both
    /// be true, `proof` being what the larger one's tree shows where their
    /// sizes differ; refused, saying why, unless it checks.
    pub fn new(
        log: LogId,
        a: &SignedCheckpoint,
        b: &SignedCheckpoint,
        proof: Option<ForkProof>,
        detected_at: Timestamp,
    ) -> Result<Self, Error> {
        let (first, second) = match a.checkpoint().size() <= b.checkpoint().size() {
            true => (a, b),
            false => (b, a),
        };
        let mut evidence = Self {
            origin: log.origin_line(),
            first: first.to_string(),
            second: second.to_string(),
            reason: String::new(),
            detected_at,
            proof,
        };
        evidence.reason = evidence.check(log)?;
        Ok(evidence)
    }

    /// Checks the evidence about `log` as a third party would, with nothing
    /// but the log's key: both notes signed by the log's origin for that
    /// log, and either the same size with different roots, or a proof from
    /// the larger tree that it does not extend the smaller. Returns why they
    /// conflict, in words.
    pub fn check(&self, log: LogId) -> Result<String, Error> {
        let refuse = |why: &str| Err(Error::Evidence(why.to_owned()));
        let note = |text: &str| {
            let note = SignedCheckpoint::parse(text).ok()?;
            let signed = note.verify(&log.origin.to_string(), &log.origin.verifying_key());
            (note.checkpoint().origin() == log.origin_line() && signed.is_ok()).then_some(note)
        };
        if self.origin != log.origin_line() {
            return refuse("it names another log");
        }
        let (Some(first), Some(second)) = (note(&self.first), note(&self.second)) else {
            return refuse("a checkpoint is not signed by the log's author for this log");
        };
        let (small, large) = (first.checkpoint(), second.checkpoint());
        if small.size() == large.size() {
            return match (small.root() != large.root(), &self.proof) {
                (true, None) => Ok(format!("two different roots at size {}", small.size())),
                (false, _) => refuse("the two checkpoints agree"),
                (true, Some(_)) => refuse("a proof where the sizes are the same"),
            };
        }
        if small.size() > large.size() {
            return refuse("the smaller checkpoint must come first");
        }
        let Some((root, path)) = self.proof.as_ref().and_then(ForkProof::decode) else {
            return refuse("sizes differ and there is no proof from the larger tree");
        };
        if root == *small.root() {
            return refuse(
                "the larger tree's root at the smaller size is the smaller checkpoint's",
            );
        }
        if verify_consistency::<Blake3>(small.size(), large.size(), &root, large.root(), &path)
            .is_err()
        {
            return refuse("the proof does not lead to the larger checkpoint's root");
        }
        Ok(format!(
            "size {} does not extend size {}: its first {} entries have root {}, not the signed {}",
            large.size(),
            small.size(),
            small.size(),
            BASE64.encode(root),
            BASE64.encode(small.root()),
        ))
    }
}

/// Something the node's operator must know about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// When it was raised.
    pub at: Timestamp,
    /// What it is about: [`Alert::EQUIVOCATION`], [`Alert::INCIDENT`],
    /// [`Alert::AWAITING_ACKNOWLEDGEMENT`], [`Alert::ACCESS_REQUEST`], or
    /// one computed when read ([`Alert::EXPIRING_CERTIFICATION`],
    /// [`Alert::EXPIRING_GRANT`]).
    pub kind: String,
    /// The organization concerned.
    pub origin: String,
    /// What happened, in plain words.
    pub detail: String,
    /// The record concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The origin line of the log it concerns. Only readers of that log
    /// are shown the alert; one that names no log is the owner's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

impl Alert {
    /// Two checkpoints of one log that cannot both be true.
    pub const EQUIVOCATION: &'static str = "equivocation";
    /// An incident that names us as affected, or that is shared with us as
    /// a regulator.
    pub const INCIDENT: &'static str = "incident";
    /// An audit of us that we have not co-signed.
    pub const AWAITING_ACKNOWLEDGEMENT: &'static str = "awaiting-acknowledgement";
    /// An organization asks us for access.
    pub const ACCESS_REQUEST: &'static str = "access-request";
    /// A certification of us or of one of our providers ends soon
    /// (computed when alerts are read, never stored).
    pub const EXPIRING_CERTIFICATION: &'static str = "expiring-certification";
    /// A grant of ours ends soon (computed when alerts are read, never
    /// stored).
    pub const EXPIRING_GRANT: &'static str = "expiring-grant";
    /// Every kind, for filters and their error messages.
    pub const KINDS: [&'static str; 6] = [
        Self::EQUIVOCATION,
        Self::INCIDENT,
        Self::AWAITING_ACKNOWLEDGEMENT,
        Self::ACCESS_REQUEST,
        Self::EXPIRING_CERTIFICATION,
        Self::EXPIRING_GRANT,
    ];

    /// The alert's stable id (32 hex characters): a hash of what it says,
    /// so that alerts stored before ids existed have one too, and the same
    /// computed alert gets the same id each time it is computed.
    pub fn id(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        let at = self.at.as_nanosecond().to_be_bytes();
        let parts: [&[u8]; 6] = [
            self.kind.as_bytes(),
            self.origin.as_bytes(),
            &at,
            self.detail.as_bytes(),
            self.record.as_deref().unwrap_or_default().as_bytes(),
            self.log.as_deref().unwrap_or_default().as_bytes(),
        ];
        for part in parts {
            hasher.update(&(part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        hex::encode(&hasher.finalize().as_bytes()[..16])
    }

    /// The stable id of an alert computed when read, from what makes it
    /// that alert (a record id, a grant's party and version) rather than
    /// its wording, which names may change.
    pub fn computed_id(kind: &str, key: &str) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"assure computed alert\0");
        hasher.update(kind.as_bytes());
        hasher.update(b"\0");
        hasher.update(key.as_bytes());
        hex::encode(&hasher.finalize().as_bytes()[..16])
    }

    /// The log the alert concerns.
    pub fn log(&self) -> Option<LogId> {
        self.log.as_deref().and_then(LogId::from_origin_line)
    }
}

impl Store {
    /// Appends verified entries to a replica (creating it on first use) and
    /// adopts `note` as its checkpoint, atomically and durably.
    ///
    /// The caller has verified every envelope and the note's signature; the
    /// store checks that the entries extend the replica to exactly the note's
    /// size and root, and that the replica is not frozen.
    pub fn append_replica(
        &self,
        log: LogId,
        compartment: &Compartment,
        entries: &[(Vec<u8>, Record)],
        note: &SignedCheckpoint,
    ) -> Result<(), Error> {
        if self.evidence_of(log)?.is_some() {
            return Err(Error::Frozen(log.origin_line()));
        }
        let mut state = self.state();
        let existing = state.logs.get(&log);
        let mut tree = existing.map(|s| s.tree.clone()).unwrap_or_default();
        let mut write = Write::default();
        for (bytes, record) in entries {
            write.push(log, &mut tree, bytes, record);
        }
        let head = note.checkpoint();
        if head.size() != tree.len() || *head.root() != tree.root() {
            return Err(Error::RootMismatch {
                origin: log.origin_line(),
                size: head.size(),
            });
        }
        write.checkpoint(log, note.clone());
        if existing.is_none() {
            write.compartment(log, compartment)?;
        }
        let places = write.commit(&self.inner.trees, &self.inner.segments)?;
        self.flush()?;
        write.index_into(&mut state, places);
        state.logs.insert(
            log,
            LogState {
                compartment: compartment.clone(),
                tree,
                checkpoint: note.clone(),
            },
        );
        Ok(())
    }

    /// Appends verified entries `from..` to a replica (creating it on first
    /// use) and holds them, atomically and durably, as a prefix of `note`'s
    /// tree; returns how many entries the replica holds now.
    ///
    /// `proof` is the RFC 9162 consistency proof from the tree the entries
    /// make to `note`'s: with it, the entries held are proven to be the first
    /// entries of the tree the author signed, and they are indexed and read
    /// like any other. When the entries reach the note's size the proof is
    /// empty, the root must be the note's, and the replica holds the whole
    /// log as [`Store::append_replica`] leaves it.
    ///
    /// The caller has verified every envelope and the note's signature, and,
    /// when `note` replaces a checkpoint the replica was held against in part,
    /// that the two are consistent (the entries held prove that for a
    /// checkpoint held whole). Refused, nothing of the entries is stored: a
    /// frozen replica, entries that do not start where the replica ends, more
    /// entries than the note's size, or a proof that does not lead from their
    /// tree to the note's.
    pub fn commit_prefix(
        &self,
        log: LogId,
        compartment: &Compartment,
        from: u64,
        entries: &[(Vec<u8>, Record)],
        note: &SignedCheckpoint,
        proof: &[Hash],
    ) -> Result<u64, Error> {
        if self.evidence_of(log)?.is_some() {
            return Err(Error::Frozen(log.origin_line()));
        }
        let mut state = self.state();
        let held = state.logs.get(&log).map_or(0, |s| s.tree.len());
        if held != from {
            return Err(Error::Gap {
                origin: log.origin_line(),
                held,
                from,
            });
        }
        let mut fresh = Tree::new();
        let existing = state.logs.get_mut(&log);
        let is_new = existing.is_none();
        // Appended in place (a copy would cost the whole tree per page), and
        // cut back if the write is refused or fails.
        let tree = existing.map_or(&mut fresh, |s| &mut s.tree);
        let mut write = Write::default();
        for (bytes, record) in entries {
            write.push(log, tree, bytes, record);
        }
        let written = (|| {
            let head = note.checkpoint();
            let size = tree.len();
            if size > head.size()
                || verify_consistency::<Blake3>(size, head.size(), &tree.root(), head.root(), proof)
                    .is_err()
            {
                return Err(Error::RootMismatch {
                    origin: log.origin_line(),
                    size: head.size(),
                });
            }
            write.checkpoint(log, note.clone());
            let in_part = (size < head.size()).then(|| Prefix::encode(size, proof));
            write.prefix(log, in_part);
            if is_new {
                write.compartment(log, compartment)?;
            }
            let places = write.commit(&self.inner.trees, &self.inner.segments)?;
            self.flush()?;
            Ok((size, places))
        })();
        let (size, places) = match written {
            Ok(written) => written,
            Err(error) => {
                tree.truncate(held);
                return Err(error);
            }
        };
        write.index_into(&mut state, places);
        match state.logs.get_mut(&log) {
            Some(held) => held.checkpoint = note.clone(),
            None => {
                state.logs.insert(
                    log,
                    LogState {
                        compartment: compartment.clone(),
                        tree: fresh,
                        checkpoint: note.clone(),
                    },
                );
            }
        }
        Ok(size)
    }

    /// The RFC 9162 consistency proof between two sizes of a readable log,
    /// made under the lock rather than from a copy of its tree (a page
    /// served to a member carries one). `None` for a log outside the set;
    /// an error for sizes the log cannot prove.
    pub fn consistency_proof(
        &self,
        visible: &assure_access::Visible,
        log: LogId,
        old_size: u64,
        new_size: u64,
    ) -> Option<Result<Vec<Hash>, assure_log::TreeError>> {
        if !visible.contains(&log) {
            return None;
        }
        let state = self.state();
        let held = state.logs.get(&log)?;
        Some(held.tree.consistency_proof(old_size, new_size))
    }

    /// Gives a replica the compartment `compartment` (the same id, the
    /// label and rule the member keeps), durably, when it differs from the
    /// one held: whether we read a log as its author's regulator follows
    /// our grant, which may change after the first pull. `false` when the
    /// replica is not held or already has it.
    pub fn relabel_replica(&self, log: LogId, compartment: &Compartment) -> Result<bool, Error> {
        if log.compartment != compartment.id {
            return Err(Error::corrupt("a replica keeps its compartment's id"));
        }
        let mut state = self.state();
        let Some(held) = state.logs.get_mut(&log) else {
            return Ok(false);
        };
        if held.compartment == *compartment {
            return Ok(false);
        }
        self.inner
            .trees
            .compartments
            .insert(log.to_bytes(), to_json(compartment)?)
            .within("keyspace `compartments`")?;
        self.flush()?;
        held.compartment = compartment.clone();
        Ok(true)
    }

    /// Records equivocation evidence: the replica is frozen from now on, and
    /// one alert is raised. Keeps the first evidence found for a log;
    /// evidence that does not check ([`Evidence::check`]) is refused and
    /// changes nothing. `true` when this evidence froze the replica.
    pub fn freeze(&self, log: LogId, evidence: &Evidence) -> Result<bool, Error> {
        evidence.check(log)?;
        // One at a time: a pull and a witness round that find the same
        // fork at once keep one piece of evidence and raise one alert.
        let _one = self
            .inner
            .raising
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.evidence_of(log)?.is_some() {
            return Ok(false);
        }
        self.inner
            .trees
            .evidence
            .insert(log.to_bytes(), to_json(evidence)?)
            .within("keyspace `evidence`")?;
        self.raise(&Alert {
            at: evidence.detected_at,
            kind: Alert::EQUIVOCATION.into(),
            origin: log.origin.to_string(),
            detail: format!(
                "{} signed two checkpoints of one log that cannot both be true ({}); the replica is frozen",
                log.origin, evidence.reason
            ),
            record: None,
            log: Some(log.origin_line()),
        })?;
        Ok(true)
    }

    /// The evidence that froze a log, if any (inside the store; readers go
    /// through [`Store::evidence`]).
    pub(crate) fn evidence_of(&self, log: LogId) -> Result<Option<Evidence>, Error> {
        self.inner
            .trees
            .evidence
            .get(log.to_bytes())
            .within("keyspace `evidence`")?
            .map(|bytes| from_json(&bytes, "evidence"))
            .transpose()
    }

    /// Every piece of evidence held, with its log.
    pub(crate) fn evidence_all(&self) -> Result<Vec<(LogId, Evidence)>, Error> {
        self.inner
            .trees
            .evidence
            .iter()
            .map(|kv| {
                let (key, value) = kv.within("keyspace `evidence`")?;
                let log = LogId::from_bytes(&key).ok_or_else(|| Error::corrupt("evidence key"))?;
                Ok((log, from_json(&value, "evidence")?))
            })
            .collect()
    }

    /// Raises an alert, durably.
    pub fn raise(&self, alert: &Alert) -> Result<(), Error> {
        let seq = next_key(&self.inner.db)?;
        self.inner
            .trees
            .alerts
            .insert(seq, to_json(alert)?)
            .within("keyspace `alerts`")?;
        self.flush()
    }

    /// Raises an alert about a record unless one of the same kind about the
    /// same record was raised before, durably; `true` when it was raised.
    /// A replica fetched again (after a quarantine, or in pages that
    /// overlap) does not raise its alerts twice.
    pub fn raise_once(&self, alert: &Alert) -> Result<bool, Error> {
        let _one = self
            .inner
            .raising
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let raised = self
            .alerts_all()?
            .iter()
            .any(|a| a.kind == alert.kind && a.record.is_some() && a.record == alert.record);
        if raised {
            return Ok(false);
        }
        self.raise(alert)?;
        Ok(true)
    }

    /// Every alert, oldest first.
    pub(crate) fn alerts_all(&self) -> Result<Vec<Alert>, Error> {
        self.inner
            .trees
            .alerts
            .iter()
            .map(|kv| from_json(&kv.within("keyspace `alerts`")?.1, "alert"))
            .collect()
    }
}

/// The key, in the checkpoints tree, of the proof that a replica held in
/// part is a prefix of its checkpoint's tree: the log's key and a suffix, so
/// that it never reads as a log's checkpoint.
pub(crate) fn prefix_key(log: LogId) -> Vec<u8> {
    [&log.to_bytes()[..], b"/prefix"].concat()
}

/// What a replica held in part keeps beside its checkpoint: how many
/// entries it holds, and the RFC 9162 consistency proof from the tree they
/// make to the checkpoint's. The open takes the size as what the
/// checkpoint covers (entries beyond it were never committed) and checks
/// the proof as it checks a whole log's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub(crate) size: u64,
    proof: Vec<Hash>,
}

impl Prefix {
    /// The stored form: the size (8 bytes, big-endian), then the proof's
    /// hashes.
    fn encode(size: u64, proof: &[Hash]) -> Vec<u8> {
        [&size.to_be_bytes()[..], &proof.concat()].concat()
    }

    /// The prefix stored for `log`, if it is held in part.
    pub(crate) fn read(trees: &Trees, log: LogId) -> Result<Option<Self>, Error> {
        let Some(bytes) = trees
            .checkpoints
            .get(prefix_key(log))
            .within("keyspace `checkpoints`")?
        else {
            return Ok(None);
        };
        let corrupt = || Error::corrupt("prefix proof");
        let (size, proof) = bytes.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let proof = proof
            .chunks(32)
            .map(|chunk| chunk.try_into().map_err(|_| corrupt()))
            .collect::<Result<_, _>>()?;
        Ok(Some(Self {
            size: u64::from_be_bytes(*size),
            proof,
        }))
    }

    /// Whether `tree` is this prefix of `note`'s tree.
    pub(crate) fn proves(&self, tree: &Tree<Blake3>, note: &SignedCheckpoint) -> bool {
        let head = note.checkpoint();
        tree.len() == self.size
            && self.size < head.size()
            && verify_consistency::<Blake3>(
                self.size,
                head.size(),
                &tree.root(),
                head.root(),
                &self.proof,
            )
            .is_ok()
    }
}
