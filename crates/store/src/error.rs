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
    /// sled failed.
    #[error("database: {0}")]
    Db(#[from] sled::Error),
    /// A stored log does not match its signed checkpoint.
    #[error(
        "log of compartment {compartment} ({log}) is damaged: {detail}; restore it with \
         `assure restore`"
    )]
    Integrity {
        /// The compartment's label, or its id when the label is unknown.
        compartment: String,
        /// Whose log: our own, or a replica and of whom, with its id.
        log: String,
        /// What does not match.
        detail: String,
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

    /// Whether this error means stored data is damaged (exit code 2).
    pub fn is_integrity(&self) -> bool {
        matches!(self, Self::Integrity { .. } | Self::Corrupt(_))
    }
}

impl From<sled::transaction::TransactionError<Error>> for Error {
    fn from(e: sled::transaction::TransactionError<Error>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => Error::Db(e),
        }
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
