//! The months of a circle's log: how many stay in memory, and the counts of each kept in the
//! store beside it, so the log's exact totals and citation counts need no month loaded.
//!
//! Two meta entries per month document, under `circle/<id>/months/<doc>/`:
//!
//! - `heads`: the month's heads as stored, written in the same durable write as every chunk
//!   (`Store::append_with_meta`) and before a month is replaced whole (a purge), so it never
//!   lags the document on disk;
//! - `tally`: the month's [`MonthTally`] with the heads it was counted at, written lazily
//!   once counted from the document itself.
//!
//! A tally is used only while its heads equal the stored heads: a month changed in any way
//! since (an edit, a peer's changes, a purge) is counted again from its document, never
//! trusted. Both entries sit in the store's meta tree, so they are encrypted at rest like
//! everything else, and `delete_circle` takes them with the circle.
//!
//! Memory: a view paging through the log loads the months it shows and lets the others go
//! once the loaded months hold more than a budget of decisions (least recently used first).
//! Months stay while they hold anything unsaved, while a peer syncs the circle (the sync
//! engine works on the documents in memory), and once a view asked for every month at once
//! (search and insight, which read the whole log on every call). Once months go, glibc is
//! asked to give their memory back: it keeps what a thread's heap freed otherwise.

use std::collections::{BTreeSet, HashMap, HashSet};

use grove_core::automerge::ChangeHash;
use grove_core::{shard_doc, shard_period, DecisionFilter, MonthTally};
use grove_store::{circle_meta_prefix, Store};
use serde::{Deserialize, Serialize};
use tracing::debug;

use crate::error::{NodeError, Result};
use crate::state::NodeState;

/// Decisions the months in memory may hold before paging lets the least recently used go.
/// At the demo's pace of 100,000 decisions a year a month holds ~8,000 of them (~40 MB in
/// memory, Automerge document and decoded rows), so this keeps one or two months besides
/// the page's (the desktop app then holds 320–370 MB at 100,000, against 727 MB with every
/// month kept: BENCHMARKS.md), and a jump across the log loads a month again (~0.5 s).
pub(crate) const LOADED_DECISIONS: usize = 10_000;

fn key(circle: &str, doc: &str, what: &str) -> String {
    format!("{}months/{doc}/{what}", circle_meta_prefix(circle))
}

fn heads_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// The `heads` entry of month `doc` at `heads`, for the write that stores the month's
/// chunk; None for a document that is not a month.
pub(crate) fn heads_entry(
    circle: &str,
    doc: &str,
    heads: &[ChangeHash],
) -> Option<(String, Vec<u8>)> {
    shard_period(doc)?;
    Some((key(circle, doc, "heads"), heads_bytes(heads)))
}

#[derive(Serialize, Deserialize)]
struct Stored {
    /// The month's heads when it was counted (concatenated, hex).
    heads: String,
    tally: MonthTally,
}

/// The stored tally of month `doc`, if it was counted at the heads the store holds now and
/// for `reader`.
pub(crate) fn stored_tally(
    store: &dyn Store,
    circle: &str,
    doc: &str,
    reader: &str,
) -> Result<Option<MonthTally>> {
    let Some(heads) = store.get_meta(&key(circle, doc, "heads"))? else {
        return Ok(None);
    };
    let Some(bytes) = store.get_meta(&key(circle, doc, "tally"))? else {
        return Ok(None);
    };
    // An unreadable tally is recounted, like a stale one.
    let Ok(stored) = serde_json::from_slice::<Stored>(&bytes) else {
        return Ok(None);
    };
    let fresh = stored.heads == data_encoding::HEXLOWER.encode(&heads);
    Ok((fresh && stored.tally.reader == reader).then_some(stored.tally))
}

/// How many decisions of a month with tally `t` match `filter`, and how many of those
/// `reader` has not read, when the tally can tell without the rows.
pub(crate) fn counted(
    t: &MonthTally,
    filter: &DecisionFilter,
    period: &str,
    reader: &str,
) -> Option<(usize, usize)> {
    let whole_month = filter.since.is_none_or(|s| s.period().as_str() < period)
        && filter.until.is_none_or(|u| u.period().as_str() > period);
    let narrowed = filter.team.is_some()
        || filter.principle.is_some()
        || filter.value.is_some()
        || filter.zone.is_some()
        || filter.status.is_some()
        || filter.author.is_some()
        || filter.situation.is_some()
        || filter.text.as_deref().is_some_and(|t| !t.trim().is_empty());
    if !whole_month || narrowed || t.reader != reader {
        return None;
    }
    match filter.unread_by.as_deref() {
        None => Some((t.decisions, t.unread)),
        Some(m) if m == reader => Some((t.unread, t.unread)),
        Some(_) => None,
    }
}

/// Which months are in memory by whom, per circle.
#[derive(Default)]
pub(crate) struct Months {
    /// When each loaded month was last asked for (a counter, not a time).
    used: HashMap<String, HashMap<String, u64>>,
    tick: u64,
    /// Circles a view needed whole: their months stay.
    whole: HashSet<String>,
    budget: Option<usize>,
}

impl Months {
    pub(crate) fn with_budget(budget: Option<usize>) -> Months {
        Months {
            budget,
            ..Months::default()
        }
    }

    pub(crate) fn touch(&mut self, circle: &str, doc: &str) {
        self.tick += 1;
        self.used
            .entry(circle.to_string())
            .or_default()
            .insert(doc.to_string(), self.tick);
    }

    pub(crate) fn keep_whole(&mut self, circle: &str) {
        self.whole.insert(circle.to_string());
    }

    pub(crate) fn forget(&mut self, circle: &str) {
        self.used.remove(circle);
        self.whole.remove(circle);
    }
}

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
            self.ensure_docs(id, vec![doc.clone()])?;
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
            give_back_memory();
        }
    }
}

/// Returns the memory of months let go to the system. glibc keeps freed memory in its
/// heaps (one per thread that allocated it, and months load on their own threads), so
/// without this the process stays as large as when every month was in memory.
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer; it only walks and trims glibc's own heaps,
    // under their locks, and may be called at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
