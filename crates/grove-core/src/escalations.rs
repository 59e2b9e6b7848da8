//! Escalations: decisions in a centre zone land in the stewards' inbox (docs/design.md, section 2).
//! "Escalations are rare and respected": each records who acknowledged it and when.
//! Only stewards acknowledge and answer them, with a verdict: they back the decision
//! ("the centre defended these decisions"), coach the team, or stop it. Every receiver
//! checks that too (see [`crate::governance`]).
//!
//! Where they live: a document of their own ([`crate::ESCALATIONS_DOC`]), each escalation a map at
//! its root keyed by id, so two devices that write the first one independently merge
//! without a conflicting parent object. They used to be a collection of the core document,
//! which every open loads: with one escalation raised, acknowledged and answered for about
//! every thirtieth decision, ten years of a large circle's escalations were 105,000 of the
//! core's 105,370 changes, and loading them was most of a million decisions' first screen
//! (BENCHMARKS.md). Circles from before keep the escalations already in their core, read and
//! answered there; every new one is raised in the escalations' document, which is loaded
//! only by what shows or writes escalations.

use std::collections::BTreeSet;

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Conflict, Fields};
use crate::touched::Scope;
use crate::words::{EscalationStatus, Verdict, Zone};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Escalation {
    pub id: String,
    pub decision: String,
    pub zone: Zone,
    pub raised_by: String,
    pub raised_at: Timestamp,
    pub status: EscalationStatus,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    pub response: Option<String>,
    pub verdict: Option<Verdict>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub conflicts: Vec<Conflict>,
}

impl Escalation {
    /// How long it has waited for (or waited until) acknowledgement, in milliseconds.
    pub fn waiting_ms(&self, now: Timestamp) -> i64 {
        let until = self.acknowledged_at.or(self.resolved_at).unwrap_or(now);
        (until.0 - self.raised_at.0).max(0)
    }
}

