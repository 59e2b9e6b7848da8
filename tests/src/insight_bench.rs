//! `grove-bench --insight`: search, related and vitality times over a demo circle.

use std::time::Instant;

use anyhow::Result;
use grove_node::core::DecisionFilter;
use grove_node::search::SearchQuery;
use grove_node::Node;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub fn run(sizes: &[usize]) -> Result<()> {
    println!("| figure | decisions | time |");
    println!("| --- | --: | --: |");
    for &n in sizes {
        let home = tempfile::tempdir()?;
        super::seed(home.path(), n)?;
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
            println!("| tensions, again (similar pairs cached by heads) | {n} | {:.0} ms ({} tensions) |", ms(t), tensions.len());
            anyhow::Ok(())
        })?;
    }
    Ok(())
}
