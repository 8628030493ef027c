//! Checkpoints: the body of a log head in the C2SP tlog-checkpoint format.
//!
//! ```text
//! assure/did:key:z6Mk…/00112233445566778899aabbccddeeff
//! 42
//! 7Ti7iVnuMHqvGgWsWCyJ2JHZJgERfzxuEZ8l7oFLm8A=
//! timestamp 2026-11-22T08:30:00Z
//! ```
//!
//! Lines: the origin, the tree size in canonical decimal, the root in padded
//! standard base64, then extension lines. Assure requires the first extension
//! line to be `timestamp <RFC 3339 UTC, seconds precision>`; any further
//! extension lines are kept verbatim and not interpreted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::hasher::Hash;
use crate::time;

/// The keyword of the timestamp extension line.
const TIMESTAMP: &str = "timestamp ";

/// Why a checkpoint could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The origin is empty.
    #[error("the origin is empty")]
    EmptyOrigin,
    /// The origin contains whitespace or a control character.
    #[error("the origin contains whitespace or a control character")]
    InvalidOrigin,
    /// The body does not end in a newline.
    #[error("the checkpoint body does not end in a newline")]
    MissingFinalNewline,
    /// A line of the body is empty.
    #[error("line {line} of the checkpoint body is empty")]
    EmptyLine {
        /// The 1-based number of the empty line.
        line: usize,
    },
    /// The body ends before one of the lines Assure requires.
    #[error("the checkpoint body has no {0} line")]
    MissingLine(&'static str),
    /// The tree size is not a decimal number that fits in 64 bits.
    #[error("the tree size is not a 64-bit decimal number")]
    BadSize,
    /// The tree size has a leading zero.
    #[error("the tree size has a leading zero")]
    NonCanonicalSize,
    /// The root is not canonical, padded, standard base64.
    #[error("the root hash is not canonical base64")]
    BadRootEncoding,
    /// The root does not decode to 32 bytes.
    #[error("the root hash has {len} bytes instead of 32")]
    RootLength {
        /// The number of bytes the root decodes to.
        len: usize,
    },
    /// The fourth line is not a `timestamp` line.
    #[error("the fourth line is not a timestamp line")]
    MissingTimestamp,
    /// The timestamp is not RFC 3339 UTC with seconds precision, 1970 to 9999.
    #[error("the timestamp is not of the form 2026-11-22T08:30:00Z")]
    BadTimestamp,
    /// The timestamp falls outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
    #[error("timestamp {timestamp} is outside the years 1970 to 9999")]
    TimestampOutOfRange {
        /// The refused unix time, in seconds.
        timestamp: i64,
    },
    /// A second `timestamp` line follows the first.
    #[error("more than one timestamp line")]
    DuplicateTimestamp,
    /// An extension line is empty or contains a control character.
    #[error("an extension line is empty or contains a control character")]
    InvalidExtension,
}

/// The origin line of a compartment's log: `assure/<did>/<compartment hex>`.
pub fn origin(did: &str, compartment: &[u8; 16]) -> String {
    let hex: String = compartment.iter().map(|b| format!("{b:02x}")).collect();
    format!("assure/{did}/{hex}")
}

/// The head of a log at some size: what its signers sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    timestamp: i64,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint for the log `origin` at `size` leaves with root `root`,
    /// made at `timestamp` (unix seconds, between the years 1970 and 9999).
    ///
    /// The origin must be non-empty and free of whitespace and control
    /// characters; see [`origin`] for the form Assure uses.
    pub fn new(
        origin: impl Into<String>,
        size: u64,
        root: Hash,
        timestamp: i64,
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        check_origin(&origin)?;
        if time::format(timestamp).is_none() {
            return Err(CheckpointError::TimestampOutOfRange { timestamp });
        }
        Ok(Self {
            origin,
            size,
            root,
            timestamp,
            extensions: Vec::new(),
        })
    }

    /// Adds an extension line after the timestamp. The line is signed but
    /// not interpreted; it must be non-empty, free of control characters and
    /// not another `timestamp` line.
    pub fn with_extension(mut self, line: impl Into<String>) -> Result<Self, CheckpointError> {
        let line = line.into();
        check_extension(&line)?;
        self.extensions.push(line);
        Ok(self)
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves in the log.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle tree root at [`size`](Self::size).
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// When the checkpoint was made, in unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The extension lines after the timestamp, verbatim.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text signers sign, ending in a newline.
    pub fn body(&self) -> String {
        // `new` and `parse_body` only accept timestamps that format.
        let timestamp = time::format(self.timestamp).unwrap_or_default();
        let mut body = format!(
            "{}\n{}\n{}\n{TIMESTAMP}{timestamp}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a note text as produced by [`body`](Self::body), strictly:
    /// anything `body` would not have written is refused.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let lines = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?
            .split('\n');
        let mut lines = (1..).zip(lines).map(|(number, line)| {
            if line.is_empty() {
                Err(CheckpointError::EmptyLine { line: number })
            } else {
                Ok(line)
            }
        });
        let mut next = |name| {
            lines
                .next()
                .unwrap_or(Err(CheckpointError::MissingLine(name)))
        };
        let origin = next("origin")?;
        let size = parse_size(next("tree size")?)?;
        let root = parse_root(next("root hash")?)?;
        let timestamp = parse_timestamp(next("timestamp")?)?;
        let mut checkpoint = Self::new(origin, size, root, timestamp)?;
        for line in lines {
            checkpoint = checkpoint.with_extension(line?)?;
        }
        Ok(checkpoint)
    }
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::EmptyOrigin);
    }
    if origin.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CheckpointError::InvalidOrigin);
    }
    Ok(())
}

