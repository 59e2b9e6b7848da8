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
//! JOIN layout: `version: u8 = 1`, circle id, invite id, member id (each u8 length +
//! ASCII), name (u16 BE length + UTF-8), device key (32 bytes), fresh (u8 0/1), proof
//! (32 bytes), nothing after. JOIN_REPLY: `version: u8 = 1`, then `0` + member id (u8
//! length + ASCII) + kind (`0` member, `1` device) + circle archive (the rest), or `1` +
//! refusal code (u8) + message (u16 BE length + UTF-8).

use std::collections::HashMap;
use std::time::Duration;

use grove_core::session::CONTROL_CIRCLE;
use grove_core::{
    archive, invite_verifier, join_proof, Circle, CodeError, Invite, InviteCode, InviteKind,
    JoinRequest, Refusal, Timestamp, CORE_DOC, JOIN_PROOF_LEN, MAX_CODE_ADDRS,
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

/// The wire doc id of a join request, and of its answer.
pub(crate) const JOIN_DOC: &str = "join";
pub(crate) const JOIN_REPLY_DOC: &str = "join-reply";
const VERSION: u8 = 1;
/// Far above any honest request (ids, a name, a key, a proof); bounds what a stranger's
/// frame can make us decode.
const MAX_JOIN_LEN: usize = 1024;
const MAX_ID: usize = 128;
const MAX_NAME: usize = 256;
const MAX_MESSAGE: usize = 1024;
/// Join requests one peer may send before it is dropped, and how many of them may fail for
/// want of the secret: an honest joiner needs one, or a few after lost answers.
const MAX_ATTEMPTS: u8 = 6;
const MAX_BAD_ATTEMPTS: u8 = 3;
/// Peers whose attempts are remembered at once; beyond that the record starts afresh.
const MAX_TRACKED: usize = 4096;
/// Join requests a node checks in a burst, from all peers together: fresh peer ids cost
/// nothing, so per-peer limits alone do not bound how often strangers are answered. Past
/// it, a request is answered "busy" unchecked (see [`Refusal::Busy`]).
pub const JOIN_BURST: u32 = 20;
/// How often the burst allowance grows back by one request (20 a minute at most, after a
/// burst): far more than people joining ever need, far less than a guessing machine wants.
pub const JOIN_REFILL: Duration = Duration::from_secs(3);
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

#[derive(Default, Clone, Copy)]
struct Attempts {
    total: u8,
    bad: u8,
}

/// The join state of a node: its own joins in flight, and strangers' attempts.
#[derive(Default)]
pub(crate) struct Joins {
    pending: HashMap<PeerId, Pending>,
    attempts: HashMap<PeerId, Attempts>,
    allowance: Allowance,
}

/// A token bucket over the node's clock: [`JOIN_BURST`] requests, one more every
/// [`JOIN_REFILL`].
#[derive(Default)]
struct Allowance {
    /// Requests left, and when the bucket was last filled up to now; None before the first.
    left: u32,
    filled_at: Option<Timestamp>,
}

impl Allowance {
    /// Takes one request from the allowance at `now`, if any is left.
    fn take(&mut self, now: Timestamp) -> bool {
        let every = i64::try_from(JOIN_REFILL.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        match self.filled_at {
            None => {
                self.left = JOIN_BURST;
                self.filled_at = Some(now);
            }
            // A clock set back starts the wait afresh rather than stopping refills.
            Some(at) if now.0 < at.0 => self.filled_at = Some(now),
            Some(at) => {
                let grown = now.0.saturating_sub(at.0) / every;
                if grown > 0 {
                    let grown = u32::try_from(grown).unwrap_or(u32::MAX);
                    self.left = self.left.saturating_add(grown).min(JOIN_BURST);
                    self.filled_at = Some(Timestamp(
                        at.0.saturating_add(i64::from(grown).saturating_mul(every)),
                    ));
                }
            }
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

/// A successful admission: the member admitted, whether by a device link, and the whole
/// circle for the joiner.
type Admission = (String, bool, Vec<u8>);

/// A decoded JOIN frame.
#[derive(Debug, PartialEq, Eq)]
struct JoinFrame {
    circle: String,
    invite: String,
    member: String,
    name: String,
    device: [u8; 32],
    fresh: bool,
    proof: [u8; JOIN_PROOF_LEN],
}

#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Admitted {
        member: String,
        link: bool,
        archive: Vec<u8>,
    },
    Refused {
        code: u8,
        message: String,
    },
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
                let addrs: Vec<Vec<u8>> = s
                    .addresses_to_announce()
                    .iter()
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
    /// A stranger (or member) asks to be admitted with an invite.
    pub(crate) fn on_join(&mut self, peer: PeerId, payload: &[u8]) {
        if self.joins.attempts.len() >= MAX_TRACKED && !self.joins.attempts.contains_key(&peer) {
            self.joins.attempts.clear();
        }
        let tries = self.joins.attempts.entry(peer).or_default();
        tries.total = tries.total.saturating_add(1);
        if tries.total > MAX_ATTEMPTS {
            return self.misbehaved(peer, "sent too many join requests".into());
        }
        let request = match decode_join(payload) {
            Ok(r) => r,
            Err(why) => {
                return self.misbehaved(peer, format!("sent an invalid join request: {why}"))
            }
        };
        match grove_net::peer_id_from_ed25519_public(request.device) {
            Ok(p) if p == peer => {}
            _ => {
                return self.misbehaved(
                    peer,
                    "asked to join with a device key that is not its own".into(),
                )
            }
        }
        let now = self.now();
        if !self.joins.allowance.take(now) {
            info!(%peer, "too many join requests at once; asking the joiner to come back later");
            let busy = Reply::Refused {
                code: refusal_code(&Refusal::Busy),
                message: Refusal::Busy.to_string(),
            };
            return self.send_frame(
                peer,
                Frame::new(CONTROL_CIRCLE, JOIN_REPLY_DOC, encode_reply(&busy)),
            );
        }
        let reply = match self.admit(&request) {
            Ok(Ok((member, link, archive))) => {
                info!(%peer, circle = %request.circle, %member, "admitted by invite");
                Reply::Admitted {
                    member,
                    link,
                    archive,
                }
            }
            Ok(Err(refusal)) => {
                info!(%peer, circle = %request.circle, %refusal, "refused a join");
                if matches!(
                    refusal,
                    Refusal::Unknown | Refusal::BadProof | Refusal::Malformed(_)
                ) {
                    let tries = self.joins.attempts.entry(peer).or_default();
                    tries.bad = tries.bad.saturating_add(1);
                    if tries.bad > MAX_BAD_ATTEMPTS {
                        return self.misbehaved(
                            peer,
                            "sent too many join requests without the invite's secret".into(),
                        );
                    }
                }
                refusal_answer(refusal)
            }
            Err(e) => {
                warn!(%peer, error = %e, "could not admit a joiner");
                Reply::Refused {
                    code: 0,
                    message: format!(
                        "the inviter's device could not admit you ({e}); try again later"
                    ),
                }
            }
        };
        self.send_frame(
            peer,
            Frame::new(CONTROL_CIRCLE, JOIN_REPLY_DOC, encode_reply(&reply)),
        );
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
        Ok(Ok((admitted.member, link, archive)))
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
        if let Some(tries) = self.joins.attempts.get_mut(peer) {
            tries.total = 0;
        }
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
                let _ = self.store.delete_circle(&id);
                return Err(e);
            }
        }
        self.compact_all(&id)?;
        Ok(id)
    }
}

/// The answer to a refused join. An unknown invite is told in the very words of a wrong
/// secret, not only with its code: a modified joiner reads the words too.
fn refusal_answer(refusal: Refusal) -> Reply {
    let refusal = match refusal {
        Refusal::Unknown => Refusal::BadProof,
        other => other,
    };
    Reply::Refused {
        code: refusal_code(&refusal),
        message: refusal.to_string(),
    }
}

fn refusal_code(r: &Refusal) -> u8 {
    match r {
        // One answer for both, so a stranger cannot tell which invites (or circles) this
        // node holds: code 1 is only read from older inviters.
        Refusal::Unknown | Refusal::BadProof => 2,
        Refusal::Expired => 3,
        Refusal::UsedUp => 4,
        Refusal::Revoked => 5,
        Refusal::MemberTaken(_) => 6,
        Refusal::DeviceInUse => 7,
        Refusal::Malformed(_) => 8,
        Refusal::Removed => 9,
        Refusal::Busy => 10,
        _ => 0,
    }
}

/// Our own wording for refusals we know; the inviter's for others (a newer Grove's).
fn refusal_from(code: u8, message: String, me: &str) -> Refusal {
    match code {
        1 => Refusal::Unknown,
        2 => Refusal::BadProof,
        3 => Refusal::Expired,
        4 => Refusal::UsedUp,
        5 => Refusal::Revoked,
        6 => Refusal::MemberTaken(me.to_string()),
        7 => Refusal::DeviceInUse,
        9 => Refusal::Removed,
        10 => Refusal::Busy,
        _ => Refusal::Malformed(clean(&message)),
    }
}

/// A remote message made safe to show: no control characters, bounded.
fn clean(message: &str) -> String {
    message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE)
        .collect()
}

