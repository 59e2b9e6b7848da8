//! Who may sync which circle: a node serves a circle only to peers whose peer id is a
//! current member device of it (the peer id and the device key are the same Ed25519 key).
//!
//! Circles are named on the wire by keyed tags, never by id: HMAC-SHA256 keyed with the
//! circle's first key (every member holds it, an outsider does not, and it never rotates,
//! so two members at different key versions still match) over the circle id and both peer
//! ids, sender first. A tag means nothing to anyone but the one peer it is for, and it
//! differs on every pair of peers, so it cannot be replayed or used to link circles across
//! connections.

use std::collections::BTreeMap;

use grove_core::CIRCLE_KEY_LEN;
use grove_net::PeerId;
use hmac::{KeyInit as _, Mac as _};
use tracing::warn;

use crate::state::NodeState;

pub(crate) const TAG_LEN: usize = 32;
pub(crate) type Tag = [u8; TAG_LEN];
const CONTEXT: &[u8] = b"grove/hello-tag/v2";

/// The tag naming `circle` in a hello from `from` to `to`, keyed with the circle's first
/// key (public for tests that play a peer).
pub fn circle_tag(key: &[u8; CIRCLE_KEY_LEN], circle: &str, from: &PeerId, to: &PeerId) -> Tag {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in [CONTEXT, circle.as_bytes(), &from.to_bytes(), &to.to_bytes()] {
        // Length-prefixed, so no two different inputs run together alike.
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The device (public key hex) a peer id names, if it names an Ed25519 key.
pub(crate) fn peer_device(peer: &PeerId) -> Option<String> {
    grove_net::ed25519_public_from_peer_id(peer).map(|k| data_encoding::HEXLOWER.encode(&k))
}

impl NodeState {
    /// The circles held here of which `peer` is a current member device, each with the key
    /// its tags are made with. Circles that cannot be read are skipped (and logged).
    pub(crate) fn circles_for(&mut self, peer: &PeerId) -> BTreeMap<String, [u8; CIRCLE_KEY_LEN]> {
        let mut out = BTreeMap::new();
        let Some(device) = peer_device(peer) else {
            return out;
        };
        let ids = match self.circle_ids() {
            Ok(ids) => ids,
            Err(e) => {
                warn!(error = %e, "cannot list circles; serving none");
                return out;
            }
        };
        for id in ids {
            if let Err(e) = self.open(&id) {
                warn!(circle = %id, error = %e, "cannot open circle; not serving it");
                continue;
            }
            let Ok(circle) = self.loaded(&id) else {
                continue;
            };
            if !circle.membership().is_current_device(&device) {
                continue;
            }
            let first = circle.circle_key_ids().into_iter().next();
            if let Some(key) = first.and_then(|k| circle.circle_key_by_id(&k)) {
                out.insert(id, key);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_depend_on_key_circle_and_both_peers_in_order() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let key = [7u8; 32];
        let t = circle_tag(&key, "c-1", &a, &b);
        assert_eq!(t, circle_tag(&key, "c-1", &a, &b));
        assert_ne!(t, circle_tag(&key, "c-1", &b, &a));
        assert_ne!(t, circle_tag(&key, "c-2", &a, &b));
        assert_ne!(t, circle_tag(&[8u8; 32], "c-1", &a, &b));
    }
}
