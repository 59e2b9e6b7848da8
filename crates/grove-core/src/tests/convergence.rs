//! Any replicas applying the same operations, in any order, converge — including
//! concurrent edits to one decision. Operations pick their targets by index so that every
//! generated sequence is meaningful; operations a rule refuses simply change nothing.

use automerge::Change;
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::*;
use crate::{DecisionEdit, DecisionFilter, Outcome, ValueEdit, Zone};

#[derive(Debug, Clone)]
enum Op {
    AddValue(u8),
    EditValue(u8, u8),
    AddPrinciple(u8),
    Amend(u8, u8),
    Log(u8, u8, bool),
    Result(u8, bool),
    Read(u8),
    EditChoice(u8, u8),
    Link(u8, u8),
    AddTeam(u8),
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::AddValue),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::EditValue(a, b)),
        any::<u8>().prop_map(Op::AddPrinciple),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Amend(a, b)),
        (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(a, b, c)| Op::Log(a, b, c)),
        (any::<u8>(), any::<bool>()).prop_map(|(a, b)| Op::Result(a, b)),
        any::<u8>().prop_map(Op::Read),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::EditChoice(a, b)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Link(a, b)),
        any::<u8>().prop_map(Op::AddTeam),
        Just(Op::Tick),
    ]
}

fn pick<T: Clone>(items: &[T], i: u8) -> Option<T> {
    (!items.is_empty()).then(|| items[i as usize % items.len()].clone())
}

fn apply(d: &mut Device, op: &Op) {
    let values: Vec<String> = d
        .circle
        .values()
        .unwrap()
        .into_iter()
        .map(|v| v.id)
        .collect();
    let principles: Vec<String> = d
        .circle
        .principles()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    let teams: Vec<String> = d
        .circle
        .teams()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let decisions: Vec<String> = d
        .circle
        .decisions(&DecisionFilter::default())
        .unwrap()
        .into_iter()
        .map(|x| x.id.clone())
        .collect();
    d.now += 1000;
    let member = d.member.clone();
    let mut ctx = Ctx::new(Timestamp(d.now), member.clone(), &mut d.rng);
    let c = &mut d.circle;
    // Refused operations are part of the test: they must leave nothing behind.
    let _ = match op {
        Op::AddValue(n) => c
            .add_value(
                &mut ctx,
                NewValue {
                    title: format!("{member} value {n}"),
                    statement: "s".into(),
                    ..Default::default()
                },
            )
            .map(|_| ()),
        Op::EditValue(i, n) => match pick(&values, *i) {
            Some(v) => c.edit_value(
                &mut ctx,
                &v,
                ValueEdit {
                    statement: Some(format!("{member} {n}")),
                    ..Default::default()
                },
            ),
            None => Ok(()),
        },
        Op::AddPrinciple(i) => match pick(&values, *i) {
            Some(v) => c
                .add_principle(
                    &mut ctx,
                    NewPrinciple {
                        values: vec![v],
                        statement: format!("p by {member}"),
                        ..Default::default()
                    },
                )
                .map(|_| ()),
            None => Ok(()),
        },
        Op::Amend(i, n) => match pick(&principles, *i) {
            Some(p) => c
                .amend_principle(
                    &mut ctx,
                    &p,
                    crate::Amendment {
                        statement: format!("{member} says {n}"),
                        guidance: None,
                        reason: "r".into(),
                        cites: Vec::new(),
                    },
                )
                .map(|_| ()),
            None => Ok(()),
        },
        Op::Log(t, p, centre) => match (pick(&teams, *t), pick(&principles, *p)) {
            (Some(t), Some(p)) => c
                .log_decision(
                    &mut ctx,
                    NewDecision {
                        team: t,
                        principles: vec![p],
                        context: "ctx".into(),
                        choice: "choice".into(),
                        zone: Some(if *centre {
                            Zone::CentreAwareness
                        } else {
                            Zone::Local
                        }),
                        ..Default::default()
                    },
                )
                .map(|_| ()),
            _ => Ok(()),
        },
        Op::Result(i, ok) => match pick(&decisions, *i) {
            Some(x) => c.record_result(
                &mut ctx,
                &x,
                "r",
                if *ok {
                    Outcome::Worked
                } else {
                    Outcome::Failed
                },
            ),
            None => Ok(()),
        },
        Op::Read(i) => match pick(&decisions, *i) {
            Some(x) => c.mark_read(&mut ctx, &x).map(|_| ()),
            None => Ok(()),
        },
        Op::EditChoice(i, n) => match pick(&decisions, *i) {
            Some(x) => c.edit_decision(
                &mut ctx,
                &x,
                DecisionEdit {
                    choice: Some(format!("{member} {n}")),
                    ..Default::default()
                },
            ),
            None => Ok(()),
        },
        Op::Link(i, j) => match (pick(&decisions, *i), pick(&decisions, *j)) {
            (Some(a), Some(b)) => c.link_decisions(&mut ctx, &a, &b),
            _ => Ok(()),
        },
        Op::AddTeam(n) => c
            .add_team(&mut ctx, &format!("{member} team {n}"), None)
            .map(|_| ()),
        Op::Tick => {
            d.now += 20 * crate::DAY_MS;
            Ok(())
        }
    };
}

