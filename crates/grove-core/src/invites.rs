//! Invites: how someone new (or a member's new device) gets into a circle.
//!
//! A member creates an invite; the core document records it under `invites/<id>` with a
//! *verifier* derived from a one-time secret (never the secret, which only travels inside
//! the code). The joiner proves knowledge of the secret to the admitting device with an
//! HMAC, keyed by the verifier, over the invite id, the joiner's device and the admitting
//! device: the secret never crosses the network, and a proof is good for one joiner at one
//! admitting device only. Uses are keys of a map (the joiner's device), so uses recorded on
//! two devices at once merge instead of overwriting each other.
//!
//! The verifier sits in the core document that every member holds, so any member device
//! can admit with it, as members may anyway; it gives an outsider nothing. Because a member
//! who is later removed held the verifiers too, removing a member revokes every invite made
//! before the removal.

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use hmac::Mac as _;
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::invite_code::INVITE_SECRET_LEN;
use crate::members::{valid_device, valid_member_id, write_device, write_member};

const INVITES: &str = "invites";
const VERIFIER_INFO: &[u8] = b"grove/invite/verifier/v1";
const PROOF_DOMAIN: &[u8] = b"grove/join/v1";
pub const JOIN_PROOF_LEN: usize = 32;
/// More uses than any one code should see; a bigger group gets several codes.
pub const MAX_INVITE_USES: u32 = 1000;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// What accepting an invite makes of the joiner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum InviteKind {
    /// A new member, with the joining device as their first device.
    Member,
    /// Another device of an existing member.
    Device { member: String },
}

/// Where an invite stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum InviteState {
    Open,
    Expired,
    UsedUp,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Invite {
    pub id: String,
    pub kind: InviteKind,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub max_uses: u32,
    /// Members admitted with it, one entry per joining device.
    pub used_by: Vec<String>,
    pub revoked: bool,
    pub state: InviteState,
}

/// Why an invite did not admit someone. Told to the joiner, so it says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Refusal {
    #[error("this invite is not known to the inviter: it was never made, or its circle is gone; ask for a new code")]
    Unknown,
    /// A wrong secret. Inviters also give this answer for an invite or circle they do not
    /// hold, so a forged code cannot tell which invites exist.
    #[error("the code does not match any invite of the inviter (a wrong or altered secret, or an invite it never made); copy the code again, or ask for a new one")]
    BadProof,
    #[error("this invite has expired; ask for a new code")]
    Expired,
    #[error("this invite has been used as many times as it allows; ask for a new code")]
    UsedUp,
    #[error("this invite was revoked; ask for a new code")]
    Revoked,
    #[error("member {0} is already in this circle with other devices; to add this device, have them create a device link")]
    MemberTaken(String),
    #[error("this device already acts as another member; link a fresh Grove home, or a device of this same member")]
    DeviceInUse,
    #[error("this member was removed from the circle and cannot join again under the same id")]
    Removed,
    #[error("the joiner's request is malformed: {0}")]
    Malformed(String),
    /// The inviter is checking too many join requests at once; nothing was checked.
    #[error("the inviter is receiving too many join requests right now; join again in a minute")]
    Busy,
}

/// What a joiner asks of an admitting device.
pub struct JoinRequest<'a> {
    pub invite: &'a str,
    /// The member id the joiner acts as (for a new member).
    pub member: &'a str,
    pub name: &'a str,
    /// The joiner's device key (hex), as authenticated by the transport.
    pub device: &'a str,
    /// The joiner's home holds no circle yet, so its device can take on another member.
    pub fresh: bool,
    pub proof: &'a [u8],
}

/// Who an invite admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub member: String,
    pub kind: InviteKind,
}

/// The verifier recorded for an invite: HKDF-SHA256 of the secret, bound to the invite id.
pub fn invite_verifier(invite: &str, secret: &[u8; INVITE_SECRET_LEN]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
    let _ = hkdf::Hkdf::<sha2::Sha256>::new(Some(invite.as_bytes()), secret)
        .expand(VERIFIER_INFO, &mut out);
    out
}

