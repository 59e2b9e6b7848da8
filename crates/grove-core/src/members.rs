//! Who belongs to a circle: which member devices may read and write it, who holds the
//! steward role, and who was removed (and when).
//!
//! A member record in the core document's `members` collection holds, beside its name and
//! `devices` (device public key hex → time added), an optional `role` (`"steward"`) and,
//! once removed, `removed_at`, `removed_by` and `removed_seen`. Removal never deletes the
//! record: changes a member made before `removed_at` stay valid, and its devices stay
//! recognisable, so their later changes can be refused by name.
//!
//! Change times are whole seconds, so a change made in the second of the removal cannot be
//! told from one made just after it: it counts as after, unless the remover already held it
//! when removing. `removed_seen` names those (the hashes of the member's changes the remover
//! held timestamped at or after the removal's second), so every device keeps exactly what
//! the remover saw.

use automerge::transaction::Transactable as _;
use automerge::{ObjType, ReadDoc, ROOT};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::office::Seat;

pub(crate) const STEWARD: &str = "steward";
/// How long the founder is steward before the circle names its stewards.
pub const FOUNDER_TERM_DAYS: i64 = 365;
/// Longest term a proposal may give stewards.
pub const MAX_STEWARD_TERM_DAYS: i64 = 3650;
/// Key prefix, in a member's record, of its revoked devices (device hex → when).
const REVOKED: &str = "revoked:";
/// Keys of the circle's `meta` map holding the stewards' term.
pub(crate) const STEWARDS_UNTIL: &str = "stewards_until";
pub(crate) const STEWARDS_BY: &str = "stewards_by";
const STEWARDS_TERM: &str = "stewards_term_days";
const STEWARDS_QUEUE: &str = "stewards_queue";
/// A device is named by its Ed25519 public key, lower-case hex.
const DEVICE_HEX_LEN: usize = 64;

/// Membership as of one state of the core document: a derived view, cheap to build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    members: Vec<MemberState>,
    /// When the stewards' term ends (None: a circle from before terms, stewards for good).
    stewards_until: Option<Timestamp>,
    /// The passed proposal that named the current stewards (None for the founder).
    stewards_by: Option<String>,
    /// Who takes over, in order, when the term ends, and the length of each term.
    stewards_queue: Vec<String>,
    stewards_term_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MemberState {
    id: String,
    devices: Vec<String>,
    steward: bool,
    removed_at: Option<Timestamp>,
    /// See the module docs.
    removed_seen: Vec<String>,
    /// Devices revoked (lost or seized) and when; the member stays.
    revoked: Vec<(String, Timestamp)>,
}

impl Membership {
    /// Whether `device` (hex) belongs to a member who has not been removed, and has not
    /// been revoked itself.
    pub fn is_current_device(&self, device: &str) -> bool {
        self.owner(device)
            .is_some_and(|m| m.removed_at.is_none() && !m.revoked.iter().any(|(d, _)| d == device))
    }

    /// When `device` was revoked (a lost or seized laptop), if it was.
    pub fn revoked_at(&self, device: &str) -> Option<Timestamp> {
        self.owner(device)?
            .revoked
            .iter()
            .find(|(d, _)| d == device)
            .map(|(_, at)| *at)
    }

    /// Every revoked device, with its member, sorted.
    pub fn revoked_devices(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .members
            .iter()
            .flat_map(|m| m.revoked.iter().map(|(d, _)| (d.clone(), m.id.clone())))
            .collect();
        out.sort();
        out
    }

    /// The member `device` acts for, removed or not.
    pub fn device_member(&self, device: &str) -> Option<String> {
        self.owner(device).map(|m| m.id.clone())
    }

