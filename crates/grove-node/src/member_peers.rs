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
use tracing::{debug, warn};

use crate::identity::Identity;
use crate::state::NodeState;

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
fn device_peer(device: &str) -> Option<PeerId> {
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(device.as_bytes())
        .ok()?;
    let key = <[u8; 32]>::try_from(bytes.as_slice()).ok()?;
    grove_net::peer_id_from_ed25519_public(key).ok()
}

impl NodeState {
    /// Fills the sets from every circle held here (at start).
    pub(crate) fn refresh_member_peers(&mut self) {
        if self.member_peers.is_none() {
            return;
        }
        let ids = match self.circle_ids() {
            Ok(ids) => ids,
            Err(e) => {
                warn!(error = %e, "cannot list circles; no peer counts as a member");
                return;
            }
        };
        for id in ids {
            if let Err(e) = self.open(&id) {
                warn!(circle = %id, error = %e, "cannot open circle; its members are not served");
                continue;
            }
            self.circle_members_changed(&id);
        }
    }

    /// Re-reads one circle's member devices into the set (after its core was written).
    pub(crate) fn circle_members_changed(&mut self, id: &str) {
        if self.member_peers.is_none() {
            return;
        }
        let devices: HashSet<PeerId> = match self.loaded(id) {
            Ok(circle) => circle
                .membership()
                .current_devices()
                .iter()
                .filter_map(|d| device_peer(d))
                .collect(),
            Err(_) => return,
        };
        if let Some(peers) = self.member_peers.as_mut() {
            if peers.by_circle.get(id) != Some(&devices) {
                peers.by_circle.insert(id.to_string(), devices);
                peers.publish();
            }
        }
    }

    /// While this node waits for `inviter`'s answer to a join, the inviter may send it a
    /// large frame (the circle).
    pub(crate) fn joining_through(&mut self, inviter: PeerId, waiting: bool) {
        if let Some(peers) = self.member_peers.as_mut() {
            let changed = if waiting {
                peers.joining.insert(inviter)
            } else {
                peers.joining.remove(&inviter)
            };
            if changed {
                peers.publish();
            }
        }
    }
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
