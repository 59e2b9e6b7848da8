//! The circle's charter: its values and principles, which change only by consent.
//!
//! While a circle has a single member, that member shapes them directly. Once there are
//! several, a value or principle changes only as the effect of a passed proposal, written
//! in the same change as the pass; the one direct edit left is picking one of two wordings
//! devices wrote at once (a conflict), since both were already lawful. The acting client
//! refuses anything else with what to do instead ([`Circle::check_acts_alone`]); every
//! receiver checks the same with [`check`], on the change's own causal past (see
//! [`crate::authorize`]), so a modified client gains nothing by skipping it.

use std::collections::BTreeMap;

use automerge::ReadDoc;

use crate::circle::Circle;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::proposals::{Proposal, ProposalChange};
use crate::touched::{Scope, Touched};
use crate::words::{PrincipleStatus, ProposalStatus, ValueStatus};

impl Circle {
    /// Fails, saying what to do instead, unless the circle has a single member.
    pub(crate) fn check_acts_alone(&self, what: &str, instead: &str) -> Result<()> {
        let members = self.membership().current_members();
        if members.len() <= 1 {
            return Ok(());
        }
        Err(CoreError::state(format!(
            "{what} change by consent in a circle of {} members: {instead}",
            members.len()
        )))
    }
}

/// One prepared change to values or principles: written alone (the sole member's direct
/// edit) or in the same transaction as the pass that agreed it.
pub(crate) type Write = Box<dyn FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<()>>;

/// Marks the versions made by a contested pass (`source` names the proposal) and, when
/// the latest is one of them, returns the last uncontested version: its wording is the one
/// that stands until the round settles.
pub(crate) fn standing_version<'v, V>(
    versions: &'v mut [V],
    contested: &[String],
    source: impl Fn(&V) -> Option<&String>,
    mark: impl Fn(&mut V),
) -> Option<&'v V> {
    let flags: Vec<bool> = versions
        .iter()
        .map(|v| source(v).is_some_and(|s| contested.contains(s)))
        .collect();
    for (v, &f) in versions.iter_mut().zip(&flags) {
        if f {
            mark(v);
        }
    }
    if !flags.last().copied().unwrap_or(false) {
        return None;
    }
    let i = flags.iter().rposition(|f| !f)?;
    versions.get(i)
}

