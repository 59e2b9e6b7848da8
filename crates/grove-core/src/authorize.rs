//! Checking changes from elsewhere (a peer, an archive, a bundle) before they are merged:
//! every change must carry a valid signature by its author's device, and that device must
//! belong to a member at that point.
//!
//! "At that point" is decided by replaying the batch's core changes in causal order on a
//! scratch copy of the core document, so an admission followed by the new member's changes
//! in the same batch passes. Decision months have no causal link to the core, so their
//! changes are checked against membership after the whole batch. A removed member's
//! device is accepted only for changes timestamped before the second of its removal, or
//! held by the remover when it removed the member (see [`crate::members`]).
//! The root of trust is the author of the core document's first change: the circle's
//! founder.
//!
//! The escalations' document ([`crate::ESCALATIONS_DOC`]) is replayed too, after the core,
//! each change judged on its own causal past there. Whether its author was a steward is
//! read from the core as of the core heads the answer names as seen (`seen`), which every
//! receiver reads alike; a sync message with an answer naming core changes this device
//! does not hold yet waits until they arrive, as one from an author not admitted yet does.
//!
//! Two kinds of failure are told apart. Garbage (a bad or missing signature, an author
//! that is no device key, an unreadable batch) fails the whole batch: an honest device
//! verified every change it holds, so whoever sent it is broken or hostile. A change the
//! circle's rules forbid (a removed member writing after its removal, a removal without
//! the circle's consent) is *refused* on its own, with every change of the batch that
//! depends on it, and the rest is kept: a member who relayed it before hearing of the
//! removal acted in good faith and must not lose its own changes or its link for it (see
//! [`Circle::purge_refused`] for how such a member later drops what it relayed).
//!
//! Which signatures are checked (see [`crate::sync::signing`] for why this is sound): a
//! sync message ([`Circle::authorize_sync`]) has checked only the signatures of its
//! *uncovered* changes, those no later change of their author in the same message
//! descends from; a covered change is authenticated by that later change's signature, so
//! a full sync checks one signature per device instead of one per change. An archive
//! ([`Circle::authorize_merge`]) has every signature present checked. Either way every
//! change must name a device key, and an uncovered change must carry a good signature:
//! a bad one is garbage; a missing one fails an archive, but in a sync message it only
//! refuses the change (with what depends on it), blaming nobody, since an honest sender
//! sends no signature it could not check (see the sender's rule in
//! [`crate::sync::signing`]).
//!
//! A signature is kept for a change this circle does not hold, or holds without a
//! signature; a covered change's is kept unchecked (it is forwarded only covered, or after
//! a check). A signature sent for a change held with one is checked too when it differs
//! and the batch must vouch for it (a tampered file is refused whole) but never replaces
//! it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use automerge::{Automerge, ChangeHash, ReadDoc};

use crate::at::At;
use crate::circle::{Circle, CORE_DOC, ESCALATIONS_DOC};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::governance::{self, Act};
use crate::members::Membership;
use crate::proposals::ProposalChange;
use crate::sync::cover::{self, Link};
use crate::sync::signing::{
    AuthError, ChangeSignature, Checked, Signed, SignedChange, SignedMeta, Verifier,
};
use crate::touched::{Scope, Touched};

/// What checking a batch found: the signatures worth keeping (checked, or a covered
/// change's, vouched for by a checked later change of its author), and the changes
/// refused. Only the checks of this module make one, so a signature can reach a circle's
/// store only through a check.
#[derive(Debug, Default)]
#[must_use]
pub struct Authorized {
    sigs: BTreeMap<String, Vec<(ChangeHash, ChangeSignature)>>,
    refused: Vec<RefusedChange>,
    /// Core changes whose dependencies are not held: they cannot be judged on a causal
    /// past the receiver does not have, so they are not applied now (nor blamed on anyone);
    /// the peer sends them again once their dependencies are here.
    held_back: HashSet<ChangeHash>,
}

/// A change that is not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedChange {
    pub doc: String,
    pub hash: ChangeHash,
    pub reason: AuthError,
}

impl Authorized {
    /// Changes refused (forbidden ones first in causal order, then those depending on them).
    pub fn refused(&self) -> &[RefusedChange] {
        &self.refused
    }

    /// The changes held back until their dependencies arrive (see `held_back`).
    pub fn held_back(&self) -> &HashSet<ChangeHash> {
        &self.held_back
    }

    /// The hashes refused, for filtering a batch.
    pub fn refused_hashes(&self) -> HashSet<ChangeHash> {
        self.refused.iter().map(|r| r.hash).collect()
    }

