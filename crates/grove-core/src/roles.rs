//! Roles with purpose, accountabilities, a holder and a rotation queue (practices 1 and 7):
//! authority that rotates does not harden into hierarchy.

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Conflict, Fields};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Role {
    pub id: String,
    pub name: String,
    pub purpose: String,
    pub accountabilities: Vec<String>,
    pub holder: Option<String>,
    /// Length of a term in days; `None` for an open-ended role.
    pub term_days: Option<i64>,
    pub term_started: Option<Timestamp>,
    /// Who holds it next, in order.
    pub queue: Vec<String>,
    pub rotations: Vec<Rotation>,
    pub author: String,
    pub created_at: Timestamp,
    pub conflicts: Vec<Conflict>,
}

impl Role {
    /// When the current term ends, if the role has a holder and a term length.
    pub fn term_ends(&self) -> Option<Timestamp> {
        match (self.holder.as_ref(), self.term_started, self.term_days) {
            (Some(_), Some(start), Some(days)) => Some(start.plus_days(days)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rotation {
    pub at: Timestamp,
    pub from: Option<String>,
    pub to: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewRole {
    pub name: String,
    pub purpose: String,
    pub accountabilities: Vec<String>,
    pub holder: Option<String>,
    pub term_days: Option<i64>,
    pub queue: Vec<String>,
}

const ROTATION: &str = "rotation:";

impl Circle {
    pub fn add_role(&mut self, ctx: &mut Ctx<'_>, new: NewRole) -> Result<String> {
        let name = fields::required(&new.name, "a role's name")?;
        let purpose = fields::required(&new.purpose, "a role's purpose")?;
        let accountabilities: Vec<String> = new
            .accountabilities
            .iter()
            .filter_map(|a| fields::optional(Some(a), "an accountability").transpose())
            .collect::<Result<_>>()?;
        if let Some(days) = new.term_days {
            if days <= 0 {
                return Err(CoreError::invalid("a term must last at least one day"));
            }
        }
        for m in new.holder.iter().chain(new.queue.iter()) {
            self.member(m)?;
        }
        let id = ctx.new_id("r");
        let coll = self.coll("roles")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "role add", |tx| {
            let r = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &r, "name", &name)?;
            fields::put_str(tx, &r, "purpose", &purpose)?;
            fields::put_list(tx, &r, "accountabilities", &accountabilities)?;
            fields::put_opt_str(tx, &r, "holder", new.holder.as_deref())?;
            if new.holder.is_some() {
                fields::put_time(tx, &r, "term_started", now)?;
            }
            if let Some(days) = new.term_days {
                tx.put(&r, "term_days", days)?;
            }
            fields::put_list(tx, &r, "queue", &new.queue)?;
            fields::put_str(tx, &r, "author", &member)?;
            fields::put_time(tx, &r, "created_at", now)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Gives the role to `member`, starting a new term.
    pub fn assign_role(&mut self, ctx: &mut Ctx<'_>, id: &str, member: &str) -> Result<()> {
        self.member(member)?;
        let role = self.role(id)?;
        if role.holder.as_deref() == Some(member) {
            return Err(CoreError::state(format!(
                "{} already holds role `{}`",
                self.member_name(member),
                role.name
            )));
        }
        let obj = self.role_obj(id)?;
        let now = ctx.now;
        let tag = ctx.new_id("x");
        self.change_core(now, "role assign", |tx| {
            fields::put_str(tx, &obj, "holder", member)?;
            fields::put_time(tx, &obj, "term_started", now)?;
            let key = format!("{ROTATION}{:013}:{tag}", now.0.max(0));
            fields::put_str(
                tx,
                &obj,
                &key,
                &format!("{}>{member}", role.holder.as_deref().unwrap_or("")),
            )
        })
    }

    /// Hands the role to the next in the queue; the previous holder goes to the back.
    /// Returns the new holder.
    pub fn rotate_role(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<String> {
        let role = self.role(id)?;
        let mut queue = role.queue.clone();
        if queue.is_empty() {
            return Err(CoreError::state(format!(
                "role `{}` has no one in its rotation queue: set one with the queue",
                role.name
            )));
        }
        let next = queue.remove(0);
        if let Some(prev) = &role.holder {
            if *prev != next {
                queue.push(prev.clone());
            }
        }
        let obj = self.role_obj(id)?;
        let now = ctx.now;
        let tag = ctx.new_id("x");
        self.change_core(now, "role rotate", |tx| {
            fields::put_str(tx, &obj, "holder", &next)?;
            fields::put_time(tx, &obj, "term_started", now)?;
            fields::put_list(tx, &obj, "queue", &queue)?;
            let key = format!("{ROTATION}{:013}:{tag}", now.0.max(0));
            fields::put_str(
                tx,
                &obj,
                &key,
                &format!("{}>{next}", role.holder.as_deref().unwrap_or("")),
            )
        })?;
        Ok(next)
    }

    pub fn set_role_queue(&mut self, ctx: &mut Ctx<'_>, id: &str, queue: &[String]) -> Result<()> {
        for m in queue {
            self.member(m)?;
        }
        let obj = self.role_obj(id)?;
        self.change_core(ctx.now, "role queue", |tx| {
            fields::put_list(tx, &obj, "queue", queue)?;
            Ok(())
        })
    }

    pub fn roles(&self) -> Result<Vec<Role>> {
        let coll = self.coll("roles")?;
        let doc = &self.core.am;
        let mut out: Vec<Role> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_role(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn role(&self, id: &str) -> Result<Role> {
        let obj = self.role_obj(id)?;
        Ok(read_role(&self.core.am, id, &obj))
    }

    fn role_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("roles")?;
        fields::entity(&self.core.am, &coll, id)?.ok_or_else(|| CoreError::not_found("role", id))
    }
}

fn read_role<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Role {
    let f = Fields::read(doc, obj);
    let rotations = f
        .prefixed(ROTATION)
        .into_iter()
        .map(|(key, change)| {
            let at = Timestamp(
                key.split(':')
                    .next()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or_default(),
            );
            let (from, to) = change.split_once('>').unwrap_or(("", change.as_str()));
            Rotation {
                at,
                from: Some(from.to_string()).filter(|f| !f.is_empty()),
                to: to.to_string(),
            }
        })
        .collect();
    Role {
        id: id.to_string(),
        name: f.str("name"),
        purpose: f.str("purpose"),
        accountabilities: fields::str_list(doc, f.obj("accountabilities")),
        holder: f.opt_str("holder"),
        term_days: f.int("term_days"),
        term_started: f.opt_time("term_started"),
        queue: fields::str_list(doc, f.obj("queue")),
        rotations,
        author: f.str("author"),
        created_at: f.time("created_at"),
        conflicts: f.conflicts(doc, obj, &["holder", "name", "purpose"]),
    }
}
