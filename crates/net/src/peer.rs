//! Organizations and peers: the libp2p key is the organization key, so a
//! connection's PeerId names the organization on the other end.

use assure_model::{Did, Keypair};
use libp2p::{PeerId, identity};

/// The libp2p identity of an organization key.
pub fn libp2p_keypair(keypair: &Keypair) -> identity::Keypair {
    let mut seed = keypair.seed();
    // A 32-byte ed25519 seed always decodes.
    #[allow(clippy::expect_used)]
    identity::Keypair::ed25519_from_bytes(&mut seed).expect("a 32-byte seed is a valid ed25519 key")
}

/// The PeerId of an organization.
pub fn peer_id(did: &Did) -> PeerId {
    // A Did holds a valid ed25519 point, which libp2p accepts.
    #[allow(clippy::expect_used)]
    let key = identity::ed25519::PublicKey::try_from_bytes(did.public_bytes())
        .expect("a Did is a valid ed25519 public key");
    identity::PublicKey::from(key).to_peer_id()
}

/// The organization behind a PeerId, when it is an ed25519 identity.
pub fn did(peer: &PeerId) -> Option<Did> {
    let multihash = peer.as_ref();
    if multihash.code() != 0 {
        return None;
    }
    let key = identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    let bytes = key.try_into_ed25519().ok()?.to_bytes();
    Did::from_public_bytes(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_and_dids_round_trip() {
        let keypair = Keypair::from_seed([7; 32]);
        let peer = peer_id(&keypair.did());
        assert_eq!(libp2p_keypair(&keypair).public().to_peer_id(), peer);
        assert_eq!(did(&peer), Some(keypair.did()));
        assert_eq!(did(&PeerId::random()), None);
    }
}