    /// Every change of the batch not to apply: those refused and those held back until
    /// their dependencies arrive.
    pub fn unapplied_hashes(&self) -> HashSet<ChangeHash> {
        let mut out = self.refused_hashes();
        out.extend(self.held_back.iter().copied());
        out
    }

    pub(crate) fn take_sigs(&mut self, doc: &str) -> Vec<(ChangeHash, ChangeSignature)> {
        self.sigs.remove(doc).unwrap_or_default()
    }

    pub(crate) fn docs_with_sigs(&self) -> Vec<String> {
        self.sigs.keys().cloned().collect()
    }
}

/// Which signatures of a batch a check verifies (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Every signature present: archives, where a tampered file is refused whole.
    Every,
    /// Those of the changes the batch does not cover: sync messages.
    Uncovered,
}

/// Finds each change's author, checking the signatures `check` asks for.
struct Gate<'a> {
    check: Check,
    /// The batch's changes no later change of their author (in the batch) covers.
    uncovered: HashSet<ChangeHash>,
    checked: &'a Checked,
    verifier: Verifier,
}

impl Gate<'_> {
    /// The device that wrote `sc`: a refusal ([`AuthError::is_refusal`]) refuses the
    /// change alone, anything else is garbage.
    fn author(&mut self, sc: &impl Signed) -> std::result::Result<String, AuthError> {
        let hash = sc.hash();
        let actor = sc.actor();
        let signature = sc.signature();
        let covered = !self.uncovered.contains(&hash);
        let needed = match self.check {
            Check::Every => signature.is_some() || !covered,
            Check::Uncovered => !covered,
        };
        if !needed {
            return self.verifier.device(actor, &hash);
        }
        match (signature, self.check) {
            (Some(sig), _) => self
                .verifier
                .verify_known(self.checked, actor, &hash, Some(&sig)),
            (None, Check::Every) => Err(AuthError::Unsigned { hash }),
            (None, Check::Uncovered) => Err(AuthError::Unproven { hash }),
        }
    }

    /// Whether a signature sent for a held change is this batch's to vouch for.
    fn vouches(&self, hash: &ChangeHash) -> bool {
        self.check == Check::Every || self.uncovered.contains(hash)
    }
}

impl Circle {
    /// Checks an archive's batch of `(document key, changes)` before any of it is merged,
    /// every signature present included: see the module docs. Works on an empty circle
    /// too, where the batch's first core change (its founder's) is the root of trust.
    /// Fails on garbage; returns the refused changes (which the caller must not apply) and
    /// the signatures to keep.
    pub fn authorize_merge(&self, batch: &[(String, Vec<SignedChange>)]) -> Result<Authorized> {
        self.authorize(batch, Check::Every)
    }

    /// [`Circle::authorize_merge`] for one sync message's changes: only the signatures of
    /// the changes the message does not cover are checked (see the module docs).
    pub fn authorize_sync(&self, batch: &[(String, Vec<SignedChange>)]) -> Result<Authorized> {
        self.authorize(batch, Check::Uncovered)
    }

    /// [`Circle::authorize_sync`] for one document's changes read as metadata (no ops):
    /// what a fresh device checks a whole document with. The core is replayed, so its
    /// changes must come whole.
    pub fn authorize_sync_meta(&self, doc: &str, changes: &[SignedMeta]) -> Result<Authorized> {
        if crate::circle::is_replayed(doc) {
            return Err(AuthError::Unreadable {
                reason: "core changes are checked whole".into(),
            }
            .into());
        }
        self.authorize(&[(doc.to_string(), changes)], Check::Uncovered)
    }

