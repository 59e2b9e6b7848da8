//! Proposals and consent rounds (docs/design.md, section 3): a change passes when no
//! objection stands; objections are answered and resolved, never outvoted. The rules of the
//! round live in [`crate::consent`]; what a change may do to a proposal is judged in
//! [`crate::governance`].

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::consent::{self, Round};
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::principles::{Amendment, NewPrinciple};
use crate::touched::Scope;
use crate::words::{Answer, ProposalStatus, ValueStatus, Zone};

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
        /// The tensions or decisions that demand the change (local feedback).
        #[serde(default)]
        cites: Vec<String>,
    },
    NewPrinciple {
        values: Vec<String>,
        statement: String,
        guidance: Option<String>,
        /// A principle the new one replaces: retired when this passes.
        #[serde(default)]
        supersedes: Option<String>,
    },
    RetirePrinciple {
        principle: String,
        reason: String,
    },
    NewValue {
        title: String,
        statement: String,
        protect: Option<String>,
        refuse: Option<String>,
    },
    /// Rewords a value: its whole new wording (what it protects and refuses, if anything).
    AmendValue {
        value: String,
        title: String,
        statement: String,
        protect: Option<String>,
        refuse: Option<String>,
        reason: String,
        #[serde(default)]
        cites: Vec<String>,
    },
    RetireValue {
        value: String,
        reason: String,
    },
    /// Removes a member when passed: the circle's consent stands in for a steward.
    RemoveMember {
        member: String,
    },
    /// Names the circle's stewards for a term: passing gives exactly these members the
    /// steward role until the term ends.
    Stewards {
        members: Vec<String>,
        term_days: i64,
        /// Who takes over, in order, when a term ends (`grove steward rotate`).
        #[serde(default)]
        queue: Vec<String>,
    },
    /// Names the circle's principle keepers for a term: passing gives exactly these
    /// members the office until the term ends.
    Keepers {
        members: Vec<String>,
        term_days: i64,
        /// Who takes over, in order, when a term ends (`grove keeper rotate`).
        #[serde(default)]
        queue: Vec<String>,
    },
    /// Sets which zone a kind of situation belongs to for a team (its zone map).
    MapZone {
        team: String,
        situation: String,
        zone: Zone,
    },
}

impl ProposalChange {
    /// The kind's word: stored with the proposal, and its `kind` in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            ProposalChange::General => "general",
            ProposalChange::AmendPrinciple { .. } => "amend-principle",
            ProposalChange::NewPrinciple { .. } => "new-principle",
            ProposalChange::RetirePrinciple { .. } => "retire-principle",
            ProposalChange::NewValue { .. } => "new-value",
            ProposalChange::AmendValue { .. } => "amend-value",
            ProposalChange::RetireValue { .. } => "retire-value",
            ProposalChange::RemoveMember { .. } => "remove-member",
            ProposalChange::Stewards { .. } => "stewards",
            ProposalChange::Keepers { .. } => "keepers",
            ProposalChange::MapZone { .. } => "map-zone",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Proposal {
    pub id: String,
    pub title: String,
    pub body: String,
    pub change: ProposalChange,
    /// Effective status: a pass that missed an answer given concurrently reads `contested`.
    pub status: ProposalStatus,
    pub opened_by: String,
    pub opened_at: Timestamp,
    /// How long each member's window lasts, in milliseconds.
    pub window_ms: i64,
    /// Starts at 1; each revision by the proposer voids every answer.
    pub version: u32,
    /// When the current version was published (the opening, for version 1).
    pub revised_at: Timestamp,
    pub closed_by: Option<String>,
    pub closed_at: Option<Timestamp>,
    /// What passing did, e.g. "principle p-… amended to version 3".
    pub outcome: Option<String>,
    /// Each member's answer to the current version.
    pub responses: Vec<Response>,
    /// When each member's device first received the proposal.
    pub receipts: Vec<Receipt>,
    /// Why a pass is contested: both sides.
    pub contest: Option<Contest>,
    /// Every answer ever given, oldest first.
    pub log: Vec<ResponseLogEntry>,
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub(crate) stored: Stored,
}

impl Proposal {
    /// Members whose objection stands.
    pub fn standing_objections(&self) -> Vec<&Response> {
        self.responses
            .iter()
            .filter(|r| r.answer == Answer::Objection)
            .collect()
    }
}

/// A proposal with its consent round as it stands at one instant: what people see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProposalView {
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub proposal: Proposal,
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub round: Round,
}

