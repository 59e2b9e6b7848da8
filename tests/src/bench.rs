//! Grove's bench: prints Grove's figures beside the Automerge limits of
//! docs/limits.md, measured side by side in this run. Never a timed test.
//!
//!     cargo run --release -p grove-tests --bin grove-bench -- [--only open,log,sync,converge]
//!         [--sizes 10000,100000] [--log 10000] [--sync-sizes 10000,100000] [--nodes 20]
//!
//! `--only` runs the named sections alone: `open` (seed, cold open, lists, disk), `log`
//! (logging one by one), `sync` (full and incremental sync between two nodes over loopback
//! libp2p against automerge's sync API alone), `converge` (N nodes in a line).
//!     cargo run --release -p grove-tests --bin grove-bench -- --insight [--sizes …]   (search and vitality only)
//!     cargo run --release -p grove-tests --bin grove-bench -- --paging [--sizes …]   (the desktop log's calls)
//!     cargo run --release -p grove-tests --bin grove-bench -- --only scale [--scale 1000000]
//!
//! `scale` (never run by default) seeds one circle of a million decisions and reads every
//! figure off it against its target. 150,000 takes about 5 minutes; a million did not
//! finish seeding in half an hour, for the reason BENCHMARKS.md gives ("A million
//! decisions").
//!
//! Cold opens run in a child process (this binary with `cold-open HOME`), so their memory
//! figures are those of a fresh process. The open section takes each cold figure and the
//! limit's load three times, in turn, and prints the medians; the paging section's limit
//! is the median of three loads as well.

mod insight_bench;
mod paging_bench;
mod scale_bench;

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use grove_node::core::automerge::{transaction::Transactable, Automerge, ObjType, ROOT};
use grove_node::core::{DecisionFilter, NewDecision, NewPrinciple, NewValue, Zone};
use grove_node::Node;

mod sync_bench;

fn numbers(text: &str, what: &str) -> Result<Vec<usize>> {
    text.split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{what} takes numbers separated by commas"))
}

