//! What one change may do to the circle's proposals, judged on the state its author saw.
//!
//! Every receiver runs [`check_proposals`] on each core change before merging it (see
//! [`crate::authorize`]), with the state at the change's dependencies as "before" and the
//! change applied on it as "after". Both come from the change's own causal past, so the
//! verdict is the same on every device whatever else it holds or in what order it came.
//! A change that breaks a rule is refused by everyone, as a bad signature is.

use std::collections::{HashMap, HashSet};

use crate::clock::Timestamp;
use crate::consent::{self, CLOCK_SLACK_MS};
use crate::escalations::Escalation;
use crate::proposals::{Proposal, ProposalChange};
use crate::words::ProposalStatus;

/// The change being judged: who made it, when it says it was made, and what the receiver
/// knows of the time.
pub(crate) struct Act<'a> {
    pub author: &'a str,
    /// The change's timestamp in milliseconds (whole seconds, as Automerge keeps them).
    pub at: Timestamp,
    /// The receiver's clock, if it has one: a pass may not claim a time far beyond it.
    pub horizon: Option<Timestamp>,
    /// The circle's current members before the change.
    pub members: &'a [String],
    /// Its principle keepers in office at the change's time, as of before the change.
    pub keepers: &'a [String],
}

/// How many versions the principle or value an amendment changes had before the change
/// (`None` for other kinds).
pub(crate) type VersionsBefore<'a> = dyn Fn(&ProposalChange) -> Option<usize> + 'a;

/// Whether `id` names feedback an amendment may cite: a tension (raised or detected), a
/// decision or a review.
pub(crate) fn is_feedback_id(id: &str) -> bool {
    let Some((prefix, rest)) = id.split_once('-') else {
        return false;
    };
    !rest.is_empty()
        && (prefix == "d" || prefix == "rv" || (prefix.starts_with('t') && prefix.len() == 2))
}

/// Refuses (with the reason) a change whose effect on proposals the rules forbid.
pub(crate) fn check_proposals(
    before: &[Proposal],
    after: &[Proposal],
    act: &Act<'_>,
    versions_before: &VersionsBefore<'_>,
) -> Result<(), String> {
    for b in before {
        if !after.iter().any(|c| c.id == b.id) {
            return Err(format!("it deletes proposal {}", b.id));
        }
    }
    for c in after {
        match before.iter().find(|b| b.id == c.id) {
            None => check_opening(c, act)?,
            Some(b) if b == c => {}
            Some(b) => check_step(b, c, act, versions_before)?,
        }
    }
    Ok(())
}

fn check_opening(c: &Proposal, act: &Act<'_>) -> Result<(), String> {
    let s = &c.stored;
    if s.opened_by != act.author {
        return Err(format!(
            "it opens proposal {} in {}'s name",
            c.id, s.opened_by
        ));
    }
    if s.status != ProposalStatus::Open.as_str() || s.version.unwrap_or(1) != 1 {
        return Err(format!("it opens proposal {} already decided", c.id));
    }
    if s.answers
        .keys()
        .chain(s.receipts.keys())
        .any(|m| m != act.author)
    {
        return Err(format!("it opens proposal {} with others' answers", c.id));
    }
    if !s.saw.is_empty() || !s.resolutions.is_empty() {
        return Err(format!("it opens proposal {} with a pass record", c.id));
    }
    if let Some(w) = s.window_ms {
        consent::check_window(w).map_err(|e| e.to_string())?;
    }
    check_feedback(c, act)
}

/// An amendment in a circle of several cites the feedback that demands it.
fn check_feedback(c: &Proposal, act: &Act<'_>) -> Result<(), String> {
    let cites = match &c.change {
        ProposalChange::AmendPrinciple { cites, .. } | ProposalChange::AmendValue { cites, .. } => {
            cites
        }
        _ => return Ok(()),
    };
    if act.members.len() > 1 && !cites.iter().any(|c| is_feedback_id(c)) {
        return Err(format!(
            "it proposes amendment {} citing no tension, decision or review",
            c.id
        ));
    }
    Ok(())
}

