//! Full-text search over a circle, with tantivy in RAM: ranked search over every entity
//! with filters, "related decisions" for a decision or a draft, and the similar-context
//! pairs that tension detection (a) needs.
//!
//! The index is a derived view of the log: it remembers the heads of each Automerge
//! document it indexed and re-indexes only documents whose heads moved. Nothing here is
//! persisted; a restart rebuilds it from the documents.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use grove_core::automerge::ChangeHash;
use grove_core::{shard_period, Circle, Decision, DecisionFilter, Timestamp, CORE_DOC};
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value as _, FAST, INDEXED,
    STORED, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

const ANALYZER: &str = "grove";
/// The month field's value for entities of the core document.
const CORE_MONTH: &str = "core";
/// Query terms taken from a text when looking for related decisions.
const MAX_TERMS: usize = 40;
/// How much a cited principle in common weighs against the text, in "related".
const PRINCIPLE_BOOST: f32 = 3.0;
/// A pair is "highly similar" when the other decision scores this share of the decision's
/// score against itself (BM25 scores are not normalised; self-match is the natural scale).
pub const SIMILAR_SHARE: f32 = 0.75;
/// Decisions examined for similar pairs, most recent first: a bound on the work a tension
/// refresh does on a very large log.
pub const SIMILAR_SCAN: usize = 500;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("reading the circle for the index: {0}")]
    Core(#[from] grove_core::CoreError),
}

pub type Result<T> = std::result::Result<T, SearchError>;

/// What to search for; every filter is optional and all given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchQuery {
    /// Words, phrases in quotes, `+must -mustnot`; malformed syntax is read leniently.
    pub text: String,
    /// decision, value, principle, proposal, review or retro.
    pub kind: Option<String>,
    pub team: Option<String>,
    pub principle: Option<String>,
    pub author: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Defaults to 20.
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    pub kind: String,
    pub id: String,
    pub title: String,
    pub team: Option<String>,
    pub at: Timestamp,
    pub score: f32,
}

