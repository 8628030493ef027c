//! Tests of the `assure` binary as a user runs it: every command, every bad
//! input, crash safety under SIGKILL, and an independent check of exported
//! envelopes.

#![allow(clippy::unwrap_used)]

mod alerts;
mod api;
mod backup;
mod bad_input;
mod both_ways;
mod common;
mod config;
mod crash;
mod daily;
mod damage;
mod demo;
mod durability;
mod export;
mod guard;
mod network;
mod new;
mod nothing_lost;
mod partition;
mod pipe;
mod readme;
mod reports;
mod restart;
mod resume;
mod sharing;
mod verify;
mod walkthrough;
