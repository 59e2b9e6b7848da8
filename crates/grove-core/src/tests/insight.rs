//! Tension detection and vitality: a log that exhibits each sign, and a look-alike that
//! must not trigger it.

use super::*;
use crate::{
    Amendment, Answer, Band, Day, DecayCategory, NewProposal, NewRetro, NewReview, NewRole,
    Outcome, ProposalChange, TensionInputs, TensionKind, ValueEdit, VitalityInputs, DAY_MS,
};

macro_rules! ctx {
    ($d:expr) => {{
        $d.now += 1000;
        Ctx::new(Timestamp($d.now), $d.member.clone(), &mut $d.rng)
    }};
}

struct World {
    d: Device,
    v: String,
    p: String,
    teams: Vec<String>,
}

fn world() -> World {
    let mut d = Device::new_circle("ana");
    let v = add_value(&mut d, "Care");
    let p = add_principle(&mut d, &[&v], "Look after each other first.");
    let teams = ["Kitchen", "Garden", "Library", "Repair"]
        .iter()
        .map(|t| add_team(&mut d, t))
        .collect();
    World { d, v, p, teams }
}

fn decide(
    d: &mut Device,
    team: &str,
    p: &str,
    situation: Option<&str>,
    context: &str,
    choice: &str,
) -> String {
    let mut ctx = ctx!(d);
    d.circle
        .log_decision(
            &mut ctx,
            NewDecision {
                team: team.into(),
                principles: vec![p.into()],
                context: context.into(),
                choice: choice.into(),
                situation: situation.map(str::to_string),
                ..Default::default()
            },
        )
        .unwrap()
}

fn result(d: &mut Device, id: &str, outcome: Outcome) {
    let mut ctx = ctx!(d);
    d.circle
        .record_result(&mut ctx, id, "how it went", outcome)
        .unwrap();
}

fn inputs(d: &Device) -> TensionInputs {
    TensionInputs {
        now: Timestamp(d.now),
        cycle_days: 90,
        similar: Vec::new(),
    }
}

fn kinds(d: &Device, inputs: &TensionInputs) -> Vec<(TensionKind, String)> {
    d.circle
        .tensions(inputs)
        .unwrap()
        .into_iter()
        .filter(|t| t.open)
        .map(|t| (t.kind, t.id))
        .collect()
}

fn has(d: &Device, kind: TensionKind) -> bool {
    kinds(d, &inputs(d)).iter().any(|(k, _)| *k == kind)
}

#[test]
fn a_divergence_same_situation_different_teams_and_choices() {
    let mut w = world();
    let (t0, t1) = (w.teams[0].clone(), w.teams[1].clone());
    let a = decide(
        &mut w.d,
        &t0,
        &w.p,
        Some("Rent-Rise"),
        "Rent went up",
        "We organise",
    );
    decide(
        &mut w.d,
        &t1,
        &w.p,
        Some("rent-rise"),
        "Rent went up",
        "We pay quietly",
    );
    let ts = w.d.circle.tensions(&inputs(&w.d)).unwrap();
    let t = ts
        .iter()
        .find(|t| t.kind == TensionKind::Divergence)
        .expect("two teams chose differently in one situation");
    assert_eq!(
        t.id, "ta-rent-rise",
        "the id is stable: built from the situation"
    );
    assert_eq!(t.evidence.len(), 2, "both decisions are evidence");
    assert!(t.evidence.iter().any(|e| *e.id == *a));
}

#[test]
fn a_lookalikes_same_team_or_same_choice_do_not_diverge() {
    let mut w = world();
    let (t0, t1) = (w.teams[0].clone(), w.teams[1].clone());
    // One team changing its mind is not a tension between teams.
    decide(
        &mut w.d,
        &t0,
        &w.p,
        Some("rent-rise"),
        "Rent went up",
        "We organise",
    );
    decide(
        &mut w.d,
        &t0,
        &w.p,
        Some("rent-rise"),
        "Rent went up",
        "We pay quietly",
    );
    // Two teams agreeing is coherence.
    decide(
        &mut w.d,
        &t1,
        &w.p,
        Some("leak"),
        "Roof leaks",
        "Call the roofer",
    );
    decide(
        &mut w.d,
        &t0,
        &w.p,
        Some("leak"),
        "Roof leaks",
        "call  the roofer",
    );
    assert!(!has(&w.d, TensionKind::Divergence));
}

