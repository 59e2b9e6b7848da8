//! `grove-bench --only scale [--scale 1000000]`: one circle of a million decisions, ten
//! years of a large movement at the demo's pace (a hundred thousand a year, so its months
//! are as large as at a hundred thousand). Each figure is printed beside its target from
//! BENCHMARKS.md ("A million decisions"), and the full sync beside automerge's own sync of
//! the same documents in this run.
//!
//! The circle is seeded once and every figure is read off it: the full sync first (both
//! nodes running), then, with the nodes stopped, the disk, a cold open and search, each in
//! a fresh child process so its memory is its own.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use grove_node::search::SearchQuery;
use grove_node::Node;
use grove_tests::harness::TestNode;

use crate::sync_bench;

/// Targets of the million-decision circle (issue 15).
const COLD_OPEN_MS: f64 = 1000.0;
const COLD_OPEN_MB: f64 = 300.0;
const SEARCH_MS: f64 = 20.0;
const SYNC_RATIO: f64 = 1.5;
const DISK_PER_DECISION: f64 = 200.0;

const QUERIES: [&str; 5] = [
    "rent increase",
    "landlord repairs eviction",
    "\"food bank\"",
    "volunteer meeting police",
    "press newsletter names",
];

fn verdict(holds: bool) -> &'static str {
    if holds {
        "holds"
    } else {
        "**misses**"
    }
}

/// Where a long run stands, on stderr (a million decisions take most of an hour): the
/// phase just ended, the time since the start, and the bench's memory now and at its peak.
fn progress(start: Instant, done: &str) {
    eprintln!(
        "scale: {done} at {:.0} s; RSS {:.0} MB, peak {:.0} MB",
        start.elapsed().as_secs_f64(),
        super::mem_mb("VmRSS:"),
        super::mem_mb("VmHWM:")
    );
}

pub fn run(n: usize) -> Result<()> {
    let began = Instant::now();
    let dir = tempfile::tempdir()?;
    let home_a = dir.path().join("a");
    let rt = super::runtime()?;
    let (seeded_s, sync, limit, peak_seed_mb) = rt.block_on(async {
        let mut a = TestNode::start("a", &home_a).await?;
        let mut b = TestNode::start("b", &dir.path().join("b")).await?;
        let t = Instant::now();
        let info = grove_demo::seed(&a.handle, "Scale".into(), n).await?;
        let seeded_s = t.elapsed().as_secs_f64();
        let peak_seed_mb = super::mem_mb("VmHWM:");
        progress(began, "seeded");
        let sync = sync_bench::first_sync(&mut a, &mut b, &info.id).await?;
        progress(began, "core copied and the months synced to a fresh member");
        b.stop().await?;
        let export = a.handle.circle(Some(info.id.clone())).export().await?;
        let limit = sync_bench::limit_full_sync(&export)?;
        progress(began, "automerge's own sync timed");
        a.stop().await?;
        anyhow::Ok((seeded_s, sync, limit, peak_seed_mb))
    })?;
    drop(rt);
    let disk = super::dir_size(&home_a)? as f64 / n as f64;
    let cold = super::run_cold_open(&home_a)?;
    progress(began, "cold open measured");
    let search = run_search(&home_a)?;
    progress(began, "search measured");

    println!("| figure ({n} decisions) | Grove | target | |");
    println!("| --- | --: | --: | --- |");
    println!(
        "| seed the circle (demo, one batch; peak RSS of the bench with both nodes) | {seeded_s:.0} s, {peak_seed_mb:.0} MB | | |"
    );
    println!(
        "| cold open: core + newest month, first 50 decisions | {:.0} ms, {:.0} MB RSS | < {COLD_OPEN_MS:.0} ms, < {COLD_OPEN_MB:.0} MB | {} |",
        cold.first_page_ms,
        cold.rss_first_mb,
        verdict(cold.first_page_ms < COLD_OPEN_MS && cold.rss_first_mb < COLD_OPEN_MB)
    );
    println!(
        "| cold load of the whole log (every month) | {:.1} s, {:.0} MB peak RSS | | |",
        cold.full_ms / 1000.0,
        cold.peak_mb
    );
    println!(
        "| `decision list` over the whole log (warm) / one team | {:.0} / {:.0} ms | | |",
        cold.list_warm_ms, cold.filtered_ms
    );
    println!(
        "| search index built from the log (cold, every month loaded) | {:.1} s, {:.0} MB peak RSS | | |",
        search.build_ms / 1000.0,
        search.peak_mb
    );
    println!(
        "| search, top 20 ranked (warm, median / slowest of 25) | {:.1} / {:.1} ms | < {SEARCH_MS:.0} ms | {} |",
        search.median_ms,
        search.slowest_ms,
        verdict(search.median_ms < SEARCH_MS)
    );
    let ratio = sync.seconds / limit.seconds;
    println!(
        "| full sync to a fresh member (loopback libp2p, saved to sled) | {:.1} s, {:.0} MB; automerge alone {:.1} s, {:.0} MB | ≤ {SYNC_RATIO}× automerge | {:.2}×, {} |",
        sync.seconds,
        sync.bytes as f64 / 1e6,
        limit.seconds,
        limit.bytes as f64 / 1e6,
        ratio,
        verdict(ratio <= SYNC_RATIO)
    );
    println!(
        "| bytes on disk per decision (sled, after the sync) | {disk:.0} B | ≤ {DISK_PER_DECISION:.0} B | {} |",
        verdict(disk <= DISK_PER_DECISION)
    );
    Ok(())
}

pub struct Search {
    build_ms: f64,
    median_ms: f64,
    slowest_ms: f64,
    peak_mb: f64,
}

fn run_search(home: &Path) -> Result<Search> {
    let nums = super::child_figures("search", home)?;
    let [build_ms, median_ms, slowest_ms, peak_mb] = nums[..] else {
        bail!("search printed {nums:?}");
    };
    Ok(Search {
        build_ms,
        median_ms,
        slowest_ms,
        peak_mb,
    })
}

/// In a fresh process: the first search (which builds the index from the log), then 25
/// warm ones.
pub fn search(home: &Path) -> Result<()> {
    let rt = super::runtime()?;
    let (build, median, slowest) = rt.block_on(async {
        let node = Node::builder().home(home).spawn()?;
        let c = node.circle(None);
        let t = Instant::now();
        c.search(SearchQuery {
            text: "landlord".into(),
            ..Default::default()
        })
        .await?;
        let build = t.elapsed().as_secs_f64() * 1000.0;
        let mut times = Vec::new();
        let mut found = 0;
        for q in QUERIES.iter().cycle().take(25) {
            let t = Instant::now();
            let hits = c
                .search(SearchQuery {
                    text: q.to_string(),
                    ..Default::default()
                })
                .await?;
            found += hits.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        if found == 0 {
            bail!("no query found anything: the figures would time empty searches");
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        let slowest = times.last().copied().unwrap_or_default();
        anyhow::Ok((build, median, slowest))
    })?;
    println!("{build} {median} {slowest} {}", super::mem_mb("VmHWM:"));
    Ok(())
}
