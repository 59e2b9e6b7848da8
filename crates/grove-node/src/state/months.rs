//! What the node's state does with the months it holds: loads them counted, lets them go
//! past the budget (see `months.rs` for the tallies and the budget).

use std::collections::{BTreeSet, HashMap};

use grove_core::{shard_doc, MonthTally};
use tracing::debug;

use crate::error::{NodeError, Result};
use crate::months::{heads_bytes, key, stored_tally, Stored};
use crate::state::NodeState;

impl NodeState {
    /// The tally of month `period`: from its rows if loaded (and stored for next time),
    /// else the stored one if still valid, else counted after loading the month.
    pub(crate) fn month_tally(&mut self, id: &str, period: &str) -> Result<MonthTally> {
        let doc = shard_doc(period);
        let reader = self.identity.member();
        if !self.loaded(id)?.has_doc(&doc) {
            if let Some(t) = stored_tally(self.store.as_ref(), id, &doc, &reader)? {
                return Ok(t);
            }
            self.ensure_docs(id, vec![doc.clone()], true)?;
        }
        let tally = self.loaded(id)?.month_tally(period, &reader)?;
        self.store_tally(id, &doc, &tally)?;
        Ok(tally)
    }

    /// The stored tally of a month not in memory, if valid.
    pub(crate) fn stored_month_tally(&self, id: &str, period: &str) -> Result<Option<MonthTally>> {
        let reader = self.identity.member();
        stored_tally(self.store.as_ref(), id, &shard_doc(period), &reader)
    }

    /// Stores the tally of loaded month `doc` unless the store holds it already. Only for a
    /// month whose every change is on disk: a tally of unsaved heads could outlive them.
    pub(crate) fn store_tally(&self, id: &str, doc: &str, tally: &MonthTally) -> Result<()> {
        let circle = self.loaded(id)?;
        let Some(am) = circle.doc(doc) else {
            return Ok(());
        };
        if !circle.is_saved(doc) {
            return Ok(());
        }
        let heads = data_encoding::HEXLOWER.encode(&heads_bytes(&am.get_heads()));
        let store = self.store.as_ref();
        let heads_key = key(id, doc, "heads");
        let stored_heads = store
            .get_meta(&heads_key)?
            .map(|h| data_encoding::HEXLOWER.encode(&h));
        if stored_heads.as_deref() != Some(heads.as_str()) {
            // A home from before tallies, or a crash between a heads entry and its chunk:
            // the loaded document is what is on disk.
            store.put_meta_lazily(&heads_key, &heads_bytes(&am.get_heads()))?;
        }
        let tally_key = key(id, doc, "tally");
        let fresh = store
            .get_meta(&tally_key)?
            .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
            .is_some_and(|s| s.heads == heads && s.tally == *tally);
        if !fresh {
            let bytes = serde_json::to_vec(&Stored {
                heads,
                tally: tally.clone(),
            })
            .map_err(|cause| NodeError::Encode {
                what: "a month's tally",
                cause,
            })?;
            store.put_meta_lazily(&tally_key, &bytes)?;
        }
        Ok(())
    }

    /// How many decisions of the circle `sel` names cite each principle, month by month
    /// from their tallies; months without a valid one are loaded, counted and let go.
    pub(crate) fn citations(
        &mut self,
        sel: Option<&str>,
    ) -> Result<(String, HashMap<String, usize>)> {
        let id = self.prepare(sel, &crate::state::Need::Core)?;
        let mut counts = HashMap::new();
        for month in self.months_newest_first(&id)? {
            let tally = self.month_tally(&id, &month)?;
            for (p, n) in tally.citations {
                *counts.entry(p).or_insert(0) += n;
            }
            self.trim_months(&id, &BTreeSet::new());
        }
        Ok((id, counts))
    }

    /// Lets the least recently used months of circle `id` go until the rest hold no more
    /// than the budget of decisions; `pinned` months (the page being built) stay.
    pub(crate) fn trim_months(&mut self, id: &str, pinned: &BTreeSet<String>) {
        let Some(budget) = self.months.budget else {
            return;
        };
        if self.months.whole.contains(id) || self.syncing(id) {
            return;
        }
        let Some(circle) = self.circles.get_mut(id) else {
            return;
        };
        let counts = circle.decision_counts();
        let mut held: usize = counts.values().sum();
        if held <= budget {
            return;
        }
        let used = self.months.used.entry(id.to_string()).or_default();
        let mut order: Vec<(u64, String, usize)> = counts
            .into_iter()
            .map(|(period, n)| {
                let doc = shard_doc(&period);
                (used.get(&doc).copied().unwrap_or(0), doc, n)
            })
            .filter(|(_, doc, _)| !pinned.contains(doc))
            .collect();
        order.sort();
        let mut freed = false;
        for (_, doc, n) in order {
            if held <= budget {
                break;
            }
            if circle.unload_shard(&doc) {
                used.remove(&doc);
                held -= n;
                freed = true;
                debug!(circle = id, doc = %doc, "let a month go");
            } else {
                debug!(circle = id, doc = %doc, "a month with unsaved changes stays in memory");
            }
        }
        if freed {
            crate::heaps::give_back();
        }
    }
}
