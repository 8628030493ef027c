//! Multi-node tests: real libp2p over TCP on 127.0.0.1, nodes built by the
//! production constructor, sled on disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod alerts;
mod api;
mod asking;
mod browser;
mod disclosures;
mod equivocation;
mod forks;
mod forms;
mod graph;
mod hostile;
mod incidents;
mod leaks;
mod misbehaviour;
mod need_to_know;
mod notices;
mod peers;
mod personas;
mod refusals;
mod replication;
mod rogue;
mod rogue_reads;
mod schemathesis;
mod sharing;
mod signed_requests;
mod signin;
mod starve;
mod storage_scan;
mod verification;
mod views;
mod workplace;
