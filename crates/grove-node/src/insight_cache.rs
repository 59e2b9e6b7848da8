//! Derived views kept in memory per circle (the search index, the similar-context pairs,
//! what tensions and vitality gathered), each with the document heads it was computed at;
//! `insight.rs` brings them up to date and uses them.
//! Nothing derived is ever written to the store.

use std::collections::HashMap;

use grove_core::automerge::ChangeHash;
use grove_core::{TensionCache, VitalityCache};
use grove_search::SearchIndex;

#[derive(Default)]
pub(crate) struct Caches {
    pub(crate) circles: HashMap<String, CircleCache>,
}

/// Every document's key with its heads: what a derived view was computed at.
pub(crate) type Heads = Vec<(String, Vec<ChangeHash>)>;
/// Pairs of decision ids.
pub(crate) type Pairs = Vec<(String, String)>;

pub(crate) struct CircleCache {
    pub(crate) search: SearchIndex,
    /// What vitality gathered, per version of each document.
    pub(crate) vitality: VitalityCache,
    /// What tension detection gathered, per version of each document.
    pub(crate) tensions: TensionCache,
    /// Similar-context pairs with the heads of every document they were computed at.
    pub(crate) similar: Option<(Heads, Pairs)>,
}