fn check_step(
    b: &Proposal,
    c: &Proposal,
    act: &Act<'_>,
    versions_before: &VersionsBefore<'_>,
) -> Result<(), String> {
    let (sb, sc) = (&b.stored, &c.stored);
    let id = &c.id;
    let open = matches!(b.status, ProposalStatus::Open | ProposalStatus::Contested);
    // The round's history: each line in its writer's own name, and none taken back.
    if b.log.iter().any(|l| !c.log.contains(l)) {
        return Err(format!("it rewrites the history of proposal {id}"));
    }
    if let Some(l) = c
        .log
        .iter()
        .find(|l| !b.log.contains(l) && l.member != act.author)
    {
        return Err(format!(
            "it writes a line of proposal {id}'s history in {}'s name",
            l.member
        ));
    }
    if sb.opened_by != sc.opened_by || sb.opened_at != sc.opened_at || sb.window_ms != sc.window_ms
    {
        return Err(format!(
            "it rewrites who opened proposal {id}, when, or its window"
        ));
    }
    if sb.resolutions != sc.resolutions {
        return Err(format!(
            "it marks an objection to proposal {id} resolved: only the objector lifts an objection"
        ));
    }
    let members: std::collections::BTreeSet<&String> =
        sb.answers.keys().chain(sc.answers.keys()).collect();
    for m in members {
        if sb.answers.get(m) == sc.answers.get(m) {
            continue;
        }
        if m != act.author {
            return Err(format!("it changes {m}'s answer to proposal {id}"));
        }
        if !open {
            return Err(format!("it answers proposal {id}, which is {}", b.status));
        }
        if sc.answers.get(m).map(|a| a.3) != Some(i64::from(c.version)) {
            return Err(format!(
                "it answers a version of proposal {id} that is not current"
            ));
        }
    }
    for m in sb.receipts.keys().chain(sc.receipts.keys()) {
        if sb.receipts.get(m) == sc.receipts.get(m) {
            continue;
        }
        if m != act.author || sb.receipts.contains_key(m) {
            return Err(format!("it rewrites {m}'s receipt of proposal {id}"));
        }
    }
    let revised =
        sb.version != sc.version || sb.revised_at != sc.revised_at || sb.substance != sc.substance;
    if revised {
        if act.author != sc.opened_by {
            return Err(format!(
                "it revises proposal {id}, which only its proposer may"
            ));
        }
        if !open || c.version != b.version + 1 {
            return Err(format!("it revises proposal {id} out of turn"));
        }
        if sc.status != ProposalStatus::Open.as_str() {
            return Err(format!("it revises proposal {id} without reopening it"));
        }
        check_feedback(c, act)?;
    }
    let passed = ProposalStatus::Passed.as_str();
    let pass_record_changed = sb.saw != sc.saw
        || sb.passed_version != sc.passed_version
        || sb.base_version != sc.base_version
        || sb.closed_by != sc.closed_by
        || sb.closed_at != sc.closed_at
        || sb.outcome != sc.outcome;
    if sc.status == passed && (sb.status != passed || pass_record_changed) {
        return check_pass(b, c, act, versions_before);
    }
    if sc.status != sb.status {
        let withdrawn = ProposalStatus::Withdrawn.as_str();
        if sc.status == withdrawn && open && act.author == sc.opened_by {
            return Ok(());
        }
        if sc.status == ProposalStatus::Open.as_str() && revised {
            return Ok(());
        }
        return Err(format!(
            "it sets proposal {id} from {} to {}",
            b.status, sc.status
        ));
    }
    if pass_record_changed {
        return Err(format!("it rewrites the record of proposal {id}'s pass"));
    }
    Ok(())
}

