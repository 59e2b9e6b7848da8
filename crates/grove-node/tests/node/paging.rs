//! The log's pages: a window of the filtered, ordered log, on a real sled home reopened
//! cold so the first page really comes from the newest months alone.

use std::borrow::Borrow;
use std::sync::Arc;

use grove_node::core::{Decision, DecisionFilter};
use grove_node::{Node, NodeHandle};

async fn open(home: &std::path::Path) -> NodeHandle {
    Node::builder().home(home).start().await.unwrap()
}

fn ids<D: Borrow<Decision>>(ds: &[D]) -> Vec<&str> {
    ds.iter().map(|d| d.borrow().id.as_str()).collect()
}

/// A demo circle of 600 decisions over several months in `home`, and its whole log as the
/// node that made it (never reopened) lists it; the node is stopped.
async fn seeded_and_listed(home: &std::path::Path) -> Vec<Arc<Decision>> {
    let node = open(home).await;
    grove_demo::seed(&node, "Bakery".into(), 600).await.unwrap();
    let all = node
        .circle(None)
        .decisions(DecisionFilter::default(), None)
        .await
        .unwrap();
    node.stop().await.unwrap();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_windows_of_the_filtered_log_and_the_first_is_cold() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path()).await;
    grove_demo::seed(&node, "Bakery".into(), 600).await.unwrap();
    node.stop().await.unwrap();

    let node = open(dir.path()).await;
    let c = node.circle(None);
    let first = c
        .decision_page(DecisionFilter::default(), 0, 20, false)
        .await
        .unwrap();
    assert_eq!(first.rows.len(), 20, "a full first screen");
    assert!(
        !first.complete && first.total < 600,
        "a cold first page must not load every month (counted {})",
        first.total
    );

    let all = c.decisions(DecisionFilter::default(), None).await.unwrap();
    assert_eq!(all.len(), 600);
    assert_eq!(ids(&first.rows), ids(&all[..20]), "the newest twenty");

    let whole = c
        .decision_page(DecisionFilter::default(), 590, 20, true)
        .await
        .unwrap();
    assert!(whole.complete);
    assert_eq!(whole.total, 600);
    assert_eq!(ids(&whole.rows), ids(&all[590..]), "the last page is short");
    let me = node.me().await.unwrap().member;
    let unread = all
        .iter()
        .filter(|d| !d.readers.iter().any(|r| r.member == me))
        .count();
    assert_eq!(whole.unread, unread);

    // A window that spans a month boundary is contiguous.
    let boundary = all
        .windows(2)
        .position(|w| w[0].created_at.period() != w[1].created_at.period())
        .unwrap();
    let across = c
        .decision_page(DecisionFilter::default(), boundary - 2, 5, false)
        .await
        .unwrap();
    assert_eq!(ids(&across.rows), ids(&all[boundary - 2..boundary + 3]));

    // Filters apply before the window: a team's log, paged.
    let team = all[0].team.clone();
    let filter = DecisionFilter {
        team: Some(team.clone()),
        ..Default::default()
    };
    let mine: Vec<&Arc<Decision>> = all.iter().filter(|d| d.team == team).collect();
    let page = c.decision_page(filter, 10, 7, false).await.unwrap();
    assert!(page.complete, "every month is in memory now");
    assert_eq!(page.total, mine.len());
    let want: Vec<&str> = mine[10..17].iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids(&page.rows), want);

    // Past the end: no rows, the count still right.
    let past = c
        .decision_page(DecisionFilter::default(), 5_000, 20, false)
        .await
        .unwrap();
    assert!(past.rows.is_empty());
    assert_eq!(past.total, 600);
    node.stop().await.unwrap();
}

