//! Segments: the append-only files that hold every envelope once.
//!
//! A store has one sequence of segment files, `db/segments/NNNNNNNN.seg`,
//! written only at the end of the newest one. Every append of a page of
//! entries of one log writes one block:
//!
//! ```text
//! header  magic "ASG1" | count u32 | body length u32 | first index u64 |
//!         log id (48) | checksum of the header, of the meta, of the body (8 each)
//! meta    per entry: leaf hash (32) | index tuple (73) | envelope length u32
//! body    the envelopes, back to back
//! ```
//!
//! The blocks of one commit are written with one `write` and made durable
//! with one `fdatasync` (and an `fsync` of a new file and of the directory)
//! before sled records the checkpoints that cover them: a block that no
//! checkpoint covers was never acknowledged, and [`Segments::cut`] removes
//! it at open. One sequence for every log, rather than files per log, keeps
//! an append to several logs at one sync and lets the open read every
//! block's meta in one sequential pass, skipping the envelopes.
//!
//! Checksums are blake3, truncated to 8 bytes: the header's protects the
//! lengths that locate the next block, the meta's the leaf hashes and
//! index tuples read at open, the body's the envelopes (checked at open for
//! the last block of each file, where a crash tears writes; reads check
//! every envelope against its leaf hash).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Error;
use crate::keys::{LOG_ID_LEN, LogId};
use crate::pages::{Page, TUPLE_LEN};

/// The directory of the segment files, inside sled's directory, so that a
/// restore replaces both with one rename.
pub(crate) const SEGMENTS_DIR: &str = "segments";
/// A segment file is closed and a new one started past this size.
const ROLL_AT: u64 = 256 * 1024 * 1024;
const MAGIC: &[u8; 4] = b"ASG1";
/// Bytes of a block header.
pub(crate) const HEADER_LEN: usize = 4 + 4 + 4 + 8 + LOG_ID_LEN + 3 * 8;
/// Bytes of one entry's meta.
const META_LEN: usize = 32 + TUPLE_LEN + 4;

/// Where an envelope's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) segment: u32,
    pub(crate) len: u32,
    pub(crate) offset: u64,
}

/// A block as the open reads it: which entries, where, and their meta.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub(crate) log: LogId,
    pub(crate) first: u64,
    pub(crate) segment: u32,
    /// Where the block starts in its file.
    pub(crate) offset: u64,
    /// Where it ends.
    pub(crate) end: u64,
    pub(crate) leaves: Vec<[u8; 32]>,
    /// Encoded index tuples, [`TUPLE_LEN`] bytes each.
    pub(crate) tuples: Vec<u8>,
    pub(crate) lens: Vec<u32>,
    body_sum: [u8; 8],
}

impl Block {
    pub(crate) fn count(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// The place of every envelope of the block.
    pub(crate) fn places(&self) -> impl Iterator<Item = Place> + '_ {
        let mut at = self.body_start();
        self.lens.iter().map(move |&len| {
            let place = Place {
                segment: self.segment,
                len,
                offset: at,
            };
            at += u64::from(len);
            place
        })
    }

    fn body_start(&self) -> u64 {
        self.offset + HEADER_LEN as u64 + (self.lens.len() * META_LEN) as u64
    }
}

/// Everything a scan of the segments found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Every whole block, in the order written.
    pub(crate) blocks: Vec<Block>,
    /// Blocks that are torn or damaged.
    pub(crate) torn: Vec<Damage>,
}

/// A block that cannot be read whole.
#[derive(Debug)]
pub(crate) struct Damage {
    pub(crate) segment: u32,
    pub(crate) offset: u64,
    /// What is wrong.
    pub(crate) what: String,
    /// The block, when its header holds (its meta or envelopes do not).
    pub(crate) block: Option<Block>,
}

/// The segment files of one store.
#[derive(Debug)]
pub(crate) struct Segments {
    dir: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<std::collections::HashMap<u32, Arc<File>>>,
}

