//! Start, connect, kill and restart real Grove nodes; wait on their events with bounded
//! timeouts so a failure fails instead of hanging.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use grove_node::{Node, NodeEvent, NodeHandle};
use tokio::sync::broadcast;

/// How long any single wait may take before the test fails. Generous: debug builds on two
/// shared cores are slow, and a bound only has to turn a hang into a failure.
pub const WAIT: Duration = Duration::from_secs(90);

/// A running node.
pub struct TestNode {
    pub name: String,
    pub home: PathBuf,
    pub handle: NodeHandle,
    events: broadcast::Receiver<NodeEvent>,
    /// This node's peer id.
    pub peer: String,
    /// An address to dial it at (loopback TCP, ending in /p2p/<peer>).
    pub addr: String,
    runtime: Option<tokio::runtime::Runtime>,
}

/// A clock a test moves by hand; it starts at the wall-clock time.
#[derive(Clone)]
pub struct TestClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl Default for TestClock {
    fn default() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        TestClock(std::sync::Arc::new(ms.into()))
    }
}

impl TestClock {
    pub fn now(&self) -> grove_node::core::Timestamp {
        grove_node::core::Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }

    pub fn advance(&self, by: Duration) {
        self.0
            .fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Runs `fut` or fails after [`WAIT`], saying what it was waiting for.
pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(WAIT, fut)
        .await
        .map_err(|_| anyhow!("still waiting for {what} after {WAIT:?}"))
}

impl TestNode {
    /// Starts a node on `home` (created if missing) with networking on loopback, mDNS off.
    pub async fn start(name: &str, home: &Path) -> Result<TestNode> {
        Self::start_with(name, home, false).await
    }

    /// Starts an always-on node (`grove serve`): also a relay and rendezvous point.
    pub async fn start_always_on(name: &str, home: &Path) -> Result<TestNode> {
        Self::start_with(name, home, true).await
    }

    /// Starts a node whose clock is `clock`, so a test can move its time (e.g. past an
    /// invite's expiry) without waiting.
    pub async fn start_with_clock(name: &str, home: &Path, clock: &TestClock) -> Result<TestNode> {
        let clock = clock.clone();
        let builder = Self::builder(home, false).clock(move || clock.now());
        Self::start_builder(name, home, builder).await
    }

    /// Starts a node listening on `listen` only (nowhere when empty: it only dials out),
    /// e.g. on a relayed address alone, so that peers can reach it through the relay only.
    /// Its `addr` is empty until it has one; read [`NodeHandle::net_info`] for later ones.
    pub async fn start_listening(name: &str, home: &Path, listen: &[String]) -> Result<TestNode> {
        let mut builder = Node::builder()
            .home(home)
            .network(true)
            .mdns(false)
            .no_listen();
        for addr in listen {
            builder = builder.listen(addr);
        }
        Self::start_builder(name, home, builder).await
    }

    async fn start_with(name: &str, home: &Path, always_on: bool) -> Result<TestNode> {
        Self::start_builder(name, home, Self::builder(home, always_on)).await
    }

    fn builder(home: &Path, always_on: bool) -> grove_node::NodeBuilder {
        Node::builder()
            .home(home)
            .network(true)
            .mdns(false)
            .always_on(always_on)
            .listen("/ip4/127.0.0.1/tcp/0")
    }

