//! What tension detection keeps between calls on one circle (docs/design.md, section 4).
//!
//! Each detector that reads decisions is split in two: a month's share, gathered once per
//! version of the month's document from its rows ([`MonthTensions`]), and a finish over
//! the months' shares that applies `now` and the core's rules. What depends on the core
//! alone is read once per version of the core ([`CoreTensions`]). After one new decision,
//! one month's share is gathered again and the finish runs over small per-month summaries,
//! not over the whole log. The result is the detection of `tensions.rs` over every
//! decision, which the tests check (`tests/incremental.rs`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use automerge::ChangeHash;

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::decisions::Decision;
use crate::error::Result;
use crate::retros::Retro;
use crate::tensions::{
    self, decision_evidence, normalise, struggled, Evidence, Tension, TensionClosure,
    TensionInputs, TensionKind, FAILURES_IN_A_ROW, TEAMS_STRUGGLING,
};
use crate::words::{Outcome, PrincipleStatus};
use crate::zones::ZoneRule;

/// Tension detection's state for one circle, kept by the caller between calls.
#[derive(Default)]
pub struct TensionCache {
    months: HashMap<String, (Vec<ChangeHash>, Arc<MonthTensions>)>,
    core: Option<(Vec<ChangeHash>, Arc<CoreTensions>)>,
    /// Each situation's divergence as last found, with the month shares it came from.
    situations: HashMap<String, (Vec<Arc<Situation>>, Option<Tension>)>,
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

/// One situation's decisions in one month.
#[derive(PartialEq)]
struct Situation {
    teams: BTreeSet<String>,
    /// Normalised choices.
    choices: BTreeSet<String>,
    since: Timestamp,
    /// "team … chose: …", in row order.
    evidence: Vec<Evidence>,
}

/// A month's failed and mixed results, in row order.
#[derive(PartialEq)]
struct Struggles {
    /// (when recorded, team, principles cited, evidence).
    entries: Vec<(Timestamp, String, Vec<String>, Evidence)>,
    /// When each was recorded, in order: which ones a moved window takes in or lets go.
    times: Vec<Timestamp>,
}

/// One month's share of detection, gathered from its rows (newest first).
struct MonthTensions {
    /// Shared with the month's previous share where nothing changed, so what was found
    /// from them need not be found again.
    situations: BTreeMap<String, Arc<Situation>>,
    /// Each situation's rows, for the zone map's rules.
    situation_rows: BTreeMap<String, Vec<usize>>,
    by_id: HashMap<String, usize>,
    struggles: Arc<Struggles>,
    /// Per principle, how many results cite it and the latest three (newest first, row
    /// order among equal times).
    results: BTreeMap<String, (usize, Vec<(Timestamp, usize)>)>,
}

impl MonthTensions {
    fn gather(rows: &[Decision], before: Option<&MonthTensions>) -> MonthTensions {
        let mut situations: BTreeMap<String, Situation> = BTreeMap::new();
        let mut situation_rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_id = HashMap::with_capacity(rows.len());
        let mut entries = Vec::new();
        let mut results: BTreeMap<String, (usize, Vec<(Timestamp, usize)>)> = BTreeMap::new();
        for (i, d) in rows.iter().enumerate() {
            by_id.insert(d.id.clone(), i);
            if let Some(s) = d.situation.as_deref() {
                let part = match situations.get_mut(s) {
                    Some(part) => part,
                    None => situations.entry(s.to_string()).or_insert(Situation {
                        teams: BTreeSet::new(),
                        choices: BTreeSet::new(),
                        since: Timestamp::default(),
                        evidence: Vec::new(),
                    }),
                };
                if !part.teams.contains(&d.team) {
                    part.teams.insert(d.team.clone());
                }
                part.choices.insert(normalise(&d.choice));
                part.since = part.since.max(d.created_at);
                part.evidence.push(chose(d));
                situation_rows.entry(s.to_string()).or_default().push(i);
            }
            if let Some(r) = &d.result {
                if struggled(r.outcome) {
                    let note = format!("team {}: {} — {}", d.team, r.outcome, r.text);
                    entries.push((
                        r.at,
                        d.team.clone(),
                        d.principles.clone(),
                        decision_evidence(d, note),
                    ));
                }
                for p in &d.principles {
                    let e = results.entry(p.clone()).or_default();
                    e.0 += 1;
                    e.1.push((r.at, i));
                }
            }
        }
        for (_, latest) in results.values_mut() {
            latest.sort_by_key(|(at, _)| Reverse(*at));
            latest.truncate(FAILURES_IN_A_ROW);
        }
        let situations = situations
            .into_iter()
            .map(|(s, part)| {
                let kept = before
                    .and_then(|b| b.situations.get(&s))
                    .filter(|old| ***old == part)
                    .cloned();
                (s, kept.unwrap_or_else(|| Arc::new(part)))
            })
            .collect();
        let mut times: Vec<Timestamp> = entries.iter().map(|e| e.0).collect();
        times.sort_unstable();
        let struggles = Struggles { entries, times };
        let struggles = match before {
            Some(b) if *b.struggles == struggles => b.struggles.clone(),
            _ => Arc::new(struggles),
        };
        MonthTensions {
            situations,
            situation_rows,
            by_id,
            struggles,
            results,
        }
    }
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

fn chose(d: &Decision) -> Evidence {
    decision_evidence(d, format!("team {} chose: {}", d.team, d.choice))
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

type Months = Vec<(Arc<Vec<Decision>>, Arc<MonthTensions>)>;

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
            let share = match self.months.get(period) {
                Some((at, share)) if *at == heads => share.clone(),
                before => {
                    let before = before.map(|(_, share)| share.as_ref());
                    let share = Arc::new(MonthTensions::gather(&rows, before));
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
    found: &mut HashMap<String, (Vec<Arc<Situation>>, Option<Tension>)>,
    inputs: &TensionInputs,
    out: &mut Vec<Tension>,
) {
    let mut parts: BTreeMap<&str, Vec<Arc<Situation>>> = BTreeMap::new();
    for (_, m) in months {
        for (s, part) in &m.situations {
            parts.entry(s.as_str()).or_default().push(part.clone());
        }
    }
    found.retain(|s, _| parts.contains_key(s.as_str()));
    for (situation, ps) in parts {
        if let Some((from, t)) = found.get(situation) {
            if from.len() == ps.len() && from.iter().zip(&ps).all(|(a, b)| Arc::ptr_eq(a, b)) {
                out.extend(t.iter().cloned());
                continue;
            }
        }
        let t = situation_divergence(situation, &ps);
        out.extend(t.iter().cloned());
        found.insert(situation.to_string(), (ps, t));
    }
    similar_divergence(months, inputs, out);
}

fn situation_divergence(situation: &str, ps: &[Arc<Situation>]) -> Option<Tension> {
    {
        let teams: BTreeSet<&str> = ps
            .iter()
            .flat_map(|p| p.teams.iter().map(String::as_str))
            .collect();
        let choices: BTreeSet<&str> = ps
            .iter()
            .flat_map(|p| p.choices.iter().map(String::as_str))
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
        t.since = ps.iter().map(|p| p.since).max().unwrap_or_default();
        t.evidence = ps.iter().flat_map(|p| p.evidence.iter().cloned()).collect();
        Some(t)
    }
}

/// Pairs of decisions the search engine found alike, chosen differently by two teams.
fn similar_divergence(months: &Months, inputs: &TensionInputs, out: &mut Vec<Tension>) {
    // A later month's decision of the same id is the one a full read would keep.
    let find = |id: &str| {
        months
            .iter()
            .rev()
            .find_map(|(rows, m)| m.by_id.get(id).map(|&i| &rows[i]))
    };
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
        for (at, team, principles, evidence) in &share.entries {
            if *at < from || *at > now {
                continue;
            }
            for p in principles {
                let e = by_principle.entry(p.as_str()).or_default();
                e.0.insert(team.as_str());
                e.1.push(evidence.clone());
                e.2 = e.2.max(*at);
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
            e.1.push(Evidence {
                kind: "retro".into(),
                id: retro.id.clone(),
                note: format!("team {} flagged it: {}", retro.team, retro.didnt),
            });
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
        t.evidence = evidence;
        t.since = since;
        out.push(t);
    }
}

/// (c) The latest results of decisions citing a principle all failed.
fn failing_principles(months: &Months, active: &BTreeSet<String>, out: &mut Vec<Tension>) {
    // Per principle: how many results cite it, and each month's latest.
    type Latest<'a> = (usize, Vec<(Timestamp, &'a Decision)>);
    let mut merged: BTreeMap<&str, Latest<'_>> = BTreeMap::new();
    for (rows, m) in months {
        for (p, (n, latest)) in &m.results {
            let e = merged.entry(p.as_str()).or_default();
            e.0 += n;
            e.1.extend(latest.iter().map(|&(at, i)| (at, &rows[i])));
        }
    }
    for (p, (n, mut latest)) in merged {
        if !active.contains(p) || n < FAILURES_IN_A_ROW {
            continue;
        }
        // Stable: among equal times, earlier months first, then each month's row order.
        latest.sort_by_key(|(at, _)| Reverse(*at));
        latest.truncate(FAILURES_IN_A_ROW);
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
                decision_evidence(d, format!("failed: {text}"))
            })
            .collect();
        out.push(t);
    }
}

/// Decisions logged below the zone their team's zone map sets for the situation (see
/// `crate::zones`), since the rule was agreed.
fn authority_confusion(months: &Months, rules: &[(ZoneRule, String)], out: &mut Vec<Tension>) {
    for (rule, team) in rules {
        let below: Vec<&Decision> = months
            .iter()
            .flat_map(|(rows, m)| {
                m.situation_rows
                    .get(&rule.situation)
                    .into_iter()
                    .flat_map(move |s| s.iter().map(move |&i| &rows[i]))
            })
            .filter(|d| d.team == rule.team && d.created_at >= rule.since && d.zone < rule.zone)
            .collect();
        out.extend(tensions::below_zone(rule, team, &below));
    }
}
