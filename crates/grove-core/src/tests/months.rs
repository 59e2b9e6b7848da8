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
    assert_eq!(d.circle.decision(&id).unwrap(), *before[0]);
}

#[test]
fn the_log_listed_again_shares_its_rows_and_a_change_renews_only_its_own() {
    let mut d = Device::new_circle("ana");
    let team = add_team(&mut d, "Kitchen");
    let v = add_value(&mut d, "care");
    let p = add_principle(&mut d, &[&v], "Feed whoever comes.");
    let first = log(&mut d, &team, &[&p], Zone::Local);
    let second = log(&mut d, &team, &[&p], Zone::Local);
    let all = DecisionFilter::default();

    let once = d.circle.decisions(&all).unwrap();
    let again = d.circle.decisions(&all).unwrap();
    assert_eq!(once.len(), 2);
    for (a, b) in once.iter().zip(&again) {
        assert!(
            std::sync::Arc::ptr_eq(a, b),
            "{} was copied, not shared",
            a.id
        );
    }

    let mut ctx = Ctx::new(Timestamp(d.now), "ana".to_string(), &mut d.rng);
    d.circle.mark_read(&mut ctx, &first).unwrap();
    let after = d.circle.decisions(&all).unwrap();
    let row = |list: &[std::sync::Arc<crate::Decision>], id: &str| {
        list.iter().find(|x| x.id == id).cloned().unwrap()
    };
    assert!(
        !std::sync::Arc::ptr_eq(&row(&once, &first), &row(&after, &first)),
        "the decision read is read again"
    );
    assert_eq!(row(&after, &first).readers.len(), 1);
    assert!(
        row(&once, &first).readers.is_empty(),
        "a listed row never changes"
    );
    assert!(
        std::sync::Arc::ptr_eq(&row(&once, &second), &row(&after, &second)),
        "the other decision is still the same row"
    );
}
