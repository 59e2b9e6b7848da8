//! Sync messages checked one signature per author (see `sync::signing`): whatever one
//! change of a message is forged, the message is refused whole and the circle untouched;
//! a valid message split anyhow is taken with the same result; and a bad signature a
//! covered change brought never gets an honest device blamed.

use automerge::transaction::Transactable as _;
use automerge::{Change, ChangeHash, ReadDoc as _, ROOT};
use proptest::prelude::*;

use super::auth::{import, key, quick_decision, three, Dev};
use crate::sync::cover::{self, Link};
use crate::sync::signing::{self, AuthError, SignedChange};
use crate::{Circle, CoreError, RefusedChange, CORE_DOC};

type Batch = Vec<(String, Vec<SignedChange>)>;

/// The changes `to` does not hold from `from`, per document, as a sync message carries
/// them (each document's in automerge's order, ancestors first).
fn news(from: &Circle, to: &Circle) -> Batch {
    from.doc_keys()
        .into_iter()
        .map(|k| {
            let have = to.doc(&k).map(|d| d.get_heads()).unwrap_or_default();
            (k.clone(), from.signed_changes(&k, &have))
        })
        .filter(|(_, changes)| !changes.is_empty())
        .collect()
}

/// What the engine does with a message's changes: check as a sync message, then apply
/// what was not refused.
fn sync_merge(batch: Batch, into: &mut Circle) -> crate::Result<Vec<RefusedChange>> {
    let verdict = into.authorize_sync(&batch)?;
    let refused = verdict.refused().to_vec();
    into.apply_checked(batch, verdict)?;
    Ok(refused)
}

/// Every document's heads: what "the circle is unchanged" compares.
fn state(c: &Circle) -> Vec<(String, Vec<ChangeHash>)> {
    c.doc_keys()
        .into_iter()
        .map(|k| {
            let heads = c.doc(&k).map(|d| d.get_heads()).unwrap_or_default();
            (k, heads)
        })
        .collect()
}

/// Ana and Ben each write core changes and decisions, taking each other's in between, so
/// each author's chain runs through the other's changes. Returns Ben (holding it all),
/// a receiver holding only the circle as it was before (Cat's device) and Ben himself.
fn story() -> (Dev, Circle) {
    let (mut ana, mut ben, cat) = three();
    let receiver = import(&cat.circle, &cat.key).unwrap();
    rounds(&mut ana, &mut ben);
    ana.note("Ana last").unwrap();
    super::auth::merge(&ana.circle, &mut ben.circle).unwrap();
    (ben, receiver)
}

fn rounds(ana: &mut Dev, ben: &mut Dev) {
    for round in 0..2 {
        ana.note(&format!("Ana {round}")).unwrap();
        quick_decision(ana, &format!("Ana's {round}"));
        super::auth::merge(&ana.circle, &mut ben.circle).unwrap();
        ben.now = ben.now.max(ana.now) + 1000;
        ben.note(&format!("Ben {round}")).unwrap();
        quick_decision(ben, &format!("Ben's {round}"));
        super::auth::merge(&ben.circle, &mut ana.circle).unwrap();
        ana.now = ana.now.max(ben.now) + 1000;
    }
}

