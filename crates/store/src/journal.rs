//! The disclosure journal: an append-only file of small records, durable
//! by group commit.
//!
//! Every answer that discloses restricted entries is recorded before it is
//! sent (ISO 22340: who was told what, when, under which grant). Written to
//! sled, each disclosure waited for sled's flush, whose tail sets the
//! latency of every signed read; here a disclosure is one `write` at the end
//! of `db/disclosures.log` and one `fdatasync` shared with every writer
//! that arrived while the previous one ran.
//!
//! ```text
//! frame   length u32 (LE) | checksum of the payload (blake3, 8 bytes) | payload
//! ```
//!
//! A frame that reaches past the end of the file, or the last frame with a
//! bad checksum, is a write torn by a crash: it was never acknowledged, and
//! the open cuts it. A bad frame followed by more frames is damage, and the
//! open refuses the store naming the file.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::Error;
use crate::segments::sync_dir;

/// The file's name inside sled's directory, so that a restore replaces the
/// database and its journal with one rename.
pub(crate) const JOURNAL_FILE: &str = "disclosures.log";
/// Bytes before a frame's payload.
const FRAME_HEADER: usize = 4 + 8;
/// No disclosure comes near this; a larger length is damage.
const MAX_FRAME: u32 = 1 << 20;

#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    /// Written at its end by one writer at a time, synced and read by any.
    file: File,
    /// The length written so far; held while writing.
    writer: Mutex<u64>,
    /// (bytes durable, a sync is running).
    synced: Mutex<(u64, bool)>,
    done: Condvar,
}

fn checksum(payload: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&blake3::hash(payload).as_bytes()[..8]);
    out
}

/// Where the valid frames end, and whether what follows is a torn tail
/// (`Ok`) or damage (`Err` with the offset of the bad frame).
fn valid_end(bytes: &[u8]) -> Result<u64, u64> {
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < FRAME_HEADER {
            return Ok(at as u64);
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let end = FRAME_HEADER + len as usize;
        if len > MAX_FRAME {
            return Err(at as u64);
        }
        if rest.len() < end {
            return Ok(at as u64);
        }
        if rest[4..FRAME_HEADER] != checksum(&rest[FRAME_HEADER..end]) {
            // The last frame torn by a crash, or damage with frames after it.
            return if rest.len() == end {
                Ok(at as u64)
            } else {
                Err(at as u64)
            };
        }
        at += end;
    }
    Ok(at as u64)
}

