//! The log's pages: a window of the filtered, ordered log, on a real sled home reopened
//! cold so the first page really comes from the newest months alone.

use grove_node::core::{Decision, DecisionFilter};
use grove_node::{Node, NodeHandle};

async fn open(home: &std::path::Path) -> NodeHandle {
    Node::builder().home(home).start().await.unwrap()
}

fn ids(ds: &[Decision]) -> Vec<&str> {
    ds.iter().map(|d| d.id.as_str()).collect()
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
    let mine: Vec<&Decision> = all.iter().filter(|d| d.team == team).collect();
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
