//! Peer sessions as a sans-I/O state machine: the protocol between two connected nodes
//! that sits above the sync engine ([`crate::sync::Engine`]), which it owns. The runtime
//! (`crates/grove-node/src/state/network.rs`) turns transport events into [`Input`]s for
//! [`Sessions::handle`] and carries out the returned [`Effect`]s in order; [`sim`] drives
//! many machines through a hostile network deterministically.
//!
//! # Protocol
//!
//! A connection goes through two steps. When the transport reports it ([`Input::Connected`]),
//! each side sends a hello (see [`hello`]) naming, by keyed tags, the circles it holds of
//! which the peer is a current member device, as the first frame on the connection; a peer
//! that is a member of none gets no hello at all (see [`access`]). When the peer's hello
//! arrives, the circles both hold and both admit the other to are handed to the engine;
//! frames of the connection arrive in order, so the peer's engine frames always follow its
//! hello.
//!
//! * Sync frames from a peer that is a member of none of our circles are a fault.
//! * A member device's sync frames before its hello are not: it may be carrying on a sync
//!   we know nothing of (we restarted and it has not noticed), so they are dropped and it is
//!   asked, once, with a fresh hello to start over.
//! * A fresh hello from a peer whose hello we already had means it started over (it
//!   restarted, or it asks because our hello did not reach it): the sync with it is void,
//!   so it is greeted again and synced from the saved states.
//! * Hellos are frames and can be lost like any other: at every [`Input::Resync`] (a lost
//!   connection, a failed send, the periodic one) a peer whose hello has not come though
//!   ours went is greeted again, fresh, so two lost hellos cannot leave both sides waiting.
//! * Access is evaluated again on [`Input::CirclesChanged`] (whenever a circle's core
//!   document changes): a newly admitted device connected now is greeted and synced, a
//!   removed one is disconnected.
//! * Changes the circle's rules refuse cost a peer its link only when one of them is its
//!   own: a peer that only relayed another device's may not have heard of the rule yet (a
//!   removal on its way to it).
//! * A stranger may ask to join with an invite (see [`join`]): its request is checked
//!   against the limits and its own device key here, against the circle by the caller.
//!
//! A link belongs to one connection (the transport's session, `C`): frames read on a
//! connection that has ended are dropped, since the peer may have restarted between the two
//! and would take our answers for frames of the new one (sync frames before any hello).
//!
//! # Contract with the caller
//!
//! * Feed a connection's frames in the order they arrived.
//! * Send each [`Effect::Send`] on the peer's current connection only.
//! * After effects that include [`Effect::Changed`] for a circle's core document, take in
//!   the new core (it may admit or remove someone), then feed [`Input::CirclesChanged`]:
//!   the sync status of that exchange is settled then, against the new access.
//! * Answer each [`Effect::Admit`] with [`Input::Admission`].

pub mod access;
pub mod hello;
pub mod join;
mod link;
pub mod sim;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::sync::{self, AuthError, DocAddr, Docs, Engine, PeerFault};
use crate::{RefusedChange, Timestamp, CORE_DOC};

pub use access::{circle_tag, Access, CircleKey, Tag, TAG_LEN};
pub use hello::{Hello, HelloError, CONTROL_CIRCLE, HELLO, MAX_CIRCLES, SYNC};
pub use join::{Admission, JoinFrame, JoinStep, Joins, JOIN, JOIN_REPLY};
pub use link::Link;

/// Something that happened, for the machine to react to. `P` names a peer, `C` one
/// connection to it (the transport's session id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<P, C> {
    /// A connection to `peer` is up; it replaces any link the peer had, and its sync.
    Connected { peer: P, conn: C },
    /// The connection `conn` to `peer` is gone (ignored if the link is on another one).
    Disconnected { peer: P, conn: C },
    /// A frame from `peer` read on `conn`: `circle` and the message `kind` as the transport
    /// carries them beside the payload.
    Frame {
        peer: P,
        conn: C,
        circle: String,
        kind: String,
        bytes: Vec<u8>,
    },
    /// Our circles or who belongs to them may have changed.
    CirclesChanged,
    /// Documents `docs` of `circle` changed locally and were saved.
    LocalChange { circle: String, docs: Vec<String> },
    /// See [`sync::Input::DocReplaced`].
    DocReplaced { addr: DocAddr },
    /// Frames may have been lost (see [`sync::Input::Resync`]): resyncs, and greets again,
    /// fresh, every peer whose hello has not come though ours went, since hellos are frames
    /// too and two lost ones would leave each side waiting for the other's forever.
    Resync,
    /// The transport moved `peer`'s frames to a new path (a new direct connection, or the
    /// old one died with a network change): frames in flight on the old one may be lost.
    /// Resyncs, and if the peer's hello never came on this link, greets it again, fresh.
    PathChanged { peer: P, conn: C },
    /// The caller found `peer` at fault on a control frame it handles itself.
    Misbehaved { peer: P, reason: String },
    /// What the caller's check of `peer`'s join request ([`Effect::Admit`]) found.
    Admission { peer: P, admission: Admission },
}