impl ProposalView {
    /// Whether it could pass right now.
    pub fn can_pass_now(&self) -> bool {
        self.round.can_pass
            && matches!(
                self.proposal.status,
                ProposalStatus::Open | ProposalStatus::Contested
            )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Response {
    pub member: String,
    pub answer: Answer,
    pub reason: Option<String>,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Receipt {
    pub member: String,
    pub at: Timestamp,
}

/// A pass made without seeing answers given at the same time elsewhere (a partition), or
/// alongside another amendment of the same principle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Contest {
    /// One side: who passed it and when.
    pub passed_by: String,
    pub passed_at: Timestamp,
    /// The other side: the answers the pass never saw.
    pub unheard: Vec<Response>,
    /// The proposer revised it while it was being passed.
    pub revised: bool,
    /// Another proposal passed concurrently that amends the same principle.
    pub rival: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResponseLogEntry {
    pub at: Timestamp,
    pub member: String,
    pub what: String,
}

/// A proposal's fields as stored, for judging what a change did to it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Stored {
    pub(crate) status: String,
    pub(crate) status_conflicted: bool,
    /// member → (answer, reason, answered_at, version, tag), every version's.
    pub(crate) answers: BTreeMap<String, (String, String, i64, i64, String)>,
    pub(crate) receipts: BTreeMap<String, i64>,
    /// Marks of the old "resolved by someone else" rule: no one may write them now.
    pub(crate) resolutions: BTreeMap<String, String>,
    /// What a pass saw: member → answer tag.
    pub(crate) saw: BTreeMap<String, String>,
    pub(crate) passed_version: Option<i64>,
    /// For an amendment: how many versions the principle had when it passed.
    pub(crate) base_version: Option<i64>,
    pub(crate) substance: Vec<(String, String)>,
    pub(crate) window_ms: Option<i64>,
    pub(crate) version: Option<i64>,
    pub(crate) revised_at: Option<i64>,
    pub(crate) opened_by: String,
    pub(crate) opened_at: i64,
    pub(crate) closed_by: String,
    pub(crate) closed_at: Option<i64>,
    pub(crate) outcome: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewProposal {
    pub title: String,
    pub body: String,
    pub change: ProposalChange,
    /// The consent window in milliseconds (7 days when absent).
    #[serde(default)]
    pub window_ms: Option<i64>,
}

const ANSWER: &str = "answer:";
const REASON: &str = "reason:";
const ANSWERED_AT: &str = "answered_at:";
const ANSWER_VERSION: &str = "answer_v:";
const ANSWER_TAG: &str = "answer_tag:";
const RECEIVED: &str = "received:";
const SAW: &str = "saw:";
const RESOLUTION: &str = "resolution:";
const RESOLVED_BY: &str = "resolved_by:";
const LOG: &str = "log:";
/// The fields a revision may change, beside the body and the change's own fields.
const SUBSTANCE: &[&str] = &[
    "title",
    "kind",
    "principle",
    "statement",
    "guidance",
    "reason",
    "supersedes",
    "value",
    "value_title",
    "protect",
    "refuse",
    "member",
    "term_days",
    "team",
    "situation",
    "zone",
];

/// The lists a revision may change.
const SUBSTANCE_LISTS: &[&str] = &["values", "stewards", "cites", "keepers", "queue"];

/// A change's time as receivers see it: whole seconds.
pub(crate) fn change_time(now: Timestamp) -> Timestamp {
    Timestamp(now.0.div_euclid(1000) * 1000)
}

impl Circle {
    pub fn open_proposal(&mut self, ctx: &mut Ctx<'_>, new: NewProposal) -> Result<String> {
        let title = fields::required(&new.title, "a proposal's title")?;
        let body = new.body.trim().to_string();
        self.check_change(&new.change)?;
        let window = new.window_ms.unwrap_or(consent::DEFAULT_WINDOW_MS);
        consent::check_window(window)?;
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
            fields::put_time(tx, &p, "revised_at", now)?;
            tx.put(&p, "window_ms", window)?;
            tx.put(&p, "version", 1_i64)?;
            fields::put_time(tx, &p, &format!("{RECEIVED}{member}"), now)?;
            write_change(tx, &p, &new.change)
        })?;
        Ok(id)
    }

    /// Publishes a new version of proposal `id` (its proposer only): every answer given so
    /// far no longer counts, and everyone's window starts again. This is how a proposer
    /// integrates an objection.
    pub fn revise_proposal(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        new: NewProposal,
    ) -> Result<u32> {
        let p = self.proposal(id)?;
        if p.opened_by != ctx.member {
            return Err(CoreError::state(format!(
                "only {} can revise proposal `{id}`: answer it instead (grove proposal respond {id} --answer …)",
                self.member_name(&p.opened_by)
            )));
        }
        if !matches!(p.status, ProposalStatus::Open | ProposalStatus::Contested) {
            return Err(CoreError::state(format!("proposal `{id}` is {}", p.status)));
        }
        let title = fields::required(&new.title, "a proposal's title")?;
        if std::mem::discriminant(&new.change) != std::mem::discriminant(&p.change) {
            return Err(CoreError::invalid(
                "a revision keeps what kind of change the proposal makes: open a new proposal for another kind",
            ));
        }
        self.check_change(&new.change)?;
        if title == p.title && new.body.trim() == p.body.trim() && new.change == p.change {
            return Err(CoreError::invalid(
                "the revision changes nothing: give a new title, body, statement, guidance or reason",
            ));
        }
        let obj = self.proposal_obj(id)?;
        let text = fields::child_text(&self.core.am, &obj, "body")?;
        let version = p.version + 1;
        let (now, member) = (ctx.now, ctx.member.clone());
        let tag = ctx.new_id("l");
        self.change_core(now, "proposal revise", |tx| {
            fields::put_str(tx, &obj, "title", &title)?;
            tx.update_text(&text, new.body.trim())?;
            write_change(tx, &obj, &new.change)?;
            tx.put(&obj, "version", i64::from(version))?;
            fields::put_time(tx, &obj, "revised_at", now)?;
            // A revision of a contested pass reopens the round.
            fields::put_str(tx, &obj, "status", ProposalStatus::Open.as_str())?;
            let key = fields::timeline_key(LOG, now, &member, &tag);
            fields::put_str(
                tx,
                &obj,
                &key,
                &format!("revised it (version {version}): every answer is asked again"),
            )
        })?;
        Ok(version)
    }

    fn check_change(&self, change: &ProposalChange) -> Result<()> {
        match change {
            ProposalChange::General => Ok(()),
            ProposalChange::AmendPrinciple {
                principle,
                statement,
                reason,
                cites,
                ..
            } => {
                self.check_citable(std::slice::from_ref(principle))?;
                fields::required(statement, "the proposed statement")?;
                fields::required(reason, "the reason for the amendment")?;
                self.check_feedback(cites)
            }
            ProposalChange::NewPrinciple {
                values,
                statement,
                supersedes,
                ..
            } => {
                fields::required(statement, "the proposed statement")?;
                if values.is_empty() {
                    return Err(CoreError::invalid(
                        "a new principle must derive from at least one value",
                    ));
                }
                for v in values {
                    if self.value(v)?.status == ValueStatus::Retired {
                        return Err(CoreError::invalid(format!(
                            "value `{v}` is retired: a new principle cannot derive from it"
                        )));
                    }
                }
                if let Some(old) = supersedes {
                    self.check_citable(std::slice::from_ref(old))?;
                }
                Ok(())
            }
            ProposalChange::RetirePrinciple { principle, reason } => {
                self.check_citable(std::slice::from_ref(principle))?;
                fields::required(reason, "the reason for retiring it")?;
                Ok(())
            }
            ProposalChange::NewValue {
                title, statement, ..
            } => {
                let title = fields::required(title, "the value's title")?;
                fields::required(statement, "the value's statement")?;
                self.check_value_title_free(&title)
            }
            ProposalChange::AmendValue {
                value,
                title,
                statement,
                protect,
                refuse,
                reason,
                cites,
            } => {
                let v = self.value(value)?;
                if v.status == ValueStatus::Retired {
                    return Err(CoreError::state(format!(
                        "value `{value}` is retired: propose a new value instead"
                    )));
                }
                fields::required(title, "the value's title")?;
                fields::required(statement, "the value's statement")?;
                fields::required(reason, "the reason for the change")?;
                let same = |a: &Option<String>, b: &Option<String>| {
                    a.as_deref().map(str::trim).unwrap_or_default()
                        == b.as_deref().unwrap_or_default()
                };
                if title.trim() == v.title
                    && statement.trim() == v.statement
                    && same(protect, &v.protect)
                    && same(refuse, &v.refuse)
                {
                    return Err(CoreError::invalid(
                        "the change keeps the value's wording as it is: give a new title, statement, protect or refuse",
                    ));
                }
                self.check_feedback(cites)
            }
            ProposalChange::RetireValue { value, reason } => {
                if self.value(value)?.status == ValueStatus::Retired {
                    return Err(CoreError::state(format!(
                        "value `{value}` is already retired"
                    )));
                }
                fields::required(reason, "the reason for retiring it")?;
                Ok(())
            }
            ProposalChange::RemoveMember { member } => self.check_removable(member),
            ProposalChange::MapZone {
                team, situation, ..
            } => {
                self.team(team)?;
                if crate::zones::situation_key(situation)? != *situation {
                    return Err(CoreError::invalid(format!(
                        "write the situation key as `{}`",
                        crate::zones::situation_key(situation)?
                    )));
                }
                Ok(())
            }
            ProposalChange::Stewards {
                members,
                term_days,
                queue,
            }
            | ProposalChange::Keepers {
                members,
                term_days,
                queue,
            } => {
                if members.is_empty() {
                    return Err(CoreError::invalid(match change {
                        ProposalChange::Keepers { .. } => "name at least one principle keeper",
                        _ => "name at least one steward",
                    }));
                }
                let ms = self.membership();
                for m in members.iter().chain(queue) {
                    if !ms.is_current_member(m) {
                        return Err(CoreError::not_found("member", m));
                    }
                }
                if !(1..=crate::members::MAX_STEWARD_TERM_DAYS).contains(term_days) {
                    return Err(CoreError::invalid(format!(
                        "a term of office lasts from 1 to {} days",
                        crate::members::MAX_STEWARD_TERM_DAYS
                    )));
                }
                Ok(())
            }
        }
    }

    /// An amendment cites the feedback that demands it (docs/design.md, section 3:
    /// principles change only when local feedback demands it): tensions, decisions or a review. The circle's
    /// sole member may amend without.
    fn check_feedback(&self, cites: &[String]) -> Result<()> {
        if cites.is_empty() {
            if self.membership().current_members().len() <= 1 {
                return Ok(());
            }
            return Err(CoreError::invalid(
                "an amendment cites the feedback that demands it: add --cites with a tension, decision or review id (grove tension list, grove decision list)",
            ));
        }
        for c in cites {
            if !crate::governance::is_feedback_id(c) {
                return Err(CoreError::invalid(format!(
                    "`{c}` is no tension, decision or review id: cite the feedback that demands the change"
                )));
            }
            if c.starts_with("rv-") {
                self.review(c)?;
            }
        }
        Ok(())
    }

    /// Records `ctx.member`'s answer to the current version. An objection or concern needs
    /// a reason; answering again replaces one's own earlier answer (that is how an
    /// objection is lifted, and only its author can do it).
    pub fn respond(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        answer: Answer,
        reason: Option<&str>,
    ) -> Result<()> {
        let p = self.proposal(id)?;
        if !matches!(p.status, ProposalStatus::Open | ProposalStatus::Contested) {
            return Err(CoreError::state(format!("proposal `{id}` is {}", p.status)));
        }
        if !self.membership().is_current_member(&ctx.member) {
            return Err(CoreError::state(
                "only a member of the circle answers its proposals",
            ));
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
        let received = p.receipts.iter().any(|r| r.member == member);
        self.change_core(now, "proposal respond", |tx| {
            fields::put_str(tx, &obj, &format!("{ANSWER}{member}"), answer.as_str())?;
            fields::put_str(
                tx,
                &obj,
                &format!("{REASON}{member}"),
                reason.as_deref().unwrap_or(""),
            )?;
            fields::put_time(tx, &obj, &format!("{ANSWERED_AT}{member}"), now)?;
            tx.put(
                &obj,
                format!("{ANSWER_VERSION}{member}"),
                i64::from(p.version),
            )?;
            fields::put_str(tx, &obj, &format!("{ANSWER_TAG}{member}"), &tag)?;
            if !received {
                fields::put_time(tx, &obj, &format!("{RECEIVED}{member}"), now)?;
            }
            let key = fields::timeline_key(LOG, now, &member, &tag);
            fields::put_str(tx, &obj, &key, &what)
        })
    }

    /// Writes `ctx.member`'s receipt on every open proposal this device sees for the first
    /// time: their window starts now. Returns how many it wrote.
    pub fn receive_proposals(&mut self, ctx: &mut Ctx<'_>) -> Result<usize> {
        let member = ctx.member.clone();
        if !self.membership().is_current_member(&member) {
            return Ok(0);
        }
        let unseen: Vec<ObjId> = self
            .proposals()?
            .into_iter()
            .filter(|p| matches!(p.status, ProposalStatus::Open | ProposalStatus::Contested))
            .filter(|p| !p.receipts.iter().any(|r| r.member == member))
            .filter_map(|p| self.proposal_obj(&p.id).ok())
            .collect();
        if unseen.is_empty() {
            return Ok(0);
        }
        let now = ctx.now;
        self.change_core(now, "proposal receive", |tx| {
            for obj in &unseen {
                fields::put_time(tx, obj, &format!("{RECEIVED}{member}"), now)?;
            }
            Ok(())
        })?;
        Ok(unseen.len())
    }

    /// The consent round of `p` at `now`, with members named.
    pub fn consent_round(&self, p: &Proposal, now: Timestamp) -> Round {
        let members = self.membership().current_members();
        let keepers = crate::keepers::in_office(&self.core.am, now);
        consent::round(p, &members, &keepers, now, &|m| self.member_name(m))
    }

    /// Every proposal with its round at `now`.
    pub fn proposal_views(&self, now: Timestamp) -> Result<Vec<ProposalView>> {
        Ok(self
            .proposals()?
            .into_iter()
            .map(|p| ProposalView {
                round: self.consent_round(&p, now),
                proposal: p,
            })
            .collect())
    }

    /// Proposal `id` with its round at `now`.
    pub fn proposal_view(&self, id: &str, now: Timestamp) -> Result<ProposalView> {
        let p = self.proposal(id)?;
        Ok(ProposalView {
            round: self.consent_round(&p, now),
            proposal: p,
        })
    }

    /// Passes the proposal if the consent rules allow it now (see [`crate::consent`]),
    /// applying its change.
    pub fn pass_proposal(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<Option<String>> {
        let p = self.proposal(id)?;
        // Judged at the change's own time, as every receiver will judge it.
        let at = change_time(ctx.now);
        let members = self.membership().current_members();
        let keepers = crate::keepers::in_office(&self.core.am, at);
        let blocking = consent::blockers(&p, p.status, &members, &keepers, at);
        if let Some(first) = blocking.first() {
            let why: Vec<String> = blocking
                .iter()
                .map(|b| b.describe(|m| self.member_name(m)))
                .collect();
            return Err(match first {
                consent::Blocker::NotOpen(s) => CoreError::state(format!("proposal `{id}` is {s}")),
                _ => CoreError::state(format!("it cannot pass yet: {}", why.join("; "))),
            });
        }
        if let ProposalChange::RemoveMember { member } = &p.change {
            // Passed first, then the removal: every receiver checks that a removal
            // follows a passed proposal (see `authorize`).
            self.check_removable(member)?;
            let outcome = format!("member {member} removed");
            self.mark_passed(ctx, &p, None, Some(&outcome))?;
            self.remove_member_by_consent(ctx, member)?;
            return Ok(Some(outcome));
        }
        if let ProposalChange::Stewards {
            members,
            term_days,
            queue,
        } = &p.change
        {
            // Passed first, then the naming, which every receiver checks against it.
            let until = ctx.now.plus_days(*term_days);
            let names: Vec<String> = members.iter().map(|m| self.member_name(m)).collect();
            let outcome = format!("stewards until {}: {}", until.minute(), names.join(", "));
            self.mark_passed(ctx, &p, None, Some(&outcome))?;
            let term = crate::members::Term {
                until,
                by: Some(id),
                queue,
                days: Some(*term_days),
            };
            self.name_stewards(ctx.now, members, term)?;
            return Ok(Some(outcome));
        }
        if let ProposalChange::Keepers {
            members,
            term_days,
            queue,
        } = &p.change
        {
            // Passed first, then the naming, which every receiver checks against it.
            let until = ctx.now.plus_days(*term_days);
            let names: Vec<String> = members.iter().map(|m| self.member_name(m)).collect();
            let outcome = format!(
                "principle keepers until {}: {}",
                until.minute(),
                names.join(", ")
            );
            self.mark_passed(ctx, &p, None, Some(&outcome))?;
            let mut holders = members.clone();
            holders.sort();
            holders.dedup();
            let seat = crate::office::Seat {
                holders,
                until: Some(until),
                by: Some(id.to_string()),
                queue: queue.clone(),
                days: Some(*term_days),
            };
            self.name_keepers(ctx.now, &seat)?;
            return Ok(Some(outcome));
        }
        if let ProposalChange::MapZone {
            team,
            situation,
            zone,
        } = &p.change
        {
            // Passed first, then the rule, which every receiver checks against it.
            let outcome = format!("#{situation} is {zone} for team {}", self.team(team)?.name);
            self.mark_passed(ctx, &p, None, Some(&outcome))?;
            self.map_zone(ctx.now, id, team, situation, *zone)?;
            return Ok(Some(outcome));
        }
        if crate::charter::is_charter_change(&p.change) {
            // The pass and its effect in one change: every receiver checks that a change
            // to values or principles is exactly what the proposal it passes agreed (see
            // `charter::check`).
            let (outcome, base, effect) = self.prepare_charter_effect(ctx, &p)?;
            let pass = self.pass_write(ctx, &p, base, Some(&outcome))?;
            self.change_core(ctx.now, "proposal pass", move |tx| {
                pass(tx)?;
                effect(tx)
            })?;
            return Ok(Some(outcome));
        }
        self.mark_passed(ctx, &p, None, None)?;
        Ok(None)
    }

    /// What passing a charter proposal does: its outcome in words, the version count it
    /// builds on (amendments), and the write.
    fn prepare_charter_effect(
        &self,
        ctx: &mut Ctx<'_>,
        p: &Proposal,
    ) -> Result<(String, Option<usize>, crate::charter::Write)> {
        let source = Some(p.id.as_str());
        Ok(match &p.change {
            ProposalChange::AmendPrinciple {
                principle,
                statement,
                guidance,
                reason,
                cites,
            } => {
                let amendment = Amendment {
                    statement: statement.clone(),
                    guidance: guidance.clone(),
                    reason: reason.clone(),
                    cites: cites.clone(),
                };
                let write = self.prepare_amend_principle(ctx, principle, &amendment, source)?;
                let base = crate::principles::version_count(&self.core.am, principle);
                let outcome = format!(
                    "principle {principle} amended to version {}",
                    self.principle(principle)?.versions.len() + 1
                );
                (outcome, Some(base), write)
            }
            ProposalChange::NewPrinciple {
                values,
                statement,
                guidance,
                supersedes,
            } => {
                let new = NewPrinciple {
                    values: values.clone(),
                    statement: statement.clone(),
                    guidance: guidance.clone(),
                    supersedes: supersedes.clone(),
                };
                let (pid, write) = self.prepare_add_principle(ctx, &new, source)?;
                let outcome = match supersedes {
                    Some(old) => format!("principle {pid} added, superseding {old}"),
                    None => format!("principle {pid} added"),
                };
                (outcome, None, write)
            }
            ProposalChange::RetirePrinciple { principle, reason } => {
                let write = self.prepare_retire_principle(ctx, principle, reason)?;
                (format!("principle {principle} retired"), None, write)
            }
            ProposalChange::NewValue {
                title,
                statement,
                protect,
                refuse,
            } => {
                let new = crate::values::NewValue {
                    title: title.clone(),
                    statement: statement.clone(),
                    protect: protect.clone(),
                    refuse: refuse.clone(),
                    examples: Vec::new(),
                };
                let (vid, write) = self.prepare_add_value(ctx, &new, source)?;
                (format!("value {vid} added"), None, write)
            }
            ProposalChange::AmendValue {
                value,
                title,
                statement,
                protect,
                refuse,
                reason,
                cites,
            } => {
                let edit = crate::values::ValueEdit {
                    title: Some(title.clone()),
                    statement: Some(statement.clone()),
                    protect: Some(protect.clone().unwrap_or_default()),
                    refuse: Some(refuse.clone().unwrap_or_default()),
                    reason: Some(reason.clone()),
                };
                let how = crate::values::Rewording::Version { cites, source };
                let write = self.prepare_edit_value(ctx, value, &edit, how)?;
                let base = crate::values::version_count(&self.core.am, value);
                let outcome = format!(
                    "value {value} reworded (version {})",
                    self.value(value)?.versions.len() + 1
                );
                (outcome, Some(base), write)
            }
            ProposalChange::RetireValue { value, .. } => {
                let (orphaned, write) = self.prepare_retire_value(ctx, value)?;
                let outcome = if orphaned.is_empty() {
                    format!("value {value} retired")
                } else {
                    format!(
                        "value {value} retired; under review: {}",
                        orphaned.join(", ")
                    )
                };
                (outcome, None, write)
            }
            ProposalChange::General
            | ProposalChange::RemoveMember { .. }
            | ProposalChange::Stewards { .. }
            | ProposalChange::Keepers { .. }
            | ProposalChange::MapZone { .. } => {
                return Err(CoreError::invalid(format!(
                    "proposal `{}` changes no value or principle",
                    p.id
                )))
            }
        })
    }

    fn mark_passed(
        &mut self,
        ctx: &mut Ctx<'_>,
        p: &Proposal,
        base: Option<usize>,
        outcome: Option<&str>,
    ) -> Result<()> {
        let write = self.pass_write(ctx, p, base, outcome)?;
        self.change_core(ctx.now, "proposal pass", write)
    }

    /// The write that records `p` as passed by `ctx.member` now, with what it saw.
    fn pass_write(
        &self,
        ctx: &Ctx<'_>,
        p: &Proposal,
        base: Option<usize>,
        outcome: Option<&str>,
    ) -> Result<crate::charter::Write> {
        let obj = self.proposal_obj(&p.id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let stale: Vec<String> = p.stored.saw.keys().cloned().collect();
        let outcome = outcome.map(str::to_string);
        let tags = current_tags(p);
        let version = p.version;
        Ok(Box::new(move |tx| {
            fields::put_str(tx, &obj, "status", ProposalStatus::Passed.as_str())?;
            fields::put_str(tx, &obj, "closed_by", &member)?;
            fields::put_time(tx, &obj, "closed_at", now)?;
            fields::put_opt_str(tx, &obj, "outcome", outcome.as_deref())?;
            tx.put(&obj, "passed_version", i64::from(version))?;
            if let Some(base) = base {
                tx.put(&obj, "base_version", base as i64)?;
            }
            for m in &stale {
                tx.delete(&obj, format!("{SAW}{m}"))?;
            }
            for (m, tag) in tags {
                fields::put_str(tx, &obj, &format!("{SAW}{m}"), &tag)?;
            }
            Ok(())
        }))
    }

    /// Withdraws proposal `id` (its proposer only).
    pub fn withdraw_proposal(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<()> {
        let p = self.proposal(id)?;
        if !matches!(p.status, ProposalStatus::Open | ProposalStatus::Contested) {
            return Err(CoreError::state(format!("proposal `{id}` is {}", p.status)));
        }
        if p.opened_by != ctx.member {
            return Err(CoreError::state(format!(
                "only {} can withdraw proposal `{id}`: object to it instead",
                self.member_name(&p.opened_by)
            )));
        }
        let obj = self.proposal_obj(id)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "proposal withdraw", |tx| {
            fields::put_str(tx, &obj, "status", ProposalStatus::Withdrawn.as_str())?;
            fields::put_str(tx, &obj, "closed_by", &member)?;
            fields::put_time(tx, &obj, "closed_at", now)
        })
    }

    pub fn proposals(&self) -> Result<Vec<Proposal>> {
        self.coll("proposals")?;
        Ok(read_all(&self.core.am))
    }

    pub fn proposal(&self, id: &str) -> Result<Proposal> {
        self.proposals()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| CoreError::not_found("proposal", id))
    }

    pub(crate) fn proposal_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("proposals")?;
        fields::entity(&self.core.am, &coll, id)?
            .ok_or_else(|| CoreError::not_found("proposal", id))
    }
}

fn write_change(
    tx: &mut automerge::transaction::Transaction<'_>,
    p: &ObjId,
    change: &ProposalChange,
) -> Result<()> {
    fields::put_str(tx, p, "kind", change.kind())?;
    match change {
        ProposalChange::General => {}
        ProposalChange::AmendPrinciple {
            principle,
            statement,
            guidance,
            reason,
            cites,
        } => {
            fields::put_str(tx, p, "principle", principle)?;
            fields::put_str(tx, p, "statement", statement.trim())?;
            put_or_clear(tx, p, "guidance", guidance.as_deref())?;
            fields::put_str(tx, p, "reason", reason.trim())?;
            fields::put_list(tx, p, "cites", cites)?;
        }
        ProposalChange::NewPrinciple {
            values,
            statement,
            guidance,
            supersedes,
        } => {
            fields::put_list(tx, p, "values", values)?;
            fields::put_str(tx, p, "statement", statement.trim())?;
            put_or_clear(tx, p, "guidance", guidance.as_deref())?;
            put_or_clear(tx, p, "supersedes", supersedes.as_deref())?;
        }
        ProposalChange::RetirePrinciple { principle, reason } => {
            fields::put_str(tx, p, "principle", principle)?;
            fields::put_str(tx, p, "reason", reason.trim())?;
        }
        ProposalChange::NewValue {
            title,
            statement,
            protect,
            refuse,
        } => {
            // `value_title`: the proposal's own `title` is its headline.
            fields::put_str(tx, p, "value_title", title.trim())?;
            fields::put_str(tx, p, "statement", statement.trim())?;
            put_or_clear(tx, p, "protect", protect.as_deref())?;
            put_or_clear(tx, p, "refuse", refuse.as_deref())?;
        }
        ProposalChange::AmendValue {
            value,
            title,
            statement,
            protect,
            refuse,
            reason,
            cites,
        } => {
            fields::put_str(tx, p, "value", value)?;
            fields::put_str(tx, p, "value_title", title.trim())?;
            fields::put_str(tx, p, "statement", statement.trim())?;
            put_or_clear(tx, p, "protect", protect.as_deref())?;
            put_or_clear(tx, p, "refuse", refuse.as_deref())?;
            fields::put_str(tx, p, "reason", reason.trim())?;
            fields::put_list(tx, p, "cites", cites)?;
        }
        ProposalChange::RetireValue { value, reason } => {
            fields::put_str(tx, p, "value", value)?;
            fields::put_str(tx, p, "reason", reason.trim())?;
        }
        ProposalChange::RemoveMember { member } => {
            fields::put_str(tx, p, "member", member)?;
        }
        ProposalChange::MapZone {
            team,
            situation,
            zone,
        } => {
            fields::put_str(tx, p, "team", team)?;
            fields::put_str(tx, p, "situation", situation)?;
            fields::put_str(tx, p, "zone", zone.as_str())?;
        }
        ProposalChange::Stewards {
            members,
            term_days,
            queue,
        } => {
            fields::put_list(tx, p, "stewards", members)?;
            fields::put_list(tx, p, "queue", queue)?;
            tx.put(p, "term_days", *term_days)?;
        }
        ProposalChange::Keepers {
            members,
            term_days,
            queue,
        } => {
            fields::put_list(tx, p, "keepers", members)?;
            fields::put_list(tx, p, "queue", queue)?;
            tx.put(p, "term_days", *term_days)?;
        }
    }
    Ok(())
}

/// Writes an optional field of a proposal's change; absent clears what an earlier version
/// wrote, so a revision says exactly what it proposes.
fn put_or_clear(
    tx: &mut automerge::transaction::Transaction<'_>,
    p: &ObjId,
    key: &str,
    v: Option<&str>,
) -> Result<()> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => fields::put_str(tx, p, key, v),
        None if tx.get(p, key)?.is_some() => Ok(tx.delete(p, key)?),
        None => Ok(()),
    }
}

