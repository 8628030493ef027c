//! The data directory: the organization's key, the admin token, the store.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_access::{Compartment, CompartmentId, Rule};
use assure_model::Keypair;
use assure_store::Store;

use crate::ops::IntegrityFailure;

/// The secret key, PKCS#8 PEM, mode 0600.
pub const KEY_FILE: &str = "key.pem";
/// The admin API bearer token, mode 0600.
pub const TOKEN_FILE: &str = "admin.token";
/// Every request `assure api-request` sent, one JSON object a line,
/// append-only, mode 0600.
pub const REQUEST_LOG_FILE: &str = "requests.jsonl";

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn key_path(&self) -> PathBuf {
        self.path.join(KEY_FILE)
    }

    /// Reads the organization's key.
    pub fn keypair(&self) -> Result<Keypair> {
        let path = self.key_path();
        let pem = match std::fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.path.join("db").exists() => {
                return Err(IntegrityFailure(format!(
                    "the organization's key {} is missing, but the data directory holds its \
                     database: restore it with `assure restore FILE` from the node's backup",
                    path.display()
                ))
                .into());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no identity in {}: run `assure init --name NAME` first (or pass --data DIR)",
                self.path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Keypair::from_pem(&pem).map_err(|e| {
            IntegrityFailure(format!(
                "the organization's key {} is damaged ({e}): restore it with `assure restore \
                 FILE` from the node's backup",
                path.display()
            ))
            .into()
        })
    }

    /// Opens the store; fails if another process holds it, and, when the
    /// directory holds an identity, if its database is missing (an empty
    /// one is made only for a directory without a key, by `init`).
    pub fn store(&self) -> Result<Store> {
        self.make_private()?;
        match self.has_identity() {
            true => Ok(Store::open_existing(&self.path)?),
            false => Ok(Store::open(&self.path)?),
        }
    }

    /// Whether the directory holds a key file (readable or not).
    pub fn has_identity(&self) -> bool {
        std::fs::symlink_metadata(self.key_path()).is_ok()
    }

    /// Creates the directory if needed and makes it readable by its owner
    /// alone (0700): it holds the key, the token, every compartment's
    /// entries and the control socket.
    pub fn make_private(&self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::create_dir_all(&self.path)
            .with_context(|| format!("creating {}", self.path.display()))?;
        let mode = std::fs::metadata(&self.path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private (0700)", self.path.display()))?;
        }
        Ok(())
    }

    /// Creates an identity in this directory: the key (0600), an admin token
    /// (0600), the store with its owner and the default compartments.
    /// Refuses to touch a directory that already holds an identity or store.
    pub fn init(&self, name: &str, keypair: &Keypair, now: jiff::Timestamp) -> Result<Store> {
        if name.trim().is_empty() || name.len() > 200 {
            bail!("--name must be 1 to 200 characters");
        }
        if name.chars().any(char::is_control) {
            bail!("--name must not hold control characters (tabs, newlines, escapes)");
        }
        if let Ok(existing) = self.keypair() {
            bail!(
                "{} already holds the identity {}; refusing to overwrite it",
                self.path.display(),
                existing.did()
            );
        }
        let store = self.store()?;
        if store.owner()?.is_some() {
            bail!(
                "{} already holds a store; refusing to initialize it again",
                self.path.display()
            );
        }
        let mut token = [0u8; 32];
        getrandom::fill(&mut token)?;
        self.create_secret(KEY_FILE, keypair.to_pem()?.as_bytes())?;
        self.create_secret(TOKEN_FILE, hex::encode(token).as_bytes())?;
        store.set_owner(keypair.did())?;
        store.set_name(name)?;
        for compartment in default_compartments()? {
            store.create_compartment(keypair, compartment, now)?;
        }
        Ok(store)
    }

    /// Writes a new secret file with mode 0600, refusing to overwrite one.
    pub fn create_secret(&self, name: &str, contents: &[u8]) -> Result<()> {
        let path = self.path.join(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(contents)?;
        file.sync_all()?;
        Ok(())
    }
}

/// The compartments every node starts with, and who may read them.
fn default_compartments() -> Result<Vec<Compartment>> {
    let rules = [
        ("public", Rule::public()),
        ("partners", Rule::partners()),
        ("confidential", Rule::confidential()),
        ("regulators", Rule::regulators()),
    ];
    rules
        .into_iter()
        .map(|(label, rule)| Ok(Compartment::new(CompartmentId::random()?, label, rule)?))
        .collect()
}
