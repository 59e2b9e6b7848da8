//! The engine: per-peer, per-document automerge sync sessions, driven by [`Input`]s and
//! answered with [`Effect`]s. See the module docs of [`crate::sync`] for the protocol.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use automerge::sync::{State, SyncDoc};
use automerge::{Automerge, ChangeHash};

use crate::circle::CORE_DOC;
use tracing::{debug, warn};

use super::cover::Link;
use super::envelope::{is_valid_doc_key, AnnouncedDoc, Envelope, EnvelopeError};
use super::signing::{self, AuthError, ChangeSignature, OwnedLink, SignedChange, SignedMeta};
use crate::Authorized;

/// Where a document lives: a circle and the document's key inside it
/// (e.g. `"core"`, `"decisions/2026-11"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocAddr {
    pub circle: String,
    pub doc: String,
}

impl DocAddr {
    pub fn new(circle: impl Into<String>, doc: impl Into<String>) -> Self {
        Self {
            circle: circle.into(),
            doc: doc.into(),
        }
    }
}

impl fmt::Display for DocAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.circle, self.doc)
    }
}

/// The documents the engine syncs. The caller owns them (the engine holds only sync
/// sessions), so the same documents serve the domain layer and the store.
pub trait Docs {
    /// The document at `addr`, if held.
    fn get(&self, addr: &DocAddr) -> Option<&Automerge>;
    /// The document at `addr`, if held, for applying a peer's changes.
    fn get_mut(&mut self, addr: &DocAddr) -> Option<&mut Automerge>;
    /// A peer has a document we lack: create it empty and return it, or return `None` to
    /// refuse (circle not held, key the domain does not accept). Called only after
    /// [`Docs::get`] returned `None`. Persisting the empty document is the caller's choice;
    /// the engine asks for [`Effect::Persist`] once content arrives.
    fn create(&mut self, addr: &DocAddr) -> Option<&mut Automerge>;
    /// The keys of every document held in `circle`, in any order. Keys must satisfy
    /// [`super::is_valid_doc_key`]; others are skipped with a warning.
    fn doc_keys(&self, circle: &str) -> Vec<String>;
    /// The signature held for change `hash` of `addr`, sent beside the change.
    fn signature(&self, _addr: &DocAddr, _hash: &ChangeHash) -> Option<ChangeSignature> {
        None
    }
    /// Whether change `hash` of `addr` may leave only with a later change of its author
    /// that covers it: no signature of its own is kept (see "At rest" in
    /// [`super::signing`]). Documents that do not sign keep none and need none.
    fn needs_cover(&self, _addr: &DocAddr, _hash: &ChangeHash) -> bool {
        false
    }
    /// The signatures to send beside `changes` (one message's) of `addr`. Circles send
    /// an uncovered change's only once it is known good (see
    /// [`crate::Circle::signatures_to_send`]). No default: an implementation that lends a
    /// circle's documents must send what the circle says, and one that lends others says
    /// so itself.
    fn signatures(
        &self,
        addr: &DocAddr,
        changes: &[Link<'_>],
    ) -> Vec<(ChangeHash, ChangeSignature)>;
    /// Checks a peer's changes for `addr` before any is applied (signatures, authors);
    /// see [`crate::Circle::authorize_sync`]: fails on garbage, and names the changes the
    /// circle's rules refuse. No default, for the same reason: forgetting it would take
    /// every peer's changes unchecked.
    fn authorize(&self, addr: &DocAddr, changes: &[SignedChange]) -> Result<Authorized, AuthError>;
    /// [`Docs::authorize`] for a whole document's changes read as metadata (any document
    /// but a circle's core, which is replayed); see [`crate::Circle::authorize_sync_meta`].
    fn authorize_meta(
        &self,
        addr: &DocAddr,
        changes: &[SignedMeta],
    ) -> Result<Authorized, AuthError>;
    /// The document at `addr`, empty until now, was replaced by the whole document `saved`
    /// holds, loaded from exactly these bytes (a peer's full sync): a store may write them
    /// as they are instead of saving the document again.
    fn adopt_loaded(&mut self, _addr: &DocAddr, _saved: Vec<u8>) {}
    /// Keeps the signatures the check verified, once the changes are applied to `addr`.
    fn keep_signatures(&mut self, _addr: &DocAddr, _verified: Authorized) {}
}

/// Something that happened, for the engine to react to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<P> {
    /// A connection to `peer` is up. `circles` are the circles we both hold (the transport
    /// has already checked membership); `sync_states` are the states the engine asked to
    /// save ([`Effect::SaveSyncState`]) in earlier sessions with this peer. Connecting an
    /// already connected peer starts a fresh session.
    PeerConnected {
        peer: P,
        circles: Vec<String>,
        sync_states: Vec<(DocAddr, Vec<u8>)>,
    },
    /// The connection to `peer` is gone; frames from it are ignored until it reconnects.
    PeerDisconnected { peer: P },
    /// A frame (an encoded [`Envelope`]) arrived from `peer` for `circle`. Feed a
    /// connection's frames in the order they arrived, and only after its `PeerConnected`.
    Received {
        peer: P,
        circle: String,
        bytes: Vec<u8>,
    },
    /// The document at `addr` changed locally (including: was just created).
    LocalChange { addr: DocAddr },
    /// The document at `addr` was rebuilt with fewer changes than before (see
    /// [`crate::Circle::purge_refused`]): what every session knew of it may name changes
    /// it no longer holds, so its sessions start from nothing and sync again.
    DocReplaced { addr: DocAddr },
    /// Restart every sync session with every peer, so frames lost in transit are made good.
    /// Drive it from a timer (every 30–60 s is plenty; when nothing differs it costs two
    /// small announces per peer and circle) and after any send the transport reports as
    /// failed.
    Resync,
}