fn main() -> Result<()> {
    // Memory is measured as the app and the CLI run (crates/grove-node/src/heaps.rs).
    grove_node::heaps::limit();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("cold-open") {
        let home = args.get(2).context("cold-open needs a home directory")?;
        return cold_open(Path::new(home));
    }
    if args.get(1).map(String::as_str) == Some("search") {
        let home = args.get(2).context("search needs a home directory")?;
        return scale_bench::search(Path::new(home));
    }
    if args.get(1).map(String::as_str) == Some("paging-cold") {
        let home = args.get(2).context("paging-cold needs a home directory")?;
        return paging_bench::cold(Path::new(home));
    }
    if args.iter().any(|a| a == "--paging") {
        let sizes = numbers(
            &flag(&args, "--sizes").unwrap_or_else(|| "10000,100000".into()),
            "--sizes",
        )?;
        return paging_bench::run(&sizes);
    }
    if args.iter().any(|a| a == "--insight") {
        let sizes = numbers(
            &flag(&args, "--sizes").unwrap_or_else(|| "10000,100000".into()),
            "--sizes",
        )?;
        return insight_bench::run(&sizes);
    }
    let only = flag(&args, "--only").unwrap_or_else(|| "open,log,sync,converge".into());
    let run = |section: &str| only.split(',').any(|s| s.trim() == section);
    let sizes = if run("open") {
        numbers(
            &flag(&args, "--sizes").unwrap_or_else(|| "10000,100000".into()),
            "--sizes",
        )?
    } else {
        Vec::new()
    };
    let log_n: usize = if run("log") {
        flag(&args, "--log")
            .map(|s| s.parse())
            .transpose()
            .context("--log takes a number")?
            .unwrap_or(10_000)
    } else {
        0
    };
    let sync_sizes = if run("sync") {
        numbers(
            &flag(&args, "--sync-sizes").unwrap_or_else(|| "10000,100000".into()),
            "--sync-sizes",
        )?
    } else {
        Vec::new()
    };
    if run("scale") {
        let n = flag(&args, "--scale")
            .map(|s| s.parse())
            .transpose()
            .context("--scale takes a number")?
            .unwrap_or(1_000_000);
        scale_bench::run(n)?;
        if only.split(',').count() == 1 {
            return Ok(());
        }
    }
    let converge_n: usize = if run("converge") {
        flag(&args, "--nodes")
            .map(|s| s.parse())
            .transpose()
            .context("--nodes takes a number")?
            .unwrap_or(20)
    } else {
        0
    };

    println!(
        "Grove bench — {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!();
    println!("| figure | decisions | Grove | limit (Automerge alone) | ratio |");
    println!("| --- | --: | --: | --: | --: |");
    if log_n > 0 {
        let (total, per) = log_one_by_one(log_n)?;
        println!("| log decisions one by one (each durable before the next) | {log_n} | {total:.2} s ({per:.2} ms each) | | |");
    }
    for n in sizes {
        let home = tempfile::tempdir()?;
        let t = Instant::now();
        seed(home.path(), n)?;
        let seeded = t.elapsed().as_secs_f64();
        let disk = dir_size(home.path())?;
        let (limit, cold) = limit_beside_cold_opens(n, home.path())?;
        println!("| seed a circle (demo, one batch) | {n} | {seeded:.2} s | | |");
        println!(
            "| cold open: core + newest month, first 50 decisions (median of {RUNS}) | {n} | {:.0} ms, {:.0} MB RSS | {:.0} ms (load whole doc, median of {RUNS}) | {:.2} |",
            cold.first_page_ms, cold.rss_first_mb, limit.load_ms, cold.first_page_ms / limit.load_ms
        );
        println!(
            "| cold load of the whole log (every month, median of {RUNS}) | {n} | {:.0} ms, {:.0} MB peak RSS | {:.0} ms | {:.2} |",
            cold.full_ms, cold.peak_mb, limit.load_ms, cold.full_ms / limit.load_ms
        );
        println!(
            "| `decision list` over the whole log (warm) | {n} | {:.0} ms | | |",
            cold.list_warm_ms
        );
        println!(
            "| filtered list (one team, warm) | {n} | {:.0} ms | | |",
            cold.filtered_ms
        );
        println!(
            "| bytes on disk per decision (sled, after compaction) | {n} | {} B | {} B (saved doc) | {:.2} |",
            disk / n as u64,
            limit.bytes / n,
            (disk as f64 / n as f64) / (limit.bytes as f64 / n as f64)
        );
    }
    if !sync_sizes.is_empty() || converge_n > 0 {
        let rt = runtime()?;
        for n in sync_sizes {
            let f = rt.block_on(sync_bench::full_sync(n))?;
            println!(
                "| full sync to a fresh peer (loopback libp2p, saved to sled) | {n} | {:.2} s, {:.1} MB | {:.2} s, {:.1} MB (automerge sync API in-process) | {:.2} |",
                f.networked_s,
                f.bytes as f64 / 1e6,
                f.limit_s,
                f.limit_bytes as f64 / 1e6,
                f.networked_s / f.limit_s
            );
            let (l, m) = (f.incremental, f.limit_incremental);
            println!(
                "| one new decision reaches a synced peer (median of {samples}; first / slowest; bytes A to B) | {n} | {:.1} ms ({:.1} / {:.1}), {} B | {:.2} ms ({:.2} / {:.2}), {} B (both ways) | {:.1} |",
                l.median,
                l.first,
                l.slowest,
                f.incremental_bytes,
                m.median,
                m.first,
                m.slowest,
                f.limit_incremental_bytes,
                l.median / m.median.max(0.001),
                samples = sync_bench::LATENCY_SAMPLES,
            );
        }
        if converge_n > 0 {
            let secs = rt.block_on(sync_bench::converge_line(converge_n))?;
            println!(
                "| {converge_n} nodes in a line converge (one offline decision each) | {converge_n} nodes | {secs:.2} s | | |"
            );
        }
    }
    Ok(())
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn seed(home: &Path, n: usize) -> Result<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let node = Node::builder().home(home).spawn()?;
        grove_demo::seed(&node, "Bench".into(), n).await?;
        anyhow::Ok(())
    })?;
    // Dropping the runtime stops the event loop and closes the store before the child opens it.
    drop(rt);
    Ok(())
}

