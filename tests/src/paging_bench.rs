//! `grove-bench --paging`: the desktop log's calls through the node alone, each in a fresh
//! process (this binary with `paging-cold HOME`): the first screen, the exact total, pages
//! across the whole log and the principles' citation counts, with the process's memory.
//! Run twice on one home: the first run counts every month and stores its tally, the
//! second counts from the tallies (see `crates/grove-node/src/months.rs`).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use grove_node::core::DecisionFilter;
use grove_node::Node;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

pub fn run(sizes: &[usize]) -> Result<()> {
    println!(
        "| figure | decisions | first run (counts every month) | second run (tallies) | limit |"
    );
    println!("| --- | --: | --: | --: | --: |");
    for &n in sizes {
        let home = tempfile::tempdir()?;
        super::seed(home.path(), n)?;
        let limit = super::automerge_limit(n)?;
        let first = child(home.path())?;
        let second = child(home.path())?;
        let rows = [
            ("first screen (50 rows), cold", 0, " ms", ""),
            (
                "exact total of the log, cold",
                1,
                " ms",
                "single-document load",
            ),
            ("pages at 25/50/75/100% of the log, slowest", 2, " ms", ""),
            ("principles with citation counts", 3, " ms", ""),
            ("RSS after all of the above", 4, " MB", "300 MB (desktop)"),
            ("peak RSS", 5, " MB", ""),
        ];
        for (what, i, unit, lim) in rows {
            let lim = match lim {
                "single-document load" => format!(
                    "{:.0} ms (load whole doc, median of {})",
                    limit.load_ms,
                    super::RUNS
                ),
                other => other.to_string(),
            };
            println!(
                "| {what} | {n} | {:.0}{unit} | {:.0}{unit} | {lim} |",
                first[i], second[i]
            );
        }
    }
    Ok(())
}

fn child(home: &Path) -> Result<Vec<f64>> {
    let nums = super::child_figures("paging-cold", home)?;
    if nums.len() != 6 {
        bail!("paging-cold printed {nums:?}");
    }
    Ok(nums)
}

/// In a fresh process: what the desktop's log and values views ask of the node.
pub fn cold(home: &Path) -> Result<()> {
    let rt = super::runtime()?;
    let figures = rt.block_on(async {
        let node = Node::builder().home(home).spawn()?;
        let c = node.circle(None);
        let all = DecisionFilter::default;
        let t = Instant::now();
        c.decision_page(all(), 0, 50, false).await?;
        let first = ms(t);
        let t = Instant::now();
        let total = c.decision_page(all(), 0, 50, true).await?.total;
        let exact = ms(t);
        let mut slowest: f64 = 0.0;
        for quarter in 1..=4 {
            let t = Instant::now();
            let offset = (total * quarter / 4).saturating_sub(50);
            let page = c.decision_page(all(), offset, 50, true).await?;
            slowest = slowest.max(ms(t));
            if page.rows.is_empty() {
                bail!("no rows at {offset} of {total}");
            }
        }
        let t = Instant::now();
        c.principles().await?;
        let principles = ms(t);
        node.stop().await?;
        anyhow::Ok([first, exact, slowest, principles])
    })?;
    let [first, exact, slowest, principles] = figures;
    println!(
        "{first} {exact} {slowest} {principles} {} {}",
        super::mem_mb("VmRSS:"),
        super::mem_mb("VmHWM:")
    );
    Ok(())
}
