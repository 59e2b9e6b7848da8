//! The one error type every Grove client sees. Messages are meant for people: they say what
//! went wrong and what to do, without naming CLI flags or buttons.

use std::path::PathBuf;
use std::str::FromStr;

use grove_core::{CodeError, CoreError, ErrorKind, Refusal};
use grove_net::{Multiaddr, NetError, PeerId};
use grove_store::{StoreError, StoreErrorKind};

/// Why text is not a multiaddr (libp2p's parse error).
pub type AddrParseError = <Multiaddr as FromStr>::Err;
/// Why text is not a peer id (libp2p's parse error).
pub type PeerIdParseError = <PeerId as FromStr>::Err;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum NodeErrorKind {
    NotFound,
    Invalid,
    State,
    NoCircle,
    AmbiguousCircle,
    Locked,
    DiskFull,
    Corrupt,
    Io,
    Stopped,
    /// The home is encrypted and the passphrase is missing or wrong, or a passphrase was
    /// given for a home that is not encrypted.
    Passphrase,
    /// Networking: off in this node, an address that cannot be parsed or reached, a peer
    /// that went away.
    Network,
    /// An invite code that is mistyped, incomplete or from a newer Grove, or an invite the
    /// inviter refused (expired, used up, revoked, unknown, wrong secret).
    Invite,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no circle here yet: create one or import one")]
    NoCircle,
    #[error("there are {} circles here; say which one: {}", .0.len(), .0.join(", "))]
    AmbiguousCircle(Vec<String>),
    #[error("no circle `{0}` here")]
    UnknownCircle(String),
    /// No home was given and the system names no data directory to put one in.
    #[error(
        "cannot find a data directory for Grove; set GROVE_HOME to the directory to keep it in"
    )]
    NoDataDir,
    /// A passphrase change was asked for a home that does not exist.
    #[error("there is no Grove home at {} yet; create it first", path.display())]
    NoHome { path: PathBuf },
    /// The stored key of this device is not a key.
    #[error("this device's key in the Grove home is damaged ({len} bytes instead of 32); restore the home from a backup")]
    DamagedKey { len: usize },
    /// A thread loading months of decisions died (a bug, not the person's doing).
    #[error("loading the circle's decisions failed unexpectedly; restart Grove, and report it if it happens again")]
    LoadFailed,
    #[error("the Grove node has stopped; restart Grove")]
    Stopped,
    #[error("this Grove node runs without networking; start one with networking (`grove serve`) to reach peers")]
    NetworkOff,
    #[error("`{addr}` is not a network address ({cause}); write it as a multiaddr, e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…")]
    InvalidAddress {
        addr: String,
        #[source]
        cause: AddrParseError,
    },
    /// An address to remember lacks what a later dial needs.
    #[error("`{addr}` cannot be dialled later: {missing}; write it as a multiaddr ending in /p2p/ and the peer's id, e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…")]
    IncompleteAddress { addr: String, missing: &'static str },
    #[error("`{text}` is not a peer id ({cause}); a peer id looks like 12D3KooW…")]
    InvalidPeerId {
        text: String,
        #[source]
        cause: PeerIdParseError,
    },
    /// Networking could not start (a port taken, a transport that failed).
    #[error("networking could not start: {cause}")]
    NetStart {
        #[source]
        cause: Box<NetError>,
    },
    /// A dial failed.
    #[error("cannot reach the peer at {addr}: {cause}; check the address, and that Grove runs there on a network this device can reach")]
    Unreachable {
        addr: Multiaddr,
        #[source]
        cause: Box<NetError>,
    },
    /// Any other failure of the network layer; its message says what to do.
    #[error(transparent)]
    Net(Box<NetError>),
    /// A node with networking was started with the call for one without.
    #[error("a node with networking starts with `start().await`, not `spawn()`")]
    SpawnedNetworked,
    /// The peer synced with shares no circle with this home.
    #[error("peer {peer} holds none of this home's circles; invite that device to a circle, or carry a circle over to it as a circle file")]
    NothingShared { peer: PeerId },
    #[error("peer {peer} disconnected before every shared circle was in sync; sync again")]
    PeerLeft { peer: PeerId },
    /// The peer broke the protocol and was disconnected; `reason` is the fault it made, as
    /// the network events tell it.
    #[error("peer {peer} broke the sync protocol and was disconnected: {reason}")]
    PeerMisbehaved { peer: PeerId, reason: String },
    /// A bundle was refused (foreign, not from a member device, or not this circle).
    #[error("{0}")]
    Bundle(String),
    /// A file to import could not be read.
    #[error("cannot read {}: {cause}", path.display())]
    ReadFile {
        path: std::path::PathBuf,
        /// In the message rather than a `source`, so a printed chain does not repeat it.
        cause: std::io::Error,
    },
    /// A file or directory could not be written (an export, a bundle).
    #[error("cannot write {}: {cause}", path.display())]
    WriteFile {
        path: std::path::PathBuf,
        /// In the message rather than a `source`, as for [`NodeError::ReadFile`].
        cause: std::io::Error,
    },
    /// Something this node made could not be encoded (a bug, not the person's doing).
    #[error("cannot encode {what}: {cause}")]
    Encode {
        what: &'static str,
        cause: serde_json::Error,
    },
    /// The process serving the home answered with more than a reply may hold.
    #[error("the grove process serving {} sent a reply larger than {max_mib} MiB; ask for less at a time (filter the list, or fewer entries)", home.display())]
    ControlReplyTooLarge { home: PathBuf, max_mib: u64 },
    /// A one-file export was given a directory.
    #[error("{} is a directory; a {what} export is one file", path.display())]
    OutIsDirectory { path: PathBuf, what: String },
    /// A directory export was given a file, or a directory with files in it.
    #[error("{} exists and is not an empty directory; give a new directory", path.display())]
    OutNotEmpty { path: PathBuf },
    /// An export's directory does not exist.
    #[error("cannot write {}: {} is not a directory", path.display(), dir.display())]
    OutDirMissing { path: PathBuf, dir: PathBuf },
    /// Another process holds the home and does not answer on its control socket.
    #[error("the Grove home at {} is in use by another grove process, and nothing answers on its control socket {} ({cause}); wait for that process to finish, or stop it", home.display(), socket.display())]
    ControlUnreachable {
        home: std::path::PathBuf,
        socket: std::path::PathBuf,
        cause: std::io::Error,
    },
    /// This node could not set up its control socket.
    #[error("cannot {what} the control socket {}: {cause}", socket.display())]
    ControlSocket {
        what: &'static str,
        socket: std::path::PathBuf,
        cause: std::io::Error,
    },
    /// The process serving the home answered with something this one cannot read.
    #[error("the grove process serving {} sent a reply this grove cannot read ({cause}); are both the same version?", home.display())]
    ControlReply {
        home: std::path::PathBuf,
        cause: serde_json::Error,
    },
    /// The search index failed; it is derived from the log and rebuilt on restart.
    #[error("{cause}; restart Grove to rebuild the search index")]
    Search {
        cause: Box<grove_search::SearchError>,
    },
    /// A file to import is larger than its format may be (see `files.rs`).
    #[error(
        "{} is larger than the {max_mib} MiB a {what} may be; is it the right file?",
        path.display()
    )]
    TooLarge {
        path: std::path::PathBuf,
        what: &'static str,
        max_mib: u64,
    },
    /// Joining a circle, or creating an invite, failed.
    #[error(transparent)]
    Invite(#[from] InviteError),
}

