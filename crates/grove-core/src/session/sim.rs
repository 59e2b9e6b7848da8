//! A deterministic network simulator for whole peer sessions: several [`Sessions`]
//! machines, each with its engine and in-memory documents, connected by simulated
//! connections, for tests and benches.
//!
//! A node has an identity (its peer id; two devices may share one, playing twins) and its
//! own view of who is a member device of each circle it holds. A connection ([`PipeId`])
//! joins two nodes and has a session id at each end, as the transport reports them: frames
//! keep their order on a connection, but which connection delivers next is drawn from the
//! seeded RNG, and frames may be lost ([`Sim::set_drop_percent`]). A frame carries the
//! receiver's session at the time it was sent, so frames of an ended session still arrive
//! (as a transport may read them just before the end) and the machine must drop them.
//! [`Sim::restart`] plays a node that restarts behind a connection the other end still
//! holds: only the restarted end sees a new session.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge, AutomergeError, ChangeHash};
use rand_core::RngCore;

use super::{Access, Admission, CircleKey, Effect, Fault, Input, Note, Sessions, JOIN_REPLY, SYNC};
use crate::sync::sim::MemDocs;
use crate::sync::{AuthError, ChangeSignature, DocAddr, Docs, Link, SignedChange, SignedMeta};
use crate::Authorized;
use crate::CORE_DOC;

/// A peer id in the simulation: twins share one.
pub type Identity = u32;
/// A node's index in the simulation.
pub type NodeIdx = usize;
/// A connection's index.
pub type PipeId = usize;

/// What a simulated node's machine asks of its node: its documents, its view of who
/// belongs to its circles, and its saved sync states.
#[derive(Debug)]
pub struct SimHost {
    pub docs: MemDocs,
    /// This node's view: the member devices of each circle (held or not).
    pub members: BTreeMap<String, BTreeSet<Identity>>,
    pub saved_sync_states: BTreeMap<(Identity, DocAddr), Vec<u8>>,
}

/// The device key a simulated identity stands for (its public key, as a join names it).
pub fn device_key(id: Identity) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&id.to_be_bytes());
    key
}

/// The first key of a simulated circle: every holder knows it.
pub fn circle_key(circle: &str) -> CircleKey {
    use sha2::Digest as _;
    sha2::Sha256::digest(circle.as_bytes()).into()
}

impl Docs for SimHost {
    fn get(&self, addr: &DocAddr) -> Option<&Automerge> {
        self.docs.get(addr)
    }

    fn get_mut(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        self.docs.get_mut(addr)
    }

    fn create(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        self.docs.create(addr)
    }

    fn doc_keys(&self, circle: &str) -> Vec<String> {
        self.docs.doc_keys(circle)
    }

    /// The simulated engine's documents are nobody's circle: they take every change.
    fn signatures(
        &self,
        addr: &DocAddr,
        changes: &[Link<'_>],
    ) -> Vec<(ChangeHash, ChangeSignature)> {
        self.docs.signatures(addr, changes)
    }

    fn authorize(&self, addr: &DocAddr, changes: &[SignedChange]) -> Result<Authorized, AuthError> {
        self.docs.authorize(addr, changes)
    }

    fn authorize_meta(
        &self,
        addr: &DocAddr,
        changes: &[SignedMeta],
    ) -> Result<Authorized, AuthError> {
        self.docs.authorize_meta(addr, changes)
    }
}

impl Access<Identity> for SimHost {
    fn circles_for(&mut self, peer: &Identity) -> BTreeMap<String, CircleKey> {
        self.members
            .iter()
            .filter(|(circle, members)| self.docs.holds(circle) && members.contains(peer))
            .map(|(circle, _)| (circle.clone(), circle_key(circle)))
            .collect()
    }

    fn peer_bytes(&self, peer: &Identity) -> Vec<u8> {
        peer.to_be_bytes().to_vec()
    }

    fn peer_device(&self, peer: &Identity) -> Option<String> {
        Some(data_encoding::HEXLOWER.encode(&device_key(*peer)))
    }

    fn saved_sync_states(&mut self, peer: &Identity, circle: &str) -> Vec<(DocAddr, Vec<u8>)> {
        self.saved_sync_states
            .iter()
            .filter(|((p, addr), _)| p == peer && addr.circle == circle)
            .map(|((_, addr), bytes)| (addr.clone(), bytes.clone()))
            .collect()
    }

    /// A simulated joiner takes the answers to its joins (they are only recorded).
    fn takes_control(&self, kind: &str) -> bool {
        kind == JOIN_REPLY
    }
}

/// A frame handed to a node's machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub from: Identity,
    pub circle: String,
    pub kind: String,
    pub bytes: Vec<u8>,
}

