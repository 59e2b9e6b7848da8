//! A circle: one core document (values, principles, teams, members, proposals, roles,
//! commitments, retros, reviews), one document per month of decisions, and one of the
//! escalations their centre-zone decisions raise (see [`crate::escalations`]).
//!
//! Why shards: Automerge loads a 100,000-decision document in ~1.7 s and 500 MB
//! (see docs/limits.md); a circle opens by loading its small core document and only
//! the months a view needs, and per-decision sync and save costs stay those of one month.
//! Decisions live at the root map of their shard, keyed by id, so two devices that create
//! the same month's shard independently merge without a conflicting parent object.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use automerge::transaction::Transactable as _;
use automerge::{
    transaction::{CommitOptions, Transaction},
    ActorId, Automerge, ChangeHash, ObjId, ROOT,
};

use crate::authorize::Authorized;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::sync::cover::{self, Link};
use crate::sync::signing::{self, ChangeSignature, Checked, SignedChange};
use ed25519_dalek::SigningKey;

/// The key of the core document of every circle.
pub const CORE_DOC: &str = "core";
/// The key of the document of a circle's escalations (see [`crate::escalations`]).
pub const ESCALATIONS_DOC: &str = "escalations";
const SHARD_PREFIX: &str = "decisions/";
/// Bumped when the document layout changes incompatibly; newer documents are refused.
pub const SCHEMA: i64 = 1;

/// Collections of the core document, created once with the circle.
pub(crate) const COLLECTIONS: &[&str] = &[
    "values",
    "principles",
    "teams",
    "members",
    "escalations",
    "proposals",
    "roles",
    "commitments",
    "retros",
    "reviews",
    "nodes",
    "keys",
    "invites",
    "consultations",
];

/// The document key of the decision shard for `period` (`YYYY-MM`).
pub fn shard_doc(period: &str) -> String {
    format!("{SHARD_PREFIX}{period}")
}

/// The document key of the shard where a decision logged at `now` goes.
pub fn circle_doc_for_month(now: Timestamp) -> String {
    shard_doc(&now.period())
}

/// The period of a decision shard's document key, if it is one.
pub fn shard_period(doc: &str) -> Option<&str> {
    doc.strip_prefix(SHARD_PREFIX)
}

/// The document key holding decision `id` (`d-YYYYMM-…`), or NotFound for a malformed id.
pub fn decision_doc(id: &str) -> Result<String> {
    let ym = id
        .strip_prefix("d-")
        .and_then(|rest| rest.get(0..6))
        .filter(|ym| ym.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| CoreError::not_found("decision", id))?;
    Ok(shard_doc(&format!("{}-{}", &ym[0..4], &ym[4..6])))
}

pub(crate) struct Doc {
    pub(crate) am: Automerge,
    saved: Vec<ChangeHash>,
    /// Signatures of this document's changes (see [`crate::sync::signing`]), and which of
    /// them the store does not hold yet.
    sigs: HashMap<ChangeHash, ChangeSignature>,
    unsaved_sigs: Vec<ChangeHash>,
    /// The saved form of the whole document, with its heads, as a peer sent it to this
    /// empty one (see [`Circle::adopt_loaded`]): written as it is instead of saved again.
    loaded: Option<(Vec<ChangeHash>, Vec<u8>)>,
}

impl Doc {
    fn new(actor: &ActorId) -> Doc {
        Doc::with(Automerge::new().with_actor(actor.clone()), Vec::new())
    }

    fn with(am: Automerge, saved: Vec<ChangeHash>) -> Doc {
        Doc {
            am,
            saved,
            sigs: HashMap::new(),
            unsaved_sigs: Vec::new(),
            loaded: None,
        }
    }

    fn load(bytes: &[u8], actor: &ActorId) -> Result<Doc> {
        let am = Automerge::load(bytes)
            .map_err(|e| CoreError::Corrupt(format!("cannot load document: {e}")))?
            .with_actor(actor.clone());
        let saved = am.get_heads();
        Ok(Doc::with(am, saved))
    }

    /// Records a signature for a change that has none yet. A change is signed once, so a
    /// different signature later is at best a duplicate and at worst a forgery: the one
    /// held stays.
    fn add_sig(&mut self, hash: ChangeHash, sig: ChangeSignature) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.sigs.entry(hash) {
            e.insert(sig);
            self.unsaved_sigs.push(hash);
        }
    }
}

