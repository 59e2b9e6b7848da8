//! The API every client uses: a cloneable [`NodeHandle`] that sends jobs over a bounded
//! channel to the event loop owning the documents, and [`CircleHandle`] for one circle.
//!
//! Every async method is cancel-safe in the sense that dropping its future never leaves a
//! document half-changed: a job either runs whole on the event loop or not at all (a job
//! already sent still runs; its reply is then dropped).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use grove_core::{
    archive, shard_doc, Amendment, Answer, Circle, CircleInfo, Commitment, CommitmentStatus,
    Consultee, Ctx, Day, Decision, DecisionEdit, DecisionFilter, Escalation, Keepers, KnownNode,
    Member, NewCommitment, NewDecision, NewPrinciple, NewProposal, NewRetro, NewReview, NewRole,
    NewValue, Outcome, Principle, ProposalView, Retro, Review, ReviewChanged, Role, Stewardship,
    Team, Timestamp, Value, ValueEdit, Verdict, ZoneRule,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::addr::{parse_addr, parse_peer_addr, with_peer};
use crate::dto::NodeEvent;
use crate::dto::{
    CircleSummary, DecisionPage, Me, MemberListing, NetInfo, PeerStatus, PrincipleView, SyncReport,
};
use crate::error::{NodeError, Result};
use crate::export::{ExportFormat, Exported, ExportedDoc, OpenCircle};
use crate::files;
use crate::state::{Need, NodeState};

pub(crate) type Job = Box<dyn FnOnce(&mut NodeState) + Send>;

/// This device as code that builds a circle outside the node sees it
/// ([`NodeHandle::add_circle_with`]).
pub struct Author<'a> {
    /// The node's clock now.
    pub now: Timestamp,
    /// This device's member id.
    pub member: String,
    /// This device's member's display name.
    pub name: String,
    /// This device's key: the circle's changes written as this device are signed with it.
    pub key: &'a SigningKey,
}

#[derive(Clone)]
pub struct NodeHandle {
    pub(crate) jobs: mpsc::Sender<Job>,
    pub(crate) events: broadcast::Sender<NodeEvent>,
}