    /// Every device of every member who has not been removed, sorted.
    pub fn current_devices(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.removed_at.is_none())
            .flat_map(|m| {
                m.devices
                    .iter()
                    .filter(|d| !m.revoked.iter().any(|(r, _)| r == *d))
                    .cloned()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// When the member owning `device` was removed, if it was.
    pub fn removed_at(&self, device: &str) -> Option<Timestamp> {
        self.owner(device).and_then(|m| m.removed_at)
    }

    /// Whether `member` is a current member (known and not removed).
    pub fn is_current_member(&self, member: &str) -> bool {
        self.members
            .iter()
            .any(|m| m.id == member && m.removed_at.is_none())
    }

    /// Whether the change `hash`, by `device`, is one its member may no longer make: the
    /// member was removed, the change is timestamped (`change_secs`, whole seconds) at or
    /// after the second of the removal, and the remover did not hold it when removing.
    pub fn forbids(&self, device: &str, change_secs: i64, hash: &automerge::ChangeHash) -> bool {
        let Some(m) = self.owner(device) else {
            return false;
        };
        // A revoked device: nothing after the second it was revoked (a change in that very
        // second is taken by every device alike).
        if let Some((_, at)) = m.revoked.iter().find(|(d, _)| d == device) {
            if change_secs > at.0.div_euclid(1000) {
                return true;
            }
        }
        let Some(removed) = m.removed_at else {
            return false;
        };
        if change_secs < removed.0.div_euclid(1000) {
            return false;
        }
        let hash = hash.to_string();
        !m.removed_seen.contains(&hash)
    }

    /// When `member` was removed, if it was.
    pub fn member_removed_at(&self, member: &str) -> Option<Timestamp> {
        self.members
            .iter()
            .find(|m| m.id == member)
            .and_then(|m| m.removed_at)
    }

    /// Whether `member` holds the steward role and has not been removed.
    pub fn is_steward(&self, member: &str) -> bool {
        self.members
            .iter()
            .any(|m| m.id == member && m.steward && m.removed_at.is_none())
    }

    /// Whether `member` is a steward in office at `at`: holds the role, is not removed, and
    /// the stewards' term has not ended.
    pub fn is_steward_at(&self, member: &str, at: Timestamp) -> bool {
        self.is_steward(member) && self.stewards_until.is_none_or(|until| at < until)
    }

    /// When the stewards' term ends, if it does.
    pub fn stewards_until(&self) -> Option<Timestamp> {
        self.stewards_until
    }

    /// The passed proposal that named the current stewards.
    pub fn stewards_by(&self) -> Option<&str> {
        self.stewards_by.as_deref()
    }

    /// Who takes over next, in order, when the term ends.
    pub fn stewards_queue(&self) -> &[String] {
        &self.stewards_queue
    }

    /// How many days each stewards' term lasts (None for the founder's year).
    pub fn stewards_term_days(&self) -> Option<i64> {
        self.stewards_term_days
    }

    /// The stewards' office as a [`Seat`]: who, until when, named by what, who is next.
    pub(crate) fn steward_seat(&self) -> Seat {
        Seat {
            holders: self.stewards(),
            until: self.stewards_until,
            by: self.stewards_by.clone(),
            queue: self.stewards_queue.clone(),
            days: self.stewards_term_days,
        }
    }

    /// The stewards and queue after a rotation (see [`Seat::rotated`]); None when there is
    /// no one to rotate to.
    pub fn rotated(&self) -> Option<(Vec<String>, Vec<String>)> {
        self.steward_seat().rotated(|m| self.is_current_member(m))
    }

    /// Members who were removed, sorted.
    pub fn removed_members(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.removed_at.is_some())
            .map(|m| m.id.clone())
            .collect()
    }

    /// Members who have not been removed, sorted.
    pub fn current_members(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.removed_at.is_none())
            .map(|m| m.id.clone())
            .collect()
    }

