//! The node's open circles as the sync engine sees them.

use std::collections::HashMap;

use grove_core::automerge::Automerge;
use grove_core::sync::{DocAddr, Docs};
use grove_core::Circle;

/// Lends the engine the documents of the open circles. A circle is synced only once every
/// one of its shards is in memory (see `NodeState::connect_engine`), so a document the
/// circle lacks in memory is one it lacks on disk too.
pub(crate) struct CircleDocs<'a>(pub(crate) &'a mut HashMap<String, Circle>);

impl Docs for CircleDocs<'_> {
    fn get(&self, addr: &DocAddr) -> Option<&Automerge> {
        self.0.get(&addr.circle)?.doc(&addr.doc)
    }

    fn get_mut(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        let circle = self.0.get_mut(&addr.circle)?;
        // `doc_mut` creates missing shards; only `create` may do that.
        if !circle.has_doc(&addr.doc) {
            return None;
        }
        circle.doc_mut(&addr.doc)
    }

    fn create(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        // Refuses keys that are not Grove documents; a peer's new month becomes a shard.
        self.0.get_mut(&addr.circle)?.doc_mut(&addr.doc)
    }

    fn doc_keys(&self, circle: &str) -> Vec<String> {
        self.0.get(circle).map(Circle::doc_keys).unwrap_or_default()
    }
}
