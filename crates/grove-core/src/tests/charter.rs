//! Values and principles change by consent once a circle has two members: the acting
//! client refuses direct edits with what to do instead, and every receiver refuses a change
//! to them that is not exactly the effect of the proposal it passes.

use automerge::transaction::Transactable as _;

use super::auth::{hex, key, merge, Dev};
use crate::sync::signing::AuthError;
use crate::{
    Amendment, Answer, NewPrinciple, NewProposal, PrincipleStatus, ProposalChange, ProposalStatus,
    Timestamp, ValueEdit, ValueStatus,
};

/// Ana founds the circle and writes its first value and principle alone; then Ben joins.
/// Returns both devices with the value and principle ids.
fn circle() -> (Dev, Dev, String, String) {
    let mut ana = Dev::found(1, "m-ana");
    let v = ana.add_value("Care").unwrap();
    let p = ana
        .act(|c, ctx| {
            c.add_principle(
                ctx,
                NewPrinciple {
                    values: vec![v.clone()],
                    statement: "Two people go to every confrontation.".into(),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let ben = Dev::receive(2, "m-ben", &ana);
    (ana, ben, v, p)
}

/// `by` opens `change`, `other` consents, `by` passes it; both in sync. Returns the
/// proposal and what passing did.
fn by_consent(by: &mut Dev, other: &mut Dev, change: ProposalChange) -> (String, String) {
    let p = by
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    title: "Reword".into(),
                    body: String::new(),
                    change,
                    window_ms: None,
                },
            )
        })
        .unwrap();
    assert!(merge(&by.circle, &mut other.circle).unwrap().is_empty());
    other.now = other.now.max(by.now) + 1000;
    other
        .act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
        .unwrap();
    assert!(merge(&other.circle, &mut by.circle).unwrap().is_empty());
    by.now = by.now.max(other.now) + 1000;
    let outcome = by.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert!(
        merge(&by.circle, &mut other.circle).unwrap().is_empty(),
        "an honest pass and its effect are taken"
    );
    (p, outcome.unwrap_or_default())
}

fn not_allowed(r: crate::Result<Vec<crate::RefusedChange>>) -> String {
    match super::auth::auth_err(r) {
        AuthError::NotAllowed { what, .. } => what,
        other => panic!("expected a rule refusal, got {other:?}"),
    }
}

fn reword(v: &str, statement: &str) -> ProposalChange {
    ProposalChange::AmendValue {
        value: v.into(),
        title: "Care".into(),
        statement: statement.into(),
        protect: Some("Rest".into()),
        refuse: None,
        reason: "Two of us burnt out this winter".into(),
        cites: vec!["tn-burnout".into()],
    }
}

