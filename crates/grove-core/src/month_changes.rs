//! Which decisions of a month changed between two versions of its document.
//!
//! A month holds thousands of decisions; re-reading all of them because one was logged,
//! read or given a result costs hundreds of milliseconds (docs/limits.md). Each decision
//! is its own object under the month's root map, so the keys of the root map that the new
//! changes touch, directly or through an object nested inside, are the decisions that may
//! read differently. Derived views (the month's rows, insight, search) re-read only those.

use std::collections::{BTreeSet, HashMap};

use automerge::{legacy, Automerge, ChangeHash, Prop, ReadDoc};

/// More new changes than this and reading the month again whole is as cheap as decoding
/// them one by one (a sync bringing a month of work).
const MAX_CHANGES: usize = 512;

/// The root keys of `doc` that changes made since `since` touched, or None when that cannot
/// be told cheaply: `since` is not in the document's history (a purge rebuilt it), nothing
/// was read before, or too much changed. None means "read every decision again".
pub(crate) fn touched_since(doc: &Automerge, since: &[ChangeHash]) -> Option<BTreeSet<String>> {
    if since.is_empty()
        || since
            .iter()
            .any(|h| doc.get_change_meta_by_hash(h).is_none())
    {
        return None;
    }
    let changes = doc.get_changes(since);
    if changes.len() > MAX_CHANGES {
        return None;
    }
    let mut keys = BTreeSet::new();
    // Objects nested in a decision (its principles list, say) map to the decision's key.
    let mut owners: HashMap<String, String> = HashMap::new();
    for change in &changes {
        for op in change.decode().operations {
            let key = match (&op.obj, &op.key) {
                (legacy::ObjectId::Root, legacy::Key::Map(k)) => k.to_string(),
                (legacy::ObjectId::Root, legacy::Key::Seq(_)) => return None,
                (legacy::ObjectId::Id(id), _) => {
                    let id = id.to_string();
                    match owners.get(&id) {
                        Some(k) => k.clone(),
                        None => {
                            let k = root_key(doc, &id)?;
                            owners.insert(id, k.clone());
                            k
                        }
                    }
                }
            };
            keys.insert(key);
        }
    }
    Some(keys)
}

/// The root map key under which object `id` (`counter@actor`) lives.
fn root_key(doc: &Automerge, id: &str) -> Option<String> {
    let obj = doc.import_obj(id).ok()?;
    match doc.parents(&obj).ok()?.last()?.prop {
        Prop::Map(k) => Some(k),
        Prop::Seq(_) => None,
    }
}
