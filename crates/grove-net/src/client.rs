//! The handle the rest of Grove holds: cheap to clone, talks to the event loop by commands.

use std::collections::HashSet;

use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::{
    wire::{self, Frame},
    NetError, Session,
};

/// A frame queued for one peer's writer, with where to report the outcome.
pub(crate) struct Outgoing {
    pub(crate) frame: Frame,
    pub(crate) done: oneshot::Sender<Result<(), NetError>>,
}

/// The queue of frames for one peer's writer.
pub(crate) type WriterQueue = mpsc::Sender<Outgoing>;

pub(crate) enum Command {
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    ListenOn {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    AddExternalAddress {
        addr: Multiaddr,
        reply: oneshot::Sender<()>,
    },
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, NetError>>,
    },
    DialDiscovered {
        peer: PeerId,
        reply: oneshot::Sender<()>,
    },
    RedialLan {
        reply: oneshot::Sender<()>,
    },
    /// Hands out the peer's writer queue, so that waiting for room in it holds up only the
    /// sender and never the event loop.
    WriterFor {
        peer: PeerId,
        session: Option<Session>,
        reply: oneshot::Sender<Result<WriterQueue, NetError>>,
    },
    ConnectedPeers {
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    Disconnect {
        peer: PeerId,
        reply: oneshot::Sender<()>,
    },
    SetAllowedPeers {
        allowed: Option<HashSet<PeerId>>,
        reply: oneshot::Sender<()>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Handle to the network. Clone it freely; every clone drives the same [`crate::EventLoop`].
///
/// Every method fails with [`NetError::Shutdown`] once the event loop has stopped.
#[derive(Clone)]
pub struct Client {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) local_peer_id: PeerId,
}

impl Client {
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Addresses we currently listen on.
    ///
    /// Cancel-safe: it only reads state.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.request(|reply| Command::ListenAddrs { reply }).await
    }

    /// Starts listening on one more address, e.g. a relay circuit
    /// (`<relay addr>/p2p/<relay id>/p2p-circuit`). The resulting addresses arrive as
    /// [`crate::Event::ListenAddr`].
    ///
    /// Cancel-safe in that dropping it leaves no half-done state, but the listener may still
    /// have been started.
    pub async fn listen_on(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.request(|reply| Command::ListenOn { addr, reply })
            .await?
    }

    /// Declares an address we are reachable at (e.g. a `grove serve` host's public address
    /// learned at runtime). A relay server hands out reservations only once it has one, and
    /// rendezvous registrations carry them.
    ///
    /// Cancel-safe in that dropping it leaves no half-done state, but the address may already
    /// have been added.
    pub async fn add_external_address(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.request(|reply| Command::AddExternalAddress { addr, reply })
            .await
    }

    /// Dials `addr` and waits until the connection is up, returning the remote peer id. If
    /// `addr` names a peer (`/p2p/<id>`) we are already connected to, returns at once.
    ///
    /// Cancel-safe in that dropping it leaves no half-done state, but the dial carries on and
    /// its outcome still arrives as events.
    pub async fn dial(&self, addr: Multiaddr) -> Result<PeerId, NetError> {
        self.request(|reply| Command::Dial { addr, reply }).await?
    }

    /// Dials a peer reported by [`crate::Event::PeerDiscovered`] at the addresses discovery
    /// found, unless we are connected to it or dialling it already. Returns once the dial
    /// is started; its outcome arrives as events. A peer found again after a failed dial is
    /// dialled again.
    pub async fn dial_discovered(&self, peer: PeerId) -> Result<(), NetError> {
        self.request(|reply| Command::DialDiscovered { peer, reply })
            .await
    }

    /// Dials again every member peer ([`crate::Config::large_frames_from`]) that mDNS still
    /// finds on our network and that we are neither connected to nor dialling, except those
    /// we disconnected ([`Client::disconnect`]) until they reach us or are found anew. mDNS
    /// reports a peer once while its record is refreshed, so without this two members on one
    /// LAN whose connection died (a Wi-Fi blip, a laptop's sleep) would stay apart. The same
    /// dial is made as soon as such a peer's last connection closes; this call is for when
    /// that one failed. Returns once the dials are started.
    pub async fn redial_lan(&self) -> Result<(), NetError> {
        self.request(|reply| Command::RedialLan { reply }).await
    }

    /// Sends a frame to a connected, allowed peer and waits until all of it has been written
    /// to the stream (not until the peer has processed it). Frames to one peer are written in
    /// the order their `send` calls reach the peer's queue. Large payloads are split into
    /// chunks on the wire and joined again on the other side.
    ///
    /// NOT cancel-safe: once the frame is queued, dropping this future does not take it back;
    /// it may or may not still be delivered.
    pub async fn send(&self, peer: PeerId, frame: Frame) -> Result<(), NetError> {
        self.send_to(peer, None, frame).await
    }

    /// Like [`Client::send`], but only on `session`: once it has ended the frame is not sent
    /// (on a newer connection to the peer either) and this fails with
    /// [`NetError::SessionEnded`].
    ///
    /// NOT cancel-safe, like [`Client::send`].
    pub async fn send_on(
        &self,
        peer: PeerId,
        session: Session,
        frame: Frame,
    ) -> Result<(), NetError> {
        self.send_to(peer, Some(session), frame).await
    }

    async fn send_to(
        &self,
        peer: PeerId,
        session: Option<Session>,
        frame: Frame,
    ) -> Result<(), NetError> {
        // Refuse a malformed frame here, before it is queued behind other frames.
        wire::check_frame(&frame)?;
        let queue = self
            .request(|reply| Command::WriterFor {
                peer,
                session,
                reply,
            })
            .await??;
        let (done, outcome) = oneshot::channel();
        queue
            .send(Outgoing { frame, done })
            .await
            .map_err(|_| NetError::ConnectionClosed(peer))?;
        outcome
            .await
            .map_err(|_| NetError::ConnectionClosed(peer))?
    }

    /// Peers we have at least one connection to, allowed or not.
    ///
    /// Cancel-safe: it only reads state.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, NetError> {
        self.request(|reply| Command::ConnectedPeers { reply })
            .await
    }