impl NodeError {
    pub fn kind(&self) -> NodeErrorKind {
        match self {
            NodeError::Core(e) => match e.kind() {
                ErrorKind::NotFound => NodeErrorKind::NotFound,
                ErrorKind::Invalid => NodeErrorKind::Invalid,
                ErrorKind::State => NodeErrorKind::State,
                ErrorKind::Corrupt => NodeErrorKind::Corrupt,
            },
            NodeError::Store(e) => match e.kind() {
                StoreErrorKind::Locked => NodeErrorKind::Locked,
                StoreErrorKind::DiskFull => NodeErrorKind::DiskFull,
                StoreErrorKind::Corrupt => NodeErrorKind::Corrupt,
                StoreErrorKind::InvalidName => NodeErrorKind::Invalid,
                StoreErrorKind::PassphraseNeeded
                | StoreErrorKind::WrongPassphrase
                | StoreErrorKind::NotEncrypted => NodeErrorKind::Passphrase,
                _ => NodeErrorKind::Io,
            },
            NodeError::NoCircle => NodeErrorKind::NoCircle,
            NodeError::AmbiguousCircle(_) => NodeErrorKind::AmbiguousCircle,
            NodeError::UnknownCircle(_) => NodeErrorKind::NotFound,
            NodeError::ReadFile { cause, .. } | NodeError::WriteFile { cause, .. }
                if cause.kind() == std::io::ErrorKind::StorageFull =>
            {
                NodeErrorKind::DiskFull
            }
            NodeError::NoDataDir
            | NodeError::NoHome { .. }
            | NodeError::LoadFailed
            | NodeError::ControlReplyTooLarge { .. }
            | NodeError::ReadFile { .. }
            | NodeError::WriteFile { .. }
            | NodeError::Encode { .. }
            | NodeError::ControlUnreachable { .. }
            | NodeError::ControlSocket { .. }
            | NodeError::ControlReply { .. }
            | NodeError::Search { .. } => NodeErrorKind::Io,
            NodeError::DamagedKey { .. } => NodeErrorKind::Corrupt,
            NodeError::TooLarge { .. }
            | NodeError::OutIsDirectory { .. }
            | NodeError::OutNotEmpty { .. }
            | NodeError::OutDirMissing { .. } => NodeErrorKind::Invalid,
            NodeError::Stopped => NodeErrorKind::Stopped,
            NodeError::NetworkOff
            | NodeError::NetStart { .. }
            | NodeError::Unreachable { .. }
            | NodeError::Net(_)
            | NodeError::SpawnedNetworked
            | NodeError::NothingShared { .. }
            | NodeError::PeerLeft { .. }
            | NodeError::PeerMisbehaved { .. } => NodeErrorKind::Network,
            NodeError::InvalidAddress { .. }
            | NodeError::IncompleteAddress { .. }
            | NodeError::InvalidPeerId { .. } => NodeErrorKind::Invalid,
            NodeError::Bundle(_) => NodeErrorKind::Invalid,
            NodeError::Invite(e) => {
                use InviteError as E;
                match e {
                    E::Unreachable(_)
                    | E::NotSent(_)
                    | E::Lost
                    | E::NoAnswer(_)
                    | E::NotListening => NodeErrorKind::Network,
                    E::AlreadyHere(_) | E::Busy => NodeErrorKind::State,
                    _ => NodeErrorKind::Invite,
                }
            }
        }
    }
}

