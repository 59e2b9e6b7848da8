//! The node behind the window, which can change while the window stays open: an encrypted
//! home starts locked and opens with its passphrase, locks again on request, and a
//! passphrase change stops the node, re-seals the home and starts the node again.
//!
//! Passphrases are held only for the call that needs them (in `Zeroizing` strings) and are
//! never logged.
//!
//! While the node runs it holds the home's store, so a `grove` command on the same home
//! cannot open it: the app answers such commands on the home's control socket, as
//! `grove serve` does, for exactly as long as its node runs.

use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

use grove_node::control::ControlServer;
use grove_node::{NodeErrorKind, NodeHandle};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{CommandError, CommandResult};

/// What the window shows: the app, or the Unlock screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct HomeStatus {
    /// The home is sealed under a passphrase (so it can be locked).
    pub encrypted: bool,
    /// The node is stopped until the passphrase is given.
    pub locked: bool,
}

/// How the node is started (networking as configured from the environment, or none).
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub network: bool,
    pub mdns: bool,
    pub listen: Vec<String>,
}

enum Now {
    Open {
        node: NodeHandle,
        encrypted: bool,
        /// Dropped with this state (lock, re-seal, exit), which closes the socket.
        _commands: Option<ControlServer>,
    },
    Locked,
    /// Stopped for a moment while the home is re-sealed.
    Sealing,
    Failed(CommandError),
}

pub struct Home {
    dir: PathBuf,
    start: Start,
    now: RwLock<Now>,
    /// Unlock, lock and re-seal take turns: none may start while another is halfway.
    turn: tokio::sync::Mutex<()>,
    /// Runs on every node started (the window forwards its events).
    on_start: Box<dyn Fn(&NodeHandle) + Send + Sync>,
}

fn locked_error() -> CommandError {
    CommandError {
        kind: NodeErrorKind::Passphrase,
        message: "Grove is locked: enter the passphrase to open it".into(),
    }
}

fn invalid(message: &str) -> CommandError {
    CommandError {
        kind: NodeErrorKind::Invalid,
        message: message.into(),
    }
}

impl Home {
    /// Opens the home at `dir`: starts the node when it is unencrypted, else waits locked. A
    /// failure to start is kept and returned by every later call.
    pub async fn open(
        dir: CommandResult<PathBuf>,
        start: Start,
        on_start: impl Fn(&NodeHandle) + Send + Sync + 'static,
    ) -> Home {
        let home = Home {
            dir: dir.clone().unwrap_or_default(),
            start,
            now: RwLock::new(Now::Locked),
            turn: tokio::sync::Mutex::new(()),
            on_start: Box::new(on_start),
        };
        let now = match dir.map(|d| grove_node::home_is_encrypted(Some(&d))) {
            Ok(Ok(true)) => Now::Locked,
            Ok(Ok(false)) => home.started(None).await,
            Ok(Err(e)) => Now::Failed(e.into()),
            Err(e) => Now::Failed(e),
        };
        home.set(now);
        home
    }

    /// The running node, or why there is none.
    pub fn node(&self) -> CommandResult<NodeHandle> {
        match &*self.now.read().unwrap_or_else(PoisonError::into_inner) {
            Now::Open { node, .. } => Ok(node.clone()),
            Now::Locked => Err(locked_error()),
            Now::Sealing => Err(CommandError {
                kind: NodeErrorKind::State,
                message:
                    "Grove is re-sealing its data under the new passphrase; try again in a moment"
                        .into(),
            }),
            Now::Failed(e) => Err(e.clone()),
        }
    }

    pub fn status(&self) -> CommandResult<HomeStatus> {
        match &*self.now.read().unwrap_or_else(PoisonError::into_inner) {
            Now::Open { encrypted, .. } => Ok(HomeStatus {
                encrypted: *encrypted,
                locked: false,
            }),
            Now::Locked => Ok(HomeStatus {
                encrypted: true,
                locked: true,
            }),
            Now::Sealing => Ok(HomeStatus {
                encrypted: true,
                locked: false,
            }),
            Now::Failed(e) => Err(e.clone()),
        }
    }

