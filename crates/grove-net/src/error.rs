use libp2p::{Multiaddr, PeerId};

use crate::{wire::WireError, Session};

/// Everything that can go wrong in grove-net, for callers to match on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    #[error("the network event loop has stopped; restart the node to reconnect")]
    Shutdown,
    #[error("invalid network configuration: {0}")]
    InvalidConfig(String),
    #[error("could not set up the {what} transport: {reason}")]
    Transport { what: &'static str, reason: String },
    #[error(
        "cannot listen on {addr}: {reason}; check that the address is local and the port is free"
    )]
    Listen { addr: Multiaddr, reason: String },
    #[error("could not dial {addr}: {reason}")]
    Dial { addr: Multiaddr, reason: String },
    #[error("peer {0} is not allowed; add it to the allowed peers first")]
    NotAllowed(PeerId),
    #[error("not connected to peer {0}; dial it first")]
    NotConnected(PeerId),
    #[error("the session {session} with {peer} has ended; the frame was meant for a connection that is gone")]
    SessionEnded { peer: PeerId, session: Session },
    #[error("could not open a /grove/sync/1 stream to {peer}: {reason}")]
    OpenStream { peer: PeerId, reason: String },
    #[error("sending to {peer} failed: {reason}")]
    Send { peer: PeerId, reason: String },
    #[error("the connection to {0} closed before the frame was written")]
    ConnectionClosed(PeerId),
    #[error("invalid secret key: {0}")]
    InvalidKey(String),
    #[error("frame cannot be sent: {0}")]
    Frame(#[from] WireError),
}
