//! The control socket: while a node runs on a home (it holds the store's lock), other
//! clients on the same machine reach it through `<home>/grove.sock` instead of failing on
//! the lock. A client sends one request line (JSON) and reads one reply line (JSON).
//!
//! What a request means is the serving client's business (the CLI forwards its argv); this
//! module only carries it. The socket is a Unix socket with mode 0600 inside the home, so
//! only the home's owner can use it.
//!
//! A request carries the passphrase its client was given, and the server checks it exactly
//! as opening the home directly would (the store's own check: Argon2id and the header's
//! check value) before the handler sees the request: a client of an encrypted home without
//! its passphrase, or with a wrong one, gets the error a direct open gives and nothing
//! runs; a client of an unencrypted home must give none.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use zeroize::Zeroizing;

use crate::error::{NodeError, Result};

/// Largest request a server reads: an argv, far below this.
const MAX_REQUEST: u64 = 1024 * 1024;
/// Largest reply a client reads: what a command printed, JSON-escaped. The longest output is
/// a `--json` listing of a whole log, ~1 KiB a decision escaped, so this holds a million.
const MAX_REPLY: u64 = 1024 * 1024 * 1024;

/// The control socket of a home.
pub fn control_socket(home: &Path) -> PathBuf {
    home.join("grove.sock")
}

/// A command for the node serving a home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRequest {
    pub argv: Vec<String>,
    /// The client's working directory: relative paths in `argv` are relative to it, not to
    /// wherever the server runs. None from a client that could not tell (or an older one).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// The passphrase the client was given for the home (None: it was given none). Checked
    /// by [`serve_control`] and taken out before the handler sees the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<Passphrase>,
}

/// A passphrase on its way through the socket: wiped from memory when dropped, and never
/// shown by `Debug`, so a request can be logged without it.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(passphrase: impl Into<String>) -> Passphrase {
        Passphrase(Zeroizing::new(passphrase.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Serialize for Passphrase {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Passphrase {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(Passphrase::new)
    }
}

/// What the command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlReply {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Sends `request` to the node serving `home` and returns its reply. Fails with a
/// [`NodeError::ControlUnreachable`] saying so when nothing answers on the socket.
pub async fn call(home: &Path, request: &ControlRequest) -> Result<ControlReply> {
    call_bounded(home, request, MAX_REPLY).await
}

async fn call_bounded(
    home: &Path,
    request: &ControlRequest,
    max_reply: u64,
) -> Result<ControlReply> {
    let path = control_socket(home);
    let unreachable = |cause: std::io::Error| NodeError::ControlUnreachable {
        home: home.to_path_buf(),
        socket: path.clone(),
        cause,
    };
    let stream = UnixStream::connect(&path).await.map_err(unreachable)?;
    let (read, mut write) = stream.into_split();
    // Holds the passphrase: wiped once sent.
    let mut line =
        Zeroizing::new(
            serde_json::to_vec(request).map_err(|cause| NodeError::Encode {
                what: "a request to the control socket",
                cause,
            })?,
        );
    line.push(b'\n');
    write.write_all(&line).await.map_err(unreachable)?;
    write.shutdown().await.map_err(unreachable)?;
    let mut reply = String::new();
    BufReader::new(read.take(max_reply + 1))
        .read_line(&mut reply)
        .await
        .map_err(unreachable)?;
    if reply.len() as u64 > max_reply {
        return Err(NodeError::ControlReplyTooLarge {
            home: home.to_path_buf(),
            max_mib: max_reply / (1024 * 1024),
        });
    }
    serde_json::from_str(&reply).map_err(|cause| NodeError::ControlReply {
        home: home.to_path_buf(),
        cause,
    })
}

/// A running control socket; dropping it stops serving and removes the socket file.
pub struct ControlServer {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Serves `handler` on the control socket of `home`. Call only while holding the home's
/// store (a started node): a socket file left there by a process that died is replaced.
pub fn serve_control<F, Fut>(home: &Path, handler: F) -> Result<ControlServer>
where
    F: Fn(ControlRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ControlReply> + Send + 'static,
{
    use std::os::unix::fs::PermissionsExt as _;
    let path = control_socket(home);
    let io = |what: &'static str, cause: std::io::Error| NodeError::ControlSocket {
        what,
        socket: path.clone(),
        cause,
    };
    // Bind under a temporary name, restrict it, then move it into place, so the socket is
    // never reachable with wider permissions.
    let staging = home.join(format!("grove.sock.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging).map_err(|e| io("create", e))?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io("restrict", e))?;
    std::fs::rename(&staging, &path).map_err(|e| io("place", e))?;
    let handler = Arc::new(handler);
    let gate = Arc::new(Gate {
        home: home.to_path_buf(),
        checks: Semaphore::new(1),
    });
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let handler = handler.clone();
                    let gate = gate.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, &gate, handler.as_ref()).await {
                            debug!(error = %e, "control connection failed");
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "control socket stopped accepting");
                    return;
                }
            }
        }
    });
    Ok(ControlServer { path, task })
}

