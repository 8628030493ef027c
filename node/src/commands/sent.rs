//! The requester's own record of what it fetched: every request `assure
//! api-request` sends is appended to `requests.jsonl` in the data directory
//! (mode 0600), so that a regulator's query is on record on both sides, the
//! node's disclosure log and the requester's. `assure api-request --log`
//! prints it.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use crate::cli::Output;
use crate::datadir::{DataDir, REQUEST_LOG_FILE};
use crate::output::{Table, json};

/// One request sent, and what came back.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Sent {
    /// When it was sent (RFC 3339).
    pub(super) at: String,
    /// The node's API, e.g. `https://assure.example.com`.
    pub(super) url: String,
    pub(super) method: String,
    /// The path and query.
    pub(super) path: String,
    /// The `Assure-Purpose` sent, if any.
    pub(super) purpose: Option<String>,
    /// `signed` (with our key) or `admin` (the node's token).
    pub(super) auth: String,
    /// The HTTP status; `None` when no answer came.
    pub(super) status: Option<u16>,
    /// Bytes of the answer's body.
    pub(super) bytes: u64,
    /// Why no answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
}

/// The open log, ready before the request is sent: a request whose record
/// cannot be written is not sent.
#[derive(Debug)]
pub(super) struct Log {
    file: File,
    path: PathBuf,
}

impl Log {
    pub(super) fn open(dir: &DataDir) -> Result<Self> {
        let path = dir.path().join(REQUEST_LOG_FILE);
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening the request log {}", path.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {} to 0600", path.display()))?;
        Ok(Self { file, path })
    }

    /// Appends one record, durably, in one write.
    pub(super) fn append(&mut self, sent: &Sent) -> Result<()> {
        let mut line = serde_json::to_vec(sent)?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing the request log {}", self.path.display()))
    }
}

/// Prints the log, oldest first, as a table or JSON.
pub(super) fn print(dir: &DataDir, output: Output) -> Result<()> {
    let path = dir.path().join(REQUEST_LOG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let complete = text.ends_with('\n') || text.is_empty();
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Sent>(line) {
            Ok(sent) => entries.push(sent),
            // A last line cut short by a crash mid-write: say so, keep the rest.
            Err(_) if n + 1 == lines.len() && !complete => {
                eprintln!("warning: {} ends with an incomplete line", path.display());
            }
            Err(e) => bail!("{} line {}: {e}", path.display(), n + 1),
        }
    }
    if output.json {
        return json(&entries);
    }
    let mut table = Table::new(&["at", "url", "method", "path", "purpose", "status", "bytes"]);
    for e in entries {
        table.row(vec![
            e.at,
            e.url,
            e.method,
            e.path,
            e.purpose.unwrap_or_default(),
            e.status
                .map_or_else(|| e.error.unwrap_or_default(), |s| s.to_string()),
            e.bytes.to_string(),
        ]);
    }
    table.print();
    Ok(())
}