fn log_one_by_one(n: usize) -> Result<(f64, f64)> {
    let home = tempfile::tempdir()?;
    let rt = runtime()?;
    rt.block_on(async {
        let node = Node::builder().home(home.path()).spawn()?;
        node.create_circle("Log bench".into()).await?;
        let c = node.circle(None);
        let v = c
            .add_value(NewValue {
                title: "Care".into(),
                statement: "We care.".into(),
                ..Default::default()
            })
            .await?;
        let p = c
            .add_principle(NewPrinciple {
                values: vec![v],
                statement: "Care first.".into(),
                ..Default::default()
            })
            .await?;
        let team = c.add_team("Kitchen".into(), None).await?;
        let t = Instant::now();
        for i in 0..n {
            c.log_decision(NewDecision {
                team: team.clone(),
                principles: vec![p.clone()],
                context: format!("Situation number {i}: the landlord raised the rent again."),
                choice: "We organised a building meeting and wrote a collective letter.".into(),
                zone: Some(Zone::Local),
                ..Default::default()
            })
            .await?;
        }
        let total = t.elapsed().as_secs_f64();
        anyhow::Ok((total, total * 1000.0 / n as f64))
    })
}

#[derive(Clone, Copy)]
struct Cold {
    first_page_ms: f64,
    rss_first_mb: f64,
    full_ms: f64,
    list_warm_ms: f64,
    filtered_ms: f64,
    peak_mb: f64,
}

/// Runs this binary as `mode HOME` in a fresh process (so its memory figures are its own)
/// and reads the numbers it prints.
fn child_figures(mode: &str, home: &Path) -> Result<Vec<f64>> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .arg(mode)
        .arg(home)
        .output()?;
    if !out.status.success() {
        bail!("{mode} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{mode} printed {text}"))
}

fn run_cold_open(home: &Path) -> Result<Cold> {
    let nums = child_figures("cold-open", home)?;
    let [first_page_ms, rss_first_mb, full_ms, list_warm_ms, filtered_ms, peak_mb] = nums[..]
    else {
        bail!("cold-open printed {nums:?}");
    };
    Ok(Cold {
        first_page_ms,
        rss_first_mb,
        full_ms,
        list_warm_ms,
        filtered_ms,
        peak_mb,
    })
}

/// In a fresh process: open the home and show the first screen, then load everything.
fn cold_open(home: &Path) -> Result<()> {
    let t = Instant::now();
    let rt = runtime()?;
    let (first, rss_first, full, warm, filtered) = rt.block_on(async {
        let node = Node::builder().home(home).spawn()?;
        let c = node.circle(None);
        let page = c.recent_decisions(DecisionFilter::default(), 50).await?;
        let first = t.elapsed().as_secs_f64() * 1000.0;
        if page.len() != 50 {
            bail!("expected a first page of 50 decisions, got {}", page.len());
        }
        let rss_first = mem_mb("VmRSS:");
        let t2 = Instant::now();
        let all = c.decisions(DecisionFilter::default(), None).await?;
        let full = first + t2.elapsed().as_secs_f64() * 1000.0;
        let t3 = Instant::now();
        let again = c.decisions(DecisionFilter::default(), None).await?;
        let warm = t3.elapsed().as_secs_f64() * 1000.0;
        if all.len() != again.len() {
            bail!("lists disagree");
        }
        let team = all.first().map(|d| d.team.clone());
        let t4 = Instant::now();
        c.decisions(
            DecisionFilter {
                team,
                ..Default::default()
            },
            None,
        )
        .await?;
        let filtered = t4.elapsed().as_secs_f64() * 1000.0;
        anyhow::Ok((first, rss_first, full, warm, filtered))
    })?;
    println!(
        "{first} {rss_first} {full} {warm} {filtered} {}",
        mem_mb("VmHWM:")
    );
    Ok(())
}

