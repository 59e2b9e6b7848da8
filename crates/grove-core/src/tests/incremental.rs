//! Views kept between calls (a month's rows, vitality's facts, tension detection's month
//! shares) against the same views read
//! from scratch, over random sequences of changes: new decisions in this and new months,
//! results, reads, edits, links, principle and team changes, and a second device's
//! concurrent work arriving by sync.

use rand::{Rng, SeedableRng};

use super::*;
use crate::{
    DecisionEdit, Outcome, TensionCache, TensionInputs, TensionKind, VitalityCache, VitalityInputs,
    Zone, DAY_MS,
};

/// A fresh replica of `d`'s circle: nothing cached, every month read whole.
fn fresh(d: &Device) -> Circle {
    let core = d.circle.snapshot(crate::CORE_DOC).expect("core exists");
    let mut circle = Circle::from_core_bytes(&core, actor("fresh")).expect("loads");
    for key in d.circle.doc_keys() {
        if key != crate::CORE_DOC {
            let bytes = d.circle.snapshot(&key).expect("listed doc exists");
            circle.attach(&key, &bytes).expect("attaches");
        }
    }
    circle
}

fn ids(d: &Device) -> Vec<String> {
    d.circle
        .decisions(&crate::DecisionFilter::default())
        .expect("decisions")
        .into_iter()
        .map(|x| x.id.clone())
        .collect()
}

/// One random change on `d`; `now` moves by minutes to weeks, so months turn.
fn step(d: &mut Device, rng: &mut StdRng, teams: &[String], principles: &mut Vec<String>, v: &str) {
    d.now += rng.gen_range(60_000..6 * DAY_MS);
    change(d, rng, teams, principles, v);
}

/// One random change on `d` at its `now`.
fn change(
    d: &mut Device,
    rng: &mut StdRng,
    teams: &[String],
    principles: &mut Vec<String>,
    v: &str,
) {
    let known = ids(d);
    let pick = |rng: &mut StdRng| known[rng.gen_range(0..known.len())].clone();
    let mut ctx = Ctx::new(Timestamp(d.now), d.member.clone(), &mut d.rng);
    let what = if known.is_empty() {
        0
    } else {
        rng.gen_range(0..10)
    };
    match what {
        0..=3 => {
            let situations = ["rent", "police", "press"];
            let choices = ["We organise.", "We wait", "we  organise."];
            d.circle
                .log_decision(
                    &mut ctx,
                    NewDecision {
                        team: teams[rng.gen_range(0..teams.len())].clone(),
                        principles: vec![principles[rng.gen_range(0..principles.len())].clone()],
                        context: "The landlord raised the rent.".into(),
                        choice: choices[rng.gen_range(0..choices.len())].into(),
                        zone: Some([Zone::Local, Zone::CentreAwareness][rng.gen_range(0..2)]),
                        zone_unsure: rng.gen_bool(0.3),
                        situation: rng
                            .gen_bool(0.7)
                            .then(|| situations[rng.gen_range(0..situations.len())].into()),
                        result_due: rng
                            .gen_bool(0.6)
                            .then(|| Timestamp(d.now + rng.gen_range(-20..20) * DAY_MS).day()),
                        ..Default::default()
                    },
                )
                .expect("valid decision");
        }
        4 | 5 => {
            let id = pick(rng);
            let outcome = [Outcome::Failed, Outcome::Mixed, Outcome::Worked][rng.gen_range(0..3)];
            // A decision has one result; recording another is refused and changes nothing.
            let _ = d
                .circle
                .record_result(&mut ctx, &id, "how it went", outcome);
        }
        6 => {
            let id = pick(rng);
            d.circle.mark_read(&mut ctx, &id).expect("reads");
        }
        7 => {
            let id = pick(rng);
            d.circle
                .edit_decision(
                    &mut ctx,
                    &id,
                    DecisionEdit {
                        choice: Some("We changed our minds.".into()),
                        situation: Some("press".into()),
                        ..Default::default()
                    },
                )
                .expect("edits");
        }
        8 => {
            let (a, b) = (pick(rng), pick(rng));
            if a != b {
                d.circle.link_decisions(&mut ctx, &a, &b).expect("links");
            }
        }
        _ => {
            if rng.gen_bool(0.5) {
                // Refused once the circle has two members (then by consent only).
                let new = crate::NewPrinciple {
                    values: vec![v.to_string()],
                    statement: "Share the load.".into(),
                    ..Default::default()
                };
                if let Ok(p) = d.circle.add_principle(&mut ctx, new) {
                    principles.push(p);
                }
            } else {
                // Who counts as outside a decision's team changes with the team.
                let other = if d.member == "ana" { "ben" } else { "ana" };
                let team = teams[rng.gen_range(0..teams.len())].clone();
                let _ = d.circle.team_add_member(&mut ctx, &team, other);
            }
        }
    }
}

