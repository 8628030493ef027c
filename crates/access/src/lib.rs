//! Who may read what: compartments and their access rules, grants to
//! counterparties, and the one read decision that joins them (DESIGN.md §3
//! and §4, ISO 22340 8.2 and 7.2.4).
//!
//! This crate owns the vocabulary of need-to-know ([`Clearance`], [`Role`],
//! [`Tlp`]), the validation of [`Compartment`]s and [`Grant`]s, and
//! [`decide`]: the single function every read path asks, over the network and
//! over the API alike. It does no I/O. It does not store grants, log their
//! changes or record disclosures (`assure-store` does), and it does not serve,
//! hide or close anything (`assure-net` and `assure-api` do, by asking
//! [`decide`] for every compartment and every page). An organization reading
//! its own compartments needs no grant and is not a case here: callers let
//! the owner through before they ask.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod audience;
mod compartment;
mod decision;
mod error;
mod grant;
mod rule;
mod words;

pub use audience::{Beyond, default_rule, parties, readers, wider_than};
pub use compartment::{Compartment, CompartmentId};
pub use decision::{Decision, decide, may_read, readable};
pub use error::{CompartmentError, GrantError, ParseError};
pub use grant::Grant;
pub use rule::{Rule, Tlp};
pub use words::{Clearance, Role};