fn mem_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

struct Limit {
    load_ms: f64,
    bytes: usize,
}

/// How many times the open section measures each cold figure and the limit beside it,
/// taking the median of each. On the shared 2-core VM one load of the limit ranged
/// 1.08-1.81 s in a day, and a single run moved the whole log's ratio by a tenth or more.
const RUNS: usize = 3;

/// The middle of `xs` (the upper one of an even count); NaN for none.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The limit's load and a cold open of `home`, taken in turn [`RUNS`] times so that the
/// machine's load weighs on both alike; each figure is the median of its runs.
fn limit_beside_cold_opens(n: usize, home: &Path) -> Result<(Limit, Cold)> {
    let doc = limit_doc(n)?;
    let mut loads = Vec::new();
    let mut colds = Vec::new();
    for _ in 0..RUNS {
        loads.push(limit_load_ms(&doc)?);
        colds.push(run_cold_open(home)?);
    }
    let of = |f: fn(&Cold) -> f64| median(colds.iter().map(f).collect());
    let cold = Cold {
        first_page_ms: of(|c| c.first_page_ms),
        rss_first_mb: of(|c| c.rss_first_mb),
        full_ms: of(|c| c.full_ms),
        list_warm_ms: of(|c| c.list_warm_ms),
        filtered_ms: of(|c| c.filtered_ms),
        peak_mb: of(|c| c.peak_mb),
    };
    let limit = Limit {
        load_ms: median(loads),
        bytes: doc.len(),
    };
    Ok((limit, cold))
}

/// The limit's document of `n` decisions saved, and the median of [`RUNS`] loads of it.
fn automerge_limit(n: usize) -> Result<Limit> {
    let doc = limit_doc(n)?;
    let loads = (0..RUNS)
        .map(|_| limit_load_ms(&doc))
        .collect::<Result<Vec<_>>>()?;
    Ok(Limit {
        load_ms: median(loads),
        bytes: doc.len(),
    })
}

/// How long Automerge takes to load `doc`, in ms.
fn limit_load_ms(doc: &[u8]) -> Result<f64> {
    let t = Instant::now();
    let loaded = Automerge::load(doc)?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    drop(loaded);
    Ok(load_ms)
}

/// The reference shape of docs/limits.md, saved: one document, a root map of decisions
/// keyed by id, each a map of 8 scalar strings (~850 B as JSON).
fn limit_doc(n: usize) -> Result<Vec<u8>> {
    let mut doc = Automerge::new();
    // Varied text, as real entries are: repeated filler would compress to nothing.
    const WORDS: &[&str] = &[
        "rent",
        "meeting",
        "tenants",
        "landlord",
        "letter",
        "food",
        "bank",
        "queue",
        "family",
        "eviction",
        "notice",
        "phone",
        "tree",
        "volunteer",
        "assembly",
        "press",
        "police",
        "venue",
        "donation",
        "legal",
        "support",
        "kitchen",
        "outreach",
        "we",
        "the",
        "a",
        "and",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut text = |len: usize| -> String {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                WORDS[(seed % WORDS.len() as u64) as usize]
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    doc.transact::<_, _, grove_node::core::automerge::AutomergeError>(|tx| {
        for i in 0..n {
            let d = tx.put_object(ROOT, format!("d-{i:08}").as_str(), ObjType::Map)?;
            for f in [
                "team",
                "author",
                "principles",
                "context",
                "choice",
                "zone",
                "result",
                "created_at",
            ] {
                tx.put(&d, f, format!("{f} {i} {}", text(16)))?;
            }
        }
        Ok(())
    })
    .map_err(|f| anyhow::anyhow!("{:?}", f.error))?;
    Ok(doc.save())
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