    fn authorize<S: Signed, B: AsRef<[S]>>(
        &self,
        batch: &[(String, B)],
        check: Check,
    ) -> Result<Authorized> {
        let core = self.doc(CORE_DOC);
        let mut gate = Gate {
            check,
            uncovered: HashSet::new(),
            checked: &self.checked,
            verifier: Verifier::default(),
        };
        let mut out = Authorized::default();
        let mut fresh_core: Vec<&SignedChange> = Vec::new();
        let mut fresh_esc: Vec<&SignedChange> = Vec::new();
        let mut others: Vec<(&str, &S)> = Vec::new();
        for (doc, changes) in batch {
            let changes = changes.as_ref();
            // Deps never cross documents, so each document's changes cover their own.
            let links: Vec<Link<'_>> = changes
                .iter()
                .map(|sc| Link {
                    hash: sc.hash(),
                    actor: sc.actor(),
                    deps: sc.deps(),
                })
                .collect();
            for (link, covered) in links.iter().zip(cover::covered(&links)) {
                if !covered {
                    gate.uncovered.insert(link.hash);
                }
            }
            let held = self.doc(doc);
            for sc in changes {
                let hash = sc.hash();
                // Whether it is held, from the change graph alone: `get_change_by_hash`
                // rebuilds the change from the whole document, which made checking a
                // large batch quadratic.
                if held.is_none_or(|d| d.get_change_meta_by_hash(&hash).is_none()) {
                    if crate::circle::is_replayed(doc) {
                        let whole = sc.whole().ok_or_else(|| AuthError::Unreadable {
                            reason: "core and escalation changes are checked whole".into(),
                        })?;
                        if doc == CORE_DOC {
                            fresh_core.push(whole);
                        } else {
                            fresh_esc.push(whole);
                        }
                    } else {
                        others.push((doc, sc));
                    }
                    continue;
                }
                // Held already: its content was checked when it arrived; its signature is
                // checked here unless it is the very one held, or one the batch does not
                // vouch for (a covered change's, in a sync message: kept only if none is
                // held, unchecked like any covered change's).
                let ours = self.signature(doc, &hash);
                let Some(sig) = sc.signature().filter(|s| Some(*s) != ours) else {
                    continue;
                };
                if gate.vouches(&hash) {
                    gate.author(sc)?;
                }
                if ours.is_none() {
                    out.sigs.entry(doc.clone()).or_default().push((hash, sig));
                }
            }
        }
        let (membership, core_now) = match core {
            Some(doc) if fresh_core.is_empty() => (Membership::read(doc), CoreNow::Held(doc)),
            _ => {
                let (membership, scratch) = replay_core(
                    core,
                    &fresh_core,
                    &mut gate,
                    &mut out,
                    self.clock.as_ref().map(|now| now()),
                )?;
                (membership, CoreNow::Replayed(Box::new(scratch)))
            }
        };
        if !fresh_esc.is_empty() {
            replay_escalations(
                self.doc(ESCALATIONS_DOC),
                &fresh_esc,
                &mut gate,
                &mut out,
                &membership,
                &core_now,
            )?;
        }
        let mut refused = out.refused_hashes();
        for (doc, sc) in causal_order_keyed(&others) {
            // Garbage fails the batch even when built on a refused change.
            let verdict =
                gate.author(sc)
                    .and_then(|device| match depends_on_refused(&refused, sc) {
                        Some(e) => Err(e),
                        None => check_author(&membership, &device, sc),
                    });
            out.settle(&mut refused, doc, sc, verdict)?;
        }
        Ok(out)
    }
}

impl Authorized {
    /// Records one change's verdict: its signature is kept, or, if the rules forbid it, the
    /// change is refused (and `refused` learns it, for what depends on it); garbage fails
    /// the whole batch.
    fn settle(
        &mut self,
        refused: &mut HashSet<ChangeHash>,
        doc: &str,
        sc: &impl Signed,
        verdict: std::result::Result<(), AuthError>,
    ) -> Result<()> {
        let hash = sc.hash();
        match verdict {
            Ok(()) => {
                if let Some(sig) = sc.signature() {
                    self.sigs
                        .entry(doc.to_string())
                        .or_default()
                        .push((hash, sig));
                }
                Ok(())
            }
            Err(reason) if reason.is_refusal() => {
                refused.insert(hash);
                self.refused.push(RefusedChange {
                    doc: doc.to_string(),
                    hash,
                    reason,
                });
                Ok(())
            }
            Err(reason) => Err(reason.into()),
        }
    }
}

/// A change built on a refused one cannot be applied without it, so it is refused too.
fn depends_on_refused(refused: &HashSet<ChangeHash>, sc: &impl Signed) -> Option<AuthError> {
    let on = sc.deps().iter().find(|d| refused.contains(d))?;
    Some(AuthError::DependsOnRefused {
        hash: sc.hash(),
        on: *on,
    })
}

