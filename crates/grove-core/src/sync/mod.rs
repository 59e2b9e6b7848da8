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
//! membership without decoding it) and holds one [`Envelope`] (whose docs give the wire layout).
//!
//! * `Announce` lists every document the sender holds in the circle, with its heads. Both
//!   sides send one when a peer connects. The receiver creates the documents it lacks
//!   (empty; see [`Docs::create`]) and compares heads: equal documents need nothing more,
//!   and for a differing one exactly one side starts an exchange, the one whose sorted
//!   heads compare lower (both sides compare the same two lists, and an empty document
//!   sorts first, so the side lacking a document asks for it). Reconnecting with nothing
//!   new therefore costs one small frame per circle each way, however many documents the
//!   circle has.
//! * `Announce` with `restarted` is sent on [`Input::Resync`]: the sender restarted its
//!   sessions with the receiver in that circle; the receiver restarts its own and answers
//!   with a plain `Announce`, after which both proceed as on connect.
//! * `Sync` carries one automerge sync message for one document. Receiving it for a
//!   document we lack creates the document, so a new document (a new period shard)
//!   spreads as soon as its first change is synced.
//!
//! A document changed by a peer's message is offered to every other connected peer
//! sharing the circle, so changes travel across several hops.
//!
//! The runtime must feed `PeerConnected` before any `Received` from that peer (frames
//! from a peer without a session are dropped) and deliver each connection's frames in
//! order.
//!
//! # Loss and recovery
//!
//! Automerge's sync protocol assumes an ordered, reliable stream. The engine adds what it
//! needs to survive less:
//!
//! * A lost frame can leave a session waiting for a reply that never comes. The runtime
//!   feeds [`Input::Resync`] on a timer (every 30–60 s) and whenever the transport reports
//!   a failed send: every session restarts keeping only its shared heads, `sent_hashes`
//!   included, so whatever the lost frame carried is sent again. With nothing to repair a
//!   resync costs two small frames per peer and circle.
//! * Automerge never resends a change within a session, so a lost change would have both
//!   peers trade empty messages forever while one keeps asking for it. A change the peer
//!   asks for in two messages in a row is sent again.
//! * A peer with an empty document answers every message with empty heads until it has
//!   loaded the whole document we sent, and automerge answers empty heads with the whole
//!   document. The engine holds back unprompted messages until the peer's first answer
//!   and ignores empty-heads messages that predate the document, so a fresh peer is sent
//!   the document once.
//!
//! Saved sync states ([`Effect::SaveSyncState`]) make a reconnect exchange only what is
//! new.
//!
//! # Misbehaving peers
//!
//! An undecodable frame, a frame for a circle not shared with the peer, or changes
//! automerge refuses yield [`Effect::Misbehaved`]; the engine forgets the peer and the
//! runtime should drop the connection. No input can make the engine panic.
//!
//! # Authorisation
//!
//! Every `Sync` frame carries the signatures the sender holds for the changes it carries
//! ([`signing`]). Before applying a message the engine asks [`Docs::authorize`] (for
//! circles: [`crate::Circle::authorize_sync`]) and applies exactly the changes it checked.
//! Only one signature per author and message is checked: a change that a later change of
//! its author in the same message descends from is vouched for by that change's signature
//! ([`cover`], [`signing`]). A whole document sent to an empty one is checked from its
//! change graph ([`Docs::authorize_meta`]) and taken as loaded. A bad signature is
//! [`PeerFault::Unauthorized`]; a change that lacks the signature its check needs is
//! refused without blame (its cover may come later). A change the circle's rules forbid (a removed
//! member's, written after its removal) is refused with what depends on it, the rest of the
//! message is applied, and [`Effect::Refused`] lets the runtime tell a peer that wrote it
//! (dropped) from one that only relayed it (kept). The engine never asks that peer for
//! the refused changes again in the session (it would send them again, and they would be
//! refused again), but still sends it what it lacks: often the very removal that makes the
//! peer drop them, which it would otherwise never get. An author who is not a
//! member *yet* may be admitted by a core change still on its way, so such a message is
//! held and retried whenever the circle's core document changes; it becomes a fault once
//! our core equals the peer's and the author is still unknown.

mod circles;
pub mod cover;
mod engine;
mod envelope;
pub mod signing;
pub mod sim;
mod unshared;

pub use circles::CircleDocs;
pub use cover::Link;
pub use engine::{DocAddr, Docs, Effect, Engine, Input, PeerFault};
pub use envelope::{
    is_valid_doc_key, AnnouncedDoc, Envelope, EnvelopeError, ENVELOPE_VERSION, MAX_ANNOUNCED_DOCS,
    MAX_ANNOUNCED_HEADS, MAX_DOC_KEY_LEN,
};
pub use signing::{AuthError, ChangeSignature, SignedChange, SignedMeta};
pub use unshared::unshared_changes;

#[cfg(test)]
mod tests;
