//! Values: the few commitments specific enough to justify a real decision (seed 1, step 1).

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Conflict, Fields};
use crate::words::{PrincipleStatus, ValueStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Value {
    pub id: String,
    pub title: String,
    pub statement: String,
    pub protect: Option<String>,
    pub refuse: Option<String>,
    pub examples: Vec<String>,
    pub status: ValueStatus,
    pub author: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Fields two devices edited concurrently; edit the field to pick.
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewValue {
    pub title: String,
    pub statement: String,
    pub protect: Option<String>,
    pub refuse: Option<String>,
    pub examples: Vec<String>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ValueEdit {
    pub title: Option<String>,
    pub statement: Option<String>,
    pub protect: Option<String>,
    pub refuse: Option<String>,
}

const EDITABLE: &[&str] = &["title", "statement", "protect", "refuse"];

impl Circle {
    pub fn add_value(&mut self, ctx: &mut Ctx<'_>, new: NewValue) -> Result<String> {
        let title = fields::required(&new.title, "a value's title")?;
        let statement = fields::required(&new.statement, "a value's statement")?;
        let protect = fields::optional(new.protect.as_deref(), "what the value protects")?;
        let refuse = fields::optional(new.refuse.as_deref(), "what the value refuses")?;
        let examples: Vec<String> = new
            .examples
            .iter()
            .filter_map(|e| fields::optional(Some(e), "an example").transpose())
            .collect::<Result<_>>()?;
        let lower = title.to_lowercase();
        if self
            .values()?
            .iter()
            .any(|v| v.status == ValueStatus::Active && v.title.to_lowercase() == lower)
        {
            return Err(CoreError::invalid(format!(
                "an active value is already titled `{title}`: edit it instead"
            )));
        }
        let id = ctx.new_id("v");
        let coll = self.coll("values")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "value add", |tx| {
            let v = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &v, "title", &title)?;
            fields::put_str(tx, &v, "statement", &statement)?;
            fields::put_opt_str(tx, &v, "protect", protect.as_deref())?;
            fields::put_opt_str(tx, &v, "refuse", refuse.as_deref())?;
            fields::put_list(tx, &v, "examples", &examples)?;
            fields::put_str(tx, &v, "status", ValueStatus::Active.as_str())?;
            fields::put_str(tx, &v, "author", &member)?;
            fields::put_time(tx, &v, "created_at", now)?;
            fields::put_time(tx, &v, "updated_at", now)?;
            Ok(())
        })?;
        Ok(id)
    }

    pub fn edit_value(&mut self, ctx: &mut Ctx<'_>, id: &str, edit: ValueEdit) -> Result<()> {
        let obj = self.value_obj(id)?;
        let title = edit
            .title
            .as_deref()
            .map(|t| fields::required(t, "a value's title"))
            .transpose()?;
        let statement = edit
            .statement
            .as_deref()
            .map(|s| fields::required(s, "a value's statement"))
            .transpose()?;
        if title.is_none() && statement.is_none() && edit.protect.is_none() && edit.refuse.is_none()
        {
            return Err(CoreError::invalid(
                "nothing to change: give a new title, statement, protect or refuse",
            ));
        }
        let now = ctx.now;
        self.change_core(now, "value edit", |tx| {
            fields::put_opt_str(tx, &obj, "title", title.as_deref())?;
            fields::put_opt_str(tx, &obj, "statement", statement.as_deref())?;
            if let Some(p) = &edit.protect {
                fields::put_str(tx, &obj, "protect", p.trim())?;
            }
            if let Some(r) = &edit.refuse {
                fields::put_str(tx, &obj, "refuse", r.trim())?;
            }
            fields::put_time(tx, &obj, "updated_at", now)?;
            Ok(())
        })
    }

    /// Retires a value. Principles left with no active value go under review, since
    /// nothing they derive from still stands.
    pub fn retire_value(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<Vec<String>> {
        let obj = self.value_obj(id)?;
        let value = self.value(id)?;
        if value.status == ValueStatus::Retired {
            return Err(CoreError::state(format!("value `{id}` is already retired")));
        }
        let active_values: Vec<String> = self
            .values()?
            .into_iter()
            .filter(|v| v.status == ValueStatus::Active && v.id != id)
            .map(|v| v.id)
            .collect();
        let orphaned: Vec<String> = self
            .principles()?
            .into_iter()
            .filter(|p| p.status == PrincipleStatus::Active)
            .filter(|p| p.values.iter().any(|v| v == id))
            .filter(|p| !p.values.iter().any(|v| active_values.contains(v)))
            .map(|p| p.id)
            .collect();
        let principles = self.coll("principles")?;
        let now = ctx.now;
        self.change_core(now, "value retire", |tx| {
            fields::put_str(tx, &obj, "status", ValueStatus::Retired.as_str())?;
            fields::put_time(tx, &obj, "updated_at", now)?;
            for pid in &orphaned {
                if let Some(p) = fields::entity(tx, &principles, pid)? {
                    fields::put_str(tx, &p, "status", PrincipleStatus::UnderReview.as_str())?;
                }
            }
            Ok(())
        })?;
        Ok(orphaned)
    }

    pub fn values(&self) -> Result<Vec<Value>> {
        let coll = self.coll("values")?;
        let doc = &self.core.am;
        let mut out: Vec<Value> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_value(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn value(&self, id: &str) -> Result<Value> {
        let obj = self.value_obj(id)?;
        Ok(read_value(&self.core.am, id, &obj))
    }

    pub(crate) fn value_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("values")?;
        fields::entity(&self.core.am, &coll, id)?.ok_or_else(|| CoreError::not_found("value", id))
    }
}

fn read_value<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Value {
    let f = Fields::read(doc, obj);
    Value {
        id: id.to_string(),
        title: f.str("title"),
        statement: f.str("statement"),
        protect: f.opt_str("protect"),
        refuse: f.opt_str("refuse"),
        examples: fields::str_list(doc, f.obj("examples")),
        status: ValueStatus::from_stored(&f.str("status"), ValueStatus::Active),
        author: f.str("author"),
        created_at: f.time("created_at"),
        updated_at: f.time("updated_at"),
        conflicts: f.conflicts(doc, obj, EDITABLE),
    }
}
