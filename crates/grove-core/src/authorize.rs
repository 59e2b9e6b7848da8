//! Checking changes from elsewhere (a peer, an archive, a bundle) before they are merged:
//! every change must carry a valid signature by its author's device, and that device must
//! belong to a member at that point.
//!
//! "At that point" is decided by replaying the batch's core changes in causal order on a
//! scratch copy of the core document, so an admission followed by the new member's changes
//! in the same batch passes. Decision months have no causal link to the core, so their
//! changes are checked against membership after the whole batch. A removed member's
//! device is accepted only for changes timestamped before its removal. The root of trust
//! is the author of the core document's first change: the circle's founder.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::circle::{Circle, CORE_DOC};
use crate::error::Result;
use crate::members::Membership;
use crate::sync::signing::{AuthError, SignedChange, Verifier};

impl Circle {
    /// Checks a batch of `(document key, changes)` before any of it is merged: see the
    /// module docs. Changes this circle already holds pass unchecked (they were checked
    /// when they arrived). Works on an empty circle too, where the batch's first core
    /// change (its founder's) is the root of trust.
    pub fn authorize_merge(&self, batch: &[(String, Vec<SignedChange>)]) -> Result<()> {
        let core = self.doc(CORE_DOC);
        let mut fresh_core: Vec<&SignedChange> = Vec::new();
        let mut others: Vec<(&str, &SignedChange)> = Vec::new();
        for (doc, changes) in batch {
            let held = self.doc(doc);
            for sc in changes {
                if held.is_some_and(|d| d.get_change_by_hash(&sc.change.hash()).is_some()) {
                    continue;
                }
                if doc == CORE_DOC {
                    fresh_core.push(sc);
                } else {
                    others.push((doc, sc));
                }
            }
        }
        let mut verifier = Verifier::default();
        let membership = match core {
            Some(doc) if fresh_core.is_empty() => Membership::read(doc),
            _ => replay_core(core, &fresh_core, &mut verifier)?,
        };
        for (_, sc) in others {
            let device = verifier.verify(sc)?;
            check_author(&membership, &device, sc)?;
        }
        Ok(())
    }
}

/// Verifies and replays `fresh` on a scratch copy of `core`; returns the membership after.
fn replay_core(
    core: Option<&Automerge>,
    fresh: &[&SignedChange],
    verifier: &mut Verifier,
) -> Result<Membership> {
    let mut scratch = core.cloned().unwrap_or_default();
    let mut root: Option<String> = None;
    if scratch.get_heads().is_empty() {
        let roots: Vec<_> = fresh
            .iter()
            .filter(|sc| sc.change.deps().is_empty())
            .collect();
        if roots.len() > 1 {
            return Err(AuthError::TwoRoots.into());
        }
        root = roots.first().map(|sc| verifier.verify(sc)).transpose()?;
    }
    // Read after every change, whatever its commit message says: a modified client could
    // disguise a removal or a steward grant as any other edit.
    let mut membership = Membership::read(&scratch);
    for sc in causal_order(fresh) {
        let device = verifier.verify(sc)?;
        let founding =
            root.as_deref() == Some(device.as_str()) && membership.device_member(&device).is_none();
        if !founding {
            check_author(&membership, &device, sc)?;
        }
        let before = membership;
        scratch
            .apply_changes([sc.change.clone()])
            .map_err(crate::error::CoreError::from)?;
        membership = Membership::read(&scratch);
        if !founding {
            check_authority(&before, &membership, &scratch, &device, sc)?;
        }
    }
    Ok(membership)
}

/// Removing a member and naming a steward are a steward's acts (a removal may also follow
/// a passed proposal): the acting client checks this, and so does every receiver, so a
/// modified client gains nothing by skipping the check.
fn check_authority(
    before: &Membership,
    after: &Membership,
    doc: &Automerge,
    device: &str,
    sc: &SignedChange,
) -> std::result::Result<(), AuthError> {
    let author = before.device_member(device).unwrap_or_default();
    let steward = before.is_steward(&author);
    let refuse = |what: String| AuthError::NotAllowed {
        hash: sc.change.hash(),
        device: device.to_string(),
        what,
    };
    for member in after.removed_members() {
        if before.member_removed_at(&member).is_none()
            && !steward
            && !crate::proposals::passed_removal(doc, &member)
        {
            return Err(refuse(format!(
                "it removes member `{member}`, but `{author}` is no steward and no passed proposal removes them"
            )));
        }
    }
    for member in after.stewards() {
        if !before.is_steward(&member) && !steward {
            return Err(refuse(format!(
                "it makes `{member}` a steward, but `{author}` is no steward"
            )));
        }
    }
    Ok(())
}

fn check_author(
    membership: &Membership,
    device: &str,
    sc: &SignedChange,
) -> std::result::Result<(), AuthError> {
    let hash = sc.change.hash();
    let Some(member) = membership.device_member(device) else {
        return Err(AuthError::NotAMember {
            hash,
            device: device.to_string(),
        });
    };
    if let Some(removed) = membership.removed_at(device) {
        // Change times are whole seconds (see `circle::commit`).
        if sc.change.timestamp().saturating_mul(1000) >= removed.0 {
            return Err(AuthError::Removed {
                hash,
                device: device.to_string(),
                member,
            });
        }
    }
    Ok(())
}

/// The changes ordered so each comes after those of its deps that are in the batch; ties
/// by hash, so every replica replays a batch alike. Changes whose deps are missing come
/// in the same order (automerge queues them until the deps arrive).
fn causal_order<'a>(changes: &[&'a SignedChange]) -> Vec<&'a SignedChange> {
    let by_hash: BTreeMap<ChangeHash, &SignedChange> =
        changes.iter().map(|sc| (sc.change.hash(), *sc)).collect();
    let mut waiting: BTreeMap<ChangeHash, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<ChangeHash, Vec<ChangeHash>> = BTreeMap::new();
    for (hash, sc) in &by_hash {
        let deps: HashSet<&ChangeHash> = sc
            .change
            .deps()
            .iter()
            .filter(|d| by_hash.contains_key(d))
            .collect();
        waiting.insert(*hash, deps.len());
        for d in deps {
            dependents.entry(*d).or_default().push(*hash);
        }
    }
    let mut ready: BTreeSet<ChangeHash> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(h, _)| *h)
        .collect();
    let mut out = Vec::with_capacity(by_hash.len());
    while let Some(hash) = ready.pop_first() {
        out.push(by_hash[&hash]);
        for next in dependents.get(&hash).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(next) {
                *n -= 1;
                if *n == 0 {
                    ready.insert(*next);
                }
            }
        }
    }
    out
}
