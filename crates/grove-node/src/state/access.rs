//! The node's answers to the session machine's access questions
//! ([`grove_core::session::Access`]): which of the circles held here a peer is a current
//! member device of, read from the loaded circles, and what is kept on disk for a peer.
//! The rules and the tags themselves live in `crates/grove-core/src/session/access.rs`.

use std::collections::BTreeMap;

use grove_core::session::{Access, CircleKey, JOIN_REPLY};
use grove_core::sync::DocAddr;
use grove_net::PeerId;
use tracing::warn;

use super::NodeState;
use crate::addr::peer_device;
use crate::peer_records::sync_prefix;

impl Access<PeerId> for NodeState {
    /// Circles that cannot be read are skipped (and logged).
    fn circles_for(&mut self, peer: &PeerId) -> BTreeMap<String, CircleKey> {
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

    fn peer_bytes(&self, peer: &PeerId) -> Vec<u8> {
        peer.to_bytes()
    }

    fn peer_device(&self, peer: &PeerId) -> Option<String> {
        peer_device(peer)
    }

    /// Opens the circle with every shard in memory.
    fn load_whole(&mut self, id: &str) -> bool {
        let loaded = self.open(id).and_then(|()| {
            self.ensure_escalations(id)?;
            let docs = self.store.docs(id)?;
            self.ensure_docs(id, docs, false)
        });
        match loaded {
            Ok(()) => true,
            Err(e) => {
                warn!(circle = %id, error = %e, "cannot load circle; not syncing it");
                false
            }
        }
    }

    fn saved_sync_states(&mut self, peer: &PeerId, circle: &str) -> Vec<(DocAddr, Vec<u8>)> {
        let prefix = sync_prefix(circle, peer);
        match self.store.meta_with_prefix(&prefix) {
            Ok(entries) => entries
                .into_iter()
                .map(|(k, v)| (DocAddr::new(circle, &k[prefix.len()..]), v))
                .collect(),
            Err(e) => {
                warn!(circle = %circle, error = %e, "cannot read saved sync states");
                Vec::new()
            }
        }
    }

    /// Answers to our joins (see `join.rs`).
    fn takes_control(&self, kind: &str) -> bool {
        kind == JOIN_REPLY
    }
}