impl NodeHandle {
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut NodeState) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |state| {
                let _ = tx.send(f(state));
            }))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)?
    }

    /// Stops the node: the event loop finishes the job in hand, shuts networking down and
    /// closes the store, then this returns. Later calls on any handle fail with Stopped.
    /// Call it before dropping the runtime, so no task of the node outlives it.
    pub async fn stop(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.run(move |s| {
            s.stop = Some(tx);
            Ok(())
        })
        .await?;
        let _ = rx.await;
        Ok(())
    }

    /// Events (circle changed, …) for live views. Lagging receivers skip ahead.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// A handle on one circle: by id or name, or `None` for the only circle.
    pub fn circle(&self, sel: Option<String>) -> CircleHandle {
        CircleHandle {
            node: self.clone(),
            sel,
        }
    }

    /// This device: member id, device key, display name.
    pub async fn me(&self) -> Result<Me> {
        self.run(|s| {
            Ok(Me {
                member: s.identity.member(),
                device: s.identity.device(),
                name: s.identity.name.clone(),
            })
        })
        .await
    }

    /// Sets this device's display name, here and in every circle it belongs to.
    pub async fn set_name(&self, name: String) -> Result<()> {
        self.run(move |s| {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(NodeError::Core(grove_core::CoreError::Invalid(
                    "a display name cannot be empty".into(),
                )));
            }
            let store = s.store.clone();
            s.identity.set_name(store.as_ref(), &name)?;
            for id in s.circle_ids()? {
                s.mutate(Some(&id), Need::Core, |c, ctx| c.rename_member(ctx, &name))?;
            }
            Ok(())
        })
        .await
    }

    pub async fn create_circle(&self, name: String) -> Result<CircleInfo> {
        self.run(move |s| {
            let key = s.identity.key().clone();
            let display = s.identity.name.clone();
            let (now, member, rng) = s.ctx_parts();
            let mut ctx = Ctx::new(now, member, rng);
            let circle = Circle::create_signed(&mut ctx, &key, &name, &display)?;
            let info = circle.info()?;
            let id = s.adopt(circle)?;
            s.compact_all(&id)?;
            Ok(info)
        })
        .await
    }

    pub async fn circles(&self) -> Result<Vec<CircleSummary>> {
        self.run(|s| {
            let mut out = Vec::new();
            for id in s.circle_ids()? {
                s.open(&id)?;
                let months = s
                    .store
                    .docs(&id)?
                    .iter()
                    .filter(|k| grove_core::shard_period(k).is_some())
                    .count();
                let c = s.loaded(&id)?;
                out.push(CircleSummary {
                    info: c.info()?,
                    members: c.members()?.len(),
                    values: c.values()?.len(),
                    months,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Imports a whole-circle file: a new circle is added (if this device is one of its
    /// member devices), a known one is merged; every change is checked first.
    pub async fn import_circle(&self, data: Vec<u8>) -> Result<CircleInfo> {
        self.run(move |s| {
            let docs = archive::decode_signed(&data)?;
            let id = crate::state::import::merge_archive(s, &docs, None)?;
            s.compact_all(&id)?;
            Ok(s.loaded(&id)?.info()?)
        })
        .await
    }

    /// Adds a whole circle that `build` writes in one go as this device (the demo circle of
    /// `grove-demo`), then saves it compacted. `build` runs on the node's event loop with
    /// this device's [`Author`]; its changes must be signed with the author's key, as any
    /// receiver checks. The circle joins the others as if created here.
    pub async fn add_circle_with<E>(
        &self,
        build: impl FnOnce(Author<'_>) -> std::result::Result<Circle, E> + Send + 'static,
    ) -> std::result::Result<CircleInfo, E>
    where
        E: From<NodeError> + Send + 'static,
    {
        self.run(move |s| {
            let author = Author {
                now: s.now(),
                member: s.identity.member(),
                name: s.identity.name.clone(),
                key: s.identity.key(),
            };
            let circle = match build(author) {
                Ok(circle) => circle,
                Err(e) => return Ok(Err(e)),
            };
            // Adopting would replace the held circle of that id, unchecked.
            if s.circle_ids()?.iter().any(|id| id == circle.id()) {
                return Err(NodeError::Core(grove_core::CoreError::State(format!(
                    "circle {} is already here",
                    circle.id()
                ))));
            }
            let id = s.adopt(circle)?;
            s.compact_all(&id)?;
            // A bulk write leaves sled's files far larger than the data; give the space
            // back now rather than at the next start.
            s.store.reclaim_space()?;
            Ok(Ok(s.loaded(&id)?.info()?))
        })
        .await?
    }

    /// Bytes the store occupies on disk.
    pub async fn disk_usage(&self) -> Result<u64> {
        self.run(|s| Ok(s.store.size_on_disk()?)).await
    }
}

/// The member a user named: an id, or a name that only one member has.
fn resolve_member(c: &Circle, who: &str) -> grove_core::Result<String> {
    let members = c.members()?;
    let who = who.trim();
    if members.iter().any(|m| m.id == who) {
        return Ok(who.to_string());
    }
    let lower = who.to_lowercase();
    let named: Vec<&Member> = members
        .iter()
        .filter(|m| m.name.to_lowercase() == lower)
        .collect();
    match named.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(grove_core::CoreError::NotFound {
            kind: "member",
            id: who.to_string(),
        }),
        many => Err(grove_core::CoreError::Invalid(format!(
            "{} members are named `{who}`: use the id ({})",
            many.len(),
            many.iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Operations on one circle. Cheap to clone; each call resolves the circle afresh.
#[derive(Clone)]
pub struct CircleHandle {
    pub(crate) node: NodeHandle,
    pub(crate) sel: Option<String>,
}

macro_rules! change {
    ($self:ident, $need:expr, |$c:ident, $ctx:ident| $body:expr) => {{
        let sel = $self.sel.clone();
        $self
            .node
            .run(move |s| s.mutate(sel.as_deref(), $need, |$c, $ctx| $body))
            .await
    }};
}

macro_rules! read {
    ($self:ident, $need:expr, |$c:ident| $body:expr) => {{
        let sel = $self.sel.clone();
        $self
            .node
            .run(move |s| s.query(sel.as_deref(), $need, |$c, _| $body))
            .await
    }};
}

/// A read that needs the node's time (windows, terms): the node's clock, which tests move.
macro_rules! read_now {
    ($self:ident, $need:expr, |$c:ident, $now:ident| $body:expr) => {{
        let sel = $self.sel.clone();
        $self
            .node
            .run(move |s| {
                let $now = s.now();
                s.query(sel.as_deref(), $need, |$c, _| $body)
            })
            .await
    }};
}

impl CircleHandle {
    pub async fn info(&self) -> Result<CircleInfo> {
        read!(self, Need::Core, |c| c.info())
    }

    /// Every document of the circle with its heads (hex change hashes, sorted): two
    /// replicas with equal heads hold identical documents.
    pub async fn doc_heads(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        read!(self, Need::All, |c| Ok(c
            .doc_keys()
            .into_iter()
            .filter_map(|k| {
                let heads = c.doc(&k)?.get_heads();
                Some((k, heads.iter().map(ToString::to_string).collect()))
            })
            .collect()))
    }

    /// The whole circle as one file (every document), for `import_circle` elsewhere.
    pub async fn export(&self) -> Result<Vec<u8>> {
        read!(self, Need::All, |c| Ok(archive::encode(c)))
    }

    /// Every document of the circle as `Automerge::save` writes it, core first: the open
    /// `--format automerge` export, readable by any Automerge library.
    pub async fn export_documents(&self) -> Result<Vec<ExportedDoc>> {
        read!(self, Need::All, |c| Ok(c
            .doc_keys()
            .into_iter()
            .filter_map(|k| {
                let bytes = c.snapshot(&k)?;
                Some(ExportedDoc::new(k, bytes))
            })
            .collect()))
    }

    /// The whole circle as plain lists, for the open JSON and Markdown exports.
    pub async fn export_open(&self) -> Result<OpenCircle> {
        Ok(OpenCircle {
            format: "grove-circle",
            version: crate::export::OPEN_EXPORT_VERSION,
            circle: self.info().await?,
            values: self.values().await?,
            principles: self.principles().await?,
            teams: self.teams().await?,
            members: self.member_list().await?,
            decisions: self.decisions(DecisionFilter::default(), None).await?,
            proposals: self
                .proposals()
                .await?
                .into_iter()
                .map(|v| v.proposal)
                .collect(),
            roles: self.roles().await?,
            reviews: self.reviews().await?,
            tensions: self.tensions().await?,
        })
    }

    /// Exports the circle as `format` to `path` (a file for the signed archive and JSON, a
    /// new or empty directory for Automerge and Markdown). The circle is read and the path
    /// checked first, so a locked home, a missing circle or a bad path writes nothing; then
    /// `before_write` gets a plain format's warning; then the files are written atomically
    /// and owner-only.
    pub async fn export_to(
        &self,
        format: ExportFormat,
        path: &Path,
        before_write: impl FnOnce(&str),
    ) -> Result<Exported> {
        let (files, decisions): (Vec<(String, Vec<u8>)>, Option<usize>) = match format {
            ExportFormat::Grove => (vec![(String::new(), self.export().await?)], None),
            ExportFormat::Json => {
                let circle = self.export_open().await?;
                let data =
                    serde_json::to_vec_pretty(&circle).map_err(|cause| NodeError::Encode {
                        what: "the JSON export",
                        cause,
                    })?;
                (vec![(String::new(), data)], Some(circle.decisions.len()))
            }
            ExportFormat::Automerge => {
                let docs = self.export_documents().await?;
                let info = self.info().await?;
                let manifest = serde_json::to_vec_pretty(&crate::export::manifest(&info, &docs))
                    .map_err(|cause| NodeError::Encode {
                        what: "the manifest",
                        cause,
                    })?;
                let mut files: Vec<(String, Vec<u8>)> =
                    docs.into_iter().map(|d| (d.file, d.bytes)).collect();
                files.push(("manifest.json".to_string(), manifest));
                (files, None)
            }
            ExportFormat::Markdown => {
                let circle = self.export_open().await?;
                let files = crate::export::markdown(&circle)
                    .into_iter()
                    .map(|(name, text)| (name, text.into_bytes()))
                    .collect();
                (files, Some(circle.decisions.len()))
            }
        };
        let one_file = matches!(format, ExportFormat::Grove | ExportFormat::Json);
        if one_file {
            files::check_out_file(
                path,
                if format == ExportFormat::Json {
                    "json"
                } else {
                    "circle"
                },
            )?;
        } else {
            files::check_out_dir(path)?;
        }
        if let Some(warning) = format.warning() {
            before_write(&warning);
        }
        let bytes = files.iter().map(|(_, data)| data.len() as u64).sum();
        match files.as_slice() {
            [(_, data)] if one_file => files::write_atomically(path, data)?,
            _ => files::write_dir_atomically(path, &files)?,
        }
        Ok(Exported {
            path: path.display().to_string(),
            files: files.len(),
            bytes,
            decisions,
        })
    }

    // ---- values ----
    pub async fn add_value(&self, new: NewValue) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.add_value(ctx, new))
    }
    pub async fn edit_value(&self, id: String, edit: ValueEdit) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c.edit_value(ctx, &id, edit))
    }
    /// Returns the principles that went under review because of it.
    pub async fn retire_value(&self, id: String) -> Result<Vec<String>> {
        change!(self, Need::Core, |c, ctx| c.retire_value(ctx, &id))
    }
    pub async fn values(&self) -> Result<Vec<Value>> {
        read!(self, Need::Core, |c| c.values())
    }
    pub async fn value(&self, id: String) -> Result<Value> {
        read!(self, Need::Core, |c| c.value(&id))
    }

    // ---- principles ----
    pub async fn add_principle(&self, new: NewPrinciple) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.add_principle(ctx, new))
    }
    pub async fn amend_principle(&self, id: String, amendment: Amendment) -> Result<usize> {
        change!(self, Need::Core, |c, ctx| c
            .amend_principle(ctx, &id, amendment))
    }
    pub async fn retire_principle(&self, id: String, reason: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .retire_principle(ctx, &id, &reason))
    }
    pub async fn supersede_principle(&self, old: String, by: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .supersede_principle(ctx, &old, &by))
    }
    /// Principles alone, from the core document: what names and pickers need, without
    /// loading the log (a cold open must not wait for every month).
    pub async fn principle_list(&self) -> Result<Vec<Principle>> {
        read!(self, Need::Core, |c| c.principles())
    }
    /// Principles with how many decisions cite each (from each month's tally: see
    /// `crates/grove-node/src/months.rs`).
    pub async fn principles(&self) -> Result<Vec<PrincipleView>> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let (id, counts) = s.citations(sel.as_deref())?;
                Ok(s.loaded(&id)?
                    .principles()?
                    .into_iter()
                    .map(|p| PrincipleView {
                        citations: counts.get(&p.id).copied().unwrap_or(0),
                        principle: p,
                    })
                    .collect())
            })
            .await
    }
    pub async fn principle(&self, id: String) -> Result<PrincipleView> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let (circle, counts) = s.citations(sel.as_deref())?;
                let principle = s.loaded(&circle)?.principle(&id)?;
                Ok(PrincipleView {
                    citations: counts.get(&id).copied().unwrap_or(0),
                    principle,
                })
            })
            .await
    }

    // ---- teams and members ----
    pub async fn add_team(&self, name: String, domain: Option<String>) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.add_team(
            ctx,
            &name,
            domain.as_deref()
        ))
    }
    /// Adds a member (this device's member when `None`) to a team.
    pub async fn join_team(&self, team: String, member: Option<String>) -> Result<()> {
        change!(self, Need::Core, |c, ctx| {
            let m = member.unwrap_or_else(|| ctx.member.clone());
            c.team_add_member(ctx, &team, &m)
        })
    }
    pub async fn leave_team(&self, team: String, member: Option<String>) -> Result<()> {
        change!(self, Need::Core, |c, ctx| {
            let m = member.unwrap_or_else(|| ctx.member.clone());
            c.team_remove_member(ctx, &team, &m)
        })
    }
    pub async fn teams(&self) -> Result<Vec<Team>> {
        read!(self, Need::Core, |c| c.teams())
    }
    pub async fn members(&self) -> Result<Vec<Member>> {
        read!(self, Need::Core, |c| c.members())
    }

    /// Members with their role and removal, for `grove member list`.
    pub async fn member_list(&self) -> Result<Vec<MemberListing>> {
        read!(self, Need::Core, |c| {
            let ms = c.membership();
            c.members()?
                .into_iter()
                .map(|member| {
                    let standing = c.standing(&member.id)?;
                    let revoked = member
                        .devices
                        .iter()
                        .filter(|d| ms.revoked_at(d).is_some())
                        .cloned()
                        .collect();
                    Ok(MemberListing {
                        member,
                        role: standing.role,
                        removed_at: standing.removed_at,
                        removed_by: standing.removed_by,
                        revoked,
                    })
                })
                .collect()
        })
    }

    /// Admits the device `device` (hex, as `grove device id` prints it) as a new member
    /// named `name`; returns the member id (derived from the device key, as that device
    /// derives it itself).
    pub async fn admit_member(&self, device: String, name: String) -> Result<String> {
        let member = crate::identity::member_of_device_hex(&device).ok_or_else(|| {
            NodeError::Core(grove_core::CoreError::Invalid(format!(
                "`{device}` is not a device id: a device id is the 64 hex digits `grove device \
                 id` prints on that device"
            )))
        })?;
        let id = member.clone();
        change!(self, Need::Core, |c, ctx| c
            .admit_member(ctx, &id, &name, &device))?;
        Ok(member)
    }

    /// Hands the stewards' office to the next in the queue once the term has ended.
    pub async fn rotate_stewards(&self) -> Result<Vec<String>> {
        change!(self, Need::Core, |c, ctx| c.rotate_stewards(ctx))
    }
    pub async fn rotate_keepers(&self) -> Result<Vec<String>> {
        change!(self, Need::Core, |c, ctx| c.rotate_keepers(ctx))
    }

    /// Revokes one device (a lost or seized laptop) at once; returns its member, who stays.
    pub async fn revoke_device(&self, device: String) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.revoke_device(ctx, &device))
    }

    /// Removes a member (by id or unique name), which works only for this device's own
    /// member: leaving. Anyone else is removed by a passed proposal, and the refusal says
    /// so. Returns the member id.
    pub async fn remove_member(&self, who: String) -> Result<String> {
        // Every document: the removal names the member's changes this device holds from
        // its last second (see grove_core's members.rs).
        change!(self, Need::All, |c, ctx| {
            let id = resolve_member(c, &who)?;
            c.remove_member(ctx, &id)?;
            Ok(id)
        })
    }

    /// This device's member leaves the circle; returns its id.
    pub async fn leave(&self) -> Result<String> {
        change!(self, Need::All, |c, ctx| {
            c.leave(ctx)?;
            Ok(ctx.member.clone())
        })
    }

    // ---- decisions ----
    pub async fn log_decision(&self, new: NewDecision) -> Result<String> {
        let need = Need::Logging(Box::new(new.clone()));
        change!(self, need, |c, ctx| c.log_decision(ctx, new))
    }
    pub async fn record_result(&self, id: String, text: String, outcome: Outcome) -> Result<()> {
        let need = Need::Decisions(vec![id.clone()]);
        change!(self, need, |c, ctx| c
            .record_result(ctx, &id, &text, outcome))
    }
    pub async fn edit_decision(&self, id: String, edit: DecisionEdit) -> Result<()> {
        let need = Need::Decisions(vec![id.clone()]);
        change!(self, need, |c, ctx| c.edit_decision(ctx, &id, edit))
    }
    /// Marks a decision read by this device's member; false if it already was.
    pub async fn mark_read(&self, id: String) -> Result<bool> {
        let need = Need::Decisions(vec![id.clone()]);
        change!(self, need, |c, ctx| c.mark_read(ctx, &id))
    }
    pub async fn link_decisions(&self, id: String, other: String) -> Result<()> {
        let need = Need::Decisions(vec![id.clone(), other.clone()]);
        change!(self, need, |c, ctx| c.link_decisions(ctx, &id, &other))
    }
    pub async fn decision(&self, id: String) -> Result<Decision> {
        let need = Need::Decisions(vec![id.clone()]);
        read!(self, need, |c| c.decision(&id))
    }

    /// Logs a principle-check decision naming who was consulted (ids or unique names);
    /// each of them acknowledges it ([`CircleHandle::acknowledge_consultation`]).
    pub async fn log_consulted_decision(
        &self,
        new: NewDecision,
        consulted: Vec<String>,
    ) -> Result<String> {
        let need = Need::Logging(Box::new(new.clone()));
        change!(self, need, |c, ctx| {
            let ids = consulted
                .iter()
                .map(|who| resolve_member(c, who))
                .collect::<grove_core::Result<Vec<_>>>()?;
            c.log_consulted_decision(ctx, new, &ids)
        })
    }

    /// This member acknowledges that they were consulted on decision `id`.
    pub async fn acknowledge_consultation(&self, id: String, note: Option<String>) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c.acknowledge_consultation(
            ctx,
            &id,
            note.as_deref()
        ))
    }

    /// Who was consulted on decision `id`, and who acknowledged it.
    pub async fn consultation(&self, id: String) -> Result<Vec<Consultee>> {
        read!(self, Need::Core, |c| c.consultation(&id))
    }

    /// Who wrote decision `id`: the device whose signed change created it, and its member.
    pub async fn decision_writer(&self, id: String) -> Result<Option<grove_core::Writer>> {
        let need = Need::Decisions(vec![id.clone()]);
        read!(self, need, |c| c.decision_writer(&id))
    }
    /// Decisions matching the filter, newest first; `limit` caps how many come back. The
    /// rows are those the node keeps for its months, shared: a list of the whole log copies
    /// no decision.
    pub async fn decisions(
        &self,
        filter: DecisionFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Arc<Decision>>> {
        read!(self, Need::Log, |c| {
            let mut all = c.decisions(&filter)?;
            if let Some(n) = limit {
                all.truncate(n);
            }
            Ok(all)
        })
    }

    /// The newest `limit` decisions matching the filter, loading months newest first and
    /// stopping once it has enough: what a timeline's first screen needs on a cold start.
    pub async fn recent_decisions(
        &self,
        filter: DecisionFilter,
        limit: usize,
    ) -> Result<Vec<Arc<Decision>>> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let (id, months) = s.open_for_page(sel.as_deref(), &filter, limit)?;
                let mut out = Vec::new();
                for month in months {
                    if out.len() >= limit {
                        break;
                    }
                    s.ensure_docs(&id, vec![shard_doc(&month)], true)?;
                    out.extend(s.loaded(&id)?.decisions_in(&month, &filter)?);
                }
                out.truncate(limit);
                Ok(out)
            })
            .await
    }

    /// Positions `offset..offset + limit` of the filtered log, newest first, with how many
    /// decisions match and how many of those this device's member has not read. Only the
    /// months holding the page are loaded: the others are counted from the tallies kept in
    /// the store (see `crates/grove-node/src/months.rs`) when the filter is one a tally
    /// answers (none, dates, unread), else from their rows. Without a valid tally, with
    /// `whole` false the months after the page are counted only if already in memory, so a
    /// cold first screen costs the core and the newest months (then `complete` is false and
    /// `total` a lower bound: ask again with `whole` for the exact count, which loads every
    /// month it cannot count otherwise, and lets each go once counted).
    pub async fn decision_page(
        &self,
        filter: DecisionFilter,
        offset: usize,
        limit: usize,
        whole: bool,
    ) -> Result<DecisionPage> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let end = offset.saturating_add(limit);
                let (id, months) = s.open_for_page(sel.as_deref(), &filter, end)?;
                let me = s.identity.member();
                let mut page = DecisionPage {
                    complete: true,
                    ..DecisionPage::default()
                };
                let mut pinned = BTreeSet::new();
                for month in months {
                    let doc = shard_doc(&month);
                    if !s.loaded(&id)?.has_doc(&doc) {
                        let tally = s.stored_month_tally(&id, &month)?;
                        let counted = tally
                            .as_ref()
                            .and_then(|t| crate::months::counted(t, &filter, &month, &me));
                        match counted {
                            // Wholly before or after the page: its counts are enough.
                            Some((matched, unread))
                                if page.total >= end || page.total + matched <= offset =>
                            {
                                page.total += matched;
                                page.unread += unread;
                                continue;
                            }
                            Some(_) => {}
                            None if page.total >= end && !whole => {
                                page.complete = false;
                                break;
                            }
                            None => {}
                        }
                    }
                    s.ensure_docs(&id, vec![doc.clone()], true)?;
                    let circle = s.loaded(&id)?;
                    let w = circle.decisions_window_in(
                        &month,
                        &filter,
                        offset.saturating_sub(page.total),
                        limit - page.rows.len(),
                        &me,
                    )?;
                    let tally = circle.month_tally(&month, &me)?;
                    s.store_tally(&id, &doc, &tally)?;
                    if !w.rows.is_empty() {
                        pinned.insert(doc);
                    }
                    page.total += w.matched;
                    page.unread += w.unread;
                    page.rows.extend(w.rows);
                    s.trim_months(&id, &pinned);
                }
                Ok(page)
            })
            .await
    }

    /// The months of the log in memory now (document keys), for tests and benches of how
    /// much the node holds.
    #[doc(hidden)]
    pub async fn months_in_memory(&self) -> Result<Vec<String>> {
        read!(self, Need::Core, |c| Ok(c
            .doc_keys()
            .into_iter()
            .filter(|k| grove_core::shard_period(k).is_some())
            .collect()))
    }

    /// Changes made on this device to this circle that no peer is known to hold yet (from
    /// each peer's saved sync state, connected or not); 0 once any peer has them all.
    /// Loads every month of the circle.
    pub async fn pending_changes(&self) -> Result<usize> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let id = s.prepare(sel.as_deref(), &Need::All)?;
                let shared = crate::peer_records::shared_heads(s.store.as_ref(), &id)?;
                let actor = s.identity.actor();
                let circle = s.loaded(&id)?;
                Ok(circle
                    .doc_keys()
                    .iter()
                    .filter_map(|k| Some((circle.doc(k)?, k)))
                    .map(|(doc, k)| {
                        let peers = shared.get(k).map(Vec::as_slice).unwrap_or_default();
                        grove_core::sync::unshared_changes(doc, &actor, peers)
                    })
                    .sum())
            })
            .await
    }

    // ---- escalations ----
    pub async fn escalations(&self) -> Result<Vec<Escalation>> {
        read!(self, Need::Escalations, |c| c.escalations())
    }
    pub async fn acknowledge_escalation(&self, id: String) -> Result<()> {
        change!(self, Need::Escalations, |c, ctx| c
            .acknowledge_escalation(ctx, &id))
    }
    /// A steward backs, coaches or stops an escalated decision.
    pub async fn resolve_escalation(
        &self,
        id: String,
        verdict: Verdict,
        response: String,
    ) -> Result<()> {
        change!(self, Need::Escalations, |c, ctx| c
            .answer_escalation(ctx, &id, verdict, &response))
    }

    // ---- proposals ----
    pub async fn open_proposal(&self, new: NewProposal) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.open_proposal(ctx, new))
    }
    pub async fn respond(&self, id: String, answer: Answer, reason: Option<String>) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c.respond(
            ctx,
            &id,
            answer,
            reason.as_deref()
        ))
    }
    /// Publishes a new version of one's own proposal; every answer is asked again.
    pub async fn revise_proposal(&self, id: String, new: NewProposal) -> Result<u32> {
        change!(self, Need::Core, |c, ctx| c.revise_proposal(ctx, &id, new))
    }
    /// Passes the proposal, applying its change; returns what it changed.
    pub async fn pass_proposal(&self, id: String) -> Result<Option<String>> {
        // Every document: a passed removal names the member's latest changes held here.
        change!(self, Need::All, |c, ctx| c.pass_proposal(ctx, &id))
    }
    pub async fn withdraw_proposal(&self, id: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c.withdraw_proposal(ctx, &id))
    }
    /// Every team's zone map.
    pub async fn zone_rules(&self) -> Result<Vec<ZoneRule>> {
        read!(self, Need::Core, |c| Ok(c.zone_rules()))
    }

    /// The stewards, their term, and whether they are in office now.
    pub async fn stewardship(&self) -> Result<Stewardship> {
        read_now!(self, Need::Core, |c, now| Ok(c.stewardship(now)))
    }
    pub async fn keepers(&self) -> Result<Keepers> {
        read_now!(self, Need::Core, |c, now| Ok(c.keepers(now)))
    }

    /// Every proposal with its consent round as it stands now.
    pub async fn proposals(&self) -> Result<Vec<ProposalView>> {
        read_now!(self, Need::Core, |c, now| c.proposal_views(now))
    }
    pub async fn proposal(&self, id: String) -> Result<ProposalView> {
        read_now!(self, Need::Core, |c, now| c.proposal_view(&id, now))
    }

    // ---- roles ----
    pub async fn add_role(&self, new: NewRole) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.add_role(ctx, new))
    }
    pub async fn assign_role(&self, id: String, member: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c.assign_role(ctx, &id, &member))
    }
    pub async fn rotate_role(&self, id: String) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.rotate_role(ctx, &id))
    }
    pub async fn set_role_queue(&self, id: String, queue: Vec<String>) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .set_role_queue(ctx, &id, &queue))
    }
    pub async fn roles(&self) -> Result<Vec<Role>> {
        read!(self, Need::Core, |c| c.roles())
    }
    pub async fn role(&self, id: String) -> Result<Role> {
        read!(self, Need::Core, |c| c.role(&id))
    }

    // ---- commitments ----
    pub async fn add_commitment(&self, new: NewCommitment) -> Result<String> {
        let need = Need::Decisions(new.decision.iter().cloned().collect());
        change!(self, need, |c, ctx| c.add_commitment(ctx, new))
    }
    pub async fn set_commitment_status(&self, id: String, status: CommitmentStatus) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .set_commitment_status(ctx, &id, status))
    }
    pub async fn commitments(&self) -> Result<Vec<Commitment>> {
        read!(self, Need::Core, |c| c.commitments())
    }

    // ---- retros ----
    pub async fn add_retro(&self, new: NewRetro) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.add_retro(ctx, new))
    }
    pub async fn retros(&self) -> Result<Vec<Retro>> {
        read!(self, Need::Core, |c| c.retros())
    }

    // ---- reviews ----
    pub async fn open_review(&self, new: NewReview) -> Result<String> {
        change!(self, Need::Core, |c, ctx| c.open_review(ctx, new))
    }
    pub async fn add_agenda_item(&self, id: String, item: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .add_agenda_item(ctx, &id, &item))
    }
    pub async fn add_participant(&self, id: String, member: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .add_participant(ctx, &id, &member))
    }
    pub async fn review_change(
        &self,
        id: String,
        principle: String,
        amendment: Amendment,
    ) -> Result<ReviewChanged> {
        change!(self, Need::Core, |c, ctx| c
            .review_change(ctx, &id, &principle, amendment))
    }
    pub async fn add_learning(&self, id: String, learning: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .add_learning(ctx, &id, &learning))
    }
    pub async fn edit_review_notes(&self, id: String, notes: String) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c
            .edit_review_notes(ctx, &id, &notes))
    }
    pub async fn close_review(&self, id: String, next: Day) -> Result<()> {
        change!(self, Need::Core, |c, ctx| c.close_review(ctx, &id, next))
    }
    pub async fn reviews(&self) -> Result<Vec<Review>> {
        read!(self, Need::Core, |c| c.reviews())
    }
    pub async fn review(&self, id: String) -> Result<Review> {
        read!(self, Need::Core, |c| c.review(&id))
    }
}

