//! Principles: living guidance derived from values, amended with reasons, never silently
//! rewritten — each amendment is a new version and the history stays (docs/design.md, sections 1 and 4).

use automerge::transaction::Transactable as _;
use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::charter::Write;
use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Conflict, Fields};
use crate::words::{PrincipleStatus, ValueStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Principle {
    pub id: String,
    pub statement: String,
    pub guidance: Option<String>,
    /// The values it derives from.
    pub values: Vec<String>,
    pub status: PrincipleStatus,
    pub supersedes: Option<String>,
    pub superseded_by: Option<String>,
    pub retired_reason: Option<String>,
    pub author: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Oldest first; the first is the principle as created.
    pub versions: Vec<PrincipleVersion>,
    pub conflicts: Vec<Conflict>,
}

impl Principle {
    /// The current version number (1 for an unamended principle).
    pub fn version(&self) -> usize {
        self.versions.len().max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrincipleVersion {
    pub version: usize,
    pub statement: String,
    pub guidance: Option<String>,
    /// Why it changed (absent for the first version).
    pub reason: Option<String>,
    pub author: String,
    pub at: Timestamp,
    /// The tensions, decisions or review the change answers.
    pub cites: Vec<String>,
    /// The proposal or review that made the change, if any.
    pub source: Option<String>,
    /// Made by a proposal whose pass is contested: it does not count until the round
    /// settles, and the principle keeps its last uncontested text.
    pub contested: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewPrinciple {
    pub values: Vec<String>,
    pub statement: String,
    pub guidance: Option<String>,
    pub supersedes: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Amendment {
    pub statement: String,
    /// `None` keeps the current guidance.
    pub guidance: Option<String>,
    pub reason: String,
    /// The tensions or decisions that show the principle no longer holds: a principle
    /// changes when local feedback demands it.
    #[serde(default)]
    pub cites: Vec<String>,
}

const EDITABLE: &[&str] = &["statement", "guidance", "status"];

impl Circle {
    /// Adds a principle directly: only the circle's sole member may (others open a
    /// proposal).
    pub fn add_principle(&mut self, ctx: &mut Ctx<'_>, new: NewPrinciple) -> Result<String> {
        self.check_acts_alone(
            "principles",
            "grove proposal open --value V --statement S [--supersedes P]",
        )?;
        let (id, write) = self.prepare_add_principle(ctx, &new, None)?;
        self.change_core(ctx.now, "principle add", write)?;
        Ok(id)
    }

    /// Checks a new principle and returns its id with the write that adds it.
    pub(crate) fn prepare_add_principle(
        &self,
        ctx: &mut Ctx<'_>,
        new: &NewPrinciple,
        source: Option<&str>,
    ) -> Result<(String, Write)> {
        let statement = fields::required(&new.statement, "a principle's statement")?;
        let guidance = fields::optional(new.guidance.as_deref(), "guidance")?;
        let mut values: Vec<String> = Vec::new();
        for vid in &new.values {
            let vid = vid.trim().to_string();
            if !values.contains(&vid) {
                values.push(vid);
            }
        }
        if values.is_empty() {
            return Err(CoreError::invalid(
                "a principle must derive from at least one value",
            ));
        }
        for vid in &values {
            let v = self.value(vid)?;
            if v.status == ValueStatus::Retired {
                return Err(CoreError::invalid(format!(
                    "value `{vid}` ({}) is retired: a new principle cannot derive from it",
                    v.title
                )));
            }
        }
        let old = match new.supersedes.as_deref() {
            Some(old) => {
                let p = self.principle(old)?;
                if p.status == PrincipleStatus::Retired {
                    return Err(CoreError::state(format!(
                        "principle `{old}` is already retired"
                    )));
                }
                Some(self.principle_obj(old)?)
            }
            None => None,
        };
        let id = ctx.new_id("p");
        let coll = self.coll("principles")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let source = source.map(str::to_string);
        let supersedes = new.supersedes.clone();
        let key = id.clone();
        let write: Write = Box::new(move |tx| {
            let id = key;
            let p = tx.put_object(&coll, id.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &p, "statement", &statement)?;
            fields::put_opt_str(tx, &p, "guidance", guidance.as_deref())?;
            fields::put_list(tx, &p, "values", &values)?;
            fields::put_str(tx, &p, "status", PrincipleStatus::Active.as_str())?;
            fields::put_opt_str(tx, &p, "supersedes", supersedes.as_deref())?;
            fields::put_str(tx, &p, "author", &member)?;
            fields::put_time(tx, &p, "created_at", now)?;
            fields::put_time(tx, &p, "updated_at", now)?;
            fields::put_opt_str(tx, &p, "source", source.as_deref())?;
            let versions = tx.put_object(&p, "versions", automerge::ObjType::List)?;
            let v = fields::push_map(tx, &versions)?;
            fields::put_str(tx, &v, "statement", &statement)?;
            fields::put_opt_str(tx, &v, "guidance", guidance.as_deref())?;
            fields::put_str(tx, &v, "author", &member)?;
            fields::put_time(tx, &v, "at", now)?;
            fields::put_opt_str(tx, &v, "source", source.as_deref())?;
            if let Some(old) = &old {
                fields::put_str(tx, old, "status", PrincipleStatus::Retired.as_str())?;
                fields::put_str(tx, old, "superseded_by", &id)?;
                fields::put_str(tx, old, "retired_reason", &format!("superseded by {id}"))?;
                fields::put_time(tx, old, "updated_at", now)?;
            }
            Ok(())
        });
        Ok((id, write))
    }

    /// Amends a principle directly (the circle's sole member only): a new version with
    /// its reason. Returns the new version number.
    pub fn amend_principle(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        amendment: Amendment,
    ) -> Result<usize> {
        self.check_acts_alone(
            "principles",
            &format!("grove proposal open --amend {id} --statement S --reason R --cites T …"),
        )?;
        let write = self.prepare_amend_principle(ctx, id, &amendment, None)?;
        self.change_core(ctx.now, "principle amend", write)?;
        Ok(self.principle(id)?.version())
    }

    /// Checks an amendment of principle `id` and returns the write that makes it.
    /// `source` names the proposal that made the change.
    pub(crate) fn prepare_amend_principle(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        amendment: &Amendment,
        source: Option<&str>,
    ) -> Result<Write> {
        let current = self.principle(id)?;
        if current.status == PrincipleStatus::Retired {
            return Err(CoreError::state(format!(
                "principle `{id}` is retired: add a new principle that supersedes it instead"
            )));
        }
        let statement = fields::required(&amendment.statement, "the amended statement")?;
        let reason = fields::required(&amendment.reason, "the reason for an amendment")?;
        let obj = self.principle_obj(id)?;
        let guidance = match amendment.guidance.as_deref() {
            Some(g) => fields::optional(Some(g), "guidance")?,
            // As stored, not as a contested pass leaves it read: receivers compare the
            // change with the stored text (see `charter::check`).
            None => Fields::read(&self.core.am, &obj).opt_str("guidance"),
        };
        if statement == current.statement && guidance == current.guidance {
            return Err(CoreError::invalid(
                "the amendment changes nothing: give a different statement or guidance",
            ));
        }
        let (now, member) = (ctx.now, ctx.member.clone());
        let source = source.map(str::to_string);
        let cites = amendment.cites.clone();
        Ok(Box::new(move |tx| {
            fields::put_str(tx, &obj, "statement", &statement)?;
            match &guidance {
                Some(g) => fields::put_str(tx, &obj, "guidance", g)?,
                None => fields::put_str(tx, &obj, "guidance", "")?,
            }
            // Amending is how a principle under review comes back to life.
            fields::put_str(tx, &obj, "status", PrincipleStatus::Active.as_str())?;
            fields::put_time(tx, &obj, "updated_at", now)?;
            let versions = match tx.get(&obj, "versions")? {
                Some((automerge::Value::Object(automerge::ObjType::List), l)) => l,
                _ => tx.put_object(&obj, "versions", automerge::ObjType::List)?,
            };
            let v = fields::push_map(tx, &versions)?;
            fields::put_str(tx, &v, "statement", &statement)?;
            fields::put_opt_str(tx, &v, "guidance", guidance.as_deref())?;
            fields::put_str(tx, &v, "reason", &reason)?;
            fields::put_str(tx, &v, "author", &member)?;
            fields::put_time(tx, &v, "at", now)?;
            fields::put_opt_str(tx, &v, "source", source.as_deref())?;
            if !cites.is_empty() {
                fields::put_list(tx, &v, "cites", &cites)?;
            }
            Ok(())
        }))
    }

    /// Retires a principle directly (the circle's sole member only).
    pub fn retire_principle(&mut self, ctx: &mut Ctx<'_>, id: &str, reason: &str) -> Result<()> {
        self.check_acts_alone(
            "principles",
            &format!("grove proposal open --retire-principle {id} --reason R"),
        )?;
        let write = self.prepare_retire_principle(ctx, id, reason)?;
        self.change_core(ctx.now, "principle retire", write)
    }

    /// Checks retiring principle `id` and returns the write that does it.
    pub(crate) fn prepare_retire_principle(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        reason: &str,
    ) -> Result<Write> {
        let current = self.principle(id)?;
        if current.status == PrincipleStatus::Retired {
            return Err(CoreError::state(format!(
                "principle `{id}` is already retired"
            )));
        }
        let reason = fields::required(reason, "the reason for retiring a principle")?;
        let obj = self.principle_obj(id)?;
        let now = ctx.now;
        Ok(Box::new(move |tx| {
            fields::put_str(tx, &obj, "status", PrincipleStatus::Retired.as_str())?;
            fields::put_str(tx, &obj, "retired_reason", &reason)?;
            fields::put_time(tx, &obj, "updated_at", now)?;
            Ok(())
        }))
    }

    /// Marks `old` as superseded by the existing principle `by` (the circle's sole member
    /// only; in a circle of several, a new principle supersedes an old one by proposal).
    pub fn supersede_principle(&mut self, ctx: &mut Ctx<'_>, old: &str, by: &str) -> Result<()> {
        self.check_acts_alone("principles",
            &format!("grove proposal open --value V --statement S --supersedes {old}, or --retire-principle {old}"),
        )?;
        if old == by {
            return Err(CoreError::invalid("a principle cannot supersede itself"));
        }
        let old_p = self.principle(old)?;
        let new_p = self.principle(by)?;
        if old_p.status == PrincipleStatus::Retired {
            return Err(CoreError::state(format!(
                "principle `{old}` is already retired"
            )));
        }
        if new_p.status == PrincipleStatus::Retired {
            return Err(CoreError::state(format!(
                "principle `{by}` is retired and cannot supersede another"
            )));
        }
        let (old_obj, new_obj) = (self.principle_obj(old)?, self.principle_obj(by)?);
        let now = ctx.now;
        self.change_core(now, "principle supersede", |tx| {
            fields::put_str(tx, &old_obj, "status", PrincipleStatus::Retired.as_str())?;
            fields::put_str(tx, &old_obj, "superseded_by", by)?;
            fields::put_str(
                tx,
                &old_obj,
                "retired_reason",
                &format!("superseded by {by}"),
            )?;
            fields::put_time(tx, &old_obj, "updated_at", now)?;
            fields::put_str(tx, &new_obj, "supersedes", old)?;
            fields::put_time(tx, &new_obj, "updated_at", now)?;
            Ok(())
        })
    }

    pub fn principles(&self) -> Result<Vec<Principle>> {
        let coll = self.coll("principles")?;
        let doc = &self.core.am;
        let mut out: Vec<Principle> = doc
            .map_range(&coll, ..)
            .filter(|item| matches!(item.value, automerge::ValueRef::Object(_)))
            .map(|item| read_principle(doc, &item.key, &item.id()))
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        let contested = self.contested_proposals();
        for p in &mut out {
            settle_contested(p, &contested);
        }
        Ok(out)
    }

    pub fn principle(&self, id: &str) -> Result<Principle> {
        let obj = self.principle_obj(id)?;
        let mut p = read_principle(&self.core.am, id, &obj);
        if p.versions.iter().any(|v| v.source.is_some()) {
            settle_contested(&mut p, &self.contested_proposals());
        }
        Ok(p)
    }

    pub(crate) fn contested_proposals(&self) -> Vec<String> {
        self.proposals()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.status == crate::words::ProposalStatus::Contested)
            .map(|p| p.id)
            .collect()
    }

    pub(crate) fn principle_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("principles")?;
        fields::entity(&self.core.am, &coll, id)?
            .ok_or_else(|| CoreError::not_found("principle", id))
    }

    /// Fails unless every id names a principle that is not retired.
    pub(crate) fn check_citable(&self, ids: &[String]) -> Result<()> {
        for pid in ids {
            let p = self.principle(pid)?;
            if p.status == PrincipleStatus::Retired {
                let hint = match &p.superseded_by {
                    Some(by) => format!(": cite `{by}`, which supersedes it"),
                    None => String::new(),
                };
                return Err(CoreError::invalid(format!(
                    "principle `{pid}` is retired{hint}"
                )));
            }
        }
        Ok(())
    }
}

/// Versions made by a contested pass do not count: the principle reads as its last
/// uncontested version.
fn settle_contested(p: &mut Principle, contested: &[String]) {
    let standing = crate::charter::standing_version(
        &mut p.versions,
        contested,
        |v| v.source.as_ref(),
        |v| v.contested = true,
    );
    if let Some(v) = standing {
        p.statement = v.statement.clone();
        p.guidance = v.guidance.clone();
    }
}

/// How many versions principle `id` has in a core document (any state of it).
pub(crate) fn version_count<D: ReadDoc>(doc: &D, id: &str) -> usize {
    fields::child_map(doc, &automerge::ROOT, "principles")
        .ok()
        .and_then(|coll| fields::entity(doc, &coll, id).ok().flatten())
        .map(|obj| {
            let f = Fields::read(doc, &obj);
            f.obj("versions").map(|l| doc.length(l)).unwrap_or(0)
        })
        .unwrap_or(0)
}

fn read_principle<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Principle {
    let f = Fields::read(doc, obj);
    let mut versions: Vec<PrincipleVersion> = fields::map_list(doc, f.obj("versions"))
        .into_iter()
        .map(|v| PrincipleVersion {
            version: 0,
            statement: v.str("statement"),
            guidance: v.opt_str("guidance"),
            reason: v.opt_str("reason"),
            cites: v.list(doc, "cites"),
            author: v.str("author"),
            at: v.time("at"),
            source: v.opt_str("source"),
            contested: false,
        })
        .collect();
    // Concurrent amendments both append; order by time so numbering reads as history.
    versions.sort_by_key(|v| v.at);
    for (i, v) in versions.iter_mut().enumerate() {
        v.version = i + 1;
    }
    Principle {
        id: id.to_string(),
        statement: f.str("statement"),
        guidance: f.opt_str("guidance"),
        values: fields::str_list(doc, f.obj("values")),
        status: PrincipleStatus::from_stored(&f.str("status"), PrincipleStatus::Active),
        supersedes: f.opt_str("supersedes"),
        superseded_by: f.opt_str("superseded_by"),
        retired_reason: f.opt_str("retired_reason"),
        author: f.str("author"),
        created_at: f.time("created_at"),
        updated_at: f.time("updated_at"),
        versions,
        conflicts: f.conflicts(doc, obj, EDITABLE),
    }
}
