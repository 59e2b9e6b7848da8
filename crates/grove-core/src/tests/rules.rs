//! One test per domain rule.

use super::*;
use crate::{
    Amendment, Answer, CommitmentStatus, Day, DecisionEdit, DecisionFilter, DecisionStatus,
    ErrorKind, EscalationStatus, NewCommitment, NewProposal, NewRetro, NewReview, NewRole, Outcome,
    PrincipleStatus, ProposalChange, ProposalStatus, ValueEdit, ValueStatus, Verdict, Zone,
};

fn seeded() -> (Device, String, String, String) {
    let mut d = Device::new_circle("ana");
    let v = add_value(&mut d, "Care");
    let p = add_principle(&mut d, &[&v], "Look after each other first.");
    let t = add_team(&mut d, "Kitchen");
    (d, v, p, t)
}

macro_rules! ctx {
    ($d:expr) => {{
        $d.now += 1000;
        Ctx::new(Timestamp($d.now), $d.member.clone(), &mut $d.rng)
    }};
}

#[test]
fn creating_a_circle_records_its_founder_as_member() {
    let d = Device::new_circle("ana");
    let info = d.circle.info().unwrap();
    assert_eq!(info.name, "The Cell");
    assert!(info.id.starts_with("c-"));
    let members = d.circle.members().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].name, "ana");
    assert_eq!(members[0].devices, vec![device("ana")]);
}

