//! The control socket: how the CLI runs an operation inside the node that
//! holds the data directory, with or without the HTTP API.
//!
//! A Unix stream socket at `DATA/control.sock` (see [`socket_path`] for a
//! data directory whose path is too long for one), mode 0600, that accepts
//! only connections from the user the node runs as (checked with the peer's
//! credentials, not only the file mode). One request per connection:
//! the CLI writes a [`Request`] as one line of JSON and closes its side; the
//! node answers with one line of JSON, an [`Answer`], and closes.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::ops::{IntegrityFailure, NotFound, Ops, Reply, Request};

/// The socket's file name in the data directory.
pub const SOCKET_FILE: &str = "control.sock";

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The largest request accepted, in bytes.
const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// The node's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Answer {
    /// Carried out.
    Ok(Box<Reply>),
    /// Refused or failed; `kind` keeps the exit code the same as in-process.
    Err { message: String, kind: ErrorKind },
}

/// What kind of failure, for exit codes and API statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The request was wrong or refused (exit 1).
    Refused,
    /// It named something that is not there (exit 1).
    NotFound,
    /// Damaged data (exit 2).
    Integrity,
}

/// The listening socket of a running node.
#[derive(Debug)]
pub struct Listener {
    path: PathBuf,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Listener {
    /// Listens on `DATA/control.sock`. A socket left by a node that was
    /// killed is replaced: holding the store, we are the only node here.
    /// Without a socket (a path too long for one, say) the node still runs,
    /// and says so: commands then fail with a message naming the problem.
    pub fn start(data_dir: &Path, ops: Ops) -> Option<Self> {
        let path = socket_path(data_dir);
        match bind(&path) {
            Ok(listener) => {
                let owner = own_uid();
                let cancel = CancellationToken::new();
                let task = tokio::spawn(accept(listener, owner, ops, cancel.clone()));
                Some(Self { path, cancel, task })
            }
            Err(error) => {
                warn!(path = %path.display(), "no control socket, so CLI commands cannot reach this node: {error:#}");
                None
            }
        }
    }

    /// Stops accepting, lets the requests in flight finish, and removes the
    /// socket.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The uid this process runs as.
fn own_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
}

/// The longest socket path the kernel takes is 107 bytes; keep clear of it.
const MAX_SOCKET_PATH: usize = 100;

/// Where the control socket of `data_dir` is: `DATA/control.sock`, or, when
/// that path is too long for a Unix socket, `TMP/assure-UID/HASH.sock` in a
/// directory of our own (0700), named by the data directory's absolute path,
/// so the node and the CLI find the same one.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    let absolute = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let direct = absolute.join(SOCKET_FILE);
    if direct.as_os_str().len() <= MAX_SOCKET_PATH {
        return direct;
    }
    let digest = blake3::hash(absolute.as_os_str().as_encoded_bytes()).to_hex();
    std::env::temp_dir()
        .join(format!("assure-{}", own_uid().unwrap_or_default()))
        .join(format!("{}.sock", &digest[..32]))
}

fn bind(path: &Path) -> Result<UnixListener> {
    if let Some(parent) = path.parent()
        && !parent.exists()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
    }
    if let Some(parent) = path.parent() {
        let meta = std::fs::metadata(parent)?;
        if Some(meta.uid()) != own_uid() || meta.permissions().mode() & 0o022 != 0 {
            anyhow::bail!(
                "{} belongs to another user or others may write to it",
                parent.display()
            );
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))?;
    Ok(listener)
}

async fn accept(listener: UnixListener, owner: Option<u32>, ops: Ops, cancel: CancellationToken) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    warn!("control socket: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // The file mode keeps others out; the credentials make sure.
        let uid = stream.peer_cred().map(|c| c.uid()).ok();
        if owner.is_none() || uid != owner {
            warn!(
                ?uid,
                "control socket: refused a connection from another user"
            );
            running.spawn(refuse(stream, owner));
            continue;
        }
        running.spawn(serve(stream, ops.clone()));
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// Tells a process of another user why it is refused, and nothing else.
async fn refuse(mut stream: UnixStream, owner: Option<u32>) {
    // Its request is read (and dropped) first, so that it reads our answer
    // rather than a reset connection.
    let mut request = Vec::new();
    let mut limited = (&mut stream).take(MAX_REQUEST_BYTES);
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, limited.read_to_end(&mut request)).await;
    let answer = Answer::Err {
        message: format!(
            "the node on this data directory runs as user {}; run the command as that user",
            owner.map_or_else(|| "unknown".to_owned(), |u| u.to_string())
        ),
        kind: ErrorKind::Refused,
    };
    let mut bytes = serde_json::to_vec(&answer).unwrap_or_default();
    bytes.push(b'\n');
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, stream.write_all(&bytes)).await;
    let _ = stream.shutdown().await;
}

async fn serve(stream: UnixStream, ops: Ops) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read).take(MAX_REQUEST_BYTES);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await;
    let answer = match read.unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into())) {
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Ok(request) => {
                debug!(?request, "control request");
                match ops.run(request).await {
                    Ok(reply) => Answer::Ok(Box::new(reply)),
                    Err(error) => failure(&error),
                }
            }
            Err(error) => Answer::Err {
                message: format!(
                    "the node did not understand the request ({error}); are the `assure` \
                     binary and the running node the same version?"
                ),
                kind: ErrorKind::Refused,
            },
        },
        Err(error) => Answer::Err {
            message: format!("reading the request: {error}"),
            kind: ErrorKind::Refused,
        },
    };
    let mut bytes = serde_json::to_vec(&answer).unwrap_or_default();
    bytes.push(b'\n');
    let _ = write.write_all(&bytes).await;
    let _ = write.shutdown().await;
}

/// The answer for a failed operation.
pub fn failure(error: &anyhow::Error) -> Answer {
    let kind = if is_integrity_failure(error) {
        ErrorKind::Integrity
    } else if error.chain().any(|c| c.is::<NotFound>()) {
        ErrorKind::NotFound
    } else {
        ErrorKind::Refused
    };
    Answer::Err {
        message: format!("{error:#}"),
        kind,
    }
}

/// Whether a failure means damaged data (exit code 2).
pub fn is_integrity_failure(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<IntegrityFailure>()
            || cause
                .downcast_ref::<assure_store::Error>()
                .is_some_and(assure_store::Error::is_integrity)
    })
}

/// Sends `request` to the node running on `data_dir`; `None` when no node
/// listens there (no socket, or one left by a node that stopped).
pub fn call(data_dir: &Path, request: &Request) -> Result<Option<Reply>> {
    let path = socket_path(data_dir);
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("connecting to the node at {}", path.display()));
        }
    };
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .context("sending the request to the running node")?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .context("reading the running node's answer")?;
    if answer.is_empty() {
        anyhow::bail!("the running node closed the control socket without answering; see its log");
    }
    match serde_json::from_str(&answer).context("the running node's answer does not decode")? {
        Answer::Ok(reply) => Ok(Some(*reply)),
        Answer::Err { message, kind } => Err(match kind {
            ErrorKind::Integrity => IntegrityFailure(message).into(),
            ErrorKind::NotFound => NotFound(message).into(),
            ErrorKind::Refused => anyhow::anyhow!(message),
        }),
    }
}
