//! Decisions: the transparency layer — "the principle in play, the context, the choice made,
//! the result" (docs/design.md, section 1). Each lives in its month's shard document.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError};

use automerge::{transaction::Transactable, ObjId, ObjType, ReadDoc, ValueRef, ROOT};
use serde::{Deserialize, Serialize};

use crate::circle::{self, Circle};
use crate::clock::{Day, Timestamp};
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Conflict, Fields};
use crate::words::{DecisionStatus, Outcome, Zone};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Decision {
    pub id: String,
    pub team: String,
    pub author: String,
    pub principles: Vec<String>,
    pub context: String,
    pub choice: String,
    pub zone: Zone,
    /// The author was not sure which zone applied (a sign of authority confusion).
    pub zone_unsure: bool,
    pub situation: Option<String>,
    pub status: DecisionStatus,
    pub result: Option<DecisionResult>,
    /// When a result is expected.
    pub result_due: Option<Day>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub links: Vec<String>,
    pub readers: Vec<Reader>,
    pub history: Vec<HistoryEntry>,
    pub conflicts: Vec<Conflict>,
    /// A deliberate departure from this principle (docs/design.md, section 2): the centre hears of
    /// it and answers whether it backs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub departs_from: Option<String>,
    /// Why the team departed from the principle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub departure_why: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DecisionResult {
    pub text: String,
    pub outcome: Outcome,
    pub at: Timestamp,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reader {
    pub member: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub by: String,
    pub what: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewDecision {
    pub team: String,
    pub principles: Vec<String>,
    pub context: String,
    pub choice: String,
    pub zone: Option<Zone>,
    pub zone_unsure: bool,
    pub situation: Option<String>,
    pub result_due: Option<Day>,
    /// Logs the decision as a deliberate departure from this principle (with `departure_why`):
    /// it goes to the stewards, who back it, coach or stop it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub departs_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub departure_why: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DecisionEdit {
    pub context: Option<String>,
    pub choice: Option<String>,
    pub situation: Option<String>,
}

/// Every criterion is optional; all given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DecisionFilter {
    pub team: Option<String>,
    pub principle: Option<String>,
    /// Decisions citing any principle derived from this value.
    pub value: Option<String>,
    pub zone: Option<Zone>,
    pub status: Option<DecisionStatus>,
    pub author: Option<String>,
    pub situation: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Decisions this member has not read.
    pub unread_by: Option<String>,
    /// Case-insensitive words that must all appear in context, choice or result.
    pub text: Option<String>,
}

impl DecisionFilter {
    /// Whether month `period` (`YYYY-MM`) can hold a match: the date bounds rule whole
    /// months out before they are loaded.
    pub fn may_match_month(&self, period: &str) -> bool {
        self.until.is_none_or(|u| period <= u.period().as_str())
            && self.since.is_none_or(|s| period >= s.period().as_str())
    }
}

/// What the log's counts need of one month, without its rows ([`Circle::month_tally`]):
/// small enough to keep beside the month in the store, so totals and citation counts do not
/// load the month.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MonthTally {
    /// Decisions in the month.
    pub decisions: usize,
    /// Of those, how many `reader` has not read.
    pub unread: usize,
    pub reader: String,
    /// Decisions citing each principle.
    pub citations: BTreeMap<String, usize>,
}

/// A month's decisions, newest first, each shared: a list of the whole log, the views and
/// the month's cache hold the same rows rather than copies of them.
pub(crate) type Rows = Arc<Vec<Arc<Decision>>>;

/// See [`Circle::decisions_window_in`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthWindow {
    pub matched: usize,
    pub unread: usize,
    pub rows: Vec<Decision>,
}

const EDITABLE: &[&str] = &[
    "context",
    "choice",
    "situation",
    "result_text",
    "result_outcome",
];
const READ: &str = "read:";
const LINK: &str = "link:";
const HISTORY: &str = "history:";