/// One simulated node and what its machine reported.
#[derive(Debug)]
pub struct SimNode {
    pub id: Identity,
    pub machine: Sessions<Identity, u64>,
    pub host: SimHost,
    /// Where frames to each peer go, as the node's writers: the connection its machine was
    /// last told of.
    wires: BTreeMap<Identity, PipeId>,
    /// Every frame handed to this node's machine.
    pub received: Vec<Delivered>,
    pub misbehaved: Vec<(Identity, Fault)>,
    /// Peers disconnected for no longer sharing a circle.
    pub removed: Vec<Identity>,
    pub synced: Vec<(Identity, String)>,
    /// Peers whose fresh hello made this node start its sync with them over.
    pub restarted_by: Vec<Identity>,
    /// Restarts so far: each gives the documents a new actor when they are wiped.
    generation: u64,
    circles: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pipe {
    ends: [NodeIdx; 2],
    sessions: [u64; 2],
    open: bool,
    partitioned: bool,
}

#[derive(Debug)]
struct InFlight {
    from: NodeIdx,
    session: u64,
    circle: String,
    kind: &'static str,
    bytes: Vec<u8>,
}

/// Why a simulation step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error(
        "the network was still busy after {deliveries} deliveries: the machines may be livelocked"
    )]
    NotQuiet { deliveries: u64 },
    #[error("node {node} does not hold circle {circle:?}")]
    CircleNotHeld { node: NodeIdx, circle: String },
    #[error("editing the document failed: {0}")]
    Edit(#[from] AutomergeError),
}

/// The simulated network of session machines.
pub struct Sim<R> {
    rng: R,
    nodes: Vec<SimNode>,
    pipes: Vec<Pipe>,
    /// Frames in flight per (connection, receiving end), in order.
    queues: BTreeMap<(PipeId, usize), VecDeque<InFlight>>,
    next_session: u64,
    drop_percent: u32,
    now: i64,
}

impl<R: RngCore> Sim<R> {
    /// An empty network drawing its choices from `rng` (seed it for reproducible runs).
    pub fn new(rng: R) -> Self {
        Sim {
            rng,
            nodes: Vec::new(),
            pipes: Vec::new(),
            queues: BTreeMap::new(),
            next_session: 0,
            drop_percent: 0,
            now: 0,
        }
    }

    /// Adds a node named `id` holding `circles`, with no documents and no members yet.
    pub fn add_node(&mut self, id: Identity, circles: &[&str]) -> NodeIdx {
        let idx = self.nodes.len();
        let circles: Vec<String> = circles.iter().map(|c| (*c).to_owned()).collect();
        self.nodes.push(SimNode {
            id,
            machine: Sessions::new(id),
            host: SimHost {
                docs: MemDocs::new(actor(idx, 0), circles.iter().cloned()),
                members: BTreeMap::new(),
                saved_sync_states: BTreeMap::new(),
            },
            wires: BTreeMap::new(),
            received: Vec::new(),
            misbehaved: Vec::new(),
            removed: Vec::new(),
            synced: Vec::new(),
            restarted_by: Vec::new(),
            generation: 0,
            circles,
        });
        idx
    }

    pub fn node(&self, idx: NodeIdx) -> &SimNode {
        &self.nodes[idx]
    }

    pub fn nodes(&self) -> &[SimNode] {
        &self.nodes
    }

    /// Chance in percent that a frame sent from now on is lost.
    pub fn set_drop_percent(&mut self, percent: u32) {
        self.drop_percent = percent;
    }

    /// Sets `node`'s view of `circle`'s member devices, then tells its machine.
    pub fn set_members(&mut self, node: NodeIdx, circle: &str, members: &[Identity]) {
        self.nodes[node]
            .host
            .members
            .insert(circle.to_owned(), members.iter().copied().collect());
        self.input(node, Input::CirclesChanged);
    }

    /// Sets every node's view of `circle`'s member devices.
    pub fn set_members_everywhere(&mut self, circle: &str, members: &[Identity]) {
        for node in 0..self.nodes.len() {
            self.set_members(node, circle, members);
        }
    }

    /// Opens a connection between `a` and `b`; each machine learns of it with a new session.
    pub fn connect(&mut self, a: NodeIdx, b: NodeIdx) -> PipeId {
        let pipe = self.pipes.len();
        let sessions = [self.session(), self.session()];
        self.pipes.push(Pipe {
            ends: [a, b],
            sessions,
            open: true,
            partitioned: false,
        });
        for end in 0..2 {
            self.attach(pipe, end);
        }
        pipe
    }

