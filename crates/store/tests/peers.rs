//! The peer book on disk: what the node learned of its peers survives a
//! restart, and a forgotten peer stays forgotten.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use assure_model::{Did, Keypair};
use assure_store::{Peer, Source, Store};
use jiff::Timestamp;

fn did(seed: u8) -> Did {
    Keypair::from_seed([seed; 32]).did()
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

#[test]
fn peers_are_remembered_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, member, stranger) = (did(1), did(2), did(3));
    let hub_addresses = vec!["/ip4/127.0.0.1/tcp/4001".to_owned()];
    let hub_address = &hub_addresses[0];
    let member_addresses = vec![
        "/ip4/127.0.0.1/tcp/4002".to_owned(),
        "/ip4/10.0.0.2/tcp/4002".to_owned(),
    ];
    let expected: Vec<Peer> = {
        let store = Store::open(dir.path()).unwrap();
        assert!(store.peers().unwrap().is_empty());
        store
            .learn_peer(hub, &[Source::Bootstrap], &hub_addresses, t(0))
            .unwrap();
        store
            .learn_peer(
                member,
                &[Source::Identify, Source::Grantee],
                &member_addresses,
                t(1),
            )
            .unwrap();
        store
            .learn_peer(
                stranger,
                &[Source::Identify],
                &["/ip4/1.2.3.4/tcp/1".into()],
                t(2),
            )
            .unwrap();
        // Learning again adds; a connection is remembered with its address.
        store
            .learn_peer(hub, &[Source::Identify], &hub_addresses, t(3))
            .unwrap();
        let hub_entry = store.peer_connected(hub, Some(hub_address), t(4)).unwrap();
        assert_eq!(hub_entry.first_seen, t(0));
        store.peer_connected(member, None, t(5)).unwrap();
        assert!(store.forget_peer(&stranger).unwrap());
        assert!(!store.forget_peer(&stranger).unwrap());
        store.peers().unwrap()
    };

    let store = Store::open(dir.path()).unwrap();
    let peers = store.peers().unwrap();
    assert_eq!(peers, expected, "the book reads back as written");
    assert_eq!(peers.len(), 2, "the forgotten peer stays forgotten");
    assert_eq!(store.peer(&stranger).unwrap(), None);

    let hub_entry = store.peer(&hub).unwrap().unwrap();
    assert_eq!(hub_entry.addresses, hub_addresses);
    assert_eq!(
        hub_entry.sources,
        BTreeSet::from([Source::Bootstrap, Source::Identify])
    );
    assert_eq!(hub_entry.last_connected, Some(t(4)));
    assert_eq!(hub_entry.last_address.as_ref(), Some(hub_address));

    let member_entry = store.peer(&member).unwrap().unwrap();
    assert_eq!(member_entry.addresses, member_addresses);
    assert_eq!(member_entry.last_connected, Some(t(5)));
    assert_eq!(member_entry.last_address, None, "it dialled us");
    assert_eq!(
        member_entry.sources,
        BTreeSet::from([Source::Identify, Source::Grantee])
    );
    // An earlier connection reported late does not move the clock back;
    // every write is a new revision.
    let late = store.peer_connected(member, None, t(1)).unwrap();
    assert_eq!(late.last_connected, Some(t(5)));
    assert_eq!(late.revision, member_entry.revision + 1);
}
