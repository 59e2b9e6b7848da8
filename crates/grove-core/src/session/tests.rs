//! Whole peer sessions played through the simulator ([`super::sim`]): restarts behind a
//! live connection, twins, partitions, removals, outsiders, and a property over seeds and
//! topologies.

use std::collections::BTreeMap;

use automerge::transaction::Transactable as _;
use automerge::ROOT;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use super::join::{decode_reply, encode_join, Reply, JOIN_BURST};
use super::sim::{device_key, Identity, NodeIdx, PipeId, Sim};
use super::{Fault, JoinFrame, CONTROL_CIRCLE, HELLO, JOIN, JOIN_REPLY, SYNC};
use crate::sync::{DocAddr, Envelope};
use crate::Refusal;

const C1: &str = "c-1";
const LIMIT: u64 = 100_000;

fn sim(seed: u64) -> Sim<StdRng> {
    Sim::new(StdRng::seed_from_u64(seed))
}

fn edit(sim: &mut Sim<StdRng>, node: NodeIdx, doc: &str, key: &str, value: i64) {
    sim.edit(node, &DocAddr::new(C1, doc), |tx| {
        tx.put(ROOT, key, value)?;
        Ok(())
    })
    .expect("the simulated node holds the circle");
}

fn quiet(sim: &mut Sim<StdRng>) {
    sim.run_until_quiet(LIMIT).expect("the network goes quiet");
}

/// Every node in `nodes` holds the same non-empty documents of `C1`.
fn assert_converged(sim: &Sim<StdRng>, nodes: &[NodeIdx]) {
    let first = sim.heads(nodes[0], C1);
    assert!(!first.is_empty(), "node {} holds nothing", nodes[0]);
    for &n in &nodes[1..] {
        assert_eq!(
            sim.heads(n, C1),
            first,
            "node {n} differs from node {}",
            nodes[0]
        );
    }
}

fn blamed(sim: &Sim<StdRng>, node: NodeIdx) -> Vec<(Identity, Fault)> {
    sim.node(node).misbehaved.clone()
}

fn hellos_received(sim: &Sim<StdRng>, node: NodeIdx) -> usize {
    let received = &sim.node(node).received;
    received.iter().filter(|d| d.kind == HELLO).count()
}

/// `n` members of `C1`, identities 1..=n, each knowing all of them.
fn members(sim: &mut Sim<StdRng>, n: u32) -> Vec<NodeIdx> {
    let nodes: Vec<NodeIdx> = (1..=n).map(|id| sim.add_node(id, &[C1])).collect();
    let ids: Vec<Identity> = (1..=n).collect();
    sim.set_members_everywhere(C1, &ids);
    nodes
}

#[test]
fn members_greet_each_other_and_converge() {
    let mut sim = sim(1);
    let m = members(&mut sim, 2);
    edit(&mut sim, m[0], "core", "a", 1);
    edit(&mut sim, m[1], "decisions/2026-11", "b", 2);
    sim.connect(m[0], m[1]);
    quiet(&mut sim);
    assert_converged(&sim, &m);
    for (me, peer) in [(0, 2), (1, 1)] {
        let link = sim.node(m[me]).machine.link(&peer).expect("linked");
        assert!(link.heard());
        assert!(link.synced().contains(C1), "{me} knows it is in sync");
        assert!(sim.node(m[me]).synced.contains(&(peer, C1.to_owned())));
    }
    assert!(blamed(&sim, m[0]).is_empty() && blamed(&sim, m[1]).is_empty());
}

#[test]
fn an_outsider_gets_no_hello_and_its_sync_frames_are_a_fault() {
    let mut sim = sim(2);
    let m = members(&mut sim, 1);
    let outsider = sim.add_node(9, &[]);
    edit(&mut sim, m[0], "core", "a", 1);
    let pipe = sim.connect(m[0], outsider);
    quiet(&mut sim);
    assert!(
        sim.node(outsider).received.is_empty(),
        "an outsider is told nothing, not even a hello"
    );
    let announce = Envelope::Announce {
        docs: Vec::new(),
        restarted: false,
    }
    .encode()
    .expect("an announce encodes");
    sim.inject(pipe, outsider, C1, SYNC, announce);
    quiet(&mut sim);
    assert_eq!(blamed(&sim, m[0]), vec![(9, Fault::SyncBeforeHello)]);
    assert!(sim.node(m[0]).machine.link(&9).is_none(), "and dropped");
}

