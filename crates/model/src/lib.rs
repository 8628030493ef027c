//! The vocabulary of Assure: organization identities, DSSE envelopes, in-toto
//! statements with their typed predicates, the control catalog, drafts that
//! operators write, and the validation of untrusted records.
//!
//! No I/O happens here. Storage, network and API crates only move what this
//! crate defines; every rule about what a valid record is lives in this crate.
#![deny(missing_docs)]

pub mod catalog;
pub mod draft;
pub mod dsse;
pub mod identity;
pub mod json;
pub mod predicate;
pub mod record;
pub mod statement;

pub use catalog::Catalog;
pub use draft::{Draft, DraftError};
pub use dsse::{Envelope, RecordId};
pub use identity::{Did, IdentityError, Keypair};
pub use predicate::{Body, Common, Domain, Kind, Predicate};
pub use record::{Record, Unverified, ValidationError, cosign, issue, parse, validate};
pub use statement::SubjectRef;