#[test]
fn a_member_of_several_changes_nothing_directly_and_is_told_how() {
    let (_, mut ben, v, p) = circle();
    let before = (
        ben.circle.values().unwrap(),
        ben.circle.principles().unwrap(),
    );
    let errs = [
        ben.add_value("Courage").unwrap_err(),
        ben.act(|c, ctx| {
            c.edit_value(
                ctx,
                &v,
                ValueEdit {
                    statement: Some("Care for us".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap_err(),
        ben.act(|c, ctx| c.retire_value(ctx, &v)).unwrap_err(),
        ben.act(|c, ctx| {
            c.add_principle(
                ctx,
                NewPrinciple {
                    values: vec![v.clone()],
                    statement: "Never alone.".into(),
                    ..Default::default()
                },
            )
        })
        .unwrap_err(),
        ben.act(|c, ctx| {
            c.amend_principle(
                ctx,
                &p,
                Amendment {
                    statement: "Three go.".into(),
                    guidance: None,
                    reason: "r".into(),
                    cites: vec!["tn-x".into()],
                },
            )
        })
        .unwrap_err(),
        ben.act(|c, ctx| c.retire_principle(ctx, &p, "old"))
            .unwrap_err(),
    ];
    for err in errs {
        let msg = err.to_string();
        assert!(msg.contains("by consent"), "{msg}");
        assert!(
            msg.contains("grove proposal open --"),
            "says what to do: {msg}"
        );
    }
    assert_eq!(
        (
            ben.circle.values().unwrap(),
            ben.circle.principles().unwrap()
        ),
        before,
        "a refused action changes nothing"
    );
}

#[test]
fn a_value_or_principle_edited_by_hand_is_refused_by_every_receiver() {
    let (mut ana, ben, v, p) = circle();
    // Ben's modified client writes the changes his honest one refuses.
    let vobj = ben.circle.value_obj(&v).unwrap();
    let pobj = ben.circle.principle_obj(&p).unwrap();
    let values = crate::fields::child_map(&ben.circle.core.am, &automerge::ROOT, "values").unwrap();
    type Write = Box<dyn Fn(&mut automerge::transaction::Transaction<'_>) -> crate::Result<()>>;
    let writes: [(&str, Write); 3] = [
        (
            "rewords a value",
            Box::new(move |tx| {
                tx.put(&vobj, "statement", "Care for Ben only")?;
                Ok(())
            }),
        ),
        (
            "rewrites a principle",
            Box::new(move |tx| {
                tx.put(&pobj, "statement", "Go alone.")?;
                Ok(())
            }),
        ),
        (
            "slips in a value",
            Box::new(move |tx| {
                let n = tx.put_object(&values, "v-slipped", automerge::ObjType::Map)?;
                tx.put(&n, "title", "Obedience")?;
                Ok(())
            }),
        ),
    ];
    for (what, write) in writes {
        // A copy of Ben's device, so each forgery is judged alone.
        let mut forger = Dev::receive(2, "m-ben", &ben);
        forger
            .circle
            .change_core(Timestamp(ben.now + 1000), "edit", |tx| write(tx))
            .unwrap();
        let refused = not_allowed(merge(&forger.circle, &mut ana.circle));
        assert!(refused.contains("by consent"), "{what}: {refused}");
    }
    assert_eq!(ana.circle.value(&v).unwrap().statement, "We hold to Care.");
    assert_eq!(ana.circle.values().unwrap().len(), 1);
    assert_eq!(
        ana.circle.principle(&p).unwrap().statement,
        "Two people go to every confrontation."
    );
}

#[test]
fn a_pass_that_writes_other_than_what_was_agreed_is_refused() {
    let (mut ana, mut ben, v, _) = circle();
    let change = reword(&v, "We care for each other, and rest.");
    let p = ana
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    title: "Reword care".into(),
                    body: String::new(),
                    change,
                    window_ms: None,
                },
            )
        })
        .unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    ben.now = ana.now + 1000;
    ben.act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
        .unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.now = ben.now + 1000;
    // Ana's modified client passes it honestly but words the value its own way.
    let prop = ana.circle.proposal_obj(&p).unwrap();
    let vobj = ana.circle.value_obj(&v).unwrap();
    let tags: Vec<(String, String)> = ana
        .circle
        .proposal(&p)
        .unwrap()
        .stored
        .answers
        .iter()
        .map(|(m, a)| (m.clone(), a.4.clone()))
        .collect();
    let at = (ana.now / 1000) * 1000;
    ana.circle
        .change_core(Timestamp(at), "proposal pass", |tx| {
            tx.put(&prop, "status", "passed")?;
            tx.put(&prop, "closed_by", "m-ana")?;
            tx.put(&prop, "closed_at", at)?;
            tx.put(&prop, "passed_version", 1_i64)?;
            tx.put(&prop, "base_version", 1_i64)?;
            for (m, tag) in &tags {
                tx.put(&prop, format!("saw:{m}"), tag.as_str())?;
            }
            tx.put(&vobj, "statement", "Ana decides what care means.")?;
            Ok(())
        })
        .unwrap();
    let what = not_allowed(merge(&ana.circle, &mut ben.circle));
    assert!(what.contains(&p), "names the proposal: {what}");
    assert_eq!(
        ben.circle.proposal(&p).unwrap().status,
        ProposalStatus::Open,
        "the forged pass is refused with its effect"
    );
    assert_eq!(ben.circle.value(&v).unwrap().statement, "We hold to Care.");
}

/// A pass's effect can reach a principle the change does not write (retiring its only value
/// puts it under review), so the effect is judged on the whole charter, not only on what
/// the change writes.
#[test]
fn a_value_retired_without_its_orphaned_principle_going_under_review_is_refused() {
    let (mut ana, mut ben, v, p) = circle();
    let change = ProposalChange::RetireValue {
        value: v.clone(),
        reason: "We never cite it".into(),
    };
    let pr = ana
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    title: "Retire care".into(),
                    body: String::new(),
                    change,
                    window_ms: None,
                },
            )
        })
        .unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    ben.now = ana.now + 1000;
    ben.act(|c, ctx| c.respond(ctx, &pr, Answer::Consent, None))
        .unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.now = ben.now + 1000;
    // Ana's modified client passes it and retires the value, but leaves the principle
    // derived only from it active.
    let prop = ana.circle.proposal_obj(&pr).unwrap();
    let vobj = ana.circle.value_obj(&v).unwrap();
    let tags: Vec<(String, String)> = ana
        .circle
        .proposal(&pr)
        .unwrap()
        .stored
        .answers
        .iter()
        .map(|(m, a)| (m.clone(), a.4.clone()))
        .collect();
    let at = (ana.now / 1000) * 1000;
    ana.circle
        .change_core(Timestamp(at), "proposal pass", |tx| {
            tx.put(&prop, "status", "passed")?;
            tx.put(&prop, "closed_by", "m-ana")?;
            tx.put(&prop, "closed_at", at)?;
            tx.put(&prop, "passed_version", 1_i64)?;
            for (m, tag) in &tags {
                tx.put(&prop, format!("saw:{m}"), tag.as_str())?;
            }
            tx.put(&vobj, "status", "retired")?;
            tx.put(&vobj, "updated_at", at)?;
            Ok(())
        })
        .unwrap();
    let what = not_allowed(merge(&ana.circle, &mut ben.circle));
    assert!(what.contains("other than proposal"), "{what}");
    assert_eq!(ben.circle.value(&v).unwrap().status, ValueStatus::Active);
    assert_eq!(
        ben.circle.principle(&p).unwrap().status,
        PrincipleStatus::Active
    );
}