fn vitality_inputs(now: i64) -> VitalityInputs {
    VitalityInputs {
        now: Timestamp(now),
        window_days: 30,
        cycle_days: 90,
    }
}

/// What a peer's hand-made change may do that the app does not: a decision leaves its
/// month, or the principles it cites lose their first or gain `spare`. What a month's views
/// kept of the decision (a principle's first citation, say) must go with it.
fn by_hand(a: &mut Device, rng: &mut StdRng, spare: &str) {
    use automerge::transaction::Transactable as _;
    use automerge::{ReadDoc as _, ROOT};
    let what = rng.gen_range(0..3);
    let citing = crate::DecisionFilter {
        principle: Some(spare.to_string()),
        ..Default::default()
    };
    let known: Vec<String> = match what {
        1 => a.circle.decisions(&citing).expect("decisions"),
        _ => a
            .circle
            .decisions(&crate::DecisionFilter::default())
            .expect("decisions"),
    }
    .into_iter()
    .map(|d| d.id.clone())
    .collect();
    if known.is_empty() {
        return;
    }
    let id = known[rng.gen_range(0..known.len())].clone();
    let Some(key) = a.circle.doc_keys().into_iter().find(|k| {
        k != crate::CORE_DOC
            && a.circle
                .doc(k)
                .is_some_and(|doc| doc.get(ROOT, id.as_str()).ok().flatten().is_some())
    }) else {
        return;
    };
    let doc = a.circle.doc_mut(&key).expect("a month");
    let mut tx = doc.transaction();
    let (_, decision) = tx.get(ROOT, id.as_str()).expect("reads").expect("held");
    let (_, list) = tx
        .get(&decision, "principles")
        .expect("reads")
        .expect("a list");
    match what {
        0 => tx.delete(ROOT, id.as_str()).expect("deletes"),
        // `spare` is inserted first.
        1 => tx.delete(&list, 0).expect("deletes"),
        _ => tx.insert(&list, 0, spare).expect("inserts"),
    }
    tx.commit();
}

/// What a run keeps between calls, and which kinds of tension it found.
#[derive(Default)]
struct Kept {
    vitality: VitalityCache,
    tensions: TensionCache,
    /// Which kinds of tension the runs showed (and whether about a pair of decisions): the
    /// comparison means something only if the detectors found something.
    kinds: std::collections::BTreeSet<(TensionKind, usize)>,
}

/// Checks the views `a` keeps (its month rows, and `kept`'s vitality and tensions) against
/// the same views read from a fresh replica, at a `now` up to 40 days on.
fn compare(a: &Device, kept: &mut Kept, rng: &mut StdRng, at: &str) {
    let scratch = fresh(a);
    for (period, _) in a.circle.shards() {
        let kept_rows = a.circle.month_rows(period).expect("rows");
        let read = scratch.month_rows(period).expect("rows");
        assert_eq!(kept_rows, read, "{at}, month {period}");
    }
    // The newest, as the similar-context scan takes them.
    let mut all = a
        .circle
        .decisions(&crate::DecisionFilter::default())
        .expect("decisions");
    all.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    all.truncate(7);
    assert_eq!(a.circle.newest_decisions(7).expect("newest"), all);
    let now = a.now + rng.gen_range(0..40) * DAY_MS;
    let kept_view = a
        .circle
        .vitality_with(&mut kept.vitality, vitality_inputs(now))
        .expect("vitality");
    let scratch_view = scratch.vitality(vitality_inputs(now)).expect("vitality");
    assert_eq!(kept_view, scratch_view, "{at}");
    // Similar-context pairs come from the search engine: any pairs will do here, some
    // naming decisions that do not exist.
    let known = ids(a);
    let similar = (0..rng.gen_range(0..6))
        .map(|_| {
            let mut one = || match rng.gen_range(0..known.len() + 1) {
                i if i < known.len() => known[i].clone(),
                _ => "d-202601-gone".to_string(),
            };
            (one(), one())
        })
        .collect();
    let inputs = TensionInputs {
        now: Timestamp(now),
        cycle_days: 90,
        similar,
    };
    let kept_view = a
        .circle
        .tensions_with(&mut kept.tensions, &inputs)
        .expect("tensions");
    let scratch_view = crate::tensions::from_scratch(&scratch, &inputs).expect("tensions");
    kept.kinds.extend(
        scratch_view
            .iter()
            .map(|t| (t.kind, t.id.matches("-d-").count())),
    );
    assert_eq!(kept_view, scratch_view, "{at}");
    assert_eq!(
        a.circle.tensions(&inputs).expect("tensions"),
        scratch_view,
        "{at}"
    );
}

