//! What the store keeps about peers (remembered addresses, sync states, the time of the
//! last sync), and the always-on nodes the circles held here record.

use std::collections::HashMap;

use grove_core::automerge::{self, ChangeHash};
use grove_net::{Multiaddr, PeerId};
use grove_store::circle_meta_prefix;

use crate::addr::with_peer;
use crate::error::Result;
use crate::identity::Identity;

/// Meta key prefix of peer addresses remembered with `grove peer add`.
pub(crate) const PEERS_PREFIX: &str = "peers/";

pub(crate) fn sync_prefix(circle: &str, peer: &PeerId) -> String {
    format!("{}sync/{peer}/", circle_meta_prefix(circle))
}

/// For each document of `circle`, the heads each peer that ever synced it is known to share
/// with us (from the saved sync states). A state that does not decode counts as nothing
/// shared: it only makes the pending figure err on the side of "not sent".
pub(crate) fn shared_heads(
    store: &dyn grove_store::Store,
    circle: &str,
) -> Result<HashMap<String, Vec<Vec<ChangeHash>>>> {
    let prefix = format!("{}sync/", circle_meta_prefix(circle));
    let mut out: HashMap<String, Vec<Vec<ChangeHash>>> = HashMap::new();
    for (key, bytes) in store.meta_with_prefix(&prefix)? {
        let Some((_peer, doc)) = key[prefix.len()..].split_once('/') else {
            continue;
        };
        let heads = automerge::sync::State::decode(&bytes)
            .map(|s| s.shared_heads)
            .unwrap_or_default();
        out.entry(doc.to_string()).or_default().push(heads);
    }
    Ok(out)
}

pub(crate) fn last_sync_prefix(circle: &str) -> String {
    format!("{}last-sync/", circle_meta_prefix(circle))
}

/// Addresses (ending in `/p2p/<peer>`) of the always-on nodes recorded in the circles held
/// in `store`, except `me`; one per node, so each is used once as relay.
pub(crate) fn always_on_nodes(
    store: &dyn grove_store::Store,
    identity: &Identity,
    me: PeerId,
) -> Vec<Multiaddr> {
    let mut list: Vec<Multiaddr> = always_on_addrs(store, identity, me)
        .into_values()
        .filter_map(|addrs| addrs.into_iter().next())
        .collect();
    list.sort();
    list
}

/// Every recorded address of each always-on node (typically one per transport), for
/// rendezvous: grove-net connects to the node over each transport it listens on, which
/// hole punching over that transport needs.
pub(crate) fn always_on_rendezvous(
    store: &dyn grove_store::Store,
    identity: &Identity,
    me: PeerId,
) -> Vec<Multiaddr> {
    let mut list: Vec<Multiaddr> = always_on_addrs(store, identity, me)
        .into_values()
        .flatten()
        .collect();
    list.sort();
    list
}

fn always_on_addrs(
    store: &dyn grove_store::Store,
    identity: &Identity,
    me: PeerId,
) -> HashMap<PeerId, Vec<Multiaddr>> {
    let mut out: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
    for id in store.circles().unwrap_or_default() {
        let Ok(Some(bytes)) = store.load(&id, grove_core::CORE_DOC) else {
            continue;
        };
        let Ok(circle) = grove_core::Circle::open(&id, &bytes, identity.actor()) else {
            continue;
        };
        for node in circle.known_nodes().unwrap_or_default() {
            let Ok(peer) = node.peer.parse::<PeerId>() else {
                continue;
            };
            if peer == me {
                continue;
            }
            let addrs: Vec<Multiaddr> = node
                .addrs
                .iter()
                .filter_map(|a| a.parse::<Multiaddr>().ok())
                .map(|a| with_peer(a, peer))
                .collect();
            if !addrs.is_empty() {
                // The same node recorded in several circles: one circle's record is enough.
                out.insert(peer, addrs);
            }
        }
    }
    out
}