/// Why joining (or creating an invite) failed. Every message says what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InviteError {
    /// The code could not be read: mistyped, incomplete, or from a newer Grove.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// The inviter checked the request and said no.
    #[error("the inviter did not let this device in: {0}")]
    Refused(Refusal),
    #[error("cannot reach the inviter at any address in the code ({0}); ask them to keep Grove running (the app open, or `grove serve`) on a network this device can reach, then join again: the code stays good until it expires")]
    Unreachable(String),
    /// The inviter was reached, but the request could not be sent on.
    #[error("the request could not be sent to the inviter ({0}); join again with the same code")]
    NotSent(#[source] Box<NetError>),
    #[error(
        "the connection to the inviter closed before it answered; join again with the same code"
    )]
    Lost,
    #[error("the inviter did not answer within {0} s; join again with the same code")]
    NoAnswer(u64),
    #[error("the inviter's answer cannot be used ({0}); nothing was added; ask for a new code")]
    BadReply(String),
    #[error("this device already holds circle {0}: there is nothing to join")]
    AlreadyHere(String),
    #[error("a join with this inviter is already under way; wait for it to finish")]
    Busy,
    #[error("this device cannot be reached by the person you invite: it is not listening for connections; keep the Grove app open, or run `grove serve`, and create the invite there")]
    NotListening,
}

