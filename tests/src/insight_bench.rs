//! `grove-bench --insight`: search, related, vitality and tensions times over a demo circle,
//! and what tensions and vitality cost again after one new decision (target: < 20 ms each).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use grove_node::core::{DecisionFilter, NewDecision};
use grove_node::search::SearchQuery;
use grove_node::Node;

use super::median;

/// New decisions logged one by one, each followed by tensions and vitality.
const AFTER_ONE: usize = 11;
/// What tensions and vitality may cost after one new decision (issue 15).
const TARGET_MS: f64 = 20.0;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Logs new decisions one at a time, like a member logging one, each followed by tensions
/// and vitality as the window asks for them after a change; prints the medians.
async fn after_one(
    c: &grove_node::CircleHandle,
    some: &[std::sync::Arc<grove_node::core::Decision>],
    n: usize,
    where_: &str,
) -> Result<()> {
    let mut after_t = Vec::new();
    let mut after_v = Vec::new();
    for (i, d) in some.iter().cycle().take(AFTER_ONE).enumerate() {
        c.log_decision(NewDecision {
            team: d.team.clone(),
            principles: d.principles.clone(),
            context: format!("{} (again, {i})", d.context),
            choice: d.choice.clone(),
            situation: d.situation.clone(),
            ..Default::default()
        })
        .await?;
        let t = Instant::now();
        c.tensions().await?;
        after_t.push(ms(t));
        let t = Instant::now();
        c.vitality(Some(30)).await?;
        after_v.push(ms(t));
    }
    let slowest = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
    println!(
        "| tensions after one new decision{where_} (median / slowest of {AFTER_ONE}; target {TARGET_MS} ms) | {n} | {:.1} / {:.1} ms |",
        median(after_t.clone()),
        slowest(&after_t)
    );
    println!(
        "| vitality after one new decision{where_} (median / slowest of {AFTER_ONE}; target {TARGET_MS} ms) | {n} | {:.1} / {:.1} ms |",
        median(after_v.clone()),
        slowest(&after_v)
    );
    Ok(())
}

fn c_now() -> grove_node::core::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    grove_node::core::Timestamp(ms)
}

/// Seeds `home` with a demo circle of `n` decisions. With `GROVE_BENCH_SEEDS=DIR`, the
/// seeded home is kept in DIR and copied on later runs (seeding 100,000 takes minutes):
/// for comparing builds on the same data, not for figures of the seeding itself.
fn seeded(home: &Path, n: usize) -> Result<()> {
    let Some(dir) = std::env::var_os("GROVE_BENCH_SEEDS") else {
        return super::seed(home, n);
    };
    let kept = Path::new(&dir).join(format!("insight-{n}"));
    if !kept.exists() {
        let fresh = Path::new(&dir).join(format!("insight-{n}.part"));
        std::fs::create_dir_all(&fresh)?;
        super::seed(&fresh, n)?;
        std::fs::rename(&fresh, &kept)?;
    }
    copy_dir(&kept, home)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

pub fn run(sizes: &[usize]) -> Result<()> {
    println!("| figure | decisions | time |");
    println!("| --- | --: | --: |");
    for &n in sizes {
        let home = tempfile::tempdir()?;
        seeded(home.path(), n)?;
        let rt = super::runtime()?;
        rt.block_on(async {
            let node = Node::builder().home(home.path()).spawn()?;
            let c = node.circle(None);
            // The first query loads every month and builds the index from the log.
            let t = Instant::now();
            c.search(SearchQuery {
                text: "landlord".into(),
                ..Default::default()
            })
            .await?;
            println!("| search index built from the log (cold, incl. loading every month) | {n} | {:.0} ms |", ms(t));
            let queries = [
                "rent increase",
                "landlord repairs eviction",
                "\"food bank\"",
                "volunteer meeting police",
                "press newsletter names",
            ];
            let mut times = Vec::new();
            for q in queries.iter().cycle().take(25) {
                let t = Instant::now();
                c.search(SearchQuery {
                    text: q.to_string(),
                    ..Default::default()
                })
                .await?;
                times.push(ms(t));
            }
            println!("| search, top 20 ranked (warm, median of 25) | {n} | {:.1} ms |", median(times.clone()));
            println!("| search, slowest of 25 | {n} | {:.1} ms |", times.iter().cloned().fold(0.0, f64::max));
            let teams = c.teams().await?;
            let team = teams.first().map(|t| t.id.clone());
            let mut times = Vec::new();
            for q in queries.iter().cycle().take(25) {
                let t = Instant::now();
                c.search(SearchQuery {
                    text: q.to_string(),
                    kind: Some("decision".into()),
                    team: team.clone(),
                    ..Default::default()
                })
                .await?;
                times.push(ms(t));
            }
            println!("| search with kind + team filters (median of 25) | {n} | {:.1} ms |", median(times));
            let some = c.recent_decisions(DecisionFilter::default(), 25).await?;
            let mut times = Vec::new();
            for d in &some {
                let t = Instant::now();
                c.related(d.id.clone(), 10).await?;
                times.push(ms(t));
            }
            println!("| related decisions for a decision (median of 25) | {n} | {:.1} ms |", median(times));
            let mut times = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                c.vitality(Some(30)).await?;
                times.push(ms(t));
            }
            println!("| vitality, every figure and trend (warm, median of 5) | {n} | {:.0} ms |", median(times));
            let t = Instant::now();
            let tensions = c.tensions().await?;
            println!("| tensions, first (incl. similar-context scan of {} decisions) | {n} | {:.0} ms |", grove_node::search::SIMILAR_SCAN.min(n), ms(t));
            let t = Instant::now();
            c.tensions().await?;
            let evidence: usize = tensions.iter().map(|t| t.evidence.len()).sum();
            println!("| tensions, again (nothing changed) | {n} | {:.0} ms ({} tensions, {evidence} pieces of evidence) |", ms(t), tensions.len());
            after_one(&c, &some, n, "").await?;
            node.stop().await?;
            // The demo's log ends ten days before now, so the decisions above opened a new
            // month. Ten days back, the same decisions land in a month that already holds
            // a month of the log: the most a month's share of the views can cost.
            let back = grove_node::core::Timestamp(c_now().0 - 10 * grove_node::core::DAY_MS);
            let node = Node::builder().home(home.path()).clock(move || back).spawn()?;
            let c = node.circle(None);
            c.tensions().await?;
            c.vitality(Some(30)).await?;
            after_one(&c, &some, n, ", in a month of the log").await?;
            anyhow::Ok(())
        })?;
    }
    Ok(())
}