/// A decision not logged yet, or the parts of one that matter for "related".
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Draft {
    pub principles: Vec<String>,
    pub context: String,
    pub choice: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Related {
    pub id: String,
    pub team: String,
    pub title: String,
    pub principles: Vec<String>,
    /// Principles it shares with the decision or draft.
    pub shared_principles: Vec<String>,
    pub at: Timestamp,
    pub score: f32,
}

#[derive(Clone, Copy)]
struct F {
    id: Field,
    kind: Field,
    month: Field,
    team: Field,
    principle: Field,
    author: Field,
    title: Field,
    body: Field,
    at: Field,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: IndexWriter,
    f: F,
    /// Heads of each document as last indexed.
    indexed: HashMap<String, Vec<ChangeHash>>,
    /// The similar-context pairs each decision's own query found, kept until that decision
    /// or one it was paired with is indexed again (see [`SearchIndex::similar_pairs`]).
    pairs_of: HashMap<String, Vec<(String, String)>>,
}

impl SearchIndex {
    pub fn new() -> Result<SearchIndex> {
        let mut b = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let f = F {
            id: b.add_text_field("id", STRING | STORED),
            kind: b.add_text_field("kind", STRING | STORED),
            month: b.add_text_field("month", STRING),
            team: b.add_text_field("team", STRING | STORED),
            principle: b.add_text_field("principle", STRING | STORED),
            author: b.add_text_field("author", STRING),
            title: b.add_text_field("title", text.clone() | STORED),
            body: b.add_text_field("body", text),
            at: b.add_i64_field("at", INDEXED | FAST | STORED),
        };
        let index = Index::create_in_ram(b.build());
        let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(
                StopWordFilter::new(Language::English)
                    .unwrap_or_else(|| StopWordFilter::remove(Vec::new())),
            )
            .filter(Stemmer::new(Language::English))
            .build();
        index.tokenizers().register(ANALYZER, analyzer);
        // One indexing thread: the machine is shared with the sync engine and the UI.
        let writer = index.writer_with_num_threads(1, 40_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer,
            f,
            indexed: HashMap::new(),
            pairs_of: HashMap::new(),
        })
    }

    /// Brings the index up to date with the circle's loaded documents, re-indexing only
    /// documents whose heads changed, and of a month only the decisions its new changes
    /// touched (a month holds thousands). Returns how many documents were re-indexed.
    pub fn refresh(&mut self, circle: &Circle) -> Result<usize> {
        let mut changed = 0;
        let mut redone: BTreeSet<String> = BTreeSet::new();
        // The core and the months: escalations hold nothing searched.
        let indexed = circle
            .doc_keys()
            .into_iter()
            .filter(|key| key == CORE_DOC || shard_period(key).is_some());
        for key in indexed {
            let Some(doc) = circle.doc(&key) else {
                continue;
            };
            let heads = doc.get_heads();
            let before = self.indexed.get(&key);
            if before == Some(&heads) {
                continue;
            }
            let month = shard_period(&key).unwrap_or(CORE_MONTH).to_string();
            let touched = match (key == CORE_DOC, before) {
                (false, Some(before)) => circle.decisions_touched(&month, before),
                _ => None,
            };
            match touched {
                Some(ids) => {
                    for id in ids {
                        self.writer
                            .delete_term(Term::from_field_text(self.f.id, &id));
                        if let Some(d) = circle.decision_in(&month, &id) {
                            self.add_decision(&month, &d)?;
                        }
                        redone.insert(id);
                    }
                }
                None => {
                    self.writer
                        .delete_term(Term::from_field_text(self.f.month, &month));
                    if key == CORE_DOC {
                        self.index_core(circle)?;
                    } else {
                        for d in circle.decisions_in(&month, &DecisionFilter::default())? {
                            redone.insert(d.id.clone());
                            self.add_decision(&month, &d)?;
                        }
                        // Which decisions it held before is not known: ask every one again.
                        self.pairs_of.clear();
                    }
                }
            }
            self.indexed.insert(key, heads);
            changed += 1;
        }
        self.forget_pairs(&redone);
        if changed > 0 {
            self.writer.commit()?;
            self.reader.reload()?;
            tracing::debug!(changed, "search index refreshed");
        }
        Ok(changed)
    }

    /// Drops the pairs found by, or naming, a decision indexed again: its text, team or
    /// principles may have changed, and the next [`SearchIndex::similar_pairs`] asks again.
    fn forget_pairs(&mut self, redone: &BTreeSet<String>) {
        if redone.is_empty() {
            return;
        }
        self.pairs_of.retain(|id, pairs| {
            !redone.contains(id)
                && !pairs
                    .iter()
                    .any(|(a, b)| redone.contains(a) || redone.contains(b))
        });
    }

    fn add_decision(&self, month: &str, d: &Decision) -> Result<()> {
        let f = self.f;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, &d.id);
        doc.add_text(f.kind, "decision");
        doc.add_text(f.month, month);
        doc.add_text(f.team, &d.team);
        doc.add_text(f.author, &d.author);
        for p in &d.principles {
            doc.add_text(f.principle, p);
        }
        doc.add_text(f.title, &d.choice);
        doc.add_text(f.body, &d.context);
        if let Some(r) = &d.result {
            doc.add_text(f.body, &r.text);
        }
        if let Some(s) = &d.situation {
            doc.add_text(f.body, s);
        }
        doc.add_i64(f.at, d.created_at.0);
        self.writer.add_document(doc)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn add_entity(
        &self,
        kind: &str,
        id: &str,
        title: &str,
        bodies: &[&str],
        at: Timestamp,
        team: Option<&str>,
        principles: &[String],
    ) -> Result<()> {
        let f = self.f;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, id);
        doc.add_text(f.kind, kind);
        doc.add_text(f.month, CORE_MONTH);
        if let Some(t) = team {
            doc.add_text(f.team, t);
        }
        for p in principles {
            doc.add_text(f.principle, p);
        }
        doc.add_text(f.title, title);
        for b in bodies {
            doc.add_text(f.body, b);
        }
        doc.add_i64(f.at, at.0);
        self.writer.add_document(doc)?;
        Ok(())
    }

    fn index_core(&self, c: &Circle) -> Result<()> {
        for v in c.values()? {
            let mut bodies = vec![v.statement.as_str()];
            bodies.extend(v.protect.as_deref());
            bodies.extend(v.refuse.as_deref());
            bodies.extend(v.examples.iter().map(String::as_str));
            self.add_entity("value", &v.id, &v.title, &bodies, v.created_at, None, &[])?;
        }
        for p in c.principles()? {
            let bodies: Vec<&str> = p.guidance.as_deref().into_iter().collect();
            self.add_entity(
                "principle",
                &p.id,
                &p.statement,
                &bodies,
                p.created_at,
                None,
                std::slice::from_ref(&p.id),
            )?;
        }
        for p in c.proposals()? {
            self.add_entity(
                "proposal",
                &p.id,
                &p.title,
                &[&p.body],
                p.opened_at,
                None,
                &[],
            )?;
        }
        for r in c.reviews()? {
            let mut bodies: Vec<&str> = r.agenda.iter().map(String::as_str).collect();
            bodies.extend(r.learnings.iter().map(String::as_str));
            bodies.push(&r.notes);
            for ch in &r.changes {
                bodies.push(&ch.after);
                bodies.push(&ch.reason);
            }
            let principles: Vec<String> = r.changes.iter().map(|c| c.principle.clone()).collect();
            let title = format!("Review of {}", r.date);
            self.add_entity(
                "review",
                &r.id,
                &title,
                &bodies,
                r.opened_at,
                None,
                &principles,
            )?;
        }
        for r in c.retros()? {
            let title = format!("Retro: {}", first_line(&r.change, &r.didnt, &r.went_well));
            self.add_entity(
                "retro",
                &r.id,
                &title,
                &[&r.went_well, &r.didnt, &r.change],
                r.at,
                Some(&r.team),
                &r.principles,
            )?;
        }
        Ok(())
    }

    /// How many entities the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn term(&self, field: Field, v: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, v),
            IndexRecordOption::Basic,
        ))
    }

    /// Ranked full-text search with filters.
    pub fn search(&self, q: &SearchQuery) -> Result<Vec<SearchHit>> {
        let f = self.f;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.body]);
        parser.set_field_boost(f.title, 2.0);
        let (text, _errors) = parser.parse_query_lenient(&q.text);
        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text)];
        for (field, v) in [
            (f.kind, &q.kind),
            (f.team, &q.team),
            (f.principle, &q.principle),
            (f.author, &q.author),
        ] {
            if let Some(v) = v {
                parts.push((Occur::Must, self.term(field, v)));
            }
        }
        if q.since.is_some() || q.until.is_some() {
            let lo = q.since.map_or(Bound::Unbounded, |t| {
                Bound::Included(Term::from_field_i64(f.at, t.0))
            });
            let hi = q.until.map_or(Bound::Unbounded, |t| {
                Bound::Included(Term::from_field_i64(f.at, t.0))
            });
            parts.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        let query = BooleanQuery::new(parts);
        let limit = q.limit.unwrap_or(20).max(1);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        top.into_iter()
            .map(|(score, addr)| self.hit(addr, score))
            .collect()
    }

    fn stored(&self, addr: DocAddress) -> Result<TantivyDocument> {
        Ok(self.reader.searcher().doc::<TantivyDocument>(addr)?)
    }

    fn hit(&self, addr: DocAddress, score: f32) -> Result<SearchHit> {
        let f = self.f;
        let doc = self.stored(addr)?;
        let s = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
        };
        Ok(SearchHit {
            kind: s(f.kind).unwrap_or_default(),
            id: s(f.id).unwrap_or_default(),
            title: s(f.title).unwrap_or_default(),
            team: s(f.team),
            at: Timestamp(doc.get_first(f.at).and_then(|v| v.as_i64()).unwrap_or(0)),
            score,
        })
    }

    /// The distinct analysed terms of `text`, at most [`MAX_TERMS`].
    fn terms(&self, field: Field, text: &str) -> Vec<Term> {
        let Some(mut analyzer) = self.index.tokenizers().get(ANALYZER) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            if seen.len() >= MAX_TERMS {
                break;
            }
            seen.insert(stream.token().text.clone());
        }
        seen.into_iter()
            .map(|t| Term::from_field_text(field, &t))
            .collect()
    }

    /// The text query of a draft: any of its terms, in the title or the body.
    fn text_query(&self, text: &str) -> Vec<(Occur, Box<dyn Query>)> {
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for field in [self.f.title, self.f.body] {
            for t in self.terms(field, text) {
                out.push((
                    Occur::Should,
                    Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)),
                ));
            }
        }
        out
    }

    /// Decisions most like a draft, ranked by text similarity with a strong weight on
    /// principles in common: how others applied the same principle.
    pub fn related_to_draft(
        &self,
        draft: &Draft,
        exclude: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Related>> {
        let f = self.f;
        let text = format!("{} {}", draft.context, draft.choice);
        let mut should = self.text_query(&text);
        for p in &draft.principles {
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(self.term(f.principle, p), PRINCIPLE_BOOST)),
            ));
        }
        if should.is_empty() {
            return Ok(Vec::new());
        }
        let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, Box::new(BooleanQuery::new(should))),
            (Occur::Must, self.term(f.kind, "decision")),
        ];
        if let Some(id) = exclude {
            parts.push((Occur::MustNot, self.term(f.id, id)));
        }
        let query = BooleanQuery::new(parts);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut out = Vec::new();
        for (score, addr) in top {
            let doc = self.stored(addr)?;
            let strs = |field| -> Vec<String> {
                doc.get_all(field)
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            };
            let principles = strs(f.principle);
            out.push(Related {
                id: strs(f.id).into_iter().next().unwrap_or_default(),
                team: strs(f.team).into_iter().next().unwrap_or_default(),
                title: strs(f.title).into_iter().next().unwrap_or_default(),
                shared_principles: principles
                    .iter()
                    .filter(|p| draft.principles.contains(p))
                    .cloned()
                    .collect(),
                principles,
                at: Timestamp(doc.get_first(f.at).and_then(|v| v.as_i64()).unwrap_or(0)),
                score,
            });
        }
        Ok(out)
    }

    /// Decisions most like decision `d`, itself excluded.
    pub fn related(&self, d: &Decision, limit: usize) -> Result<Vec<Related>> {
        let draft = Draft {
            principles: d.principles.clone(),
            context: d.context.clone(),
            choice: d.choice.clone(),
        };
        self.related_to_draft(&draft, Some(&d.id), limit)
    }

    /// Pairs of decisions from different teams whose contexts are highly similar (the
    /// other scores at least [`SIMILAR_SHARE`] of the decision's score against itself),
    /// among the [`SIMILAR_SCAN`] most recent of `decisions`. Only the context is compared:
    /// the choices are what may differ.
    ///
    /// Each decision's pairs are found by querying it against the index as it stands when
    /// it is first asked about, and kept until [`SearchIndex::refresh`] indexes it, or a
    /// decision it was paired with, again: one new decision costs one query, not
    /// [`SIMILAR_SCAN`] of them. A decision logged later that an older one would now rank
    /// among its closest is found by the new decision's own query (the scores are close to
    /// symmetric), not by asking the older one again.
    pub fn similar_pairs(&mut self, decisions: &[&Decision]) -> Result<Vec<(String, String)>> {
        let mut recent: Vec<&&Decision> = decisions.iter().collect();
        recent.sort_by_key(|d| std::cmp::Reverse(d.created_at));
        recent.truncate(SIMILAR_SCAN);
        let keep: BTreeSet<&str> = recent.iter().map(|d| d.id.as_str()).collect();
        self.pairs_of.retain(|id, _| keep.contains(id.as_str()));
        let mut pairs = BTreeSet::new();
        for d in recent {
            if !self.pairs_of.contains_key(&d.id) {
                let found = self.pairs_for(d)?;
                self.pairs_of.insert(d.id.clone(), found);
            }
            if let Some(found) = self.pairs_of.get(&d.id) {
                pairs.extend(found.iter().cloned());
            }
        }
        Ok(pairs.into_iter().collect())
    }

    /// The pairs decision `d`'s own query finds.
    fn pairs_for(&self, d: &Decision) -> Result<Vec<(String, String)>> {
        let f = self.f;
        let searcher = self.reader.searcher();
        let mut pairs = Vec::new();
        {
            let terms = self.terms(f.body, &d.context);
            if terms.is_empty() {
                return Ok(pairs);
            }
            let should: Vec<(Occur, Box<dyn Query>)> = terms
                .into_iter()
                .map(|t| {
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs));
                    (Occur::Should, q)
                })
                .collect();
            let mut parts: Vec<(Occur, Box<dyn Query>)> = vec![
                (Occur::Must, Box::new(BooleanQuery::new(should))),
                (Occur::Must, self.term(f.kind, "decision")),
            ];
            for p in &d.principles {
                parts.push((Occur::Must, self.term(f.principle, p)));
            }
            let query = BooleanQuery::new(parts);
            let top = searcher.search(&query, &TopDocs::with_limit(8).order_by_score())?;
            let mut scored = Vec::new();
            let mut own = None;
            for (score, addr) in top {
                let doc = self.stored(addr)?;
                let get = |field| {
                    doc.get_first(field)
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                };
                let id = get(f.id);
                if id == d.id {
                    own = Some(score);
                } else if get(f.team) != d.team {
                    scored.push((id, score));
                }
            }
            let Some(own) = own else {
                return Ok(pairs);
            };
            for (other, score) in scored {
                if score >= own * SIMILAR_SHARE {
                    let pair = if d.id <= other {
                        (d.id.clone(), other)
                    } else {
                        (other, d.id.clone())
                    };
                    pairs.push(pair);
                }
            }
        }
        Ok(pairs)
    }
}

