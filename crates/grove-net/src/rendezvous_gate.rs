//! The rendezvous server behind a gate: it answers only peers in a [`PeerSet`] the owner
//! keeps (an always-on node's circles' member devices). libp2p's rendezvous server answers
//! anyone, and a discover without a namespace lists every registration, so a secret
//! namespace alone would not hide who is registered: whoever may ask must be restricted.
//!
//! The gate sits between the connection handlers and the server: a request from a peer
//! outside the set never reaches the server. Its handler event (which carries the channel
//! for the answer) is dropped, so the stream closes unanswered and the asker sees a failed
//! request: no registration, no list, nothing to tell members from strangers. Checked per
//! request, so a change of membership applies to connections already open.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use libp2p::core::{transport::PortUse, Endpoint, Multiaddr};
use libp2p::request_response::InboundRequestId;
use libp2p::swarm::{
    behaviour::ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour,
    THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{rendezvous, PeerId};
use tracing::debug;

/// A set of peers shared between its owner, who replaces it as membership changes, and the
/// network, which reads it whenever a peer asks for something only members may have.
#[derive(Clone, Default)]
pub struct PeerSet(Arc<RwLock<HashSet<PeerId>>>);

impl PeerSet {
    pub fn new(peers: HashSet<PeerId>) -> Self {
        PeerSet(Arc::new(RwLock::new(peers)))
    }

    /// Replaces the whole set.
    pub fn replace(&self, peers: HashSet<PeerId>) {
        // A panic elsewhere while holding the lock leaves a whole set behind (replacing is
        // one assignment), so a poisoned lock is still safe to use.
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = peers;
    }

    pub fn contains(&self, peer: &PeerId) -> bool {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(peer)
    }

    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for PeerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerSet({} peers)", self.len())
    }
}

/// What the server's connection handlers report; named through the server so this module
/// needs nothing of the request-response internals but the request id.
type HandlerEvent = THandlerOutEvent<rendezvous::server::Behaviour>;

pub(crate) struct GatedRendezvous {
    inner: rendezvous::server::Behaviour,
    /// `None`: everyone is served.
    clients: Option<PeerSet>,
    /// Requests refused and not yet finished by their handler, with their connection: the
    /// handler's later report about them must not reach the server, which never saw them.
    refused: HashMap<InboundRequestId, ConnectionId>,
}

impl GatedRendezvous {
    pub(crate) fn new(clients: Option<PeerSet>) -> Self {
        GatedRendezvous {
            inner: rendezvous::server::Behaviour::new(rendezvous::server::Config::default()),
            clients,
            refused: HashMap::new(),
        }
    }

    fn serves(&self, peer: &PeerId) -> bool {
        self.clients.as_ref().is_none_or(|set| set.contains(peer))
    }
}

impl NetworkBehaviour for GatedRendezvous {
    type ConnectionHandler = THandler<rendezvous::server::Behaviour>;
    type ToSwarm = rendezvous::server::Event;

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) = &event {
            self.refused.retain(|_, conn| conn != connection_id);
        }
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            HandlerEvent::Request { request_id, .. } if !self.serves(&peer) => {
                debug!(%peer, "refusing a rendezvous request from a peer that is no member device");
                // Dropping the event drops the answer's channel: the handler closes the
                // stream unanswered and reports the omission, which we swallow below.
                self.refused.insert(request_id, connection);
            }
            HandlerEvent::ResponseOmission(id)
            | HandlerEvent::ResponseSent(id)
            | HandlerEvent::InboundTimeout(id)
            | HandlerEvent::InboundStreamFailed { request_id: id, .. }
                if self.refused.remove(&id).is_some() => {}
            event => self
                .inner
                .on_connection_handler_event(peer, connection, event),
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        self.inner.poll(cx)
    }
}
