//! Who may sync which circle: a node serves a circle only to peers whose peer id is a
//! current member device of it (the peer id and the device key are the same Ed25519 key).
//! The caller answers that question through [`Access`], over the circles it holds.
//!
//! Circles are named on the wire by keyed tags, never by id: HMAC-SHA256 keyed with the
//! circle's first key (every member holds it, an outsider does not, and it never rotates,
//! so two members at different key versions still match) over the circle id and both peer
//! ids, sender first. A tag means nothing to anyone but the one peer it is for, and it
//! differs on every pair of peers, so it cannot be replayed or used to link circles across
//! connections.

use std::collections::BTreeMap;

use hmac::{KeyInit as _, Mac as _};

use crate::sync::DocAddr;
use crate::CIRCLE_KEY_LEN;

pub const TAG_LEN: usize = 32;
pub type Tag = [u8; TAG_LEN];
const CONTEXT: &[u8] = b"grove/hello-tag/v2";

/// A circle's first key: what its tags are made with.
pub type CircleKey = [u8; CIRCLE_KEY_LEN];

/// The tag naming `circle` in a hello from the peer whose id bytes are `from` to the one
/// whose id bytes are `to` (see [`Access::peer_bytes`]), keyed with the circle's first key.
pub fn circle_tag(key: &CircleKey, circle: &str, from: &[u8], to: &[u8]) -> Tag {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in [CONTEXT, circle.as_bytes(), from, to] {
        // Length-prefixed, so no two different inputs run together alike.
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// What the session machine asks of the node about its circles and its peers, answered
/// from what it holds (like [`crate::sync::Docs`] for documents). `P` names a peer.
pub trait Access<P> {
    /// The circles held here of which `peer` is a current member device, each with its
    /// first key. Circles that cannot be read are left out.
    fn circles_for(&mut self, peer: &P) -> BTreeMap<String, CircleKey>;
    /// The bytes of `peer`'s id, as both sides put them in a tag.
    fn peer_bytes(&self, peer: &P) -> Vec<u8>;
    /// The device (public key hex, as the circle lists it) `peer` is, if it names one.
    fn peer_device(&self, peer: &P) -> Option<String>;
    /// Makes every document of `circle` available through [`crate::sync::Docs`] before it
    /// is synced (the engine syncs what is in memory); false to not sync it now.
    fn load_whole(&mut self, _circle: &str) -> bool {
        true
    }
    /// The sync states saved for `peer` in `circle` ([`super::Effect::SaveSyncState`]).
    fn saved_sync_states(&mut self, peer: &P, circle: &str) -> Vec<(DocAddr, Vec<u8>)>;
    /// Whether the caller handles control frames of this message `kind` itself (handed over as
    /// [`super::Effect::Control`]); any other control frame but a hello is a fault.
    fn takes_control(&self, _kind: &str) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_key_circle_and_both_peers_in_order() {
        let (a, b) = (b"peer-a".as_slice(), b"peer-b".as_slice());
        let key = [7u8; 32];
        let t = circle_tag(&key, "c-1", a, b);
        assert_eq!(t, circle_tag(&key, "c-1", a, b));
        assert_ne!(t, circle_tag(&key, "c-1", b, a));
        assert_ne!(t, circle_tag(&key, "c-2", a, b));
        assert_ne!(t, circle_tag(&[8u8; 32], "c-1", a, b));
        // Length prefixes keep parts from running together.
        assert_ne!(t, circle_tag(&key, "c-1", b"peer-ap", b"eer-b"));
    }
}
