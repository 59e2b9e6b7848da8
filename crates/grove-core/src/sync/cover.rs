//! Which changes of a set are *covered*: some other change of the set, by the same actor,
//! descends from them through changes of the set. See [`super::signing`] for why a verified
//! signature on the descendant vouches for them.
//!
//! The relation is computed only through the set itself, never through changes held
//! elsewhere, so a sender and a receiver looking at the same message always find the same
//! covered changes (the whole point: the receiver checks exactly the signatures the sender
//! had to check first).

use std::collections::HashMap;

use automerge::{ActorId, ChangeHash};

/// One change as the cover needs it: its hash, author and dependencies.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    pub hash: ChangeHash,
    pub actor: &'a ActorId,
    pub deps: &'a [ChangeHash],
}

/// For each of `links` (same order), whether a change of the set by the same actor
/// descends from it. A hash given twice counts once (its first entry; the others are
/// left uncovered, so they are checked).
///
/// Walks the set once per 64 distinct actors (a bit per actor), descendants first, so it
/// stays linear for honest sets (a handful of devices) and bounded for hostile ones.
pub fn covered(links: &[Link<'_>]) -> Vec<bool> {
    let n = links.len();
    let mut index: HashMap<ChangeHash, usize> = HashMap::with_capacity(n);
    for (i, l) in links.iter().enumerate() {
        index.entry(l.hash).or_insert(i);
    }
    let mut actors: HashMap<&ActorId, usize> = HashMap::new();
    let actor: Vec<usize> = links
        .iter()
        .map(|l| {
            let next = actors.len();
            *actors.entry(l.actor).or_insert(next)
        })
        .collect();
    // Parents within the set, and a topological order (ancestors first, Kahn's).
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for (i, l) in links.iter().enumerate() {
        if index.get(&l.hash) != Some(&i) {
            continue;
        }
        for d in l.deps {
            if let Some(&p) = index.get(d) {
                if p != i && !parents[i].contains(&p) {
                    parents[i].push(p);
                    children[p].push(i);
                    waiting[i] += 1;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| waiting[i] == 0 && index.get(&links[i].hash) == Some(&i))
        .collect();
    let mut next = 0;
    while let Some(&i) = order.get(next) {
        next += 1;
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                order.push(c);
            }
        }
    }
    // Changes never ordered (a cycle, impossible with real hashes) stay uncovered.
    let mut out = vec![false; n];
    let mut below = vec![0u64; n];
    for chunk in 0..actors.len().div_ceil(64) {
        let bit = |i: usize| {
            let a = actor[i];
            if a / 64 == chunk {
                1u64 << (a % 64)
            } else {
                0
            }
        };
        below.iter_mut().for_each(|b| *b = 0);
        // Descendants first: when a change is reached, `below` holds the actors (of this
        // chunk) of every change of the set that descends from it.
        for &i in order.iter().rev() {
            let mine = below[i] | bit(i);
            for &p in &parents[i] {
                below[p] |= mine;
            }
            if below[i] & bit(i) != 0 {
                out[i] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> ChangeHash {
        ChangeHash([n; 32])
    }

    fn run(set: &[(u8, &ActorId, &[u8])]) -> Vec<bool> {
        let deps: Vec<Vec<ChangeHash>> = set
            .iter()
            .map(|(_, _, d)| d.iter().map(|&x| h(x)).collect())
            .collect();
        let links: Vec<Link<'_>> = set
            .iter()
            .zip(&deps)
            .map(|((n, a, _), d)| Link {
                hash: h(*n),
                actor: a,
                deps: d,
            })
            .collect();
        covered(&links)
    }

    #[test]
    fn only_a_descendant_by_the_same_actor_covers() {
        let ana = ActorId::from(b"ana".as_slice());
        let ben = ActorId::from(b"ben".as_slice());
        // 1 <- 2 (ben) <- 3 (ana) <- 4 (ben); 5 (ana) alone; 6 (ben) on 5.
        let got = run(&[
            (4, &ben, &[3]),
            (1, &ana, &[]),
            (3, &ana, &[2]),
            (2, &ben, &[1]),
            (5, &ana, &[9]),
            (6, &ben, &[5]),
        ]);
        // 1 is under ana's 3 (through ben's 2); 2 under ben's 4; 3 and 4 are tips; 5 has
        // only ben's 6 above it; 6 is a tip.
        assert_eq!(got, vec![false, true, false, true, false, false]);
    }

    #[test]
    fn a_missing_link_breaks_the_cover() {
        let ana = ActorId::from(b"ana".as_slice());
        // 3 depends on 2, which is not in the set: 1 is not known to be under 3.
        assert_eq!(run(&[(1, &ana, &[]), (3, &ana, &[2])]), vec![false, false]);
    }

    #[test]
    fn many_actors_are_told_apart() {
        let actors: Vec<ActorId> = (0..200u16)
            .map(|i| ActorId::from(i.to_be_bytes().as_slice()))
            .collect();
        // A chain through 200 actors, then actor 0 again at the top: only the first
        // change (actor 0) is covered.
        let mut set: Vec<(u8, &ActorId, Vec<u8>)> = Vec::new();
        for (i, a) in actors.iter().enumerate() {
            let n = i as u8;
            set.push((n, a, if i == 0 { vec![] } else { vec![n - 1] }));
        }
        set.push((200, &actors[0], vec![199]));
        let set: Vec<(u8, &ActorId, &[u8])> =
            set.iter().map(|(n, a, d)| (*n, *a, d.as_slice())).collect();
        let got = run(&set);
        assert!(got[0]);
        assert!(got[1..].iter().all(|c| !c));
    }
}