    async fn start_builder(
        name: &str,
        home: &Path,
        builder: grove_node::NodeBuilder,
    ) -> Result<TestNode> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("node-{name}"))
            .enable_all()
            .build()?;
        let handle = runtime
            .spawn(builder.start())
            .await
            .context("the node's start task failed")??;
        let events = handle.subscribe();
        let info = handle.net_info().await?;
        // Empty only for a node started to listen nowhere of its own (`start_listening`).
        let addr = info.addrs.first().cloned().unwrap_or_default();
        Ok(TestNode {
            name: name.to_string(),
            home: home.to_path_buf(),
            handle,
            events,
            peer: info.peer,
            addr,
            runtime: Some(runtime),
        })
    }

    /// Kills the node as abruptly as one process can: its runtime goes away with whatever
    /// was in flight. Returns once its store is closed, so it can be restarted.
    pub async fn kill(mut self) -> Result<PathBuf> {
        let mut events = self.handle.subscribe();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        let home = self.home.clone();
        drop(self);
        // Every sender of the node's events is gone once its state, and so its store, is.
        bounded("the killed node to close its store", async {
            loop {
                match events.recv().await {
                    Err(broadcast::error::RecvError::Closed) => return,
                    _ => continue,
                }
            }
        })
        .await?;
        Ok(home)
    }

    /// Stops the node cleanly: its event loop ends (closing the network and the store)
    /// before its runtime goes away.
    pub async fn stop(mut self) -> Result<()> {
        let mut events = self.handle.subscribe();
        let runtime = self.runtime.take();
        drop(self);
        bounded("the node to stop", async {
            while !matches!(
                events.recv().await,
                Err(broadcast::error::RecvError::Closed)
            ) {}
        })
        .await?;
        if let Some(runtime) = runtime {
            runtime.shutdown_background();
        }
        Ok(())
    }

    /// Waits for the first event `pick` accepts, skipping others.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&NodeEvent) -> Option<T>,
    ) -> Result<T> {
        let what = format!("{} to see {what}", self.name);
        let events = &mut self.events;
        bounded(&what, async {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        if let Some(found) = pick(&event) {
                            return Ok(found);
                        }
                    }
                    // Lagging only skips events; the waits below re-check state as well.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => bail!("the node stopped"),
                }
            }
        })
        .await?
    }

    /// Whether this node has a live sync connection to `peer` (hello exchanged).
    pub async fn connected_to(&self, peer: &str) -> Result<bool> {
        Ok(self
            .handle
            .peers()
            .await?
            .iter()
            .any(|p| p.peer == peer && p.connected))
    }

    /// Waits until this node is connected to `peer`, re-checking after each event.
    pub async fn wait_connected(&mut self, peer: &str) -> Result<()> {
        let what = format!("{} to connect to {peer}", self.name);
        bounded(&what, async {
            while !self.connected_to(peer).await? {
                if let Err(broadcast::error::RecvError::Closed) = self.events.recv().await {
                    bail!("the node stopped");
                }
            }
            Ok(())
        })
        .await?
    }

    /// Payload bytes received from `peer` on the current connection.
    pub async fn bytes_from(&self, peer: &str) -> Result<u64> {
        Ok(self
            .handle
            .peers()
            .await?
            .into_iter()
            .find(|p| p.peer == peer && p.connected)
            .map(|p| p.bytes_received)
            .unwrap_or(0))
    }

    /// Every document of `circle` with its heads.
    pub async fn heads(&self, circle: &str) -> Result<BTreeMap<String, Vec<String>>> {
        Ok(self
            .handle
            .circle(Some(circle.to_string()))
            .doc_heads()
            .await?)
    }
}

/// Waits until every node holds `circle` with exactly the same documents and heads.
/// Re-checks after any event on any of them, so it never misses the moment.
pub async fn converged(circle: &str, nodes: &[&TestNode]) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    let forwarders: Vec<tokio::task::JoinHandle<()>> = nodes
        .iter()
        .map(|n| {
            let mut events = n.handle.subscribe();
            let tx = tx.clone();
            tokio::spawn(async move {
                while !matches!(
                    events.recv().await,
                    Err(broadcast::error::RecvError::Closed)
                ) {
                    let _ = tx.try_send(());
                }
            })
        })
        .collect();
    drop(tx);
    let result = bounded(
        &format!("{circle} to converge on {} nodes", nodes.len()),
        async {
            loop {
                let first = nodes[0].heads(circle).await?;
                let mut same = true;
                for n in &nodes[1..] {
                    if n.heads(circle).await? != first {
                        same = false;
                        break;
                    }
                }
                if same {
                    return Ok(());
                }
                if rx.recv().await.is_none() {
                    bail!("every node stopped");
                }
            }
        },
    )
    .await;
    for f in forwarders {
        f.abort();
    }
    if result.is_err() {
        // Say where each node stands, so a stall can be told from slowness.
        let mut report = String::new();
        for n in nodes {
            let heads = n.heads(circle).await.unwrap_or_default();
            let docs: Vec<String> = heads
                .iter()
                .map(|(doc, h)| {
                    format!(
                        "{doc}:{}",
                        h.iter().map(|x| &x[..6]).collect::<Vec<_>>().join("+")
                    )
                })
                .collect();
            let peers: Vec<String> = n
                .handle
                .peers()
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.connected)
                .map(|p| {
                    let synced = p.circles.iter().filter(|c| c.in_sync).count();
                    format!(
                        "{}(in sync {synced}/{})",
                        &p.peer[p.peer.len().saturating_sub(6)..],
                        p.circles.len()
                    )
                })
                .collect();
            report.push_str(&format!(
                "\n  {} [{}]: {} | peers {}",
                n.name,
                &n.peer[n.peer.len().saturating_sub(6)..],
                docs.join(" "),
                peers.join(" ")
            ));
        }
        return Err(anyhow!(
            "{}{report}",
            result.err().map(|e| e.to_string()).unwrap_or_default()
        ));
    }
    result?
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What a circle needs before decisions can be logged in it.
#[derive(Debug, Clone)]
pub struct Basics {
    pub circle: String,
    pub team: String,
    pub principle: String,
}

/// Creates a circle with a value, a principle and a team on `node`.
pub async fn create_circle(node: &TestNode, name: &str) -> Result<Basics> {
    use grove_node::core::{NewPrinciple, NewValue};
    let info = node.handle.create_circle(name.to_string()).await?;
    let c = node.handle.circle(Some(info.id.clone()));
    let value = c
        .add_value(NewValue {
            title: "Care".into(),
            statement: "We look after each other.".into(),
            ..Default::default()
        })
        .await?;
    let principle = c
        .add_principle(NewPrinciple {
            values: vec![value],
            statement: "Ask before deciding for someone.".into(),
            ..Default::default()
        })
        .await?;
    let team = c.add_team("Kitchen".into(), None).await?;
    Ok(Basics {
        circle: info.id,
        team,
        principle,
    })
}