/// Verifies and replays `fresh` on a scratch copy of `core`, refusing forbidden changes
/// (and what depends on them) into `out`; returns the membership after.
///
/// Each change is judged on the state holding what was there before and every change
/// accepted so far (in causal order): that state is read at its heads, so the scratch
/// copy may hold more. The batch is applied to it in one run before the first judgement
/// when automerge takes it whole (applying a large core one change at a time cost most of
/// a new member's first sync: BENCHMARKS.md, "A million decisions"), or else one change at
/// a time as each is accepted, exactly as before; the verdicts are the same either way.
fn replay_core<'a>(
    core: Option<&'a Automerge>,
    fresh: &[&SignedChange],
    gate: &mut Gate<'_>,
    out: &mut Authorized,
    horizon: Option<Timestamp>,
) -> Result<(Membership, Scratch<'a>)> {
    let mut root: Option<String> = None;
    if core.is_none_or(|doc| doc.get_heads().is_empty()) {
        let roots: Vec<_> = fresh
            .iter()
            .filter(|sc| sc.change.deps().is_empty())
            .collect();
        if roots.len() > 1 {
            return Err(AuthError::TwoRoots.into());
        }
        // A root without the signature its check needs founds nothing: it is refused below.
        root = match roots.first().map(|sc| gate.author(**sc)) {
            Some(Err(e)) if !e.is_refusal() => return Err(e.into()),
            found => found.and_then(|r| r.ok()),
        };
    }
    let order = causal_order(fresh);
    let mut scratch = Scratch::new(core, &order);
    // Read after every change, whatever its commit message says: a modified client could
    // disguise a removal or a steward grant as any other edit.
    let mut membership = Membership::read(&scratch.now());
    let mut refused: HashSet<ChangeHash> = HashSet::new();
    for sc in order {
        // Garbage fails the batch even when built on a refused change.
        let device = match gate.author(sc) {
            Ok(device) => device,
            Err(e) => {
                out.settle(&mut refused, CORE_DOC, sc, Err(e))?;
                continue;
            }
        };
        if let Some(e) = depends_on_refused(&refused, sc) {
            out.settle(&mut refused, CORE_DOC, sc, Err(e))?;
            continue;
        }
        let founding =
            root.as_deref() == Some(device.as_str()) && membership.device_member(&device).is_none();
        let verdict = if founding {
            Ok(())
        } else {
            check_author(&membership, &device, sc)
        };
        if verdict.is_ok() && !scratch.has_deps(sc) {
            // Judged on a causal past this device does not hold, a forbidden change could
            // pass unchecked and take effect when its dependencies arrive: hold it back.
            out.held_back.insert(sc.change.hash());
            continue;
        }
        let verdict = verdict.and_then(|()| {
            let before = scratch.heads.clone();
            scratch.take(sc)?;
            let after = Membership::read(&scratch.now());
            if !founding {
                let checked = check_authority(&membership, &after, &scratch.now(), &device, sc)
                    .and_then(|()| {
                        let past = Past {
                            heads: &before,
                            membership: &membership,
                        };
                        check_governance(&scratch.doc, past, &device, sc, horizon)
                    });
                if let Err(e) = checked {
                    scratch.undo(sc, before)?;
                    return Err(e);
                }
            }
            membership = after;
            Ok(())
        });
        out.settle(&mut refused, CORE_DOC, sc, verdict)?;
    }
    Ok((membership, scratch))
}

/// The core as the escalations' changes of a batch are judged against it: the one held,
/// or the replay's scratch copy when the batch brought core changes too.
enum CoreNow<'a> {
    Held(&'a Automerge),
    Replayed(Box<Scratch<'a>>),
}

impl CoreNow<'_> {
    /// The core as of `heads`, if every one of them is held or accepted in this batch.
    fn at<'s>(&'s self, heads: &'s [ChangeHash]) -> Option<At<'s, Automerge>> {
        let (doc, holds) = match self {
            CoreNow::Held(doc) => (
                *doc,
                heads
                    .iter()
                    .all(|h| doc.get_change_meta_by_hash(h).is_some()),
            ),
            CoreNow::Replayed(scratch) => (&scratch.doc, heads.iter().all(|h| scratch.holds(h))),
        };
        (holds && !heads.is_empty()).then_some(At { doc, heads })
    }
}

