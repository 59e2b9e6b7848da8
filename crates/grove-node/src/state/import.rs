//! Merging a whole-circle archive (an imported file or an opened bundle): every change is
//! checked ([`Circle::authorize_merge`]) before anything is merged, and a circle new to
//! this home is taken only if this device is one of its member devices.
//!
//! A file that fails the check (a bad signature anywhere, even on a change held here
//! already) changes nothing. Changes the circle's rules forbid (a removed member's, written
//! after its removal, and what was built on them) are left out and the rest is merged:
//! the device that exported the file may have taken them in good faith.

use grove_core::archive::{self, ArchivedDoc};
use grove_core::{Circle, CoreError, CORE_DOC};
use tracing::warn;

use super::{Need, NodeState};
use crate::error::{NodeError, Result};

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
        let verdict = circle.authorize_merge(&batch)?;
        report_refused(&id, &verdict);
        circle.apply_checked(batch, verdict)?;
        s.persist(&id)?;
        // A file is as good a way to receive a proposal as a peer.
        s.write_receipts(&id);
        return Ok(id);
    }
    let mut verdict = Circle::empty(&id, s.identity.actor()).authorize_merge(&batch)?;
    report_refused(&id, &verdict);
    let circle = if verdict.refused().is_empty() {
        // The fast path: every document loads as saved.
        let mut circle = incoming;
        for d in docs.iter().skip(1) {
            circle.attach(&d.key, &d.bytes)?;
            // Attached bytes are not yet in this store: mark them unsaved.
            circle.mark_saved(&d.key, Vec::new());
        }
        circle.keep_signatures(&mut verdict);
        circle
    } else {
        let mut circle = Circle::empty(&id, s.identity.actor());
        circle.apply_checked(batch, verdict)?;
        circle
    };
    let device = s.identity.device();
    if !circle.membership().is_current_device(&device) {
        return Err(NodeError::Core(CoreError::State(format!(
            "this device is not a member of circle `{}` ({id}), so it cannot hold it: ask a \
             member to run `grove member admit {device} --name <your name>`, then export \
             the circle again; nothing was imported",
            circle.info()?.name
        ))));
    }
    s.adopt(circle)?;
    s.write_receipts(&id);
    Ok(id)
}

fn report_refused(circle: &str, verdict: &grove_core::Authorized) {
    if let Some(first) = verdict.refused().first() {
        warn!(
            circle,
            refused = verdict.refused().len(),
            first = %first.reason,
            "left out changes the circle's rules forbid"
        );
    }
}