impl Journal {
    /// Opens (creating) the journal in `db_dir`, cutting a torn tail.
    pub(crate) fn open(db_dir: &Path) -> Result<Self, Error> {
        let path = db_dir.join(JOURNAL_FILE);
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        if created {
            sync_dir(db_dir)?;
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let end = valid_end(&bytes).map_err(|offset| {
            Error::corrupt(format!(
                "{} (the disclosure log) at byte {offset}",
                path.display()
            ))
        })?;
        if end < bytes.len() as u64 {
            file.set_len(end).map_err(|e| Error::io(&path, e))?;
            file.sync_data().map_err(|e| Error::io(&path, e))?;
        }
        Ok(Self {
            path,
            file,
            writer: Mutex::new(end),
            synced: Mutex::new((end, false)),
            done: Condvar::new(),
        })
    }

    fn writer(&self) -> MutexGuard<'_, u64> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn synced(&self) -> MutexGuard<'_, (u64, bool)> {
        self.synced.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `payloads` and returns once they are durable.
    pub(crate) fn append(&self, payloads: &[Vec<u8>]) -> Result<(), Error> {
        let end = self.write(payloads)?;
        self.sync_to(end)
    }

    /// Appends `payloads` without waiting for them to be durable; the end
    /// of what was written.
    pub(crate) fn write(&self, payloads: &[Vec<u8>]) -> Result<u64, Error> {
        let mut bytes = Vec::new();
        for payload in payloads {
            let len = u32::try_from(payload.len())
                .ok()
                .filter(|len| *len <= MAX_FRAME)
                .ok_or_else(|| Error::corrupt("a disclosure too large to record"))?;
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&checksum(payload));
            bytes.extend_from_slice(payload);
        }
        let mut len = self.writer();
        if let Err(error) = (&self.file).write_all(&bytes) {
            // Take back what part of the write landed: a frame half written
            // would be cut at open anyway, but the frames after it would not.
            let _ = self.file.set_len(*len);
            return Err(Error::io(&self.path, error));
        }
        *len += bytes.len() as u64;
        Ok(*len)
    }

    /// Makes everything written so far durable.
    pub(crate) fn sync(&self) -> Result<(), Error> {
        let end = *self.writer();
        self.sync_to(end)
    }

    /// Returns once the file is durable up to `end`: the caller syncs, or
    /// waits for a sync that started after its write.
    pub(crate) fn sync_to(&self, end: u64) -> Result<(), Error> {
        let mut synced = self.synced();
        loop {
            if synced.0 >= end {
                return Ok(());
            }
            if !synced.1 {
                synced.1 = true;
                drop(synced);
                // Everything written before the sync starts is covered by it.
                let target = *self.writer();
                let result = self.file.sync_data().map_err(|e| Error::io(&self.path, e));
                let mut after = self.synced();
                after.1 = false;
                if result.is_ok() {
                    after.0 = after.0.max(target);
                }
                self.done.notify_all();
                return result;
            }
            synced = self.done.wait(synced).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Every payload, oldest first.
    pub(crate) fn read_all(&self) -> Result<Vec<Vec<u8>>, Error> {
        let len = *self.writer();
        let mut bytes = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        self.file
            .read_exact_at(&mut bytes, 0)
            .map_err(|e| Error::io(&self.path, e))?;
        let mut out = Vec::new();
        let mut at = 0usize;
        while at + FRAME_HEADER <= bytes.len() {
            let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
            let start = at + FRAME_HEADER;
            let end = start + len as usize;
            let payload = bytes
                .get(start..end)
                .filter(|p| bytes[at + 4..start] == checksum(p));
            let Some(payload) = payload else {
                return Err(Error::corrupt(format!(
                    "{} (the disclosure log) at byte {at}",
                    self.path.display()
                )));
            };
            out.push(payload.to_vec());
            at = end;
        }
        Ok(out)
    }

    /// Empties the journal, durably.
    pub(crate) fn clear(&self) -> Result<(), Error> {
        let mut len = self.writer();
        self.file.set_len(0).map_err(|e| Error::io(&self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| Error::io(&self.path, e))?;
        *len = 0;
        *self.synced() = (0, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn payloads(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect()
    }

    #[test]
    fn what_is_appended_is_read_back_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        journal.append(&payloads(3)).unwrap();
        journal.append(&payloads(2)).unwrap();
        drop(journal);
        let journal = Journal::open(dir.path()).unwrap();
        let read = journal.read_all().unwrap();
        assert_eq!(read.len(), 5);
        assert_eq!(read[4], payloads(2)[1]);
    }

    #[test]
    fn a_torn_tail_is_cut_at_open_and_appends_go_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        journal.append(&payloads(4)).unwrap();
        drop(journal);
        let path = dir.path().join(JOURNAL_FILE);
        let len = std::fs::metadata(&path).unwrap().len();
        for cut in [len - 1, len - 5, len - 11] {
            let copy = tempfile::tempdir().unwrap();
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(copy.path().join(JOURNAL_FILE), &bytes[..cut as usize]).unwrap();
            let journal = Journal::open(copy.path()).unwrap();
            assert_eq!(journal.read_all().unwrap(), payloads(3), "cut at {cut}");
            journal.append(&payloads(1)).unwrap();
            drop(journal);
            let journal = Journal::open(copy.path()).unwrap();
            assert_eq!(journal.read_all().unwrap().len(), 4, "cut at {cut}");
        }
    }

    #[test]
    fn a_damaged_frame_before_others_refuses_the_open_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        journal.append(&payloads(4)).unwrap();
        drop(journal);
        let path = dir.path().join(JOURNAL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[FRAME_HEADER + 2] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let error = Journal::open(dir.path()).unwrap_err().to_string();
        assert!(error.contains("disclosures.log"), "{error}");
        assert!(error.contains("assure restore"), "{error}");
    }

    #[test]
    fn concurrent_appends_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let journal = std::sync::Arc::new(Journal::open(dir.path()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let journal = journal.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        journal.append(&payloads(2)).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(journal);
        assert_eq!(
            Journal::open(dir.path()).unwrap().read_all().unwrap().len(),
            400
        );
    }
}
