//! Grove's composition root and the API every client (CLI, desktop, tests) uses.
//!
//! `Node::builder().home(dir).spawn()` opens the store, loads this device's identity and
//! starts one event loop that owns every document; the returned [`NodeHandle`] is how
//! everything else talks to it.

mod addr;
mod bundle;
pub mod control;
mod dto;
mod error;
pub mod export;
pub mod files;
mod handle;
pub mod heaps;
mod home;
mod identity;
mod insight;
mod insight_cache;
mod join;
mod member_peers;
mod months;
mod passphrase;
mod peer_records;
mod pending_joins;
mod ports;
mod signatures;
mod state;
mod wires;

#[cfg(test)]
mod layering;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use grove_store::{MemStore, SledStore, Store};
use rand::SeedableRng;
use tokio::sync::{broadcast, mpsc};

pub use dto::{
    CircleSummary, DecisionPage, Me, MemberListing, NetInfo, NodeEvent, PeerCircle, PeerStatus,
    PrincipleView, SyncReport,
};
pub use error::{AddrParseError, InviteError, NodeError, NodeErrorKind, PeerIdParseError, Result};
pub use grove_core as core;
pub use grove_search as search;
pub use handle::{Author, CircleHandle, NodeHandle};
pub use home::resolve_home;
pub use identity::member_of_device;
pub use insight::{RaiseTension, MAX_WINDOW_DAYS};
pub use join::{NewInvite, JOIN_BURST, JOIN_REFILL};
pub use passphrase::{change_passphrase, check_passphrase, home_is_encrypted};

pub struct Node;

impl Node {
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }
}

pub struct NodeBuilder {
    home: Option<PathBuf>,
    passphrase: Option<zeroize::Zeroizing<String>>,
    in_memory: bool,
    clock: Option<state::Clock>,
    network: bool,
    listen: Option<Vec<String>>,
    peers: Vec<String>,
    mdns: bool,
    always_on: bool,
    resync_every: Duration,
    loaded_decisions: usize,
}

impl Default for NodeBuilder {
    fn default() -> Self {
        NodeBuilder {
            home: None,
            passphrase: None,
            in_memory: false,
            clock: None,
            network: false,
            listen: None,
            peers: Vec::new(),
            mdns: true,
            always_on: false,
            resync_every: RESYNC_EVERY,
            loaded_decisions: months::LOADED_DECISIONS,
        }
    }
}

/// Jobs waiting for the event loop; senders wait when it is full (backpressure).
const JOB_QUEUE: usize = 64;
/// How often every sync session restarts, to make good frames lost in transit (the
/// engine's docs ask for 30–60 s; with nothing to repair it costs two small frames per peer
/// and circle).
const RESYNC_EVERY: Duration = Duration::from_secs(45);