impl Circle {
    /// Logs a decision; a centre zone also raises an escalation. Returns the decision id.
    pub fn log_decision(&mut self, ctx: &mut Ctx<'_>, new: NewDecision) -> Result<String> {
        self.team(&new.team)?;
        let mut principles: Vec<String> = Vec::new();
        for p in &new.principles {
            let p = p.trim().to_string();
            if !principles.contains(&p) {
                principles.push(p);
            }
        }
        if principles.is_empty() {
            return Err(CoreError::invalid(
                "a decision must name at least one principle in play",
            ));
        }
        self.check_citable(&principles)?;
        let context = fields::required(&new.context, "a decision's context")?;
        let choice = fields::required(&new.choice, "the choice made")?;
        let situation = fields::optional(new.situation.as_deref(), "the situation key")?
            .map(|s| s.to_lowercase());
        let departure = match new.departs_from.as_deref().map(str::trim) {
            Some(pid) if !pid.is_empty() => {
                self.check_citable(&[pid.to_string()])?;
                let why = fields::optional(new.departure_why.as_deref(), "why the decision departs")?
                    .ok_or_else(|| {
                        CoreError::invalid(
                            "a departure from a principle says why (--why), so the stewards can answer it",
                        )
                    })?;
                Some((pid.to_string(), why))
            }
            _ => None,
        };
        let zone = self.planned_zone(&new);
        let period = ctx.now.period();
        let id = ctx.new_id(&format!("d-{}", period.replace('-', "")));
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_shard(&period, now, "decision log", |tx| {
            let d = tx.put_object(ROOT, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &d, "team", &new.team)?;
            fields::put_str(tx, &d, "author", &member)?;
            fields::put_list(tx, &d, "principles", &principles)?;
            fields::put_str(tx, &d, "context", &context)?;
            fields::put_str(tx, &d, "choice", &choice)?;
            fields::put_str(tx, &d, "zone", zone.as_str())?;
            if new.zone_unsure {
                tx.put(&d, "zone_unsure", true)?;
            }
            fields::put_opt_str(tx, &d, "situation", situation.as_deref())?;
            if let Some(due) = new.result_due {
                fields::put_str(tx, &d, "result_due", &due.to_string())?;
            }
            if let Some((pid, why)) = &departure {
                fields::put_str(tx, &d, "departs_from", pid)?;
                fields::put_str(tx, &d, "departure_why", why)?;
            }
            fields::put_time(tx, &d, "created_at", now)?;
            Ok(())
        })?;
        if zone.escalates() {
            self.raise_escalation(ctx, &id, zone)?;
        }
        Ok(id)
    }

    /// The zone `new` is logged in. A departure is for the centre to hear: it escalates
    /// whatever zone was picked. No zone given: the one the team's zone map sets for the
    /// situation, else local.
    pub(crate) fn planned_zone(&self, new: &NewDecision) -> Zone {
        self.planned_zone_inner(new)
    }

    /// Whether logging `new` raises an escalation: what the escalations' document must be
    /// loaded for.
    pub fn escalates(&self, new: &NewDecision) -> bool {
        self.planned_zone_inner(new).escalates()
    }

    fn planned_zone_inner(&self, new: &NewDecision) -> Zone {
        let departing = new
            .departs_from
            .as_deref()
            .is_some_and(|p| !p.trim().is_empty());
        let mapped = fields::optional(new.situation.as_deref(), "the situation key")
            .ok()
            .flatten()
            .and_then(|s| self.mapped_zone(&new.team, &s.to_lowercase()));
        match (departing, new.zone.or(mapped)) {
            (true, None | Some(Zone::Local | Zone::PrincipleCheck)) => Zone::CentreAwareness,
            (_, zone) => zone.unwrap_or(Zone::Local),
        }
    }

