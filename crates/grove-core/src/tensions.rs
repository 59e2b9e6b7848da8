//! Tensions: where the circle's practice and its principles pull apart (docs/design.md, section 4).
//!
//! Detected tensions are a derived view, recomputed from the log on demand and never
//! stored. What IS data: tensions raised by hand, and the record that a review or a passed
//! proposal addressed a tension (detected or raised).
//!
//! Storage: each record is its own object at a key of the core document's root map
//! (`tension:{id}`, `tension-addressed:{tension}:{source}`), not inside a `tensions`
//! collection. Circles created before tensions existed have no such collection, and two
//! devices creating it lazily at the same time would produce two conflicting maps, one of
//! whose contents would be hidden. The root map always exists, and each key is unique to
//! one record, so concurrent raises merge without loss.

#[cfg(test)]
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::sync::Arc;

use automerge::transaction::Transactable as _;
use automerge::{ReadDoc, ROOT};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::{Timestamp, DAY_MS};
use crate::ctx::Ctx;
use crate::decisions::Decision;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::proposals::ProposalChange;
use crate::retros::Retro;
pub use crate::tension_cache::TensionCache;
use crate::words::{Outcome, PrincipleStatus, ProposalStatus, ValueStatus};

const RAISED: &str = "tension:";
const ADDRESSED: &str = "tension-addressed:";

/// More active values than this is proliferation (seed: "a few commitments").
pub const MAX_ACTIVE_VALUES: usize = 5;
/// More active principles under one value than this is proliferation.
pub const MAX_PRINCIPLES_PER_VALUE: usize = 3;
/// How many independent teams must struggle under one principle within a cycle.
pub const TEAMS_STRUGGLING: usize = 3;
/// How many most recent results of a principle's decisions must all have failed.
pub const FAILURES_IN_A_ROW: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum TensionKind {
    /// (a) Two teams chose differently in the same situation.
    Divergence,
    /// (b) Three or more teams struggled under one principle within a review cycle.
    SharedStruggle,
    /// (c) A principle whose decisions keep failing.
    FailingPrinciple,
    /// (d) Concurrent conflicting edits to a value or principle.
    EditConflict,
    /// (e) Too many values, or too many principles under one value.
    Proliferation,
    /// Raised by a member.
    Raised,
    /// A proposal passed while the circle was split, without an answer given on the other
    /// side: its effects wait until the round settles.
    Contested,
    /// No steward in office: their term ended, and escalations wait with no one to answer.
    AuthorityVacuum,
    /// A team logs a situation below the zone its zone map sets for it.
    AuthorityConfusion,
}

impl TensionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TensionKind::Divergence => "divergence",
            TensionKind::SharedStruggle => "shared-struggle",
            TensionKind::FailingPrinciple => "failing-principle",
            TensionKind::EditConflict => "edit-conflict",
            TensionKind::Proliferation => "proliferation",
            TensionKind::Raised => "raised",
            TensionKind::Contested => "contested",
            TensionKind::AuthorityVacuum => "authority-vacuum",
            TensionKind::AuthorityConfusion => "authority-confusion",
        }
    }
}

