//! The data directory: the organization's key, the admin token, the store.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_model::Keypair;
use assure_store::Store;

/// The secret key, PKCS#8 PEM, mode 0600.
pub(crate) const KEY_FILE: &str = "key.pem";
/// The admin API bearer token, mode 0600.
pub(crate) const TOKEN_FILE: &str = "admin.token";

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub(crate) struct DataDir {
    path: PathBuf,
}

impl DataDir {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn key_path(&self) -> PathBuf {
        self.path.join(KEY_FILE)
    }

    /// Reads the organization's key.
    pub(crate) fn keypair(&self) -> Result<Keypair> {
        let path = self.key_path();
        let pem = match std::fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no identity in {}: run `assure init --name NAME` first (or pass --data DIR)",
                self.path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Keypair::from_pem(&pem).with_context(|| format!("reading {}", path.display()))
    }

    /// Opens the store; fails if another process holds it.
    pub(crate) fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.path)?)
    }

    /// Writes a new secret file with mode 0600, refusing to overwrite one.
    pub(crate) fn create_secret(&self, name: &str, contents: &[u8]) -> Result<()> {
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
