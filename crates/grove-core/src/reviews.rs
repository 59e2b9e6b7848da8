//! Reviews: regeneration sessions (docs/design.md, section 4) with an agenda, the principle changes
//! made (before and after, with why), learnings, co-written notes and the next date.

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::{Day, Timestamp};
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::principles::Amendment;
use crate::proposals::{NewProposal, ProposalChange};
use crate::words::ReviewStatus;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Review {
    pub id: String,
    pub date: Day,
    pub status: ReviewStatus,
    pub participants: Vec<String>,
    pub agenda: Vec<String>,
    pub changes: Vec<PrincipleChange>,
    pub learnings: Vec<String>,
    /// Co-written prose (Automerge Text).
    pub notes: String,
    pub next_date: Option<Day>,
    pub opened_by: String,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrincipleChange {
    pub principle: String,
    pub before: String,
    pub after: String,
    pub reason: String,
    pub by: String,
    pub at: Timestamp,
    /// In a circle of several, the proposal the review opened for it: the principle
    /// changes when that passes.
    pub proposal: Option<String>,
}

/// What a review's principle change did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ReviewChanged {
    /// The circle's sole member amended the principle at once.
    Amended { version: usize },
    /// A proposal was opened in the review; the principle changes when it passes.
    Proposed { proposal: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewReview {
    pub date: Day,
    pub agenda: Vec<String>,
    pub participants: Vec<String>,
}

const PARTICIPANT: &str = "participant:";

impl Circle {
    pub fn open_review(&mut self, ctx: &mut Ctx<'_>, new: NewReview) -> Result<String> {
        for m in &new.participants {
            self.member(m)?;
        }
        let agenda: Vec<String> = new
            .agenda
            .iter()
            .filter_map(|a| fields::optional(Some(a), "an agenda item").transpose())
            .collect::<Result<_>>()?;
        let id = ctx.new_id("rv");
        let coll = self.coll("reviews")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "review open", |tx| {
            let r = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &r, "date", &new.date.to_string())?;
            fields::put_str(tx, &r, "status", ReviewStatus::Open.as_str())?;
            for m in &new.participants {
                tx.put(&r, format!("{PARTICIPANT}{m}").as_str(), true)?;
            }
            fields::put_list(tx, &r, "agenda", &agenda)?;
            tx.put_object(&r, "changes", automerge::ObjType::List)?;
            fields::put_list(tx, &r, "learnings", &[])?;
            fields::put_text(tx, &r, "notes", "")?;
            fields::put_str(tx, &r, "opened_by", &member)?;
            fields::put_time(tx, &r, "opened_at", now)?;
            Ok(())
        })?;
        Ok(id)
    }

    pub fn add_agenda_item(&mut self, ctx: &mut Ctx<'_>, id: &str, item: &str) -> Result<()> {
        let item = fields::required(item, "an agenda item")?;
        let obj = self.open_review_obj(id)?;
        let list = list_of(&self.core.am, &obj, "agenda")?;
        self.change_core(ctx.now, "review agenda", |tx| {
            let len = tx.length(&list);
            tx.insert(&list, len, item.as_str())?;
            Ok(())
        })
    }

    pub fn add_participant(&mut self, ctx: &mut Ctx<'_>, id: &str, member: &str) -> Result<()> {
        self.member(member)?;
        let obj = self.review_obj(id)?;
        self.change_core(ctx.now, "review participant", |tx| {
            tx.put(&obj, format!("{PARTICIPANT}{member}").as_str(), true)?;
            Ok(())
        })
    }

    /// Amends a principle within the review, recording before and after. Returns the version.
    /// A principle change made in review `id`. The circle's sole member amends at once; in
    /// a circle of several it becomes a proposal opened in the review, citing it, which
    /// changes the principle when it passes.
    pub fn review_change(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        principle: &str,
        mut amendment: Amendment,
    ) -> Result<ReviewChanged> {
        let obj = self.open_review_obj(id)?;
        let current = self.principle(principle)?;
        let before = current.statement.clone();
        let reason = amendment.reason.trim().to_string();
        let after = amendment.statement.trim().to_string();
        let alone = self.membership().current_members().len() <= 1;
        if !amendment.cites.iter().any(|c| c == id) {
            amendment.cites.push(id.to_string());
        }
        let changed = if alone {
            let write = self.prepare_amend_principle(ctx, principle, &amendment, Some(id))?;
            self.change_core(ctx.now, "principle amend", write)?;
            let version = self.principle(principle)?.version();
            ReviewChanged::Amended { version }
        } else {
            let review = self.review(id)?;
            let proposal = self.open_proposal(
                ctx,
                NewProposal {
                    title: format!("Review of {}: amend {principle}", review.date),
                    body: reason.clone(),
                    change: ProposalChange::AmendPrinciple {
                        principle: principle.to_string(),
                        statement: amendment.statement,
                        guidance: amendment.guidance,
                        reason: amendment.reason,
                        cites: amendment.cites,
                    },
                    window_ms: None,
                },
            )?;
            ReviewChanged::Proposed { proposal }
        };
        let list = list_of(&self.core.am, &obj, "changes")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let proposal = match &changed {
            ReviewChanged::Proposed { proposal } => Some(proposal.clone()),
            ReviewChanged::Amended { .. } => None,
        };
        self.change_core(now, "review change", |tx| {
            let c = fields::push_map(tx, &list)?;
            fields::put_str(tx, &c, "principle", principle)?;
            fields::put_str(tx, &c, "before", &before)?;
            fields::put_str(tx, &c, "after", &after)?;
            fields::put_str(tx, &c, "reason", &reason)?;
            fields::put_str(tx, &c, "by", &member)?;
            fields::put_time(tx, &c, "at", now)?;
            fields::put_opt_str(tx, &c, "proposal", proposal.as_deref())
        })?;
        Ok(changed)
    }

    pub fn add_learning(&mut self, ctx: &mut Ctx<'_>, id: &str, learning: &str) -> Result<()> {
        let learning = fields::required(learning, "a learning")?;
        let obj = self.review_obj(id)?;
        let list = list_of(&self.core.am, &obj, "learnings")?;
        self.change_core(ctx.now, "review learning", |tx| {
            let len = tx.length(&list);
            tx.insert(&list, len, learning.as_str())?;
            Ok(())
        })
    }

    /// Replaces the notes; Automerge merges concurrent edits character by character.
    pub fn edit_review_notes(&mut self, ctx: &mut Ctx<'_>, id: &str, notes: &str) -> Result<()> {
        let obj = self.review_obj(id)?;
        let text = fields::child_text(&self.core.am, &obj, "notes")?;
        self.change_core(ctx.now, "review notes", |tx| {
            tx.update_text(&text, notes)?;
            Ok(())
        })
    }

    pub fn close_review(&mut self, ctx: &mut Ctx<'_>, id: &str, next: Day) -> Result<()> {
        let obj = self.open_review_obj(id)?;
        let review = self.review(id)?;
        if next <= review.date {
            return Err(CoreError::invalid(format!(
                "the next review ({next}) must come after this one ({})",
                review.date
            )));
        }
        let now = ctx.now;
        self.change_core(now, "review close", |tx| {
            fields::put_str(tx, &obj, "status", ReviewStatus::Closed.as_str())?;
            fields::put_str(tx, &obj, "next_date", &next.to_string())?;
            fields::put_time(tx, &obj, "closed_at", now)
        })
    }

    /// Reviews, most recent date first.
    pub fn reviews(&self) -> Result<Vec<Review>> {
        let coll = self.coll("reviews")?;
        let doc = &self.core.am;
        let mut out: Vec<Review> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .filter_map(|item| read_review(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| b.date.cmp(&a.date).then(b.opened_at.cmp(&a.opened_at)));
        Ok(out)
    }

    pub fn review(&self, id: &str) -> Result<Review> {
        let obj = self.review_obj(id)?;
        read_review(&self.core.am, id, &obj)
            .ok_or_else(|| CoreError::Corrupt(format!("review `{id}` has no date")))
    }

    fn review_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("reviews")?;
        fields::entity(&self.core.am, &coll, id)?.ok_or_else(|| CoreError::not_found("review", id))
    }

    fn open_review_obj(&self, id: &str) -> Result<ObjId> {
        let obj = self.review_obj(id)?;
        if self.review(id)?.status == ReviewStatus::Closed {
            return Err(CoreError::state(format!(
                "review `{id}` is closed: open a new review"
            )));
        }
        Ok(obj)
    }
}

