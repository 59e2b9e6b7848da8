//! The task that owns the swarm: runs commands from [`Client`]s, turns swarm activity into
//! [`Event`]s, and drives every `/grove/sync/1` stream.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::Duration,
};

use futures::{
    future::{AbortHandle, Abortable, BoxFuture},
    stream::FuturesUnordered,
    FutureExt as _, StreamExt as _,
};
use libp2p::{
    core::{transport::ListenerId, ConnectedPoint},
    dcutr, mdns,
    multiaddr::Protocol,
    ping, rendezvous,
    swarm::{
        dial_opts::{DialOpts, PeerCondition},
        ConnectionId, DialError, Stream, SwarmEvent,
    },
    Multiaddr, PeerId, Swarm,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, trace, warn};

use crate::{
    behaviour::{build_swarm, Behaviour, BehaviourEvent},
    client::{Command, Outgoing, WriterQueue},
    streams::{read_chunk, run_writer, Inbound, ReadOutcome},
    sync_protocol::{OpenId, SyncEvent},
    wire::{self, Reassembler},
    Client, Config, Event, Misbehaviour, NetError, PeerSet, Session,
};

/// Concurrent inbound streams one peer may hold open. A well-behaved peer uses one; a few
/// more cover a stream being replaced while the old one winds down.
pub const MAX_INBOUND_STREAMS_PER_PEER: usize = 4;
/// Largest frame a peer outside [`Config::large_frames_from`] may send: far above a hello or
/// a join request (under 2 KiB), far below what a member's sync may need.
pub const UNKNOWN_PEER_FRAME_LEN: usize = 64 * 1024;
/// Frames that may wait in one peer's writer queue; senders beyond that wait for room.
const WRITER_QUEUE_LEN: usize = 8;
/// Stop reading inbound streams while this many events wait for the owner, so a slow owner
/// slows peers down (through stream flow control) instead of growing memory.
const OUTBOX_HIGH_WATER: usize = 8;
/// How often to ask rendezvous points for peers again. Peers that arrive later find the
/// earlier ones at once; this only closes the gap when two register at the same moment.
const REDISCOVER_EVERY: Duration = Duration::from_secs(5 * 60);
/// How often to dial rendezvous points and relays we should be connected to but are not
/// (the always-on node restarted, the laptop moved to another network). A failed dial costs
/// one packet or an immediate "no route"; a few seconds keep the time until members find
/// each other again well under the ten seconds people notice.
const RECONNECT_EVERY: Duration = Duration::from_secs(2);
/// How long a stopping network waits for its connections to close.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

type ReadStep = BoxFuture<'static, (Inbound, ReadOutcome)>;

struct WriterExit {
    peer: PeerId,
    id: u64,
    result: Result<Result<(), String>, futures::future::Aborted>,
}

struct DeferredListen {
    relay: PeerId,
    addr: Multiaddr,
    reply: oneshot::Sender<Result<(), NetError>>,
}

struct Writer {
    id: u64,
    queue: WriterQueue,
    abort: AbortHandle,
}

enum Flow {
    Continue,
    Stop,
}

/// Owns the swarm. Run it with [`EventLoop::run`] (the caller decides on which task); it
/// returns after [`Client::shutdown`] or once every [`Client`] is dropped.
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    /// Events produced but not yet taken by the owner; see [`OUTBOX_HIGH_WATER`].
    outbox: VecDeque<Event>,
    /// `None`: every peer is allowed.
    allowed: Option<HashSet<PeerId>>,
    /// Peers mDNS found on our local network, with the addresses whose records have not
    /// expired; see [`EventLoop::dial_discovered`] and [`EventLoop::redial_lan`].
    on_lan: HashMap<PeerId, HashSet<Multiaddr>>,
    /// Peers we disconnected on the caller's word (it found them at fault, or no longer a
    /// member): not dialled again on our own until they reach us or mDNS finds them anew.
    dropped: HashSet<PeerId>,
    /// See [`Config::large_frames_from`].
    large_frames_from: Option<PeerSet>,
    readers: FuturesUnordered<ReadStep>,
    inbound_counts: HashMap<PeerId, usize>,
    /// The session of each connected peer; see [`Session`].
    sessions: HashMap<PeerId, Session>,
    next_session: u64,
    /// Peers already reported as refused since they connected.
    refused_reported: HashSet<PeerId>,
    writers: HashMap<PeerId, Writer>,
    writer_tasks: FuturesUnordered<BoxFuture<'static, WriterExit>>,
    opening: HashMap<OpenId, oneshot::Sender<Result<Stream, String>>>,
    next_writer_id: u64,
    pending_dials: HashMap<ConnectionId, (Multiaddr, oneshot::Sender<Result<PeerId, NetError>>)>,
    /// Relay circuit listens waiting for a connection to their relay; see [`Self::listen_on`].
    deferred_listens: Vec<DeferredListen>,
    /// Each rendezvous point's addresses (one per transport, typically).
    rendezvous_points: HashMap<PeerId, Vec<Multiaddr>>,
    /// Our direct connections to rendezvous points, and dials under way to them, with
    /// their transport; see [`Self::cover_transports`].
    point_conns: HashMap<ConnectionId, (PeerId, Transport)>,
    covering: HashMap<ConnectionId, (PeerId, Transport)>,
    /// The remote address of every open connection, by peer; see [`Self::is_new_path`].
    remotes: HashMap<PeerId, HashMap<ConnectionId, Multiaddr>>,
    rendezvous_namespace: rendezvous::Namespace,
    rediscover: tokio::time::Interval,
    /// The relayed addresses asked for, by relay: listened on again whenever we reconnect
    /// to the relay after its circuit listener closed (see [`Self::keep_circuits`]).
    circuits: HashMap<PeerId, (Multiaddr, Multiaddr)>,
    /// Circuit listeners open now, and their relay.
    circuit_listeners: HashMap<ListenerId, PeerId>,
    reconnect: tokio::time::Interval,
    /// The caller of [`Client::shutdown`], answered once connections are closed.
    shutdown_reply: Option<oneshot::Sender<()>>,
}