fn encode_join(f: &JoinFrame) -> Vec<u8> {
    let mut out = vec![VERSION];
    for id in [&f.circle, &f.invite, &f.member] {
        out.push(id.len().min(MAX_ID) as u8);
        out.extend_from_slice(&id.as_bytes()[..id.len().min(MAX_ID)]);
    }
    let name = truncate(&f.name, MAX_NAME);
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&f.device);
    out.push(u8::from(f.fresh));
    out.extend_from_slice(&f.proof);
    out
}

fn decode_join(bytes: &[u8]) -> std::result::Result<JoinFrame, &'static str> {
    if bytes.len() > MAX_JOIN_LEN {
        return Err("too long");
    }
    let mut r = Reader(bytes);
    if r.take(1)? != [VERSION] {
        return Err("unsupported version");
    }
    let circle = r.id()?;
    let invite = r.id()?;
    let member = r.id()?;
    let name_len = usize::from(u16::from_be_bytes(r.array()?));
    if name_len > MAX_NAME {
        return Err("name too long");
    }
    let name = std::str::from_utf8(r.take(name_len)?)
        .map_err(|_| "name is not UTF-8")?
        .to_string();
    let device = r.array()?;
    let fresh = match r.take(1)?[0] {
        0 => false,
        1 => true,
        _ => return Err("bad flag"),
    };
    let proof = r.array()?;
    if !r.0.is_empty() {
        return Err("unexpected bytes at the end");
    }
    Ok(JoinFrame {
        circle,
        invite,
        member,
        name,
        device,
        fresh,
        proof,
    })
}