impl Circle {
    pub(crate) fn raise_escalation(
        &mut self,
        ctx: &mut Ctx<'_>,
        decision: &str,
        zone: Zone,
    ) -> Result<String> {
        let id = ctx.new_id("e");
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_escalations(now, "escalation raise", |tx| {
            let e = tx.put_object(automerge::ROOT, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &e, "decision", decision)?;
            fields::put_str(tx, &e, "zone", zone.as_str())?;
            fields::put_str(tx, &e, "raised_by", &member)?;
            fields::put_time(tx, &e, "raised_at", now)?;
            fields::put_str(tx, &e, "status", EscalationStatus::Open.as_str())?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Refuses unless `member` may answer escalations: a steward, or the member of a
    /// circle of one.
    fn check_steward(&self, member: &str, now: Timestamp) -> Result<()> {
        let ms = self.membership();
        if ms.is_steward_at(member, now) || ms.current_members().len() <= 1 {
            return Ok(());
        }
        let in_office: Vec<String> = ms
            .stewards()
            .iter()
            .filter(|s| ms.is_steward_at(s, now))
            .map(|s| self.member_name(s))
            .collect();
        if in_office.is_empty() {
            return Err(CoreError::state(
                "no steward is in office: their term ended; name stewards by proposal (grove proposal open --steward M …)",
            ));
        }
        Err(CoreError::state(format!(
            "only a steward answers escalations, and you are not one in office; ask {} (or raise a tension)",
            in_office.join(" or ")
        )))
    }

    pub fn acknowledge_escalation(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<()> {
        self.check_steward(&ctx.member, ctx.now)?;
        let e = self.escalation(id)?;
        if e.status != EscalationStatus::Open {
            return Err(CoreError::state(format!(
                "escalation `{id}` is already {}",
                e.status
            )));
        }
        let (place, obj) = self.escalation_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let seen = self.seen_now(place);
        self.change_escalation(place, now, "escalation ack", |tx| {
            put_seen(tx, &obj, seen.as_deref())?;
            fields::put_str(tx, &obj, "status", EscalationStatus::Acknowledged.as_str())?;
            fields::put_str(tx, &obj, "acknowledged_by", &member)?;
            fields::put_time(tx, &obj, "acknowledged_at", now)
        })
    }

    /// Resolves escalation `id`, backing the decision.
    pub fn resolve_escalation(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        response: &str,
    ) -> Result<()> {
        self.answer_escalation(ctx, id, Verdict::Back, response)
    }

    /// A steward's answer to escalation `id`: back the decision, coach the team, or stop
    /// it, with a response saying why.
    pub fn answer_escalation(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        verdict: Verdict,
        response: &str,
    ) -> Result<()> {
        self.check_steward(&ctx.member, ctx.now)?;
        let response = fields::required(response, "the response to an escalation")?;
        let e = self.escalation(id)?;
        if e.status == EscalationStatus::Resolved {
            return Err(CoreError::state(format!(
                "escalation `{id}` is already resolved"
            )));
        }
        let (place, obj) = self.escalation_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let seen = self.seen_now(place);
        self.change_escalation(place, now, "escalation resolve", |tx| {
            put_seen(tx, &obj, seen.as_deref())?;
            if e.acknowledged_at.is_none() {
                // Resolving is also acknowledging: waiting time ends here.
                fields::put_str(tx, &obj, "acknowledged_by", &member)?;
                fields::put_time(tx, &obj, "acknowledged_at", now)?;
            }
            fields::put_str(tx, &obj, "status", EscalationStatus::Resolved.as_str())?;
            fields::put_str(tx, &obj, "response", &response)?;
            fields::put_str(tx, &obj, "verdict", verdict.as_str())?;
            fields::put_str(tx, &obj, "resolved_by", &member)?;
            fields::put_time(tx, &obj, "resolved_at", now)
        })
    }

    /// All escalations, oldest first: those a circle from before the escalations'
    /// document keeps in its core, and those of that document, which must be loaded.
    pub fn escalations(&self) -> Result<Vec<Escalation>> {
        let mut out = read(&self.core.am, Scope::All);
        out.extend(read_root(self.escalations_doc()?, None));
        out.sort_by(|a, b| a.raised_at.cmp(&b.raised_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn escalation(&self, id: &str) -> Result<Escalation> {
        let (place, obj) = self.escalation_obj(id)?;
        Ok(read_escalation(self.place_doc(place)?, id, &obj))
    }

    /// Where escalation `id` is held, and its object there.
    fn escalation_obj(&self, id: &str) -> Result<(Place, ObjId)> {
        let coll = self.coll("escalations")?;
        if let Some(obj) = fields::entity(&self.core.am, &coll, id)? {
            return Ok((Place::Core, obj));
        }
        fields::entity(self.escalations_doc()?, &automerge::ROOT, id)?
            .map(|obj| (Place::Own, obj))
            .ok_or_else(|| CoreError::not_found("escalation", id))
    }

    /// What an answer in the escalations' document names as seen: the core's heads now,
    /// as of which every receiver judges whether its author was a steward in office.
    fn seen_now(&self, place: Place) -> Option<Vec<u8>> {
        match place {
            Place::Core => None,
            Place::Own => Some(self.core.am.get_heads().iter().flat_map(|h| h.0).collect()),
        }
    }

    fn place_doc(&self, place: Place) -> Result<&automerge::Automerge> {
        match place {
            Place::Core => Ok(&self.core.am),
            Place::Own => self.escalations_doc(),
        }
    }

    fn change_escalation(
        &mut self,
        place: Place,
        now: Timestamp,
        what: &str,
        f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<()>,
    ) -> Result<()> {
        match place {
            Place::Core => self.change_core(now, what, f),
            Place::Own => self.change_escalations(now, what, f),
        }
    }
}

/// Which document holds an escalation: the core (raised before the escalations had a
/// document of their own) or [`crate::ESCALATIONS_DOC`].
#[derive(Debug, Clone, Copy)]
enum Place {
    Core,
    Own,
}

/// The field of an answered escalation (in the escalations' document) naming the core
/// heads its answer was written on: their 32-byte hashes, one after the other (bytes, not
/// hex: an answer's heaviest field, and every answer carries one).
pub(crate) const SEEN: &str = "seen";

fn put_seen(
    tx: &mut automerge::transaction::Transaction<'_>,
    obj: &ObjId,
    seen: Option<&[u8]>,
) -> Result<()> {
    if let Some(seen) = seen {
        tx.put(obj, SEEN, automerge::ScalarValue::Bytes(seen.to_vec()))?;
    }
    Ok(())
}

/// What escalation `id` of an escalations' document names as seen, if anything.
pub(crate) fn seen<D: ReadDoc>(doc: &D, id: &str) -> Option<Vec<u8>> {
    let (_, obj) = doc.get(automerge::ROOT, id).ok()??;
    match doc.get(&obj, SEEN).ok()?? {
        (automerge::Value::Scalar(s), _) => match s.as_ref() {
            automerge::ScalarValue::Bytes(b) => Some(b.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The core heads a `seen` field names, or None when it names none or is malformed.
pub(crate) fn parse_seen(seen: &[u8]) -> Option<Vec<automerge::ChangeHash>> {
    if seen.is_empty() || !seen.len().is_multiple_of(32) {
        return None;
    }
    seen.chunks_exact(32)
        .map(|h| h.try_into().ok().map(automerge::ChangeHash))
        .collect()
}

/// The escalations of a core document (any state of it) that `scope` covers, by id.
pub(crate) fn read<D: ReadDoc>(doc: &D, scope: Scope<'_>) -> Vec<Escalation> {
    crate::touched::entities(doc, "escalations", scope)
        .into_iter()
        .map(|(id, obj)| read_escalation(doc, &id, &obj))
        .collect()
}

/// The escalations of an escalations' document (any state of it, see [`crate::ESCALATIONS_DOC`]):
/// those with the ids `only` names (those that exist), or all of them, by id.
pub(crate) fn read_root<D: ReadDoc>(doc: &D, only: Option<&BTreeSet<String>>) -> Vec<Escalation> {
    match only {
        Some(ids) => ids
            .iter()
            .filter_map(|id| match doc.get(automerge::ROOT, id.as_str()) {
                Ok(Some((automerge::Value::Object(_), obj))) => {
                    Some(read_escalation(doc, id, &obj))
                }
                _ => None,
            })
            .collect(),
        None => doc
            .map_range(automerge::ROOT, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_escalation(doc, &item.key, &item.id()))
            .collect(),
    }
}

fn read_escalation<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Escalation {
    let f = Fields::read(doc, obj);
    Escalation {
        id: id.to_string(),
        decision: f.str("decision"),
        zone: Zone::from_stored(&f.str("zone"), Zone::CentreAwareness),
        raised_by: f.str("raised_by"),
        raised_at: f.time("raised_at"),
        status: EscalationStatus::from_stored(&f.str("status"), EscalationStatus::Open),
        acknowledged_by: f.opt_str("acknowledged_by"),
        acknowledged_at: f.opt_time("acknowledged_at"),
        response: f.opt_str("response"),
        verdict: f.opt_str("verdict").and_then(|v| v.parse().ok()),
        resolved_by: f.opt_str("resolved_by"),
        resolved_at: f.opt_time("resolved_at"),
        conflicts: f.conflicts(doc, obj, &["response", "status"]),
    }
}
