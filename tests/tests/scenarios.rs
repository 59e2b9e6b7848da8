//! Real Grove nodes syncing over libp2p on 127.0.0.1, never a mocked network. Every wait is on
//! node events and bounded, so a failure fails instead of hanging. One test binary on purpose.

use anyhow::Result;
use grove_node::NodeEvent;
use grove_tests::harness::{
    bounded, converged, copy_circle, copy_core_only, create_circle, decision_ids, log, TestClock,
    TestNode,
};
use tempfile::TempDir;

mod auth;
mod invites;
mod join_limits;
mod months;
mod relay;
mod rendezvous;

/// Node `b` hangs up on node `c`, and `c` sees it go: the two halves of a partition.
async fn cut(n: &mut [TestNode], b: usize, c: usize) -> Result<()> {
    let (b_peer, c_peer) = (n[b].peer.clone(), n[c].peer.clone());
    n[b].handle.disconnect(&c_peer).await?;
    n[c].wait_for("the other side go away", |e| match e {
        NodeEvent::PeerDisconnected { peer } if *peer == b_peer => Some(()),
        _ => None,
    })
    .await?;
    Ok(())
}

/// Nodes sharing one clock the test moves (past a consent window, say).
async fn nodes_on(dir: &TempDir, names: &[&str], clock: &TestClock) -> Result<Vec<TestNode>> {
    let mut out = Vec::new();
    for name in names {
        out.push(TestNode::start_with_clock(name, &dir.path().join(name), clock).await?);
    }
    Ok(out)
}

