//! What the node's event loop owns: the store, this device's identity and the open circles.
//! Every job the handle sends runs here, one at a time, so no lock guards a document.

use std::collections::HashMap;
use std::sync::Arc;

use automerge::ActorId;
use ed25519_dalek::SigningKey;
use grove_core::{
    circle_doc_for_month, decision_doc, shard_doc, shard_period, Circle, Ctx, DecisionFilter,
    LoadedDoc, Timestamp, CORE_DOC, ESCALATIONS_DOC,
};
use grove_store::Store;
use rand::rngs::StdRng;
use tokio::sync::broadcast;
use tracing::{debug, warn};

use crate::dto::NodeEvent;
use crate::error::{NodeError, Result};
use crate::identity::Identity;
use crate::insight_cache::Caches;
use crate::member_peers::MemberPeers;
use crate::pending_joins::Joins;
use crate::wires::Network;

mod access;
mod admission;
mod docs;
pub(crate) mod import;
mod months;
mod network;
mod peer_sets;
mod purge;

/// Incremental chunks a document may gather before it is rewritten as one snapshot: loading
/// many small chunks is far slower than loading one snapshot.
const COMPACT_AFTER_CHUNKS: u64 = 256;

/// Signatures of a month, loaded or about to be written, past which those its changes
/// cover are let go of first (see `crate::signatures`): more than compaction leaves
/// between two of its runs, so only a month taken whole (from a peer, or from a store
/// written before the rule) pays for it, once.
const PRUNE_OVER: usize = 4 * COMPACT_AFTER_CHUNKS as usize;

pub(crate) type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Which documents of a circle a job needs in memory.
pub(crate) enum Need {
    Core,
    /// The shards holding these decisions.
    Decisions(Vec<String>),
    /// The shard of the current month (where a new decision goes), and the escalations when
    /// the decision raises one (a centre zone).
    Logging(Box<grove_core::NewDecision>),
    /// The core and the escalations' document.
    Escalations,
    /// Every shard: the whole log's documents (exports, sync, membership changes).
    All,
    /// Every shard, each month's decisions read on the thread that loads it: views over
    /// the whole log's decisions (lists, insight), which would read them next.
    Log,
}

pub(crate) struct NodeState {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) identity: Identity,
    pub(crate) circles: HashMap<String, Circle>,
    rng: StdRng,
    clock: Clock,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    /// Present when the node syncs with peers.
    pub(crate) net: Option<Network>,
    /// Set by `NodeHandle::stop`: the loop ends after the current job and fires it once
    /// everything it owns is closed.
    pub(crate) stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Derived views (search index, tension inputs) per circle; rebuilt from the log.
    pub(crate) insight: Caches,
    /// Joins in flight, and join attempts by others.
    pub(crate) joins: Joins,
    /// Per circle, the removed members whose later changes were last purged (see
    /// `state/purge.rs`): a purge runs when a core change names one more.
    pub(crate) removals_purged: HashMap<String, std::collections::BTreeSet<String>>,
    /// Present on a networked node: who counts as a member peer (see
    /// `member_peers.rs`).
    pub(crate) member_peers: Option<MemberPeers>,
    /// Which months are in memory, and how many may stay (see `months.rs`).
    pub(crate) months: crate::months::Months,
}

