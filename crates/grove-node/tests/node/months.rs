//! The months of the log in memory and their tallies in the store (`src/months.rs`), on
//! real sled homes reopened cold: exact totals without loading months, a tally whose month
//! changed since is recounted, and paging lets months go yet shows the same rows.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;

use grove_node::core::{Decision, DecisionFilter};
use grove_node::{Node, NodeHandle};

fn open(home: &std::path::Path, budget: usize) -> NodeHandle {
    Node::builder()
        .home(home)
        .loaded_decisions(budget)
        .spawn()
        .unwrap()
}

fn ids<D: Borrow<Decision>>(ds: &[D]) -> Vec<&str> {
    ds.iter().map(|d| d.borrow().id.as_str()).collect()
}

const N: usize = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_totals_come_from_tallies_and_a_changed_month_is_recounted() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), 20_000);
    grove_demo::seed(&node, "Bakery".into(), N).await.unwrap();
    node.stop().await.unwrap();

    // The first exact count reads every month and keeps its tally.
    let node = open(dir.path(), 20_000);
    let c = node.circle(None);
    let all = c.decisions(DecisionFilter::default(), None).await.unwrap();
    let me = node.me().await.unwrap().member;
    let unread_of = |ds: &[Arc<Decision>]| {
        ds.iter()
            .filter(|d| !d.readers.iter().any(|r| r.member == me))
            .count()
    };
    let unread = unread_of(&all);
    assert!(unread > 1, "the demo leaves decisions unread");
    let page = c
        .decision_page(DecisionFilter::default(), 0, 20, true)
        .await
        .unwrap();
    assert_eq!((page.total, page.unread), (N, unread));
    node.stop().await.unwrap();

    // Cold: the exact total without loading any month but the page's.
    let node = open(dir.path(), 20_000);
    let c = node.circle(None);
    let page = c
        .decision_page(DecisionFilter::default(), 0, 20, false)
        .await
        .unwrap();
    assert!(page.complete, "every month has a tally");
    assert_eq!((page.total, page.unread), (N, unread));
    assert_eq!(ids(&page.rows), ids(&all[..20]));
    let mut shown: Vec<String> = page
        .rows
        .iter()
        .map(|d| format!("decisions/{}", d.created_at.period()))
        .collect();
    shown.dedup();
    shown.sort();
    assert_eq!(
        c.months_in_memory().await.unwrap(),
        shown,
        "only the page's months"
    );
    // Unread only: answered by the tallies too.
    let unread_only = DecisionFilter {
        unread_by: Some(me.clone()),
        ..Default::default()
    };
    let page = c
        .decision_page(unread_only.clone(), 0, 5, false)
        .await
        .unwrap();
    assert!(page.complete);
    assert_eq!((page.total, page.unread), (unread, unread));

    // An edit to an old month: read one of its decisions, then close before anything
    // counts it again. Its stored tally is now stale.
    let oldest_unread = all
        .iter()
        .rev()
        .find(|d| !d.readers.iter().any(|r| r.member == me))
        .unwrap();
    assert!(c.mark_read(oldest_unread.id.clone()).await.unwrap());
    node.stop().await.unwrap();

    let node = open(dir.path(), 20_000);
    let c = node.circle(None);
    let page = c
        .decision_page(DecisionFilter::default(), 0, 20, true)
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.unread),
        (N, unread - 1),
        "the changed month was counted from its document, not its old tally"
    );
    let page = c.decision_page(unread_only, 0, 5, false).await.unwrap();
    assert_eq!((page.total, page.unread), (unread - 1, unread - 1));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_lets_months_go_and_shows_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), 100);
    grove_demo::seed(&node, "Bakery".into(), N).await.unwrap();
    node.stop().await.unwrap();

    let node = open(dir.path(), 100);
    let c = node.circle(None);
    let mut paged = Vec::new();
    let mut most = 0;
    for offset in (0..N).step_by(50) {
        let page = c
            .decision_page(DecisionFilter::default(), offset, 50, true)
            .await
            .unwrap();
        assert_eq!(page.total, N);
        paged.extend(page.rows);
        most = most.max(c.months_in_memory().await.unwrap().len());
    }
    let months = node.circles().await.unwrap()[0].months;
    assert!(months > 6, "the demo spreads over a year ({months} months)");
    assert!(
        most <= 4,
        "at most the page's months and the budget's stay in memory, not {most} of {months}"
    );
    // Citation counts from the tallies, with months let go.
    let cited: HashMap<String, usize> = c
        .principles()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.principle.id, p.citations))
        .collect();
    assert!(c.months_in_memory().await.unwrap().len() <= 4);

    // Against the whole log loaded at once.
    let all = c.decisions(DecisionFilter::default(), None).await.unwrap();
    assert_eq!(c.months_in_memory().await.unwrap().len(), months);
    let all: Vec<Decision> = all.iter().map(|d| Decision::clone(d)).collect();
    assert_eq!(paged, all, "the same rows, in the same order");
    let mut expected: HashMap<String, usize> = HashMap::new();
    for d in &all {
        for p in &d.principles {
            *expected.entry(p.clone()).or_default() += 1;
        }
    }
    assert!(!expected.is_empty());
    for (p, n) in expected {
        assert_eq!(cited.get(&p), Some(&n), "citations of {p}");
    }
    node.stop().await.unwrap();
}