fn check_extension(line: &str) -> Result<(), CheckpointError> {
    if line.starts_with(TIMESTAMP) {
        return Err(CheckpointError::DuplicateTimestamp);
    }
    if line.is_empty() || line.chars().any(char::is_control) {
        return Err(CheckpointError::InvalidExtension);
    }
    Ok(())
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    if !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::BadSize);
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(CheckpointError::NonCanonicalSize);
    }
    line.parse().map_err(|_| CheckpointError::BadSize)
}

fn parse_root(line: &str) -> Result<Hash, CheckpointError> {
    let bytes = STANDARD
        .decode(line)
        .map_err(|_| CheckpointError::BadRootEncoding)?;
    // The engine already refuses missing padding and stray trailing bits;
    // re-encoding makes canonical form a checked property, not an assumption.
    if STANDARD.encode(&bytes) != line {
        return Err(CheckpointError::BadRootEncoding);
    }
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| CheckpointError::RootLength { len })
}

fn parse_timestamp(line: &str) -> Result<i64, CheckpointError> {
    let text = line
        .strip_prefix(TIMESTAMP)
        .ok_or(CheckpointError::MissingTimestamp)?;
    time::parse(text).ok_or(CheckpointError::BadTimestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPARTMENT: [u8; 16] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff,
    ];

    fn example() -> Checkpoint {
        let origin = origin("did:key:z6MkExample", &COMPARTMENT);
        Checkpoint::new(origin, 42, [7; 32], 1_795_336_200).unwrap()
    }

    #[test]
    fn origin_names_the_did_and_compartment() {
        assert_eq!(
            origin("did:key:z6MkExample", &COMPARTMENT),
            "assure/did:key:z6MkExample/00112233445566778899aabbccddeeff"
        );
    }

    #[test]
    fn body_has_the_tlog_checkpoint_layout() {
        assert_eq!(
            example().body(),
            "assure/did:key:z6MkExample/00112233445566778899aabbccddeeff\n\
             42\n\
             BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\
             timestamp 2026-11-22T08:30:00Z\n"
        );
    }

    #[test]
    fn bodies_round_trip() {
        let plain = example();
        let extended = example()
            .with_extension("note some opaque text")
            .unwrap()
            .with_extension("x")
            .unwrap();
        let empty = Checkpoint::new("o", 0, [0; 32], 0).unwrap();
        for checkpoint in [plain, extended, empty] {
            let body = checkpoint.body();
            let parsed = Checkpoint::parse_body(&body).unwrap();
            assert_eq!(parsed, checkpoint);
            assert_eq!(parsed.body(), body);
        }
    }

    #[test]
    fn invalid_fields_are_refused_on_construction() {
        let new = |origin: &str, timestamp| Checkpoint::new(origin, 1, [0; 32], timestamp);
        assert_eq!(new("", 0), Err(CheckpointError::EmptyOrigin));
        assert_eq!(new("a b", 0), Err(CheckpointError::InvalidOrigin));
        assert_eq!(new("a\nb", 0), Err(CheckpointError::InvalidOrigin));
        assert_eq!(new("a\u{a0}b", 0), Err(CheckpointError::InvalidOrigin));
        assert_eq!(
            new("a", -1),
            Err(CheckpointError::TimestampOutOfRange { timestamp: -1 })
        );
        let checkpoint = new("a", 0).unwrap();
        let extend = |line: &str| checkpoint.clone().with_extension(line);
        assert_eq!(extend(""), Err(CheckpointError::InvalidExtension));
        assert_eq!(extend("a\rb"), Err(CheckpointError::InvalidExtension));
        assert_eq!(
            extend("timestamp 2026-11-22T08:30:00Z"),
            Err(CheckpointError::DuplicateTimestamp)
        );
    }
}
