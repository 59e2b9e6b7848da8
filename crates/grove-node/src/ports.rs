//! The ports this device listened on last time. Invite codes carry the inviter's
//! addresses, so a node that came back on new ports after a restart (or after its
//! passphrase changed) would leave every code it handed out pointing nowhere. Only the
//! default listen addresses (every interface, any port) are pinned this way; addresses
//! given explicitly are taken as they are.

use grove_net::{Multiaddr, Protocol};
use grove_store::Store;
use serde::{Deserialize, Serialize};

const KEY: &str = "net/ports";

/// The TCP port and the QUIC (UDP) port, where known.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ports {
    tcp: Option<u16>,
    quic: Option<u16>,
}

impl Ports {
    /// The ports saved in the store; none when there are none or they cannot be read
    /// (a fresh home, or a value from an older build: both only cost a new port).
    pub(crate) fn load(store: &dyn Store) -> Ports {
        match store.get_meta(KEY) {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the saved listen ports are unreadable; new ones will be chosen");
                Ports::default()
            }),
            Ok(None) => Ports::default(),
            Err(e) => {
                tracing::warn!(error = %e, "the saved listen ports could not be read; new ones will be chosen");
                Ports::default()
            }
        }
    }

    /// Saves these ports for the next start. Failing only costs stable addresses, so the
    /// caller logs it rather than refusing to start.
    pub(crate) fn save(&self, store: &dyn Store) -> Result<(), grove_store::StoreError> {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        store.put_meta(KEY, &bytes)
    }

    /// The ports a running node listens on, read from its listen addresses.
    pub(crate) fn of(listening: &[Multiaddr]) -> Ports {
        let mut ports = Ports::default();
        for addr in listening {
            let parts: Vec<Protocol<'_>> = addr.iter().collect();
            if parts.iter().any(|p| matches!(p, Protocol::P2pCircuit)) {
                continue;
            }
            for (i, part) in parts.iter().enumerate() {
                match part {
                    Protocol::Tcp(port) if ports.tcp.is_none() && *port != 0 => {
                        ports.tcp = Some(*port)
                    }
                    Protocol::Udp(port)
                        if ports.quic.is_none()
                            && *port != 0
                            && matches!(parts.get(i + 1), Some(Protocol::QuicV1)) =>
                    {
                        ports.quic = Some(*port)
                    }
                    _ => {}
                }
            }
        }
        ports
    }

    pub(crate) fn is_known(&self) -> bool {
        self.tcp.is_some() || self.quic.is_some()
    }

    /// Every interface, on these ports (any port where one is not known): the same shape
    /// as grove-net's default listen addresses.
    pub(crate) fn listen_addrs(&self) -> Vec<Multiaddr> {
        let any = Protocol::Ip4([0, 0, 0, 0].into());
        vec![
            Multiaddr::empty()
                .with(any.clone())
                .with(Protocol::Tcp(self.tcp.unwrap_or(0))),
            Multiaddr::empty()
                .with(any)
                .with(Protocol::Udp(self.quic.unwrap_or(0)))
                .with(Protocol::QuicV1),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grove_store::MemStore;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    #[test]
    fn reads_the_tcp_and_quic_ports_and_skips_relayed_addresses() {
        let ports = Ports::of(&[
            addr("/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWRwTjTdBtrEWZTN6fzpPkJuQrjbKH1kbkNTbfRXz9SsK1/p2p-circuit"),
            addr("/ip4/127.0.0.1/tcp/41001"),
            addr("/ip4/127.0.0.1/udp/5353"),
            addr("/ip4/127.0.0.1/udp/41002/quic-v1"),
            addr("/ip4/192.168.1.4/tcp/41001"),
        ]);
        assert_eq!(
            ports,
            Ports {
                tcp: Some(41001),
                quic: Some(41002)
            }
        );
        assert_eq!(
            ports.listen_addrs(),
            vec![
                addr("/ip4/0.0.0.0/tcp/41001"),
                addr("/ip4/0.0.0.0/udp/41002/quic-v1")
            ]
        );
    }

    #[test]
    fn ports_survive_the_store_and_garbage_reads_as_none() {
        let store = MemStore::new();
        assert!(!Ports::load(&store).is_known());
        let ports = Ports {
            tcp: Some(1234),
            quic: None,
        };
        ports.save(&store).unwrap();
        assert_eq!(Ports::load(&store), ports);
        assert_eq!(
            ports.listen_addrs(),
            vec![
                addr("/ip4/0.0.0.0/tcp/1234"),
                addr("/ip4/0.0.0.0/udp/0/quic-v1")
            ]
        );
        store.put_meta(KEY, b"\xff not json").unwrap();
        assert_eq!(Ports::load(&store), Ports::default());
    }

    async fn start(home: &std::path::Path) -> crate::NodeHandle {
        crate::Node::builder()
            .home(home)
            .network(true)
            .mdns(false)
            .start()
            .await
            .unwrap()
    }

    async fn tcp_port(node: &crate::NodeHandle) -> u16 {
        let info = node.net_info().await.unwrap();
        let addrs: Vec<Multiaddr> = info.addrs.iter().map(|a| addr(a)).collect();
        Ports::of(&addrs).tcp.unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_restarted_node_listens_on_the_same_port_or_a_new_one_if_it_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let node = start(dir.path()).await;
        let first = tcp_port(&node).await;
        node.stop().await.unwrap();

        let node = start(dir.path()).await;
        assert_eq!(
            tcp_port(&node).await,
            first,
            "the invite codes it made would point nowhere"
        );
        node.stop().await.unwrap();

        // Someone else holds the port now: the node still starts, on a new one it keeps.
        let squatter = std::net::TcpListener::bind(("0.0.0.0", first)).unwrap();
        let node = start(dir.path()).await;
        let moved = tcp_port(&node).await;
        assert_ne!(moved, first);
        node.stop().await.unwrap();
        drop(squatter);
        let node = start(dir.path()).await;
        assert_eq!(tcp_port(&node).await, moved);
        node.stop().await.unwrap();
    }
}