/// Networking: peers, sync, this node's addresses. Every method fails with
/// [`NodeError::NetworkOff`] on a node started without networking.
impl NodeHandle {
    async fn client(&self) -> Result<grove_net::Client> {
        self.run(|s| {
            s.net
                .as_ref()
                .map(|n| n.client.clone())
                .ok_or(NodeError::NetworkOff)
        })
        .await
    }

    /// Whether this node syncs with peers.
    pub async fn is_networked(&self) -> Result<bool> {
        self.run(|s| Ok(s.net.is_some())).await
    }

    /// This node's peer id and the addresses it listens on.
    pub async fn net_info(&self) -> Result<NetInfo> {
        self.run(|s| {
            let net = s.net.as_ref().ok_or(NodeError::NetworkOff)?;
            let peer = net.client.local_peer_id();
            Ok(NetInfo {
                peer: peer.to_string(),
                addrs: net
                    .listen
                    .iter()
                    .map(|a| with_peer(a.clone(), peer).to_string())
                    .collect(),
            })
        })
        .await
    }

    /// Connects to `addr` and returns the peer's id once the connection is up. Syncing
    /// starts by itself; see [`Self::sync_with`] to wait for it.
    pub async fn dial(&self, addr: &str) -> Result<String> {
        self.dial_peer(addr).await.map(|peer| peer.to_string())
    }

