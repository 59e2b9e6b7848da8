//! What tension detection keeps between calls on one circle (docs/design.md, section 4).
//!
//! Each detector that reads decisions is split in two: a month's share, the sum of what
//! each of its decisions adds ([`MonthTensions`]), and a finish over the months' shares
//! that applies `now` and the core's rules. What depends on the core alone is read once per
//! version of the core ([`CoreTensions`]). After one new decision, its month's share is
//! patched with the decisions the change touched (a month holds thousands: gathering its
//! share again cost more than the rest of the call), and the finish runs over small
//! per-month summaries, not over the whole log. The result is the detection of
//! `tensions.rs` over every decision, which the tests check (`tests/incremental.rs`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use automerge::ChangeHash;

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::decisions::{row_key, Decision, Rows};
use crate::error::Result;
use crate::month_changes;
use crate::retros::Retro;
use crate::tensions::{
    self, decision_evidence, normalise, retro_evidence, struggled, Evidence, Tension,
    TensionClosure, TensionInputs, TensionKind, FAILURES_IN_A_ROW, TEAMS_STRUGGLING,
};
use crate::words::{Outcome, PrincipleStatus, Zone};
use crate::zones::ZoneRule;

/// Tension detection's state for one circle, kept by the caller between calls.
#[derive(Default)]
pub struct TensionCache {
    months: HashMap<String, (Vec<ChangeHash>, Arc<MonthTensions>)>,
    core: Option<(Vec<ChangeHash>, Arc<CoreTensions>)>,
    /// Each situation's divergence as last found, with the stamps of the month shares it
    /// came from.
    situations: HashMap<String, (Vec<u64>, Option<Tension>)>,
    /// The shared struggles as last found, with what they came from.
    struggles: Option<StruggleFound>,
}

struct StruggleFound {
    months: Vec<Arc<Struggles>>,
    core: Arc<CoreTensions>,
    from: Timestamp,
    now: Timestamp,
    found: Vec<Tension>,
}

/// Tells a situation's versions apart: a new stamp each time one changes, so a finish
/// that kept what it found from a situation knows whether it must find it again.
static STAMPS: AtomicU64 = AtomicU64::new(1);

fn stamp() -> u64 {
    STAMPS.fetch_add(1, Ordering::Relaxed)
}

/// One situation's decisions in one month.
#[derive(Clone, Default)]
struct Situation {
    /// Its version (see [`STAMPS`]).
    stamp: u64,
    /// How many of its decisions each team logged.
    teams: BTreeMap<String, usize>,
    /// How many of its decisions made each (normalised) choice.
    choices: BTreeMap<String, usize>,
    /// Its decisions in row order.
    chose: Vec<Chose>,
}

impl Situation {
    /// The same decisions, whatever the versions.
    fn same(&self, other: &Situation) -> bool {
        self.teams == other.teams && self.choices == other.choices && self.chose == other.chose
    }

    fn since(&self) -> Timestamp {
        // Rows are newest first.
        self.chose.first().map(|c| c.created).unwrap_or_default()
    }
}

/// What one decision of a situation adds to it.
#[derive(Clone, PartialEq)]
struct Chose {
    created: Timestamp,
    team: String,
    /// Normalised.
    choice: String,
    zone: Zone,
    /// "team … chose: …".
    evidence: Evidence,
}

/// A month's failed and mixed results, in row order.
#[derive(Clone, Default, PartialEq)]
struct Struggles {
    entries: Vec<Arc<Struggle>>,
    /// When each was recorded, in order: which ones a moved window takes in or lets go.
    times: Vec<Timestamp>,
}

/// A failed or mixed result.
#[derive(PartialEq)]
struct Struggle {
    /// When its decision was logged.
    created: Timestamp,
    /// When the result was recorded.
    at: Timestamp,
    team: String,
    principles: Vec<String>,
    evidence: Evidence,
}