/// Verifies and replays the escalations' changes `fresh` on a scratch copy of `held`,
/// refusing forbidden ones (and what depends on them) into `out`. Their authors are judged
/// by `membership`, the core's after the batch (as a month's are); what each change does
/// to the escalations, on its own causal past (see [`check_escalation_change`]).
fn replay_escalations(
    held: Option<&Automerge>,
    fresh: &[&SignedChange],
    gate: &mut Gate<'_>,
    out: &mut Authorized,
    membership: &Membership,
    core: &CoreNow<'_>,
) -> Result<()> {
    let order = causal_order(fresh);
    let mut scratch = Scratch::new(held, &order);
    let mut refused: HashSet<ChangeHash> = HashSet::new();
    let mut offices = Offices::default();
    for sc in order {
        // Garbage fails the batch even when built on a refused change.
        let device = match gate.author(sc) {
            Ok(device) => device,
            Err(e) => {
                out.settle(&mut refused, ESCALATIONS_DOC, sc, Err(e))?;
                continue;
            }
        };
        if let Some(e) = depends_on_refused(&refused, sc) {
            out.settle(&mut refused, ESCALATIONS_DOC, sc, Err(e))?;
            continue;
        }
        let verdict = check_author(membership, &device, sc);
        if verdict.is_ok() && !scratch.has_deps(sc) {
            out.held_back.insert(sc.change.hash());
            continue;
        }
        let verdict = verdict.and_then(|()| {
            let before = scratch.heads.clone();
            scratch.take(sc)?;
            match check_escalation_change(&scratch.doc, membership, core, &mut offices, &device, sc)
            {
                Ok(Judged::Done) => Ok(Judged::Done),
                other => {
                    scratch.undo(sc, before)?;
                    other
                }
            }
        });
        // An answer naming core changes this device lacks fails the batch as one whose
        // author is not known yet does: a sync message waits for the core to catch up.
        let verdict = verdict.and_then(|judged| match judged {
            Judged::Done => Ok(()),
            Judged::Later => Err(AuthError::CoreNotHeld {
                hash: sc.change.hash(),
            }),
        });
        out.settle(&mut refused, ESCALATIONS_DOC, sc, verdict)?;
    }
    Ok(())
}

/// The membership at each core state answers in a batch name as seen, read once: a new
/// member's first sync of a large circle judges tens of thousands of answers, most naming
/// the same few states.
#[derive(Default)]
struct Offices(HashMap<Vec<ChangeHash>, Membership>);

impl Offices {
    fn at(&mut self, core: &At<'_, Automerge>) -> &Membership {
        let mut heads = core.heads.to_vec();
        heads.sort();
        self.0
            .entry(heads)
            .or_insert_with(|| Membership::read(core))
    }
}

/// A change of the escalations' document passed its check, or cannot be judged until the
/// core changes it names as seen arrive.
enum Judged {
    Done,
    Later,
}

/// What one change may do to the escalations' document (already holding it): raise an
/// escalation, or, as a steward, acknowledge and answer one, naming
/// the core heads it was written on (`seen`), as of which its author must have been a
/// steward in office. The rules are those of the core's collection before it
/// ([`governance::check_escalations`]), and stricter: a raise must be open and about a
/// decision.
fn check_escalation_change(
    doc: &Automerge,
    membership: &Membership,
    core: &CoreNow<'_>,
    offices: &mut Offices,
    device: &str,
    sc: &SignedChange,
) -> std::result::Result<Judged, AuthError> {
    let hash = sc.change.hash();
    let deps = sc.change.deps().to_vec();
    let before_doc = At { doc, heads: &deps };
    let after_doc = At {
        doc,
        heads: std::slice::from_ref(&hash),
    };
    let refuse = |what: String| AuthError::NotAllowed {
        hash,
        device: device.to_string(),
        what,
    };
    let touched = Touched::at_root(doc, &sc.change);
    if let Some(obj) = touched.nested() {
        return Err(refuse(format!(
            "it writes object {obj} inside an escalation, which holds no objects of its own"
        )));
    }
    // Each escalation it writes in must be the one at its key in the change's own past, and
    // still as of the change: a write to an object made by a concurrent change is applied by
    // automerge, but every read at the change's own heads misses it.
    for (key, obj) in touched.entities() {
        let at = |d: &At<'_, Automerge>| match d.get(automerge::ROOT, key.as_str()) {
            Ok(Some((automerge::Value::Object(_), id))) => id == *obj,
            _ => false,
        };
        if !at(&before_doc) || !at(&after_doc) {
            return Err(refuse(format!(
                "it writes object {obj}, which its own past does not hold (a change may write only what its author could see)"
            )));
        }
    }
    let ids = touched.roots();
    let before = crate::escalations::read_root(&before_doc, ids.as_ref());
    let after = crate::escalations::read_root(&after_doc, ids.as_ref());
    if before == after {
        return Ok(Judged::Done);
    }
    let author = membership.device_member(device).unwrap_or_default();
    let at = Timestamp(sc.change.timestamp().saturating_mul(1000));
    governance::check_raising(&before, &after).map_err(refuse)?;
    // Each escalation it answers is judged on the core its answer names as seen: the
    // writer picks it, so only a state where the writer was a steward in office passes.
    for a in after
        .iter()
        .filter(|a| before.iter().any(|b| b.id == a.id && b != *a))
    {
        let Some(seen) = crate::escalations::seen(&after_doc, &a.id) else {
            return Err(refuse(format!(
                "it answers escalation {} without naming the circle's state it answered on",
                a.id
            )));
        };
        let Some(seen) = crate::escalations::parse_seen(&seen) else {
            return Err(refuse(format!(
                "it answers escalation {} naming no readable state of the circle",
                a.id
            )));
        };
        let Some(core_then) = core.at(&seen) else {
            return Ok(Judged::Later);
        };
        let then = offices.at(&core_then);
        let members = then.current_members();
        let act = Act {
            author: &author,
            at,
            horizon: None,
            members: &members,
            keepers: &[],
        };
        let one = |list: &[crate::Escalation]| -> Vec<crate::Escalation> {
            list.iter().filter(|e| e.id == a.id).cloned().collect()
        };
        governance::check_escalations(
            &one(&before),
            &one(&after),
            &act,
            then.is_steward_at(&author, at),
        )
        .map_err(refuse)?;
    }
    Ok(Judged::Done)
}

