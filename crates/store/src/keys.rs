//! Key encodings: fixed-width, big-endian, so that sled's byte order is the
//! order we iterate in.

use std::fmt;

use assure_access::CompartmentId;
use assure_model::Did;

/// One log: the compartment `compartment` of the organization `origin`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogId {
    /// The organization that writes the log.
    pub origin: Did,
    /// The compartment the log holds.
    pub compartment: CompartmentId,
}

/// Bytes of an encoded [`LogId`].
pub(crate) const LOG_ID_LEN: usize = 48;
/// Bytes of an entry key: log id and big-endian index.
pub(crate) const ENTRY_KEY_LEN: usize = LOG_ID_LEN + 8;

impl LogId {
    /// The checkpoint origin line of this log: `assure/<did>/<compartment hex>`.
    pub fn origin_line(&self) -> String {
        format!("assure/{}/{}", self.origin, self.compartment)
    }

    pub(crate) fn to_bytes(self) -> [u8; LOG_ID_LEN] {
        let mut out = [0u8; LOG_ID_LEN];
        out[..32].copy_from_slice(self.origin.public_bytes());
        out[32..].copy_from_slice(self.compartment.as_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let origin: [u8; 32] = bytes.get(..32)?.try_into().ok()?;
        let compartment: [u8; 16] = bytes.get(32..LOG_ID_LEN)?.try_into().ok()?;
        Some(Self {
            origin: Did::from_public_bytes(origin).ok()?,
            compartment: CompartmentId::from_bytes(compartment),
        })
    }

    pub(crate) fn entry_key(self, index: u64) -> [u8; ENTRY_KEY_LEN] {
        let mut out = [0u8; ENTRY_KEY_LEN];
        out[..LOG_ID_LEN].copy_from_slice(&self.to_bytes());
        out[LOG_ID_LEN..].copy_from_slice(&index.to_be_bytes());
        out
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LogId({}/{})",
            self.origin.fmt_short(),
            self.compartment.fmt_short()
        )
    }
}

/// Where a record sits: a log and an index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The log.
    pub log: LogId,
    /// The entry's index, from 0.
    pub index: u64,
}

impl Location {
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let log = LogId::from_bytes(bytes)?;
        let index = u64::from_be_bytes(bytes.get(LOG_ID_LEN..ENTRY_KEY_LEN)?.try_into().ok()?);
        Some(Self { log, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_round_trip() {
        let log = LogId {
            origin: assure_model::Keypair::from_seed([3; 32]).did(),
            compartment: CompartmentId::from_bytes([7; 16]),
        };
        let at = Location { log, index: 42 };
        assert_eq!(Location::from_bytes(&log.entry_key(42)), Some(at));
        assert_eq!(Location::from_bytes(&log.entry_key(42)[..10]), None);
    }
}
