//! What the session machine knows of one connected peer.

use std::collections::BTreeSet;

use super::access::Tag;

/// One peer's link: the connection it belongs to and how far its hello exchange has come.
#[derive(Debug, Clone)]
pub struct Link<C> {
    /// The connection (the transport's session) this link belongs to: frames read on
    /// another one are from a sync that is over.
    pub(super) conn: C,
    /// The circle tags of the peer's hello, once it arrived.
    pub(super) theirs: Option<BTreeSet<Tag>>,
    /// Circles our last hello to the peer named (those it is a member device of).
    pub(super) offered: BTreeSet<String>,
    /// Whether we sent the peer a hello on this link yet (the first one is fresh).
    pub(super) hello_sent: bool,
    /// Whether we asked the peer to start over since its last hello (see
    /// [`super::Sessions`]'s rule on sync frames before a hello).
    pub(super) asked: bool,
    /// Circles synced with the peer (held by both), as handed to the engine.
    pub(super) shared: BTreeSet<String>,
    /// Shared circles known to be in sync right now.
    pub(super) synced: BTreeSet<String>,
}

impl<C> Link<C> {
    pub(super) fn new(conn: C) -> Self {
        Link {
            conn,
            theirs: None,
            offered: BTreeSet::new(),
            hello_sent: false,
            asked: false,
            shared: BTreeSet::new(),
            synced: BTreeSet::new(),
        }
    }

    /// Whether we greeted the peer on this link and its hello has not come.
    pub(super) fn unanswered(&self) -> bool {
        self.hello_sent && self.theirs.is_none()
    }

    /// The connection this link belongs to.
    pub fn conn(&self) -> &C {
        &self.conn
    }

    /// Whether the peer's hello arrived on this link.
    pub fn heard(&self) -> bool {
        self.theirs.is_some()
    }

    /// The circles synced with the peer.
    pub fn shared(&self) -> &BTreeSet<String> {
        &self.shared
    }

    /// The shared circles known to be in sync right now.
    pub fn synced(&self) -> &BTreeSet<String> {
        &self.synced
    }

    /// The circles our last hello offered the peer.
    pub fn offered(&self) -> &BTreeSet<String> {
        &self.offered
    }
}