#[test]
fn every_kind_of_charter_change_passes_by_consent_and_keeps_its_history() {
    let (mut ana, mut ben, v, p) = circle();
    // A value reworded: a new version with its reason, the feedback it cites and its source.
    let (pr, outcome) = by_consent(&mut ana, &mut ben, reword(&v, "We care, and we rest."));
    assert!(outcome.contains("reworded"), "{outcome}");
    for d in [&ana, &ben] {
        let value = d.circle.value(&v).unwrap();
        assert_eq!(value.statement, "We care, and we rest.");
        assert_eq!(value.protect.as_deref(), Some("Rest"));
        assert_eq!(value.versions.len(), 2, "{:?}", value.versions);
        let last = &value.versions[1];
        assert_eq!(last.source.as_deref(), Some(pr.as_str()));
        assert_eq!(last.cites, vec!["tn-burnout".to_string()]);
        assert_eq!(
            last.reason.as_deref(),
            Some("Two of us burnt out this winter")
        );
        assert_eq!(value.versions[0].statement, "We hold to Care.");
    }
    // A new value, then a new principle superseding the old one.
    let (_, outcome) = by_consent(
        &mut ben,
        &mut ana,
        ProposalChange::NewValue {
            title: "Courage".into(),
            statement: "We act though we are afraid.".into(),
            protect: None,
            refuse: Some("Silence".into()),
        },
    );
    let courage = outcome.split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(ana.circle.value(&courage).unwrap().title, "Courage");
    let (_, outcome) = by_consent(
        &mut ana,
        &mut ben,
        ProposalChange::NewPrinciple {
            values: vec![courage.clone()],
            statement: "Three people go to every confrontation.".into(),
            guidance: None,
            supersedes: Some(p.clone()),
        },
    );
    let newp = outcome.split_whitespace().nth(1).unwrap().to_string();
    for d in [&ana, &ben] {
        let old = d.circle.principle(&p).unwrap();
        assert_eq!(old.status, PrincipleStatus::Retired);
        assert_eq!(old.superseded_by.as_deref(), Some(newp.as_str()));
    }
    // Retiring a value leaves the principles that stood only on it under review.
    let (_, outcome) = by_consent(
        &mut ben,
        &mut ana,
        ProposalChange::RetireValue {
            value: courage.clone(),
            reason: "We fold it into Care".into(),
        },
    );
    assert!(outcome.contains(&newp), "{outcome}");
    for d in [&ana, &ben] {
        assert_eq!(
            d.circle.value(&courage).unwrap().status,
            ValueStatus::Retired
        );
        assert_eq!(
            d.circle.principle(&newp).unwrap().status,
            PrincipleStatus::UnderReview
        );
    }
    by_consent(
        &mut ana,
        &mut ben,
        ProposalChange::RetirePrinciple {
            principle: newp.clone(),
            reason: "Nobody cites it".into(),
        },
    );
    assert_eq!(
        ben.circle.principle(&newp).unwrap().status,
        PrincipleStatus::Retired
    );
}