fn list_of<D: ReadDoc>(doc: &D, parent: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(parent, key)? {
        Some((automerge::Value::Object(automerge::ObjType::List), id)) => Ok(id),
        _ => Err(CoreError::Corrupt(format!("missing list `{key}`"))),
    }
}

fn read_review<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Option<Review> {
    let f = Fields::read(doc, obj);
    let date = Day::parse(&f.str("date")).ok()?;
    let changes = fields::map_list(doc, f.obj("changes"))
        .into_iter()
        .map(|c| PrincipleChange {
            principle: c.str("principle"),
            before: c.str("before"),
            after: c.str("after"),
            reason: c.str("reason"),
            by: c.str("by"),
            at: c.time("at"),
            proposal: c.opt_str("proposal"),
        })
        .collect();
    Some(Review {
        id: id.to_string(),
        date,
        status: ReviewStatus::from_stored(&f.str("status"), ReviewStatus::Open),
        participants: f
            .prefixed(PARTICIPANT)
            .into_iter()
            .map(|(m, _)| m)
            .collect(),
        agenda: fields::str_list(doc, f.obj("agenda")),
        changes,
        learnings: fields::str_list(doc, f.obj("learnings")),
        notes: fields::text(doc, f.obj("notes")),
        next_date: f.opt_str("next_date").and_then(|d| Day::parse(&d).ok()),
        opened_by: f.str("opened_by"),
        opened_at: f.time("opened_at"),
        closed_at: f.opt_time("closed_at"),
    })
}
