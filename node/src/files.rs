//! Reading the files a person names (drafts, envelopes, profiles,
//! configurations), bounded: a device, a pipe or a file larger than the
//! limit is refused before its bytes are read, and never more than the
//! limit is read, so that a mistyped path cannot exhaust a running node.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

/// The bytes of the regular file at `path`, at most `max` of them; `what`
/// names the file in errors ("profile", "envelope").
pub fn read_limited(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{what} {} is not a regular file (a device, a pipe or a directory); give a file",
            path.display()
        );
    }
    if meta.len() > max {
        bail!(
            "{what} {} is {} bytes, more than the {max}-byte limit",
            path.display(),
            meta.len()
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > max {
        bail!(
            "{what} {} grew past the {max}-byte limit while it was read",
            path.display()
        );
    }
    Ok(bytes)
}

/// Like [`read_limited`], as UTF-8 text.
pub fn read_text_limited(path: &Path, max: u64, what: &str) -> Result<String> {
    let bytes = read_limited(path, max, what)?;
    String::from_utf8(bytes).with_context(|| format!("{what} {} is not UTF-8 text", path.display()))
}

/// The largest profile or configuration file read.
pub const MAX_TEXT_FILE_BYTES: u64 = 1 << 20;