#[test]
fn a_similar_context_pairs_diverge_only_across_teams_with_same_principles() {
    let mut w = world();
    let (t0, t1) = (w.teams[0].clone(), w.teams[1].clone());
    let a = decide(
        &mut w.d,
        &t0,
        &w.p,
        None,
        "A volunteer is burnt out",
        "Rest a month",
    );
    let b = decide(
        &mut w.d,
        &t1,
        &w.p,
        None,
        "A volunteer is burned out",
        "Share the load",
    );
    let c = decide(
        &mut w.d,
        &t0,
        &w.p,
        None,
        "A volunteer is tired",
        "Share the load",
    );
    let mut i = inputs(&w.d);
    i.similar = vec![(a.clone(), b.clone())];
    let found = kinds(&w.d, &i);
    let (lo, hi) = if a <= b { (&a, &b) } else { (&b, &a) };
    assert!(found.contains(&(TensionKind::Divergence, format!("ta-{lo}-{hi}"))));
    // Same team (a, c) or same choice (b, c) is no divergence.
    i.similar = vec![(a, c.clone()), (b, c)];
    assert!(!kinds(&w.d, &i)
        .iter()
        .any(|(k, _)| *k == TensionKind::Divergence));
}

#[test]
fn b_three_teams_struggling_in_a_cycle_and_two_do_not() {
    let mut w = world();
    let teams = w.teams.clone();
    for t in &teams[..2] {
        let id = decide(&mut w.d, t, &w.p, None, "Context", "Choice");
        result(&mut w.d, &id, Outcome::Mixed);
    }
    assert!(
        !has(&w.d, TensionKind::SharedStruggle),
        "two teams are not three"
    );
    // A third team flags it in a retro: now three independent teams.
    let mut ctx = ctx!(w.d);
    w.d.circle
        .add_retro(
            &mut ctx,
            NewRetro {
                team: teams[2].clone(),
                didnt: "The principle did not help us".into(),
                principles: vec![w.p.clone()],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(has(&w.d, TensionKind::SharedStruggle));
    // Outside the review cycle, the same log no longer counts.
    let mut later = inputs(&w.d);
    later.now = Timestamp(w.d.now + 100 * DAY_MS);
    assert!(!kinds(&w.d, &later)
        .iter()
        .any(|(k, _)| *k == TensionKind::SharedStruggle));
}

#[test]
fn b_lookalike_three_results_from_one_team_or_retros_that_went_well() {
    let mut w = world();
    let t0 = w.teams[0].clone();
    for _ in 0..3 {
        let id = decide(&mut w.d, &t0, &w.p, None, "Context", "Choice");
        result(&mut w.d, &id, Outcome::Failed);
    }
    for t in w.teams[1..3].iter().cloned() {
        let mut ctx = ctx!(w.d);
        w.d.circle
            .add_retro(
                &mut ctx,
                NewRetro {
                    team: t,
                    went_well: "It worked".into(),
                    principles: vec![w.p.clone()],
                    ..Default::default()
                },
            )
            .unwrap();
    }
    assert!(!has(&w.d, TensionKind::SharedStruggle));
}

#[test]
fn c_failing_principle_detected_and_closed_by_a_review_change() {
    let mut w = world();
    let t0 = w.teams[0].clone();
    for _ in 0..3 {
        let id = decide(&mut w.d, &t0, &w.p, None, "Context", "Choice");
        result(&mut w.d, &id, Outcome::Failed);
    }
    let id = format!("tc-{}", w.p);
    assert!(kinds(&w.d, &inputs(&w.d)).contains(&(TensionKind::FailingPrinciple, id.clone())));
    // The regeneration loop: the tension goes on the agenda, a review changes the principle.
    let agenda = w.d.circle.tension_agenda(&inputs(&w.d)).unwrap();
    assert!(agenda.iter().any(|a| a.contains(&id)), "{agenda:?}");
    let mut ctx = ctx!(w.d);
    let rv =
        w.d.circle
            .open_review(
                &mut ctx,
                NewReview {
                    date: Timestamp(w.d.now).day(),
                    agenda,
                    participants: vec![],
                },
            )
            .unwrap();
    let mut ctx = ctx!(w.d);
    w.d.circle
        .review_change(
            &mut ctx,
            &rv,
            &w.p.clone(),
            Amendment {
                statement: "Look after each other, and ask first.".into(),
                guidance: None,
                reason: "it kept failing".into(),
                cites: Vec::new(),
            },
        )
        .unwrap();
    let t = w.d.circle.tension(&id, &inputs(&w.d)).unwrap();
    assert!(
        !t.open,
        "a review changing the principle closes the tension"
    );
    assert_eq!(t.closed.unwrap().source, rv);
}

#[test]
fn c_lookalike_a_success_among_the_last_three_results() {
    let mut w = world();
    let t0 = w.teams[0].clone();
    for o in [
        Outcome::Failed,
        Outcome::Failed,
        Outcome::Worked,
        Outcome::Failed,
    ] {
        let id = decide(&mut w.d, &t0, &w.p, None, "Context", "Choice");
        result(&mut w.d, &id, o);
    }
    assert!(!has(&w.d, TensionKind::FailingPrinciple));
}

#[test]
fn d_concurrent_edits_to_a_value_surface_and_sequential_ones_do_not() {
    let mut a = world();
    let v = a.v.clone();
    // Ana's phone: while she is the circle's only member she edits values directly, and
    // her two devices can do so at once.
    let mut b = a.d.twin("ana-phone", 5);
    sync_pair(&mut a.d, &mut b);
    let mut ctx = ctx!(a.d);
    a.d.circle
        .edit_value(
            &mut ctx,
            &v,
            ValueEdit {
                statement: Some("Care for all".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        !has(&a.d, TensionKind::EditConflict),
        "one edit is not a conflict"
    );
    let mut ctx = ctx!(b);
    b.circle
        .edit_value(
            &mut ctx,
            &v,
            ValueEdit {
                statement: Some("Care for us".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync_pair(&mut a.d, &mut b);
    let ts = a.d.circle.tensions(&inputs(&a.d)).unwrap();
    let t = ts
        .iter()
        .find(|t| t.kind == TensionKind::EditConflict)
        .expect("concurrent edits are surfaced");
    assert!(
        t.summary.contains("Care for all") && t.summary.contains("Care for us"),
        "{}",
        t.summary
    );
}

#[test]
fn e_proliferation_of_values_and_principles_and_the_limits_do_not() {
    let mut w = world();
    for i in 0..4 {
        add_value(&mut w.d, &format!("Value {i}"));
    }
    for i in 0..2 {
        add_principle(&mut w.d, &[&w.v], &format!("Principle {i}"));
    }
    // Five values and three principles under one value are at the limit, not over it.
    assert!(!has(&w.d, TensionKind::Proliferation));
    add_value(&mut w.d, "Value six");
    add_principle(&mut w.d, &[&w.v], "Principle four");
    let found = kinds(&w.d, &inputs(&w.d));
    assert!(found.contains(&(TensionKind::Proliferation, "te-values".into())));
    assert!(found.contains(&(TensionKind::Proliferation, format!("te-{}", w.v))));
}

#[test]
fn raised_tensions_are_data_and_close_when_addressed_by_a_passed_proposal() {
    let mut w = world();
    let mut ctx = ctx!(w.d);
    let id =
        w.d.circle
            .raise_tension(
                &mut ctx,
                "Meetings run late",
                "We never end on time",
                None,
                &[],
            )
            .unwrap();
    assert!(kinds(&w.d, &inputs(&w.d)).contains(&(TensionKind::Raised, id.clone())));
    let mut ctx = ctx!(w.d);
    let pr =
        w.d.circle
            .open_proposal(
                &mut ctx,
                NewProposal {
                    window_ms: None,
                    title: "End at nine".into(),
                    body: String::new(),
                    change: ProposalChange::General,
                },
            )
            .unwrap();
    let mut ctx = ctx!(w.d);
    let err =
        w.d.circle
            .address_tension(&mut ctx, &id, &pr, None)
            .unwrap_err();
    assert!(err.to_string().contains("only a passed proposal"), "{err}");
    let mut ctx = ctx!(w.d);
    w.d.circle
        .respond(&mut ctx, &pr, Answer::Consent, None)
        .unwrap();
    let mut ctx = ctx!(w.d);
    w.d.circle.pass_proposal(&mut ctx, &pr).unwrap();
    let mut ctx = ctx!(w.d);
    w.d.circle
        .address_tension(&mut ctx, &id, &pr, Some("agreed"))
        .unwrap();
    let t = w.d.circle.tension(&id, &inputs(&w.d)).unwrap();
    assert!(!t.open && t.closed.unwrap().source == pr);
}

fn vitality(d: &Device) -> crate::Vitality {
    d.circle
        .vitality(VitalityInputs {
            now: Timestamp(d.now),
            window_days: 30,
            cycle_days: 90,
        })
        .unwrap()
}

fn band_of(v: &crate::Vitality, key: &str) -> Band {
    v.figures
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("figure {key}"))
        .band
}

/// A lively circle: decisions every day, read by another team, results recorded.
fn lively() -> (World, Device) {
    let mut w = world();
    let mut bea = w.d.replica("bea", 9);
    sync_pair(&mut w.d, &mut bea);
    let (t0, t1) = (w.teams[0].clone(), w.teams[1].clone());
    let mut ctx = ctx!(w.d);
    w.d.circle.team_add_member(&mut ctx, &t0, "ana").unwrap();
    let mut ctx = ctx!(w.d);
    w.d.circle.team_add_member(&mut ctx, &t1, "bea").unwrap();
    for i in 0..20 {
        w.d.now += DAY_MS;
        let id = decide(&mut w.d, &t0, &w.p, None, &format!("context {i}"), "choice");
        sync_pair(&mut w.d, &mut bea);
        bea.now = w.d.now;
        let mut ctx = ctx!(bea);
        bea.circle.mark_read(&mut ctx, &id).unwrap();
    }
    sync_pair(&mut w.d, &mut bea);
    (w, bea)
}

#[test]
fn vitality_of_a_lively_circle_is_healthy() {
    let (w, _) = lively();
    let v = vitality(&w.d);
    for key in [
        "decision-velocity",
        "read-coverage",
        "zone-unsure",
        "past-due-no-result",
        "roles-expired",
    ] {
        assert_eq!(
            band_of(&v, key),
            Band::Healthy,
            "{key}: {:?}",
            v.figures.iter().find(|f| f.key == key)
        );
    }
    assert!(
        v.replant.is_none(),
        "no replant for a lively circle: {:?}",
        v.decaying
    );
    // The velocity chart's per-team series must add up to the weekly totals.
    let weeks = &v.weeks;
    assert!(weeks
        .iter()
        .all(|wk| wk.by_team.values().sum::<usize>() == wk.decisions));
    assert_eq!(
        weeks
            .iter()
            .filter_map(|wk| wk.by_team.get(&w.teams[0]))
            .sum::<usize>(),
        20,
        "every decision of the last 20 days is the kitchen's, and falls in the last 12 weeks"
    );
    assert!(weeks.iter().all(|wk| !wk.by_team.contains_key(&w.teams[1])));
}

#[test]
fn decay_signs_each_detected_and_replant_when_more_than_one_category() {
    let mut w = world();
    let t0 = w.teams[0].clone();
    // Principles never cited: two, old enough (the decisions below cite only the first).
    add_principle(&mut w.d, &[&w.v], "Second");
    add_principle(&mut w.d, &[&w.v], "Third");
    w.d.now += 200 * DAY_MS;
    // Decisions unread, unsure of zone, past due without result.
    for i in 0..4 {
        let mut ctx = ctx!(w.d);
        w.d.circle
            .log_decision(
                &mut ctx,
                NewDecision {
                    team: t0.clone(),
                    principles: vec![w.p.clone()],
                    context: format!("c{i}"),
                    choice: "x".into(),
                    zone_unsure: true,
                    result_due: Some(Timestamp(w.d.now - 300 * DAY_MS).day()),
                    zone: Some(crate::Zone::CentreAwareness),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    // Roles with expired terms.
    for name in ["Steward", "Host"] {
        let mut ctx = ctx!(w.d);
        w.d.circle
            .add_role(
                &mut ctx,
                NewRole {
                    name: name.into(),
                    purpose: "Tend".into(),
                    holder: Some("ana".into()),
                    term_days: Some(1),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    w.d.now += 20 * DAY_MS;
    let v = vitality(&w.d);
    for key in [
        "read-coverage",
        "principles-never-cited",
        "past-due-no-result",
        "zone-unsure",
        "escalations-waiting",
        "principles-unchanged",
        "reviews-overdue",
        "roles-expired",
    ] {
        assert_eq!(
            band_of(&v, key),
            Band::Decay,
            "{key}: {:?}",
            v.figures.iter().find(|f| f.key == key)
        );
    }
    let replant = v
        .replant
        .expect("decay in several categories calls for replanting");
    assert!(replant
        .categories
        .contains(&DecayCategory::AuthorityConfusion));
    assert!(replant.categories.len() > 1 && replant.message.contains("Replant"));
    // In plain words, one step per bad sign: the overdue review and the expired roles are named.
    assert!(!replant.message.contains("hollow"), "{}", replant.message);
    assert!(
        replant
            .recommendations
            .iter()
            .any(|r| r.starts_with("Hold the review: it is ")),
        "{:?}",
        replant.recommendations
    );
    assert!(replant
        .recommendations
        .contains(&"Rotate the 2 roles whose term has ended.".to_string()));
    // Velocity: no decisions in the next window decays too.
    w.d.now += 40 * DAY_MS;
    assert_eq!(band_of(&vitality(&w.d), "decision-velocity"), Band::Decay);
}

#[test]
fn advice_never_asks_for_what_is_not_due() {
    let figure = |key: &str, value: f64, band: Band| crate::Figure {
        key: key.into(),
        label: String::new(),
        category: DecayCategory::CentreWithdrawal,
        value,
        unit: "days".into(),
        previous: 0.0,
        trend: crate::Trend::Flat,
        band,
        reason: String::new(),
        detail: Default::default(),
        items: Vec::new(),
    };
    assert_eq!(figure("reviews-overdue", 0.0, Band::Healthy).advice(), None);
    assert_eq!(figure("reviews-overdue", 0.0, Band::Watch).advice(), None);
    assert_eq!(
        figure("reviews-overdue", 1.0, Band::Watch)
            .advice()
            .as_deref(),
        Some("Hold the review: it is 1 day overdue.")
    );
    assert_eq!(figure("roles-expired", 0.0, Band::Watch).advice(), None);
}

#[test]
fn decay_lookalikes_do_not_trigger() {
    let (mut w, mut bea) = lively();
    // A fresh principle not yet cited has not had its chance.
    let change = crate::ProposalChange::NewPrinciple {
        values: vec![w.v.clone()],
        statement: "Brand new".into(),
        guidance: None,
        supersedes: None,
    };
    crate::tests::pass_by_consent(&mut w.d, &mut bea, change);
    // A review in progress is not overdue; a role whose term runs is not expired.
    let mut ctx = ctx!(w.d);
    w.d.circle
        .open_review(
            &mut ctx,
            NewReview {
                date: Day::parse("2026-12-01").unwrap(),
                agenda: vec![],
                participants: vec![],
            },
        )
        .unwrap();
    let mut ctx = ctx!(w.d);
    w.d.circle
        .add_role(
            &mut ctx,
            NewRole {
                name: "Steward".into(),
                purpose: "Tend".into(),
                holder: Some("ana".into()),
                term_days: Some(90),
                ..Default::default()
            },
        )
        .unwrap();
    let v = vitality(&w.d);
    for key in [
        "principles-never-cited",
        "reviews-overdue",
        "roles-expired",
        "principles-unchanged",
    ] {
        assert_eq!(
            band_of(&v, key),
            Band::Healthy,
            "{key}: {:?}",
            v.figures.iter().find(|f| f.key == key)
        );
    }
}
