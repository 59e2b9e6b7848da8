//! Whom an always-on node's rendezvous point answers: the current member devices of the
//! circles it holds, as peer ids (a device key is its peer id). grove-net gates the
//! rendezvous server on a shared [`grove_net::PeerSet`]; the node refills it whenever a
//! circle's core document (where membership lives) is written, by a local change, a
//! peer's, a join or an import, so admissions and removals apply at once.

use std::collections::{HashMap, HashSet};

use grove_net::{PeerId, PeerSet};
use tracing::{debug, warn};

use crate::state::NodeState;

/// The shared set, and its parts per circle so a change to one circle costs one circle.
pub(crate) struct RendezvousClients {
    shared: PeerSet,
    by_circle: HashMap<String, HashSet<PeerId>>,
}

impl RendezvousClients {
    pub(crate) fn new(shared: PeerSet) -> Self {
        RendezvousClients {
            shared,
            by_circle: HashMap::new(),
        }
    }

    fn publish(&self) {
        let all: HashSet<PeerId> = self.by_circle.values().flatten().copied().collect();
        debug!(
            peers = all.len(),
            "rendezvous point serves these member devices"
        );
        self.shared.replace(all);
    }
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
    /// Fills the rendezvous point's set from every circle held here (at start).
    pub(crate) fn refresh_rendezvous_clients(&mut self) {
        if self.rendezvous.is_none() {
            return;
        }
        let ids = match self.circle_ids() {
            Ok(ids) => ids,
            Err(e) => {
                warn!(error = %e, "cannot list circles; the rendezvous point serves no one");
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
        if self.rendezvous.is_none() {
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
        if let Some(clients) = self.rendezvous.as_mut() {
            if clients.by_circle.get(id) != Some(&devices) {
                clients.by_circle.insert(id.to_string(), devices);
                clients.publish();
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