/// The tag of every answer to the current version: what a pass records it saw.
fn current_tags(p: &Proposal) -> BTreeMap<String, String> {
    p.stored
        .answers
        .iter()
        .filter(|(_, a)| a.3 == i64::from(p.version))
        .map(|(m, a)| (m.clone(), a.4.clone()))
        .collect()
}

/// Every proposal in a core document (any state of it), statuses settled.
pub(crate) fn read_all<D: ReadDoc>(doc: &D) -> Vec<Proposal> {
    read(doc, Scope::All)
}

/// The proposals of a core document (any state of it) that `scope` covers, each read as
/// [`read_all`] reads it, in its order.
pub(crate) fn read<D: ReadDoc>(doc: &D, scope: Scope<'_>) -> Vec<Proposal> {
    let mut out: Vec<Proposal> = crate::touched::entities(doc, "proposals", scope)
        .into_iter()
        .map(|(id, obj)| read_proposal(doc, &id, &obj))
        .collect();
    if let Scope::These(ids) = scope {
        if out.iter().any(|p| rival_key(p).is_some()) {
            // Whether a passed amendment is contested depends on every other proposal
            // (`settle_rivals`): rare (a pass), so read them all then.
            out = read(doc, Scope::All);
            out.retain(|p| ids.contains(&p.id));
            return out;
        }
    }
    settle_rivals(&mut out);
    out.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then(a.id.cmp(&b.id)));
    out
}

