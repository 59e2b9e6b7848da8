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
//! destinations too.

use libp2p::{relay, Multiaddr, PeerId};
use tracing::debug;

use crate::PeerSet;

/// Bytes one circuit may carry, both directions together, before the relay closes it.
///
/// Measured (see BENCHMARKS.md, "Real networks (netlab)"): a first sync of a circle of
/// 10,000 decisions moves 3.7 MB of sync payload, and the encryption and muxing inside the
/// circuit add under 1%. 64 MiB is over fifteen times that, and covers a first sync of
/// 100,000 decisions (36.6 MB) with room to spare, so a member whose hole punch failed
/// still gets a whole circle over one circuit. A circuit that reaches the limit closes and
/// the members open a new one (within the rate limits below); the sync resumes where it
/// stopped, since sync states are kept per peer.
pub const RELAY_CIRCUIT_BYTES: u64 = 64 << 20;

/// How long one circuit may stay open.
///
/// The 10,000-decision first sync took about 2 s on loopback (release) and tens of seconds
/// in a debug build or on a slow uplink (3.7 MB at 1 Mbit/s is 30 s). Ten minutes covers
/// the 100,000-decision one on such a link, and keeps a relayed pair's connection up
/// between syncs without re-dialling every two minutes as libp2p's default would.
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
