//! Backups: a portable, self-verifying archive of the owner's logs, grants,
//! disclosure log and the node's working state, as JSON lines; and restoring
//! one into a data directory.
//!
//! Each line is one JSON object: a header, then per compartment its
//! description and signed checkpoint followed by its entries (base64, so that
//! every envelope comes back byte for byte), then grants, the grant log and
//! the disclosure log, then the working state (access requests received and
//! sent, alert acknowledgements, webhooks, their delivery log and what was
//! dispatched, the peer book; [`STATE`]), and last an `end` line carrying the line count and the
//! blake3 digest of every byte before it. A backup may carry, right after its
//! header, a `key` line: the owner's secret key encrypted by the node, which
//! the store keeps opaque and covers by the digest like every other line. Restoring checks every envelope,
//! recomputes every root against its signed checkpoint and checks the digest
//! before the restored database replaces the current one. A restore that
//! would leave one of the owner's logs with fewer entries than the data
//! directory holds, or with other entries, is refused unless the caller
//! says [`Older::Restore`]: partners hold those entries, and the next entry
//! signed after them would fork the history they know.

use std::collections::BTreeMap;
use std::io::{BufRead, Read as _, Write};
use std::path::Path;

use assure_access::{Compartment, Grant};
use assure_log::{Blake3, SignedCheckpoint, Tree};
use assure_model::Did;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Within as _;
use crate::grants::{Disclosure, GrantChange, from_json, to_json};
use crate::journal::Journal;
use crate::keys::LogId;
use crate::logs::Write as LogWrite;
use crate::segments::{Segments, sync_dir};
use crate::{DB_DIR, Error, Store, Trees, lock_dir, open_db, open_db_file, sync_db};

/// The format named in a backup's header line: `assure-backup/3` may carry
/// a `key` line after the header and `state` lines after the disclosures.
pub const RESTORE_FORMAT: &str = "assure-backup/3";

/// The formats a restore reads: this one; `assure-backup/2`, the same
/// without `state` lines; and `assure-backup/1`, without the `key` line.
const READ_FORMATS: [&str; 3] = [RESTORE_FORMAT, "assure-backup/2", "assure-backup/1"];

/// The trees of working state a backup carries, by name, and how a
/// restore checks each value before it is kept.
const STATE: [(&str, Check); 7] = [
    (
        "access_requests",
        Check::Keyed(json::<crate::AccessRequest>),
    ),
    (
        "outgoing_requests",
        Check::Keyed(json::<crate::OutgoingRequest>),
    ),
    ("alert_acks", Check::Keyed(json::<crate::Acknowledgement>)),
    ("webhooks", Check::Keyed(json::<crate::Webhook>)),
    // Numbered like live attempts on restore, so later ones never collide.
    ("webhook_log", Check::Numbered(json::<crate::Attempt>)),
    (
        "dispatched",
        Check::Keyed(|v| (v.len() == 8).then_some(()).ok_or(())),
    ),
    ("peers", Check::Keyed(json::<crate::Peer>)),
];

/// How a restore checks one state value.
#[derive(Clone, Copy)]
enum Check {
    /// Kept under its key once the value passes.
    Keyed(fn(&[u8]) -> Result<(), ()>),
    /// Kept under a fresh sequence number once the value passes.
    Numbered(fn(&[u8]) -> Result<(), ()>),
}

fn json<T: for<'de> Deserialize<'de>>(value: &[u8]) -> Result<(), ()> {
    serde_json::from_slice::<T>(value).map(drop).map_err(drop)
}

/// A backup's first lines: whose it is and, if it carries one, its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupHeader {
    /// The format the header names.
    pub format: String,
    /// The organization whose logs these are.
    pub owner: Did,
    /// When the backup was written.
    pub created: Timestamp,
    /// The owner's secret key as the node encrypted it, if the backup has it.
    pub key: Option<String>,
}