    /// Starts the node of a locked home with `passphrase`; a wrong one leaves it locked.
    pub async fn unlock(&self, passphrase: String) -> CommandResult<()> {
        let passphrase = Zeroizing::new(passphrase);
        let _turn = self.turn.lock().await;
        if !matches!(
            *self.now.read().unwrap_or_else(PoisonError::into_inner),
            Now::Locked
        ) {
            return Ok(());
        }
        if passphrase.is_empty() {
            return Err(invalid("enter the passphrase"));
        }
        let node = self.try_start(Some(&passphrase)).await?;
        self.set(self.open_state(node, true));
        tracing::info!("Grove is unlocked");
        Ok(())
    }

    /// Stops the node so nothing of the home stays readable in this process until the
    /// passphrase is given again. Only an encrypted home can be locked.
    pub async fn lock(&self) -> CommandResult<()> {
        let _turn = self.turn.lock().await;
        let node = match &*self.now.read().unwrap_or_else(PoisonError::into_inner) {
            Now::Open {
                node,
                encrypted: true,
                ..
            } => node.clone(),
            Now::Open { .. } => {
                return Err(invalid(
                    "this home has no passphrase, so it cannot be locked: set one first",
                ))
            }
            _ => return Ok(()),
        };
        self.set(Now::Locked);
        node.stop().await?;
        tracing::info!("Grove is locked");
        Ok(())
    }

    /// Sets (`current` None), changes, or removes (`new` None) the passphrase: checks
    /// `current` while the node runs, stops it, re-seals the home and starts it again. On
    /// failure the home is left whole under its old passphrase and the node runs again.
    pub async fn change_passphrase(
        &self,
        current: Option<String>,
        new: Option<String>,
    ) -> CommandResult<()> {
        let current = current.map(Zeroizing::new);
        let new = new.map(Zeroizing::new);
        if new.as_ref().is_some_and(|n| n.is_empty()) {
            return Err(invalid("the new passphrase cannot be empty"));
        }
        let _turn = self.turn.lock().await;
        let node = self.node()?;
        let dir = self.dir.clone();
        let check = current.clone();
        // Argon2 takes a moment and memory: off the async workers.
        blocking(move || {
            grove_node::check_passphrase(Some(&dir), check.as_deref().map(|s| s.as_str()))
        })
        .await?;

        self.set(Now::Sealing);
        if let Err(e) = node.stop().await {
            tracing::warn!("the node did not stop cleanly before re-sealing: {e}");
        }
        drop(node);
        let dir = self.dir.clone();
        let (old, next) = (current.clone(), new.clone());
        let sealed = blocking(move || {
            grove_node::change_passphrase(
                Some(&dir),
                old.as_deref().map(|s| s.as_str()),
                next.as_deref().map(|s| s.as_str()),
            )
        })
        .await;
        let open_with = if sealed.is_ok() { &new } else { &current };
        let now = self.started(open_with.as_deref().map(|s| s.as_str())).await;
        self.set(now);
        match &sealed {
            Ok(()) => tracing::info!(encrypted = new.is_some(), "the home was re-sealed"),
            Err(e) => tracing::warn!("re-sealing failed, the old passphrase still holds: {e}"),
        }
        sealed
    }

    fn set(&self, now: Now) {
        *self.now.write().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// The state after starting the node: open, locked (a passphrase problem) or failed.
    async fn started(&self, passphrase: Option<&str>) -> Now {
        match self.try_start(passphrase).await {
            Ok(node) => self.open_state(node, passphrase.is_some()),
            Err(e) if e.kind == NodeErrorKind::Passphrase => Now::Locked,
            Err(e) => Now::Failed(e),
        }
    }

    /// The state of a started node, answering `grove` commands on the home's control socket.
    /// Without the socket the app still works; only the CLI beside it does not, so that is a
    /// warning, not a failure.
    fn open_state(&self, node: NodeHandle, encrypted: bool) -> Now {
        let commands = match grove_cli::forwarded::serve(&self.dir, &node) {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::warn!("`grove` commands cannot reach the app on this home: {e}");
                None
            }
        };
        Now::Open {
            node,
            encrypted,
            _commands: commands,
        }
    }

