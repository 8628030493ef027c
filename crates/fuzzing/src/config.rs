//! Configuration an operator writes (`assure-verify` profiles, the node's
//! configuration file).

use std::path::Path;

use assure_model::Catalog;
use assure_node::NodeConfig;
use assure_verify::profile::Profile;

use crate::text;

/// A verification profile, checked against the built-in catalog.
pub fn profile(data: &[u8]) {
    if let Some(text) = text(data) {
        let _ = Profile::parse(text, Catalog::builtin());
    }
}

/// A node configuration file. Paths in it resolve under a directory that
/// does not exist, so that nothing on the machine is read.
pub fn node_config(data: &[u8]) {
    if let Some(text) = text(data) {
        let _ = NodeConfig::parse(Path::new("/nonexistent/assure/node.toml"), text);
    }
}