    /// Current stewards, sorted.
    pub fn stewards(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.steward && m.removed_at.is_none())
            .map(|m| m.id.clone())
            .collect()
    }

    /// The member listing `device`; members are sorted by id, so if a device were ever
    /// listed twice every replica picks the same owner.
    fn owner(&self, device: &str) -> Option<&MemberState> {
        self.members
            .iter()
            .find(|m| m.devices.iter().any(|d| d == device))
    }

    /// Reads membership from any state of a core document (also a scratch copy while
    /// authorising a batch). A document without members yields an empty membership.
    pub(crate) fn read<D: ReadDoc>(doc: &D) -> Membership {
        let Ok(Some((automerge::Value::Object(ObjType::Map), coll))) = doc.get(ROOT, "members")
        else {
            return Membership::default();
        };
        let mut members: Vec<MemberState> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| {
                let f = Fields::read(doc, &item.id());
                MemberState {
                    id: item.key.to_string(),
                    devices: fields::key_set(doc, f.obj("devices")),
                    steward: f.opt_str("role").as_deref() == Some(STEWARD),
                    removed_at: f.opt_time("removed_at"),
                    removed_seen: fields::key_set(doc, f.obj("removed_seen")),
                    revoked: f
                        .prefixed(REVOKED)
                        .into_iter()
                        .filter_map(|(d, at)| Some((d, Timestamp(at.parse().ok()?))))
                        .collect(),
                }
            })
            .collect();
        // Circles from before roles: their creator is the steward.
        if !members.iter().any(|m| m.steward) {
            let creator = fields::child_map(doc, &ROOT, "meta")
                .map(|meta| Fields::read(doc, &meta).str("created_by"))
                .unwrap_or_default();
            for m in members.iter_mut().filter(|m| m.id == creator) {
                m.steward = true;
            }
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let meta = fields::child_map(doc, &ROOT, "meta")
            .map(|meta| Fields::read(doc, &meta))
            .ok();
        Membership {
            members,
            stewards_until: meta.as_ref().and_then(|m| m.opt_time(STEWARDS_UNTIL)),
            stewards_by: meta.as_ref().and_then(|m| m.opt_str(STEWARDS_BY)),
            stewards_queue: meta
                .as_ref()
                .map(|m| fields::str_list(doc, m.obj(STEWARDS_QUEUE)))
                .unwrap_or_default(),
            stewards_term_days: meta.as_ref().and_then(|m| m.int(STEWARDS_TERM)),
        }
    }
}

/// Whether a change from `before` to `after` (made by `author` at `at`) leaves who the
/// stewards are, their term and their queue as they were, or changes them lawfully: as a
/// passed proposal named them (exactly its members, queue and term), by rotation once the
/// term ended (exactly the next in line), or at the founding. `doc` holds the change.
pub(crate) fn stewardship_change_is_lawful<D: ReadDoc>(
    before: &Membership,
    after: &Membership,
    doc: &D,
    author: &str,
    at: Timestamp,
) -> bool {
    // Removing a steward member leaves the others; that is not a naming.
    let kept: Vec<String> = before
        .stewards()
        .into_iter()
        .filter(|m| after.is_current_member(m))
        .collect();
    let unchanged = after.stewards() == kept
        && after.stewards_until == before.stewards_until
        && after.stewards_by == before.stewards_by
        && after.stewards_queue == before.stewards_queue
        && after.stewards_term_days == before.stewards_term_days;
    if unchanged {
        return true;
    }
    let renamed = crate::office::renamed_lawfully(
        &before.steward_seat(),
        &after.steward_seat(),
        at,
        FOUNDER_TERM_DAYS,
        |by| crate::proposals::passed_stewards(doc, by),
        |m| before.is_current_member(m),
    );
    let founding = before.stewards_until.is_none()
        && before.stewards_by.is_none()
        && after.stewards_by.is_none()
        && before.is_steward(author)
        && after.stewards() == [author.to_string()];
    renamed || founding
}

/// A stewards' term being written: until when, named by which proposal (None: the
/// founder), who is queued next, and how long each term lasts.
pub(crate) struct Term<'a> {
    pub until: Timestamp,
    pub by: Option<&'a str>,
    pub queue: &'a [String],
    pub days: Option<i64>,
}

/// The circle's stewards and their term (`grove steward list`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Stewardship {
    pub stewards: Vec<String>,
    /// When their term ends (None: named before terms existed, in office until renamed).
    pub until: Option<Timestamp>,
    /// The passed proposal that named them (None: the founder).
    pub by: Option<String>,
    pub in_office: bool,
    /// Who takes over next, in order, when the term ends (`grove steward rotate`).
    pub queue: Vec<String>,
    /// How many days each term lasts (None for the founder's year).
    pub term_days: Option<i64>,
}

