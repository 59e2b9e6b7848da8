//! Keeps the shared peer sets of `member_peers.rs` current as circles change: who may send
//! large frames, and whom an always-on node serves as rendezvous point and relay.

use std::collections::HashSet;

use grove_net::PeerId;
use tracing::warn;

use super::NodeState;
use crate::member_peers::device_peer;

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
            peers.set_circle(id, devices);
        }
    }

    /// While this node waits for `inviter`'s answer to a join, the inviter may send it a
    /// large frame (the circle).
    pub(crate) fn joining_through(&mut self, inviter: PeerId, waiting: bool) {
        if let Some(peers) = self.member_peers.as_mut() {
            peers.set_joining(inviter, waiting);
        }
    }
}
