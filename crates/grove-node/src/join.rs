//! Joining a circle with an invite code, and admitting someone who does.
//!
//! The joiner decodes the code (a mistyped code fails here, before any traffic), dials the
//! inviter's addresses (the dial names the inviter's peer id, and Noise proves the peer
//! holds that key), and sends a JOIN control frame: circle, invite, who it is, and a proof
//! that it knows the secret, bound to both devices (see `grove_core::join_proof`). Any node
//! holding the circle and the invite checks it, admits the joiner and records the use in
//! one change, and answers JOIN_REPLY with the whole circle, or a refusal saying why. The
//! joiner imports the circle only if the answer comes from the inviter it asked, holds the
//! circle of the code, and lists this device as admitted; then normal sync runs.
//!
//! A failed join leaves nothing behind: the secret is never stored, and the circle is only
//! written once everything checked out.
//!
//! The frames, and the rules a stranger's request meets before it is checked (its limits,
//! its device key), are the session machine's: see `crates/grove-core/src/session/join.rs`.
//! Here is the joiner's side; the check against the circle is `state/admission.rs`.

use std::time::Duration;

use grove_core::session::join::encode_join;
pub use grove_core::session::join::{JOIN_BURST, JOIN_REFILL};
use grove_core::session::{JoinFrame, CONTROL_CIRCLE, JOIN};
use grove_core::{
    invite_verifier, join_proof, CodeError, Invite, InviteCode, InviteKind, Timestamp,
    MAX_CODE_ADDRS,
};
use grove_net::{Frame, Multiaddr, PeerId, Protocol};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::addr::with_peer;
use crate::error::{InviteError, NodeError, Result};
use crate::handle::{CircleHandle, NodeHandle};
use crate::pending_joins::Pending;
use crate::state::{Need, NodeState};

/// How long one address of the inviter may take to answer a dial.
const DIAL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the inviter may take to check, admit and send the circle. Generous: a large
/// circle is megabytes on a slow link.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);
/// Validity of a device link: long enough to walk to the other device.
const DEVICE_LINK_VALID: Duration = Duration::from_secs(60 * 60);

/// A new invite: what to hand the person joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewInvite {
    pub id: String,
    /// The code to share (`grove1…`), as text or a QR code. It holds the secret: share it
    /// only with the person it is for.
    pub code: String,
    pub circle: String,
    pub kind: InviteKind,
    pub expires_at: Option<Timestamp>,
    pub max_uses: u32,
}

impl NodeHandle {
    /// Joins the circle an invite code names: checks the code, asks the inviter to admit
    /// this device (as a new member named `name`, by default this device's display name,
    /// or as another device of the member who made a device link), then imports the
    /// circle. Returns the circle id. Needs networking. Cancel-safe: a join given up on
    /// imports nothing, even if the answer comes later.
    pub async fn join(&self, code: &str, name: Option<String>) -> Result<String> {
        let code = InviteCode::decode(code).map_err(InviteError::Code)?;
        let inviter = PeerId::from_bytes(&code.inviter)
            .map_err(|_| InviteError::Code(CodeError::Malformed("the inviter is not a peer id")))?;
        let inviter_key = grove_net::ed25519_public_from_peer_id(&inviter).ok_or(
            InviteError::Code(CodeError::Malformed("the inviter has no device key")),
        )?;
        let admitting = data_encoding::HEXLOWER.encode(&inviter_key);
        let circle = code.circle.clone();
        let (client, request) = {
            let circle = circle.clone();
            let invite = code.invite.clone();
            let verifier = invite_verifier(&code.invite, &code.secret);
            self.run(move |s| {
                let client = s
                    .net
                    .as_ref()
                    .map(|n| n.client.clone())
                    .ok_or(NodeError::NetworkOff)?;
                let held = s.circle_ids()?;
                if held.contains(&circle) {
                    return Err(InviteError::AlreadyHere(circle).into());
                }
                let device = s.identity.device();
                let proof = join_proof(&verifier, &invite, &device, &admitting);
                let name = name
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| s.identity.name.clone());
                let frame = JoinFrame {
                    circle,
                    invite,
                    member: s.identity.member(),
                    name,
                    device: device_bytes(&s.identity.secret()),
                    fresh: held.is_empty(),
                    proof,
                };
                Ok((client, encode_join(&frame)))
            })
            .await?
        };
        reach(&client, inviter, &code.addrs).await?;
        let (tx, rx) = oneshot::channel();
        self.run(move |s| {
            if s.joins
                .pending
                .get(&inviter)
                .is_some_and(|p| !p.reply.is_closed())
            {
                return Err(InviteError::Busy.into());
            }
            s.joins
                .pending
                .insert(inviter, Pending { circle, reply: tx });
            s.joining_through(inviter, true);
            Ok(())
        })
        .await?;
        let _forget = ForgetOnDrop {
            node: self.clone(),
            peer: inviter,
        };
        client
            .send(inviter, Frame::new(CONTROL_CIRCLE, JOIN, request))
            .await
            .map_err(|e| InviteError::NotSent(Box::new(e)))?;
        match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
            Ok(answer) => answer.map_err(|_| NodeError::Stopped)?,
            Err(_) => Err(InviteError::NoAnswer(ANSWER_TIMEOUT.as_secs()).into()),
        }
    }
}