/// Starts the network: builds the swarm, starts listening, and returns once every listener
/// (other than relay circuits, which wait on the relay) has its first address, so
/// [`Client::listen_addrs`] is useful at once. Must be called inside a tokio runtime.
///
/// Returns the client handle, the bounded stream of events (keep reading it: inbound frames
/// wait while it is full), and the event loop, which the caller must run.
pub async fn new(config: Config) -> Result<(Client, mpsc::Receiver<Event>, EventLoop), NetError> {
    if config.command_capacity == 0 || config.event_capacity == 0 {
        return Err(NetError::InvalidConfig(
            "command_capacity and event_capacity must be at least 1".to_owned(),
        ));
    }
    let rendezvous_namespace = rendezvous::Namespace::new(config.rendezvous_namespace.clone())
        .map_err(|e| NetError::InvalidConfig(format!("rendezvous namespace: {e}")))?;
    let mut rendezvous_points = HashMap::new();
    for addr in &config.rendezvous_points {
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            return Err(NetError::InvalidConfig(format!(
                "rendezvous point {addr} must end in /p2p/<peer id>"
            )));
        };
        rendezvous_points
            .entry(peer)
            .or_insert_with(Vec::new)
            .push(addr.clone());
    }

    let mut swarm = build_swarm(&config)?;
    let mut listening = HashMap::new();
    let mut circuits = HashMap::new();
    let mut circuit_listeners = HashMap::new();
    for addr in &config.listen_addrs {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Listen {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
        if let Some((relay, relay_addr)) = relay_of(addr) {
            circuits.insert(relay, (addr.clone(), relay_addr));
            circuit_listeners.insert(id, relay);
        } else if !addr.iter().any(|p| p == Protocol::P2pCircuit) {
            listening.insert(id, addr.clone());
        }
    }
    for addr in &config.external_addrs {
        swarm.add_external_address(addr.clone());
    }

    let (commands_tx, commands) = mpsc::channel(config.command_capacity);
    let (events, events_rx) = mpsc::channel(config.event_capacity);
    let mut event_loop = EventLoop {
        swarm,
        commands,
        events,
        outbox: VecDeque::new(),
        allowed: config.allowed_peers.clone(),
        on_lan: HashMap::new(),
        dropped: HashSet::new(),
        large_frames_from: config.large_frames_from.clone(),
        readers: FuturesUnordered::new(),
        inbound_counts: HashMap::new(),
        sessions: HashMap::new(),
        next_session: 0,
        refused_reported: HashSet::new(),
        writers: HashMap::new(),
        writer_tasks: FuturesUnordered::new(),
        opening: HashMap::new(),
        next_writer_id: 0,
        pending_dials: HashMap::new(),
        deferred_listens: Vec::new(),
        rendezvous_points,
        point_conns: HashMap::new(),
        remotes: HashMap::new(),
        covering: HashMap::new(),
        rendezvous_namespace,
        rediscover: {
            let mut every = tokio::time::interval(REDISCOVER_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every
        },
        circuits,
        circuit_listeners,
        reconnect: {
            let mut every = tokio::time::interval(RECONNECT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every
        },
        shutdown_reply: None,
    };
    event_loop.wait_until_listening(listening).await?;
    let points: Vec<(PeerId, Vec<Multiaddr>)> = event_loop
        .rendezvous_points
        .iter()
        .map(|(peer, addrs)| (*peer, addrs.clone()))
        .collect();
    for (peer, addrs) in points {
        // One connection, over whichever address answers first; the other transports
        // follow once it is up (`cover_transports`).
        if let Err(e) = event_loop
            .swarm
            .dial(DialOpts::peer_id(peer).addresses(addrs).build())
        {
            warn!(%peer, error = %e, "cannot dial rendezvous point");
        }
    }
    let client = Client {
        commands: commands_tx,
        local_peer_id: *event_loop.swarm.local_peer_id(),
    };
    Ok((client, events_rx, event_loop))
}

impl EventLoop {
    async fn wait_until_listening(
        &mut self,
        mut pending: HashMap<ListenerId, Multiaddr>,
    ) -> Result<(), NetError> {
        while !pending.is_empty() {
            let event = self.swarm.select_next_some().await;
            match &event {
                SwarmEvent::NewListenAddr { listener_id, .. } => {
                    pending.remove(listener_id);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } => {
                    if let Some(addr) = pending.remove(listener_id) {
                        return Err(NetError::Listen {
                            addr,
                            reason: match reason {
                                Ok(()) => "the listener closed".to_owned(),
                                Err(e) => e.to_string(),
                            },
                        });
                    }
                }
                SwarmEvent::ListenerError { listener_id, error } => {
                    if let Some(addr) = pending.remove(listener_id) {
                        return Err(NetError::Listen {
                            addr,
                            reason: error.to_string(),
                        });
                    }
                }
                _ => {}
            }
            self.on_swarm_event(event);
        }
        Ok(())
    }

    /// Runs until [`Client::shutdown`] or until every [`Client`] is dropped.
    ///
    /// Cancel-safe in that dropping it stops the network cleanly (connections close, pending
    /// calls fail with [`NetError::Shutdown`]); it cannot be resumed.
    pub async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => {
                        if let Flow::Stop = self.on_command(command) {
                            break;
                        }
                    }
                    None => break,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some((inbound, outcome)) = self.readers.next(),
                    if self.outbox.len() < OUTBOX_HIGH_WATER =>
                {
                    self.on_read(inbound, outcome);
                }
                Some(exit) = self.writer_tasks.next() => self.on_writer_exit(exit),
                _ = self.rediscover.tick(), if !self.rendezvous_points.is_empty() => {
                    self.rediscover();
                }
                _ = self.reconnect.tick(), if !self.rendezvous_points.is_empty() || !self.circuits.is_empty() => {
                    self.reconnect();
                }
                // An owned permit keeps this branch from borrowing `self` across the others.
                permit = self.events.clone().reserve_owned(), if !self.outbox.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.outbox.pop_front() {
                            permit.send(event);
                        }
                    }
                    // Nobody listens any more; keep serving commands without piling up events.
                    Err(_) => self.outbox.clear(),
                },
            }
        }
        for (_, writer) in self.writers.drain() {
            writer.abort.abort();
        }
        self.close_connections().await;
        if let Some(reply) = self.shutdown_reply.take() {
            let _ = reply.send(());
        }
        debug!("network event loop stopped");
    }

    /// Closes every connection and waits (briefly) until they are closed. Peers then see us
    /// go at once: a QUIC connection that is merely dropped sends no close, and its peer
    /// would take it for alive until QUIC's idle timeout, seconds later, not reconnecting
    /// to a restarted always-on node meanwhile.
    async fn close_connections(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let closed = async {
            while self.swarm.connected_peers().next().is_some() {
                let event = self.swarm.select_next_some().await;
                trace!(?event, "swarm event while closing");
            }
        };
        if tokio::time::timeout(CLOSE_GRACE, closed).await.is_err() {
            debug!("some connections were still closing when the network stopped");
        }
    }

    /// Whether a direct connection to `peer` from `remote` is a new path: its IP address is
    /// none of the peer's open connections' (all relayed, before a hole punch; or the peer
    /// moved to another network). Two connections from the same address (both sides
    /// dialling at once) are the same path, and the peer's frames stay where they are.
    fn is_new_path(&self, peer: PeerId, remote: &Multiaddr) -> bool {
        let Some(ip) = ip_of(remote) else {
            return false;
        };
        !self
            .remotes
            .get(&peer)
            .is_some_and(|remotes| remotes.values().any(|r| ip_of(r) == Some(ip)))
    }

    fn emit(&mut self, event: Event) {
        if !self.events.is_closed() {
            self.outbox.push_back(event);
        }
    }

    fn is_allowed(&self, peer: &PeerId) -> bool {
        self.allowed.as_ref().is_none_or(|set| set.contains(peer))
    }

    /// Discovered peers are dialled only when membership names them: with no allowed set we do
    /// not know who belongs, and dialling every libp2p node on the LAN would be rude.
    fn should_auto_dial(&self, peer: &PeerId) -> bool {
        self.allowed.as_ref().is_some_and(|set| set.contains(peer))
            && !self.swarm.is_connected(peer)
    }

    /// Dials a peer that discovery found, at the addresses discovery gave (the swarm asks
    /// mDNS and the rendezvous client for them), unless we are connected to it or dialling it
    /// already; libp2p keeps track of that, so a dial that failed is tried again when the
    /// peer is found again.
    ///
    /// A peer on our LAN is dialled from a fresh port. Two peers on one LAN find each other
    /// at the same moment and both dial; from their listening ports (libp2p's default) the
    /// two dials can cross as one TCP simultaneous open, which libp2p cannot negotiate (both
    /// ends act as the dialer) and which failed both dials. Reusing the listening port only
    /// matters behind a NAT, which a LAN peer is not behind.
    fn dial_discovered(&mut self, peer: PeerId) {
        let opts = DialOpts::peer_id(peer).condition(PeerCondition::DisconnectedAndNotDialing);
        let opts = if self.on_lan.contains_key(&peer) {
            opts.allocate_new_port().build()
        } else {
            opts.build()
        };
        if let Err(e) = self.swarm.dial(opts) {
            debug!(%peer, error = %e, "not dialling a discovered peer");
        }
    }

    /// Whether `peer`, found on our network, is called back when not connected: a member
    /// device by the owner's word (its [`Config::large_frames_from`]), still listed by mDNS,
    /// not one we disconnected, and allowed.
    fn calls_back(&self, peer: &PeerId) -> bool {
        self.on_lan.contains_key(peer)
            && !self.dropped.contains(peer)
            && self.is_allowed(peer)
            && !self.swarm.is_connected(peer)
            && self
                .large_frames_from
                .as_ref()
                .is_some_and(|members| members.contains(peer))
    }

    /// See [`Client::redial_lan`].
    fn redial_lan(&mut self) {
        let lost: Vec<PeerId> = self
            .on_lan
            .keys()
            .filter(|p| self.calls_back(p))
            .copied()
            .collect();
        for peer in lost {
            debug!(%peer, "dialling a peer on our network again");
            self.dial_discovered(peer);
        }
    }

    fn on_command(&mut self, command: Command) -> Flow {
        match command {
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::ListenOn { addr, reply } => self.listen_on(addr, reply),
            Command::AddExternalAddress { addr, reply } => {
                self.add_external_address(addr);
                let _ = reply.send(());
            }
            Command::Dial { addr, reply } => self.dial(addr, reply),
            Command::DialDiscovered { peer, reply } => {
                self.dial_discovered(peer);
                let _ = reply.send(());
            }
            Command::RedialLan { reply } => {
                self.redial_lan();
                let _ = reply.send(());
            }
            Command::WriterFor {
                peer,
                session,
                reply,
            } => {
                let _ = reply.send(self.writer_for(peer, session));
            }
            Command::ConnectedPeers { reply } => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::Disconnect { peer, reply } => {
                self.dropped.insert(peer);
                self.stop_writer(&peer);
                // Err only means we were not connected, which is what the caller wants.
                let _ = self.swarm.disconnect_peer_id(peer);
                let _ = reply.send(());
            }
            Command::SetAllowedPeers { allowed, reply } => {
                self.allowed = allowed;
                let refused: Vec<PeerId> = self
                    .writers
                    .keys()
                    .filter(|p| !self.is_allowed(p))
                    .copied()
                    .collect();
                for peer in refused {
                    self.stop_writer(&peer);
                }
                let _ = reply.send(());
            }
            Command::Shutdown { reply } => {
                // Answered once the connections are closed (see `run`).
                self.shutdown_reply = Some(reply);
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Listening on a relay circuit while a dial to that relay is under way makes libp2p's
    /// relay transport give up at once (its own dial is refused as redundant) and close the
    /// listener. So a circuit listen waits until we are connected to its relay.
    fn listen_on(&mut self, addr: Multiaddr, reply: oneshot::Sender<Result<(), NetError>>) {
        if let Some((relay, relay_addr)) = relay_of(&addr) {
            self.circuits
                .insert(relay, (addr.clone(), relay_addr.clone()));
            if !self.swarm.is_connected(&relay) {
                let opts = DialOpts::peer_id(relay)
                    .addresses(vec![relay_addr])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                match self.swarm.dial(opts) {
                    Ok(()) | Err(DialError::DialPeerConditionFalse(_)) => {
                        self.deferred_listens
                            .push(DeferredListen { relay, addr, reply });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(NetError::Listen {
                            addr,
                            reason: format!("cannot reach the relay: {e}"),
                        }));
                    }
                }
                return;
            }
        }
        let relay = relay_of(&addr).map(|(relay, _)| relay);
        let result = self
            .swarm
            .listen_on(addr.clone())
            .map(|id| {
                if let Some(relay) = relay {
                    self.circuit_listeners.insert(id, relay);
                }
            })
            .map_err(|e| NetError::Listen {
                addr,
                reason: e.to_string(),
            });
        let _ = reply.send(result);
    }

    /// Dials the rendezvous points and relays we are not connected to. Once connected, the
    /// connection handler registers again and takes the relayed address again.
    fn reconnect(&mut self) {
        let mut wanted: HashMap<PeerId, Vec<Multiaddr>> = self.rendezvous_points.clone();
        for (relay, (_, relay_addr)) in &self.circuits {
            wanted
                .entry(*relay)
                .or_insert_with(|| vec![relay_addr.clone()]);
        }
        for (peer, addrs) in wanted {
            if self.swarm.is_connected(&peer) {
                continue;
            }
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            match self.swarm.dial(opts) {
                Ok(()) => debug!(%peer, "reconnecting to an always-on peer"),
                Err(DialError::DialPeerConditionFalse(_)) => {}
                Err(e) => debug!(%peer, error = %e, "cannot redial an always-on peer"),
            }
        }
    }

    /// Connects to rendezvous point `point` over every transport we listen on that it has
    /// an address for. A hole punch over QUIC needs our public QUIC address, and a peer
    /// learns its public address of a transport only from a connection over it (identify
    /// tells each side what it sees); with only a TCP connection to the always-on node, two
    /// members behind NAT could punch over TCP only, and not at all when one of them
    /// listens on QUIC alone.
    fn cover_transports(&mut self, point: PeerId) {
        let Some(addrs) = self.rendezvous_points.get(&point) else {
            return;
        };
        let listening: HashSet<Transport> =
            self.swarm.listeners().filter_map(transport_of).collect();
        let have: HashSet<Transport> = self
            .point_conns
            .values()
            .chain(self.covering.values())
            .filter(|(peer, _)| *peer == point)
            .map(|(_, transport)| *transport)
            .collect();
        let mut missing: HashMap<Transport, Multiaddr> = HashMap::new();
        for addr in addrs {
            if let Some(transport) = transport_of(addr) {
                if listening.contains(&transport) && !have.contains(&transport) {
                    missing.entry(transport).or_insert_with(|| addr.clone());
                }
            }
        }
        for (transport, addr) in missing {
            let opts = DialOpts::peer_id(point)
                .addresses(vec![addr])
                .condition(PeerCondition::Always)
                .build();
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    debug!(%point, ?transport, "connecting to the rendezvous point over another transport");
                    self.covering.insert(id, (point, transport));
                }
                Err(e) => {
                    debug!(%point, ?transport, error = %e, "cannot dial the rendezvous point over another transport")
                }
            }
        }
    }

    /// Listens again on the relayed address through `relay`, now connected, if its circuit
    /// listener closed (the relay restarted, or our connection to it broke) and none waits.
    fn keep_circuits(&mut self, relay: PeerId) {
        let Some((addr, _)) = self.circuits.get(&relay).cloned() else {
            return;
        };
        if self.circuit_listeners.values().any(|r| *r == relay)
            || self.deferred_listens.iter().any(|d| d.relay == relay)
        {
            return;
        }
        match self.swarm.listen_on(addr.clone()) {
            Ok(id) => {
                debug!(%relay, "listening through the relay again");
                self.circuit_listeners.insert(id, relay);
            }
            Err(e) => warn!(%addr, error = %e, "cannot listen through the relay again"),
        }
    }

    /// Our network changed under us (an address of ours went away: the laptop moved to
    /// another network). Connections over it are dead but would only be found out by
    /// timeouts, minutes later, and meanwhile frames go into them. So every connection
    /// except loopback ones is closed, and the always-on peers are dialled again at once
    /// from wherever we are now; the nodes' sync states make the resumed sync short. A
    /// second interface going down costs the other connections a reconnect, no more.
    fn network_changed(&mut self, gone: &Multiaddr) {
        info!(address = %gone, "a local address went away; reconnecting from the current network");
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            self.stop_writer(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        self.reconnect.reset_immediately();
    }

    /// Starts the circuit listens waiting for `relay` (connected) or fails them (unreachable).
    fn resume_listens(&mut self, relay: PeerId, unreachable: Option<&str>) {
        let (ready, waiting) = std::mem::take(&mut self.deferred_listens)
            .into_iter()
            .partition(|d| d.relay == relay);
        self.deferred_listens = waiting;
        for DeferredListen { addr, reply, .. } in ready {
            match unreachable {
                None => self.listen_on(addr, reply),
                Some(reason) => {
                    let _ = reply.send(Err(NetError::Listen {
                        addr,
                        reason: format!("cannot reach the relay: {reason}"),
                    }));
                }
            }
        }
    }

    fn dial(&mut self, addr: Multiaddr, reply: oneshot::Sender<Result<PeerId, NetError>>) {
        let opts = match addr.iter().last() {
            Some(Protocol::P2p(peer)) => {
                if self.swarm.is_connected(&peer) {
                    let _ = reply.send(Ok(peer));
                    return;
                }
                // Naming the peer makes the swarm check that the remote really is that peer.
                // `Always`: a dial already under way (e.g. after mDNS) must not fail this one.
                DialOpts::peer_id(peer)
                    .addresses(vec![addr.clone()])
                    .condition(PeerCondition::Always)
                    .build()
            }
            _ => DialOpts::unknown_peer_id().address(addr.clone()).build(),
        };
        let connection_id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.pending_dials.insert(connection_id, (addr, reply));
            }
            Err(e) => {
                let _ = reply.send(Err(NetError::Dial {
                    addr,
                    reason: e.to_string(),
                }));
            }
        }
    }

    fn writer_for(
        &mut self,
        peer: PeerId,
        session: Option<Session>,
    ) -> Result<WriterQueue, NetError> {
        if !self.is_allowed(&peer) {
            return Err(NetError::NotAllowed(peer));
        }
        if !self.swarm.is_connected(&peer) {
            return Err(NetError::NotConnected(peer));
        }
        // Writers are stopped when their session ends, so one that exists is of the current
        // session, and a new one is opened on it.
        if let Some(session) = session {
            if self.sessions.get(&peer) != Some(&session) {
                return Err(NetError::SessionEnded { peer, session });
            }
        }
        if let Some(writer) = self.writers.get(&peer) {
            // A writer that failed but whose exit we have not handled yet has a closed queue.
            if !writer.queue.is_closed() {
                return Ok(writer.queue.clone());
            }
        }
        let Some(open_id) = self.swarm.behaviour_mut().sync.open_stream(peer) else {
            return Err(NetError::NotConnected(peer));
        };
        let (stream_tx, stream_rx) = oneshot::channel();
        self.opening.insert(open_id, stream_tx);
        let (queue, queue_rx) = mpsc::channel::<Outgoing>(WRITER_QUEUE_LEN);
        let (abort, registration) = AbortHandle::new_pair();
        let id = self.next_writer_id;
        self.next_writer_id += 1;
        let task = Abortable::new(run_writer(peer, stream_rx, queue_rx), registration)
            .map(move |result| WriterExit { peer, id, result });
        self.writer_tasks.push(task.boxed());
        if let Some(old) = self.writers.insert(
            peer,
            Writer {
                id,
                queue: queue.clone(),
                abort,
            },
        ) {
            old.abort.abort();
        }
        Ok(queue)
    }

    /// Drops the peer's writer: its stream is reset and queued frames fail.
    fn stop_writer(&mut self, peer: &PeerId) {
        if let Some(writer) = self.writers.remove(peer) {
            writer.abort.abort();
        }
    }

    fn on_writer_exit(&mut self, exit: WriterExit) {
        if self
            .writers
            .get(&exit.peer)
            .is_some_and(|w| w.id == exit.id)
        {
            self.writers.remove(&exit.peer);
        }
        match exit.result {
            Ok(Ok(())) => trace!(peer = %exit.peer, "writer finished"),
            Ok(Err(reason)) => debug!(peer = %exit.peer, %reason, "writer failed"),
            Err(_) => trace!(peer = %exit.peer, "writer stopped"),
        }
    }

    fn accept_stream(&mut self, peer: PeerId, stream: Stream) {
        if !self.is_allowed(&peer) {
            debug!(%peer, "refusing a stream from a peer that is not allowed");
            drop(stream);
            self.refused(peer);
            return;
        }
        let Some(&session) = self.sessions.get(&peer) else {
            debug!(%peer, "dropping a stream whose connection is gone");
            return;
        };
        let count = self.inbound_counts.entry(peer).or_default();
        if *count >= MAX_INBOUND_STREAMS_PER_PEER {
            drop(stream);
            self.misbehaved(
                peer,
                Misbehaviour::TooManyStreams {
                    limit: MAX_INBOUND_STREAMS_PER_PEER,
                },
            );
            return;
        }
        *count += 1;
        self.readers.push(
            read_chunk(Inbound {
                peer,
                session,
                stream,
                reassembler: Reassembler::new(),
            })
            .boxed(),
        );
    }

    fn on_read(&mut self, mut inbound: Inbound, outcome: ReadOutcome) {
        let peer = inbound.peer;
        if !self.is_allowed(&peer) {
            // Membership changed while the stream was open.
            self.close_inbound(inbound);
            self.refused(peer);
            return;
        }
        match outcome {
            ReadOutcome::Chunk(body) => {
                let announced = wire::decode_chunk(&body).ok().and_then(|c| c.first);
                if let Some(announced) = announced.filter(|n| *n > UNKNOWN_PEER_FRAME_LEN as u64) {
                    if self
                        .large_frames_from
                        .as_ref()
                        .is_some_and(|set| !set.contains(&peer))
                    {
                        self.close_inbound(inbound);
                        self.misbehaved(
                            peer,
                            Misbehaviour::FrameTooLarge {
                                announced,
                                limit: UNKNOWN_PEER_FRAME_LEN,
                            },
                        );
                        return;
                    }
                }
                let decoded = wire::decode_chunk(&body).and_then(|c| inbound.reassembler.push(c));
                match decoded {
                    Ok(frame) => {
                        if let Some(frame) = frame {
                            self.emit(Event::Received {
                                peer,
                                session: inbound.session,
                                frame,
                            });
                        }
                        self.readers.push(read_chunk(inbound).boxed());
                    }
                    Err(e) => {
                        self.close_inbound(inbound);
                        self.misbehaved(peer, Misbehaviour::Wire(e));
                    }
                }
            }
            ReadOutcome::Invalid(e) => {
                self.close_inbound(inbound);
                self.misbehaved(peer, Misbehaviour::Wire(e));
            }
            ReadOutcome::Closed => {
                if !inbound.reassembler.is_idle() {
                    debug!(%peer, "stream ended inside a frame; the partial frame is dropped");
                }
                self.close_inbound(inbound);
            }
            ReadOutcome::Failed(e) => {
                debug!(%peer, error = %e, "inbound stream failed");
                self.close_inbound(inbound);
            }
        }
    }

    /// Reports a refused peer once per connection, so a peer that keeps opening streams
    /// cannot flood the owner with events.
    fn refused(&mut self, peer: PeerId) {
        if self.refused_reported.insert(peer) {
            self.emit(Event::Refused { peer });
        }
    }

    fn close_inbound(&mut self, inbound: Inbound) {
        if let Some(count) = self.inbound_counts.get_mut(&inbound.peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.inbound_counts.remove(&inbound.peer);
            }
        }
    }

    fn misbehaved(&mut self, peer: PeerId, reason: Misbehaviour) {
        warn!(%peer, %reason, "peer broke the sync protocol; disconnecting it");
        self.stop_writer(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.emit(Event::Misbehaved { peer, reason });
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                if address.iter().any(|p| p == Protocol::P2pCircuit) {
                    // A relay reservation: reachable through the relay by construction, and
                    // the only address a node behind NAT can register at a rendezvous point.
                    self.add_external_address(address.clone());
                }
                self.emit(Event::ListenAddr { addr: address });
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                let relayed = endpoint.is_relayed();
                info!(peer = %peer_id, addr = %remote_addr(&endpoint), relayed, connections = num_established.get(), "connection established");
                if let Some((_, reply)) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
                self.dropped.remove(&peer_id);
                let new_path = self.is_new_path(peer_id, endpoint.get_remote_address());
                self.remotes
                    .entry(peer_id)
                    .or_default()
                    .insert(connection_id, endpoint.get_remote_address().clone());
                if num_established.get() > 1 && new_path {
                    // A new direct connection (a hole punch, or the peer reaching us from
                    // a network it moved to) is the better path: the next frame opens a
                    // stream on it (see `SyncBehaviour::open_stream`) instead of going on
                    // through a relay's circuit or a connection that may be dead. Frames in
                    // flight on the old stream may be lost: the owner resyncs.
                    self.stop_writer(&peer_id);
                    if let Some(&session) = self.sessions.get(&peer_id) {
                        self.emit(Event::PathChanged {
                            peer: peer_id,
                            session,
                        });
                    }
                }
                if num_established.get() == 1 {
                    let session = Session(self.next_session);
                    self.next_session += 1;
                    self.sessions.insert(peer_id, session);
                    debug!(peer = %peer_id, %session, "connected");
                    self.emit(Event::PeerConnected {
                        peer: peer_id,
                        addr: remote_addr(&endpoint),
                        session,
                    });
                }
                self.covering.remove(&connection_id);
                if self.rendezvous_points.contains_key(&peer_id) {
                    if let Some(transport) = transport_of(endpoint.get_remote_address()) {
                        self.point_conns.insert(connection_id, (peer_id, transport));
                    }
                    self.use_rendezvous_point(peer_id);
                    self.cover_transports(peer_id);
                }
                self.resume_listens(peer_id, None);
                self.keep_circuits(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                cause,
                ..
            } => {
                self.point_conns.remove(&connection_id);
                if let Some(remotes) = self.remotes.get_mut(&peer_id) {
                    remotes.remove(&connection_id);
                    if remotes.is_empty() {
                        self.remotes.remove(&peer_id);
                    }
                }
                if num_established == 0 {
                    debug!(peer = %peer_id, cause = ?cause, "disconnected");
                    self.stop_writer(&peer_id);
                    self.refused_reported.remove(&peer_id);
                    if let Some(session) = self.sessions.remove(&peer_id) {
                        self.emit(Event::PeerDisconnected {
                            peer: peer_id,
                            session,
                        });
                    }
                    // A member still on our network lost its connection, not its place: call
                    // it back now (the caller's resyncs try again if this fails).
                    if self.calls_back(&peer_id) {
                        debug!(peer = %peer_id, "dialling a peer on our network again");
                        self.dial_discovered(peer_id);
                    }
                } else if let Some(&session) = self.sessions.get(&peer_id) {
                    debug!(peer = %peer_id, cause = ?cause, "one of the peer's connections closed");
                    // Its stream may have run over the closed connection; the next frame opens
                    // one over a live connection.
                    self.stop_writer(&peer_id);
                    self.emit(Event::ConnectionLost {
                        peer: peer_id,
                        session,
                    });
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                self.covering.remove(&connection_id);
                if let Some(peer) = peer_id.filter(|p| !self.swarm.is_connected(p)) {
                    self.resume_listens(peer, Some(&error.to_string()));
                }
                debug!(peer = ?peer_id, %error, "outgoing connection failed");
                if let Some((addr, reply)) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Err(NetError::Dial {
                        addr,
                        reason: error.to_string(),
                    }));
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => debug!(from = %send_back_addr, %error, "incoming connection failed"),
            SwarmEvent::ExternalAddrConfirmed { address } => {
                info!(%address, "external address confirmed");
                self.register_at_connected_points();
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => {
                if let Some(relay) = self.circuit_listeners.remove(&listener_id) {
                    // Taken again on the next connection to the relay (`keep_circuits`).
                    let closed = reason.is_ok();
                    let reason = match reason {
                        Ok(()) => "the connection to the relay closed".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    info!(%relay, %reason, "the relayed address closed");
                    self.emit(Event::RelayedAddressClosed { relay, reason });
                    // Its connection went while others to the relay live on (an old path
                    // after a network change): take the address again over those. A
                    // refusal (an error) is not retried until we reconnect.
                    if closed && self.swarm.is_connected(&relay) {
                        self.keep_circuits(relay);
                    }
                } else if let Err(error) = reason {
                    warn!(?addresses, %error, "listener failed");
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                debug!(%address, "no longer listening");
                let ours = address.iter().any(|p| match p {
                    Protocol::Ip4(ip) => !ip.is_loopback(),
                    Protocol::Ip6(ip) => !ip.is_loopback(),
                    _ => false,
                });
                if ours && !address.iter().any(|p| p == Protocol::P2pCircuit) {
                    self.network_changed(&address);
                }
            }
            SwarmEvent::ListenerError { error, .. } => warn!(%error, "listener error"),
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            other => trace!(event = ?other, "swarm event"),
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Sync(SyncEvent::Inbound { peer, stream }) => {
                self.accept_stream(peer, stream)
            }
            BehaviourEvent::Sync(SyncEvent::Opened { id, result }) => {
                if let Some(tx) = self.opening.remove(&id) {
                    // The writer may be gone already; the stream then just drops.
                    let _ = tx.send(result);
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                let mut to_dial = HashSet::new();
                for (peer, addr) in found {
                    self.on_lan.entry(peer).or_default().insert(addr.clone());
                    self.dropped.remove(&peer);
                    self.swarm.add_peer_address(peer, addr.clone());
                    if self.should_auto_dial(&peer) {
                        to_dial.insert(peer);
                    }
                    self.emit(Event::PeerDiscovered { peer, addr });
                }
                for peer in to_dial {
                    self.dial_discovered(peer);
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Expired(gone)) => {
                for (peer, addr) in gone {
                    if let Some(addrs) = self.on_lan.get_mut(&peer) {
                        addrs.remove(&addr);
                        if addrs.is_empty() {
                            self.on_lan.remove(&peer);
                        }
                    }
                }
            }
            BehaviourEvent::RendezvousClient(rendezvous::client::Event::Discovered {
                registrations,
                ..
            }) => {
                let me = *self.swarm.local_peer_id();
                for registration in registrations {
                    let peer = registration.record.peer_id();
                    if peer == me {
                        continue;
                    }
                    let addrs = registration.record.addresses().to_vec();
                    for addr in &addrs {
                        self.emit(Event::PeerDiscovered {
                            peer,
                            addr: addr.clone(),
                        });
                    }
                    if self.should_auto_dial(&peer) {
                        self.dial_discovered(peer);
                    }
                }
            }
            BehaviourEvent::RendezvousClient(rendezvous::client::Event::Registered {
                rendezvous_node,
                ..
            }) => {
                debug!(point = %rendezvous_node, "registered at rendezvous point");
                self.emit(Event::Registered {
                    rendezvous_point: rendezvous_node,
                });
            }
            BehaviourEvent::RendezvousClient(event) => debug!(?event, "rendezvous"),
            BehaviourEvent::Identify(event) => trace!(?event, "identify"),
            BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result: Err(failure),
            }) if !matches!(failure, ping::Failure::Unsupported) => {
                // libp2p no longer closes a connection whose pings fail; a dead one would
                // otherwise stay "connected" until TCP gives up, minutes later.
                debug!(%peer, %failure, "ping failed; closing the connection");
                self.swarm.close_connection(connection);
            }
            BehaviourEvent::Ping(event) => trace!(?event, "ping"),
            BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            }) => match result {
                Ok(_) => info!(peer = %remote_peer_id, "hole punch succeeded: direct connection"),
                Err(error) => {
                    info!(peer = %remote_peer_id, %error, "hole punch failed; staying relayed")
                }
            },
            other => debug!(event = ?other, "behaviour event"),
        }
    }

    fn add_external_address(&mut self, addr: Multiaddr) {
        info!(%addr, "external address added");
        // The swarm tells the behaviours but reports no event for addresses added by hand.
        self.swarm.add_external_address(addr);
        self.register_at_connected_points();
    }

    fn connected_rendezvous_points(&self) -> Vec<PeerId> {
        self.rendezvous_points
            .keys()
            .filter(|p| self.swarm.is_connected(p))
            .copied()
            .collect()
    }

    fn register_at_connected_points(&mut self) {
        for point in self.connected_rendezvous_points() {
            self.register_at(point);
        }
    }

    /// Asks the rendezvous points again, for peers that registered after we last asked.
    fn rediscover(&mut self) {
        for point in self.connected_rendezvous_points() {
            self.discover_at(point);
        }
    }

    fn use_rendezvous_point(&mut self, point: PeerId) {
        self.register_at(point);
        self.discover_at(point);
    }

    fn discover_at(&mut self, point: PeerId) {
        self.swarm.behaviour_mut().rendezvous_client.discover(
            Some(self.rendezvous_namespace.clone()),
            None,
            None,
            point,
        );
    }

    fn register_at(&mut self, point: PeerId) {
        let namespace = self.rendezvous_namespace.clone();
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .rendezvous_client
            .register(namespace, point, None)
        {
            // Usually: no confirmed external address yet. We retry when one is confirmed.
            debug!(%point, error = %e, "not registering at rendezvous point yet");
        }
    }
}

/// A transport a direct connection can run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Transport {
    Tcp,
    Quic,
}

