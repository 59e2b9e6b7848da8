//! Engine behaviour through the simulator: convergence, recovery, traffic, hostile peers.

use automerge::sync::{ChunkList, Message, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{AutoSerde, AutomergeError, ObjType, ReadDoc, ROOT};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::sim::{Faults, NodeId, Sim};
use super::*;

const CIRCLE: &str = "grove";
const QUIET: u64 = 100_000;

fn sim(seed: u64) -> Sim<StdRng> {
    Sim::new(StdRng::seed_from_u64(seed))
}

fn addr(doc: &str) -> DocAddr {
    DocAddr::new(CIRCLE, doc)
}

fn put(
    key: &str,
    value: i64,
) -> impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), AutomergeError> + '_ {
    move |tx| tx.put(ROOT, key, value)
}

/// A decision-like record: a map of 8 string fields under a root map keyed by id, with
/// varied text so that compression does not flatter the sizes.
fn decision(
    id: usize,
) -> impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), AutomergeError> {
    move |tx| {
        let obj = tx.put_object(ROOT, format!("decision-{id:05}"), ObjType::Map)?;
        let mut x = (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for field in [
            "title", "body", "owner", "status", "period", "tags", "links", "notes",
        ] {
            let mut text = String::new();
            for _ in 0..5 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text.push_str(&format!("{x:016x} "));
            }
            tx.put(&obj, field, text)?;
        }
        Ok(())
    }
}

fn json(doc: &automerge::Automerge) -> serde_json::Value {
    serde_json::to_value(AutoSerde::from(doc)).unwrap()
}

/// Every node holding `circle` has the same documents with the same heads and content.
fn assert_converged(sim: &Sim<StdRng>, circle: &str) {
    let holders: Vec<NodeId> = (0..sim.nodes().len())
        .filter(|&n| sim.node(n).docs.holds(circle))
        .collect();
    let mut addrs = std::collections::BTreeSet::new();
    for &n in &holders {
        addrs.extend(
            sim.node(n)
                .docs
                .all()
                .keys()
                .filter(|a| a.circle == circle)
                .cloned(),
        );
    }
    let first = holders[0];
    for a in &addrs {
        let Some(reference) = sim.node(first).docs.get(a) else {
            panic!("node {first} lacks {a}");
        };
        for &n in &holders[1..] {
            let Some(doc) = sim.node(n).docs.get(a) else {
                panic!("node {n} lacks {a}, which node {first} has");
            };
            assert_eq!(
                doc.get_heads(),
                reference.get_heads(),
                "heads of {a} on node {n} and {first} differ"
            );
            assert_eq!(
                json(doc),
                json(reference),
                "content of {a} on node {n} and {first} differs"
            );
        }
    }
    for &n in &holders {
        assert!(
            sim.node(n).misbehaved.is_empty(),
            "node {n} saw misbehaviour: {:?}",
            sim.node(n).misbehaved
        );
    }
}

fn synced_pair(seed: u64) -> Sim<StdRng> {
    let mut s = sim(seed);
    let a = s.add_node(&[CIRCLE]);
    let b = s.add_node(&[CIRCLE]);
    s.connect(a, b);
    s
}