/// Role and removal of one member, for listings (`grove member list`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberStanding {
    pub id: String,
    pub role: Option<String>,
    pub removed_at: Option<Timestamp>,
    pub removed_by: Option<String>,
}

/// Who wrote an entry: the device whose key authored the change that created it (every
/// change is verified against its device's signature before it is applied), and the
/// member that device belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Writer {
    pub device: String,
    pub member: Option<String>,
}

impl Circle {
    /// Who created decision `id` (None for an entry written before devices signed).
    pub fn decision_writer(&self, id: &str) -> Result<Option<Writer>> {
        let doc = crate::circle::decision_doc(id)?;
        let Some(am) = self.doc(&doc) else {
            return Err(CoreError::not_found("decision", id));
        };
        let Some((_, obj)) = am.get(ROOT, id)? else {
            return Err(CoreError::not_found("decision", id));
        };
        let automerge::ObjId::Id(_, actor, _) = obj else {
            return Ok(None);
        };
        Ok(
            crate::sync::signing::actor_device(&actor).map(|device| Writer {
                member: self.membership().device_member(&device),
                device,
            }),
        )
    }

    /// Who may read and write this circle, as of the current core document.
    pub fn membership(&self) -> Membership {
        Membership::read(&self.core.am)
    }

    /// Whether `member` is a current steward.
    pub fn is_steward(&self, member: &str) -> bool {
        self.membership().is_steward(member)
    }

    /// Who the stewards are, until when, and whether they are in office at `now`.
    pub fn stewardship(&self, now: Timestamp) -> Stewardship {
        let ms = self.membership();
        let stewards = ms.stewards();
        Stewardship {
            in_office: stewards.iter().any(|m| ms.is_steward_at(m, now)),
            stewards,
            until: ms.stewards_until(),
            by: ms.stewards_by().map(str::to_string),
            queue: ms.stewards_queue().to_vec(),
            term_days: ms.stewards_term_days(),
        }
    }

    /// Role and removal of `member`.
    pub fn standing(&self, member: &str) -> Result<MemberStanding> {
        let coll = self.coll("members")?;
        let obj = fields::entity(&self.core.am, &coll, member)?
            .ok_or_else(|| CoreError::not_found("member", member))?;
        let f = Fields::read(&self.core.am, &obj);
        let steward = self.is_steward(member) || {
            let removed = f.opt_time("removed_at").is_some();
            removed && f.opt_str("role").as_deref() == Some(STEWARD)
        };
        Ok(MemberStanding {
            id: member.to_string(),
            role: steward.then(|| STEWARD.to_string()),
            removed_at: f.opt_time("removed_at"),
            removed_by: f.opt_str("removed_by"),
        })
    }

    /// A current member (`ctx.member`) admits `member_id`, named `name`, with one device.
    /// Admitting a current member again adds the device (if new) and is otherwise a no-op.
    pub fn admit_member(
        &mut self,
        ctx: &mut Ctx<'_>,
        member_id: &str,
        name: &str,
        device_hex: &str,
    ) -> Result<()> {
        let name = fields::required(name, "a display name")?;
        let device = valid_device(device_hex)?;
        valid_member_id(member_id)?;
        let ms = self.membership();
        self.require_current(&ms, &ctx.member, "admit members")?;
        if let Some(at) = ms.member_removed_at(member_id) {
            return Err(CoreError::state(format!(
                "member `{member_id}` was removed from this circle on {at}; a removed member \
                 cannot be admitted again under the same id"
            )));
        }
        if ms.is_current_member(member_id) {
            return self.add_device(ctx, member_id, &device);
        }
        refuse_foreign_device(&ms, &device, member_id)?;
        let coll = self.coll("members")?;
        let (now, by) = (ctx.now, ctx.member.clone());
        self.change_core(now, "member admit", |tx| {
            write_member(tx, &coll, member_id, &name, &device, now, &by)
        })
    }

