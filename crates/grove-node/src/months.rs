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

use std::collections::{HashMap, HashSet};

use grove_core::automerge::ChangeHash;
use grove_core::{shard_period, DecisionFilter, MonthTally};
use grove_store::{circle_meta_prefix, Store};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Decisions the months in memory may hold before paging lets the least recently used go.
/// At the demo's pace of 100,000 decisions a year a month holds ~8,000 of them (~40 MB in
/// memory, Automerge document and decoded rows), so this keeps one or two months besides
/// the page's (the desktop app then holds 320–370 MB at 100,000, against 727 MB with every
/// month kept: BENCHMARKS.md), and a jump across the log loads a month again (~0.5 s).
pub(crate) const LOADED_DECISIONS: usize = 10_000;

pub(crate) fn key(circle: &str, doc: &str, what: &str) -> String {
    format!("{}months/{doc}/{what}", circle_meta_prefix(circle))
}

pub(crate) fn heads_bytes(heads: &[ChangeHash]) -> Vec<u8> {
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
pub(crate) struct Stored {
    /// The month's heads when it was counted (concatenated, hex).
    pub(crate) heads: String,
    pub(crate) tally: MonthTally,
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
    pub(crate) used: HashMap<String, HashMap<String, u64>>,
    pub(crate) tick: u64,
    /// Circles a view needed whole: their months stay.
    pub(crate) whole: HashSet<String>,
    pub(crate) budget: Option<usize>,
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
