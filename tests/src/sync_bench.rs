//! Sync figures: full sync to a fresh peer over loopback libp2p against the same sync through
//! automerge's sync API alone, one new decision's latency and bytes, N-node convergence.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use grove_node::core::automerge::sync::{State, SyncDoc};
use grove_node::core::automerge::Automerge;
use grove_node::core::{archive, shard_period};
use grove_node::NodeEvent;
use grove_tests::harness::{
    converged, copy_circle, copy_core_only, create_circle, log, Basics, TestNode,
};

pub struct FullSync {
    pub networked_s: f64,
    pub limit_s: f64,
    pub bytes: u64,
    pub limit_bytes: u64,
    pub incremental: Latencies,
    pub incremental_bytes: u64,
    pub limit_incremental: Latencies,
    pub limit_incremental_bytes: u64,
}

/// New decisions timed one after another on a connected pair.
pub const LATENCY_SAMPLES: usize = 21;

/// Milliseconds: the first sample, the median and the slowest.
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    pub first: f64,
    pub median: f64,
    pub slowest: f64,
}

impl Latencies {
    fn of(mut ms: Vec<f64>) -> Latencies {
        let first = ms.first().copied().unwrap_or_default();
        ms.sort_by(f64::total_cmp);
        Latencies {
            first,
            median: ms.get(ms.len() / 2).copied().unwrap_or_default(),
            slowest: ms.last().copied().unwrap_or_default(),
        }
    }
}

/// Seeds `n` decisions on A; B holds only the circle's core. Times B's sync from its dial
/// until B reports the circle in sync, then one new decision from A to B.
pub async fn full_sync(n: usize) -> Result<FullSync> {
    let dir = tempfile::tempdir()?;
    let mut a = TestNode::start("a", &dir.path().join("a")).await?;
    let mut b = TestNode::start("b", &dir.path().join("b")).await?;
    let info = grove_demo::seed(&a.handle, "Bench".into(), n).await?;
    let circle = info.id.clone();
    let first = first_sync(&mut a, &mut b, &circle).await?;
    let export = a.handle.circle(Some(circle.clone())).export().await?;
    let limit = limit_full_sync(&export)?;
    let docs: Vec<Automerge> = month_docs(&export)?
        .into_iter()
        .map(|bytes| Automerge::load(&bytes))
        .collect::<Result<_, _>>()?;
    let b_peer = b.peer.clone();

    // New decisions one at a time, each from A's call until B has it: the first after the
    // full sync (which pays for whatever a document does once after loading), then the
    // steady state a connected pair lives in.
    let before = received_from(&b, &a.peer).await?;
    let basics = basics_of(&a, &circle).await?;
    let mut latencies = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let start = Instant::now();
        let id = log(&a, &basics, &format!("one more ({i})")).await?;
        let shard = grove_node::core::decision_doc(&id)?;
        b.wait_for("the new decision", |e| match e {
            NodeEvent::CircleChanged { circle: c, docs }
                if *c == circle && docs.contains(&shard) =>
            {
                Some(())
            }
            _ => None,
        })
        .await?;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        a.wait_for("B in sync again", |e| match e {
            NodeEvent::PeerSynced { peer, circle: c } if *peer == b_peer && *c == circle => {
                Some(())
            }
            _ => None,
        })
        .await?;
    }
    let incremental = Latencies::of(latencies);
    let incremental_bytes =
        received_from(&b, &a.peer).await?.saturating_sub(before) / LATENCY_SAMPLES as u64;

    // The limit for one new decision: an established session, one change.
    let mut limits = Vec::with_capacity(LATENCY_SAMPLES);
    let mut limit_incremental_bytes = 0;
    for _ in 0..LATENCY_SAMPLES {
        let (ms, bytes) = incremental_limit(&docs)?;
        limits.push(ms);
        limit_incremental_bytes = bytes;
    }
    let limit_incremental = Latencies::of(limits);
    a.stop().await?;
    b.stop().await?;
    Ok(FullSync {
        networked_s: first.seconds,
        limit_s: limit.seconds,
        bytes: first.bytes,
        limit_bytes: limit.bytes,
        incremental,
        incremental_bytes,
        limit_incremental,
        limit_incremental_bytes,
    })
}

