//! A minimal behaviour that hands out raw `/grove/sync/1` streams.
//!
//! Why not `libp2p-stream`: it passes inbound streams to the application through a channel
//! with a single slot shared by all connections and drops a stream when that slot is taken.
//! Two peers opening streams at once can then lose one stream, and with it frames the sender
//! believes were written. Here inbound streams travel as behaviour events instead, which the
//! swarm buffers per connection with backpressure, so none are dropped.
//! Why not request-response: see [`SYNC_PROTOCOL`].

use std::{
    collections::{HashMap, VecDeque},
    task::{Context, Poll},
};

use libp2p::{
    core::{transport::PortUse, upgrade::ReadyUpgrade, Endpoint},
    multiaddr::Protocol,
    swarm::{
        handler::{
            ConnectionEvent, DialUpgradeError, FullyNegotiatedInbound, FullyNegotiatedOutbound,
        },
        ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
        NetworkBehaviour, NotifyHandler, Stream, StreamUpgradeError, SubstreamProtocol, THandler,
        THandlerInEvent, THandlerOutEvent, ToSwarm,
    },
    Multiaddr, PeerId,
};

use crate::behaviour::SYNC_PROTOCOL;

/// Identifies one request for an outbound stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct OpenId(u64);

#[derive(Debug)]
pub(crate) enum SyncEvent {
    /// A peer opened a stream to us.
    Inbound { peer: PeerId, stream: Stream },
    /// The outcome of [`SyncBehaviour::open_stream`].
    Opened {
        id: OpenId,
        result: Result<Stream, String>,
    },
}

/// A connection, and whether it runs through a relay.
#[derive(Debug, Clone, Copy)]
struct Conn {
    id: ConnectionId,
    relayed: bool,
}

#[derive(Default)]
pub(crate) struct SyncBehaviour {
    connections: HashMap<PeerId, Vec<Conn>>,
    opening: HashMap<OpenId, ConnectionId>,
    next_id: u64,
    pending: VecDeque<ToSwarm<SyncEvent, OpenId>>,
}

impl SyncBehaviour {
    /// Asks for a new outbound stream to `peer`; the outcome arrives as [`SyncEvent::Opened`].
    /// `None` when there is no connection to `peer` (we never dial for a stream: dialling is
    /// the owner's decision).
    pub(crate) fn open_stream(&mut self, peer: PeerId) -> Option<OpenId> {
        // Prefer a direct connection (relayed circuits have tight byte limits), and among
        // those the newest, e.g. the one DCUtR just punched.
        let conns = self.connections.get(&peer)?;
        let connection = conns.iter().rev().find(|c| !c.relayed).or(conns.last())?.id;
        let id = OpenId(self.next_id);
        self.next_id += 1;
        self.opening.insert(id, connection);
        self.pending.push_back(ToSwarm::NotifyHandler {
            peer_id: peer,
            handler: NotifyHandler::One(connection),
            event: id,
        });
        Some(id)
    }
}

impl NetworkBehaviour for SyncBehaviour {
    type ConnectionHandler = SyncHandler;
    type ToSwarm = SyncEvent;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(SyncHandler::default())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(SyncHandler::default())
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                let relayed = e
                    .endpoint
                    .get_remote_address()
                    .iter()
                    .any(|p| p == Protocol::P2pCircuit);
                self.connections.entry(e.peer_id).or_default().push(Conn {
                    id: e.connection_id,
                    relayed,
                });
            }
            FromSwarm::ConnectionClosed(e) => {
                if let Some(conns) = self.connections.get_mut(&e.peer_id) {
                    conns.retain(|c| c.id != e.connection_id);
                    if conns.is_empty() {
                        self.connections.remove(&e.peer_id);
                    }
                }
                // The handler is gone, so these requests would otherwise never be answered.
                let lost: Vec<OpenId> = self
                    .opening
                    .iter()
                    .filter(|(_, c)| **c == e.connection_id)
                    .map(|(id, _)| *id)
                    .collect();
                for id in lost {
                    self.opening.remove(&id);
                    self.pending
                        .push_back(ToSwarm::GenerateEvent(SyncEvent::Opened {
                            id,
                            result: Err("connection closed".to_owned()),
                        }));
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        let event = match event {
            HandlerOut::Inbound(stream) => SyncEvent::Inbound { peer, stream },
            HandlerOut::Opened(id, result) => {
                self.opening.remove(&id);
                SyncEvent::Opened { id, result }
            }
        };
        self.pending.push_back(ToSwarm::GenerateEvent(event));
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        match self.pending.pop_front() {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }
}

#[derive(Debug)]
pub(crate) enum HandlerOut {
    Inbound(Stream),
    Opened(OpenId, Result<Stream, String>),
}

#[derive(Default)]
pub(crate) struct SyncHandler {
    to_open: VecDeque<OpenId>,
    out: VecDeque<HandlerOut>,
}

impl ConnectionHandler for SyncHandler {
    type FromBehaviour = OpenId;
    type ToBehaviour = HandlerOut;
    type InboundProtocol = ReadyUpgrade<libp2p::StreamProtocol>;
    type OutboundProtocol = ReadyUpgrade<libp2p::StreamProtocol>;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = OpenId;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol> {
        SubstreamProtocol::new(ReadyUpgrade::new(SYNC_PROTOCOL), ())
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, OpenId, Self::ToBehaviour>> {
        if let Some(event) = self.out.pop_front() {
            return Poll::Ready(ConnectionHandlerEvent::NotifyBehaviour(event));
        }
        if let Some(id) = self.to_open.pop_front() {
            return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                protocol: SubstreamProtocol::new(ReadyUpgrade::new(SYNC_PROTOCOL), id),
            });
        }
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, id: OpenId) {
        self.to_open.push_back(id);
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Self::InboundProtocol, Self::OutboundProtocol, (), OpenId>,
    ) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: stream,
                ..
            }) => self.out.push_back(HandlerOut::Inbound(stream)),
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol: stream,
                info: id,
            }) => self.out.push_back(HandlerOut::Opened(id, Ok(stream))),
            ConnectionEvent::DialUpgradeError(DialUpgradeError { info: id, error }) => {
                let reason = match error {
                    StreamUpgradeError::NegotiationFailed => {
                        format!("the peer does not speak {SYNC_PROTOCOL}")
                    }
                    StreamUpgradeError::Timeout => "timed out negotiating the stream".to_owned(),
                    StreamUpgradeError::Io(e) => e.to_string(),
                    StreamUpgradeError::Apply(never) => match never {},
                };
                self.out.push_back(HandlerOut::Opened(id, Err(reason)));
            }
            _ => {}
        }
    }
}