/// What a passed amendment amends and the version it built on: two passed amendments with
/// the same were passed concurrently.
fn rival_key(p: &Proposal) -> Option<(String, i64)> {
    match (&p.change, p.stored.base_version) {
        (ProposalChange::AmendPrinciple { principle: id, .. }, Some(base))
        | (ProposalChange::AmendValue { value: id, .. }, Some(base))
            if p.stored.status == ProposalStatus::Passed.as_str() =>
        {
            Some((id.clone(), base))
        }
        _ => None,
    }
}

/// Proposal `id` as stored (its effective status unsettled: no rival is looked for), for
/// the rules that read only its stored fields.
fn stored_one<D: ReadDoc>(doc: &D, id: &str) -> Option<Proposal> {
    let ids = BTreeSet::from([id.to_string()]);
    crate::touched::entities(doc, "proposals", Scope::These(&ids))
        .into_iter()
        .next()
        .map(|(id, obj)| read_proposal(doc, &id, &obj))
}

/// Two passed amendments of one principle that each built on the same version were passed
/// concurrently: both are contested.
fn settle_rivals(all: &mut [Proposal]) {
    let keys: Vec<Option<(String, i64)>> = all.iter().map(rival_key).collect();
    for i in 0..all.len() {
        let Some(k) = &keys[i] else { continue };
        let rival = (0..all.len())
            .find(|j| *j != i && keys[*j].as_ref() == Some(k))
            .map(|j| all[j].id.clone());
        if let Some(rival) = rival {
            let p = &mut all[i];
            p.status = ProposalStatus::Contested;
            let contest = p.contest.get_or_insert_with(|| Contest {
                passed_by: p.closed_by.clone().unwrap_or_default(),
                passed_at: p.closed_at.unwrap_or_default(),
                unheard: Vec::new(),
                revised: false,
                rival: None,
            });
            contest.rival = Some(rival);
        }
    }
}