#[test]
fn two_peers_converge_on_concurrent_edits() {
    let mut s = synced_pair(1);
    s.edit(0, &addr("core"), put("x", 1)).unwrap();
    s.edit(1, &addr("core"), put("x", 2)).unwrap();
    s.edit(1, &addr("core"), put("y", 3)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
    let doc = s.node(0).docs.get(&addr("core")).unwrap();
    assert_eq!(
        doc.get_all(ROOT, "x").unwrap().len(),
        2,
        "both concurrent writes of x are kept as a conflict"
    );
    assert!(
        s.node(0).persists > 0 && s.node(1).persists > 0,
        "each side must be asked to persist the other's change"
    );
}

#[test]
fn a_new_document_reaches_peers_that_lack_it() {
    let mut s = synced_pair(2);
    s.edit(0, &addr("core"), put("x", 1)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    s.edit(1, &addr("decisions/2026-11"), decision(1)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    assert!(
        s.node(0).docs.get(&addr("decisions/2026-11")).is_some(),
        "the new shard must be created on node 0"
    );
    assert_converged(&s, CIRCLE);
}

#[test]
fn documents_held_before_connecting_are_exchanged_via_announce() {
    let mut s = sim(3);
    let a = s.add_node(&[CIRCLE]);
    let b = s.add_node(&[CIRCLE]);
    s.edit(a, &addr("core"), put("a", 1)).unwrap();
    s.edit(b, &addr("decisions/2026-10"), put("b", 2)).unwrap();
    s.edit(b, &addr("core"), put("b", 2)).unwrap();
    s.connect(a, b);
    s.run_until_quiet(QUIET).unwrap();
    assert_eq!(
        s.node(a).docs.all().len(),
        2,
        "node a must now hold both documents"
    );
    assert_converged(&s, CIRCLE);
}

#[test]
fn changes_travel_across_hops() {
    let mut s = sim(4);
    let nodes: Vec<NodeId> = (0..4).map(|_| s.add_node(&[CIRCLE])).collect();
    for w in nodes.windows(2) {
        s.connect(w[0], w[1]);
    }
    s.edit(0, &addr("core"), put("from-0", 0)).unwrap();
    s.edit(3, &addr("core"), put("from-3", 3)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
    let doc = s.node(3).docs.get(&addr("core")).unwrap();
    assert!(
        doc.get(ROOT, "from-0").unwrap().is_some(),
        "node 0's edit must reach node 3 through 1 and 2"
    );
}

#[test]
fn circles_not_shared_are_not_sent() {
    let mut s = sim(5);
    let a = s.add_node(&[CIRCLE, "private"]);
    let b = s.add_node(&[CIRCLE]);
    s.edit(a, &DocAddr::new("private", "core"), put("secret", 1))
        .unwrap();
    s.edit(a, &addr("core"), put("public", 1)).unwrap();
    s.connect(a, b);
    s.run_until_quiet(QUIET).unwrap();
    assert!(
        s.node(b).docs.all().keys().all(|k| k.circle == CIRCLE),
        "b must not receive documents of a circle it does not share"
    );
    assert_converged(&s, CIRCLE);
}

#[test]
fn a_lost_change_is_sent_again_when_the_peer_asks_for_it() {
    let mut s = synced_pair(6);
    s.edit(0, &addr("core"), put("x", 1)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    s.partition(0, 1);
    s.edit(0, &addr("core"), put("x", 2)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    s.heal();
    // This change depends on the lost one, so node 1 will ask for the lost one by hash.
    s.edit(0, &addr("core"), put("y", 3)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
}

#[test]
fn a_lost_frame_with_nothing_after_it_waits_for_resync() {
    let mut s = synced_pair(6);
    s.edit(0, &addr("core"), put("x", 1)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    s.partition(0, 1);
    s.edit(0, &addr("core"), put("x", 2)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    s.heal();
    s.run_until_quiet(QUIET).unwrap();
    let heads = |s: &Sim<StdRng>, n: NodeId| s.node(n).docs.get(&addr("core")).unwrap().get_heads();
    assert_ne!(
        heads(&s, 0),
        heads(&s, 1),
        "nothing but a resync can tell node 0 its frame was lost"
    );
    s.resync(0);
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
}

#[test]
fn resync_on_the_receiving_side_alone_also_repairs() {
    let mut s = synced_pair(7);
    s.edit(0, &addr("core"), put("x", 1)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    s.partition(0, 1);
    s.edit(0, &addr("core"), put("x", 2)).unwrap();
    s.heal();
    s.resync(1);
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
}

/// Builds a synced pair whose shared document holds `n` decisions, then disconnects it.
fn synced_then_disconnected(n: usize) -> Sim<StdRng> {
    let mut s = synced_pair(8);
    for id in 0..n {
        s.edit(0, &addr("decisions/2026-11"), decision(id)).unwrap();
    }
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
    s.disconnect(0, 1);
    s
}

#[test]
fn reconnecting_with_saved_sync_states_sends_only_what_is_new() {
    let mut fresh = sim(9);
    let a = fresh.add_node(&[CIRCLE]);
    let b = fresh.add_node(&[CIRCLE]);
    for id in 0..200 {
        fresh
            .edit(a, &addr("decisions/2026-11"), decision(id))
            .unwrap();
    }
    fresh.take_stats();
    fresh.connect(a, b);
    fresh.run_until_quiet(QUIET).unwrap();
    let full = fresh.take_stats().bytes_sent;

    let mut s = synced_then_disconnected(200);
    assert!(
        !s.node(0).saved_sync_states.is_empty(),
        "a sync must leave states to save"
    );
    s.edit(0, &addr("decisions/2026-11"), decision(1000))
        .unwrap();
    s.take_stats();
    s.connect(0, 1);
    s.run_until_quiet(QUIET).unwrap();
    let incremental = s.take_stats().bytes_sent;
    assert_converged(&s, CIRCLE);
    assert!(
        incremental * 20 < full,
        "reconnect with one new decision sent {incremental} B, a full sync {full} B: saved states must avoid a full exchange"
    );
    assert!(
        incremental < 2_000,
        "one decision's change and a few heads fit in 2 KB, sent {incremental} B"
    );
}

#[test]
fn reconnecting_with_nothing_new_sends_one_announce_each_way() {
    let mut s = synced_then_disconnected(20);
    for shard in ["core", "decisions/2026-10", "decisions/2026-12"] {
        s.edit(1, &addr(shard), put("k", 1)).unwrap();
    }
    s.connect(0, 1);
    s.run_until_quiet(QUIET).unwrap();
    s.disconnect(0, 1);
    s.take_stats();
    s.connect(0, 1);
    s.run_until_quiet(QUIET).unwrap();
    let stats = s.take_stats();
    assert_eq!(
        stats.frames_sent, 2,
        "identical documents need only the two announces"
    );
    assert_converged(&s, CIRCLE);
}

#[test]
fn edits_during_a_first_sync_do_not_resend_the_whole_document() {
    let mut s = sim(10);
    let a = s.add_node(&[CIRCLE]);
    let b = s.add_node(&[CIRCLE]);
    for id in 0..100 {
        s.edit(a, &addr("core"), decision(id)).unwrap();
    }
    s.connect(a, b);
    // Edits made while the first exchange is under way, each with frames still in flight:
    // every message they cause is answered with empty heads until b has loaded the
    // document, and automerge answers empty heads with the whole document.
    for id in 100..110 {
        s.edit(a, &addr("core"), decision(id)).unwrap();
        s.step_n(1);
    }
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
    let sent = s.take_stats().bytes_sent;
    let doc_size = s.node(a).docs.get(&addr("core")).unwrap().save().len() as u64;
    assert!(
        2 * sent < 3 * doc_size,
        "sent {sent} B to sync a {doc_size} B document: the whole document went out more than once"
    );
}

#[test]
fn a_lost_document_save_is_repaired_despite_a_newer_saved_sync_state() {
    let mut s = synced_pair(11);
    s.edit(0, &addr("core"), put("x", 1)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    let before = s.node(1).docs.get(&addr("core")).unwrap().clone();
    s.edit(0, &addr("core"), put("y", 2)).unwrap();
    s.run_until_quiet(QUIET).unwrap();
    s.disconnect(0, 1);
    // Node 1 saved its sync state but crashed before saving the document.
    s.docs_mut(1).replace(addr("core"), before);
    s.connect(0, 1);
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
}

#[test]
fn a_peers_change_is_persisted_before_it_is_shown_and_answered() {
    let mut docs = [
        sim::MemDocs::new(automerge::ActorId::from([1u8; 16]), [CIRCLE.to_owned()]),
        sim::MemDocs::new(automerge::ActorId::from([2u8; 16]), [CIRCLE.to_owned()]),
    ];
    let doc = docs[0].create(&addr("core")).unwrap();
    let mut tx = doc.transaction();
    tx.put(ROOT, "k", "v").unwrap();
    tx.commit();
    let mut engines: [Engine<usize>; 2] = [Engine::new(), Engine::new()];
    let mut frames = std::collections::VecDeque::new();
    let mut effects_of_b = Vec::new();
    for me in 0..2 {
        let input = Input::PeerConnected {
            peer: 1 - me,
            circles: vec![CIRCLE.into()],
            sync_states: vec![],
        };
        frames.extend(
            engines[me]
                .handle(&mut docs[me], input)
                .into_iter()
                .map(|e| (me, e)),
        );
    }
    while let Some((from, effect)) = frames.pop_front() {
        let Effect::Send {
            peer: to,
            circle,
            bytes,
        } = effect
        else {
            continue;
        };
        let input = Input::Received {
            peer: from,
            circle,
            bytes,
        };
        let effects = engines[to].handle(&mut docs[to], input);
        if to == 1 {
            effects_of_b.push(effects.clone());
        }
        frames.extend(effects.into_iter().map(|e| (to, e)));
    }
    assert_eq!(
        docs[1].get(&addr("core")).unwrap().get_heads(),
        docs[0].get(&addr("core")).unwrap().get_heads(),
        "b must end with a's document"
    );
    let applying: Vec<&Vec<Effect<usize>>> = effects_of_b
        .iter()
        .filter(|effects| effects.iter().any(|e| matches!(e, Effect::Persist { .. })))
        .collect();
    assert_eq!(
        applying.len(),
        1,
        "one message carried a's change: {effects_of_b:?}"
    );
    let kinds: Vec<&str> = applying[0]
        .iter()
        .map(|e| match e {
            Effect::Persist { .. } => "persist",
            Effect::SaveSyncState { .. } => "save-sync-state",
            Effect::Changed { .. } => "changed",
            Effect::Send { .. } => "send",
            Effect::Misbehaved { .. } => "misbehaved",
            Effect::Refused { .. } => "refused",
        })
        .collect();
    assert_eq!(kinds, ["persist", "save-sync-state", "changed", "send"]);
}

fn engine_with_peer() -> (Engine<u8>, sim::MemDocs) {
    let mut docs = sim::MemDocs::new(automerge::ActorId::from([1u8; 16]), [CIRCLE.to_owned()]);
    let mut engine = Engine::new();
    let effects = engine.handle(
        &mut docs,
        Input::PeerConnected {
            peer: 7,
            circles: vec![CIRCLE.into()],
            sync_states: vec![],
        },
    );
    assert_eq!(
        effects.len(),
        1,
        "connecting announces the one shared circle"
    );
    (engine, docs)
}

fn received(bytes: Vec<u8>) -> Input<u8> {
    Input::Received {
        peer: 7,
        circle: CIRCLE.into(),
        bytes,
    }
}

#[test]
fn garbage_frame_marks_peer_misbehaved_and_forgets_it() {
    let (mut engine, mut docs) = engine_with_peer();
    let effects = engine.handle(&mut docs, received(vec![1, 2, 0xff]));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Misbehaved {
                peer: 7,
                reason: PeerFault::Envelope(_)
            }]
        ),
        "got {effects:?}"
    );
    assert_eq!(engine.peers().count(), 0, "a misbehaving peer is forgotten");
    let announce = Envelope::Announce {
        docs: vec![],
        restarted: false,
    }
    .encode()
    .unwrap();
    assert!(
        engine.handle(&mut docs, received(announce)).is_empty(),
        "frames from a forgotten peer are ignored"
    );
}

#[test]
fn frame_for_unshared_circle_is_misbehaviour() {
    let (mut engine, mut docs) = engine_with_peer();
    let effects = engine.handle(
        &mut docs,
        Input::Received {
            peer: 7,
            circle: "other".into(),
            bytes: Envelope::Announce {
                docs: vec![],
                restarted: false,
            }
            .encode()
            .unwrap(),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::Misbehaved {
            peer: 7,
            reason: PeerFault::CircleNotShared {
                circle: "other".into()
            }
        }]
    );
}

#[test]
fn changes_automerge_refuses_are_misbehaviour() {
    let (mut engine, mut docs) = engine_with_peer();
    let message = Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: ChunkList::from(vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 1, 0]]),
        flags: None,
        version: MessageVersion::V1,
    };
    let frame = Envelope::Sync {
        doc: "core".into(),
        message,
        signatures: vec![],
    }
    .encode()
    .unwrap();
    let effects = engine.handle(&mut docs, received(frame));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Misbehaved {
                peer: 7,
                reason: PeerFault::BadChanges { .. }
            }]
        ),
        "got {effects:?}"
    );
}

#[test]
fn unreadable_saved_sync_state_falls_back_to_a_full_exchange() {
    let mut docs = sim::MemDocs::new(automerge::ActorId::from([1u8; 16]), [CIRCLE.to_owned()]);
    let mut engine: Engine<u8> = Engine::new();
    let effects = engine.handle(
        &mut docs,
        Input::PeerConnected {
            peer: 7,
            circles: vec![CIRCLE.into()],
            sync_states: vec![(addr("core"), vec![0xde, 0xad])],
        },
    );
    assert!(
        matches!(effects.as_slice(), [Effect::Send { peer: 7, .. }]),
        "got {effects:?}"
    );
}

#[derive(Debug, Clone)]
enum Op {
    Edit {
        node: usize,
        doc: usize,
        key: usize,
        value: i64,
        nested: bool,
    },
    Deliver(usize),
    Resync(usize),
    Partition(usize, usize),
    Heal,
    Reconnect(usize, usize),
}

const DOCS: [&str; 3] = ["core", "decisions/2026-11", "decisions/2026-12"];
const KEYS: [&str; 3] = ["a", "b", "c"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..5usize, 0..DOCS.len(), 0..KEYS.len(), any::<i64>(), any::<bool>())
            .prop_map(|(node, doc, key, value, nested)| Op::Edit { node, doc, key, value, nested }),
        6 => (1..20usize).prop_map(Op::Deliver),
        1 => (0..5usize).prop_map(Op::Resync),
        1 => (0..5usize, 0..5usize).prop_map(|(a, b)| Op::Partition(a, b)),
        1 => Just(Op::Heal),
        1 => (0..5usize, 0..5usize).prop_map(|(a, b)| Op::Reconnect(a, b)),
    ]
}