/// [`story`], with an escalation: Ben logs a centre-zone decision and Ana, the steward,
/// acknowledges it, changes the core, and answers it (naming that newer core as seen).
fn story_with_escalation() -> (Dev, Circle) {
    let (mut ana, mut ben, cat) = three();
    let receiver = import(&cat.circle, &cat.key).unwrap();
    rounds(&mut ana, &mut ben);
    let team = ben.circle.teams().unwrap()[0].id.clone();
    let principle = super::auth::charter(&mut ben);
    let decision = ben
        .act(|c, ctx| {
            c.log_decision(
                ctx,
                crate::NewDecision {
                    team,
                    principles: vec![principle],
                    context: "A reporter called.".into(),
                    choice: "We gave an interview.".into(),
                    zone: Some(crate::Zone::CentreIntervention),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    super::auth::merge(&ben.circle, &mut ana.circle).unwrap();
    ana.now = ana.now.max(ben.now) + 1000;
    let e = ana
        .circle
        .escalations()
        .unwrap()
        .into_iter()
        .find(|e| e.decision == decision)
        .unwrap()
        .id;
    ana.act(|c, ctx| c.acknowledge_escalation(ctx, &e)).unwrap();
    ana.note("Ana last").unwrap();
    ana.act(|c, ctx| c.answer_escalation(ctx, &e, crate::Verdict::Back, "Right call."))
        .unwrap();
    super::auth::merge(&ana.circle, &mut ben.circle).unwrap();
    (ben, receiver)
}

/// The batch's changes no later change of their author in the same document covers.
fn uncovered(batch: &Batch) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (d, (_, changes)) in batch.iter().enumerate() {
        let links: Vec<Link<'_>> = changes
            .iter()
            .map(|sc| Link {
                hash: sc.change.hash(),
                actor: sc.change.actor_id(),
                deps: sc.change.deps(),
            })
            .collect();
        for (i, covered) in cover::covered(&links).into_iter().enumerate() {
            if !covered {
                out.push((d, i));
            }
        }
    }
    out
}

fn all_changes(batch: &Batch) -> Vec<(usize, usize)> {
    batch
        .iter()
        .enumerate()
        .flat_map(|(d, (_, cs))| (0..cs.len()).map(move |i| (d, i)))
        .collect()
}

/// A change under `actor` with the same deps as `original`, saying something else.
fn altered(from: &Circle, doc: &str, original: &Change) -> Change {
    let mut fork = from
        .doc(doc)
        .unwrap()
        .fork_at(original.deps())
        .unwrap()
        .with_actor(original.actor_id().clone());
    let mut tx = fork.transaction();
    tx.put(ROOT, "forged", "Ana never said this").unwrap();
    tx.commit();
    fork.get_changes(original.deps())
        .into_iter()
        .find(|c| c.actor_id() == original.actor_id() && !original.deps().contains(&c.hash()))
        .unwrap()
}

/// A new core change on top of `from`'s, authored under `actor` and signed by `signer`.
fn written_as(from: &Dev, actor: &Dev, signer: &Dev) -> SignedChange {
    written_on(&from.circle, from.now, actor, signer)
}

/// [`written_as`] on top of a circle's core.
fn written_on(from: &Circle, now: i64, actor: &Dev, signer: &Dev) -> SignedChange {
    let title = format!("Forged {now}");
    let mut forger = Circle::from_core_bytes(
        &from.snapshot(CORE_DOC).unwrap(),
        signing::device_actor(&actor.key),
    )
    .unwrap();
    forger.set_signer(signer.key.clone());
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(11);
    let mut ctx = crate::Ctx::new(crate::Timestamp(now + 1000), actor.member.clone(), &mut rng);
    forger.add_team(&mut ctx, &title, None).unwrap();
    let heads = from.doc(CORE_DOC).unwrap().get_heads();
    forger.signed_changes(CORE_DOC, &heads).remove(0)
}

#[derive(Debug, Clone)]
enum Forgery {
    /// One uncovered change's signature has a bit flipped.
    TipSignature { at: prop::sample::Index, bit: u8 },
    /// One change (any) replaced by another saying something else, with its signature.
    Altered { at: prop::sample::Index },
    /// Ben writes under Ana's actor id, signing with his own key.
    OtherMembersActor,
    /// The same, then Ben builds a change of his own, rightly signed, on the forged one:
    /// a descendant by another actor vouches for nothing.
    BuiltOnOtherMembersActor,
    /// A device that is no member's writes, signing with its own key.
    NonMember,
    /// An uncovered change's signature swapped with another change's.
    Swapped {
        at: prop::sample::Index,
        with: prop::sample::Index,
    },
}

fn forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8)
            .prop_map(|(at, bit)| Forgery::TipSignature { at, bit }),
        any::<prop::sample::Index>().prop_map(|at| Forgery::Altered { at }),
        Just(Forgery::OtherMembersActor),
        Just(Forgery::BuiltOnOtherMembersActor),
        Just(Forgery::NonMember),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(at, with)| Forgery::Swapped { at, with }),
    ]
}