async fn nodes(dir: &TempDir, names: &[&str]) -> Result<Vec<TestNode>> {
    let mut out = Vec::new();
    for name in names {
        out.push(TestNode::start(name, &dir.path().join(name)).await?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge_after_concurrent_offline_edits() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["a", "b", "c"]).await?;
    let basics = create_circle(&n[0], "Tenants").await?;
    copy_circle(&n[0], &n[1], &basics.circle).await?;
    copy_circle(&n[0], &n[2], &basics.circle).await?;

    // Offline: nobody is connected yet, and each logs its own decisions.
    let mut expected = Vec::new();
    for (i, node) in n.iter().enumerate() {
        for k in 0..3 {
            expected.push(log(node, &basics, &format!("node {i} decision {k}")).await?);
        }
    }
    let c = n[2].addr.clone();
    let (a, rest) = n.split_at_mut(1);
    a[0].handle.dial(&rest[0].addr).await?;
    rest[0].handle.dial(&c).await?;

    converged(&basics.circle, &[&n[0], &n[1], &n[2]]).await?;
    expected.sort();
    for node in &n {
        assert_eq!(
            decision_ids(node, &basics.circle).await?,
            expected,
            "{} must hold every node's decisions",
            node.name
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_with_edits_on_both_sides_heals_to_identical_documents() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["a", "b", "c"]).await?;
    let basics = create_circle(&n[0], "Food bank").await?;
    copy_circle(&n[0], &n[1], &basics.circle).await?;
    copy_circle(&n[0], &n[2], &basics.circle).await?;
    let b_addr = n[1].addr.clone();
    n[0].handle.dial(&b_addr).await?;
    n[1].handle.dial(&n[2].addr).await?;
    let shared = log(&n[0], &basics, "before the split").await?;
    converged(&basics.circle, &[&n[0], &n[1], &n[2]]).await?;

    // Partition: A–B | C.
    cut(&mut n, 1, 2).await?;
    let left = log(&n[0], &basics, "left side").await?;
    let right = log(&n[2], &basics, "right side").await?;
    // Concurrent edits of the same decision on both sides must merge too. (A value would
    // not do: values change by consent in a circle of several.)
    for (node, context) in [(0, "Told on the left"), (2, "Told on the right")] {
        n[node]
            .handle
            .circle(Some(basics.circle.clone()))
            .edit_decision(
                shared.clone(),
                grove_node::core::DecisionEdit {
                    context: Some(context.into()),
                    ..Default::default()
                },
            )
            .await?;
    }
    converged(&basics.circle, &[&n[0], &n[1]]).await?;
    assert!(
        !decision_ids(&n[0], &basics.circle).await?.contains(&right),
        "the right side's decision cannot cross the partition"
    );

    // Heal.
    n[2].handle.dial(&n[0].addr).await?;
    converged(&basics.circle, &[&n[0], &n[1], &n[2]]).await?;
    for node in &n {
        let ids = decision_ids(node, &basics.circle).await?;
        assert!(
            ids.contains(&left) && ids.contains(&right),
            "{} must hold both sides' decisions after healing",
            node.name
        );
    }
    let merged = n[2]
        .handle
        .circle(Some(basics.circle.clone()))
        .decision(shared)
        .await?;
    assert_eq!(
        merged.conflicts.len(),
        1,
        "the concurrent edits are kept as one conflict for people to settle"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_sync_resumes_from_its_sled_dir_and_converges() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let n = nodes(&dir, &["a", "b"]).await?;
    let mut n = n.into_iter();
    let (a, mut b) = (n.next().unwrap(), n.next().unwrap());
    let big = grove_demo::seed(&a.handle, "Big circle".into(), 3000).await?;
    copy_core_only(&a, &b, &big.id).await?;

    b.handle.dial(&a.addr).await?;
    // Kill B as soon as the first month of decisions lands: the rest is still in flight.
    b.wait_for("the first month arrive", |e| match e {
        NodeEvent::CircleChanged { docs, .. }
            if docs.iter().any(|d| d.starts_with("decisions/")) =>
        {
            Some(())
        }
        _ => None,
    })
    .await?;
    let home = b.kill().await?;

    let b = TestNode::start("b-restarted", &home).await?;
    let partial = decision_ids(&b, &big.id).await?.len();
    assert!(
        partial < decision_ids(&a, &big.id).await?.len(),
        "the kill must have happened mid-sync ({partial} decisions had arrived)"
    );
    b.handle.dial(&a.addr).await?;
    converged(&big.id, &[&a, &b]).await?;
    assert_eq!(
        decision_ids(&b, &big.id).await?,
        decision_ids(&a, &big.id).await?
    );

    // Saved sync states: reconnecting after one new decision exchanges about that decision,
    // not the 3000 before it.
    let mut b = b;
    let a_peer = a.peer.clone();
    b.handle.disconnect(&a_peer).await?;
    b.wait_for("A go away", |e| match e {
        NodeEvent::PeerDisconnected { peer } if *peer == a_peer => Some(()),
        _ => None,
    })
    .await?;
    let basics = grove_tests::harness::Basics {
        circle: big.id.clone(),
        team: a.handle.circle(Some(big.id.clone())).teams().await?[0]
            .id
            .clone(),
        principle: a.handle.circle(Some(big.id.clone())).principles().await?[0]
            .principle
            .id
            .clone(),
    };
    log(&a, &basics, "while apart").await?;
    b.handle.dial(&a.addr).await?;
    converged(&big.id, &[&a, &b]).await?;
    let reconnect_bytes = b.bytes_from(&a.peer).await?;
    assert!(
        reconnect_bytes < 20_000,
        "a reconnect must send only what is new, got {reconnect_bytes} bytes"
    );
    Ok(())
}

/// libp2p can report a connection closed only after a newer one to the same peer is up (on a
/// half-open link, much later), so a peer can restart while it still looks connected. Two
/// homes with one identity play that without depending on timing: B's twin connects while
/// B's connection is up, then B dies and A must sync with the twin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_restarted_behind_a_connection_still_up_is_greeted_again_and_synced() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let n = nodes(&dir, &["a", "b"]).await?;
    let mut n = n.into_iter();
    let (mut a, b) = (n.next().unwrap(), n.next().unwrap());
    let basics = create_circle(&a, "Cell").await?;
    copy_circle(&a, &b, &basics.circle).await?;
    let home = b.home.clone();
    b.stop().await?;
    let twin_home = dir.path().join("b-twin");
    copy_dir(&home, &twin_home)?;
    let b = TestNode::start("b", &home).await?;
    let twin = TestNode::start("b-twin", &twin_home).await?;
    assert_eq!(b.peer, twin.peer, "the twin is B to everyone else");

    let b_peer = b.peer.clone();
    let synced_with_b = |e: &NodeEvent| match e {
        NodeEvent::PeerConnected { peer, circles } if *peer == b_peer && !circles.is_empty() => {
            Some(())
        }
        _ => None,
    };
    b.handle.dial(&a.addr).await?;
    a.wait_for("syncing with B", synced_with_b).await?;
    log(&a, &basics, "before the twin").await?;
    converged(&basics.circle, &[&a, &b]).await?;

    // The twin's fresh hello arrives over a second connection of "B": A starts over with it.
    twin.handle.dial(&a.addr).await?;
    a.wait_for("starting over with B's twin", synced_with_b)
        .await?;
    b.kill().await?;
    converged(&basics.circle, &[&a, &twin]).await?;
    log(&twin, &basics, "from the twin").await?;
    converged(&basics.circle, &[&a, &twin]).await?;
    assert_eq!(
        decision_ids(&twin, &basics.circle).await?,
        decision_ids(&a, &basics.circle).await?
    );
    Ok(())
}

/// Copies a stopped node's home (regular files only).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()))?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_always_on_nodes_address_travels_in_the_circle_and_is_dialled_on_start() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestNode::start_always_on("server", &dir.path().join("server")).await?;
    let laptop = TestNode::start("laptop", &dir.path().join("laptop")).await?;
    let basics = create_circle(&server, "Union").await?;
    copy_circle(&server, &laptop, &basics.circle).await?;
    let recorded = server.handle.announce_addresses().await?;
    assert_eq!(
        recorded,
        vec![server.addr.split("/p2p/").next().unwrap().to_string()],
        "the server records its loopback listen address"
    );

    laptop.handle.dial(&server.addr).await?;
    converged(&basics.circle, &[&server, &laptop]).await?;
    let known = laptop
        .handle
        .known_nodes(Some(basics.circle.clone()))
        .await?;
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].peer, server.peer);
    assert_eq!(known[0].addrs, recorded);

    // Restarted, the laptop finds the server by itself.
    let home = laptop.kill().await?;
    let mut laptop = TestNode::start("laptop-again", &home).await?;
    laptop.wait_connected(&server.peer).await?;
    // ...and takes a relayed address through it, for members who cannot reach it directly.
    let mut relayed = None;
    while relayed.is_none() {
        let info = laptop.handle.net_info().await?;
        relayed = info.addrs.into_iter().find(|a| a.contains("/p2p-circuit"));
        if relayed.is_none() {
            laptop
                .wait_for("a listen address", |e| {
                    matches!(e, NodeEvent::Listening { .. }).then_some(())
                })
                .await?;
        }
    }
    let relayed = relayed.unwrap_or_default();
    assert!(
        relayed.contains(&server.peer),
        "the relayed address goes through the server: {relayed}"
    );
    log(&server, &basics, "after the restart").await?;
    converged(&basics.circle, &[&server, &laptop]).await?;
    Ok(())
}