/// The scratch copy a replay judges on: the document, and the heads of the state it
/// judges the next change on (what was held before, and every change accepted since).
struct Scratch<'a> {
    held: Option<&'a Automerge>,
    doc: Automerge,
    heads: Vec<ChangeHash>,
    /// Whether the whole batch was applied before the first judgement: then the document
    /// also holds changes not (or not yet) accepted, which every read leaves out by
    /// reading at `heads`.
    ahead: bool,
    accepted: HashSet<ChangeHash>,
}

impl<'a> Scratch<'a> {
    fn new(held: Option<&'a Automerge>, order: &[&SignedChange]) -> Scratch<'a> {
        let mut doc = held.cloned().unwrap_or_default();
        let heads = doc.get_heads();
        // Automerge refuses a batch whole (a second change with an actor's sequence
        // number, say) where one change at a time would still have applied the others:
        // then they are applied one at a time, as they are accepted.
        let ahead = doc
            .apply_changes(order.iter().map(|sc| sc.change.clone()))
            .is_ok();
        if !ahead {
            doc = held.cloned().unwrap_or_default();
        }
        Scratch {
            held,
            doc,
            heads,
            ahead,
            accepted: HashSet::new(),
        }
    }

    /// The state the next change is judged on.
    fn now(&self) -> At<'_, Automerge> {
        At {
            doc: &self.doc,
            heads: &self.heads,
        }
    }

    /// Whether that state holds every change `sc` depends on.
    fn has_deps(&self, sc: &SignedChange) -> bool {
        sc.change.deps().iter().all(|d| self.holds(d))
    }

    /// Whether that state holds change `hash`: held before, or accepted since.
    fn holds(&self, hash: &ChangeHash) -> bool {
        match (self.ahead, self.held) {
            (true, Some(held)) => {
                self.accepted.contains(hash) || held.get_change_meta_by_hash(hash).is_some()
            }
            (true, None) => self.accepted.contains(hash),
            (false, _) => self.doc.get_change_meta_by_hash(hash).is_some(),
        }
    }

    /// `sc` joins the state judged on (for its own judgement: undone if it is refused).
    fn take(&mut self, sc: &SignedChange) -> std::result::Result<(), AuthError> {
        if !self.ahead {
            self.doc
                .apply_changes([sc.change.clone()])
                .map_err(|e| AuthError::Unreadable {
                    reason: e.to_string(),
                })?;
        }
        let hash = sc.change.hash();
        let deps = sc.change.deps();
        self.heads.retain(|h| !deps.contains(h));
        self.heads.push(hash);
        self.heads.sort();
        self.accepted.insert(hash);
        Ok(())
    }

    /// `sc` was refused: the state judged on goes back to `before`.
    fn undo(
        &mut self,
        sc: &SignedChange,
        before: Vec<ChangeHash>,
    ) -> std::result::Result<(), AuthError> {
        self.accepted.remove(&sc.change.hash());
        if !self.ahead {
            // Rare, so the copy is made only here.
            self.doc = self
                .doc
                .fork_at(&before)
                .map_err(|e| AuthError::Unreadable {
                    reason: e.to_string(),
                })?;
        }
        self.heads = before;
        Ok(())
    }
}