#[test]
fn an_amendment_cites_feedback_or_is_refused_everywhere() {
    let (mut ana, mut ben, v, p) = circle();
    let mut change = reword(&v, "We care.");
    if let ProposalChange::AmendValue { cites, .. } = &mut change {
        cites.clear();
    }
    let open = |d: &mut Dev, change: ProposalChange| {
        d.act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    title: "Reword".into(),
                    body: String::new(),
                    change,
                    window_ms: None,
                },
            )
        })
    };
    let err = open(&mut ana, change.clone()).unwrap_err().to_string();
    assert!(err.contains("--cites"), "{err}");
    let amend = ProposalChange::AmendPrinciple {
        principle: p,
        statement: "Three go.".into(),
        guidance: None,
        reason: "r".into(),
        cites: vec!["because".into()],
    };
    let err = open(&mut ana, amend).unwrap_err().to_string();
    assert!(err.contains("no tension, decision or review"), "{err}");
    // A modified client opens it anyway: receivers refuse.
    let coll =
        crate::fields::child_map(&ben.circle.core.am, &automerge::ROOT, "proposals").unwrap();
    let at = ben.now + 1000;
    ben.circle
        .change_core(Timestamp(at), "proposal open", |tx| {
            let p = tx.put_object(&coll, "pr-nocite", automerge::ObjType::Map)?;
            tx.put(&p, "title", "Reword")?;
            tx.put(&p, "status", "open")?;
            tx.put(&p, "opened_by", "m-ben")?;
            tx.put(&p, "opened_at", at)?;
            tx.put(&p, "version", 1_i64)?;
            tx.put(&p, "kind", "amend-value")?;
            tx.put(&p, "value", v.as_str())?;
            tx.put(&p, "value_title", "Care")?;
            tx.put(&p, "statement", "Care for Ben")?;
            tx.put(&p, "reason", "r")?;
            Ok(())
        })
        .unwrap();
    let what = not_allowed(merge(&ben.circle, &mut ana.circle));
    assert!(what.contains("citing no"), "{what}");
}