    /// Adds `device_hex` to current member `member_id` (linking a second device). Done by
    /// the member itself (from a device it already has) or by a steward; idempotent.
    pub fn add_device(
        &mut self,
        ctx: &mut Ctx<'_>,
        member_id: &str,
        device_hex: &str,
    ) -> Result<()> {
        let device = valid_device(device_hex)?;
        let ms = self.membership();
        self.require_current(&ms, &ctx.member, "add devices")?;
        if ctx.member != member_id && !ms.is_steward_at(&ctx.member, ctx.now) {
            return Err(CoreError::state(format!(
                "only `{member_id}` itself or a steward in office may add a device to `{member_id}`"
            )));
        }
        if !ms.is_current_member(member_id) {
            return Err(match ms.member_removed_at(member_id) {
                Some(at) => CoreError::state(format!(
                    "member `{member_id}` was removed on {at}; its devices cannot change"
                )),
                None => CoreError::not_found("member", member_id),
            });
        }
        if ms.device_member(&device).as_deref() == Some(member_id) {
            return Ok(());
        }
        refuse_foreign_device(&ms, &device, member_id)?;
        let coll = self.coll("members")?;
        let m = fields::entity(&self.core.am, &coll, member_id)?
            .ok_or_else(|| CoreError::not_found("member", member_id))?;
        let devices = fields::child_map(&self.core.am, &m, "devices")?;
        let now = ctx.now;
        self.change_core(now, "member device", |tx| {
            write_device(tx, &devices, &device, now)
        })
    }

    /// Hands the stewards' office to the next members in the queue once the term has
    /// ended; any current member may do it, and every receiver checks it was due and went
    /// to exactly the members next in line. Returns the new stewards.
    pub fn rotate_stewards(&mut self, ctx: &mut Ctx<'_>) -> Result<Vec<String>> {
        let ms = self.membership();
        if !ms.is_current_member(&ctx.member) {
            return Err(CoreError::state(
                "only a member of the circle rotates its stewards",
            ));
        }
        let until = ms.stewards_until().ok_or_else(|| {
            CoreError::state("the stewards have no term to end: name stewards by proposal first")
        })?;
        // Judged at the change's own time (whole seconds), as receivers judge it.
        if crate::proposals::change_time(ctx.now) < until {
            return Err(CoreError::state(format!(
                "the stewards' term runs until {}; rotation comes after it",
                until.minute()
            )));
        }
        let (next, queue) = ms.rotated().ok_or_else(|| {
            CoreError::state(
                "no one is queued to take over: name stewards by proposal (grove proposal open --steward M --term-days N)",
            )
        })?;
        let days = ms.stewards_term_days().unwrap_or(FOUNDER_TERM_DAYS);
        let by = ms.stewards_by().map(str::to_string);
        self.name_stewards(
            ctx.now,
            &next,
            Term {
                until: ctx.now.plus_days(days),
                by: by.as_deref(),
                queue: &queue,
                days: Some(days),
            },
        )?;
        Ok(next)
    }

    /// Revokes `device_hex` at once (a lost or seized laptop): from now on its changes are
    /// refused and it is not served, and the circle key rotates. Its member stays and links
    /// a new device. A steward in office does this, or the device's own member from another
    /// of their devices.
    pub fn revoke_device(&mut self, ctx: &mut Ctx<'_>, device_hex: &str) -> Result<String> {
        let device = device_hex.trim().to_ascii_lowercase();
        let ms = self.membership();
        let Some(owner) = ms.device_member(&device) else {
            return Err(CoreError::not_found("device", &device));
        };
        if ms.revoked_at(&device).is_some() {
            return Err(CoreError::state(format!(
                "device {device} is already revoked"
            )));
        }
        if !ms.is_current_member(&owner) {
            return Err(CoreError::state(format!(
                "device {device} belongs to a removed member: it is refused already"
            )));
        }
        if owner != ctx.member && !ms.is_steward_at(&ctx.member, ctx.now) {
            return Err(CoreError::state(format!(
                "only a steward in office, or {} from another of their devices, may revoke device {device}",
                self.member_name(&owner)
            )));
        }
        if self.signer_device().as_deref() == Some(device.as_str()) {
            return Err(CoreError::state(
                "that is this device: revoke it from another device of yours, or ask a steward",
            ));
        }
        let coll = self.coll("members")?;
        let m = fields::entity(&self.core.am, &coll, &owner)?
            .ok_or_else(|| CoreError::not_found("member", &owner))?;
        // The new key first, so the revoked device never holds it.
        self.rotate_key(ctx)?;
        let now = ctx.now;
        self.change_core(now, "device revoke", |tx| {
            fields::put_time(tx, &m, &format!("{REVOKED}{device}"), now)
        })?;
        Ok(owner)
    }

