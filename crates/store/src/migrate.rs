//! Migration of a data directory of the previous format, whose envelopes,
//! leaf hashes and index tuples were pages in three sled trees (`entries`,
//! `leaves`, `index`): at open, every page is written to the segments as it
//! was, durably; then the format is recorded, durably; only then are the old
//! trees dropped. A migration interrupted before the format is recorded
//! starts over (the segments written so far are removed); one interrupted
//! after it drops what is left of the old trees.

use assure_log::{Blake3, Hasher as _};

use crate::error::Within as _;
use crate::journal::Journal;
use crate::pages::{self, Page, Tuple};
use crate::segments::Segments;
use crate::{Error, Trees};

/// The `meta` key naming the store's format.
const FORMAT_KEY: &str = "format";
/// The format of a store whose envelopes are in segment files.
pub(crate) const FORMAT: &str = "segments/1";
/// The trees of the previous format.
const OLD_TREES: [&str; 3] = ["entries", "leaves", "index"];
/// Bytes of envelopes written to the segments per sync while migrating.
const CHUNK_BYTES: usize = 32 << 20;

/// Brings the store in `db` to [`FORMAT`]; `sync` makes sled durable.
pub(crate) fn upgrade(
    db: &sled::Db,
    trees: &Trees,
    segments: &Segments,
    sync: &dyn Fn() -> Result<(), Error>,
) -> Result<(), Error> {
    let names = db.tree_names();
    let has = |name: &str| names.iter().any(|n| n.as_ref() == name.as_bytes());
    if trees
        .meta
        .get(FORMAT_KEY)
        .within("keyspace `meta`")?
        .as_deref()
        == Some(FORMAT.as_bytes())
    {
        return drop_old(db, &has, sync);
    }
    if let Some(format) = trees.meta.get(FORMAT_KEY).within("keyspace `meta`")? {
        return Err(Error::corrupt(format!(
            "meta/format `{}`: a format this version does not know; restore the node \
             from `assure backup` with `assure restore`",
            String::from_utf8_lossy(&format)
        )));
    }
    if has("entries") {
        segments.clear()?;
        copy(db, segments)?;
    }
    mark(trees)?;
    sync()?;
    drop_old(db, &has, sync)
}

/// Records that the store is of [`FORMAT`] (a new or restored store).
pub(crate) fn mark(trees: &Trees) -> Result<(), Error> {
    trees
        .meta
        .insert(FORMAT_KEY, FORMAT.as_bytes())
        .within("keyspace `meta`")?;
    Ok(())
}

fn drop_old(
    db: &sled::Db,
    has: &dyn Fn(&str) -> bool,
    sync: &dyn Fn() -> Result<(), Error>,
) -> Result<(), Error> {
    let mut dropped = false;
    for name in OLD_TREES {
        if has(name) {
            db.drop_tree(name).within(&format!("keyspace `{name}`"))?;
            dropped = true;
        }
    }
    if dropped {
        sync()?;
    }
    Ok(())
}

/// Writes every page of the old trees to the segments, in key order (by
/// log, then index), which is each log's order.
fn copy(db: &sled::Db, segments: &Segments) -> Result<(), Error> {
    let entries = db.open_tree("entries").within("keyspace `entries`")?;
    let leaves = db.open_tree("leaves").within("keyspace `leaves`")?;
    let index = db.open_tree("index").within("keyspace `index`")?;
    let mut chunk = Vec::new();
    let mut bytes = 0;
    for item in entries.iter() {
        let (key, value) = item.within("keyspace `entries`")?;
        let start = pages::page_start(&key)?;
        let missing = |what: &str| {
            Error::corrupt(format!(
                "{what} of the entries from {} of {:?}",
                start.index, start.log
            ))
        };
        let page_leaves = leaves
            .get(&key)
            .within("keyspace `leaves`")?
            .ok_or_else(|| missing("leaf hashes"))?;
        let page_tuples = index
            .get(&key)
            .within("keyspace `index`")?
            .ok_or_else(|| missing("index tuples"))?;
        let envelopes = pages::entries(&value)?;
        let page_leaves = pages::leaves(&page_leaves)?;
        let page_tuples: Vec<Tuple> = pages::tuples(&page_tuples)?;
        if page_leaves.len() != envelopes.len() || page_tuples.len() != envelopes.len() {
            return Err(missing("parts"));
        }
        let mut page = Page::new(start.log, start.index);
        for (n, ((envelope, leaf), tuple)) in envelopes
            .iter()
            .zip(&page_leaves)
            .zip(&page_tuples)
            .enumerate()
        {
            if Blake3::leaf(envelope) != *leaf {
                return Err(Error::corrupt(format!(
                    "entry {} of {:?} (it does not match its leaf hash)",
                    start.index + n as u64,
                    start.log
                )));
            }
            page.push(envelope, leaf, tuple);
        }
        bytes += page.body().len();
        chunk.push(page);
        if bytes >= CHUNK_BYTES {
            segments.append(&chunk)?;
            chunk.clear();
            bytes = 0;
        }
    }
    segments.append(&chunk)?;
    Ok(())
}

/// Moves the disclosures an earlier version kept in sled's `disclosures`
/// tree to the journal. The journal is written whole and synced before the
/// tree is emptied; a crash in between leaves the tree as it was, and the
/// next open writes the journal again from it (the journal holds nothing
/// else then: nothing is disclosed before the open returns).
pub(crate) fn disclosures_to_journal(
    trees: &Trees,
    journal: &Journal,
    sync: &dyn Fn() -> Result<(), Error>,
) -> Result<(), Error> {
    if trees.disclosures.is_empty() {
        return Ok(());
    }
    journal.clear()?;
    let payloads = trees
        .disclosures
        .iter()
        .values()
        .map(|value| value.map(|v| v.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .within("keyspace `disclosures`")?;
    journal.append(&payloads)?;
    trees.disclosures.clear().within("keyspace `disclosures`")?;
    sync()
}
