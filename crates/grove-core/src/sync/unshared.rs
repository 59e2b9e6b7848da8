//! What a person means by "pending local changes": changes this device made that no peer
//! is known to hold. What a peer holds is what its sync state says both sides share (the
//! shared heads automerge keeps per peer and document, saved by the node).

use std::collections::BTreeSet;

use automerge::{ActorId, Automerge, ChangeHash};

/// How many of `actor`'s changes in `doc` lie outside the history of every peer's shared
/// heads (`peers`, one list of heads per peer that ever synced the document). With no peer,
/// every change `actor` made.
pub fn unshared_changes(doc: &Automerge, actor: &ActorId, peers: &[Vec<ChangeHash>]) -> usize {
    // The changes after `heads` that `actor` made.
    let mine_after = |heads: &[ChangeHash]| -> BTreeSet<ChangeHash> {
        doc.get_changes_meta(heads)
            .into_iter()
            .filter(|c| c.actor.as_ref() == actor)
            .map(|c| c.hash)
            .collect()
    };
    let Some((first, rest)) = peers.split_first() else {
        return mine_after(&[]).len();
    };
    let mut pending = mine_after(first);
    for heads in rest {
        if pending.is_empty() {
            break;
        }
        let missing = mine_after(heads);
        pending.retain(|h| missing.contains(h));
    }
    pending.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{transaction::Transactable, ROOT};

    fn change(doc: &mut Automerge, key: &str) {
        let mut tx = doc.transaction();
        tx.put(ROOT, key, 1).unwrap();
        tx.commit();
    }

    #[test]
    fn counts_only_own_changes_no_peer_holds() {
        let me = ActorId::from(b"me".as_slice());
        let mut doc = Automerge::new().with_actor(me.clone());
        change(&mut doc, "a");
        change(&mut doc, "b");
        assert_eq!(unshared_changes(&doc, &me, &[]), 2, "no peer: all of mine");

        // A peer's change merged here is not ours to send.
        let mut theirs = doc.fork().with_actor(ActorId::from(b"them".as_slice()));
        change(&mut theirs, "c");
        doc.merge(&mut theirs).unwrap();
        assert_eq!(unshared_changes(&doc, &me, &[]), 2);

        let after_b = theirs.get_heads();
        change(&mut doc, "d");
        // One peer holds up to its change "c" (and so "a" and "b"); another holds nothing.
        assert_eq!(
            unshared_changes(&doc, &me, std::slice::from_ref(&after_b)),
            1
        );
        assert_eq!(
            unshared_changes(&doc, &me, &[vec![], after_b]),
            1,
            "a change is pending only if no peer has it"
        );
        assert_eq!(unshared_changes(&doc, &me, &[doc.get_heads(), vec![]]), 0);
    }
}