impl NodeBuilder {
    /// Keep data in this directory (a sled store).
    pub fn home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.home = Some(dir.into());
        self
    }

    /// The passphrase of an encrypted home; a new home given one is created encrypted.
    /// Opening fails with [`NodeErrorKind::Passphrase`] when it is wrong, missing for an
    /// encrypted home, or given for a home that is not encrypted. Ignored in memory.
    pub fn passphrase(mut self, passphrase: impl Into<String>) -> Self {
        self.passphrase = Some(zeroize::Zeroizing::new(passphrase.into()));
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

    /// Sync with peers over the network (default: off, as one-shot commands need no peers).
    pub fn network(mut self, on: bool) -> Self {
        self.network = on;
        self
    }

    /// Listen on this multiaddr (repeatable). Default with networking: every interface, any
    /// port, TCP and QUIC.
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen.get_or_insert_with(Vec::new).push(addr.into());
        self
    }

    /// Listen nowhere: the node only dials out.
    pub fn no_listen(mut self) -> Self {
        self.listen = Some(Vec::new());
        self
    }

    /// Dial this multiaddr once started (repeatable).
    pub fn peer(mut self, addr: impl Into<String>) -> Self {
        self.peers.push(addr.into());
        self
    }

    /// Find peers on the local network by multicast DNS (default: on).
    pub fn mdns(mut self, on: bool) -> Self {
        self.mdns = on;
        self
    }

    /// An always-on member node (`grove serve`): also relays connections for members behind
    /// NAT and serves as their rendezvous point.
    pub fn always_on(mut self, on: bool) -> Self {
        self.always_on = on;
        self
    }

    /// How often sync sessions restart to repair lost frames (default 45 s).
    pub fn resync_every(mut self, every: Duration) -> Self {
        self.resync_every = every;
        self
    }

    /// How many decisions the months in memory may hold before paging through the log lets
    /// the least recently used months go (default 10,000; see `crates/grove-node/src/months.rs`).
    pub fn loaded_decisions(mut self, decisions: usize) -> Self {
        self.loaded_decisions = decisions;
        self
    }

    /// Opens the store, starts networking if asked, and starts the event loop; returns once
    /// the node listens. Must be called inside a multi-threaded tokio runtime.
    pub async fn start(self) -> Result<NodeHandle> {
        if !self.network {
            return self.spawn_inner(None);
        }
        let listen = match &self.listen {
            Some(addrs) => Some(parse_addrs(addrs)?),
            None => None,
        };
        let peers = parse_addrs(&self.peers)?;
        let (store, identity) = self.open_store()?;
        let keypair =
            grove_net::keypair_from_ed25519_secret(identity.secret()).map_err(|cause| {
                NodeError::NetStart {
                    cause: Box::new(cause),
                }
            })?;
        let mut config = grove_net::Config::new(keypair);
        // Default addresses come back on last time's ports, so invite codes stay good.
        let pinned = listen.is_none().then(|| ports::Ports::load(store.as_ref()));
        if let Some(listen) = listen {
            config.listen_addrs = listen;
        } else if let Some(known) = pinned.filter(ports::Ports::is_known) {
            config.listen_addrs = known.listen_addrs();
        }
        config.mdns = self.mdns;
        config.relay_server = self.always_on;
        config.rendezvous_server = self.always_on;
        // Its circles' member devices only (see member_peers.rs).
        let members = member_peers::stored_member_peers(store.as_ref(), &identity);
        let rendezvous_clients = self
            .always_on
            .then(|| grove_net::PeerSet::new(members.clone()));
        config.rendezvous_clients = rendezvous_clients.clone();
        // The relay carries whole syncs (grove-net's relay_gate.rs), so it serves the same
        // member devices, through the same shared set, kept current as circles change.
        config.relay_clients = rendezvous_clients.clone();
        let large_frames = grove_net::PeerSet::new(members);
        config.large_frames_from = Some(large_frames.clone());
        // Members' always-on nodes, as recorded in the circles: where a node behind NAT
        // registers to be found and takes a relayed address to be reachable. A node that
        // only dials out (one-shot sync) needs neither.
        let me = config.local_peer_id();
        let relays = if self.always_on || self.listen.as_ref().is_some_and(Vec::is_empty) {
            Vec::new()
        } else {
            peer_records::always_on_nodes(store.as_ref(), &identity, me)
        };
        config.rendezvous_points = if relays.is_empty() {
            Vec::new()
        } else {
            peer_records::always_on_rendezvous(store.as_ref(), &identity, me)
        };
        let started = match grove_net::new(config.clone()).await {
            // Another program took one of them meanwhile: any free port beats no network.
            Err(e) if pinned.is_some_and(|p| p.is_known()) => {
                tracing::info!(error = %e, "last time's listen ports are taken; choosing new ones");
                config.listen_addrs = ports::Ports::default().listen_addrs();
                grove_net::new(config).await
            }
            started => started,
        };
        let (client, events, event_loop) = started.map_err(|cause| NodeError::NetStart {
            cause: Box::new(cause),
        })?;
        tokio::spawn(event_loop.run());
        for relay in relays {
            let client = client.clone();
            tokio::spawn(async move {
                let circuit = relay.with(grove_net::Protocol::P2pCircuit);
                if let Err(e) = client.listen_on(circuit.clone()).await {
                    tracing::info!(%circuit, error = %e, "no relayed address through this node");
                }
            });
        }
        let listening = client
            .listen_addrs()
            .await
            .map_err(|cause| NodeError::NetStart {
                cause: Box::new(cause),
            })?;
        if let Some(before) = pinned {
            let now = ports::Ports::of(&listening);
            if now != before && now.is_known() {
                if let Err(e) = now.save(store.as_ref()) {
                    tracing::warn!(error = %e, "the listen ports could not be saved; the next start may choose new ones");
                }
            }
        }
        self.spawn_with(
            store,
            identity,
            Some(NetStart {
                client,
                events,
                listening,
                peers,
                rendezvous_clients,
                large_frames,
            }),
        )
    }

    /// Opens the store and starts the event loop, without networking (see [`Self::start`]).
    /// Must be called inside a tokio runtime.
    pub fn spawn(self) -> Result<NodeHandle> {
        if self.network {
            return Err(NodeError::SpawnedNetworked);
        }
        self.spawn_inner(None)
    }

    fn spawn_inner(self, net: Option<NetStart>) -> Result<NodeHandle> {
        let (store, identity) = self.open_store()?;
        self.spawn_with(store, identity, net)
    }

    fn open_store(&self) -> Result<(Arc<dyn Store>, identity::Identity)> {
        let store: Arc<dyn Store> = if self.in_memory {
            Arc::new(MemStore::new())
        } else {
            let home = resolve_home(self.home.as_deref())?;
            // The store creates the home (owner-only) and tightens an existing one.
            let passphrase = self.passphrase.as_ref().map(|p| p.as_str());
            let started = std::time::Instant::now();
            let store = SledStore::open_with(&home, passphrase)?;
            tracing::debug!(ms = started.elapsed().as_millis(), "store opened");
            Arc::new(store)
        };
        let identity = identity::Identity::load_or_create(store.as_ref())?;
        signatures::mark_new_store(store.as_ref())?;
        Ok((store, identity))
    }

    fn spawn_with(
        self,
        store: Arc<dyn Store>,
        identity: identity::Identity,
        net: Option<NetStart>,
    ) -> Result<NodeHandle> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(wall_clock));
        let (events, _) = broadcast::channel(1024);
        let (jobs, rx) = mpsc::channel::<handle::Job>(JOB_QUEUE);
        let mut state = state::NodeState::new(
            store,
            identity,
            rand::rngs::StdRng::from_entropy(),
            clock,
            events.clone(),
        );
        state.months = months::Months::with_budget(Some(self.loaded_decisions));
        let (failures_tx, failures) = mpsc::channel(wires::FAILURE_QUEUE);
        let mut net_events = None;
        if let Some(start) = net {
            state.net = Some(wires::Network::new(
                start.client,
                start.listening,
                failures_tx,
            ));
            state.member_peers = Some(member_peers::MemberPeers::new(
                start.rendezvous_clients,
                start.large_frames,
            ));
            state.refresh_member_peers();
            let mut dial = start.peers;
            dial.extend(state.known_addresses());
            dial.sort();
            dial.dedup();
            state.dial_in_background(dial);
            net_events = Some(start.events);
        }
        tokio::spawn(event_loop(
            state,
            rx,
            net_events,
            failures,
            self.resync_every,
        ));
        Ok(NodeHandle { jobs, events })
    }
}