/// A document loaded from bytes but not yet part of a circle, with its decisions' rows if
/// they were read before it joined (see [`LoadedDoc::read_rows`]).
pub struct LoadedDoc {
    am: Automerge,
    rows: Option<MonthRows>,
}

impl LoadedDoc {
    pub fn load(bytes: &[u8]) -> Result<LoadedDoc> {
        Automerge::load(bytes)
            .map(|am| LoadedDoc { am, rows: None })
            .map_err(|e| CoreError::Corrupt(format!("cannot load document: {e}")))
    }

    /// Reads the decisions of this month's shard (document key `doc`) now, on the caller's
    /// thread, for [`Circle::attach_loaded`] to keep: a circle's first screen can then
    /// read its newest month while another thread loads the core. Returns how many.
    pub fn read_rows(&mut self, doc: &str) -> Result<usize> {
        if shard_period(doc).is_none() {
            return Err(CoreError::Corrupt(format!(
                "`{doc}` is not a decision shard"
            )));
        }
        let rows = crate::decisions::read_month(&self.am);
        let count = rows.len();
        self.rows = Some((self.am.get_heads(), Arc::new(rows)));
        Ok(count)
    }
}

/// Name and provenance of a circle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleInfo {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// Bytes to persist for one document: the changes since it was last marked saved.
pub struct Unsaved {
    pub doc: String,
    pub bytes: Vec<u8>,
    pub heads: Vec<ChangeHash>,
    /// Change signatures the store does not hold yet (also for an unchanged document).
    pub signatures: Vec<(ChangeHash, ChangeSignature)>,
}

pub struct Circle {
    id: String,
    pub(crate) actor: ActorId,
    pub(crate) core: Doc,
    pub(crate) shards: BTreeMap<String, Doc>,
    /// The escalations' document, once loaded (the core's cold open does without it).
    pub(crate) esc: Option<Doc>,
    /// Decoded decisions per month, with the heads they were read at: a derived view,
    /// patched with the decisions each change touched (see [`crate::month_changes`]),
    /// never persisted.
    pub(crate) rows: Mutex<HashMap<String, MonthRows>>,
    /// Signatures known good, so none is checked twice (see [`crate::sync::signing`]).
    pub(crate) checked: Checked,
    /// This device's key: every local change is signed with it as it is made.
    signer: Option<SigningKey>,
    /// The device's clock, when it has one: receivers refuse a pass claiming a time far
    /// beyond it (see [`crate::governance`]).
    pub(crate) clock: Option<Clock>,
}

/// A device's clock, as the node keeps it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub(crate) type MonthRows = (Vec<ChangeHash>, crate::decisions::Rows);

impl Circle {
    /// Creates a new circle whose first member (and steward) is `ctx.member`, named
    /// `member_name`, acting from the device of `key`; every change is signed with it.
    pub fn create_signed(
        ctx: &mut Ctx<'_>,
        key: &SigningKey,
        name: &str,
        member_name: &str,
    ) -> Result<Circle> {
        let device = signing::device_hex(key);
        Circle::create_inner(
            ctx,
            signing::device_actor(key),
            Some(key.clone()),
            name,
            member_name,
            &device,
        )
    }

    /// Creates a new circle whose first member (and steward) is `ctx.member`, named
    /// `member_name`, without signing its changes: for tests and tools that never share
    /// the circle. Peers refuse unsigned changes.
    pub fn create(
        ctx: &mut Ctx<'_>,
        actor: ActorId,
        name: &str,
        member_name: &str,
        device: &str,
    ) -> Result<Circle> {
        Circle::create_inner(ctx, actor, None, name, member_name, device)
    }

