//! Dropping what a device took in good faith before it learned of a removal.
//!
//! A member offline during a removal may sync with the removed member and take its later
//! changes, then build its own on them. Every device that knows of the removal refuses
//! those changes (see [`crate::authorize`]), and with them every change that depends on
//! one, which an Automerge document cannot apply without its dependencies: the relaying
//! member's own later changes would never reach anyone. So once a device knows of the
//! removal, it rebuilds each document holding such changes without them, and writes its
//! own changes that were built on them again, as new changes that depend only on what
//! everyone accepts. Other members' changes built on them are theirs to write again, which
//! each does when its own device learns of the removal.
//!
//! Writing again works on values, not on operations: every value this device wrote in a
//! change now dropped (an entry it created, a field it set) is put back at the same place
//! in the rebuilt document, if that place still exists there (an edit of the removed
//! member's own entry goes with it). A deletion made in a dropped change is not repeated.

use std::collections::{BTreeMap, HashSet};

use automerge::transaction::{Transactable as _, Transaction};
use automerge::{
    ActorId, Automerge, Change, ChangeHash, ObjId, ObjType, Prop, ReadDoc, Value, ROOT,
};

use crate::circle::{Circle, CORE_DOC};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::members::Membership;
use crate::sync::signing;

/// A document rebuilt by [`Circle::purge_refused`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub doc: String,
    /// Changes dropped (forbidden ones and those built on them).
    pub dropped: usize,
    /// Whether this device wrote some of its own values again.
    pub rewritten: bool,
}

