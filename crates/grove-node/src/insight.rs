//! Coherence insight on the handle: tensions, vitality, search and related decisions.
//!
//! Everything here is derived from the circle's documents on this device. The search index,
//! the similar-context pairs and what tensions and vitality gathered are kept in memory per
//! circle and brought up to date with the documents whose heads moved (of a month, the
//! decisions its new changes touched); nothing derived is ever written to the store.

use grove_core::{
    Circle, Decision, Tension, TensionCache, TensionInputs, Vitality, VitalityCache, VitalityInputs,
};
use grove_search::{Draft, Related, SearchError, SearchHit, SearchIndex, SearchQuery};
use serde::{Deserialize, Serialize};

use crate::error::{NodeError, Result};
use crate::handle::CircleHandle;
use crate::insight_cache::{CircleCache, Heads};
use crate::state::{Need, NodeState};

/// A tension raised by hand.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RaiseTension {
    pub title: String,
    pub summary: String,
    /// The principle (p-…) or value (v-…) it is about, if any.
    pub subject: Option<String>,
    /// Ids of decisions or other entities that show it.
    pub evidence: Vec<String>,
}

/// Review cycle assumed by detection and vitality: a quarter (docs/design.md, section 4).
const CYCLE_DAYS: i64 = 90;
/// The longest vitality window, in days: a century covers any circle, and keeps the
/// window's milliseconds far inside an i64.
pub const MAX_WINDOW_DAYS: i64 = 36_500;

fn search_err(e: SearchError) -> NodeError {
    match e {
        SearchError::Core(c) => NodeError::Core(c),
        cause => NodeError::Search {
            cause: Box::new(cause),
        },
    }
}

fn all_heads(c: &Circle) -> Heads {
    c.doc_keys()
        .into_iter()
        .filter_map(|k| c.doc(&k).map(|d| (k.clone(), d.get_heads())))
        .collect()
}

/// Runs `f` with the circle (every month loaded) and its derived caches; each view brings
/// the caches it reads up to date (vitality needs no search index).
fn with_insight<R>(
    s: &mut NodeState,
    sel: Option<&str>,
    f: impl FnOnce(&Circle, &mut CircleCache, grove_core::Timestamp) -> Result<R>,
) -> Result<R> {
    let id = s.prepare(sel, &Need::Log)?;
    // Vitality counts the escalations' waits.
    s.ensure_escalations(&id)?;
    let now = s.now();
    let mut caches = std::mem::take(&mut s.insight);
    let result = (|| {
        let circle = s.loaded(&id)?;
        let cache = match caches.circles.entry(id.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(CircleCache {
                search: SearchIndex::new().map_err(search_err)?,
                vitality: VitalityCache::default(),
                tensions: TensionCache::default(),
                similar: None,
            }),
        };
        f(circle, cache, now)
    })();
    s.insight = caches;
    result
}

fn similar_pairs(circle: &Circle, cache: &mut CircleCache) -> Result<Vec<(String, String)>> {
    cache.search.refresh(circle).map_err(search_err)?;
    let heads = all_heads(circle);
    if let Some((at, pairs)) = &cache.similar {
        if *at == heads {
            return Ok(pairs.clone());
        }
    }
    // Only the newest are examined (see `SearchIndex::similar_pairs`): cloning the whole
    // log for them cost more than the queries.
    let newest = circle.newest_decisions(grove_search::SIMILAR_SCAN)?;
    let refs: Vec<&Decision> = newest.iter().map(|d| &**d).collect();
    let pairs = cache.search.similar_pairs(&refs).map_err(search_err)?;
    cache.similar = Some((heads, pairs.clone()));
    Ok(pairs)
}

fn tension_inputs(
    circle: &Circle,
    cache: &mut CircleCache,
    now: grove_core::Timestamp,
) -> Result<TensionInputs> {
    Ok(TensionInputs {
        now,
        cycle_days: CYCLE_DAYS,
        similar: similar_pairs(circle, cache)?,
    })
}

