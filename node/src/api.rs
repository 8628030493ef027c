//! Starting the HTTP API for a running node, and finding it from the CLI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use assure_model::Keypair;
use assure_store::Store;

use crate::config::NodeConfig;
use crate::datadir::TOKEN_FILE;
use crate::verification::load_profile;

/// Where a running node writes its API address, in the data directory.
pub const URL_FILE: &str = "api.url";

/// Starts the API with `settings`: the admin token from the data directory,
/// the trust anchors and the profiles (by name) of the node configuration.
pub(crate) async fn start(
    config: &NodeConfig,
    settings: assure_api::Settings,
    control: Arc<dyn assure_api::Control>,
    keypair: Arc<Keypair>,
    store: Store,
    started: jiff::Timestamp,
) -> Result<assure_api::Server> {
    let (data_dir, anchors, verify) = (&config.data_dir, &config.trust_anchors, &config.verify);
    let token_file = data_dir.join(TOKEN_FILE);
    let lost = |what: &str| {
        anyhow::anyhow!(
            "the admin token {path} {what}: the admin API and the dashboard sign-in need it; \
             write a new secret there (`openssl rand -hex 32 > {path}; chmod 600 {path}`), or \
             restore the data directory with `assure restore FILE`",
            path = token_file.display()
        )
    };
    let admin_token = match std::fs::read_to_string(&token_file) {
        Ok(text) => text.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(lost("is missing")),
        Err(e) => return Err(lost(&format!("cannot be read ({e})"))),
    };
    // An empty token would let an empty bearer in.
    if admin_token.is_empty() {
        return Err(lost("is empty"));
    }
    let mut profiles = BTreeMap::new();
    let mapped = verify
        .profiles
        .iter()
        .map(|(supplies, path)| (supplies.clone(), path))
        .chain(verify.default_profile.iter().map(|p| (Vec::new(), p)));
    for (supplies, path) in mapped {
        let loaded = load_profile(path)?;
        profiles
            .entry(loaded.profile.name.clone())
            .or_insert((loaded.profile, supplies));
    }
    let listen = settings.listen;
    let server = assure_api::serve(assure_api::Config {
        store,
        keypair,
        admin_token,
        anchors: anchors.to_vec(),
        profiles,
        control,
        settings,
        started,
    })
    .await
    .with_context(|| format!("starting the API on {listen}"))?;
    // A wildcard address is not one to connect to (nor an authority a
    // signature may name): the file names the loopback address instead.
    let mut reachable = server.addr;
    if reachable.ip().is_unspecified() {
        reachable.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{reachable}\n");
    std::fs::write(data_dir.join(URL_FILE), url).context("writing the API address")?;
    Ok(server)
}

/// Removes the address file at shutdown.
pub(crate) fn forget(data_dir: &Path) {
    let _ = std::fs::remove_file(data_dir.join(URL_FILE));
}

/// The API address of a node running on `data_dir`, if one wrote it.
pub fn running(data_dir: &Path) -> Option<String> {
    let path: PathBuf = data_dir.join(URL_FILE);
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| s.starts_with("http://"))
}