    /// Closes a connection; both machines learn of it. Frames in flight still arrive.
    pub fn disconnect(&mut self, pipe: PipeId) {
        if !std::mem::replace(&mut self.pipes[pipe].open, false) {
            return;
        }
        for end in 0..2 {
            let (me, other) = (self.pipes[pipe].ends[end], self.pipes[pipe].ends[1 - end]);
            let peer = self.nodes[other].id;
            if self.nodes[me].wires.get(&peer) == Some(&pipe) {
                self.nodes[me].wires.remove(&peer);
            }
            let conn = self.pipes[pipe].sessions[end];
            self.input(me, Input::Disconnected { peer, conn });
        }
    }

    /// Silently loses every frame on `pipe` until [`Sim::heal`], while both machines
    /// still believe it is up.
    pub fn partition(&mut self, pipe: PipeId) {
        self.pipes[pipe].partitioned = true;
    }

    /// Ends every partition.
    pub fn heal(&mut self) {
        for pipe in &mut self.pipes {
            pipe.partitioned = false;
        }
    }

    /// Restarts `node`: its machine starts empty (and its documents and saved sync states
    /// too, when `wipe`), and each of its open connections comes back as a new session at
    /// its end only, while the other end still holds its link (the transport may report the
    /// old connection closed much later).
    pub fn restart(&mut self, node: NodeIdx, wipe: bool) {
        let n = &mut self.nodes[node];
        n.machine = Sessions::new(n.id);
        n.wires.clear();
        n.generation += 1;
        if wipe {
            n.host.docs = MemDocs::new(actor(node, n.generation), n.circles.iter().cloned());
            n.host.saved_sync_states.clear();
        }
        let mine: Vec<(PipeId, usize)> = self
            .pipes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.open)
            .filter_map(|(id, p)| p.ends.iter().position(|e| *e == node).map(|end| (id, end)))
            .collect();
        for (pipe, end) in mine {
            self.pipes[pipe].sessions[end] = self.session();
            self.attach(pipe, end);
        }
    }

    /// Edits (creating if need be) document `addr` on `node` in one change, then tells the
    /// machine.
    pub fn edit(
        &mut self,
        node: NodeIdx,
        addr: &DocAddr,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> Result<(), SimError> {
        let Some(doc) = self.nodes[node].host.docs.create(addr) else {
            return Err(SimError::CircleNotHeld {
                node,
                circle: addr.circle.clone(),
            });
        };
        let mut tx = doc.transaction();
        f(&mut tx)?;
        self.now += 1;
        tx.commit_with(CommitOptions::default().with_time(self.now));
        self.input(
            node,
            Input::LocalChange {
                circle: addr.circle.clone(),
                docs: vec![addr.doc.clone()],
            },
        );
        Ok(())
    }

    /// Both ends of `pipe` learn that its frames now take a new path (the transport moved
    /// them to another connection, e.g. after a network change).
    pub fn path_changed(&mut self, pipe: PipeId) {
        for end in 0..2 {
            let (me, other) = (self.pipes[pipe].ends[end], self.pipes[pipe].ends[1 - end]);
            let peer = self.nodes[other].id;
            let conn = self.pipes[pipe].sessions[end];
            self.input(me, Input::PathChanged { peer, conn });
        }
    }

    /// Feeds every node a [`Input::Resync`].
    pub fn resync_all(&mut self) {
        for node in 0..self.nodes.len() {
            self.input(node, Input::Resync);
        }
    }

    /// Delivers the next frame of a connection drawn at random; returns whether any was in
    /// flight.
    pub fn step(&mut self) -> bool {
        let busy: Vec<(PipeId, usize)> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, _)| *k)
            .collect();
        if busy.is_empty() {
            return false;
        }
        let pick = busy[(self.rng.next_u64() % busy.len() as u64) as usize];
        let Some(frame) = self.queues.get_mut(&pick).and_then(VecDeque::pop_front) else {
            return true;
        };
        let (pipe, end) = pick;
        if self.pipes[pipe].partitioned {
            return true;
        }
        let to = self.pipes[pipe].ends[end];
        let from = self.nodes[frame.from].id;
        self.nodes[to].received.push(Delivered {
            from,
            circle: frame.circle.clone(),
            kind: frame.kind.to_owned(),
            bytes: frame.bytes.clone(),
        });
        self.input(
            to,
            Input::Frame {
                peer: from,
                conn: frame.session,
                circle: frame.circle,
                kind: frame.kind.to_owned(),
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

    /// Sends a frame from `from` on `pipe` whatever its machine would say, as a hostile or
    /// confused node does.
    pub fn inject(
        &mut self,
        pipe: PipeId,
        from: NodeIdx,
        circle: &str,
        kind: &'static str,
        bytes: Vec<u8>,
    ) {
        let p = &self.pipes[pipe];
        let end = usize::from(p.ends[0] == from);
        let session = p.sessions[end];
        self.queues
            .entry((pipe, end))
            .or_default()
            .push_back(InFlight {
                from,
                session,
                circle: circle.to_owned(),
                kind,
                bytes,
            });
    }

    /// The connection `node` sends to `peer` on, if any.
    pub fn pipe_of(&self, node: NodeIdx, peer: Identity) -> Option<PipeId> {
        self.nodes[node].wires.get(&peer).copied()
    }

    /// The heads of each document `node` holds in `circle`.
    pub fn heads(&self, node: NodeIdx, circle: &str) -> BTreeMap<String, Vec<ChangeHash>> {
        self.nodes[node]
            .host
            .docs
            .all()
            .iter()
            .filter(|(addr, _)| addr.circle == circle)
            .map(|(addr, doc)| (addr.doc.clone(), doc.get_heads()))
            .filter(|(_, heads)| !heads.is_empty())
            .collect()
    }

    /// Sync frames of `circle` handed to `node`.
    pub fn sync_frames_received(&self, node: NodeIdx, circle: &str) -> usize {
        self.nodes[node]
            .received
            .iter()
            .filter(|d| d.circle == circle && d.kind == SYNC)
            .count()
    }

    fn session(&mut self) -> u64 {
        self.next_session += 1;
        self.next_session
    }

    /// Tells the machine at `end` of `pipe` that the connection is up.
    fn attach(&mut self, pipe: PipeId, end: usize) {
        let (me, other) = (self.pipes[pipe].ends[end], self.pipes[pipe].ends[1 - end]);
        let peer = self.nodes[other].id;
        self.nodes[me].wires.insert(peer, pipe);
        let conn = self.pipes[pipe].sessions[end];
        self.input(me, Input::Connected { peer, conn });
    }

    fn input(&mut self, idx: NodeIdx, input: Input<Identity, u64>) {
        let node = &mut self.nodes[idx];
        let effects = node
            .machine
            .handle(&mut node.host, crate::Timestamp(self.now), input);
        let mut core_changed = false;
        for effect in effects {
            match effect {
                Effect::Send {
                    peer,
                    circle,
                    kind,
                    bytes,
                } => self.send(idx, peer, circle, kind, bytes),
                Effect::Note {
                    peer,
                    note: Note::Restarted,
                } => self.nodes[idx].restarted_by.push(peer),
                Effect::Persist { .. } | Effect::Note { .. } | Effect::Control { .. } => {}
                Effect::RefusedRelayed { .. } | Effect::Syncing { .. } => {}
                // Simulated nodes check no invites: a request is refused as a wrong secret.
                Effect::Admit { peer, .. } => {
                    let admission = Admission::Refused(crate::Refusal::BadProof);
                    self.input(idx, Input::Admission { peer, admission });
                }
                Effect::Changed { addr } => core_changed |= addr.doc == CORE_DOC,
                Effect::SaveSyncState { peer, addr, bytes } => {
                    self.nodes[idx]
                        .host
                        .saved_sync_states
                        .insert((peer, addr), bytes);
                }
                Effect::Synced { peer, circle } => self.nodes[idx].synced.push((peer, circle)),
                Effect::Disconnected { peer, .. } => {
                    self.nodes[idx].wires.remove(&peer);
                }
                Effect::Disconnect { peer } => {
                    self.nodes[idx].removed.push(peer);
                    self.close(idx, peer);
                }
                Effect::Misbehaved { peer, fault } => {
                    self.nodes[idx].misbehaved.push((peer, fault));
                    self.close(idx, peer);
                }
            }
        }
        if core_changed {
            // The contract: access is evaluated again once a core change is taken in.
            self.input(idx, Input::CirclesChanged);
        }
    }

    /// `node` closes its connection to `peer`.
    fn close(&mut self, node: NodeIdx, peer: Identity) {
        if let Some(pipe) = self.nodes[node].wires.remove(&peer) {
            self.disconnect(pipe);
        }
    }

    fn send(
        &mut self,
        from: NodeIdx,
        peer: Identity,
        circle: String,
        kind: &'static str,
        bytes: Vec<u8>,
    ) {
        let Some(&pipe) = self.nodes[from].wires.get(&peer) else {
            return;
        };
        let p = &self.pipes[pipe];
        if !p.open || p.partitioned {
            return;
        }
        if self.drop_percent > 0 && self.rng.next_u32() % 100 < self.drop_percent {
            return;
        }
        let end = usize::from(p.ends[0] == from);
        let session = p.sessions[end];
        self.queues
            .entry((pipe, end))
            .or_default()
            .push_back(InFlight {
                from,
                session,
                circle,
                kind,
                bytes,
            });
    }
}

/// A fixed actor per node and restart, so runs are reproducible.
fn actor(node: NodeIdx, generation: u64) -> ActorId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(node as u64 + 1).to_be_bytes());
    bytes[8..].copy_from_slice(&generation.to_be_bytes());
    ActorId::from(bytes)
}
