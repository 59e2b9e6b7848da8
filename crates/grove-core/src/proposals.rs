//! Proposals and consent rounds (collective leadership, practice 2): a change passes when no
//! objection stands; objections are answered and resolved, never outvoted.

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::principles::{Amendment, NewPrinciple};
use crate::words::{Answer, ProposalStatus};

/// What passing the proposal changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProposalChange {
    /// A decision or agreement needing consent; passing records it, nothing else changes.
    General,
    AmendPrinciple {
        principle: String,
        statement: String,
        guidance: Option<String>,
        reason: String,
    },
    NewPrinciple {
        values: Vec<String>,
        statement: String,
        guidance: Option<String>,
    },
    /// Removes a member when passed: the circle's consent stands in for a steward.
    RemoveMember { member: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Proposal {
    pub id: String,
    pub title: String,
    /// Co-written prose (Automerge Text).
    pub body: String,
    pub change: ProposalChange,
    pub status: ProposalStatus,
    pub opened_by: String,
    pub opened_at: Timestamp,
    pub closed_by: Option<String>,
    pub closed_at: Option<Timestamp>,
    /// What passing did, e.g. "principle p-… amended to version 3".
    pub outcome: Option<String>,
    /// Each member's current answer.
    pub responses: Vec<Response>,
    /// Every answer ever given, oldest first.
    pub log: Vec<ResponseLogEntry>,
}

impl Proposal {
    /// Members whose objection stands (not withdrawn, not resolved).
    pub fn standing_objections(&self) -> Vec<&Response> {
        self.responses
            .iter()
            .filter(|r| r.answer == Answer::Objection && r.resolution.is_none())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Response {
    pub member: String,
    pub answer: Answer,
    pub reason: Option<String>,
    pub at: Timestamp,
    /// How the objection was resolved, and by whom.
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResponseLogEntry {
    pub at: Timestamp,
    pub member: String,
    pub what: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewProposal {
    pub title: String,
    pub body: String,
    pub change: ProposalChange,
}

const ANSWER: &str = "answer:";
const REASON: &str = "reason:";
const ANSWERED_AT: &str = "answered_at:";
const RESOLUTION: &str = "resolution:";
const RESOLVED_BY: &str = "resolved_by:";
const LOG: &str = "log:";

impl Circle {
    pub fn open_proposal(&mut self, ctx: &mut Ctx<'_>, new: NewProposal) -> Result<String> {
        let title = fields::required(&new.title, "a proposal's title")?;
        let body = new.body.trim().to_string();
        self.check_change(&new.change)?;
        let id = ctx.new_id("pr");
        let coll = self.coll("proposals")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "proposal open", |tx| {
            let p = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &p, "title", &title)?;
            fields::put_text(tx, &p, "body", &body)?;
            fields::put_str(tx, &p, "status", ProposalStatus::Open.as_str())?;
            fields::put_str(tx, &p, "opened_by", &member)?;
            fields::put_time(tx, &p, "opened_at", now)?;
            match &new.change {
                ProposalChange::General => fields::put_str(tx, &p, "kind", "general")?,
                ProposalChange::AmendPrinciple {
                    principle,
                    statement,
                    guidance,
                    reason,
                } => {
                    fields::put_str(tx, &p, "kind", "amend-principle")?;
                    fields::put_str(tx, &p, "principle", principle)?;
                    fields::put_str(tx, &p, "statement", statement.trim())?;
                    fields::put_opt_str(tx, &p, "guidance", guidance.as_deref())?;
                    fields::put_str(tx, &p, "reason", reason.trim())?;
                }
                ProposalChange::NewPrinciple {
                    values,
                    statement,
                    guidance,
                } => {
                    fields::put_str(tx, &p, "kind", "new-principle")?;
                    fields::put_list(tx, &p, "values", values)?;
                    fields::put_str(tx, &p, "statement", statement.trim())?;
                    fields::put_opt_str(tx, &p, "guidance", guidance.as_deref())?;
                }
                ProposalChange::RemoveMember { member } => {
                    fields::put_str(tx, &p, "kind", "remove-member")?;
                    fields::put_str(tx, &p, "member", member)?;
                }
            }
            Ok(())
        })?;
        Ok(id)
    }

    fn check_change(&self, change: &ProposalChange) -> Result<()> {
        match change {
            ProposalChange::General => Ok(()),
            ProposalChange::AmendPrinciple {
                principle,
                statement,
                reason,
                ..
            } => {
                self.check_citable(std::slice::from_ref(principle))?;
                fields::required(statement, "the proposed statement")?;
                fields::required(reason, "the reason for the amendment")?;
                Ok(())
            }
            ProposalChange::NewPrinciple {
                values, statement, ..
            } => {
                fields::required(statement, "the proposed statement")?;
                if values.is_empty() {
                    return Err(CoreError::invalid(
                        "a new principle must derive from at least one value",
                    ));
                }
                for v in values {
                    self.value(v)?;
                }
                Ok(())
            }
            ProposalChange::RemoveMember { member } => self.check_removable(member),
        }
    }

    /// Records `ctx.member`'s answer. An objection or concern needs a reason; answering
    /// again replaces the earlier answer (that is how an objection is withdrawn).
    pub fn respond(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        answer: Answer,
        reason: Option<&str>,
    ) -> Result<()> {
        let p = self.proposal(id)?;
        if p.status != ProposalStatus::Open {
            return Err(CoreError::state(format!("proposal `{id}` is {}", p.status)));
        }
        let reason = fields::optional(reason, "the reason")?;
        if answer != Answer::Consent && reason.is_none() {
            return Err(CoreError::invalid(format!(
                "an {answer} needs a reason, so it can be answered"
            )));
        }
        let obj = self.proposal_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let tag = ctx.new_id("l");
        let previous = p
            .responses
            .iter()
            .find(|r| r.member == member)
            .map(|r| r.answer);
        let what = match (previous, answer) {
            (Some(Answer::Objection), a) if a != Answer::Objection => {
                format!("withdrew objection; now {a}")
            }
            _ => match &reason {
                Some(r) => format!("{answer}: {r}"),
                None => answer.to_string(),
            },
        };
        self.change_core(now, "proposal respond", |tx| {
            fields::put_str(tx, &obj, &format!("{ANSWER}{member}"), answer.as_str())?;
            fields::put_str(
                tx,
                &obj,
                &format!("{REASON}{member}"),
                reason.as_deref().unwrap_or(""),
            )?;
            fields::put_time(tx, &obj, &format!("{ANSWERED_AT}{member}"), now)?;
            // A fresh answer is not covered by an earlier resolution.
            fields::put_str(tx, &obj, &format!("{RESOLUTION}{member}"), "")?;
            fields::put_str(tx, &obj, &format!("{RESOLVED_BY}{member}"), "")?;
            let key = fields::timeline_key(LOG, now, &member, &tag);
            fields::put_str(tx, &obj, &key, &what)
        })
    }

    /// Marks `member`'s objection as resolved (integrated into the proposal, or agreed away).
    pub fn resolve_objection(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        member: &str,
        note: &str,
    ) -> Result<()> {
        let note = fields::required(note, "how the objection was resolved")?;
        let p = self.proposal(id)?;
        if p.status != ProposalStatus::Open {
            return Err(CoreError::state(format!("proposal `{id}` is {}", p.status)));
        }
        if !p.standing_objections().iter().any(|r| r.member == member) {
            return Err(CoreError::state(format!(
                "`{member}` has no standing objection to proposal `{id}`"
            )));
        }
        let obj = self.proposal_obj(id)?;
        let (now, by) = (ctx.now, ctx.member.clone());
        let tag = ctx.new_id("l");
        self.change_core(now, "proposal resolve objection", |tx| {
            fields::put_str(tx, &obj, &format!("{RESOLUTION}{member}"), &note)?;
            fields::put_str(tx, &obj, &format!("{RESOLVED_BY}{member}"), &by)?;
            let key = fields::timeline_key(LOG, now, &by, &tag);
            fields::put_str(
                tx,
                &obj,
                &key,
                &format!("resolved {member}'s objection: {note}"),
            )
        })
    }

    /// Passes the proposal if no objection stands and someone consented, applying its change.
    pub fn pass_proposal(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<Option<String>> {
        let p = self.proposal(id)?;
        if p.status != ProposalStatus::Open {
            return Err(CoreError::state(format!("proposal `{id}` is {}", p.status)));
        }
        let standing = p.standing_objections();
        if !standing.is_empty() {
            let who: Vec<String> = standing
                .iter()
                .map(|r| {
                    format!(
                        "{} ({})",
                        self.member_name(&r.member),
                        r.reason.as_deref().unwrap_or("no reason")
                    )
                })
                .collect();
            return Err(CoreError::state(format!(
                "objections stand: {}; they must be withdrawn or resolved first",
                who.join("; ")
            )));
        }
        if !p.responses.iter().any(|r| r.answer == Answer::Consent) {
            return Err(CoreError::state(
                "no one has consented yet: a proposal passes with consent and no standing objection",
            ));
        }
        if let ProposalChange::RemoveMember { member } = &p.change {
            // Passed first, then the removal: every receiver checks that a removal by a
            // non-steward follows a passed proposal (see `authorize`).
            self.check_removable(member)?;
            let outcome = format!("member {member} removed");
            self.mark_passed(ctx, id, Some(&outcome))?;
            self.remove_member_by_consent(ctx, member)?;
            return Ok(Some(outcome));
        }
        let outcome = match &p.change {
            ProposalChange::General => None,
            ProposalChange::RemoveMember { .. } => None,
            ProposalChange::AmendPrinciple {
                principle,
                statement,
                guidance,
                reason,
            } => {
                let v = self.amend_principle(
                    ctx,
                    principle,
                    Amendment {
                        statement: statement.clone(),
                        guidance: guidance.clone(),
                        reason: reason.clone(),
                    },
                    Some(id),
                )?;
                Some(format!("principle {principle} amended to version {v}"))
            }
            ProposalChange::NewPrinciple {
                values,
                statement,
                guidance,
            } => {
                let pid = self.add_principle(
                    ctx,
                    NewPrinciple {
                        values: values.clone(),
                        statement: statement.clone(),
                        guidance: guidance.clone(),
                        supersedes: None,
                    },
                )?;
                Some(format!("principle {pid} added"))
            }
        };
        self.mark_passed(ctx, id, outcome.as_deref())?;
        Ok(outcome)
    }

    fn mark_passed(&mut self, ctx: &mut Ctx<'_>, id: &str, outcome: Option<&str>) -> Result<()> {
        let obj = self.proposal_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "proposal pass", |tx| {
            fields::put_str(tx, &obj, "status", ProposalStatus::Passed.as_str())?;
            fields::put_str(tx, &obj, "closed_by", &member)?;
            fields::put_time(tx, &obj, "closed_at", now)?;
            fields::put_opt_str(tx, &obj, "outcome", outcome)
        })
    }

    pub fn withdraw_proposal(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<()> {
        let p = self.proposal(id)?;
        if p.status != ProposalStatus::Open {
            return Err(CoreError::state(format!("proposal `{id}` is {}", p.status)));
        }
        let obj = self.proposal_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "proposal withdraw", |tx| {
            fields::put_str(tx, &obj, "status", ProposalStatus::Withdrawn.as_str())?;
            fields::put_str(tx, &obj, "closed_by", &member)?;
            fields::put_time(tx, &obj, "closed_at", now)
        })
    }

    /// Replaces the body text; Automerge merges concurrent edits to it character by character.
    pub fn edit_proposal_body(&mut self, ctx: &mut Ctx<'_>, id: &str, body: &str) -> Result<()> {
        let obj = self.proposal_obj(id)?;
        let text = fields::child_text(&self.core.am, &obj, "body")?;
        self.change_core(ctx.now, "proposal edit", |tx| {
            tx.update_text(&text, body)?;
            Ok(())
        })
    }

    pub fn proposals(&self) -> Result<Vec<Proposal>> {
        let coll = self.coll("proposals")?;
        let doc = &self.core.am;
        let mut out: Vec<Proposal> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_proposal(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn proposal(&self, id: &str) -> Result<Proposal> {
        let obj = self.proposal_obj(id)?;
        Ok(read_proposal(&self.core.am, id, &obj))
    }

    fn proposal_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("proposals")?;
        fields::entity(&self.core.am, &coll, id)?
            .ok_or_else(|| CoreError::not_found("proposal", id))
    }
}

fn read_proposal<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Proposal {
    let f = Fields::read(doc, obj);
    let change = match f.str("kind").as_str() {
        "amend-principle" => ProposalChange::AmendPrinciple {
            principle: f.str("principle"),
            statement: f.str("statement"),
            guidance: f.opt_str("guidance"),
            reason: f.str("reason"),
        },
        "new-principle" => ProposalChange::NewPrinciple {
            values: fields::str_list(doc, f.obj("values")),
            statement: f.str("statement"),
            guidance: f.opt_str("guidance"),
        },
        "remove-member" => ProposalChange::RemoveMember {
            member: f.str("member"),
        },
        _ => ProposalChange::General,
    };
    let lookup =
        |prefix: &str, member: &str| -> Option<String> { f.opt_str(&format!("{prefix}{member}")) };
    let mut responses: Vec<Response> = f
        .prefixed(ANSWER)
        .into_iter()
        .filter_map(|(member, answer)| {
            let answer = answer.parse::<Answer>().ok()?;
            Some(Response {
                answer,
                reason: lookup(REASON, &member),
                at: f.time(&format!("{ANSWERED_AT}{member}")),
                resolution: lookup(RESOLUTION, &member),
                resolved_by: lookup(RESOLVED_BY, &member),
                member,
            })
        })
        .collect();
    responses.sort_by(|a, b| a.at.cmp(&b.at).then(a.member.cmp(&b.member)));
    let log = f
        .timeline(LOG)
        .into_iter()
        .map(|(at, member, what)| ResponseLogEntry { at, member, what })
        .collect();
    Proposal {
        id: id.to_string(),
        title: f.str("title"),
        body: fields::text(doc, f.obj("body")),
        change,
        status: ProposalStatus::from_stored(&f.str("status"), ProposalStatus::Open),
        opened_by: f.str("opened_by"),
        opened_at: f.time("opened_at"),
        closed_by: f.opt_str("closed_by"),
        closed_at: f.opt_time("closed_at"),
        outcome: f.opt_str("outcome"),
        responses,
        log,
    }
}

/// Whether a core document (any state of it) holds a passed proposal removing `member`.
pub(crate) fn passed_removal<D: ReadDoc>(doc: &D, member: &str) -> bool {
    let Ok(coll) = fields::child_map(doc, &automerge::ROOT, "proposals") else {
        return false;
    };
    doc.map_range(&coll, ..)
        .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
        .any(|item| {
            let f = Fields::read(doc, &item.id());
            f.str("kind") == "remove-member"
                && f.str("member") == member
                && f.str("status") == ProposalStatus::Passed.as_str()
        })
}
