//! The consent rules held on every device: what the acting client refuses, what an honest
//! receiver refuses when a modified client writes it anyway, and partitions made visible.

use std::sync::Arc;

use automerge::transaction::{Transactable as _, Transaction};
use automerge::ObjId;

use super::auth::{auth_err, hex, key, merge, three, Dev};
use crate::sync::signing::AuthError;
use crate::{Answer, NewPrinciple, NewProposal, ProposalChange, ProposalStatus, Timestamp, DAY_MS};

/// Ana (founder) and Ben, both members, Ben's device holding Ana's circle. Ana wrote the
/// circle's first value and principle while alone (see [`principle`]).
fn two() -> (Dev, Dev) {
    let mut ana = Dev::found(1, "m-ana");
    principle(&mut ana);
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let ben = Dev::receive(2, "m-ben", &ana);
    (ana, ben)
}

fn open(d: &mut Dev, change: ProposalChange, window_ms: Option<i64>) -> String {
    d.act(|c, ctx| {
        c.open_proposal(
            ctx,
            NewProposal {
                title: "Meet on Thursdays".into(),
                body: "Tuesdays clash with the tenants' clinic.".into(),
                change,
                window_ms,
            },
        )
    })
    .unwrap()
}

fn answer(d: &mut Dev, p: &str, a: Answer) {
    let reason = (a != Answer::Consent).then_some("Not yet");
    d.act(|c, ctx| c.respond(ctx, p, a, reason)).unwrap();
}

fn receive(d: &mut Dev) {
    d.act(|c, ctx| c.receive_proposals(ctx)).unwrap();
}

fn status(d: &Dev, p: &str) -> ProposalStatus {
    d.circle.proposal(p).unwrap().status
}

