//! The Assure node: configuration, the data directory, publishing rules shared
//! by the CLI and the running node, and [`Node`], which wires the store and
//! the network together and shuts them down in order. The `assure` binary is
//! a thin command line over this library; integration tests build nodes with
//! the same [`Node::spawn`].

pub mod api;
pub mod backup;
pub mod compartments;
pub mod config;
pub mod control;
pub mod datadir;
pub mod demo;
pub mod drafts;
pub mod files;
pub mod guard;
pub mod node;
pub mod ops;
pub mod publish;
pub mod report;
pub mod verification;
pub mod webhooks;

pub use config::{ConfigError, NodeConfig};
pub use node::Node;
