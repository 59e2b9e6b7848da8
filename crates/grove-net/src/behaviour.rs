//! The composed libp2p behaviour and the swarm built around it.

use libp2p::{
    autonat, dcutr, identify, mdns, noise, ping, relay, rendezvous,
    swarm::{behaviour::toggle::Toggle, NetworkBehaviour},
    tcp, yamux, StreamProtocol, Swarm, SwarmBuilder,
};

use crate::{
    relay_gate::relay_config, rendezvous_gate::GatedRendezvous, sync_protocol::SyncBehaviour,
    Config, NetError,
};

/// Our one application protocol, carrying [`crate::wire`] chunks over raw streams rather than
/// request-response: a full-document sync message can be 25+ MB, request-response caps
/// messages at 10 MiB and buffers each whole, while a stream lets us write bounded chunks
/// back to back and apply backpressure through the muxer's flow control. (Why our own
/// stream behaviour rather than libp2p-stream: see the `sync_protocol` module.)
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/grove/sync/1");

/// Sent in identify so peers (and humans reading logs) can tell Grove nodes apart.
const IDENTIFY_PROTOCOL: &str = "/grove/id/1";

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) relay_client: relay::client::Behaviour,
    pub(crate) relay_server: Toggle<relay::Behaviour>,
    pub(crate) dcutr: dcutr::Behaviour,
    pub(crate) autonat: autonat::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    pub(crate) rendezvous_client: rendezvous::client::Behaviour,
    pub(crate) rendezvous_server: Toggle<GatedRendezvous>,
    pub(crate) sync: SyncBehaviour,
}

/// Builds the swarm: TCP and QUIC, Noise, Yamux, the relay client transport, and the
/// behaviours above as `config` switches them on. Must run inside a tokio runtime.
pub(crate) fn build_swarm(config: &Config) -> Result<Swarm<Behaviour>, NetError> {
    let transport_err = |what| {
        move |e: noise::Error| NetError::Transport {
            what,
            reason: e.to_string(),
        }
    };
    let swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(transport_err("TCP"))?
        .with_quic()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(transport_err("relay client"))?
        .with_behaviour(|key, relay_client| {
            let peer_id = key.public().to_peer_id();
            let mdns = if config.mdns {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    peer_id,
                )?)
            } else {
                None
            };
            let relay_server = config.relay_server.then(|| {
                relay::Behaviour::new(peer_id, relay_config(config.relay_clients.clone()))
            });
            let rendezvous_server = config
                .rendezvous_server
                .then(|| GatedRendezvous::new(config.rendezvous_clients.clone()));
            let behaviour: Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> =
                Ok(Behaviour {
                    relay_client,
                    relay_server: relay_server.into(),
                    dcutr: dcutr::Behaviour::new(peer_id),
                    autonat: autonat::Behaviour::new(peer_id, autonat::Config::default()),
                    identify: identify::Behaviour::new(
                        identify::Config::new(IDENTIFY_PROTOCOL.to_owned(), key.public())
                            .with_agent_version(format!("grove/{}", env!("CARGO_PKG_VERSION"))),
                    ),
                    ping: ping::Behaviour::default(),
                    mdns: mdns.into(),
                    rendezvous_client: rendezvous::client::Behaviour::new(key.clone()),
                    rendezvous_server: rendezvous_server.into(),
                    sync: SyncBehaviour::default(),
                });
            behaviour
        })
        .map_err(|e| NetError::Transport {
            what: "mDNS",
            reason: e.to_string(),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_connection_timeout))
        .build();
    Ok(swarm)
}