/// What the server checks a request's passphrase against.
struct Gate {
    home: PathBuf,
    /// One check at a time: each derives a key with Argon2id (64 MiB, a fraction of a
    /// second), so a burst of requests neither multiplies that memory nor starves the node.
    checks: Semaphore,
}

impl Gate {
    /// Whether `passphrase` opens the home, failing with the error a direct open gives.
    async fn check(&self, passphrase: Option<Passphrase>) -> Result<()> {
        let _turn = self
            .checks
            .acquire()
            .await
            .map_err(|_| NodeError::Stopped)?;
        let home = self.home.clone();
        tokio::task::spawn_blocking(move || {
            crate::passphrase::check_passphrase(
                Some(&home),
                passphrase.as_ref().map(Passphrase::as_str),
            )
        })
        .await
        .map_err(|_| NodeError::Stopped)?
    }
}

async fn answer<F, Fut>(stream: UnixStream, gate: &Gate, handler: &F) -> std::io::Result<()>
where
    F: Fn(ControlRequest) -> Fut,
    Fut: Future<Output = ControlReply>,
{
    let (read, mut write) = stream.into_split();
    // Holds the passphrase: wiped when the request is done.
    let mut line = Zeroizing::new(String::new());
    BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let reply = match serde_json::from_str::<ControlRequest>(&line) {
        Ok(mut request) => match gate.check(request.passphrase.take()).await {
            Ok(()) => handler(request).await,
            // The same line and exit code as a direct open of the home, which `grove` prints
            // as `error: …` and exits 1 on; nothing ran.
            Err(e) => ControlReply {
                stdout: String::new(),
                stderr: format!("error: {e}\n"),
                code: 1,
            },
        },
        Err(e) => ControlReply {
            stdout: String::new(),
            stderr: format!("error: unreadable control request: {e}\n"),
            code: 2,
        },
    };
    let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printing(stdout: String) -> ControlReply {
        ControlReply {
            stdout,
            stderr: String::new(),
            code: 0,
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_passphrase_is_checked_before_the_handler_and_never_reaches_it() {
        let home = tempfile::tempdir().unwrap();
        drop(grove_store::SledStore::open_with(home.path(), Some("pw")).unwrap());
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = ran.clone();
        let _server = serve_control(home.path(), move |request: ControlRequest| {
            assert!(request.passphrase.is_none(), "taken out before the handler");
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { printing("ran\n".into()) }
        })
        .unwrap();
        let ask = |passphrase: Option<&str>| ControlRequest {
            argv: vec!["value".into(), "list".into()],
            cwd: None,
            passphrase: passphrase.map(Passphrase::new),
        };
        for (given, says) in [(None, "is encrypted"), (Some("nope"), "wrong passphrase")] {
            let reply = call(home.path(), &ask(given)).await.unwrap();
            assert_eq!(reply.code, 1, "{reply:?}");
            assert!(reply.stdout.is_empty());
            assert!(
                reply.stderr.starts_with("error: ") && reply.stderr.contains(says),
                "{reply:?}"
            );
        }
        assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 0);
        let reply = call(home.path(), &ask(Some("pw"))).await.unwrap();
        assert_eq!((reply.code, reply.stdout.as_str()), (0, "ran\n"));
        assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            format!("{:?}", ask(Some("pw"))),
            r#"ControlRequest { argv: ["value", "list"], cwd: None, passphrase: Some(Passphrase(..)) }"#,
            "Debug never shows a passphrase"
        );
    }

    #[tokio::test]
    async fn a_reply_past_the_bound_is_refused_not_read_whole() {
        let home = tempfile::tempdir().unwrap();
        let _server = serve_control(home.path(), |request: ControlRequest| async move {
            printing("x".repeat(request.argv.len() * 1024 * 1024))
        })
        .unwrap();
        let ask = |n: usize| ControlRequest {
            argv: vec![String::new(); n],
            cwd: None,
            passphrase: None,
        };
        let small = call_bounded(home.path(), &ask(1), 2 * 1024 * 1024)
            .await
            .unwrap();
        assert_eq!(small.stdout.len(), 1024 * 1024);
        let err = call_bounded(home.path(), &ask(3), 2 * 1024 * 1024)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("larger than 2 MiB"), "{err}");
    }
}