/// A circle of one member with a value, a principle and three teams; the value's id, the
/// principles and the teams.
fn circle() -> (Device, String, Vec<String>, Vec<String>) {
    let mut a = Device::new_circle("ana");
    let v = add_value(&mut a, "Care");
    let principles = vec![add_principle(&mut a, &[&v], "Look after each other.")];
    let teams: Vec<String> = ["Kitchen", "Garden", "Library"]
        .iter()
        .map(|t| add_team(&mut a, t))
        .collect();
    // As a passed proposal would: the kitchen decides #rent aware of the centre, so a
    // kitchen decision logged as local is authority confusion.
    a.circle
        .map_zone(
            Timestamp(a.now),
            "pr-zones",
            &teams[0],
            "rent",
            Zone::CentreAwareness,
        )
        .expect("maps");
    (a, v, principles, teams)
}

fn found_every_kind(kinds: &std::collections::BTreeSet<(TensionKind, usize)>) {
    for kind in [
        (TensionKind::Divergence, 0),
        (TensionKind::Divergence, 2),
        (TensionKind::SharedStruggle, 0),
        (TensionKind::FailingPrinciple, 0),
        (TensionKind::AuthorityConfusion, 0),
    ] {
        assert!(kinds.contains(&kind), "{kind:?} never found: {kinds:?}");
    }
}

#[test]
fn kept_rows_and_vitality_equal_a_fresh_read_after_every_change() {
    let mut kept = Kept::default();
    for seed in 0..6u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut a, v, mut principles, teams) = circle();
        // A second member, whose reads count as read outside the teams they are not in.
        let mut b = a.replica("ben", seed + 100);
        // The principles both devices hold (as of the last sync).
        let mut shared = principles.clone();
        kept.vitality = VitalityCache::default();
        kept.tensions = TensionCache::default();

        for i in 0..60 {
            // Now and then the other device works on its own, and a sync brings it all.
            if i % 9 == 4 {
                b.now = b.now.max(a.now);
                let mut bp = shared.clone();
                for _ in 0..rng.gen_range(1..6) {
                    step(&mut b, &mut rng, &teams, &mut bp, &v);
                }
                sync_pair(&mut a, &mut b);
                for p in bp {
                    if !principles.contains(&p) {
                        principles.push(p);
                    }
                }
                shared = principles.clone();
            } else {
                step(&mut a, &mut rng, &teams, &mut principles, &v);
            }
            compare(&a, &mut kept, &mut rng, &format!("seed {seed}, step {i}"));
        }
    }
    found_every_kind(&kept.kinds);
}

/// Views kept per decision are patched with the decisions a month's changes touched: here
/// several changes come between two looks, to decisions old and new of the same month, some
/// made at the same instant (so rows of one time are ordered by id), some by hand (a
/// decision deleted, its principles changed); each decision's place among the month's rows
/// moves as others come and go around it.
#[test]
fn kept_views_equal_a_fresh_read_after_several_changes_at_once() {
    let mut kept = Kept::default();
    for seed in 0..6u64 {
        let mut rng = StdRng::seed_from_u64(seed + 1_000);
        let (mut a, v, mut principles, teams) = circle();
        // Cited by hand only, so that it is often cited by no decision at all.
        let spare = add_principle(&mut a, &[&v], "Rest when tired.");
        let mut b = a.replica("ben", seed + 200);
        kept.vitality = VitalityCache::default();
        kept.tensions = TensionCache::default();
        for i in 0..40 {
            for _ in 0..rng.gen_range(1..6) {
                // At the same instant, hours or days later: months gather many decisions,
                // and principles grow older than the window.
                a.now += [
                    0,
                    rng.gen_range(60_000..DAY_MS / 4),
                    rng.gen_range(1..6) * DAY_MS,
                ][rng.gen_range(0..3)];
                change(&mut a, &mut rng, &teams, &mut principles, &v);
            }
            if rng.gen_bool(0.4) {
                by_hand(&mut a, &mut rng, &spare);
            }
            // The other member reads some, from outside every team they are not in.
            if i % 3 == 1 {
                sync_pair(&mut a, &mut b);
                b.now = b.now.max(a.now);
                let known = ids(&b);
                for _ in 0..rng.gen_range(0..4).min(known.len()) {
                    let id = known[rng.gen_range(0..known.len())].clone();
                    let mut ctx = Ctx::new(Timestamp(b.now), b.member.clone(), &mut b.rng);
                    b.circle.mark_read(&mut ctx, &id).expect("reads");
                }
                sync_pair(&mut a, &mut b);
            }
            compare(&a, &mut kept, &mut rng, &format!("seed {seed}, look {i}"));
        }
    }
    found_every_kind(&kept.kinds);
}
