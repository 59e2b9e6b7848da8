//! Escalations: decisions in a centre zone land in the stewards' inbox (docs/design.md, section 2).
//! "Escalations are rare and respected": each records who acknowledged it and when.
//! Only stewards acknowledge and answer them, with a verdict: they back the decision
//! ("the centre defended these decisions"), coach the team, or stop it. Every receiver
//! checks that too (see [`crate::governance`]).

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
        let coll = self.coll("escalations")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "escalation raise", |tx| {
            let e = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
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
        let obj = self.escalation_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "escalation ack", |tx| {
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
        let obj = self.escalation_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "escalation resolve", |tx| {
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

    /// All escalations, oldest first.
    pub fn escalations(&self) -> Result<Vec<Escalation>> {
        let coll = self.coll("escalations")?;
        let doc = &self.core.am;
        let mut out: Vec<Escalation> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_escalation(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| a.raised_at.cmp(&b.raised_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn escalation(&self, id: &str) -> Result<Escalation> {
        let obj = self.escalation_obj(id)?;
        Ok(read_escalation(&self.core.am, id, &obj))
    }

    fn escalation_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("escalations")?;
        fields::entity(&self.core.am, &coll, id)?
            .ok_or_else(|| CoreError::not_found("escalation", id))
    }
}

/// The escalations of a core document (any state of it) that `scope` covers, by id.
pub(crate) fn read<D: ReadDoc>(doc: &D, scope: Scope<'_>) -> Vec<Escalation> {
    crate::touched::entities(doc, "escalations", scope)
        .into_iter()
        .map(|(id, obj)| read_escalation(doc, &id, &obj))
        .collect()
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