fn read_stored<D: ReadDoc>(doc: &D, f: &Fields) -> Stored {
    let map =
        |prefix: &str| -> BTreeMap<String, String> { f.prefixed(prefix).into_iter().collect() };
    let answer_text = map(ANSWER);
    let reasons = map(REASON);
    let tags = map(ANSWER_TAG);
    let answers = answer_text
        .into_iter()
        .map(|(m, a)| {
            let at = f.int(&format!("{ANSWERED_AT}{m}")).unwrap_or_default();
            let v = f.int(&format!("{ANSWER_VERSION}{m}")).unwrap_or(1);
            let reason = reasons.get(&m).cloned().unwrap_or_default();
            let tag = tags.get(&m).cloned().unwrap_or_default();
            (m, (a, reason, at, v, tag))
        })
        .collect();
    let receipts = f
        .prefixed(RECEIVED)
        .into_iter()
        .filter_map(|(m, at)| Some((m, at.parse().ok()?)))
        .collect();
    let mut resolutions = map(RESOLUTION);
    resolutions.extend(
        map(RESOLVED_BY)
            .into_iter()
            .map(|(m, b)| (format!("by:{m}"), b)),
    );
    resolutions.retain(|_, v| !v.is_empty());
    let mut substance: Vec<(String, String)> = SUBSTANCE
        .iter()
        .map(|k| (k.to_string(), f.str(k)))
        .collect();
    substance.push(("body".into(), fields::text(doc, f.obj("body"))));
    for key in SUBSTANCE_LISTS {
        let items = fields::str_list(doc, f.obj(key)).join("\n");
        substance.push((key.to_string(), items));
    }
    Stored {
        status: f.str("status"),
        status_conflicted: f.is_conflicted("status"),
        answers,
        receipts,
        resolutions,
        saw: map(SAW),
        passed_version: f.int("passed_version"),
        base_version: f.int("base_version"),
        substance,
        window_ms: f.int("window_ms"),
        version: f.int("version"),
        revised_at: f.int("revised_at"),
        opened_by: f.str("opened_by"),
        opened_at: f.int("opened_at").unwrap_or_default(),
        closed_by: f.str("closed_by"),
        closed_at: f.int("closed_at"),
        outcome: f.str("outcome"),
    }
}

