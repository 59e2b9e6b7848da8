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

/// The signatures a stopped node's store holds for the months of `circle`. The layout
/// (`sigs/<doc>/` entries of 96-byte hash and signature pairs under the circle's meta) is
/// `crates/grove-node/src/signatures.rs`'s.
fn stored_month_signatures(home: &std::path::Path, circle: &str) -> Result<usize> {
    use grove_store::Store as _;
    let store = grove_store::SledStore::open_with(home, None)?;
    let prefix = format!("{}sigs/decisions/", grove_store::circle_meta_prefix(circle));
    Ok(store
        .meta_with_prefix(&prefix)?
        .iter()
        .map(|(_, value)| value.len() / 96)
        .sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_keeps_only_the_signatures_nothing_covers_and_still_syncs_whole() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = TestClock::default();
    let a = TestNode::start_with_clock("a", &dir.path().join("a"), &clock).await?;
    let basics = create_circle(&a, "Tenants").await?;
    // Enough writes to one month for the store to compact it at least once.
    for i in 0..300 {
        log(&a, &basics, &format!("decision {i}")).await?;
    }
    a.stop().await?;
    let held = stored_month_signatures(&dir.path().join("a"), &basics.circle)?;
    assert!(
        held < 100,
        "300 decisions by one device: its newest change's signature and those written since \
         the last compaction, not one per change ({held})"
    );

    // A fresh member gets the whole month from it over the network, every change
    // authenticated, and keeps as few.
    let a = TestNode::start_with_clock("a", &dir.path().join("a"), &clock).await?;
    let c = TestNode::start_with_clock("c", &dir.path().join("c"), &clock).await?;
    grove_tests::harness::copy_core_only(&a, &c, &basics.circle).await?;
    c.handle.dial(&a.addr).await?;
    converged(&basics.circle, &[&a, &c]).await?;
    assert_eq!(
        grove_tests::harness::decision_ids(&c, &basics.circle)
            .await?
            .len(),
        300
    );
    a.stop().await?;
    c.stop().await?;
    let taken = stored_month_signatures(&dir.path().join("c"), &basics.circle)?;
    assert!(taken < 100, "the fresh member keeps as few ({taken})");
    Ok(())
}