    /// `ctx.member` removes `member_id`, which only works for oneself: leaving the circle.
    /// Removing anyone else needs the circle's consent, a passed remove-member proposal
    /// ([`Circle::pass_proposal`]); no one, not even a steward, removes a member alone, and
    /// every receiver refuses a removal that is neither (see `authorize`). A lost or seized
    /// laptop is revoked instead ([`Circle::revoke_device`]).
    pub fn remove_member(&mut self, ctx: &mut Ctx<'_>, member_id: &str) -> Result<()> {
        if member_id != ctx.member {
            return Err(CoreError::state(format!(
                "removing a member needs the circle's consent: grove proposal open --remove-member \
                 {member_id} --title \"…\"; a lost or seized laptop is revoked instead: grove \
                 device revoke DEVICE"
            )));
        }
        self.leave(ctx)
    }

    /// `ctx.member` leaves the circle: from now on its devices are refused. The last member
    /// cannot leave (nobody would be left to hold the circle or admit anyone); the last
    /// steward may, and the circle then names stewards by proposal, as after a term. The
    /// leaver does not rotate the circle key, since it would know the new one: the next
    /// remaining device to hear of it does ([`Circle::rotate_key_after_departure`]).
    pub fn leave(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        let ms = self.membership();
        let me = ctx.member.clone();
        if let Some(at) = ms.member_removed_at(&me) {
            return Err(CoreError::state(format!(
                "you are no longer a member: you were removed on {at}"
            )));
        }
        if !ms.is_current_member(&me) {
            return Err(CoreError::not_found("member", &me));
        }
        if ms.current_members() == [me.clone()] {
            return Err(CoreError::state(
                "you are the circle's only member, so there is no one to leave it to: admit \
                 someone first, or keep the circle",
            ));
        }
        self.write_removal(ctx, &me, false)
    }

    /// Rotates the circle key when a member left on their own after it was made (see
    /// [`Circle::leave`]); any remaining member's device does it on hearing of the departure.
    /// A few devices doing it at once is harmless: one key becomes the current one
    /// everywhere. Returns whether it rotated.
    pub fn rotate_key_after_departure(&mut self, ctx: &mut Ctx<'_>) -> Result<bool> {
        let ms = self.membership();
        if !ms.is_current_member(&ctx.member) {
            return Ok(false);
        }
        let Some(left) = ms.members.iter().filter_map(|m| m.removed_at).max() else {
            return Ok(false);
        };
        match self.circle_key_created_at() {
            // A circle from before keys makes its first one elsewhere (`ensure_key`).
            None => Ok(false),
            Some(made) if made >= left => Ok(false),
            Some(_) => {
                // Never dated before the departure, even on a device whose clock is behind
                // the leaver's: otherwise it would look stale again and rotate on every sync.
                self.rotate_key_at(ctx, Timestamp(ctx.now.0.max(left.0)))?;
                Ok(true)
            }
        }
    }

    /// Whether `member_id` may be removed: a current member, not the last steward.
    pub(crate) fn check_removable(&self, member_id: &str) -> Result<()> {
        let ms = self.membership();
        if let Some(at) = ms.member_removed_at(member_id) {
            return Err(CoreError::state(format!(
                "member `{member_id}` was already removed on {at}"
            )));
        }
        if !ms.is_current_member(member_id) {
            return Err(CoreError::not_found("member", member_id));
        }
        if ms.stewards() == [member_id] {
            return Err(CoreError::state(format!(
                "`{member_id}` is the circle's last steward; name other stewards by proposal \
                 first (grove proposal open --steward M --term-days N)"
            )));
        }
        Ok(())
    }

    /// Removal after a passed proposal (the caller established that).
    pub(crate) fn remove_member_by_consent(
        &mut self,
        ctx: &mut Ctx<'_>,
        member_id: &str,
    ) -> Result<()> {
        self.check_removable(member_id)?;
        self.write_removal(ctx, member_id, true)
    }