/// The transport of a direct address; `None` for relayed and other addresses.
fn transport_of(addr: &Multiaddr) -> Option<Transport> {
    if addr.iter().any(|p| p == Protocol::P2pCircuit) {
        None
    } else if addr.iter().any(|p| p == Protocol::QuicV1) {
        Some(Transport::Quic)
    } else if addr.iter().any(|p| matches!(p, Protocol::Tcp(_))) {
        Some(Transport::Tcp)
    } else {
        None
    }
}

/// The IP address of a direct address; `None` for relayed ones.
fn ip_of(addr: &Multiaddr) -> Option<std::net::IpAddr> {
    if addr.iter().any(|p| p == Protocol::P2pCircuit) {
        return None;
    }
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(ip.into()),
        Protocol::Ip6(ip) => Some(ip.into()),
        _ => None,
    })
}

/// The relay of a circuit address `<relay addr>/p2p/<relay>/p2p-circuit[/...]`: its peer id
/// and the address to dial it at.
fn relay_of(addr: &Multiaddr) -> Option<(PeerId, Multiaddr)> {
    let mut relay_addr = Multiaddr::empty();
    let mut relay = None;
    for protocol in addr.iter() {
        if protocol == Protocol::P2pCircuit {
            return relay.map(|peer| (peer, relay_addr));
        }
        if let Protocol::P2p(peer) = protocol {
            relay = Some(peer);
        }
        relay_addr.push(protocol);
    }
    None
}

fn remote_addr(endpoint: &ConnectedPoint) -> Multiaddr {
    endpoint.get_remote_address().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relay_of_a_circuit_address_is_the_peer_before_p2p_circuit() {
        let relay = PeerId::random();
        let target = PeerId::random();
        let relay_addr: Multiaddr = format!("/ip4/10.0.0.1/tcp/4001/p2p/{relay}")
            .parse()
            .unwrap();
        let circuit = relay_addr
            .clone()
            .with(Protocol::P2pCircuit)
            .with(Protocol::P2p(target));
        assert_eq!(relay_of(&circuit), Some((relay, relay_addr)));
        assert_eq!(
            relay_of(&"/ip4/127.0.0.1/tcp/1".parse().unwrap()),
            None,
            "a direct address has no relay"
        );
        assert_eq!(
            relay_of(&"/ip4/127.0.0.1/tcp/1/p2p-circuit".parse().unwrap()),
            None,
            "a circuit without a relay id cannot be resolved"
        );
    }
}
