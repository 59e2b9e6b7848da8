//! Vitality: the signs of life and decay of a distributed group (docs/design.md, section
//! 4), each a figure over a chosen window with its trend and a healthy / watch / decay
//! band, and the replant alert when more than one category decays. A derived view: computed from the log on demand, never
//! stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::{Day, Timestamp, DAY_MS};
use crate::decisions::{row_index, row_key, Decision, Rows};
use crate::error::Result;
use crate::month_changes;
use crate::words::PrincipleStatus;

/// The four categories of decay (docs/design.md, section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum DecayCategory {
    /// "Principles become liturgy … decisions get logged but no one reads the logs."
    Liturgy,
    /// "Local optimization harms the whole silently … the feedback loop has broken."
    SilentHarm,
    /// "Authority confusion emerges."
    AuthorityConfusion,
    /// "Centre withdraws into irrelevance … stops tending principles."
    CentreWithdrawal,
}

impl DecayCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            DecayCategory::Liturgy => "liturgy",
            DecayCategory::SilentHarm => "silent-harm",
            DecayCategory::AuthorityConfusion => "authority-confusion",
            DecayCategory::CentreWithdrawal => "centre-withdrawal",
        }
    }

    /// The category in the words of the people who use Grove (the precise term is `as_str`).
    pub fn plain(self) -> &'static str {
        match self {
            DecayCategory::Liturgy => "going through the motions",
            DecayCategory::SilentHarm => "results nobody checks",
            DecayCategory::AuthorityConfusion => "unclear who decides",
            DecayCategory::CentreWithdrawal => "principles left untended",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Band {
    Healthy,
    Watch,
    Decay,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Healthy => "healthy",
            Band::Watch => "watch",
            Band::Decay => "decay",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Trend {
    Up,
    Down,
    Flat,
}

/// One sign, as of now and as of one window earlier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Figure {
    /// Stable key, e.g. `read-coverage`.
    pub key: String,
    pub label: String,
    pub category: DecayCategory,
    pub value: f64,
    pub unit: String,
    pub previous: f64,
    pub trend: Trend,
    pub band: Band,
    /// Why this band, in words.
    pub reason: String,
    /// Per-team or per-item breakdown where one helps (e.g. velocity per team).
    pub detail: BTreeMap<String, f64>,
    /// Ids behind the figure (e.g. the principles never cited).
    pub items: Vec<String>,
}

impl Figure {
    /// What to do about this sign, plainly, when it is not healthy; none when nothing it
    /// shows needs doing (a watch band with nothing overdue, expired or waiting).
    pub fn advice(&self) -> Option<String> {
        if self.band == Band::Healthy {
            return None;
        }
        let n = if self.key == "escalations-waiting" {
            self.detail.get("waiting").copied().unwrap_or(0.0)
        } else {
            self.value
        };
        let count = |one: &str, many: &str| {
            let k = n.round() as i64;
            format!("{k} {}", if k == 1 { one } else { many })
        };
        let some = n > 0.0;
        match self.key.as_str() {
            "decision-velocity" => {
                Some("Log decisions again, small ones too: fewer are being written down.".into())
            }
            "read-coverage" => Some(
                "Read each other's decisions: set time aside to read what other teams logged."
                    .into(),
            ),
            "principles-never-cited" => some.then(|| {
                format!(
                    "Look at the {} nobody cites: make them useful, or retire them.",
                    count("principle", "principles")
                )
            }),
            "past-due-no-result" => some.then(|| {
                format!(
                    "Record how the {} past their due date turned out.",
                    count("decision", "decisions")
                )
            }),
            "zone-unsure" => {
                Some("Agree again who decides what: go through the zones together.".into())
            }
            "escalations-waiting" => Some(if some {
                format!(
                    "Answer the {} waiting for a steward.",
                    count("escalation", "escalations")
                )
            } else {
                "Answer escalations sooner.".into()
            }),
            "principles-unchanged" => some.then(|| {
                format!(
                    "Review the {} unchanged for two review cycles.",
                    count("principle", "principles")
                )
            }),
            "reviews-overdue" => {
                some.then(|| format!("Hold the review: it is {} overdue.", count("day", "days")))
            }
            "roles-expired" => some.then(|| {
                format!(
                    "Rotate the {} whose term has ended.",
                    count("role", "roles")
                )
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Replant {
    pub categories: Vec<DecayCategory>,
    pub message: String,
    pub recommendations: Vec<String>,
}

/// Decisions logged in one week, for a velocity chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WeekCount {
    pub week_start: Timestamp,
    pub decisions: usize,
    /// The week's decisions by team id, for velocity per team over time.
    pub by_team: BTreeMap<String, usize>,
    pub read_outside_team: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Vitality {
    pub now: Timestamp,
    pub window_days: i64,
    pub figures: Vec<Figure>,
    pub decaying: Vec<DecayCategory>,
    pub replant: Option<Replant>,
    /// The last twelve weeks, oldest first.
    pub weeks: Vec<WeekCount>,
    /// Waiting time of each escalation raised in the window, in hours (for a histogram).
    pub escalation_waits_hours: Vec<f64>,
}

/// Inputs of the vitality view.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct VitalityInputs {
    pub now: Timestamp,
    /// Window length in days (0 means 30).
    pub window_days: i64,
    /// Review cycle in days (0 means 90).
    pub cycle_days: i64,
}

impl VitalityInputs {
    fn window(&self) -> i64 {
        if self.window_days > 0 {
            self.window_days
        } else {
            30
        }
    }
    fn cycle(&self) -> i64 {
        if self.cycle_days > 0 {
            self.cycle_days
        } else {
            90
        }
    }
}

/// What vitality keeps between calls on one circle: each month's facts and the core's,
/// with the heads they were read at, so after one new decision only what that decision
/// adds to its month's facts is taken out and put in again (as the month's rows are
/// patched, see [`crate::month_changes`]). The figures are computed afresh from them on
/// every call, as `now` moves.
#[derive(Default)]
pub struct VitalityCache {
    /// Each month's facts with the month's heads and the team memberships they used.
    months: HashMap<String, KeptMonth>,
    core: Option<(Vec<ChangeHash>, Arc<CoreFacts>)>,
}

/// Each team's members.
type Teams = HashMap<String, BTreeSet<String>>;

/// A month's facts with the heads and team memberships they were gathered at.
type KeptMonth = (Vec<ChangeHash>, Arc<Teams>, Arc<MonthFacts>);

/// One month's share of the facts, gathered from its rows (newest first), then patched
/// with the decisions each change touched (see [`crate::month_changes`]).
#[derive(Clone)]
struct MonthFacts {
    /// What each decision adds, by id, so that it can be taken out again.
    each: HashMap<String, Part>,
    /// When each principle was first cited by a decision of the month.
    first_cited: HashMap<String, Timestamp>,
    /// Decisions with a due date, in row order.
    due: Vec<Due>,
    /// Per row, when someone outside the author and the team first read it.
    read_outside: Vec<Option<Timestamp>>,
}

/// A decision with a due date.
#[derive(Clone)]
struct Due {
    created: Timestamp,
    id: String,
    day: Day,
    /// When its result was recorded.
    result: Option<Timestamp>,
}

/// What one decision adds to its month's facts.
#[derive(Clone, PartialEq)]
struct Part {
    created: Timestamp,
    principles: Vec<String>,
    /// Its due date, and when its result was recorded.
    due: Option<(Day, Option<Timestamp>)>,
    read_outside: Option<Timestamp>,
}

impl Part {
    fn of(d: &Decision, teams: &Teams) -> Part {
        let team = teams.get(&d.team);
        Part {
            created: d.created_at,
            principles: d.principles.clone(),
            due: d
                .result_due
                .map(|day| (day, d.result.as_ref().map(|r| r.at))),
            read_outside: d
                .readers
                .iter()
                .filter(|r| r.member != d.author && !team.is_some_and(|t| t.contains(&r.member)))
                .map(|r| r.at)
                .min(),
        }
    }
}

impl MonthFacts {
    fn gather(rows: &[Arc<Decision>], teams: &Teams) -> MonthFacts {
        let mut facts = MonthFacts {
            each: HashMap::with_capacity(rows.len()),
            first_cited: HashMap::new(),
            due: Vec::new(),
            read_outside: Vec::with_capacity(rows.len()),
        };
        for d in rows {
            let part = Part::of(d, teams);
            facts.read_outside.push(part.read_outside);
            for p in &part.principles {
                facts
                    .first_cited
                    .entry(p.clone())
                    .and_modify(|t| *t = (*t).min(d.created_at))
                    .or_insert(d.created_at);
            }
            if let Some((day, result)) = part.due {
                facts.due.push(Due {
                    created: d.created_at,
                    id: d.id.clone(),
                    day,
                    result,
                });
            }
            facts.each.insert(d.id.clone(), part);
        }
        facts
    }

    /// Takes out what the decisions of `touched` added and puts in what they add now;
    /// `rows` are the month's rows after the change. False when the facts did not hold
    /// what a decision had added: they must be gathered again.
    fn patch(&mut self, rows: &[Arc<Decision>], touched: &BTreeSet<String>, teams: &Teams) -> bool {
        let now = crate::decisions::touched_rows(rows, touched);
        let mut old: Vec<(&str, Part)> = Vec::new();
        let mut new: Vec<(&str, usize, Part)> = Vec::new();
        for id in touched {
            let part = now.get(id.as_str()).map(|&(i, d)| (i, Part::of(d, teams)));
            if self.each.get(id) == part.as_ref().map(|(_, p)| p) {
                continue;
            }
            if let Some(p) = self.each.remove(id) {
                old.push((id, p));
            }
            if let Some((i, p)) = part {
                new.push((id, i, p));
            }
        }
        // Rows the changed decisions held before: each one's index among the rows of then,
        // which are the rows of now without the changed decisions' new rows and with their
        // old ones.
        let before = |created: Timestamp, id: &str| {
            let key = row_key(created, id);
            let now_below = row_index(rows, created, id).unwrap_or_else(|i| i);
            let new_below = new.iter().filter(|(id, _, p)| row_key(p.created, id) < key);
            let old_below = old.iter().filter(|(id, p)| row_key(p.created, id) < key);
            Some(now_below.checked_sub(new_below.count())? + old_below.count())
        };
        let Some(mut gone) = old
            .iter()
            .map(|(id, p)| before(p.created, id))
            .collect::<Option<Vec<usize>>>()
        else {
            return false;
        };
        gone.sort_unstable();
        for &i in gone.iter().rev() {
            if i >= self.read_outside.len() {
                return false;
            }
            self.read_outside.remove(i);
        }
        new.sort_by_key(|(_, i, _)| *i);
        for (_, i, p) in &new {
            if *i > self.read_outside.len() {
                return false;
            }
            self.read_outside.insert(*i, p.read_outside);
        }
        // A principle whose first citation went away is first cited by the oldest row
        // that cites it now (rows are newest first).
        let mut recount = BTreeSet::new();
        for (id, p) in &old {
            for q in &p.principles {
                if self.first_cited.get(q).is_some_and(|t| *t >= p.created) {
                    recount.insert(q.clone());
                }
            }
            if p.due.is_some() {
                match self.due_index(p.created, id) {
                    Ok(i) => {
                        self.due.remove(i);
                    }
                    Err(_) => return false,
                }
            }
        }
        for (id, _, p) in &new {
            for q in &p.principles {
                self.first_cited
                    .entry(q.clone())
                    .and_modify(|t| *t = (*t).min(p.created))
                    .or_insert(p.created);
            }
            if let Some((day, result)) = p.due {
                let i = self.due_index(p.created, id).unwrap_or_else(|i| i);
                self.due.insert(
                    i,
                    Due {
                        created: p.created,
                        id: id.to_string(),
                        day,
                        result,
                    },
                );
            }
        }
        for q in recount {
            match rows.iter().rev().find(|d| d.principles.contains(&q)) {
                Some(d) => self.first_cited.insert(q, d.created_at),
                None => self.first_cited.remove(&q),
            };
        }
        for (id, _, p) in new {
            self.each.insert(id.to_string(), p);
        }
        self.read_outside.len() == rows.len()
    }

    fn due_index(&self, created: Timestamp, id: &str) -> std::result::Result<usize, usize> {
        let key = row_key(created, id);
        self.due
            .binary_search_by(|d| row_key(d.created, &d.id).cmp(&key))
    }
}

/// What the figures read from the core document and the escalations', read once per version
/// of them.
struct CoreFacts {
    team_members: Arc<Teams>,
    escalations: Vec<crate::Escalation>,
    principles: Vec<crate::Principle>,
    reviews: Vec<crate::Review>,
    roles: Vec<crate::Role>,
    created: Timestamp,
}

impl CoreFacts {
    /// The core's facts; `before`'s team memberships are kept when they did not change,
    /// so the months' facts built on them stay good.
    fn gather(circle: &Circle, before: Option<&CoreFacts>) -> Result<CoreFacts> {
        let teams: Teams = circle
            .teams()?
            .into_iter()
            .map(|t| (t.id, t.members.into_iter().collect()))
            .collect();
        let team_members = match before {
            Some(b) if *b.team_members == teams => b.team_members.clone(),
            _ => Arc::new(teams),
        };
        Ok(CoreFacts {
            team_members,
            escalations: circle.escalations()?,
            principles: circle.principles()?,
            reviews: circle.reviews()?,
            roles: circle.roles()?,
            created: circle.info()?.created_at,
        })
    }
}

impl VitalityCache {
    /// Brings the cache up to the circle's loaded documents; returns each month's rows
    /// (oldest month first) with its facts, and the core's facts.
    #[allow(clippy::type_complexity)]
    fn refresh(
        &mut self,
        circle: &Circle,
    ) -> Result<(Vec<(Rows, Arc<MonthFacts>)>, Arc<CoreFacts>)> {
        // The escalations are read with the core's facts, from a document of their own.
        let mut core_heads = circle.core.am.get_heads();
        if let Ok(esc) = circle.escalations_doc() {
            core_heads.extend(esc.get_heads());
        }
        let core = match &self.core {
            Some((heads, facts)) if *heads == core_heads => facts.clone(),
            before => {
                let before = before.as_ref().map(|(_, facts)| facts.as_ref());
                let facts = Arc::new(CoreFacts::gather(circle, before)?);
                self.core = Some((core_heads, facts.clone()));
                facts
            }
        };
        let mut months = Vec::new();
        let mut seen = BTreeSet::new();
        for (period, doc) in circle.shards() {
            let heads = doc.get_heads();
            let rows = circle.month_rows(period)?;
            let facts = match self.months.get_mut(period) {
                Some((at, teams, facts)) if Arc::ptr_eq(teams, &core.team_members) => {
                    if *at != heads {
                        // One decision logged or read patches its part, not the month's.
                        let patched = month_changes::touched_since(doc, at).is_some_and(|t| {
                            Arc::make_mut(facts).patch(&rows, &t, &core.team_members)
                        });
                        if !patched {
                            *facts = Arc::new(MonthFacts::gather(&rows, &core.team_members));
                        }
                        *at = heads;
                    }
                    facts.clone()
                }
                _ => {
                    let facts = Arc::new(MonthFacts::gather(&rows, &core.team_members));
                    self.months.insert(
                        period.clone(),
                        (heads, core.team_members.clone(), facts.clone()),
                    );
                    facts
                }
            };
            seen.insert(period.as_str());
            months.push((rows, facts));
        }
        self.months.retain(|p, _| seen.contains(p.as_str()));
        Ok((months, core))
    }
}

impl Circle {
    /// Every decision of the loaded months, as ready rows (no copy of the log).
    #[cfg(test)]
    pub(crate) fn all_rows(&self) -> Result<Vec<Rows>> {
        let periods: Vec<String> = self.shards().map(|(p, _)| p.clone()).collect();
        periods.iter().map(|p| self.month_rows(p)).collect()
    }

    pub fn vitality(&self, inputs: VitalityInputs) -> Result<Vitality> {
        self.vitality_with(&mut VitalityCache::default(), inputs)
    }

    /// [`Circle::vitality`], keeping what it gathered in `cache` for the next call on this
    /// circle: the same figures, re-reading only what changed since.
    pub fn vitality_with(
        &self,
        cache: &mut VitalityCache,
        inputs: VitalityInputs,
    ) -> Result<Vitality> {
        let (months, core) = cache.refresh(self)?;
        let ctx = Facts::new(&months, &core);
        let window = inputs.window();
        let now = inputs.now;
        let before = Timestamp(now.0 - window * DAY_MS);
        let cur = ctx.figures(now, window, inputs.cycle(), true);
        let prev = ctx.figures(before, window, inputs.cycle(), false);
        let figures: Vec<Figure> = cur
            .into_iter()
            .zip(prev)
            .map(|(mut f, p)| {
                f.previous = p.value;
                f.trend = if (f.value - p.value).abs() < 1e-9 {
                    Trend::Flat
                } else if f.value > p.value {
                    Trend::Up
                } else {
                    Trend::Down
                };
                f
            })
            .collect();
        let decaying: Vec<DecayCategory> = figures
            .iter()
            .filter(|f| f.band == Band::Decay)
            .map(|f| f.category)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // One step per sign that is not healthy in a decaying category, so the advice never
        // asks for what the figures say is fine (a review that is not overdue).
        let replant = (decaying.len() > 1).then(|| Replant {
            message: format!(
                "Replant: several signs are bad at once ({}): the habits are kept but have stopped doing their job. Bring the people who do the work together around your values: what do we actually protect? What does working well together look like now?",
                decaying
                    .iter()
                    .map(|c| format!("{} [{}]", c.plain(), c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            recommendations: figures
                .iter()
                .filter(|f| decaying.contains(&f.category))
                .filter_map(Figure::advice)
                .collect(),
            categories: decaying.clone(),
        });
        Ok(Vitality {
            now,
            window_days: window,
            weeks: ctx.weeks(now),
            escalation_waits_hours: ctx.escalation_waits(now, window),
            figures,
            decaying,
            replant,
        })
    }
}

/// What the figures are computed from: each month's rows (oldest month first, each newest
/// first) with its facts, and the core's.
struct Facts<'a> {
    months: &'a [(Rows, Arc<MonthFacts>)],
    escalations: &'a [crate::Escalation],
    principles: &'a [crate::Principle],
    /// When each principle was first cited.
    first_cited: HashMap<&'a str, Timestamp>,
    reviews: &'a [crate::Review],
    roles: &'a [crate::Role],
    created: Timestamp,
}

fn band(value: f64, watch: f64, decay: f64, higher_is_worse: bool) -> Band {
    let worse = |a: f64, b: f64| if higher_is_worse { a >= b } else { a <= b };
    if worse(value, decay) {
        Band::Decay
    } else if worse(value, watch) {
        Band::Watch
    } else {
        Band::Healthy
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / whole as f64).round()
    }
}

#[allow(clippy::too_many_arguments)]
fn figure(
    key: &str,
    label: &str,
    category: DecayCategory,
    value: f64,
    unit: &str,
    band: Band,
    reason: String,
    items: Vec<String>,
) -> Figure {
    Figure {
        key: key.into(),
        label: label.into(),
        category,
        value,
        unit: unit.into(),
        previous: 0.0,
        trend: Trend::Flat,
        band,
        reason,
        detail: BTreeMap::new(),
        items,
    }
}

impl<'a> Facts<'a> {
    fn new(months: &'a [(Rows, Arc<MonthFacts>)], core: &'a CoreFacts) -> Facts<'a> {
        let mut first_cited: HashMap<&str, Timestamp> = HashMap::new();
        for (_, m) in months {
            for (p, t) in &m.first_cited {
                first_cited
                    .entry(p.as_str())
                    .and_modify(|x| *x = (*x).min(*t))
                    .or_insert(*t);
            }
        }
        Facts {
            months,
            escalations: &core.escalations,
            principles: &core.principles,
            first_cited,
            reviews: &core.reviews,
            roles: &core.roles,
            created: core.created,
        }
    }

    /// The decisions logged in `(end - window days, end]`, in log order: each month's rows
    /// are newest first, so the window is one slice of each.
    fn in_window(&self, end: Timestamp, window: i64) -> impl Iterator<Item = &'a Decision> {
        self.in_window_read(end, window).map(|(d, _)| d)
    }

    /// [`Facts::in_window`], each with when someone outside its author's team first read it.
    fn in_window_read(
        &self,
        end: Timestamp,
        window: i64,
    ) -> impl Iterator<Item = (&'a Decision, Option<Timestamp>)> {
        let start = Timestamp(end.0 - window * DAY_MS);
        self.months.iter().flat_map(move |(rows, facts)| {
            let from = rows.partition_point(|d| d.created_at > end);
            let to = rows.partition_point(|d| d.created_at > start).max(from);
            rows[from..to]
                .iter()
                .map(|d| &**d)
                .zip(facts.read_outside[from..to].iter().copied())
        })
    }

    /// Every figure as of `end`, over the `window` days before it; without `items`, the
    /// long lists of ids are left out (a trend needs the value alone).
    fn figures(&self, end: Timestamp, window: i64, cycle: i64, items: bool) -> Vec<Figure> {
        vec![
            self.velocity(end, window),
            self.read_coverage(end, window),
            self.never_cited(end, window),
            self.past_due(end, items),
            self.zone_unsure(end, window, items),
            self.escalations_waiting(end, window),
            self.unchanged(end, cycle),
            self.reviews_overdue(end, cycle),
            self.roles_expired(end),
        ]
    }

    fn velocity(&self, end: Timestamp, window: i64) -> Figure {
        let weeks = window as f64 / 7.0;
        let mut per_team: BTreeMap<&str, f64> = BTreeMap::new();
        let mut n = 0usize;
        for d in self.in_window(end, window) {
            *per_team.entry(d.team.as_str()).or_default() += 1.0;
            n += 1;
        }
        let mut detail: BTreeMap<String, f64> = per_team
            .into_iter()
            .map(|(t, v)| (t.to_string(), v))
            .collect();
        let prev = self
            .in_window(Timestamp(end.0 - window * DAY_MS), window)
            .count();
        for v in detail.values_mut() {
            *v = (*v / weeks * 10.0).round() / 10.0;
        }
        let value = (n as f64 / weeks * 10.0).round() / 10.0;
        let (b, reason) = if n == 0 {
            (Band::Decay, "no decisions logged in the window".to_string())
        } else if prev > 0 && (n as f64) < prev as f64 * 0.5 {
            (
                Band::Decay,
                format!("{n} decisions, less than half the {prev} of the window before"),
            )
        } else if prev > 0 && (n as f64) < prev as f64 * 0.8 {
            (
                Band::Watch,
                format!("{n} decisions, down from {prev} the window before"),
            )
        } else {
            (
                Band::Healthy,
                format!("{n} decisions in the window ({prev} the window before)"),
            )
        };
        let mut f = figure(
            "decision-velocity",
            "Decision velocity",
            DecayCategory::Liturgy,
            value,
            "decisions/week",
            b,
            reason,
            Vec::new(),
        );
        f.detail = detail;
        f
    }

    fn read_coverage(&self, end: Timestamp, window: i64) -> Figure {
        let ds: Vec<_> = self.in_window_read(end, window).collect();
        let read = ds
            .iter()
            .filter(|(_, first)| first.is_some_and(|t| t <= end))
            .count();
        let share = pct(read, ds.len());
        let (b, reason) = if ds.is_empty() {
            (
                Band::Healthy,
                "no decisions in the window to read".to_string(),
            )
        } else {
            let b = band(share, 50.0, 20.0, false);
            let why = match b {
                Band::Decay => "decisions get logged but almost no one outside the team reads them",
                Band::Watch => "fewer than half the decisions are read outside their team",
                Band::Healthy => "most decisions are read outside their team",
            };
            (
                b,
                format!(
                    "{read} of {} decisions read outside their team: {why}",
                    ds.len()
                ),
            )
        };
        figure(
            "read-coverage",
            "Read outside the author's team",
            DecayCategory::Liturgy,
            share,
            "%",
            b,
            reason,
            Vec::new(),
        )
    }

    fn never_cited(&self, end: Timestamp, window: i64) -> Figure {
        // A principle younger than the window has not had its chance yet.
        let old_enough = Timestamp(end.0 - window * DAY_MS);
        let items: Vec<String> = self
            .principles
            .iter()
            .filter(|p| p.status == PrincipleStatus::Active && p.created_at <= old_enough)
            .filter(|p| self.first_cited.get(p.id.as_str()).is_none_or(|t| *t > end))
            .map(|p| p.id.clone())
            .collect();
        let n = items.len();
        let b = band(n as f64, 1.0, 2.0, true);
        let reason = match n {
            0 => "every established principle is cited by a decision".to_string(),
            _ => format!("{n} active principles never cited by any decision: guidance no one uses"),
        };
        figure(
            "principles-never-cited",
            "Principles never cited",
            DecayCategory::Liturgy,
            n as f64,
            "principles",
            b,
            reason,
            items,
        )
    }

    fn past_due(&self, end: Timestamp, list: bool) -> Figure {
        let today = end.day();
        let mut items: Vec<String> = Vec::new();
        let mut open = 0;
        let mut due = 0;
        for (_, facts) in self.months {
            for d in &facts.due {
                if d.created > end || d.day >= today {
                    continue;
                }
                due += 1;
                if d.result.is_none_or(|at| at > end) {
                    open += 1;
                    if list {
                        items.push(d.id.clone());
                    }
                }
            }
        }
        let share = pct(open, due);
        let b = if open == 0 {
            Band::Healthy
        } else {
            band(share, 0.0, 25.0, true)
        };
        let reason = if open == 0 {
            "every decision past its due date has a recorded result".to_string()
        } else {
            format!(
                "{} of {due} decisions past due have no recorded result, so nobody learns how they turned out",
                open
            )
        };
        figure(
            "past-due-no-result",
            "Past due with no result",
            DecayCategory::SilentHarm,
            open as f64,
            "decisions",
            b,
            reason,
            items,
        )
    }

    fn zone_unsure(&self, end: Timestamp, window: i64, list: bool) -> Figure {
        let mut all = 0;
        let mut n = 0;
        let mut unsure: Vec<String> = Vec::new();
        for d in self.in_window(end, window) {
            all += 1;
            if d.zone_unsure {
                n += 1;
                if list {
                    unsure.push(d.id.clone());
                }
            }
        }
        let share = pct(n, all);
        let b = band(share, 10.0, 25.0, true);
        let reason = format!(
            "{n} of {all} decisions logged unsure of their zone{}",
            match b {
                Band::Decay => ": teams are not sure what authority they hold",
                Band::Watch => ": some doubt about who decides",
                Band::Healthy => "",
            }
        );
        figure(
            "zone-unsure",
            "Unsure of their zone",
            DecayCategory::AuthorityConfusion,
            share,
            "%",
            b,
            reason,
            unsure,
        )
    }

    fn escalation_waits(&self, end: Timestamp, window: i64) -> Vec<f64> {
        let start = Timestamp(end.0 - window * DAY_MS);
        self.escalations
            .iter()
            .filter(|e| e.raised_at > start && e.raised_at <= end)
            .map(|e| wait_as_of(e, end) as f64 / 3_600_000.0)
            .collect()
    }

    fn escalations_waiting(&self, end: Timestamp, window: i64) -> Figure {
        let waiting: Vec<String> = self
            .escalations
            .iter()
            .filter(|e| e.raised_at <= end && ack_at(e).is_none_or(|a| a > end))
            .map(|e| e.id.clone())
            .collect();
        let hours = median(self.escalation_waits(end, window));
        let days = hours.map(|h| h / 24.0).unwrap_or(0.0);
        let b = band(days, 2.0, 7.0, true);
        let reason = format!(
            "{} escalations waiting; median time to acknowledge {}",
            waiting.len(),
            match hours {
                Some(h) => format!(
                    "{:.1} days{}",
                    h / 24.0,
                    match b {
                        Band::Decay => ": escalations are not taken seriously",
                        Band::Watch => ": stewards are slow to answer",
                        Band::Healthy => "",
                    }
                ),
                None => "— none raised in the window".to_string(),
            }
        );
        let mut f = figure(
            "escalations-waiting",
            "Escalations waiting",
            DecayCategory::AuthorityConfusion,
            (days * 10.0).round() / 10.0,
            "days median to acknowledge",
            b,
            reason,
            waiting.clone(),
        );
        f.detail.insert("waiting".into(), waiting.len() as f64);
        f
    }

    fn unchanged(&self, end: Timestamp, cycle: i64) -> Figure {
        let limit = Timestamp(end.0 - 2 * cycle * DAY_MS);
        let active: Vec<_> = self
            .principles
            .iter()
            .filter(|p| p.status == PrincipleStatus::Active && p.created_at <= end)
            .collect();
        let items: Vec<String> = active
            .iter()
            .filter(|p| {
                let last = p
                    .versions
                    .iter()
                    .map(|v| v.at)
                    .filter(|at| *at <= end)
                    .max()
                    .unwrap_or(p.created_at);
                last < limit
            })
            .map(|p| p.id.clone())
            .collect();
        let share = pct(items.len(), active.len());
        let b = if items.is_empty() {
            Band::Healthy
        } else {
            band(share, 0.0, 50.0, true)
        };
        let reason = format!(
            "{} of {} active principles unchanged for more than two review cycles ({} days)",
            items.len(),
            active.len(),
            2 * cycle
        );
        figure(
            "principles-unchanged",
            "Principles unchanged for two cycles",
            DecayCategory::CentreWithdrawal,
            items.len() as f64,
            "principles",
            b,
            reason,
            items,
        )
    }

    fn reviews_overdue(&self, end: Timestamp, cycle: i64) -> Figure {
        let today = end.day();
        let held: Vec<_> = self.reviews.iter().filter(|r| r.opened_at <= end).collect();
        // The next review is due at the date the last closed one set, or one cycle after
        // the circle began if none was ever held.
        let in_progress = held.iter().any(|r| r.closed_at.is_none_or(|c| c > end));
        let last_closed = held
            .iter()
            .filter(|r| r.closed_at.is_some_and(|c| c <= end))
            .max_by_key(|r| r.date);
        let due = match (in_progress, last_closed) {
            (true, _) => None,
            (false, Some(r)) => r.next_date.map(|d| d.start()),
            (false, None) => Some(self.created.plus_days(cycle)),
        };
        let overdue_days = due
            .filter(|d| *d < today.start())
            .map(|d| (today.start().0 - d.0) / DAY_MS)
            .unwrap_or(0);
        let b = if overdue_days == 0 {
            Band::Healthy
        } else {
            band(overdue_days as f64, 0.0, 14.0, true)
        };
        let reason = match (overdue_days, due) {
            (0, _) => "no review is overdue".to_string(),
            (n, Some(d)) => format!("the review due {} is {n} days overdue", d.day()),
            (n, None) => format!("a review is {n} days overdue"),
        };
        figure(
            "reviews-overdue",
            "Review overdue",
            DecayCategory::CentreWithdrawal,
            overdue_days as f64,
            "days",
            b,
            reason,
            Vec::new(),
        )
    }

    fn roles_expired(&self, end: Timestamp) -> Figure {
        let items: Vec<String> = self
            .roles
            .iter()
            .filter(|r| r.created_at <= end && r.term_ends().is_some_and(|t| t < end))
            .map(|r| r.id.clone())
            .collect();
        let n = items.len();
        let b = band(n as f64, 1.0, 2.0, true);
        let reason = match n {
            0 => "every role term is current".to_string(),
            _ => format!(
                "{n} role terms expired without rotation: the same people keep holding them"
            ),
        };
        figure(
            "roles-expired",
            "Role terms expired",
            DecayCategory::CentreWithdrawal,
            n as f64,
            "roles",
            b,
            reason,
            items,
        )
    }

    fn weeks(&self, now: Timestamp) -> Vec<WeekCount> {
        (0..12)
            .rev()
            .map(|i| {
                let end = Timestamp(now.0 - i * 7 * DAY_MS);
                let ds: Vec<_> = self.in_window_read(end, 7).collect();
                // Counted under borrowed names: a week holds thousands, the teams are few.
                let mut by_team: BTreeMap<&str, usize> = BTreeMap::new();
                for (d, _) in &ds {
                    *by_team.entry(d.team.as_str()).or_default() += 1;
                }
                WeekCount {
                    week_start: Timestamp(end.0 - 7 * DAY_MS),
                    decisions: ds.len(),
                    by_team: by_team
                        .into_iter()
                        .map(|(t, n)| (t.to_string(), n))
                        .collect(),
                    read_outside_team: ds
                        .iter()
                        .filter(|(_, first)| first.is_some_and(|t| t <= now))
                        .count(),
                }
            })
            .collect()
    }
}

fn ack_at(e: &crate::Escalation) -> Option<Timestamp> {
    e.acknowledged_at.or(e.resolved_at)
}

fn wait_as_of(e: &crate::Escalation, end: Timestamp) -> i64 {
    let until = ack_at(e).filter(|a| *a <= end).unwrap_or(end);
    (until.0 - e.raised_at.0).max(0)
}
