//! Teams (pods, squads, cells) and the members who belong to them.

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
pub struct Team {
    pub id: String,
    pub name: String,
    /// The domain the team owns.
    pub domain: Option<String>,
    pub members: Vec<String>,
    pub author: String,
    pub created_at: Timestamp,
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Member {
    pub id: String,
    pub name: String,
    /// Device public keys (hex) that act for this member.
    pub devices: Vec<String>,
    pub teams: Vec<String>,
    pub joined_at: Timestamp,
    pub conflicts: Vec<Conflict>,
}

impl Circle {
    pub fn add_team(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &str,
        domain: Option<&str>,
    ) -> Result<String> {
        let name = fields::required(name, "a team's name")?;
        let domain = fields::optional(domain, "a team's domain")?;
        let lower = name.to_lowercase();
        if let Some(t) = self
            .teams()?
            .iter()
            .find(|t| t.name.to_lowercase() == lower)
        {
            return Err(CoreError::invalid(format!(
                "a team named `{}` already exists ({})",
                t.name, t.id
            )));
        }
        let id = ctx.new_id("t");
        let coll = self.coll("teams")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "team add", |tx| {
            let t = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &t, "name", &name)?;
            fields::put_opt_str(tx, &t, "domain", domain.as_deref())?;
            tx.put_object(&t, "members", automerge::ObjType::Map)?;
            fields::put_str(tx, &t, "author", &member)?;
            fields::put_time(tx, &t, "created_at", now)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Adds `member` to team `team` (a set: adding twice, even concurrently, is one entry).
    pub fn team_add_member(&mut self, ctx: &mut Ctx<'_>, team: &str, member: &str) -> Result<()> {
        let t = self.team_obj(team)?;
        self.member(member)?;
        let members = fields::child_map(&self.core.am, &t, "members")?;
        self.change_core(ctx.now, "team join", |tx| {
            tx.put(&members, member, true)?;
            Ok(())
        })
    }

    pub fn team_remove_member(
        &mut self,
        ctx: &mut Ctx<'_>,
        team: &str,
        member: &str,
    ) -> Result<()> {
        let t = self.team_obj(team)?;
        let members = fields::child_map(&self.core.am, &t, "members")?;
        if self.core.am.get(&members, member)?.is_none() {
            return Err(CoreError::state(format!(
                "member `{member}` is not in team `{team}`"
            )));
        }
        self.change_core(ctx.now, "team leave", |tx| {
            tx.delete(&members, member)?;
            Ok(())
        })
    }

    pub fn teams(&self) -> Result<Vec<Team>> {
        let coll = self.coll("teams")?;
        let doc = &self.core.am;
        let mut out: Vec<Team> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_team(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn team(&self, id: &str) -> Result<Team> {
        let obj = self.team_obj(id)?;
        Ok(read_team(&self.core.am, id, &obj))
    }

    fn team_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("teams")?;
        fields::entity(&self.core.am, &coll, id)?.ok_or_else(|| CoreError::not_found("team", id))
    }

    /// Records `ctx.member` (with this `device`) as a member of the circle; idempotent.
    pub fn join(&mut self, ctx: &mut Ctx<'_>, name: &str, device: &str) -> Result<()> {
        let name = fields::required(name, "a display name")?;
        let coll = self.coll("members")?;
        let existing = fields::entity(&self.core.am, &coll, &ctx.member)?;
        let (now, member) = (ctx.now, ctx.member.clone());
        if let Some(m) = existing {
            let devices = fields::child_map(&self.core.am, &m, "devices")?;
            if self.core.am.get(&devices, device)?.is_some() {
                return Ok(());
            }
            return self.change_core(now, "member device", |tx| {
                tx.put(&devices, device, now.0)?;
                Ok(())
            });
        }
        self.change_core(now, "member join", |tx| {
            let m = tx.put_object(&coll, member.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &m, "name", &name)?;
            let devices = tx.put_object(&m, "devices", automerge::ObjType::Map)?;
            tx.put(&devices, device, now.0)?;
            fields::put_time(tx, &m, "joined_at", now)?;
            Ok(())
        })
    }

    pub fn rename_member(&mut self, ctx: &mut Ctx<'_>, name: &str) -> Result<()> {
        let name = fields::required(name, "a display name")?;
        let coll = self.coll("members")?;
        let m = fields::entity(&self.core.am, &coll, &ctx.member)?
            .ok_or_else(|| CoreError::not_found("member", &ctx.member))?;
        self.change_core(ctx.now, "member rename", |tx| {
            fields::put_str(tx, &m, "name", &name)
        })
    }

    pub fn members(&self) -> Result<Vec<Member>> {
        let coll = self.coll("members")?;
        let teams = self.teams()?;
        let doc = &self.core.am;
        let mut out: Vec<Member> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_member(doc, &item.key, &item.id(), &teams))
            .collect();
        out.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    pub fn member(&self, id: &str) -> Result<Member> {
        let coll = self.coll("members")?;
        let obj = fields::entity(&self.core.am, &coll, id)?
            .ok_or_else(|| CoreError::not_found("member", id))?;
        Ok(read_member(&self.core.am, id, &obj, &self.teams()?))
    }

    /// The display name of a member, or its id when unknown (e.g. not yet synced).
    pub fn member_name(&self, id: &str) -> String {
        self.coll("members")
            .ok()
            .and_then(|c| fields::entity(&self.core.am, &c, id).ok().flatten())
            .map(|m| Fields::read(&self.core.am, &m).str("name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_string())
    }
}

fn read_team<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Team {
    let f = Fields::read(doc, obj);
    Team {
        id: id.to_string(),
        name: f.str("name"),
        domain: f.opt_str("domain"),
        members: fields::key_set(doc, f.obj("members")),
        author: f.str("author"),
        created_at: f.time("created_at"),
        conflicts: f.conflicts(doc, obj, &["name", "domain"]),
    }
}

fn read_member<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId, teams: &[Team]) -> Member {
    let f = Fields::read(doc, obj);
    Member {
        id: id.to_string(),
        name: f.str("name"),
        devices: fields::key_set(doc, f.obj("devices")),
        teams: teams
            .iter()
            .filter(|t| t.members.iter().any(|m| m == id))
            .map(|t| t.id.clone())
            .collect(),
        joined_at: f.time("joined_at"),
        conflicts: f.conflicts(doc, obj, &["name"]),
    }
}