impl std::fmt::Display for TensionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One piece of the log a tension rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Evidence {
    /// decision, retro, value or principle.
    pub kind: Arc<str>,
    pub id: Arc<str>,
    pub note: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TensionClosure {
    /// The review or proposal that addressed it.
    pub source: String,
    pub at: Timestamp,
    pub by: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Tension {
    /// Stable across recomputations: built from what the tension is about.
    pub id: String,
    pub kind: TensionKind,
    pub title: String,
    pub summary: String,
    /// The principle or value it is about, if any: a review changing it closes the tension.
    pub subject: Option<String>,
    // Shared, not owned (and each piece's text too): a circle's tensions carry tens of
    // thousands of pieces, and every answer hands out again what the last one found
    // (`tension_cache.rs`); copying them was most of an answer's cost.
    pub evidence: Arc<[Evidence]>,
    /// When the newest evidence appeared (or when it was raised).
    pub since: Timestamp,
    pub raised_by: Option<String>,
    pub open: bool,
    pub closed: Option<TensionClosure>,
}

/// What detection needs besides the log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TensionInputs {
    pub now: Timestamp,
    /// Length of a review cycle in days (0 means 90).
    pub cycle_days: i64,
    /// Pairs of decisions (ids) citing the same principles with highly similar context,
    /// found by a full-text engine (grove-search); the core does not score text itself.
    pub similar: Vec<(String, String)>,
}

impl TensionInputs {
    pub fn cycle_ms(&self) -> i64 {
        let days = if self.cycle_days > 0 {
            self.cycle_days
        } else {
            90
        };
        days * DAY_MS
    }
}

impl Circle {
    /// Raises a tension by hand. Returns its id.
    pub fn raise_tension(
        &mut self,
        ctx: &mut Ctx<'_>,
        title: &str,
        summary: &str,
        subject: Option<&str>,
        evidence: &[String],
    ) -> Result<String> {
        let title = fields::required(title, "a tension's title")?;
        let summary = fields::optional(Some(summary), "what the tension is")?.unwrap_or_default();
        let subject = match subject.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) if s.starts_with("p-") => Some(self.principle(s)?.id),
            Some(s) if s.starts_with("v-") => Some(self.value(s)?.id),
            Some(s) => {
                return Err(CoreError::invalid(format!(
                    "`{s}` is neither a principle (p-…) nor a value (v-…)"
                )))
            }
            None => None,
        };
        for e in evidence {
            if e.starts_with("d-") {
                self.decision(e)?;
            }
        }
        let id = ctx.new_id("tn");
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "tension raise", |tx| {
            let t = tx.put_object(
                ROOT,
                format!("{RAISED}{id}").as_str(),
                automerge::ObjType::Map,
            )?;
            fields::put_str(tx, &t, "title", &title)?;
            fields::put_str(tx, &t, "summary", &summary)?;
            fields::put_opt_str(tx, &t, "subject", subject.as_deref())?;
            fields::put_list(tx, &t, "evidence", evidence)?;
            fields::put_str(tx, &t, "raised_by", &member)?;
            fields::put_time(tx, &t, "raised_at", now)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Records that a review or a passed proposal addressed tension `id`, closing it.
    pub fn address_tension(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        source: &str,
        note: Option<&str>,
    ) -> Result<()> {
        if source.starts_with("rv-") {
            self.review(source)?;
        } else if source.starts_with("pr-") {
            let p = self.proposal(source)?;
            if p.status != ProposalStatus::Passed {
                return Err(CoreError::state(format!(
                    "proposal `{source}` is {}: only a passed proposal addresses a tension",
                    p.status
                )));
            }
        } else {
            return Err(CoreError::invalid(format!(
                "`{source}` is neither a review (rv-…) nor a proposal (pr-…)"
            )));
        }
        let note = fields::optional(note, "a note")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        // One key per (tension, source): two devices recording different sources never
        // collide; the same source recorded twice says the same thing either way.
        let key = format!("{ADDRESSED}{id}:{source}");
        self.change_core(now, "tension addressed", |tx| {
            let a = tx.put_object(ROOT, key.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &a, "by", &member)?;
            fields::put_time(tx, &a, "at", now)?;
            fields::put_opt_str(tx, &a, "note", note.as_deref())?;
            Ok(())
        })
    }

    /// Every tension, detected and raised, open first then newest first.
    pub fn tensions(&self, inputs: &TensionInputs) -> Result<Vec<Tension>> {
        self.tensions_with(&mut TensionCache::default(), inputs)
    }

    pub fn tension(&self, id: &str, inputs: &TensionInputs) -> Result<Tension> {
        self.tension_with(&mut TensionCache::default(), id, inputs)
    }

    /// [`Circle::tension`] with the state of [`Circle::tensions_with`].
    pub fn tension_with(
        &self,
        cache: &mut TensionCache,
        id: &str,
        inputs: &TensionInputs,
    ) -> Result<Tension> {
        self.tensions_with(cache, inputs)?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| CoreError::not_found("tension", id))
    }