#[test]
fn a_holder_who_is_not_a_member_is_not_synced_even_after_its_hello() {
    let mut sim = sim(3);
    let m = members(&mut sim, 1);
    // It holds the circle and believes itself a member; the member does not count it.
    let stranger = sim.add_node(9, &[C1]);
    sim.set_members(stranger, C1, &[1, 9]);
    edit(&mut sim, m[0], "core", "secret", 1);
    edit(&mut sim, stranger, "core", "forged", 2);
    let pipe = sim.connect(m[0], stranger);
    quiet(&mut sim);
    assert_eq!(sim.sync_frames_received(stranger, C1), 0);
    assert!(
        !sim.node(stranger).received.iter().any(|d| d.kind == HELLO),
        "no hello names the circle to it"
    );
    let announce = Envelope::Announce {
        docs: Vec::new(),
        restarted: false,
    }
    .encode()
    .expect("an announce encodes");
    sim.inject(pipe, stranger, C1, SYNC, announce);
    quiet(&mut sim);
    assert_eq!(blamed(&sim, m[0]), vec![(9, Fault::NotMember)]);
    assert_ne!(sim.heads(m[0], C1), sim.heads(stranger, C1));
}

#[test]
fn a_member_restarting_behind_a_live_connection_is_greeted_again() {
    let mut sim = sim(4);
    let m = members(&mut sim, 2);
    edit(&mut sim, m[0], "core", "a", 1);
    edit(&mut sim, m[1], "core", "b", 2);
    sim.connect(m[0], m[1]);
    // Mid-sync: some frames are still on their way when the second node restarts with
    // nothing, while the first still holds the old link and its hello.
    sim.step_n(3);
    sim.restart(m[1], true);
    edit(&mut sim, m[1], "core", "c", 3);
    quiet(&mut sim);
    assert_converged(&sim, &m);
    assert!(blamed(&sim, m[0]).is_empty() && blamed(&sim, m[1]).is_empty());
}

#[test]
fn sync_frames_before_the_hello_of_a_member_ask_it_once_to_start_over() {
    let mut sim = sim(5);
    let m = members(&mut sim, 2);
    edit(&mut sim, m[0], "core", "a", 1);
    let pipe = sim.connect(m[0], m[1]);
    quiet(&mut sim);
    // The first node restarts and its fresh hello is lost; the second carries on and
    // sends sync frames the first knows nothing of.
    sim.partition(pipe);
    sim.restart(m[0], false);
    sim.heal();
    edit(&mut sim, m[1], "core", "b", 2);
    quiet(&mut sim);
    assert_converged(&sim, &m);
    assert!(blamed(&sim, m[0]).is_empty() && blamed(&sim, m[1]).is_empty());
}

/// Two nodes whose hellos were both lost: each waits for the other's.
fn both_hellos_lost(seed: u64) -> (Sim<StdRng>, Vec<NodeIdx>, PipeId) {
    let mut sim = sim(seed);
    let m = members(&mut sim, 2);
    edit(&mut sim, m[0], "core", "a", 1);
    edit(&mut sim, m[1], "core", "b", 2);
    let pipe = sim.connect(m[0], m[1]);
    sim.partition(pipe);
    quiet(&mut sim);
    sim.heal();
    (sim, m, pipe)
}

#[test]
fn both_hellos_lost_are_sent_again_at_the_next_resync() {
    // As netlab saw: two nodes on one LAN dial each other at once, both hellos go out on
    // a connection that closes at once, and the transport reports a lost connection (a
    // resync) while the other one stays up and idle.
    let (mut sim, m, _) = both_hellos_lost(11);
    sim.resync_all();
    quiet(&mut sim);
    assert_converged(&sim, &m);
    assert!(blamed(&sim, m[0]).is_empty() && blamed(&sim, m[1]).is_empty());
}

#[test]
fn both_hellos_lost_on_an_old_path_are_sent_again_when_the_path_changes() {
    let (mut sim, m, pipe) = both_hellos_lost(11);
    sim.path_changed(pipe);
    quiet(&mut sim);
    assert_converged(&sim, &m);
    assert!(blamed(&sim, m[0]).is_empty() && blamed(&sim, m[1]).is_empty());
}

