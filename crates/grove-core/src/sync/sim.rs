//! A deterministic network simulator for the sync engine, for tests and benches.
//!
//! Every node is an [`Engine`] with its own in-memory documents. Frames travel through one
//! queue ordered by (delivery time, send order); the seeded RNG decides losses, duplicates
//! and delays, so a seed replays the same run. Connections are modelled as the real runtime
//! sees them: [`Sim::connect`] and [`Sim::disconnect`] feed `PeerConnected` /
//! `PeerDisconnected` (with the sync states each node saved), frames from an older
//! connection are dropped, and [`Sim::partition`] silently loses frames on a link the
//! engines still think is up.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge, AutomergeError};
use rand_core::RngCore;

use super::cover::Link as ChangeLink;
use super::engine::{DocAddr, Docs, Effect, Engine, Input, PeerFault};
use super::signing::{AuthError, ChangeSignature, SignedChange, SignedMeta};
use crate::Authorized;

/// A node's index in the simulation.
pub type NodeId = usize;

/// What the network does to frames sent from now on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Chance in percent that a frame is lost.
    pub drop_percent: u32,
    /// Chance in percent that a frame is delivered twice.
    pub duplicate_percent: u32,
    /// Each copy is delayed by 0..=max_delay ticks; anything above 0 reorders frames.
    pub max_delay: u64,
}

impl Faults {
    /// A perfect network: every frame arrives once, in order.
    pub const NONE: Faults = Faults {
        drop_percent: 0,
        duplicate_percent: 0,
        max_delay: 0,
    };
}

/// Traffic counters since the last [`Sim::take_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames the engines asked to send, and their bytes.
    pub frames_sent: u64,
    pub bytes_sent: u64,
    /// Frames handed to an engine (duplicates count twice).
    pub frames_delivered: u64,
    /// Frames lost to faults, partitions or closed connections.
    pub frames_lost: u64,
}

/// In-memory documents of one node: the [`Docs`] the simulator's engines work on.
#[derive(Debug)]
pub struct MemDocs {
    actor: ActorId,
    circles: BTreeSet<String>,
    docs: BTreeMap<DocAddr, Automerge>,
}

impl MemDocs {
    /// Documents for the given circles, edited as `actor` (fixed, so runs are reproducible).
    pub fn new(actor: ActorId, circles: impl IntoIterator<Item = String>) -> Self {
        Self {
            actor,
            circles: circles.into_iter().collect(),
            docs: BTreeMap::new(),
        }
    }

    /// Every document held, by address.
    pub fn all(&self) -> &BTreeMap<DocAddr, Automerge> {
        &self.docs
    }

    /// Whether this node holds `circle`.
    pub fn holds(&self, circle: &str) -> bool {
        self.circles.contains(circle)
    }

    /// Puts `doc` at `addr`, replacing what was there: for simulating a lost save.
    pub fn replace(&mut self, addr: DocAddr, doc: Automerge) {
        self.docs.insert(addr, doc);
    }
}

impl Docs for MemDocs {
    fn get(&self, addr: &DocAddr) -> Option<&Automerge> {
        self.docs.get(addr)
    }

    fn get_mut(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        self.docs.get_mut(addr)
    }

    fn create(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        if !self.circles.contains(&addr.circle) {
            return None;
        }
        let actor = self.actor.clone();
        Some(
            self.docs
                .entry(addr.clone())
                .or_insert_with(|| Automerge::new().with_actor(actor)),
        )
    }

    fn doc_keys(&self, circle: &str) -> Vec<String> {
        self.docs
            .keys()
            .filter(|addr| addr.circle == circle)
            .map(|addr| addr.doc.clone())
            .collect()
    }