/// A circle's first screen is read while its core loads, on threads of their own (the
/// newest months one, the core the other): it must be the log's newest decisions, follow
/// what is written after it, and skip the months a filter rules out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_screen_read_beside_the_core_is_the_newest_and_follows_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let all = seeded_and_listed(dir.path()).await;

    // More than the newest month holds: the months read beside the core must add up.
    let newest_month = all[0].created_at.period();
    let in_newest = all
        .iter()
        .take_while(|d| d.created_at.period() == newest_month)
        .count();
    let want = in_newest + 5;
    let node = open(dir.path()).await;
    let c = node.circle(None);
    let cold = c
        .recent_decisions(DecisionFilter::default(), want)
        .await
        .unwrap();
    assert_eq!(ids(&cold), ids(&all[..want]), "the newest, in order");

    // Rows read before the month joined the circle give way to what is written after.
    let me = node.me().await.unwrap().member;
    let unread = cold
        .iter()
        .find(|d| !d.readers.iter().any(|r| r.member == me))
        .unwrap()
        .id
        .clone();
    assert!(c.mark_read(unread.clone()).await.unwrap());
    let new = c
        .log_decision(grove_node::core::NewDecision {
            team: all[0].team.clone(),
            principles: all[0].principles.clone(),
            context: "After the cold open".into(),
            choice: "Log one more".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let warm = c
        .recent_decisions(DecisionFilter::default(), want)
        .await
        .unwrap();
    assert_eq!(
        warm[0].id, new,
        "the decision logged after the open comes first"
    );
    let read = warm.iter().find(|d| d.id == unread).unwrap();
    assert!(
        read.readers.iter().any(|r| r.member == me),
        "the read shows"
    );
    node.stop().await.unwrap();

    // A filter that rules out the newest month: the first screen comes from the months
    // it leaves, cold too.
    let node = open(dir.path()).await;
    let c = node.circle(None);
    let until = all
        .iter()
        .find(|d| d.created_at.period() != newest_month)
        .unwrap()
        .created_at;
    let filter = DecisionFilter {
        until: Some(until),
        ..Default::default()
    };
    let older: Vec<&Arc<Decision>> = all.iter().filter(|d| d.created_at <= until).collect();
    let page = c.decision_page(filter, 0, 20, false).await.unwrap();
    let want: Vec<&str> = older[..20].iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids(&page.rows), want);
    node.stop().await.unwrap();
}

/// The whole log, cold: each month's decisions are read by the thread that loads it
/// (`Need::Log` in `src/state/mod.rs`). What it reads must be the log exactly as a node
/// that kept it in memory reads it, and must give way to what is written after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_log_read_as_it_loads_is_the_log_and_follows_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let all = seeded_and_listed(dir.path()).await;
    let mut months: Vec<String> = all.iter().map(|d| d.created_at.period()).collect();
    months.dedup();
    assert!(months.len() > 2, "months to load side by side: {months:?}");

    let node = open(dir.path()).await;
    let c = node.circle(None);
    let cold = c.decisions(DecisionFilter::default(), None).await.unwrap();
    assert_eq!(cold.len(), all.len());
    assert!(
        cold == all,
        "every decision, field for field, in the same order"
    );

    // A result on the oldest decision and a new one: the rows read as the months loaded
    // give way to both.
    let oldest = all[all.len() - 1].id.clone();
    c.record_result(
        oldest.clone(),
        "Worked".into(),
        grove_node::core::Outcome::Worked,
    )
    .await
    .unwrap();
    let new = c
        .log_decision(grove_node::core::NewDecision {
            team: all[0].team.clone(),
            principles: all[0].principles.clone(),
            context: "After the cold read".into(),
            choice: "Log one more".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let after = c.decisions(DecisionFilter::default(), None).await.unwrap();
    assert_eq!(after.len(), all.len() + 1);
    assert_eq!(after[0].id, new, "the new decision comes first");
    let resulted = after.iter().find(|d| d.id == oldest).unwrap();
    assert_eq!(
        resulted.result.as_ref().map(|r| r.text.as_str()),
        Some("Worked"),
        "the result shows"
    );
    node.stop().await.unwrap();
}
