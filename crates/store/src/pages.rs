//! Pages: the unit in which log entries are written, with their leaf hashes
//! and the compact index tuples from which the in-memory record index is
//! rebuilt at open. A page is written as one block of the segment files
//! (`segments.rs`).
//!
//! Stores of the previous format kept each page in three sled trees
//! (`entries`, `leaves`, `index`), keyed by the log and the index of the
//! page's first entry; the decoders of those values remain for the
//! migration (`migrate.rs`).

use assure_model::{Did, Kind, Record, RecordId};
use jiff::Timestamp;

use crate::Error;
use crate::keys::{ENTRY_KEY_LEN, Location, LogId};

/// Most entries in one page (the sync protocol's page size).
pub(crate) const MAX_PAGE_ENTRIES: usize = 512;
/// Most envelope bytes in one page.
pub(crate) const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Bytes of one index tuple: id, subject key, kind, issued-at microseconds.
pub(crate) const TUPLE_LEN: usize = 32 + 32 + 1 + 8;

/// What the in-memory index keeps about a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tuple {
    pub(crate) id: RecordId,
    pub(crate) subject: Did,
    pub(crate) kind: Kind,
    pub(crate) issued_at: Timestamp,
}

impl Tuple {
    pub(crate) fn of(record: &Record) -> Self {
        Self {
            id: record.id,
            subject: record.subject.did,
            kind: record.kind(),
            issued_at: record.predicate.common.issued_at,
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(self.subject.public_bytes());
        out.push(Kind::ALL.iter().position(|k| *k == self.kind).unwrap_or(0) as u8);
        out.extend_from_slice(&self.issued_at.as_microsecond().to_be_bytes());
    }

    /// Decodes a tuple, checking each subject key once: a key's check
    /// (decompressing its curve point) costs more than the rest of a
    /// store's open per record, and a store holds few subjects.
    pub(crate) fn decode_cached(
        bytes: &[u8],
        subjects: &mut std::collections::HashMap<[u8; 32], Did>,
    ) -> Option<Self> {
        let id = RecordId(bytes.get(..32)?.try_into().ok()?);
        let key: [u8; 32] = bytes.get(32..64)?.try_into().ok()?;
        let subject = match subjects.get(&key) {
            Some(did) => *did,
            None => {
                let did = Did::from_public_bytes(key).ok()?;
                subjects.insert(key, did);
                did
            }
        };
        let kind = *Kind::ALL.get(usize::from(*bytes.get(64)?))?;
        let micros = i64::from_be_bytes(bytes.get(65..73)?.try_into().ok()?);
        let issued_at = Timestamp::from_microsecond(micros).ok()?;
        Some(Self {
            id,
            subject,
            kind,
            issued_at,
        })
    }
}

/// One page being built: entries of one log from `first` on.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) log: LogId,
    pub(crate) first: u64,
    body: Vec<u8>,
    lens: Vec<u32>,
    leaves: Vec<[u8; 32]>,
    tuples: Vec<Tuple>,
}

impl Page {
    pub(crate) fn new(log: LogId, first: u64) -> Self {
        Self {
            log,
            first,
            body: Vec::new(),
            lens: Vec::new(),
            leaves: Vec::new(),
            tuples: Vec::new(),
        }
    }

    /// Whether another entry of `len` bytes would overflow the page.
    pub(crate) fn is_full_for(&self, len: usize) -> bool {
        !self.lens.is_empty()
            && (self.lens.len() >= MAX_PAGE_ENTRIES || self.body.len() + len > MAX_PAGE_BYTES)
    }

    pub(crate) fn push(&mut self, bytes: &[u8], leaf: &[u8; 32], tuple: &Tuple) {
        // Envelopes are at most 256 KiB, so the length fits in a u32.
        self.lens.push(bytes.len() as u32);
        self.body.extend_from_slice(bytes);
        self.leaves.push(*leaf);
        self.tuples.push(*tuple);
    }

    pub(crate) fn len(&self) -> usize {
        self.lens.len()
    }

    /// The envelopes, back to back.
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// The length of each envelope.
    pub(crate) fn lens(&self) -> &[u32] {
        &self.lens
    }

    pub(crate) fn leaves(&self) -> &[[u8; 32]] {
        &self.leaves
    }

    pub(crate) fn tuples(&self) -> &[Tuple] {
        &self.tuples
    }
}

/// The log and first index a page key names.
pub(crate) fn page_start(key: &[u8]) -> Result<Location, Error> {
    if key.len() != ENTRY_KEY_LEN {
        return Err(Error::corrupt("page key"));
    }
    Location::from_bytes(key).ok_or_else(|| Error::corrupt("page key"))
}

/// The envelopes of an entries page.
pub(crate) fn entries(page: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    let mut rest = page;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_at_checked(4)
            .ok_or_else(|| Error::corrupt("entries page"))?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (entry, tail) = tail
            .split_at_checked(len)
            .ok_or_else(|| Error::corrupt("entries page"))?;
        out.push(entry);
        rest = tail;
    }
    Ok(out)
}

/// The leaf hashes of a leaves page.
pub(crate) fn leaves(page: &[u8]) -> Result<Vec<[u8; 32]>, Error> {
    if !page.len().is_multiple_of(32) {
        return Err(Error::corrupt("leaves page"));
    }
    Ok(page
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap_or([0; 32]))
        .collect())
}

/// The index tuples of an index page.
pub(crate) fn tuples(page: &[u8]) -> Result<Vec<Tuple>, Error> {
    if !page.len().is_multiple_of(TUPLE_LEN) {
        return Err(Error::corrupt("index page"));
    }
    let mut subjects = std::collections::HashMap::new();
    page.chunks_exact(TUPLE_LEN)
        .map(|c| Tuple::decode_cached(c, &mut subjects).ok_or_else(|| Error::corrupt("index page")))
        .collect()
}