// Boxed: a network error is large, and every `Result` of the node would carry its size.
impl From<NetError> for NodeError {
    fn from(e: NetError) -> Self {
        NodeError::Net(Box::new(e))
    }
}

pub type Result<T, E = NodeError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_write_failures() {
        let write = |kind: std::io::ErrorKind| NodeError::WriteFile {
            path: "/tmp/export.json".into(),
            cause: std::io::Error::from(kind),
        };
        assert_eq!(
            write(std::io::ErrorKind::StorageFull).kind(),
            NodeErrorKind::DiskFull
        );
        assert_eq!(
            write(std::io::ErrorKind::PermissionDenied).kind(),
            NodeErrorKind::Io
        );
        // The typed cause stays reachable, and the message still names it.
        let e = write(std::io::ErrorKind::PermissionDenied);
        assert!(e.to_string().starts_with("cannot write /tmp/export.json: "));
        assert!(matches!(&e, NodeError::WriteFile { cause, .. }
            if cause.kind() == std::io::ErrorKind::PermissionDenied));
    }

    /// The cause under `e`, as a chain printer or a caller matching on it finds it.
    fn source_of(e: &NodeError) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(e)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn network_failures_keep_their_cause_and_say_what_to_do() {
        // A real node on loopback dialling a port nobody listens on (port 1 is privileged
        // and unused here): the dial error of grove-net stays reachable.
        let node = crate::Node::builder()
            .in_memory()
            .network(true)
            .mdns(false)
            .listen("/ip4/127.0.0.1/tcp/0")
            .start()
            .await
            .unwrap();
        let e = node.dial("/ip4/127.0.0.1/tcp/1").await.unwrap_err();
        let NodeError::Unreachable { cause, .. } = &e else {
            panic!("not an unreachable peer: {e:?}");
        };
        assert!(matches!(**cause, NetError::Dial { .. }), "{cause:?}");
        assert_eq!(e.kind(), NodeErrorKind::Network);
        assert!(e.to_string().contains("/ip4/127.0.0.1/tcp/1"), "{e}");
        assert_eq!(
            source_of(&e).map(|s| s.to_string()),
            Some(cause.to_string()),
            "the dial's own error is the source"
        );

        let e = node.disconnect("not-a-peer").await.unwrap_err();
        assert!(matches!(e, NodeError::InvalidPeerId { .. }), "{e:?}");
        assert_eq!(e.kind(), NodeErrorKind::Invalid);
        assert!(source_of(&e).is_some_and(|s| s.downcast_ref::<PeerIdParseError>().is_some()));

        let e = node.dial("/ip4/127.0.0.1/tcpp/1").await.unwrap_err();
        assert!(matches!(e, NodeError::InvalidAddress { .. }), "{e:?}");
        assert_eq!(e.kind(), NodeErrorKind::Invalid);
        assert!(source_of(&e).is_some_and(|s| s.downcast_ref::<AddrParseError>().is_some()));
        node.stop().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_port_taken_fails_the_start_with_the_listen_error() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let e = crate::Node::builder()
            .in_memory()
            .network(true)
            .mdns(false)
            .listen(format!("/ip4/127.0.0.1/tcp/{port}"))
            .start()
            .await
            .err()
            .expect("a taken port fails the start");
        let NodeError::NetStart { cause } = &e else {
            panic!("not a failed start: {e:?}");
        };
        assert!(matches!(**cause, NetError::Listen { .. }), "{cause:?}");
        assert_eq!(e.kind(), NodeErrorKind::Network);
        assert_eq!(
            source_of(&e).map(|s| s.to_string()),
            Some(cause.to_string())
        );
    }
}