/// Something the caller must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect<P> {
    /// Send `bytes` (an encoded [`Envelope`], which names the document) to `peer` as a frame
    /// of `circle`. Frames on one connection must arrive in order; a lost frame is made
    /// good by the next [`Input::Resync`].
    Send {
        peer: P,
        circle: String,
        bytes: Vec<u8>,
    },
    /// A peer's changes were applied to `addr`: save it (incrementally).
    Persist { addr: DocAddr },
    /// `addr` has new content from a peer: refresh whatever shows it.
    Changed { addr: DocAddr },
    /// Save this sync state for (`peer`, `addr`) and hand it back in
    /// [`Input::PeerConnected`], so a reconnect sends only what is new. Saving it after the
    /// document is safe even if the document's save is lost: automerge notices the peer's
    /// claim is ahead of us and falls back to a full exchange.
    SaveSyncState {
        peer: P,
        addr: DocAddr,
        bytes: Vec<u8>,
    },
    /// `peer` broke the protocol. The engine has already forgotten it; the caller should
    /// drop the connection and may report or ban the peer.
    Misbehaved { peer: P, reason: PeerFault },
    /// Changes `peer` sent for `addr` that the circle's rules forbid (and those built on
    /// them) were not applied; the rest of its message was. A peer that only relayed them
    /// (none is its own: see [`AuthError::device`]) acted in good
    /// faith and keeps its link. The engine never asks this peer for the refused changes
    /// again in this session, but still sends what it lacks (it may be the removal that
    /// makes the peer drop them).
    Refused {
        peer: P,
        addr: DocAddr,
        refused: Vec<crate::RefusedChange>,
    },
}

/// How a peer broke the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerFault {
    #[error("sent an undecodable sync frame: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("sent a sync frame for circle {circle:?}, which we do not share with it")]
    CircleNotShared { circle: String },
    #[error("sent changes for {addr} that automerge refused: {reason}")]
    BadChanges { addr: DocAddr, reason: String },
    #[error("sent changes for {addr} that are not authorised: {reason}")]
    Unauthorized { addr: DocAddr, reason: AuthError },
}

/// The changes of a received sync message.
enum Content {
    /// A whole document, loaded (see [`Engine::on_sync`]); boxed, as it is far larger.
    Loaded(Box<Automerge>),
    Changes(Vec<automerge::Change>),
}

impl Content {
    fn is_empty(&self) -> bool {
        match self {
            Content::Loaded(doc) => doc.is_empty(),
            Content::Changes(changes) => changes.is_empty(),
        }
    }
}

/// The sans-I/O sync engine. `P` identifies a peer (a public key, a libp2p peer id, a test
/// index); `Ord` keeps every iteration, and so every simulation, deterministic.
#[derive(Debug)]
pub struct Engine<P> {
    peers: BTreeMap<P, Peer>,
}

/// Most messages held back per peer: a peer whose authors stay unknown for this long is
/// not waiting for an admission.
const MAX_DEFERRED: usize = 1024;

/// A sync message held back because an author is not (yet) a member here: its admission
/// may be in a core change still on its way. Retried whenever the circle's core changes.
#[derive(Debug)]
struct Deferred {
    addr: DocAddr,
    message: automerge::sync::Message,
    signatures: Vec<(ChangeHash, ChangeSignature)>,
}

#[derive(Debug, Default)]
struct Peer {
    circles: BTreeSet<String>,
    /// Circles whose announce arrived in this connection: we know which documents the peer
    /// holds there.
    announced: BTreeSet<String>,
    sessions: BTreeMap<DocAddr, Session>,
    /// Messages waiting for their authors' admission, in arrival order.
    deferred: Vec<Deferred>,
}

/// One automerge sync session plus what the engine adds to survive lost frames.
#[derive(Debug, Default)]
struct Session {
    state: State,
    /// Changes the peer asked for although we believed we had sent them. Asked for again
    /// in its next message, they were lost: see [`Session::received`].
    asked_while_sent: BTreeSet<ChangeHash>,
    /// We sent every change we have to a peer whose document was empty, and it has not yet
    /// told us non-empty heads: see [`Session::is_stale`].
    sent_everything: bool,
    /// The peer's heads as it last told us (in an announce or a sync message): what
    /// [`Engine::in_sync`] compares with ours.
    peer_heads: Option<Vec<ChangeHash>>,
    /// Changes this peer sent that we refused, in this session: see [`push_sync`]. A
    /// restart forgets them, so each resync tries them once more (a refusal that depends
    /// on time, or on a removal the peer has since heard of, may no longer apply).
    refused: BTreeSet<ChangeHash>,
    /// Dependencies of changes held back because we lack them (see [`push_sync`]): asked
    /// of the peer by hash, once each per session. Automerge asks for a missing dependency
    /// by itself only when it holds the change that needs it; a held-back change never
    /// reaches it, so without this a dependency the peer left out (its Bloom filter of our
    /// changes had a false positive) would never be asked for, and the two would stall.
    missing: BTreeSet<ChangeHash>,
    /// Of `missing`, those already asked for in this session.
    asked_missing: BTreeSet<ChangeHash>,
}