/// One full sync: how long it took and how many bytes the receiver got.
pub struct Transfer {
    pub seconds: f64,
    pub bytes: u64,
}

/// Gives B, which holds nothing of `circle`, its core, then times B's sync with A from its
/// dial until both report the circle in sync.
pub async fn first_sync(a: &mut TestNode, b: &mut TestNode, circle: &str) -> Result<Transfer> {
    copy_core_only(a, b, circle).await?;
    let start = Instant::now();
    b.handle.dial(&a.addr).await?;
    let a_peer = a.peer.clone();
    b.wait_for("the circle in sync with A", |e| match e {
        NodeEvent::PeerSynced { peer, circle: c } if *peer == a_peer && c == circle => Some(()),
        _ => None,
    })
    .await?;
    let seconds = start.elapsed().as_secs_f64();
    let bytes = received_from(b, &a.peer).await?;
    let b_peer = b.peer.clone();
    a.wait_for("the circle in sync with B", |e| match e {
        NodeEvent::PeerSynced { peer, circle: c } if *peer == b_peer && c == circle => Some(()),
        _ => None,
    })
    .await?;
    Ok(Transfer { seconds, bytes })
}

/// The decision months of an export, saved.
fn month_docs(export: &[u8]) -> Result<Vec<Vec<u8>>> {
    Ok(archive::decode(export)?
        .into_iter()
        .filter(|(k, _)| shard_period(k).is_some())
        .map(|(_, bytes)| bytes)
        .collect())
}

/// The in-process limit: the same month documents synced to empty documents by automerge
/// alone. One month at a time, loaded outside the clock and dropped after, so a million
/// decisions fit in memory beside the two nodes.
pub fn limit_full_sync(export: &[u8]) -> Result<Transfer> {
    let mut seconds = 0.0;
    let mut bytes = 0;
    for saved in month_docs(export)? {
        let doc = Automerge::load(&saved)?;
        let mut empty = Automerge::new();
        let start = Instant::now();
        bytes += sync_pair(&doc, &mut empty)?.0;
        seconds += start.elapsed().as_secs_f64();
    }
    Ok(Transfer { seconds, bytes })
}

async fn received_from(node: &TestNode, peer: &str) -> Result<u64> {
    Ok(node
        .handle
        .peers()
        .await?
        .into_iter()
        .find(|p| p.peer == peer && p.connected)
        .map(|p| p.bytes_received)
        .unwrap_or(0))
}

async fn basics_of(node: &TestNode, circle: &str) -> Result<Basics> {
    let c = node.handle.circle(Some(circle.to_string()));
    let team = c
        .teams()
        .await?
        .first()
        .context("demo has teams")?
        .id
        .clone();
    let principle = c
        .principles()
        .await?
        .into_iter()
        .find(|p| p.principle.status.to_string() == "active")
        .context("demo has active principles")?
        .principle
        .id;
    Ok(Basics {
        circle: circle.to_string(),
        team,
        principle,
    })
}