impl Circle {
    /// Rebuilds every document in memory that holds changes the circle's rules now refuse
    /// (see the module docs), writing this device's own values from dropped changes again
    /// at `now`. The rebuilt documents are new, not appended to: the caller must replace
    /// them in its store (not append to them) and restart their sync sessions.
    pub fn purge_refused(&mut self, now: Timestamp) -> Result<Vec<Purged>> {
        let membership = self.membership();
        if membership.removed_members().is_empty() {
            return Ok(Vec::new());
        }
        let me = signing::actor_device(&self.actor);
        if me
            .as_deref()
            .is_some_and(|d| !membership.is_current_device(d))
        {
            // A removed device's copy matters to no one else; leave it as it is.
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for key in self.doc_keys() {
            let Some(am) = self.doc(&key) else { continue };
            let changes = am.get_changes(&[]);
            let removals = if key == CORE_DOC {
                removal_pasts(am, &membership)
            } else {
                BTreeMap::new()
            };
            let tainted = tainted(&changes, &membership, &removals);
            if tainted.is_empty() {
                continue;
            }
            let dropped = tainted.len();
            let rewritten = self.rebuild(&key, changes, &tainted, now)?;
            out.push(Purged {
                doc: key,
                dropped,
                rewritten,
            });
        }
        Ok(out)
    }

    fn rebuild(
        &mut self,
        key: &str,
        changes: Vec<Change>,
        tainted: &HashSet<ChangeHash>,
        now: Timestamp,
    ) -> Result<bool> {
        let actor = self.actor.clone();
        // This device's changes after its first tainted one all depend on it.
        let cut = changes
            .iter()
            .filter(|c| c.actor_id() == &actor && tainted.contains(&c.hash()))
            .map(|c| c.start_op().get())
            .min();
        let (kept, _): (Vec<Change>, Vec<Change>) = changes
            .into_iter()
            .partition(|c| !tainted.contains(&c.hash()));
        let Some(old) = self.take_doc(key) else {
            return Ok(false);
        };
        let mut fresh = Automerge::new().with_actor(actor.clone());
        fresh.apply_changes(kept)?;
        let mut rewrite = None;
        if let Some(cut) = cut {
            let done = fresh
                .transact_with(
                    |_| crate::circle::commit(now, "write again after a refused change"),
                    |tx| copy_own(&old.am, tx, &ROOT, &ROOT, &actor, cut),
                )
                .map_err(|f| f.error)?;
            rewrite = done.hash;
        }
        self.put_rebuilt(key, fresh, old, tainted, rewrite);
        let rewritten = rewrite.is_some();
        Ok(rewritten)
    }
}

/// For each removed member, the changes in the causal past of the core change that
/// removed it: the remover had seen them, so they stand whatever their time says.
fn removal_pasts(
    core: &Automerge,
    membership: &Membership,
) -> BTreeMap<String, HashSet<ChangeHash>> {
    let mut out = BTreeMap::new();
    let Ok(Some((_, members))) = core.get(ROOT, "members") else {
        return out;
    };
    let metas = core.get_changes(&[]);
    for member in membership.removed_members() {
        let Ok(Some((_, record))) = core.get(&members, member.as_str()) else {
            continue;
        };
        let Ok(Some((_, ObjId::Id(counter, actor, _)))) = core.get(&record, "removed_at") else {
            continue;
        };
        let Some(removal) = metas.iter().find(|c| {
            c.actor_id() == &actor && c.start_op().get() <= counter && counter <= c.max_op()
        }) else {
            continue;
        };
        out.insert(member, ancestors(core, removal.hash()));
    }
    out
}

/// `hash` and every change it depends on, directly or not.
fn ancestors(doc: &Automerge, hash: ChangeHash) -> HashSet<ChangeHash> {
    let mut seen = HashSet::new();
    let mut stack = vec![hash];
    while let Some(h) = stack.pop() {
        if !seen.insert(h) {
            continue;
        }
        if let Some(c) = doc.get_change_by_hash(&h) {
            stack.extend(c.deps().iter().copied());
        }
    }
    seen
}

/// The changes a removed member's device wrote at or after its removal (outside the
/// removal's causal past), and every change that depends on one. `changes` come in
/// causal order, as [`Automerge::get_changes`] returns them.
fn tainted(
    changes: &[Change],
    membership: &Membership,
    removal_pasts: &BTreeMap<String, HashSet<ChangeHash>>,
) -> HashSet<ChangeHash> {
    let mut out = HashSet::new();
    for c in changes {
        let hash = c.hash();
        if c.deps().iter().any(|d| out.contains(d)) {
            out.insert(hash);
            continue;
        }
        let Some(device) = signing::actor_device(c.actor_id()) else {
            continue;
        };
        let seen_by_remover = membership
            .device_member(&device)
            .and_then(|m| removal_pasts.get(&m))
            .is_some_and(|past| past.contains(&hash));
        // The same rule as the receivers' check (authorize.rs).
        if !seen_by_remover && membership.forbids(&device, c.timestamp(), &hash) {
            out.insert(hash);
        }
    }
    out
}

fn own_dropped(id: &ObjId, actor: &ActorId, cut: u64) -> bool {
    matches!(id, ObjId::Id(counter, a, _) if a == actor && *counter >= cut)
}

/// The same object in two documents: created by the same operation.
fn same_object(a: &ObjId, b: &ObjId) -> bool {
    match (a, b) {
        (ObjId::Root, ObjId::Root) => true,
        (ObjId::Id(c1, a1, _), ObjId::Id(c2, a2, _)) => c1 == c2 && a1 == a2,
        _ => false,
    }
}

/// Writes into `tx` every value of `old` under `old_obj` that this device (`actor`) set in
/// an operation at or after `cut`, at the same place under `new_obj`.
fn copy_own(
    old: &Automerge,
    tx: &mut Transaction<'_>,
    old_obj: &ObjId,
    new_obj: &ObjId,
    actor: &ActorId,
    cut: u64,
) -> Result<()> {
    match old.object_type(old_obj)? {
        ObjType::Map | ObjType::Table => {
            for key in old.keys(old_obj).collect::<Vec<_>>() {
                let Some((value, id)) = old.get(old_obj, key.as_str())? else {
                    continue;
                };
                let prop = Prop::Map(key.clone());
                if own_dropped(&id, actor, cut) {
                    put_deep(old, tx, new_obj, prop, value, &id, false)?;
                } else if let Value::Object(_) = value {
                    if let Some((Value::Object(_), twin)) = tx.get(new_obj, key.as_str())? {
                        if same_object(&twin, &id) {
                            copy_own(old, tx, &id, &twin, actor, cut)?;
                        }
                    }
                }
            }
        }
        ObjType::List => {
            for i in 0..old.length(old_obj) {
                let Some((value, id)) = old.get(old_obj, i)? else {
                    continue;
                };
                if own_dropped(&id, actor, cut) {
                    let at = i.min(tx.length(new_obj));
                    put_deep(old, tx, new_obj, Prop::Seq(at), value, &id, true)?;
                } else if let Value::Object(_) = value {
                    if let Some((Value::Object(_), twin)) = tx.get(new_obj, i)? {
                        if same_object(&twin, &id) {
                            copy_own(old, tx, &id, &twin, actor, cut)?;
                        }
                    }
                }
            }
        }
        // Grove keeps prose in scalar strings; a text object is copied whole when this
        // device created it (put_deep), and otherwise left as the kept changes made it.
        ObjType::Text => {}
    }
    Ok(())
}

/// Puts `value` (an object: with everything in it) at `prop` of `obj`; in a list, inserts
/// it when `insert`.
fn put_deep(
    old: &Automerge,
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    prop: Prop,
    value: Value<'_>,
    old_id: &ObjId,
    insert: bool,
) -> Result<()> {
    match (value, prop) {
        (Value::Scalar(s), Prop::Map(key)) => tx.put(obj, key, s.into_owned())?,
        (Value::Scalar(s), Prop::Seq(i)) if insert => tx.insert(obj, i, s.into_owned())?,
        (Value::Scalar(s), Prop::Seq(i)) => tx.put(obj, i, s.into_owned())?,
        (Value::Object(kind), prop) => {
            let made = match prop {
                Prop::Map(key) => tx.put_object(obj, key, kind)?,
                Prop::Seq(i) if insert => tx.insert_object(obj, i, kind)?,
                Prop::Seq(i) => tx.put_object(obj, i, kind)?,
            };
            copy_all(old, tx, old_id, &made)?;
        }
    }
    Ok(())
}

/// Copies everything under `old_obj` into the new, empty object `made`.
fn copy_all(
    old: &Automerge,
    tx: &mut Transaction<'_>,
    old_obj: &ObjId,
    made: &ObjId,
) -> Result<()> {
    match old.object_type(old_obj)? {
        ObjType::Map | ObjType::Table => {
            for key in old.keys(old_obj).collect::<Vec<_>>() {
                if let Some((value, id)) = old.get(old_obj, key.as_str())? {
                    put_deep(old, tx, made, Prop::Map(key), value, &id, false)?;
                }
            }
        }
        ObjType::List => {
            for i in 0..old.length(old_obj) {
                if let Some((value, id)) = old.get(old_obj, i)? {
                    put_deep(old, tx, made, Prop::Seq(i), value, &id, true)?;
                }
            }
        }
        ObjType::Text => {
            let text = old.text(old_obj)?;
            tx.splice_text(made, 0, 0, &text)?;
        }
    }
    Ok(())
}