    /// Writes `member_id`'s removal by `ctx.member`, rotating the key first when asked.
    fn write_removal(&mut self, ctx: &mut Ctx<'_>, member_id: &str, rotate: bool) -> Result<()> {
        let coll = self.coll("members")?;
        let m = fields::entity(&self.core.am, &coll, member_id)?
            .ok_or_else(|| CoreError::not_found("member", member_id))?;
        if rotate {
            // The new key first: written while the remover is beyond doubt a member, and
            // every device that sees the removal also sees the key the removed member lacks.
            self.rotate_key(ctx)?;
        }
        let (now, by) = (ctx.now, ctx.member.clone());
        let seen = self.changes_since(member_id, now);
        self.change_core(now, "member remove", |tx| {
            fields::put_time(tx, &m, "removed_at", now)?;
            fields::put_str(tx, &m, "removed_by", &by)?;
            if !seen.is_empty() {
                let set = tx.put_object(&m, "removed_seen", ObjType::Map)?;
                for hash in &seen {
                    tx.put(&set, hash.as_str(), true)?;
                }
            }
            Ok(())
        })
    }

    /// Hashes of the changes held in memory that `member_id`'s devices made at or after the
    /// second of `now` (see the module docs). The caller should have every document of
    /// the circle in memory.
    fn changes_since(&self, member_id: &str, now: Timestamp) -> Vec<String> {
        let ms = self.membership();
        let from = now.0.div_euclid(1000);
        let mut out = Vec::new();
        for key in self.doc_keys() {
            let Some(doc) = self.doc(&key) else { continue };
            for meta in doc.get_changes_meta(&[]) {
                if meta.timestamp < from {
                    continue;
                }
                let by_member = crate::sync::signing::actor_device(&meta.actor)
                    .and_then(|d| ms.device_member(&d))
                    .is_some_and(|m| m == member_id);
                if by_member {
                    out.push(meta.hash.to_string());
                }
            }
        }
        out.sort();
        out
    }

    /// The stewards named by passed proposal `by` (or the founder at creation, `by` None),
    /// in office until `until`: the role goes to exactly `stewards`. Only a pass (or the
    /// founding) calls this; every receiver checks that (see `authorize`).
    pub(crate) fn name_stewards(
        &mut self,
        now: Timestamp,
        stewards: &[String],
        term: Term<'_>,
    ) -> Result<()> {
        let Term {
            until,
            by,
            queue,
            days,
        } = term;
        let coll = self.coll("members")?;
        let meta = self.coll("meta")?;
        let ms = self.membership();
        let mut objs = Vec::new();
        for m in ms.current_members() {
            let obj = fields::entity(&self.core.am, &coll, &m)?
                .ok_or_else(|| CoreError::not_found("member", &m))?;
            objs.push((stewards.contains(&m), ms.is_steward(&m), obj));
        }
        self.change_core(now, "stewards named", |tx| {
            for (named, was, obj) in &objs {
                // Written even when the role seems held already: a founder's role may only
                // be implied (circles from before roles), and naming makes it explicit.
                if *named {
                    fields::put_str(tx, obj, "role", STEWARD)?;
                } else if *was {
                    fields::put_str(tx, obj, "role", "")?;
                }
            }
            fields::put_time(tx, &meta, STEWARDS_UNTIL, until)?;
            fields::put_opt_str(tx, &meta, STEWARDS_BY, by)?;
            if let Some(days) = days {
                tx.put(&meta, STEWARDS_TERM, days)?;
            }
            fields::put_list(tx, &meta, STEWARDS_QUEUE, queue)?;
            Ok(())
        })
    }

    #[cfg(test)]
    pub(crate) fn set_role(&mut self, now: Timestamp, member_id: &str, role: &str) -> Result<()> {
        let coll = self.coll("members")?;
        let m = fields::entity(&self.core.am, &coll, member_id)?
            .ok_or_else(|| CoreError::not_found("member", member_id))?;
        self.change_core(now, "member role", |tx| {
            fields::put_str(tx, &m, "role", role)
        })
    }