impl BackupHeader {
    /// Reads the header and the `key` line, if any, without checking the
    /// rest: a restore checks every line, this only tells what to expect.
    pub fn read(mut input: impl BufRead) -> Result<Self, Error> {
        let mut next = |number: usize| -> Result<Option<Line>, Error> {
            let mut text = Vec::new();
            input
                .read_until(b'\n', &mut text)
                .map_err(|e| Error::Backup(e.to_string()))?;
            match text.is_empty() {
                true => Ok(None),
                false => parse_line(number, &text).map(Some),
            }
        };
        let header = next(0)?.ok_or_else(|| Error::Backup(EMPTY.into()))?;
        header_format(0, &header)?;
        let Line::Header {
            format,
            owner,
            created,
            ..
        } = header
        else {
            unreachable!("header_format accepts headers only")
        };
        let key = match next(1)? {
            Some(Line::Key(key)) => Some(key),
            _ => None,
        };
        Ok(Self {
            format,
            owner,
            created,
            key,
        })
    }
}

/// What a backup or restore covered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BackupSummary {
    /// The organization whose logs these are.
    pub owner: Option<Did>,
    /// Compartments.
    pub compartments: u64,
    /// Entries over all compartments.
    pub entries: u64,
    /// Grants.
    pub grants: u64,
    /// Each of the owner's logs in the backup, with its size.
    pub logs: Vec<BackupLog>,
    /// The owner's logs a restore took back to fewer entries or another
    /// history (only with [`Older::Restore`]).
    pub rolled_back: Vec<RolledBack>,
}

/// One of the owner's logs in a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupLog {
    /// The compartment's label.
    pub label: String,
    /// Its entries, up to the signed checkpoint.
    pub size: u64,
}

/// One of the owner's logs that a restore takes back: the data directory
/// holds more entries than the backup, or other ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RolledBack {
    /// The compartment's label.
    pub label: String,
    /// The entries the data directory's checkpoint covers.
    pub held: u64,
    /// The entries the backup's checkpoint covers.
    pub backup: u64,
    /// Whether the backup's first `held` entries differ from the data
    /// directory's: the two are different histories, not an older and a
    /// newer one.
    pub forked: bool,
}

/// What a restore does when the backup holds less of one of the owner's
/// logs than the data directory (fewer entries, or other ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Older {
    /// Refuse with [`Error::Older`], writing nothing.
    Refuse,
    /// Restore anyway; the summary lists what was taken back.
    Restore,
}

