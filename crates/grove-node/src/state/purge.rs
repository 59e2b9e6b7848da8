//! After a removal reaches this device: drop the removed member's later changes this
//! device took before it knew, and write again its own changes built on them (see
//! [`grove_core::Circle::purge_refused`]), so they reach the members who refuse the
//! removed member's changes. The rebuilt documents replace the stored ones, their saved
//! sync states are forgotten, and their sync sessions start over.

use std::collections::BTreeSet;

use grove_core::session::Input;
use grove_core::sync::DocAddr;
use grove_store::circle_meta_prefix;
use tracing::{info, warn};

use super::{Need, NodeState};
use crate::dto::NodeEvent;
use crate::error::{NodeError, Result};

fn purged_key(circle: &str) -> String {
    format!("{}purged-removals", circle_meta_prefix(circle))
}
impl NodeState {
    /// Runs after any change to `circle`'s core: does nothing unless it names a removal
    /// this node has not purged for yet.
    pub(crate) fn purge_after_removal(&mut self, circle: &str) {
        if let Err(e) = self.try_purge(circle) {
            warn!(circle, error = %e, "cannot drop the changes a removal forbids; trying again with the next change");
        }
    }

    fn try_purge(&mut self, id: &str) -> Result<()> {
        let removed: BTreeSet<String> = self
            .loaded(id)?
            .membership()
            .removed_members()
            .into_iter()
            .collect();
        if removed.is_empty() || self.purged_for(id)? == removed {
            return Ok(());
        }
        self.prepare(Some(id), &Need::All)?;
        let now = self.now();
        let purged = self.circle_mut(id)?.purge_refused(now)?;
        if purged.is_empty() {
            self.mark_purged(id, removed)?;
            return Ok(());
        }
        let docs: Vec<String> = purged.iter().map(|p| p.doc.clone()).collect();
        for p in &purged {
            info!(circle = id, doc = %p.doc, dropped = p.dropped, rewritten = p.rewritten,
                "dropped a removed member's later changes and what was built on them");
        }
        self.replace_stored(id, &docs)?;
        self.mark_purged(id, removed)?;
        self.forget_sync_states(id, &docs)?;
        for doc in &docs {
            self.session_input(Input::DocReplaced {
                addr: DocAddr::new(id, doc.as_str()),
            });
        }
        let _ = self.events.send(NodeEvent::CircleChanged {
            circle: id.to_string(),
            docs,
        });
        Ok(())
    }

    /// The removed members a purge last ran for (kept in the store, so a restart does not
    /// load a whole circle to find nothing).
    fn purged_for(&mut self, id: &str) -> Result<BTreeSet<String>> {
        if let Some(set) = self.removals_purged.get(id) {
            return Ok(set.clone());
        }
        let stored = self.store.get_meta(&purged_key(id))?;
        let set: BTreeSet<String> = stored
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        self.removals_purged.insert(id.to_string(), set.clone());
        Ok(set)
    }

    fn mark_purged(&mut self, id: &str, removed: BTreeSet<String>) -> Result<()> {
        let bytes = serde_json::to_vec(&removed).map_err(|cause| NodeError::Encode {
            what: "the purged members",
            cause,
        })?;
        self.store.put_meta(&purged_key(id), &bytes)?;
        self.removals_purged.insert(id.to_string(), removed);
        Ok(())
    }

    /// Writes each rebuilt document whole in place of what the store held (appending
    /// would bring the dropped changes back on the next load).
    fn replace_stored(&mut self, id: &str, docs: &[String]) -> Result<()> {
        let circle = self
            .circles
            .get_mut(id)
            .ok_or_else(|| NodeError::UnknownCircle(id.to_string()))?;
        for u in circle.unsaved() {
            if !docs.contains(&u.doc) {
                continue;
            }
            crate::signatures::save(self.store.as_ref(), id, &u.doc, &u.signatures)?;
            let snapshot = circle.snapshot(&u.doc).unwrap_or(u.bytes);
            if let Some((key, value)) = crate::months::heads_entry(id, &u.doc, &u.heads) {
                self.store.put_meta(&key, &value)?;
            }
            self.store.compact(id, &u.doc, &snapshot)?;
            circle.mark_saved(&u.doc, u.heads);
        }
        Ok(())
    }

    /// Saved sync states of these documents name changes that are gone.
    fn forget_sync_states(&self, id: &str, docs: &[String]) -> Result<()> {
        let prefix = format!("{}sync/", circle_meta_prefix(id));
        for (key, _) in self.store.meta_with_prefix(&prefix)? {
            let doc = key[prefix.len()..].split_once('/').map(|(_, doc)| doc);
            if doc.is_some_and(|d| docs.iter().any(|x| x == d)) {
                self.store.delete_meta(&key)?;
            }
        }
        Ok(())
    }
}
