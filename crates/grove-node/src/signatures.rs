//! Change signatures in the store, beside their documents: meta entries under
//! `circle/<id>/sigs/<doc>/<n>`, each a run of (change hash 32 bytes, signature 64 bytes).
//! Written with every save of the document; loaded with it.

use grove_core::automerge::ChangeHash;
use grove_core::sync::ChangeSignature;
use grove_store::{circle_meta_prefix, Store};
use tracing::warn;

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
    let Some((first, _)) = sigs.first() else {
        return Ok(());
    };
    let mut value = Vec::with_capacity(sigs.len() * ENTRY);
    for (hash, sig) in sigs {
        value.extend_from_slice(&hash.0);
        value.extend_from_slice(sig);
    }
    // The first hash names the entry: unique, since a change is signed once.
    store.put_meta(&format!("{}{first}", prefix(circle, doc)), &value)?;
    Ok(())
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
        // Write the merged entry first: a crash in between leaves duplicates, never a loss.
        save(store, circle, doc, &out)?;
        let keep = format!("{}{}", prefix(circle, doc), out[0].0);
        for (key, _) in entries.iter().filter(|(k, _)| *k != keep) {
            store.delete_meta(key)?;
        }
    }
    Ok(out)
}