impl Session {
    fn restored(state: State) -> Self {
        Self {
            state,
            asked_while_sent: BTreeSet::new(),
            sent_everything: false,
            peer_heads: None,
            refused: BTreeSet::new(),
            missing: BTreeSet::new(),
            asked_missing: BTreeSet::new(),
        }
    }

    /// Forgets everything but what both sides are known to share, exactly as a session
    /// restored from saved bytes would. `sent_hashes` goes too: that is what makes automerge
    /// send again whatever a lost frame carried.
    fn restart(&mut self) {
        let shared_heads = std::mem::take(&mut self.state.shared_heads);
        // What the peer told us is still true: keeping it stops `in_sync` from flickering
        // on every resync.
        let peer_heads = self.peer_heads.take();
        *self = Self::restored(State {
            shared_heads,
            ..State::new()
        });
        self.peer_heads = peer_heads;
    }

    /// Whether to hold back unprompted messages (for local changes, relays) until the peer
    /// answers: it has not told us its heads in this session yet, or it is still loading
    /// the whole document we sent. Each extra message would be answered with stale empty
    /// heads, and automerge answers empty heads with the whole document, again and again.
    /// Held-back changes ride on our reply to the peer's answer, which is sure to come: a
    /// fresh session always answers, and loading a document changes the peer's heads.
    fn awaiting_reply(&self) -> bool {
        self.state.in_flight && matches!(self.state.their_heads.as_deref(), None | Some([]))
    }

    /// Whether `message` was sent before the peer loaded everything we sent it. It still
    /// says "I have nothing", and automerge would answer with the whole document again; the
    /// document already on its way answers it. It carries nothing else: a peer with no
    /// changes has none to send.
    fn is_stale(&self, message: &automerge::sync::Message) -> bool {
        self.sent_everything && message.heads.is_empty() && message.changes.is_empty()
    }

    /// The peer says it shares nothing with us while our state says it holds
    /// `shared_heads`: it lost the document, or its saved sync state, since (a device
    /// wiped, a circle left and joined again, a sync state written lazily and lost in a
    /// crash). Automerge resets only when the peer's heads are empty; a peer that lost our
    /// changes but made one of its own since keeps answering our `have` with "I lack your
    /// last sync" and never gets them again, for we believe we sent them. Start over as
    /// with a fresh peer: none of what we believed shared before (`before`) unless it names
    /// it among its heads now, and nothing sent.
    fn forget_shared(&mut self, before: &[ChangeHash], their_heads: &[ChangeHash]) {
        self.state
            .shared_heads
            .retain(|h| !before.contains(h) || their_heads.contains(h));
        self.state.sent_hashes.clear();
        self.asked_while_sent.clear();
    }

    /// Called after each received message. Automerge never resends a change it sent in this
    /// session, so when a frame carrying one is lost the peer asks for it by hash and we
    /// answer with nothing, forever: two peers trading empty messages. A change asked for in
    /// two messages in a row was lost (one request can merely cross the change in flight),
    /// so we forget having sent it and the reply carries it again.
    fn received(&mut self) {
        if self
            .state
            .their_heads
            .as_ref()
            .is_some_and(|h| !h.is_empty())
        {
            self.sent_everything = false;
        }
        let need: BTreeSet<ChangeHash> = self.state.their_need.iter().flatten().copied().collect();
        for hash in self.asked_while_sent.intersection(&need) {
            self.state.sent_hashes.remove(hash);
        }
        self.asked_while_sent = need
            .into_iter()
            .filter(|hash| self.state.sent_hashes.contains(hash))
            .collect();
    }
}

impl<P> Default for Engine<P> {
    fn default() -> Self {
        Self {
            peers: BTreeMap::new(),
        }
    }
}

