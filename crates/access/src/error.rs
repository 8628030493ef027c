//! The crate's errors, one enum per operation: parsing words and ids,
//! building compartments, building grants.

use jiff::Timestamp;

/// Why a string is not a clearance, role, TLP label or compartment id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A word that is not one of an enumeration's values.
    #[error("unknown {what} `{value}` (expected one of: {expected})")]
    Unknown {
        /// What was being parsed (`clearance`, `role`, `TLP label`).
        what: &'static str,
        /// The refused word.
        value: String,
        /// The accepted words, comma separated.
        expected: String,
    },
    /// Not 32 lowercase hexadecimal characters.
    #[error("`{0}` is not a compartment id (expected 32 lowercase hex characters)")]
    CompartmentId(String),
}

/// Why a compartment (its label or its rule) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompartmentError {
    /// The label is empty.
    #[error("a compartment label must not be empty")]
    EmptyLabel,
    /// The label is longer than the limit.
    #[error("compartment label is {chars} characters long; at most {max} are allowed")]
    LabelTooLong {
        /// The label's length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// The label holds a character outside `a-z 0-9 - _ .`.
    #[error("compartment label `{label}` holds `{found}`; use only a-z, 0-9, `-`, `_` and `.`")]
    LabelCharacter {
        /// The refused label.
        label: String,
        /// The first character not allowed.
        found: char,
    },
    /// The label could be mistaken for a compartment id.
    #[error(
        "compartment label `{0}` looks like a compartment id (32 hex characters); choose another"
    )]
    LabelLooksLikeId(String),
    /// A public rule that also names roles or organizations, which would
    /// suggest a restriction that a public rule does not make.
    #[error("a public rule admits anyone; it must not name roles or organizations")]
    PublicAudience,
}

/// Why a grant was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The clearance is `public`, which needs no grant.
    #[error(
        "a grant's clearance must be partner, confidential or secret (public data needs no grant)"
    )]
    PublicClearance,
    /// The basis is empty or only white space.
    #[error("a grant needs a basis: the contract or NDA reference it rests on")]
    EmptyBasis,
    /// The basis is longer than the limit.
    #[error("the basis is {chars} characters long; at most {max} are allowed")]
    BasisTooLong {
        /// The basis's length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// The basis holds a control character (a line break, a tab, an escape).
    #[error("the basis must not contain control characters such as line breaks")]
    BasisControl,
    /// `valid_until` is not after `valid_from`, so the grant would never be
    /// active.
    #[error(
        "valid_until {valid_until} is not after valid_from {valid_from}; the grant would never be active"
    )]
    EmptyValidity {
        /// Start of validity.
        valid_from: Timestamp,
        /// End of validity.
        valid_until: Timestamp,
    },
    /// Version 0; versions start at 1.
    #[error("grant versions start at 1")]
    ZeroVersion,
}