fn encode_reply(reply: &Reply) -> Vec<u8> {
    let mut out = vec![VERSION];
    match reply {
        Reply::Admitted {
            member,
            link,
            archive,
        } => {
            out.push(0);
            out.push(member.len().min(MAX_ID) as u8);
            out.extend_from_slice(&member.as_bytes()[..member.len().min(MAX_ID)]);
            out.push(u8::from(*link));
            out.extend_from_slice(archive);
        }
        Reply::Refused { code, message } => {
            out.push(1);
            out.push(*code);
            let message = truncate(message, MAX_MESSAGE);
            out.extend_from_slice(&(message.len() as u16).to_be_bytes());
            out.extend_from_slice(message.as_bytes());
        }
    }
    out
}

fn decode_reply(bytes: &[u8]) -> std::result::Result<Reply, &'static str> {
    let mut r = Reader(bytes);
    if r.take(1)? != [VERSION] {
        return Err("unsupported version");
    }
    match r.take(1)?[0] {
        0 => {
            let member = r.id()?;
            let link = match r.take(1)?[0] {
                0 => false,
                1 => true,
                _ => return Err("bad kind"),
            };
            Ok(Reply::Admitted {
                member,
                link,
                archive: r.0.to_vec(),
            })
        }
        1 => {
            let code = r.take(1)?[0];
            let len = usize::from(u16::from_be_bytes(r.array()?));
            if len > MAX_MESSAGE {
                return Err("message too long");
            }
            let message = String::from_utf8_lossy(r.take(len)?).into_owned();
            if !r.0.is_empty() {
                return Err("unexpected bytes at the end");
            }
            Ok(Reply::Refused { code, message })
        }
        _ => Err("unknown answer"),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("truncated");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], &'static str> {
        self.take(N)?.try_into().map_err(|_| "truncated")
    }

    fn id(&mut self) -> std::result::Result<String, &'static str> {
        let len = usize::from(self.take(1)?[0]);
        let id = self.take(len)?;
        let ok = !id.is_empty()
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            return Err("an id is empty or not plain text");
        }
        Ok(String::from_utf8_lossy(id).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> JoinFrame {
        JoinFrame {
            circle: "c-0123456789".into(),
            invite: "i-abcdefghjk".into(),
            member: "m-abc".into(),
            name: "Bea Zoë".into(),
            device: [3; 32],
            fresh: true,
            proof: [4; 32],
        }
    }

    #[test]
    fn an_unknown_invite_and_a_wrong_secret_are_the_same_bytes_on_the_wire() {
        assert_eq!(
            encode_reply(&refusal_answer(Refusal::Unknown)),
            encode_reply(&refusal_answer(Refusal::BadProof))
        );
        assert_ne!(
            encode_reply(&refusal_answer(Refusal::Expired)),
            encode_reply(&refusal_answer(Refusal::BadProof))
        );
    }

    #[test]
    fn join_frames_roundtrip_and_malformed_ones_are_refused() {
        let bytes = encode_join(&sample());
        assert_eq!(decode_join(&bytes).unwrap(), sample());
        assert!(decode_join(&bytes[..bytes.len() - 1]).is_err(), "truncated");
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_join(&extra).is_err(), "trailing");
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(decode_join(&v2).is_err(), "version");
        assert!(
            decode_join(&vec![1; MAX_JOIN_LEN + 1]).is_err(),
            "oversized"
        );
        let mut bad_id = sample();
        bad_id.circle = "c/../x".into();
        assert!(decode_join(&encode_join(&bad_id)).is_err());
    }

    #[test]
    fn replies_roundtrip() {
        for reply in [
            Reply::Admitted {
                member: "m-x".into(),
                link: true,
                archive: vec![1, 2, 3],
            },
            Reply::Refused {
                code: 3,
                message: "expired".into(),
            },
        ] {
            assert_eq!(decode_reply(&encode_reply(&reply)).unwrap(), reply);
        }
        assert!(decode_reply(&[1, 9]).is_err());
        assert!(decode_reply(&[]).is_err());
    }

    #[test]
    fn remote_refusal_text_is_cleaned() {
        let r = refusal_from(99, "bad\u{1b}[31m news\n".into(), "m-me");
        assert_eq!(r, Refusal::Malformed("bad[31m news".into()));
        assert_eq!(
            refusal_from(6, String::new(), "m-me"),
            Refusal::MemberTaken("m-me".into())
        );
    }

    #[test]
    fn the_join_allowance_is_a_burst_that_grows_back_with_time() {
        let mut a = Allowance::default();
        let t0 = Timestamp(1_000_000);
        for _ in 0..JOIN_BURST {
            assert!(a.take(t0));
        }
        assert!(!a.take(t0), "the burst is spent");
        let every = JOIN_REFILL.as_millis() as i64;
        assert!(!a.take(Timestamp(t0.0 + every - 1)), "not yet");
        assert!(a.take(Timestamp(t0.0 + every)), "one more after one refill");
        assert!(!a.take(Timestamp(t0.0 + every)));
        // A long pause refills up to the burst, no further.
        let later = Timestamp(t0.0 + 1000 * every);
        for _ in 0..JOIN_BURST {
            assert!(a.take(later));
        }
        assert!(!a.take(later));
        // A clock set back neither refills nor stops refilling for good.
        assert!(!a.take(t0));
        assert!(a.take(Timestamp(t0.0 + every)));
        assert!(!a.take(Timestamp(i64::MIN)));
        assert!(a.take(Timestamp(i64::MAX)));
    }

    #[test]
    fn unknown_invites_and_wrong_secrets_travel_as_one_answer() {
        assert_eq!(
            refusal_code(&Refusal::Unknown),
            refusal_code(&Refusal::BadProof)
        );
        assert_eq!(
            refusal_from(refusal_code(&Refusal::Unknown), String::new(), "m-me"),
            Refusal::BadProof
        );
        assert_eq!(
            refusal_from(refusal_code(&Refusal::Busy), String::new(), "m-me"),
            Refusal::Busy
        );
    }

    #[test]
    fn decoding_garbage_never_panics() {
        let mut seed = 7u64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 33) as u8
                })
                .collect();
            let _ = decode_join(&bytes);
            let _ = decode_reply(&bytes);
        }
    }
}