/// A recorded result citing a principle: newest result first, then in row order; last,
/// which mention of the principle it is (a list a peer wrote may name one twice, and the
/// detection counts each).
type ResultKey = (
    Reverse<Timestamp>,
    Reverse<Timestamp>,
    Reverse<String>,
    usize,
);

/// The keys of a result recorded at `at` for decision `id`, logged at `created`, citing
/// `principles`.
fn result_keys<'a>(
    id: &'a str,
    created: Timestamp,
    at: Timestamp,
    principles: &'a [String],
) -> impl Iterator<Item = (&'a String, ResultKey)> + 'a {
    principles.iter().enumerate().map(move |(i, p)| {
        let mention = principles[..i].iter().filter(|q| *q == p).count();
        (
            p,
            (
                Reverse(at),
                Reverse(created),
                Reverse(id.to_string()),
                mention,
            ),
        )
    })
}

/// What one decision adds to its month's share, kept so that it can be taken out again
/// when the decision changes.
#[derive(Clone, PartialEq)]
struct Piece {
    created: Timestamp,
    /// Its situation: what it adds there is held by the situation alone (see
    /// [`MonthTensions::chose`]).
    situation: Option<String>,
    struggle: Option<Arc<Struggle>>,
    /// When its result was recorded, and the principles it cites.
    result: Option<(Timestamp, Vec<String>)>,
}

impl Piece {
    /// The piece of `d`, and what it adds to its situation.
    fn of(d: &Decision) -> (Piece, Option<Chose>) {
        let chose = d.situation.as_ref().map(|_| Chose {
            created: d.created_at,
            team: d.team.clone(),
            choice: normalise(&d.choice),
            zone: d.zone,
            evidence: decision_evidence(&d.id, format!("team {} chose: {}", d.team, d.choice)),
        });
        let piece = Piece {
            created: d.created_at,
            situation: d.situation.clone(),
            struggle: d.result.as_ref().filter(|r| struggled(r.outcome)).map(|r| {
                let note = format!("team {}: {} — {}", d.team, r.outcome, r.text);
                Arc::new(Struggle {
                    created: d.created_at,
                    at: r.at,
                    team: d.team.clone(),
                    principles: d.principles.clone(),
                    evidence: decision_evidence(&d.id, note),
                })
            }),
            result: d.result.as_ref().map(|r| (r.at, d.principles.clone())),
        };
        (piece, chose)
    }
}

/// One month's share of detection: what each of its decisions adds, and the sums of
/// those. After a change it is patched with the decisions the change touched (see
/// [`crate::month_changes`]), so its sums are those of a share gathered from the month's
/// rows afresh.
#[derive(Clone, Default)]
struct MonthTensions {
    /// Each decision's row (its index among the month's rows, moved as rows come and go:
    /// looking rows up by key cost more than the rest of a call) and piece.
    each: HashMap<String, (usize, Piece)>,
    situations: BTreeMap<String, Situation>,
    struggles: Arc<Struggles>,
    /// Per principle, the results that cite it.
    results: BTreeMap<String, BTreeSet<ResultKey>>,
}

impl MonthTensions {
    fn gather(rows: &[Arc<Decision>], before: Option<&MonthTensions>) -> MonthTensions {
        let mut m = MonthTensions {
            each: HashMap::with_capacity(rows.len()),
            ..MonthTensions::default()
        };
        for (i, d) in rows.iter().enumerate() {
            let (piece, chose) = Piece::of(d);
            m.put(&d.id, &piece, chose);
            m.each.insert(d.id.clone(), (i, piece));
        }
        if let Some(b) = before {
            // What was found from a situation that reads the same is not found again.
            for (s, part) in m.situations.iter_mut() {
                if let Some(old) = b.situations.get(s).filter(|old| old.same(part)) {
                    part.stamp = old.stamp;
                }
            }
            if b.struggles == m.struggles {
                m.struggles = b.struggles.clone();
            }
        }
        m
    }

    /// Takes out what the decisions of `touched` added and puts in what they add now
    /// (`rows` are the month's rows after the change). False when the share did not hold
    /// what a decision had added: it must be gathered again.
    fn patch(&mut self, rows: &[Arc<Decision>], touched: &BTreeSet<String>) -> bool {
        let now = crate::decisions::touched_rows(rows, touched);
        // Rows that went (their index before) and came (their index now).
        let mut gone = Vec::new();
        let mut came = Vec::new();
        for id in touched {
            let new = now.get(id.as_str()).map(|&(i, d)| (i, Piece::of(d)));
            let old = self.each.get(id);
            let same = match (old, &new) {
                (None, None) => true,
                // Its row may have moved: that is seen to below, with every other row's.
                (Some((_, old)), Some((_, (piece, chose)))) => {
                    old == piece && self.chose(id, old) == chose.as_ref()
                }
                _ => false,
            };
            if same {
                continue;
            }
            if let Some((was, old)) = self.each.remove(id) {
                gone.push(was);
                if !self.take(id, &old) {
                    return false;
                }
            }
            if let Some((i, (piece, chose))) = new {
                self.put(id, &piece, chose);
                came.push((id, i, piece));
            }
        }
        if !gone.is_empty() || !came.is_empty() {
            gone.sort_unstable();
            let mut at: Vec<usize> = came.iter().map(|(_, i, _)| *i).collect();
            at.sort_unstable();
            for (row, _) in self.each.values_mut() {
                // Its index among the rows that stayed, then among the rows of now.
                let mut i = *row - gone.partition_point(|g| g < row);
                for a in &at {
                    if *a > i {
                        break;
                    }
                    i += 1;
                }
                *row = i;
            }
        }
        for (id, i, piece) in came {
            self.each.insert(id.clone(), (i, piece));
        }
        self.each.len() == rows.len()
    }

    /// What decision `id`, of piece `piece`, adds to its situation.
    fn chose(&self, id: &str, piece: &Piece) -> Option<&Chose> {
        let part = self.situations.get(piece.situation.as_ref()?)?;
        let key = row_key(piece.created, id);
        let at = part
            .chose
            .binary_search_by(|c| row_key(c.created, &c.evidence.id).cmp(&key))
            .ok()?;
        part.chose.get(at)
    }

    // `Arc::make_mut` below copies the struggles when the last finish still holds them
    // (`StruggleFound`): changed, they then have a new address, which tells the finish to
    // find them again. A changed situation takes a new stamp instead.

    fn put(&mut self, id: &str, piece: &Piece, chose: Option<Chose>) {
        if let (Some(s), Some(chose)) = (&piece.situation, chose) {
            let part = match self.situations.get_mut(s) {
                Some(part) => part,
                None => self.situations.entry(s.clone()).or_default(),
            };
            part.stamp = stamp();
            count(&mut part.teams, &chose.team, true);
            count(&mut part.choices, &chose.choice, true);
            let key = row_key(chose.created, id);
            let at = part
                .chose
                .partition_point(|c| row_key(c.created, &c.evidence.id) < key);
            part.chose.insert(at, chose);
        }
        if let Some(st) = &piece.struggle {
            let s = Arc::make_mut(&mut self.struggles);
            let key = row_key(st.created, id);
            let at = s
                .entries
                .partition_point(|e| row_key(e.created, &e.evidence.id) < key);
            s.entries.insert(at, st.clone());
            let at = s.times.partition_point(|t| *t < st.at);
            s.times.insert(at, st.at);
        }
        if let Some((at, principles)) = &piece.result {
            for (p, key) in result_keys(id, piece.created, *at, principles) {
                match self.results.get_mut(p) {
                    Some(set) => set.insert(key),
                    None => self.results.entry(p.clone()).or_default().insert(key),
                };
            }
        }
    }

    /// False when something `piece` added is not there.
    fn take(&mut self, id: &str, piece: &Piece) -> bool {
        if let Some(s) = &piece.situation {
            let Some(part) = self.situations.get_mut(s) else {
                return false;
            };
            part.stamp = stamp();
            let key = row_key(piece.created, id);
            let Ok(at) = part
                .chose
                .binary_search_by(|c| row_key(c.created, &c.evidence.id).cmp(&key))
            else {
                return false;
            };
            let chose = part.chose.remove(at);
            if !count(&mut part.teams, &chose.team, false)
                || !count(&mut part.choices, &chose.choice, false)
            {
                return false;
            }
            if part.chose.is_empty() {
                self.situations.remove(s);
            }
        }
        if let Some(st) = &piece.struggle {
            let s = Arc::make_mut(&mut self.struggles);
            let key = row_key(st.created, id);
            let Ok(at) = s
                .entries
                .binary_search_by(|e| row_key(e.created, &e.evidence.id).cmp(&key))
            else {
                return false;
            };
            s.entries.remove(at);
            let Ok(at) = s.times.binary_search(&st.at) else {
                return false;
            };
            s.times.remove(at);
        }
        if let Some((at, principles)) = &piece.result {
            for (p, key) in result_keys(id, piece.created, *at, principles) {
                let Some(set) = self.results.get_mut(p) else {
                    return false;
                };
                if !set.remove(&key) {
                    return false;
                }
                if set.is_empty() {
                    self.results.remove(p);
                }
            }
        }
        true
    }

    /// The row of decision `id` among this month's `rows`.
    fn row<'a>(&self, rows: &'a [Arc<Decision>], id: &str) -> Option<&'a Decision> {
        let (i, _) = self.each.get(id)?;
        rows.get(*i).map(|d| &**d).filter(|d| d.id == id)
    }
}

