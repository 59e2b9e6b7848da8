//! Who counts as a member peer, for grove-net's two gates. An always-on node's rendezvous
//! point answers only the current member devices of the circles it holds; and only those,
//! plus an inviter this node is joining through (whose answer carries a whole circle), may
//! send frames larger than [`grove_net::UNKNOWN_PEER_FRAME_LEN`], so a stranger cannot make
//! the node buffer a huge frame before its hello or join request is found wanting.
//!
//! grove-net checks shared [`grove_net::PeerSet`]s; the node fills them from the store
//! before networking starts, and refills them whenever a circle's core document (where
//! membership lives) is written, by a local change, a peer's, a join or an import, so
//! admissions and removals apply at once.

use std::collections::{HashMap, HashSet};

use grove_core::{Circle, CORE_DOC};
use grove_net::{PeerId, PeerSet};
use grove_store::Store;
use tracing::debug;

use crate::identity::Identity;

/// The shared sets, and the member devices per circle so a change to one circle costs one
/// circle.
pub(crate) struct MemberPeers {
    /// Present on an always-on node.
    rendezvous: Option<PeerSet>,
    large_frames: PeerSet,
    by_circle: HashMap<String, HashSet<PeerId>>,
    /// Inviters whose answer this node waits for.
    joining: HashSet<PeerId>,
}

impl MemberPeers {
    pub(crate) fn new(rendezvous: Option<PeerSet>, large_frames: PeerSet) -> Self {
        MemberPeers {
            rendezvous,
            large_frames,
            by_circle: HashMap::new(),
            joining: HashSet::new(),
        }
    }

    /// Sets one circle's member devices; publishes only a change.
    pub(crate) fn set_circle(&mut self, id: &str, devices: HashSet<PeerId>) {
        if self.by_circle.get(id) != Some(&devices) {
            self.by_circle.insert(id.to_string(), devices);
            self.publish();
        }
    }

    /// While this node waits for `inviter`'s answer to a join, the inviter may send it a
    /// large frame (the circle).
    pub(crate) fn set_joining(&mut self, inviter: PeerId, waiting: bool) {
        let changed = if waiting {
            self.joining.insert(inviter)
        } else {
            self.joining.remove(&inviter)
        };
        if changed {
            self.publish();
        }
    }

    fn publish(&self) {
        let members: HashSet<PeerId> = self.by_circle.values().flatten().copied().collect();
        debug!(
            peers = members.len(),
            joining = self.joining.len(),
            "member peers"
        );
        let mut large = members.clone();
        large.extend(self.joining.iter().copied());
        self.large_frames.replace(large);
        if let Some(rendezvous) = &self.rendezvous {
            rendezvous.replace(members);
        }
    }
}

/// The member devices of every circle in `store`, read before the node starts (so a
/// member's first large frame is not refused while the node's state comes up).
pub(crate) fn stored_member_peers(store: &dyn Store, identity: &Identity) -> HashSet<PeerId> {
    let mut out = HashSet::new();
    for id in store.circles().unwrap_or_default() {
        let circle = store
            .load(&id, CORE_DOC)
            .ok()
            .flatten()
            .and_then(|bytes| Circle::open(&id, &bytes, identity.actor()).ok());
        if let Some(circle) = circle {
            out.extend(
                circle
                    .membership()
                    .current_devices()
                    .iter()
                    .filter_map(|d| device_peer(d)),
            );
        }
    }
    out
}

/// The peer id of a device (its Ed25519 public key in hex), if it is one.
pub(crate) fn device_peer(device: &str) -> Option<PeerId> {
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(device.as_bytes())
        .ok()?;
    let key = <[u8; 32]>::try_from(bytes.as_slice()).ok()?;
    grove_net::peer_id_from_ed25519_public(key).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_id_names_its_peer_and_nothing_else_does() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]).verifying_key();
        let hex = data_encoding::HEXLOWER.encode(key.as_bytes());
        assert_eq!(
            device_peer(&hex),
            Some(grove_net::peer_id_from_ed25519_public(key.to_bytes()).unwrap())
        );
        assert_eq!(device_peer("demo-device-0"), None);
        assert_eq!(device_peer(&hex[..62]), None);
    }
}
