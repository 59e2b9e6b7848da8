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
//! Here are the joiner's side and the check against the circle.

use std::collections::HashMap;
use std::time::Duration;

use grove_core::session::join::{decode_reply, encode_join, refusal_from, Reply};
pub use grove_core::session::join::{JOIN_BURST, JOIN_REFILL};
use grove_core::session::{Admission, Input, JoinFrame, CONTROL_CIRCLE, JOIN_DOC};
use grove_core::{
    archive, invite_verifier, join_proof, Circle, CodeError, Invite, InviteCode, InviteKind,
    JoinRequest, Refusal, Timestamp, CORE_DOC, MAX_CODE_ADDRS,
};
use grove_net::{Frame, Multiaddr, PeerId, Protocol};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::error::{NodeError, Result};
use crate::handle::{CircleHandle, NodeHandle};
use crate::import::merge_archive;
use crate::network::with_peer;
use crate::state::{Need, NodeState};

/// How long one address of the inviter may take to answer a dial.
const DIAL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the inviter may take to check, admit and send the circle. Generous: a large
/// circle is megabytes on a slow link.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);
/// Validity of a device link: long enough to walk to the other device.
const DEVICE_LINK_VALID: Duration = Duration::from_secs(60 * 60);

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

/// A join waiting for the inviter's answer.
pub(crate) struct Pending {
    circle: String,
    reply: oneshot::Sender<Result<String>>,
}

/// The join state of a node: its own joins in flight (strangers' attempts are the session
/// machine's).
#[derive(Default)]
pub(crate) struct Joins {
    pending: HashMap<PeerId, Pending>,
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
            .send(inviter, Frame::new(CONTROL_CIRCLE, JOIN_DOC, request))
            .await
            .map_err(|e| InviteError::Unreachable(e.to_string()))?;
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

impl NodeState {
    /// A stranger (or member) asks to be admitted with an invite; the session machine
    /// checked its limits and its device key, and sends the answer.
    pub(crate) fn on_join(&mut self, peer: PeerId, request: JoinFrame) {
        let admission = match self.admit(&request) {
            Ok(Ok(admitted)) => {
                if let Admission::Admitted { member, .. } = &admitted {
                    info!(%peer, circle = %request.circle, %member, "admitted by invite");
                }
                admitted
            }
            Ok(Err(refusal)) => {
                info!(%peer, circle = %request.circle, %refusal, "refused a join");
                Admission::Refused(refusal)
            }
            Err(e) => {
                warn!(%peer, error = %e, "could not admit a joiner");
                Admission::Failed(e.to_string())
            }
        };
        self.session_input(Input::Admission { peer, admission });
    }

    /// Checks and admits; on success the member admitted, whether it was a device link,
    /// and the whole circle for the joiner.
    fn admit(&mut self, r: &JoinFrame) -> Result<std::result::Result<Admission, Refusal>> {
        if !self.circle_ids()?.contains(&r.circle) {
            return Ok(Err(Refusal::Unknown));
        }
        let me = self.identity.device();
        let device = data_encoding::HEXLOWER.encode(&r.device);
        let request = JoinRequest {
            invite: &r.invite,
            member: &r.member,
            name: &r.name,
            device: &device,
            fresh: r.fresh,
            proof: &r.proof,
        };
        let admitted = self.mutate(Some(&r.circle), Need::Core, |c, ctx| {
            c.admit_by_invite(ctx, &request, &me)
        })?;
        let admitted = match admitted {
            Ok(a) => a,
            Err(refusal) => return Ok(Err(refusal)),
        };
        self.prepare(Some(&r.circle), &Need::All)?;
        let archive = archive::encode(self.loaded(&r.circle)?);
        let link = matches!(admitted.kind, InviteKind::Device { .. });
        Ok(Ok(Admission::Admitted {
            member: admitted.member,
            link,
            archive,
        }))
    }

    /// The inviter answered one of our joins.
    pub(crate) fn on_join_reply(&mut self, peer: PeerId, payload: &[u8]) {
        let Some(pending) = self.joins.pending.remove(&peer) else {
            return self.misbehaved(peer, "sent a join answer nobody asked for".into());
        };
        self.joining_through(peer, false);
        if pending.reply.is_closed() {
            debug!(%peer, "a join answer came after the joiner gave up; importing nothing");
            return;
        }
        let result = match decode_reply(payload) {
            Err(why) => Err(InviteError::BadReply(why.into()).into()),
            Ok(Reply::Refused { code, message }) => {
                Err(
                    InviteError::Refused(refusal_from(code, message, &self.identity.member()))
                        .into(),
                )
            }
            Ok(Reply::Admitted {
                member,
                link,
                archive,
            }) => self.import_joined(&pending.circle, &member, link, &archive),
        };
        let _ = pending.reply.send(result);
    }

    /// The peer went away: a join waiting on it fails, and its next connection may try
    /// again (wrong secrets stay counted).
    pub(crate) fn join_peer_gone(&mut self, peer: &PeerId) {
        if let Some(pending) = self.joins.pending.remove(peer) {
            self.joining_through(*peer, false);
            let _ = pending.reply.send(Err(InviteError::Lost.into()));
        }
    }

    fn import_joined(
        &mut self,
        circle: &str,
        member: &str,
        link: bool,
        data: &[u8],
    ) -> Result<String> {
        let bad = |why: String| NodeError::from(InviteError::BadReply(why));
        let docs = archive::decode_signed(data).map_err(|e| bad(e.to_string()))?;
        let core = docs
            .first()
            .filter(|d| d.key == CORE_DOC)
            .ok_or_else(|| bad("it holds no circle".into()))?;
        let incoming = Circle::from_core_bytes(&core.bytes, self.identity.actor())
            .map_err(|e| bad(e.to_string()))?;
        if incoming.id() != circle {
            return Err(bad(format!(
                "it holds circle {} instead of {circle}",
                incoming.id()
            )));
        }
        let device = self.identity.device();
        let membership = incoming.membership();
        if membership.device_member(&device).as_deref() != Some(member)
            || !membership.is_current_device(&device)
        {
            return Err(bad(
                "the circle it sent does not list this device as admitted".into(),
            ));
        }
        if !link && member != self.identity.member() {
            return Err(bad(format!(
                "it admitted member {member} instead of this device's"
            )));
        }
        let name = incoming.member_name(member);
        // Every change checked (signatures, authors' membership) before anything is kept.
        let id = merge_archive(self, &docs, Some(circle)).map_err(|e| bad(e.to_string()))?;

        if link && member != self.identity.member() {
            let store = self.store.clone();
            let linked = self
                .identity
                .set_member(store.as_ref(), member)
                .and_then(|()| self.identity.set_name(store.as_ref(), &name));
            if let Err(e) = linked {
                // Without the link the device would write as the wrong member: undo.
                self.circles.remove(&id);
                self.months.forget(&id);
                let _ = self.store.delete_circle(&id);
                return Err(e);
            }
        }
        self.compact_all(&id)?;
        Ok(id)
    }
}