    pub fn record_result(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        text: &str,
        outcome: Outcome,
    ) -> Result<()> {
        let text = fields::required(text, "the result")?;
        let (period, obj) = self.decision_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let rng_tag = ctx.new_id("h");
        self.change_shard(&period, now, "decision result", |tx| {
            fields::put_str(tx, &obj, "result_text", &text)?;
            fields::put_str(tx, &obj, "result_outcome", outcome.as_str())?;
            fields::put_time(tx, &obj, "result_at", now)?;
            fields::put_str(tx, &obj, "result_by", &member)?;
            fields::put_time(tx, &obj, "updated_at", now)?;
            history(
                tx,
                &obj,
                now,
                &member,
                &rng_tag,
                &format!("recorded result: {outcome}"),
            )
        })
    }

    pub fn edit_decision(&mut self, ctx: &mut Ctx<'_>, id: &str, edit: DecisionEdit) -> Result<()> {
        let context = edit
            .context
            .as_deref()
            .map(|c| fields::required(c, "a decision's context"))
            .transpose()?;
        let choice = edit
            .choice
            .as_deref()
            .map(|c| fields::required(c, "the choice made"))
            .transpose()?;
        let situation = edit.situation.as_deref().map(|s| s.trim().to_lowercase());
        let mut changed = Vec::new();
        if context.is_some() {
            changed.push("context");
        }
        if choice.is_some() {
            changed.push("choice");
        }
        if situation.is_some() {
            changed.push("situation");
        }
        if changed.is_empty() {
            return Err(CoreError::invalid(
                "nothing to change: give a new context, choice or situation",
            ));
        }
        let (period, obj) = self.decision_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let tag = ctx.new_id("h");
        self.change_shard(&period, now, "decision edit", |tx| {
            fields::put_opt_str(tx, &obj, "context", context.as_deref())?;
            fields::put_opt_str(tx, &obj, "choice", choice.as_deref())?;
            fields::put_opt_str(tx, &obj, "situation", situation.as_deref())?;
            fields::put_time(tx, &obj, "updated_at", now)?;
            history(
                tx,
                &obj,
                now,
                &member,
                &tag,
                &format!("edited {}", changed.join(", ")),
            )
        })
    }

    /// Marks the decision read by `ctx.member`. Returns false if they had read it already
    /// (the first reading time is kept).
    pub fn mark_read(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<bool> {
        let (period, obj) = self.decision_obj(id)?;
        let key = format!("{READ}{}", ctx.member);
        let doc = self
            .shard(&period)
            .ok_or_else(|| CoreError::not_found("decision", id))?;
        if doc.get(&obj, key.as_str())?.is_some() {
            return Ok(false);
        }
        let now = ctx.now;
        self.change_shard(&period, now, "decision read", |tx| {
            tx.put(&obj, key.as_str(), now.0)?;
            Ok(())
        })?;
        Ok(true)
    }

    /// Links decision `id` to `other` (e.g. "this follows from that").
    pub fn link_decisions(&mut self, ctx: &mut Ctx<'_>, id: &str, other: &str) -> Result<()> {
        if id == other {
            return Err(CoreError::invalid("a decision cannot link to itself"));
        }
        self.decision_obj(other)?;
        let (period, obj) = self.decision_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let tag = ctx.new_id("h");
        self.change_shard(&period, now, "decision link", |tx| {
            tx.put(&obj, format!("{LINK}{other}").as_str(), true)?;
            history(tx, &obj, now, &member, &tag, &format!("linked to {other}"))
        })
    }

    pub fn decision(&self, id: &str) -> Result<Decision> {
        let (period, obj) = self.decision_obj(id)?;
        let doc = self
            .shard(&period)
            .ok_or_else(|| CoreError::not_found("decision", id))?;
        Ok(read_decision(doc, id, &obj))
    }

    /// Decisions in the loaded shards matching `filter`, newest first.
    pub fn decisions(&self, filter: &DecisionFilter) -> Result<Vec<Arc<Decision>>> {
        let periods: Vec<String> = self
            .shards()
            .rev()
            .map(|(p, _)| p.clone())
            .filter(|p| filter.may_match_month(p))
            .collect();
        // Each month read (if its rows are not ready) and filtered side by side: reading a
        // month costs about as much as loading it, and copying out a whole log of matches
        // is not free either.
        let months = crate::parallel::map_each(&periods, |p| self.decisions_in(p, filter));
        let mut parts = Vec::with_capacity(months.len());
        for (month, p) in months.into_iter().zip(&periods) {
            parts.push(match month {
                Some(part) => part?,
                None => self.decisions_in(p, filter)?,
            });
        }
        let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            out.extend(part);
        }
        Ok(out)
    }

