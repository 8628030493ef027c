//! The seed corpus: real inputs of every target, made from the example
//! files under `config/` and by the same code that writes them in the node.
//! `cargo run -p assure-fuzzing --example seeds` writes them to
//! `fuzz/corpus/TARGET/`, named by their digest.

use std::path::{Path, PathBuf};

use assure_access::{Compartment, CompartmentId, Rule, Tlp};
use assure_log::{Blake3, Checkpoint, SignedCheckpoint, Tree};
use assure_model::{Catalog, Draft, Record};
use assure_net::protocol::{Ask, Offer, Request, Response, Witnessed};
use assure_store::{NewEntry, Store};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::signature::{covered, date};
use crate::{key, now};

/// One seed: the target it is for and its bytes.
pub type Seed = (&'static str, Vec<u8>);

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every seed of every target.
pub fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let records = records(&mut out);
    log(&records, &mut out);
    sync(&records, &mut out);
    signature(&mut out);
    cursor(&mut out);
    for (target, dir) in [
        ("profile", "config/profiles"),
        ("node_config", "config/demo"),
        ("node_config", "config"),
    ] {
        for text in toml_files(&root().join(dir)) {
            out.push((target, text.into_bytes()));
        }
    }
    backups(&records, &mut out);
    out
}

/// The TOML files directly in `dir`, sorted.
fn toml_files(dir: &Path) -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// The example drafts, as TOML and JSON, and the records [`key`] signs
/// from them: envelopes, statements and predicates.
fn records(out: &mut Vec<Seed>) -> Vec<(Vec<u8>, Record)> {
    let mut records = Vec::new();
    for text in toml_files(&root().join("config/records")) {
        out.push(("draft_toml", text.clone().into_bytes()));
        if let Ok(table) = toml::from_str::<toml::Table>(&text)
            && let Ok(json) = serde_json::to_vec_pretty(&table)
        {
            out.push(("draft_json", json));
        }
        let Ok(draft) = Draft::from_toml(&text) else {
            continue;
        };
        let Ok((bytes, record)) = draft.sign(key(), now(), Catalog::builtin()) else {
            continue;
        };
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&record.envelope.payload)
            .unwrap_or_default();
        out.push(("envelope", bytes.clone()));
        out.push(("statement", payload));
        let kind = assure_model::Kind::ALL
            .iter()
            .position(|k| *k == record.kind())
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(0);
        let mut predicate = vec![kind];
        predicate.extend(record.predicate.to_value().to_string().into_bytes());
        out.push(("predicate", predicate));
        records.push((bytes, record));
    }
    records
}

/// A log of the records: its checkpoints, signed notes and proofs.
fn log(records: &[(Vec<u8>, Record)], out: &mut Vec<Seed>) {
    let mut tree: Tree<Blake3> = Tree::new();
    for (bytes, _) in records {
        tree.append(bytes);
    }
    let origin = assure_log::origin(&key().did().to_string(), &[7; 16]);
    let size = tree.len();
    let Ok(checkpoint) = Checkpoint::new(origin, size, tree.root(), now().as_second()) else {
        return;
    };
    out.push(("checkpoint", checkpoint.body().into_bytes()));
    if let Ok(extended) = checkpoint.clone().with_extension("note some opaque text") {
        out.push(("checkpoint", extended.body().into_bytes()));
    }
    let name = key().did().to_string();
    if let Ok(mut note) = SignedCheckpoint::sign(checkpoint, &name, key().signing_key()) {
        out.push(("note", note.to_text().into_bytes()));
        let witness = assure_model::Keypair::from_seed([6; 32]);
        if note
            .add_signature(&witness.did().to_string(), witness.signing_key())
            .is_ok()
        {
            out.push(("note", note.to_text().into_bytes()));
        }
    }
    let leaves = 9;
    let tree = crate::log::honest_tree(leaves);
    let size = tree.len();
    for index in [0, size / 2, size - 1] {
        let mut inclusion = vec![leaves];
        inclusion.extend(index.to_be_bytes());
        inclusion.extend(size.to_be_bytes());
        inclusion.extend(tree.leaf_hash(index).unwrap_or_default());
        inclusion.extend(tree.root());
        let proof = tree.inclusion_proof(index, size).unwrap_or_default();
        inclusion.extend(proof.iter().flatten());
        out.push(("proof", inclusion));
        let old = index + 1;
        let mut consistency = vec![leaves];
        consistency.extend(index.to_be_bytes());
        consistency.extend(size.to_be_bytes());
        consistency.extend(tree.root_at(old).unwrap_or_default());
        consistency.extend(tree.root());
        let proof = tree.consistency_proof(old, size).unwrap_or_default();
        consistency.extend(proof.iter().flatten());
        out.push(("proof", consistency));
    }
}