/// Counts one more (`add`) or one fewer of `key`; false when there was none to take.
fn count(counts: &mut BTreeMap<String, usize>, key: &str, add: bool) -> bool {
    match counts.get_mut(key) {
        Some(n) if add => *n += 1,
        Some(n) if *n > 1 => *n -= 1,
        Some(_) => {
            counts.remove(key);
        }
        None if add => {
            counts.insert(key.to_string(), 1);
        }
        None => return false,
    }
    true
}

impl Struggles {
    /// Whether one recorded in `[lo, hi)` or `(lo2, hi2]` exists.
    fn any_between(
        &self,
        (lo, hi): (Timestamp, Timestamp),
        (lo2, hi2): (Timestamp, Timestamp),
    ) -> bool {
        let some = |first: usize, past: usize| past > first;
        some(
            self.times.partition_point(|t| *t < lo),
            self.times.partition_point(|t| *t < hi),
        ) || some(
            self.times.partition_point(|t| *t <= lo2),
            self.times.partition_point(|t| *t <= hi2),
        )
    }
}

/// What detection reads from the core document alone.
struct CoreTensions {
    /// Edit conflicts then contested passes, as detected.
    conflicts: Vec<Tension>,
    proliferation: Vec<Tension>,
    raised: Vec<Tension>,
    addressed: HashMap<String, Vec<TensionClosure>>,
    changes: HashMap<String, Vec<TensionClosure>>,
    retros: Vec<Retro>,
    /// Principles not retired.
    active: BTreeSet<String>,
    /// The zone map's rules, with their team's name.
    rules: Vec<(ZoneRule, String)>,
}

