//! Grove's composition root and the API every client (CLI, desktop, tests) uses.
//!
//! `Node::builder().home(dir).spawn()` opens the store, loads this device's identity and
//! starts one event loop that owns every document; the returned [`NodeHandle`] is how
//! everything else talks to it.

mod demo;
mod dto;
mod error;
mod handle;
mod identity;
mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use grove_store::{MemStore, SledStore, Store};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

pub use dto::{CircleSummary, Me, PrincipleView};
pub use error::{NodeError, NodeErrorKind, Result};
pub use grove_core as core;
pub use handle::{CircleHandle, NodeHandle};

/// What a live view needs to know to refresh itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum NodeEvent {
    /// Documents of a circle changed (a local change or, later, a peer's).
    CircleChanged { circle: String, docs: Vec<String> },
}

/// Where Grove keeps its data: the explicit directory, else `GROVE_HOME`, else the OS data
/// directory (e.g. `~/.local/share/grove`).
pub fn resolve_home(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("GROVE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("grove"))
        .ok_or_else(|| NodeError::Io("cannot find a data directory for Grove; set GROVE_HOME".into()))
}

pub struct Node;

impl Node {
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }
}

#[derive(Default)]
pub struct NodeBuilder {
    home: Option<PathBuf>,
    in_memory: bool,
    clock: Option<state::Clock>,
}

/// Jobs waiting for the event loop; senders wait when it is full (backpressure).
const JOB_QUEUE: usize = 64;

impl NodeBuilder {
    /// Keep data in this directory (a sled store).
    pub fn home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.home = Some(dir.into());
        self
    }

    /// Keep data in memory only (tests).
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// Replace the wall clock (tests and demos that need fixed times).
    pub fn clock(mut self, f: impl Fn() -> core::Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(f));
        self
    }

    /// Opens the store and starts the event loop. Must be called inside a tokio runtime.
    pub fn spawn(self) -> Result<NodeHandle> {
        let store: Arc<dyn Store> = if self.in_memory {
            Arc::new(MemStore::new())
        } else {
            let home = resolve_home(self.home.as_deref())?;
            std::fs::create_dir_all(&home).map_err(|e| {
                NodeError::Io(format!(
                    "cannot create the Grove home at {}: {e}",
                    home.display()
                ))
            })?;
            Arc::new(SledStore::open(&home)?)
        };
        let identity = identity::Identity::load_or_create(store.as_ref())?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(wall_clock));
        let (events, _) = broadcast::channel(256);
        let (jobs, mut rx) = mpsc::channel::<handle::Job>(JOB_QUEUE);
        let mut state = state::NodeState::new(
            store,
            identity,
            rand::rngs::StdRng::from_entropy(),
            clock,
            events.clone(),
        );
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                // Jobs do synchronous disk and CPU work; tell the runtime so other tasks
                // keep running on the remaining workers.
                tokio::task::block_in_place(|| job(&mut state));
            }
            tracing::debug!("node event loop stopped: every handle dropped");
        });
        Ok(NodeHandle { jobs, events })
    }
}

fn wall_clock() -> core::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    core::Timestamp(ms)
}
