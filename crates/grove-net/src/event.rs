use libp2p::{Multiaddr, PeerId};

use crate::wire::{Frame, WireError};

/// One unbroken stretch of being connected to a peer: from [`Event::PeerConnected`] to
/// [`Event::PeerDisconnected`]. Frames carry the session they arrived on and can be sent on a
/// given session only, so a frame meant for (or read from) a connection that is gone is never
/// mistaken for one of a newer connection to the same peer, whose other end may have
/// restarted and knows nothing of the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Session(pub(crate) u64);

impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What the network reports to its owner, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// We listen on a new address (one per interface for unspecified addresses).
    ListenAddr { addr: Multiaddr },
    /// The first connection to `peer` is up; `addr` is its remote address.
    PeerConnected {
        peer: PeerId,
        addr: Multiaddr,
        session: Session,
    },
    /// The last connection to `peer` closed, ending `session`.
    PeerDisconnected { peer: PeerId, session: Session },
    /// One of several connections to `peer` closed; `session` goes on over the others. Frames
    /// in flight on the closed one may be lost, and the peer's other end may have restarted
    /// behind it (libp2p can report an old connection closed after a newer one is up).
    ConnectionLost { peer: PeerId, session: Session },
    /// A new direct connection to `peer` came up beside others (a hole punch, or the peer
    /// reaching us from a network it moved to); `session` goes on, and frames now go over
    /// the new connection. Frames in flight on the old path may be lost: resync.
    PathChanged { peer: PeerId, session: Session },
    /// mDNS or a rendezvous point told us where `peer` can be reached. Allowed peers are
    /// dialled automatically; others are only reported.
    PeerDiscovered { peer: PeerId, addr: Multiaddr },
    /// Our relayed address through `relay` closed: the relay refused the reservation (we
    /// are not among those it serves) or our connection to it ended. It is taken again
    /// whenever we reconnect to the relay.
    RelayedAddressClosed { relay: PeerId, reason: String },
    /// We registered at a rendezvous point, so peers asking it can now find us.
    Registered { rendezvous_point: PeerId },
    /// A whole frame from an allowed peer, read on `session`. Frames read just before a
    /// session ended may arrive after its [`Event::PeerDisconnected`].
    Received {
        peer: PeerId,
        session: Session,
        frame: Frame,
    },
    /// `peer` broke the protocol; its streams were closed and it was disconnected.
    Misbehaved { peer: PeerId, reason: Misbehaviour },
    /// `peer` is not allowed and tried to send us frames; its stream was closed. Reported once
    /// per connection however many streams it opens.
    Refused { peer: PeerId },
}

/// How a peer broke the `/grove/sync/1` protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misbehaviour {
    #[error("sent an invalid frame: {0}")]
    Wire(#[from] WireError),
    #[error("opened more than {limit} concurrent /grove/sync/1 streams")]
    TooManyStreams { limit: usize },
    #[error(
        "announced a frame of {announced} bytes; a peer we do not know may send at most {limit}"
    )]
    FrameTooLarge { announced: u64, limit: usize },
}
