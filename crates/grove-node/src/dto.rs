//! Views the API returns beyond the core's own entities (which are DTOs already).

use grove_core::{CircleInfo, Decision, Principle, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleSummary {
    #[serde(flatten)]
    pub info: CircleInfo,
    pub members: usize,
    pub values: usize,
    /// Months that have decisions.
    pub months: usize,
}

/// This device and the member it acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Me {
    pub member: String,
    /// The device's public key (hex).
    pub device: String,
    pub name: String,
}

/// A member with its role and removal (`grove member list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberListing {
    #[serde(flatten)]
    pub member: grove_core::Member,
    /// `steward`, or none.
    pub role: Option<String>,
    pub removed_at: Option<Timestamp>,
    pub removed_by: Option<String>,
    /// Its devices that were revoked (lost or seized): refused from then on.
    pub revoked: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrincipleView {
    #[serde(flatten)]
    pub principle: Principle,
    /// How many decisions cite it.
    pub citations: usize,
}

/// A peer this node is connected to or has synced with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PeerStatus {
    /// The peer's network identity (libp2p peer id).
    pub peer: String,
    /// The display name of the member whose device the peer is, as a circle shared with
    /// it records them; none for a device no shared circle lists.
    pub member: Option<String>,
    pub connected: bool,
    /// The address of the current connection.
    pub addr: Option<String>,
    /// Sync payload bytes sent to and received from the peer on the current connection.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Circles shared with the peer, now or in an earlier connection.
    pub circles: Vec<PeerCircle>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PeerCircle {
    pub circle: String,
    /// Known to be identical on both sides right now.
    pub in_sync: bool,
    /// When the circle was last known to be in sync with the peer.
    pub last_sync: Option<Timestamp>,
}

/// The outcome of a completed [`crate::NodeHandle::sync_with`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub peer: String,
    /// The circles now in sync with the peer.
    pub circles: Vec<String>,
}

/// This node on the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NetInfo {
    pub peer: String,
    /// Addresses to dial this node at, each ending in `/p2p/<peer>`.
    pub addrs: Vec<String>,
}

/// A window of the filtered log ([`crate::CircleHandle::decision_page`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionPage {
    /// Decisions matching the filter (a lower bound while `complete` is false).
    pub total: usize,
    /// Of those, how many this device's member has not read (same caveat).
    pub unread: usize,
    /// Whether every month the filter can match was counted.
    pub complete: bool,
    /// The decisions at the asked positions, newest first.
    pub rows: Vec<Decision>,
}

/// What a live view needs to know to refresh itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum NodeEvent {
    /// Documents of a circle changed (a local change or a peer's).
    CircleChanged { circle: String, docs: Vec<String> },
    /// The node listens on a new address.
    Listening { addr: String },
    /// A peer said hello; `circles` are the circles both hold, which are now being synced.
    PeerConnected { peer: String, circles: Vec<String> },
    /// The connection to a peer closed.
    PeerDisconnected { peer: String },
    /// A circle is now identical on this node and the peer.
    PeerSynced { peer: String, circle: String },
    /// A peer broke the protocol and was disconnected; others are served as before.
    PeerMisbehaved { peer: String, reason: String },
}