impl CoreTensions {
    fn gather(circle: &Circle) -> Result<CoreTensions> {
        let mut conflicts = Vec::new();
        tensions::edit_conflicts(circle, &mut conflicts)?;
        tensions::contested_passes(circle, &mut conflicts)?;
        let mut proliferation = Vec::new();
        tensions::proliferation(circle, &mut proliferation)?;
        let rules = circle
            .zone_rules()
            .into_iter()
            .map(|rule| {
                let team = circle
                    .team(&rule.team)
                    .map(|t| t.name)
                    .unwrap_or_else(|_| rule.team.clone());
                (rule, team)
            })
            .collect();
        Ok(CoreTensions {
            conflicts,
            proliferation,
            raised: circle.raised_tensions()?,
            addressed: circle.addressed()?,
            changes: circle.principle_changes()?,
            retros: circle.retros()?,
            active: circle
                .principles()?
                .into_iter()
                .filter(|p| p.status != PrincipleStatus::Retired)
                .map(|p| p.id)
                .collect(),
            rules,
        })
    }
}

type Months = Vec<(Rows, Arc<MonthTensions>)>;

impl TensionCache {
    /// Brings the cache up to the circle's loaded documents; returns each month's rows
    /// (oldest month first) with its share, and the core's.
    fn refresh(&mut self, circle: &Circle) -> Result<(Months, Arc<CoreTensions>)> {
        let core_heads = circle.core.am.get_heads();
        let core = match &self.core {
            Some((heads, core)) if *heads == core_heads => core.clone(),
            _ => {
                let core = Arc::new(CoreTensions::gather(circle)?);
                self.core = Some((core_heads, core.clone()));
                core
            }
        };
        let mut months = Vec::new();
        let mut seen = BTreeSet::new();
        for (period, doc) in circle.shards() {
            let heads = doc.get_heads();
            let rows = circle.month_rows(period)?;
            let share = match self.months.get_mut(period) {
                Some((at, share)) if *at == heads => share.clone(),
                Some((at, share)) => {
                    // One decision logged or read patches its pieces, not the month's.
                    let patched = month_changes::touched_since(doc, at)
                        .is_some_and(|touched| Arc::make_mut(share).patch(&rows, &touched));
                    if !patched {
                        *share = Arc::new(MonthTensions::gather(&rows, Some(share)));
                    }
                    *at = heads;
                    share.clone()
                }
                None => {
                    let share = Arc::new(MonthTensions::gather(&rows, None));
                    self.months.insert(period.clone(), (heads, share.clone()));
                    share
                }
            };
            seen.insert(period.as_str());
            months.push((rows, share));
        }
        self.months.retain(|p, _| seen.contains(p.as_str()));
        Ok((months, core))
    }
}