    /// Decisions of one loaded month matching `filter`, newest first (empty if not loaded).
    pub fn decisions_in(
        &self,
        period: &str,
        filter: &DecisionFilter,
    ) -> Result<Vec<Arc<Decision>>> {
        let rows = self.month_rows(period)?;
        let prepared = Prepared::new(self, filter)?;
        Ok(rows
            .iter()
            .filter(|d| prepared.matches(d, filter))
            .cloned()
            .collect())
    }

    /// One month's share of a page of the filtered log: how many of its decisions match
    /// (and how many of those `reader` has not read), and clones of only the matches at
    /// positions `skip..skip + take`, so a page of a large log costs a scan of ready rows
    /// plus the page itself.
    pub fn decisions_window_in(
        &self,
        period: &str,
        filter: &DecisionFilter,
        skip: usize,
        take: usize,
        reader: &str,
    ) -> Result<MonthWindow> {
        let rows = self.month_rows(period)?;
        let prepared = Prepared::new(self, filter)?;
        let mut window = MonthWindow::default();
        for d in rows.iter().filter(|d| prepared.matches(d, filter)) {
            if window.matched >= skip && window.rows.len() < take {
                window.rows.push(Decision::clone(d));
            }
            window.matched += 1;
            if !d.readers.iter().any(|r| r.member == reader) {
                window.unread += 1;
            }
        }
        Ok(window)
    }

