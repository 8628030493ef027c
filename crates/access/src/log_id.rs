//! Naming one log: an organization and one of its compartments.

use std::fmt;

use assure_model::Did;

use crate::compartment::CompartmentId;

/// One log: the compartment `compartment` of the organization `origin`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogId {
    /// The organization that writes the log.
    pub origin: Did,
    /// The compartment the log holds.
    pub compartment: CompartmentId,
}

impl LogId {
    /// Bytes of the encoded form: the origin's public key, then the
    /// compartment id.
    pub const LEN: usize = 48;

    /// The checkpoint origin line of this log: `assure/<did>/<compartment hex>`.
    pub fn origin_line(&self) -> String {
        format!("assure/{}/{}", self.origin, self.compartment)
    }

    /// The fixed-width encoding, ordered as the logs are.
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..32].copy_from_slice(self.origin.public_bytes());
        out[32..].copy_from_slice(self.compartment.as_bytes());
        out
    }

    /// Decodes [`LogId::to_bytes`]; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let origin: [u8; 32] = bytes.get(..32)?.try_into().ok()?;
        let compartment: [u8; 16] = bytes.get(32..Self::LEN)?.try_into().ok()?;
        Some(Self {
            origin: Did::from_public_bytes(origin).ok()?,
            compartment: CompartmentId::from_bytes(compartment),
        })
    }

    /// Parses an origin line `assure/<did>/<compartment hex>`.
    pub fn from_origin_line(line: &str) -> Option<Self> {
        let rest = line.strip_prefix("assure/")?;
        let (did, compartment) = rest.rsplit_once('/')?;
        Some(Self {
            origin: did.parse().ok()?,
            compartment: compartment.parse().ok()?,
        })
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

#[cfg(test)]
mod tests {
    use assure_model::Keypair;

    use super::*;

    #[test]
    fn encodings_round_trip() {
        let log = LogId {
            origin: Keypair::from_seed([3; 32]).did(),
            compartment: CompartmentId::from_bytes([7; 16]),
        };
        assert_eq!(LogId::from_bytes(&log.to_bytes()), Some(log));
        assert_eq!(LogId::from_bytes(&log.to_bytes()[..47]), None);
        assert_eq!(LogId::from_origin_line(&log.origin_line()), Some(log));
        assert_eq!(LogId::from_origin_line("assure/did:key:x/00"), None);
    }
}
