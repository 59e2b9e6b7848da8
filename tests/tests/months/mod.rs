//! A month's tally kept in the store (`crates/grove-node/src/months.rs`) is never trusted
//! once a peer's changes moved the month: real nodes over loopback libp2p.

use std::time::Duration;

use anyhow::Result;
use grove_node::core::DecisionFilter;
use grove_tests::harness::{converged, copy_circle, create_circle, log, TestClock, TestNode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_a_peer_changed_is_recounted_not_taken_from_its_tally() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = TestClock::default();
    let a = TestNode::start_with_clock("a", &dir.path().join("a"), &clock).await?;
    let b = TestNode::start_with_clock("b", &dir.path().join("b"), &clock).await?;
    let basics = create_circle(&a, "Tenants").await?;
    log(&a, &basics, "old month, first").await?;
    copy_circle(&a, &b, &basics.circle).await?;
    let page = |n: &TestNode, whole: bool| {
        let c = n.handle.circle(Some(basics.circle.clone()));
        async move {
            c.decision_page(DecisionFilter::default(), 0, 20, whole)
                .await
        }
    };
    // b counts the old month and keeps its tally: one decision.
    assert_eq!(page(&b, true).await?.total, 1);

    // Apart: a adds to the old month; then, a month later, b fills a page of its own.
    log(&a, &basics, "old month, second").await?;
    clock.advance(Duration::from_secs(40 * 24 * 3600));
    for i in 0..25 {
        log(&b, &basics, &format!("new month {i}")).await?;
    }
    b.handle.dial(&a.addr).await?;
    converged(&basics.circle, &[&a, &b]).await?;
    a.stop().await?;
    b.stop().await?;

    // Cold, b's old month is off the page and its tally predates a's change.
    let b = TestNode::start_with_clock("b", &dir.path().join("b"), &clock).await?;
    let cold = page(&b, false).await?;
    assert!(!cold.complete, "a stale tally does not count");
    let exact = page(&b, true).await?;
    assert_eq!(
        exact.total, 27,
        "a's second decision in the old month counts"
    );
    let again = page(&b, false).await?;
    assert!(again.complete, "counted again, the month has a fresh tally");
    assert_eq!(again.total, 27);
    b.stop().await?;
    Ok(())
}