    /// Every decision of a month, newest first, read once per version of the month's
    /// document: filtering a large log again (the desktop's filters, repeated `list`s) then
    /// costs a scan of ready rows, not a re-read of Automerge.
    pub(crate) fn month_rows(&self, period: &str) -> Result<Rows> {
        let Some(doc) = self.shard(period) else {
            return Ok(Arc::default());
        };
        let heads = doc.get_heads();
        let mut cache = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached_heads, rows)) = cache.get_mut(period) {
            if *cached_heads == heads {
                return Ok(rows.clone());
            }
            // One decision logged or read re-reads that decision, not the month.
            if let Some(touched) = crate::month_changes::touched_since(doc, cached_heads) {
                let patched = Arc::make_mut(rows);
                patched.retain(|d| !touched.contains(&d.id));
                for id in &touched {
                    if let Some(d) = read_row(doc, id) {
                        let at = patched
                            .binary_search_by(|x| newest_first(x, &d))
                            .unwrap_or_else(|at| at);
                        patched.insert(at, Arc::new(d));
                    }
                }
                *cached_heads = heads;
                return Ok(rows.clone());
            }
        }
        // Read without the lock, so that months are read side by side (`decisions`).
        drop(cache);
        let rows = Arc::new(read_month(doc));
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(period.to_string(), (heads, rows.clone()));
        Ok(rows)
    }

    /// Decision `id` as month `period`'s rows hold it, or None when that month (loaded)
    /// holds no such decision: for views that follow a month change by change.
    pub fn decision_in(&self, period: &str, id: &str) -> Option<Decision> {
        read_row(self.shard(period)?, id)
    }

    /// The decisions of month `period` that may read differently now than when the month
    /// had heads `since`, or None when every decision must be read again (see
    /// [`crate::month_changes`]).
    pub fn decisions_touched(
        &self,
        period: &str,
        since: &[automerge::ChangeHash],
    ) -> Option<std::collections::BTreeSet<String>> {
        crate::month_changes::touched_since(self.shard(period)?, since)
    }

    /// The `n` most recently logged decisions of the loaded months, newest first (equal
    /// times in the order of [`Circle::decisions`]), cloning only those.
    pub fn newest_decisions(&self, n: usize) -> Result<Vec<Arc<Decision>>> {
        let periods: Vec<String> = self.shards().rev().map(|(p, _)| p.clone()).collect();
        let months = periods
            .iter()
            .map(|p| self.month_rows(p))
            .collect::<Result<Vec<_>>>()?;
        // Each month's rows are newest first, so its first `n` hold its share of the answer.
        let mut all: Vec<(std::cmp::Reverse<Timestamp>, usize, &Arc<Decision>)> = Vec::new();
        let mut offset = 0;
        for rows in &months {
            all.extend(
                rows.iter()
                    .take(n)
                    .enumerate()
                    .map(|(i, d)| (std::cmp::Reverse(d.created_at), offset + i, d)),
            );
            offset += rows.len();
        }
        if all.len() > n && n > 0 {
            all.select_nth_unstable_by_key(n - 1, |(t, i, _)| (*t, *i));
        }
        all.truncate(n);
        all.sort_unstable_by_key(|(t, i, _)| (*t, *i));
        Ok(all.into_iter().map(|(_, _, d)| d.clone()).collect())
    }

    /// The counts of one loaded month (see [`MonthTally`]), from its ready rows.
    pub fn month_tally(&self, period: &str, reader: &str) -> Result<MonthTally> {
        let rows = self.month_rows(period)?;
        let mut tally = MonthTally {
            decisions: rows.len(),
            reader: reader.to_string(),
            ..MonthTally::default()
        };
        for d in rows.iter() {
            if !d.readers.iter().any(|r| r.member == reader) {
                tally.unread += 1;
            }
            for p in &d.principles {
                *tally.citations.entry(p.clone()).or_insert(0) += 1;
            }
        }
        Ok(tally)
    }

    /// How many loaded decisions cite each principle. Counted from the per-month rows cache,
    /// so asking again (the values view, each visit) costs a scan of ready rows.
    pub fn citations(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (period, _) in self.shards() {
            // A month that is not a map holds no decisions to count.
            let Ok(rows) = self.month_rows(period) else {
                continue;
            };
            for d in rows.iter() {
                for p in &d.principles {
                    *counts.entry(p.clone()).or_insert(0) += 1;
                }
            }
        }
        counts
    }

    /// Decision counts per loaded month, oldest first.
    pub fn decision_counts(&self) -> BTreeMap<String, usize> {
        self.shards()
            .map(|(p, doc)| {
                let n = doc
                    .map_range(ROOT, ..)
                    .filter(|i| matches!(i.value, automerge::ValueRef::Object(_)))
                    .count();
                (p.clone(), n)
            })
            .collect()
    }

    /// The shard period and object of decision `id`; NotFound if absent or its shard is not loaded.
    fn decision_obj(&self, id: &str) -> Result<(String, ObjId)> {
        let doc_key = circle::decision_doc(id)?;
        let period = circle::shard_period(&doc_key)
            .map(str::to_string)
            .ok_or_else(|| CoreError::not_found("decision", id))?;
        let doc = self
            .shard(&period)
            .ok_or_else(|| CoreError::not_found("decision", id))?;
        let obj =
            fields::entity(doc, &ROOT, id)?.ok_or_else(|| CoreError::not_found("decision", id))?;
        Ok((period, obj))
    }
}

fn history<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    now: Timestamp,
    member: &str,
    tag: &str,
    what: &str,
) -> Result<()> {
    // Keyed by time then a random tag: concurrent entries from two devices both survive and
    // sort chronologically.
    let key = fields::timeline_key(HISTORY, now, member, tag);
    tx.put(obj, key.as_str(), what)?;
    Ok(())
}

/// A filter with its lookups done once, not once per decision.
struct Prepared {
    value_principles: Option<Vec<String>>,
    words: Vec<String>,
    situation: Option<String>,
}

