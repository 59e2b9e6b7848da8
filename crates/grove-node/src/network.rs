//! Peer-to-peer sync inside the node's event loop: grove-net's events become sync-engine
//! inputs, and the engine's effects become frames, saves and [`NodeEvent`]s.
//!
//! A connection goes through two steps. When the transport reports it, each side sends a
//! hello (see [`crate::hello`]) naming, by keyed tags, the circles it holds of which the
//! peer is a current member device, as the first frame on the connection; a peer that is a
//! member of none gets no hello at all (see [`crate::access`]). When the peer's hello
//! arrives, the circles both hold and both admit the other to are loaded whole and handed
//! to the engine as `PeerConnected`; frames of the connection arrive in order, so the
//! peer's engine frames always follow its hello. Sync frames from a peer that is a member
//! of none of our circles are a fault. A member device's sync frames before its hello are not:
//! it may be carrying on a sync we know nothing of (we restarted and it has not noticed), so
//! they are dropped and it is asked, once, with a fresh hello to start over (see
//! [`crate::hello`]). Access is evaluated again whenever a circle's core
//! document changes: a newly admitted device connected now is greeted and synced, a
//! removed one is disconnected.
//!
//! Frames to a peer go through one writer task per peer, so a slow peer never holds up the
//! event loop, and frames to one peer keep their order. A link belongs to one grove-net
//! [`Session`]: frames queued for a session that has ended are not sent on the next one, and
//! frames read on an ended session are dropped, since the peer may have restarted between
//! the two and would take them for frames of the new one (sync frames before any hello).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use grove_core::automerge::{self, ChangeHash};
use grove_core::sync::{DocAddr, Effect, Engine, Input};
use grove_core::{Timestamp, CIRCLE_KEY_LEN};
use grove_net::{Client, Event, Frame, Multiaddr, PeerId, Protocol, Session};
use grove_store::circle_meta_prefix;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::access::{circle_tag, peer_device, Tag};
use crate::docs::CircleDocs;
use crate::dto::{PeerCircle, PeerStatus};
use crate::error::Result;
use crate::hello::{self, CONTROL_CIRCLE, HELLO_DOC, SYNC_DOC};
use crate::join::{JOIN_DOC, JOIN_REPLY_DOC};
use crate::state::NodeState;
use crate::NodeEvent;

/// Frames that may wait for one peer's writer. Far above what the engine produces in one
/// exchange (it holds back unprompted messages until the peer answers); if a peer stops
/// reading altogether, frames beyond this are dropped and the periodic resync resends them.
const PEER_QUEUE: usize = 1024;
/// Failed-send reports waiting for the event loop; more are redundant (one resync covers them).
pub(crate) const FAILURE_QUEUE: usize = 64;
/// Meta key prefix of peer addresses remembered with `grove peer add`.
const PEERS_PREFIX: &str = "peers/";

/// What the event loop knows of one connected peer.
struct Link {
    session: Session,
    addr: Multiaddr,
    queue: mpsc::Sender<Frame>,
    writer: JoinHandle<()>,
    /// The circle tags of the peer's hello, once it arrived.
    theirs: Option<BTreeSet<Tag>>,
    /// Circles our last hello to the peer named (those it is a member device of).
    offered: BTreeSet<String>,
    /// Whether we sent the peer a hello on this link yet (the first one is fresh).
    hello_sent: bool,
    /// Whether we asked the peer to start over since its last hello (see [`NodeState::on_frame`]).
    asked: bool,
    /// Circles synced with the peer (held by both), as handed to the engine.
    shared: BTreeSet<String>,
    /// Shared circles known to be in sync right now.
    synced: BTreeSet<String>,
    /// Payload bytes of the frames exchanged on this connection.
    sent: u64,
    received: u64,
}

/// The networking half of the node's state.
pub(crate) struct Network {
    pub(crate) client: Client,
    engine: Engine<PeerId>,
    links: HashMap<PeerId, Link>,
    pub(crate) listen: Vec<Multiaddr>,
    failures: mpsc::Sender<PeerId>,
    /// Peers being dialled because discovery found them, so each is dialled once.
    dialing: HashSet<PeerId>,
}

impl Network {
    pub(crate) fn new(
        client: Client,
        listen: Vec<Multiaddr>,
        failures: mpsc::Sender<PeerId>,
    ) -> Self {
        Network {
            client,
            engine: Engine::new(),
            links: HashMap::new(),
            listen,
            failures,
            dialing: HashSet::new(),
        }
    }