#[test]
fn frames_of_an_ended_connection_are_dropped_not_taken_for_the_new_ones() {
    for seed in 0..16 {
        let mut sim = sim(seed);
        let m = members(&mut sim, 2);
        edit(&mut sim, m[0], "core", "a", 1);
        edit(&mut sim, m[1], "core", "b", 2);
        let old = sim.connect(m[0], m[1]);
        // Both hellos arrive and the announces that follow are in flight when the
        // connection ends and a new one opens: read on the new one, before its hello, they
        // would look like a sync the reader knows nothing of.
        sim.step_n(2);
        sim.disconnect(old);
        sim.connect(m[0], m[1]);
        quiet(&mut sim);
        assert_converged(&sim, &m);
        for n in &m {
            assert!(blamed(&sim, *n).is_empty(), "seed {seed}");
            assert!(
                sim.node(*n).restarted_by.is_empty(),
                "seed {seed}: a clean reconnect starts nothing over"
            );
        }
    }
}

#[test]
fn twins_sharing_one_identity_confuse_no_one_into_blame() {
    let mut sim = sim(7);
    let c = sim.add_node(1, &[C1]);
    let t1 = sim.add_node(2, &[C1]);
    let t2 = sim.add_node(2, &[C1]);
    sim.set_members_everywhere(C1, &[1, 2]);
    for (n, v) in [(c, 1), (t1, 2), (t2, 3)] {
        edit(&mut sim, n, "core", &format!("k{n}"), v);
    }
    let first = sim.connect(c, t1);
    sim.step_n(2);
    // The second twin's connection replaces the first's link: the first's frames are
    // from an ended session now.
    sim.connect(c, t2);
    quiet(&mut sim);
    sim.disconnect(first);
    sim.resync_all();
    quiet(&mut sim);
    assert_converged(&sim, &[c, t2]);
    for n in [c, t1, t2] {
        assert!(
            blamed(&sim, n).is_empty(),
            "node {n}: {:?}",
            blamed(&sim, n)
        );
    }
}

#[test]
fn a_partition_heals_with_a_resync() {
    let mut sim = sim(8);
    let m = members(&mut sim, 3);
    sim.connect(m[0], m[1]);
    let cut = sim.connect(m[1], m[2]);
    edit(&mut sim, m[0], "core", "a", 1);
    quiet(&mut sim);
    sim.partition(cut);
    edit(&mut sim, m[2], "core", "c", 3);
    edit(&mut sim, m[0], "decisions/2026-11", "d", 4);
    quiet(&mut sim);
    assert_ne!(sim.heads(m[0], C1), sim.heads(m[2], C1));
    sim.heal();
    sim.resync_all();
    quiet(&mut sim);
    assert_converged(&sim, &m);
}

#[test]
fn a_removed_member_is_disconnected_and_sent_nothing_more() {
    let mut sim = sim(9);
    let m = members(&mut sim, 3);
    sim.connect(m[0], m[1]);
    sim.connect(m[0], m[2]);
    sim.connect(m[1], m[2]);
    edit(&mut sim, m[0], "core", "a", 1);
    quiet(&mut sim);
    assert_converged(&sim, &m);
    let before = sim.sync_frames_received(m[2], C1);
    let hellos = hellos_received(&sim, m[2]);
    // The others hear of the removal; the removed member still counts them in.
    sim.set_members(m[0], C1, &[1, 2]);
    sim.set_members(m[1], C1, &[1, 2]);
    quiet(&mut sim);
    assert!(sim.node(m[0]).removed.contains(&3));
    assert!(sim.node(m[1]).removed.contains(&3));
    edit(&mut sim, m[0], "core", "after", 2);
    sim.resync_all();
    quiet(&mut sim);
    assert_eq!(sim.sync_frames_received(m[2], C1), before);
    assert_eq!(
        hellos_received(&sim, m[2]),
        hellos,
        "not even an empty hello"
    );
    assert_converged(&sim, &m[..2]);
    assert_ne!(sim.heads(m[2], C1), sim.heads(m[0], C1));
    for n in &m {
        assert!(blamed(&sim, *n).is_empty(), "a removal blames no one");
    }
}

#[test]
fn a_newly_admitted_member_is_greeted_without_reconnecting() {
    let mut sim = sim(10);
    let a = sim.add_node(1, &[C1]);
    let b = sim.add_node(2, &[C1]);
    sim.set_members(a, C1, &[1]);
    sim.set_members(b, C1, &[1, 2]);
    edit(&mut sim, a, "core", "a", 1);
    sim.connect(a, b);
    quiet(&mut sim);
    assert!(
        sim.heads(b, C1).is_empty(),
        "not yet a member: nothing synced"
    );
    sim.set_members(a, C1, &[1, 2]);
    quiet(&mut sim);
    assert_converged(&sim, &[a, b]);
    for n in [a, b] {
        assert!(
            sim.node(n).restarted_by.is_empty(),
            "greeted on admission, not found out by asking"
        );
    }
}