impl Prepared {
    fn new(circle: &Circle, filter: &DecisionFilter) -> Result<Prepared> {
        let value_principles = match &filter.value {
            Some(v) => {
                circle.value(v)?;
                Some(
                    circle
                        .principles()?
                        .into_iter()
                        .filter(|p| p.values.iter().any(|pv| pv == v))
                        .map(|p| p.id)
                        .collect(),
                )
            }
            None => None,
        };
        Ok(Prepared {
            value_principles,
            words: filter
                .text
                .as_deref()
                .map(|t| t.split_whitespace().map(str::to_lowercase).collect())
                .unwrap_or_default(),
            situation: filter.situation.as_deref().map(|s| s.trim().to_lowercase()),
        })
    }

    fn matches(&self, d: &Decision, f: &DecisionFilter) -> bool {
        matches_filter(
            d,
            f,
            self.value_principles.as_deref(),
            &self.words,
            self.situation.as_deref(),
        )
    }
}

fn matches_filter(
    d: &Decision,
    f: &DecisionFilter,
    value_principles: Option<&[String]>,
    words: &[String],
    situation: Option<&str>,
) -> bool {
    if f.team.as_ref().is_some_and(|t| *t != d.team)
        || f.principle
            .as_ref()
            .is_some_and(|p| !d.principles.contains(p))
        || f.zone.is_some_and(|z| z != d.zone)
        || f.status.is_some_and(|s| s != d.status)
        || f.author.as_ref().is_some_and(|a| *a != d.author)
        || f.since.is_some_and(|s| d.created_at < s)
        || f.until.is_some_and(|u| d.created_at > u)
        || situation.is_some_and(|s| d.situation.as_deref() != Some(s))
        || f.unread_by
            .as_ref()
            .is_some_and(|m| d.readers.iter().any(|r| r.member == *m))
    {
        return false;
    }
    if let Some(vp) = value_principles {
        if !d.principles.iter().any(|p| vp.contains(p)) {
            return false;
        }
    }
    if !words.is_empty() {
        let hay = format!(
            "{} {} {}",
            d.context,
            d.choice,
            d.result.as_ref().map(|r| r.text.as_str()).unwrap_or("")
        )
        .to_lowercase();
        if !words.iter().all(|w| hay.contains(w.as_str())) {
            return false;
        }
    }
    true
}

/// The order of a month's rows: newest first, then by id, so equal times sort the same on
/// every device.
fn newest_first(a: &Decision, b: &Decision) -> std::cmp::Ordering {
    row_key(a.created_at, &a.id).cmp(&row_key(b.created_at, &b.id))
}

/// Where a decision logged at `created` with id `id` sorts among a month's rows: newest
/// first, then by id. Views kept per decision name a row by this key, which, unlike its
/// index, stays the same as other decisions come and go.
pub(crate) fn row_key(
    created: Timestamp,
    id: &str,
) -> (std::cmp::Reverse<Timestamp>, std::cmp::Reverse<&str>) {
    (std::cmp::Reverse(created), std::cmp::Reverse(id))
}

/// The index of the row of key (`created`, `id`) in a month's rows, or where it would go.
pub(crate) fn row_index(
    rows: &[Arc<Decision>],
    created: Timestamp,
    id: &str,
) -> std::result::Result<usize, usize> {
    let key = row_key(created, id);
    rows.binary_search_by(|x| row_key(x.created_at, &x.id).cmp(&key))
}

/// The decisions of `touched` that a month's `rows` hold, each with its row's index: what a
/// view kept per decision patches after a change.
pub(crate) fn touched_rows<'a>(
    rows: &'a [Arc<Decision>],
    touched: &std::collections::BTreeSet<String>,
) -> std::collections::HashMap<&'a str, (usize, &'a Arc<Decision>)> {
    let mut now = std::collections::HashMap::with_capacity(touched.len());
    for (i, d) in rows.iter().enumerate() {
        if now.len() == touched.len() {
            break;
        }
        if touched.contains(&d.id) {
            now.insert(d.id.as_str(), (i, d));
        }
    }
    now
}

