//! Values: the few commitments specific enough to justify a real decision (docs/design.md, section 1).

use automerge::transaction::{Transactable as _, Transaction};
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
    /// Oldest first; the first is the value as created. A value's wording is kept as a
    /// principle's is: every change is a new version with its reason.
    pub versions: Vec<ValueVersion>,
    /// Fields two devices edited concurrently; edit the field to pick.
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ValueVersion {
    pub version: usize,
    pub title: String,
    pub statement: String,
    pub protect: Option<String>,
    pub refuse: Option<String>,
    /// Why it changed (absent for the first version).
    pub reason: Option<String>,
    /// The tensions or decisions the change answers.
    pub cites: Vec<String>,
    pub author: String,
    pub at: Timestamp,
    /// The proposal that made the change, if any.
    pub source: Option<String>,
    /// Made by a proposal whose pass is contested: the value keeps its last uncontested
    /// wording until the round settles.
    pub contested: bool,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ValueEdit {
    pub title: Option<String>,
    pub statement: Option<String>,
    pub protect: Option<String>,
    pub refuse: Option<String>,
    /// Why it changes; kept with the new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reason: Option<String>,
}

const EDITABLE: &[&str] = &["title", "statement", "protect", "refuse"];

impl Circle {
    /// Adds a value directly: only the circle's sole member may (others open a proposal).
    pub fn add_value(&mut self, ctx: &mut Ctx<'_>, new: NewValue) -> Result<String> {
        self.check_acts_alone(
            "values",
            "grove proposal open --new-value TITLE --statement S",
        )?;
        let (id, write) = self.prepare_add_value(ctx, &new, None)?;
        self.change_core(ctx.now, "value add", write)?;
        Ok(id)
    }

    /// Checks a new value and returns its id with the write that adds it.
    pub(crate) fn prepare_add_value(
        &self,
        ctx: &mut Ctx<'_>,
        new: &NewValue,
        source: Option<&str>,
    ) -> Result<(String, Write)> {
        let title = fields::required(&new.title, "a value's title")?;
        let statement = fields::required(&new.statement, "a value's statement")?;
        let protect = fields::optional(new.protect.as_deref(), "what the value protects")?;
        let refuse = fields::optional(new.refuse.as_deref(), "what the value refuses")?;
        let examples: Vec<String> = new
            .examples
            .iter()
            .filter_map(|e| fields::optional(Some(e), "an example").transpose())
            .collect::<Result<_>>()?;
        self.check_value_title_free(&title)?;
        let id = ctx.new_id("v");
        let coll = self.coll("values")?;
        let (now, member) = (ctx.now, ctx.member.clone());
        let source = source.map(str::to_string);
        let key = id.clone();
        let write: Write = Box::new(move |tx| {
            let v = tx.put_object(&coll, key.as_str(), automerge::ObjType::Map)?;
            fields::put_str(tx, &v, "title", &title)?;
            fields::put_str(tx, &v, "statement", &statement)?;
            fields::put_opt_str(tx, &v, "protect", protect.as_deref())?;
            fields::put_opt_str(tx, &v, "refuse", refuse.as_deref())?;
            fields::put_list(tx, &v, "examples", &examples)?;
            fields::put_str(tx, &v, "status", ValueStatus::Active.as_str())?;
            fields::put_str(tx, &v, "author", &member)?;
            fields::put_time(tx, &v, "created_at", now)?;
            fields::put_time(tx, &v, "updated_at", now)?;
            fields::put_opt_str(tx, &v, "source", source.as_deref())?;
            let versions = tx.put_object(&v, "versions", automerge::ObjType::List)?;
            let text = Wording {
                title: &title,
                statement: &statement,
                protect: protect.as_deref(),
                refuse: refuse.as_deref(),
            };
            push_version(
                tx,
                &versions,
                &text,
                None,
                &[],
                &member,
                now,
                source.as_deref(),
            )
        });
        Ok((id, write))
    }

    /// Fails when an active value already has this title (in any case): two values of one
    /// name would be cited interchangeably.
    pub(crate) fn check_value_title_free(&self, title: &str) -> Result<()> {
        let lower = title.to_lowercase();
        if self
            .values()?
            .iter()
            .any(|v| v.status == ValueStatus::Active && v.title.to_lowercase() == lower)
        {
            return Err(CoreError::invalid(format!(
                "an active value is already titled `{title}`: reword that one instead"
            )));
        }
        Ok(())
    }

    /// Edits a value directly: the circle's sole member may; in a circle of several, a
    /// member may only pick one of the wordings two devices wrote at once (see
    /// [`crate::charter`]); any other change is a proposal.
    pub fn edit_value(&mut self, ctx: &mut Ctx<'_>, id: &str, edit: ValueEdit) -> Result<()> {
        let how = if self.picks_a_conflict(id, &edit)? {
            Rewording::Pick
        } else {
            self.check_acts_alone(
                "values",
                &format!("grove proposal open --amend-value {id} --reason R --cites T …"),
            )?;
            Rewording::Version {
                cites: &[],
                source: None,
            }
        };
        let write = self.prepare_edit_value(ctx, id, &edit, how)?;
        self.change_core(ctx.now, "value edit", write)
    }

    /// Whether every field `edit` sets takes one of the wordings that field holds in a
    /// conflict: settling a conflict, not changing the value.
    fn picks_a_conflict(&self, id: &str, edit: &ValueEdit) -> Result<bool> {
        let v = self.value(id)?;
        let given = [
            ("title", &edit.title),
            ("statement", &edit.statement),
            ("protect", &edit.protect),
            ("refuse", &edit.refuse),
        ];
        let mut any = false;
        for (field, text) in given {
            let Some(text) = text else { continue };
            let text = text.trim();
            let picks = v
                .conflicts
                .iter()
                .any(|c| c.field == field && c.values.iter().any(|w| w == text));
            if !picks {
                return Ok(false);
            }
            any = true;
        }
        Ok(any)
    }

    /// Checks an edit of value `id` and returns the write that makes it.
    pub(crate) fn prepare_edit_value(
        &self,
        ctx: &mut Ctx<'_>,
        id: &str,
        edit: &ValueEdit,
        how: Rewording<'_>,
    ) -> Result<Write> {
        let obj = self.value_obj(id)?;
        // As stored, not as a contested pass leaves it read: receivers compare the change
        // with the stored wording (see `charter::check`).
        let current = read_value(&self.core.am, id, &obj);
        if current.status == ValueStatus::Retired {
            return Err(CoreError::state(format!(
                "value `{id}` is retired: add a new value instead"
            )));
        }
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
        let reason = fields::optional(edit.reason.as_deref(), "the reason")?;
        let protect = edit.protect.as_deref().map(str::trim).map(str::to_string);
        let refuse = edit.refuse.as_deref().map(str::trim).map(str::to_string);
        let (pick, cites, source) = match how {
            Rewording::Pick => (true, &[][..], None),
            Rewording::Version { cites, source } => (false, cites, source),
        };
        let next = |given: &Option<String>, now: &Option<String>| match given {
            Some(g) if g.is_empty() => None,
            Some(g) => Some(g.clone()),
            None => now.clone(),
        };
        let new_title = title.clone().unwrap_or_else(|| current.title.clone());
        let new_statement = statement
            .clone()
            .unwrap_or_else(|| current.statement.clone());
        let new_protect = next(&protect, &current.protect);
        let new_refuse = next(&refuse, &current.refuse);
        if !pick
            && new_title == current.title
            && new_statement == current.statement
            && new_protect == current.protect
            && new_refuse == current.refuse
        {
            return Err(CoreError::invalid(
                "the edit changes nothing: give a different title, statement, protect or refuse",
            ));
        }
        let (now, member) = (ctx.now, ctx.member.clone());
        let source = source.map(str::to_string);
        let cites = cites.to_vec();
        let versions = Fields::read(&self.core.am, &obj).obj("versions").cloned();
        let first = (versions.is_none() && !pick).then(|| current.clone());
        Ok(Box::new(move |tx| {
            fields::put_opt_str(tx, &obj, "title", title.as_deref())?;
            fields::put_opt_str(tx, &obj, "statement", statement.as_deref())?;
            fields::put_opt_str(tx, &obj, "protect", protect.as_deref())?;
            fields::put_opt_str(tx, &obj, "refuse", refuse.as_deref())?;
            fields::put_time(tx, &obj, "updated_at", now)?;
            if pick {
                return Ok(());
            }
            let list = match versions {
                Some(l) => l,
                None => tx.put_object(&obj, "versions", automerge::ObjType::List)?,
            };
            if let Some(v) = first {
                // A value written before values kept versions: its first wording becomes
                // version 1, so the history starts where the value did.
                let text = Wording::of(&v);
                push_version(tx, &list, &text, None, &[], &v.author, v.created_at, None)?;
            }
            let text = Wording {
                title: &new_title,
                statement: &new_statement,
                protect: new_protect.as_deref(),
                refuse: new_refuse.as_deref(),
            };
            let reason = reason.as_deref();
            push_version(
                tx,
                &list,
                &text,
                reason,
                &cites,
                &member,
                now,
                source.as_deref(),
            )
        }))
    }

    /// Retires a value directly (the circle's sole member only). Principles left with no
    /// active value go under review, since nothing they derive from still stands.
    pub fn retire_value(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Result<Vec<String>> {
        self.check_acts_alone(
            "values",
            &format!("grove proposal open --retire-value {id} --reason R"),
        )?;
        let (orphaned, write) = self.prepare_retire_value(ctx, id)?;
        self.change_core(ctx.now, "value retire", write)?;
        Ok(orphaned)
    }

    /// Checks retiring value `id`; returns the principles it leaves under review, with the
    /// write.
    pub(crate) fn prepare_retire_value(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
    ) -> Result<(Vec<String>, Write)> {
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
        let under_review = orphaned.clone();
        let write: Write = Box::new(move |tx| {
            fields::put_str(tx, &obj, "status", ValueStatus::Retired.as_str())?;
            fields::put_time(tx, &obj, "updated_at", now)?;
            for pid in &under_review {
                if let Some(p) = fields::entity(tx, &principles, pid)? {
                    fields::put_str(tx, &p, "status", PrincipleStatus::UnderReview.as_str())?;
                }
            }
            Ok(())
        });
        Ok((orphaned, write))
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
        let contested = self.contested_proposals();
        if !contested.is_empty() {
            for v in &mut out {
                settle_contested(v, &contested);
            }
        }
        Ok(out)
    }

    pub fn value(&self, id: &str) -> Result<Value> {
        let obj = self.value_obj(id)?;
        let mut v = read_value(&self.core.am, id, &obj);
        if v.versions.iter().any(|v| v.source.is_some()) {
            settle_contested(&mut v, &self.contested_proposals());
        }
        Ok(v)
    }

    pub(crate) fn value_obj(&self, id: &str) -> Result<ObjId> {
        let coll = self.coll("values")?;
        fields::entity(&self.core.am, &coll, id)?.ok_or_else(|| CoreError::not_found("value", id))
    }
}

/// How an edit of a value is written: a pick between conflicting wordings is the field
/// alone; anything else is a new version, with the feedback it cites and the proposal that
/// made it.
pub(crate) enum Rewording<'a> {
    Pick,
    Version {
        cites: &'a [String],
        source: Option<&'a str>,
    },
}

/// One wording of a value, as a version keeps it.
struct Wording<'a> {
    title: &'a str,
    statement: &'a str,
    protect: Option<&'a str>,
    refuse: Option<&'a str>,
}