struct NetStart {
    client: grove_net::Client,
    events: mpsc::Receiver<grove_net::Event>,
    listening: Vec<grove_net::Multiaddr>,
    peers: Vec<grove_net::Multiaddr>,
    /// An always-on node's rendezvous point's clients, to fill from its circles.
    rendezvous_clients: Option<grove_net::PeerSet>,
    /// Peers that may send large frames (see member_peers.rs).
    large_frames: grove_net::PeerSet,
}

fn parse_addrs(addrs: &[String]) -> Result<Vec<grove_net::Multiaddr>> {
    addrs.iter().map(|a| addr::parse_addr(a)).collect()
}

/// The node's one event loop: jobs from handles, network events, the resync timer and failed
/// sends, each handled to the end before the next, so no lock guards a document.
async fn event_loop(
    mut state: state::NodeState,
    mut jobs: mpsc::Receiver<handle::Job>,
    mut net_events: Option<mpsc::Receiver<grove_net::Event>>,
    mut failures: mpsc::Receiver<grove_net::PeerId>,
    resync_every: Duration,
) {
    let networked = net_events.is_some();
    let mut resync =
        tokio::time::interval_at(tokio::time::Instant::now() + resync_every, resync_every);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                // Jobs do synchronous disk and CPU work; tell the runtime so other tasks
                // keep running on the remaining workers.
                Some(job) => {
                    tokio::task::block_in_place(|| job(&mut state));
                    if state.stop.is_some() {
                        break;
                    }
                }
                None => break,
            },
            event = recv_net(&mut net_events) => match event {
                Some(event) => tokio::task::block_in_place(|| state.on_net_event(event)),
                None => {
                    tracing::debug!("the network stopped");
                    net_events = None;
                }
            },
            _ = resync.tick(), if networked => {
                tokio::task::block_in_place(|| state.on_resync());
            }
            Some(peer) = failures.recv() => {
                let mut peers = HashSet::from([peer]);
                while let Ok(peer) = failures.try_recv() {
                    peers.insert(peer);
                }
                tokio::task::block_in_place(|| state.on_send_failed(peers));
            }
        }
    }
    if let Some(net) = state.net.as_mut() {
        let _ = net.client.shutdown().await;
    }
    let stopped = state.stop.take();
    // Close the store (and everything else the state owns) before saying we stopped.
    drop(state);
    if let Some(tx) = stopped {
        let _ = tx.send(());
    }
    tracing::debug!("node event loop stopped");
}

/// The next network event; pending forever when networking is off or has stopped.
async fn recv_net(
    events: &mut Option<mpsc::Receiver<grove_net::Event>>,
) -> Option<grove_net::Event> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// This machine's clock, as the core counts time.
pub fn wall_clock() -> core::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    core::Timestamp(ms)
}
