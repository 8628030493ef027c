//! Backups that restore a node: the store's logs, grants, disclosures and
//! working state (access requests, alert acknowledgements, webhooks and
//! their deliveries, the peer book) and, unless left out, the
//! organization's key under a passphrase.
//!
//! One file, the store's line format (`assure-backup/3`, see
//! [`assure_store::BackupHeader`]): the key is one `key` line right after the
//! header, holding the PKCS#8 v1 PEM encrypted with age to a passphrase
//! (scrypt) and ASCII-armored. The end line's digest covers it like every
//! other line, so the backup still verifies itself without the passphrase.
//! The key line is preferred to wrapping the whole file in age because the
//! key is the one secret in it that lets anyone sign as the organization;
//! the rest is what the node already keeps in plain on disk, a `--no-key`
//! backup needs no passphrase at all, and a restore can check the passphrase
//! before it writes anything.
//!
//! [`write`] takes an open [`Store`], so a running node can back itself up;
//! [`restore`] needs the directory's store closed (no node running on it).

use std::fmt;
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret as _, SecretString};
use assure_model::{Did, IdentityError, Keypair};
use assure_store::{BackupHeader, BackupSummary, Older, RolledBack, Store};
use jiff::Timestamp;

use crate::datadir::{DataDir, KEY_FILE, TOKEN_FILE};

/// The environment variable a passphrase may come from.
pub const PASSPHRASE_ENV: &str = "ASSURE_BACKUP_PASSPHRASE";

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store refused: a damaged backup, or a store error.
    #[error(transparent)]
    Store(assure_store::Error),
    /// A node holds the data directory.
    #[error(
        "a node is running on {0}: stop it (ctrl-c or SIGTERM) before restoring; backups need no stop"
    )]
    Running(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said (in the message, not a source, so that a chain
        /// of errors does not print it twice).
        error: std::io::Error,
    },
    /// The backup file exists already.
    #[error("{0} exists; choose a new file name")]
    Exists(PathBuf),
    /// The store has no owner to back up.
    #[error("the store has no identity yet; run `assure init` first")]
    NoOwner,
    /// The key handed to [`write`] is not the store owner's.
    #[error("the key is {key}, but the store is {owner}'s")]
    KeyMismatch {
        /// The key's organization.
        key: Did,
        /// The store's owner.
        owner: Did,
    },
    /// A key file or the key in a backup does not decode.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The passphrase is empty.
    #[error("the backup passphrase is empty; choose one that is not")]
    EmptyPassphrase,
    /// No passphrase could be obtained.
    #[error("{0}")]
    Passphrase(String),
    /// Encrypting the key failed.
    #[error("encrypting the key: {0}")]
    Encrypt(String),
    /// The passphrase does not open the key line.
    #[error(
        "the passphrase does not open the key in {file} (wrong passphrase, or the file is damaged); nothing was written"
    )]
    WrongPassphrase {
        /// The backup.
        file: PathBuf,
    },
    /// The key in the backup is not its owner's.
    #[error("{file} carries a key that is not {owner}'s: the file is damaged; nothing was written")]
    ForeignKey {
        /// The backup.
        file: PathBuf,
        /// Whose backup the header says it is.
        owner: Did,
    },
    /// The data directory holds another organization's key.
    #[error(
        "{dir} holds the identity {existing}, but the backup is of {owner}; refusing to restore one organization's logs over another's (restore into an empty directory)"
    )]
    OtherIdentity {
        /// The data directory.
        dir: PathBuf,
        /// The identity it holds.
        existing: Did,
        /// Whose backup it is.
        owner: Did,
    },
    /// The backup has no key and the data directory none either.
    #[error(
        "{file} carries no key (it was written with --no-key): put the key file of {owner} at {key_path} first (mode 0600), then restore again"
    )]
    NoKey {
        /// The backup.
        file: PathBuf,
        /// Whose backup it is.
        owner: Did,
        /// Where the key belongs.
        key_path: PathBuf,
    },
    /// The backup holds less of our logs than the data directory.
    #[error(
        "the backup, written {created}, is older than this data directory: {}. Partners hold \
         the newer entries; once this node signs anything new after restoring it, they see a \
         forked history, report equivocation and freeze our logs. Restore a newer backup; \
         pass --older only if there is none, and then publish nothing until you have talked \
         with the partners; nothing was written",
        older_logs(.logs)
    )]
    Older {
        /// When the backup was written.
        created: Timestamp,
        /// The logs it would take back.
        logs: Vec<RolledBack>,
    },
    /// The data directory has no key but is not empty.
    #[error(
        "{0} is not empty and has no key.pem: restore into an empty or new directory, or put the organization's key.pem there first"
    )]
    NotEmpty(PathBuf),
}