    /// Open tensions as agenda items for the next review.
    pub fn tension_agenda(&self, inputs: &TensionInputs) -> Result<Vec<String>> {
        self.tension_agenda_with(&mut TensionCache::default(), inputs)
    }

    /// [`Circle::tension_agenda`] with the state of [`Circle::tensions_with`].
    pub fn tension_agenda_with(
        &self,
        cache: &mut TensionCache,
        inputs: &TensionInputs,
    ) -> Result<Vec<String>> {
        Ok(self
            .tensions_with(cache, inputs)?
            .into_iter()
            .filter(|t| t.open)
            .map(|t| format!("tension {}: {}", t.id, t.title))
            .collect())
    }

    pub(crate) fn raised_tensions(&self) -> Result<Vec<Tension>> {
        let doc = &self.core.am;
        let mut out = Vec::new();
        for item in doc.map_range(ROOT, ..) {
            let Some(id) = item.key.strip_prefix(RAISED) else {
                continue;
            };
            if !matches!(item.value, automerge::ValueRef::Object(_)) {
                continue;
            }
            let obj = item.id();
            let f = Fields::read(doc, &obj);
            let evidence = fields::str_list(doc, f.obj("evidence"))
                .into_iter()
                .map(|e| Evidence {
                    kind: evidence_kind(&e).into(),
                    id: e.into(),
                    note: "named when raised".into(),
                })
                .collect();
            out.push(Tension {
                id: id.to_string(),
                kind: TensionKind::Raised,
                title: f.str("title"),
                summary: f.str("summary"),
                subject: f.opt_str("subject"),
                evidence,
                since: f.time("raised_at"),
                raised_by: Some(f.str("raised_by")),
                open: true,
                closed: None,
            });
        }
        Ok(out)
    }

    pub(crate) fn addressed(&self) -> Result<HashMap<String, Vec<TensionClosure>>> {
        let doc = &self.core.am;
        let mut out: HashMap<String, Vec<TensionClosure>> = HashMap::new();
        for item in doc.map_range(ROOT, ..) {
            let Some(rest) = item.key.strip_prefix(ADDRESSED) else {
                continue;
            };
            let Some((tension, source)) = rest.split_once(':') else {
                continue;
            };
            let f = Fields::read(doc, &item.id());
            out.entry(tension.to_string())
                .or_default()
                .push(TensionClosure {
                    source: source.to_string(),
                    at: f.time("at"),
                    by: f.str("by"),
                    note: f.opt_str("note"),
                });
        }
        Ok(out)
    }

    /// Changes to each principle made by a review or a passed proposal.
    pub(crate) fn principle_changes(&self) -> Result<HashMap<String, Vec<TensionClosure>>> {
        let mut out: HashMap<String, Vec<TensionClosure>> = HashMap::new();
        for r in self.reviews()? {
            for c in r.changes {
                out.entry(c.principle.clone())
                    .or_default()
                    .push(TensionClosure {
                        source: r.id.clone(),
                        at: c.at,
                        by: c.by,
                        note: Some(c.reason),
                    });
            }
        }
        for p in self.proposals()? {
            if p.status != ProposalStatus::Passed {
                continue;
            }
            if let ProposalChange::AmendPrinciple {
                principle, reason, ..
            } = &p.change
            {
                out.entry(principle.clone())
                    .or_default()
                    .push(TensionClosure {
                        source: p.id.clone(),
                        at: p.closed_at.unwrap_or(p.opened_at),
                        by: p.closed_by.clone().unwrap_or_default(),
                        note: Some(reason.clone()),
                    });
            }
        }
        Ok(out)
    }
}