impl Circle {
    /// [`Circle::tensions`], keeping what it gathered in `cache` for the next call on this
    /// circle: the same tensions, re-reading only the documents that changed since.
    pub fn tensions_with(
        &self,
        cache: &mut TensionCache,
        inputs: &TensionInputs,
    ) -> Result<Vec<Tension>> {
        let (months, core) = cache.refresh(self)?;
        let mut out = Vec::new();
        divergence(&months, &mut cache.situations, inputs, &mut out);
        shared_struggle(&months, &core, &mut cache.struggles, inputs, &mut out);
        failing_principles(&months, &core.active, &mut out);
        out.extend(core.conflicts.iter().cloned());
        tensions::authority_vacuum(self, inputs.now, &mut out);
        authority_confusion(&months, &core.rules, &mut out);
        out.extend(core.proliferation.iter().cloned());
        out.extend(core.raised.iter().cloned());
        tensions::close(&mut out, &core.addressed, &core.changes);
        Ok(out)
    }
}

/// (a) Different teams, same situation (or same principles and highly similar context),
/// different choices. With at least two teams and two choices in a situation, some two
/// decisions of different teams chose differently, so the sets of teams and of choices say
/// it all.
fn divergence(
    months: &Months,
    found: &mut HashMap<String, (Vec<u64>, Option<Tension>)>,
    inputs: &TensionInputs,
    out: &mut Vec<Tension>,
) {
    let mut parts: BTreeMap<&str, Vec<&Situation>> = BTreeMap::new();
    for (_, m) in months {
        for (s, part) in &m.situations {
            parts.entry(s.as_str()).or_default().push(part);
        }
    }
    found.retain(|s, _| parts.contains_key(s.as_str()));
    for (situation, ps) in parts {
        let stamps: Vec<u64> = ps.iter().map(|p| p.stamp).collect();
        if let Some((from, t)) = found.get(situation) {
            if *from == stamps {
                out.extend(t.iter().cloned());
                continue;
            }
        }
        let t = situation_divergence(situation, &ps);
        out.extend(t.iter().cloned());
        found.insert(situation.to_string(), (stamps, t));
    }
    similar_divergence(months, inputs, out);
}

