//! The public accountability board (docs/design.md, section 4): who promised what, by when.

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::{Day, Timestamp};
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Conflict, Fields};
use crate::words::CommitmentStatus;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Commitment {
    pub id: String,
    pub who: String,
    pub what: String,
    pub due: Option<Day>,
    pub status: CommitmentStatus,
    pub decision: Option<String>,
    pub author: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub conflicts: Vec<Conflict>,
}

impl Commitment {
    pub fn overdue(&self, now: Timestamp) -> bool {
        self.status == CommitmentStatus::Open
            && self.due.is_some_and(|d| d.start().plus_days(1) <= now)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewCommitment {
    pub who: String,
    pub what: String,
    pub due: Option<Day>,
    /// The decision it follows from; the caller checks it exists (it may live in a shard).
    pub decision: Option<String>,
}

impl Circle {
    pub fn add_commitment(&mut self, ctx: &mut Ctx<'_>, new: NewCommitment) -> Result<String> {
        self.member(&new.who)?;
        let what = fields::required(&new.what, "what is committed")?;
        if let Some(d) = &new.decision {
            self.decision(d)?;
        }
        let id = ctx.new_id("k");
        let coll = self.coll("commitments")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "commitment add", |tx| {
            let c = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &c, "who", &new.who)?;
            fields::put_str(tx, &c, "what", &what)?;
            if let Some(due) = new.due {
                fields::put_str(tx, &c, "due", &due.to_string())?;
            }
            fields::put_str(tx, &c, "status", CommitmentStatus::Open.as_str())?;
            fields::put_opt_str(tx, &c, "decision", new.decision.as_deref())?;
            fields::put_str(tx, &c, "author", &member)?;
            fields::put_time(tx, &c, "created_at", now)?;
            fields::put_time(tx, &c, "updated_at", now)?;
            Ok(())
        })?;
        Ok(id)
    }

    pub fn set_commitment_status(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        status: CommitmentStatus,
    ) -> Result<()> {
        let c = self.commitment(id)?;
        if c.status == status {
            return Err(CoreError::state(format!(
                "commitment `{id}` is already {status}"
            )));
        }
        let obj = self.commitment_obj(id)?;
        let now = ctx.now;
        self.change_core(now, "commitment status", |tx| {
            fields::put_str(tx, &obj, "status", status.as_str())?;
            fields::put_time(tx, &obj, "updated_at", now)
        })
    }

    pub fn commitments(&self) -> Result<Vec<Commitment>> {
        let coll = self.coll("commitments")?;
        let doc = &self.core.am;
        let mut out: Vec<Commitment> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_commitment(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| a.due.cmp(&b.due).then(a.created_at.cmp(&b.created_at)));
        Ok(out)
    }

    pub fn commitment(&self, id: &str) -> Result<Commitment> {
        let obj = self.commitment_obj(id)?;
        Ok(read_commitment(&self.core.am, id, &obj))
    }

    fn commitment_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("commitments")?;
        fields::entity(&self.core.am, &coll, id)?
            .ok_or_else(|| CoreError::not_found("commitment", id))
    }
}

fn read_commitment<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Commitment {
    let f = Fields::read(doc, obj);
    Commitment {
        id: id.to_string(),
        who: f.str("who"),
        what: f.str("what"),
        due: f.opt_str("due").and_then(|d| Day::parse(&d).ok()),
        status: CommitmentStatus::from_stored(&f.str("status"), CommitmentStatus::Open),
        decision: f.opt_str("decision"),
        author: f.str("author"),
        created_at: f.time("created_at"),
        updated_at: f.time("updated_at"),
        conflicts: f.conflicts(doc, obj, &["status", "what", "due"]),
    }
}