/// Every decision of a month's shard, newest first.
pub(crate) fn read_month(doc: &automerge::Automerge) -> Vec<Arc<Decision>> {
    let mut rows: Vec<Decision> = Vec::with_capacity(doc.length(ROOT));
    for item in doc.map_range(ROOT, ..) {
        if let ValueRef::Object(ObjType::Map) = item.value {
            rows.push(listed_decision(doc, &item.key, &item.id()));
        }
    }
    rows.sort_by(newest_first);
    // Each row shared (the whole log is a list of these, not a copy), and allocated in the
    // rows' order: views that scan a month's rows in turn (vitality, tensions) then walk
    // memory in order, as they did in one vector, instead of in the order of the ids.
    rows.into_iter().map(Arc::new).collect()
}

/// Decision `id` of a month as [`Circle::month_rows`] reads it (conflicts named, not
/// valued), or None when the month holds no such decision.
fn read_row(doc: &automerge::Automerge, id: &str) -> Option<Decision> {
    let (value, obj) = doc.get(ROOT, id).ok()??;
    if !matches!(value, automerge::Value::Object(ObjType::Map)) {
        return None;
    }
    Some(listed_decision(doc, id, &obj))
}

/// Decision `id` at `obj` as a listing shows it. Each decision's map is read with its own
/// `map_range`: with Automerge 0.12's columnar op set that costs less than hydrating the
/// month into a tree of values and reading the tree (a cold whole log of 100,000 decisions
/// 2.74-2.87 s -> 1.95-2.02 s; see BENCHMARKS.md).
fn listed_decision(doc: &automerge::Automerge, id: &str, obj: &ObjId) -> Decision {
    let f = Fields::read(doc, obj);
    let conflicts = conflict_names(&f);
    decision_from(doc, id, f, conflicts)
}

fn read_decision<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Decision {
    let f = Fields::read(doc, obj);
    let conflicts = f.conflicts(doc, obj, EDITABLE);
    decision_from(doc, id, f, conflicts)
}

/// Listing marks conflicts cheaply: the field names only; `show` gives the values.
fn conflict_names(f: &Fields) -> Vec<Conflict> {
    EDITABLE
        .iter()
        .filter(|k| f.is_conflicted(k))
        .map(|k| Conflict {
            field: (*k).to_string(),
            values: Vec::new(),
            devices: Vec::new(),
        })
        .collect()
}

fn decision_from<D: ReadDoc>(doc: &D, id: &str, f: Fields, conflicts: Vec<Conflict>) -> Decision {
    let result = match (f.opt_str("result_text"), f.opt_str("result_outcome")) {
        (Some(text), Some(outcome)) => Some(DecisionResult {
            text,
            outcome: Outcome::from_stored(&outcome, Outcome::Mixed),
            at: f.time("result_at"),
            by: f.str("result_by"),
        }),
        _ => None,
    };
    let mut readers: Vec<Reader> = f
        .prefixed(READ)
        .into_iter()
        .map(|(member, at)| Reader {
            member,
            at: Timestamp(at.parse().unwrap_or_default()),
        })
        .collect();
    readers.sort_by(|a, b| a.at.cmp(&b.at).then(a.member.cmp(&b.member)));
    let history = f
        .timeline(HISTORY)
        .into_iter()
        .map(|(at, by, what)| HistoryEntry { at, by, what })
        .collect();
    Decision {
        id: id.to_string(),
        team: f.str("team"),
        author: f.str("author"),
        principles: f.list(doc, "principles"),
        context: f.str("context"),
        choice: f.str("choice"),
        zone: Zone::from_stored(&f.str("zone"), Zone::Local),
        zone_unsure: f.bool("zone_unsure"),
        situation: f.opt_str("situation"),
        status: if result.is_some() {
            DecisionStatus::Resulted
        } else {
            DecisionStatus::Open
        },
        result,
        result_due: f.opt_str("result_due").and_then(|d| Day::parse(&d).ok()),
        created_at: f.time("created_at"),
        updated_at: f.opt_time("updated_at").unwrap_or(f.time("created_at")),
        links: f.prefixed(LINK).into_iter().map(|(k, _)| k).collect(),
        readers,
        history,
        conflicts,
        departs_from: f.opt_str("departs_from"),
        departure_why: f.opt_str("departure_why"),
    }
}
