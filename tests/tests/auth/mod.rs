//! Circles keep outsiders out: real nodes (and peers played by hand over libp2p) on
//! 127.0.0.1. An outsider learns nothing, a forged change is refused and its sender
//! dropped, a removed member's device is cut off.

use anyhow::{Context, Result};
use grove_node::core::automerge::{self, transaction::Transactable as _};
use grove_node::core::sync::{signing, Envelope};
use grove_node::core::{archive, Circle, CORE_DOC};
use grove_node::NodeEvent;
use grove_tests::harness::{
    admit, bounded, converged, copy_circle, create_circle, decision_ids, log, removal_ready,
    remove_by_proposal, TestClock, TestNode,
};

async fn nodes(dir: &tempfile::TempDir, names: &[&str]) -> Result<Vec<TestNode>> {
    let mut out = Vec::new();
    for name in names {
        out.push(TestNode::start(name, &dir.path().join(name)).await?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_who_knows_the_address_and_circle_id_gets_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["member"]).await?;
    let basics = create_circle(&n[0], "Cell").await?;
    log(&n[0], &basics, "a secret plan").await?;

    // The outsider greets with a guessed tag: a well-formed hello, so no fault yet.
    let secret = [9u8; 32];
    let outsider = played_peer_id(secret)?;
    let hello = framed(&grove_net::Frame::new(
        "grove/control",
        "hello",
        [&[3u8, 1, 0, 1][..], &[7u8; 32]].concat(),
    ));
    let mut stream = play_peer(secret, &n[0], hello).await?;
    let shared = n[0]
        .wait_for("the outsider's hello handled", |e| match e {
            NodeEvent::PeerConnected { peer, circles } if *peer == outsider => {
                Some(circles.clone())
            }
            _ => None,
        })
        .await?;
    assert!(shared.is_empty(), "no circle is shared with it: {shared:?}");
    // Its connection and hello are handled: no hello, no frame of any kind went out.
    let seen = n[0].handle.peers().await?;
    let link = seen
        .iter()
        .find(|p| p.peer == outsider && p.connected)
        .context("the member lists the outsider's connection")?;
    assert_eq!(
        link.bytes_sent, 0,
        "nothing was sent to the outsider: {link:?}"
    );
    assert!(
        link.circles.is_empty(),
        "nothing is synced with it: {link:?}"
    );

    // Naming the circle by its id in a sync frame gets it dropped.
    {
        use futures::AsyncWriteExt as _;
        let frame = framed(&grove_net::Frame::new(
            basics.circle.as_str(),
            "sync",
            vec![2, 1, 0, 0, 0],
        ));
        stream.write_all(&frame).await?;
        stream.flush().await?;
    }
    let reason = n[0]
        .wait_for("the outsider dropped", |e| match e {
            NodeEvent::PeerMisbehaved { peer, reason } if *peer == outsider => Some(reason.clone()),
            _ => None,
        })
        .await?;
    assert!(reason.contains("member device of none"), "{reason}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_announcing_a_large_frame_is_dropped_before_it_is_buffered() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["member"]).await?;
    create_circle(&n[0], "Cell").await?;
    let secret = [11u8; 32];
    let outsider = played_peer_id(secret)?;
    // The first chunk of a 200 MiB frame: a member may send one, a stranger may not.
    let first_chunk: Vec<u8> = {
        let big = grove_net::Frame::new("grove/control", "join", vec![0u8; 2 << 20]);
        let mut chunks = grove_net::wire::encode(&big)?;
        let mut chunk = chunks.next().context("a first chunk")?;
        // Announce far more than is sent: the node must refuse on the announcement.
        let total_at = 4 + 3 + "grove/control".len() + 1 + "join".len();
        chunk[total_at..total_at + 8].copy_from_slice(&(200u64 << 20).to_be_bytes());
        chunk
    };
    let _stream = play_peer(secret, &n[0], first_chunk).await?;
    let reason = n[0]
        .wait_for("the outsider dropped", |e| match e {
            NodeEvent::PeerMisbehaved { peer, reason } if *peer == outsider => Some(reason.clone()),
            _ => None,
        })
        .await?;
    assert!(reason.contains("a peer we do not know"), "{reason}");
    Ok(())
}

/// The peer id of a peer played by hand with this device key.
fn played_peer_id(secret: [u8; 32]) -> Result<String> {
    let public = ed25519_dalek::SigningKey::from_bytes(&secret).verifying_key();
    Ok(grove_net::peer_id_from_ed25519_public(*public.as_bytes())?.to_string())
}

/// A libp2p peer played by hand with a given device key: it says `frames` to `target`.
async fn play_peer(secret: [u8; 32], target: &TestNode, bytes: Vec<u8>) -> Result<libp2p::Stream> {
    use futures::{AsyncWriteExt as _, StreamExt as _};
    let keypair = grove_net::keypair_from_ed25519_secret(secret)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )?
        .with_behaviour(|_| libp2p_stream::Behaviour::new())?
        .build();
    let mut control = swarm.behaviour().new_control();
    swarm.dial(target.addr.parse::<libp2p::Multiaddr>()?)?;
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let target_peer: libp2p::PeerId = target.peer.parse()?;
    let mut stream = bounded(
        "the played peer's stream",
        control.open_stream(target_peer, grove_net::SYNC_PROTOCOL),
    )
    .await??;
    stream.write_all(&bytes).await?;
    stream.flush().await?;
    Ok(stream)
}

fn framed(frame: &grove_net::Frame) -> Vec<u8> {
    grove_net::wire::encode(frame).unwrap().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_forging_changes_under_another_members_actor_is_refused_and_dropped() -> Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["ana"]).await?;
    let basics = create_circle(&n[0], "Cell").await?;
    let circle = basics.circle.clone();
    // The forger is a real member: its device is admitted.
    let secret = [42u8; 32];
    let forger_key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let device = signing::device_hex(&forger_key);
    n[0].handle
        .circle(Some(circle.clone()))
        .admit_member(device, "Forger".into())
        .await?;

    // It writes a change under Ana's actor id and signs it with its own key.
    let export = n[0].handle.circle(Some(circle.clone())).export().await?;
    let docs = archive::decode_signed(&export)?;
    let held = Circle::from_core_bytes(&docs[0].bytes, automerge::ActorId::random())?;
    let first_key = held.circle_key_ids().into_iter().next().context("a key")?;
    let key = held.circle_key_by_id(&first_key).context("the key")?;
    let ana_device = n[0].handle.me().await?.device;
    let ana_actor =
        automerge::ActorId::from(data_encoding::HEXLOWER.decode(ana_device.as_bytes())?);
    let mut doc = automerge::Automerge::load(&docs[0].bytes)?.with_actor(ana_actor);
    let before = doc.get_heads();
    {
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, "forged", "Ana never wrote this")?;
        tx.commit();
    }
    let forged = doc.get_changes(&before);
    let hash = forged[0].hash();
    let message = {
        use automerge::sync::SyncDoc as _;
        let mut state = automerge::sync::State::new();
        let m = doc.generate_sync_message(&mut state).context("a message")?;
        signing::with_changes(m, &forged)
    };
    let sync = Envelope::Sync {
        doc: CORE_DOC.into(),
        message,
        signatures: vec![(hash, signing::sign_change(&forger_key, &hash))],
    }
    .encode()?;
    let me: libp2p::PeerId =
        grove_net::peer_id_from_ed25519_public(*forger_key.verifying_key().as_bytes())?;
    let ana: libp2p::PeerId = n[0].peer.parse()?;
    let tag = grove_node::core::session::circle_tag(&key, &circle, &me.to_bytes(), &ana.to_bytes());
    let mut bytes = framed(&grove_net::Frame::new(
        "grove/control",
        "hello",
        [&[3u8, 1, 0, 1][..], &tag].concat(),
    ));
    bytes.extend(framed(&grove_net::Frame::new(
        circle.as_str(),
        "sync",
        sync,
    )));
    let _stream = play_peer(secret, &n[0], bytes).await?;
    let reason = n[0]
        .wait_for("the forger dropped", |e| match e {
            NodeEvent::PeerMisbehaved { peer, reason } if *peer == me.to_string() => {
                Some(reason.clone())
            }
            _ => None,
        })
        .await?;
    assert!(
        reason.contains("not authorised") && reason.contains("does not verify"),
        "{reason}"
    );
    let heads = n[0].heads(&circle).await?;
    assert!(
        !heads[CORE_DOC].contains(&hash.to_string()),
        "the forged change was not applied"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_members_device_is_refused_and_its_new_changes_go_nowhere() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["a", "b", "c"]).await?;
    let basics = create_circle(&n[0], "Cell").await?;
    let circle = basics.circle.clone();
    copy_circle(&n[0], &n[1], &circle).await?;
    copy_circle(&n[0], &n[2], &circle).await?;
    let a_addr = n[0].addr.clone();
    n[1].handle.dial(&a_addr).await?;
    n[2].handle.dial(&a_addr).await?;
    let before = log(&n[1], &basics, "b, while a member").await?;
    converged(&circle, &[&n[0], &n[1], &n[2]]).await?;

    // The circle removes b (a and c consent, a passes): a drops b's connection.
    let b_peer = n[1].peer.clone();
    let b_member = n[1].handle.me().await?.member;
    remove_by_proposal(&n[0], &[&n[2]], &circle, &b_member).await?;
    n[0].wait_for("b disconnected", |e| match e {
        NodeEvent::PeerDisconnected { peer } if *peer == b_peer => Some(()),
        _ => None,
    })
    .await?;
    converged(&circle, &[&n[0], &n[2]]).await?;

    // b writes on regardless and dials a again: a holds the connection but serves nothing.
    let after = log(&n[1], &basics, "b, after removal").await?;
    n[1].handle.dial(&a_addr).await?;
    n[0].wait_connected(&b_peer).await?;
    let listed = n[0].handle.peers().await?;
    let link = listed
        .iter()
        .find(|p| p.peer == b_peer && p.connected)
        .context("a lists b's new connection")?;
    assert_eq!(link.bytes_sent, 0, "nothing is sent to b: {link:?}");
    assert!(
        link.circles.iter().all(|c| !c.in_sync),
        "nothing is synced with b: {link:?}"
    );
    // c, a current member, converges with a again: b's late decision is on neither.
    log(&n[2], &basics, "c, after the removal").await?;
    converged(&circle, &[&n[0], &n[2]]).await?;
    for node in [&n[0], &n[2]] {
        let ids = decision_ids(node, &circle).await?;
        assert!(ids.contains(&before), "b's earlier decision stays");
        assert!(
            !ids.contains(&after),
            "b's decision after removal never arrives"
        );
    }
    let members = n[0].handle.circle(Some(circle)).member_list().await?;
    let b = members
        .iter()
        .find(|m| m.member.id == b_member)
        .context("b is still listed")?;
    assert!(b.removed_at.is_some());
    Ok(())
}

