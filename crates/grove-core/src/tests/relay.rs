//! The removal race played through real sync engines, with the circles' own checks and
//! the node's reactions (dropping a peer that wrote a refused change, purging after a
//! removal arrives): the circle removes Cat; Cat, not having heard, writes on; Ben, not having
//! heard either, takes Cat's changes from Cat and builds on them, then meets Ana. Frames
//! of one connection arrive in order, but which connection delivers next is drawn from a
//! seed, so every interleaving the real network allows can be replayed.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rand::{rngs::StdRng, Rng as _, SeedableRng};

use super::auth::{decision_ids, hex, quick_decision, removal_ready, three, Dev};
use crate::sync::{CircleDocs, Effect, Engine, Input};
use crate::{Circle, Timestamp, CORE_DOC};

type Peer = &'static str;

const NAMES: [Peer; 3] = ["a", "b", "c"];

struct Node {
    dev: Dev,
    engine: Engine<Peer>,
    /// The removals a purge last ran for, as the node keeps them.
    purged_for: BTreeSet<String>,
    /// Whether the node drops what a removal forbids once it hears of it (an honest,
    /// current node does; one that does not plays a peer that keeps a refused change).
    purges: bool,
    misbehaved: Vec<(Peer, String)>,
}

impl Node {
    fn new(dev: Dev) -> Self {
        Node {
            dev,
            engine: Engine::new(),
            purged_for: BTreeSet::new(),
            purges: true,
            misbehaved: Vec::new(),
        }
    }

    /// Feeds the engine one input with the node's circle lent as its documents.
    fn handle(&mut self, input: Input<Peer>) -> Vec<Effect<Peer>> {
        let id = self.dev.circle.id().to_string();
        let actor = automerge::ActorId::random();
        let circle = std::mem::replace(&mut self.dev.circle, Circle::empty(&id, actor));
        let mut circles = HashMap::from([(id.clone(), circle)]);
        let effects = self.engine.handle(&mut CircleDocs(&mut circles), input);
        if let Some(circle) = circles.remove(&id) {
            self.dev.circle = circle;
        }
        effects
    }

    fn heads(&self) -> BTreeMap<String, Vec<automerge::ChangeHash>> {
        self.dev
            .circle
            .doc_keys()
            .into_iter()
            .filter_map(|k| {
                let heads = self.dev.circle.doc(&k)?.get_heads();
                (!heads.is_empty()).then_some((k, heads))
            })
            .collect()
    }
}

struct Net {
    nodes: Vec<Node>,
    /// Frames in flight per directed connection, in order.
    queues: BTreeMap<(usize, usize), VecDeque<Vec<u8>>>,
    links: BTreeSet<(usize, usize)>,
    rng: StdRng,
    circle: String,
    delivered: u64,
}

fn idx(peer: Peer) -> usize {
    NAMES.iter().position(|n| *n == peer).unwrap()
}

fn pair(x: usize, y: usize) -> (usize, usize) {
    (x.min(y), x.max(y))
}

impl Net {
    fn new(devs: [Dev; 3], seed: u64) -> Self {
        let circle = devs[0].circle.id().to_string();
        Net {
            nodes: devs.into_iter().map(Node::new).collect(),
            queues: BTreeMap::new(),
            links: BTreeSet::new(),
            rng: StdRng::seed_from_u64(seed),
            circle,
            delivered: 0,
        }
    }

    fn input(&mut self, n: usize, input: Input<Peer>) {
        let effects = self.nodes[n].handle(input);
        self.apply(n, effects);
    }

    /// What the node does with its engine's effects (grove-node's `apply`).
    fn apply(&mut self, n: usize, effects: Vec<Effect<Peer>>) {
        let mut core_changed = false;
        for effect in effects {
            match effect {
                Effect::Send { peer, bytes, .. } => {
                    let to = idx(peer);
                    if self.links.contains(&pair(n, to)) {
                        self.queues.entry((n, to)).or_default().push_back(bytes);
                    }
                }
                Effect::Changed { addr } => core_changed |= addr.doc == CORE_DOC,
                Effect::Persist { .. } | Effect::SaveSyncState { .. } => {}
                Effect::Misbehaved { peer, reason } => {
                    self.misbehaved(n, peer, reason.to_string());
                }
                Effect::Refused { peer, refused, .. } => {
                    let device = hex(&self.nodes[idx(peer)].dev.key);
                    let own = refused
                        .iter()
                        .any(|r| r.reason.device() == Some(device.as_str()));
                    if own {
                        self.misbehaved(n, peer, format!("own change refused: {refused:?}"));
                    }
                }
            }
        }
        if core_changed {
            self.purge_after_removal(n);
        }
    }