/// Logs a decision; returns its id.
pub async fn log(node: &TestNode, b: &Basics, text: &str) -> Result<String> {
    use grove_node::core::{NewDecision, Zone};
    Ok(node
        .handle
        .circle(Some(b.circle.clone()))
        .log_decision(NewDecision {
            team: b.team.clone(),
            principles: vec![b.principle.clone()],
            context: format!("{text}: the situation as it stood."),
            choice: format!("{text}: what we chose."),
            zone: Some(Zone::Local),
            ..Default::default()
        })
        .await?)
}

/// Copies the circle from `from` to `to` the way two devices get the same circle until
/// members can invite each other: export and import of the whole circle file.
pub async fn copy_circle(from: &TestNode, to: &TestNode, circle: &str) -> Result<()> {
    admit(from, to, circle).await?;
    let data = from
        .handle
        .circle(Some(circle.to_string()))
        .export()
        .await?;
    to.handle.import_circle(data).await?;
    Ok(())
}

/// The whole circle from `from` into `to`, which holds it already: export and import.
pub async fn carry(from: &TestNode, to: &TestNode, circle: &str) -> Result<()> {
    let data = from
        .handle
        .circle(Some(circle.to_string()))
        .export()
        .await?;
    to.handle.import_circle(data).await?;
    Ok(())
}

/// Removes `member` the way a circle does, since no one removes a member alone: `by` opens
/// a remove-member proposal and consents; each of `also` gets it by export and import,
/// consents and carries it back; then `by` passes it.
pub async fn remove_by_proposal(
    by: &TestNode,
    also: &[&TestNode],
    circle: &str,
    member: &str,
) -> Result<()> {
    let id = removal_ready(by, also, &[], circle, member).await?;
    by.handle
        .circle(Some(circle.to_string()))
        .pass_proposal(id)
        .await?;
    Ok(())
}

/// [`remove_by_proposal`] up to the pass, which is the caller's: each of `seen_by` (the
/// named member's device, say) also receives the open proposal, and `by` gets its receipt
/// back. Returns the proposal. A receipt written in the very second of a pass counts as
/// after it, so a caller passing at once should move the nodes' clock on first.
pub async fn removal_ready(
    by: &TestNode,
    also: &[&TestNode],
    seen_by: &[&TestNode],
    circle: &str,
    member: &str,
) -> Result<String> {
    use grove_node::core::{Answer, NewProposal, ProposalChange};
    let c = by.handle.circle(Some(circle.to_string()));
    let id = c
        .open_proposal(NewProposal {
            title: format!("Remove {member}"),
            body: String::new(),
            change: ProposalChange::RemoveMember {
                member: member.to_string(),
            },
            window_ms: None,
        })
        .await?;
    c.respond(id.clone(), Answer::Consent, None).await?;
    for other in also {
        carry(by, other, circle).await?;
        other
            .handle
            .circle(Some(circle.to_string()))
            .respond(id.clone(), Answer::Consent, None)
            .await?;
        carry(other, by, circle).await?;
    }
    for other in seen_by {
        carry(by, other, circle).await?;
        carry(other, by, circle).await?;
    }
    Ok(id)
}

/// Copies only the circle's core document, so `to` holds the circle but none of its
/// decisions: a fresh peer that must fetch the whole log by syncing.
pub async fn copy_core_only(from: &TestNode, to: &TestNode, circle: &str) -> Result<()> {
    use grove_node::core::{archive, CORE_DOC};
    admit(from, to, circle).await?;
    let data = from
        .handle
        .circle(Some(circle.to_string()))
        .export()
        .await?;
    let docs = archive::decode_signed(&data)?;
    let core: Vec<_> = docs.into_iter().filter(|d| d.key == CORE_DOC).collect();
    anyhow::ensure!(core.len() == 1, "an export holds the core document");
    to.handle.import_circle(archive::encode_docs(&core)).await?;
    Ok(())
}

/// `from` (a member) admits `to`'s device to the circle, as a member named after its
/// node; a device already admitted is left as it is.
pub async fn admit(from: &TestNode, to: &TestNode, circle: &str) -> Result<()> {
    let me = to.handle.me().await?;
    from.handle
        .circle(Some(circle.to_string()))
        .admit_member(me.device, me.name)
        .await?;
    Ok(())
}

/// Decision ids of the circle on `node`, sorted.
pub async fn decision_ids(node: &TestNode, circle: &str) -> Result<Vec<String>> {
    let mut ids: Vec<String> = node
        .handle
        .circle(Some(circle.to_string()))
        .decisions(Default::default(), None)
        .await?
        .into_iter()
        .map(|d| d.id.clone())
        .collect();
    ids.sort();
    Ok(ids)
}
