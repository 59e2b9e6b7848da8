//! The rendezvous point an always-on node runs serves its circles' member devices only: an
//! outsider who dials it (a raw libp2p node on loopback, speaking the rendezvous protocol)
//! can neither register nor list the member devices registered there, under Grove's
//! namespace or any other.

use anyhow::{bail, Result};
use futures::StreamExt as _;
use grove_tests::harness::{bounded, create_circle, remove_by_proposal, TestNode};
use libp2p::rendezvous::{self, client::Event as Rv, Namespace};
use libp2p::swarm::SwarmEvent;
use libp2p::{identity::Keypair, Multiaddr, PeerId};

/// What one rendezvous client got from the point.
#[derive(Debug)]
struct Probe {
    registered: bool,
    /// Peers listed under Grove's namespace.
    found: Vec<PeerId>,
    /// Peers listed under every namespace.
    found_any: Vec<PeerId>,
}

/// Dials `point` as `key`, registers under Grove's namespace, then asks for Grove's
/// namespace and then for every namespace. Each answer, a refusal included, is awaited.
async fn probe(key: Keypair, point: &TestNode) -> Result<Probe> {
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )?
        .with_behaviour(|key| rendezvous::client::Behaviour::new(key.clone()))?
        .build();
    // A registration carries the registrant's addresses; any will do on loopback.
    swarm.add_external_address("/ip4/127.0.0.1/tcp/9".parse()?);
    let addr: Multiaddr = point.addr.parse()?;
    let point_id: PeerId = point.peer.parse()?;
    let grove = Namespace::from_static("grove");
    swarm.dial(addr)?;
    let answers = async {
        let mut registered = None;
        let mut found: Option<Vec<PeerId>> = None;
        loop {
            let listed = match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == point_id => {
                    swarm
                        .behaviour_mut()
                        .register(grove.clone(), point_id, None)?;
                    continue;
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    bail!("cannot reach the rendezvous point: {error}")
                }
                SwarmEvent::Behaviour(Rv::Registered { .. }) => {
                    registered = Some(true);
                    None
                }
                SwarmEvent::Behaviour(Rv::RegisterFailed { .. }) => {
                    registered = Some(false);
                    None
                }
                SwarmEvent::Behaviour(Rv::Discovered { registrations, .. }) => Some(
                    registrations
                        .iter()
                        .map(|r| r.record.peer_id())
                        .collect::<Vec<_>>(),
                ),
                SwarmEvent::Behaviour(Rv::DiscoverFailed { .. }) => Some(Vec::new()),
                _ => continue,
            };
            match (listed, found.take()) {
                // The registration is answered: ask for Grove's namespace.
                (None, None) => {
                    swarm
                        .behaviour_mut()
                        .discover(Some(grove.clone()), None, None, point_id);
                }
                // Grove's namespace is answered: ask for every namespace.
                (Some(peers), None) => {
                    found = Some(peers);
                    swarm.behaviour_mut().discover(None, None, None, point_id);
                }
                (Some(any), Some(grove_only)) => {
                    return Ok(Probe {
                        registered: registered.unwrap_or(false),
                        found: grove_only,
                        found_any: any,
                    })
                }
                (None, Some(_)) => bail!("a second registration answer"),
            }
        }
    };
    bounded("the rendezvous point's answers", answers).await?
}

/// The ed25519 public key of `key`, as a Grove device id.
fn device_of(key: &Keypair) -> Result<String> {
    let public = key.public().try_into_ed25519()?.to_bytes();
    Ok(public.iter().map(|b| format!("{b:02x}")).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_can_neither_register_at_nor_list_an_always_on_nodes_rendezvous_point(
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestNode::start_always_on("server", &dir.path().join("server")).await?;
    let basics = create_circle(&server, "Cell").await?;
    let member_key = Keypair::generate_ed25519();
    let member = member_key.public().to_peer_id();
    let circle = server.handle.circle(Some(basics.circle.clone()));
    let laptop = circle
        .admit_member(device_of(&member_key)?, "Laptop".into())
        .await?;

    // A member device registers and finds itself: the point works for members.
    let seen = probe(member_key.clone(), &server).await?;
    assert!(seen.registered, "a member device registers: {seen:?}");
    assert_eq!(seen.found, vec![member], "{seen:?}");

    // An outsider, knowing the point's address and Grove's namespace, gets nothing.
    let outsider = probe(Keypair::generate_ed25519(), &server).await?;
    assert!(
        !outsider.registered,
        "an outsider cannot register: {outsider:?}"
    );
    assert!(
        outsider.found.is_empty() && outsider.found_any.is_empty(),
        "an outsider lists no member device: {outsider:?}"
    );

    // Once removed, the member's device is an outsider too.
    remove_by_proposal(&server, &[], &basics.circle, &laptop).await?;
    let removed = probe(member_key, &server).await?;
    assert!(
        !removed.registered && removed.found.is_empty() && removed.found_any.is_empty(),
        "a removed member's device gets nothing: {removed:?}"
    );
    Ok(())
}