    fn create_inner(
        ctx: &mut Ctx<'_>,
        actor: ActorId,
        signer: Option<SigningKey>,
        name: &str,
        member_name: &str,
        device: &str,
    ) -> Result<Circle> {
        let name = fields::required(name, "the circle's name")?;
        let id = ctx.new_id("c");
        let mut core = Doc::new(&actor);
        let actor_for_esc = actor.clone();
        let now = ctx.now;
        let member = ctx.member.clone();
        let created = core
            .am
            .transact_with(
                |_| commit(now, "circle create"),
                |tx| -> Result<()> {
                    let meta = tx.put_object(ROOT, "meta", automerge::ObjType::Map)?;
                    fields::put_str(tx, &meta, "id", &id)?;
                    fields::put_str(tx, &meta, "name", &name)?;
                    fields::put_time(tx, &meta, "created_at", now)?;
                    fields::put_str(tx, &meta, "created_by", &member)?;
                    tx.put(&meta, "schema", SCHEMA)?;
                    for coll in COLLECTIONS {
                        tx.put_object(ROOT, *coll, automerge::ObjType::Map)?;
                    }
                    Ok(())
                },
            )
            .map_err(|f| f.error)?;
        if let (Some(key), Some(hash)) = (&signer, created.hash) {
            core.add_sig(hash, signing::sign_change(key, &hash));
        }
        let mut circle = Circle {
            id,
            actor,
            core,
            shards: BTreeMap::new(),
            // Nothing to load: a new circle has no escalations yet.
            esc: Some(Doc::new(&actor_for_esc)),
            rows: Mutex::default(),
            checked: Checked::default(),
            signer,
            clock: None,
        };
        circle.join(ctx, member_name, device)?;
        // The founder's stewardship has a term like any other.
        let until = now.plus_days(crate::members::FOUNDER_TERM_DAYS);
        let term = crate::members::Term {
            until,
            by: None,
            queue: &[],
            days: None,
        };
        circle.name_stewards(now, std::slice::from_ref(&member), term)?;
        circle.rotate_key(ctx)?;
        Ok(circle)
    }

    /// Opens a circle from its core document's bytes; decision shards and the escalations'
    /// document are attached separately (until then, reading escalations fails).
    pub fn open(id: &str, core_bytes: &[u8], actor: ActorId) -> Result<Circle> {
        let core = Doc::load(core_bytes, &actor)?;
        let circle = Circle {
            id: id.to_string(),
            actor,
            core,
            shards: BTreeMap::new(),
            esc: None,
            rows: Mutex::default(),
            checked: Checked::default(),
            signer: None,
            clock: None,
        };
        let info = circle.info()?;
        if info.id != id {
            return Err(CoreError::Corrupt(format!(
                "document of circle `{}` stored under `{id}`",
                info.id
            )));
        }
        Ok(circle)
    }

    /// Opens a circle from a whole-circle export (core bytes), returning it with its own id.
    pub fn from_core_bytes(core_bytes: &[u8], actor: ActorId) -> Result<Circle> {
        let core = Doc::load(core_bytes, &actor)?;
        // Nothing of it is stored: what else it has is merged in by the importer.
        let esc = Some(Doc::new(&actor));
        let mut circle = Circle {
            id: String::new(),
            actor,
            core,
            shards: BTreeMap::new(),
            esc,
            rows: Mutex::default(),
            checked: Checked::default(),
            signer: None,
            clock: None,
        };
        circle.id = circle.info()?.id;
        // An imported document is new to this store: nothing of it is saved yet.
        circle.core.saved.clear();
        Ok(circle)
    }