/// Every request and response of the sync protocol.
fn sync(records: &[(Vec<u8>, Record)], out: &mut Vec<Seed>) {
    let compartment = CompartmentId::from_bytes([7; 16]);
    let note = "assure/o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
                timestamp 2026-11-22T08:30:00Z\n\n— o AAAAAA==\n";
    let requests = [
        Request::Compartments,
        Request::Entries {
            compartment,
            from: 0,
            max: 512,
            prove_to: None,
        },
        Request::Entries {
            compartment,
            from: 512,
            max: 512,
            prove_to: Some(2048),
        },
        Request::Consistency {
            compartment,
            old_size: 3,
            new_size: 9,
        },
        Request::Notify {
            compartment,
            checkpoint: note.into(),
        },
        Request::Witness {
            asks: vec![
                Ask {
                    blind: [9; 32],
                    sealed: vec![1; 48],
                };
                2
            ],
        },
    ];
    let entries = records
        .iter()
        .map(|(bytes, _)| String::from_utf8_lossy(bytes).into_owned())
        .collect();
    let responses = [
        Response::Compartments(vec![Offer {
            compartment,
            checkpoint: note.into(),
            tlp: Tlp::Green,
            ticket: vec![2; 40],
            regulator: true,
        }]),
        Response::Entries {
            checkpoint: note.into(),
            from: 0,
            entries,
            proof: vec![[7; 32], [8; 32]],
        },
        Response::Consistency(vec![[1; 32], [2; 32], [3; 32]]),
        Response::Ack,
        Response::Witness(vec![Witnessed {
            blind: [9; 32],
            checkpoint: note.into(),
            evidence: Some((note.into(), note.into())),
            proof: None,
        }]),
        Response::NotFound,
        Response::Refused("rate limit".into()),
    ];
    for request in &requests {
        if let Ok(bytes) = cbor4ii::serde::to_vec(Vec::new(), request) {
            out.push(("sync_request", bytes));
        }
    }
    for response in &responses {
        if let Ok(bytes) = cbor4ii::serde::to_vec(Vec::new(), response) {
            out.push(("sync_response", bytes));
        }
    }
}

/// Signed requests, with and without a purpose.
fn signature(out: &mut Vec<Seed>) {
    let (date, digest) = (date(), assure_api::signature::content_digest(b""));
    let at = now().as_second();
    for purpose in [None, Some("annual supplier review")] {
        let covered = covered(&date, &digest, purpose);
        let (input, signature) = assure_api::signature::sign(key(), &covered, at, "n0nce");
        let mut seed = format!("{input}\n{signature}");
        if let Some(purpose) = purpose {
            seed = format!("{seed}\n{purpose}");
        }
        out.push(("signature", seed.into_bytes()));
    }
}

/// Page cursors as the API writes them: microseconds, origin, compartment,
/// index.
fn cursor(out: &mut Vec<Seed>) {
    for (micros, index) in [(now().as_microsecond(), 41_u64), (0, 0)] {
        let mut bytes = micros.to_be_bytes().to_vec();
        bytes.extend(key().did().public_bytes());
        bytes.extend([7; 16]);
        bytes.extend(index.to_be_bytes());
        out.push(("cursor", URL_SAFE_NO_PAD.encode(bytes).into_bytes()));
    }
}

/// Backups of a store holding the records, with and without a key line.
fn backups(records: &[(Vec<u8>, Record)], out: &mut Vec<Seed>) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let Ok(store) = Store::open(dir.path()) else {
        return;
    };
    let owner = key();
    let made = (|| {
        store.set_owner(owner.did()).ok()?;
        let mut ids = Vec::new();
        for (n, (label, rule)) in [("public", Rule::public()), ("partners", Rule::partners())]
            .into_iter()
            .enumerate()
        {
            let id = CompartmentId::from_bytes([u8::try_from(n).ok()? + 1; 16]);
            let compartment = Compartment::new(id, label, rule).ok()?;
            store.create_compartment(owner, compartment, now()).ok()?;
            ids.push(id);
        }
        let entries: Vec<NewEntry> = records
            .iter()
            .take(3)
            .map(|(bytes, record)| NewEntry {
                compartment: ids[0],
                bytes: bytes.clone(),
                record: record.clone(),
            })
            .collect();
        store.append(owner, &entries, now()).ok()?;
        Some(())
    })();
    if made.is_none() {
        return;
    }
    let mut plain = Vec::new();
    let mut keyed = Vec::new();
    if store.backup(&mut plain, now()).is_ok() {
        out.push(("backup_header", plain.clone()));
        out.push(("backup_restore", plain));
    }
    if store
        .backup_with_key(&mut keyed, now(), Some("sealed key"))
        .is_ok()
    {
        out.push(("backup_header", keyed.clone()));
        out.push(("backup_restore", keyed));
    }
}