    /// Simulated documents are nobody's circle: every change is taken as it comes.
    fn signatures(
        &self,
        addr: &DocAddr,
        changes: &[ChangeLink<'_>],
    ) -> Vec<(automerge::ChangeHash, ChangeSignature)> {
        changes
            .iter()
            .filter_map(|l| self.signature(addr, &l.hash).map(|s| (l.hash, s)))
            .collect()
    }

    fn authorize(
        &self,
        _addr: &DocAddr,
        _changes: &[SignedChange],
    ) -> Result<Authorized, AuthError> {
        Ok(Authorized::default())
    }

    fn authorize_meta(
        &self,
        _addr: &DocAddr,
        _changes: &[SignedMeta],
    ) -> Result<Authorized, AuthError> {
        Ok(Authorized::default())
    }
}

/// One simulated node and what its engine asked of the outside world.
#[derive(Debug)]
pub struct SimNode {
    pub engine: Engine<NodeId>,
    pub docs: MemDocs,
    /// The latest [`Effect::SaveSyncState`] per (peer, document): the node's "disk".
    pub saved_sync_states: BTreeMap<(NodeId, DocAddr), Vec<u8>>,
    /// Every [`Effect::Misbehaved`] this node reported.
    pub misbehaved: Vec<(NodeId, PeerFault)>,
    /// How many [`Effect::Persist`] this node was asked for.
    pub persists: u64,
}

/// Why a simulation step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error(
        "the network was still busy after {deliveries} deliveries: the engines may be livelocked"
    )]
    NotQuiet { deliveries: u64 },
    #[error("node {node} does not hold circle {circle:?}")]
    CircleNotHeld { node: NodeId, circle: String },
    #[error("editing the document failed: {0}")]
    Edit(#[from] AutomergeError),
}

#[derive(Debug, Default, Clone, Copy)]
struct Link {
    connected: bool,
    partitioned: bool,
    /// Bumped on every connect, so frames of a closed connection never arrive on a new one.
    epoch: u64,
}

#[derive(Debug)]
struct Frame {
    from: NodeId,
    to: NodeId,
    circle: String,
    bytes: Vec<u8>,
    epoch: u64,
}

/// The simulated network of engines.
pub struct Sim<R> {
    rng: R,
    nodes: Vec<SimNode>,
    links: BTreeMap<(NodeId, NodeId), Link>,
    queue: BTreeMap<(u64, u64), Frame>,
    now: u64,
    seq: u64,
    faults: Faults,
    stats: Stats,
}

impl<R: RngCore> Sim<R> {
    /// An empty network drawing its faults from `rng` (seed it for reproducible runs).
    pub fn new(rng: R) -> Self {
        Self {
            rng,
            nodes: Vec::new(),
            links: BTreeMap::new(),
            queue: BTreeMap::new(),
            now: 0,
            seq: 0,
            faults: Faults::NONE,
            stats: Stats::default(),
        }
    }

    /// Adds a node holding `circles`, with no documents yet.
    pub fn add_node(&mut self, circles: &[&str]) -> NodeId {
        let id = self.nodes.len();
        let actor = ActorId::from((id as u64 + 1).to_be_bytes());
        self.nodes.push(SimNode {
            engine: Engine::new(),
            docs: MemDocs::new(actor, circles.iter().map(|c| (*c).to_owned())),
            saved_sync_states: BTreeMap::new(),
            misbehaved: Vec::new(),
            persists: 0,
        });
        id
    }

    pub fn node(&self, id: NodeId) -> &SimNode {
        &self.nodes[id]
    }

    /// The node's documents, to change behind the engine's back (a crash, a restore).
    pub fn docs_mut(&mut self, id: NodeId) -> &mut MemDocs {
        &mut self.nodes[id].docs
    }

    pub fn nodes(&self) -> &[SimNode] {
        &self.nodes
    }

    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Frames still in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Returns the traffic counters and starts new ones.
    pub fn take_stats(&mut self) -> Stats {
        std::mem::take(&mut self.stats)
    }

    /// Opens a connection between `a` and `b` sharing the circles both hold, handing each
    /// engine the sync states it saved for the other. Reconnecting an open link restarts it.
    pub fn connect(&mut self, a: NodeId, b: NodeId) {
        let link = self.links.entry(key(a, b)).or_default();
        link.connected = true;
        link.epoch += 1;
        let shared: Vec<String> = self.nodes[a]
            .docs
            .circles
            .intersection(&self.nodes[b].docs.circles)
            .cloned()
            .collect();
        for (me, peer) in [(a, b), (b, a)] {
            let sync_states = self.nodes[me]
                .saved_sync_states
                .iter()
                .filter(|((p, _), _)| *p == peer)
                .map(|((_, addr), bytes)| (addr.clone(), bytes.clone()))
                .collect();
            self.input(
                me,
                Input::PeerConnected {
                    peer,
                    circles: shared.clone(),
                    sync_states,
                },
            );
        }
    }

    /// Closes the connection between `a` and `b`; frames in flight on it are lost.
    pub fn disconnect(&mut self, a: NodeId, b: NodeId) {
        self.links.entry(key(a, b)).or_default().connected = false;
        self.input(a, Input::PeerDisconnected { peer: b });
        self.input(b, Input::PeerDisconnected { peer: a });
    }

