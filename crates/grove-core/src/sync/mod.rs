//! The sans-I/O sync engine: keeps a circle's Automerge documents converged across peers.
//!
//! # Model
//!
//! A circle holds several documents, each named by a key (`"core"`, `"decisions/2026-11"`),
//! together a [`DocAddr`]. The [`Engine`] keeps one automerge sync session
//! (`automerge::sync::State`) per (peer, document); the caller owns the documents and lends
//! them through [`Docs`]. The runtime feeds [`Input`]s to [`Engine::handle`] and carries out
//! the returned [`Effect`]s in order. The engine never blocks, reads a clock or does I/O, so
//! [`sim`] can drive many engines through a hostile network deterministically.
//!
//! # Protocol
//!
//! Every frame belongs to one circle (carried beside the frame, so the transport can check
//! membership without decoding it) and holds one [`Envelope`]:
//!
//! * `Announce` lists every document the sender holds in the circle, with its heads, and
//!   means "I restarted my sync sessions with you for this circle". It is sent when a peer
//!   connects and on every [`Input::Resync`]. The receiver restarts its own sessions too,
//!   creates the documents it lacks (empty; see [`Docs::create`]), and starts an exchange
//!   only for documents whose heads differ — so reconnecting with nothing new costs one
//!   small frame per circle each way, however many documents a circle has.
//! * `Sync` carries one automerge sync message for one document. Receiving it for a
//!   document we lack creates the document, so a new document (a new period shard) spreads
//!   to peers as soon as its first change is synced.
//!
//! A document that changes because of a peer's message is offered to every other
//! connected peer sharing the circle, so changes travel across several hops.
//!
//! # Loss and recovery
//!
//! Automerge's sync protocol assumes an ordered, reliable stream and stalls when a frame is
//! lost (it waits for a reply that never comes, and it never resends what it believes it
//! sent). The runtime recovers by feeding [`Input::Resync`] on a timer (every 30–60 s) and
//! whenever the transport reports a failed send: every session restarts keeping only its
//! shared heads, and the announce makes the peer restart too. Saved sync states
//! ([`Effect::SaveSyncState`]) make a reconnect exchange only what is new.
//!
//! # Misbehaving peers
//!
//! An undecodable frame, a frame for a circle not shared with the peer, or changes
//! automerge refuses yield [`Effect::Misbehaved`]; the engine forgets the peer and the
//! runtime should drop the connection. No input can make the engine panic.
//!
//! Authorisation of individual changes (author membership, signatures) is not done yet;
//! its seam is where `Engine` applies a received sync message.

mod engine;
mod envelope;
pub mod sim;

pub use engine::{DocAddr, Docs, Effect, Engine, Input, PeerFault};
pub use envelope::{
    is_valid_doc_key, AnnouncedDoc, Envelope, EnvelopeError, ENVELOPE_VERSION, MAX_ANNOUNCED_DOCS,
    MAX_ANNOUNCED_HEADS, MAX_DOC_KEY_LEN,
};

#[cfg(test)]
mod tests;