impl<P: Clone + Ord + fmt::Debug> Engine<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The peers with a live session.
    pub fn peers(&self) -> impl Iterator<Item = &P> {
        self.peers.keys()
    }

    /// Whether `circle` is known to be in sync with `peer`: the peer announced its documents
    /// in this connection, and for every document we hold in the circle, the heads the peer
    /// last told us equal ours. It turns false as soon as either side changes and true again
    /// once the exchange that follows completes, so a one-shot sync can wait for it.
    pub fn in_sync<D: Docs + ?Sized>(&self, docs: &D, peer: &P, circle: &str) -> bool {
        let Some(state) = self.peers.get(peer) else {
            return false;
        };
        if !state.circles.contains(circle) || !state.announced.contains(circle) {
            return false;
        }
        docs.doc_keys(circle)
            .into_iter()
            .filter(|key| is_valid_doc_key(key))
            .all(|key| {
                let addr = DocAddr::new(circle, key);
                let Some(doc) = docs.get(&addr) else {
                    return true;
                };
                state
                    .sessions
                    .get(&addr)
                    .and_then(|s| s.peer_heads.as_ref())
                    .is_some_and(|theirs| *theirs == doc.get_heads())
            })
    }

    /// The circles shared with `peer` in its current connection, if it has one.
    pub fn peer_circles(&self, peer: &P) -> Option<impl Iterator<Item = &String>> {
        self.peers.get(peer).map(|state| state.circles.iter())
    }

    /// Reacts to one input; the returned effects must be carried out in order.
    pub fn handle<D: Docs + ?Sized>(&mut self, docs: &mut D, input: Input<P>) -> Vec<Effect<P>> {
        let mut out = Vec::new();
        match input {
            Input::PeerConnected {
                peer,
                circles,
                sync_states,
            } => self.connect(docs, peer, circles, sync_states, &mut out),
            Input::PeerDisconnected { peer } => {
                self.peers.remove(&peer);
            }
            Input::Received {
                peer,
                circle,
                bytes,
            } => self.receive(docs, peer, circle, &bytes, &mut out),
            Input::LocalChange { addr } => {
                self.local_change(docs, &addr, &mut out);
                if addr.doc == CORE_DOC {
                    self.retry_deferred(docs, &addr.circle, &mut out);
                }
            }
            Input::Resync => self.resync(docs, &mut out),
            Input::DocReplaced { addr } => {
                for state in self.peers.values_mut() {
                    if let Some(session) = state.sessions.get_mut(&addr) {
                        let peer_heads = session.peer_heads.take();
                        *session = Session::default();
                        session.peer_heads = peer_heads;
                    }
                }
                self.local_change(docs, &addr, &mut out);
            }
        }
        out
    }

    fn connect<D: Docs + ?Sized>(
        &mut self,
        docs: &D,
        peer: P,
        circles: Vec<String>,
        sync_states: Vec<(DocAddr, Vec<u8>)>,
        out: &mut Vec<Effect<P>>,
    ) {
        let mut state = Peer {
            circles: circles.into_iter().collect(),
            announced: BTreeSet::new(),
            sessions: BTreeMap::new(),
            deferred: Vec::new(),
        };
        for (addr, bytes) in sync_states {
            if !state.circles.contains(&addr.circle) {
                continue;
            }
            match State::decode(&bytes) {
                Ok(session) => {
                    state.sessions.insert(addr, Session::restored(session));
                }
                // Our own saved bytes are damaged; a full exchange repairs it, so go on.
                Err(e) => warn!(?peer, %addr, error = %e, "ignoring unreadable saved sync state"),
            }
        }
        let circles: Vec<String> = state.circles.iter().cloned().collect();
        self.peers.insert(peer.clone(), state);
        for circle in circles {
            announce(docs, &peer, &circle, false, out);
        }
    }

    fn resync<D: Docs + ?Sized>(&mut self, docs: &D, out: &mut Vec<Effect<P>>) {
        for (peer, state) in &mut self.peers {
            for session in state.sessions.values_mut() {
                session.restart();
            }
            for circle in &state.circles {
                announce(docs, peer, circle, true, out);
            }
        }
    }

    fn local_change<D: Docs + ?Sized>(
        &mut self,
        docs: &D,
        addr: &DocAddr,
        out: &mut Vec<Effect<P>>,
    ) {
        let Some(doc) = docs.get(addr) else {
            warn!(%addr, "local change reported for a document the caller does not hold");
            return;
        };
        if !is_valid_doc_key(&addr.doc) {
            warn!(%addr, "not syncing a document whose key cannot go on the wire");
            return;
        }
        for (peer, state) in &mut self.peers {
            if state.circles.contains(&addr.circle) {
                let session = state.sessions.entry(addr.clone()).or_default();
                if !session.awaiting_reply() {
                    push_sync(docs, doc, session, peer, addr, out);
                }
            }
        }
    }

    fn receive<D: Docs + ?Sized>(
        &mut self,
        docs: &mut D,
        peer: P,
        circle: String,
        bytes: &[u8],
        out: &mut Vec<Effect<P>>,
    ) {
        let Some(state) = self.peers.get(&peer) else {
            // A frame that was in flight when the connection went away.
            debug!(?peer, "ignoring a frame from a peer without a session");
            return;
        };
        if !state.circles.contains(&circle) {
            self.fault(peer, PeerFault::CircleNotShared { circle }, out);
            return;
        }
        match Envelope::decode(bytes) {
            Err(e) => self.fault(peer, e.into(), out),
            Ok(Envelope::Announce {
                docs: theirs,
                restarted,
            }) => self.on_announce(docs, &peer, &circle, theirs, restarted, out),
            Ok(Envelope::Sync {
                doc,
                message,
                signatures,
            }) => {
                let addr = DocAddr { circle, doc };
                let queued = self
                    .peers
                    .get(&peer)
                    .is_some_and(|s| s.deferred.iter().any(|d| d.addr == addr));
                if queued {
                    // Keep this connection's order for the document.
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.deferred.push(Deferred {
                            addr,
                            message,
                            signatures,
                        });
                    }
                    return;
                }
                self.on_sync(docs, peer, addr, message, signatures, out);
            }
        }
    }

    fn on_announce<D: Docs + ?Sized>(
        &mut self,
        docs: &mut D,
        peer: &P,
        circle: &str,
        theirs: Vec<AnnouncedDoc>,
        restarted: bool,
        out: &mut Vec<Effect<P>>,
    ) {
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        state.announced.insert(circle.to_owned());
        if restarted {
            for (addr, session) in &mut state.sessions {
                if addr.circle == circle {
                    session.restart();
                }
            }
            announce(docs, peer, circle, false, out);
        }
        // Documents only we hold are listed in our own announce; the peer fetches them.
        for AnnouncedDoc {
            key,
            heads: their_heads,
        } in theirs
        {
            let addr = DocAddr {
                circle: circle.to_owned(),
                doc: key,
            };
            if get_or_create(docs, &addr).is_none() {
                continue;
            }
            let Some(doc) = docs.get(&addr) else {
                continue;
            };
            let session = state.sessions.entry(addr.clone()).or_default();
            session.peer_heads = Some(their_heads.clone());
            let our_heads = doc.get_heads();
            if our_heads == their_heads {
                // Identical documents need no exchange; remember the agreement so the next
                // session's bloom filter covers only what comes after it.
                if session.state.shared_heads != their_heads {
                    session.state.shared_heads = their_heads;
                    out.push(Effect::SaveSyncState {
                        peer: peer.clone(),
                        addr: addr.clone(),
                        bytes: session.state.encode(),
                    });
                }
                continue;
            }
            // Both sides compare the same two head lists, so exactly one starts the
            // exchange. Were both to start, their first messages would cross, and a peer
            // with an empty document would be sent the whole document twice. Empty heads
            // sort first: the side lacking the document asks for it. If an announce was
            // stale, the change that made it so has already started an exchange.
            if our_heads < their_heads && !session.awaiting_reply() {
                push_sync(&*docs, doc, session, peer, &addr, out);
            }
        }
        self.retry_deferred(docs, circle, out);
    }

    /// Applies one sync message, after checking every change it carries. Returns whether
    /// the message was deferred (its authors may yet be admitted).
    fn on_sync<D: Docs + ?Sized>(
        &mut self,
        docs: &mut D,
        peer: P,
        addr: DocAddr,
        message: automerge::sync::Message,
        signatures: Vec<(ChangeHash, ChangeSignature)>,
        out: &mut Vec<Effect<P>>,
    ) -> bool {
        if !self.peers.contains_key(&peer) || get_or_create(docs, &addr).is_none() {
            return false;
        }
        // A whole document for an empty one (a fresh peer's full sync) is loaded once,
        // checked from its change graph (metadata, no ops) and, if all of it passes, taken
        // as loaded. The core and the escalations are replayed change by change, so they
        // always come apart.
        let whole = !crate::circle::is_replayed(&addr.doc)
            && docs.get(&addr).is_some_and(Automerge::is_empty)
            && signing::is_whole_document(&message);
        let content = if whole {
            signing::load_whole(&message).map(|doc| Content::Loaded(Box::new(doc)))
        } else {
            signing::message_changes(&message).map(Content::Changes)
        };
        let content = match content {
            Ok(content) => content,
            Err(reason) => {
                self.fault(peer, PeerFault::BadChanges { addr, reason }, out);
                return false;
            }
        };
        let mut message = message;
        let mut verified = None;
        let mut refused: HashSet<ChangeHash> = HashSet::new();
        // Some changes left out (refused, or held back until their dependencies arrive).
        let mut partial = false;
        let mut reframe = None;
        let mut loaded = None;
        let mut held_back_deps: BTreeSet<ChangeHash> = BTreeSet::new();
        if !content.is_empty() {
            let sigs: BTreeMap<ChangeHash, ChangeSignature> = signatures.iter().copied().collect();
            let verdict = match &content {
                Content::Loaded(doc) => {
                    let metas: Vec<SignedMeta> = doc
                        .get_changes_meta(&[])
                        .into_iter()
                        .map(|m| SignedMeta {
                            signature: sigs.get(&m.hash).copied(),
                            hash: m.hash,
                            actor: m.actor.into_owned(),
                            deps: m.deps,
                            timestamp: m.timestamp,
                        })
                        .collect();
                    docs.authorize_meta(&addr, &metas)
                }
                Content::Changes(changes) => {
                    let signed: Vec<SignedChange> = changes
                        .iter()
                        .map(|change| SignedChange {
                            signature: sigs.get(&change.hash()).copied(),
                            change: change.clone(),
                        })
                        .collect();
                    docs.authorize(&addr, &signed)
                }
            };
            let verdict = match verdict {
                Ok(verdict) => verdict,
                Err(reason) => {
                    // Core changes arrive in causal order, with any admission they need. An
                    // escalation's answer names the core it was written on, which may still
                    // be on its way even when the peer's last known core matches ours: it
                    // waits either way (and a hostile peer's waits only fill its own queue).
                    let core_pending = matches!(reason, AuthError::CoreNotHeld { .. })
                        || !self.core_in_sync(docs, &peer, &addr.circle);
                    if reason.may_resolve_later() && addr.doc != CORE_DOC && core_pending {
                        debug!(?peer, %addr, %reason, "holding changes until their author's admission arrives");
                        if let Some(state) = self.peers.get_mut(&peer) {
                            if state.deferred.len() < MAX_DEFERRED {
                                state.deferred.push(Deferred {
                                    addr,
                                    message,
                                    signatures,
                                });
                                return true;
                            }
                        }
                    }
                    self.fault(peer, PeerFault::Unauthorized { addr, reason }, out);
                    return false;
                }
            };
            // Refused changes, and any held back until their dependencies arrive, are left
            // out of what is applied.
            let gone = verdict.unapplied_hashes();
            if gone.is_empty() {
                match content {
                    Content::Loaded(doc) => loaded = Some(doc),
                    Content::Changes(changes) => reframe = Some(changes),
                }
            } else {
                partial = true;
                if !verdict.refused().is_empty() {
                    refused = verdict.refused_hashes();
                    out.push(Effect::Refused {
                        peer: peer.clone(),
                        addr: addr.clone(),
                        refused: verdict.refused().to_vec(),
                    });
                }
                let changes = match content {
                    Content::Loaded(doc) => doc.get_changes(&[]),
                    Content::Changes(changes) => changes,
                };
                let in_batch: HashSet<ChangeHash> =
                    changes.iter().map(automerge::Change::hash).collect();
                for change in changes
                    .iter()
                    .filter(|c| verdict.held_back().contains(&c.hash()))
                {
                    held_back_deps.extend(change.deps().iter().filter(|d| !in_batch.contains(d)));
                }
                reframe = Some(
                    changes
                        .into_iter()
                        .filter(|c| !gone.contains(&c.hash()))
                        .collect::<Vec<_>>(),
                );
            }
            verified = Some(verdict);
        }
        let Some(state) = self.peers.get_mut(&peer) else {
            return false;
        };
        let Some(doc) = docs.get_mut(&addr) else {
            return false;
        };
        if let Some(changes) = reframe {
            // Apply exactly what was verified, however the peer framed it. A whole document
            // loaded into an empty one is already exactly that, and loads far faster.
            if partial || !(doc.is_empty() && signing::is_whole_document(&message)) {
                message = signing::with_changes(message, &changes);
            }
        }
        let session = state.sessions.entry(addr.clone()).or_default();
        session.missing.extend(held_back_deps);
        if session.is_stale(&message) {
            debug!(?peer, %addr, "ignoring a message sent before the peer loaded our document");
            return false;
        }
        let heads_before = doc.get_heads();
        // What automerge would take for "nothing came, nothing to answer" (see below).
        let last_sent = session.state.last_sent_heads.clone();
        let mut adopted = None;
        let swapped = loaded.is_some();
        if let Some(mut checked) = loaded {
            adopted = message.changes.iter().next().map(<[u8]>::to_vec);
            // Exactly the document the check read, with this device's actor; the sync
            // state then learns the peer's heads from the message as if it had loaded it.
            checked.set_actor(doc.get_actor().clone());
            *doc = *checked;
            message.changes = Vec::<Vec<u8>>::new().into();
        }
        let shared_before = session.state.shared_heads.clone();
        // The heads it names, when it says it shares nothing with us (see below).
        let starts_over = shares_nothing(&message).then(|| message.heads.clone());
        if let Err(e) = doc.receive_sync_message(&mut session.state, message) {
            let reason = e.to_string();
            self.fault(peer, PeerFault::BadChanges { addr, reason }, out);
            return false;
        }
        if swapped {
            // A message without changes whose heads equal ours reads as an echo, and
            // automerge would not answer it; this one brought the document, and the peer
            // waits for our answer to learn we hold it, as after any load.
            session.state.last_sent_heads = last_sent;
        }
        if let Some(their_heads) = starts_over.filter(|_| !shared_before.is_empty()) {
            session.forget_shared(&shared_before, &their_heads);
        }
        session.received();
        session.peer_heads = session.state.their_heads.clone();
        session.refused.extend(refused.iter().copied());
        let changed = doc.get_heads() != heads_before;
        if changed {
            out.push(Effect::Persist { addr: addr.clone() });
        }
        if session.state.shared_heads != shared_before {
            out.push(Effect::SaveSyncState {
                peer: peer.clone(),
                addr: addr.clone(),
                bytes: session.state.encode(),
            });
        }
        if changed {
            out.push(Effect::Changed { addr: addr.clone() });
        }
        if let Some(saved) = adopted {
            docs.adopt_loaded(&addr, saved);
        }
        if let Some(verified) = verified {
            docs.keep_signatures(&addr, verified);
        }
        {
            let docs: &D = docs;
            let Some(doc) = docs.get(&addr) else {
                return false;
            };
            if let Some(session) = self
                .peers
                .get_mut(&peer)
                .and_then(|s| s.sessions.get_mut(&addr))
            {
                push_sync(docs, doc, session, &peer, &addr, out);
            }
            if changed {
                // Pass the news on to everyone else in the circle.
                for (other, state) in &mut self.peers {
                    if *other != peer && state.circles.contains(&addr.circle) {
                        let session = state.sessions.entry(addr.clone()).or_default();
                        if !session.awaiting_reply() {
                            push_sync(docs, doc, session, other, &addr, out);
                        }
                    }
                }
            }
        }
        if addr.doc == CORE_DOC {
            // New members, or the proof that an author is unknown to the peer too.
            self.retry_deferred(docs, &addr.circle, out);
        }
        false
    }

    /// Whether the core document of `circle` is known to equal `peer`'s: then an author
    /// unknown here is unknown to the peer too, and its changes cannot become valid.
    fn core_in_sync<D: Docs + ?Sized>(&self, docs: &D, peer: &P, circle: &str) -> bool {
        let addr = DocAddr::new(circle, CORE_DOC);
        let (Some(state), Some(doc)) = (self.peers.get(peer), docs.get(&addr)) else {
            return false;
        };
        state
            .sessions
            .get(&addr)
            .and_then(|s| s.peer_heads.as_ref())
            .is_some_and(|theirs| *theirs == doc.get_heads())
    }

    /// Tries again the messages held back in `circle` now that its core changed: each
    /// peer's, in order, stopping at the first one that is still held for its document.
    fn retry_deferred<D: Docs + ?Sized>(
        &mut self,
        docs: &mut D,
        circle: &str,
        out: &mut Vec<Effect<P>>,
    ) {
        let waiting: Vec<P> = self
            .peers
            .iter()
            .filter(|(_, s)| s.deferred.iter().any(|d| d.addr.circle == circle))
            .map(|(p, _)| p.clone())
            .collect();
        for peer in waiting {
            let Some(state) = self.peers.get_mut(&peer) else {
                continue;
            };
            let (mine, rest): (Vec<Deferred>, Vec<Deferred>) = std::mem::take(&mut state.deferred)
                .into_iter()
                .partition(|d| d.addr.circle == circle);
            state.deferred = rest;
            let mut held: BTreeSet<DocAddr> = BTreeSet::new();
            for d in mine {
                if held.contains(&d.addr) {
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.deferred.push(d);
                    }
                    continue;
                }
                let addr = d.addr.clone();
                if self.on_sync(docs, peer.clone(), d.addr, d.message, d.signatures, out) {
                    held.insert(addr);
                }
                if !self.peers.contains_key(&peer) {
                    break;
                }
            }
        }
    }

    fn fault(&mut self, peer: P, reason: PeerFault, out: &mut Vec<Effect<P>>) {
        warn!(?peer, %reason, "peer broke the sync protocol; dropping it");
        self.peers.remove(&peer);
        out.push(Effect::Misbehaved { peer, reason });
    }
}

