//! Retrospectives (docs/design.md, section 4): what went well, what didn't, what to change — tied to the
//! principles they speak to, so the regeneration loop can find them.

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Retro {
    pub id: String,
    pub team: String,
    pub went_well: String,
    pub didnt: String,
    pub change: String,
    pub principles: Vec<String>,
    pub author: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewRetro {
    pub team: String,
    pub went_well: String,
    pub didnt: String,
    pub change: String,
    pub principles: Vec<String>,
}

impl Circle {
    pub fn add_retro(&mut self, ctx: &mut Ctx<'_>, new: NewRetro) -> Result<String> {
        self.team(&new.team)?;
        let went_well = new.went_well.trim().to_string();
        let didnt = new.didnt.trim().to_string();
        let change = new.change.trim().to_string();
        if went_well.is_empty() && didnt.is_empty() && change.is_empty() {
            return Err(CoreError::invalid(
                "a retro needs at least one of: what went well, what didn't, what to change",
            ));
        }
        for p in &new.principles {
            self.principle(p)?;
        }
        let id = ctx.new_id("rt");
        let coll = self.coll("retros")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "retro add", |tx| {
            let r = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &r, "team", &new.team)?;
            fields::put_str(tx, &r, "went_well", &went_well)?;
            fields::put_str(tx, &r, "didnt", &didnt)?;
            fields::put_str(tx, &r, "change", &change)?;
            fields::put_list(tx, &r, "principles", &new.principles)?;
            fields::put_str(tx, &r, "author", &member)?;
            fields::put_time(tx, &r, "at", now)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Retros, newest first.
    pub fn retros(&self) -> Result<Vec<Retro>> {
        let coll = self.coll("retros")?;
        let doc = &self.core.am;
        let mut out: Vec<Retro> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_retro(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| b.at.cmp(&a.at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn retro(&self, id: &str) -> Result<Retro> {
        let coll = self.coll("retros")?;
        let obj = fields::entity(&self.core.am, &coll, id)?
            .ok_or_else(|| CoreError::not_found("retro", id))?;
        Ok(read_retro(&self.core.am, id, &obj))
    }
}

fn read_retro<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Retro {
    let f = Fields::read(doc, obj);
    Retro {
        id: id.to_string(),
        team: f.str("team"),
        went_well: f.str("went_well"),
        didnt: f.str("didnt"),
        change: f.str("change"),
        principles: fields::str_list(doc, f.obj("principles")),
        author: f.str("author"),
        at: f.time("at"),
    }
}
