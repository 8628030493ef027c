//! The backup reader (`assure-store`).

use assure_store::{BackupHeader, Older, Store};

use crate::key;

/// A backup's header and key lines, as read before a restore.
pub fn backup_header(data: &[u8]) {
    let _ = BackupHeader::read(data);
}

/// A backup restored into an empty data directory on disk, for [`key`]'s
/// organization. A backup that is refused leaves nothing behind; one that
/// restores leaves a store that opens.
pub fn backup_restore(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    match Store::restore(dir.path(), key().did(), data, Older::Refuse) {
        Ok(summary) => {
            assert_eq!(summary.owner, Some(key().did()));
            if let Err(e) = Store::open(dir.path()) {
                panic!("a restored store does not open: {e}");
            }
        }
        Err(_) => {
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            let left: Vec<_> = left.iter().filter(|n| *n != "lock").collect();
            assert!(left.is_empty(), "a refused backup left {left:?} behind");
        }
    }
}
