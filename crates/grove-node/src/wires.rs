//! The networking half of the node's state: the grove-net client, the peer sessions, and
//! one writer task per connected peer. A writer belongs to one grove-net [`Session`]:
//! frames queued for a session that has ended are not sent on the next one. What the event
//! loop does with them is in `state/network.rs`.

use std::collections::{HashMap, HashSet};

use grove_core::session::Sessions;
use grove_net::{Client, Frame, Multiaddr, PeerId, Session};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info};

/// Frames that may wait for one peer's writer. Far above what the engine produces in one
/// exchange (it holds back unprompted messages until the peer answers); if a peer stops
/// reading altogether, frames beyond this are dropped and the periodic resync resends them.
const PEER_QUEUE: usize = 1024;
/// Failed-send reports waiting for the event loop; more are redundant (one resync covers them).
pub(crate) const FAILURE_QUEUE: usize = 64;
/// The connection to one peer as the event loop writes to it.
pub(crate) struct Wire {
    pub(crate) session: Session,
    pub(crate) addr: Multiaddr,
    pub(crate) queue: mpsc::Sender<Frame>,
    pub(crate) writer: JoinHandle<()>,
    /// Payload bytes of the frames exchanged on this connection.
    pub(crate) sent: u64,
    pub(crate) received: u64,
}

/// The networking half of the node's state.
pub(crate) struct Network {
    pub(crate) client: Client,
    /// The peer sessions; taken out only while it handles an input (see
    /// `NodeState::session_input` in `state/network.rs`).
    pub(crate) sessions: Option<Sessions<PeerId, Session>>,
    pub(crate) wires: HashMap<PeerId, Wire>,
    pub(crate) listen: Vec<Multiaddr>,
    pub(crate) failures: mpsc::Sender<PeerId>,
    /// Peers discovery found that we have not been connected to since. Discovery reports a
    /// peer once, so a first dial that fails would otherwise leave two members on one LAN
    /// apart until the peer's record expires; these are dialled again at every resync.
    pub(crate) found: HashSet<PeerId>,
}

impl Network {
    pub(crate) fn new(
        client: Client,
        listen: Vec<Multiaddr>,
        failures: mpsc::Sender<PeerId>,
    ) -> Self {
        let me = client.local_peer_id();
        Network {
            client,
            sessions: Some(Sessions::new(me)),
            wires: HashMap::new(),
            listen,
            failures,
            found: HashSet::new(),
        }
    }

    /// Stops every writer, handing back their tasks so a shutdown can wait for queued
    /// frames to be written.
    pub(crate) fn close_writers(&mut self) -> Vec<JoinHandle<()>> {
        self.wires.drain().map(|(_, wire)| wire.writer).collect()
    }
}

/// Writes frames to one peer in order, reporting failures so the loop can resync.
pub(crate) fn spawn_writer(
    client: Client,
    peer: PeerId,
    session: Session,
    failures: mpsc::Sender<PeerId>,
) -> (mpsc::Sender<Frame>, JoinHandle<()>) {
    let (queue, mut frames) = mpsc::channel::<Frame>(PEER_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if let Err(e) = client.send_on(peer, session, frame).await {
                debug!(%peer, error = %e, "sending a frame failed");
                // Full means a report is already waiting; one resync covers both.
                let _ = failures.try_send(peer);
            }
        }
    });
    (queue, writer)
}

/// Spawns a dial whose outcome only matters through the events it causes.
pub(crate) fn spawn_dial(client: Client, addr: Multiaddr) {
    tokio::spawn(async move {
        match client.dial(addr.clone()).await {
            Ok(peer) => debug!(%addr, %peer, "dialled"),
            Err(e) => info!(%addr, error = %e, "could not reach a known address"),
        }
    });
}

/// Spawns the dial of a peer discovery found; grove-net skips it while one is under way.
pub(crate) fn spawn_dial_discovered(client: Client, peer: PeerId) {
    tokio::spawn(async move {
        if let Err(e) = client.dial_discovered(peer).await {
            debug!(%peer, error = %e, "could not dial a discovered peer");
        }
    });
}

/// Spawns the redial of member peers still on our network whose connection died.
pub(crate) fn spawn_redial_lan(client: Client) {
    tokio::spawn(async move {
        if let Err(e) = client.redial_lan().await {
            debug!(error = %e, "could not dial the peers on our network again");
        }
    });
}
