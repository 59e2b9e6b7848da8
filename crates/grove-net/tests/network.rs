//! Real swarms on 127.0.0.1 exchanging frames. Every wait is on an event; the only timeout is
//! a guard that turns a hang into a failure with a message.

use std::{collections::HashSet, future::Future, time::Duration};

use futures::{AsyncWriteExt as _, StreamExt as _};
use grove_net::{
    Client, Config, Event, Frame, Keypair, Misbehaviour, Multiaddr, NetError, PeerId, PeerSet,
    Protocol, Session, SYNC_PROTOCOL,
};
use tokio::{sync::mpsc, task::JoinHandle};

const HANG_GUARD: Duration = Duration::from_secs(120);

struct Node {
    client: Client,
    events: mpsc::Receiver<Event>,
    peer: PeerId,
    addr: Multiaddr,
    task: JoinHandle<()>,
}

async fn start(config: Config) -> Node {
    let (client, events, event_loop) = grove_net::new(config).await.unwrap();
    let task = tokio::spawn(event_loop.run());
    let addr = client
        .listen_addrs()
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("new() returns only once listeners have addresses");
    let peer = client.local_peer_id();
    Node {
        client,
        events,
        peer,
        addr: addr.with(Protocol::P2p(peer)),
        task,
    }
}

async fn start_tcp() -> Node {
    start(Config::loopback(Keypair::generate_ed25519())).await
}

async fn guard<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, fut)
        .await
        .unwrap_or_else(|_| panic!("still waiting for {what} after {HANG_GUARD:?}"))
}