    /// Stops every writer, handing back their tasks so a shutdown can wait for queued
    /// frames to be written.
    pub(crate) fn close_writers(&mut self) -> Vec<JoinHandle<()>> {
        self.links.drain().map(|(_, link)| link.writer).collect()
    }
}

fn sync_prefix(circle: &str, peer: &PeerId) -> String {
    format!("{}sync/{peer}/", circle_meta_prefix(circle))
}

/// For each document of `circle`, the heads each peer that ever synced it is known to share
/// with us (from the saved sync states). A state that does not decode counts as nothing
/// shared: it only makes the pending figure err on the side of "not sent".
pub(crate) fn shared_heads(
    store: &dyn grove_store::Store,
    circle: &str,
) -> Result<HashMap<String, Vec<Vec<ChangeHash>>>> {
    let prefix = format!("{}sync/", circle_meta_prefix(circle));
    let mut out: HashMap<String, Vec<Vec<ChangeHash>>> = HashMap::new();
    for (key, bytes) in store.meta_with_prefix(&prefix)? {
        let Some((_peer, doc)) = key[prefix.len()..].split_once('/') else {
            continue;
        };
        let heads = automerge::sync::State::decode(&bytes)
            .map(|s| s.shared_heads)
            .unwrap_or_default();
        out.entry(doc.to_string()).or_default().push(heads);
    }
    Ok(out)
}

fn last_sync_prefix(circle: &str) -> String {
    format!("{}last-sync/", circle_meta_prefix(circle))
}

/// Addresses (ending in `/p2p/<peer>`) of the always-on nodes recorded in the circles held
/// in `store`, except `me`; one per node, so each is used once as relay.
pub(crate) fn always_on_nodes(
    store: &dyn grove_store::Store,
    identity: &crate::identity::Identity,
    me: PeerId,
) -> Vec<Multiaddr> {
    let mut list: Vec<Multiaddr> = always_on_addrs(store, identity, me)
        .into_values()
        .filter_map(|addrs| addrs.into_iter().next())
        .collect();
    list.sort();
    list
}

/// Every recorded address of each always-on node (typically one per transport), for
/// rendezvous: grove-net connects to the node over each transport it listens on, which
/// hole punching over that transport needs.
pub(crate) fn always_on_rendezvous(
    store: &dyn grove_store::Store,
    identity: &crate::identity::Identity,
    me: PeerId,
) -> Vec<Multiaddr> {
    let mut list: Vec<Multiaddr> = always_on_addrs(store, identity, me)
        .into_values()
        .flatten()
        .collect();
    list.sort();
    list
}

fn always_on_addrs(
    store: &dyn grove_store::Store,
    identity: &crate::identity::Identity,
    me: PeerId,
) -> HashMap<PeerId, Vec<Multiaddr>> {
    let mut out: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
    for id in store.circles().unwrap_or_default() {
        let Ok(Some(bytes)) = store.load(&id, grove_core::CORE_DOC) else {
            continue;
        };
        let Ok(circle) = grove_core::Circle::open(&id, &bytes, identity.actor()) else {
            continue;
        };
        for node in circle.known_nodes().unwrap_or_default() {
            let Ok(peer) = node.peer.parse::<PeerId>() else {
                continue;
            };
            if peer == me {
                continue;
            }
            let addrs: Vec<Multiaddr> = node
                .addrs
                .iter()
                .filter_map(|a| a.parse::<Multiaddr>().ok())
                .map(|a| with_peer(a, peer))
                .collect();
            if !addrs.is_empty() {
                // The same node recorded in several circles: one circle's record is enough.
                out.insert(peer, addrs);
            }
        }
    }
    out
}