fn situation_divergence(situation: &str, ps: &[&Situation]) -> Option<Tension> {
    {
        let teams: BTreeSet<&str> = ps
            .iter()
            .flat_map(|p| p.teams.keys().map(String::as_str))
            .collect();
        let choices: BTreeSet<&str> = ps
            .iter()
            .flat_map(|p| p.choices.keys().map(String::as_str))
            .collect();
        if teams.len() < 2 || choices.len() < 2 {
            return None;
        }
        let mut t = tensions::tension(
            TensionKind::Divergence,
            format!("ta-{situation}"),
            format!("Teams chose differently in situation #{situation}"),
            format!(
                "{} teams recorded {} different choices for the same situation",
                teams.len(),
                choices.len()
            ),
        );
        t.since = ps.iter().map(|p| p.since()).max().unwrap_or_default();
        t.evidence = ps
            .iter()
            .flat_map(|p| p.chose.iter().map(|c| c.evidence.clone()))
            .collect();
        Some(t)
    }
}

/// Pairs of decisions the search engine found alike, chosen differently by two teams.
fn similar_divergence(months: &Months, inputs: &TensionInputs, out: &mut Vec<Tension>) {
    // A later month's decision of the same id is the one a full read would keep.
    let find = |id: &str| months.iter().rev().find_map(|(rows, m)| m.row(rows, id));
    tensions::similar_divergence(find, inputs, out);
}

/// (b) Three or more teams recorded failed or mixed results under one principle, or
/// flagged it in a retro, within the current review cycle.
fn shared_struggle(
    months: &Months,
    core: &Arc<CoreTensions>,
    kept: &mut Option<StruggleFound>,
    inputs: &TensionInputs,
    out: &mut Vec<Tension>,
) {
    let from = Timestamp(inputs.now.0 - inputs.cycle_ms());
    let now = inputs.now;
    let shares: Vec<Arc<Struggles>> = months.iter().map(|(_, m)| m.struggles.clone()).collect();
    // The same results and retros, and none that the window's move took in or let go.
    if let Some(k) = kept.as_ref() {
        let left = (k.from.min(from), k.from.max(from));
        let right = (k.now.min(now), k.now.max(now));
        let same = k.months.len() == shares.len()
            && k.months.iter().zip(&shares).all(|(a, b)| Arc::ptr_eq(a, b))
            && Arc::ptr_eq(&k.core, core)
            && !shares.iter().any(|s| s.any_between(left, right))
            && !core
                .retros
                .iter()
                .any(|r| (r.at >= left.0 && r.at < left.1) || (r.at > right.0 && r.at <= right.1));
        if same {
            out.extend(k.found.iter().cloned());
            return;
        }
    }
    let mut found = Vec::new();
    struggles_in(&shares, &core.retros, from, now, &mut found);
    out.extend(found.iter().cloned());
    *kept = Some(StruggleFound {
        months: shares,
        core: core.clone(),
        from,
        now,
        found,
    });
}

