use libp2p::{Multiaddr, PeerId};

use crate::wire::{Frame, WireError};

/// What the network reports to its owner, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// We listen on a new address (one per interface for unspecified addresses).
    ListenAddr { addr: Multiaddr },
    /// The first connection to `peer` is up; `addr` is its remote address.
    PeerConnected { peer: PeerId, addr: Multiaddr },
    /// The last connection to `peer` closed.
    PeerDisconnected { peer: PeerId },
    /// mDNS or a rendezvous point told us where `peer` can be reached. Allowed peers are
    /// dialled automatically; others are only reported.
    PeerDiscovered { peer: PeerId, addr: Multiaddr },
    /// We registered at a rendezvous point, so peers asking it can now find us.
    Registered { rendezvous_point: PeerId },
    /// A whole frame from an allowed peer.
    Received { peer: PeerId, frame: Frame },
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
}
