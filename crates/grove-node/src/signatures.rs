//! Change signatures in the store, beside their documents: meta entries under
//! `circle/<id>/sigs/<doc>/<n>`, each a run of (change hash 32 bytes, signature 64 bytes).
//! Written with every save of the document; loaded with it. A month keeps only those no
//! later change of the same author covers (see `grove_core::sync::signing`, "At rest"):
//! its entries are replaced by one holding those when the store compacts the month, and
//! when a month holding many is loaded or written (`crate::state`).
//!
//! A signature written here was verified first, made here, or is that of a change a later
//! change of the same device vouched for when it arrived (see
//! `grove_core::sync::signing`): such a one is never trusted on its own, only checked
//! lazily when it must travel alone. Stores from before signed sync checked every
//! signature may hold bad ones a tampered import put there in place of good ones, so each
//! document's signatures are verified once on their first load, bad ones dropped, and the
//! document marked checked. A store created under the rule is marked checked whole.

use grove_core::automerge::{Automerge, ChangeHash};
use grove_core::sync::ChangeSignature;
use grove_store::{circle_meta_prefix, Store};
use tracing::{info, warn};

use crate::error::Result;

const ENTRY: usize = 32 + 64;
/// Entries a document may gather before they are rewritten as one (loading scans them all).
const MERGE_AFTER: usize = 64;

fn prefix(circle: &str, doc: &str) -> String {
    format!("{}sigs/{doc}/", circle_meta_prefix(circle))
}

/// Appends `sigs` of `doc` as a new entry.
pub(crate) fn save(
    store: &dyn Store,
    circle: &str,
    doc: &str,
    sigs: &[(ChangeHash, ChangeSignature)],
) -> Result<()> {
    if let Some((key, value)) = entry(circle, doc, sigs) {
        store.put_meta(&key, &value)?;
    }
    Ok(())
}

/// The meta key and value of a new entry holding `sigs` of `doc`, for writing with the
/// chunk that holds their changes (`Store::append_with_meta`); None when there are none.
pub(crate) fn entry(
    circle: &str,
    doc: &str,
    sigs: &[(ChangeHash, ChangeSignature)],
) -> Option<(String, Vec<u8>)> {
    let (first, _) = sigs.first()?;
    let mut value = Vec::with_capacity(sigs.len() * ENTRY);
    for (hash, sig) in sigs {
        value.extend_from_slice(&hash.0);
        value.extend_from_slice(sig);
    }
    // The first hash names the entry: unique, since a change is signed once.
    Some((format!("{}{first}", prefix(circle, doc)), value))
}

/// Every signature held for `doc`; merges many entries into one along the way.
pub(crate) fn load(
    store: &dyn Store,
    circle: &str,
    doc: &str,
) -> Result<Vec<(ChangeHash, ChangeSignature)>> {
    let entries = store.meta_with_prefix(&prefix(circle, doc))?;
    let mut out = Vec::new();
    for (key, value) in &entries {
        if value.len() % ENTRY != 0 {
            warn!(key, "skipping a damaged signature entry");
            continue;
        }
        for e in value.chunks_exact(ENTRY) {
            let (hash, sig) = e.split_at(32);
            if let (Ok(hash), Ok(sig)) = (<[u8; 32]>::try_from(hash), <[u8; 64]>::try_from(sig)) {
                out.push((ChangeHash(hash), sig));
            }
        }
    }
    if entries.len() > MERGE_AFTER {
        replace_entries(store, circle, doc, &entries, &out)?;
    }
    Ok(out)
}

/// Replaces every stored entry of `doc` with one holding `sigs`.
pub(crate) fn replace(
    store: &dyn Store,
    circle: &str,
    doc: &str,
    sigs: &[(ChangeHash, ChangeSignature)],
) -> Result<()> {
    let entries = store.meta_with_prefix(&prefix(circle, doc))?;
    replace_entries(store, circle, doc, &entries, sigs)
}

