//! Grove's network layer, and the only crate that knows libp2p.
//!
//! It moves opaque [`Frame`]s (`circle`, message `kind`, payload bytes) between peers over the
//! `/grove/sync/1` stream protocol and knows nothing of what the payload means.
//!
//! Shape (after rust-libp2p's file-sharing example): [`new`] returns a cloneable [`Client`]
//! that sends commands over a bounded channel to an [`EventLoop`] owning the swarm, plus a
//! bounded channel of [`Event`]s. The caller runs [`EventLoop::run`] on a task of its choice.
//!
//! Transports: TCP and QUIC (Noise + Yamux on TCP), relay client, with identify, ping, DCUtR,
//! AutoNAT, optional mDNS, optional relay server and rendezvous server, and a rendezvous client.
//! There is deliberately no Kademlia / public DHT: circles find each other on the LAN or
//! through their own always-on nodes.
//!
//! Authorisation: [`Client::set_allowed_peers`] limits who may exchange frames with us, and
//! [`Config::rendezvous_clients`] whom our rendezvous server answers, and
//! [`Config::relay_clients`] whom our relay serves.

mod behaviour;
mod client;
mod config;
mod error;
mod event;
mod event_loop;
mod relay_gate;
mod rendezvous_gate;
mod streams;
mod sync_protocol;
pub mod wire;

pub use behaviour::SYNC_PROTOCOL;
pub use client::Client;
pub use config::{
    ed25519_public_from_peer_id, keypair_from_ed25519_secret, peer_id_from_ed25519_public, Config,
};
pub use error::NetError;
pub use event::{Event, Misbehaviour, Session};
pub use event_loop::{new, EventLoop, MAX_INBOUND_STREAMS_PER_PEER, UNKNOWN_PEER_FRAME_LEN};
pub use relay_gate::{RELAY_CIRCUIT_BYTES, RELAY_CIRCUIT_DURATION};
pub use rendezvous_gate::PeerSet;
pub use wire::Frame;

/// The libp2p types that appear in this crate's API, so callers need not depend on libp2p.
pub use libp2p::{identity::Keypair, multiaddr::Protocol, Multiaddr, PeerId};