/// The proof a joiner sends: HMAC-SHA256 keyed by the verifier over the domain, the invite
/// id, the joiner's device and the admitting device (each length-prefixed).
pub fn join_proof(
    verifier: &[u8; 32],
    invite: &str,
    joiner_device: &str,
    admitting_device: &str,
) -> [u8; JOIN_PROOF_LEN] {
    proof_mac(verifier, invite, joiner_device, admitting_device)
        .finalize()
        .into_bytes()
        .into()
}

fn proof_mac(verifier: &[u8; 32], invite: &str, joiner: &str, admitter: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(verifier)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(PROOF_DOMAIN);
    for part in [invite, joiner, admitter] {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

impl Circle {
    /// Records a new invite; returns its id and the one-time secret for the code. The
    /// secret comes from `ctx.rng`, which must be a CSPRNG outside tests. A device link
    /// (`InviteKind::Device`) can only be made for the acting member.
    pub fn create_invite(
        &mut self,
        ctx: &mut Ctx<'_>,
        expires_at: Option<Timestamp>,
        max_uses: u32,
        kind: InviteKind,
    ) -> Result<(String, [u8; INVITE_SECRET_LEN])> {
        if !self.membership().is_current_member(&ctx.member) {
            return Err(CoreError::state(
                "only a current member of this circle can invite people into it",
            ));
        }
        if let InviteKind::Device { member } = &kind {
            if *member != ctx.member {
                return Err(CoreError::invalid(
                    "a device link adds a device to your own member, not to someone else's",
                ));
            }
        }
        if max_uses == 0 || max_uses > MAX_INVITE_USES {
            return Err(CoreError::invalid(format!(
                "an invite allows 1 to {MAX_INVITE_USES} uses"
            )));
        }
        if expires_at.is_some_and(|t| t <= ctx.now) {
            return Err(CoreError::invalid("an invite must expire in the future"));
        }
        let id = ctx.new_id("i");
        let mut secret = [0u8; INVITE_SECRET_LEN];
        ctx.rng.fill_bytes(&mut secret);
        let verifier = invite_verifier(&id, &secret);
        let existing = self.invites_obj()?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "invite create", |tx| {
            // Circles created before invites existed get the map with their first invite.
            let invites = match existing {
                Some(obj) => obj,
                None => tx.put_object(ROOT, INVITES, ObjType::Map)?,
            };
            let i = tx.put_object(&invites, id.as_str(), ObjType::Map)?;
            tx.put(&i, "verifier", ScalarValue::Bytes(verifier.to_vec()))?;
            fields::put_str(tx, &i, "created_by", &member)?;
            fields::put_time(tx, &i, "created_at", now)?;
            if let Some(t) = expires_at {
                fields::put_time(tx, &i, "expires_at", t)?;
            }
            tx.put(&i, "max_uses", i64::from(max_uses))?;
            tx.put_object(&i, "uses", ObjType::Map)?;
            tx.put(&i, "revoked", false)?;
            match &kind {
                InviteKind::Member => fields::put_str(tx, &i, "kind", "member")?,
                InviteKind::Device { member } => {
                    fields::put_str(tx, &i, "kind", "device")?;
                    fields::put_str(tx, &i, "member", member)?;
                }
            }
            Ok(())
        })?;
        Ok((id, secret))
    }

    /// Every invite, oldest first, with its state at `now`.
    pub fn invites(&self, now: Timestamp) -> Result<Vec<Invite>> {
        let Some(coll) = self.invites_obj()? else {
            return Ok(Vec::new());
        };
        let last_removal = self.last_removal();
        let doc = &self.core.am;
        let mut out: Vec<Invite> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_invite(doc, &item.key, &item.id(), now, last_removal))
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn invite(&self, id: &str, now: Timestamp) -> Result<Invite> {
        let obj = self.invite_obj(id)?;
        Ok(read_invite(
            &self.core.am,
            id,
            &obj,
            now,
            self.last_removal(),
        ))
    }

    /// Revokes an invite: no one joins with it from then on (on every device once synced).
    pub fn revoke_invite(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<()> {
        self.member(&ctx.member)
            .map_err(|_| CoreError::state("only a member of this circle can revoke its invites"))?;
        let obj = self.invite_obj(id)?;
        if Fields::read(&self.core.am, &obj).bool("revoked") {
            return Err(CoreError::state(format!(
                "invite `{id}` is already revoked"
            )));
        }
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "invite revoke", |tx| {
            tx.put(&obj, "revoked", true)?;
            fields::put_time(tx, &obj, "revoked_at", now)?;
            fields::put_str(tx, &obj, "revoked_by", &member)?;
            Ok(())
        })
    }

    /// Checks a join request against its invite and, if it holds, admits the joiner and
    /// records the use, in one change. `admitting_device` is this device (hex): a proof
    /// made for another device does not verify here. The outer error is a damaged
    /// document; the inner one what to tell the joiner.
    pub fn admit_by_invite(
        &mut self,
        ctx: &mut Ctx<'_>,
        request: &JoinRequest<'_>,
        admitting_device: &str,
    ) -> Result<std::result::Result<Admitted, Refusal>> {
        let doc = &self.core.am;
        let found = self
            .invite_obj(request.invite)
            .ok()
            .and_then(|obj| verifier(doc, &obj).map(|v| (obj, v)));
        let Some((obj, verifier)) = found else {
            // The same work as checking a real proof, so the time an answer takes does
            // not tell a made-up invite id from a wrong secret.
            let _ = proof_mac(&[0; 32], request.invite, request.device, admitting_device)
                .verify_slice(request.proof);
            return Ok(Err(Refusal::Unknown));
        };
        // The proof first: someone without the secret learns nothing about the invite.
        if proof_mac(&verifier, request.invite, request.device, admitting_device)
            .verify_slice(request.proof)
            .is_err()
        {
            return Ok(Err(Refusal::BadProof));
        }
        let invite = read_invite(doc, request.invite, &obj, ctx.now, self.last_removal());
        let uses = fields::child_map(doc, &obj, "uses")?;
        // The same device asking again (its first answer was lost) is admitted again
        // without using the invite up further.
        let retry = doc.get(&uses, request.device)?.is_some();
        let ms = self.membership();
        if !ms.is_current_member(&ctx.member) {
            return Err(CoreError::state(format!(
                "only a current member may admit people, and `{}` is not one",
                ctx.member
            )));
        }
        // An invite dies with its maker's membership.
        if !retry && !ms.is_current_member(&invite.created_by) {
            return Ok(Err(Refusal::Revoked));
        }
        if !retry {
            match invite.state {
                InviteState::Open => {}
                InviteState::Revoked => return Ok(Err(Refusal::Revoked)),
                InviteState::Expired => return Ok(Err(Refusal::Expired)),
                InviteState::UsedUp => return Ok(Err(Refusal::UsedUp)),
            }
        }
        let device = match valid_device(request.device) {
            Ok(d) => d,
            Err(e) => return Ok(Err(Refusal::Malformed(e.to_string()))),
        };
        let (member, name) = match &invite.kind {
            InviteKind::Device { member } => {
                if !request.fresh && request.member != member {
                    return Ok(Err(Refusal::DeviceInUse));
                }
                if !ms.is_current_member(member) {
                    return Ok(Err(Refusal::Revoked));
                }
                (member.clone(), String::new())
            }
            InviteKind::Member => {
                if let Err(e) = valid_member_id(request.member) {
                    return Ok(Err(Refusal::Malformed(e.to_string())));
                }
                if ms.member_removed_at(request.member).is_some() {
                    return Ok(Err(Refusal::Removed));
                }
                let mine = ms.device_member(&device).as_deref() == Some(request.member);
                if ms.is_current_member(request.member) && !mine {
                    return Ok(Err(Refusal::MemberTaken(request.member.to_string())));
                }
                match fields::required(request.name, "a display name") {
                    Ok(n) => (request.member.to_string(), n),
                    Err(e) => return Ok(Err(Refusal::Malformed(e.to_string()))),
                }
            }
        };
        if ms
            .device_member(&device)
            .is_some_and(|owner| owner != member)
        {
            return Ok(Err(Refusal::DeviceInUse));
        }
        let admitted = Admitted {
            member: member.clone(),
            kind: invite.kind,
        };
        if retry {
            return Ok(Ok(admitted));
        }
        let members = self.coll("members")?;
        let existing = match fields::entity(&self.core.am, &members, &member)? {
            Some(m) => Some(fields::child_map(&self.core.am, &m, "devices")?),
            None => None,
        };
        let listed = ms.device_member(&device).is_some();
        let (now, by) = (ctx.now, ctx.member.clone());
        // "member …": authorisation re-reads membership after member changes.
        self.change_core(now, "member admit by invite", |tx| {
            match existing {
                Some(_) if listed => {}
                Some(devices) => write_device(tx, &devices, &device, now)?,
                None => write_member(tx, &members, &member, &name, &device, now, &by)?,
            }
            tx.put(&uses, device.as_str(), member.as_str())?;
            Ok(())
        })?;
        Ok(Ok(admitted))
    }

    /// When a member was last removed, if ever.
    fn last_removal(&self) -> Option<Timestamp> {
        let members = self.members().ok()?;
        members
            .iter()
            .filter_map(|m| self.standing(&m.id).ok()?.removed_at)
            .max()
    }

    fn invites_obj(&self) -> Result<Option<ObjId>> {
        match self.core.am.get(ROOT, INVITES)? {
            Some((Value::Object(ObjType::Map), obj)) => Ok(Some(obj)),
            Some(_) => Err(CoreError::Corrupt("`invites` is not a map".into())),
            None => Ok(None),
        }
    }

    fn invite_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self
            .invites_obj()?
            .ok_or_else(|| CoreError::not_found("invite", id))?;
        fields::entity(&self.core.am, &coll, id)?.ok_or_else(|| CoreError::not_found("invite", id))
    }
}

