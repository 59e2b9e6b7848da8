//! Peer addresses as people type them and as the node dials them.

use grove_net::{Multiaddr, PeerId, Protocol};

use crate::error::{NodeError, Result};

/// An address to remember and dial later: a multiaddr with a transport, ending in the
/// peer's id (`…/p2p/<peer id>`), so the node knows whom it reaches. An empty or
/// transport-less address would be stored and dialled at every start, to no end.
pub(crate) fn parse_peer_addr(addr: &str) -> Result<Multiaddr> {
    let refuse = |missing| NodeError::IncompleteAddress {
        addr: addr.to_string(),
        missing,
    };
    if addr.trim().is_empty() {
        return Err(refuse("it is empty"));
    }
    let parsed = parse_addr(addr)?;
    let protocols: Vec<Protocol<'_>> = parsed.iter().collect();
    match protocols.split_last() {
        Some((Protocol::P2p(_), transport)) if !transport.is_empty() => Ok(parsed),
        Some((Protocol::P2p(_), _)) => Err(refuse("it names a peer but not where to reach it")),
        _ => Err(refuse("it must end in /p2p/ and the peer's id")),
    }
}

pub(crate) fn parse_addr(addr: &str) -> Result<Multiaddr> {
    addr.trim()
        .parse::<Multiaddr>()
        .map_err(|cause| NodeError::InvalidAddress {
            addr: addr.to_string(),
            cause,
        })
}

/// The device (public key hex) a peer id names, if it names an Ed25519 key.
pub(crate) fn peer_device(peer: &PeerId) -> Option<String> {
    grove_net::ed25519_public_from_peer_id(peer).map(|k| data_encoding::HEXLOWER.encode(&k))
}

/// `addr` ending in `/p2p/<peer>`, so the dial checks it reaches that peer.
pub(crate) fn with_peer(addr: Multiaddr, peer: PeerId) -> Multiaddr {
    match addr.iter().last() {
        Some(Protocol::P2p(_)) => addr,
        _ => addr.with(Protocol::P2p(peer)),
    }
}