/// Closes each tension a later explicit record or principle change addressed, then orders
/// them: open first, newest first.
pub(crate) fn close(
    out: &mut [Tension],
    addressed: &HashMap<String, Vec<TensionClosure>>,
    changes: &HashMap<String, Vec<TensionClosure>>,
) {
    for t in out.iter_mut() {
        let explicit = addressed
            .get(&t.id)
            .and_then(|v| v.iter().filter(|c| c.at >= t.since).max_by_key(|c| c.at));
        let implicit = t.subject.as_ref().and_then(|s| {
            changes
                .get(s)
                .and_then(|v| v.iter().filter(|c| c.at >= t.since).max_by_key(|c| c.at))
        });
        t.closed = explicit.or(implicit).cloned();
        t.open = t.closed.is_none();
    }
    out.sort_by(|a, b| b.open.cmp(&a.open).then(b.since.cmp(&a.since)));
}

/// Every tension as detected over every decision at once: the plain definition that
/// [`Circle::tensions_with`], which keeps per-month shares, is checked against.
#[cfg(test)]
pub(crate) fn from_scratch(circle: &Circle, inputs: &TensionInputs) -> Result<Vec<Tension>> {
    let rows = circle.all_rows()?;
    let decisions: Vec<&Decision> = rows.iter().flat_map(|r| r.iter().map(|d| &**d)).collect();
    let mut out = detect(circle, &decisions, inputs)?;
    out.extend(circle.raised_tensions()?);
    close(&mut out, &circle.addressed()?, &circle.principle_changes()?);
    Ok(out)
}

fn evidence_kind(id: &str) -> &'static str {
    match id.split('-').next() {
        Some("d") => "decision",
        Some("p") => "principle",
        Some("v") => "value",
        Some("rt") => "retro",
        _ => "note",
    }
}

pub(crate) fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub(crate) fn decision_evidence(id: &str, note: impl Into<Arc<str>>) -> Evidence {
    Evidence {
        kind: "decision".into(),
        id: id.into(),
        note: note.into(),
    }
}

/// A retro that flagged a principle, as evidence of a shared struggle.
pub(crate) fn retro_evidence(retro: &Retro) -> Evidence {
    Evidence {
        kind: "retro".into(),
        id: retro.id.as_str().into(),
        note: format!("team {} flagged it: {}", retro.team, retro.didnt).into(),
    }
}

/// The detected tensions (open, before closures are applied).
#[cfg(test)]
fn detect(
    circle: &Circle,
    decisions: &[&Decision],
    inputs: &TensionInputs,
) -> Result<Vec<Tension>> {
    let mut out = Vec::new();
    divergence(decisions, inputs, &mut out);
    shared_struggle(circle, decisions, inputs, &mut out)?;
    failing_principles(circle, decisions, &mut out)?;
    edit_conflicts(circle, &mut out)?;
    contested_passes(circle, &mut out)?;
    authority_vacuum(circle, inputs.now, &mut out);
    authority_confusion(circle, decisions, &mut out)?;
    proliferation(circle, &mut out)?;
    Ok(out)
}

pub(crate) fn tension(kind: TensionKind, id: String, title: String, summary: String) -> Tension {
    Tension {
        id,
        kind,
        title,
        summary,
        subject: None,
        evidence: Arc::from([]),
        since: Timestamp(0),
        raised_by: None,
        open: true,
        closed: None,
    }
}

