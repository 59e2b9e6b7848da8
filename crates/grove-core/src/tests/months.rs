//! Months let go of memory: never with unsaved changes, and the same rows when loaded again.

use super::*;
use crate::{circle_doc_for_month, DecisionFilter, Zone};

#[test]
fn a_month_with_unsaved_changes_is_never_unloaded() {
    let mut d = Device::new_circle("ana");
    let team = add_team(&mut d, "Kitchen");
    let v = add_value(&mut d, "care");
    let p = add_principle(&mut d, &[&v], "Feed whoever comes.");
    let id = log(&mut d, &team, &[&p], Zone::Local);
    let key = circle_doc_for_month(Timestamp(d.now));
    assert!(!d.circle.is_saved(&key));
    assert!(!d.circle.unload_shard(&key), "an unsaved month was dropped");
    assert!(d.circle.has_doc(&key));
    assert!(
        !d.circle.unload_shard(crate::CORE_DOC),
        "the core is never unloaded"
    );

    let before = d.circle.decisions(&DecisionFilter::default()).unwrap();
    let tally = d
        .circle
        .month_tally(&key["decisions/".len()..], "ana")
        .unwrap();
    assert_eq!(
        (tally.decisions, tally.unread),
        (1, 1),
        "nobody marked it read"
    );
    assert_eq!(tally.citations.get(&p), Some(&1));
    let saved = d.circle.snapshot(&key).unwrap();
    for u in d.circle.unsaved() {
        d.circle.mark_saved(&u.doc, u.heads);
    }
    assert!(d.circle.unload_shard(&key));
    assert!(!d.circle.has_doc(&key));
    assert!(d
        .circle
        .decisions(&DecisionFilter::default())
        .unwrap()
        .is_empty());
    d.circle.attach(&key, &saved).unwrap();
    assert_eq!(
        d.circle.decisions(&DecisionFilter::default()).unwrap(),
        before
    );
    assert_eq!(d.circle.decision(&id).unwrap(), before[0]);
}