    /// A circle this device holds nothing of yet (joining): an empty core document that a
    /// peer's sync fills. [`Circle::info`] fails until it has.
    pub fn empty(id: &str, actor: ActorId) -> Circle {
        Circle {
            id: id.to_string(),
            core: Doc::new(&actor),
            esc: Some(Doc::new(&actor)),
            actor,
            shards: BTreeMap::new(),
            rows: Mutex::default(),
            checked: Checked::default(),
            signer: None,
            clock: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Signs every later local change with this device key (whose public key must be the
    /// circle's actor id, or peers will refuse the changes).
    pub fn set_signer(&mut self, key: SigningKey) {
        self.signer = Some(key);
    }

    /// Writes every later local change as the device of `key`: under its actor, signed
    /// with it. One copy of a circle then serves several devices in turn (the demo's
    /// members' devices, `Laptops` in `crates/grove-demo/src/lib.rs`) where a copy per
    /// device would hold the whole core once for each.
    pub fn act_as_device(&mut self, key: SigningKey) {
        let actor = signing::device_actor(&key);
        self.core.am.set_actor(actor.clone());
        for doc in self.shards.values_mut().chain(self.esc.as_mut()) {
            doc.am.set_actor(actor.clone());
        }
        self.actor = actor;
        self.signer = Some(key);
    }

    /// The device (hex) this circle signs with, if it signs.
    pub(crate) fn signer_device(&self) -> Option<String> {
        self.signer.as_ref().map(signing::device_hex)
    }

    /// Gives the circle the device's clock, so merges can bound the times changes claim.
    pub fn set_clock(&mut self, now: Clock) {
        self.clock = Some(now);
    }

    /// The signature held for change `hash` of document `doc`.
    pub fn signature(&self, doc: &str, hash: &ChangeHash) -> Option<ChangeSignature> {
        self.doc_entry(doc)?.sigs.get(hash).copied()
    }

    /// Whether change `hash` of `doc` can be vouched for only by a later change of its
    /// author: no signature of its own is held (see "At rest" in [`crate::sync::signing`]).
    pub fn needs_cover(&self, doc: &str, hash: &ChangeHash) -> bool {
        self.doc_entry(doc).is_some_and(|d| {
            !d.sigs.contains_key(hash) && d.am.get_change_meta_by_hash(hash).is_some()
        })
    }

    /// Forgets the signatures of `doc`'s changes that a later change of the same author in
    /// `doc` covers, and returns the ones kept, sorted, when it forgot any (see "At rest"
    /// in [`crate::sync::signing`]). The core and the escalations keep all of their own:
    /// the circle's rules refuse some changes of members there, and a change whose only
    /// cover is refused must still be able to travel on its own signature.
    pub fn keep_uncovered_signatures(
        &mut self,
        doc: &str,
    ) -> Option<Vec<(ChangeHash, ChangeSignature)>> {
        if is_replayed(doc) {
            return None;
        }
        let d = self.doc_entry_mut(doc)?;
        let metas = d.am.get_changes_meta(&[]);
        let links: Vec<Link<'_>> = metas
            .iter()
            .map(|m| Link {
                hash: m.hash,
                actor: m.actor.as_ref(),
                deps: &m.deps,
            })
            .collect();
        let covered: std::collections::HashSet<ChangeHash> = links
            .iter()
            .zip(cover::covered(&links))
            .filter(|(_, covered)| *covered)
            .map(|(link, _)| link.hash)
            .collect();
        let held = d.sigs.len();
        d.sigs.retain(|hash, _| !covered.contains(hash));
        if d.sigs.len() == held {
            return None;
        }
        let sigs = &d.sigs;
        d.unsaved_sigs.retain(|hash| sigs.contains_key(hash));
        let mut kept: Vec<(ChangeHash, ChangeSignature)> =
            d.sigs.iter().map(|(hash, sig)| (*hash, *sig)).collect();
        kept.sort();
        Some(kept)
    }

    /// [`Circle::keep_uncovered_signatures`] for each month with more than `over`
    /// signatures not saved yet (a month taken whole from a peer, many changes made since
    /// the last save), so those its changes cover are never written at all.
    pub fn let_go_of_covered_unsaved_signatures(&mut self, over: usize) {
        let many: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, d)| d.unsaved_sigs.len() > over)
            .map(|(period, _)| shard_doc(period))
            .collect();
        for doc in many {
            self.keep_uncovered_signatures(&doc);
        }
    }

    /// The signatures to send beside `changes` of `doc` (one message's): see the sender's
    /// rule in [`crate::sync::signing`]. A covered change's goes as held; an uncovered
    /// change's only once it is known good, checked now if need be (rarely: the newest
    /// change of each author in the message, usually checked when it arrived). One that
    /// fails came covered from a hostile device; it is not sent, and the receiver waits
    /// for the change's cover or a good signature instead of blaming us.
    pub fn signatures_to_send(
        &self,
        doc: &str,
        changes: &[Link<'_>],
    ) -> Vec<(ChangeHash, ChangeSignature)> {
        let mut verifier = signing::Verifier::default();
        changes
            .iter()
            .zip(cover::covered(changes))
            .filter_map(|(link, covered)| {
                let sig = self.signature(doc, &link.hash)?;
                if covered {
                    return Some((link.hash, sig));
                }
                match verifier.verify_known(&self.checked, link.actor, &link.hash, Some(&sig)) {
                    Ok(_) => Some((link.hash, sig)),
                    Err(e) => {
                        tracing::warn!(doc, error = %e, "not sending a held signature that does not verify");
                        None
                    }
                }
            })
            .collect()
    }

    /// Every signature held for `doc` that verifies, for an archive (whose reader checks
    /// every signature present): those held unchecked are checked now, once.
    pub fn checked_signatures(&self, doc: &str) -> Vec<(ChangeHash, ChangeSignature)> {
        let Some(d) = self.doc_entry(doc) else {
            return Vec::new();
        };
        let mut verifier = signing::Verifier::default();
        d.am.get_changes_meta(&[])
            .into_iter()
            .filter_map(|m| {
                let sig = *d.sigs.get(&m.hash)?;
                match verifier.verify_known(&self.checked, &m.actor, &m.hash, Some(&sig)) {
                    Ok(_) => Some((m.hash, sig)),
                    Err(e) => {
                        tracing::warn!(doc, error = %e, "not exporting a held signature that does not verify");
                        None
                    }
                }
            })
            .collect()
    }

    /// Keeps the signatures a check verified ([`Circle::authorize_merge`]), for documents
    /// held now; a signature already held is never replaced.
    pub fn keep_signatures(&mut self, verified: &mut Authorized) {
        for doc in verified.docs_with_sigs() {
            let sigs = verified.take_sigs(&doc);
            if let Some(d) = self.doc_entry_mut(&doc) {
                for (hash, sig) in sigs {
                    d.add_sig(hash, sig);
                }
            }
        }
    }

    /// Applies the changes of a checked `batch` that `verdict` did not refuse, then keeps
    /// the signatures it verified. Documents the circle lacks are created (valid keys only).
    pub fn apply_checked(
        &mut self,
        batch: Vec<(String, Vec<SignedChange>)>,
        mut verdict: Authorized,
    ) -> Result<()> {
        let refused = verdict.unapplied_hashes();
        // Every document must be one a circle can hold before anything is applied: a
        // change applied without its signature (the batch failing half-way) could never be
        // shared again.
        if let Some((doc, _)) = batch.iter().find(|(doc, _)| !is_doc_key(doc)) {
            return Err(CoreError::Corrupt(format!(
                "`{doc}` is not a Grove document"
            )));
        }
        for (doc, changes) in batch {
            let keep: Vec<automerge::Change> = changes
                .into_iter()
                .filter(|sc| !refused.contains(&sc.change.hash()))
                .map(|sc| sc.change)
                .collect();
            if keep.is_empty() {
                continue;
            }
            let target = self
                .doc_mut(&doc)
                .ok_or_else(|| CoreError::Corrupt(format!("`{doc}` is not a Grove document")))?;
            target.apply_changes(keep)?;
            // Kept with each document, so an error in a later one leaves none unsigned.
            let sigs = verdict.take_sigs(&doc);
            if let Some(d) = self.doc_entry_mut(&doc) {
                for (hash, sig) in sigs {
                    d.add_sig(hash, sig);
                }
            }
        }
        self.keep_signatures(&mut verdict);
        Ok(())
    }

    /// Records signatures already held by the store (so they are not saved again).
    pub fn load_signatures(
        &mut self,
        doc: &str,
        sigs: impl IntoIterator<Item = (ChangeHash, ChangeSignature)>,
    ) {
        if let Some(d) = self.doc_entry_mut(doc) {
            d.sigs.extend(sigs);
        }
    }

    /// The changes of `doc` after `since` (all for an empty `since`), each with the
    /// signature held for it.
    pub fn signed_changes(&self, doc: &str, since: &[ChangeHash]) -> Vec<SignedChange> {
        let Some(d) = self.doc_entry(doc) else {
            return Vec::new();
        };
        d.am.get_changes(since)
            .into_iter()
            .map(|change| {
                let signature = d.sigs.get(&change.hash()).copied();
                SignedChange { change, signature }
            })
            .collect()
    }

    fn doc_entry(&self, doc: &str) -> Option<&Doc> {
        match doc {
            CORE_DOC => Some(&self.core),
            ESCALATIONS_DOC => self.esc.as_ref(),
            _ => shard_period(doc).and_then(|p| self.shards.get(p)),
        }
    }

    fn doc_entry_mut(&mut self, doc: &str) -> Option<&mut Doc> {
        match doc {
            CORE_DOC => Some(&mut self.core),
            ESCALATIONS_DOC => self.esc.as_mut(),
            _ => shard_period(doc).and_then(|p| self.shards.get_mut(p)),
        }
    }

    pub fn info(&self) -> Result<CircleInfo> {
        let meta = fields::child_map(&self.core.am, &ROOT, "meta")?;
        let f = Fields::read(&self.core.am, &meta);
        let schema = f.int("schema").unwrap_or(0);
        if schema > SCHEMA {
            return Err(CoreError::Corrupt(format!(
                "schema {schema} is newer than this Grove understands ({SCHEMA}); update Grove"
            )));
        }
        Ok(CircleInfo {
            id: f.str("id"),
            name: f.str("name"),
            created_at: f.time("created_at"),
            created_by: f.str("created_by"),
        })
    }

    /// Attaches a stored decision shard (document key `decisions/YYYY-MM`) or the
    /// escalations' document.
    pub fn attach(&mut self, doc: &str, bytes: &[u8]) -> Result<()> {
        let loaded = LoadedDoc::load(bytes)?;
        self.attach_loaded(doc, loaded)
    }

    /// Attaches a shard loaded with [`LoadedDoc::load`], possibly on another thread: loading
    /// is the expensive part of opening a large circle and parallelises across shards.
    pub fn attach_loaded(&mut self, doc: &str, loaded: LoadedDoc) -> Result<()> {
        if doc == ESCALATIONS_DOC {
            let am = loaded.am.with_actor(self.actor.clone());
            let saved = am.get_heads();
            self.esc = Some(Doc::with(am, saved));
            return Ok(());
        }
        let period = shard_period(doc)
            .filter(|p| valid_period(p))
            .ok_or_else(|| CoreError::Corrupt(format!("`{doc}` is not a decision shard")))?;
        let am = loaded.am.with_actor(self.actor.clone());
        let saved = am.get_heads();
        if let Some(rows) = loaded.rows {
            self.rows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(period.to_string(), rows);
        }
        self.shards.insert(period.to_string(), Doc::with(am, saved));
        Ok(())
    }

    /// Whether the document of this key is in memory.
    pub fn has_doc(&self, doc: &str) -> bool {
        self.doc_entry(doc).is_some()
    }

    /// Gives a circle whose store holds no escalations' document an empty one, to write
    /// its first escalation in (a circle from before the document, or a new member's that
    /// no peer has sent one yet).
    pub fn attach_empty_escalations(&mut self) {
        if self.esc.is_none() {
            self.esc = Some(Doc::new(&self.actor));
        }
    }

    /// Whether everything of `doc` in memory is in the store too (its changes and their
    /// signatures); true for a document not in memory.
    pub fn is_saved(&self, doc: &str) -> bool {
        self.doc_entry(doc)
            .is_none_or(|d| d.unsaved_sigs.is_empty() && d.am.get_heads() == d.saved)
    }

    /// Lets a month's document and its decoded rows go, so a large log does not stay in
    /// memory because a view once paged through it. Refused (false) while the month holds
    /// anything unsaved: dropping it would lose it. The core document always stays.
    pub fn unload_shard(&mut self, doc: &str) -> bool {
        let Some(period) = shard_period(doc) else {
            return false;
        };
        if !self.shards.contains_key(period) || !self.is_saved(doc) {
            return false;
        }
        self.shards.remove(period);
        self.rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(period);
        true
    }

    /// Keys of every document in memory.
    pub fn doc_keys(&self) -> Vec<String> {
        let mut keys = vec![CORE_DOC.to_string()];
        // An escalations' document with nothing in it yet is nothing to sync or export.
        if self
            .esc
            .as_ref()
            .is_some_and(|d| !d.am.get_heads().is_empty())
        {
            keys.push(ESCALATIONS_DOC.to_string());
        }
        keys.extend(self.shards.keys().map(|p| shard_doc(p)));
        keys
    }

    /// The Automerge document behind a key, for sync and export.
    pub fn doc(&self, doc: &str) -> Option<&Automerge> {
        self.doc_entry(doc).map(|d| &d.am)
    }

    /// Mutable access for the sync engine; creates an empty shard when a peer has a month
    /// this device has not seen (and the escalations' document likewise).
    pub fn doc_mut(&mut self, doc: &str) -> Option<&mut Automerge> {
        if doc == CORE_DOC {
            return Some(&mut self.core.am);
        }
        if doc == ESCALATIONS_DOC {
            self.attach_empty_escalations();
            return self.esc.as_mut().map(|d| &mut d.am);
        }
        let period = shard_period(doc)?;
        if !valid_period(period) {
            return None;
        }
        let actor = self.actor.clone();
        Some(
            &mut self
                .shards
                .entry(period.to_string())
                .or_insert_with(|| Doc::new(&actor))
                .am,
        )
    }

    /// Changes not yet persisted, per document.
    pub fn unsaved(&self) -> Vec<Unsaved> {
        let mut out = Vec::new();
        let docs = std::iter::once((CORE_DOC.to_string(), &self.core))
            .chain(self.esc.iter().map(|d| (ESCALATIONS_DOC.to_string(), d)))
            .chain(self.shards.iter().map(|(p, d)| (shard_doc(p), d)));
        for (key, doc) in docs {
            let heads = doc.am.get_heads();
            let signatures: Vec<(ChangeHash, ChangeSignature)> = doc
                .unsaved_sigs
                .iter()
                .filter_map(|h| doc.sigs.get(h).map(|s| (*h, *s)))
                .collect();
            if heads == doc.saved && !signatures.is_empty() {
                out.push(Unsaved {
                    doc: key,
                    bytes: Vec::new(),
                    heads,
                    signatures,
                });
            } else if heads != doc.saved {
                // A document with nothing saved yet (a month fetched from a peer) is saved
                // whole: Automerge's compressed format is ~10x smaller and ~3x faster to
                // write than the same changes one by one, and the store loads both alike.
                let bytes = if doc.saved.is_empty() {
                    match &doc.loaded {
                        Some((at, bytes)) if *at == heads => bytes.clone(),
                        _ => doc.am.save(),
                    }
                } else {
                    doc.am.save_after(&doc.saved)
                };
                out.push(Unsaved {
                    doc: key,
                    bytes,
                    heads,
                    signatures,
                });
            }
        }
        out
    }

    /// `doc`, empty until now, was replaced by the document `bytes` hold (a peer's full
    /// sync, loaded from exactly these bytes): until it is saved, saving it writes them as
    /// they are instead of encoding the document again (~as long as loading it).
    pub fn adopt_loaded(&mut self, doc: &str, bytes: Vec<u8>) {
        if let Some(d) = self.doc_entry_mut(doc) {
            if d.saved.is_empty() {
                d.loaded = Some((d.am.get_heads(), bytes));
            }
        }
    }

    /// Records that `heads` of `doc` are durable.
    /// Signatures count as saved with the document.
    pub fn mark_saved(&mut self, doc: &str, heads: Vec<ChangeHash>) {
        if let Some(d) = self.doc_entry_mut(doc) {
            if heads.is_empty() {
                // Nothing of this document is in the store: its signatures are not either.
                d.unsaved_sigs = d.sigs.keys().copied().collect();
            } else {
                d.unsaved_sigs.clear();
            }
            d.saved = heads;
            d.loaded = None;
        }
    }

    /// A full snapshot of one document (for compaction and export).
    pub fn snapshot(&self, doc: &str) -> Option<Vec<u8>> {
        self.doc(doc).map(Automerge::save)
    }

    /// Merges another replica's document (import of an exported file).
    pub fn merge_doc(&mut self, doc: &str, bytes: &[u8]) -> Result<()> {
        let mut other = Automerge::load(bytes)
            .map_err(|e| CoreError::Corrupt(format!("cannot load `{doc}`: {e}")))?;
        let target = self
            .doc_mut(doc)
            .ok_or_else(|| CoreError::Corrupt(format!("`{doc}` is not a Grove document")))?;
        target.merge(&mut other)?;
        Ok(())
    }

    /// Takes a document out of the circle for a rebuild ([`Circle::purge_refused`]);
    /// [`Circle::put_rebuilt`] puts its successor back.
    pub(crate) fn take_doc(&mut self, key: &str) -> Option<Doc> {
        if key == CORE_DOC {
            let empty = Doc::new(&self.actor);
            return Some(std::mem::replace(&mut self.core, empty));
        }
        if key == ESCALATIONS_DOC {
            return self.esc.take();
        }
        shard_period(key).and_then(|p| self.shards.remove(p))
    }

    /// Puts a rebuilt document in place of `old`: the signatures of the changes it kept
    /// come along, `rewrite` (this device's new change, if any) is signed, and nothing of
    /// it counts as saved, so the caller writes it whole in place of the old one.
    pub(crate) fn put_rebuilt(
        &mut self,
        key: &str,
        am: Automerge,
        old: Doc,
        dropped: &std::collections::HashSet<ChangeHash>,
        rewrite: Option<ChangeHash>,
    ) {
        let mut doc = Doc::with(am, Vec::new());
        doc.sigs = old
            .sigs
            .into_iter()
            .filter(|(hash, _)| !dropped.contains(hash))
            .collect();
        doc.unsaved_sigs = doc.sigs.keys().copied().collect();
        if let (Some(key), Some(hash)) = (&self.signer, rewrite) {
            doc.add_sig(hash, signing::sign_change(key, &hash));
        }
        match shard_period(key) {
            Some(period) => {
                self.shards.insert(period.to_string(), doc);
            }
            None if key == ESCALATIONS_DOC => self.esc = Some(doc),
            None => self.core = doc,
        }
    }

    // ---- plumbing shared by the entity modules ----

    pub(crate) fn coll(&self, name: &str) -> Result<ObjId> {
        fields::child_map(&self.core.am, &ROOT, name)
    }

    /// Runs `f` in one transaction on the core document; on error nothing is written.
    pub(crate) fn change_core<O>(
        &mut self,
        now: Timestamp,
        what: &str,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<O>,
    ) -> Result<O> {
        transact_signed(
            &mut self.core,
            self.signer.as_ref(),
            &mut self.checked,
            now,
            what,
            f,
        )
    }

    /// Runs `f` in one transaction on the shard of `period`, creating the shard if needed.
    pub(crate) fn change_shard<O>(
        &mut self,
        period: &str,
        now: Timestamp,
        what: &str,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<O>,
    ) -> Result<O> {
        let actor = self.actor.clone();
        let doc = self
            .shards
            .entry(period.to_string())
            .or_insert_with(|| Doc::new(&actor));
        transact_signed(doc, self.signer.as_ref(), &mut self.checked, now, what, f)
    }

    /// Runs `f` in one transaction on the escalations' document, which must be loaded.
    pub(crate) fn change_escalations<O>(
        &mut self,
        now: Timestamp,
        what: &str,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<O>,
    ) -> Result<O> {
        let doc = self.esc.as_mut().ok_or(CoreError::EscalationsNotLoaded)?;
        transact_signed(doc, self.signer.as_ref(), &mut self.checked, now, what, f)
    }

    /// The escalations' document, or an error when it is not loaded.
    pub(crate) fn escalations_doc(&self) -> Result<&Automerge> {
        self.esc
            .as_ref()
            .map(|d| &d.am)
            .ok_or(CoreError::EscalationsNotLoaded)
    }

    pub(crate) fn shard(&self, period: &str) -> Option<&Automerge> {
        self.shards.get(period).map(|d| &d.am)
    }

    pub(crate) fn shards(&self) -> impl DoubleEndedIterator<Item = (&String, &Automerge)> {
        self.shards.iter().map(|(p, d)| (p, &d.am))
    }
}

/// Runs `f` in one transaction on `doc` (nothing written on error), signing the change with
/// `signer`: made here, so known good, and sending it never checks it.
fn transact_signed<O>(
    doc: &mut Doc,
    signer: Option<&SigningKey>,
    checked: &mut Checked,
    now: Timestamp,
    what: &str,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<O>,
) -> Result<O> {
    let done = doc
        .am
        .transact_with(|_| commit(now, what), f)
        .map_err(|f| f.error)?;
    if let (Some(key), Some(hash)) = (signer, done.hash) {
        let sig = signing::sign_change(key, &hash);
        checked.insert(hash, sig);
        doc.add_sig(hash, sig);
    }
    Ok(done.result)
}

pub(crate) fn commit(now: Timestamp, what: &str) -> CommitOptions {
    CommitOptions::default()
        .with_message(what.to_string())
        .with_time(now.0 / 1000)
}

/// Whether `doc` names a document a circle holds: the core, the escalations or a month's
/// shard.
fn is_doc_key(doc: &str) -> bool {
    is_replayed(doc) || shard_period(doc).is_some_and(valid_period)
}

/// Whether the changes of `doc` are judged by the circle's rules one by one, each on its
/// own causal past (see [`crate::authorize`]): the core and the escalations. A month's
/// changes are checked for their author only, so its whole document can be taken as sent.
pub fn is_replayed(doc: &str) -> bool {
    doc == CORE_DOC || doc == ESCALATIONS_DOC
}

fn valid_period(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_ids_route_to_their_month() {
        assert_eq!(
            decision_doc("d-202611-0123456789").unwrap(),
            "decisions/2026-11"
        );
        assert!(decision_doc("v-0123456789").is_err());
        assert!(decision_doc("d-20x611-0123").is_err());
        assert!(decision_doc("d-").is_err());
    }

    #[test]
    fn only_well_formed_shard_keys_are_created() {
        let mut rng = rand::rngs::mock::StepRng::new(1, 7);
        let mut ctx = Ctx::new(Timestamp(0), "m-1", &mut rng);
        let mut c = Circle::create(&mut ctx, ActorId::random(), "Cell", "Ana", "dev").unwrap();
        assert!(c.doc_mut("decisions/2026-11").is_some());
        assert!(c.doc_mut("decisions/../etc").is_none());
        assert!(c.doc_mut("other").is_none());
    }
}