/// The removal race: the circle removes c (a passes it) while b and c are away; c writes on, b syncs with c and
/// builds on c's late change, then meets a. a refuses c's change but not b: the link stays,
/// b drops c's change once it hears of the removal, writes its own again, and a gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_relayed_a_removed_members_change_keeps_its_link_and_its_own_changes(
) -> Result<()> {
    relayed_removal_race(false).await
}

/// The same race with a late core change by c too: b's core then differs from a's on both
/// sides, and whichever of a and b starts their exchange, a must still send b the removal
/// (it once refused c's core change and fell silent when it started, and the two never
/// converged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_relayed_a_removed_members_core_change_converges_with_the_remover(
) -> Result<()> {
    relayed_removal_race(true).await
}

async fn relayed_removal_race(core_change: bool) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TEST_LOG"))
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir()?;
    // One clock the test moves, so the pass need not wait for the second to turn.
    let clock = TestClock::default();
    let mut n = Vec::new();
    for name in ["a", "b", "c"] {
        n.push(TestNode::start_with_clock(name, &dir.path().join(name), &clock).await?);
    }
    let basics = create_circle(&n[0], "Cell").await?;
    let circle = basics.circle.clone();
    // Both admitted before either copy, so b and c know each other.
    admit(&n[0], &n[1], &circle).await?;
    admit(&n[0], &n[2], &circle).await?;
    copy_circle(&n[0], &n[1], &circle).await?;
    copy_circle(&n[0], &n[2], &circle).await?;
    let c_member = n[2].handle.me().await?.member;
    // a and b consent to removing c, whose device heard of the proposal; a passes it, and
    // neither b nor c has heard of the pass.
    let removal = removal_ready(&n[0], &[&n[1]], &[&n[2]], &circle, &c_member).await?;
    clock.advance(std::time::Duration::from_secs(2));
    n[0].handle
        .circle(Some(circle.clone()))
        .pass_proposal(removal)
        .await?;

    // c, not having heard, writes; b, not having heard either, takes it and writes on it.
    let late = log(&n[2], &basics, "c, after removal").await?;
    if core_change {
        n[2].handle
            .circle(Some(circle.clone()))
            .add_team("c's late team".into(), None)
            .await?;
    }
    let c_addr = n[2].addr.clone();
    n[1].handle.dial(&c_addr).await?;
    converged(&circle, &[&n[1], &n[2]])
        .await
        .context("b and c converge")?;
    assert!(decision_ids(&n[1], &circle).await?.contains(&late));
    let honest = log(&n[1], &basics, "b, in good faith").await?;

    // b meets a.
    let b_peer = n[1].peer.clone();
    let a_addr = n[0].addr.clone();
    n[1].handle.dial(&a_addr).await?;
    converged(&circle, &[&n[0], &n[1]])
        .await
        .context("a and b converge")?;
    for node in [&n[0], &n[1]] {
        let ids = decision_ids(node, &circle).await?;
        assert!(
            ids.contains(&honest),
            "{}: b's own decision is there",
            node.name
        );
        assert!(
            !ids.contains(&late),
            "{}: c's late decision is not",
            node.name
        );
    }
    assert!(
        n[0].connected_to(&b_peer).await?,
        "a keeps its link to b, which only relayed c's change"
    );
    // b's decision reads as b wrote it.
    let d = n[0]
        .handle
        .circle(Some(circle.clone()))
        .decision(honest.clone())
        .await?;
    assert_eq!(d.choice, "b, in good faith: what we chose.");
    Ok(())
}