/// `partners: 10 entries here, 4 in the backup; …`, for messages.
pub(crate) fn describe(logs: &[RolledBack]) -> String {
    logs.iter()
        .map(|log| match log.forked {
            true => format!(
                "{}: {} entries here, {} in the backup, of which the first {} differ",
                log.label, log.held, log.backup, log.held
            ),
            false => format!(
                "{}: {} entries here, {} in the backup",
                log.label, log.held, log.backup
            ),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
enum Line {
    Header {
        format: String,
        owner: Did,
        created: Timestamp,
        /// The organization's name from `assure init --name`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    Key(String),
    Compartment {
        compartment: Compartment,
        checkpoint: String,
    },
    Entry(String),
    Grant(Grant),
    GrantChange(GrantChange),
    Disclosure(Disclosure),
    /// One entry of a tree of working state ([`STATE`]), key and value in
    /// base64.
    State {
        tree: String,
        key: String,
        value: String,
    },
    End {
        lines: u64,
        digest: String,
    },
}

/// Writes lines and hashes every byte written.
struct Writer<W> {
    out: W,
    hasher: blake3::Hasher,
    lines: u64,
}

impl<W: Write> Writer<W> {
    fn line(&mut self, line: &Line) -> Result<(), Error> {
        let mut bytes = to_json(line)?;
        bytes.push(b'\n');
        self.hasher.update(&bytes);
        self.lines += 1;
        self.out
            .write_all(&bytes)
            .map_err(|e| Error::Backup(e.to_string()))
    }
}

impl Store {
    /// Writes a backup of the owner's logs, grants and disclosure log.
    pub fn backup(&self, out: impl Write, now: Timestamp) -> Result<BackupSummary, Error> {
        self.backup_with_key(out, now, None)
    }

    /// Writes a backup that also carries `key`, the owner's secret key as the
    /// caller encrypted it (one line of text; the store does not read it).
    pub fn backup_with_key(
        &self,
        out: impl Write,
        now: Timestamp,
        key: Option<&str>,
    ) -> Result<BackupSummary, Error> {
        let owner = self
            .owner()?
            .ok_or_else(|| Error::Backup("the store has no owner yet".into()))?;
        let mut w = Writer {
            out,
            hasher: blake3::Hasher::new(),
            lines: 0,
        };
        let mut summary = BackupSummary {
            owner: Some(owner),
            ..Default::default()
        };
        w.line(&Line::Header {
            format: RESTORE_FORMAT.into(),
            owner,
            created: now,
            name: self.name()?,
        })?;
        if let Some(key) = key {
            w.line(&Line::Key(key.to_owned()))?;
        }
        for log in self
            .logs_all()
            .into_iter()
            .filter(|s| s.log.origin == owner)
        {
            let label = log.compartment.label.clone();
            w.line(&Line::Compartment {
                compartment: log.compartment,
                checkpoint: log.checkpoint.to_string(),
            })?;
            // Entries up to the checkpoint only: the note and entries match.
            let size = log.checkpoint.checkpoint().size();
            for bytes in self.entries(log.log, 0, size)? {
                w.line(&Line::Entry(BASE64.encode(bytes)))?;
                summary.entries += 1;
            }
            summary.compartments += 1;
            summary.logs.push(BackupLog { label, size });
        }
        for grant in self.grants()? {
            w.line(&Line::Grant(grant))?;
            summary.grants += 1;
        }
        for change in self.grant_log()? {
            w.line(&Line::GrantChange(change))?;
        }
        for disclosure in self.disclosures(0, usize::MAX)? {
            w.line(&Line::Disclosure(disclosure))?;
        }
        for (name, _) in STATE {
            for kv in self
                .inner
                .db
                .open_tree(name)
                .within(&format!("keyspace `{name}`"))?
                .iter()
            {
                let (key, value) = kv.within(&format!("keyspace `{name}`"))?;
                w.line(&Line::State {
                    tree: name.to_owned(),
                    key: BASE64.encode(key),
                    value: BASE64.encode(value),
                })?;
            }
        }
        let digest = w.hasher.finalize().to_hex().to_string();
        let lines = w.lines;
        w.line(&Line::End { lines, digest })?;
        w.out.flush().map_err(|e| Error::Backup(e.to_string()))?;
        Ok(summary)
    }

    /// Restores a backup into `dir`, replacing its database once the whole
    /// backup has verified. The previous database, if any, is kept beside it
    /// as `db.replaced-<unix time>`. Refuses a backup of another organization
    /// than `owner`, and, unless `older` says to restore, one that holds
    /// fewer or other entries of one of the owner's logs than the current
    /// database ([`Error::Older`]).
    pub fn restore(
        dir: &Path,
        owner: Did,
        input: impl BufRead,
        older: Older,
    ) -> Result<BackupSummary, Error> {
        let _lock = lock_dir(dir)?;
        // A file that is not a backup of this node is refused before a
        // database is made for it.
        let mut input = input;
        let mut first = Vec::new();
        input
            .read_until(b'\n', &mut first)
            .map_err(|e| Error::Backup(e.to_string()))?;
        if first.is_empty() {
            return Err(Error::Backup(EMPTY.into()));
        }
        check_header(0, &parse_line(0, &first)?, owner)?;
        let input = first.as_slice().chain(input);

        let staging = dir.join("db.restoring");
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        }
        let restored = (|| {
            let db = open_db(&staging)?;
            let trees = Trees::open(&db)?;
            let segments = Segments::open(&staging)?;
            let journal = Journal::open(&staging)?;
            crate::migrate::mark(&trees)?;
            let (mut summary, restored) =
                Restorer::new(&db, &trees, &segments, &journal, owner).run(input)?;
            journal.sync()?;
            summary.rolled_back = rolled_back(&dir.join(DB_DIR), owner, &restored)?;
            if older == Older::Refuse && !summary.rolled_back.is_empty() {
                return Err(Error::Older(summary.rolled_back));
            }
            sync_db(&db, &open_db_file(&staging)?, &staging)?;
            Ok(summary)
        })();
        let summary = match restored {
            Ok(summary) => summary,
            Err(error) => {
                // Leave nothing of a refused backup behind.
                let _ = std::fs::remove_dir_all(&staging);
                return Err(error);
            }
        };
        let live = dir.join(DB_DIR);
        if live.exists() {
            // Two restores within a second keep both databases aside.
            let second = Timestamp::now().as_second();
            let aside = (0..)
                .map(|n| match n {
                    0 => dir.join(format!("db.replaced-{second}")),
                    n => dir.join(format!("db.replaced-{second}-{n}")),
                })
                .find(|path| !path.exists())
                .unwrap_or_else(|| dir.join("db.replaced"));
            std::fs::rename(&live, &aside).map_err(|e| Error::io(&live, e))?;
        }
        std::fs::rename(&staging, &live).map_err(|e| Error::io(&staging, e))?;
        sync_dir(dir)?;
        Ok(summary)
    }
}

/// Line `number` of a backup, with or without its newline.
fn parse_line(number: usize, text: &[u8]) -> Result<Line, Error> {
    serde_json::from_slice(text.strip_suffix(b"\n").unwrap_or(text))
        .map_err(|e| bad(number, &format!("not a backup line: {e}")))
}

const NOT_A_BACKUP: &str = "missing header: this is not an Assure backup";
const EMPTY: &str = "the file is empty: it is not an Assure backup";

/// Accepts line `number` as a backup's header only if it is the first line
/// and names a format this version reads.
fn header_format(number: usize, line: &Line) -> Result<(), Error> {
    let Line::Header { format, .. } = line else {
        return Err(bad(number, NOT_A_BACKUP));
    };
    if number != 0 || !READ_FORMATS.contains(&format.as_str()) {
        return Err(bad(
            number,
            &format!("expected a `{RESTORE_FORMAT}` header first, not `{format}`"),
        ));
    }
    Ok(())
}

/// [`header_format`], and the backup is of `owner`'s logs.
fn check_header(number: usize, line: &Line, owner: Did) -> Result<(), Error> {
    header_format(number, line)?;
    if let Line::Header { owner: of, .. } = line
        && *of != owner
    {
        return Err(bad(number, &format!("backup of {of}, not of this node")));
    }
    Ok(())
}

/// Reads a backup line by line into a fresh database, checking as it goes.
struct Restorer<'a> {
    db: &'a sled::Db,
    trees: &'a Trees,
    segments: &'a Segments,
    journal: &'a Journal,
    owner: Did,
    hasher: blake3::Hasher,
    lines: u64,
    summary: BackupSummary,
    open: Option<OpenLog>,
    /// The trees of the logs read so far.
    restored: BTreeMap<LogId, Tree<Blake3>>,
    /// The format the header named.
    format: String,
}

/// The compartment whose entries are being read.
struct OpenLog {
    log: LogId,
    compartment: Compartment,
    note: SignedCheckpoint,
    tree: Tree<Blake3>,
    write: LogWrite,
}

impl<'a> Restorer<'a> {
    fn new(
        db: &'a sled::Db,
        trees: &'a Trees,
        segments: &'a Segments,
        journal: &'a Journal,
        owner: Did,
    ) -> Self {
        Self {
            db,
            trees,
            segments,
            journal,
            owner,
            hasher: blake3::Hasher::new(),
            lines: 0,
            summary: BackupSummary {
                owner: Some(owner),
                ..Default::default()
            },
            open: None,
            restored: BTreeMap::new(),
            format: String::new(),
        }
    }

    /// The summary, and the tree of each log restored.
    fn run(
        mut self,
        input: impl BufRead,
    ) -> Result<(BackupSummary, BTreeMap<LogId, Tree<Blake3>>), Error> {
        let mut ended = false;
        for (number, text) in input.split(b'\n').enumerate() {
            let text = text.map_err(|e| Error::Backup(e.to_string()))?;
            if ended {
                return Err(bad(number, "data after the end line"));
            }
            let line = parse_line(number, &text)?;
            if let Line::End { lines, digest } = &line {
                let expected = self.hasher.finalize().to_hex().to_string();
                if *lines != self.lines || *digest != expected {
                    return Err(bad(
                        number,
                        "digest or line count does not match: the file is damaged",
                    ));
                }
                self.close_log(number)?;
                ended = true;
                continue;
            }
            self.hasher.update(&text);
            self.hasher.update(b"\n");
            self.lines += 1;
            self.apply(number, line)?;
        }
        if !ended {
            return Err(Error::Backup(
                "the file ends before its end line: it is truncated".into(),
            ));
        }
        self.trees
            .meta
            .insert("owner", self.owner.to_string().as_bytes())
            .within("keyspace `meta`")?;
        Ok((self.summary, self.restored))
    }

    fn apply(&mut self, number: usize, line: Line) -> Result<(), Error> {
        match line {
            _ if number == 0 => {
                check_header(number, &line, self.owner)?;
                let Line::Header { format, name, .. } = line else {
                    unreachable!("check_header accepts headers only")
                };
                if let Some(name) = name {
                    self.trees
                        .meta
                        .insert("name", name.as_bytes())
                        .within("keyspace `meta`")?;
                }
                self.format = format;
            }
            Line::Header { .. } => {
                return Err(bad(number, "a header belongs on the first line only"));
            }
            Line::Key(_) => {
                if number != 1 || self.format == "assure-backup/1" {
                    return Err(bad(number, "a key line belongs right after the header"));
                }
            }
            Line::Compartment {
                compartment,
                checkpoint,
            } => {
                self.close_log(number)?;
                self.open_log(number, compartment, &checkpoint)?;
            }
            Line::Entry(encoded) => self.entry(number, &encoded)?,
            Line::Grant(grant) => {
                self.close_log(number)?;
                self.trees
                    .grants
                    .insert(grant.party.public_bytes(), to_json(&grant)?)
                    .within("keyspace `grants`")?;
                self.summary.grants += 1;
            }
            Line::GrantChange(change) => {
                self.close_log(number)?;
                // Numbered like live entries, so later ones never collide.
                let key = crate::next_key(self.db)?;
                self.trees
                    .grant_log
                    .insert(key, to_json(&change)?)
                    .within("keyspace `grant_log`")?;
            }
            Line::Disclosure(disclosure) => {
                self.close_log(number)?;
                self.journal.write(&[to_json(&disclosure)?])?;
            }
            Line::State { tree, key, value } => {
                self.close_log(number)?;
                if self.format != RESTORE_FORMAT {
                    return Err(bad(number, "state lines belong to a newer format"));
                }
                let (Some((name, check)), Ok(key), Ok(value)) = (
                    STATE.iter().find(|(name, _)| *name == tree),
                    BASE64.decode(key),
                    BASE64.decode(value),
                ) else {
                    return Err(bad(
                        number,
                        &format!("not a state entry of a known tree (`{tree}`)"),
                    ));
                };
                let what = || bad(number, &format!("a {name} entry that does not read"));
                let keyspace = format!("keyspace `{name}`");
                let tree = self.db.open_tree(name).within(&keyspace)?;
                match check {
                    Check::Keyed(check) => {
                        check(&value).map_err(|()| what())?;
                        tree.insert(key, value).within(&keyspace)?;
                    }
                    Check::Numbered(check) => {
                        check(&value).map_err(|()| what())?;
                        tree.insert(crate::next_key(self.db)?, value)
                            .within(&keyspace)?;
                    }
                }
            }
            Line::End { .. } => {}
        }
        Ok(())
    }

    fn open_log(
        &mut self,
        number: usize,
        compartment: Compartment,
        text: &str,
    ) -> Result<(), Error> {
        let log = LogId {
            origin: self.owner,
            compartment: compartment.id,
        };
        let note =
            SignedCheckpoint::parse(text).map_err(|e| bad(number, &format!("checkpoint: {e}")))?;
        note.verify(&self.owner.to_string(), &self.owner.verifying_key())
            .map_err(|_| bad(number, "checkpoint signature does not verify"))?;
        if note.checkpoint().origin() != log.origin_line() {
            return Err(bad(number, "checkpoint names another log"));
        }
        let _: Compartment = from_json(&to_json(&compartment)?, "compartment")?;
        self.open = Some(OpenLog {
            log,
            compartment,
            note,
            tree: Tree::new(),
            write: LogWrite::default(),
        });
        Ok(())
    }

    fn entry(&mut self, number: usize, encoded: &str) -> Result<(), Error> {
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| bad(number, "entry outside a compartment"))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| bad(number, "entry is not base64"))?;
        let record = assure_model::validate(&bytes, Timestamp::MAX)
            .map_err(|e| bad(number, &format!("entry does not verify: {e}")))?;
        open.write.push(open.log, &mut open.tree, &bytes, &record);
        if open.write.entries() >= 4096 {
            std::mem::take(&mut open.write).commit(self.trees, self.segments)?;
        }
        self.summary.entries += 1;
        Ok(())
    }

    fn close_log(&mut self, number: usize) -> Result<(), Error> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        let head = open.note.checkpoint();
        if head.size() != open.tree.len() || *head.root() != open.tree.root() {
            return Err(bad(
                number,
                &format!(
                    "compartment {}: entries do not match the signed checkpoint",
                    open.compartment.label
                ),
            ));
        }
        open.write.checkpoint(open.log, open.note.clone());
        open.write.commit(self.trees, self.segments)?;
        self.trees
            .compartments
            .insert(open.log.to_bytes(), to_json(&open.compartment)?)
            .within("keyspace `compartments`")?;
        self.summary.compartments += 1;
        self.summary.logs.push(BackupLog {
            label: open.compartment.label,
            size: open.tree.len(),
        });
        self.restored.insert(open.log, open.tree);
        Ok(())
    }
}