impl<'a> Wording<'a> {
    fn of(v: &'a Value) -> Self {
        Wording {
            title: &v.title,
            statement: &v.statement,
            protect: v.protect.as_deref(),
            refuse: v.refuse.as_deref(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn push_version(
    tx: &mut Transaction<'_>,
    list: &ObjId,
    text: &Wording<'_>,
    reason: Option<&str>,
    cites: &[String],
    author: &str,
    at: Timestamp,
    source: Option<&str>,
) -> Result<()> {
    let v = fields::push_map(tx, list)?;
    fields::put_str(tx, &v, "title", text.title)?;
    fields::put_str(tx, &v, "statement", text.statement)?;
    fields::put_opt_str(tx, &v, "protect", text.protect)?;
    fields::put_opt_str(tx, &v, "refuse", text.refuse)?;
    fields::put_opt_str(tx, &v, "reason", reason)?;
    if !cites.is_empty() {
        fields::put_list(tx, &v, "cites", cites)?;
    }
    fields::put_str(tx, &v, "author", author)?;
    fields::put_time(tx, &v, "at", at)?;
    fields::put_opt_str(tx, &v, "source", source)?;
    Ok(())
}

/// Versions made by a contested pass do not count: the value reads as its last
/// uncontested version.
fn settle_contested(v: &mut Value, contested: &[String]) {
    let standing = crate::charter::standing_version(
        &mut v.versions,
        contested,
        |v| v.source.as_ref(),
        |v| v.contested = true,
    );
    if let Some(last) = standing {
        v.title = last.title.clone();
        v.statement = last.statement.clone();
        v.protect = last.protect.clone();
        v.refuse = last.refuse.clone();
    }
}

/// How many versions value `id` keeps in a core document (any state of it); 0 for a value
/// from before values kept versions.
pub(crate) fn version_count<D: ReadDoc>(doc: &D, id: &str) -> usize {
    fields::child_map(doc, &automerge::ROOT, "values")
        .ok()
        .and_then(|coll| fields::entity(doc, &coll, id).ok().flatten())
        .and_then(|obj| {
            Fields::read(doc, &obj)
                .obj("versions")
                .map(|l| doc.length(l))
        })
        .unwrap_or(0)
}

fn read_value<D: ReadDoc>(doc: &D, id: &str, obj: &ObjId) -> Value {
    let f = Fields::read(doc, obj);
    let mut versions: Vec<ValueVersion> = fields::map_list(doc, f.obj("versions"))
        .into_iter()
        .map(|v| ValueVersion {
            version: 0,
            title: v.str("title"),
            statement: v.str("statement"),
            protect: v.opt_str("protect"),
            refuse: v.opt_str("refuse"),
            reason: v.opt_str("reason"),
            cites: v.list(doc, "cites"),
            author: v.str("author"),
            at: v.time("at"),
            source: v.opt_str("source"),
            contested: false,
        })
        .collect();
    let mut value = Value {
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
        versions: Vec::new(),
        conflicts: f.conflicts(doc, obj, EDITABLE),
    };
    if versions.is_empty() {
        // Written before values kept versions: the value as it stands is its history.
        versions.push(ValueVersion {
            version: 1,
            title: value.title.clone(),
            statement: value.statement.clone(),
            protect: value.protect.clone(),
            refuse: value.refuse.clone(),
            reason: None,
            cites: Vec::new(),
            author: value.author.clone(),
            at: value.created_at,
            source: None,
            contested: false,
        });
    }
    // Concurrent changes both append; order by time so numbering reads as history.
    versions.sort_by_key(|v| v.at);
    for (i, v) in versions.iter_mut().enumerate() {
        v.version = i + 1;
    }
    value.versions = versions;
    value
}