/// The circle key ids `node` holds for `circle`, oldest first.
async fn key_ids(node: &TestNode, circle: &str) -> Result<Vec<String>> {
    let data = node
        .handle
        .circle(Some(circle.to_string()))
        .export()
        .await?;
    let docs = archive::decode_signed(&data)?;
    let core = docs.first().context("an export holds the core")?;
    let c = Circle::from_core_bytes(&core.bytes, automerge::ActorId::random())?;
    Ok(c.circle_key_ids())
}

/// A member leaves on their own: their node's departure reaches the others over the
/// network, who refuse the leaver's device from then on, and a remaining node makes the new
/// circle key (the leaver, who wrote the departure, must not know it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_leaves_is_dropped_and_a_remaining_node_rotates_the_key() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut n = nodes(&dir, &["a", "b"]).await?;
    let basics = create_circle(&n[0], "Cell").await?;
    let circle = basics.circle.clone();
    copy_circle(&n[0], &n[1], &circle).await?;
    let a_addr = n[0].addr.clone();
    n[1].handle.dial(&a_addr).await?;
    converged(&circle, &[&n[0], &n[1]]).await?;
    let keys_before = key_ids(&n[0], &circle).await?;

    let b_peer = n[1].peer.clone();
    let b_member = n[1].handle.circle(Some(circle.clone())).leave().await?;
    assert_eq!(
        key_ids(&n[1], &circle).await?,
        keys_before,
        "the leaver makes no key"
    );
    n[0].wait_for("b disconnected", |e| match e {
        NodeEvent::PeerDisconnected { peer } if *peer == b_peer => Some(()),
        _ => None,
    })
    .await?;
    let members = n[0]
        .handle
        .circle(Some(circle.clone()))
        .member_list()
        .await?;
    let b = members
        .iter()
        .find(|m| m.member.id == b_member)
        .context("b is still listed")?;
    assert!(b.removed_at.is_some());
    assert_eq!(b.removed_by.as_deref(), Some(b_member.as_str()));
    // The new key is written right after the departure is taken, and saved as a core
    // change of its own: wait for core changes until it is there.
    let mut keys_after = key_ids(&n[0], &circle).await?;
    while keys_after.len() <= keys_before.len() {
        n[0].wait_for("a core change", |e| match e {
            NodeEvent::CircleChanged { docs, .. } if docs.iter().any(|d| d == CORE_DOC) => Some(()),
            _ => None,
        })
        .await?;
        keys_after = key_ids(&n[0], &circle).await?;
    }
    assert_eq!(
        keys_after.len(),
        keys_before.len() + 1,
        "a made a new key on hearing of the departure: {keys_after:?}"
    );
    Ok(())
}