/// What of a value a receiver compares: its wording, status and history.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ValueRec {
    wording: [String; 4],
    status: String,
    /// Each version's wording and source, sorted (concurrent appends land anywhere).
    versions: Vec<([String; 4], String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PrincipleRec {
    statement: String,
    guidance: String,
    status: String,
    values: Vec<String>,
    supersedes: String,
    superseded_by: String,
    versions: Vec<([String; 2], String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Charter {
    values: BTreeMap<String, ValueRec>,
    principles: BTreeMap<String, PrincipleRec>,
}

/// The values and principles of a core document (any state of it) that `values` and
/// `principles` cover.
fn read<D: ReadDoc>(doc: &D, values: Scope<'_>, principles: Scope<'_>) -> Charter {
    let mut out = Charter::default();
    for (id, obj) in crate::touched::entities(doc, "values", values) {
        let f = Fields::read(doc, &obj);
        let wording = |f: &Fields| {
            [
                f.str("title"),
                f.str("statement"),
                f.str("protect"),
                f.str("refuse"),
            ]
        };
        let mut versions: Vec<_> = fields::map_list(doc, f.obj("versions"))
            .iter()
            .map(|v| (wording(v), v.str("source")))
            .collect();
        versions.sort();
        out.values.insert(
            id,
            ValueRec {
                wording: wording(&f),
                status: f.str("status"),
                versions,
            },
        );
    }
    for (id, obj) in crate::touched::entities(doc, "principles", principles) {
        let f = Fields::read(doc, &obj);
        let mut versions: Vec<_> = fields::map_list(doc, f.obj("versions"))
            .iter()
            .map(|v| ([v.str("statement"), v.str("guidance")], v.str("source")))
            .collect();
        versions.sort();
        out.principles.insert(
            id,
            PrincipleRec {
                statement: f.str("statement"),
                guidance: f.str("guidance"),
                status: f.str("status"),
                values: fields::str_list(doc, f.obj("values")),
                supersedes: f.str("supersedes"),
                superseded_by: f.str("superseded_by"),
                versions,
            },
        );
    }
    out
}

/// The charter kinds of proposal: passing one changes values or principles.
pub(crate) fn is_charter_change(change: &ProposalChange) -> bool {
    matches!(
        change,
        ProposalChange::AmendPrinciple { .. }
            | ProposalChange::NewPrinciple { .. }
            | ProposalChange::RetirePrinciple { .. }
            | ProposalChange::NewValue { .. }
            | ProposalChange::AmendValue { .. }
            | ProposalChange::RetireValue { .. }
    )
}

/// Refuses (with the reason) a change to the values or principles that neither the
/// circle's sole member made, nor a conflict pick, nor the effect of the proposal the same
/// change passes. `members` are the circle's members before the change; `touched` what the
/// change writes; `before` and `after` hold at least the proposals it writes.
pub(crate) fn check<B: ReadDoc, A: ReadDoc>(
    before_doc: &B,
    after_doc: &A,
    touched: &Touched,
    members: usize,
    before: &[Proposal],
    after: &[Proposal],
) -> std::result::Result<(), String> {
    if members <= 1 {
        return Ok(());
    }
    // Values and principles the change does not write read the same before and after it.
    let (values, principles) = (touched.scope("values"), touched.scope("principles"));
    let (old, new) = (
        read(before_doc, values, principles),
        read(after_doc, values, principles),
    );
    if old == new || picks_conflicts(before_doc, &old, &new) {
        return Ok(());
    }
    // A pass writes its proposal's status, so the one this change passes is among those
    // it writes.
    let passed: Vec<&Proposal> = after
        .iter()
        .filter(|p| p.stored.status == ProposalStatus::Passed.as_str())
        .filter(|p| {
            !before
                .iter()
                .any(|b| b.id == p.id && b.stored.status == ProposalStatus::Passed.as_str())
        })
        .filter(|p| is_charter_change(&p.change))
        .collect();
    let [p] = passed.as_slice() else {
        return Err(
            "it changes the circle's values or principles without passing a proposal: they change by consent"
                .into(),
        );
    };
    // An effect reaches more than the change may write (retiring a value puts the
    // principles derived only from it under review): judged on the whole charter.
    let (old, new) = (
        read(before_doc, Scope::All, Scope::All),
        read(after_doc, Scope::All, Scope::All),
    );
    let expected = apply(&old, &new, p)
        .ok_or_else(|| format!("it applies proposal {} other than as agreed", p.id))?;
    if expected != new {
        return Err(format!(
            "it changes values or principles other than proposal {} agreed",
            p.id
        ));
    }
    Ok(())
}

/// Whether `new` differs from `old` only in top-level wordings that each take one of the
/// values a conflict held.
fn picks_conflicts<D: ReadDoc>(doc: &D, old: &Charter, new: &Charter) -> bool {
    if old.values.keys().ne(new.values.keys()) || old.principles != new.principles {
        return false;
    }
    let Ok(coll) = fields::child_map(doc, &automerge::ROOT, "values") else {
        return false;
    };
    for (id, o) in &old.values {
        let Some(n) = new.values.get(id) else {
            return false;
        };
        if o == n {
            continue;
        }
        if o.status != n.status || o.versions != n.versions {
            return false;
        }
        let Ok(Some(obj)) = fields::entity(doc, &coll, id) else {
            return false;
        };
        let f = Fields::read(doc, &obj);
        let conflicts = f.conflicts(doc, &obj, &["title", "statement", "protect", "refuse"]);
        for (i, field) in ["title", "statement", "protect", "refuse"]
            .iter()
            .enumerate()
        {
            if o.wording[i] == n.wording[i] {
                continue;
            }
            let held = conflicts
                .iter()
                .any(|c| c.field == *field && c.values.contains(&n.wording[i]));
            if !held {
                return false;
            }
        }
    }
    true
}

fn trimmed(s: &str) -> String {
    s.trim().to_string()
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(trimmed).unwrap_or_default()
}

/// The charter `old` becomes when proposal `p` takes effect; a new entity takes the one
/// id `new` adds. `None` when `new` adds other than one entity where the effect adds one.
fn apply(old: &Charter, new: &Charter, p: &Proposal) -> Option<Charter> {
    let mut out = old.clone();
    let source = p.id.clone();
    let added = |old_keys: Vec<&String>, new_keys: Vec<&String>| -> Option<String> {
        let fresh: Vec<&String> = new_keys
            .into_iter()
            .filter(|k| !old_keys.contains(k))
            .collect();
        match fresh.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    };
    match &p.change {
        ProposalChange::NewPrinciple {
            values,
            statement,
            guidance,
            supersedes,
        } => {
            let id = added(
                old.principles.keys().collect(),
                new.principles.keys().collect(),
            )?;
            let (statement, guidance) = (trimmed(statement), opt(guidance));
            let mut vs: Vec<String> = Vec::new();
            for v in values {
                let v = trimmed(v);
                if !vs.contains(&v) {
                    vs.push(v);
                }
            }
            out.principles.insert(
                id.clone(),
                PrincipleRec {
                    versions: vec![([statement.clone(), guidance.clone()], source)],
                    statement,
                    guidance,
                    status: PrincipleStatus::Active.as_str().into(),
                    values: vs,
                    supersedes: opt(supersedes),
                    superseded_by: String::new(),
                },
            );
            if let Some(old_id) = supersedes {
                let o = out.principles.get_mut(old_id)?;
                o.status = PrincipleStatus::Retired.as_str().into();
                o.superseded_by = id;
            }
        }
        ProposalChange::AmendPrinciple {
            principle,
            statement,
            guidance,
            ..
        } => {
            let o = out.principles.get_mut(principle)?;
            o.statement = trimmed(statement);
            if let Some(g) = guidance {
                o.guidance = trimmed(g);
            }
            o.status = PrincipleStatus::Active.as_str().into();
            o.versions
                .push(([o.statement.clone(), o.guidance.clone()], source));
            o.versions.sort();
        }
        ProposalChange::RetirePrinciple { principle, .. } => {
            out.principles.get_mut(principle)?.status = PrincipleStatus::Retired.as_str().into();
        }
        ProposalChange::NewValue {
            title,
            statement,
            protect,
            refuse,
        } => {
            let id = added(old.values.keys().collect(), new.values.keys().collect())?;
            let wording = [
                trimmed(title),
                trimmed(statement),
                opt(protect),
                opt(refuse),
            ];
            out.values.insert(
                id,
                ValueRec {
                    versions: vec![(wording.clone(), source)],
                    wording,
                    status: ValueStatus::Active.as_str().into(),
                },
            );
        }
        ProposalChange::AmendValue {
            value,
            title,
            statement,
            protect,
            refuse,
            ..
        } => {
            let o = out.values.get_mut(value)?;
            if o.versions.is_empty() {
                // A value from before values kept versions gains its first one too.
                o.versions.push((o.wording.clone(), String::new()));
            }
            o.wording = [
                trimmed(title),
                trimmed(statement),
                opt(protect),
                opt(refuse),
            ];
            o.versions.push((o.wording.clone(), source));
            o.versions.sort();
        }
        ProposalChange::RetireValue { value, .. } => {
            out.values.get_mut(value)?.status = ValueStatus::Retired.as_str().into();
            let active: Vec<&String> = out
                .values
                .iter()
                .filter(|(_, v)| v.status == ValueStatus::Active.as_str())
                .map(|(id, _)| id)
                .collect();
            for p in out.principles.values_mut() {
                if p.status == PrincipleStatus::Active.as_str()
                    && p.values.contains(value)
                    && !p.values.iter().any(|v| active.contains(&v))
                {
                    p.status = PrincipleStatus::UnderReview.as_str().into();
                }
            }
        }
        ProposalChange::General
        | ProposalChange::RemoveMember { .. }
        | ProposalChange::Stewards { .. }
        | ProposalChange::Keepers { .. }
        | ProposalChange::MapZone { .. } => return None,
    }
    Some(out)
}