    /// Closes every connection to `peer`. [`crate::Event::PeerDisconnected`] follows.
    ///
    /// Cancel-safe in that dropping it leaves no half-done state, but the disconnect may
    /// already have been started.
    pub async fn disconnect(&self, peer: PeerId) -> Result<(), NetError> {
        self.request(|reply| Command::Disconnect { peer, reply })
            .await
    }

    /// Sets which peers may exchange frames with us. `None` allows every peer (membership not
    /// known yet). Peers outside a `Some` set have their frames refused in both directions:
    /// their inbound streams are closed with [`crate::Event::Refused`], sends to them fail
    /// with [`NetError::NotAllowed`], and frames queued for them are dropped.
    ///
    /// Cancel-safe in that dropping it leaves no half-done state, but the new set may already
    /// be in force.
    pub async fn set_allowed_peers(
        &self,
        allowed: Option<HashSet<PeerId>>,
    ) -> Result<(), NetError> {
        self.request(|reply| Command::SetAllowedPeers { allowed, reply })
            .await
    }

    /// Stops the event loop: connections close and every later call fails with
    /// [`NetError::Shutdown`]. Shutting down twice is not an error.
    ///
    /// Cancel-safe in that dropping it leaves no half-done state, but the shutdown may already
    /// have been started.
    pub async fn shutdown(&self) -> Result<(), NetError> {
        match self.request(|reply| Command::Shutdown { reply }).await {
            Ok(()) | Err(NetError::Shutdown) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn request<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| NetError::Shutdown)?;
        response.await.map_err(|_| NetError::Shutdown)
    }
}