fn edit(
    key: &'static str,
    value: i64,
    nested: bool,
) -> impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), AutomergeError> {
    move |tx| {
        if !nested {
            return tx.put(ROOT, key, value);
        }
        let map = match tx.get(ROOT, "items")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => tx.put_object(ROOT, "items", ObjType::Map)?,
        };
        tx.put(&map, key, value)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("SYNC_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64), ..ProptestConfig::default() })]

    /// Whatever the network did, once it heals and every node resyncs, all converge.
    #[test]
    fn engines_converge_after_any_faults(
        n in 2..=5usize,
        extra_links in proptest::collection::vec((0..5usize, 0..5usize), 0..4),
        drop_percent in 0..40u32,
        duplicate_percent in 0..30u32,
        max_delay in 0..5u64,
        ops in proptest::collection::vec(op(), 1..60),
        seed in any::<u64>(),
    ) {
        let mut s = sim(seed);
        for _ in 0..n {
            s.add_node(&[CIRCLE]);
        }
        // A chain keeps the graph connected; extra links add cycles and shortcuts.
        for i in 1..n {
            s.connect(i - 1, i);
        }
        for (a, b) in extra_links {
            let (a, b) = (a % n, b % n);
            if a != b && !s.is_connected(a, b) {
                s.connect(a, b);
            }
        }
        s.set_faults(Faults { drop_percent, duplicate_percent, max_delay });
        for op in ops {
            match op {
                Op::Edit { node, doc, key, value, nested } => {
                    s.edit(node % n, &addr(DOCS[doc]), edit(KEYS[key], value, nested)).unwrap();
                }
                Op::Deliver(k) => s.step_n(k),
                Op::Resync(node) => s.resync(node % n),
                Op::Partition(a, b) => s.partition(a % n, b % n),
                Op::Heal => s.heal(),
                Op::Reconnect(a, b) => {
                    let (a, b) = (a % n, b % n);
                    if a != b && s.is_connected(a, b) {
                        s.disconnect(a, b);
                        s.connect(a, b);
                    }
                }
            }
        }
        s.set_faults(Faults::NONE);
        s.heal();
        // Lost frames may leave sessions stalled, but never chattering forever.
        s.run_until_quiet(QUIET).unwrap();
        s.resync_all();
        s.run_until_quiet(QUIET).unwrap();
        assert_converged(&s, CIRCLE);
        // A node only learns a peer's heads from that peer: one that converged through a
        // third node may hold stale ones. With nothing changing any more, one more round
        // of announcements must leave every pair knowing it is in sync.
        s.resync_all();
        s.run_until_quiet(QUIET).unwrap();
        assert_connected_pairs_in_sync(&s);
    }
}

/// Every connected pair reports the circle in sync, both ways.
fn assert_connected_pairs_in_sync(s: &Sim<StdRng>) {
    let n = s.nodes().len();
    for a in 0..n {
        for b in 0..n {
            if a != b && s.is_connected(a, b) {
                let node = s.node(a);
                assert!(
                    node.engine.in_sync(&node.docs, &b, CIRCLE),
                    "node {a} must see {CIRCLE} in sync with {b} once converged"
                );
            }
        }
    }
}

#[test]
fn in_sync_turns_false_on_a_local_change_and_true_once_exchanged() {
    let mut s = synced_pair(21);
    assert!(
        !s.node(0).engine.in_sync(&s.node(0).docs, &1, CIRCLE),
        "nothing is known before the peer's announce arrives"
    );
    s.run_until_quiet(QUIET).unwrap();
    assert_connected_pairs_in_sync(&s);
    s.edit(0, &addr("core"), put("x", 1)).unwrap();
    s.edit(1, &addr("decisions/2026-11"), decision(1)).unwrap();
    assert!(
        !s.node(0).engine.in_sync(&s.node(0).docs, &1, CIRCLE),
        "a local change the peer has not acknowledged is not in sync"
    );
    assert!(!s.node(1).engine.in_sync(&s.node(1).docs, &0, CIRCLE));
    s.run_until_quiet(QUIET).unwrap();
    assert_converged(&s, CIRCLE);
    assert_connected_pairs_in_sync(&s);
    s.resync_all();
    assert_connected_pairs_in_sync(&s);
    assert!(
        !s.node(0)
            .engine
            .in_sync(&s.node(0).docs, &1, "another-circle"),
        "a circle not shared is never in sync"
    );
}