impl NodeState {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        identity: Identity,
        rng: StdRng,
        clock: Clock,
        events: broadcast::Sender<NodeEvent>,
    ) -> Self {
        NodeState {
            store,
            identity,
            circles: HashMap::new(),
            rng,
            clock,
            events,
            net: None,
            stop: None,
            insight: Default::default(),
            joins: Default::default(),
            removals_purged: HashMap::new(),
            member_peers: None,
            months: crate::months::Months::with_budget(Some(crate::months::LOADED_DECISIONS)),
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The id of the circle `sel` names (an id or a unique name), or the only circle.
    pub(crate) fn resolve(&mut self, sel: Option<&str>) -> Result<String> {
        let ids = self.store.circles()?;
        match sel.map(str::trim) {
            Some(s) if ids.iter().any(|id| id == s) => Ok(s.to_string()),
            Some(s) => {
                let lower = s.to_lowercase();
                let mut found = Vec::new();
                for id in &ids {
                    self.open(id)?;
                    let name = self.loaded(id)?.info()?.name;
                    if name.to_lowercase() == lower {
                        found.push(id.clone());
                    }
                }
                match found.len() {
                    1 => Ok(found.remove(0)),
                    0 => Err(NodeError::UnknownCircle(s.to_string())),
                    _ => Err(NodeError::AmbiguousCircle(found)),
                }
            }
            None => match ids.len() {
                0 => Err(NodeError::NoCircle),
                1 => Ok(ids[0].clone()),
                _ => Err(NodeError::AmbiguousCircle(ids)),
            },
        }
    }

    pub(crate) fn circle_ids(&self) -> Result<Vec<String>> {
        Ok(self.store.circles()?)
    }

    /// Opens the circle's core document if it is not in memory yet.
    pub(crate) fn open(&mut self, id: &str) -> Result<()> {
        if self.circles.contains_key(id) {
            return Ok(());
        }
        let circle = open_core(
            self.store.as_ref(),
            id,
            self.identity.actor(),
            self.identity.key(),
            &self.clock,
        )?;
        self.circles.insert(id.to_string(), circle);
        Ok(())
    }

    /// The months of circle `id` that hold decisions, newest first, from the store's list
    /// of documents (nothing is loaded).
    pub(crate) fn months_newest_first(&self, id: &str) -> Result<Vec<String>> {
        list_months(self.store.as_ref(), id)
    }

    pub(crate) fn loaded(&self, id: &str) -> Result<&Circle> {
        self.circles
            .get(id)
            .ok_or_else(|| NodeError::UnknownCircle(id.to_string()))
    }

    /// Resolves, opens and loads what `need` asks for; returns the circle id.
    pub(crate) fn prepare(&mut self, sel: Option<&str>, need: &Need) -> Result<String> {
        let id = self.resolve(sel)?;
        self.open(&id)?;
        let wanted: Vec<String> = match need {
            Need::Core => Vec::new(),
            Need::Decisions(ids) => ids.iter().filter_map(|d| decision_doc(d).ok()).collect(),
            Need::Logging(new) => {
                if self.loaded(&id)?.escalates(new) {
                    self.ensure_escalations(&id)?;
                }
                vec![circle_doc_for_month(self.now())]
            }
            Need::Escalations => Vec::new(),
            Need::All | Need::Log => {
                self.months.keep_whole(&id);
                self.store.docs(&id)?
            }
        };
        // The whole log's lists do without them; syncing, exporting and the views of
        // escalations do not.
        if matches!(need, Need::Escalations | Need::All) {
            self.ensure_escalations(&id)?;
        }
        self.ensure_docs(&id, wanted, matches!(need, Need::Log))?;
        Ok(id)
    }

    /// Loads the escalations' document of open circle `id` if it is not in memory yet, or
    /// gives the circle an empty one when the store has none (see `grove_core::escalations`:
    /// the first screen does without it).
    pub(crate) fn ensure_escalations(&mut self, id: &str) -> Result<()> {
        if self.loaded(id)?.has_doc(ESCALATIONS_DOC) {
            return Ok(());
        }
        let started = std::time::Instant::now();
        match load_doc(self.store.as_ref(), id, ESCALATIONS_DOC)? {
            Some(doc) => self.attach_stored(id, ESCALATIONS_DOC, doc)?,
            None => self
                .circles
                .get_mut(id)
                .ok_or_else(|| NodeError::UnknownCircle(id.to_string()))?
                .attach_empty_escalations(),
        }
        debug!(
            circle = id,
            ms = started.elapsed().as_millis(),
            "escalations loaded"
        );
        Ok(())
    }

    /// Loads the listed documents of an open circle that are not in memory yet, and reads
    /// the decisions of the months it loads if `read_rows`.
    pub(crate) fn ensure_docs(
        &mut self,
        id: &str,
        wanted: Vec<String>,
        read_rows: bool,
    ) -> Result<()> {
        for key in wanted.iter().filter(|k| shard_period(k).is_some()) {
            self.months.touch(id, key);
        }
        let circle = self.loaded(id)?;
        let missing: Vec<String> = wanted
            .into_iter()
            .filter(|k| shard_period(k).is_some() && !circle.has_doc(k))
            .collect();
        if !missing.is_empty() {
            self.load_shards(id, missing, read_rows)?;
        }
        Ok(())
    }

    /// Loads shards on every core: Automerge's load is the cost of opening a large circle,
    /// and months are independent documents. Reading a month's decisions costs about as
    /// much again; done by the thread that loaded it, the two halves of the whole log cold
    /// share the cores as one piece of work (BENCHMARKS.md, "The whole log, read as it
    /// loads").
    fn load_shards(&mut self, id: &str, keys: Vec<String>, read_rows: bool) -> Result<()> {
        let started = std::time::Instant::now();
        let months = keys.len();
        let store = self.store.as_ref();
        let loaded = grove_core::parallel::map_each(&keys, |key| {
            let mut doc = load_doc(store, id, key)?;
            if let Some(doc) = doc.as_mut().filter(|_| read_rows) {
                doc.read_rows(key)?;
            }
            Ok::<_, NodeError>(doc)
        });
        for (doc, key) in loaded.into_iter().zip(&keys) {
            if let Some(doc) = doc.ok_or(NodeError::LoadFailed)?? {
                self.attach_stored(id, key, doc)?;
            }
        }
        debug!(
            circle = id,
            months,
            ms = started.elapsed().as_millis(),
            "months loaded"
        );
        Ok(())
    }

    /// Makes a month (or the escalations' document) loaded from the store part of open
    /// circle `id`, with its signatures.
    fn attach_stored(&mut self, id: &str, key: &str, doc: LoadedDoc) -> Result<()> {
        let store = &self.store;
        let circle = self
            .circles
            .get_mut(id)
            .ok_or_else(|| NodeError::UnknownCircle(id.to_string()))?;
        circle.attach_loaded(key, doc)?;
        let sigs = match circle.doc(key) {
            Some(am) => crate::signatures::load_checked(store.as_ref(), id, key, am)?,
            None => Vec::new(),
        };
        let many = sigs.len() > PRUNE_OVER;
        circle.load_signatures(key, sigs);
        if many {
            keep_uncovered_signatures(store.as_ref(), circle, id, key);
        }
        Ok(())
    }

    /// For a view of the log's newest `want` decisions: resolves and opens the circle, and
    /// returns its months newest first (those `filter` may match). A circle not open yet has
    /// its core loaded on one thread while another lists the months, loads the newest that
    /// may match until they hold `want` decisions, and reads their rows: the first screen
    /// of a large circle waits for the slower of the two, not for both (BENCHMARKS.md,
    /// "The first screen beside the core").
    pub(crate) fn open_for_page(
        &mut self,
        sel: Option<&str>,
        filter: &DecisionFilter,
        want: usize,
    ) -> Result<(String, Vec<String>)> {
        let id = self.resolve(sel)?;
        if self.circles.contains_key(&id) {
            let mut months = self.months_newest_first(&id)?;
            months.retain(|m| filter.may_match_month(m));
            return Ok((id, months));
        }
        let store = self.store.clone();
        let (actor, key, clock) = (self.identity.actor(), self.identity.key(), &self.clock);
        let (core, early) = crate::heaps::side_by_side(
            || open_core(store.as_ref(), &id, actor, key, clock),
            || newest_months(store.as_ref(), &id, filter, want),
        );
        let core = core.unwrap_or(Err(NodeError::LoadFailed));
        let early = early.unwrap_or(Err(NodeError::LoadFailed));
        // What the two loads let go sits in both heaps: given back, the process holds
        // ~200 MB at the first screen of a million decisions instead of ~300.
        crate::heaps::give_back();
        self.circles.insert(id.clone(), core?);
        let Newest { months, early } = early?;
        for (key, doc) in early {
            self.months.touch(&id, &key);
            self.attach_stored(&id, &key, doc)?;
        }
        Ok((id, months))
    }

    /// Runs a change on a circle, then persists what it wrote.
    pub(crate) fn mutate<R>(
        &mut self,
        sel: Option<&str>,
        need: Need,
        f: impl FnOnce(&mut Circle, &mut Ctx<'_>) -> grove_core::Result<R>,
    ) -> Result<R> {
        let id = self.prepare(sel, &need)?;
        let now = self.now();
        let member = self.identity.member();
        let circle = self
            .circles
            .get_mut(&id)
            .ok_or_else(|| NodeError::UnknownCircle(id.clone()))?;
        let mut ctx = Ctx::new(now, member, &mut self.rng);
        let result = f(circle, &mut ctx);
        // Persist even after an error: a multi-step change may have committed its first steps.
        self.persist(&id)?;
        Ok(result?)
    }

    /// Writes what this device notes by itself on hearing news of circle `id`: this
    /// member's receipt on the proposals it sees for the first time (their consent window
    /// starts now, see `grove_core::consent`), and a new circle key when a member left on
    /// their own since the current one was made (the leaver could not make it).
    pub(crate) fn write_receipts(&mut self, id: &str) {
        let now = self.now();
        let member = self.identity.member();
        let Some(circle) = self.circles.get_mut(id) else {
            return;
        };
        let mut ctx = Ctx::new(now, member, &mut self.rng);
        let mut wrote = false;
        match circle.receive_proposals(&mut ctx) {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(circle = id, proposals = n, "received proposals");
                wrote = true;
            }
            Err(e) => tracing::warn!(circle = id, error = %e, "cannot write proposal receipts"),
        }
        match circle.rotate_key_after_departure(&mut ctx) {
            Ok(false) => {}
            Ok(true) => {
                tracing::info!(circle = id, "a member left: rotated the circle key");
                wrote = true;
            }
            Err(e) => {
                tracing::warn!(circle = id, error = %e, "cannot rotate the circle key after a departure")
            }
        }
        if wrote {
            if let Err(e) = self.persist(id) {
                tracing::warn!(circle = id, error = %e, "cannot save receipts or a new key; they are saved with the next change");
            }
        }
    }

    /// Runs a read-only query on a circle.
    pub(crate) fn query<R>(
        &mut self,
        sel: Option<&str>,
        need: Need,
        f: impl FnOnce(&Circle, &Identity) -> grove_core::Result<R>,
    ) -> Result<R> {
        let id = self.prepare(sel, &need)?;
        let circle = self.loaded(&id)?;
        Ok(f(circle, &self.identity)?)
    }

    pub(crate) fn ctx_parts(&mut self) -> (Timestamp, String, &mut StdRng) {
        let now = self.now();
        (now, self.identity.member(), &mut self.rng)
    }

    /// Adds a circle that exists only in memory (created or imported) and persists it.
    pub(crate) fn adopt(&mut self, mut circle: Circle) -> Result<String> {
        circle.set_signer(self.identity.key().clone());
        circle.set_clock(self.clock.clone());
        let id = circle.id().to_string();
        self.circles.insert(id.clone(), circle);
        self.persist(&id)?;
        self.circles_changed();
        Ok(id)
    }

    pub(crate) fn circle_mut(&mut self, id: &str) -> Result<&mut Circle> {
        self.circles
            .get_mut(id)
            .ok_or_else(|| NodeError::UnknownCircle(id.to_string()))
    }

    /// Writes every unsaved local change of the circle, tells views, and offers the changed
    /// documents to connected peers.
    pub(crate) fn persist(&mut self, id: &str) -> Result<()> {
        let docs = self.write_unsaved(id)?;
        if docs.is_empty() {
            return Ok(());
        }
        // Nobody listening is fine: the CLI has no subscribers.
        let _ = self.events.send(NodeEvent::CircleChanged {
            circle: id.to_string(),
            docs: docs.clone(),
        });
        self.local_change(id, &docs);
        if docs.iter().any(|d| d == CORE_DOC) {
            self.purge_after_removal(id);
        }
        Ok(())
    }

    /// Writes changes a peer sent; the sync engine already passes them on and reports them.
    pub(crate) fn persist_received(&mut self, id: &str) -> Result<()> {
        self.write_unsaved(id).map(drop)
    }

    /// Writes every unsaved change of the circle; compacts documents whose chunks piled up.
    /// Returns the keys of the documents written.
    fn write_unsaved(&mut self, id: &str) -> Result<Vec<String>> {
        let circle = self
            .circles
            .get_mut(id)
            .ok_or_else(|| NodeError::UnknownCircle(id.to_string()))?;
        circle.let_go_of_covered_unsaved_signatures(PRUNE_OVER);
        let unsaved = circle.unsaved();
        if unsaved.is_empty() {
            return Ok(Vec::new());
        }
        let mut docs = Vec::new();
        for u in unsaved {
            // The signatures go in the same durable write as their changes, and never after
            // them: a change on disk without its signature could not be shared.
            let sigs = crate::signatures::entry(id, &u.doc, &u.signatures);
            if u.bytes.is_empty() {
                if let Some((key, value)) = &sigs {
                    self.store.put_meta(key, value)?;
                }
                circle.mark_saved(&u.doc, u.heads);
                continue;
            }
            // A month's heads go with its chunk, so a tally counted at other heads is
            // never taken for this month's (see `crate::months`).
            let heads = crate::months::heads_entry(id, &u.doc, &u.heads);
            let meta: Vec<(&str, &[u8])> = sigs
                .iter()
                .chain(heads.iter())
                .map(|(key, value)| (key.as_str(), value.as_slice()))
                .collect();
            self.store.append_with_meta(id, &u.doc, &u.bytes, &meta)?;
            circle.mark_saved(&u.doc, u.heads);
            let pending = self.store.pending(id, &u.doc)?;
            if pending.chunks >= COMPACT_AFTER_CHUNKS {
                if let Some(snapshot) = circle.snapshot(&u.doc) {
                    debug!(circle = id, doc = %u.doc, chunks = pending.chunks, "compacting");
                    match self.store.compact(id, &u.doc, &snapshot) {
                        Ok(()) => {
                            keep_uncovered_signatures(self.store.as_ref(), circle, id, &u.doc)
                        }
                        // The chunks are durable; compaction can wait for the next write.
                        Err(e) => {
                            warn!(circle = id, doc = %u.doc, error = %e, "compaction failed")
                        }
                    }
                }
            }
            docs.push(u.doc);
        }
        // Membership lives in the core: who counts as a member peer may change.
        if docs.iter().any(|d| d == CORE_DOC) {
            self.circle_members_changed(id);
        }
        Ok(docs)
    }

    /// Rewrites every document of the circle as one snapshot.
    pub(crate) fn compact_all(&mut self, id: &str) -> Result<()> {
        self.persist(id)?;
        let circle = self.loaded(id)?;
        for key in circle.doc_keys() {
            if let Some(snapshot) = circle.snapshot(&key) {
                self.store.compact(id, &key, &snapshot)?;
            }
        }
        Ok(())
    }
}

/// Lets go of the signatures of `doc` that later changes of the same authors cover, in
/// memory and in the store (see `grove_core::sync::signing`, "At rest"). A failed write
/// keeps every entry: the store then holds more than it needs, never less.
fn keep_uncovered_signatures(store: &dyn Store, circle: &mut Circle, id: &str, doc: &str) {
    let Some(kept) = circle.keep_uncovered_signatures(doc) else {
        return;
    };
    if let Err(e) = crate::signatures::replace(store, id, doc, &kept) {
        warn!(circle = id, doc, error = %e, "cannot let go of covered signatures");
    }
}

/// Loads circle `id`'s core document from the store, with its signatures, as this device
/// (`actor`, signing with `key`).
fn open_core(
    store: &dyn Store,
    id: &str,
    actor: ActorId,
    key: &SigningKey,
    clock: &Clock,
) -> Result<Circle> {
    // Each step timed: the core is what a large circle's open waits for (BENCHMARKS.md,
    // "A million decisions").
    let started = std::time::Instant::now();
    let bytes = store
        .load(id, CORE_DOC)?
        .ok_or_else(|| NodeError::UnknownCircle(id.to_string()))?;
    let read = started.elapsed();
    let mut circle = Circle::open(id, &bytes, actor)?;
    let loaded = started.elapsed();
    circle.set_signer(key.clone());
    circle.set_clock(clock.clone());
    let sigs = match circle.doc(CORE_DOC) {
        Some(am) => crate::signatures::load_checked(store, id, CORE_DOC, am)?,
        None => Vec::new(),
    };
    let signatures = sigs.len();
    circle.load_signatures(CORE_DOC, sigs);
    debug!(
        circle = id,
        bytes = bytes.len(),
        read_ms = read.as_millis(),
        load_ms = (loaded - read).as_millis(),
        signatures,
        signatures_ms = (started.elapsed() - loaded).as_millis(),
        "core opened"
    );
    Ok(circle)
}

/// A circle's months newest first, and the newest of them loaded with their rows read.
struct Newest {
    months: Vec<String>,
    early: Vec<(String, LoadedDoc)>,
}

/// Lists circle `id`'s months that `filter` may match, newest first, and loads the newest
/// of them, their rows read, until they hold `want` decisions.
fn newest_months(
    store: &dyn Store,
    id: &str,
    filter: &DecisionFilter,
    want: usize,
) -> Result<Newest> {
    let mut months = list_months(store, id)?;
    months.retain(|m| filter.may_match_month(m));
    let (mut early, mut rows) = (Vec::new(), 0);
    for month in &months {
        if rows >= want {
            break;
        }
        let key = shard_doc(month);
        let Some(mut doc) = load_doc(store, id, &key)? else {
            continue;
        };
        rows += doc.read_rows(&key)?;
        early.push((key, doc));
    }
    Ok(Newest { months, early })
}

/// Document `key` of circle `id` from the store, loaded; None if the store has none.
fn load_doc(store: &dyn Store, id: &str, key: &str) -> Result<Option<LoadedDoc>> {
    match store.load(id, key)? {
        Some(bytes) => Ok(Some(LoadedDoc::load(&bytes)?)),
        None => Ok(None),
    }
}

/// The months of circle `id` that hold decisions, newest first, from the store's list of
/// documents.
fn list_months(store: &dyn Store, id: &str) -> Result<Vec<String>> {
    let mut months: Vec<String> = store
        .docs(id)?
        .iter()
        .filter_map(|k| shard_period(k).map(str::to_string))
        .collect();
    months.sort_unstable_by(|a, b| b.cmp(a));
    Ok(months)
}
