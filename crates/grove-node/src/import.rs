//! Merging a whole-circle archive (an imported file or an opened bundle): every change is
//! checked ([`Circle::authorize_merge`]) before anything is merged, and a circle new to
//! this home is taken only if this device is one of its member devices.

use grove_core::archive::{self, ArchivedDoc};
use grove_core::{Circle, CoreError, CORE_DOC};

use crate::error::{NodeError, Result};
use crate::state::{Need, NodeState};

/// Checks and merges `docs` (core first, as [`archive::decode_signed`] returns them);
/// returns the circle id. With `expect`, the archive must hold that circle.
pub(crate) fn merge_archive(
    s: &mut NodeState,
    docs: &[ArchivedDoc],
    expect: Option<&str>,
) -> Result<String> {
    let Some(core) = docs.first().filter(|d| d.key == CORE_DOC) else {
        return Err(NodeError::Core(CoreError::Invalid(
            "the circle file holds no core document".into(),
        )));
    };
    let incoming = Circle::from_core_bytes(&core.bytes, s.identity.actor())?;
    let id = incoming.id().to_string();
    if let Some(expected) = expect.filter(|e| *e != id) {
        return Err(NodeError::Bundle(format!(
            "this bundle holds circle {id} but is sealed with a key of circle {expected}; \
             nothing was imported"
        )));
    }
    // Every document must load before the first merge, so a bad one changes nothing.
    let batch = archive::signed_batch(docs)?;
    if s.circle_ids()?.contains(&id) {
        s.prepare(Some(&id), &Need::All)?;
        let circle = s.circle_mut(&id)?;
        circle.authorize_merge(&batch)?;
        for d in docs {
            circle.merge_doc(&d.key, &d.bytes)?;
            circle.add_signatures(&d.key, d.signatures.iter().copied());
        }
        s.persist(&id)?;
    } else {
        Circle::empty(&id, s.identity.actor()).authorize_merge(&batch)?;
        let device = s.identity.device();
        if !incoming.membership().is_current_device(&device) {
            return Err(NodeError::Core(CoreError::State(format!(
                "this device is not a member of circle `{}` ({id}), so it cannot hold it: ask a \
                 member to run `grove member admit {device} --name <your name>`, then export \
                 the circle again; nothing was imported",
                incoming.info()?.name
            ))));
        }
        let mut circle = incoming;
        circle.add_signatures(CORE_DOC, core.signatures.iter().copied());
        for d in docs.iter().skip(1) {
            circle.attach(&d.key, &d.bytes)?;
            circle.add_signatures(&d.key, d.signatures.iter().copied());
            // Attached bytes are not yet in this store: mark them unsaved.
            circle.mark_saved(&d.key, Vec::new());
        }
        s.adopt(circle)?;
    }
    Ok(id)
}