/// The newest file, appended to.
#[derive(Debug)]
struct Writer {
    number: u32,
    file: Option<File>,
    len: u64,
    /// Set when the segments hold damage that the open left in place:
    /// appending after it would bury it.
    refused: Option<String>,
}

fn checksum(parts: &[&[u8]]) -> [u8; 8] {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0; 8];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}

fn file_name(number: u32) -> String {
    format!("{number:08}.seg")
}

/// A segment file's path inside the data directory, for messages.
pub(crate) fn shown(number: u32) -> String {
    format!("db/{SEGMENTS_DIR}/{}", file_name(number))
}

/// Makes a directory entry (a new or removed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

impl Segments {
    /// Opens (creating) the segments directory inside `db_dir`.
    pub(crate) fn open(db_dir: &Path) -> Result<Self, Error> {
        let dir = db_dir.join(SEGMENTS_DIR);
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            sync_dir(db_dir)?;
        }
        let number = numbers(&dir)?.last().copied().unwrap_or(0);
        Ok(Self {
            dir,
            writer: Mutex::new(Writer {
                number,
                file: None,
                len: 0,
                refused: None,
            }),
            readers: Mutex::default(),
        })
    }

    /// Removes every segment file (a migration starting over).
    pub(crate) fn clear(&self) -> Result<(), Error> {
        for number in numbers(&self.dir)? {
            let path = self.dir.join(file_name(number));
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        sync_dir(&self.dir)?;
        *self.writer() = Writer {
            number: 0,
            file: None,
            len: 0,
            refused: None,
        };
        self.readers().clear();
        Ok(())
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // The writer's state is rewritten whole before a write is attempted.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn readers(&self) -> MutexGuard<'_, std::collections::HashMap<u32, Arc<File>>> {
        self.readers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads every block's header and meta, skipping the envelopes, and
    /// checks the envelopes of the last block of each file.
    pub(crate) fn scan(&self) -> Result<Scan, Error> {
        let mut scan = Scan::default();
        // Decoding a log id checks its key's curve point: once per log.
        let mut logs = std::collections::HashMap::new();
        for number in numbers(&self.dir)? {
            let path = self.dir.join(file_name(number));
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut at = 0;
            let before = scan.blocks.len();
            while at < size {
                match read_block(&mut reader, number, at, size, &mut logs) {
                    Ok(block) => {
                        at = block.end;
                        scan.blocks.push(block);
                    }
                    Err(Torn { what, block }) => {
                        let next = match &block {
                            // The header holds: the next block is past this one.
                            Some(block) => Some(block.end),
                            None => self.resync(number, at + 1, size, &mut logs)?,
                        };
                        scan.torn.push(Damage {
                            segment: number,
                            offset: at,
                            what,
                            block: block.map(|b| *b),
                        });
                        match next {
                            Some(next) => {
                                reader
                                    .seek(SeekFrom::Start(next))
                                    .map_err(|e| Error::io(&path, e))?;
                                at = next;
                            }
                            None => break,
                        }
                    }
                }
            }
            if scan.blocks.len() > before
                && let Some(last) = scan.blocks.last()
            {
                let body = self.read_at(last.segment, last.body_start(), last.end)?;
                if checksum(&[&body]) != last.body_sum {
                    scan.torn.push(Damage {
                        segment: number,
                        offset: last.offset,
                        what: format!(
                            "the envelopes from {} do not match their checksum",
                            last.first
                        ),
                        block: Some(last.clone()),
                    });
                }
            }
        }
        Ok(scan)
    }

    /// The first offset from `from` on where a whole block header starts,
    /// to read on past a damaged one.
    fn resync(
        &self,
        segment: u32,
        from: u64,
        size: u64,
        logs: &mut std::collections::HashMap<[u8; LOG_ID_LEN], LogId>,
    ) -> Result<Option<u64>, Error> {
        if from >= size {
            return Ok(None);
        }
        let rest = self.read_at(segment, from, size)?;
        let path = self.dir.join(file_name(segment));
        for (n, window) in rest.windows(4).enumerate() {
            if window != MAGIC {
                continue;
            }
            let at = from + n as u64;
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            let mut reader = BufReader::new(file);
            reader
                .seek(SeekFrom::Start(at))
                .map_err(|e| Error::io(&path, e))?;
            match read_block(&mut reader, segment, at, size, logs) {
                Ok(_) | Err(Torn { block: Some(_), .. }) => return Ok(Some(at)),
                Err(_) => continue,
            }
        }
        Ok(None)
    }

    /// Cuts the segments back to `at` (file, offset): blocks from there on
    /// were never acknowledged. Later files are removed.
    pub(crate) fn cut(&self, at: (u32, u64)) -> Result<(), Error> {
        let (number, offset) = at;
        let mut removed = false;
        for later in numbers(&self.dir)?.into_iter().filter(|n| *n > number) {
            let path = self.dir.join(file_name(later));
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            removed = true;
        }
        let path = self.dir.join(file_name(number));
        if path.exists() {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            file.set_len(offset).map_err(|e| Error::io(&path, e))?;
            file.sync_all().map_err(|e| Error::io(&path, e))?;
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        self.readers().clear();
        let mut writer = self.writer();
        writer.number = number;
        writer.file = None;
        Ok(())
    }

    /// Whether the files hold bytes past `at` (file, offset).
    pub(crate) fn ends_after(&self, at: (u32, u64)) -> Result<bool, Error> {
        for number in numbers(&self.dir)? {
            let path = self.dir.join(file_name(number));
            let len = std::fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .len();
            if number > at.0 || (number == at.0 && len > at.1) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Refuses every later append, saying why.
    pub(crate) fn refuse(&self, why: String) {
        self.writer().refused = Some(why);
    }

    /// Writes `pages` as blocks at the end of the segments and makes them
    /// durable; returns the place of every entry, page by page.
    pub(crate) fn append(&self, pages: &[Page]) -> Result<Vec<Vec<Place>>, Error> {
        if pages.is_empty() {
            return Ok(Vec::new());
        }
        let mut writer = self.writer();
        if let Some(why) = &writer.refused {
            return Err(Error::corrupt(format!(
                "segments ({why}): nothing more is appended"
            )));
        }
        let mut created = false;
        if writer.file.is_none() || writer.len >= ROLL_AT {
            let mut number = writer.number + u32::from(writer.file.is_some());
            loop {
                let path = self.dir.join(file_name(number));
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
                if len >= ROLL_AT {
                    number += 1;
                    continue;
                }
                created = len == 0;
                *writer = Writer {
                    number,
                    file: Some(file),
                    len,
                    refused: None,
                };
                break;
            }
        }
        let number = writer.number;
        let start = writer.len;
        let mut buffer = Vec::new();
        let mut places = Vec::with_capacity(pages.len());
        for page in pages {
            let offset = start + buffer.len() as u64;
            encode(page, &mut buffer);
            let mut at = offset + HEADER_LEN as u64 + (page.len() * META_LEN) as u64;
            places.push(
                page.lens()
                    .iter()
                    .map(|&len| {
                        let place = Place {
                            segment: number,
                            len,
                            offset: at,
                        };
                        at += u64::from(len);
                        place
                    })
                    .collect(),
            );
        }
        let path = self.dir.join(file_name(number));
        let Some(file) = writer.file.as_mut() else {
            return Err(Error::corrupt("segment writer"));
        };
        let written = (|| {
            file.seek(SeekFrom::Start(start))?;
            file.write_all(&buffer)?;
            match created {
                true => file.sync_all(),
                false => file.sync_data(),
            }
        })();
        if let Err(e) = written {
            // Leave no half block for the next append to follow.
            let _ = file.set_len(start);
            return Err(Error::io(&path, e));
        }
        writer.len = start + buffer.len() as u64;
        if created {
            sync_dir(&self.dir)?;
        }
        Ok(places)
    }

    /// Reads envelopes at `places`, coalescing neighbours into one read.
    pub(crate) fn read(&self, places: &[Place]) -> Result<Vec<Vec<u8>>, Error> {
        let mut out = Vec::with_capacity(places.len());
        let mut i = 0;
        while i < places.len() {
            let first = places[i];
            let mut end = first.offset + u64::from(first.len);
            let mut j = i + 1;
            while j < places.len()
                && places[j].segment == first.segment
                && places[j].offset == end
                && end - first.offset < (8 << 20)
            {
                end += u64::from(places[j].len);
                j += 1;
            }
            let bytes = self.read_at(first.segment, first.offset, end)?;
            let mut at = 0;
            for place in &places[i..j] {
                let len = place.len as usize;
                out.push(bytes[at..at + len].to_vec());
                at += len;
            }
            i = j;
        }
        Ok(out)
    }

    fn read_at(&self, segment: u32, from: u64, to: u64) -> Result<Vec<u8>, Error> {
        let path = self.dir.join(file_name(segment));
        let file = {
            let mut readers = self.readers();
            match readers.get(&segment) {
                Some(file) => file.clone(),
                None => {
                    let file = Arc::new(File::open(&path).map_err(|e| Error::io(&path, e))?);
                    readers.insert(segment, file.clone());
                    file
                }
            }
        };
        let mut bytes = vec![0; (to - from) as usize];
        file.read_exact_at(&mut bytes, from)
            .map_err(|e| Error::io(&path, e))?;
        Ok(bytes)
    }

    /// The envelopes of `block`, checked against its checksum.
    pub(crate) fn body(&self, block: &Block) -> Result<Option<Vec<Vec<u8>>>, Error> {
        let body = self.read_at(block.segment, block.body_start(), block.end)?;
        if checksum(&[&body]) != block.body_sum {
            return Ok(None);
        }
        let mut at = 0;
        Ok(Some(
            block
                .lens
                .iter()
                .map(|&len| {
                    let bytes = body[at..at + len as usize].to_vec();
                    at += len as usize;
                    bytes
                })
                .collect(),
        ))
    }

    /// sled's log file, beside the segments.
    pub(crate) fn db_file(&self) -> PathBuf {
        self.dir.parent().unwrap_or(&self.dir).join("db")
    }

    /// Which segment files there are, for a message about missing entries.
    pub(crate) fn listed(&self) -> Result<String, Error> {
        let numbers = numbers(&self.dir)?;
        Ok(match (numbers.first(), numbers.last()) {
            (Some(first), Some(last)) if first == last => {
                format!("the only segment file is {}", shown(*first))
            }
            (Some(first), Some(last)) => format!(
                "the segment files are {} to {}, {} of them",
                shown(*first),
                file_name(*last),
                numbers.len()
            ),
            _ => format!("db/{SEGMENTS_DIR} holds no segment file"),
        })
    }

    /// Bytes in every segment file.
    pub(crate) fn size(&self) -> Result<u64, Error> {
        let mut total = 0;
        for number in numbers(&self.dir)? {
            let path = self.dir.join(file_name(number));
            total += std::fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .len();
        }
        Ok(total)
    }
}

/// The numbers of the segment files, in order.
fn numbers(dir: &Path) -> Result<Vec<u32>, Error> {
    let mut out = Vec::new();
    for item in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let item = item.map_err(|e| Error::io(dir, e))?;
        let name = item.file_name();
        let name = name.to_string_lossy();
        if let Some(number) = name.strip_suffix(".seg").and_then(|n| n.parse().ok()) {
            out.push(number);
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn encode(page: &Page, out: &mut Vec<u8>) {
    let mut meta = Vec::with_capacity(page.len() * META_LEN);
    for ((leaf, tuple), len) in page.leaves().iter().zip(page.tuples()).zip(page.lens()) {
        meta.extend_from_slice(leaf);
        tuple.encode(&mut meta);
        meta.extend_from_slice(&len.to_be_bytes());
    }
    let body = page.body();
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&(page.len() as u32).to_be_bytes());
    header.extend_from_slice(&(body.len() as u32).to_be_bytes());
    header.extend_from_slice(&page.first.to_be_bytes());
    header.extend_from_slice(&page.log.to_bytes());
    let head_sum = checksum(&[&header]);
    header.extend_from_slice(&head_sum);
    header.extend_from_slice(&checksum(&[&meta]));
    header.extend_from_slice(&checksum(&[body]));
    out.extend_from_slice(&header);
    out.extend_from_slice(&meta);
    out.extend_from_slice(body);
}

/// Why a block cannot be read, and the block when its header holds.
struct Torn {
    what: String,
    block: Option<Box<Block>>,
}

impl Torn {
    fn header(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            block: None,
        }
    }
}

fn read_block(
    reader: &mut BufReader<File>,
    segment: u32,
    offset: u64,
    size: u64,
    logs: &mut std::collections::HashMap<[u8; LOG_ID_LEN], LogId>,
) -> Result<Block, Torn> {
    let short = |what: &str| Torn::header(format!("{what} ends before the file does"));
    if size - offset < HEADER_LEN as u64 {
        return Err(short("a block header"));
    }
    let mut header = [0u8; HEADER_LEN];
    reader
        .read_exact(&mut header)
        .map_err(|e| Torn::header(e.to_string()))?;
    let fixed = HEADER_LEN - 24;
    let sum = |n: usize| -> [u8; 8] {
        let at = fixed + 8 * n;
        header[at..at + 8].try_into().unwrap_or_default()
    };
    if &header[..4] != MAGIC || checksum(&[&header[..fixed]]) != sum(0) {
        return Err(Torn::header("a block header does not match its checksum"));
    }
    let word = |at: usize| u32::from_be_bytes(header[at..at + 4].try_into().unwrap_or_default());
    let count = word(4) as usize;
    let body_len = u64::from(word(8));
    let first = u64::from_be_bytes(header[12..20].try_into().unwrap_or_default());
    let key: [u8; LOG_ID_LEN] = header[20..20 + LOG_ID_LEN]
        .try_into()
        .unwrap_or([0; LOG_ID_LEN]);
    let log = match logs.get(&key) {
        Some(log) => *log,
        None => {
            let log =
                LogId::from_bytes(&key).ok_or_else(|| Torn::header("a block names no log"))?;
            logs.insert(key, log);
            log
        }
    };
    let meta_len = (count * META_LEN) as u64;
    let end = offset + HEADER_LEN as u64 + meta_len + body_len;
    if end > size {
        return Err(short("a block"));
    }
    let mut meta = vec![0u8; meta_len as usize];
    reader
        .read_exact(&mut meta)
        .map_err(|e| Torn::header(e.to_string()))?;
    reader
        .seek_relative(body_len as i64)
        .map_err(|e| Torn::header(e.to_string()))?;
    let mut leaves = Vec::with_capacity(count);
    let mut tuples = Vec::with_capacity(count * TUPLE_LEN);
    let mut lens = Vec::with_capacity(count);
    for item in meta.chunks_exact(META_LEN) {
        leaves.push(item[..32].try_into().unwrap_or_default());
        tuples.extend_from_slice(&item[32..32 + TUPLE_LEN]);
        lens.push(u32::from_be_bytes(
            item[32 + TUPLE_LEN..].try_into().unwrap_or_default(),
        ));
    }
    let block = Block {
        log,
        first,
        segment,
        offset,
        end,
        leaves,
        tuples,
        lens,
        body_sum: sum(2),
    };
    let sums = block.lens.iter().map(|&l| u64::from(l)).sum::<u64>() == body_len;
    if !sums || checksum(&[&meta]) != sum(1) {
        return Err(Torn {
            what: format!(
                "the leaf hashes of the entries from {first} do not match their checksum"
            ),
            block: Some(Box::new(block)),
        });
    }
    Ok(block)
}