fn struggles_in(
    shares: &[Arc<Struggles>],
    retros: &[Retro],
    from: Timestamp,
    now: Timestamp,
    out: &mut Vec<Tension>,
) {
    let mut by_principle: BTreeMap<&str, (BTreeSet<&str>, Vec<Evidence>, Timestamp)> =
        BTreeMap::new();
    for share in shares {
        for s in &share.entries {
            if s.at < from || s.at > now {
                continue;
            }
            for p in &s.principles {
                let e = by_principle.entry(p.as_str()).or_default();
                e.0.insert(s.team.as_str());
                e.1.push(s.evidence.clone());
                e.2 = e.2.max(s.at);
            }
        }
    }
    for retro in retros {
        if retro.at < from || retro.at > now || retro.didnt.trim().is_empty() {
            continue;
        }
        for p in &retro.principles {
            let e = by_principle.entry(p.as_str()).or_default();
            e.0.insert(retro.team.as_str());
            e.1.push(retro_evidence(retro));
            e.2 = e.2.max(retro.at);
        }
    }
    for (p, (teams, evidence, since)) in by_principle {
        if teams.len() < TEAMS_STRUGGLING {
            continue;
        }
        let mut t = tensions::tension(
            TensionKind::SharedStruggle,
            format!("tb-{p}"),
            format!("{} teams struggle under principle {p}", teams.len()),
            format!(
                "teams {} recorded failed or mixed results or flagged it in retros this review cycle",
                teams.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        );
        t.subject = Some(p.to_string());
        t.evidence = evidence.into();
        t.since = since;
        out.push(t);
    }
}

/// (c) The latest results of decisions citing a principle all failed.
fn failing_principles(months: &Months, active: &BTreeSet<String>, out: &mut Vec<Tension>) {
    // Per principle: how many results cite it, and each month's latest (its rows and key).
    type Latest<'a> = (
        usize,
        Vec<(&'a [Arc<Decision>], &'a MonthTensions, &'a ResultKey)>,
    );
    let mut merged: BTreeMap<&str, Latest<'_>> = BTreeMap::new();
    for (rows, m) in months {
        for (p, results) in &m.results {
            let e = merged.entry(p.as_str()).or_default();
            e.0 += results.len();
            e.1.extend(
                results
                    .iter()
                    .take(FAILURES_IN_A_ROW)
                    .map(|k| (rows.as_slice(), m.as_ref(), k)),
            );
        }
    }
    for (p, (n, mut keys)) in merged {
        if !active.contains(p) || n < FAILURES_IN_A_ROW {
            continue;
        }
        // Stable: among equal times, earlier months first, then each month's row order.
        keys.sort_by_key(|(_, _, k)| k.0);
        keys.truncate(FAILURES_IN_A_ROW);
        // Rows are looked up for these three only: a lookup per month and principle cost
        // more than the rest of the detector.
        let latest: Vec<(Timestamp, &Decision)> = keys
            .iter()
            .filter_map(|(rows, m, (at, _, id, _))| Some((at.0, m.row(rows, &id.0)?)))
            .collect();
        if latest.len() < keys.len() {
            continue;
        }
        if !latest.iter().all(|(_, d)| {
            d.result
                .as_ref()
                .is_some_and(|r| r.outcome == Outcome::Failed)
        }) {
            continue;
        }
        let mut t = tensions::tension(
            TensionKind::FailingPrinciple,
            format!("tc-{p}"),
            format!("Decisions under principle {p} keep failing"),
            format!("the last {FAILURES_IN_A_ROW} recorded results citing it all failed"),
        );
        t.subject = Some(p.to_string());
        t.since = latest.iter().map(|(at, _)| *at).max().unwrap_or_default();
        t.evidence = latest
            .iter()
            .map(|(_, d)| {
                let text = d.result.as_ref().map(|r| r.text.as_str()).unwrap_or("");
                decision_evidence(&d.id, format!("failed: {text}"))
            })
            .collect();
        out.push(t);
    }
}

/// Decisions logged below the zone their team's zone map sets for the situation (see
/// `crate::zones`), since the rule was agreed.
fn authority_confusion(months: &Months, rules: &[(ZoneRule, String)], out: &mut Vec<Tension>) {
    for (rule, team) in rules {
        let below: Vec<(&str, Timestamp, Zone)> = months
            .iter()
            .flat_map(|(_, m)| {
                m.situations
                    .get(&rule.situation)
                    .into_iter()
                    .flat_map(|s| s.chose.iter())
            })
            .filter(|c| c.team == rule.team && c.created >= rule.since && c.zone < rule.zone)
            .map(|c| (&*c.evidence.id, c.created, c.zone))
            .collect();
        out.extend(tensions::below_zone(rule, team, &below));
    }
}