fn read_proposal<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Proposal {
    let f = Fields::read(doc, obj);
    let stored = read_stored(doc, &f);
    let change = match f.str("kind").as_str() {
        "amend-principle" => ProposalChange::AmendPrinciple {
            principle: f.str("principle"),
            statement: f.str("statement"),
            guidance: f.opt_str("guidance"),
            reason: f.str("reason"),
            cites: fields::str_list(doc, f.obj("cites")),
        },
        "new-principle" => ProposalChange::NewPrinciple {
            values: fields::str_list(doc, f.obj("values")),
            statement: f.str("statement"),
            guidance: f.opt_str("guidance"),
            supersedes: f.opt_str("supersedes"),
        },
        "retire-principle" => ProposalChange::RetirePrinciple {
            principle: f.str("principle"),
            reason: f.str("reason"),
        },
        "new-value" => ProposalChange::NewValue {
            title: f.str("value_title"),
            statement: f.str("statement"),
            protect: f.opt_str("protect"),
            refuse: f.opt_str("refuse"),
        },
        "amend-value" => ProposalChange::AmendValue {
            value: f.str("value"),
            title: f.str("value_title"),
            statement: f.str("statement"),
            protect: f.opt_str("protect"),
            refuse: f.opt_str("refuse"),
            reason: f.str("reason"),
            cites: fields::str_list(doc, f.obj("cites")),
        },
        "retire-value" => ProposalChange::RetireValue {
            value: f.str("value"),
            reason: f.str("reason"),
        },
        "remove-member" => ProposalChange::RemoveMember {
            member: f.str("member"),
        },
        "map-zone" => ProposalChange::MapZone {
            team: f.str("team"),
            situation: f.str("situation"),
            zone: Zone::from_stored(&f.str("zone"), Zone::Local),
        },
        "stewards" => ProposalChange::Stewards {
            members: fields::str_list(doc, f.obj("stewards")),
            term_days: f.int("term_days").unwrap_or_default(),
            queue: fields::str_list(doc, f.obj("queue")),
        },
        "keepers" => ProposalChange::Keepers {
            members: fields::str_list(doc, f.obj("keepers")),
            term_days: f.int("term_days").unwrap_or_default(),
            queue: fields::str_list(doc, f.obj("queue")),
        },
        _ => ProposalChange::General,
    };
    let version = stored
        .version
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(1)
        .max(1);
    let opened_at = Timestamp(stored.opened_at);
    let response = |m: &String, a: &(String, String, i64, i64, String)| -> Option<Response> {
        Some(Response {
            member: m.clone(),
            answer: a.0.parse::<Answer>().ok()?,
            reason: Some(a.1.clone()).filter(|r| !r.is_empty()),
            at: Timestamp(a.2),
        })
    };
    let mut responses: Vec<Response> = stored
        .answers
        .iter()
        .filter(|(_, a)| a.3 == i64::from(version))
        .filter_map(|(m, a)| response(m, a))
        .collect();
    responses.sort_by(|a, b| a.at.cmp(&b.at).then(a.member.cmp(&b.member)));
    let mut receipts: Vec<Receipt> = stored
        .receipts
        .iter()
        .map(|(m, at)| Receipt {
            member: m.clone(),
            at: Timestamp(*at),
        })
        .collect();
    receipts.sort_by(|a, b| a.at.cmp(&b.at).then(a.member.cmp(&b.member)));
    let mut status = ProposalStatus::from_stored(&stored.status, ProposalStatus::Open);
    let mut contest = None;
    if status == ProposalStatus::Passed {
        // Answers written after a pass in its causal past are refused everywhere (see
        // `check_acts`), so an answer the pass did not see was given concurrently.
        let unheard: Vec<Response> = stored
            .answers
            .iter()
            .filter(|(m, a)| a.3 == i64::from(version) && stored.saw.get(*m) != Some(&a.4))
            .filter_map(|(m, a)| response(m, a))
            .filter(|r| r.answer != Answer::Consent)
            .collect();
        let revised = stored
            .passed_version
            .is_some_and(|v| v != i64::from(version));
        if !unheard.is_empty() || revised || stored.status_conflicted {
            status = ProposalStatus::Contested;
            contest = Some(Contest {
                passed_by: stored.closed_by.clone(),
                passed_at: Timestamp(stored.closed_at.unwrap_or_default()),
                unheard,
                revised,
                rival: None,
            });
        }
    }
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
        status,
        opened_by: f.str("opened_by"),
        opened_at,
        window_ms: stored.window_ms.unwrap_or(consent::DEFAULT_WINDOW_MS),
        version,
        revised_at: Timestamp(stored.revised_at.unwrap_or(opened_at.0)),
        closed_by: f.opt_str("closed_by"),
        closed_at: f.opt_time("closed_at"),
        outcome: f.opt_str("outcome"),
        responses,
        receipts,
        contest,
        log,
        stored,
    }
}