fn replace_entries(
    store: &dyn Store,
    circle: &str,
    doc: &str,
    entries: &[(String, Vec<u8>)],
    sigs: &[(ChangeHash, ChangeSignature)],
) -> Result<()> {
    // Write the new entry first: a crash in between leaves duplicates, never a loss.
    save(store, circle, doc, sigs)?;
    let keep = sigs
        .first()
        .map(|(h, _)| format!("{}{h}", prefix(circle, doc)));
    for (key, _) in entries.iter().filter(|(k, _)| Some(k) != keep.as_ref()) {
        store.delete_meta(key)?;
    }
    Ok(())
}

/// Marks a store whose signatures were all written under the rule above (verified, made
/// here, or vouched for by a verified later change): one created with no circles by this
/// version.
const ALL_CHECKED: &str = "signatures/checked-v1";

fn checked_key(circle: &str, doc: &str) -> String {
    format!("{}sigs-checked/{doc}", circle_meta_prefix(circle))
}

/// Marks a store that holds no circles yet as one whose signatures need no check.
pub(crate) fn mark_new_store(store: &dyn Store) -> Result<()> {
    if store.circles()?.is_empty() && store.get_meta(ALL_CHECKED)?.is_none() {
        store.put_meta(ALL_CHECKED, b"1")?;
    }
    Ok(())
}

/// [`load`], verifying the signatures once if this store may hold unchecked ones.
pub(crate) fn load_checked(
    store: &dyn Store,
    circle: &str,
    doc: &str,
    am: &Automerge,
) -> Result<Vec<(ChangeHash, ChangeSignature)>> {
    let sigs = load(store, circle, doc)?;
    let marker = checked_key(circle, doc);
    if store.get_meta(ALL_CHECKED)?.is_some() || store.get_meta(&marker)?.is_some() {
        return Ok(sigs);
    }
    let (kept, dropped) = grove_core::sync::signing::keep_valid(am, sigs);
    if dropped > 0 {
        warn!(
            circle,
            doc, dropped, "dropped stored signatures that do not verify"
        );
        // One entry holding only good ones replaces every entry of the document.
        replace(store, circle, doc, &kept)?;
    } else {
        info!(circle, doc, "stored signatures checked");
    }
    store.put_meta(&marker, b"1")?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grove_core::{Circle, Ctx, Timestamp, CORE_DOC};
    use grove_store::MemStore;
    use rand::SeedableRng as _;

    #[test]
    fn a_store_from_before_the_rule_gets_its_bad_signatures_dropped_once() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut ctx = Ctx::new(Timestamp(1_795_305_600_000), "m-ana", &mut rng);
        let circle = Circle::create_signed(&mut ctx, &key, "Cell", "Ana").unwrap();
        let am = circle.doc(CORE_DOC).unwrap();
        let good: Vec<_> = circle
            .signed_changes(CORE_DOC, &[])
            .into_iter()
            .map(|sc| (sc.change.hash(), sc.signature.unwrap()))
            .collect();
        let store = MemStore::new();
        let id = circle.id();
        save(&store, id, CORE_DOC, &good).unwrap();
        // What a tampered import used to do: a later entry with one signature flipped.
        let mut bad = good[0];
        bad.1[3] ^= 1;
        save(&store, id, CORE_DOC, &[(good[1].0, good[1].1), bad]).unwrap();

        let loaded = load_checked(&store, id, CORE_DOC, am).unwrap();
        let mut want = good.clone();
        want.sort();
        let mut got = loaded.clone();
        got.sort();
        assert_eq!(
            got, want,
            "only the verifying signature of each change is kept"
        );
        let mut again = load(&store, id, CORE_DOC).unwrap();
        again.sort();
        assert_eq!(again, want, "the store was rewritten without the bad one");

        // A store marked checked whole (created under the rule) is taken as it is.
        let fresh = MemStore::new();
        mark_new_store(&fresh).unwrap();
        save(&fresh, id, CORE_DOC, &[bad]).unwrap();
        assert_eq!(load_checked(&fresh, id, CORE_DOC, am).unwrap(), vec![bad]);
        assert!(fresh.get_meta(ALL_CHECKED).unwrap().is_some());
    }
}