    async fn dial_peer(&self, addr: &str) -> Result<grove_net::PeerId> {
        let addr = parse_addr(addr)?;
        let client = self.client().await?;
        client
            .dial(addr.clone())
            .await
            .map_err(|cause| NodeError::Unreachable {
                addr,
                cause: Box::new(cause),
            })
    }

    /// Remembers `addr` (dialled again whenever the node starts with networking) and, when
    /// networking is on, dials it now. Returns the peer id if it was reached.
    pub async fn add_peer(&self, addr: &str) -> Result<Option<String>> {
        let parsed = parse_peer_addr(addr)?;
        let networked = self
            .run(move |s| {
                s.remember_peer(&parsed)?;
                Ok(s.net.is_some())
            })
            .await?;
        if !networked {
            return Ok(None);
        }
        self.dial(addr).await.map(Some)
    }

    /// Closes every connection to `peer` (a peer id). It is dialled again only when asked
    /// or when the node restarts.
    pub async fn disconnect(&self, peer: &str) -> Result<()> {
        let peer: grove_net::PeerId =
            peer.trim()
                .parse()
                .map_err(|cause| NodeError::InvalidPeerId {
                    text: peer.to_string(),
                    cause,
                })?;
        let client = self.client().await?;
        Ok(client.disconnect(peer).await?)
    }