#[test]
fn a_value_needs_title_and_statement_and_unique_title() {
    let mut d = Device::new_circle("ana");
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .add_value(
            &mut ctx,
            NewValue {
                title: "Care".into(),
                statement: "  ".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.to_string().contains("statement"), "{err}");
    add_value(&mut d, "Care");
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .add_value(
            &mut ctx,
            NewValue {
                title: "care".into(),
                statement: "x".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("already titled"), "{err}");
}

#[test]
fn editing_a_value_changes_only_given_fields() {
    let (mut d, v, _, _) = seeded();
    let mut ctx = ctx!(d);
    d.circle
        .edit_value(
            &mut ctx,
            &v,
            ValueEdit {
                refuse: Some("Burnout".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let value = d.circle.value(&v).unwrap();
    assert_eq!(value.title, "Care");
    assert_eq!(value.refuse.as_deref(), Some("Burnout"));
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .edit_value(&mut ctx, &v, ValueEdit::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

#[test]
fn retiring_a_value_puts_its_orphaned_principles_under_review() {
    let (mut d, v, p, _) = seeded();
    let v2 = add_value(&mut d, "Courage");
    let shared = add_principle(&mut d, &[&v, &v2], "Speak up kindly.");
    let mut ctx = ctx!(d);
    let orphaned = d.circle.retire_value(&mut ctx, &v).unwrap();
    assert_eq!(orphaned, vec![p.clone()]);
    assert_eq!(d.circle.value(&v).unwrap().status, ValueStatus::Retired);
    assert_eq!(
        d.circle.principle(&p).unwrap().status,
        PrincipleStatus::UnderReview
    );
    assert_eq!(
        d.circle.principle(&shared).unwrap().status,
        PrincipleStatus::Active
    );
    let mut ctx = ctx!(d);
    assert_eq!(
        d.circle.retire_value(&mut ctx, &v).unwrap_err().kind(),
        ErrorKind::State
    );
}

#[test]
fn a_principle_cannot_cite_a_retired_or_unknown_value() {
    let (mut d, v, _, _) = seeded();
    let mut ctx = ctx!(d);
    d.circle.retire_value(&mut ctx, &v).unwrap();
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .add_principle(
            &mut ctx,
            NewPrinciple {
                values: vec![v.clone()],
                statement: "x".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("retired"), "{err}");
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .add_principle(
            &mut ctx,
            NewPrinciple {
                values: vec!["v-nope".into()],
                statement: "x".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .add_principle(
            &mut ctx,
            NewPrinciple {
                values: vec![],
                statement: "x".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("at least one value"), "{err}");
}

#[test]
fn amending_keeps_every_version_with_its_reason() {
    let (mut d, _, p, _) = seeded();
    let mut ctx = ctx!(d);
    let v = d
        .circle
        .amend_principle(
            &mut ctx,
            &p,
            Amendment {
                statement: "Look after each other, and yourself.".into(),
                guidance: None,
                reason: "Burnout last winter".into(),
                cites: Vec::new(),
            },
        )
        .unwrap();
    assert_eq!(v, 2);
    let pr = d.circle.principle(&p).unwrap();
    assert_eq!(pr.statement, "Look after each other, and yourself.");
    assert_eq!(pr.versions.len(), 2);
    assert_eq!(pr.versions[0].statement, "Look after each other first.");
    assert_eq!(pr.versions[0].reason, None);
    assert_eq!(
        pr.versions[1].reason.as_deref(),
        Some("Burnout last winter")
    );
    // An amendment without a reason, or one that changes nothing, is refused.
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .amend_principle(
            &mut ctx,
            &p,
            Amendment {
                statement: "New".into(),
                guidance: None,
                reason: " ".into(),
                cites: Vec::new(),
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("reason"), "{err}");
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .amend_principle(
            &mut ctx,
            &p,
            Amendment {
                statement: pr.statement.clone(),
                guidance: None,
                reason: "r".into(),
                cites: Vec::new(),
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("changes nothing"), "{err}");
}

#[test]
fn superseding_retires_the_old_principle_and_points_citations_to_the_new() {
    let (mut d, v, p, t) = seeded();
    let mut ctx = ctx!(d);
    let p2 = d
        .circle
        .add_principle(
            &mut ctx,
            NewPrinciple {
                values: vec![v],
                statement: "Care is shared work.".into(),
                guidance: None,
                supersedes: Some(p.clone()),
            },
        )
        .unwrap();
    let old = d.circle.principle(&p).unwrap();
    assert_eq!(old.status, PrincipleStatus::Retired);
    assert_eq!(old.superseded_by.as_deref(), Some(p2.as_str()));
    assert_eq!(
        d.circle.principle(&p2).unwrap().supersedes.as_deref(),
        Some(p.as_str())
    );
    let mut ctx = ctx!(d);
    let err = d
        .circle
        .log_decision(
            &mut ctx,
            NewDecision {
                team: t,
                principles: vec![p],
                context: "c".into(),
                choice: "x".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        err.to_string().contains(&p2),
        "the error points to the successor: {err}"
    );
}

#[test]
fn retire_and_supersede_existing_principles() {
    let (mut d, v, p, _) = seeded();
    let p2 = add_principle(&mut d, &[&v], "Rest is part of the work.");
    let mut ctx = ctx!(d);
    d.circle.supersede_principle(&mut ctx, &p, &p2).unwrap();
    assert_eq!(
        d.circle.principle(&p).unwrap().status,
        PrincipleStatus::Retired
    );
    let mut ctx = ctx!(d);
    assert_eq!(
        d.circle
            .retire_principle(&mut ctx, &p, "again")
            .unwrap_err()
            .kind(),
        ErrorKind::State
    );
    let mut ctx = ctx!(d);
    d.circle
        .retire_principle(&mut ctx, &p2, "No longer needed")
        .unwrap();
    assert_eq!(
        d.circle.principle(&p2).unwrap().retired_reason.as_deref(),
        Some("No longer needed")
    );
}

#[test]
fn team_names_are_unique_and_membership_is_a_set() {
    let (mut d, _, _, t) = seeded();
    let mut ctx = ctx!(d);
    assert!(d.circle.add_team(&mut ctx, "kitchen", None).is_err());
    let me = d.member.clone();
    let mut ctx = ctx!(d);
    d.circle.team_add_member(&mut ctx, &t, &me).unwrap();
    let mut ctx = ctx!(d);
    d.circle.team_add_member(&mut ctx, &t, &me).unwrap();
    assert_eq!(d.circle.team(&t).unwrap().members, vec![me.clone()]);
    assert_eq!(d.circle.member(&me).unwrap().teams, vec![t.clone()]);
    let mut ctx = ctx!(d);
    assert_eq!(
        d.circle
            .team_add_member(&mut ctx, &t, "m-ghost")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn logging_a_decision_validates_team_principles_and_text() {
    let (mut d, _, p, t) = seeded();
    let cases: Vec<(NewDecision, &str)> = vec![
        (
            NewDecision {
                team: "t-none".into(),
                principles: vec![p.clone()],
                context: "c".into(),
                choice: "x".into(),
                ..Default::default()
            },
            "team",
        ),
        (
            NewDecision {
                team: t.clone(),
                principles: vec![],
                context: "c".into(),
                choice: "x".into(),
                ..Default::default()
            },
            "principle",
        ),
        (
            NewDecision {
                team: t.clone(),
                principles: vec![p.clone()],
                context: "".into(),
                choice: "x".into(),
                ..Default::default()
            },
            "context",
        ),
        (
            NewDecision {
                team: t.clone(),
                principles: vec![p.clone()],
                context: "c".into(),
                choice: " ".into(),
                ..Default::default()
            },
            "choice",
        ),
    ];
    for (new, word) in cases {
        let mut ctx = ctx!(d);
        let err = d.circle.log_decision(&mut ctx, new).unwrap_err();
        assert!(
            err.to_string().contains(word),
            "expected `{word}` in: {err}"
        );
    }
    assert!(
        d.circle
            .decisions(&DecisionFilter::default())
            .unwrap()
            .is_empty(),
        "failed logs leave nothing behind"
    );
}

#[test]
fn centre_zones_raise_escalations_and_local_does_not() {
    let (mut d, _, p, t) = seeded();
    log(&mut d, &t, &[&p], Zone::Local);
    log(&mut d, &t, &[&p], Zone::PrincipleCheck);
    let aware = log(&mut d, &t, &[&p], Zone::CentreAwareness);
    let interv = log(&mut d, &t, &[&p], Zone::CentreIntervention);
    let esc = d.circle.escalations().unwrap();
    let decisions: Vec<&str> = esc.iter().map(|e| e.decision.as_str()).collect();
    assert_eq!(decisions, vec![aware.as_str(), interv.as_str()]);
    assert!(esc.iter().all(|e| e.status == EscalationStatus::Open));
}

#[test]
fn escalations_are_acknowledged_then_resolved_with_timestamps() {
    let (mut d, _, p, t) = seeded();
    log(&mut d, &t, &[&p], Zone::CentreIntervention);
    let e = d.circle.escalations().unwrap()[0].id.clone();
    let mut ctx = ctx!(d);
    d.circle.acknowledge_escalation(&mut ctx, &e).unwrap();
    let ack_at = d.now;
    let mut ctx = ctx!(d);
    assert_eq!(
        d.circle
            .acknowledge_escalation(&mut ctx, &e)
            .unwrap_err()
            .kind(),
        ErrorKind::State
    );
    let mut ctx = ctx!(d);
    assert!(
        d.circle
            .answer_escalation(&mut ctx, &e, Verdict::Back, "")
            .is_err(),
        "a response is required"
    );
    let mut ctx = ctx!(d);
    d.circle
        .answer_escalation(&mut ctx, &e, Verdict::Back, "Go ahead, we back you")
        .unwrap();
    let esc = d.circle.escalation(&e).unwrap();
    assert_eq!(esc.status, EscalationStatus::Resolved);
    assert_eq!(esc.acknowledged_at, Some(Timestamp(ack_at)));
    assert_eq!(esc.resolved_at, Some(Timestamp(d.now)));
    assert_eq!(
        esc.waiting_ms(Timestamp(d.now + 99_999)),
        ack_at - esc.raised_at.0
    );
    let mut ctx = ctx!(d);
    assert_eq!(
        d.circle
            .answer_escalation(&mut ctx, &e, Verdict::Back, "again")
            .unwrap_err()
            .kind(),
        ErrorKind::State
    );
}

#[test]
fn results_reads_links_and_history() {
    let (mut d, _, p, t) = seeded();
    let a = log(&mut d, &t, &[&p], Zone::Local);
    let b = log(&mut d, &t, &[&p], Zone::Local);
    let mut ctx = ctx!(d);
    d.circle
        .record_result(&mut ctx, &a, "Rent stayed flat", Outcome::Worked)
        .unwrap();
    let mut ctx = ctx!(d);
    assert!(d.circle.mark_read(&mut ctx, &a).unwrap());
    let first_read = d.now;
    let mut ctx = ctx!(d);
    assert!(
        !d.circle.mark_read(&mut ctx, &a).unwrap(),
        "second read is a no-op"
    );
    let mut ctx = ctx!(d);
    d.circle.link_decisions(&mut ctx, &b, &a).unwrap();
    let mut ctx = ctx!(d);
    assert!(d.circle.link_decisions(&mut ctx, &b, &b).is_err());
    let mut ctx = ctx!(d);
    assert_eq!(
        d.circle
            .link_decisions(&mut ctx, &b, "d-202611-zzzzzzzzzz")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let da = d.circle.decision(&a).unwrap();
    assert_eq!(da.status, DecisionStatus::Resulted);
    assert_eq!(da.result.as_ref().unwrap().outcome, Outcome::Worked);
    assert_eq!(da.readers.len(), 1);
    assert_eq!(da.readers[0].at, Timestamp(first_read));
    assert_eq!(da.history.len(), 1);
    assert!(da.history[0].what.contains("worked"));
    assert_eq!(d.circle.decision(&b).unwrap().links, vec![a.clone()]);
}

#[test]
fn filters_select_by_every_criterion() {
    let (mut d, v, p, t) = seeded();
    let v2 = add_value(&mut d, "Courage");
    let p2 = add_principle(&mut d, &[&v2], "Say it to their face.");
    let t2 = add_team(&mut d, "Outreach");
    let a = log(&mut d, &t, &[&p], Zone::Local);
    let b = log(&mut d, &t2, &[&p2], Zone::CentreAwareness);
    let mut ctx = ctx!(d);
    d.circle
        .record_result(&mut ctx, &b, "It backfired", Outcome::Failed)
        .unwrap();
    let ids = |f: DecisionFilter| -> Vec<String> {
        d.circle
            .decisions(&f)
            .unwrap()
            .into_iter()
            .map(|x| x.id.clone())
            .collect()
    };
    assert_eq!(
        ids(DecisionFilter::default()),
        vec![b.clone(), a.clone()],
        "newest first"
    );
    assert_eq!(
        ids(DecisionFilter {
            team: Some(t.clone()),
            ..Default::default()
        }),
        vec![a.clone()]
    );
    assert_eq!(
        ids(DecisionFilter {
            principle: Some(p2.clone()),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(DecisionFilter {
            value: Some(v.clone()),
            ..Default::default()
        }),
        vec![a.clone()]
    );
    assert_eq!(
        ids(DecisionFilter {
            zone: Some(Zone::CentreAwareness),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(DecisionFilter {
            status: Some(DecisionStatus::Open),
            ..Default::default()
        }),
        vec![a.clone()]
    );
    assert_eq!(
        ids(DecisionFilter {
            text: Some("BACKFIRED".into()),
            ..Default::default()
        }),
        vec![b.clone()]
    );
    assert_eq!(
        ids(DecisionFilter {
            unread_by: Some("ana".into()),
            ..Default::default()
        })
        .len(),
        2
    );
    assert!(ids(DecisionFilter {
        since: Some(Timestamp(d.now + 1)),
        ..Default::default()
    })
    .is_empty());
    assert!(d
        .circle
        .decisions(&DecisionFilter {
            value: Some("v-none".into()),
            ..Default::default()
        })
        .is_err());
}

#[test]
fn decisions_are_sharded_by_month() {
    let (mut d, _, p, t) = seeded();
    let nov = log(&mut d, &t, &[&p], Zone::Local);
    d.now += 40 * crate::DAY_MS;
    let jan = log(&mut d, &t, &[&p], Zone::Local);
    assert!(nov.starts_with("d-202611-"), "{nov}");
    assert!(jan.starts_with("d-202701-"), "{jan}");
    assert_eq!(
        d.circle.doc_keys(),
        vec!["core", "decisions/2026-11", "decisions/2027-01"]
    );
    let counts = d.circle.decision_counts();
    assert_eq!(counts.values().sum::<usize>(), 2);
    assert_eq!(d.circle.citations().get(&p), Some(&2));
}

#[test]
fn consent_round_objection_blocks_until_withdrawn_or_resolved() {
    let (mut d, _, p, _) = seeded();
    let mut b = d.replica("ben", 2);
    let mut ctx = ctx!(d);
    let pr = d
        .circle
        .open_proposal(
            &mut ctx,
            NewProposal {
                window_ms: None,
                title: "Soften the care principle".into(),
                body: "We keep burning out.".into(),
                change: ProposalChange::AmendPrinciple {
                    principle: p.clone(),
                    statement: "Care, including for ourselves.".into(),
                    guidance: None,
                    reason: "Burnout".into(),
                    cites: Vec::new(),
                },
            },
        )
        .unwrap();
    sync_pair(&mut d, &mut b);
    let mut ctx = ctx!(b);
    assert!(
        b.circle
            .respond(&mut ctx, &pr, Answer::Objection, None)
            .is_err(),
        "an objection needs a reason"
    );
    let mut ctx = ctx!(b);
    b.circle
        .respond(&mut ctx, &pr, Answer::Objection, Some("Too vague"))
        .unwrap();
    let mut ctx = ctx!(d);
    d.circle
        .respond(&mut ctx, &pr, Answer::Consent, None)
        .unwrap();
    sync_pair(&mut d, &mut b);
    let mut ctx = ctx!(d);
    let err = d.circle.pass_proposal(&mut ctx, &pr).unwrap_err();
    assert!(err.to_string().contains("Too vague"), "{err}");
    // Ben withdraws by answering again.
    let mut ctx = ctx!(b);
    b.circle
        .respond(&mut ctx, &pr, Answer::Consent, None)
        .unwrap();
    sync_pair(&mut d, &mut b);
    let mut ctx = ctx!(d);
    let outcome = d.circle.pass_proposal(&mut ctx, &pr).unwrap();
    assert!(outcome.unwrap().contains("version 2"));
    let principle = d.circle.principle(&p).unwrap();
    assert_eq!(principle.statement, "Care, including for ourselves.");
    assert_eq!(principle.versions[1].source.as_deref(), Some(pr.as_str()));
    let proposal = d.circle.proposal(&pr).unwrap();
    assert_eq!(proposal.status, ProposalStatus::Passed);
    assert!(proposal
        .log
        .iter()
        .any(|l| l.what.contains("withdrew objection")));
    let mut ctx = ctx!(d);
    assert_eq!(
        d.circle
            .respond(&mut ctx, &pr, Answer::Consent, None)
            .unwrap_err()
            .kind(),
        ErrorKind::State
    );
}

#[test]
fn roles_rotate_through_their_queue() {
    let (mut d, _, _, _) = seeded();
    let b = d.replica("ben", 4);
    sync_pair(&mut d, &mut { b });
    let ana = d.member.clone();
    let mut ctx = ctx!(d);
    let r = d
        .circle
        .add_role(
            &mut ctx,
            NewRole {
                name: "Facilitator".into(),
                purpose: "Hold the meeting".into(),
                accountabilities: vec!["Agenda".into()],
                holder: Some(ana.clone()),
                term_days: Some(30),
                queue: vec!["ben".into()],
            },
        )
        .unwrap();
    let role = d.circle.role(&r).unwrap();
    assert_eq!(role.term_ends(), Some(Timestamp(d.now).plus_days(30)));
    let mut ctx = ctx!(d);
    assert_eq!(d.circle.rotate_role(&mut ctx, &r).unwrap(), "ben");
    let role = d.circle.role(&r).unwrap();
    assert_eq!(role.holder.as_deref(), Some("ben"));
    assert_eq!(role.queue, vec![ana.clone()]);
    assert_eq!(role.rotations.len(), 1);
    assert_eq!(role.rotations[0].from.as_deref(), Some(ana.as_str()));
    let mut ctx = ctx!(d);
    assert!(d
        .circle
        .add_role(
            &mut ctx,
            NewRole {
                name: "x".into(),
                purpose: "y".into(),
                term_days: Some(0),
                ..Default::default()
            }
        )
        .is_err());
}

#[test]
fn commitments_track_status_and_overdue() {
    let (mut d, _, p, t) = seeded();
    let dec = log(&mut d, &t, &[&p], Zone::Local);
    let me = d.member.clone();
    let mut ctx = ctx!(d);
    let c = d
        .circle
        .add_commitment(
            &mut ctx,
            NewCommitment {
                who: me.clone(),
                what: "Book the hall".into(),
                due: Some(Day::parse("2026-11-23").unwrap()),
                decision: Some(dec),
            },
        )
        .unwrap();
    let commitment = d.circle.commitment(&c).unwrap();
    assert!(!commitment.overdue(Timestamp(d.now)));
    assert!(commitment.overdue(Timestamp(d.now).plus_days(3)));
    let mut ctx = ctx!(d);
    d.circle
        .set_commitment_status(&mut ctx, &c, CommitmentStatus::Done)
        .unwrap();
    assert!(!d
        .circle
        .commitment(&c)
        .unwrap()
        .overdue(Timestamp(d.now).plus_days(3)));
    let mut ctx = ctx!(d);
    assert!(d
        .circle
        .add_commitment(
            &mut ctx,
            NewCommitment {
                who: me,
                what: "x".into(),
                due: None,
                decision: Some("d-202611-0000000000".into())
            }
        )
        .is_err());
}

#[test]
fn retros_and_reviews_regenerate_principles() {
    let (mut d, _, p, t) = seeded();
    let mut ctx = ctx!(d);
    assert!(d
        .circle
        .add_retro(
            &mut ctx,
            NewRetro {
                team: t.clone(),
                ..Default::default()
            }
        )
        .is_err());
    let mut ctx = ctx!(d);
    d.circle
        .add_retro(
            &mut ctx,
            NewRetro {
                team: t,
                went_well: "Meals".into(),
                didnt: "Rota".into(),
                change: "Split shifts".into(),
                principles: vec![p.clone()],
            },
        )
        .unwrap();
    assert_eq!(d.circle.retros().unwrap()[0].principles, vec![p.clone()]);
    let mut ctx = ctx!(d);
    let rv = d
        .circle
        .open_review(
            &mut ctx,
            NewReview {
                date: Day::parse("2026-12-01").unwrap(),
                agenda: vec!["Care principle".into()],
                participants: vec!["ana".into()],
            },
        )
        .unwrap();
    let mut ctx = ctx!(d);
    let v = d
        .circle
        .review_change(
            &mut ctx,
            &rv,
            &p,
            Amendment {
                statement: "Care in shifts.".into(),
                guidance: None,
                reason: "Rota failed".into(),
                cites: Vec::new(),
            },
        )
        .unwrap();
    assert_eq!(v, crate::ReviewChanged::Amended { version: 2 });
    let mut ctx = ctx!(d);
    d.circle
        .add_learning(&mut ctx, &rv, "Small shifts work")
        .unwrap();
    let mut ctx = ctx!(d);
    d.circle
        .edit_review_notes(&mut ctx, &rv, "We met in the back room.")
        .unwrap();
    let mut ctx = ctx!(d);
    assert!(
        d.circle
            .close_review(&mut ctx, &rv, Day::parse("2026-11-30").unwrap())
            .is_err(),
        "next must be later"
    );
    let mut ctx = ctx!(d);
    d.circle
        .close_review(&mut ctx, &rv, Day::parse("2027-03-01").unwrap())
        .unwrap();
    let review = d.circle.review(&rv).unwrap();
    assert_eq!(review.changes[0].before, "Look after each other first.");
    assert_eq!(review.changes[0].after, "Care in shifts.");
    assert_eq!(review.learnings, vec!["Small shifts work".to_string()]);
    assert_eq!(review.notes, "We met in the back room.");
    assert_eq!(
        d.circle.principle(&p).unwrap().versions[1]
            .source
            .as_deref(),
        Some(rv.as_str())
    );
    let mut ctx = ctx!(d);
    assert!(
        d.circle.add_learning(&mut ctx, &rv, "late").is_ok(),
        "learnings may follow a closed review"
    );
}

#[test]
fn concurrent_edits_of_one_field_stay_visible_until_someone_picks() {
    let (mut a, _, p, t) = seeded();
    let dec = log(&mut a, &t, &[&p], Zone::Local);
    let mut b = a.replica("ben", 5);
    let mut ctx = ctx!(a);
    a.circle
        .edit_decision(
            &mut ctx,
            &dec,
            DecisionEdit {
                choice: Some("Meet on Monday".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let mut ctx = ctx!(b);
    b.circle
        .edit_decision(
            &mut ctx,
            &dec,
            DecisionEdit {
                choice: Some("Meet on Tuesday".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync_pair(&mut a, &mut b);
    let da = a.circle.decision(&dec).unwrap();
    assert_eq!(da, b.circle.decision(&dec).unwrap(), "replicas agree");
    let conflict = da
        .conflicts
        .iter()
        .find(|c| c.field == "choice")
        .expect("conflict is visible");
    let mut vals = conflict.values.clone();
    vals.sort();
    assert_eq!(vals, vec!["Meet on Monday", "Meet on Tuesday"]);
    // Each version names the device that wrote it, so people know whose it is.
    let by = |text: &str| {
        conflict
            .values
            .iter()
            .position(|v| v == text)
            .and_then(|i| conflict.devices.get(i).cloned())
    };
    assert_eq!(by("Meet on Monday"), Some(actor("ana").to_hex_string()));
    assert_eq!(by("Meet on Tuesday"), Some(actor("ben").to_hex_string()));
    assert_eq!(da.history.len(), 2, "both edits are in the history");
    // Picking one resolves the conflict everywhere.
    let mut ctx = ctx!(a);
    a.circle
        .edit_decision(
            &mut ctx,
            &dec,
            DecisionEdit {
                choice: Some("Meet on Tuesday".into()),
                ..Default::default()
            },
        )
        .unwrap();
    sync_pair(&mut a, &mut b);
    assert!(b.circle.decision(&dec).unwrap().conflicts.is_empty());
}

#[test]
fn concurrent_readers_are_all_kept() {
    let (mut a, _, p, t) = seeded();
    let dec = log(&mut a, &t, &[&p], Zone::Local);
    let mut b = a.replica("ben", 6);
    let mut ctx = ctx!(a);
    a.circle.mark_read(&mut ctx, &dec).unwrap();
    let mut ctx = ctx!(b);
    b.circle.mark_read(&mut ctx, &dec).unwrap();
    sync_pair(&mut a, &mut b);
    let readers: Vec<String> = a
        .circle
        .decision(&dec)
        .unwrap()
        .readers
        .into_iter()
        .map(|r| r.member)
        .collect();
    assert_eq!(readers.len(), 2, "{readers:?}");
}

#[test]
fn same_month_shards_created_on_two_devices_merge_without_losing_decisions() {
    let (mut a, _, p, t) = seeded();
    let mut b = a.replica("ben", 7);
    // Neither device has a shard for this month yet: both create one.
    assert_eq!(a.circle.doc_keys(), vec!["core"]);
    let da = log(&mut a, &t, &[&p], Zone::Local);
    let db = log(&mut b, &t, &[&p], Zone::Local);
    sync_pair(&mut a, &mut b);
    for dev in [&a, &b] {
        let ids: Vec<String> = dev
            .circle
            .decisions(&DecisionFilter::default())
            .unwrap()
            .into_iter()
            .map(|d| d.id.clone())
            .collect();
        assert!(ids.contains(&da) && ids.contains(&db), "{ids:?}");
    }
}

#[test]
fn documents_survive_save_and_incremental_reload() {
    let (mut d, _, p, t) = seeded();
    let saved = d.circle.unsaved();
    assert_eq!(saved.len(), 1, "only core changed so far");
    let mut store: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    for u in saved {
        store.entry(u.doc.clone()).or_default().extend(&u.bytes);
        d.circle.mark_saved(&u.doc, u.heads);
    }
    assert!(d.circle.unsaved().is_empty());
    let dec = log(&mut d, &t, &[&p], Zone::CentreAwareness);
    for u in d.circle.unsaved() {
        // Incremental chunks append to what was saved before.
        store.entry(u.doc.clone()).or_default().extend(&u.bytes);
        d.circle.mark_saved(&u.doc, u.heads);
    }
    let id = d.circle.id().to_string();
    let mut reopened = Circle::open(&id, &store["core"], actor("ana")).unwrap();
    assert!(reopened.decision(&dec).is_err(), "shard not attached yet");
    reopened
        .attach("decisions/2026-11", &store["decisions/2026-11"])
        .unwrap();
    assert_eq!(
        reopened.decision(&dec).unwrap(),
        d.circle.decision(&dec).unwrap()
    );
    assert!(
        reopened.escalations().is_err(),
        "the escalations are not attached yet"
    );
    // The escalation went to its own document, not the core.
    assert!(crate::escalations::read(&reopened.core.am, crate::touched::Scope::All).is_empty());
    reopened
        .attach(crate::ESCALATIONS_DOC, &store[crate::ESCALATIONS_DOC])
        .unwrap();
    assert_eq!(reopened.escalations().unwrap().len(), 1);
    assert!(
        Circle::open("c-other", &store["core"], actor("ana")).is_err(),
        "id mismatch is refused"
    );
    assert!(Circle::open(&id, b"garbage", actor("ana")).is_err());
}

#[test]
fn listing_reflects_changes_made_after_an_earlier_listing() {
    let (mut d, _, p, t) = seeded();
    let a = log(&mut d, &t, &[&p], Zone::Local);
    let before = d.circle.decisions(&DecisionFilter::default()).unwrap();
    assert_eq!(before[0].status, DecisionStatus::Open);
    let mut ctx = ctx!(d);
    d.circle
        .record_result(&mut ctx, &a, "Fine", Outcome::Worked)
        .unwrap();
    let b = log(&mut d, &t, &[&p], Zone::Local);
    let after = d.circle.decisions(&DecisionFilter::default()).unwrap();
    assert_eq!(after.len(), 2, "the new decision is listed");
    assert_eq!(after[0].id, b);
    assert_eq!(
        after[1].status,
        DecisionStatus::Resulted,
        "the result is listed"
    );
}