#[test]
fn picking_one_of_two_wordings_written_at_once_is_no_change_of_substance() {
    // Ana's laptop and phone reword the value at once while she is alone.
    let mut ana = Dev::found(1, "m-ana");
    let v = ana.add_value("Care").unwrap();
    ana.act(|c, ctx| c.add_device(ctx, "m-ana", &hex(&key(11))))
        .unwrap();
    let mut phone = Dev::receive(11, "m-ana", &ana);
    for (d, text) in [(&mut ana, "Care for all"), (&mut phone, "Care for us")] {
        d.act(|c, ctx| {
            c.edit_value(
                ctx,
                &v,
                ValueEdit {
                    statement: Some(text.into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    }
    merge(&phone.circle, &mut ana.circle).unwrap();
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let mut ben = Dev::receive(2, "m-ben", &ana);
    let conflict = &ben.circle.value(&v).unwrap().conflicts[0];
    assert_eq!(conflict.field, "statement");
    // Ben settles it by picking Ana's phone's wording: taken everywhere.
    ben.act(|c, ctx| {
        c.edit_value(
            ctx,
            &v,
            ValueEdit {
                statement: Some("Care for us".into()),
                ..Default::default()
            },
        )
    })
    .unwrap();
    assert!(merge(&ben.circle, &mut ana.circle).unwrap().is_empty());
    let value = ana.circle.value(&v).unwrap();
    assert_eq!(value.statement, "Care for us");
    assert!(value.conflicts.is_empty());
    // A third wording is a change of substance: refused by his client.
    let err = ben
        .act(|c, ctx| {
            c.edit_value(
                ctx,
                &v,
                ValueEdit {
                    statement: Some("Care for Ben".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap_err();
    assert!(err.to_string().contains("by consent"), "{err}");
}

#[test]
fn a_review_of_several_opens_its_principle_changes_as_proposals() {
    use crate::{Day, NewReview, ReviewChanged};
    let (mut ana, _ben, _, p) = circle();
    let rv = ana
        .act(|c, ctx| {
            c.open_review(
                ctx,
                NewReview {
                    date: Day::parse("2026-12-01").unwrap(),
                    agenda: vec![],
                    participants: vec![],
                },
            )
        })
        .unwrap();
    let changed = ana
        .act(|c, ctx| {
            c.review_change(
                ctx,
                &rv,
                &p,
                Amendment {
                    statement: "Three people go.".into(),
                    guidance: None,
                    reason: "The agent came with two others".into(),
                    cites: Vec::new(),
                },
            )
        })
        .unwrap();
    let ReviewChanged::Proposed { proposal } = changed else {
        panic!("a review of several proposes: {changed:?}");
    };
    let prop = ana.circle.proposal(&proposal).unwrap();
    assert_eq!(prop.status, ProposalStatus::Open);
    let ProposalChange::AmendPrinciple { cites, .. } = &prop.change else {
        panic!("{:?}", prop.change);
    };
    assert_eq!(
        cites,
        &vec![rv.clone()],
        "the review is the feedback it cites"
    );
    assert_eq!(
        ana.circle.principle(&p).unwrap().statement,
        "Two people go to every confrontation.",
        "unchanged until the proposal passes"
    );
    let review = ana.circle.review(&rv).unwrap();
    assert_eq!(
        review.changes[0].proposal.as_deref(),
        Some(proposal.as_str())
    );
    assert_eq!(review.changes[0].after, "Three people go.");
}

/// Opens `change` by `by`, has each of `consent` consent, merging all three both ways, and
/// returns the proposal (not passed).
fn round(devs: &mut [&mut Dev; 3], by: usize, consent: &[usize], change: ProposalChange) -> String {
    let p = devs[by]
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    title: "Round".into(),
                    body: String::new(),
                    change,
                    window_ms: None,
                },
            )
        })
        .unwrap();
    sync3(devs);
    for &i in consent {
        devs[i]
            .act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
            .unwrap();
        sync3(devs);
    }
    p
}

/// Every device gets every other's changes (each checked as a receiver checks them), and
/// their clocks agree.
fn sync3(devs: &mut [&mut Dev; 3]) {
    for _ in 0..2 {
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    let (from, to) = if i < j {
                        let (a, b) = devs.split_at_mut(j);
                        (&*a[i], &mut *b[0])
                    } else {
                        let (a, b) = devs.split_at_mut(i);
                        (&*b[0], &mut *a[j])
                    };
                    assert!(merge(&from.circle, &mut to.circle).unwrap().is_empty());
                }
            }
        }
    }
    let now = devs.iter().map(|d| d.now).max().unwrap_or_default() + 1000;
    for d in devs.iter_mut() {
        d.now = now;
    }
}

#[test]
fn principle_keepers_are_named_by_consent_and_a_charter_change_needs_one_of_them() {
    let (mut ana, mut ben, mut cat) = super::auth::three();
    let p = super::auth::charter(&mut ana);
    sync3(&mut [&mut ana, &mut ben, &mut cat]);
    // The circle names Cat principle keeper for 90 days, Ben next.
    let naming = ProposalChange::Keepers {
        members: vec!["m-cat".into()],
        term_days: 90,
        queue: vec!["m-ben".into()],
    };
    let devs = &mut [&mut ana, &mut ben, &mut cat];
    let k = round(devs, 0, &[0, 1, 2], naming);
    devs[0].act(|c, ctx| c.pass_proposal(ctx, &k)).unwrap();
    sync3(devs);
    for d in devs.iter() {
        let keepers = d.circle.keepers(Timestamp(d.now));
        assert_eq!(keepers.keepers, vec!["m-cat".to_string()]);
        assert!(keepers.in_office);
        assert_eq!(keepers.by.as_deref(), Some(k.as_str()));
        assert_eq!(keepers.queue, vec!["m-ben".to_string()]);
    }

    // Ana proposes an amendment and Ben consents: no keeper has spoken, so it cannot pass.
    let amend = ProposalChange::AmendPrinciple {
        principle: p.clone(),
        statement: "We look after each other, and ask first.".into(),
        guidance: None,
        reason: "We decided for Dee without asking".into(),
        cites: vec!["tn-dee".into()],
    };
    let a = round(devs, 0, &[0, 1], amend.clone());
    let err = devs[0]
        .act(|c, ctx| c.pass_proposal(ctx, &a))
        .unwrap_err()
        .to_string();
    assert!(err.contains("principle keeper"), "{err}");
    let view = devs[0]
        .circle
        .proposal_view(&a, Timestamp(devs[0].now))
        .unwrap();
    assert!(!view.round.can_pass);
    // A modified client passes it anyway: every receiver refuses the pass and its effect.
    let before = devs[1].circle.principle(&p).unwrap();
    let forged_at = (devs[0].now / 1000) * 1000;
    let prop = devs[0].circle.proposal(&a).unwrap();
    let tags: Vec<(String, String)> = prop
        .stored
        .answers
        .iter()
        .map(|(m, x)| (m.clone(), x.4.clone()))
        .collect();
    let mut forger = Dev::receive(1, "m-ana", devs[0]);
    let obj = forger.circle.proposal_obj(&a).unwrap();
    let pobj = forger.circle.principle_obj(&p).unwrap();
    let versions = crate::fields::Fields::read(&forger.circle.core.am, &pobj)
        .obj("versions")
        .cloned()
        .unwrap();
    forger
        .circle
        .change_core(Timestamp(forged_at), "proposal pass", |tx| {
            tx.put(&obj, "status", "passed")?;
            tx.put(&obj, "closed_by", "m-ana")?;
            tx.put(&obj, "closed_at", forged_at)?;
            tx.put(&obj, "passed_version", 1_i64)?;
            tx.put(&obj, "base_version", 1_i64)?;
            for (m, tag) in &tags {
                tx.put(&obj, format!("saw:{m}"), tag.as_str())?;
            }
            tx.put(
                &pobj,
                "statement",
                "We look after each other, and ask first.",
            )?;
            tx.put(&pobj, "status", "active")?;
            let v = tx.insert_object(&versions, 1, automerge::ObjType::Map)?;
            tx.put(&v, "statement", "We look after each other, and ask first.")?;
            tx.put(&v, "source", a.as_str())?;
            Ok(())
        })
        .unwrap();
    let what = not_allowed(merge(&forger.circle, &mut devs[1].circle));
    assert!(what.contains("principle keeper"), "{what}");
    assert_eq!(devs[1].circle.principle(&p).unwrap(), before);

    // Cat, the keeper, consents: now it passes, and every device takes it.
    devs[2]
        .act(|c, ctx| c.respond(ctx, &a, Answer::Consent, None))
        .unwrap();
    sync3(devs);
    devs[0].act(|c, ctx| c.pass_proposal(ctx, &a)).unwrap();
    sync3(devs);
    assert_eq!(
        devs[1].circle.principle(&p).unwrap().statement,
        "We look after each other, and ask first."
    );
    // A proposal the keeper opens needs no other keeper: the others' consent is enough.
    let retire = ProposalChange::RetirePrinciple {
        principle: p.clone(),
        reason: "Folded into the care value".into(),
    };
    let r = round(devs, 2, &[0, 1], retire);
    devs[2].act(|c, ctx| c.pass_proposal(ctx, &r)).unwrap();
    sync3(devs);
    assert_eq!(
        devs[0].circle.principle(&p).unwrap().status,
        PrincipleStatus::Retired
    );
}

#[test]
fn no_one_appoints_a_keeper_by_hand_and_the_office_rotates_when_the_term_ends() {
    let (mut ana, mut ben, mut cat) = super::auth::three();
    let devs = &mut [&mut ana, &mut ben, &mut cat];
    // Ben's modified client writes himself keeper for good.
    let mut forger = Dev::receive(2, "m-ben", devs[1]);
    let meta = crate::fields::child_map(&forger.circle.core.am, &automerge::ROOT, "meta").unwrap();
    let at = devs[1].now + 1000;
    forger
        .circle
        .change_core(Timestamp(at), "keepers named", |tx| {
            let l = tx.put_object(&meta, "keepers", automerge::ObjType::List)?;
            tx.insert(&l, 0, "m-ben")?;
            Ok(())
        })
        .unwrap();
    let what = not_allowed(merge(&forger.circle, &mut devs[0].circle));
    assert!(what.contains("principle keepers"), "{what}");
    assert!(devs[0].circle.keepers(Timestamp(at)).keepers.is_empty());

    // Named by consent for a day, Ben next; the term ends; anyone rotates.
    let naming = ProposalChange::Keepers {
        members: vec!["m-cat".into()],
        term_days: 1,
        queue: vec!["m-ben".into()],
    };
    let k = round(devs, 0, &[0, 1, 2], naming);
    devs[0].act(|c, ctx| c.pass_proposal(ctx, &k)).unwrap();
    sync3(devs);
    let err = devs[0]
        .act(|c, ctx| c.rotate_keepers(ctx))
        .unwrap_err()
        .to_string();
    assert!(err.contains("rotation comes after it"), "{err}");
    for d in devs.iter_mut() {
        d.now += crate::DAY_MS + 1000;
    }
    let k_view = devs[0].circle.keepers(Timestamp(devs[0].now));
    assert!(!k_view.in_office, "the term ended");
    let vacuum = |d: &Dev| {
        d.circle
            .tensions(&crate::TensionInputs {
                now: Timestamp(d.now),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .any(|t| t.title == "No principle keeper in office")
    };
    assert!(vacuum(devs[0]), "an untended charter shows");
    let next = devs[0].act(|c, ctx| c.rotate_keepers(ctx)).unwrap();
    assert_eq!(next, vec!["m-ben".to_string()]);
    sync3(devs);
    let keepers = devs[2].circle.keepers(Timestamp(devs[2].now));
    assert_eq!(keepers.keepers, vec!["m-ben".to_string()]);
    assert_eq!(keepers.queue, vec!["m-cat".to_string()]);
    assert!(keepers.in_office);
    assert!(!vacuum(devs[2]));
}

#[test]
fn a_forbidden_change_sent_ahead_of_its_dependency_is_still_refused() {
    let (mut ana, ben, v, _) = circle();
    // Ben's modified client writes a harmless change, then a forbidden one on top of it,
    // and sends the forbidden one first: it cannot be judged before its dependency is held.
    let mut forger = Dev::receive(2, "m-ben", &ben);
    assert!(merge(&forger.circle, &mut ana.circle).unwrap().is_empty());
    forger
        .act(|c, ctx| c.add_team(ctx, "Harmless", None))
        .unwrap();
    let harmless_hash = forger.circle.doc(crate::CORE_DOC).unwrap().get_heads()[0];
    let vobj = forger.circle.value_obj(&v).unwrap();
    let at = forger.now + 1000;
    forger
        .circle
        .change_core(Timestamp(at), "value edit", |tx| {
            tx.put(&vobj, "statement", "Care for Ben only")?;
            Ok(())
        })
        .unwrap();
    let core = forger.circle.signed_changes(crate::CORE_DOC, &[]);
    let pick = |h: automerge::ChangeHash| {
        core.iter()
            .find(|sc| sc.change.hash() == h)
            .cloned()
            .unwrap()
    };
    let forbidden_hash = forger.circle.doc(crate::CORE_DOC).unwrap().get_heads()[0];
    let (harmless, forbidden) = (pick(harmless_hash), pick(forbidden_hash));
    assert!(forbidden.change.deps().contains(&harmless_hash));
    let send = |to: &mut Dev, batch: Vec<crate::sync::signing::SignedChange>| {
        let batch = vec![(crate::CORE_DOC.to_string(), batch)];
        let verdict = to.circle.authorize_merge(&batch).unwrap();
        let refused = verdict.refused().to_vec();
        to.circle.apply_checked(batch, verdict).unwrap();
        refused
    };
    // Held back, not applied and not blamed on anyone: it cannot be judged yet.
    assert!(send(&mut ana, vec![forbidden.clone()]).is_empty());
    assert!(send(&mut ana, vec![harmless]).is_empty());
    assert_eq!(
        ana.circle.value(&v).unwrap().statement,
        "We hold to Care.",
        "the forbidden change never takes effect"
    );
    // Sent again once its dependency is here, it is judged, and refused.
    let refused = send(&mut ana, vec![forbidden]);
    assert!(
        matches!(refused.as_slice(), [r] if matches!(&r.reason, AuthError::NotAllowed { what, .. } if what.contains("by consent"))),
        "{refused:?}"
    );
    assert_eq!(ana.circle.value(&v).unwrap().statement, "We hold to Care.");

    // An honest change that arrives ahead of its dependency is taken once that is here.
    let (mut ana, mut honest, _, _) = circle();
    honest.act(|c, ctx| c.add_team(ctx, "First", None)).unwrap();
    let first = honest.circle.doc(crate::CORE_DOC).unwrap().get_heads()[0];
    honest
        .act(|c, ctx| c.add_team(ctx, "Second", None))
        .unwrap();
    let second = honest.circle.doc(crate::CORE_DOC).unwrap().get_heads()[0];
    let core = honest.circle.signed_changes(crate::CORE_DOC, &[]);
    let pick = |h: automerge::ChangeHash| {
        core.iter()
            .find(|sc| sc.change.hash() == h)
            .cloned()
            .unwrap()
    };
    assert!(send(&mut ana, vec![pick(second)]).is_empty());
    assert!(send(&mut ana, vec![pick(first)]).is_empty());
    assert!(send(&mut ana, vec![pick(second)]).is_empty());
    let teams: Vec<String> = ana
        .circle
        .teams()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(teams.contains(&"Second".to_string()), "{teams:?}");
}

/// A governance check reads only the values and principles a change writes
/// (`crate::touched`): one reached through its collection's key (a delete), through its own
/// object, through an object nested in it (a version in its history, its list of values),
/// or by replacing the whole collection is still found, and refused.
#[test]
fn a_forged_charter_change_is_refused_however_it_reaches_the_value_or_principle() {
    use automerge::{transaction::Transaction, ObjId, ObjType, ReadDoc as _, ROOT};
    let (ana, ben, v, p) = circle();
    // The `n`th item of list `key` of `obj`.
    fn item(doc: &automerge::Automerge, obj: &ObjId, key: &str, n: usize) -> (ObjId, ObjId) {
        let Ok(Some((_, list))) = doc.get(obj, key) else {
            panic!("no list `{key}`");
        };
        let Ok(Some((_, item))) = doc.get(&list, n) else {
            panic!("no item {n} of `{key}`");
        };
        (list, item)
    }
    let core = &ben.circle.core.am;
    let targets = [
        (
            "values",
            v.clone(),
            ben.circle.value_obj(&v).unwrap(),
            item(core, &ben.circle.value_obj(&v).unwrap(), "versions", 0),
        ),
        (
            "principles",
            p.clone(),
            ben.circle.principle_obj(&p).unwrap(),
            item(core, &ben.circle.principle_obj(&p).unwrap(), "versions", 0),
        ),
    ];
    type Write = Box<dyn Fn(&mut Transaction<'_>) -> Result<(), automerge::AutomergeError>>;
    let mut forgeries: Vec<(String, Write)> = Vec::new();
    for (coll_name, id, obj, (_, version)) in targets {
        let coll = crate::fields::child_map(core, &ROOT, coll_name).unwrap();
        forgeries.push((
            format!("{coll_name}: deleted through the collection"),
            Box::new(move |tx| tx.delete(&coll, id.as_str())),
        ));
        let own = obj.clone();
        forgeries.push((
            format!("{coll_name}: its own object"),
            Box::new(move |tx| tx.put(&own, "status", "retired")),
        ));
        forgeries.push((
            format!("{coll_name}: a version in its history"),
            Box::new(move |tx| tx.put(&version, "statement", "Whatever Ben says.")),
        ));
        forgeries.push((
            format!("{coll_name}: the collection replaced"),
            Box::new(move |tx| tx.put_object(ROOT, coll_name, ObjType::Map).map(|_| ())),
        ));
    }
    let (values_list, _) = item(core, &ben.circle.principle_obj(&p).unwrap(), "values", 0);
    forgeries.push((
        "principles: its list of values".into(),
        Box::new(move |tx| tx.insert(&values_list, 1, "v-obedience")),
    ));
    let mut through = Vec::new();
    for (what, write) in &forgeries {
        // Copies of both devices, so each forgery is judged alone.
        let mut forger = Dev::receive(2, "m-ben", &ben);
        let mut judge = Dev::receive(1, "m-ana", &ana);
        forger
            .circle
            .change_core(Timestamp(ben.now + 1000), "edit", |tx| Ok(write(tx)?))
            .unwrap();
        match merge(&forger.circle, &mut judge.circle) {
            Ok(refused) if refused.is_empty() => through.push(what.clone()),
            r => {
                let refused = not_allowed(r);
                assert!(refused.contains("by consent"), "{what}: {refused}");
                let value = judge.circle.value(&v).unwrap();
                assert_eq!(
                    (value.statement.as_str(), value.status, value.versions.len()),
                    ("We hold to Care.", ValueStatus::Active, 1),
                    "{what}"
                );
                let principle = judge.circle.principle(&p).unwrap();
                assert_eq!(principle.values, vec![v.clone()], "{what}");
                assert_eq!(principle.status, PrincipleStatus::Active, "{what}");
                assert_eq!(
                    principle.versions[0].statement, "Two people go to every confrontation.",
                    "{what}"
                );
            }
        }
    }
    assert!(through.is_empty(), "taken: {through:?}");
}