fn first_line<'a>(a: &'a str, b: &'a str, c: &'a str) -> &'a str {
    [a, b, c]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .and_then(|s| s.lines().next())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use grove_core::automerge::ActorId;
    use grove_core::{Ctx, NewDecision, NewPrinciple, NewValue};
    use rand::{rngs::StdRng, SeedableRng};

    struct Fixture {
        circle: Circle,
        rng: StdRng,
        now: i64,
        p: Vec<String>,
        teams: Vec<String>,
    }

    impl Fixture {
        fn new() -> Fixture {
            let mut rng = StdRng::seed_from_u64(7);
            let now = 1_795_305_600_000;
            let mut ctx = Ctx::new(Timestamp(now), "ana", &mut rng);
            let mut circle =
                Circle::create(&mut ctx, ActorId::from(&b"ana"[..]), "C", "Ana", "dev").unwrap();
            let v = circle
                .add_value(
                    &mut ctx,
                    NewValue {
                        title: "Care".into(),
                        statement: "We care for the commons.".into(),
                        ..Default::default()
                    },
                )
                .unwrap();
            let p = ["Ask first.", "Share the load."]
                .iter()
                .map(|s| {
                    circle
                        .add_principle(
                            &mut ctx,
                            NewPrinciple {
                                values: vec![v.clone()],
                                statement: s.to_string(),
                                ..Default::default()
                            },
                        )
                        .unwrap()
                })
                .collect();
            let teams = ["Kitchen", "Garden"]
                .iter()
                .map(|t| circle.add_team(&mut ctx, t, None).unwrap())
                .collect();
            Fixture {
                circle,
                rng,
                now,
                p,
                teams,
            }
        }

        fn log(&mut self, team: usize, p: usize, context: &str, choice: &str) -> String {
            self.now += 1000;
            let mut ctx = Ctx::new(Timestamp(self.now), "ana", &mut self.rng);
            self.circle
                .log_decision(
                    &mut ctx,
                    NewDecision {
                        team: self.teams[team].clone(),
                        principles: vec![self.p[p].clone()],
                        context: context.into(),
                        choice: choice.into(),
                        ..Default::default()
                    },
                )
                .unwrap()
        }
    }

    #[test]
    fn search_ranks_filters_and_follows_the_log() {
        let mut f = Fixture::new();
        let a = f.log(
            0,
            0,
            "The landlord raised the rent again",
            "We organise a meeting",
        );
        let b = f.log(
            1,
            1,
            "Volunteers are tired of the rent collection",
            "We rotate",
        );
        let mut idx = SearchIndex::new().unwrap();
        assert_eq!(
            idx.refresh(&f.circle).unwrap(),
            2,
            "core and one month indexed"
        );
        assert_eq!(
            idx.refresh(&f.circle).unwrap(),
            0,
            "unchanged heads: nothing to redo"
        );
        let hits = idx
            .search(&SearchQuery {
                text: "landlord rent".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits[0].id, a, "both words beat one: {hits:?}");
        assert!(hits.iter().any(|h| h.id == b), "any word finds the other");
        let only_garden = idx
            .search(&SearchQuery {
                text: "rent".into(),
                team: Some(f.teams[1].clone()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            only_garden.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
            vec![b]
        );
        let values = idx
            .search(&SearchQuery {
                text: "commons".into(),
                kind: Some("value".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].title, "Care");
        // A new decision shows up after a refresh; only its month is redone.
        let c = f.log(0, 0, "A leak in the roof", "Call the roofer");
        assert_eq!(idx.refresh(&f.circle).unwrap(), 1);
        let hits = idx
            .search(&SearchQuery {
                text: "roof".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, c);
    }

    #[test]
    fn refresh_follows_edits_decision_by_decision_and_similar_pairs_follow_them() {
        let mut f = Fixture::new();
        let a = f.log(
            0,
            0,
            "The food bank van broke down on the ring road",
            "Rent one",
        );
        f.log(1, 1, "Volunteers meet on Tuesdays", "Keep it");
        let mut idx = SearchIndex::new().unwrap();
        idx.refresh(&f.circle).unwrap();
        let hits = |idx: &SearchIndex, q: &str| -> Vec<String> {
            idx.search(&SearchQuery {
                text: q.into(),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
        };
        assert_eq!(hits(&idx, "van"), vec![a.clone()]);
        // A similar decision of another team pairs with it, found by its own query.
        let b = f.log(
            1,
            0,
            "The food bank van broke down on the ring road again",
            "Borrow one",
        );
        assert_eq!(idx.refresh(&f.circle).unwrap(), 1, "only the month moved");
        let all: Vec<Decision> = [&a, &b]
            .iter()
            .map(|id| f.circle.decision(id).unwrap())
            .collect();
        let refs: Vec<&Decision> = all.iter().collect();
        let pair = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        assert_eq!(idx.similar_pairs(&refs).unwrap(), vec![pair]);
        // Editing one re-indexes that decision alone: its old words no longer find it,
        // nothing is indexed twice, and the pair it no longer forms is gone.
        let entities = idx.len();
        let mut ctx = Ctx::new(Timestamp(f.now + 1000), "ana", &mut f.rng);
        f.circle
            .edit_decision(
                &mut ctx,
                &b,
                grove_core::DecisionEdit {
                    context: Some("A leak in the kitchen roof".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        idx.refresh(&f.circle).unwrap();
        assert_eq!(hits(&idx, "van"), vec![a.clone()]);
        assert_eq!(hits(&idx, "leak"), vec![b.clone()]);
        assert_eq!(idx.len(), entities, "nothing indexed twice");
        let all: Vec<Decision> = [&a, &b]
            .iter()
            .map(|id| f.circle.decision(id).unwrap())
            .collect();
        let refs: Vec<&Decision> = all.iter().collect();
        assert_eq!(
            idx.similar_pairs(&refs).unwrap(),
            Vec::<(String, String)>::new()
        );
    }

    #[test]
    fn related_prefers_shared_principles_and_similar_pairs_cross_teams() {
        let mut f = Fixture::new();
        let a = f.log(
            0,
            0,
            "A volunteer is burnt out after the food bank",
            "Rest a month",
        );
        let b = f.log(
            1,
            0,
            "A volunteer is burnt out after the food bank shift",
            "Share shifts",
        );
        let c = f.log(1, 1, "A volunteer is burnt out", "Share shifts");
        let d = f.log(0, 1, "The boiler broke in winter", "Buy heaters");
        let mut idx = SearchIndex::new().unwrap();
        idx.refresh(&f.circle).unwrap();
        let da = f.circle.decision(&a).unwrap();
        let rel = idx.related(&da, 10).unwrap();
        assert_eq!(rel[0].id, b, "same principle and context first: {rel:?}");
        assert_eq!(rel[0].shared_principles, vec![f.p[0].clone()]);
        assert!(rel.iter().all(|r| r.id != a), "never itself");
        assert!(rel.iter().any(|r| r.id == c));
        // A draft finds how others applied the same principle.
        let draft = Draft {
            principles: vec![f.p[1].clone()],
            context: "heating".into(),
            choice: "heaters".into(),
        };
        assert_eq!(idx.related_to_draft(&draft, None, 3).unwrap()[0].id, d);
        let all: Vec<Decision> = [&a, &b, &c, &d]
            .iter()
            .map(|id| f.circle.decision(id).unwrap())
            .collect();
        let refs: Vec<&Decision> = all.iter().collect();
        let pairs = idx.similar_pairs(&refs).unwrap();
        let ab = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        assert!(pairs.contains(&ab), "{pairs:?}");
        // c shares the context but not the principle; d shares neither.
        assert!(pairs.iter().all(|(x, y)| ![x, y].contains(&&d)));
        assert!(pairs
            .iter()
            .all(|(x, y)| !([x, y].contains(&&c) && [x, y].contains(&&a))));
    }
}