/// Removing a member follows a passed proposal, or is the member leaving (its own device
/// writes it): never one person's act, a steward's included. Naming stewards follows a
/// passed proposal (or is the founding). The acting client checks this, and so does every
/// receiver, so a modified client gains nothing by skipping the check.
fn check_authority<D: ReadDoc>(
    before: &Membership,
    after: &Membership,
    doc: &D,
    device: &str,
    sc: &SignedChange,
) -> std::result::Result<(), AuthError> {
    let author = before.device_member(device).unwrap_or_default();
    let at = Timestamp(sc.change.timestamp().saturating_mul(1000));
    let steward = before.is_steward_at(&author, at);
    let refuse = |what: String| AuthError::NotAllowed {
        hash: sc.change.hash(),
        device: device.to_string(),
        what,
    };
    for member in after.removed_members() {
        if before.member_removed_at(&member).is_none()
            && member != author
            && !crate::proposals::passed_removal(doc, &member)
        {
            return Err(refuse(format!(
                "it removes member `{member}`, but no passed proposal removes them and `{author}` is not them leaving: removing a member needs the circle's consent"
            )));
        }
    }
    for (revoked, owner) in after.revoked_devices() {
        if before.revoked_at(&revoked).is_none() && !steward && owner != author {
            return Err(refuse(format!(
                "it revokes device {revoked}, but `{author}` is neither a steward in office nor its member"
            )));
        }
    }
    if !crate::members::stewardship_change_is_lawful(before, after, doc, &author, at) {
        return Err(refuse(format!(
            "it changes who the stewards are, but `{author}` did so without a passed proposal naming them"
        )));
    }
    Ok(())
}

fn check_author(
    membership: &Membership,
    device: &str,
    sc: &impl Signed,
) -> std::result::Result<(), AuthError> {
    let hash = sc.hash();
    let Some(member) = membership.device_member(device) else {
        return Err(AuthError::NotAMember {
            hash,
            device: device.to_string(),
        });
    };
    if membership.forbids(device, sc.timestamp(), &hash) {
        return Err(AuthError::Removed {
            hash,
            device: device.to_string(),
            member,
        });
    }
    Ok(())
}

/// The scratch copy's heads before a change was applied, and its membership there.
#[derive(Clone, Copy)]
struct Past<'a> {
    heads: &'a [ChangeHash],
    membership: &'a Membership,
}

