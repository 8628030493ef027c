//! The store's errors.

use std::path::{Path, PathBuf};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the data directory.
    #[error(
        "another assure process holds this data directory ({0}): a node already running on \
         this data directory, or a command"
    )]
    Locked(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said (in the message, not a source, so that a chain
        /// of errors does not print it twice).
        error: std::io::Error,
    },
    /// sled failed: what the store was doing (which keyspace, or opening
    /// the database) and what sled said.
    #[error("{}", describe_db(what, error))]
    Db {
        /// The keyspace or step, such as "keyspace `grants`".
        what: String,
        /// What sled said (in the message, not a source: sled's own text
        /// carries a debug backtrace).
        error: sled::Error,
    },
    /// A database that is not there, or there only in part, where a new,
    /// empty one would hide what was lost.
    #[error(
        "the database {} {why}: the logs, grants and replicas it held are gone from here, \
         and an empty database is not made in their place; restore the data directory with \
         `assure restore FILE` from the node's backup",
        .path.display()
    )]
    Missing {
        /// sled's log file.
        path: PathBuf,
        /// What is wrong, and what is there that shows a database was.
        why: String,
    },
    /// A stored log does not match its signed checkpoint.
    #[error("log of compartment {compartment} ({log}) is damaged: {detail}; {remedy}")]
    Integrity {
        /// The compartment's label, or its id when the label is unknown.
        compartment: String,
        /// Whose log: our own, or a replica and of whom, with its id.
        log: String,
        /// What does not match.
        detail: String,
        /// What to do: restore our own log, or that a replica is fetched
        /// again from its author.
        remedy: String,
    },
    /// A stored value cannot be decoded.
    #[error("database value {0} cannot be decoded; restore the node with `assure restore`")]
    Corrupt(String),
    /// No compartment with that label or id.
    #[error("no compartment `{0}` (see `assure compartments`)")]
    NoCompartment(String),
    /// A compartment with that label exists already.
    #[error("a compartment labelled `{0}` exists already")]
    CompartmentExists(String),
    /// The store belongs to another organization.
    #[error("this data directory belongs to another organization")]
    OwnerMismatch,
    /// The owner's key must sign this log but is not the log's origin.
    #[error("only the log's origin may append to it")]
    NotOrigin,
    /// No entry at that index.
    #[error("index {index} is beyond the log's size {size}")]
    OutOfRange {
        /// The asked index.
        index: u64,
        /// The log's size.
        size: u64,
    },
    /// A checkpoint could not be made or signed.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Replicated entries do not produce the signed root.
    #[error("entries received for {origin} do not match its signed checkpoint of size {size}")]
    RootMismatch {
        /// The log's origin line.
        origin: String,
        /// The checkpoint's size.
        size: u64,
    },
    /// Replicated entries do not start where the replica ends.
    #[error("entries received for {origin} start at {from}, but the replica holds {held}")]
    Gap {
        /// The log's origin line.
        origin: String,
        /// Entries the replica holds.
        held: u64,
        /// Index of the first entry received.
        from: u64,
    },
    /// The replica is frozen by equivocation evidence.
    #[error("replica {0} is frozen: its author equivocated")]
    Frozen(String),
    /// A backup file is unreadable, incomplete or does not verify.
    #[error("backup: {0}")]
    Backup(String),
    /// A restore would take some of the owner's logs back to fewer entries
    /// than the data directory holds, or to another history.
    #[error(
        "the backup holds less than this data directory of {}",
        crate::backup::describe(.0)
    )]
    Older(Vec<crate::RolledBack>),
    /// A grant change that does not raise the version.
    #[error("grant for {party} version {version} is not newer than the stored one")]
    StaleGrant {
        /// The party.
        party: assure_model::Did,
        /// The refused version.
        version: u64,
    },
    /// A grant was refused.
    #[error("grant: {0}")]
    Grant(#[from] assure_access::GrantError),
    /// Equivocation evidence that does not show what it claims.
    #[error("equivocation evidence refused: {0}")]
    Evidence(String),
}

impl Error {
    pub(crate) fn io(path: &Path, error: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            error,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }

    pub(crate) fn db(what: impl Into<String>, error: sled::Error) -> Self {
        Self::Db {
            what: what.into(),
            error,
        }
    }

    /// Whether this error means stored data is damaged (exit code 2).
    pub fn is_integrity(&self) -> bool {
        match self {
            Self::Integrity { .. } | Self::Corrupt(_) | Self::Missing { .. } => true,
            Self::Db { error, .. } => db_damaged(error),
            _ => false,
        }
    }
}

/// Whether what sled said means its files are damaged, rather than that the
/// system failed it (a full disk, a permission).
fn db_damaged(error: &sled::Error) -> bool {
    match error {
        sled::Error::Io(e) => matches!(
            e.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::InvalidData
        ),
        _ => true,
    }
}

/// What a sled error means, in words: sled's own text for a corruption is a
/// debug dump ("Read corrupted data at file offset None backtrace ()").
fn describe_db(what: &str, error: &sled::Error) -> String {
    let said = match error {
        sled::Error::Corruption {
            at: Some(sled::DiskPtr::Inline(at)),
            ..
        } => format!("db/db holds corrupted data at byte {at}"),
        sled::Error::Corruption {
            at: Some(sled::DiskPtr::Blob(at, blob)),
            ..
        } => format!("the blob db/blobs/{blob} (of db/db at byte {at}) is corrupted or missing"),
        sled::Error::Corruption { at: None, .. } => "it holds corrupted data".to_owned(),
        sled::Error::Unsupported(why) => format!("it cannot be read: {why}"),
        sled::Error::ReportableBug(why) => format!("it is inconsistent: {why}"),
        sled::Error::CollectionNotFound(name) => format!(
            "the keyspace `{}` is missing",
            String::from_utf8_lossy(name)
        ),
        sled::Error::Io(e) => e.to_string(),
    };
    match db_damaged(error) {
        true => format!(
            "the database is damaged ({what}): {said}; the node's own state cannot be trusted: \
             restore it with `assure restore FILE` from the node's backup"
        ),
        false => format!("the database failed ({what}): {said}"),
    }
}

/// Adds to a sled result what the store was doing when it failed.
pub(crate) trait Within<T> {
    /// The result, its error naming `what` (a keyspace, a step).
    fn within(self, what: &str) -> Result<T, Error>;
}

impl<T> Within<T> for Result<T, sled::Error> {
    fn within(self, what: &str) -> Result<T, Error> {
        self.map_err(|e| Error::db(what, e))
    }
}

impl<T> Within<T> for Result<T, sled::transaction::TransactionError<Error>> {
    fn within(self, what: &str) -> Result<T, Error> {
        self.map_err(|e| match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => Error::db(what, e),
        })
    }
}

impl From<assure_log::CheckpointError> for Error {
    fn from(e: assure_log::CheckpointError) -> Self {
        Self::Checkpoint(e.to_string())
    }
}

impl From<assure_log::NoteError> for Error {
    fn from(e: assure_log::NoteError) -> Self {
        Self::Checkpoint(e.to_string())
    }
}