/// Whether `message` says its sender shares no history with us: a `have` whose last sync
/// is empty (automerge's own answer when it lacks the last sync we named, and a fresh
/// peer's first message).
fn shares_nothing(message: &automerge::sync::Message) -> bool {
    matches!(&message.have[..], [only] if only.last_sync.is_empty())
}

/// Sends the session's next message, if automerge has one, never asking for a change
/// this peer sent and we refused: it would send it again and we would refuse it again, an
/// endless loop for as long as the peer keeps it (until it hears why and drops it). The
/// rest of the message still goes: it may carry the very change (a removal) that makes the
/// peer drop the refused ones, and were we silent after a refusal, every exchange
/// (resyncs included) would end there and the two would never converge. When asking for
/// refused changes was all the message had to say, it is not sent, and the session is left
/// as if it had not been generated (it waits for no reply): otherwise the two would trade
/// empty messages forever, their heads differing by changes one of them will never take.
fn push_sync<P: Clone, D: Docs + ?Sized>(
    docs: &D,
    doc: &Automerge,
    session: &mut Session,
    peer: &P,
    addr: &DocAddr,
    out: &mut Vec<Effect<P>>,
) {
    session
        .missing
        .retain(|hash| doc.get_change_meta_by_hash(hash).is_none());
    let ask: Vec<ChangeHash> = session
        .missing
        .difference(&session.asked_missing)
        .copied()
        .collect();
    if !ask.is_empty() {
        // Forget what we last told the peer, so automerge has a message to send for the
        // request to ride on.
        session.state.last_sent_heads.clear();
    }
    let before = (!session.refused.is_empty()).then(|| session.state.clone());
    let Some(mut message) = generate(doc, session) else {
        return;
    };
    if !ask.is_empty() {
        session.asked_missing.extend(ask.iter().copied());
        message.need.extend(ask);
        // The encoding requires them sorted, once each.
        message.need.sort();
        message.need.dedup();
    }
    if let Some(before) = before {
        let asked = message.need.len();
        message.need.retain(|hash| !session.refused.contains(hash));
        if message.need.len() < asked && message.need.is_empty() && message.changes.is_empty() {
            session.state = before;
            return;
        }
    }
    send_sync(docs, doc, peer, addr, message, out);
}

