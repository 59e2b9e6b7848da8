use std::{collections::HashSet, fmt, time::Duration};

use libp2p::{
    identity::{self, Keypair},
    multiaddr::Protocol,
    Multiaddr, PeerId,
};

use crate::{NetError, PeerSet};

/// How to start the network. Build with [`Config::new`] and change the fields you need.
#[derive(Clone)]
pub struct Config {
    /// The node's identity. The caller keeps it (see [`keypair_from_ed25519_secret`]) so the
    /// peer id survives restarts.
    pub keypair: Keypair,
    /// Where to listen. Default: all interfaces, any port, TCP and QUIC. A relayed address
    /// (`<relay addr>/p2p/<relay id>/p2p-circuit`) makes the node reachable through a relay.
    pub listen_addrs: Vec<Multiaddr>,
    /// Addresses the operator knows we are reachable at (e.g. a `grove serve` host's public
    /// address). Announced to peers and rendezvous points without waiting for AutoNAT.
    pub external_addrs: Vec<Multiaddr>,
    /// Find peers on the local network by multicast DNS.
    pub mdns: bool,
    /// Relay connections for other peers (circuit relay v2). For always-on nodes. The relay
    /// accepts reservations only once it knows an external address: set `external_addrs` or
    /// call [`crate::Client::add_external_address`]. Its circuits are sized to carry a whole
    /// first sync when hole punching fails (see [`crate::RELAY_CIRCUIT_BYTES`]), so it should
    /// serve only the peers in `relay_clients`.
    pub relay_server: bool,
    /// Whom the relay serves; `None` serves every peer. Reservations (being reachable
    /// through the relay) and circuits (reaching someone through it) asked by anyone else
    /// are refused. The owner keeps the set current (an always-on node: its circles' member
    /// devices, the same set as `rendezvous_clients`); it is checked at every request.
    pub relay_clients: Option<PeerSet>,
    /// Serve as a rendezvous point where peers register and discover each other.
    pub rendezvous_server: bool,
    /// Whom the rendezvous server answers; `None` answers every peer. The owner keeps the
    /// set current (an always-on node: its circles' member devices) and the server checks
    /// it at every request; anyone else's requests go unanswered.
    pub rendezvous_clients: Option<PeerSet>,
    /// Rendezvous points to register at and discover peers from; each must end in
    /// `/p2p/<peer id>`.
    pub rendezvous_points: Vec<Multiaddr>,
    /// Peers allowed to exchange frames with us from the start; `None` allows all. Change it
    /// later with [`crate::Client::set_allowed_peers`].
    pub allowed_peers: Option<HashSet<PeerId>>,
    /// Peers whose frames may be larger than [`crate::UNKNOWN_PEER_FRAME_LEN`]; `None`: every
    /// peer's (up to [`crate::wire::MAX_PAYLOAD_LEN`]). The owner keeps the set current
    /// (Grove: its circles' member devices and the inviter it is joining through); a larger
    /// frame announced by anyone else is refused on its first chunk, so a stranger cannot
    /// make us buffer hundreds of megabytes before it is found out. These are also the
    /// peers on our network that are called back when their connection dies (see
    /// [`crate::Client::redial_lan`]); with `None`, none is.
    pub large_frames_from: Option<PeerSet>,
    /// Namespace to register and discover under at the rendezvous points.
    pub rendezvous_namespace: String,
    /// How long a connection with no open streams stays up.
    pub idle_connection_timeout: Duration,
    /// Capacity of the command channel from [`crate::Client`]s to the event loop.
    pub command_capacity: usize,
    /// Capacity of the event channel out of the event loop. Inbound frames wait (and peers are
    /// slowed by stream flow control) while it is full.
    pub event_capacity: usize,
}

impl Config {
    /// Defaults for a desktop node: listen everywhere on TCP and QUIC, mDNS on, no server roles.
    pub fn new(keypair: Keypair) -> Self {
        Self {
            keypair,
            listen_addrs: vec![
                Multiaddr::empty()
                    .with(Protocol::Ip4([0, 0, 0, 0].into()))
                    .with(Protocol::Tcp(0)),
                Multiaddr::empty()
                    .with(Protocol::Ip4([0, 0, 0, 0].into()))
                    .with(Protocol::Udp(0))
                    .with(Protocol::QuicV1),
            ],
            external_addrs: Vec::new(),
            mdns: true,
            relay_server: false,
            relay_clients: None,
            rendezvous_server: false,
            rendezvous_clients: None,
            rendezvous_points: Vec::new(),
            allowed_peers: None,
            large_frames_from: None,
            rendezvous_namespace: "grove".to_owned(),
            idle_connection_timeout: Duration::from_secs(60),
            command_capacity: 64,
            event_capacity: 64,
        }
    }

