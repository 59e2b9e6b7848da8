//! The relay server's configuration: circuits big enough to carry a sync, for member
//! devices only.
//!
//! libp2p's defaults (128 KiB and 2 minutes per circuit) are meant for relays that only
//! help strangers coordinate a hole punch. Grove's relay is a circle's own always-on node,
//! and when hole punching fails (a symmetric NAT, a firewall dropping unsolicited UDP and
//! TCP) the circuit is the only path between two members: it must carry their whole sync.
//!
//! Being that generous is safe only because the relay serves nobody else. libp2p's relay has
//! no access hook, but it asks every rate limiter in its config before accepting a
//! reservation or a circuit, with the asking peer's id: a limiter that answers "no" for
//! anyone outside the [`PeerSet`] is the gate. A refused peer hears "resource limit
//! exceeded" (the only refusal those limiters can give), never whom the relay serves.
//! Circuits *to* a peer need that peer's reservation, so gating reservations gates the
//! destinations too. A reservation lives as long as the connection it was made on, and an
//! always-on node disconnects a device as soon as it is no member of any circle they share
//! (grove-node's state/network.rs), so a removed device loses its relayed address with it.

use libp2p::{relay, Multiaddr, PeerId};
use tracing::debug;

use crate::PeerSet;

/// Bytes one circuit may carry, both directions together, before the relay closes it.
///
/// Measured: a member joining a circle of 10,000 decisions through the relay alone (its
/// symmetric NAT defeats hole punching; `scripts/netlab.sh`, scenario b) received 4.03 MB
/// of frames, the circle and the sync that follows; the other direction is a few kilobytes,
/// and Noise and Yamux inside the circuit add under 1% (a 16-byte tag per message of up to
/// 64 KiB, a 12-byte header per frame). 64 MiB is sixteen times that, and still covers a
/// first sync of 100,000 decisions (36.6 MB of frames, BENCHMARKS.md) with room to spare.
/// A circuit that reaches the limit closes, the member redials through the relay (within
/// the rate limits) and the sync resumes where it stopped: sync states are kept per peer.
pub const RELAY_CIRCUIT_BYTES: u64 = 64 << 20;

/// How long one circuit may stay open.
///
/// The same 10,000-decision first sync took 14 s through the relay in a debug build on two
/// busy cores (the receiver checking signatures is the bottleneck, not the path), 2 s in
/// release on loopback, and would take half a minute on a 1 Mbit/s uplink. Ten minutes
/// covers the 100,000-decision one on such a link, and keeps a relayed pair's connection
/// up between syncs instead of re-dialling every two minutes as libp2p's default would.
pub const RELAY_CIRCUIT_DURATION: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The relay's configuration: libp2p's defaults (reservation and circuit counts, per-peer
/// and per-IP rate limits), the circuit limits above, and the member gate in front of
/// every rate limiter so a refused peer does not spend a member's tokens.
pub(crate) fn relay_config(clients: Option<PeerSet>) -> relay::Config {
    let mut config = relay::Config {
        max_circuit_bytes: RELAY_CIRCUIT_BYTES,
        max_circuit_duration: RELAY_CIRCUIT_DURATION,
        ..relay::Config::default()
    };
    if let Some(clients) = clients {
        config
            .reservation_rate_limiters
            .insert(0, gate(clients.clone(), "reservation"));
        config
            .circuit_src_rate_limiters
            .insert(0, gate(clients, "circuit"));
    }
    config
}

fn gate(clients: PeerSet, what: &'static str) -> Box<dyn relay::RateLimiter> {
    Box::new(
        move |peer: PeerId, addr: &Multiaddr, _: std::time::Instant| {
            let member = clients.contains(&peer);
            if !member {
                debug!(%peer, %addr, what, "refusing a relay request from a peer that is no member device");
            }
            member
        },
    )
}