/// (a) Different teams, same situation (or same principles and highly similar context),
/// different choices. One team changing its mind is not a tension between teams.
#[cfg(test)]
fn divergence(decisions: &[&Decision], inputs: &TensionInputs, out: &mut Vec<Tension>) {
    let mut by_situation: BTreeMap<&str, Vec<&Decision>> = BTreeMap::new();
    for d in decisions {
        if let Some(s) = d.situation.as_deref() {
            by_situation.entry(s).or_default().push(d);
        }
    }
    for (situation, ds) in by_situation {
        let teams: BTreeSet<&str> = ds.iter().map(|d| d.team.as_str()).collect();
        let choices: BTreeSet<String> = ds.iter().map(|d| normalise(&d.choice)).collect();
        if teams.len() < 2 || choices.len() < 2 || !differs_across_teams(&ds) {
            continue;
        }
        let mut t = tension(
            TensionKind::Divergence,
            format!("ta-{situation}"),
            format!("Teams chose differently in situation #{situation}"),
            format!(
                "{} teams recorded {} different choices for the same situation",
                teams.len(),
                choices.len()
            ),
        );
        t.since = ds.iter().map(|d| d.created_at).max().unwrap_or_default();
        t.evidence = ds
            .iter()
            .map(|d| decision_evidence(&d.id, format!("team {} chose: {}", d.team, d.choice)))
            .collect();
        out.push(t);
    }
    let by_id: HashMap<&str, &Decision> = decisions.iter().map(|d| (d.id.as_str(), *d)).collect();
    similar_divergence(|id| by_id.get(id).copied(), inputs, out);
}

/// Pairs of decisions the search engine found alike (`inputs.similar`), chosen differently
/// by two teams citing the same principles within the review cycle; `find` looks a
/// decision up by id.
pub(crate) fn similar_divergence<'a>(
    find: impl Fn(&str) -> Option<&'a Decision>,
    inputs: &TensionInputs,
    out: &mut Vec<Tension>,
) {
    let from = inputs.now.0 - inputs.cycle_ms();
    let mut seen = BTreeSet::new();
    for (x, y) in &inputs.similar {
        let (Some(a), Some(b)) = (find(x), find(y)) else {
            continue;
        };
        let (a, b) = if a.id <= b.id { (a, b) } else { (b, a) };
        let same_principles =
            a.principles.iter().collect::<BTreeSet<_>>() == b.principles.iter().collect();
        // Situation keys, when both have one, say whether the situations are the same:
        // the same key is a situation divergence, different keys mean the teams saw them as
        // different.
        let both_keyed = a.situation.is_some() && b.situation.is_some();
        // Old pairs are history, not a live tension: only pairs within the review cycle.
        let recent = a.created_at.0 >= from && b.created_at.0 >= from;
        if a.team == b.team
            || !same_principles
            || both_keyed
            || !recent
            || normalise(&a.choice) == normalise(&b.choice)
            || !seen.insert((a.id.clone(), b.id.clone()))
        {
            continue;
        }
        let mut t = tension(
            TensionKind::Divergence,
            format!("ta-{}-{}", a.id, b.id),
            "Teams chose differently in a similar situation".to_string(),
            format!(
                "teams {} and {} cite the same principles in closely similar contexts but chose differently",
                a.team, b.team
            ),
        );
        t.since = a.created_at.max(b.created_at);
        t.evidence = vec![
            decision_evidence(&a.id, format!("team {} chose: {}", a.team, a.choice)),
            decision_evidence(&b.id, format!("team {} chose: {}", b.team, b.choice)),
        ]
        .into();
        out.push(t);
    }
}

/// True when at least two teams' choice sets differ (not just one team varying).
#[cfg(test)]
fn differs_across_teams(ds: &[&Decision]) -> bool {
    ds.iter().any(|a| {
        ds.iter()
            .any(|b| a.team != b.team && normalise(&a.choice) != normalise(&b.choice))
    })
}

pub(crate) fn struggled(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Failed | Outcome::Mixed)
}