/// Waits for the first event `pick` accepts, skipping the others.
async fn wait_for<T>(node: &mut Node, what: &str, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    guard(what, async {
        loop {
            let event = node.events.recv().await.expect("event loop stopped");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
}

async fn received_from(node: &mut Node, from: PeerId) -> Frame {
    wait_for(node, "a frame", |e| match e {
        Event::Received { peer, frame, .. } if peer == from => Some(frame),
        _ => None,
    })
    .await
}

async fn connected_to(node: &mut Node, to: PeerId) {
    wait_for(node, "a connection", |e| match e {
        Event::PeerConnected { peer, .. } if peer == to => Some(()),
        _ => None,
    })
    .await
}

/// Connects `a` to `b` and waits until both event loops know of the connection, since
/// sending needs the sender's loop to have seen it.
async fn connect(a: &mut Node, b: &mut Node) {
    let peer = guard("dial", a.client.dial(b.addr.clone())).await.unwrap();
    assert_eq!(
        peer, b.peer,
        "the dial must reach the peer its address names"
    );
    connected_to(a, b.peer).await;
    connected_to(b, a.peer).await;
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_exchange_frames_over_tcp() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    connect(&mut a, &mut b).await;

    let to_b = Frame::new("circle-1", "values", b"hello b".to_vec());
    let to_a = Frame::new("circle-1", "decisions", b"hello a".to_vec());
    a.client.send(b.peer, to_b.clone()).await.unwrap();
    b.client.send(a.peer, to_a.clone()).await.unwrap();
    assert_eq!(received_from(&mut b, a.peer).await, to_b);
    assert_eq!(received_from(&mut a, b.peer).await, to_a);

    let mut peers = a.client.connected_peers().await.unwrap();
    peers.dedup();
    assert_eq!(peers, vec![b.peer]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_mb_payload_is_chunked_and_arrives_whole_and_in_order() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    connect(&mut a, &mut b).await;

    let big = Frame::new("circle", "doc", pattern(30 * 1024 * 1024, 7));
    let after = Frame::new("circle", "doc", b"after the big one".to_vec());
    let sender = a.client.clone();
    let (b_peer, big_copy, after_copy) = (b.peer, big.clone(), after.clone());
    let sending = tokio::spawn(async move {
        sender.send(b_peer, big_copy).await?;
        sender.send(b_peer, after_copy).await
    });

    let first = received_from(&mut b, a.peer).await;
    assert!(
        first == big,
        "the 30 MB frame must arrive first and unchanged (got {first:?})"
    );
    assert_eq!(received_from(&mut b, a.peer).await, after);
    guard("sends", sending).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_exchange_frames_concurrently() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    let mut c = start_tcp().await;
    connect(&mut b, &mut a).await;
    connect(&mut c, &mut a).await;
    connect(&mut c, &mut b).await;

    let nodes = [
        (a.client.clone(), a.peer),
        (b.client.clone(), b.peer),
        (c.client.clone(), c.peer),
    ];
    let mut sends = Vec::new();
    for (from, from_peer) in &nodes {
        for (_, to_peer) in &nodes {
            if from_peer == to_peer {
                continue;
            }
            let (from, to_peer) = (from.clone(), *to_peer);
            // Sized above one chunk so chunks of different senders could interleave if the
            // receiver mixed up streams.
            let frame = Frame::new(
                from_peer.to_string(),
                to_peer.to_string(),
                pattern(1_500_000, 3),
            );
            sends.push(tokio::spawn(async move { from.send(to_peer, frame).await }));
        }
    }
    for node in [&mut a, &mut b, &mut c] {
        let me = node.peer;
        let mut senders = HashSet::new();
        while senders.len() < 2 {
            let (peer, frame) = wait_for(node, "frames from both other peers", |e| match e {
                Event::Received { peer, frame, .. } => Some((peer, frame)),
                _ => None,
            })
            .await;
            assert_eq!(
                frame.circle,
                peer.to_string(),
                "frame must come from its sender"
            );
            assert_eq!(frame.kind, me.to_string(), "frame must reach its addressee");
            assert_eq!(frame.payload, pattern(1_500_000, 3));
            assert!(
                senders.insert(peer),
                "each peer sent exactly one frame to {me}"
            );
        }
    }
    for send in sends {
        guard("sends", send).await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_exchange_frames_over_quic() {
    let quic_config = || {
        let mut config = Config::loopback(Keypair::generate_ed25519());
        config.listen_addrs = vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()];
        config
    };
    let mut a = start(quic_config()).await;
    let mut b = start(quic_config()).await;
    assert!(
        a.addr.iter().any(|p| p == Protocol::QuicV1),
        "the node must listen on QUIC only: {}",
        a.addr
    );
    connect(&mut a, &mut b).await;

    // Several chunks, to cover reassembly over QUIC streams too.
    let frame = Frame::new("circle", "doc", pattern(3 * 1024 * 1024 + 17, 9));
    a.client.send(b.peer, frame.clone()).await.unwrap();
    assert!(
        received_from(&mut b, a.peer).await == frame,
        "QUIC frame must arrive unchanged"
    );
    b.client
        .send(a.peer, Frame::new("circle", "doc", b"ack".to_vec()))
        .await
        .unwrap();
    assert_eq!(received_from(&mut a, b.peer).await.payload, b"ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_reachable_only_through_a_relay_exchanges_frames() {
    let mut relay_config = Config::loopback(Keypair::generate_ed25519());
    relay_config.relay_server = true;
    let relay = start(relay_config).await;
    // A relay hands out reservations only once it knows it is reachable.
    let relay_listen = relay.client.listen_addrs().await.unwrap().remove(0);
    relay
        .client
        .add_external_address(relay_listen)
        .await
        .unwrap();

    // Listening nowhere of its own: only the relay reaches it, and no hole punch moves the
    // pair off the circuit (which would fail a frame in flight; the owner resyncs).
    let mut a = start_unlistening(Keypair::generate_ed25519()).await;
    a.client
        .listen_on(relay.addr.clone().with(Protocol::P2pCircuit))
        .await
        .unwrap();
    let circuit = wait_for(&mut a, "a relay reservation", |e| match e {
        Event::ListenAddr { addr } if addr.iter().any(|p| p == Protocol::P2pCircuit) => Some(addr),
        _ => None,
    })
    .await;

    assert_eq!(
        circuit.iter().last(),
        Some(Protocol::P2p(a.peer)),
        "a relayed listen address names its owner"
    );

    let mut b = start_tcp().await;
    let peer = guard("dial via relay", b.client.dial(circuit))
        .await
        .unwrap();
    assert_eq!(peer, a.peer);
    let addr = wait_for(&mut b, "the relayed connection", |e| match e {
        Event::PeerConnected { peer, addr, .. } if peer == a.peer => Some(addr),
        _ => None,
    })
    .await;
    assert!(
        addr.iter().any(|p| p == Protocol::P2pCircuit),
        "the first connection must run through the relay: {addr}"
    );
    connected_to(&mut a, b.peer).await;

    b.client
        .send(a.peer, Frame::new("c", "d", b"via relay".to_vec()))
        .await
        .unwrap();
    assert_eq!(received_from(&mut a, b.peer).await.payload, b"via relay");
    a.client
        .send(b.peer, Frame::new("c", "d", b"and back".to_vec()))
        .await
        .unwrap();
    assert_eq!(received_from(&mut b, a.peer).await.payload, b"and back");
}

/// A relay serving `clients` only, with its loopback address confirmed as external (a
/// relay hands out reservations only once it knows it is reachable).
async fn start_relay(clients: &[PeerId]) -> Node {
    let mut config = Config::loopback(Keypair::generate_ed25519());
    config.relay_server = true;
    config.relay_clients = Some(PeerSet::new(clients.iter().copied().collect()));
    let relay = start(config).await;
    let listen = relay.client.listen_addrs().await.unwrap().remove(0);
    relay.client.add_external_address(listen).await.unwrap();
    relay
}

/// A node with no listener of its own: it can dial out, and be reached through a relay.
async fn start_unlistening(key: Keypair) -> Node {
    let mut config = Config::loopback(key);
    config.listen_addrs.clear();
    let (client, events, event_loop) = grove_net::new(config).await.unwrap();
    let task = tokio::spawn(event_loop.run());
    let peer = client.local_peer_id();
    Node {
        client,
        events,
        peer,
        addr: Multiaddr::empty(),
        task,
    }
}

/// Takes a relayed address through `relay` and returns it once the relay accepted.
async fn reserve(node: &mut Node, relay: &Node) -> Multiaddr {
    node.client
        .listen_on(relay.addr.clone().with(Protocol::P2pCircuit))
        .await
        .unwrap();
    wait_for(node, "a relay reservation", |e| match e {
        Event::ListenAddr { addr } if addr.iter().any(|p| p == Protocol::P2pCircuit) => Some(addr),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_carries_a_frame_far_beyond_libp2ps_default_circuit_limit() {
    let a_key = Keypair::generate_ed25519();
    let b_key = Keypair::generate_ed25519();
    let relay = start_relay(&[a_key.public().to_peer_id(), b_key.public().to_peer_id()]).await;
    // Neither listens anywhere but through the relay, so no hole punch can take the
    // traffic off the circuit.
    let mut a = start_unlistening(a_key).await;
    let circuit = reserve(&mut a, &relay).await;
    let mut b = start_unlistening(b_key).await;
    guard("dial via relay", b.client.dial(circuit))
        .await
        .unwrap();
    connected_to(&mut a, b.peer).await;

    // libp2p's default relay closes a circuit after 128 KiB; a first sync is megabytes.
    let big = Frame::new("c", "d", pattern(2 << 20, 7));
    b.client.send(a.peer, big.clone()).await.unwrap();
    let got = received_from(&mut a, b.peer).await;
    assert!(
        got == big,
        "the 2 MiB frame must arrive whole through the relay"
    );
    a.client
        .send(b.peer, Frame::new("c", "d", b"got it".to_vec()))
        .await
        .unwrap();
    assert_eq!(received_from(&mut b, a.peer).await.payload, b"got it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_refuses_reservations_and_circuits_of_peers_outside_its_set() {
    let a_key = Keypair::generate_ed25519();
    let relay = start_relay(&[a_key.public().to_peer_id()]).await;
    let mut a = start(Config::loopback(a_key)).await;
    let circuit = reserve(&mut a, &relay).await;

    // An outsider cannot reach the member through the relay...
    let outsider = start_tcp().await;
    let dialled = guard("an outsider's circuit", outsider.client.dial(circuit)).await;
    assert!(
        dialled.is_err(),
        "an outsider must not get a circuit to a member: {dialled:?}"
    );

    // ...nor become reachable through it: a member dialling its would-be relayed address
    // finds no reservation.
    let mut outsider = outsider;
    outsider
        .client
        .listen_on(relay.addr.clone().with(Protocol::P2pCircuit))
        .await
        .unwrap();
    let reason = wait_for(&mut outsider, "the relay's refusal", |e| match e {
        Event::ListenAddr { addr } if addr.iter().any(|p| p == Protocol::P2pCircuit) => {
            panic!("the relay gave an outsider a relayed address: {addr}")
        }
        Event::RelayedAddressClosed { relay: r, reason } if r == relay.peer => Some(reason),
        _ => None,
    })
    .await;
    assert!(!reason.is_empty());
    let would_be = relay
        .addr
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(outsider.peer));
    let dialled = guard("a circuit to the outsider", a.client.dial(would_be)).await;
    assert!(
        dialled.is_err(),
        "an outsider must not hold a reservation: {dialled:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reconnects_to_its_always_on_node_after_it_restarts() {
    let a_key = Keypair::generate_ed25519();
    let a_peer = a_key.public().to_peer_id();
    let point_key = Keypair::generate_ed25519();
    let start_point = |listen: Multiaddr| {
        let mut config = Config::loopback(point_key.clone());
        config.listen_addrs = vec![listen];
        config.relay_server = true;
        config.relay_clients = Some(PeerSet::new(HashSet::from([a_peer])));
        config.rendezvous_server = true;
        start(config)
    };
    let point = start_point("/ip4/127.0.0.1/tcp/0".parse().unwrap()).await;
    let point_listen = point.client.listen_addrs().await.unwrap().remove(0);
    point
        .client
        .add_external_address(point_listen.clone())
        .await
        .unwrap();

    let mut a_config = Config::loopback(a_key);
    a_config.rendezvous_points = vec![point.addr.clone()];
    let mut a = start(a_config).await;
    reserve(&mut a, &point).await;

    // The always-on node stops (its connections close) and comes back on the same address.
    point.client.shutdown().await.unwrap();
    wait_for(&mut a, "the node to go", |e| match e {
        Event::PeerDisconnected { peer, .. } if peer == point.peer => Some(()),
        _ => None,
    })
    .await;
    let again = start_point(point_listen.clone()).await;
    again
        .client
        .add_external_address(point_listen)
        .await
        .unwrap();

    // Nobody told a: it dials the node again by itself, and takes its relayed address again.
    connected_to(&mut a, again.peer).await;
    wait_for(&mut a, "the relayed address again", |e| match e {
        Event::ListenAddr { addr } if addr.iter().any(|p| p == Protocol::P2pCircuit) => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_find_each_other_through_a_rendezvous_point() {
    found_at_a_rendezvous_point_and_dialled(true).await;
}

/// Without an allowed set nobody is dialled by itself; the owner dials whom discovery
/// found (grove-node dials every peer found, as its sessions tell members from others).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovered_peer_is_dialled_when_asked_at_the_addresses_discovery_found() {
    found_at_a_rendezvous_point_and_dialled(false).await;
}

async fn found_at_a_rendezvous_point_and_dialled(auto: bool) {
    let a_key = Keypair::generate_ed25519();
    let a_peer = a_key.public().to_peer_id();
    let b_key = Keypair::generate_ed25519();
    // An always-on node: rendezvous point (for a and b only) and relay.
    let mut serve_config = Config::loopback(Keypair::generate_ed25519());
    serve_config.rendezvous_server = true;
    serve_config.rendezvous_clients = Some(PeerSet::new(HashSet::from([
        a_peer,
        b_key.public().to_peer_id(),
    ])));
    serve_config.relay_server = true;
    let serve = start(serve_config).await;
    let serve_listen = serve.client.listen_addrs().await.unwrap().remove(0);
    serve
        .client
        .add_external_address(serve_listen)
        .await
        .unwrap();

    let mut a_config = Config::loopback(a_key);
    a_config.rendezvous_points = vec![serve.addr.clone()];
    let mut a = start(a_config).await;
    // Behind a NAT the relayed address is what a member can register.
    a.client
        .listen_on(serve.addr.clone().with(Protocol::P2pCircuit))
        .await
        .unwrap();
    wait_for(&mut a, "registration", |e| match e {
        Event::Registered { rendezvous_point } if rendezvous_point == serve.peer => Some(()),
        _ => None,
    })
    .await;

    let mut b_config = Config::loopback(b_key);
    b_config.rendezvous_points = vec![serve.addr.clone()];
    if auto {
        b_config.allowed_peers = Some(HashSet::from([a_peer]));
    }
    let mut b = start(b_config).await;
    let found = wait_for(&mut b, "discovery of a", |e| match e {
        Event::PeerDiscovered { peer, addr } => Some((peer, addr)),
        _ => None,
    })
    .await;
    assert_eq!(found.0, a_peer, "only a registered: {found:?}");
    if auto {
        // b dials a by itself because a is an allowed peer.
    } else {
        // The event carries only the relayed address; the dial is given none, so the
        // connection proves grove-net dials at what the rendezvous point handed out.
        b.client.dial_discovered(a_peer).await.unwrap();
        // Asked again while connected or dialling: no second dial, no error.
        b.client.dial_discovered(a_peer).await.unwrap();
    }
    connected_to(&mut b, a_peer).await;
    connected_to(&mut a, b.peer).await;

    send_as_an_owner_would(&mut b, a_peer, Frame::new("c", "d", b"found you".to_vec())).await;
    assert_eq!(received_from(&mut a, b.peer).await.payload, b"found you");
}

/// Sends `frame`, and sends it again if a hole punch moved the connection to a direct path
/// while it was on its way: grove-net then drops the frame in flight and says so with
/// `PathChanged`, and its owner (grove-node) resyncs. Anything else fails the test.
async fn send_as_an_owner_would(node: &mut Node, to: PeerId, frame: Frame) {
    for _ in 0..3 {
        match node.client.send(to, frame.clone()).await {
            Ok(()) => return,
            Err(NetError::ConnectionClosed(peer)) if peer == to => {
                wait_for(node, "the new path", |e| match e {
                    Event::PathChanged { peer, .. } if peer == to => Some(()),
                    _ => None,
                })
                .await;
            }
            Err(e) => panic!("sending to {to}: {e}"),
        }
    }
    panic!("the frame to {to} was dropped by three path changes in a row");
}

/// A libp2p node that speaks `/grove/sync/1` only to write whatever it is told to.
/// Returns the rogue's id and its stream, which the caller keeps open so that the target acts
/// on the garbage itself rather than on the stream ending.
async fn rogue_writes(target: &Node, garbage: &[u8]) -> (PeerId, libp2p::Stream) {
    // A stream that never opens (the rogue's dial or handshake stalled: seen once in CI, the
    // test hanging for good) is given up after a while and tried again with a new rogue.
    for _ in 0..3 {
        if let Some(done) = try_rogue_writes(target, garbage).await {
            return done;
        }
    }
    panic!("a rogue could not open a stream to the target three times in a row");
}

async fn try_rogue_writes(target: &Node, garbage: &[u8]) -> Option<(PeerId, libp2p::Stream)> {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .unwrap()
        .build();
    let rogue = *swarm.local_peer_id();
    let mut control = swarm.behaviour().new_control();
    swarm.dial(target.addr.clone()).unwrap();
    let driver = tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let opened = tokio::time::timeout(Duration::from_secs(20), async {
        let mut stream = control.open_stream(target.peer, SYNC_PROTOCOL).await.ok()?;
        stream.write_all(garbage).await.ok()?;
        stream.flush().await.ok()?;
        Some(stream)
    })
    .await
    .ok()
    .flatten();
    match opened {
        Some(stream) => Some((rogue, stream)),
        None => {
            driver.abort();
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_writing_garbage_is_dropped_while_another_keeps_being_served() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    connect(&mut b, &mut a).await;
    b.client
        .send(a.peer, Frame::new("c", "d", b"before".to_vec()))
        .await
        .unwrap();
    assert_eq!(received_from(&mut a, b.peer).await.payload, b"before");

    let (rogue, _stream) = rogue_writes(&a, b"GET / HTTP/1.1\r\nHost: grove\r\n\r\n").await;
    let reason = wait_for(&mut a, "the rogue to be reported", |e| match e {
        Event::Misbehaved { peer, reason } if peer == rogue => Some(reason),
        Event::Received { peer, .. } if peer == rogue => panic!("garbage must never be delivered"),
        _ => None,
    })
    .await;
    assert!(
        matches!(reason, Misbehaviour::Wire(_)),
        "garbage is a wire error, got {reason}"
    );
    wait_for(&mut a, "the rogue to be disconnected", |e| match e {
        Event::PeerDisconnected { peer, .. } if peer == rogue => Some(()),
        _ => None,
    })
    .await;

    b.client
        .send(a.peer, Frame::new("c", "d", b"after".to_vec()))
        .await
        .unwrap();
    assert_eq!(received_from(&mut a, b.peer).await.payload, b"after");
    a.client
        .send(b.peer, Frame::new("c", "d", b"still here".to_vec()))
        .await
        .unwrap();
    assert_eq!(received_from(&mut b, a.peer).await.payload, b"still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_announcing_more_than_the_limit_gets_the_peer_dropped() {
    let mut a = start_tcp().await;
    // A well-formed first chunk whose announced total exceeds the 256 MiB bound.
    let mut body = vec![
        grove_net::wire::VERSION,
        grove_net::wire::FLAG_FIRST,
        1,
        b'c',
        1,
        b'd',
    ];
    body.extend_from_slice(&(grove_net::wire::MAX_PAYLOAD_LEN as u64 + 1).to_be_bytes());
    let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&body);

    let (rogue, _stream) = rogue_writes(&a, &bytes).await;
    let reason = wait_for(&mut a, "the rogue to be reported", |e| match e {
        Event::Misbehaved { peer, reason } if peer == rogue => Some(reason),
        _ => None,
    })
    .await;
    assert!(
        matches!(
            reason,
            Misbehaviour::Wire(grove_net::wire::WireError::PayloadTooLarge { .. })
        ),
        "got {reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_from_and_to_a_peer_that_is_not_allowed_are_refused() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    let mut outsider = start_tcp().await;
    a.client
        .set_allowed_peers(Some(HashSet::from([b.peer])))
        .await
        .unwrap();
    connect(&mut b, &mut a).await;
    connect(&mut outsider, &mut a).await;

    // The outsider's send may succeed locally (bytes written before the reset arrives) or
    // fail; either way `a` must refuse the stream.
    let _ = outsider
        .client
        .send(a.peer, Frame::new("c", "d", b"let me in".to_vec()))
        .await;
    wait_for(&mut a, "the outsider to be refused", |e| match e {
        Event::Refused { peer } if peer == outsider.peer => Some(()),
        Event::Received { peer, .. } if peer == outsider.peer => {
            panic!("a frame from a peer that is not allowed was delivered")
        }
        _ => None,
    })
    .await;

    match a
        .client
        .send(outsider.peer, Frame::new("c", "d", b"secret".to_vec()))
        .await
    {
        Err(NetError::NotAllowed(peer)) => assert_eq!(peer, outsider.peer),
        other => panic!("sending to a peer that is not allowed must fail, got {other:?}"),
    }

    b.client
        .send(a.peer, Frame::new("c", "d", b"member".to_vec()))
        .await
        .unwrap();
    let from_member = wait_for(&mut a, "the member's frame", |e| match e {
        Event::Received { peer, frame, .. } if peer == b.peer => Some(frame),
        Event::Received { peer, .. } => panic!("frame from unexpected peer {peer}"),
        _ => None,
    })
    .await;
    assert_eq!(from_member.payload, b"member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_is_refused_on_its_open_stream() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    connect(&mut b, &mut a).await;
    b.client
        .send(a.peer, Frame::new("c", "d", b"while a member".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        received_from(&mut a, b.peer).await.payload,
        b"while a member"
    );

    a.client
        .set_allowed_peers(Some(HashSet::new()))
        .await
        .unwrap();
    // b's stream is already open; the next frame on it must still be refused.
    b.client
        .send(a.peer, Frame::new("c", "d", b"after removal".to_vec()))
        .await
        .unwrap();
    wait_for(&mut a, "the removed member to be refused", |e| match e {
        Event::Refused { peer } if peer == b.peer => Some(()),
        Event::Received { .. } => panic!("a removed member's frame was delivered"),
        _ => None,
    })
    .await;
}

/// The session `node` reports for its next connection to `to`.
async fn session_with(node: &mut Node, to: PeerId) -> Session {
    wait_for(node, "a connection", |e| match e {
        Event::PeerConnected { peer, session, .. } if peer == to => Some(session),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_meant_for_an_ended_session_never_reaches_the_next_one() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    guard("dial", a.client.dial(b.addr.clone())).await.unwrap();
    let first = session_with(&mut a, b.peer).await;
    session_with(&mut b, a.peer).await;

    a.client.disconnect(b.peer).await.unwrap();
    let ended = wait_for(&mut a, "the disconnect", |e| match e {
        Event::PeerDisconnected { peer, session } if peer == b.peer => Some(session),
        _ => None,
    })
    .await;
    assert_eq!(ended, first, "the disconnect ends the session it began");
    wait_for(&mut b, "the disconnect", |e| match e {
        Event::PeerDisconnected { peer, .. } if peer == a.peer => Some(()),
        _ => None,
    })
    .await;

    guard("dial again", a.client.dial(b.addr.clone()))
        .await
        .unwrap();
    let second = session_with(&mut a, b.peer).await;
    let b_second = session_with(&mut b, a.peer).await;
    assert_ne!(second, first, "a new connection is a new session");

    match a
        .client
        .send_on(b.peer, first, Frame::new("c", "d", b"stale".to_vec()))
        .await
    {
        Err(NetError::SessionEnded { peer, session }) => {
            assert_eq!((peer, session), (b.peer, first));
        }
        other => panic!("a frame for an ended session must not be sent, got {other:?}"),
    }
    let fresh = Frame::new("c", "d", b"fresh".to_vec());
    a.client
        .send_on(b.peer, second, fresh.clone())
        .await
        .unwrap();
    let (session, frame) = wait_for(&mut b, "the fresh frame", |e| match e {
        Event::Received {
            peer,
            session,
            frame,
        } if peer == a.peer => Some((session, frame)),
        _ => None,
    })
    .await;
    assert_eq!(
        (session, frame),
        (b_second, fresh),
        "only the frame of the current session arrives, tagged with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_and_shutdown() {
    let mut a = start_tcp().await;
    let mut b = start_tcp().await;
    connect(&mut a, &mut b).await;

    a.client.disconnect(b.peer).await.unwrap();
    // Both sides report it; `a` must have seen it before it refuses to send.
    let (a_peer, b_peer) = (a.peer, b.peer);
    for (node, other) in [(&mut a, b_peer), (&mut b, a_peer)] {
        wait_for(node, "the disconnect", |e| match e {
            Event::PeerDisconnected { peer, .. } if peer == other => Some(()),
            _ => None,
        })
        .await;
    }
    match a.client.send(b.peer, Frame::new("c", "d", vec![1])).await {
        Err(NetError::NotConnected(peer)) => assert_eq!(peer, b.peer),
        other => panic!("sending after a disconnect must fail, got {other:?}"),
    }

    a.client.shutdown().await.unwrap();
    guard("the event loop to stop", a.task).await.unwrap();
    assert!(matches!(
        a.client.connected_peers().await,
        Err(NetError::Shutdown)
    ));
    a.client.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_frames_are_refused_before_any_io() {
    let a = start_tcp().await;
    let stranger = Keypair::generate_ed25519().public().to_peer_id();
    let long_id = "x".repeat(grove_net::wire::MAX_ID_LEN + 1);
    assert!(matches!(
        a.client
            .send(stranger, Frame::new(long_id, "d", vec![]))
            .await,
        Err(NetError::Frame(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_peers_in_the_large_frames_set_may_send_large_frames() {
    let known = PeerSet::default();
    let mut config = Config::loopback(Keypair::generate_ed25519());
    config.large_frames_from = Some(known.clone());
    let mut a = start(config).await;
    let mut b = start_tcp().await;
    connect(&mut a, &mut b).await;

    // A small frame from a stranger is fine (a hello, a join request).
    let small = Frame::new("c", "d", pattern(grove_net::UNKNOWN_PEER_FRAME_LEN, 1));
    b.client.send(a.peer, small.clone()).await.unwrap();
    assert_eq!(received_from(&mut a, b.peer).await, small);
    // One byte more is refused on its first chunk and the stranger dropped.
    let large = Frame::new("c", "d", pattern(grove_net::UNKNOWN_PEER_FRAME_LEN + 1, 2));
    let _ = b.client.send(a.peer, large.clone()).await;
    let reason = wait_for(&mut a, "the stranger to be reported", |e| match e {
        Event::Misbehaved { peer, reason } if peer == b.peer => Some(reason),
        Event::Received { peer, .. } if peer == b.peer => panic!("a large frame got through"),
        _ => None,
    })
    .await;
    assert!(
        matches!(reason, Misbehaviour::FrameTooLarge { .. }),
        "got {reason}"
    );

    wait_for(&mut a, "the stranger to be disconnected", |e| match e {
        Event::PeerDisconnected { peer, .. } if peer == b.peer => Some(()),
        _ => None,
    })
    .await;

    // Once known (a member), the same frame goes through.
    known.replace(HashSet::from([b.peer]));
    connect(&mut a, &mut b).await;
    b.client.send(a.peer, large.clone()).await.unwrap();
    assert_eq!(received_from(&mut a, b.peer).await, large);
}