    fn misbehaved(&mut self, n: usize, peer: Peer, reason: String) {
        self.nodes[n].misbehaved.push((peer, reason));
        self.disconnect(n, idx(peer));
    }

    /// grove-node's `purge_after_removal`.
    fn purge_after_removal(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        let removed: BTreeSet<String> = node
            .dev
            .circle
            .membership()
            .removed_members()
            .into_iter()
            .collect();
        if !node.purges || removed.is_empty() || node.purged_for == removed {
            return;
        }
        node.dev.now += 1000;
        let purged = node
            .dev
            .circle
            .purge_refused(Timestamp(node.dev.now))
            .unwrap();
        node.purged_for = removed;
        for p in purged {
            self.input(
                n,
                Input::DocReplaced {
                    addr: crate::sync::DocAddr::new(self.circle.clone(), p.doc),
                },
            );
        }
    }

    fn connect(&mut self, x: usize, y: usize) {
        self.links.insert(pair(x, y));
        for (me, peer) in [(x, y), (y, x)] {
            self.input(
                me,
                Input::PeerConnected {
                    peer: NAMES[peer],
                    circles: vec![self.circle.clone()],
                    sync_states: vec![],
                },
            );
        }
    }

    fn disconnect(&mut self, x: usize, y: usize) {
        if !self.links.remove(&pair(x, y)) {
            return;
        }
        self.queues.remove(&(x, y));
        self.queues.remove(&(y, x));
        self.input(x, Input::PeerDisconnected { peer: NAMES[y] });
        self.input(y, Input::PeerDisconnected { peer: NAMES[x] });
    }

    /// A local edit on node `n`, offered to its peers as the node does.
    fn act(&mut self, n: usize, f: impl FnOnce(&mut Dev)) {
        let before = self.nodes[n].heads();
        f(&mut self.nodes[n].dev);
        let after = self.nodes[n].heads();
        let changed: Vec<String> = after
            .iter()
            .filter(|(k, h)| before.get(*k) != Some(*h))
            .map(|(k, _)| k.clone())
            .collect();
        for doc in &changed {
            self.input(
                n,
                Input::LocalChange {
                    addr: crate::sync::DocAddr::new(self.circle.clone(), doc.as_str()),
                },
            );
        }
        if changed.iter().any(|d| d == CORE_DOC) {
            self.purge_after_removal(n);
        }
    }

    /// Delivers one frame from a connection drawn at random; false once nothing is in
    /// flight.
    fn step(&mut self) -> bool {
        let busy: Vec<(usize, usize)> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, _)| *k)
            .collect();
        if busy.is_empty() {
            return false;
        }
        let (from, to) = busy[self.rng.gen_range(0..busy.len())];
        let Some(bytes) = self
            .queues
            .get_mut(&(from, to))
            .and_then(VecDeque::pop_front)
        else {
            return false;
        };
        self.delivered += 1;
        let circle = self.circle.clone();
        self.input(
            to,
            Input::Received {
                peer: NAMES[from],
                circle,
                bytes,
            },
        );
        true
    }

    /// Delivers until nothing is in flight; false if that takes more than `max` frames.
    fn run_until_quiet(&mut self, max: u64) -> bool {
        let start = self.delivered;
        while self.step() {
            if self.delivered - start > max {
                return false;
            }
        }
        true
    }

    fn resync_all(&mut self) {
        for n in 0..self.nodes.len() {
            self.input(n, Input::Resync);
        }
    }
}