/// The owner's logs in the database at `live` whose signed checkpoint
/// covers more entries than `restored` holds of them, or other entries.
/// A database that cannot be opened is being replaced because it is
/// damaged: there is nothing to compare with then.
fn rolled_back(
    live: &Path,
    owner: Did,
    restored: &BTreeMap<LogId, Tree<Blake3>>,
) -> Result<Vec<RolledBack>, Error> {
    if !live.exists() {
        return Ok(Vec::new());
    }
    let Ok(db) = open_db(live) else {
        return Ok(Vec::new());
    };
    let trees = Trees::open(&db)?;
    let mut found = Vec::new();
    for item in trees.compartments.iter() {
        let (key, value) = item.within("keyspace `compartments`")?;
        let Some(log) = LogId::from_bytes(&key).filter(|log| log.origin == owner) else {
            continue;
        };
        // A checkpoint that does not verify was not signed by us: it
        // tells nothing of what partners hold.
        let Ok(note) = crate::logs::read_checkpoint(&trees, log) else {
            continue;
        };
        let head = note.checkpoint();
        let held = head.size();
        let tree = restored.get(&log);
        let backup = tree.map_or(0, Tree::len);
        let same = match tree {
            Some(tree) if backup >= held => tree.root_at(held).ok().as_ref() == Some(head.root()),
            _ => held == 0,
        };
        if !same {
            let label = serde_json::from_slice::<Compartment>(&value)
                .map_or_else(|_| format!("{}", log.compartment), |c| c.label);
            found.push(RolledBack {
                label,
                held,
                backup,
                forked: backup >= held,
            });
        }
    }
    Ok(found)
}

fn bad(number: usize, what: &str) -> Error {
    Error::Backup(format!("line {}: {what}", number + 1))
}
