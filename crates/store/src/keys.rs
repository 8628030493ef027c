//! Key encodings: fixed-width, big-endian, so that sled's byte order is the
//! order we iterate in.

pub use assure_access::LogId;

/// Bytes of an encoded [`LogId`].
pub(crate) const LOG_ID_LEN: usize = LogId::LEN;
/// Bytes of an entry key: log id and big-endian index.
pub(crate) const ENTRY_KEY_LEN: usize = LOG_ID_LEN + 8;

/// The sled key of entry `index` of `log` (or of the page starting there),
/// in stores of the previous format.
#[cfg(test)]
pub(crate) trait EntryKey {
    fn entry_key(self, index: u64) -> [u8; ENTRY_KEY_LEN];
}

#[cfg(test)]
impl EntryKey for LogId {
    fn entry_key(self, index: u64) -> [u8; ENTRY_KEY_LEN] {
        let mut out = [0u8; ENTRY_KEY_LEN];
        out[..LOG_ID_LEN].copy_from_slice(&self.to_bytes());
        out[LOG_ID_LEN..].copy_from_slice(&index.to_be_bytes());
        out
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
    use assure_access::CompartmentId;

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
