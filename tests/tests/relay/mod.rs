//! An always-on node's relay carries whole syncs, for its circles' member devices only.
//!
//! libp2p's default relay closes a circuit after 128 KiB, far less than a circle's first
//! sync: two members whose hole punch fails would never get past the first few hundred
//! decisions. And a relay that generous must serve nobody else: an outsider (a raw libp2p
//! relay client on loopback) is refused a reservation, so it can neither be reached through
//! the node nor use it to reach anyone.

use anyhow::{bail, Result};
use futures::StreamExt as _;
use grove_node::NodeEvent;
use grove_tests::harness::{
    admit, bounded, converged, copy_core_only, create_circle, decision_ids, log, TestNode,
};
use libp2p::swarm::SwarmEvent;
use libp2p::{identity::Keypair, multiaddr::Protocol, Multiaddr};

/// libp2p's default `max_circuit_bytes`.
const OLD_CIRCUIT_LIMIT: u64 = 128 * 1024;

/// Waits until `node` has a relayed address and returns it.
async fn relayed_addr(node: &mut TestNode) -> Result<String> {
    loop {
        let info = node.handle.net_info().await?;
        if let Some(addr) = info.addrs.into_iter().find(|a| a.contains("/p2p-circuit")) {
            return Ok(addr);
        }
        node.wait_for("a relayed address", |e| {
            matches!(e, NodeEvent::Listening { .. }).then_some(())
        })
        .await?;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_syncs_a_circle_larger_than_libp2ps_default_circuit_through_the_relay_alone(
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestNode::start_always_on("server", &dir.path().join("server")).await?;
    let shared = create_circle(&server, "Neighbours").await?;
    // As `grove serve` does: the relay grants reservations once it knows its address.
    server.handle.announce_addresses().await?;

    // Two members' devices that listen nowhere of their own: no direct route between them.
    let a = TestNode::start_listening("a", &dir.path().join("a"), &[]).await?;
    let b = TestNode::start_listening("b", &dir.path().join("b"), &[]).await?;
    // The server relays for them because they are member devices of a circle it holds.
    admit(&server, &a, &shared.circle).await?;
    admit(&server, &b, &shared.circle).await?;

    // A circle the server does not hold, so nothing of it can come from the server: some
    // thousands of decisions, well past the old limit. Each names a reference that does
    // not repeat, or automerge's compression would fold them into less than the limit.
    let big = create_circle(&a, "Tenants").await?;
    for i in 0..2500u64 {
        let reference: String = (1..=4u64)
            .map(|k| format!("{:016x}", (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15 ^ k)))
            .collect();
        log(&a, &big, &format!("decision {i}, ref {reference}")).await?;
    }
    copy_core_only(&a, &b, &big.circle).await?;

    // `a` becomes reachable through the server's relay, and only through it.
    let a_home = a.home.clone();
    a.stop().await?;
    let circuit = format!("{}/p2p-circuit", server.addr);
    let mut a = TestNode::start_listening("a-relayed", &a_home, &[circuit]).await?;
    let a_relayed = relayed_addr(&mut a).await?;

    b.handle.dial(&a_relayed).await?;
    converged(&big.circle, &[&a, &b]).await?;
    assert_eq!(
        decision_ids(&a, &big.circle).await?,
        decision_ids(&b, &big.circle).await?
    );
    let link = b
        .handle
        .peers()
        .await?
        .into_iter()
        .find(|p| p.peer == a.peer && p.connected);
    let Some(link) = link else {
        bail!("b is still connected to a once in sync");
    };
    let addr = link.addr.unwrap_or_default();
    assert!(
        addr.contains("/p2p-circuit"),
        "the sync ran through the relay: {addr}"
    );
    assert!(
        link.bytes_received > OLD_CIRCUIT_LIMIT,
        "the sync carried more than libp2p's default circuit allows: {} bytes",
        link.bytes_received
    );
    Ok(())
}

/// Asks `relay` for a reservation as `key` (a raw libp2p relay client) and says whether it
/// was granted: a relayed listen address appears, or the listener closes refused.
async fn reserves(key: Keypair, relay: &TestNode) -> Result<bool> {
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )?
        .with_relay_client(libp2p::noise::Config::new, libp2p::yamux::Config::default)?
        .with_behaviour(|_, relay_client| relay_client)?
        .build();
    let addr: Multiaddr = relay.addr.parse()?;
    swarm.listen_on(addr.with(Protocol::P2pCircuit))?;
    bounded("the relay's answer to a reservation", async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. }
                    if address.iter().any(|p| p == Protocol::P2pCircuit) =>
                {
                    return true
                }
                SwarmEvent::ListenerClosed { .. } => return false,
                _ => continue,
            }
        }
    })
    .await
}

/// The ed25519 public key of `key`, as a Grove device id.
fn device_of(key: &Keypair) -> Result<String> {
    let public = key.public().try_into_ed25519()?.to_bytes();
    Ok(public.iter().map(|b| format!("{b:02x}")).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_always_on_node_relays_for_member_devices_only() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestNode::start_always_on("server", &dir.path().join("server")).await?;
    let basics = create_circle(&server, "Cell").await?;
    server.handle.announce_addresses().await?;
    let member = Keypair::generate_ed25519();
    server
        .handle
        .circle(Some(basics.circle.clone()))
        .admit_member(device_of(&member)?, "Laptop".into())
        .await?;

    assert!(
        reserves(member, &server).await?,
        "a member device gets a relayed address"
    );
    assert!(
        !reserves(Keypair::generate_ed25519(), &server).await?,
        "an outsider is refused a reservation"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_reachable_only_through_the_relay_invites_a_member_of_the_relays_circles(
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestNode::start_always_on("server", &dir.path().join("server")).await?;
    let shared = create_circle(&server, "Neighbours").await?;
    server.handle.announce_addresses().await?;
    let a = TestNode::start_listening("a", &dir.path().join("a"), &[]).await?;
    let b = TestNode::start_listening("b", &dir.path().join("b"), &[]).await?;
    admit(&server, &a, &shared.circle).await?;
    admit(&server, &b, &shared.circle).await?;
    let big = create_circle(&a, "Tenants").await?;
    for i in 0..20 {
        log(&a, &big, &format!("decision {i}")).await?;
    }

    // `a` behind NAT, as far as anyone can tell: reachable through the server alone.
    let a_home = a.home.clone();
    a.stop().await?;
    let circuit = format!("{}/p2p-circuit", server.addr);
    let mut a = TestNode::start_listening("a-relayed", &a_home, &[circuit]).await?;
    relayed_addr(&mut a).await?;

    // Its invite carries the relayed address, so b (a member device of the server's
    // circle, which the relay therefore serves) joins through it.
    let invite = a
        .handle
        .circle(Some(big.circle.clone()))
        .create_invite(None, 1)
        .await?;
    bounded(
        "b to join through the relay",
        b.handle.join(&invite.code, Some("Bea".into())),
    )
    .await??;
    converged(&big.circle, &[&a, &b]).await?;
    assert_eq!(decision_ids(&b, &big.circle).await?.len(), 20);
    Ok(())
}