/// The stewards and term (days) of passed proposal `id` naming stewards, in a core
/// document (any state of it).
pub(crate) fn passed_stewards<D: ReadDoc>(
    doc: &D,
    id: &str,
) -> Option<(Vec<String>, i64, Vec<String>)> {
    stored_one(doc, id).and_then(|p| match p.change {
        ProposalChange::Stewards {
            members,
            term_days,
            queue,
        } if p.id == id && p.stored.status == ProposalStatus::Passed.as_str() => {
            Some((members, term_days, queue))
        }
        _ => None,
    })
}

/// The keepers, term and queue a passed `keepers` proposal `id` names, if it is one.
pub(crate) fn passed_keepers<D: ReadDoc>(doc: &D, id: &str) -> Option<crate::office::Naming> {
    stored_one(doc, id).and_then(|p| match p.change {
        ProposalChange::Keepers {
            members,
            term_days,
            queue,
        } if p.id == id && p.stored.status == ProposalStatus::Passed.as_str() => {
            Some((members, term_days, queue))
        }
        _ => None,
    })
}

/// Whether a core document (any state of it) holds a passed proposal removing `member`.
pub(crate) fn passed_removal<D: ReadDoc>(doc: &D, member: &str) -> bool {
    read_all(doc).iter().any(|p| {
        p.stored.status == ProposalStatus::Passed.as_str()
            && matches!(&p.change, ProposalChange::RemoveMember { member: m } if m == member)
    })
}