#[test]
fn a_peers_core_change_is_reported_in_sync_once_access_is_settled() {
    let mut sim = sim(11);
    let m = members(&mut sim, 2);
    edit(&mut sim, m[0], "core", "a", 1);
    sim.connect(m[0], m[1]);
    quiet(&mut sim);
    assert_converged(&sim, &m);
    for (me, peer) in [(m[0], 2), (m[1], 1)] {
        let link = sim.node(me).machine.link(&peer).expect("linked");
        assert!(link.synced().contains(C1), "node {me} knows it is in sync");
    }
}

/// A join request from `id` for `C1`, with a made-up secret.
fn join_request(id: Identity) -> Vec<u8> {
    encode_join(&JoinFrame {
        circle: C1.into(),
        invite: "i-guess".into(),
        member: format!("m-{id}"),
        name: "Mallory".into(),
        device: device_key(id),
        fresh: true,
        proof: [7; 32],
    })
}

/// The join answers `node` received.
fn join_replies(sim: &Sim<StdRng>, node: NodeIdx) -> Vec<Reply> {
    let received = &sim.node(node).received;
    received
        .iter()
        .filter(|d| d.circle == CONTROL_CIRCLE && d.kind == JOIN_REPLY)
        .map(|d| decode_reply(&d.bytes).expect("a join answer decodes"))
        .collect()
}

#[test]
fn a_joiner_guessing_secrets_gets_answers_no_circle_data_and_is_dropped_after_three() {
    let mut sim = sim(12);
    let m = members(&mut sim, 1);
    let joiner = sim.add_node(9, &[]);
    edit(&mut sim, m[0], "core", "a", 1);
    let pipe = sim.connect(m[0], joiner);
    for _ in 0..4 {
        sim.inject(pipe, joiner, CONTROL_CIRCLE, JOIN, join_request(9));
    }
    quiet(&mut sim);
    let replies = join_replies(&sim, joiner);
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert!(replies
        .iter()
        .all(|r| matches!(r, Reply::Refused { code: 2, .. })));
    assert_eq!(
        sim.node(joiner).received.len(),
        3,
        "nothing but the answers"
    );
    assert_eq!(
        blamed(&sim, m[0]),
        vec![(
            9,
            Fault::Join("sent too many join requests without the invite's secret".into())
        )]
    );
}

#[test]
fn a_join_request_naming_another_device_is_a_fault() {
    let mut sim = sim(13);
    let m = members(&mut sim, 1);
    let joiner = sim.add_node(9, &[]);
    let pipe = sim.connect(m[0], joiner);
    sim.inject(pipe, joiner, CONTROL_CIRCLE, JOIN, join_request(1));
    sim.inject(pipe, joiner, CONTROL_CIRCLE, JOIN, vec![1, 2, 3]);
    quiet(&mut sim);
    assert!(join_replies(&sim, joiner).is_empty());
    assert_eq!(
        blamed(&sim, m[0]),
        vec![(
            9,
            Fault::Join("asked to join with a device key that is not its own".into())
        )]
    );
    let other = sim.add_node(10, &[]);
    let pipe = sim.connect(m[0], other);
    sim.inject(pipe, other, CONTROL_CIRCLE, JOIN, vec![1, 2, 3]);
    quiet(&mut sim);
    assert!(
        matches!(&blamed(&sim, m[0])[1], (10, Fault::Join(why)) if why.starts_with("sent an invalid join request")),
        "{:?}",
        blamed(&sim, m[0])
    );
}

#[test]
fn strangers_joining_all_at_once_are_told_to_come_back_past_the_burst() {
    let mut sim = sim(14);
    let m = members(&mut sim, 1);
    let mut strangers = Vec::new();
    for id in 100..100 + JOIN_BURST + 1 {
        let s = sim.add_node(id, &[]);
        let pipe = sim.connect(m[0], s);
        sim.inject(pipe, s, CONTROL_CIRCLE, JOIN, join_request(id));
        quiet(&mut sim);
        strangers.push(s);
    }
    let busy = Refusal::Busy.to_string();
    for (i, s) in strangers.iter().enumerate() {
        let replies = join_replies(&sim, *s);
        let told_busy =
            matches!(&replies[..], [Reply::Refused { message, .. }] if *message == busy);
        assert_eq!(
            told_busy,
            i == strangers.len() - 1,
            "stranger {i}: {replies:?}"
        );
    }
    assert!(blamed(&sim, m[0]).is_empty());
}