fn verifier<D: ReadDoc>(doc: &D, obj: &ObjId) -> Option<[u8; 32]> {
    match doc.get(obj, "verifier").ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Bytes(b) => <[u8; 32]>::try_from(b.as_slice()).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// `last_removal`: when a member was last removed; invites made before then count as
/// revoked, because the removed member's devices held their verifiers.
fn read_invite<D: ReadDoc>(
    doc: &D,
    id: &str,
    obj: &ObjId,
    now: Timestamp,
    last_removal: Option<Timestamp>,
) -> Invite {
    let f = Fields::read(doc, obj);
    let kind = match (f.str("kind").as_str(), f.opt_str("member")) {
        ("device", Some(member)) => InviteKind::Device { member },
        _ => InviteKind::Member,
    };
    let used_by: Vec<String> = match f.obj("uses") {
        Some(uses) => doc
            .map_range(uses, ..)
            .map(|item| match item.value {
                automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(s)) => s.to_string(),
                _ => item.key.to_string(),
            })
            .collect(),
        None => Vec::new(),
    };
    let max_uses = f
        .int("max_uses")
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1);
    let expires_at = f.opt_time("expires_at");
    let created_at = f.time("created_at");
    let revoked = f.bool("revoked") || last_removal.is_some_and(|t| created_at <= t);
    let state = if revoked {
        InviteState::Revoked
    } else if expires_at.is_some_and(|t| t <= now) {
        InviteState::Expired
    } else if used_by.len() >= max_uses as usize {
        InviteState::UsedUp
    } else {
        InviteState::Open
    };
    Invite {
        id: id.to_string(),
        kind,
        created_by: f.str("created_by"),
        created_at,
        expires_at,
        max_uses,
        used_by,
        revoked,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{device, Device};

    fn ctx_at<'r>(d: &Device, rng: &'r mut rand::rngs::StdRng, dt: i64) -> Ctx<'r> {
        Ctx::new(Timestamp(d.now + dt), d.member.clone(), rng)
    }

    /// A joining device's id: 64 hex digits, as real device keys are named.
    /// A real device's public key per name (device ids must be valid Ed25519 keys).
    fn hexdev(name: &str) -> String {
        use sha2::Digest as _;
        let seed: [u8; 32] = sha2::Sha256::digest(name.as_bytes()).into();
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn rng(seed: u64) -> rand::rngs::StdRng {
        rand::SeedableRng::seed_from_u64(seed)
    }

    fn invite(
        d: &mut Device,
        expires: Option<i64>,
        uses: u32,
        kind: InviteKind,
    ) -> (String, [u8; 32]) {
        let mut r = rng(11);
        let mut ctx = ctx_at(d, &mut r, 0);
        let expires = expires.map(|dt| Timestamp(d.now + dt));
        d.circle
            .create_invite(&mut ctx, expires, uses, kind)
            .unwrap()
    }

    /// The request a joiner with `secret` would send to `admitter`.
    fn ask(
        d: &mut Device,
        id: &str,
        secret: &[u8; 32],
        joiner: &str,
        dt: i64,
    ) -> std::result::Result<Admitted, Refusal> {
        let admitter = device(&d.member);
        let proof = join_proof(&invite_verifier(id, secret), id, &hexdev(joiner), &admitter);
        let mut r = rng(12);
        let mut ctx = ctx_at(d, &mut r, dt);
        let joiner_device = hexdev(joiner);
        let member = format!("m-{joiner}");
        let request = JoinRequest {
            invite: id,
            member: &member,
            name: joiner,
            device: &joiner_device,
            fresh: true,
            proof: &proof,
        };
        d.circle
            .admit_by_invite(&mut ctx, &request, &admitter)
            .unwrap()
    }

    #[test]
    fn a_new_member_joins_once_and_the_use_is_recorded_in_the_same_change() {
        let mut ana = Device::new_circle("ana");
        let (id, secret) = invite(&mut ana, None, 1, InviteKind::Member);
        let stored = ana.circle.snapshot("core").unwrap();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert!(
            !hex(&stored).contains(&hex(&secret)),
            "the secret itself must never be written to the document"
        );
        let changes_before = ana.circle.doc("core").unwrap().get_changes(&[]).len();
        let admitted = ask(&mut ana, &id, &secret, "ben", 10).unwrap();
        assert_eq!(admitted.member, "m-ben");
        let changes_after = ana.circle.doc("core").unwrap().get_changes(&[]).len();
        assert_eq!(
            changes_after,
            changes_before + 1,
            "admission and use: one change"
        );
        let ben = ana.circle.member("m-ben").unwrap();
        assert_eq!(ben.name, "ben");
        assert_eq!(ben.devices, vec![hexdev("ben")]);
        let inv = ana.circle.invite(&id, Timestamp(ana.now + 20)).unwrap();
        assert_eq!(inv.used_by, vec!["m-ben".to_string()]);
        assert_eq!(inv.state, InviteState::UsedUp);
        assert_eq!(ask(&mut ana, &id, &secret, "cat", 30), Err(Refusal::UsedUp));
        // Ben asking again (his answer was lost) is let in without another use.
        assert!(ask(&mut ana, &id, &secret, "ben", 40).is_ok());
    }

    #[test]
    fn expired_revoked_unknown_and_forged_requests_are_refused() {
        let mut ana = Device::new_circle("ana");
        let (id, secret) = invite(&mut ana, Some(1000), 5, InviteKind::Member);
        assert_eq!(
            ask(&mut ana, &id, &secret, "ben", 1000),
            Err(Refusal::Expired)
        );
        assert_eq!(
            ask(&mut ana, "i-nothing", &secret, "ben", 0),
            Err(Refusal::Unknown)
        );
        assert_eq!(
            ask(&mut ana, &id, &[1; 32], "ben", 0),
            Err(Refusal::BadProof)
        );

        // A proof made for another admitting device does not verify here.
        let proof = join_proof(
            &invite_verifier(&id, &secret),
            &id,
            &hexdev("ben"),
            "elsewhere",
        );
        let mut r = rng(3);
        let mut ctx = ctx_at(&ana, &mut r, 0);
        let ben = hexdev("ben");
        let request = JoinRequest {
            invite: &id,
            member: "m-ben",
            name: "ben",
            device: &ben,
            fresh: true,
            proof: &proof,
        };
        let admitter = device("ana");
        assert_eq!(
            ana.circle
                .admit_by_invite(&mut ctx, &request, &admitter)
                .unwrap(),
            Err(Refusal::BadProof)
        );

        let mut r = rng(4);
        let mut ctx = ctx_at(&ana, &mut r, 0);
        ana.circle.revoke_invite(&mut ctx, &id).unwrap();
        assert_eq!(ask(&mut ana, &id, &secret, "ben", 0), Err(Refusal::Revoked));
        assert!(ana
            .circle
            .members()
            .unwrap()
            .iter()
            .all(|m| m.id != "m-ben"));
    }

    #[test]
    fn a_new_member_cannot_claim_an_existing_members_id() {
        let mut ana = Device::new_circle("ana");
        let (id, secret) = invite(&mut ana, None, 2, InviteKind::Member);
        let admitter = device("ana");
        let proof = join_proof(
            &invite_verifier(&id, &secret),
            &id,
            &hexdev("eve"),
            &admitter,
        );
        let mut r = rng(5);
        let mut ctx = ctx_at(&ana, &mut r, 0);
        let eve = hexdev("eve");
        let request = JoinRequest {
            invite: &id,
            member: "ana",
            name: "eve",
            device: &eve,
            fresh: true,
            proof: &proof,
        };
        let refused = ana
            .circle
            .admit_by_invite(&mut ctx, &request, &admitter)
            .unwrap();
        assert!(matches!(
            refused,
            Err(Refusal::Malformed(_) | Refusal::MemberTaken(_))
        ));
        assert_eq!(
            ana.circle.member("ana").unwrap().devices,
            vec![device("ana")]
        );
    }

    #[test]
    fn a_device_link_adds_a_device_to_its_member() {
        let mut ana = Device::new_circle("ana");
        let kind = InviteKind::Device {
            member: "ana".into(),
        };
        let (id, secret) = invite(&mut ana, None, 1, kind.clone());
        let admitted = ask(&mut ana, &id, &secret, "laptop", 5).unwrap();
        assert_eq!(
            admitted,
            Admitted {
                member: "ana".into(),
                kind
            }
        );
        let mut devices = ana.circle.member("ana").unwrap().devices;
        devices.sort();
        let mut expected = vec![device("ana"), hexdev("laptop")];
        expected.sort();
        assert_eq!(devices, expected);

        let mut r = rng(6);
        let mut ctx = ctx_at(&ana, &mut r, 0);
        let err = ana
            .circle
            .create_invite(
                &mut ctx,
                None,
                1,
                InviteKind::Device {
                    member: "ben".into(),
                },
            )
            .unwrap_err();
        assert!(err.to_string().contains("your own"), "{err}");
    }

    #[test]
    fn concurrent_uses_on_two_devices_both_survive_the_merge() {
        let mut ana = Device::new_circle("ana");
        let (id, secret) = invite(&mut ana, None, 10, InviteKind::Member);
        let mut bea = ana.replica("bea", 9);
        ask(&mut ana, &id, &secret, "cat", 10).unwrap();
        // Bea admits with her own device as the admitting one.
        let admitter = device("bea");
        let proof = join_proof(
            &invite_verifier(&id, &secret),
            &id,
            &hexdev("dan"),
            &admitter,
        );
        let mut r = rng(7);
        let mut ctx = ctx_at(&bea, &mut r, 10);
        let dan = hexdev("dan");
        let request = JoinRequest {
            invite: &id,
            member: "m-dan",
            name: "dan",
            device: &dan,
            fresh: true,
            proof: &proof,
        };
        bea.circle
            .admit_by_invite(&mut ctx, &request, &admitter)
            .unwrap()
            .unwrap();
        let a = ana.circle.snapshot("core").unwrap();
        let b = bea.circle.snapshot("core").unwrap();
        ana.circle.merge_doc("core", &b).unwrap();
        bea.circle.merge_doc("core", &a).unwrap();
        let inv = ana.circle.invite(&id, Timestamp(ana.now + 20)).unwrap();
        let mut used = inv.used_by.clone();
        used.sort();
        assert_eq!(used, vec!["m-cat".to_string(), "m-dan".to_string()]);
        assert_eq!(
            inv,
            bea.circle.invite(&id, Timestamp(ana.now + 20)).unwrap()
        );
    }

    #[test]
    fn invites_are_validated_and_listed() {
        let mut ana = Device::new_circle("ana");
        let mut r = rng(8);
        let mut ctx = ctx_at(&ana, &mut r, 0);
        assert!(ana
            .circle
            .create_invite(&mut ctx, None, 0, InviteKind::Member)
            .is_err());
        let past = Some(Timestamp(ana.now - 1));
        assert!(ana
            .circle
            .create_invite(&mut ctx, past, 1, InviteKind::Member)
            .is_err());
        let (id, _) = invite(&mut ana, Some(5000), 3, InviteKind::Member);
        let list = ana.circle.invites(Timestamp(ana.now)).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, id);
        assert_eq!(list[0].state, InviteState::Open);
        assert_eq!(list[0].max_uses, 3);
        assert_eq!(list[0].created_by, "ana");
        assert_eq!(
            ana.circle.invites(Timestamp(ana.now + 5000)).unwrap()[0].state,
            InviteState::Expired
        );
        let mut r = rng(9);
        let mut ctx = ctx_at(&ana, &mut r, 0);
        assert!(ana.circle.revoke_invite(&mut ctx, "i-none").is_err());
    }

    #[test]
    fn an_admission_by_invite_passes_the_joiners_authorisation_and_forgery_does_not() {
        use crate::archive;
        use crate::sync::signing;
        use ed25519_dalek::SigningKey;
        let ana_key = SigningKey::from_bytes(&[1; 32]);
        let ben_key = SigningKey::from_bytes(&[2; 32]);
        let (ana, ben) = (signing::device_hex(&ana_key), signing::device_hex(&ben_key));
        let mut r = rng(1);
        let mut ctx = Ctx::new(Timestamp(crate::tests::T0), "m-ana", &mut r);
        let mut circle = Circle::create_signed(&mut ctx, &ana_key, "Cell", "Ana").unwrap();
        let (id, secret) = circle
            .create_invite(&mut ctx, None, 1, InviteKind::Member)
            .unwrap();
        let proof = join_proof(&invite_verifier(&id, &secret), &id, &ben, &ana);
        let request = JoinRequest {
            invite: &id,
            member: "m-ben",
            name: "Ben",
            device: &ben,
            fresh: true,
            proof: &proof,
        };
        circle
            .admit_by_invite(&mut ctx, &request, &ana)
            .unwrap()
            .unwrap();
        let check = |c: &Circle| {
            let docs = archive::decode_signed(&archive::encode(c)).unwrap();
            let batch = archive::signed_batch(&docs).unwrap();
            Circle::empty(c.id(), signing::device_actor(&ben_key))
                .authorize_merge(&batch)
                .and_then(|v| match v.refused().first() {
                    Some(r) => Err(r.reason.clone().into()),
                    None => Ok(()),
                })
        };
        check(&circle).expect("the joiner accepts what the inviter sends");
        assert!(circle.membership().is_current_device(&ben));

        // An inviter that is no member cannot smuggle anyone in: its changes fail the check.
        let mut r = rng(2);
        let mut ctx = Ctx::new(Timestamp(crate::tests::T0), "m-mal", &mut r);
        let mal_key = SigningKey::from_bytes(&[3; 32]);
        let mut other = Circle::from_core_bytes(
            &circle.snapshot(crate::CORE_DOC).unwrap(),
            signing::device_actor(&mal_key),
        )
        .unwrap();
        let batch = vec![(
            crate::CORE_DOC.to_string(),
            circle.signed_changes(crate::CORE_DOC, &[]),
        )];
        let mut verified = Circle::empty(circle.id(), signing::device_actor(&mal_key))
            .authorize_merge(&batch)
            .unwrap();
        other.keep_signatures(&mut verified);
        other.set_signer(mal_key);
        other.rename_member(&mut ctx, "Mal").ok();
        other.add_team(&mut ctx, "Takeover", None).unwrap();
        assert!(
            check(&other).is_err(),
            "a non-member's change must be refused"
        );
    }

    #[test]
    fn removing_a_member_revokes_the_invites_made_before() {
        use ed25519_dalek::SigningKey;
        let ana_key = SigningKey::from_bytes(&[1; 32]);
        let mut r = rng(1);
        let t0 = crate::tests::T0;
        let mut ctx = Ctx::new(Timestamp(t0), "m-ana", &mut r);
        let mut circle = Circle::create_signed(&mut ctx, &ana_key, "Cell", "Ana").unwrap();
        circle
            .admit_member(&mut ctx, "m-bob", "Bob", &hexdev("bob"))
            .unwrap();
        let (old, _) = circle
            .create_invite(&mut ctx, None, 5, InviteKind::Member)
            .unwrap();
        ctx.now = Timestamp(t0 + 1000);
        // What passing a remove-member proposal writes.
        circle.remove_member_by_consent(&mut ctx, "m-bob").unwrap();
        ctx.now = Timestamp(t0 + 2000);
        let (new, _) = circle
            .create_invite(&mut ctx, None, 5, InviteKind::Member)
            .unwrap();
        let at = Timestamp(t0 + 3000);
        assert_eq!(circle.invite(&old, at).unwrap().state, InviteState::Revoked);
        assert_eq!(circle.invite(&new, at).unwrap().state, InviteState::Open);
    }
}