/// A libp2p peer that opens `/grove/sync/1` to `target` and writes `bytes` on it.
async fn rogue_writes(target: &TestNode, bytes: Vec<u8>) -> Result<(String, libp2p::Stream)> {
    use futures::{AsyncWriteExt as _, StreamExt as _};
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )?
        .with_behaviour(|_| libp2p_stream::Behaviour::new())?
        .build();
    let rogue = *swarm.local_peer_id();
    let mut control = swarm.behaviour().new_control();
    let target_addr: libp2p::Multiaddr = target.addr.parse()?;
    let target_peer: libp2p::PeerId = target.peer.parse()?;
    swarm.dial(target_addr)?;
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let mut stream = bounded(
        "the rogue's stream",
        control.open_stream(target_peer, grove_net::SYNC_PROTOCOL),
    )
    .await??;
    stream.write_all(&bytes).await?;
    stream.flush().await?;
    Ok((rogue.to_string(), stream))
}

/// Well-framed `/grove/sync/1` chunks carrying `frame`.
fn framed(frame: &grove_net::Frame) -> Vec<u8> {
    grove_net::wire::encode(frame).unwrap().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_sending_garbage_are_dropped_without_harming_the_others() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["a", "b"]).await?;
    let basics = create_circle(&n[0], "Garden").await?;
    copy_circle(&n[0], &n[1], &basics.circle).await?;
    let a_addr = n[0].addr.clone();
    n[1].handle.dial(&a_addr).await?;
    log(&n[1], &basics, "before the rogues").await?;
    converged(&basics.circle, &[&n[0], &n[1]]).await?;

    // Bytes that are not the wire format at all.
    let (rogue, _stream) =
        rogue_writes(&n[0], b"GET / HTTP/1.1\r\nHost: grove\r\n\r\n".to_vec()).await?;
    n[0].wait_for("the first rogue dropped", |e| match e {
        NodeEvent::PeerMisbehaved { peer, .. } if *peer == rogue => Some(()),
        _ => None,
    })
    .await?;

    // Well-framed, with a hello guessing a circle tag, then a sync frame naming the circle
    // in clear: a peer that is no member device is refused before any frame is decoded.
    let mut bytes = framed(&grove_net::Frame::new(
        "grove/control",
        "hello",
        [&[3u8, 1, 0, 1][..], &[7u8; 32]].concat(),
    ));
    bytes.extend(framed(&grove_net::Frame::new(
        basics.circle.as_str(),
        "sync",
        b"\x02\x02not an envelope".to_vec(),
    )));
    let (rogue2, _stream2) = rogue_writes(&n[0], bytes).await?;
    let reason = n[0]
        .wait_for("the second rogue dropped", |e| match e {
            NodeEvent::PeerMisbehaved { peer, reason } if *peer == rogue2 => Some(reason.clone()),
            _ => None,
        })
        .await?;
    assert!(
        reason.contains("member device of none"),
        "a non-member's sync frames are refused, got: {reason}"
    );

    // The honest peer is still served, both ways.
    let from_b = log(&n[1], &basics, "after the rogues, from b").await?;
    let from_a = log(&n[0], &basics, "after the rogues, from a").await?;
    converged(&basics.circle, &[&n[0], &n[1]]).await?;
    let ids = decision_ids(&n[0], &basics.circle).await?;
    assert!(ids.contains(&from_b) && ids.contains(&from_a));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_nodes_in_a_line_converge() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let names: Vec<String> = (0..20).map(|i| format!("n{i:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let n = nodes(&dir, &names).await?;
    let basics = create_circle(&n[0], "Line").await?;
    for node in &n[1..] {
        copy_circle(&n[0], node, &basics.circle).await?;
    }
    let mut expected = Vec::new();
    for (i, node) in n.iter().enumerate() {
        expected.push(log(node, &basics, &format!("from node {i}")).await?);
    }
    for i in 1..n.len() {
        n[i].handle.dial(&n[i - 1].addr).await?;
    }
    let all: Vec<&TestNode> = n.iter().collect();
    converged(&basics.circle, &all).await?;
    expected.sort();
    assert_eq!(decision_ids(&n[0], &basics.circle).await?, expected);
    assert_eq!(decision_ids(&n[19], &basics.circle).await?, expected);
    Ok(())
}

/// How many changes made on `node` to `circle` no peer holds yet.
async fn pending(node: &TestNode, circle: &str) -> Result<usize> {
    Ok(node
        .handle
        .circle(Some(circle.to_string()))
        .pending_changes()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_local_changes_count_while_offline_and_clear_once_a_peer_has_them() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["a", "b"]).await?;
    let basics = create_circle(&n[0], "Allotment").await?;
    copy_circle(&n[0], &n[1], &basics.circle).await?;
    // B holds a copy, but no sync has told A so: everything A wrote is still pending.
    let before = pending(&n[0], &basics.circle).await?;
    assert!(before > 0, "a circle never synced is all pending");
    assert_eq!(
        pending(&n[1], &basics.circle).await?,
        0,
        "B made no change of its own"
    );

    log(&n[0], &basics, "offline one").await?;
    log(&n[0], &basics, "offline two").await?;
    let offline = pending(&n[0], &basics.circle).await?;
    assert!(
        offline >= before + 2,
        "each decision logged offline adds a pending change ({before} -> {offline})"
    );

    let b_addr = n[1].addr.clone();
    n[0].handle.dial(&b_addr).await?;
    converged(&basics.circle, &[&n[0], &n[1]]).await?;
    let circle = basics.circle.clone();
    let a = &mut n[0];
    let what = "A's pending changes to reach 0 once B synced";
    bounded(what, async {
        while pending(a, &circle).await? > 0 {
            a.wait_for("any event", |_| Some(())).await?;
        }
        anyhow::Ok(())
    })
    .await??;

    // Apart again: a new change is pending until the peer has it, and B's memory of the
    // sync (its saved state) survives the disconnect on A's side.
    let b_peer = n[1].peer.clone();
    n[0].handle.disconnect(&b_peer).await?;
    n[0].wait_for("B go away", |e| match e {
        NodeEvent::PeerDisconnected { peer } if *peer == b_peer => Some(()),
        _ => None,
    })
    .await?;
    log(&n[0], &basics, "offline three").await?;
    let again = pending(&n[0], &basics.circle).await?;
    assert!(again > 0, "a change made after the sync waits for a peer");
    assert!(again < offline, "what B already has is not pending again");
    Ok(())
}

/// `member`'s receipt of proposal `id` as `node` sees it, once the proposal is there.
async fn receipt_of(node: &TestNode, circle: &str, id: &str, member: &str) -> Result<bool> {
    let Ok(view) = node
        .handle
        .circle(Some(circle.to_string()))
        .proposal(id.to_string())
        .await
    else {
        return Ok(false);
    };
    Ok(view.proposal.receipts.iter().any(|r| r.member == member))
}

/// Waits until `node` sees `member`'s receipt of proposal `id`, re-checking after each event.
async fn wait_receipt(node: &mut TestNode, circle: &str, id: &str, member: &str) -> Result<()> {
    let what = format!("{}'s receipt of {id} on {}", member, node.name);
    bounded(&what, async {
        while !receipt_of(node, circle, id, member).await? {
            node.wait_for("any event", |_| Some(())).await?;
        }
        anyhow::Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_that_missed_a_concurrent_objection_reads_contested_on_every_node() -> Result<()> {
    use grove_node::core::{Answer, NewProposal, ProposalChange, ProposalStatus};
    let dir = tempfile::tempdir()?;
    let clock = TestClock::default();
    let mut n = nodes_on(&dir, &["a", "b", "c"], &clock).await?;
    let basics = create_circle(&n[0], "Allotment").await?;
    let circle = basics.circle.clone();
    copy_circle(&n[0], &n[1], &circle).await?;
    copy_circle(&n[0], &n[2], &circle).await?;
    let mut members = Vec::new();
    for node in &n {
        members.push(node.handle.me().await?.member);
    }
    let b_addr = n[1].addr.clone();
    n[0].handle.dial(&b_addr).await?;
    n[1].handle.dial(&n[2].addr).await?;
    converged(&circle, &[&n[0], &n[1], &n[2]]).await?;

    // A opens a proposal with a one-hour window; each device that receives it writes its
    // member's receipt, and the receipts travel back to the proposer.
    let id = n[0]
        .handle
        .circle(Some(circle.clone()))
        .open_proposal(NewProposal {
            title: "Water the beds at dawn".into(),
            body: "Evenings lose too much to the sun.".into(),
            change: ProposalChange::General,
            window_ms: Some(3_600_000),
        })
        .await?;
    wait_receipt(&mut n[1], &circle, &id, &members[1]).await?;
    wait_receipt(&mut n[2], &circle, &id, &members[2]).await?;
    for m in &members[1..] {
        wait_receipt(&mut n[0], &circle, &id, m).await?;
    }
    converged(&circle, &[&n[0], &n[1], &n[2]]).await?;
    let c = |node: &TestNode| node.handle.circle(Some(circle.clone()));
    let seen = c(&n[0]).proposal(id.clone()).await?;
    assert_eq!(
        seen.proposal.receipts.len(),
        3,
        "{:?}",
        seen.proposal.receipts
    );
    assert_eq!(seen.proposal.window_ms, 3_600_000);

    // Partition: A–B | C.
    cut(&mut n, 1, 2).await?;

    // C objects on its side; on the other, B consents and, once every window has closed
    // (C's silence would then be consent), passes it.
    c(&n[2])
        .respond(
            id.clone(),
            Answer::Objection,
            Some("Dawn is when I walk the dog.".into()),
        )
        .await?;
    c(&n[1]).respond(id.clone(), Answer::Consent, None).await?;
    let err = c(&n[1]).pass_proposal(id.clone()).await.unwrap_err();
    assert!(err.to_string().contains("window is open"), "{err}");
    clock.advance(std::time::Duration::from_secs(2 * 3600));
    c(&n[1]).pass_proposal(id.clone()).await?;
    assert_eq!(
        c(&n[1]).proposal(id.clone()).await?.proposal.status,
        ProposalStatus::Passed
    );
    let on_c = c(&n[2]).proposal(id.clone()).await?;
    assert_eq!(on_c.proposal.status, ProposalStatus::Open);
    assert!(!on_c.round.can_pass, "C's own objection stands on C's side");
    converged(&circle, &[&n[0], &n[1]]).await?;

    // Heal: every node reads the same contested proposal, naming both sides.
    n[2].handle.dial(&n[0].addr).await?;
    converged(&circle, &[&n[0], &n[1], &n[2]]).await?;
    let views = [
        c(&n[0]).proposal(id.clone()).await?,
        c(&n[1]).proposal(id.clone()).await?,
        c(&n[2]).proposal(id.clone()).await?,
    ];
    for (node, v) in n.iter().zip(&views) {
        let p = &v.proposal;
        assert_eq!(
            p.status,
            ProposalStatus::Contested,
            "on {}: {p:?}",
            node.name
        );
        let contest = p.contest.as_ref().expect("a contested pass says why");
        assert_eq!(contest.passed_by, members[1], "on {}", node.name);
        assert_eq!(contest.unheard.len(), 1, "on {}: {contest:?}", node.name);
        assert_eq!(contest.unheard[0].member, members[2]);
        assert_eq!(contest.unheard[0].answer, Answer::Objection);
        assert_eq!(
            contest.unheard[0].reason.as_deref(),
            Some("Dawn is when I walk the dog.")
        );
        assert_eq!(p, &views[0].proposal, "{} reads it as A does", node.name);
        assert!(
            !v.round.can_pass,
            "the objection blocks it again on {}",
            node.name
        );
    }

    // Every node names the same tension for it (compared by its kind's word, so this
    // file does not depend on the enum's spelling).
    let mut tensions = Vec::new();
    for node in &n {
        let found: Vec<_> = c(node)
            .tensions()
            .await?
            .into_iter()
            .filter(|t| t.kind.as_str() == "contested" && t.subject.as_deref() == Some(&id))
            .map(|t| (t.id, t.title, t.summary, t.open))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one contested tension on {}: {found:?}",
            node.name
        );
        assert!(found[0].3, "open on {}", node.name);
        tensions.push(found);
    }
    assert!(
        tensions.iter().all(|t| *t == tensions[0]),
        "the same tension everywhere: {tensions:?}"
    );

    // The round is open again: C lifts the objection by answering again. With nothing
    // unheard left, the pass made earlier stands on every node.
    c(&n[2]).respond(id.clone(), Answer::Consent, None).await?;
    converged(&circle, &[&n[0], &n[1], &n[2]]).await?;
    let again = c(&n[0]).pass_proposal(id.clone()).await;
    assert!(
        again
            .as_ref()
            .is_err_and(|e| e.to_string().contains("is passed")),
        "nothing to pass again: {again:?}"
    );
    for node in &n {
        let p = c(node).proposal(id.clone()).await?.proposal;
        assert_eq!(p.status, ProposalStatus::Passed, "on {}: {p:?}", node.name);
        assert!(p.contest.is_none(), "on {}: {:?}", node.name, p.contest);
        let left: Vec<_> = c(node)
            .tensions()
            .await?
            .into_iter()
            .filter(|t| t.kind.as_str() == "contested" && t.open)
            .collect();
        assert!(left.is_empty(), "on {}: {left:?}", node.name);
    }
    Ok(())
}

/// Escalations live in a document of their own, out of the core: a centre-zone decision
/// logged on a member's node reaches the steward's, and the steward's answer, written just
/// after a core change the member's node may not hold when the answer arrives, reaches
/// back. Both nodes end with the same answered escalation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_raised_on_a_members_node_is_answered_on_the_stewards() -> Result<()> {
    use anyhow::Context as _;
    use grove_node::core::{EscalationStatus, NewDecision, Verdict, Zone};
    let dir = tempfile::tempdir()?;
    let n = nodes(&dir, &["steward", "member"]).await?;
    let basics = create_circle(&n[0], "Tenants").await?;
    let circle = basics.circle.clone();
    copy_circle(&n[0], &n[1], &circle).await?;
    n[0].handle.dial(&n[1].addr).await?;
    converged(&circle, &[&n[0], &n[1]]).await?;
    let c = |node: &TestNode| node.handle.circle(Some(circle.clone()));

    let decision = c(&n[1])
        .log_decision(NewDecision {
            team: basics.team.clone(),
            principles: vec![basics.principle.clone()],
            context: "A reporter called about the eviction.".into(),
            choice: "We gave an interview.".into(),
            zone: Some(Zone::CentreIntervention),
            ..Default::default()
        })
        .await?;
    converged(&circle, &[&n[0], &n[1]]).await?;
    let raised = c(&n[0])
        .escalations()
        .await?
        .into_iter()
        .find(|e| e.decision == decision)
        .context("the steward's node lists the member's escalation")?;
    assert_eq!(raised.status, EscalationStatus::Open);
    let err = c(&n[1])
        .resolve_escalation(raised.id.clone(), Verdict::Back, "Fine by me".into())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only a steward"), "{err}");

    c(&n[0]).add_team("Press".into(), None).await?;
    c(&n[0])
        .resolve_escalation(raised.id.clone(), Verdict::Back, "Right call.".into())
        .await?;
    converged(&circle, &[&n[0], &n[1]]).await?;
    for node in &n {
        let seen = c(node)
            .escalations()
            .await?
            .into_iter()
            .find(|e| e.id == raised.id)
            .context("both nodes list the escalation")?;
        assert_eq!(seen.status, EscalationStatus::Resolved, "{}", node.name);
        assert_eq!(seen.verdict, Some(Verdict::Back), "{}", node.name);
        assert_eq!(
            seen.response.as_deref(),
            Some("Right call."),
            "{}",
            node.name
        );
    }
    Ok(())
}