/// Every change of every document, keyed by document.
fn changes(d: &Device) -> Vec<(String, Change)> {
    let mut out = Vec::new();
    for key in d.circle.doc_keys() {
        let doc = d.circle.doc(&key).unwrap();
        for ch in doc.get_changes(&[]) {
            out.push((key.clone(), ch));
        }
    }
    out
}

/// Delivers changes one at a time in the given order (Automerge queues those whose
/// dependencies have not arrived yet).
fn deliver(d: &mut Device, changes: &[(String, Change)]) {
    for (key, ch) in changes {
        d.circle
            .doc_mut(key)
            .unwrap()
            .apply_changes(std::iter::once(ch.clone()))
            .unwrap();
    }
}

/// What a user can see of the circle.
fn state(d: &Device) -> String {
    let c = &d.circle;
    let mut s = String::new();
    s += &format!("{:?}\n", c.values().unwrap());
    s += &format!("{:?}\n", c.principles().unwrap());
    s += &format!("{:?}\n", c.teams().unwrap());
    s += &format!("{:?}\n", c.members().unwrap());
    s += &format!("{:?}\n", c.escalations().unwrap());
    for dec in c.decisions(&DecisionFilter::default()).unwrap() {
        s += &format!("{:?}\n", c.decision(&dec.id).unwrap());
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_delivery_order(
        ops_a in prop::collection::vec(op(), 0..14),
        ops_b in prop::collection::vec(op(), 0..14),
        ops_c in prop::collection::vec(op(), 0..14),
        seed in any::<u64>(),
    ) {
        let (mut a, _v, _p, _t) = {
            let mut d = Device::new_circle("ana");
            let v = add_value(&mut d, "Care");
            let p = add_principle(&mut d, &[&v], "First");
            let t = add_team(&mut d, "Kitchen");
            log(&mut d, &t, &[&p], Zone::Local);
            (d, v, p, t)
        };
        let mut b = a.replica("ben", seed);
        let mut c = a.replica("cem", seed ^ 1);
        for op in &ops_a { apply(&mut a, op); }
        for op in &ops_b { apply(&mut b, op); }
        for op in &ops_c { apply(&mut c, op); }

        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let all: Vec<Vec<(String, Change)>> = vec![changes(&a), changes(&b), changes(&c)];
        for (i, dev) in [&mut a, &mut b, &mut c].into_iter().enumerate() {
            let mut incoming: Vec<(String, Change)> = all
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, ch)| ch.iter().cloned())
                .collect();
            incoming.shuffle(&mut rng);
            // Duplicates must be harmless too.
            let dup: Vec<_> = incoming.iter().take(3).cloned().collect();
            incoming.extend(dup);
            deliver(dev, &incoming);
        }
        let sa = state(&a);
        prop_assert_eq!(&sa, &state(&b));
        prop_assert_eq!(&sa, &state(&c));
        for key in a.circle.doc_keys() {
            let mut ha = a.circle.doc(&key).unwrap().get_heads();
            let mut hb = b.circle.doc(&key).unwrap().get_heads();
            ha.sort();
            hb.sort();
            prop_assert_eq!(ha, hb);
        }
    }
}