/// Syncs `b` to `a` through automerge's sync API until both are quiet; returns the bytes
/// exchanged and the round trips.
fn sync_pair(a: &Automerge, b: &mut Automerge) -> Result<(u64, usize)> {
    let mut a = a.clone();
    let (mut sa, mut sb) = (State::new(), State::new());
    let mut bytes = 0u64;
    let mut rounds = 0;
    loop {
        let mut quiet = true;
        if let Some(m) = a.generate_sync_message(&mut sa) {
            let encoded = m.encode();
            bytes += encoded.len() as u64;
            b.receive_sync_message(
                &mut sb,
                grove_node::core::automerge::sync::Message::decode(&encoded)?,
            )?;
            quiet = false;
        }
        if let Some(m) = b.generate_sync_message(&mut sb) {
            let encoded = m.encode();
            bytes += encoded.len() as u64;
            a.receive_sync_message(
                &mut sa,
                grove_node::core::automerge::sync::Message::decode(&encoded)?,
            )?;
            quiet = false;
        }
        if quiet {
            return Ok((bytes, rounds));
        }
        rounds += 1;
        if rounds > 1000 {
            bail!("the in-process sync did not settle");
        }
    }
}

/// One new change on the largest document, synced over an established session.
fn incremental_limit(docs: &[Automerge]) -> Result<(f64, u64)> {
    use grove_node::core::automerge::transaction::Transactable as _;
    use grove_node::core::automerge::{ObjType, ROOT};
    let Some(largest) = docs
        .iter()
        .max_by_key(|d| d.get_heads().len() + d.get_changes(&[]).len())
    else {
        return Ok((0.0, 0));
    };
    let mut a = largest.clone();
    let mut b = largest.clone();
    let (mut sa, mut sb) = (State::new(), State::new());
    // Establish the session.
    for _ in 0..10 {
        if let Some(m) = a.generate_sync_message(&mut sa) {
            b.receive_sync_message(&mut sb, m)?;
        }
        if let Some(m) = b.generate_sync_message(&mut sb) {
            a.receive_sync_message(&mut sa, m)?;
        }
    }
    a.transact::<_, _, grove_node::core::automerge::AutomergeError>(|tx| {
        let d = tx.put_object(ROOT, "d-new", ObjType::Map)?;
        for f in [
            "team",
            "context",
            "choice",
            "zone",
            "author",
            "principles",
            "status",
            "at",
        ] {
            tx.put(
                &d,
                f,
                format!("{f} of the one new decision, some words long"),
            )?;
        }
        Ok(())
    })
    .map_err(|f| anyhow::anyhow!("{:?}", f.error))?;
    let start = Instant::now();
    let mut bytes = 0u64;
    loop {
        let mut quiet = true;
        if let Some(m) = a.generate_sync_message(&mut sa) {
            let e = m.encode();
            bytes += e.len() as u64;
            b.receive_sync_message(
                &mut sb,
                grove_node::core::automerge::sync::Message::decode(&e)?,
            )?;
            quiet = false;
        }
        if let Some(m) = b.generate_sync_message(&mut sb) {
            let e = m.encode();
            bytes += e.len() as u64;
            a.receive_sync_message(
                &mut sa,
                grove_node::core::automerge::sync::Message::decode(&e)?,
            )?;
            quiet = false;
        }
        if quiet {
            break;
        }
    }
    Ok((start.elapsed().as_secs_f64() * 1000.0, bytes))
}

/// `n` nodes in a line, each with one offline decision: seconds from the first dial until
/// every node holds identical documents.
pub async fn converge_line(n: usize) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let mut nodes = Vec::new();
    for i in 0..n {
        nodes.push(TestNode::start(&format!("n{i}"), &dir.path().join(format!("n{i}"))).await?);
    }
    let basics = create_circle(&nodes[0], "Line").await?;
    for node in &nodes[1..] {
        copy_circle(&nodes[0], node, &basics.circle).await?;
    }
    for (i, node) in nodes.iter().enumerate() {
        log(node, &basics, &format!("from node {i}")).await?;
    }
    let start = Instant::now();
    for i in 1..n {
        nodes[i].handle.dial(&nodes[i - 1].addr).await?;
    }
    let all: Vec<&TestNode> = nodes.iter().collect();
    converged(&basics.circle, &all).await?;
    let secs = start.elapsed().as_secs_f64();
    for node in nodes {
        node.stop().await?;
    }
    Ok(secs)
}