fn forge(batch: &mut Batch, ben: &Dev, how: &Forgery) {
    match how {
        Forgery::TipSignature { at, bit } => {
            let tips = uncovered(batch);
            let (d, i) = tips[at.index(tips.len())];
            let sig = batch[d].1[i].signature.as_mut().unwrap();
            sig[usize::from(*bit) * 7] ^= 1 << bit;
        }
        Forgery::Altered { at } => {
            let every = all_changes(batch);
            let (d, i) = every[at.index(every.len())];
            let doc = batch[d].0.clone();
            let original = batch[d].1[i].change.clone();
            batch[d].1[i].change = altered(&ben.circle, &doc, &original);
        }
        Forgery::OtherMembersActor | Forgery::NonMember => {
            let (actor, signer) = match how {
                Forgery::OtherMembersActor => (Dev::receive(1, "m-ana", ben), ben),
                _ => (Dev::receive(9, "m-zed", ben), ben),
            };
            let change = match how {
                Forgery::OtherMembersActor => written_as(ben, &actor, signer),
                _ => written_as(ben, &actor, &actor),
            };
            let core = batch.iter_mut().find(|(k, _)| k == CORE_DOC).unwrap();
            core.1.push(change);
        }
        Forgery::BuiltOnOtherMembersActor => {
            let ana = Dev::receive(1, "m-ana", ben);
            let forged = written_as(ben, &ana, ben);
            let mut on = import(&ben.circle, &ben.key).unwrap();
            on.apply_checked(
                vec![(CORE_DOC.to_string(), vec![forged.clone()])],
                crate::Authorized::default(),
            )
            .unwrap();
            let own = written_on(&on, ben.now + 1000, ben, ben);
            assert!(own.change.deps().contains(&forged.change.hash()));
            let core = batch.iter_mut().find(|(k, _)| k == CORE_DOC).unwrap();
            core.1.extend([forged, own]);
        }
        Forgery::Swapped { at, with } => {
            let tips = uncovered(batch);
            let every = all_changes(batch);
            let (d, i) = tips[at.index(tips.len())];
            let mut k = with.index(every.len());
            if every[k] == (d, i) {
                // Another change, so the tip gets a signature that is not its own.
                k = (k + 1) % every.len();
            }
            let (e, j) = every[k];
            let a = batch[d].1[i].signature;
            let b = batch[e].1[j].signature;
            batch[d].1[i].signature = b;
            batch[e].1[j].signature = a;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever one change of a message is forged, the message is refused whole and the
    /// receiving circle is left as it was; the message as sent is taken.
    #[test]
    fn a_message_with_one_forged_change_is_refused_whole(how in forgery()) {
        let (ben, mut receiver) = story_with_escalation();
        let honest = news(&ben.circle, &receiver);
        let mut batch = honest.clone();
        forge(&mut batch, &ben, &how);
        let before = state(&receiver);
        let got = sync_merge(batch, &mut receiver);
        prop_assert!(
            matches!(
                got,
                Err(CoreError::Unauthorized(
                    AuthError::BadSignature { .. } | AuthError::NotAMember { .. }
                ))
            ),
            "{how:?}: {got:?}"
        );
        prop_assert_eq!(state(&receiver), before, "{:?}: nothing applied", how);
        prop_assert!(sync_merge(honest, &mut receiver).unwrap().is_empty());
        prop_assert_eq!(state(&receiver), state(&ben.circle));
    }

    /// A valid message delivered in any split, each part checked on its own (as a message
    /// of its own), ends where the whole message does.
    #[test]
    fn a_valid_message_in_any_split_is_taken_alike(
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        reverse in any::<bool>(),
    ) {
        let (ben, receiver) = story_with_escalation();
        let mut whole = import(&receiver, &key(3)).unwrap();
        prop_assert!(sync_merge(news(&ben.circle, &whole), &mut whole).unwrap().is_empty());
        prop_assert_eq!(state(&whole), state(&ben.circle));

        let mut split = receiver;
        // Parts in causal order (each document's changes as automerge lists them); the
        // core's first, or the decisions' first when `reverse` (their authors' admission
        // is already held, so either order works).
        let mut batch = news(&ben.circle, &split);
        if reverse {
            batch.reverse();
        }
        let flat: Vec<(String, SignedChange)> = batch
            .into_iter()
            .flat_map(|(k, cs)| cs.into_iter().map(move |sc| (k.clone(), sc)))
            .collect();
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(flat.len() + 1)).collect();
        at.push(flat.len());
        at.sort_unstable();
        let mut from = 0;
        // Each part's documents go as messages of their own, as sync messages do. One the
        // receiver cannot judge yet (an escalation's answer naming core changes of a later
        // part) waits, with the later messages of its document behind it, and is tried
        // again after each message taken, as the engine does with a deferred message.
        let mut waiting: std::collections::BTreeMap<String, std::collections::VecDeque<Vec<SignedChange>>> =
            Default::default();
        for to in at {
            let mut part: Batch = Vec::new();
            for (k, sc) in &flat[from..to] {
                match part.last_mut() {
                    Some((last, cs)) if last == k => cs.push(sc.clone()),
                    _ => part.push((k.clone(), vec![sc.clone()])),
                }
            }
            for (k, message) in part {
                waiting.entry(k).or_default().push_back(message);
            }
            from = to;
            let mut progress = true;
            while progress {
                progress = false;
                for (k, queue) in &mut waiting {
                    while let Some(message) = queue.front() {
                        match sync_merge(vec![(k.clone(), message.clone())], &mut split) {
                            Ok(refused) => {
                                prop_assert!(refused.is_empty(), "{refused:?}");
                                queue.pop_front();
                                progress = true;
                            }
                            Err(CoreError::Unauthorized(e)) if e.may_resolve_later() => break,
                            Err(e) => prop_assert!(false, "{e}"),
                        }
                    }
                }
            }
        }
        let waiting: usize = waiting.values().map(std::collections::VecDeque::len).sum();
        prop_assert_eq!(waiting, 0, "messages never taken");
        prop_assert_eq!(state(&split), state(&whole));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The changes of a valid message in any order (as a hostile or odd sender might list
    /// them) are judged alike: the check orders them causally itself, and the cover does
    /// not depend on the order.
    #[test]
    fn a_valid_message_in_any_order_is_taken_alike(seed in any::<u64>()) {
        use rand::seq::SliceRandom as _;
        let (ben, receiver) = story_with_escalation();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        let mut batch = news(&ben.circle, &receiver);
        let tips_before = uncovered(&batch).len();
        for (_, changes) in &mut batch {
            changes.shuffle(&mut rng);
        }
        batch.shuffle(&mut rng);
        prop_assert_eq!(uncovered(&batch).len(), tips_before);
        let mut shuffled = receiver;
        prop_assert!(sync_merge(batch, &mut shuffled).unwrap().is_empty());
        prop_assert_eq!(state(&shuffled), state(&ben.circle));
    }
}

/// Ben's news for a receiver, with every covered change's signature replaced by garbage:
/// what a hostile relay could hand on.
fn with_garbage_on_covered(batch: &Batch) -> Batch {
    let tips = uncovered(batch);
    let mut out = batch.clone();
    for (d, (_, changes)) in out.iter_mut().enumerate() {
        for (i, sc) in changes.iter_mut().enumerate() {
            if !tips.contains(&(d, i)) {
                sc.signature = Some([7; 64]);
            }
        }
    }
    out
}

#[test]
fn a_covered_changes_bad_signature_is_taken_unchecked_but_never_sent_as_checked() {
    let (ben, receiver) = story();
    let honest = news(&ben.circle, &receiver);
    // An honest device (Cat's) gets Ben's changes through a hostile relay that spoiled
    // every covered signature: the cover still authenticates them.
    let mut cat = import(&receiver, &key(3)).unwrap();
    let spoiled = with_garbage_on_covered(&honest);
    assert!(sync_merge(spoiled, &mut cat).unwrap().is_empty());
    assert_eq!(state(&cat), state(&ben.circle));

    // Cat forwards each change alone (a message split one change a frame: each is
    // uncovered in its own). What it sends for a change is what it checked, so a fresh
    // device never finds a bad signature in it: no blame. Without a good one, the
    // change is refused for now (unproven, nobody's fault), with what depends on it.
    let mut dan = import(&receiver, &key(4)).unwrap();
    for (doc, changes) in &honest {
        for sc in changes {
            let link = Link {
                hash: sc.change.hash(),
                actor: sc.change.actor_id(),
                deps: sc.change.deps(),
            };
            let sigs = cat.signatures_to_send(doc, &[link]);
            let signature = sigs.first().map(|(_, s)| *s);
            assert!(
                signature.is_none_or(|s| signing::verify_change(
                    sc.change.actor_id(),
                    &sc.change.hash(),
                    Some(&s)
                )
                .is_ok()),
                "Cat sends only signatures it checked"
            );
            let one = vec![(
                doc.clone(),
                vec![SignedChange {
                    change: sc.change.clone(),
                    signature,
                }],
            )];
            let refused = sync_merge(one, &mut dan)
                .unwrap_or_else(|e| panic!("an honest forwarder must not be blamed: {e}"));
            for r in &refused {
                assert!(
                    matches!(
                        r.reason,
                        AuthError::Unproven { .. } | AuthError::DependsOnRefused { .. }
                    ),
                    "{r:?}"
                );
                assert_eq!(r.reason.device(), None, "nobody's own fault");
            }
        }
    }
    // Forwarded whole (as a sync of Cat's document would), the cover travels with them.
    let mut eve = import(&receiver, &key(5)).unwrap();
    let forwarded: Batch = news(&cat, &eve)
        .into_iter()
        .map(|(doc, changes)| {
            let links: Vec<Link<'_>> = changes
                .iter()
                .map(|sc| Link {
                    hash: sc.change.hash(),
                    actor: sc.change.actor_id(),
                    deps: sc.change.deps(),
                })
                .collect();
            let sigs: std::collections::HashMap<_, _> =
                cat.signatures_to_send(&doc, &links).into_iter().collect();
            let changes = changes
                .iter()
                .map(|sc| SignedChange {
                    change: sc.change.clone(),
                    signature: sigs.get(&sc.change.hash()).copied(),
                })
                .collect();
            (doc, changes)
        })
        .collect();
    assert!(sync_merge(forwarded, &mut eve).unwrap().is_empty());
    assert_eq!(state(&eve), state(&ben.circle));
    // And an export of Cat's holds only good signatures: it imports anywhere.
    assert!(import(&cat, &key(6)).is_ok());
}

#[test]
fn an_uncovered_change_without_a_signature_waits_and_blames_nobody() {
    let (ben, receiver) = story();
    let mut batch = news(&ben.circle, &receiver);
    let tips = uncovered(&batch);
    let (d, i) = tips[0];
    let missing = batch[d].1[i].change.hash();
    batch[d].1[i].signature = None;
    let mut cat = import(&receiver, &key(3)).unwrap();
    let refused = sync_merge(batch.clone(), &mut cat).unwrap();
    assert!(refused
        .iter()
        .any(|r| r.hash == missing && matches!(r.reason, AuthError::Unproven { .. })));
    assert!(cat
        .doc(&batch[d].0)
        .unwrap()
        .get_change_by_hash(&missing)
        .is_none());
    // An archive is stricter: a file must vouch for every change itself.
    let dan = import(&receiver, &key(4)).unwrap();
    let err = dan.authorize_merge(&batch).map(|_| ());
    assert!(
        matches!(
            err,
            Err(CoreError::Unauthorized(AuthError::Unsigned { .. }))
        ),
        "{err:?}"
    );
    // The change with its signature is then taken.
    assert!(sync_merge(news(&ben.circle, &cat), &mut cat)
        .unwrap()
        .is_empty());
    assert_eq!(state(&cat), state(&ben.circle));
}

#[test]
fn a_full_message_checks_one_signature_per_author_and_none_twice() {
    let (ben, receiver) = story();
    let batch = news(&ben.circle, &receiver);
    let changes: usize = batch.iter().map(|(_, cs)| cs.len()).sum();
    let tips = uncovered(&batch);
    // Two authors, two documents with changes: at most one tip per author and document.
    let shown: Vec<_> = tips
        .iter()
        .map(|&(d, i)| {
            let c = &batch[d].1[i].change;
            (
                batch[d].0.clone(),
                i,
                c.actor_id().to_hex_string()[..6].to_string(),
                c.deps().len(),
            )
        })
        .collect();
    assert!(
        tips.len() <= 4,
        "{} tips of {changes}: {shown:?}",
        tips.len()
    );
    assert!(changes > 10);
    let mut cat = import(&receiver, &key(3)).unwrap();
    assert!(sync_merge(batch.clone(), &mut cat).unwrap().is_empty());
    // Remembered: the tips' signatures are known good now.
    for (d, i) in tips {
        let sc = &batch[d].1[i];
        assert!(cat
            .checked
            .contains(&sc.change.hash(), &sc.signature.unwrap()));
    }
}

/// A (Ben's device) and B (a fresh one) connected through real engines; `tamper` may alter
/// every sync frame A sends. Returns both circles and B's verdicts on A.
fn engines(
    a: Circle,
    b: Circle,
    tamper: impl Fn(&mut crate::sync::Envelope),
) -> (Circle, Circle, Vec<crate::sync::PeerFault>) {
    use crate::sync::{CircleDocs, Effect, Engine, Envelope, Input};
    use std::collections::{HashMap, VecDeque};
    let id = a.id().to_string();
    let mut circles = [
        HashMap::from([(id.clone(), a)]),
        HashMap::from([(id.clone(), b)]),
    ];
    let mut engines: [Engine<usize>; 2] = [Engine::new(), Engine::new()];
    let mut frames: VecDeque<(usize, Input<usize>)> = VecDeque::new();
    for (me, other) in [(0, 1), (1, 0)] {
        frames.push_back((
            me,
            Input::PeerConnected {
                peer: other,
                circles: vec![id.clone()],
                sync_states: Vec::new(),
            },
        ));
    }
    let mut faults = Vec::new();
    let mut steps = 0;
    while let Some((me, input)) = frames.pop_front() {
        steps += 1;
        assert!(steps < 10_000, "the two engines never went quiet");
        for effect in engines[me].handle(&mut CircleDocs(&mut circles[me]), input) {
            match effect {
                Effect::Send {
                    peer,
                    circle,
                    mut bytes,
                } => {
                    if me == 0 {
                        let mut envelope = Envelope::decode(&bytes).unwrap();
                        tamper(&mut envelope);
                        bytes = envelope.encode().unwrap();
                    }
                    frames.push_back((
                        peer,
                        Input::Received {
                            peer: me,
                            circle,
                            bytes,
                        },
                    ));
                }
                Effect::Misbehaved { reason, .. } if me == 1 => faults.push(reason),
                _ => {}
            }
        }
    }
    let [mut a, mut b] = circles;
    (a.remove(&id).unwrap(), b.remove(&id).unwrap(), faults)
}

/// The key of the first month document `circle` holds.
fn first_month(circle: &Circle) -> String {
    circle
        .doc_keys()
        .into_iter()
        .find(|k| k != CORE_DOC)
        .unwrap()
}

#[test]
fn a_fresh_device_checks_a_whole_month_through_the_engine() {
    let (ben, receiver) = story();
    let month = first_month(&ben.circle);
    assert!(
        receiver.doc(&month).is_none(),
        "the month is new to the receiver"
    );

    // As sent: taken whole, the same document, signatures kept for every change.
    let (a, b, faults) = engines(ben.circle, receiver, |_| {});
    assert!(faults.is_empty(), "{faults:?}");
    assert_eq!(state(&b), state(&a));
    let held = a.signed_changes(&month, &[]);
    assert_eq!(held.len(), 4, "one per decision");
    assert!(held
        .iter()
        .all(|sc| b.signature(&month, &sc.change.hash()) == sc.signature));

    // Every signature of the month spoiled on the way: refused whole, the peer blamed,
    // nothing of the month applied.
    let (ben, receiver) = story();
    let (_, b, faults) = engines(ben.circle, receiver, |e| {
        if let crate::sync::Envelope::Sync {
            doc, signatures, ..
        } = e
        {
            if *doc != CORE_DOC {
                for (_, sig) in signatures.iter_mut() {
                    sig[0] ^= 1;
                }
            }
        }
    });
    assert!(
        faults.iter().any(|f| matches!(
            f,
            crate::sync::PeerFault::Unauthorized {
                reason: AuthError::BadSignature { .. },
                ..
            }
        )),
        "{faults:?}"
    );
    assert!(b.doc(&month).is_none_or(|d| d.get_heads().is_empty()));
}

#[test]
fn a_change_whose_signature_was_let_go_leaves_with_its_cover() {
    let (mut ben, receiver) = story();
    for i in 0..12 {
        quick_decision(&mut ben, &format!("Ben's early {i}"));
    }
    let (a, b, faults) = engines(ben.circle, receiver, |_| {});
    assert!(faults.is_empty(), "{faults:?}");
    ben.circle = a;
    let month = first_month(&ben.circle);
    let before = ben.circle.doc(&month).unwrap().get_heads();
    for i in 0..3 {
        quick_decision(&mut ben, &format!("Ben's late {i}"));
    }
    let late: Vec<ChangeHash> = ben
        .circle
        .doc(&month)
        .unwrap()
        .get_changes(&before)
        .iter()
        .map(|c| c.hash())
        .collect();
    assert_eq!(late.len(), 3, "the late decisions are in the same month");

    // At rest the month keeps only what nothing covers: Ben's newest change's signature.
    let kept = ben.circle.keep_uncovered_signatures(&month).unwrap();
    assert!(ben.circle.keep_uncovered_signatures(CORE_DOC).is_none());
    assert!(kept.iter().any(|(h, _)| *h == late[2]));
    assert!(ben.circle.needs_cover(&month, &late[0]));
    assert!(ben.circle.needs_cover(&month, &late[1]));
    assert!(!ben.circle.needs_cover(&month, &late[2]));
    assert!(
        kept.len() <= 3,
        "one per author of the month: {}",
        kept.len()
    );

    // The first of the late changes goes missing on the way (what a Bloom filter's false
    // positive does too): the peer asks for it by hash, and it must leave with its cover.
    let dropped = std::cell::Cell::new(false);
    let (a, b, faults) = engines(ben.circle, b, |e| {
        if let crate::sync::Envelope::Sync {
            doc,
            message,
            signatures,
        } = e
        {
            if *doc != month || dropped.get() {
                return;
            }
            let changes = signing::message_changes(message).unwrap();
            if changes.len() > 1 && changes.iter().any(|c| c.hash() == late[0]) {
                let rest: Vec<Change> = changes
                    .into_iter()
                    .filter(|c| c.hash() != late[0])
                    .collect();
                *message = signing::with_changes(message.clone(), &rest);
                signatures.retain(|(h, _)| *h != late[0]);
                dropped.set(true);
            }
        }
    });
    assert!(dropped.get(), "the late changes went as one message");
    assert!(faults.is_empty(), "{faults:?}");
    assert_eq!(state(&b), state(&a));
}