fn check_pass(
    b: &Proposal,
    c: &Proposal,
    act: &Act<'_>,
    versions_before: &VersionsBefore<'_>,
) -> Result<(), String> {
    let (sb, sc) = (&b.stored, &c.stored);
    let id = &c.id;
    let blockers = consent::blockers(b, b.status, act.members, act.keepers, act.at);
    if let Some(first) = blockers.first() {
        return Err(format!(
            "it passes proposal {id}, which cannot pass: {}",
            first.describe(|m| m.to_string())
        ));
    }
    if sc.closed_by != act.author {
        return Err(format!(
            "it passes proposal {id} in {}'s name",
            sc.closed_by
        ));
    }
    let seen: std::collections::BTreeMap<String, String> = sb
        .answers
        .iter()
        .filter(|(_, a)| a.3 == i64::from(b.version))
        .map(|(m, a)| (m.clone(), a.4.clone()))
        .collect();
    if sc.saw != seen || sc.passed_version != Some(i64::from(b.version)) {
        return Err(format!(
            "it passes proposal {id} claiming answers it did not see"
        ));
    }
    if let Some(base) = versions_before(&b.change) {
        if sc.base_version != Some(base as i64) {
            return Err(format!(
                "it passes proposal {id} on a version of the wording it did not see"
            ));
        }
    }
    // A pass is no older than what it depends on, nor far younger than the receiver.
    let latest = sb
        .receipts
        .values()
        .chain(sb.answers.values().map(|a| &a.2))
        .copied()
        .chain([sb.opened_at, sb.revised_at.unwrap_or_default()])
        .max()
        .unwrap_or_default();
    if act.at.0 + 999 < latest {
        return Err(format!(
            "it passes proposal {id} at a time before the answers and receipts it depends on"
        ));
    }
    if let Some(now) = act.horizon {
        if act.at.0 > now.0.saturating_add(CLOCK_SLACK_MS) {
            return Err(format!(
                "it passes proposal {id} at {}, ahead of this device's clock",
                act.at.minute()
            ));
        }
    }
    if sc.closed_at.map(|t| t.div_euclid(1000)) != Some(act.at.0.div_euclid(1000)) {
        return Err(format!(
            "it passes proposal {id} with a close time not its own"
        ));
    }
    Ok(())
}

/// Refuses a change to the escalations' document that raises an escalation about no
/// decision or already answered, or deletes one (see [`crate::escalations`]). Who raised it
/// is what the decision's log says, as any member may log a decision another took.
pub(crate) fn check_raising(before: &[Escalation], after: &[Escalation]) -> Result<(), String> {
    let before_ids: HashSet<&str> = before.iter().map(|b| b.id.as_str()).collect();
    for c in after.iter().filter(|c| !before_ids.contains(c.id.as_str())) {
        if c.decision.is_empty() {
            return Err(format!("it raises escalation {} about no decision", c.id));
        }
        let answered = c.acknowledged_by.is_some()
            || c.acknowledged_at.is_some()
            || c.response.is_some()
            || c.verdict.is_some()
            || c.resolved_by.is_some()
            || c.resolved_at.is_some()
            || c.status != crate::words::EscalationStatus::Open;
        if answered {
            return Err(format!("it raises escalation {} already answered", c.id));
        }
    }
    let after_ids: HashSet<&str> = after.iter().map(|c| c.id.as_str()).collect();
    if before.iter().any(|b| !after_ids.contains(b.id.as_str())) {
        return Err("it deletes an escalation".into());
    }
    Ok(())
}

/// Refuses a change that acknowledges, answers or rewrites an escalation unless its author
/// is a steward (`steward`, as of the change's causal past) or alone in the circle.
pub(crate) fn check_escalations(
    before: &[Escalation],
    after: &[Escalation],
    act: &Act<'_>,
    steward: bool,
) -> Result<(), String> {
    // By id: a circle gathers escalations as its log grows, and every core change is
    // checked against all of them, so a scan per escalation made each check quadratic.
    let before_by_id: HashMap<&str, &Escalation> =
        before.iter().map(|b| (b.id.as_str(), b)).collect();
    for c in after {
        // Raising one is any member's act: logging a centre-zone decision.
        let Some(b) = before_by_id.get(c.id.as_str()) else {
            continue;
        };
        if *b == c {
            continue;
        }
        if !steward && act.members.len() > 1 {
            return Err(format!(
                "it answers escalation {}, but {} is no steward",
                c.id, act.author
            ));
        }
        if b.decision != c.decision || b.raised_by != c.raised_by || b.raised_at != c.raised_at {
            return Err(format!("it rewrites what escalation {} is about", c.id));
        }
    }
    let after_ids: HashSet<&str> = after.iter().map(|c| c.id.as_str()).collect();
    if before.iter().any(|b| !after_ids.contains(b.id.as_str())) {
        return Err("it deletes an escalation".into());
    }
    Ok(())
}
