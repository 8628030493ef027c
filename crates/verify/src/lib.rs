//! Verification of providers against requirement profiles (DESIGN.md §7,
//! ISO 28000 4.3 and 8.4 g).
//!
//! [`Profile`] reads what an organization requires of one kind of provider.
//! [`verify`] is a pure function of the profile, the records visible to the
//! verifier (a [`View`]), the trust anchors and the time; it returns a
//! [`Report`] with a verdict, a reason and evidence per requirement.
//! [`chain`] walks relationships outward to further tiers; [`Bundle`] packs a
//! report with its evidence and proofs for checking offline. No I/O happens
//! here.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod bundle;
pub mod chain;
pub mod coverage;
mod engine;
pub mod profile;
pub mod report;
mod view;

pub use bundle::{Bundle, BundleEntry, BundleError};
pub use engine::{Context, Reads, verify};
pub use profile::{Profile, ProfileError, Requirement, Rule};
pub use report::{Evidence, Position, Report, RequirementReport};
pub use view::{Entry, Seen, View};