/// The session's next message, if automerge has one; notes when it carries our whole
/// document to a peer whose document is empty (see [`Session::is_stale`]).
fn generate(doc: &Automerge, session: &mut Session) -> Option<automerge::sync::Message> {
    let to_empty_peer = session.state.their_heads.as_deref() == Some(&[]);
    let message = doc.generate_sync_message(&mut session.state)?;
    if to_empty_peer && !message.changes.is_empty() {
        session.sent_everything = true;
    }
    Some(message)
}

/// Signs and frames a message generated for `peer`.
fn send_sync<P: Clone, D: Docs + ?Sized>(
    docs: &D,
    doc: &Automerge,
    peer: &P,
    addr: &DocAddr,
    message: automerge::sync::Message,
    out: &mut Vec<Effect<P>>,
) {
    let (message, mut signatures) = match signing::generated_links(&message, doc) {
        Ok(links) => {
            let (message, links) = with_covers(docs, doc, addr, message, links);
            let links: Vec<Link<'_>> = links.iter().map(|l| l.link()).collect();
            let signatures = docs.signatures(addr, &links);
            (message, signatures)
        }
        Err(e) => {
            warn!(%addr, error = %e, "cannot read the changes of our own sync message");
            (message, Vec::new())
        }
    };
    signatures.sort_by_key(|(hash, _)| *hash);
    signatures.dedup_by_key(|(hash, _)| *hash);
    let envelope = Envelope::Sync {
        doc: addr.doc.clone(),
        message,
        signatures,
    };
    match envelope.encode() {
        Ok(bytes) => out.push(Effect::Send {
            peer: peer.clone(),
            circle: addr.circle.clone(),
            bytes,
        }),
        Err(e) => warn!(%addr, error = %e, "cannot encode a sync frame"),
    }
}