/// The race, its delivery order drawn from `seed`. Ana's pass of the removal is `shift` seconds
/// later, which changes its hash and so which of Ana and Ben starts their exchange (the
/// side whose heads sort lower). Cat stays connected to Ben when Ben meets Ana if
/// `cat_stays`; Ben drops Cat's changes on hearing of the removal if `ben_purges`.
/// Returns the network once quiet and how the race went.
fn race(seed: u64, shift: i64, cat_stays: bool, ben_purges: bool) -> (Net, Race) {
    let (mut ana, mut ben, mut cat) = three();
    // The circle removes Cat: Ana passes the proposal Ben consented to; Ben has not heard
    // of the pass, Cat of neither.
    let p = removal_ready(&mut ana, &mut [&mut ben], "m-cat");
    ana.now += 10_000 + shift * 1000;
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    cat.now = ana.now + 5_000;
    let mut net = Net::new([ana, ben, cat], seed);
    let (a, b, c) = (0, 1, 2);
    net.nodes[b].purges = ben_purges;
    // Cat's late decision comes with a core change (its team).
    let mut late = String::new();
    net.act(c, |d| late = quick_decision(d, "Cat, after removal"));
    net.connect(b, c);
    assert!(net.run_until_quiet(10_000), "Ben and Cat go quiet");
    assert!(decision_ids(&net.nodes[b].dev.circle).contains(&late));
    // Ben builds on Cat's changes, in the core and in the month.
    net.nodes[b].dev.now = net.nodes[c].dev.now + 5_000;
    let mut bens = String::new();
    net.act(b, |d| bens = quick_decision(d, "Ben, in good faith"));
    if !cat_stays {
        assert!(net.run_until_quiet(10_000));
        net.disconnect(b, c);
    }
    // Both compare the same two head lists; the side whose heads sort lower starts.
    let ana_started = net.nodes[a].heads()[CORE_DOC] < net.nodes[b].heads()[CORE_DOC];
    net.connect(a, b);
    let quiet = net.run_until_quiet(10_000);
    let race = Race {
        quiet,
        ana_started,
        late,
        bens,
    };
    (net, race)
}

struct Race {
    /// Whether the network went quiet (no livelock).
    quiet: bool,
    /// Whether Ana started the core exchange with Ben.
    ana_started: bool,
    /// Cat's decision after its removal, and Ben's built on it.
    late: String,
    bens: String,
}

/// The reported stall: when Ana's heads sort lower, Ana starts, Ben answers with Cat's
/// changes (and his own built on them) and asks for Ana's removal; Ana refused the changes
/// and used to stay silent, so Ben never got the removal, never dropped Cat's changes, and
/// every resync replayed the same exchange: the two never converged. Now every delivery
/// order ends with both holding the same documents, with no resync and no timer: Ben's
/// own decision is on both, Cat's late one on neither, and neither drops the other.
#[test]
fn a_relayed_removed_members_core_change_never_stalls_the_honest_pair() {
    let mut failures = Vec::new();
    let mut starters = BTreeSet::new();
    for shift in 0..4 {
        for cat_stays in [false, true] {
            for seed in 0..12 {
                let (
                    net,
                    Race {
                        quiet,
                        ana_started,
                        late,
                        bens,
                    },
                ) = race(seed, shift, cat_stays, true);
                let (a, b) = (0, 1);
                let (ana, ben) = (&net.nodes[a], &net.nodes[b]);
                starters.insert(ana_started);
                let ids = decision_ids(&ana.dev.circle);
                let ok = quiet
                    && ana.heads() == ben.heads()
                    && ids.contains(&bens)
                    && !ids.contains(&late)
                    && ana.misbehaved.is_empty()
                    && net.links.contains(&pair(a, b))
                    && ben.misbehaved.iter().all(|(p, _)| *p == "c");
                if !ok {
                    failures.push(format!(
                        "shift {shift} seed {seed} cat_stays {cat_stays}: quiet {quiet}, same heads {}, Ana has Ben's {} and Cat's {}, Ana dropped {:?}, Ben dropped {:?}",
                        ana.heads() == ben.heads(),
                        ids.contains(&bens),
                        ids.contains(&late),
                        ana.misbehaved,
                        ben.misbehaved.iter().map(|(p, _)| p).collect::<Vec<_>>(),
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(starters.len(), 2, "runs where either side starts");
}

/// A peer that keeps a change Ana refuses (it never drops it) must not make the two trade
/// messages forever: Ana answers with what Ben lacks but never asks for the refused
/// changes again, and the exchange ends. Ben still gets the removal and keeps its link.
#[test]
fn a_peer_that_keeps_a_refused_change_does_not_livelock() {
    for shift in 0..4 {
        for seed in 0..6 {
            let (mut net, Race { quiet, late, .. }) = race(seed, shift, false, false);
            let (a, b) = (0, 1);
            // The node's resync timer replays the exchange; it must end again too.
            net.resync_all();
            assert!(
                net.run_until_quiet(10_000),
                "shift {shift} seed {seed}: resync"
            );
            let (ana, ben) = (&net.nodes[a], &net.nodes[b]);
            assert!(quiet, "shift {shift} seed {seed}: the exchange ends");
            assert!(ana.misbehaved.is_empty(), "{:?}", ana.misbehaved);
            assert!(net.links.contains(&pair(a, b)), "Ana keeps its link to Ben");
            assert!(!decision_ids(&ana.dev.circle).contains(&late));
            assert!(
                ben.dev.circle.membership().removed_members() == ["m-cat"],
                "shift {shift} seed {seed}: Ben got the removal"
            );
        }
    }
}