/// A member whose documents and sync states were lost (its key kept: a circle left and
/// joined again) writes before it reconnects. Its peer still believes it holds what was
/// sent before and names it as the last sync; the wiped member answers "I lack that" and
/// nothing else; the two traded those two messages forever until a peer that hears "I
/// share nothing with you" forgets what it believed shared (`Session::forget_shared`).
#[test]
fn a_member_that_lost_its_documents_and_wrote_again_converges() {
    random_run(677u64.wrapping_mul(0x9e37_79b9_7f4a_7c15), 3, 4, 60, 100).unwrap();
}

/// One run over a random topology: members of `C1`, one node holding the circle whom the
/// members do not count in, random edits, restarts, reconnects, partitions and losses;
/// then a clean reconnect of every connection.
fn random_run(
    seed: u64,
    n: u32,
    drop_percent: u32,
    actions: usize,
    wipe_percent: u32,
) -> Result<(), TestCaseError> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut sim = sim(seed);
    let m = members(&mut sim, n);
    let outsider = sim.add_node(99, &[C1]);
    sim.set_members(outsider, C1, &(1..=n).chain([99]).collect::<Vec<_>>());
    let mut edges: Vec<(NodeIdx, NodeIdx)> = m.windows(2).map(|w| (w[0], w[1])).collect();
    for _ in 0..n {
        let (a, b) = (rng.gen_range(0..m.len()), rng.gen_range(0..m.len()));
        if a != b && !edges.contains(&(m[a], m[b])) && !edges.contains(&(m[b], m[a])) {
            edges.push((m[a], m[b]));
        }
    }
    edges.push((outsider, m[rng.gen_range(0..m.len())]));
    let mut pipes: Vec<usize> = edges.iter().map(|(a, b)| sim.connect(*a, *b)).collect();
    sim.set_drop_percent(drop_percent);
    let docs = ["core", "decisions/2026-10", "decisions/2026-11"];
    for i in 0..actions {
        match rng.gen_range(0..10) {
            0..=4 => {
                let node = rng.gen_range(0..=m.len());
                let doc = docs[rng.gen_range(0..docs.len())];
                edit(&mut sim, node, doc, &format!("k{i}"), i as i64);
            }
            5 => {
                // Sometimes its documents and sync states are lost while its key is kept
                // (a circle left and joined again), with peers holding sync states that
                // claim them.
                let node = m[rng.gen_range(0..m.len())];
                let wipe = match wipe_percent {
                    0 => false,
                    100.. => true,
                    p => rng.gen_range(0..100) < p,
                };
                sim.restart(node, wipe);
            }
            6 => {
                let e = rng.gen_range(0..edges.len());
                sim.disconnect(pipes[e]);
                pipes[e] = sim.connect(edges[e].0, edges[e].1);
            }
            7 => sim.partition(pipes[rng.gen_range(0..pipes.len())]),
            8 => sim.heal(),
            _ => sim.resync_all(),
        }
        sim.step_n(rng.gen_range(0..20));
    }
    sim.set_drop_percent(0);
    sim.heal();
    sim.run_until_quiet(LIMIT)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for (e, pipe) in pipes.iter_mut().enumerate() {
        sim.disconnect(*pipe);
        *pipe = sim.connect(edges[e].0, edges[e].1);
    }
    sim.run_until_quiet(LIMIT)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let first = sim.heads(m[0], C1);
    for &node in &m[1..] {
        prop_assert_eq!(&sim.heads(node, C1), &first, "member {} differs", node);
    }
    prop_assert_eq!(sim.sync_frames_received(outsider, C1), 0);
    let members_heads: BTreeMap<_, _> = first.into_iter().collect();
    for (doc, heads) in sim.heads(outsider, C1) {
        for h in heads {
            prop_assert!(
                !members_heads.get(&doc).is_some_and(|mh| mh.contains(&h)),
                "the outsider's change reached the members"
            );
        }
    }
    for &node in &m {
        for (peer, fault) in &sim.node(node).misbehaved {
            prop_assert!(
                *peer == 99,
                "member {} blamed member {}: {}",
                node,
                peer,
                fault
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn members_converge_and_outsiders_get_nothing(
        seed in any::<u64>(),
        n in 2u32..=4,
        drop_percent in prop_oneof![Just(0u32), 1u32..25],
        actions in 5usize..40,
        wipe_percent in prop_oneof![Just(0u32), Just(30), Just(100)],
    ) {
        random_run(seed, n, drop_percent, actions, wipe_percent)?;
    }
}