/// `message` (whose changes are `links`) with the descendants of every change in it that
/// would leave uncovered although no signature of its own is kept (see "At rest" in
/// [`super::signing`]): with them the message covers it again. Rare (a change asked for
/// by hash), so the change graph is read only then.
fn with_covers<D: Docs + ?Sized>(
    docs: &D,
    doc: &Automerge,
    addr: &DocAddr,
    message: automerge::sync::Message,
    mut links: Vec<OwnedLink>,
) -> (automerge::sync::Message, Vec<OwnedLink>) {
    if links.is_empty() || signing::is_whole_document(&message) {
        return (message, links);
    }
    let refs: Vec<Link<'_>> = links.iter().map(|l| l.link()).collect();
    let mut stack: Vec<ChangeHash> = refs
        .iter()
        .zip(super::cover::covered(&refs))
        .filter(|(link, covered)| !covered && docs.needs_cover(addr, &link.hash))
        .map(|(link, _)| link.hash)
        .collect();
    if stack.is_empty() {
        return (message, links);
    }
    let metas = doc.get_changes_meta(&[]);
    let mut children: HashMap<ChangeHash, Vec<ChangeHash>> = HashMap::new();
    for m in &metas {
        for dep in &m.deps {
            children.entry(*dep).or_default().push(m.hash);
        }
    }
    let carried: HashSet<ChangeHash> = links.iter().map(|l| l.hash).collect();
    let mut added = HashSet::new();
    while let Some(hash) = stack.pop() {
        for child in children.get(&hash).into_iter().flatten() {
            if !carried.contains(child) && added.insert(*child) {
                stack.push(*child);
            }
        }
    }
    if added.is_empty() {
        return (message, links);
    }
    let Ok(mut changes) = signing::message_changes(&message) else {
        return (message, links);
    };
    // The change graph's order puts ancestors first.
    for m in metas.into_iter().filter(|m| added.contains(&m.hash)) {
        if let Some(change) = automerge::ReadDoc::get_change_by_hash(doc, &m.hash) {
            changes.push(change);
            links.push(OwnedLink {
                hash: m.hash,
                actor: m.actor.into_owned(),
                deps: m.deps,
            });
        }
    }
    debug!(%addr, added = added.len(), "sending changes with their cover");
    (signing::with_changes(message, &changes), links)
}

