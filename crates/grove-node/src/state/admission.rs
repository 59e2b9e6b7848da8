//! Admitting someone who joins with an invite, and taking in the inviter's answer to our
//! own join (see `join.rs` for the joiner's side, `crates/grove-core/src/session/join.rs`
//! for the frames and the limits a stranger's request meets first).

use grove_core::session::join::{decode_reply, refusal_from, Reply};
use grove_core::session::{Admission, Input, JoinFrame};
use grove_core::{archive, Circle, InviteKind, JoinRequest, Refusal, CORE_DOC};
use grove_net::PeerId;
use tracing::{debug, info, warn};

use super::import::merge_archive;
use super::{Need, NodeState};
use crate::error::{InviteError, NodeError, Result};

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