impl<'a> Past<'a> {
    /// The membership at `deps`: the scratch copy's when the change was written on exactly
    /// its state (nothing concurrent applied before it, as in a linear history), saving a
    /// read at the deps for each change of a long replay.
    fn at(self, deps: &[ChangeHash], before_doc: &At<'_, Automerge>) -> Cow<'a, Membership> {
        let mut ours = self.heads.to_vec();
        let mut theirs = deps.to_vec();
        ours.sort();
        theirs.sort();
        if ours == theirs {
            Cow::Borrowed(self.membership)
        } else {
            Cow::Owned(Membership::read(before_doc))
        }
    }
}

/// The governance rules (see [`crate::governance`]), judged on the change's own causal
/// past in `doc`, which already holds the change; `prior` is `doc` before it.
fn check_governance(
    doc: &Automerge,
    prior: Past<'_>,
    device: &str,
    sc: &SignedChange,
    horizon: Option<Timestamp>,
) -> std::result::Result<(), AuthError> {
    let membership = prior.membership;
    let hash = sc.change.hash();
    let deps = sc.change.deps().to_vec();
    let before_doc = At { doc, heads: &deps };
    let after_doc = At {
        doc,
        heads: std::slice::from_ref(&hash),
    };
    // Only what the change writes: the collections grow with the log, and reading them
    // whole at two heads for each core change made replaying a circle's core quadratic.
    let touched = Touched::by(doc, &after_doc, &sc.change);
    let proposals = touched.scope("proposals");
    let before = crate::proposals::read(&before_doc, proposals);
    let after = crate::proposals::read(&after_doc, proposals);
    let escalations = touched.scope("escalations");
    let esc_before = crate::escalations::read(&before_doc, escalations);
    let esc_after = crate::escalations::read(&after_doc, escalations);
    let teams = touched.scope("teams");
    let zones_before = crate::zones::read_rules(&before_doc, teams);
    let zones_after = crate::zones::read_rules(&after_doc, teams);
    let past = prior.at(&deps, &before_doc);
    let members = past.current_members();
    let author = membership.device_member(device).unwrap_or_default();
    let at = Timestamp(sc.change.timestamp().saturating_mul(1000));
    let refuse = |what: String| AuthError::NotAllowed {
        hash,
        device: device.to_string(),
        what,
    };
    if let Some(obj) = touched.outside() {
        return Err(refuse(format!(
            "it writes object {obj}, which its own past does not hold (a change may write only what its author could see)"
        )));
    }
    // Values and principles, and who keeps them (an office kept in the circle's meta).
    crate::charter::check(
        &before_doc,
        &after_doc,
        &touched,
        members.len(),
        &before,
        &after,
    )
    .and_then(|()| {
        if touched.scope("meta").any() {
            crate::keepers::check(&before_doc, &after_doc, at)
        } else {
            Ok(())
        }
    })
    .map_err(refuse)?;
    // Who was consulted on a principle-check decision, and who acknowledged it.
    let consultations = touched.scope("consultations");
    let consulted_before = crate::consultation::read(&before_doc, consultations);
    let consulted_after = crate::consultation::read(&after_doc, consultations);
    if consulted_before != consulted_after {
        crate::consultation::check(&consulted_before, &consulted_after, &author).map_err(refuse)?;
    }
    if before == after && esc_before == esc_after && zones_before == zones_after {
        return Ok(());
    }
    let keepers = crate::keepers::in_office(&before_doc, at);
    let act = Act {
        author: &author,
        at,
        horizon,
        members: &members,
        keepers: &keepers,
    };
    let versions = |change: &ProposalChange| match change {
        ProposalChange::AmendPrinciple { principle, .. } => {
            Some(crate::principles::version_count(&before_doc, principle))
        }
        ProposalChange::AmendValue { value, .. } => {
            Some(crate::values::version_count(&before_doc, value))
        }
        _ => None,
    };
    // A rule may be set by a proposal passed in an earlier change: those named are read.
    let named: BTreeSet<String> = zones_after
        .iter()
        .filter(|rule| !zones_before.contains(rule))
        .map(|rule| rule.by.clone())
        .collect();
    let mapping = crate::proposals::read(&after_doc, Scope::These(&named));
    governance::check_proposals(&before, &after, &act, &versions)
        .and_then(|()| crate::zones::check_rules(&zones_before, &zones_after, &mapping))
        .and_then(|()| {
            governance::check_escalations(
                &esc_before,
                &esc_after,
                &act,
                past.is_steward_at(&author, act.at),
            )
        })
        .map_err(refuse)
}

/// [`causal_order`] for changes of several documents (deps never cross documents).
fn causal_order_keyed<'a, 'b, S: Signed>(changes: &[(&'b str, &'a S)]) -> Vec<(&'b str, &'a S)> {
    let doc_of: HashMap<ChangeHash, &'b str> =
        changes.iter().map(|(doc, sc)| (sc.hash(), *doc)).collect();
    let plain: Vec<&S> = changes.iter().map(|(_, sc)| *sc).collect();
    causal_order(&plain)
        .into_iter()
        .filter_map(|sc| doc_of.get(&sc.hash()).map(|doc| (*doc, sc)))
        .collect()
}

/// The changes ordered so each comes after those of its deps that are in the batch; ties
/// by hash, so every replica replays a batch alike. Changes whose deps are missing come
/// in the same order (automerge queues them until the deps arrive).
fn causal_order<'a, S: Signed>(changes: &[&'a S]) -> Vec<&'a S> {
    // Indices instead of maps keyed by hash: a full sync orders thousands of changes.
    // A hash given twice counts once, its last entry.
    let mut index: HashMap<ChangeHash, usize> = HashMap::with_capacity(changes.len());
    for (i, sc) in changes.iter().enumerate() {
        index.insert(sc.hash(), i);
    }
    let mut waiting = vec![0usize; changes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    let mut ready: BTreeSet<(ChangeHash, usize)> = BTreeSet::new();
    for (i, sc) in changes.iter().enumerate() {
        if index.get(&sc.hash()) != Some(&i) {
            continue;
        }
        let mut deps: Vec<usize> = Vec::new();
        for d in sc.deps() {
            if let Some(&p) = index.get(d) {
                if !deps.contains(&p) {
                    deps.push(p);
                }
            }
        }
        waiting[i] = deps.len();
        for p in deps {
            dependents[p].push(i);
        }
        if waiting[i] == 0 {
            ready.insert((sc.hash(), i));
        }
    }
    let mut out = Vec::with_capacity(index.len());
    while let Some((_, i)) = ready.pop_first() {
        out.push(changes[i]);
        for &next in &dependents[i] {
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.insert((changes[next].hash(), next));
            }
        }
    }
    out
}