    /// Peers connected now and peers synced with before, with each shared circle's state.
    pub async fn peers(&self) -> Result<Vec<PeerStatus>> {
        self.run(|s| s.peer_statuses()).await
    }

    /// Connects to `addr` and waits until every circle both sides hold is in sync. Fails if
    /// the peer holds none of our circles or disconnects first. It does not time out by
    /// itself: wrap it in a timeout. Cancel-safe.
    pub async fn sync_with(&self, addr: &str) -> Result<SyncReport> {
        let mut events = self.subscribe();
        let peer = self.dial_peer(addr).await?;
        let peer_text = peer.to_string();
        loop {
            let progress = self.run(move |s| Ok(s.sync_progress(&peer))).await?;
            if let Some(p) = progress {
                if p.hello && p.shared.is_empty() {
                    return Err(NodeError::NothingShared { peer });
                }
                if p.hello && p.synced.len() == p.shared.len() {
                    return Ok(SyncReport {
                        peer: peer_text,
                        circles: p.synced,
                    });
                }
            }
            match events.recv().await {
                Ok(NodeEvent::PeerDisconnected { peer: gone }) if gone == peer_text => {
                    return Err(NodeError::PeerLeft { peer });
                }
                Ok(NodeEvent::PeerMisbehaved { peer: bad, reason }) if bad == peer_text => {
                    return Err(NodeError::PeerMisbehaved { peer, reason });
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Err(NodeError::Stopped),
            }
        }
    }

    /// Records this node's listen addresses in every circle it holds, so members learn where
    /// to reach it by syncing. For always-on nodes. Returns the addresses recorded.
    pub async fn announce_addresses(&self) -> Result<Vec<String>> {
        let recorded = self
            .run(|s| {
                let net = s.net.as_ref().ok_or(NodeError::NetworkOff)?;
                let peer = net.client.local_peer_id().to_string();
                let addrs = s.addresses_to_announce();
                if addrs.is_empty() {
                    return Ok(addrs);
                }
                for id in s.circle_ids()? {
                    let (peer, addrs) = (peer.clone(), addrs.clone());
                    s.mutate(Some(&id), Need::Core, move |c, ctx| {
                        c.announce_node(ctx, &peer, &addrs)
                    })?;
                }
                Ok(addrs)
            })
            .await?;
        // What we tell members to dial is what we claim to be reachable at: the relay hands
        // out reservations and rendezvous registrations carry only such addresses.
        let client = self.client().await?;
        for addr in &recorded {
            if let Ok(addr) = parse_addr(addr) {
                let _ = client.add_external_address(addr).await;
            }
        }
        Ok(recorded)
    }

    /// The always-on nodes a circle knows of.
    pub async fn known_nodes(&self, circle: Option<String>) -> Result<Vec<KnownNode>> {
        self.run(move |s| s.query(circle.as_deref(), Need::Core, |c, _| c.known_nodes()))
            .await
    }

    /// Stops networking after writing the frames already queued (for at most `grace`), so
    /// a peer gets our last answer. The node keeps serving local calls.
    pub async fn shutdown_network(&self, grace: std::time::Duration) -> Result<()> {
        let Some((client, writers)) = self
            .run(|s| {
                Ok(s.net.take().map(|mut net| {
                    let writers = net.close_writers();
                    (net.client.clone(), writers)
                }))
            })
            .await?
        else {
            return Ok(());
        };
        let _ = tokio::time::timeout(grace, futures_join_all(writers)).await;
        let _ = client.shutdown().await;
        Ok(())
    }
}

async fn futures_join_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use grove_core::automerge::ActorId;
    use grove_core::{Circle, Ctx, CORE_DOC};