    /// Must run inside the async runtime: the node spawns its event loop there.
    async fn try_start(&self, passphrase: Option<&str>) -> CommandResult<NodeHandle> {
        let builder = || {
            let mut b = grove_node::Node::builder().home(&self.dir);
            if let Some(p) = passphrase {
                b = b.passphrase(p);
            }
            b
        };
        let node = if self.start.network {
            tracing::info!(home = %self.dir.display(), "starting the Grove node");
            let mut networked = builder().network(true).mdns(self.start.mdns);
            for addr in &self.start.listen {
                networked = networked.listen(addr.as_str());
            }
            match networked.start().await {
                Ok(node) => node,
                // Without the network Grove still works on this device: open offline, say why.
                Err(e) if e.kind() == NodeErrorKind::Network => {
                    tracing::warn!("networking could not start, so Grove runs offline: {e}");
                    builder().spawn()?
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            builder().spawn()?
        };
        (self.on_start)(&node);
        Ok(node)
    }
}

async fn blocking(
    f: impl FnOnce() -> grove_node::Result<()> + Send + 'static,
) -> CommandResult<()> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(CommandError {
            kind: NodeErrorKind::Io,
            message: format!("Grove could not finish that: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    async fn open(dir: &std::path::Path, starts: &Arc<AtomicUsize>) -> Home {
        let starts = starts.clone();
        Home::open(Ok(dir.to_path_buf()), Start::default(), move |_| {
            starts.fetch_add(1, Ordering::SeqCst);
        })
        .await
    }

    fn status(home: &Home) -> (bool, bool) {
        let s = home.status().unwrap();
        (s.encrypted, s.locked)
    }

    async fn circle_names(home: &Home) -> Vec<String> {
        let circles = home.node().unwrap().circles().await.unwrap();
        circles.into_iter().map(|c| c.info.name).collect()
    }

    /// Everything logged at any level by any crate in this test binary, from now on.
    fn capture_logs() -> Arc<std::sync::Mutex<Vec<u8>>> {
        #[derive(Clone)]
        struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf(Arc::default());
        let writer = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .init();
        buf.0
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn set_lock_unlock_and_remove_keep_the_data() {
        let logs = capture_logs();
        let dir = tempfile::tempdir().unwrap();
        let starts = Arc::new(AtomicUsize::new(0));
        let home = open(dir.path(), &starts).await;
        assert_eq!(
            status(&home),
            (false, false),
            "a new home opens unencrypted"
        );
        home.node()
            .unwrap()
            .create_circle("Bakery".into())
            .await
            .unwrap();
        let err = home.lock().await.unwrap_err();
        assert_eq!(err.kind, NodeErrorKind::Invalid, "{}", err.message);

        home.change_passphrase(None, Some("moss-lantern-9".into()))
            .await
            .unwrap();
        assert_eq!(status(&home), (true, false), "re-sealed and running again");
        assert_eq!(circle_names(&home).await, ["Bakery"]);

        home.lock().await.unwrap();
        assert_eq!(status(&home), (true, true));
        let err = home.node().err().unwrap();
        assert_eq!(err.kind, NodeErrorKind::Passphrase, "{}", err.message);

        let err = home.unlock("wrong-acorn-7".into()).await.unwrap_err();
        assert_eq!(err.kind, NodeErrorKind::Passphrase, "{}", err.message);
        assert!(err.message.contains("wrong passphrase"), "{}", err.message);
        assert_eq!(
            status(&home),
            (true, true),
            "a wrong passphrase stays locked"
        );
        home.unlock("moss-lantern-9".into()).await.unwrap();
        assert_eq!(circle_names(&home).await, ["Bakery"]);

        home.change_passphrase(Some("moss-lantern-9".into()), None)
            .await
            .unwrap();
        assert_eq!(status(&home), (false, false));
        assert_eq!(circle_names(&home).await, ["Bakery"]);
        assert_eq!(
            starts.load(Ordering::SeqCst),
            4,
            "every start was announced"
        );
        home.node().unwrap().stop().await.unwrap();
        assert!(!grove_node::home_is_encrypted(Some(dir.path())).unwrap());

        let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        assert!(
            logs.contains("Grove is locked"),
            "the logs were not captured"
        );
        for typed in ["moss-lantern", "wrong-acorn"] {
            assert!(
                !logs.contains(typed),
                "a typed passphrase ({typed}) was logged"
            );
        }
    }

    /// A `grove` command sent to the home's control socket while the app runs.
    async fn forwarded(
        dir: &std::path::Path,
        passphrase: Option<&str>,
        argv: &[&str],
    ) -> grove_node::Result<grove_node::control::ControlReply> {
        let request = grove_node::control::ControlRequest {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: None,
            passphrase: passphrase.map(grove_node::control::Passphrase::new),
        };
        grove_node::control::call(dir, &request).await
    }

    /// The app holds the home's store, so `grove` beside it goes through the app: a command
    /// runs on the app's node (and writes what the window shows) for exactly as long as
    /// the node runs, with the passphrase checked as a direct open checks it.
    #[tokio::test(flavor = "multi_thread")]
    async fn grove_commands_run_through_the_open_app_until_it_locks() {
        let dir = tempfile::tempdir().unwrap();
        let starts = Arc::new(AtomicUsize::new(0));
        let home = open(dir.path(), &starts).await;
        home.node()
            .unwrap()
            .create_circle("Bakery".into())
            .await
            .unwrap();

        let reply = forwarded(dir.path(), None, &["team", "add", "Ovens"])
            .await
            .unwrap();
        assert_eq!(reply.code, 0, "{reply:?}");
        let teams = home.node().unwrap().circle(None).teams().await.unwrap();
        assert_eq!(
            teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["Ovens"],
            "the command wrote through the app's own node"
        );
        let reply = forwarded(dir.path(), None, &["--json", "circle", "list"])
            .await
            .unwrap();
        assert!(reply.stdout.contains("Bakery"), "{reply:?}");

        // Serving again is refused with what holds the home; nothing else starts.
        let reply = forwarded(dir.path(), None, &["serve"]).await.unwrap();
        assert_eq!(reply.code, 1);
        assert!(reply.stderr.contains("desktop app"), "{reply:?}");

        home.change_passphrase(None, Some("moss-lantern-9".into()))
            .await
            .unwrap();
        let reply = forwarded(dir.path(), None, &["circle", "list"])
            .await
            .unwrap();
        assert_eq!(reply.code, 1, "no passphrase, nothing runs: {reply:?}");
        assert!(reply.stdout.is_empty(), "{reply:?}");
        let reply = forwarded(dir.path(), Some("moss-lantern-9"), &["circle", "list"])
            .await
            .unwrap();
        assert_eq!(reply.code, 0, "re-sealed, the app answers again: {reply:?}");

        home.lock().await.unwrap();
        assert!(
            forwarded(dir.path(), Some("moss-lantern-9"), &["circle", "list"])
                .await
                .is_err(),
            "a locked app runs no command"
        );
        assert!(!grove_node::control::control_socket(dir.path()).exists());
        home.unlock("moss-lantern-9".into()).await.unwrap();
        let reply = forwarded(dir.path(), Some("moss-lantern-9"), &["circle", "list"])
            .await
            .unwrap();
        assert_eq!(reply.code, 0, "{reply:?}");
        home.node().unwrap().stop().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_wrong_current_passphrase_changes_nothing_and_keeps_running() {
        let dir = tempfile::tempdir().unwrap();
        let starts = Arc::new(AtomicUsize::new(0));
        let home = open(dir.path(), &starts).await;
        home.node()
            .unwrap()
            .create_circle("Co-op".into())
            .await
            .unwrap();
        home.change_passphrase(None, Some("old".into()))
            .await
            .unwrap();
        let node = home.node().unwrap();
        node.stop().await.unwrap();

        // Started on a home the CLI (or an earlier run) encrypted: locked until unlocked.
        let home = open(dir.path(), &starts).await;
        assert_eq!(status(&home), (true, true));
        home.unlock("old".into()).await.unwrap();
        let before = starts.load(Ordering::SeqCst);
        let err = home
            .change_passphrase(Some("wrong".into()), Some("new".into()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, NodeErrorKind::Passphrase, "{}", err.message);
        let err = home
            .change_passphrase(Some("old".into()), Some(String::new()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, NodeErrorKind::Invalid, "{}", err.message);
        assert_eq!(
            starts.load(Ordering::SeqCst),
            before,
            "a refused change must not stop the node"
        );
        assert_eq!(circle_names(&home).await, ["Co-op"]);

        home.change_passphrase(Some("old".into()), Some("new".into()))
            .await
            .unwrap();
        home.lock().await.unwrap();
        assert!(home.unlock("old".into()).await.is_err());
        home.unlock("new".into()).await.unwrap();
        assert_eq!(circle_names(&home).await, ["Co-op"]);
        home.node().unwrap().stop().await.unwrap();
    }
}
