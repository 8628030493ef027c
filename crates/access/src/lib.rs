//! Who may read what: compartments and their access rules, grants to
//! counterparties, and the one read decision that joins them (DESIGN.md §3
//! and §4, ISO 22340 8.2 and 7.2.4).
//!
//! This crate owns the vocabulary of need-to-know ([`Clearance`], [`Role`],
//! [`Tlp`]), the validation of [`Compartment`]s and [`Grant`]s, and
//! [`gate`]: the one read gate every read path goes through, over the
//! network and over the API alike. It turns (reader, grant, rules, now) into
//! a [`Visible`] set of logs, which only it constructs and which the store
//! requires before it releases anything. It does no I/O. It does not store grants, log their
//! changes or record disclosures (`assure-store` does), and it does not serve,
//! hide or close anything (`assure-net` and `assure-api` do, with the
//! [`Visible`] set the gate gave them).
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod audience;
mod compartment;
mod decision;
mod error;
mod gate;
mod grant;
mod log_id;
mod rule;
mod words;

pub use audience::{Beyond, default_rule, parties, readers, wider_than};
pub use compartment::{Compartment, CompartmentId};
pub use error::{CompartmentError, GrantError, ParseError};
pub use gate::{Access, Reader, Visible, gate};
pub use grant::Grant;
pub use log_id::LogId;
pub use rule::{Rule, Tlp};
pub use words::{Clearance, Role};