    use crate::{Node, NodeErrorKind};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_circle_built_outside_is_added_as_this_device_and_only_once() {
        let node = Node::builder().in_memory().spawn().unwrap();
        let core = Arc::new(Mutex::new(Vec::new()));
        let kept = core.clone();
        let info = node
            .add_circle_with(move |a| -> crate::Result<Circle> {
                let mut rng = rand::rngs::OsRng;
                let mut ctx = Ctx::new(a.now, a.member.clone(), &mut rng);
                let circle = Circle::create_signed(&mut ctx, a.key, "Built", &a.name)?;
                *kept.lock().unwrap() = circle.snapshot(CORE_DOC).unwrap_or_default();
                Ok(circle)
            })
            .await
            .unwrap();
        let me = node.me().await.unwrap();
        let members = node.circle(None).members().await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(
            members[0].id, me.member,
            "the founder is this device's member"
        );

        // The same circle again would replace the one held: refused, nothing changes.
        let bytes = core.lock().unwrap().clone();
        let again = node
            .add_circle_with(move |_| -> crate::Result<Circle> {
                Ok(Circle::from_core_bytes(&bytes, ActorId::random())?)
            })
            .await
            .unwrap_err();
        assert_eq!(again.kind(), NodeErrorKind::State, "{again}");
        let circles = node.circles().await.unwrap();
        assert_eq!(circles.len(), 1);
        assert_eq!(circles[0].info.id, info.id);
    }
}