/// Something the caller must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect<P> {
    /// Send a frame to `peer` on its current connection.
    Send {
        peer: P,
        circle: String,
        kind: &'static str,
        bytes: Vec<u8>,
    },
    /// See [`sync::Effect::Persist`].
    Persist { addr: DocAddr },
    /// See [`sync::Effect::Changed`], and the contract in the module docs.
    Changed { addr: DocAddr },
    /// See [`sync::Effect::SaveSyncState`]; handed back through [`Access::saved_sync_states`].
    SaveSyncState {
        peer: P,
        addr: DocAddr,
        bytes: Vec<u8>,
    },
    /// A control frame the caller handles ([`Access::takes_control`]), read on the peer's
    /// current connection.
    Control {
        peer: P,
        kind: String,
        bytes: Vec<u8>,
    },
    /// Check `peer`'s join request against the circle it names (admitting it, if it holds),
    /// and feed what was found back as [`Input::Admission`].
    Admit { peer: P, request: JoinFrame },
    /// The circles synced with `peer` are now these (its hello arrived, or access changed).
    Syncing { peer: P, circles: Vec<String> },
    /// `circle` is now identical here and on `peer`.
    Synced { peer: P, circle: String },
    /// The connection to `peer` closed; `synced` were in sync until then.
    Disconnected { peer: P, synced: Vec<String> },
    /// Close the connection to `peer` without blaming it: it is no longer a member device of
    /// any circle we share.
    Disconnect { peer: P },
    /// Close the connection to `peer`: it broke the protocol.
    Misbehaved { peer: P, fault: Fault },
    /// Changes `peer` relayed were refused, none its own; it keeps its link.
    RefusedRelayed {
        peer: P,
        addr: DocAddr,
        refused: Vec<RefusedChange>,
    },
    /// Nothing to do; worth a line in a debug log.
    Note { peer: P, note: Note },
}

/// What [`Effect::Note`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Greeting the peer with a hello naming this many circles.
    Greeting { circles: usize, fresh: bool },
    /// A frame read on a connection that has ended was dropped.
    StaleFrame,
    /// Sync frames came before the peer's hello and were dropped; `asked`: it was asked to
    /// start over.
    BeforeHello { asked: bool },
    /// A frame for a circle not shared with the peer (sent before our updated hello reached
    /// it) was dropped; the next session covers it.
    NotShared { circle: String },
    /// The peer started its sync with us over; it is greeted again.
    Restarted,
    /// Too many join requests at once: the peer is asked to come back later, unchecked.
    JoinBusy,
}

