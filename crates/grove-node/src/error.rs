//! The one error type every Grove client sees. Messages are meant for people: they say what
//! went wrong and what to do, without naming CLI flags or buttons.

use grove_core::{CodeError, CoreError, ErrorKind, Refusal};
use grove_store::{StoreError, StoreErrorKind};

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
    #[error("{0}")]
    Io(String),
    #[error("the Grove node has stopped; restart Grove")]
    Stopped,
    #[error("this Grove node runs without networking; start one with networking (`grove serve`) to reach peers")]
    NetworkOff,
    #[error("`{addr}` is not a network address ({reason}); write it as a multiaddr, e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…")]
    InvalidAddress { addr: String, reason: String },
    #[error("{0}")]
    Net(String),
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
            NodeError::Io(_)
            | NodeError::ReadFile { .. }
            | NodeError::WriteFile { .. }
            | NodeError::Encode { .. }
            | NodeError::ControlUnreachable { .. }
            | NodeError::ControlSocket { .. }
            | NodeError::ControlReply { .. }
            | NodeError::Search { .. } => NodeErrorKind::Io,
            NodeError::TooLarge { .. } => NodeErrorKind::Invalid,
            NodeError::Stopped => NodeErrorKind::Stopped,
            NodeError::NetworkOff | NodeError::Net(_) => NodeErrorKind::Network,
            NodeError::InvalidAddress { .. } => NodeErrorKind::Invalid,
            NodeError::Bundle(_) => NodeErrorKind::Invalid,
            NodeError::Invite(e) => {
                use InviteError as E;
                match e {
                    E::Unreachable(_) | E::Lost | E::NoAnswer(_) | E::NotListening => {
                        NodeErrorKind::Network
                    }
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
}