/// A modified client: writes whatever `f` puts on proposal `p`, signed by `d`, at `at`.
fn raw(
    d: &mut Dev,
    p: &str,
    at: i64,
    f: impl FnOnce(&mut Transaction<'_>, &ObjId) -> crate::Result<()>,
) {
    let obj = d.circle.proposal_obj(p).unwrap();
    d.circle
        .change_core(Timestamp(at), "proposal pass", |tx| f(tx, &obj))
        .unwrap();
}

/// The fields an honest pass writes, for a version and the answer tags it saw.
fn write_pass(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    by: &str,
    at: i64,
    saw: &[(String, String)],
) -> crate::Result<()> {
    tx.put(obj, "status", "passed")?;
    tx.put(obj, "closed_by", by)?;
    tx.put(obj, "closed_at", at)?;
    tx.put(obj, "passed_version", 1_i64)?;
    for (m, tag) in saw {
        tx.put(obj, format!("saw:{m}"), tag.as_str())?;
    }
    Ok(())
}

fn tags(d: &Dev, p: &str) -> Vec<(String, String)> {
    let prop = d.circle.proposal(p).unwrap();
    prop.stored
        .answers
        .iter()
        .map(|(m, a)| (m.clone(), a.4.clone()))
        .collect()
}

fn refused_as_not_allowed(r: crate::Result<Vec<crate::RefusedChange>>) -> String {
    match auth_err(r) {
        AuthError::NotAllowed { what, .. } => what,
        other => panic!("expected a rule refusal, got {other:?}"),
    }
}

#[test]
fn no_one_passes_alone_not_even_by_writing_the_pass_by_hand() {
    let (mut ana, mut ben) = two();
    let p = open(&mut ana, ProposalChange::General, None);
    answer(&mut ana, &p, Answer::Consent);
    let err = ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap_err();
    assert!(err.to_string().contains("no one but the proposer"), "{err}");
    assert_eq!(status(&ana, &p), ProposalStatus::Open);
    merge(&ana.circle, &mut ben.circle).unwrap();

    let now = ana.now + 1000;
    let saw = tags(&ana, &p);
    raw(&mut ana, &p, now, |tx, obj| {
        write_pass(tx, obj, "m-ana", now, &saw)
    });
    let before = ben.circle.proposal(&p).unwrap();
    let what = refused_as_not_allowed(merge(&ana.circle, &mut ben.circle));
    assert!(what.contains("cannot pass"), "{what}");
    assert_eq!(ben.circle.proposal(&p).unwrap(), before, "nothing changed");
}

#[test]
fn a_circle_of_one_decides_alone() {
    let mut ana = Dev::found(1, "m-ana");
    let p = open(&mut ana, ProposalChange::General, None);
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert_eq!(status(&ana, &p), ProposalStatus::Passed);
}

#[test]
fn only_the_objector_lifts_an_objection() {
    let (mut ana, mut ben) = two();
    let p = open(&mut ana, ProposalChange::General, None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Objection);
    merge(&ben.circle, &mut ana.circle).unwrap();
    let err = ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap_err();
    assert!(err.to_string().contains("objects (Not yet)"), "{err}");

    // Ana's modified client turns Ben's objection into consent, or marks it resolved.
    for (key, value) in [("answer:m-ben", "consent"), ("resolution:m-ben", "fine")] {
        let mut forger = Dev::receive(1, "m-ana", &ana);
        let now = forger.now + 1000;
        raw(&mut forger, &p, now, |tx, obj| {
            tx.put(obj, key, value)?;
            Ok(())
        });
        let before = ben.circle.proposal(&p).unwrap();
        let what = refused_as_not_allowed(merge(&forger.circle, &mut ben.circle));
        assert!(
            what.contains("m-ben's answer") || what.contains("only the objector"),
            "{what}"
        );
        assert_eq!(ben.circle.proposal(&p).unwrap(), before);
    }

    // Ben lifts it himself; then it passes, and the pass is taken everywhere.
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert!(merge(&ana.circle, &mut ben.circle).unwrap().is_empty());
    assert_eq!(status(&ben, &p), ProposalStatus::Passed);
}

#[test]
fn windows_open_on_receipt_and_silence_after_them_is_consent() {
    let (mut ana, mut ben, mut cat) = three();
    let window = 10_000;
    let p = open(&mut ana, ProposalChange::General, Some(window));
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    // Cat's device has not received it: it waits for her until the deadline.
    let err = ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap_err();
    assert!(err.to_string().contains("has not received it yet"), "{err}");

    merge(&ana.circle, &mut cat.circle).unwrap();
    receive(&mut cat);
    let received = cat.now;
    merge(&cat.circle, &mut ana.circle).unwrap();
    let round = ana
        .circle
        .consent_round(&ana.circle.proposal(&p).unwrap(), Timestamp(ana.now));
    let voice = round.voices.iter().find(|v| v.member == "m-cat").unwrap();
    assert_eq!(voice.received_at, Some(Timestamp(received)));
    assert_eq!(voice.window_ends, Some(Timestamp(received + window)));
    let err = ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap_err();
    assert!(err.to_string().contains("window is open until"), "{err}");

    // Her window closes in silence: that is consent, and every receiver agrees.
    ana.now = received + window;
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert!(merge(&ana.circle, &mut cat.circle).unwrap().is_empty());
    assert_eq!(status(&cat, &p), ProposalStatus::Passed);
}

#[test]
fn a_member_never_reached_holds_a_proposal_only_until_the_deadline() {
    let (mut ana, mut ben, _cat) = three();
    let window = 10_000;
    let p = open(&mut ana, ProposalChange::General, Some(window));
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    let opened = ana.circle.proposal(&p).unwrap().opened_at.0;
    ana.now = opened + 3 * window - 2000;
    assert!(ana.act(|c, ctx| c.pass_proposal(ctx, &p)).is_err());
    ana.now = opened + 3 * window;
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert!(merge(&ana.circle, &mut ben.circle).unwrap().is_empty());
}

#[test]
fn a_pass_dated_before_what_it_depends_on_or_beyond_the_receivers_clock_is_refused() {
    let (mut ana, mut ben) = two();
    let p = open(&mut ana, ProposalChange::General, None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    let answered = ben.now;

    // Backdated: before Ben's answer, which it depends on.
    let mut forger = Dev::receive(1, "m-ana", &ana);
    let early = answered - 5000;
    let saw = tags(&forger, &p);
    raw(&mut forger, &p, early, |tx, obj| {
        write_pass(tx, obj, "m-ana", early, &saw)
    });
    let what = refused_as_not_allowed(merge(&forger.circle, &mut ben.circle));
    assert!(what.contains("before the answers"), "{what}");

    // From the future: claims a time past every window, far beyond Ben's clock.
    let now = ben.now;
    ben.circle.set_clock(Arc::new(move || Timestamp(now)));
    let mut forger = Dev::receive(1, "m-ana", &ana);
    let late = now + 30 * DAY_MS;
    let saw = tags(&forger, &p);
    raw(&mut forger, &p, late, |tx, obj| {
        write_pass(tx, obj, "m-ana", late, &saw)
    });
    let what = refused_as_not_allowed(merge(&forger.circle, &mut ben.circle));
    assert!(what.contains("ahead of this device's clock"), "{what}");
    assert_eq!(status(&ben, &p), ProposalStatus::Open);
}

#[test]
fn removal_without_a_majority_is_refused_even_when_written_by_hand() {
    let (mut ana, mut ben, _cat) = three();
    let p = open(
        &mut ben,
        ProposalChange::RemoveMember {
            member: "m-cat".into(),
        },
        None,
    );
    answer(&mut ben, &p, Answer::Consent);
    let now = ben.now + 1000;
    let saw = tags(&ben, &p);
    raw(&mut ben, &p, now, |tx, obj| {
        write_pass(tx, obj, "m-ben", now, &saw)
    });
    let what = refused_as_not_allowed(merge(&ben.circle, &mut ana.circle));
    assert!(what.contains("removing a member needs"), "{what}");
    assert!(ana.circle.membership().is_current_member("m-cat"));
}

#[test]
fn only_the_proposer_revises_and_a_revision_asks_everyone_again() {
    let (mut ana, mut ben) = two();
    let p = open(&mut ana, ProposalChange::General, None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Objection);
    let revised = NewProposal {
        title: "Meet on Thursdays, fortnightly".into(),
        body: "Every other week, so the clinic keeps its volunteers.".into(),
        change: ProposalChange::General,
        window_ms: None,
    };
    let err = ben
        .act(|c, ctx| c.revise_proposal(ctx, &p, revised.clone()))
        .unwrap_err();
    assert!(err.to_string().contains("only"), "{err}");
    merge(&ben.circle, &mut ana.circle).unwrap();
    let v = ana
        .act(|c, ctx| c.revise_proposal(ctx, &p, revised.clone()))
        .unwrap();
    assert_eq!(v, 2);
    let prop = ana.circle.proposal(&p).unwrap();
    assert!(prop.responses.is_empty(), "the objection was to version 1");
    // Ben's consent to version 2 counts.
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();

    // A revision by hand from someone else is refused.
    let (mut ana, mut ben) = two();
    let p = open(&mut ana, ProposalChange::General, None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    let now = ben.now + 1000;
    raw(&mut ben, &p, now, |tx, obj| {
        tx.put(obj, "title", "Meet never")?;
        tx.put(obj, "version", 2_i64)?;
        Ok(())
    });
    let what = refused_as_not_allowed(merge(&ben.circle, &mut ana.circle));
    assert!(what.contains("only its proposer"), "{what}");
}

/// The circle's principle, "Two people go to every confrontation.": written directly while
/// `d` is alone in the circle, as values and principles change by consent once there are two.
fn principle(d: &mut Dev) -> String {
    if let Some(p) = d.circle.principles().unwrap().first() {
        return p.id.clone();
    }
    let v = d.add_value("Care").unwrap();
    d.act(|c, ctx| {
        c.add_principle(
            ctx,
            NewPrinciple {
                values: vec![v],
                statement: "Two people go to every confrontation.".into(),
                ..Default::default()
            },
        )
    })
    .unwrap()
}

fn amend(pid: &str, statement: &str) -> ProposalChange {
    ProposalChange::AmendPrinciple {
        principle: pid.into(),
        statement: statement.into(),
        guidance: None,
        reason: "The landlord's agent came alone".into(),
        // A tension raised about it (cites are checked for their shape, not looked up).
        cites: vec!["tn-agent-alone".into()],
    }
}

/// The partition story up to the heal, returning the three devices and the proposal and
/// principle ids (Ana and Ben passed; Cat objected concurrently).
fn split_story() -> (Dev, Dev, Dev, String, String) {
    let mut ana = Dev::found(1, "m-ana");
    let pid = principle(&mut ana);
    for (seed, m) in [(2u8, "m-ben"), (3, "m-cat")] {
        ana.act(|c, ctx| c.admit_member(ctx, m, m, &hex(&key(seed))))
            .unwrap();
    }
    let window = 10_000;
    let p = open(&mut ana, amend(&pid, "Three people go."), Some(window));
    let mut ben = Dev::receive(2, "m-ben", &ana);
    let mut cat = Dev::receive(3, "m-cat", &ana);
    receive(&mut ben);
    receive(&mut cat);
    merge(&ben.circle, &mut ana.circle).unwrap();
    merge(&cat.circle, &mut ana.circle).unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    merge(&ana.circle, &mut cat.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.now = cat.now + window;
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    answer(&mut cat, &p, Answer::Objection);
    // A second, uncontested round on the way, naming Ben principle keeper, so orders also
    // mix settled verdicts and who holds an office.
    let naming = ProposalChange::Keepers {
        members: vec!["m-ben".into()],
        term_days: 90,
        queue: vec!["m-cat".into()],
    };
    let q = open(&mut ben, naming, None);
    merge(&ben.circle, &mut cat.circle).unwrap();
    answer(&mut cat, &q, Answer::Consent);
    merge(&cat.circle, &mut ben.circle).unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    answer(&mut ana, &q, Answer::Consent);
    merge(&ana.circle, &mut ben.circle).unwrap();
    ben.act(|c, ctx| c.pass_proposal(ctx, &q)).unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    merge(&cat.circle, &mut ana.circle).unwrap();
    (ana, ben, cat, p, pid)
}

/// What every device must agree on.
fn verdicts(c: &crate::Circle) -> Vec<String> {
    let mut out: Vec<String> = c
        .proposals()
        .unwrap()
        .into_iter()
        .map(|p| format!("{} {} {:?}", p.id, p.status, p.contest))
        .collect();
    out.extend(
        c.principles()
            .unwrap()
            .into_iter()
            .map(|p| format!("{} {}", p.id, p.statement)),
    );
    out.extend(
        c.values()
            .unwrap()
            .into_iter()
            .map(|v| format!("{} {} {}", v.id, v.title, v.statement)),
    );
    out.extend(
        c.tensions(&crate::TensionInputs::default())
            .unwrap()
            .into_iter()
            .map(|t| format!("{} {}", t.id, t.open)),
    );
    // Who holds each office, as of one fixed instant.
    let at = Timestamp(super::T0 + 30 * DAY_MS);
    out.push(format!("{:?}", c.stewardship(at)));
    out.push(format!("{:?}", c.keepers(at)));
    out
}

mod delivery_order {
    use proptest::prelude::*;

    use super::*;
    use crate::sync::signing::SignedChange;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Every change of the partition story, delivered to a fresh device in any causal
        /// order, in chunks, with resends: the same statuses, texts and tensions as the
        /// device that saw it happen.
        #[test]
        fn any_delivery_order_reaches_the_same_verdicts(seed in any::<u64>(), chunk in 1usize..12) {
            let (ana, _, _, _, _) = split_story();
            let expected = verdicts(&ana.circle);
            // The founding arrives whole, as a fresh peer's first sync brings it; what
            // follows arrives in any order.
            let founded = Dev::found(1, "m-ana");
            let base = super::super::auth::import(&founded.circle, &key(9)).unwrap();
            let mut pending: Vec<(String, SignedChange)> = super::super::auth::news(&ana.circle, &base)
                .into_iter()
                .flat_map(|(doc, cs)| cs.into_iter().map(move |c| (doc.clone(), c)))
                .collect();
            let mut rng = seed;
            let mut next = || {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (rng >> 33) as usize
            };
            let mut delivered: Vec<(String, SignedChange)> = Vec::new();
            let founding: Vec<automerge::ChangeHash> = base
                .signed_changes(crate::CORE_DOC, &[])
                .into_iter()
                .map(|c| c.change.hash())
                .collect();
            let mut fresh = base;
            while !pending.is_empty() {
                let before = pending.len();
                let mut batch: Vec<(String, SignedChange)> = Vec::new();
                for _ in 0..chunk {
                    let known: std::collections::HashSet<_> = delivered
                        .iter()
                        .chain(batch.iter())
                        .map(|(_, c)| c.change.hash())
                        .chain(founding.iter().copied())
                        .collect();
                    // Like the sync engine, hold back other documents' changes until the
                    // core that admits their authors is in.
                    let core_done = !pending.iter().any(|(doc, _)| doc == crate::CORE_DOC);
                    let ready: Vec<usize> = (0..pending.len())
                        .filter(|i| pending[*i].0 == crate::CORE_DOC || core_done)
                        .filter(|i| pending[*i].1.change.deps().iter().all(|d| known.contains(d)))
                        .collect();
                    if ready.is_empty() {
                        break;
                    }
                    let pick = ready[next() % ready.len()];
                    batch.push(pending.remove(pick));
                }
                // A resend of something already held.
                if !delivered.is_empty() && next() % 3 == 0 {
                    batch.push(delivered[next() % delivered.len()].clone());
                }
                let mut by_doc: std::collections::BTreeMap<String, Vec<SignedChange>> =
                    std::collections::BTreeMap::new();
                for (doc, c) in &batch {
                    by_doc.entry(doc.clone()).or_default().push(c.clone());
                }
                let grouped: Vec<(String, Vec<SignedChange>)> = by_doc.into_iter().collect();
                let verdict = fresh.authorize_merge(&grouped).unwrap();
                prop_assert!(verdict.refused().is_empty(), "{:?}", verdict.refused());
                fresh.apply_checked(grouped, verdict).unwrap();
                delivered.extend(batch);
                prop_assert!(pending.len() < before, "nothing left to deliver is ready");
            }
            prop_assert_eq!(verdicts(&fresh), expected);
        }
    }
}

#[test]
fn a_pass_made_while_the_circle_was_split_is_contested_everywhere() {
    let (mut ana, mut ben, mut cat, p, pid) = split_story();
    assert!(verdicts(&ana.circle)
        .iter()
        .any(|v| v.contains("contested")));
    // Heal: every device reaches the same verdict.
    merge(&ana.circle, &mut ben.circle).unwrap();
    merge(&ana.circle, &mut cat.circle).unwrap();
    for d in [&ana, &ben, &cat] {
        let prop = d.circle.proposal(&p).unwrap();
        assert_eq!(prop.status, ProposalStatus::Contested, "{}", d.member);
        let contest = prop.contest.unwrap();
        assert_eq!(contest.passed_by, "m-ana");
        assert_eq!(contest.unheard.len(), 1);
        assert_eq!(contest.unheard[0].member, "m-cat");
        let principle = d.circle.principle(&pid).unwrap();
        assert_eq!(
            principle.statement, "Two people go to every confrontation.",
            "a contested amendment does not apply"
        );
        assert!(principle.versions.last().unwrap().contested);
        let tension = d
            .circle
            .tensions(&crate::TensionInputs {
                now: Timestamp(d.now),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .find(|t| t.kind == crate::TensionKind::Contested)
            .expect("a tension names the contested proposal");
        assert!(
            tension.title.contains("Meet on Thursdays"),
            "{}",
            tension.title
        );
    }

    // The round is open again, and nobody may pass it while the objection stands.
    let err = ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap_err();
    assert!(err.to_string().contains("objects"), "{err}");
    // Cat lifts her objection: the pass stands, heard by everyone, and takes effect.
    answer(&mut cat, &p, Answer::Consent);
    merge(&cat.circle, &mut ana.circle).unwrap();
    assert_eq!(status(&ana, &p), ProposalStatus::Passed);
    assert_eq!(status(&cat, &p), ProposalStatus::Passed);
    assert_eq!(
        cat.circle.principle(&pid).unwrap().statement,
        "Three people go."
    );
}

#[test]
fn two_amendments_of_one_principle_passed_apart_are_both_contested() {
    let (mut ana, mut ben) = two();
    let pid = principle(&mut ana);
    let p1 = open(&mut ana, amend(&pid, "Three people go."), None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    let p2 = open(&mut ben, amend(&pid, "Two people and a witness go."), None);
    merge(&ben.circle, &mut ana.circle).unwrap();
    answer(&mut ben, &p1, Answer::Consent);
    answer(&mut ana, &p2, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    // Apart: each passes one.
    ana.act(|c, ctx| c.pass_proposal(ctx, &p1)).unwrap();
    ben.act(|c, ctx| c.pass_proposal(ctx, &p2)).unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    for d in [&ana, &ben] {
        assert_eq!(status(d, &p1), ProposalStatus::Contested);
        assert_eq!(status(d, &p2), ProposalStatus::Contested);
        assert_eq!(
            d.circle.principle(&pid).unwrap().statement,
            "Two people go to every confrontation."
        );
    }
}

/// Whether a passed amendment is contested by a rival depends on proposals a change does
/// not write: a change answering one of two rivals is judged with its rival in view, so an
/// honest answer to the reopened round is taken everywhere.
#[test]
fn an_answer_to_an_amendment_contested_by_its_rival_is_taken_on_every_device() {
    let (mut ana, mut ben) = two();
    let pid = principle(&mut ana);
    let p1 = open(&mut ana, amend(&pid, "Three people go."), None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    let p2 = open(&mut ben, amend(&pid, "Two people and a witness go."), None);
    merge(&ben.circle, &mut ana.circle).unwrap();
    answer(&mut ben, &p1, Answer::Consent);
    answer(&mut ana, &p2, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    ana.act(|c, ctx| c.pass_proposal(ctx, &p1)).unwrap();
    ben.act(|c, ctx| c.pass_proposal(ctx, &p2)).unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    assert_eq!(status(&ben, &p1), ProposalStatus::Contested);
    // The round is open again: Ben objects to Ana's amendment, and Ana's device takes it.
    ben.now = ben.now.max(ana.now) + 1000;
    answer(&mut ben, &p1, Answer::Objection);
    assert_eq!(merge(&ben.circle, &mut ana.circle).unwrap(), Vec::new());
    let p = ana.circle.proposal(&p1).unwrap();
    assert_eq!(p.status, ProposalStatus::Contested);
    assert_eq!(p.standing_objections().len(), 1);
}

/// A centre-intervention decision logged by `d`; returns its escalation.
fn escalate(d: &mut Dev) -> String {
    use crate::{NewDecision, Zone};
    let team = d
        .act(|c, ctx| c.add_team(ctx, "Legal support", None))
        .unwrap();
    let pid = principle(d);
    let decision = d
        .act(|c, ctx| {
            c.log_decision(
                ctx,
                NewDecision {
                    team,
                    principles: vec![pid],
                    context: "A reporter called about the eviction.".into(),
                    choice: "We gave an interview.".into(),
                    zone: Some(Zone::CentreIntervention),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    d.circle
        .escalations()
        .unwrap()
        .into_iter()
        .find(|e| e.decision == decision)
        .unwrap()
        .id
}

/// The object of escalation `e` in `d`'s escalations' document.
fn esc_obj(d: &Dev, e: &str) -> ObjId {
    crate::fields::entity(
        d.circle.doc(crate::ESCALATIONS_DOC).unwrap(),
        &automerge::ROOT,
        e,
    )
    .unwrap()
    .unwrap()
}

/// What an answer written on `d` names as seen: its core's heads now.
fn seen_on(d: &Dev) -> automerge::ScalarValue {
    let heads = d.circle.doc(crate::CORE_DOC).unwrap().get_heads();
    automerge::ScalarValue::Bytes(heads.iter().flat_map(|h| h.0).collect())
}

/// A modified client's answer to escalation `e`, written on `d` at `at` in the escalations'
/// document, naming `d`'s core as seen.
fn forge_answer(d: &mut Dev, e: &str, at: i64) {
    let obj = esc_obj(d, e);
    let seen = seen_on(d);
    d.circle
        .change_escalations(Timestamp(at), "escalation resolve", |tx| {
            tx.put(&obj, "seen", seen.clone())?;
            tx.put(&obj, "status", "resolved")?;
            tx.put(&obj, "response", "Fine by me")?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn only_stewards_answer_escalations_on_every_device() {
    use crate::{EscalationStatus, Verdict};
    let (mut ana, mut ben) = two();
    merge(&ana.circle, &mut ben.circle).unwrap();
    let e = escalate(&mut ben);
    merge(&ben.circle, &mut ana.circle).unwrap();
    // Ben is no steward: his client refuses, and names who to ask.
    for err in [
        ben.act(|c, ctx| c.acknowledge_escalation(ctx, &e))
            .unwrap_err(),
        ben.act(|c, ctx| c.answer_escalation(ctx, &e, Verdict::Back, "Fine by me"))
            .unwrap_err(),
    ] {
        assert!(err.to_string().contains("only a steward"), "{err}");
        assert!(err.to_string().contains("m-ana"), "{err}");
    }
    // His modified client writes the answer anyway: Ana's device refuses it.
    let at = ben.now + 1000;
    forge_answer(&mut ben, &e, at);
    let what = refused_as_not_allowed(merge(&ben.circle, &mut ana.circle));
    assert!(what.contains("no steward"), "{what}");
    assert_eq!(
        ana.circle.escalation(&e).unwrap().status,
        EscalationStatus::Open
    );
    // Ana, the steward, stops it; Ben's device takes her answer.
    ana.act(|c, ctx| c.answer_escalation(ctx, &e, Verdict::Stop, "Talk to us before the press."))
        .unwrap();
    let mut fresh = Dev::receive(2, "m-ben", &ana);
    assert!(merge(&ana.circle, &mut fresh.circle).unwrap().is_empty());
    let esc = fresh.circle.escalation(&e).unwrap();
    assert_eq!(esc.verdict, Some(Verdict::Stop));
    assert_eq!(esc.resolved_by.as_deref(), Some("m-ana"));
    // None of it is in the core, which a circle's first screen loads.
    assert!(crate::escalations::read(&ana.circle.core.am, crate::touched::Scope::All).is_empty());
}

/// An answer in the escalations' document must say which state of the circle it was
/// written on, so every device judges its author's office alike: one that names none, or
/// nothing readable, is refused whoever wrote it.
#[test]
fn an_answer_naming_no_state_of_the_circle_is_refused_even_from_a_steward() {
    use crate::EscalationStatus;
    let (mut ana, mut ben) = two();
    merge(&ana.circle, &mut ben.circle).unwrap();
    let e = escalate(&mut ben);
    merge(&ben.circle, &mut ana.circle).unwrap();
    use automerge::ScalarValue;
    let malformed = [
        None,
        Some(ScalarValue::Str("not heads".into())),
        Some(ScalarValue::Bytes(vec![7; 31])),
    ];
    for seen in malformed {
        let mut judge = Dev::receive(2, "m-ben", &ben);
        let mut steward = Dev::receive(1, "m-ana", &ana);
        merge(&ana.circle, &mut steward.circle).unwrap();
        let obj = esc_obj(&steward, &e);
        let at = steward.now + 1000;
        steward
            .circle
            .change_escalations(Timestamp(at), "escalation resolve", |tx| {
                if let Some(seen) = seen.clone() {
                    tx.put(&obj, "seen", seen)?;
                }
                tx.put(&obj, "status", "resolved")?;
                Ok(())
            })
            .unwrap();
        merge(&ben.circle, &mut judge.circle).unwrap();
        let what = refused_as_not_allowed(merge(&steward.circle, &mut judge.circle));
        assert!(
            what.contains("state of the circle") || what.contains("state it answered on"),
            "{what}"
        );
        assert_eq!(
            judge.circle.escalation(&e).unwrap().status,
            EscalationStatus::Open
        );
    }
}

/// An answer names the core its steward saw: a device that does not hold that core yet
/// cannot judge it, and takes it once the core has come (a sync message waits meanwhile).
#[test]
fn an_answer_waits_for_the_core_state_it_names() {
    use crate::{EscalationStatus, Verdict, CORE_DOC, ESCALATIONS_DOC};
    let (mut ana, mut ben) = two();
    merge(&ana.circle, &mut ben.circle).unwrap();
    let e = escalate(&mut ben);
    merge(&ben.circle, &mut ana.circle).unwrap();
    // Ana changes the core, then answers: her answer names a core Ben does not hold.
    ana.act(|c, ctx| c.add_team(ctx, "Kitchen", None)).unwrap();
    ana.act(|c, ctx| c.answer_escalation(ctx, &e, Verdict::Back, "Right call."))
        .unwrap();
    let news = super::auth::news(&ana.circle, &ben.circle);
    let only = |key: &str| -> Vec<(String, Vec<crate::sync::SignedChange>)> {
        news.iter().filter(|(k, _)| k == key).cloned().collect()
    };
    match ben.circle.authorize_merge(&only(ESCALATIONS_DOC)) {
        Err(crate::CoreError::Unauthorized(e)) => {
            assert!(e.may_resolve_later(), "{e}");
            assert!(e.to_string().contains("does not hold yet"), "{e}");
        }
        other => panic!("the answer was judged without its core: {other:?}"),
    }
    assert_eq!(
        ben.circle.escalation(&e).unwrap().status,
        EscalationStatus::Open
    );
    let core = only(CORE_DOC);
    let verdict = ben.circle.authorize_merge(&core).unwrap();
    ben.circle.apply_checked(core, verdict).unwrap();
    let esc = only(ESCALATIONS_DOC);
    let verdict = ben.circle.authorize_merge(&esc).unwrap();
    assert!(verdict.refused().is_empty(), "{:?}", verdict.refused());
    ben.circle.apply_checked(esc, verdict).unwrap();
    assert_eq!(
        ben.circle.escalation(&e).unwrap().status,
        EscalationStatus::Resolved
    );
}

/// A circle from before the escalations' document keeps the escalations its core holds:
/// they are listed, answered in the core by a steward, and guarded there as before.
#[test]
fn an_escalation_an_older_grove_raised_in_the_core_is_answered_and_guarded_there() {
    use crate::{EscalationStatus, Verdict};
    let (mut ana, mut ben) = two();
    // Ben's device raises it as an older Grove did: in the core's collection.
    let decision = escalate(&mut ben);
    let decision = ben.circle.escalation(&decision).unwrap().decision;
    let coll = ben.circle.coll("escalations").unwrap();
    let at = ben.now + 1000;
    ben.circle
        .change_core(Timestamp(at), "escalation raise", |tx| {
            let o = tx.put_object(&coll, "e-legacy", automerge::ObjType::Map)?;
            tx.put(&o, "decision", decision.as_str())?;
            tx.put(&o, "zone", "centre-intervention")?;
            tx.put(&o, "raised_by", "m-ben")?;
            tx.put(&o, "raised_at", at)?;
            tx.put(&o, "status", "open")?;
            Ok(())
        })
        .unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    let listed: Vec<String> = ana
        .circle
        .escalations()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(listed.contains(&"e-legacy".to_string()), "{listed:?}");
    // Ben's modified client answers it in the core: refused, as before.
    let obj = crate::fields::entity(&ben.circle.core.am, &coll, "e-legacy")
        .unwrap()
        .unwrap();
    ben.circle
        .change_core(Timestamp(at + 1000), "escalation resolve", |tx| {
            tx.put(&obj, "status", "resolved")?;
            Ok(())
        })
        .unwrap();
    let what = refused_as_not_allowed(merge(&ben.circle, &mut ana.circle));
    assert!(what.contains("no steward"), "{what}");
    // Ana answers it; the answer is written in the core, where it lives.
    let core_before = ana.circle.core.am.get_heads();
    ana.act(|c, ctx| c.answer_escalation(ctx, "e-legacy", Verdict::Back, "Right call."))
        .unwrap();
    assert_ne!(ana.circle.core.am.get_heads(), core_before);
    let mut fresh = Dev::receive(2, "m-ben", &ana);
    assert!(merge(&ana.circle, &mut fresh.circle).unwrap().is_empty());
    assert_eq!(
        fresh.circle.escalation("e-legacy").unwrap().status,
        EscalationStatus::Resolved
    );
}

/// The check of a change to the escalations' document reads only the escalations it writes
/// (`crate::touched`): one written through the root itself (a delete), through an object
/// nested in an escalation, or by putting the escalation anew is still found and judged.
#[test]
fn a_forged_escalation_change_is_refused_however_it_reaches_the_escalation() {
    use crate::EscalationStatus;
    use automerge::{transaction::Transaction, ObjId, ObjType, ReadDoc as _, ROOT};
    type Forge = fn(
        &mut Transaction<'_>,
        &ObjId,
        &ObjId,
        &str,
        &automerge::ScalarValue,
    ) -> Result<(), automerge::AutomergeError>;
    // Ben, no steward, writes with a modified client; Ana's device must refuse it.
    let refusal = |forge: Forge| -> String {
        let (mut ana, mut ben) = two();
        merge(&ana.circle, &mut ben.circle).unwrap();
        let e = escalate(&mut ben);
        merge(&ben.circle, &mut ana.circle).unwrap();
        let obj = esc_obj(&ben, &e);
        let seen = seen_on(&ben);
        ben.circle
            .change_escalations(Timestamp(ben.now + 1000), "forged", |tx| {
                Ok(forge(tx, &ROOT, &obj, &e, &seen)?)
            })
            .unwrap();
        let what = refused_as_not_allowed(merge(&ben.circle, &mut ana.circle));
        assert_eq!(
            ana.circle.escalation(&e).unwrap().status,
            EscalationStatus::Open,
            "{what}"
        );
        what
    };
    let deleted = refusal(|tx, root, _, e, _| tx.delete(root, e));
    assert!(deleted.contains("deletes an escalation"), "{deleted}");
    let nested = refusal(|tx, _, obj, _, seen| {
        tx.put(obj, "seen", seen.clone())?;
        let inner = tx.put_object(obj, "notes", ObjType::Map)?;
        tx.put(&inner, "by", "m-ben")?;
        let again = match tx.get(obj, "notes")? {
            Some((_, id)) => id,
            None => inner,
        };
        tx.put(&again, "by", "m-ben again")?;
        tx.put(obj, "status", "resolved")
    });
    assert!(nested.contains("no steward"), "{nested}");
    let replaced = refusal(|tx, root, _, e, seen| {
        let again = tx.put_object(root, e, ObjType::Map)?;
        tx.put(&again, "seen", seen.clone())?;
        tx.put(&again, "status", "resolved")
    });
    assert!(replaced.contains("no steward"), "{replaced}");
}

/// Automerge applies a change that writes an object made by a change outside its own past
/// (its deps rewound by a modified client), and every read at the change's own heads misses
/// that write, so comparing the governance state before and after it saw nothing. Ben, no
/// steward, resolves Ana's escalation that way; Ana's device must refuse it.
#[test]
fn a_change_writing_an_escalation_its_own_past_does_not_hold_is_refused() {
    use crate::sync::signing::{sign_change, SignedChange};
    use crate::{EscalationStatus, ESCALATIONS_DOC};
    let (mut ana, mut ben) = two();
    merge(&ana.circle, &mut ben.circle).unwrap();
    // Ben's escalations' document before Ana's escalation: one of his own.
    escalate(&mut ben);
    let past = ben.circle.doc(ESCALATIONS_DOC).unwrap().get_heads();
    let e = escalate(&mut ana);
    merge(&ana.circle, &mut ben.circle).unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    let obj = esc_obj(&ben, &e);
    let seen = seen_on(&ben);
    ben.circle
        .change_escalations(Timestamp(ben.now + 1000), "forged", |tx| {
            tx.put(&obj, "seen", seen.clone())?;
            Ok(tx.put(&obj, "status", "resolved")?)
        })
        .unwrap();
    let written = ben
        .circle
        .doc(ESCALATIONS_DOC)
        .unwrap()
        .get_last_local_change()
        .unwrap()
        .clone();
    let mut rewound = written.decode();
    rewound.deps = past;
    let forged = automerge::Change::from(rewound);
    let signature = Some(sign_change(&key(2), &forged.hash()));
    let batch = vec![(
        ESCALATIONS_DOC.to_string(),
        vec![SignedChange {
            change: forged,
            signature,
        }],
    )];
    let verdict = ana.circle.authorize_merge(&batch);
    let what = match &verdict {
        Ok(v) => v.refused().first().map(|r| r.reason.to_string()),
        Err(e) => Some(e.to_string()),
    };
    let what = what.expect("a change writing what its past does not hold must be refused");
    assert!(what.contains("its own past does not hold"), "{what}");
    if let Ok(v) = verdict {
        ana.circle.apply_checked(batch, v).unwrap();
    }
    assert_eq!(
        ana.circle.escalation(&e).unwrap().status,
        EscalationStatus::Open
    );
}

/// A governance check reads only the proposals a change writes (`crate::touched`): one
/// reached through the collection's key (a delete), through its own object, through an
/// object nested in it (its body), or by replacing the whole collection is still found,
/// and refused.
#[test]
fn a_forged_proposal_change_is_refused_however_it_reaches_the_proposal() {
    use automerge::{transaction::Transaction, ObjType, ROOT};
    let (mut ana, mut ben) = two();
    let p = open(&mut ana, ProposalChange::General, None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    let coll = ben.circle.coll("proposals").unwrap();
    let obj = ben.circle.proposal_obj(&p).unwrap();
    let body = crate::fields::child_text(&ben.circle.core.am, &obj, "body").unwrap();
    type Write = Box<dyn Fn(&mut Transaction<'_>) -> Result<(), automerge::AutomergeError>>;
    let id = p.clone();
    let forgeries: [(&str, &str, Write); 4] = [
        (
            "deleted through the collection",
            "deletes proposal",
            Box::new(move |tx| tx.delete(&coll, id.as_str())),
        ),
        (
            "withdrawn on its own object",
            "from open to withdrawn",
            Box::new(move |tx| tx.put(&obj, "status", "withdrawn")),
        ),
        (
            "its body rewritten",
            "only its proposer may",
            Box::new(move |tx| tx.update_text(&body, "Ben decides the day.")),
        ),
        (
            "the collection replaced",
            "deletes proposal",
            Box::new(|tx| tx.put_object(ROOT, "proposals", ObjType::Map).map(|_| ())),
        ),
    ];
    let mut through = Vec::new();
    for (what, why, write) in &forgeries {
        // Copies of both devices, so each forgery is judged alone.
        let mut forger = Dev::receive(2, "m-ben", &ben);
        let mut judge = Dev::receive(1, "m-ana", &ana);
        forger
            .circle
            .change_core(Timestamp(ben.now + 1000), "forged", |tx| Ok(write(tx)?))
            .unwrap();
        match merge(&forger.circle, &mut judge.circle) {
            Ok(refused) if refused.is_empty() => through.push(*what),
            r => {
                let refused = refused_as_not_allowed(r);
                assert!(
                    refused.contains(why) && refused.contains(&p),
                    "{what}: {refused}"
                );
                let kept = judge.circle.proposal(&p).unwrap();
                assert_eq!(kept.status, ProposalStatus::Open, "{what}");
                assert_eq!(kept.body, "Tuesdays clash with the tenants' clinic.");
            }
        }
    }
    assert!(through.is_empty(), "taken: {through:?}");
}

/// Each answer is judged on the membership of the core it names as seen, not on what the
/// receiver holds when it arrives: an answer to an escalation that Ben wrote before the
/// circle named him steward stays refused by a device that already holds the naming.
#[test]
fn an_escalation_answered_before_its_author_was_named_steward_is_refused_after_the_naming() {
    use crate::EscalationStatus;
    let (mut ana, mut ben) = two();
    merge(&ana.circle, &mut ben.circle).unwrap();
    let e = escalate(&mut ben);
    merge(&ben.circle, &mut ana.circle).unwrap();
    let p = open(
        &mut ana,
        ProposalChange::Stewards {
            members: vec!["m-ben".into()],
            term_days: 30,
            queue: Vec::new(),
        },
        None,
    );
    ben.now = ana.now;
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.now = ana.now.max(ben.now) + 1000;
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert!(ana.circle.is_steward("m-ben"));
    // Before hearing of the pass, Ben's modified client answers the escalation.
    forge_answer(&mut ben, &e, ana.now + 60_000);
    let what = refused_as_not_allowed(merge(&ben.circle, &mut ana.circle));
    assert!(what.contains("no steward"), "{what}");
    assert_eq!(
        ana.circle.escalation(&e).unwrap().status,
        EscalationStatus::Open
    );
}

#[test]
fn stewards_hold_office_for_a_term_and_only_the_circle_names_them() {
    use crate::{TensionInputs, TensionKind, Verdict, FOUNDER_TERM_DAYS};
    let (mut ana, mut ben) = two();
    merge(&ana.circle, &mut ben.circle).unwrap();
    let e = escalate(&mut ben);
    merge(&ben.circle, &mut ana.circle).unwrap();
    let s = ana.circle.stewardship(Timestamp(ana.now));
    assert_eq!(s.stewards, vec!["m-ana".to_string()]);
    assert!(s.in_office);
    let until = s.until.expect("the founder's stewardship has a term");
    assert_eq!(until, Timestamp(super::T0).plus_days(FOUNDER_TERM_DAYS));

    // Even a steward cannot name another one alone: every device refuses it.
    let mut forger = Dev::receive(1, "m-ana", &ana);
    let now = Timestamp(forger.now + 1000);
    forger
        .circle
        .set_role(now, "m-ben", crate::members::STEWARD)
        .unwrap();
    let what = refused_as_not_allowed(merge(&forger.circle, &mut ben.circle));
    assert!(what.contains("without a passed proposal"), "{what}");

    // The term ends: nobody may answer escalations, and a tension says so.
    ana.now = until.0 + DAY_MS;
    let err = ana
        .act(|c, ctx| c.answer_escalation(ctx, &e, Verdict::Back, "Fine"))
        .unwrap_err();
    assert!(err.to_string().contains("no steward is in office"), "{err}");
    let inputs = TensionInputs {
        now: Timestamp(ana.now),
        ..Default::default()
    };
    let vacuum = |c: &crate::Circle| {
        c.tensions(&inputs)
            .unwrap()
            .into_iter()
            .any(|t| t.kind == TensionKind::AuthorityVacuum && t.open)
    };
    assert!(vacuum(&ana.circle));

    // The circle names Ben for 30 days: proposed, consented, passed, taken everywhere.
    let p = open(
        &mut ana,
        ProposalChange::Stewards {
            members: vec!["m-ben".into()],
            term_days: 30,
            queue: Vec::new(),
        },
        None,
    );
    ben.now = ana.now;
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    let outcome = ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap().unwrap();
    assert!(outcome.contains("stewards until"), "{outcome}");
    assert!(merge(&ana.circle, &mut ben.circle).unwrap().is_empty());
    let s = ben.circle.stewardship(Timestamp(ben.now));
    assert_eq!(s.stewards, vec!["m-ben".to_string()]);
    assert_eq!(s.by.as_deref(), Some(p.as_str()));
    assert!(s.in_office);
    assert!(!vacuum(&ben.circle));
    ben.act(|c, ctx| c.answer_escalation(ctx, &e, Verdict::Coach, "Ask first next time."))
        .unwrap();
    assert!(merge(&ben.circle, &mut ana.circle).unwrap().is_empty());
    let err = ana
        .act(|c, ctx| c.acknowledge_escalation(ctx, &e))
        .unwrap_err();
    assert!(err.to_string().contains("ask Ben"), "{err}");
}

#[test]
fn a_seized_laptop_is_revoked_at_once_and_its_member_stays() {
    let (mut ana, mut ben, mut cat) = three();
    ana.act(|c, ctx| c.add_device(ctx, "m-ben", &hex(&key(4))))
        .unwrap();
    let mut seized = Dev::receive(4, "m-ben", &ana);
    merge(&ana.circle, &mut ben.circle).unwrap();
    merge(&ana.circle, &mut cat.circle).unwrap();
    let key_before = ana.circle.circle_key().unwrap().0;

    // Cat is no steward and not its member: refused by her client, and by hand.
    let err = cat
        .act(|c, ctx| c.revoke_device(ctx, &hex(&key(4))))
        .unwrap_err();
    assert!(err.to_string().contains("only a steward"), "{err}");
    let mut forger = Dev::receive(3, "m-cat", &cat);
    let coll = forger.circle.coll("members").unwrap();
    let obj = crate::fields::entity(forger.circle.doc(crate::CORE_DOC).unwrap(), &coll, "m-ben")
        .unwrap()
        .unwrap();
    let now = forger.now + 1000;
    forger
        .circle
        .change_core(Timestamp(now), "device revoke", |tx| {
            tx.put(&obj, format!("revoked:{}", hex(&key(4))), now)?;
            Ok(())
        })
        .unwrap();
    let what = refused_as_not_allowed(merge(&forger.circle, &mut ana.circle));
    assert!(what.contains("neither a steward"), "{what}");

    // Ana, the steward, revokes it: the key rotates, Ben stays with his other laptop.
    assert_eq!(
        ana.act(|c, ctx| c.revoke_device(ctx, &hex(&key(4))))
            .unwrap(),
        "m-ben"
    );
    let ms = ana.circle.membership();
    assert!(!ms.is_current_device(&hex(&key(4))));
    assert!(ms.is_current_device(&hex(&key(2))));
    assert!(ms.is_current_member("m-ben"));
    assert!(!ms.current_devices().contains(&hex(&key(4))));
    assert_ne!(ana.circle.circle_key().unwrap().0, key_before);
    assert!(merge(&ana.circle, &mut ben.circle).unwrap().is_empty());

    // Whoever holds the seized laptop writes afterwards: every device refuses it.
    seized.now = ana.now + 5000;
    seized
        .act(|c, ctx| c.add_team(ctx, "Hand over the member list", None))
        .unwrap();
    assert!(matches!(
        auth_err(merge(&seized.circle, &mut ben.circle)),
        AuthError::Removed { .. }
    ));
    // Ben's own laptop still writes, and is taken.
    ben.act(|c, ctx| c.add_team(ctx, "Care for each other", None))
        .unwrap();
    assert!(merge(&ben.circle, &mut ana.circle).unwrap().is_empty());
}

#[test]
fn stewards_rotate_to_the_next_in_line_when_their_term_ends() {
    let (mut ana, mut ben, mut cat) = three();
    let p = open(
        &mut ana,
        ProposalChange::Stewards {
            members: vec!["m-ben".into()],
            term_days: 30,
            queue: vec!["m-cat".into(), "m-ana".into()],
        },
        None,
    );
    for d in [&mut ben, &mut cat] {
        merge(&ana.circle, &mut d.circle).unwrap();
        answer(d, &p, Answer::Consent);
        merge(&d.circle, &mut ana.circle).unwrap();
    }
    ana.now = ana.now.max(ben.now).max(cat.now);
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    let named = ana.circle.stewardship(Timestamp(ana.now));
    assert_eq!(named.stewards, vec!["m-ben".to_string()]);
    assert_eq!(named.queue, vec!["m-cat".to_string(), "m-ana".to_string()]);
    let until = named.until.unwrap();
    merge(&ana.circle, &mut cat.circle).unwrap();

    // Not before the term ends.
    let err = cat.act(|c, ctx| c.rotate_stewards(ctx)).unwrap_err();
    assert!(err.to_string().contains("rotation comes after it"), "{err}");

    // Cat's modified client hands the office to herself early: refused everywhere.
    let mut forger = Dev::receive(3, "m-cat", &cat);
    let early = Timestamp(forger.now + 1000);
    forger
        .circle
        .name_stewards(
            early,
            &["m-cat".to_string()],
            crate::members::Term {
                until: early.plus_days(30),
                by: Some(&p),
                queue: &["m-ana".to_string(), "m-ben".to_string()],
                days: Some(30),
            },
        )
        .unwrap();
    let what = refused_as_not_allowed(merge(&forger.circle, &mut ana.circle));
    assert!(what.contains("without a passed proposal"), "{what}");

    // After the term, any member rotates; the office goes to Cat, Ben joins the queue.
    cat.now = until.0 + 1000;
    assert_eq!(
        cat.act(|c, ctx| c.rotate_stewards(ctx)).unwrap(),
        vec!["m-cat".to_string()]
    );
    assert!(merge(&cat.circle, &mut ana.circle).unwrap().is_empty());
    let s = ana.circle.stewardship(Timestamp(cat.now));
    assert_eq!(s.stewards, vec!["m-cat".to_string()]);
    assert_eq!(s.queue, vec!["m-ana".to_string(), "m-ben".to_string()]);
    assert!(s.in_office);
    assert_eq!(s.until, Some(Timestamp(cat.now).plus_days(30)));
}

#[test]
fn a_departure_from_a_principle_goes_to_the_centre_and_records_its_answer() {
    use crate::{NewDecision, Verdict, Zone};
    let (mut ana, _ben) = two();
    let team = ana
        .act(|c, ctx| c.add_team(ctx, "Legal support", None))
        .unwrap();
    let pid = principle(&mut ana);
    let new = |why: Option<&str>, zone: Option<Zone>| NewDecision {
        team: team.clone(),
        principles: vec![pid.clone()],
        context: "The boilers failed in a cold snap.".into(),
        choice: "We went to the agent's office alone.".into(),
        zone,
        departs_from: Some(pid.clone()),
        departure_why: why.map(str::to_string),
        ..Default::default()
    };
    let err = ana
        .act(|c, ctx| c.log_decision(ctx, new(None, None)))
        .unwrap_err();
    assert!(err.to_string().contains("says why"), "{err}");
    // Logged as local, it still reaches the centre.
    let d = ana
        .act(|c, ctx| c.log_decision(ctx, new(Some("No heat for babies."), Some(Zone::Local))))
        .unwrap();
    let decision = ana.circle.decision(&d).unwrap();
    assert_eq!(decision.zone, Zone::CentreAwareness);
    assert_eq!(decision.departs_from.as_deref(), Some(pid.as_str()));
    assert_eq!(
        decision.departure_why.as_deref(),
        Some("No heat for babies.")
    );
    let e = ana
        .circle
        .escalations()
        .unwrap()
        .into_iter()
        .find(|e| e.decision == d)
        .expect("the departure is escalated");
    ana.act(|c, ctx| c.answer_escalation(ctx, &e.id, Verdict::Back, "We stand behind it."))
        .unwrap();
    assert_eq!(
        ana.circle.escalation(&e.id).unwrap().verdict,
        Some(Verdict::Back)
    );
}

#[test]
fn a_zone_map_is_set_by_consent_defaults_the_zone_and_shows_confusion() {
    use crate::{NewDecision, TensionInputs, TensionKind, Zone};
    let (mut ana, mut ben) = two();
    let team = ana.act(|c, ctx| c.add_team(ctx, "Outreach", None)).unwrap();
    let pid = principle(&mut ana);
    let map = ProposalChange::MapZone {
        team: team.clone(),
        situation: "landlord-contact".into(),
        zone: Zone::CentreAwareness,
    };
    let p = open(&mut ana, map, None);
    merge(&ana.circle, &mut ben.circle).unwrap();
    answer(&mut ben, &p, Answer::Consent);
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert!(merge(&ana.circle, &mut ben.circle).unwrap().is_empty());
    assert_eq!(
        ben.circle.mapped_zone(&team, "landlord-contact"),
        Some(Zone::CentreAwareness)
    );

    // Even a steward cannot change the map by hand: every device refuses it.
    let mut forger = Dev::receive(1, "m-ana", &ana);
    let now = Timestamp(forger.now + 1000);
    forger
        .circle
        .map_zone(now, &p, &team, "landlord-contact", Zone::Local)
        .unwrap();
    let what = refused_as_not_allowed(merge(&forger.circle, &mut ben.circle));
    assert!(what.contains("without a passed proposal"), "{what}");

    // Logging the situation with no zone takes the mapped one; logging it lower is confusion.
    let log = |d: &mut Dev, zone: Option<Zone>| {
        d.act(|c, ctx| {
            c.log_decision(
                ctx,
                NewDecision {
                    team: team.clone(),
                    principles: vec![pid.clone()],
                    context: "The agent called a tenant.".into(),
                    choice: "We answered.".into(),
                    zone,
                    situation: Some("landlord-contact".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap()
    };
    ben.now = ben.now.max(ana.now);
    let d = log(&mut ben, None);
    assert_eq!(ben.circle.decision(&d).unwrap().zone, Zone::CentreAwareness);
    let inputs = TensionInputs {
        now: Timestamp(ben.now),
        ..Default::default()
    };
    let confused = |c: &crate::Circle| {
        c.tensions(&inputs)
            .unwrap()
            .into_iter()
            .any(|t| t.kind == TensionKind::AuthorityConfusion)
    };
    assert!(!confused(&ben.circle));
    log(&mut ben, Some(Zone::Local));
    assert!(confused(&ben.circle));
}

#[test]
fn a_proposals_stored_kind_is_its_json_kind() {
    use crate::Zone;
    for change in [
        ProposalChange::General,
        amend("p-1", "x"),
        ProposalChange::NewPrinciple {
            values: vec!["v-1".into()],
            statement: "x".into(),
            guidance: None,
            supersedes: None,
        },
        ProposalChange::RemoveMember {
            member: "m-1".into(),
        },
        ProposalChange::Stewards {
            members: vec!["m-1".into()],
            term_days: 1,
            queue: Vec::new(),
        },
        ProposalChange::MapZone {
            team: "t-1".into(),
            situation: "s".into(),
            zone: Zone::Local,
        },
    ] {
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(json["kind"], change.kind());
    }
}

#[test]
fn a_line_of_a_rounds_history_is_written_only_in_its_writers_name() {
    let (mut ana, mut ben) = two();
    let p = open(&mut ana, ProposalChange::General, None);
    answer(&mut ana, &p, Answer::Consent);
    merge(&ana.circle, &mut ben.circle).unwrap();
    // Ben's modified client writes that Ana withdrew her consent.
    let now = ben.now + 1000;
    let key = crate::fields::timeline_key("log:", Timestamp(now), "m-ana", "l-forged");
    raw(&mut ben, &p, now, |tx, obj| {
        tx.put(obj, key.as_str(), "objection: I never agreed")?;
        Ok(())
    });
    let what = refused_as_not_allowed(merge(&ben.circle, &mut ana.circle));
    assert!(what.contains("in m-ana's name"), "{what}");
    // Nor may he take a line back.
    let mut ben2 = Dev::receive(2, "m-ben", &ana);
    let line = ana.circle.proposal(&p).unwrap().log[0].clone();
    let key = crate::fields::timeline_key("log:", line.at, &line.member, "");
    let obj = ben2.circle.proposal_obj(&p).unwrap();
    let doomed: Vec<String> = automerge::ReadDoc::map_range(&ben2.circle.core.am, &obj, ..)
        .map(|i| i.key.to_string())
        .filter(|k| k.starts_with(key.trim_end_matches(':')))
        .collect();
    assert_eq!(doomed.len(), 1, "{doomed:?}");
    let at = ben2.now + 1000;
    ben2.circle
        .change_core(Timestamp(at), "proposal log", |tx| {
            tx.delete(&obj, doomed[0].as_str())?;
            Ok(())
        })
        .unwrap();
    let what = refused_as_not_allowed(merge(&ben2.circle, &mut ana.circle));
    assert!(what.contains("rewrites the history"), "{what}");
}