impl CircleHandle {
    async fn insight<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Circle, &mut CircleCache, grove_core::Timestamp) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| with_insight(s, sel.as_deref(), f))
            .await
    }

    /// Every tension, detected and raised: open first, newest first.
    pub async fn tensions(&self) -> Result<Vec<Tension>> {
        self.insight(|c, cache, now| {
            let inputs = tension_inputs(c, cache, now)?;
            Ok(c.tensions_with(&mut cache.tensions, &inputs)?)
        })
        .await
    }

    pub async fn tension(&self, id: String) -> Result<Tension> {
        self.insight(move |c, cache, now| {
            let inputs = tension_inputs(c, cache, now)?;
            Ok(c.tension_with(&mut cache.tensions, &id, &inputs)?)
        })
        .await
    }

    /// Raises a tension by hand; returns its id.
    pub async fn raise_tension(&self, raise: RaiseTension) -> Result<String> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                s.mutate(sel.as_deref(), Need::All, |c, ctx| {
                    c.raise_tension(
                        ctx,
                        &raise.title,
                        &raise.summary,
                        raise.subject.as_deref(),
                        &raise.evidence,
                    )
                })
            })
            .await
    }

    /// Records that a review (rv-…) or a passed proposal (pr-…) addressed a tension.
    pub async fn address_tension(
        &self,
        id: String,
        source: String,
        note: Option<String>,
    ) -> Result<()> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                s.mutate(sel.as_deref(), Need::Core, |c, ctx| {
                    c.address_tension(ctx, &id, &source, note.as_deref())
                })
            })
            .await
    }

    /// Adds every open tension not already there to an open review's agenda; returns the
    /// items added.
    pub async fn gather_tensions(&self, review: String) -> Result<Vec<String>> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let items = with_insight(s, sel.as_deref(), |c, cache, now| {
                    let inputs = tension_inputs(c, cache, now)?;
                    let agenda = c.review(&review)?.agenda;
                    Ok(c.tension_agenda_with(&mut cache.tensions, &inputs)?
                        .into_iter()
                        .filter(|i| !agenda.contains(i))
                        .collect::<Vec<_>>())
                })?;
                s.mutate(sel.as_deref(), Need::Core, |c, ctx| {
                    for item in &items {
                        c.add_agenda_item(ctx, &review, item)?;
                    }
                    Ok(items)
                })
            })
            .await
    }

    /// The signs of life and decay over the last `window_days` (default 30; 1 to
    /// [`MAX_WINDOW_DAYS`], anything else is refused rather than quietly replaced).
    pub async fn vitality(&self, window_days: Option<i64>) -> Result<Vitality> {
        if let Some(w) = window_days.filter(|w| !(1..=MAX_WINDOW_DAYS).contains(w)) {
            return Err(NodeError::Core(grove_core::CoreError::Invalid(format!(
                "a vitality window of {w} days is not possible: give 1 to {MAX_WINDOW_DAYS} days"
            ))));
        }
        self.insight(move |c, cache, now| {
            Ok(c.vitality_with(
                &mut cache.vitality,
                VitalityInputs {
                    now,
                    window_days: window_days.unwrap_or(30),
                    cycle_days: CYCLE_DAYS,
                },
            )?)
        })
        .await
    }

    /// Ranked full-text search over every entity of the circle.
    pub async fn search(&self, query: SearchQuery) -> Result<Vec<SearchHit>> {
        self.insight(move |c, cache, _| {
            cache.search.refresh(c).map_err(search_err)?;
            cache.search.search(&query).map_err(search_err)
        })
        .await
    }

    /// Decisions most like decision `id` (itself excluded).
    pub async fn related(&self, id: String, limit: usize) -> Result<Vec<Related>> {
        self.insight(move |c, cache, _| {
            cache.search.refresh(c).map_err(search_err)?;
            let d = c.decision(&id)?;
            cache.search.related(&d, limit).map_err(search_err)
        })
        .await
    }

    /// Decisions most like a draft being written: how others applied the same principle.
    pub async fn related_to_draft(&self, draft: Draft, limit: usize) -> Result<Vec<Related>> {
        self.insight(move |c, cache, _| {
            cache.search.refresh(c).map_err(search_err)?;
            cache
                .search
                .related_to_draft(&draft, None, limit)
                .map_err(search_err)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::{Node, NodeErrorKind, MAX_WINDOW_DAYS};

    #[tokio::test(flavor = "multi_thread")]
    async fn a_vitality_window_outside_one_day_to_a_century_is_refused() {
        let node = Node::builder().in_memory().spawn().unwrap();
        node.create_circle("Cell".into()).await.unwrap();
        let c = node.circle(None);
        for w in [0, -1, MAX_WINDOW_DAYS + 1, i64::MAX] {
            let err = c.vitality(Some(w)).await.unwrap_err();
            assert_eq!(err.kind(), NodeErrorKind::Invalid, "{w}: {err}");
        }
        assert_eq!(c.vitality(Some(1)).await.unwrap().window_days, 1);
        assert_eq!(c.vitality(None).await.unwrap().window_days, 30);
    }
}