/// (b) Three or more teams recorded failed or mixed results under one principle, or
/// flagged it in a retro, within the current review cycle.
#[cfg(test)]
fn shared_struggle(
    circle: &Circle,
    decisions: &[&Decision],
    inputs: &TensionInputs,
    out: &mut Vec<Tension>,
) -> Result<()> {
    let from = Timestamp(inputs.now.0 - inputs.cycle_ms());
    let mut by_principle: BTreeMap<String, (BTreeSet<String>, Vec<Evidence>, Timestamp)> =
        BTreeMap::new();
    for d in decisions {
        let Some(r) = &d.result else { continue };
        if !struggled(r.outcome) || r.at < from || r.at > inputs.now {
            continue;
        }
        for p in &d.principles {
            let e = by_principle.entry(p.clone()).or_default();
            e.0.insert(d.team.clone());
            e.1.push(decision_evidence(
                &d.id,
                format!("team {}: {} — {}", d.team, r.outcome, r.text),
            ));
            e.2 = e.2.max(r.at);
        }
    }
    for retro in circle.retros()? {
        if retro.at < from || retro.at > inputs.now || retro.didnt.trim().is_empty() {
            continue;
        }
        for p in &retro.principles {
            let e = by_principle.entry(p.clone()).or_default();
            e.0.insert(retro.team.clone());
            e.1.push(retro_evidence(&retro));
            e.2 = e.2.max(retro.at);
        }
    }
    for (p, (teams, evidence, since)) in by_principle {
        if teams.len() < TEAMS_STRUGGLING {
            continue;
        }
        let mut t = tension(
            TensionKind::SharedStruggle,
            format!("tb-{p}"),
            format!("{} teams struggle under principle {p}", teams.len()),
            format!(
                "teams {} recorded failed or mixed results or flagged it in retros this review cycle",
                teams.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
        t.subject = Some(p);
        t.evidence = evidence.into();
        t.since = since;
        out.push(t);
    }
    Ok(())
}

/// (c) The latest results of decisions citing a principle all failed.
#[cfg(test)]
fn failing_principles(
    circle: &Circle,
    decisions: &[&Decision],
    out: &mut Vec<Tension>,
) -> Result<()> {
    let mut results: BTreeMap<&str, Vec<&Decision>> = BTreeMap::new();
    for d in decisions.iter().copied().filter(|d| d.result.is_some()) {
        for p in &d.principles {
            results.entry(p.as_str()).or_default().push(d);
        }
    }
    let active: BTreeSet<String> = circle
        .principles()?
        .into_iter()
        .filter(|p| p.status != PrincipleStatus::Retired)
        .map(|p| p.id)
        .collect();
    for (p, mut ds) in results {
        if !active.contains(p) || ds.len() < FAILURES_IN_A_ROW {
            continue;
        }
        ds.sort_by_key(|d| std::cmp::Reverse(d.result.as_ref().map(|r| r.at)));
        let latest = &ds[..FAILURES_IN_A_ROW];
        if !latest.iter().all(|d| {
            d.result
                .as_ref()
                .is_some_and(|r| r.outcome == Outcome::Failed)
        }) {
            continue;
        }
        let mut t = tension(
            TensionKind::FailingPrinciple,
            format!("tc-{p}"),
            format!("Decisions under principle {p} keep failing"),
            format!("the last {FAILURES_IN_A_ROW} recorded results citing it all failed"),
        );
        t.subject = Some(p.to_string());
        t.since = latest
            .iter()
            .filter_map(|d| d.result.as_ref().map(|r| r.at))
            .max()
            .unwrap_or_default();
        t.evidence = latest
            .iter()
            .map(|d| {
                let text = d.result.as_ref().map(|r| r.text.as_str()).unwrap_or("");
                decision_evidence(&d.id, format!("failed: {text}"))
            })
            .collect();
        out.push(t);
    }
    Ok(())
}

/// The tension of decisions `below` (id, when logged, zone) logged under `rule`'s zone by
/// team `team` (its name), or None when there are none.
pub(crate) fn below_zone(
    rule: &crate::zones::ZoneRule,
    team: &str,
    below: &[(&str, Timestamp, crate::words::Zone)],
) -> Option<Tension> {
    let latest = below.iter().map(|d| d.1).max()?;
    let mut t = tension(
        TensionKind::AuthorityConfusion,
        format!("tz-{}-{}", rule.team, rule.situation),
        format!("{team} logs #{} below its zone", rule.situation),
        format!(
            "the team agreed #{} is {}, yet {} decision(s) were logged in a lower zone: who decides this is unclear",
            rule.situation,
            rule.zone,
            below.len()
        ),
    );
    t.subject = Some(rule.team.clone());
    t.since = latest;
    t.evidence = below
        .iter()
        .map(|(id, _, zone)| decision_evidence(id, format!("logged as {zone}")))
        .collect();
    Some(t)
}

/// Decisions logged below the zone their team's zone map sets for the situation (see
/// `crate::zones`), since the rule was agreed.
#[cfg(test)]
fn authority_confusion(
    circle: &Circle,
    decisions: &[&Decision],
    out: &mut Vec<Tension>,
) -> Result<()> {
    for rule in circle.zone_rules() {
        let below: Vec<&&Decision> = decisions
            .iter()
            .filter(|d| {
                d.team == rule.team
                    && d.situation.as_deref() == Some(rule.situation.as_str())
                    && d.created_at >= rule.since
                    && d.zone < rule.zone
            })
            .collect();
        let team = circle
            .team(&rule.team)
            .map(|t| t.name)
            .unwrap_or_else(|_| rule.team.clone());
        let below: Vec<(&str, Timestamp, crate::words::Zone)> = below
            .into_iter()
            .map(|d| (d.id.as_str(), d.created_at, d.zone))
            .collect();
        out.extend(below_zone(&rule, &team, &below));
    }
    Ok(())
}

/// No steward in office (see `crate::members`): nobody may answer escalations until the
/// circle names stewards by proposal. Likewise once named principle keepers' term ends
/// with no one to take over (see `crate::keepers`): the charter goes untended.
pub(crate) fn authority_vacuum(circle: &Circle, now: Timestamp, out: &mut Vec<Tension>) {
    let k = circle.keepers(now);
    if let (false, Some(since)) = (k.in_office, k.until.filter(|_| k.by.is_some())) {
        let names: Vec<String> = k.keepers.iter().map(|m| circle.member_name(m)).collect();
        let mut t = tension(
            TensionKind::AuthorityVacuum,
            format!("tv-keepers-{}", since.0),
            "No principle keeper in office".to_string(),
            format!(
                "the principle keepers' term ({}) ended on {}: values and principles change with no one tending them; rotate (grove keeper rotate) or name keepers by proposal (grove proposal open --keeper …)",
                names.join(", "),
                since.minute()
            ),
        );
        t.since = since;
        out.push(t);
    }
    let s = circle.stewardship(now);
    if s.in_office || circle.membership().current_members().len() <= 1 {
        return;
    }
    let since = s.until.unwrap_or(now);
    let names: Vec<String> = s.stewards.iter().map(|m| circle.member_name(m)).collect();
    let mut t = tension(
        TensionKind::AuthorityVacuum,
        format!("tv-{}", since.0),
        "No steward in office".to_string(),
        format!(
            "the stewards' term ({}) ended on {}: escalations wait with no one to answer them; name stewards by proposal (grove proposal open --steward …)",
            names.join(", "),
            since.minute()
        ),
    );
    t.since = since;
    out.push(t);
}

/// Passes made without hearing the whole circle (see `crate::consent`): both sides named.
pub(crate) fn contested_passes(circle: &Circle, out: &mut Vec<Tension>) -> Result<()> {
    for p in circle.proposals()? {
        let Some(c) = p
            .contest
            .as_ref()
            .filter(|_| p.status == ProposalStatus::Contested)
        else {
            continue;
        };
        let mut other: Vec<String> = c
            .unheard
            .iter()
            .map(|r| {
                let reason = r
                    .reason
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default();
                format!(
                    "{} answered {}{reason}",
                    circle.member_name(&r.member),
                    r.answer
                )
            })
            .collect();
        if c.revised {
            other.push(format!("{} revised it", circle.member_name(&p.opened_by)));
        }
        if let Some(rival) = &c.rival {
            other.push(format!("proposal {rival} changed the same principle"));
        }
        let mut t = tension(
            TensionKind::Contested,
            format!("tc-{}", p.id),
            format!("Contested: {}", p.title),
            format!(
                "{} passed it on {} without hearing that {}; it does not take effect until that is settled: the answer is lifted, or the proposer revises it and the circle answers again",
                circle.member_name(&c.passed_by),
                c.passed_at.minute(),
                other.join("; ")
            ),
        );
        t.subject = Some(p.id.clone());
        t.since = c.passed_at;
        t.evidence = vec![Evidence {
            kind: "proposal".into(),
            id: p.id.as_str().into(),
            note: format!("passed by {}", circle.member_name(&c.passed_by)).into(),
        }]
        .into();
        out.push(t);
    }
    Ok(())
}

/// (d) Fields of values and principles that hold concurrent values: surfaced, not resolved.
pub(crate) fn edit_conflicts(circle: &Circle, out: &mut Vec<Tension>) -> Result<()> {
    let mut found: Vec<(String, String, String, Vec<String>, Timestamp)> = Vec::new();
    for v in circle.values()? {
        for c in v.conflicts {
            found.push((
                "value".into(),
                v.id.clone(),
                c.field,
                c.values,
                v.updated_at,
            ));
        }
    }
    for p in circle.principles()? {
        for c in p.conflicts {
            found.push((
                "principle".into(),
                p.id.clone(),
                c.field,
                c.values,
                p.updated_at,
            ));
        }
    }
    for (kind, id, field, values, at) in found {
        let mut t = tension(
            TensionKind::EditConflict,
            format!("td-{id}-{field}"),
            format!("Concurrent edits to the {field} of {kind} {id}"),
            format!(
                "two devices changed it at the same time; the versions are: {}",
                values.join(" | ")
            ),
        );
        t.subject = Some(id.clone());
        t.since = at;
        t.evidence = vec![Evidence {
            kind: kind.into(),
            id: id.into(),
            note: format!("{field} holds {} concurrent versions", values.len()).into(),
        }]
        .into();
        out.push(t);
    }
    Ok(())
}

/// (e) More than five active values, or more than three active principles under one value.
pub(crate) fn proliferation(circle: &Circle, out: &mut Vec<Tension>) -> Result<()> {
    let values: Vec<_> = circle
        .values()?
        .into_iter()
        .filter(|v| v.status == ValueStatus::Active)
        .collect();
    if values.len() > MAX_ACTIVE_VALUES {
        let mut t = tension(
            TensionKind::Proliferation,
            "te-values".into(),
            format!("{} active values", values.len()),
            format!("more than {MAX_ACTIVE_VALUES} values: a few commitments guide, many dilute"),
        );
        t.since = values
            .iter()
            .map(|v| v.created_at)
            .max()
            .unwrap_or_default();
        t.evidence = values
            .iter()
            .map(|v| Evidence {
                kind: "value".into(),
                id: v.id.as_str().into(),
                note: v.title.as_str().into(),
            })
            .collect();
        out.push(t);
    }
    let principles: Vec<_> = circle
        .principles()?
        .into_iter()
        .filter(|p| p.status == PrincipleStatus::Active)
        .collect();
    for v in &values {
        let under: Vec<_> = principles
            .iter()
            .filter(|p| p.values.contains(&v.id))
            .collect();
        if under.len() <= MAX_PRINCIPLES_PER_VALUE {
            continue;
        }
        let mut t = tension(
            TensionKind::Proliferation,
            format!("te-{}", v.id),
            format!("{} active principles under value {}", under.len(), v.title),
            format!("more than {MAX_PRINCIPLES_PER_VALUE} principles under one value"),
        );
        t.subject = Some(v.id.clone());
        t.since = under.iter().map(|p| p.created_at).max().unwrap_or_default();
        t.evidence = under
            .iter()
            .map(|p| Evidence {
                kind: "principle".into(),
                id: p.id.as_str().into(),
                note: p.statement.as_str().into(),
            })
            .collect();
        out.push(t);
    }
    Ok(())
}