/// `partners has 10 entries here, 4 in the backup; …`.
fn older_logs(logs: &[RolledBack]) -> String {
    logs.iter()
        .map(|log| match log.forked {
            true => format!(
                "`{}` has {} entries here and {} in the backup, but the backup's first {} are \
                 other entries",
                log.label, log.held, log.backup, log.held
            ),
            false => format!(
                "`{}` has {} entries here, {} in the backup",
                log.label, log.held, log.backup
            ),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<assure_store::Error> for Error {
    fn from(error: assure_store::Error) -> Self {
        match error {
            assure_store::Error::Locked(dir) => Self::Running(dir),
            other => Self::Store(other),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_owned(),
        error,
    }
}

/// A backup passphrase; never empty.
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Refuses an empty passphrase.
    pub fn new(text: String) -> Result<Self, Error> {
        if text.is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        Ok(Self(SecretString::from(text)))
    }

    /// The passphrase itself, to hand to the node that encrypts with it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Reads the first line of a file (its line ending is not part of it).
    pub fn read_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let line = text.lines().next().unwrap_or_default();
        Self::new(line.to_owned())
    }

    /// The passphrase from `file`, else from [`PASSPHRASE_ENV`], else asked
    /// on the terminal (twice when `confirm`, to catch a typo in a new one).
    /// Refuses when none of these is there: a passphrase is never taken
    /// from the command line, where other users can read it.
    pub fn obtain(file: Option<&Path>, confirm: bool) -> Result<Self, Error> {
        if let Some(file) = file {
            return Self::read_file(file);
        }
        if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
            return Self::new(text);
        }
        if !std::io::stdin().is_terminal() {
            return Err(Error::Passphrase(format!(
                "the key in a backup is encrypted with a passphrase: pass --passphrase-file PATH or set {PASSPHRASE_ENV}"
            )));
        }
        let ask = |prompt: &str| {
            rpassword::prompt_password(prompt)
                .map_err(|e| Error::Passphrase(format!("reading the passphrase: {e}")))
        };
        let first = Self::new(ask("backup passphrase: ")?)?;
        if confirm && ask("again: ")? != first.0.expose_secret() {
            return Err(Error::Passphrase("the two passphrases differ".into()));
        }
        Ok(first)
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The store's part.
    pub summary: BackupSummary,
    /// Whether the key is in it.
    pub key: bool,
}

/// Writes a backup of `store` to `out`, with the key sealed under the
/// passphrase unless `key` is `None`. The file appears whole or not at all
/// (a temporary file beside it, fsynced, renamed, the directory fsynced),
/// mode 0600, and never replaces an existing file.
pub fn write(
    store: &Store,
    key: Option<(&Keypair, &Passphrase)>,
    out: &Path,
    now: Timestamp,
) -> Result<Written, Error> {
    let owner = store.owner()?.ok_or(Error::NoOwner)?;
    let sealed = match key {
        Some((keypair, passphrase)) => {
            if keypair.did() != owner {
                return Err(Error::KeyMismatch {
                    key: keypair.did(),
                    owner,
                });
            }
            Some(seal(keypair, passphrase)?)
        }
        None => None,
    };
    if out.exists() {
        return Err(Error::Exists(out.to_owned()));
    }
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let summary = write_atomically(parent, out, |file| {
        let mut buffered = BufWriter::new(file);
        let summary = store.backup_with_key(&mut buffered, now, sealed.as_deref())?;
        buffered.flush().map_err(io(out))?;
        Ok(summary)
    })?;
    Ok(Written {
        summary,
        key: sealed.is_some(),
    })
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The store's part: among it, each of our logs with its size, and
    /// those the restore took back (only with [`Older::Restore`]).
    pub summary: BackupSummary,
    /// When the backup was written.
    pub created: Timestamp,
    /// Whether key.pem was written from the backup (else it was there).
    pub key_written: bool,
    /// Whether a new admin token was written (there was none).
    pub token_written: bool,
}

/// Restores `file` into `dir`: into an empty or missing directory, the key
/// from the backup (asking `passphrase` for it), a new admin token and the
/// store; into a directory that holds the backup owner's key.pem, the store
/// (the old database kept aside) and a token if there is none. Checks the
/// passphrase and then every line of the backup before it writes anything;
/// a refused restore into an empty directory leaves it empty.
///
/// A backup that holds fewer of our entries than the directory's database,
/// or other ones, is refused ([`Error::Older`]) unless `older` says
/// [`Older::Restore`]: partners hold the entries it lacks.
pub fn restore(
    dir: &DataDir,
    file: &Path,
    older: Older,
    passphrase: &mut dyn FnMut() -> Result<Passphrase, Error>,
) -> Result<Restored, Error> {
    let header = BackupHeader::read(BufReader::new(File::open(file).map_err(io(file))?))?;
    let owner = header.owner;
    let key_path = dir.key_path();
    let key = match read_key(&key_path)? {
        Some(existing) if existing.did() != owner => {
            return Err(Error::OtherIdentity {
                dir: dir.path().to_owned(),
                existing: existing.did(),
                owner,
            });
        }
        Some(_) => None,
        None => {
            if !is_empty(dir.path())? {
                return Err(Error::NotEmpty(dir.path().to_owned()));
            }
            let Some(sealed) = &header.key else {
                return Err(Error::NoKey {
                    file: file.to_owned(),
                    owner,
                    key_path,
                });
            };
            let keypair = open(sealed, &passphrase()?, file)?;
            if keypair.did() != owner {
                return Err(Error::ForeignKey {
                    file: file.to_owned(),
                    owner,
                });
            }
            Some(keypair)
        }
    };
    let existed = dir.path().exists();
    let input = BufReader::new(File::open(file).map_err(io(file))?);
    let summary = match Store::restore(dir.path(), owner, input, older) {
        Ok(summary) => summary,
        Err(error) => {
            if key.is_some() {
                // The directory was empty or missing: leave it so.
                empty_again(dir.path(), existed);
            }
            return Err(match error {
                assure_store::Error::Older(logs) => Error::Older {
                    created: header.created,
                    logs,
                },
                other => other.into(),
            });
        }
    };
    let key_written = key.is_some();
    if let Some(keypair) = key {
        write_secret(dir.path(), KEY_FILE, keypair.to_pem()?.as_bytes())?;
    }
    let token_path = dir.path().join(TOKEN_FILE);
    let token_written = !token_path.exists();
    if token_written {
        let mut token = [0u8; 32];
        getrandom::fill(&mut token)
            .map_err(|e| io(&token_path)(std::io::Error::other(e.to_string())))?;
        write_secret(dir.path(), TOKEN_FILE, hex::encode(token).as_bytes())?;
    }
    Ok(Restored {
        summary,
        created: header.created,
        key_written,
        token_written,
    })
}

/// The key PEM sealed to the passphrase: age, scrypt, ASCII armor.
fn seal(keypair: &Keypair, passphrase: &Passphrase) -> Result<String, Error> {
    let recipient = age::scrypt::Recipient::new(passphrase.0.clone());
    age::encrypt_and_armor(&recipient, keypair.to_pem()?.as_bytes())
        .map_err(|e| Error::Encrypt(e.to_string()))
}

fn open(sealed: &str, passphrase: &Passphrase, file: &Path) -> Result<Keypair, Error> {
    let identity = age::scrypt::Identity::new(passphrase.0.clone());
    let wrong = || Error::WrongPassphrase {
        file: file.to_owned(),
    };
    let pem = age::decrypt(&identity, sealed.as_bytes()).map_err(|_| wrong())?;
    let pem = String::from_utf8(pem).map_err(|_| wrong())?;
    Ok(Keypair::from_pem(&pem)?)
}

fn read_key(path: &Path) -> Result<Option<Keypair>, Error> {
    match std::fs::read_to_string(path) {
        Ok(pem) => Ok(Some(Keypair::from_pem(&pem)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn is_empty(dir: &Path) -> Result<bool, Error> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Removes what a refused restore left in a directory that was empty (the
/// store's lock file), or the directory itself if it did not exist.
fn empty_again(dir: &Path, existed: bool) {
    if !existed {
        let _ = std::fs::remove_dir_all(dir);
        return;
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// Writes a new 0600 file `name` in `dir` whole or not at all.
fn write_secret(dir: &Path, name: &str, contents: &[u8]) -> Result<(), Error> {
    let path = dir.join(name);
    write_atomically(dir, &path, |file| {
        let mut file: &File = file;
        file.write_all(contents).map_err(io(&path))
    })
}

/// Writes `path` through a 0600 temporary file in `dir`: filled by `fill`,
/// fsynced, renamed into place unless `path` exists, and the directory
/// fsynced so that the rename survives a crash.
fn write_atomically<T>(
    dir: &Path,
    path: &Path,
    fill: impl FnOnce(&File) -> Result<T, Error>,
) -> Result<T, Error> {
    let temp = tempfile::Builder::new()
        .prefix(".assure-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io(dir))?;
    let value = fill(temp.as_file())?;
    temp.as_file().sync_all().map_err(io(path))?;
    temp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Exists(path.to_owned())
        } else {
            io(path)(e.error)
        }
    })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(value)
}