/// Removes a pending join whose caller went away, so a late answer imports nothing.
struct ForgetOnDrop {
    node: NodeHandle,
    peer: PeerId,
}

impl Drop for ForgetOnDrop {
    fn drop(&mut self) {
        let peer = self.peer;
        // Full queue or stopped node: the pending entry's closed channel already keeps a
        // late answer from being imported.
        let _ = self.node.jobs.try_send(Box::new(move |s: &mut NodeState| {
            if s.joins
                .pending
                .get(&peer)
                .is_some_and(|p| p.reply.is_closed())
            {
                s.joins.pending.remove(&peer);
                s.joining_through(peer, false);
            }
        }));
    }
}

/// Dials the inviter at the code's addresses until one answers as the inviter.
async fn reach(client: &grove_net::Client, inviter: PeerId, addrs: &[Vec<u8>]) -> Result<()> {
    let mut tried = Vec::new();
    for bytes in addrs {
        let Ok(addr) = Multiaddr::try_from(bytes.clone()) else {
            tried.push("an address this Grove cannot read".to_string());
            continue;
        };
        let addr = with_peer(addr, inviter);
        match tokio::time::timeout(DIAL_TIMEOUT, client.dial(addr.clone())).await {
            Ok(Ok(peer)) if peer == inviter => return Ok(()),
            Ok(Ok(peer)) => tried.push(format!("{addr} answered as {peer}")),
            Ok(Err(e)) => tried.push(format!("{addr}: {e}")),
            Err(_) => tried.push(format!("{addr}: no answer in {} s", DIAL_TIMEOUT.as_secs())),
        }
    }
    if tried.is_empty() {
        tried.push("the code lists no address".into());
    }
    Err(InviteError::Unreachable(tried.join("; ")).into())
}

fn device_bytes(secret: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(secret)
        .verifying_key()
        .to_bytes()
}

impl CircleHandle {
    /// Creates an invite for a new member: `uses` people may join with the code, until
    /// `expires_in` has passed (never, if `None`). The code carries this node's addresses,
    /// so it needs a node that listens (the app, or `grove serve`).
    pub async fn create_invite(
        &self,
        expires_in: Option<Duration>,
        uses: u32,
    ) -> Result<NewInvite> {
        self.invite(expires_in, uses, false).await
    }

    /// Creates a code that adds another device to this device's member (one use, valid
    /// for an hour): join with it on the new device.
    pub async fn create_device_link(&self) -> Result<NewInvite> {
        self.invite(Some(DEVICE_LINK_VALID), 1, true).await
    }

    async fn invite(
        &self,
        expires_in: Option<Duration>,
        uses: u32,
        link: bool,
    ) -> Result<NewInvite> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let peer = s
                    .net
                    .as_ref()
                    .map(|n| n.client.local_peer_id())
                    .ok_or(InviteError::NotListening)?;
                // A device behind NAT is reachable from outside its network only through a
                // relay: its relayed address goes in too (last, as the slowest path), or the
                // code would only work on its own LAN. The relay lets through only its
                // circles' member devices, so such a code works for someone already a
                // member of a circle the relay holds (a member's second circle, a device
                // link).
                let relayed = s.relayed_addresses();
                let direct_room = MAX_CODE_ADDRS - relayed.len().min(1);
                let addrs: Vec<Vec<u8>> = s
                    .addresses_to_announce()
                    .into_iter()
                    .take(direct_room)
                    .chain(relayed)
                    .filter_map(|a| a.parse::<Multiaddr>().ok())
                    .map(without_peer)
                    .map(|a| a.to_vec())
                    .take(MAX_CODE_ADDRS)
                    .collect();
                if addrs.is_empty() {
                    return Err(InviteError::NotListening.into());
                }
                let now = s.now();
                let expires_at = expires_in.map(|d| {
                    Timestamp(
                        now.0
                            .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                    )
                });
                let (id, secret, circle, kind) =
                    s.mutate(sel.as_deref(), Need::Core, |c, ctx| {
                        let kind = if link {
                            InviteKind::Device {
                                member: ctx.member.clone(),
                            }
                        } else {
                            InviteKind::Member
                        };
                        let (id, secret) = c.create_invite(ctx, expires_at, uses, kind.clone())?;
                        Ok((id, secret, c.id().to_string(), kind))
                    })?;
                let code = InviteCode {
                    circle: circle.clone(),
                    inviter: peer.to_bytes(),
                    addrs,
                    invite: id.clone(),
                    secret,
                };
                let text = code.encode().map_err(InviteError::Code)?;
                Ok(NewInvite {
                    id,
                    code: text,
                    circle,
                    kind,
                    expires_at,
                    max_uses: uses,
                })
            })
            .await
    }

    /// Every invite of the circle, oldest first, with its state now.
    pub async fn invites(&self) -> Result<Vec<Invite>> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let now = s.now();
                s.query(sel.as_deref(), Need::Core, |c, _| c.invites(now))
            })
            .await
    }

    /// Revokes an invite: nobody joins with its code any more, on any member's device once
    /// synced.
    pub async fn revoke_invite(&self, id: String) -> Result<()> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                s.mutate(sel.as_deref(), Need::Core, |c, ctx| {
                    c.revoke_invite(ctx, &id)
                })
            })
            .await
    }
}

fn without_peer(mut addr: Multiaddr) -> Multiaddr {
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}