/// Writes frames to one peer in order, reporting failures so the loop can resync.
fn spawn_writer(
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
fn spawn_dial(client: Client, addr: Multiaddr) {
    tokio::spawn(async move {
        match client.dial(addr.clone()).await {
            Ok(peer) => debug!(%addr, %peer, "dialled"),
            Err(e) => info!(%addr, error = %e, "could not reach a known address"),
        }
    });
}

impl NodeState {
    fn emit(&self, event: NodeEvent) {
        // Nobody listening is fine: one-shot commands have no subscribers.
        let _ = self.events.send(event);
    }

    /// The circles this home holds.
    fn held_circles(&self) -> BTreeSet<String> {
        match self.store.circles() {
            Ok(ids) => ids.into_iter().collect(),
            Err(e) => {
                warn!(error = %e, "cannot list circles; announcing none");
                BTreeSet::new()
            }
        }
    }

    /// Addresses worth dialling when the node starts: remembered peers and every known
    /// always-on node of the circles held here (except ourselves).
    pub(crate) fn known_addresses(&mut self) -> Vec<Multiaddr> {
        let mut out = Vec::new();
        match self.store.meta_with_prefix(PEERS_PREFIX) {
            Ok(entries) => out.extend(
                entries
                    .into_iter()
                    .filter_map(|(k, _)| k[PEERS_PREFIX.len()..].parse().ok()),
            ),
            Err(e) => warn!(error = %e, "cannot read remembered peers"),
        }
        let me = self
            .net
            .as_ref()
            .map(|n| n.client.local_peer_id().to_string());
        for id in self.held_circles() {
            if let Err(e) = self.open(&id) {
                warn!(circle = %id, error = %e, "cannot open circle to read its known nodes");
                continue;
            }
            let Ok(nodes) = self.loaded(&id).and_then(|c| Ok(c.known_nodes()?)) else {
                continue;
            };
            for node in nodes.into_iter().filter(|n| Some(&n.peer) != me.as_ref()) {
                let Ok(peer) = node.peer.parse::<PeerId>() else {
                    continue;
                };
                out.extend(
                    node.addrs
                        .iter()
                        .filter_map(|a| a.parse::<Multiaddr>().ok())
                        .map(|a| with_peer(a, peer)),
                );
            }
        }
        out.sort();
        out.dedup();
        out
    }

    pub(crate) fn dial_in_background(&self, addrs: Vec<Multiaddr>) {
        if let Some(net) = &self.net {
            for addr in addrs {
                spawn_dial(net.client.clone(), addr);
            }
        }
    }

    pub(crate) fn remember_peer(&self, addr: &Multiaddr) -> Result<()> {
        self.store
            .put_meta(&format!("{PEERS_PREFIX}{addr}"), &[])
            .map_err(Into::into)
    }

    pub(crate) fn on_net_event(&mut self, event: Event) {
        match event {
            Event::ListenAddr { addr } => {
                if let Some(net) = self.net.as_mut() {
                    if !net.listen.contains(&addr) {
                        net.listen.push(addr.clone());
                    }
                }
                self.emit(NodeEvent::Listening {
                    addr: addr.to_string(),
                });
            }
            Event::PeerConnected {
                peer,
                addr,
                session,
            } => self.on_connected(peer, addr, session),
            Event::PeerDisconnected { peer, session } => self.on_disconnected(peer, session),
            Event::PathChanged { peer, session } => {
                // The peer's frames now take a new connection; those in flight on the old
                // one may be lost (and after a network change, the old one may be dead).
                debug!(%peer, %session, "a new path to a peer; resyncing");
                let unanswered = self
                    .net
                    .as_ref()
                    .and_then(|n| n.links.get(&peer))
                    .is_some_and(|l| l.session == session && l.hello_sent && l.theirs.is_none());
                if unanswered {
                    // Our hello and the peer's may both have been cut on the old path, and
                    // then neither side's sync would ever start (each waits for the other's
                    // hello). A fresh hello asks the peer to greet us again.
                    let circles = self.circles_for(&peer);
                    if !circles.is_empty() {
                        self.send_hello(peer, &circles, true);
                    }
                }
                self.on_resync();
            }
            Event::ConnectionLost { peer, session } => {
                // Frames may have been lost with it; a resync makes them good, and if the
                // peer restarted behind it, reaches the new one, which then asks us to start
                // over (see `on_frame`).
                debug!(%peer, %session, "lost one of the connections to a peer; resyncing");
                self.on_resync();
            }
            Event::PeerDiscovered { peer, addr } => {
                let Some(net) = self.net.as_mut() else { return };
                if !net.links.contains_key(&peer) && net.dialing.insert(peer) {
                    debug!(%peer, %addr, "dialling a discovered peer");
                    spawn_dial(net.client.clone(), with_peer(addr, peer));
                }
            }
            Event::Received {
                peer,
                session,
                frame,
            } => self.on_frame(peer, session, frame),
            Event::Misbehaved { peer, reason } => {
                warn!(%peer, %reason, "peer broke the wire protocol and was disconnected");
                self.emit(NodeEvent::PeerMisbehaved {
                    peer: peer.to_string(),
                    reason: reason.to_string(),
                });
            }
            Event::Refused { peer } => debug!(%peer, "refused a peer that is not allowed"),
            other => debug!(event = ?other, "network event"),
        }
    }

    fn on_connected(&mut self, peer: PeerId, addr: Multiaddr, session: Session) {
        let Some(net) = self.net.as_mut() else { return };
        net.dialing.remove(&peer);
        let (queue, writer) = spawn_writer(net.client.clone(), peer, session, net.failures.clone());
        debug!(%peer, %addr, %session, "connected");
        if let Some(old) = net.links.insert(
            peer,
            Link {
                session,
                addr,
                queue,
                writer,
                theirs: None,
                offered: BTreeSet::new(),
                hello_sent: false,
                asked: false,
                shared: BTreeSet::new(),
                synced: BTreeSet::new(),
                sent: 0,
                received: 0,
            },
        ) {
            old.writer.abort();
        }
        self.offer(peer);
    }

    /// Sends `peer` a hello naming the circles it is a member device of, if that set
    /// changed since the last one (and is not empty: an outsider is told nothing).
    fn offer(&mut self, peer: PeerId) {
        let circles = self.circles_for(&peer);
        let Some(link) = self.net.as_mut().and_then(|n| n.links.get_mut(&peer)) else {
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
        self.send_hello(peer, &circles, fresh);
    }

    fn send_hello(
        &mut self,
        peer: PeerId,
        circles: &BTreeMap<String, [u8; CIRCLE_KEY_LEN]>,
        fresh: bool,
    ) {
        let Some(net) = self.net.as_ref() else { return };
        let me = net.client.local_peer_id();
        let tags: BTreeSet<Tag> = circles
            .iter()
            .map(|(id, key)| circle_tag(key, id, &me, &peer))
            .collect();
        debug!(%peer, circles = circles.len(), fresh, "sending hello");
        self.send_frame(
            peer,
            Frame::new(CONTROL_CIRCLE, HELLO_DOC, hello::encode(&tags, fresh)),
        );
    }

    fn on_disconnected(&mut self, peer: PeerId, session: Session) {
        // Also after `misbehaved`, which has already dropped the link.
        self.join_peer_gone(&peer);
        let now = self.now();
        let Some(net) = self.net.as_mut() else { return };
        net.dialing.remove(&peer);
        if net.links.get(&peer).is_none_or(|l| l.session != session) {
            return;
        }
        let Some(link) = net.links.remove(&peer) else {
            return;
        };
        net.engine.handle(
            &mut CircleDocs(&mut self.circles),
            Input::PeerDisconnected { peer },
        );
        for circle in &link.synced {
            self.save_last_sync(circle, &peer, now);
        }
        debug!(%peer, "disconnected");
        self.emit(NodeEvent::PeerDisconnected {
            peer: peer.to_string(),
        });
    }

    fn on_frame(&mut self, peer: PeerId, session: Session, frame: Frame) {
        let Some(link) = self
            .net
            .as_mut()
            .and_then(|n| n.links.get_mut(&peer))
            .filter(|l| l.session == session)
        else {
            // Read just before its connection went: it belongs to a sync that is over.
            debug!(%peer, %session, "dropping a frame from a session that has ended");
            return;
        };
        link.received += frame.payload.len() as u64;
        if frame.circle == CONTROL_CIRCLE {
            match frame.doc.as_str() {
                HELLO_DOC => {}
                JOIN_DOC => return self.on_join(peer, &frame.payload),
                JOIN_REPLY_DOC => return self.on_join_reply(peer, &frame.payload),
                other => return self.misbehaved(peer, format!("unknown control frame {other:?}")),
            }
            match hello::decode(&frame.payload) {
                Ok(theirs) => self.on_hello(peer, theirs),
                Err(e) => self.misbehaved(peer, format!("sent an invalid hello: {e}")),
            }
            return;
        }
        if link.theirs.is_none() {
            if link.offered.is_empty() {
                return self.misbehaved(peer, "sent sync frames before its hello".into());
            }
            // A member device carrying on a sync we know nothing of, or whose hello went
            // astray: its frames are meaningless here. Ask it to start over; once, so a
            // peer that keeps sending cannot make us send in return.
            let ask = !std::mem::replace(&mut link.asked, true);
            debug!(%peer, ask, "dropping sync frames that came before the peer's hello");
            if ask {
                let circles = self.circles_for(&peer);
                self.send_hello(peer, &circles, true);
            }
            return;
        }
        if frame.doc != SYNC_DOC {
            return self.misbehaved(
                peer,
                format!("sent a frame for unknown doc {:?}", frame.doc),
            );
        }
        if !link.shared.contains(&frame.circle) && link.offered.is_empty() {
            return self.misbehaved(
                peer,
                "sent sync frames but is a member device of none of our circles".into(),
            );
        }
        if !link.shared.contains(&frame.circle) {
            // Sent before our updated hello reached it; the next session covers it.
            debug!(%peer, circle = %frame.circle, "dropping a frame for a circle not shared");
            return;
        }
        let circle = frame.circle.clone();
        self.engine_input(Input::Received {
            peer,
            circle: frame.circle,
            bytes: frame.payload,
        });
        self.refresh_sync_status(&circle);
    }

    /// A fresh hello from a peer whose hello we already had means it started over (it
    /// restarted, or it asks because our hello did not reach it): our sync with it is void,
    /// so greet it again and sync from the saved states.
    fn on_hello(&mut self, peer: PeerId, hello: hello::Hello) {
        let Some(net) = self.net.as_mut() else { return };
        let Some(link) = net.links.get_mut(&peer) else {
            return;
        };
        let restarted = hello.fresh && link.theirs.is_some();
        link.theirs = Some(hello.tags);
        link.asked = false;
        if restarted {
            info!(%peer, "peer started its sync with us over; greeting it again");
            link.offered.clear();
            link.shared.clear();
            link.synced.clear();
            net.engine.handle(
                &mut CircleDocs(&mut self.circles),
                Input::PeerDisconnected { peer },
            );
            self.offer(peer);
        }
        self.connect_engine(peer);
    }

    /// Hands the peer to the engine with the circles both sides hold, or again if that set
    /// changed (a circle was added on either side).
    fn connect_engine(&mut self, peer: PeerId) {
        let ours = self.circles_for(&peer);
        let Some((theirs, me)) = self.net.as_ref().and_then(|n| {
            let theirs = n.links.get(&peer)?.theirs.clone()?;
            Some((theirs, n.client.local_peer_id()))
        }) else {
            return;
        };
        // A circle is shared when the peer is a member device of it here and its hello
        // shows it holds the circle and counts us as a member device too.
        let mut shared: BTreeSet<String> = ours
            .iter()
            .filter(|(id, key)| theirs.contains(&circle_tag(key, id, &peer, &me)))
            .map(|(id, _)| id.clone())
            .collect();
        let already = self
            .net
            .as_ref()
            .and_then(|n| n.engine.peer_circles(&peer))
            .map(|c| c.cloned().collect::<BTreeSet<String>>());
        if already.as_ref() == Some(&shared) {
            return;
        }
        if shared.is_empty() && already.is_some_and(|a| !a.is_empty()) {
            info!(%peer, "peer is no longer a member device of any circle we share; disconnecting");
            return self.disconnect(peer);
        }
        // The engine syncs what is in memory: load every shard of a shared circle first.
        shared.retain(|id| match self.load_whole(id) {
            Ok(()) => true,
            Err(e) => {
                warn!(circle = %id, error = %e, "cannot load circle; not syncing it");
                false
            }
        });
        let mut sync_states = Vec::new();
        for circle in &shared {
            let prefix = sync_prefix(circle, &peer);
            match self.store.meta_with_prefix(&prefix) {
                Ok(entries) => sync_states.extend(
                    entries
                        .into_iter()
                        .map(|(k, v)| (DocAddr::new(circle.as_str(), &k[prefix.len()..]), v)),
                ),
                Err(e) => warn!(circle = %circle, error = %e, "cannot read saved sync states"),
            }
        }
        if let Some(link) = self.net.as_mut().and_then(|n| n.links.get_mut(&peer)) {
            link.shared = shared.clone();
            link.synced.clear();
        }
        info!(%peer, circles = ?shared, "syncing with peer");
        self.engine_input(Input::PeerConnected {
            peer,
            circles: shared.iter().cloned().collect(),
            sync_states,
        });
        self.emit(NodeEvent::PeerConnected {
            peer: peer.to_string(),
            circles: shared.iter().cloned().collect(),
        });
        for circle in &shared {
            self.refresh_sync_status(circle);
        }
    }

    /// Opens the circle with every shard in memory.
    fn load_whole(&mut self, id: &str) -> Result<()> {
        self.open(id)?;
        let docs = self.store.docs(id)?;
        self.ensure_docs(id, docs)
    }

    /// Our circles or who belongs to them changed: greet peers newly admitted, sync newly
    /// shared circles, stop syncing circles a peer was removed from.
    pub(crate) fn circles_changed(&mut self) {
        let Some(net) = self.net.as_ref() else { return };
        let peers: Vec<PeerId> = net.links.keys().copied().collect();
        for peer in &peers {
            self.offer(*peer);
        }
        for peer in peers {
            self.connect_engine(peer);
        }
    }

    /// Documents of `circle` changed locally and were saved.
    pub(crate) fn local_change(&mut self, circle: &str, docs: &[String]) {
        if self.net.is_none() {
            return;
        }
        for doc in docs {
            self.engine_input(Input::LocalChange {
                addr: DocAddr::new(circle, doc.as_str()),
            });
        }
        self.refresh_sync_status(circle);
        if docs.iter().any(|d| d == grove_core::CORE_DOC) {
            self.circles_changed();
        }
    }

    /// Forgets `peer`'s link and sync sessions and closes the connection; false when the
    /// node runs without networking.
    fn drop_link(&mut self, peer: PeerId) -> bool {
        let Some(net) = self.net.as_mut() else {
            return false;
        };
        if let Some(link) = net.links.remove(&peer) {
            link.writer.abort();
        }
        net.engine.handle(
            &mut CircleDocs(&mut self.circles),
            Input::PeerDisconnected { peer },
        );
        let client = net.client.clone();
        tokio::spawn(async move {
            let _ = client.disconnect(peer).await;
        });
        true
    }

    /// Ends the connection with `peer` without blaming it (it was removed from a circle).
    fn disconnect(&mut self, peer: PeerId) {
        if !self.drop_link(peer) {
            return;
        }
        self.emit(NodeEvent::PeerDisconnected {
            peer: peer.to_string(),
        });
    }

    pub(crate) fn on_resync(&mut self) {
        if self.net.is_some() {
            debug!("resync");
            self.engine_input(Input::Resync);
        }
    }

    /// Sends to these peers failed; if any is still connected, a frame may be lost.
    pub(crate) fn on_send_failed(&mut self, peers: HashSet<PeerId>) {
        let connected = self
            .net
            .as_ref()
            .is_some_and(|n| peers.iter().any(|p| n.links.contains_key(p)));
        if connected {
            self.on_resync();
        }
    }

    pub(crate) fn engine_input(&mut self, input: Input<PeerId>) {
        let Some(net) = self.net.as_mut() else { return };
        let effects = net.engine.handle(&mut CircleDocs(&mut self.circles), input);
        self.apply(effects);
    }

    fn apply(&mut self, effects: Vec<Effect<PeerId>>) {
        let mut core_changed = BTreeSet::new();
        for effect in effects {
            match effect {
                Effect::Send {
                    peer,
                    circle,
                    bytes,
                } => self.send_frame(peer, Frame::new(circle, SYNC_DOC, bytes)),
                Effect::Persist { addr } => {
                    if let Err(e) = self.persist_received(&addr.circle) {
                        warn!(%addr, error = %e, "cannot save a peer's changes; they stay in memory and are saved with the next change");
                    }
                }
                Effect::Changed { addr } => {
                    if addr.doc == grove_core::CORE_DOC {
                        core_changed.insert(addr.circle.clone());
                    }
                    self.emit(NodeEvent::CircleChanged {
                        circle: addr.circle,
                        docs: vec![addr.doc],
                    })
                }
                Effect::SaveSyncState { peer, addr, bytes } => {
                    let key = format!("{}{}", sync_prefix(&addr.circle, &peer), addr.doc);
                    if let Err(e) = self.store.put_meta_lazily(&key, &bytes) {
                        // Only costs a fuller exchange on the next connection.
                        warn!(%addr, error = %e, "cannot save sync state");
                    }
                }
                Effect::Misbehaved { peer, reason } => self.misbehaved(peer, reason.to_string()),
                Effect::Refused {
                    peer,
                    addr,
                    refused,
                } => self.on_refused(peer, &addr, &refused),
            }
        }
        if !core_changed.is_empty() {
            // Someone may have been admitted or removed.
            for circle in &core_changed {
                self.purge_after_removal(circle);
                self.write_receipts(circle);
            }
            self.circles_changed();
        }
    }

    pub(crate) fn send_frame(&mut self, peer: PeerId, frame: Frame) {
        let Some(link) = self.net.as_mut().and_then(|n| n.links.get_mut(&peer)) else {
            debug!(%peer, "not sending to a peer that is gone");
            return;
        };
        link.sent += frame.payload.len() as u64;
        if let Err(e) = link.queue.try_send(frame) {
            warn!(%peer, error = %e, "the peer does not keep up; dropping a frame until the next resync");
        }
    }

    /// Some of `peer`'s changes for `addr` were refused and the rest applied. If a refused
    /// change is the peer's own, it broke the circle's rules itself and is dropped; if it
    /// only relayed another device's, it may not have heard of the rule yet (a removal on
    /// its way to it) and keeps its link.
    fn on_refused(&mut self, peer: PeerId, addr: &DocAddr, refused: &[grove_core::RefusedChange]) {
        let Some(first) = refused.first() else { return };
        let own = peer_device(&peer).is_some_and(|device| {
            refused
                .iter()
                .any(|r| r.reason.device() == Some(device.as_str()))
        });
        if own {
            self.misbehaved(
                peer,
                format!(
                    "sent its own changes for {addr} that are not authorised: {}",
                    first.reason
                ),
            );
        } else {
            warn!(%peer, %addr, refused = refused.len(), first = %first.reason, "refused changes a peer relayed; keeping the link and its other changes");
        }
    }

    pub(crate) fn misbehaved(&mut self, peer: PeerId, reason: String) {
        warn!(%peer, %reason, "peer broke the sync protocol; disconnecting it");
        if !self.drop_link(peer) {
            return;
        }
        self.emit(NodeEvent::PeerMisbehaved {
            peer: peer.to_string(),
            reason,
        });
    }

    /// Re-checks which peers `circle` is in sync with, announcing each that just got there.
    fn refresh_sync_status(&mut self, circle: &str) {
        let now = self.now();
        let Some(net) = self.net.as_mut() else { return };
        let docs = CircleDocs(&mut self.circles);
        let mut reached = Vec::new();
        for (peer, link) in net.links.iter_mut() {
            if !link.shared.contains(circle) {
                continue;
            }
            if net.engine.in_sync(&docs, peer, circle) {
                if link.synced.insert(circle.to_owned()) {
                    reached.push(*peer);
                }
            } else {
                link.synced.remove(circle);
            }
        }
        for peer in reached {
            self.save_last_sync(circle, &peer, now);
            self.emit(NodeEvent::PeerSynced {
                peer: peer.to_string(),
                circle: circle.to_owned(),
            });
        }
    }

    fn save_last_sync(&self, circle: &str, peer: &PeerId, at: Timestamp) {
        let key = format!("{}{peer}", last_sync_prefix(circle));
        if let Err(e) = self.store.put_meta_lazily(&key, &at.0.to_be_bytes()) {
            warn!(circle, error = %e, "cannot save the time of the last sync");
        }
    }

    /// Connected peers and peers synced with before, with their circles.
    pub(crate) fn peer_statuses(&mut self) -> Result<Vec<PeerStatus>> {
        let mut out: HashMap<String, PeerStatus> = HashMap::new();
        for circle in self.held_circles() {
            let prefix = last_sync_prefix(&circle);
            for (key, value) in self.store.meta_with_prefix(&prefix)? {
                let peer = key[prefix.len()..].to_string();
                let at = <[u8; 8]>::try_from(value.as_slice())
                    .ok()
                    .map(|b| Timestamp(i64::from_be_bytes(b)));
                let status = out.entry(peer.clone()).or_insert_with(|| PeerStatus {
                    peer,
                    member: None,
                    connected: false,
                    addr: None,
                    bytes_sent: 0,
                    bytes_received: 0,
                    circles: Vec::new(),
                });
                status.circles.push(PeerCircle {
                    circle: circle.clone(),
                    in_sync: false,
                    last_sync: at,
                });
            }
        }
        if let Some(net) = &self.net {
            let now = self.now();
            for (peer, link) in &net.links {
                let status = out.entry(peer.to_string()).or_insert_with(|| PeerStatus {
                    peer: peer.to_string(),
                    member: None,
                    connected: true,
                    addr: None,
                    bytes_sent: 0,
                    bytes_received: 0,
                    circles: Vec::new(),
                });
                status.connected = true;
                status.addr = Some(link.addr.to_string());
                status.bytes_sent = link.sent;
                status.bytes_received = link.received;
                for circle in &link.shared {
                    let in_sync = link.synced.contains(circle);
                    match status.circles.iter_mut().find(|c| &c.circle == circle) {
                        Some(c) => {
                            c.in_sync = in_sync;
                            if in_sync {
                                c.last_sync = Some(now);
                            }
                        }
                        None => status.circles.push(PeerCircle {
                            circle: circle.clone(),
                            in_sync,
                            last_sync: in_sync.then_some(now),
                        }),
                    }
                }
            }
        }
        let mut list: Vec<PeerStatus> = out.into_values().collect();
        for status in &mut list {
            status.circles.sort_by(|a, b| a.circle.cmp(&b.circle));
            status.member = self.peer_member_name(&status.peer, &status.circles);
        }
        list.sort_by(|a, b| b.connected.cmp(&a.connected).then(a.peer.cmp(&b.peer)));
        Ok(list)
    }

    /// Whose device `peer` is, by name, from the first shared circle that lists it.
    fn peer_member_name(&mut self, peer: &str, circles: &[PeerCircle]) -> Option<String> {
        let device = peer_device(&peer.parse::<PeerId>().ok()?)?;
        circles.iter().find_map(|c| {
            self.open(&c.circle).ok()?;
            let circle = self.loaded(&c.circle).ok()?;
            let member = circle.membership().device_member(&device)?;
            Some(circle.member_name(&member))
        })
    }

    /// Where a sync with `peer` stands: `None` while we have no link with it.
    pub(crate) fn sync_progress(&self, peer: &PeerId) -> Option<SyncProgress> {
        let link = self.net.as_ref()?.links.get(peer)?;
        Some(SyncProgress {
            hello: link.theirs.is_some(),
            shared: link.shared.iter().cloned().collect(),
            synced: link.synced.iter().cloned().collect(),
        })
    }

    /// The addresses this node is reachable at through a relay (`…/p2p-circuit/p2p/<us>`).
    pub(crate) fn relayed_addresses(&self) -> Vec<String> {
        let Some(net) = &self.net else {
            return Vec::new();
        };
        let mut out: Vec<String> = net
            .listen
            .iter()
            .filter(|a| a.iter().any(|p| matches!(p, Protocol::P2pCircuit)))
            .map(ToString::to_string)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The addresses this node listens on, for recording in its circles: specific
    /// interfaces only, and loopback only when there is nothing else.
    pub(crate) fn addresses_to_announce(&self) -> Vec<String> {
        let Some(net) = &self.net else {
            return Vec::new();
        };
        let usable: Vec<&Multiaddr> = net
            .listen
            .iter()
            .filter(|a| !a.iter().any(|p| matches!(p, Protocol::P2pCircuit)))
            .filter(|a| !is_unspecified(a))
            .collect();
        let public: Vec<&Multiaddr> = usable.iter().copied().filter(|a| !is_loopback(a)).collect();
        let chosen = if public.is_empty() { usable } else { public };
        let mut out: Vec<String> = chosen.into_iter().map(ToString::to_string).collect();
        out.sort();
        out.dedup();
        out.truncate(grove_core::MAX_NODE_ADDRS);
        out
    }
}

/// How far a sync with one peer has come.
pub(crate) struct SyncProgress {
    pub(crate) hello: bool,
    pub(crate) shared: Vec<String>,
    pub(crate) synced: Vec<String>,
}

fn is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_loopback(),
        Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

fn is_unspecified(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| match p {
        Protocol::Ip4(ip) => ip.is_unspecified(),
        Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}

/// `addr` ending in `/p2p/<peer>`, so the dial checks it reaches that peer.
pub(crate) fn with_peer(addr: Multiaddr, peer: PeerId) -> Multiaddr {
    match addr.iter().last() {
        Some(Protocol::P2p(_)) => addr,
        _ => addr.with(Protocol::P2p(peer)),
    }
}