fn announce<P: Clone, D: Docs + ?Sized>(
    docs: &D,
    peer: &P,
    circle: &str,
    restarted: bool,
    out: &mut Vec<Effect<P>>,
) {
    let listed = local_keys(docs, circle)
        .into_iter()
        .filter_map(|key| {
            let heads = docs.get(&DocAddr::new(circle, key.as_str()))?.get_heads();
            Some(AnnouncedDoc { key, heads })
        })
        .collect();
    let envelope = Envelope::Announce {
        docs: listed,
        restarted,
    };
    match envelope.encode() {
        Ok(bytes) => out.push(Effect::Send {
            peer: peer.clone(),
            circle: circle.to_owned(),
            bytes,
        }),
        Err(e) => warn!(circle, error = %e, "cannot announce this circle's documents"),
    }
}

/// The caller's document keys for `circle`, sorted, deduplicated, wire-valid.
fn local_keys<D: Docs + ?Sized>(docs: &D, circle: &str) -> BTreeSet<String> {
    docs.doc_keys(circle)
        .into_iter()
        .filter(|key| {
            let ok = is_valid_doc_key(key);
            if !ok {
                warn!(
                    circle,
                    key, "not syncing a document whose key cannot go on the wire"
                );
            }
            ok
        })
        .collect()
}

fn get_or_create<'d, D: Docs + ?Sized>(docs: &'d mut D, addr: &DocAddr) -> Option<&'d Automerge> {
    if docs.get(addr).is_none() && docs.create(addr).is_none() {
        debug!(%addr, "not creating a document a peer has");
        return None;
    }
    docs.get(addr)
}