/// How a peer broke the session protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    #[error("sent an invalid hello: {0}")]
    Hello(#[from] HelloError),
    #[error("unknown control frame {0:?}")]
    UnknownControl(String),
    #[error("sent sync frames before its hello")]
    SyncBeforeHello,
    #[error("sent a frame of unknown kind {0:?}")]
    UnknownKind(String),
    #[error("sent sync frames but is a member device of none of our circles")]
    NotMember,
    #[error("sent its own changes for {addr} that are not authorised: {reason}")]
    OwnChangesRefused { addr: DocAddr, reason: AuthError },
    #[error(transparent)]
    Sync(#[from] PeerFault),
    /// Broke the join rules (see [`join`]).
    #[error("{0}")]
    Join(String),
    /// Found by the caller (see [`Input::Misbehaved`]).
    #[error("{0}")]
    Caller(String),
}

/// The session machine of one node: a link per connected peer, and the sync engine.
#[derive(Debug)]
pub struct Sessions<P, C> {
    me: P,
    engine: Engine<P>,
    links: BTreeMap<P, Link<C>>,
    /// Circles whose sync status is settled on the next [`Input::CirclesChanged`] (see the
    /// contract in the module docs).
    refresh_after_access: BTreeSet<String>,
    /// Strangers' join attempts.
    joins: Joins<P>,
}

impl<P: Clone + Ord + fmt::Debug, C: Clone + PartialEq + fmt::Debug> Sessions<P, C> {
    /// The machine of the node named `me`.
    pub fn new(me: P) -> Self {
        Sessions {
            me,
            engine: Engine::new(),
            links: BTreeMap::new(),
            refresh_after_access: BTreeSet::new(),
            joins: Joins::default(),
        }
    }

    pub fn me(&self) -> &P {
        &self.me
    }

    /// The link with `peer`, while it is connected.
    pub fn link(&self, peer: &P) -> Option<&Link<C>> {
        self.links.get(peer)
    }

    /// Every link, by peer.
    pub fn links(&self) -> impl Iterator<Item = (&P, &Link<C>)> {
        self.links.iter()
    }

    pub fn engine(&self) -> &Engine<P> {
        &self.engine
    }

    /// Reacts to one input at `now`; the returned effects must be carried out in order.
    pub fn handle<H: Access<P> + Docs>(
        &mut self,
        host: &mut H,
        now: Timestamp,
        input: Input<P, C>,
    ) -> Vec<Effect<P>> {
        let mut out = Vec::new();
        match input {
            Input::Connected { peer, conn } => {
                // A transport reports a new connection only after the old one ended, but a
                // peer id two devices share (twins) may come back on a second one: the old
                // link's sync means nothing on the new connection.
                if self.links.insert(peer.clone(), Link::new(conn)).is_some() {
                    let input = sync::Input::PeerDisconnected { peer: peer.clone() };
                    self.engine.handle(host, input);
                }
                self.offer(host, peer, &mut out);
            }
            Input::Disconnected { peer, conn } => self.on_disconnected(host, peer, conn, &mut out),
            Input::Frame {
                peer,
                conn,
                circle,
                kind,
                bytes,
            } => {
                let frame = (circle, kind, bytes);
                self.on_frame(host, now, peer, conn, frame, &mut out)
            }
            Input::CirclesChanged => {
                self.circles_changed(host, &mut out);
                for circle in std::mem::take(&mut self.refresh_after_access) {
                    self.refresh(host, &circle, &mut out);
                }
            }
            Input::LocalChange { circle, docs } => {
                let mut core = false;
                for doc in &docs {
                    let addr = DocAddr::new(circle.as_str(), doc.as_str());
                    core |= self.feed_engine(host, sync::Input::LocalChange { addr }, &mut out);
                }
                if core {
                    // The caller re-evaluates access next, which covers a local core change.
                    self.refresh_after_access.insert(circle);
                    return out;
                }
                self.refresh(host, &circle, &mut out);
                if docs.iter().any(|d| d == CORE_DOC) {
                    self.circles_changed(host, &mut out);
                }
            }
            Input::DocReplaced { addr } => {
                self.feed_engine(host, sync::Input::DocReplaced { addr }, &mut out);
            }
            Input::Resync => {
                let unanswered: Vec<P> = self
                    .links
                    .iter()
                    .filter(|(_, l)| l.unanswered())
                    .map(|(p, _)| p.clone())
                    .collect();
                for peer in unanswered {
                    self.greet_again(host, peer, &mut out);
                }
                self.feed_engine(host, sync::Input::Resync, &mut out);
            }
            Input::PathChanged { peer, conn } => {
                if self
                    .links
                    .get(&peer)
                    .is_some_and(|l| l.conn == conn && l.unanswered())
                {
                    self.greet_again(host, peer, &mut out);
                }
                self.feed_engine(host, sync::Input::Resync, &mut out);
            }
            Input::Misbehaved { peer, reason } => {
                self.misbehaved(host, peer, Fault::Caller(reason), &mut out)
            }
            Input::Admission { peer, admission } => match self.joins.answered(&peer, admission) {
                Ok(bytes) => out.push(Effect::Send {
                    peer,
                    circle: CONTROL_CIRCLE.to_owned(),
                    kind: JOIN_REPLY,
                    bytes,
                }),
                Err(reason) => self.misbehaved(host, peer, Fault::Join(reason), &mut out),
            },
        }
        out
    }

    /// Feeds the engine one input and turns its effects into ours; true when a peer's
    /// changes reached a circle's core document.
    fn feed_engine<H: Access<P> + Docs>(
        &mut self,
        host: &mut H,
        input: sync::Input<P>,
        out: &mut Vec<Effect<P>>,
    ) -> bool {
        let mut core = false;
        for effect in self.engine.handle(host, input) {
            match effect {
                sync::Effect::Send {
                    peer,
                    circle,
                    bytes,
                } => out.push(Effect::Send {
                    peer,
                    circle,
                    kind: SYNC,
                    bytes,
                }),
                sync::Effect::Persist { addr } => out.push(Effect::Persist { addr }),
                sync::Effect::Changed { addr } => {
                    core |= addr.doc == CORE_DOC;
                    out.push(Effect::Changed { addr });
                }
                sync::Effect::SaveSyncState { peer, addr, bytes } => {
                    out.push(Effect::SaveSyncState { peer, addr, bytes })
                }
                sync::Effect::Misbehaved { peer, reason } => {
                    self.misbehaved(host, peer, Fault::Sync(reason), out)
                }
                sync::Effect::Refused {
                    peer,
                    addr,
                    refused,
                } => self.on_refused(host, peer, addr, refused, out),
            }
        }
        core
    }

    /// Sends `peer` a hello naming the circles it is a member device of, if that set
    /// changed since the last one (and is not empty: an outsider is told nothing).
    fn offer<H: Access<P> + Docs>(&mut self, host: &mut H, peer: P, out: &mut Vec<Effect<P>>) {
        let circles = host.circles_for(&peer);
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        let names: BTreeSet<String> = circles.keys().cloned().collect();
        if names == link.offered {
            return;
        }
        link.offered = names;
        if circles.is_empty() {
            return;
        }
        let fresh = !link.hello_sent;
        link.hello_sent = true;
        self.send_hello(host, peer, &circles, fresh, out);
    }

    /// Greets `peer` again, fresh, because its hello has not come though ours went: ours
    /// may have been lost (a stream cut, a connection dropped under it), and if theirs was
    /// too, each side would wait for the other's forever. The peer answers with its own;
    /// one that had ours already starts its sync with us over, which costs a round trip.
    fn greet_again<H: Access<P>>(&self, host: &mut H, peer: P, out: &mut Vec<Effect<P>>) {
        let circles = host.circles_for(&peer);
        if !circles.is_empty() {
            self.send_hello(host, peer, &circles, true, out);
        }
    }

    fn send_hello<H: Access<P>>(
        &self,
        host: &H,
        peer: P,
        circles: &BTreeMap<String, CircleKey>,
        fresh: bool,
        out: &mut Vec<Effect<P>>,
    ) {
        let (me, them) = (host.peer_bytes(&self.me), host.peer_bytes(&peer));
        let tags: BTreeSet<Tag> = circles
            .iter()
            .map(|(id, key)| circle_tag(key, id, &me, &them))
            .collect();
        out.push(Effect::Note {
            peer: peer.clone(),
            note: Note::Greeting {
                circles: circles.len(),
                fresh,
            },
        });
        out.push(Effect::Send {
            peer,
            circle: CONTROL_CIRCLE.to_owned(),
            kind: HELLO,
            bytes: hello::encode(&tags, fresh),
        });
    }

    fn on_disconnected<H: Access<P> + Docs>(
        &mut self,
        host: &mut H,
        peer: P,
        conn: C,
        out: &mut Vec<Effect<P>>,
    ) {
        self.joins.peer_gone(&peer);
        // Also after a fault, which has already dropped the link.
        if self.links.get(&peer).is_none_or(|l| l.conn != conn) {
            return;
        }
        let Some(link) = self.links.remove(&peer) else {
            return;
        };
        self.engine
            .handle(host, sync::Input::PeerDisconnected { peer: peer.clone() });
        out.push(Effect::Disconnected {
            peer,
            synced: link.synced.into_iter().collect(),
        });
    }

    fn on_frame<H: Access<P> + Docs>(
        &mut self,
        host: &mut H,
        now: Timestamp,
        peer: P,
        conn: C,
        (circle, kind, bytes): (String, String, Vec<u8>),
        out: &mut Vec<Effect<P>>,
    ) {
        let Some(link) = self.links.get_mut(&peer).filter(|l| l.conn == conn) else {
            // Read just before its connection went: it belongs to a sync that is over.
            out.push(Effect::Note {
                peer,
                note: Note::StaleFrame,
            });
            return;
        };
        if circle == CONTROL_CIRCLE {
            if kind == JOIN {
                let device = host.peer_device(&peer);
                match self.joins.request(&peer, &bytes, device.as_deref(), now) {
                    JoinStep::Fault(reason) => {
                        self.misbehaved(host, peer, Fault::Join(reason), out)
                    }
                    JoinStep::Busy(bytes) => {
                        out.push(Effect::Note {
                            peer: peer.clone(),
                            note: Note::JoinBusy,
                        });
                        out.push(Effect::Send {
                            peer,
                            circle: CONTROL_CIRCLE.to_owned(),
                            kind: JOIN_REPLY,
                            bytes,
                        });
                    }
                    JoinStep::Admit(request) => out.push(Effect::Admit { peer, request }),
                }
                return;
            }
            if kind != HELLO {
                if host.takes_control(&kind) {
                    out.push(Effect::Control { peer, kind, bytes });
                } else {
                    self.misbehaved(host, peer, Fault::UnknownControl(kind), out);
                }
                return;
            }
            match hello::decode(&bytes) {
                Ok(theirs) => self.on_hello(host, peer, theirs, out),
                Err(e) => self.misbehaved(host, peer, Fault::Hello(e), out),
            }
            return;
        }
        if link.theirs.is_none() {
            if link.offered.is_empty() {
                return self.misbehaved(host, peer, Fault::SyncBeforeHello, out);
            }
            // A member device carrying on a sync we know nothing of, or whose hello went
            // astray: its frames are meaningless here. Ask it to start over; once, so a
            // peer that keeps sending cannot make us send in return.
            let ask = !std::mem::replace(&mut link.asked, true);
            out.push(Effect::Note {
                peer: peer.clone(),
                note: Note::BeforeHello { asked: ask },
            });
            if ask {
                let circles = host.circles_for(&peer);
                self.send_hello(host, peer, &circles, true, out);
            }
            return;
        }
        if kind != SYNC {
            return self.misbehaved(host, peer, Fault::UnknownKind(kind), out);
        }
        if !link.shared.contains(&circle) {
            if link.offered.is_empty() {
                return self.misbehaved(host, peer, Fault::NotMember, out);
            }
            out.push(Effect::Note {
                peer,
                note: Note::NotShared { circle },
            });
            return;
        }
        let input = sync::Input::Received {
            peer,
            circle: circle.clone(),
            bytes,
        };
        if self.feed_engine(host, input, out) {
            self.refresh_after_access.insert(circle);
        } else {
            self.refresh(host, &circle, out);
        }
    }

    fn on_hello<H: Access<P> + Docs>(
        &mut self,
        host: &mut H,
        peer: P,
        hello: Hello,
        out: &mut Vec<Effect<P>>,
    ) {
        let Some(link) = self.links.get_mut(&peer) else {
            return;
        };
        let restarted = hello.fresh && link.theirs.is_some();
        link.theirs = Some(hello.tags);
        link.asked = false;
        if restarted {
            link.offered.clear();
            link.shared.clear();
            link.synced.clear();
            out.push(Effect::Note {
                peer: peer.clone(),
                note: Note::Restarted,
            });
            self.engine
                .handle(host, sync::Input::PeerDisconnected { peer: peer.clone() });
            self.offer(host, peer.clone(), out);
        }
        self.connect_engine(host, peer, out);
    }

    /// Hands the peer to the engine with the circles both sides hold, or again if that set
    /// changed (a circle was added on either side, or someone was admitted or removed).
    fn connect_engine<H: Access<P> + Docs>(
        &mut self,
        host: &mut H,
        peer: P,
        out: &mut Vec<Effect<P>>,
    ) {
        let ours = host.circles_for(&peer);
        let Some(theirs) = self.links.get(&peer).and_then(|l| l.theirs.as_ref()) else {
            return;
        };
        let (me, them) = (host.peer_bytes(&self.me), host.peer_bytes(&peer));
        // A circle is shared when the peer is a member device of it here and its hello
        // shows it holds the circle and counts us as a member device too.
        let mut shared: BTreeSet<String> = ours
            .iter()
            .filter(|(id, key)| theirs.contains(&circle_tag(key, id, &them, &me)))
            .map(|(id, _)| id.clone())
            .collect();
        let already = self
            .engine
            .peer_circles(&peer)
            .map(|c| c.cloned().collect::<BTreeSet<String>>());
        if already.as_ref() == Some(&shared) {
            return;
        }
        if shared.is_empty() && already.is_some_and(|a| !a.is_empty()) {
            self.drop_link(host, &peer);
            out.push(Effect::Disconnect { peer });
            return;
        }
        shared.retain(|id| host.load_whole(id));
        let mut sync_states = Vec::new();
        for circle in &shared {
            sync_states.extend(host.saved_sync_states(&peer, circle));
        }
        if let Some(link) = self.links.get_mut(&peer) {
            link.shared = shared.clone();
            link.synced.clear();
        }
        let circles: Vec<String> = shared.iter().cloned().collect();
        let input = sync::Input::PeerConnected {
            peer: peer.clone(),
            circles: circles.clone(),
            sync_states,
        };
        self.feed_engine(host, input, out);
        out.push(Effect::Syncing { peer, circles });
        for circle in &shared {
            self.refresh(host, circle, out);
        }
    }

    /// Greets peers newly admitted, syncs newly shared circles, and stops syncing with a
    /// peer removed from every circle we shared.
    fn circles_changed<H: Access<P> + Docs>(&mut self, host: &mut H, out: &mut Vec<Effect<P>>) {
        let peers: Vec<P> = self.links.keys().cloned().collect();
        for peer in &peers {
            self.offer(host, peer.clone(), out);
        }
        for peer in peers {
            self.connect_engine(host, peer, out);
        }
    }

    /// Re-checks which peers `circle` is in sync with, announcing each that just got there.
    fn refresh<H: Docs>(&mut self, host: &H, circle: &str, out: &mut Vec<Effect<P>>) {
        for (peer, link) in self.links.iter_mut() {
            if !link.shared.contains(circle) {
                continue;
            }
            if self.engine.in_sync(host, peer, circle) {
                if link.synced.insert(circle.to_owned()) {
                    out.push(Effect::Synced {
                        peer: peer.clone(),
                        circle: circle.to_owned(),
                    });
                }
            } else {
                link.synced.remove(circle);
            }
        }
    }

    /// Some of `peer`'s changes for `addr` were refused and the rest applied. If a refused
    /// change is the peer's own, it broke the circle's rules itself and is dropped; if it
    /// only relayed another device's, it may not have heard of the rule yet (a removal on
    /// its way to it) and keeps its link.
    fn on_refused<H: Access<P> + Docs>(
        &mut self,
        host: &mut H,
        peer: P,
        addr: DocAddr,
        refused: Vec<RefusedChange>,
        out: &mut Vec<Effect<P>>,
    ) {
        let Some(first) = refused.first() else { return };
        let own = host.peer_device(&peer).is_some_and(|device| {
            refused
                .iter()
                .any(|r| r.reason.device() == Some(device.as_str()))
        });
        if own {
            let reason = first.reason.clone();
            self.misbehaved(host, peer, Fault::OwnChangesRefused { addr, reason }, out);
        } else {
            out.push(Effect::RefusedRelayed {
                peer,
                addr,
                refused,
            });
        }
    }

    fn misbehaved<H: Docs>(
        &mut self,
        host: &mut H,
        peer: P,
        fault: Fault,
        out: &mut Vec<Effect<P>>,
    ) {
        self.drop_link(host, &peer);
        out.push(Effect::Misbehaved { peer, fault });
    }

    /// Forgets `peer`'s link and sync sessions.
    fn drop_link<H: Docs>(&mut self, host: &mut H, peer: &P) {
        self.links.remove(peer);
        self.engine
            .handle(host, sync::Input::PeerDisconnected { peer: peer.clone() });
    }
}