    fn require_current(&self, ms: &Membership, member: &str, what: &str) -> Result<()> {
        if ms.is_current_member(member) {
            Ok(())
        } else {
            Err(CoreError::state(format!(
                "only a current member may {what}, and `{member}` is not one"
            )))
        }
    }
}

/// A new member record: what admitting writes (also inside an invite's admission).
pub(crate) fn write_member(
    tx: &mut automerge::transaction::Transaction<'_>,
    members: &automerge::ObjId,
    member_id: &str,
    name: &str,
    device: &str,
    now: Timestamp,
    by: &str,
) -> Result<()> {
    let m = tx.put_object(members, member_id, ObjType::Map)?;
    fields::put_str(tx, &m, "name", name)?;
    let devices = tx.put_object(&m, "devices", ObjType::Map)?;
    write_device(tx, &devices, device, now)?;
    fields::put_time(tx, &m, "joined_at", now)?;
    fields::put_str(tx, &m, "admitted_by", by)?;
    Ok(())
}

/// One more device in a member's `devices` map.
pub(crate) fn write_device(
    tx: &mut automerge::transaction::Transaction<'_>,
    devices: &automerge::ObjId,
    device: &str,
    now: Timestamp,
) -> Result<()> {
    tx.put(devices, device, now.0)?;
    Ok(())
}

/// A device hex, normalised to lower case, or a clear error. Besides its shape, the hex
/// must be an Ed25519 public key a device can really hold: a point on the curve, and not
/// one of small order (all zeros, the identity…), for which signatures can be made without
/// any secret key, so admitting one would let anyone write as that member.
pub(crate) fn valid_device(hex: &str) -> Result<String> {
    let hex = hex.trim().to_ascii_lowercase();
    let not_a_device = |why: &str| {
        CoreError::invalid(format!(
            "`{hex}` is not a device id ({why}): a device id is the 64 hex digits `grove \
             device id` prints on that device"
        ))
    };
    if hex.len() != DEVICE_HEX_LEN || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_a_device("not 64 hex digits"));
    }
    let mut bytes = [0u8; 32];
    data_encoding::HEXLOWER
        .decode_mut(hex.as_bytes(), &mut bytes)
        .map_err(|_| not_a_device("not 64 hex digits"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| not_a_device("not a point of the Ed25519 curve"))?;
    if key.is_weak() {
        return Err(not_a_device("a weak key any forger can sign for"));
    }
    Ok(hex)
}

pub(crate) fn valid_member_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(format!("`{id}` is not a member id")))
    }
}

fn refuse_foreign_device(ms: &Membership, device: &str, member_id: &str) -> Result<()> {
    match ms.device_member(device) {
        Some(owner) if owner != member_id => Err(CoreError::state(format!(
            "device {device} already belongs to member `{owner}`"
        ))),
        _ => Ok(()),
    }
}

/// Lower-case hex of bytes (device keys, actor ids).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::valid_device;

    fn hex(bytes: &[u8; 32]) -> String {
        data_encoding::HEXLOWER.encode(bytes)
    }

    #[test]
    fn device_ids_are_strong_ed25519_public_keys() {
        let real = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(
            valid_device(&hex(real.as_bytes()).to_uppercase()).unwrap(),
            hex(real.as_bytes())
        );

        // Small-order points: all zeros (order 4) and the identity (y = 1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for weak in [[0u8; 32], identity] {
            let err = valid_device(&hex(&weak)).unwrap_err();
            assert!(err.to_string().contains("weak key"), "{err}");
        }
        // Some y has no x on the curve: such bytes are no key at all.
        let off_curve = (2u8..=255)
            .map(|y| {
                let mut b = [0u8; 32];
                b[0] = y;
                b
            })
            .find(|b| ed25519_dalek::VerifyingKey::from_bytes(b).is_err())
            .expect("some small y is off the curve");
        let err = valid_device(&hex(&off_curve)).unwrap_err();
        assert!(err.to_string().contains("not a point"), "{err}");

        for shape in ["", "abc", &"g".repeat(64), &"0".repeat(66)] {
            assert!(valid_device(shape).is_err(), "{shape:?}");
        }
    }
}