    /// Loopback TCP only, mDNS off: for tests and benches that must not touch the LAN.
    pub fn loopback(keypair: Keypair) -> Self {
        Self {
            listen_addrs: vec![Multiaddr::empty()
                .with(Protocol::Ip4([127, 0, 0, 1].into()))
                .with(Protocol::Tcp(0))],
            mdns: false,
            ..Self::new(keypair)
        }
    }

    pub fn local_peer_id(&self) -> PeerId {
        self.keypair.public().to_peer_id()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("peer_id", &self.local_peer_id())
            .field("listen_addrs", &self.listen_addrs)
            .field("external_addrs", &self.external_addrs)
            .field("mdns", &self.mdns)
            .field("relay_server", &self.relay_server)
            .field("relay_clients", &self.relay_clients)
            .field("rendezvous_server", &self.rendezvous_server)
            .field("rendezvous_clients", &self.rendezvous_clients)
            .field("large_frames_from", &self.large_frames_from)
            .field("rendezvous_points", &self.rendezvous_points)
            .field("allowed_peers", &self.allowed_peers)
            .field("rendezvous_namespace", &self.rendezvous_namespace)
            .field("idle_connection_timeout", &self.idle_connection_timeout)
            .field("command_capacity", &self.command_capacity)
            .field("event_capacity", &self.event_capacity)
            .finish()
    }
}

/// Builds the libp2p identity from a 32-byte ed25519 secret that the node keeps in its own
/// store. The same secret always gives the same [`PeerId`].
pub fn keypair_from_ed25519_secret(mut secret: [u8; 32]) -> Result<Keypair, NetError> {
    // libp2p zeroes the buffer it is given; `secret` is our own copy.
    Keypair::ed25519_from_bytes(&mut secret).map_err(|e| NetError::InvalidKey(e.to_string()))
}

/// The [`PeerId`] of the member whose ed25519 public key is `public`, for building the set of
/// allowed peers from a circle's member list.
pub fn peer_id_from_ed25519_public(public: [u8; 32]) -> Result<PeerId, NetError> {
    let key = identity::ed25519::PublicKey::try_from_bytes(&public)
        .map_err(|e| NetError::InvalidKey(e.to_string()))?;
    Ok(identity::PublicKey::from(key).to_peer_id())
}

/// The ed25519 public key a peer id was made from, if it was made from one (every Grove
/// device's is: the key travels inside the id, identity-hashed). The inverse of
/// [`peer_id_from_ed25519_public`].
pub fn ed25519_public_from_peer_id(peer: &PeerId) -> Option<[u8; 32]> {
    let bytes = peer.to_bytes();
    // An identity multihash: code 0, a one-byte length, then the protobuf-encoded key.
    let (&[0, len], key) = bytes.split_first_chunk::<2>()? else {
        return None;
    };
    if usize::from(len) != key.len() {
        return None;
    }
    let public = identity::PublicKey::try_decode_protobuf(key).ok()?;
    Some(public.try_into_ed25519().ok()?.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_secret_gives_the_same_peer_id_and_matches_its_public_key() {
        let a = keypair_from_ed25519_secret([7; 32]).unwrap();
        let b = keypair_from_ed25519_secret([7; 32]).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());

        let public: [u8; 32] = a.clone().try_into_ed25519().unwrap().public().to_bytes();
        assert_eq!(
            peer_id_from_ed25519_public(public).unwrap(),
            a.public().to_peer_id(),
            "a member's peer id must be derivable from its public key alone"
        );
        assert_eq!(
            ed25519_public_from_peer_id(&a.public().to_peer_id()),
            Some(public),
            "and the key must be recoverable from the peer id"
        );
        assert_eq!(ed25519_public_from_peer_id(&PeerId::random()), None);
    }

    #[test]
    fn different_secrets_give_different_peer_ids() {
        let a = keypair_from_ed25519_secret([1; 32]).unwrap();
        let b = keypair_from_ed25519_secret([2; 32]).unwrap();
        assert_ne!(a.public().to_peer_id(), b.public().to_peer_id());
    }
}