    /// Whether `a` and `b` have an open connection.
    pub fn is_connected(&self, a: NodeId, b: NodeId) -> bool {
        self.links.get(&key(a, b)).is_some_and(|l| l.connected)
    }

    /// Silently loses every frame between `a` and `b` until [`Sim::heal`], while both
    /// engines still believe the connection is up.
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.links.entry(key(a, b)).or_default().partitioned = true;
    }

    /// Ends every partition.
    pub fn heal(&mut self) {
        for link in self.links.values_mut() {
            link.partitioned = false;
        }
    }

    /// Edits (creating if need be) document `addr` on `node` in one change stamped with the
    /// simulated time, then tells the engine.
    pub fn edit(
        &mut self,
        node: NodeId,
        addr: &DocAddr,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> Result<(), SimError> {
        let Some(doc) = self.nodes[node].docs.create(addr) else {
            return Err(SimError::CircleNotHeld {
                node,
                circle: addr.circle.clone(),
            });
        };
        let mut tx = doc.transaction();
        f(&mut tx)?;
        let time = i64::try_from(self.now).unwrap_or(i64::MAX);
        tx.commit_with(CommitOptions::default().with_time(time));
        self.input(node, Input::LocalChange { addr: addr.clone() });
        Ok(())
    }

    /// Feeds `node` a [`Input::Resync`].
    pub fn resync(&mut self, node: NodeId) {
        self.input(node, Input::Resync);
    }

    /// Feeds every node a [`Input::Resync`].
    pub fn resync_all(&mut self) {
        for node in 0..self.nodes.len() {
            self.resync(node);
        }
    }

    /// Delivers the next frame, if any; returns whether one was in flight.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), frame)) = self.queue.pop_first() else {
            return false;
        };
        self.now = self.now.max(at);
        let live = self
            .links
            .get(&key(frame.from, frame.to))
            .is_some_and(|l| l.connected && !l.partitioned && l.epoch == frame.epoch);
        if !live {
            self.stats.frames_lost += 1;
            return true;
        }
        self.stats.frames_delivered += 1;
        self.input(
            frame.to,
            Input::Received {
                peer: frame.from,
                circle: frame.circle,
                bytes: frame.bytes,
            },
        );
        true
    }

    /// Delivers up to `n` frames.
    pub fn step_n(&mut self, n: usize) {
        for _ in 0..n {
            if !self.step() {
                break;
            }
        }
    }

    /// Delivers frames until none is in flight; fails after `max_deliveries`, which only a
    /// livelock should reach. Returns the number of frames delivered.
    pub fn run_until_quiet(&mut self, max_deliveries: u64) -> Result<u64, SimError> {
        let mut delivered = 0;
        while self.step() {
            delivered += 1;
            if delivered > max_deliveries {
                return Err(SimError::NotQuiet {
                    deliveries: delivered,
                });
            }
        }
        Ok(delivered)
    }

    fn input(&mut self, id: NodeId, input: Input<NodeId>) {
        let node = &mut self.nodes[id];
        let effects = node.engine.handle(&mut node.docs, input);
        for effect in effects {
            match effect {
                Effect::Send {
                    peer,
                    circle,
                    bytes,
                } => self.send(id, peer, circle, bytes),
                Effect::Persist { .. } => self.nodes[id].persists += 1,
                Effect::Changed { .. } => {}
                Effect::SaveSyncState { peer, addr, bytes } => {
                    self.nodes[id].saved_sync_states.insert((peer, addr), bytes);
                }
                Effect::Misbehaved { peer, reason } => {
                    self.nodes[id].misbehaved.push((peer, reason));
                }
                // Simulated documents authorise everything, so nothing is refused.
                Effect::Refused { .. } => {}
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, circle: String, bytes: Vec<u8>) {
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        let link = self.links.get(&key(from, to)).copied().unwrap_or_default();
        if !link.connected || link.partitioned || self.chance(self.faults.drop_percent) {
            self.stats.frames_lost += 1;
            return;
        }
        let copies = if self.chance(self.faults.duplicate_percent) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = match self.faults.max_delay {
                0 => 0,
                max => self.rng.next_u64() % (max + 1),
            };
            self.seq += 1;
            self.queue.insert(
                (self.now + delay, self.seq),
                Frame {
                    from,
                    to,
                    circle: circle.clone(),
                    bytes: bytes.clone(),
                    epoch: link.epoch,
                },
            );
        }
    }

    fn chance(&mut self, percent: u32) -> bool {
        percent > 0 && self.rng.next_u32() % 100 < percent
    }
}

fn key(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}
