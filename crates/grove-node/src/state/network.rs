//! Peer-to-peer sync inside the node's event loop: glue between grove-net and the session
//! machine (`crates/grove-core/src/session/mod.rs`, which holds the protocol: hellos, who
//! is synced which circle, restarts, faults, and the sync engine). grove-net's events
//! become session inputs, and the machine's effects become frames, saves, disconnections
//! and [`NodeEvent`]s. The node answers the machine's access questions from its loaded
//! circles (see `access.rs`) and lends it its documents (see `docs.rs`); the networking
//! half of its state and the writer tasks are in `crate::wires`.
//!
//! Frames to a peer go through one writer task per peer, so a slow peer never holds up the
//! event loop, and frames to one peer keep their order. A writer belongs to one grove-net
//! [`Session`]: frames queued for a session that has ended are not sent on the next one
//! (the machine drops frames read on an ended session, for the same reason: the peer may
//! have restarted between the two).

use std::collections::{BTreeSet, HashMap, HashSet};

use grove_core::session::{Effect, Input, Note, JOIN_REPLY};
use grove_core::Timestamp;
use grove_net::{Event, Frame, Multiaddr, PeerId, Protocol, Session};
use tracing::{debug, info, warn};

use super::NodeState;
use crate::addr::{peer_device, with_peer};
use crate::dto::{NodeEvent, PeerCircle, PeerStatus};
use crate::error::Result;
use crate::peer_records::{last_sync_prefix, sync_prefix, PEERS_PREFIX};
use crate::wires::{spawn_dial, spawn_dial_discovered, spawn_redial_lan, spawn_writer, Wire};

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
                debug!(%peer, %session, "a new path to a peer; resyncing");
                self.session_input(Input::PathChanged {
                    peer,
                    conn: session,
                });
            }
            Event::ConnectionLost { peer, session } => {
                // Frames may have been lost with it; a resync makes them good, and if the
                // peer restarted behind it, reaches the new one, which then asks us to start
                // over (the session machine's rule on sync frames before a hello).
                debug!(%peer, %session, "lost one of the connections to a peer; resyncing");
                self.on_resync();
            }
            Event::PeerDiscovered { peer, addr } => {
                let Some(net) = self.net.as_mut() else { return };
                if !net.wires.contains_key(&peer) {
                    debug!(%peer, %addr, "dialling a discovered peer");
                    net.found.insert(peer);
                    spawn_dial_discovered(net.client.clone(), peer);
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
        net.found.remove(&peer);
        let (queue, writer) = spawn_writer(net.client.clone(), peer, session, net.failures.clone());
        debug!(%peer, %addr, %session, "connected");
        let wire = Wire {
            session,
            addr,
            queue,
            writer,
            sent: 0,
            received: 0,
        };
        if let Some(old) = net.wires.insert(peer, wire) {
            old.writer.abort();
        }
        self.session_input(Input::Connected {
            peer,
            conn: session,
        });
    }

    fn on_disconnected(&mut self, peer: PeerId, session: Session) {
        // Also after a fault, which has already dropped the link.
        self.join_peer_gone(&peer);
        self.session_input(Input::Disconnected {
            peer,
            conn: session,
        });
        // A peer's session loaded its circles whole (`Access::load_whole`); the months no
        // view holds go once no session syncs them.
        let ids: Vec<String> = self.circles.keys().cloned().collect();
        for id in ids {
            self.trim_months(&id, &std::collections::BTreeSet::new());
        }
    }

    fn on_frame(&mut self, peer: PeerId, session: Session, frame: Frame) {
        let wire = self
            .net
            .as_mut()
            .and_then(|n| n.wires.get_mut(&peer))
            .filter(|w| w.session == session);
        if let Some(wire) = wire {
            wire.received += frame.payload.len() as u64;
        }
        self.session_input(Input::Frame {
            peer,
            conn: session,
            circle: frame.circle,
            kind: frame.kind,
            bytes: frame.payload,
        });
    }

    /// Our circles or who belongs to them changed: greet peers newly admitted, sync newly
    /// shared circles, stop syncing circles a peer was removed from.
    pub(crate) fn circles_changed(&mut self) {
        self.session_input(Input::CirclesChanged);
    }

    /// Documents of `circle` changed locally and were saved.
    pub(crate) fn local_change(&mut self, circle: &str, docs: &[String]) {
        self.session_input(Input::LocalChange {
            circle: circle.to_owned(),
            docs: docs.to_vec(),
        });
    }

    pub(crate) fn on_resync(&mut self) {
        let Some(net) = self.net.as_ref() else { return };
        for &peer in net.found.iter().filter(|p| !net.wires.contains_key(p)) {
            debug!(%peer, "dialling a discovered peer again");
            spawn_dial_discovered(net.client.clone(), peer);
        }
        spawn_redial_lan(net.client.clone());
        debug!("resync");
        self.session_input(Input::Resync);
    }

    /// Sends to these peers failed; if any is still connected, a frame may be lost.
    pub(crate) fn on_send_failed(&mut self, peers: HashSet<PeerId>) {
        let connected = self
            .net
            .as_ref()
            .is_some_and(|n| peers.iter().any(|p| n.wires.contains_key(p)));
        if connected {
            self.on_resync();
        }
    }

    /// Whether a peer session syncs circle `id` now (or may: the machine is out handling an
    /// input). The sync engine works on the documents in memory, so they stay meanwhile.
    pub(crate) fn syncing(&self, id: &str) -> bool {
        let Some(net) = self.net.as_ref() else {
            return false;
        };
        let Some(machine) = net.sessions.as_ref() else {
            return true;
        };
        machine
            .links()
            .any(|(_, link)| link.shared().contains(id) || link.offered().contains(id))
    }

    /// Feeds the session machine one input (lending it this state as its documents and
    /// access answers) and carries out its effects.
    pub(crate) fn session_input(&mut self, input: Input<PeerId, Session>) {
        // Taken out while it runs, so it can borrow the rest of the state; effects are
        // carried out once it is back, since they may feed it again.
        let Some(net) = self.net.as_mut() else { return };
        let Some(mut machine) = net.sessions.take() else {
            // Only an input fed from inside the machine's own handling could find it out,
            // and none is: what the machine asks of the node never feeds it.
            warn!("the session machine is busy; dropping an input");
            return;
        };
        let now = self.now();
        let effects = machine.handle(self, now, input);
        if let Some(net) = self.net.as_mut() {
            net.sessions = Some(machine);
        }
        self.apply(effects);
    }

    fn apply(&mut self, effects: Vec<Effect<PeerId>>) {
        let mut core_changed = BTreeSet::new();
        for effect in effects {
            match effect {
                Effect::Send {
                    peer,
                    circle,
                    kind,
                    bytes,
                } => self.send_frame(peer, Frame::new(circle, kind, bytes)),
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
                Effect::Control { peer, kind, bytes } => match kind.as_str() {
                    JOIN_REPLY => self.on_join_reply(peer, &bytes),
                    other => debug!(%peer, kind = other, "a control frame nobody handles"),
                },
                Effect::Admit { peer, request } => self.on_join(peer, request),
                Effect::Syncing { peer, circles } => {
                    info!(%peer, ?circles, "syncing with peer");
                    self.emit(NodeEvent::PeerConnected {
                        peer: peer.to_string(),
                        circles,
                    });
                }
                Effect::Synced { peer, circle } => {
                    self.save_last_sync(&circle, &peer, self.now());
                    self.emit(NodeEvent::PeerSynced {
                        peer: peer.to_string(),
                        circle,
                    });
                }
                Effect::Disconnected { peer, synced } => {
                    if let Some(net) = self.net.as_mut() {
                        // Dropping the queue lets the writer finish what is queued.
                        net.wires.remove(&peer);
                    }
                    let now = self.now();
                    for circle in &synced {
                        self.save_last_sync(circle, &peer, now);
                    }
                    debug!(%peer, "disconnected");
                    self.emit(NodeEvent::PeerDisconnected {
                        peer: peer.to_string(),
                    });
                }
                Effect::Disconnect { peer } => {
                    info!(%peer, "peer is no longer a member device of any circle we share; disconnecting");
                    self.close_connection(peer);
                    self.emit(NodeEvent::PeerDisconnected {
                        peer: peer.to_string(),
                    });
                }
                Effect::Misbehaved { peer, fault } => {
                    warn!(%peer, reason = %fault, "peer broke the sync protocol; disconnecting it");
                    self.close_connection(peer);
                    self.emit(NodeEvent::PeerMisbehaved {
                        peer: peer.to_string(),
                        reason: fault.to_string(),
                    });
                }
                Effect::RefusedRelayed {
                    peer,
                    addr,
                    refused,
                } => {
                    if let Some(first) = refused.first() {
                        warn!(%peer, %addr, refused = refused.len(), first = %first.reason, "refused changes a peer relayed; keeping the link and its other changes");
                    }
                }
                Effect::Note {
                    peer,
                    note: Note::JoinBusy,
                } => {
                    info!(%peer, "too many join requests at once; asking the joiner to come back later")
                }
                Effect::Note { peer, note } => debug!(%peer, ?note, "peer session"),
            }
        }
        if !core_changed.is_empty() {
            // Someone may have been admitted or removed (the machine's contract).
            for circle in &core_changed {
                self.purge_after_removal(circle);
                self.write_receipts(circle);
            }
            self.circles_changed();
        }
    }

    /// Closes the connection to `peer`, dropping what waits for its writer.
    fn close_connection(&mut self, peer: PeerId) {
        let Some(net) = self.net.as_mut() else { return };
        if let Some(wire) = net.wires.remove(&peer) {
            wire.writer.abort();
        }
        let client = net.client.clone();
        tokio::spawn(async move {
            let _ = client.disconnect(peer).await;
        });
    }

    pub(crate) fn send_frame(&mut self, peer: PeerId, frame: Frame) {
        let Some(wire) = self.net.as_mut().and_then(|n| n.wires.get_mut(&peer)) else {
            debug!(%peer, "not sending to a peer that is gone");
            return;
        };
        wire.sent += frame.payload.len() as u64;
        if let Err(e) = wire.queue.try_send(frame) {
            warn!(%peer, error = %e, "the peer does not keep up; dropping a frame until the next resync");
        }
    }

    /// `peer` broke a rule of a control frame the node handles (a join).
    pub(crate) fn misbehaved(&mut self, peer: PeerId, reason: String) {
        self.session_input(Input::Misbehaved { peer, reason });
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
            let sessions = net.sessions.as_ref();
            for (peer, wire) in &net.wires {
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
                status.addr = Some(wire.addr.to_string());
                status.bytes_sent = wire.sent;
                status.bytes_received = wire.received;
                let Some(link) = sessions.and_then(|s| s.link(peer)) else {
                    continue;
                };
                for circle in link.shared() {
                    let in_sync = link.synced().contains(circle);
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
        let link = self.net.as_ref()?.sessions.as_ref()?.link(peer)?;
        Some(SyncProgress {
            hello: link.heard(),
            shared: link.shared().iter().cloned().collect(),
            synced: link.synced().iter().cloned().collect(),
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
