//! Membership rules, change signatures and `authorize_merge`, with real device keys.

use automerge::ActorId;
use ed25519_dalek::SigningKey;
use rand::{rngs::StdRng, SeedableRng};

use super::T0;
use crate::archive;
use crate::sync::signing::{self, AuthError, SignedChange};
use crate::{Circle, CoreError, Ctx, NewValue, RefusedChange, Timestamp, CORE_DOC};

/// One device with a real key, acting as one member.
pub(super) struct Dev {
    pub key: SigningKey,
    pub member: String,
    pub circle: Circle,
    pub(super) rng: StdRng,
    pub now: i64,
}

pub(super) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(super) fn hex(key: &SigningKey) -> String {
    signing::device_hex(key)
}

impl Dev {
    pub(super) fn found(seed: u8, member: &str) -> Dev {
        let key = key(seed);
        let mut rng = StdRng::seed_from_u64(u64::from(seed));
        let mut ctx = Ctx::new(Timestamp(T0), member, &mut rng);
        let circle = Circle::create_signed(&mut ctx, &key, "The Cell", member).unwrap();
        Dev {
            key,
            member: member.into(),
            circle,
            rng,
            now: T0,
        }
    }

    /// A device that receives `from`'s whole circle through an archive, checked first.
    pub(super) fn receive(seed: u8, member: &str, from: &Dev) -> Dev {
        let key = key(seed);
        let circle = import(&from.circle, &key).unwrap();
        Dev {
            key,
            member: member.into(),
            circle,
            rng: StdRng::seed_from_u64(u64::from(seed) + 100),
            now: from.now + 1000,
        }
    }

    pub(super) fn act<O>(
        &mut self,
        f: impl FnOnce(&mut Circle, &mut Ctx<'_>) -> crate::Result<O>,
    ) -> crate::Result<O> {
        self.now += 1000;
        let mut ctx = Ctx::new(Timestamp(self.now), self.member.clone(), &mut self.rng);
        f(&mut self.circle, &mut ctx)
    }

    /// Writes a new team named `title`: a core change any member may make, for tests of
    /// who may write at all.
    pub(super) fn note(&mut self, title: &str) -> crate::Result<String> {
        self.act(|c, ctx| c.add_team(ctx, title, None))
    }

    /// Adds a value: the circle's sole member may (values change by consent once there
    /// are two).
    pub(super) fn add_value(&mut self, title: &str) -> crate::Result<String> {
        self.act(|c, ctx| {
            c.add_value(
                ctx,
                NewValue {
                    title: title.into(),
                    statement: format!("We hold to {title}."),
                    ..Default::default()
                },
            )
        })
    }
}

/// What an import does: authorise the archive against an empty circle, then build it.
pub(super) fn import(from: &Circle, key: &SigningKey) -> crate::Result<Circle> {
    let docs = archive::decode_signed(&archive::encode(from))?;
    let batch = archive::signed_batch(&docs)?;
    let mut verified =
        Circle::empty(from.id(), signing::device_actor(key)).authorize_merge(&batch)?;
    let mut circle = Circle::from_core_bytes(&docs[0].bytes, signing::device_actor(key))?;
    circle.keep_signatures(&mut verified);
    circle.set_signer(key.clone());
    Ok(circle)
}

/// The changes `to` lacks from `from`, per document, with signatures.
pub(super) fn news(from: &Circle, to: &Circle) -> Vec<(String, Vec<SignedChange>)> {
    from.doc_keys()
        .into_iter()
        .map(|k| {
            let have = to.doc(&k).map(|d| d.get_heads()).unwrap_or_default();
            let changes = from
                .signed_changes(&k, &[])
                .into_iter()
                .filter(|sc| !have.contains(&sc.change.hash()))
                .collect();
            (k, changes)
        })
        .collect()
}

/// What an honest receiver does with `from`'s news: check, then apply what was not
/// refused. Returns the refused changes.
pub(super) fn merge(from: &Circle, to: &mut Circle) -> crate::Result<Vec<RefusedChange>> {
    let batch = news(from, to);
    let verdict = to.authorize_merge(&batch)?;
    let refused = verdict.refused().to_vec();
    to.apply_checked(batch, verdict)?;
    Ok(refused)
}

/// The reason a merge failed whole, or its first refused change's.
pub(super) fn auth_err(r: crate::Result<Vec<RefusedChange>>) -> AuthError {
    match r {
        Err(CoreError::Unauthorized(e)) => e,
        Ok(refused) if !refused.is_empty() => refused[0].reason.clone(),
        other => panic!("expected an authorisation refusal, got {other:?}"),
    }
}

#[test]
fn the_founder_is_the_first_steward_and_a_current_device() {
    let ana = Dev::found(1, "m-ana");
    let ms = ana.circle.membership();
    assert!(ms.is_current_device(&hex(&ana.key)));
    assert_eq!(ms.device_member(&hex(&ana.key)).as_deref(), Some("m-ana"));
    assert_eq!(ms.current_devices(), vec![hex(&ana.key)]);
    assert_eq!(ms.removed_at(&hex(&ana.key)), None);
    assert!(ana.circle.is_steward("m-ana"));
    assert!(!ms.is_current_device(&hex(&key(2))));
}

#[test]
fn admission_is_by_current_members_idempotent_and_validated() {
    let mut ana = Dev::found(1, "m-ana");
    let ben = hex(&key(2));
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &ben))
        .unwrap();
    let heads = ana.circle.doc(CORE_DOC).unwrap().get_heads();
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &ben.to_uppercase()))
        .unwrap();
    assert_eq!(
        ana.circle.doc(CORE_DOC).unwrap().get_heads(),
        heads,
        "idempotent"
    );
    assert!(ana.circle.membership().is_current_device(&ben));
    assert!(!ana.circle.is_steward("m-ben"));

    let err = ana
        .act(|c, ctx| c.admit_member(ctx, "m-cat", "Cat", "not-a-key"))
        .unwrap_err();
    assert!(err.to_string().contains("not a device id"), "{err}");
    let err = ana
        .act(|c, ctx| c.admit_member(ctx, "m-cat", "Cat", &ben))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("already belongs to member `m-ben`"),
        "{err}"
    );

    // Someone who is not a member cannot admit anyone.
    let mut stranger = Dev::receive(9, "m-zed", &ana);
    let err = stranger
        .act(|c, ctx| c.admit_member(ctx, "m-cat", "Cat", &hex(&key(3))))
        .unwrap_err();
    assert!(err.to_string().contains("only a current member"), "{err}");
}

#[test]
fn a_member_links_a_second_device_but_not_someone_elses() {
    let mut ana = Dev::found(1, "m-ana");
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let mut ben = Dev::receive(2, "m-ben", &ana);
    ben.act(|c, ctx| c.add_device(ctx, "m-ben", &hex(&key(22))))
        .unwrap();
    assert_eq!(
        ben.circle
            .membership()
            .device_member(&hex(&key(22)))
            .as_deref(),
        Some("m-ben")
    );
    let err = ben
        .act(|c, ctx| c.add_device(ctx, "m-ana", &hex(&key(23))))
        .unwrap_err();
    assert!(
        err.to_string().contains("only `m-ana` itself or a steward"),
        "{err}"
    );
    // The steward may.
    ana.act(|c, ctx| c.add_device(ctx, "m-ben", &hex(&key(24))))
        .unwrap();
}

/// A remove-member proposal for `member`, opened by `by` and consented by it and by each of
/// `also` (merged both ways), ready for `by` to pass: how the circle removes someone.
pub(super) fn removal_ready(by: &mut Dev, also: &mut [&mut Dev], member: &str) -> String {
    use crate::{Answer, NewProposal, ProposalChange};
    let p = by
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    window_ms: None,
                    title: format!("{member} leaves"),
                    body: String::new(),
                    change: ProposalChange::RemoveMember {
                        member: member.into(),
                    },
                },
            )
        })
        .unwrap();
    by.act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
        .unwrap();
    for d in also.iter_mut() {
        merge(&by.circle, &mut d.circle).unwrap();
        d.now = d.now.max(by.now);
        d.act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
            .unwrap();
        merge(&d.circle, &mut by.circle).unwrap();
        by.now = by.now.max(d.now);
    }
    p
}

/// `by` removes `member` by a passed proposal (see [`removal_ready`]).
pub(super) fn remove_by_proposal(by: &mut Dev, also: &mut [&mut Dev], member: &str) {
    let p = removal_ready(by, also, member);
    by.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
}

#[test]
fn no_one_removes_a_member_alone_and_a_passed_removal_rotates_the_key() {
    let mut ana = Dev::found(1, "m-ana");
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let mut ben = Dev::receive(2, "m-ben", &ana);
    let err = ben.act(|c, ctx| c.remove_member(ctx, "m-ana")).unwrap_err();
    assert!(
        err.to_string().contains(
            "removing a member needs the circle's consent: grove proposal open --remove-member m-ana"
        ),
        "{err}"
    );
    // Not even the steward in office.
    let heads = ana.circle.doc(CORE_DOC).unwrap().get_heads();
    let err = ana.act(|c, ctx| c.remove_member(ctx, "m-ben")).unwrap_err();
    assert!(
        err.to_string().contains("needs the circle's consent"),
        "{err}"
    );
    assert_eq!(
        ana.circle.doc(CORE_DOC).unwrap().get_heads(),
        heads,
        "a refusal changes nothing"
    );

    let (old_key, _) = ana.circle.circle_key().unwrap();
    remove_by_proposal(&mut ana, &mut [], "m-ben");
    let (new_key, _) = ana.circle.circle_key().unwrap();
    assert_ne!(old_key, new_key, "the circle key rotates");
    let ms = ana.circle.membership();
    assert!(!ms.is_current_device(&hex(&key(2))));
    assert_eq!(ms.device_member(&hex(&key(2))).as_deref(), Some("m-ben"));
    assert_eq!(ms.removed_at(&hex(&key(2))), Some(Timestamp(ana.now)));
    let standing = ana.circle.standing("m-ben").unwrap();
    assert_eq!(standing.removed_by.as_deref(), Some("m-ana"));
    // Nothing more to rotate: the remover made the new key.
    assert!(!ana.act(|c, ctx| c.rotate_key_after_departure(ctx)).unwrap());

    let err = ana
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                crate::NewProposal {
                    window_ms: None,
                    title: "Again".into(),
                    body: String::new(),
                    change: crate::ProposalChange::RemoveMember {
                        member: "m-ben".into(),
                    },
                },
            )
        })
        .unwrap_err();
    assert!(err.to_string().contains("already removed"), "{err}");
    let err = ana
        .act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap_err();
    assert!(err.to_string().contains("was removed"), "{err}");
    // The last member cannot leave: nobody would hold the circle.
    let err = ana.act(|c, ctx| c.remove_member(ctx, "m-ana")).unwrap_err();
    assert!(err.to_string().contains("only member"), "{err}");
    assert!(ana.circle.membership().is_current_member("m-ana"));

    // With a second steward, the first may leave.
    ana.act(|c, ctx| c.admit_member(ctx, "m-cat", "Cat", &hex(&key(3))))
        .unwrap();
    // The circle names both stewards by proposal; Cat's consent is the other voice.
    let p = ana
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                crate::NewProposal {
                    title: "Ana and Cat hold the centre".into(),
                    body: String::new(),
                    change: crate::ProposalChange::Stewards {
                        members: vec!["m-ana".into(), "m-cat".into()],
                        term_days: 90,
                        queue: Vec::new(),
                    },
                    window_ms: None,
                },
            )
        })
        .unwrap();
    let mut cat = Dev::receive(3, "m-cat", &ana);
    cat.act(|c, ctx| c.respond(ctx, &p, crate::Answer::Consent, None))
        .unwrap();
    merge(&cat.circle, &mut ana.circle).unwrap();
    ana.now = ana.now.max(cat.now);
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    let refused = merge(&ana.circle, &mut cat.circle).unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(
        cat.circle.membership().stewards(),
        vec!["m-ana".to_string(), "m-cat".to_string()]
    );
    ana.act(|c, ctx| c.remove_member(ctx, "m-ana")).unwrap();
    assert_eq!(
        ana.circle.membership().stewards(),
        vec!["m-cat".to_string()]
    );
}

#[test]
fn a_member_leaves_on_their_own_and_every_receiver_takes_it() {
    let (mut ana, mut ben, mut cat) = three();
    let (key_before, _) = ana.circle.circle_key().unwrap();
    // Ana, the only steward, leaves: no one is in office after, and the circle names
    // stewards by proposal as after a term.
    ana.act(|c, ctx| c.leave(ctx)).unwrap();
    assert_eq!(
        ana.circle.circle_key().unwrap().0,
        key_before,
        "the leaver makes no key: it would know it"
    );
    let refused = merge(&ana.circle, &mut ben.circle).unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let ms = ben.circle.membership();
    assert!(!ms.is_current_member("m-ana"));
    assert!(!ms.is_current_device(&hex(&ana.key)));
    assert!(ms.stewards().is_empty());
    assert_eq!(
        ben.circle.standing("m-ana").unwrap().removed_by.as_deref(),
        Some("m-ana")
    );
    // The first remaining device to hear of it rotates the key, once.
    ben.now = ben.now.max(ana.now);
    assert!(ben.act(|c, ctx| c.rotate_key_after_departure(ctx)).unwrap());
    let (new_key, _) = ben.circle.circle_key().unwrap();
    assert_ne!(new_key, key_before);
    assert!(!ben.act(|c, ctx| c.rotate_key_after_departure(ctx)).unwrap());
    // A third receiver takes the departure and the new key; Ana's later change is refused.
    let refused = merge(&ben.circle, &mut cat.circle).unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(cat.circle.circle_key().unwrap().0, new_key);
    assert!(!cat.act(|c, ctx| c.rotate_key_after_departure(ctx)).unwrap());
    ana.now += 5000;
    ana.act(|c, ctx| c.add_team(ctx, "After leaving", None))
        .unwrap();
    let err = auth_err(merge(&ana.circle, &mut cat.circle));
    assert!(matches!(err, AuthError::Removed { .. }), "{err}");
}

#[test]
fn a_stewards_removal_of_another_member_alone_is_refused_by_receivers() {
    let (mut ana, mut ben, _cat) = three();
    assert!(ana
        .circle
        .membership()
        .is_steward_at("m-ana", Timestamp(ana.now)));
    // Ana's modified client skips the local check and writes Cat's removal, as only a
    // passed proposal may.
    ana.act(|c, ctx| c.remove_member_by_consent(ctx, "m-cat"))
        .unwrap();
    assert!(!ana.circle.membership().is_current_member("m-cat"));
    let refused = merge(&ana.circle, &mut ben.circle).unwrap();
    match refused.first().map(|r| &r.reason) {
        Some(AuthError::NotAllowed { what, .. }) => {
            assert!(what.contains("circle's consent"), "{what}")
        }
        other => panic!("expected NotAllowed, got {other:?}"),
    }
    let ms = ben.circle.membership();
    assert!(
        ms.is_current_member("m-cat") && ms.is_current_device(&hex(&key(3))),
        "the refused removal must not touch the receiver's circle"
    );
    assert_eq!(ms.removed_members(), Vec::<String>::new());
}

#[test]
fn a_passed_proposal_removes_a_member_without_a_steward() {
    use crate::{Answer, NewProposal, ProposalChange};
    let mut ana = Dev::found(1, "m-ana");
    for (seed, m) in [(2u8, "m-ben"), (3, "m-cat")] {
        ana.act(|c, ctx| c.admit_member(ctx, m, m, &hex(&key(seed))))
            .unwrap();
    }
    let mut ben = Dev::receive(2, "m-ben", &ana);
    let p = ben
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    window_ms: None,
                    title: "Cat leaves".into(),
                    body: String::new(),
                    change: ProposalChange::RemoveMember {
                        member: "m-cat".into(),
                    },
                },
            )
        })
        .unwrap();
    ben.act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
        .unwrap();
    // One consent of the two other members is no majority.
    let err = ben.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap_err();
    assert!(err.to_string().contains("1 consented so far"), "{err}");
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
        .unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    let outcome = ben.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    assert_eq!(outcome.as_deref(), Some("member m-cat removed"));
    assert!(!ben.circle.membership().is_current_device(&hex(&key(3))));
    // Directly he could not have.
    let err = ben.act(|c, ctx| c.remove_member(ctx, "m-ana")).unwrap_err();
    assert!(
        err.to_string().contains("needs the circle's consent"),
        "{err}"
    );
    // Nor can a proposal remove the last steward.
    let err = ben
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    window_ms: None,
                    title: "Ana leaves".into(),
                    body: String::new(),
                    change: ProposalChange::RemoveMember {
                        member: "m-ana".into(),
                    },
                },
            )
        })
        .unwrap_err();
    assert!(err.to_string().contains("last steward"), "{err}");
}

#[test]
fn a_whole_circle_passes_into_an_empty_one() {
    let mut ana = Dev::found(1, "m-ana");
    ana.note("Care").unwrap();
    // Admission and the new member's own changes arrive in one batch.
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let mut ben = Dev::receive(2, "m-ben", &ana);
    ben.note("Courage").unwrap();
    let carol = import(&ben.circle, &key(3)).expect("founder, admission, Ben's change");
    assert_eq!(carol.teams().unwrap().len(), 2);
    merge(&ben.circle, &mut ana.circle).unwrap();
    assert_eq!(ana.circle.teams().unwrap().len(), 2);
}

#[test]
fn unsigned_and_non_member_changes_are_refused() {
    let ana = Dev::found(1, "m-ana");
    // A stranger holds the circle (it saw an export) and writes to it.
    let mut zed = Dev::receive(9, "m-zed", &ana);
    zed.note("Chaos").unwrap();
    let mut target = Dev::receive(3, "m-cat", &ana).circle;
    let err = auth_err(merge(&zed.circle, &mut target));
    assert!(matches!(err, AuthError::NotAMember { .. }), "{err}");
    assert!(err.may_resolve_later());
    assert_eq!(target.teams().unwrap().len(), 0, "nothing merged");

    // Even a self-join by the stranger does not make it a member.
    zed.act(|c, ctx| c.join(ctx, "Zed", &hex(&key(9)))).unwrap();
    let err = auth_err(merge(&zed.circle, &mut target));
    assert!(matches!(err, AuthError::NotAMember { .. }), "{err}");

    // An unsigned change (no signer) is refused whoever claims to write it.
    let mut unsigned = Circle::from_core_bytes(
        &ana.circle.snapshot(CORE_DOC).unwrap(),
        signing::device_actor(&ana.key),
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut ctx = Ctx::new(Timestamp(T0 + 9000), "m-ana", &mut rng);
    unsigned
        .add_value(
            &mut ctx,
            NewValue {
                title: "Unsigned".into(),
                statement: "x".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let err = auth_err(merge(&unsigned, &mut target));
    assert!(matches!(err, AuthError::Unsigned { .. }), "{err}");
}

#[test]
fn a_change_forged_under_another_members_actor_is_refused() {
    let mut ana = Dev::found(1, "m-ana");
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let ben = Dev::receive(2, "m-ben", &ana);
    // Ben writes under Ana's actor id and signs with his own key.
    let mut forger = Circle::from_core_bytes(
        &ben.circle.snapshot(CORE_DOC).unwrap(),
        signing::device_actor(&ana.key),
    )
    .unwrap();
    forger.set_signer(ben.key.clone());
    let mut rng = StdRng::seed_from_u64(7);
    let mut ctx = Ctx::new(Timestamp(T0 + 50_000), "m-ana", &mut rng);
    forger
        .add_team(&mut ctx, "Forged: Ana never said this", None)
        .unwrap();
    let err = auth_err(merge(&forger, &mut ana.circle));
    assert!(matches!(err, AuthError::BadSignature { .. }), "{err}");
    assert!(!err.may_resolve_later());
}

#[test]
fn a_removed_members_later_changes_are_refused_its_earlier_ones_kept() {
    let mut ana = Dev::found(1, "m-ana");
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let mut ben = Dev::receive(2, "m-ben", &ana);
    ben.note("Before").unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.now = ben.now + 5000;
    remove_by_proposal(&mut ana, &mut [], "m-ben");

    // Ben, not having heard, writes after the removal time.
    ben.now = ana.now + 5000;
    ben.note("After").unwrap();
    let err = auth_err(merge(&ben.circle, &mut ana.circle));
    assert!(matches!(err, AuthError::Removed { .. }), "{err}");

    // A third device receives everything at once: the removal in the same batch as the
    // late change still refuses it.
    let cat = Dev::receive(3, "m-cat", &ana);
    let mut all = cat.circle;
    let err = auth_err(merge(&ben.circle, &mut all));
    assert!(matches!(err, AuthError::Removed { .. }), "{err}");
    assert_eq!(all.teams().unwrap().len(), 1, "the earlier change stays");
}

#[test]
fn two_founders_are_refused() {
    let ana = Dev::found(1, "m-ana");
    let other = Dev::found(2, "m-ben");
    let mut batch = news(&ana.circle, &Circle::empty("c-x", ActorId::random()));
    batch[0]
        .1
        .extend(other.circle.signed_changes(CORE_DOC, &[]));
    let err = auth_err(
        Circle::empty("c-x", ActorId::random())
            .authorize_merge(&batch)
            .map(|v| v.refused().to_vec()),
    );
    assert_eq!(err, AuthError::TwoRoots);
}

#[test]
fn archives_carry_signatures() {
    let mut ana = Dev::found(1, "m-ana");
    ana.note("Care").unwrap();
    let docs = archive::decode_signed(&archive::encode(&ana.circle)).unwrap();
    let core = &docs[0];
    let changes = core.signed_changes().unwrap();
    assert!(!changes.is_empty());
    for sc in &changes {
        assert_eq!(signing::verify(sc).unwrap(), hex(&ana.key));
    }
}

// ---- the sync engine with real circles: what a node does with a peer's frames ----

mod engine {
    use std::collections::HashMap;

    use automerge::sync::{State, SyncDoc as _};
    use automerge::ReadDoc as _;

    use super::*;
    use crate::sync::{CircleDocs, DocAddr, Effect, Engine, Envelope, Input, PeerFault};

    fn log_decision(d: &mut Dev) -> String {
        quick_decision(d, "Kitchen")
    }

    /// A frame carrying every change of `from`'s document `doc`.
    fn frame(from: &Circle, doc: &str) -> Vec<u8> {
        frame_after(from, &[], doc)
    }

    /// A frame whose automerge message carries the changes (not just a bloom filter).
    fn frame_with_changes(from: &Circle, to: &Circle, doc: &str) -> Vec<u8> {
        let have = to.doc(doc).map(|d| d.get_heads()).unwrap_or_default();
        frame_after(from, &have, doc)
    }

    fn frame_after(from: &Circle, have: &[automerge::ChangeHash], doc: &str) -> Vec<u8> {
        let src = from.doc(doc).unwrap();
        let changes = src.get_changes(have);
        let mut state = State::new();
        let mut message = src.generate_sync_message(&mut state).unwrap();
        message = crate::sync::signing::with_changes(message, &changes);
        let mut signatures: Vec<_> = changes
            .iter()
            .filter_map(|c| from.signature(doc, &c.hash()).map(|s| (c.hash(), s)))
            .collect();
        signatures.sort_by_key(|(h, _)| *h);
        Envelope::Sync {
            doc: doc.into(),
            message,
            signatures,
        }
        .encode()
        .unwrap()
    }

    fn connect(
        engine: &mut Engine<&'static str>,
        docs: &mut CircleDocs<'_>,
        peer: &'static str,
        circle: &str,
    ) {
        engine.handle(
            docs,
            Input::PeerConnected {
                peer,
                circles: vec![circle.into()],
                sync_states: vec![],
            },
        );
    }

    fn misbehaved(effects: &[Effect<&'static str>]) -> Option<PeerFault> {
        effects.iter().find_map(|e| match e {
            Effect::Misbehaved { reason, .. } => Some(reason.clone()),
            _ => None,
        })
    }

    #[test]
    fn a_relayed_change_of_a_removed_member_is_refused_without_dropping_the_peer() {
        let (mut ana, mut ben, mut cat) = three();
        let p = removal_ready(&mut ana, &mut [&mut ben], "m-cat");
        ana.now += 10_000;
        ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
        cat.now = ana.now + 5_000;
        let late = quick_decision(&mut cat, "late");
        merge(&cat.circle, &mut ben.circle).unwrap();
        let month = crate::decision_doc(&late).unwrap();
        let id = ana.circle.id().to_string();
        let removal = ana.circle.doc(CORE_DOC).unwrap().get_heads()[0];
        let core_frame = frame_with_changes(&ben.circle, &ana.circle, CORE_DOC);
        let month_frame = frame_with_changes(&ben.circle, &ana.circle, &month);
        let mut circles = HashMap::from([(id.clone(), ana.circle)]);
        let mut docs = CircleDocs(&mut circles);
        let mut engine = Engine::new();
        connect(&mut engine, &mut docs, "ben", &id);
        for (doc, bytes) in [(CORE_DOC, core_frame), (month.as_str(), month_frame)] {
            let effects = engine.handle(
                &mut docs,
                Input::Received {
                    peer: "ben",
                    circle: id.clone(),
                    bytes,
                },
            );
            assert_eq!(misbehaved(&effects), None, "{effects:?}");
            let refused = effects.iter().find_map(|e| match e {
                Effect::Refused { refused, .. } => Some(refused.clone()),
                _ => None,
            });
            let refused = refused.expect("the removed member's changes are refused");
            assert!(refused
                .iter()
                .all(|r| r.reason.device() != Some(hex(&key(2)).as_str())));
            let gone: std::collections::HashSet<_> = refused.iter().map(|r| r.hash).collect();
            let mut sent = Vec::new();
            for effect in &effects {
                let Effect::Send { bytes, .. } = effect else {
                    continue;
                };
                let Envelope::Sync { message, .. } = Envelope::decode(bytes).unwrap() else {
                    continue;
                };
                assert!(
                    message.need.iter().all(|h| !gone.contains(h)),
                    "the answer never asks for a refused change again: {:?}",
                    message.need
                );
                let changes = crate::sync::signing::message_changes(&message).unwrap();
                sent.extend(changes.iter().map(|c| c.hash()));
            }
            if doc == CORE_DOC {
                // Silence here would leave Ben without the removal that makes it drop
                // Cat's changes: the two would never converge.
                assert!(
                    sent.contains(&removal),
                    "the answer carries the removal Ben lacks: {effects:?}"
                );
            } else {
                assert!(sent.is_empty(), "nothing of the month to send: {effects:?}");
            }
        }
        assert_eq!(engine.peers().count(), 1, "Ben keeps its link");
        assert!(circles[&id].doc(&month).is_none_or(|d| d
            .get_change_by_hash(&cat.circle.doc(&month).unwrap().get_heads()[0])
            .is_none()));
    }

    #[test]
    fn a_forged_change_makes_the_peer_misbehave_and_is_not_applied() {
        let mut ana = Dev::found(1, "m-ana");
        ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
            .unwrap();
        let ben = Dev::receive(2, "m-ben", &ana);
        let mut forger = Circle::from_core_bytes(
            &ben.circle.snapshot(CORE_DOC).unwrap(),
            signing::device_actor(&ana.key),
        )
        .unwrap();
        forger.set_signer(ben.key.clone());
        let mut rng = StdRng::seed_from_u64(7);
        let mut ctx = Ctx::new(Timestamp(T0 + 50_000), "m-ana", &mut rng);
        forger
            .add_team(&mut ctx, "Forged: Ana never said this", None)
            .unwrap();
        let id = ana.circle.id().to_string();
        let mut circles = HashMap::from([(id.clone(), ana.circle)]);
        let mut docs = CircleDocs(&mut circles);
        let mut engine = Engine::new();
        connect(&mut engine, &mut docs, "ben", &id);
        let effects = engine.handle(
            &mut docs,
            Input::Received {
                peer: "ben",
                circle: id.clone(),
                bytes: frame(&forger, CORE_DOC),
            },
        );
        assert!(
            matches!(misbehaved(&effects), Some(PeerFault::Unauthorized { .. })),
            "{effects:?}"
        );
        assert_eq!(engine.peers().count(), 0, "the peer is dropped");
        assert!(circles[&id].teams().unwrap().is_empty());
    }

    #[test]
    fn a_months_changes_wait_for_their_authors_admission() {
        let mut ana = Dev::found(1, "m-ana");
        charter(&mut ana);
        let cat = Dev::receive(3, "m-cat", &ana);
        ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
            .unwrap();
        let mut ben = Dev::receive(2, "m-ben", &ana);
        let decision = log_decision(&mut ben);
        let month = crate::decision_doc(&decision).unwrap();

        let id = cat.circle.id().to_string();
        let core_frame = frame_with_changes(&ben.circle, &cat.circle, CORE_DOC);
        let month_frame = frame(&ben.circle, &month);
        let mut circles = HashMap::from([(id.clone(), cat.circle)]);
        let mut engine = Engine::new();
        {
            let mut docs = CircleDocs(&mut circles);
            connect(&mut engine, &mut docs, "ben", &id);
            // The month arrives before the core change that admits its author.
            let effects = engine.handle(
                &mut docs,
                Input::Received {
                    peer: "ben",
                    circle: id.clone(),
                    bytes: month_frame,
                },
            );
            assert_eq!(misbehaved(&effects), None, "{effects:?}");
        }
        assert!(
            circles[&id]
                .doc(&month)
                .is_none_or(|d| d.get_heads().is_empty()),
            "held back"
        );
        {
            let mut docs = CircleDocs(&mut circles);
            let effects = engine.handle(
                &mut docs,
                Input::Received {
                    peer: "ben",
                    circle: id.clone(),
                    bytes: core_frame,
                },
            );
            assert_eq!(misbehaved(&effects), None, "{effects:?}");
        }
        let c = &circles[&id];
        assert!(c.membership().is_current_device(&hex(&key(2))));
        let addr = DocAddr::new(id.as_str(), month.as_str());
        let held = c.doc(&addr.doc).unwrap();
        assert!(
            held.get_change_by_hash(&ben.circle.doc(&month).unwrap().get_heads()[0])
                .is_some(),
            "applied once the admission arrived"
        );
        // Signatures were kept beside the applied changes.
        let head = held.get_heads()[0];
        assert!(c.signature(&month, &head).is_some());
    }

    #[test]
    fn a_decision_names_the_device_and_member_that_wrote_it() {
        let mut ana = Dev::found(1, "m-ana");
        charter(&mut ana);
        ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
            .unwrap();
        let mut ben = Dev::receive(2, "m-ben", &ana);
        let id = log_decision(&mut ben);
        let w = ben.circle.decision_writer(&id).unwrap().unwrap();
        assert_eq!(w.device, hex(&key(2)));
        assert_eq!(w.member.as_deref(), Some("m-ben"));
        assert!(ben.circle.decision_writer("d-202611-nothing").is_err());
    }

    #[test]
    fn an_unknown_author_with_the_core_in_sync_is_refused() {
        let ana = Dev::found(1, "m-ana");
        let mut zed = Dev::receive(9, "m-zed", &ana);
        log_decision(&mut zed);
        let id = ana.circle.id().to_string();
        let month = zed
            .circle
            .doc_keys()
            .into_iter()
            .find(|k| k != CORE_DOC)
            .unwrap();
        // Zed's core holds its own (refused) changes; announce Ana's own core heads so
        // the core is in sync as far as the engine knows.
        let announce = Envelope::Announce {
            docs: vec![crate::sync::AnnouncedDoc {
                key: CORE_DOC.into(),
                heads: ana.circle.doc(CORE_DOC).unwrap().get_heads(),
            }],
            restarted: false,
        }
        .encode()
        .unwrap();
        let month_frame = frame(&zed.circle, &month);
        let mut circles = HashMap::from([(id.clone(), ana.circle)]);
        let mut docs = CircleDocs(&mut circles);
        let mut engine = Engine::new();
        connect(&mut engine, &mut docs, "zed", &id);
        let effects = engine.handle(
            &mut docs,
            Input::Received {
                peer: "zed",
                circle: id.clone(),
                bytes: announce,
            },
        );
        assert_eq!(misbehaved(&effects), None);
        let effects = engine.handle(
            &mut docs,
            Input::Received {
                peer: "zed",
                circle: id.clone(),
                bytes: month_frame,
            },
        );
        assert!(
            matches!(
                misbehaved(&effects),
                Some(PeerFault::Unauthorized {
                    reason: AuthError::NotAMember { .. },
                    ..
                })
            ),
            "{effects:?}"
        );
    }
}

#[test]
fn a_removal_or_steward_grant_by_a_non_steward_is_refused_by_receivers() {
    let mut ana = Dev::found(1, "m-ana");
    for (seed, m) in [(2u8, "m-ben"), (3, "m-cat")] {
        ana.act(|c, ctx| c.admit_member(ctx, m, m, &hex(&key(seed))))
            .unwrap();
    }
    // A modified client skips the local steward check and writes the removal anyway.
    let mut ben = Dev::receive(2, "m-ben", &ana);
    ben.act(|c, ctx| c.remove_member_by_consent(ctx, "m-cat"))
        .unwrap();
    match auth_err(merge(&ben.circle, &mut ana.circle)) {
        AuthError::NotAllowed { what, .. } => {
            assert!(what.contains("circle's consent"), "{what}")
        }
        other => panic!("expected NotAllowed, got {other:?}"),
    }
    assert!(
        ana.circle.membership().is_current_device(&hex(&key(3))),
        "the refused removal must not touch the receiver's circle"
    );

    let mut ben = Dev::receive(2, "m-ben", &ana);
    let now = Timestamp(ben.now + 1000);
    ben.circle
        .set_role(now, "m-ben", crate::members::STEWARD)
        .unwrap();
    assert!(matches!(
        auth_err(merge(&ben.circle, &mut ana.circle)),
        AuthError::NotAllowed { .. }
    ));

    // The same removal after a passed proposal is taken everywhere.
    use crate::{Answer, NewProposal, ProposalChange};
    let mut ben = Dev::receive(2, "m-ben", &ana);
    let p = ben
        .act(|c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    window_ms: None,
                    title: "Cat leaves".into(),
                    body: String::new(),
                    change: ProposalChange::RemoveMember {
                        member: "m-cat".into(),
                    },
                },
            )
        })
        .unwrap();
    ben.act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
        .unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    ana.act(|c, ctx| c.respond(ctx, &p, Answer::Consent, None))
        .unwrap();
    merge(&ana.circle, &mut ben.circle).unwrap();
    ben.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    merge(&ben.circle, &mut ana.circle).unwrap();
    assert!(!ana.circle.membership().is_current_device(&hex(&key(3))));
}

/// A decision in the month of `d`'s clock, by `d`, with no lookups needed.
pub(super) fn quick_decision(d: &mut Dev, text: &str) -> String {
    use crate::{NewDecision, Zone};
    let team = d.act(|c, ctx| c.add_team(ctx, text, None)).unwrap();
    let principle = charter(d);
    d.act(|c, ctx| {
        c.log_decision(
            ctx,
            NewDecision {
                team,
                principles: vec![principle],
                context: format!("Context of {text}."),
                choice: text.into(),
                zone: Some(Zone::Local),
                ..Default::default()
            },
        )
    })
    .unwrap()
}

/// The circle's principle: the founder writes it while alone in the circle (values and
/// principles change by consent once there are two), so [`three`] and any test that
/// logs decisions start from one.
pub(super) fn charter(d: &mut Dev) -> String {
    use crate::NewPrinciple;
    if let Some(p) = d.circle.principles().unwrap().first() {
        return p.id.clone();
    }
    let value = d.add_value("Care").unwrap();
    d.act(|c, ctx| {
        c.add_principle(
            ctx,
            NewPrinciple {
                values: vec![value],
                statement: "We look after each other.".into(),
                ..Default::default()
            },
        )
    })
    .unwrap()
}

pub(super) fn decision_ids(c: &Circle) -> Vec<String> {
    c.decisions(&Default::default())
        .unwrap()
        .into_iter()
        .map(|d| d.id.clone())
        .collect()
}

/// Ana (steward), Ben and Cat, each with the whole circle.
pub(super) fn three() -> (Dev, Dev, Dev) {
    let mut ana = Dev::found(1, "m-ana");
    charter(&mut ana);
    for (seed, m) in [(2u8, "m-ben"), (3, "m-cat")] {
        ana.act(|c, ctx| c.admit_member(ctx, m, m, &hex(&key(seed))))
            .unwrap();
    }
    let ben = Dev::receive(2, "m-ben", &ana);
    let cat = Dev::receive(3, "m-cat", &ana);
    (ana, ben, cat)
}

#[test]
fn a_member_who_relayed_a_removed_members_change_is_not_punished_and_keeps_its_own() {
    let (mut ana, mut ben, mut cat) = three();
    let p = removal_ready(&mut ana, &mut [&mut ben], "m-cat");
    ana.now += 10_000;
    ana.act(|c, ctx| c.pass_proposal(ctx, &p)).unwrap();
    // Cat has not heard and writes; Ben, who has not heard either, takes it and builds on it.
    cat.now = ana.now + 5_000;
    let late = quick_decision(&mut cat, "Cat, after removal");
    assert!(merge(&cat.circle, &mut ben.circle).unwrap().is_empty());
    ben.now = cat.now + 5_000;
    let bens = quick_decision(&mut ben, "Ben, in good faith");

    // Ana refuses Cat's change and what depends on it, and keeps the rest of the batch.
    let refused = merge(&ben.circle, &mut ana.circle).expect("a relayed refusal is no failure");
    assert!(
        refused
            .iter()
            .any(|r| matches!(r.reason, AuthError::Removed { .. })),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .all(|r| r.reason.device() != Some(hex(&key(2)).as_str())),
        "no change of Ben's own is forbidden: {refused:?}"
    );
    let ids = decision_ids(&ana.circle);
    assert!(!ids.contains(&late), "Cat's late decision is refused");
    // Ben's own core changes were built on Cat's too: they wait for Ben's rewrite.
    assert!(ana.circle.teams().unwrap().is_empty());

    // Ben learns of the removal, drops Cat's change, and writes its own again.
    assert!(merge(&ana.circle, &mut ben.circle).unwrap().is_empty());
    ben.now += 1000;
    let purged = ben.circle.purge_refused(Timestamp(ben.now)).unwrap();
    assert_eq!(
        purged.len(),
        2,
        "the core and one month rebuilt: {purged:?}"
    );
    assert!(purged.iter().all(|p| p.rewritten), "{purged:?}");
    let ids = decision_ids(&ben.circle);
    assert!(!ids.contains(&late), "Cat's change is gone from Ben's copy");
    assert!(ids.contains(&bens), "Ben's own decision stays");
    let text = ben.circle.decision(&bens).unwrap().choice;
    assert_eq!(text, "Ben, in good faith");

    // Now Ana takes everything Ben sends, Ben's decision included.
    let refused = merge(&ben.circle, &mut ana.circle).unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let ids = decision_ids(&ana.circle);
    assert!(ids.contains(&bens), "Ben's decision reaches Ana");
    assert!(!ids.contains(&late));
    assert_eq!(
        ana.circle.decision(&bens).unwrap().choice,
        "Ben, in good faith"
    );
    let teams: Vec<String> = ana
        .circle
        .teams()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        teams,
        ["Ben, in good faith"],
        "Ben's team, written again, arrives; Cat's does not"
    );
    // Nothing more to purge on either side; Ben's rewritten change verifies for a third.
    assert!(ana
        .circle
        .purge_refused(Timestamp(ana.now))
        .unwrap()
        .is_empty());
    let dan = import(&ben.circle, &key(4));
    assert!(dan.is_ok(), "{:?}", dan.err());
}

#[test]
fn a_change_in_the_second_of_the_removal_counts_as_after_it() {
    let (mut ana, mut ben, mut cat) = three();
    let p = removal_ready(&mut ana, &mut [&mut ben], "m-cat");
    // The removal lands half-way through a second; Cat writes earlier in that second.
    ana.now = (ana.now / 1000 + 10) * 1000 + 500;
    let mut ctx_rng = StdRng::seed_from_u64(7);
    let mut ctx = Ctx::new(Timestamp(ana.now), "m-ana", &mut ctx_rng);
    ana.circle.pass_proposal(&mut ctx, &p).unwrap();
    cat.now = ana.now - 1_400; // becomes ana.now - 400 in act(): the same second
    cat.note("Same second").unwrap();
    let err = auth_err(merge(&cat.circle, &mut ana.circle));
    assert!(matches!(err, AuthError::Removed { .. }), "{err}");
    assert_eq!(ana.circle.teams().unwrap().len(), 0);
}

#[test]
fn a_signature_held_is_never_replaced_and_a_tampered_one_fails_the_whole_import() {
    let mut ana = Dev::found(1, "m-ana");
    ana.note("Care").unwrap();
    let ben_key = key(2);
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&ben_key)))
        .unwrap();
    let mut ben = Dev::receive(2, "m-ben", &ana);
    ana.note("New").unwrap();
    // An export of Ana's with one held change's signature flipped, plus one new change.
    let mut docs = archive::decode_signed(&archive::encode(&ana.circle)).unwrap();
    let held = ben.circle.doc(CORE_DOC).unwrap().get_heads()[0];
    let sig = docs[0]
        .signatures
        .iter_mut()
        .find(|(h, _)| *h == held)
        .unwrap();
    sig.1[10] ^= 1;
    let batch = archive::signed_batch(&docs).unwrap();
    let err = ben
        .circle
        .authorize_merge(&batch)
        .map(|v| v.refused().to_vec());
    assert!(
        matches!(
            err,
            Err(CoreError::Unauthorized(AuthError::BadSignature { .. }))
        ),
        "{err:?}"
    );
    // A different valid signature of a held change (re-signed) is accepted but not kept.
    let original = ben.circle.signature(CORE_DOC, &held).unwrap();
    let mut docs = archive::decode_signed(&archive::encode(&ana.circle)).unwrap();
    for (h, s) in docs[0].signatures.iter_mut() {
        if *h == held {
            *s = [0u8; 64];
        }
    }
    assert!(ben
        .circle
        .authorize_merge(&archive::signed_batch(&docs).unwrap())
        .is_err());
    let docs = archive::decode_signed(&archive::encode(&ana.circle)).unwrap();
    let batch = archive::signed_batch(&docs).unwrap();
    let verdict = ben.circle.authorize_merge(&batch).unwrap();
    ben.circle.apply_checked(batch, verdict).unwrap();
    assert_eq!(ben.circle.signature(CORE_DOC, &held), Some(original));
    ben.note("Ben's").unwrap();
    assert!(import(&ben.circle, &key(5)).is_ok());
}

mod tampered_imports {
    use proptest::prelude::*;

    use super::*;

    /// Ana's export, to be tampered with, and Ben holding most of it already (so some of
    /// the export's signatures are for changes Ben holds).
    fn setup() -> (Vec<u8>, Dev) {
        let (mut ana, ben, _) = three();
        ana.note("Care").unwrap();
        quick_decision(&mut ana, "Soup");
        let ben = Dev {
            circle: import(&ana.circle, &ben.key).unwrap(),
            ..ben
        };
        quick_decision(&mut ana, "Bread");
        (archive::encode(&ana.circle), ben)
    }

    /// What a node's import does with a circle file: decode, check, apply what passed.
    fn import_file(data: &[u8], into: &mut Circle) -> crate::Result<()> {
        let docs = archive::decode_signed(data)?;
        let batch = archive::signed_batch(&docs)?;
        let verdict = into.authorize_merge(&batch)?;
        into.apply_checked(batch, verdict)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever byte of an export is flipped, and whether or not the import is
        /// refused, the importing device's own export still verifies on a third member's
        /// device: no bad signature ever enters its store.
        #[test]
        fn a_flipped_byte_never_poisons_the_importers_own_exports(
            at in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let (mut data, mut ben) = setup();
            let i = at.index(data.len());
            data[i] ^= mask;
            let _ = import_file(&data, &mut ben.circle);
            ben.note("After the import").unwrap();
            let third = import(&ben.circle, &key(3));
            prop_assert!(third.is_ok(), "byte {i}: {:?}", third.err());
        }
    }

    #[test]
    fn a_flipped_signature_byte_is_refused_and_leaves_the_signatures_held() {
        let (data, mut ben) = setup();
        let docs = archive::decode_signed(&data).unwrap();
        // The offset of the core's first signature: the archive's own layout.
        let core_sigs_at = 13 + 1 + 4 + 2 + docs[0].key.len() + 8 + docs[0].bytes.len() + 4;
        let mut tampered = data.clone();
        tampered[core_sigs_at + 32 + 5] ^= 0x40;
        let before = ben.circle.doc(CORE_DOC).unwrap().get_heads();
        let err = import_file(&tampered, &mut ben.circle);
        assert!(
            matches!(
                err,
                Err(CoreError::Unauthorized(AuthError::BadSignature { .. }))
            ),
            "{err:?}"
        );
        assert_eq!(
            ben.circle.doc(CORE_DOC).unwrap().get_heads(),
            before,
            "nothing merged"
        );
        assert!(import(&ben.circle, &key(3)).is_ok());
    }
}

#[test]
fn a_change_the_remover_held_stays_though_made_in_the_second_of_the_removal() {
    let (mut ana, mut ben, mut cat) = three();
    let p = removal_ready(&mut ana, &mut [&mut ben], "m-cat");
    let second = (ana.now / 1000 + 10) * 1000;
    cat.now = second - 1000 + 100; // act() adds a second: cat writes at second + 100 ms
    let held = quick_decision(&mut cat, "Cat, just before");
    assert!(merge(&cat.circle, &mut ana.circle).unwrap().is_empty());
    let mut rng = StdRng::seed_from_u64(9);
    let mut ctx = Ctx::new(Timestamp(second + 900), "m-ana", &mut rng);
    ana.circle.pass_proposal(&mut ctx, &p).unwrap();

    assert!(
        ana.circle
            .purge_refused(Timestamp(second + 2000))
            .unwrap()
            .is_empty(),
        "the remover keeps what it saw"
    );
    let dan = import(&ana.circle, &key(4)).unwrap();
    let mut dan = dan;
    let batch = news(&ana.circle, &dan);
    let verdict = dan.authorize_merge(&batch).unwrap();
    assert!(verdict.refused().is_empty(), "{:?}", verdict.refused());
    dan.apply_checked(batch, verdict).unwrap();
    assert!(
        decision_ids(&dan).contains(&held),
        "a third device keeps it too"
    );
    assert!(dan
        .purge_refused(Timestamp(second + 3000))
        .unwrap()
        .is_empty());
}

#[test]
fn only_the_member_consulted_acknowledges_a_principle_check_on_every_device() {
    use crate::{NewDecision, NewPrinciple, Zone};
    let mut ana = Dev::found(1, "m-ana");
    let team = ana.act(|c, ctx| c.add_team(ctx, "Kitchen", None)).unwrap();
    let value = ana.add_value("Care").unwrap();
    let principle = ana
        .act(|c, ctx| {
            c.add_principle(
                ctx,
                NewPrinciple {
                    values: vec![value],
                    statement: "We feed whoever comes.".into(),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    for (seed, m) in [(2u8, "m-ben"), (3, "m-cat")] {
        ana.act(|c, ctx| c.admit_member(ctx, m, m, &hex(&key(seed))))
            .unwrap();
    }
    let mut ben = Dev::receive(2, "m-ben", &ana);
    let mut cat = Dev::receive(3, "m-cat", &ana);
    let new = |zone: Zone| NewDecision {
        team: team.clone(),
        principles: vec![principle.clone()],
        context: "A stranger asked for a meal after closing.".into(),
        choice: "We fed them.".into(),
        zone: Some(zone),
        ..Default::default()
    };

    // Who may be named, and where; a refusal writes nothing.
    let heads = ana.circle.doc(CORE_DOC).unwrap().get_heads();
    for (zone, who, why) in [
        (Zone::Local, "m-ben", "only a principle-check decision"),
        (Zone::PrincipleCheck, "m-ana", "cannot consult yourself"),
        (Zone::PrincipleCheck, "m-zed", "not a current member"),
    ] {
        let err = ana
            .act(|c, ctx| c.log_consulted_decision(ctx, new(zone), &[who.to_string()]))
            .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    assert_eq!(ana.circle.doc(CORE_DOC).unwrap().get_heads(), heads);
    assert!(decision_ids(&ana.circle).is_empty());

    let d = ana
        .act(|c, ctx| c.log_consulted_decision(ctx, new(Zone::PrincipleCheck), &["m-ben".into()]))
        .unwrap();
    let asked_at = Timestamp(ana.now);
    assert!(merge(&ana.circle, &mut ben.circle).unwrap().is_empty());
    assert!(merge(&ana.circle, &mut cat.circle).unwrap().is_empty());
    assert_eq!(
        ben.circle.consultation(&d).unwrap(),
        vec![crate::Consultee {
            member: "m-ben".into(),
            asked_at,
            acknowledged_at: None,
            note: None,
        }]
    );

    // Cat was not asked: her own client refuses; a modified one writes Ben's
    // acknowledgement raw, and an honest receiver refuses it.
    let err = cat
        .act(|c, ctx| c.acknowledge_consultation(ctx, &d, None))
        .unwrap_err();
    assert!(err.to_string().contains("you were not consulted"), "{err}");
    let core = cat.circle.doc(CORE_DOC).unwrap();
    let coll = crate::fields::child_map(core, &automerge::ROOT, "consultations").unwrap();
    let obj = crate::fields::entity(core, &coll, &d).unwrap().unwrap();
    cat.now += 1000;
    let at = cat.now;
    cat.circle
        .change_core(Timestamp(at), "decision acknowledged", |tx| {
            use automerge::transaction::Transactable as _;
            tx.put(&obj, "ack:m-ben", at)?;
            tx.put(&obj, "ack_note:m-ben", "Fine by me.")?;
            Ok(())
        })
        .unwrap();
    let refused = merge(&cat.circle, &mut ana.circle).unwrap();
    match refused.first().map(|r| &r.reason) {
        Some(AuthError::NotAllowed { what, .. }) => {
            assert!(what.contains("only `m-ben` can"), "{what}")
        }
        other => panic!("expected NotAllowed, got {other:?}"),
    }
    assert_eq!(
        ana.circle.consultation(&d).unwrap()[0].acknowledged_at,
        None,
        "the forged acknowledgement must not touch the receiver's circle"
    );

    // Ben acknowledges, once, and every device takes it.
    ben.now = ben.now.max(ana.now);
    ben.act(|c, ctx| {
        c.acknowledge_consultation(ctx, &d, Some("Checked it with Ana at the stall."))
    })
    .unwrap();
    let acked_at = Timestamp(ben.now);
    let err = ben
        .act(|c, ctx| c.acknowledge_consultation(ctx, &d, None))
        .unwrap_err();
    assert!(err.to_string().contains("already acknowledged"), "{err}");
    assert!(merge(&ben.circle, &mut ana.circle).unwrap().is_empty());
    assert_eq!(
        ana.circle.consultation(&d).unwrap(),
        vec![crate::Consultee {
            member: "m-ben".into(),
            asked_at,
            acknowledged_at: Some(acked_at),
            note: Some("Checked it with Ana at the stall.".into()),
        }]
    );
}

/// One copy of a circle serving two devices in turn (`Circle::act_as_device`, as the
/// demo's members' devices share one): each change is written under the acting device's
/// actor and signed with its key, so the founder's circle takes both, each as its own
/// device's. Switching only the key (or only the actor) makes the founder refuse the batch.
#[test]
fn a_copy_acting_as_each_device_in_turn_writes_each_change_as_that_device() {
    let mut ana = Dev::found(1, "m-ana");
    let (ben, cai) = (key(2), key(3));
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&ben)))
        .unwrap();
    ana.act(|c, ctx| c.admit_member(ctx, "m-cai", "Cai", &hex(&cai)))
        .unwrap();
    let mut shared = Dev::receive(2, "m-ben", &ana);
    shared.note("Kitchen").unwrap();
    shared.circle.act_as_device(cai.clone());
    shared.member = "m-cai".into();
    shared.note("Outreach").unwrap();

    assert_eq!(merge(&shared.circle, &mut ana.circle).unwrap(), vec![]);
    let actors: Vec<ActorId> = ana
        .circle
        .doc(CORE_DOC)
        .unwrap()
        .get_changes(&[])
        .iter()
        .map(|c| c.actor_id().clone())
        .collect();
    let n = actors.len();
    assert_eq!(
        actors[n - 2..],
        [signing::device_actor(&ben), signing::device_actor(&cai)]
    );
}

/// A batch automerge refuses whole (two changes of one device with the same sequence
/// number: Ben's device wrote one before his removal and, from a copy of the same state,
/// another after it) is judged one change at a time, as every batch was before a replay
/// applied its batch in one run: here the late change comes first in causal order (ties
/// by hash), is judged before the removal and applied, and the early one then repeats its
/// sequence number, so the batch fails whole as unreadable. Were the refused run taken as
/// applied, the changes would be judged on a state that lacks them.
#[test]
fn a_batch_automerge_refuses_whole_is_judged_one_change_at_a_time() {
    let mut ana = Dev::found(1, "m-ana");
    ana.act(|c, ctx| c.admit_member(ctx, "m-ben", "Ben", &hex(&key(2))))
        .unwrap();
    let mut early = Dev::receive(2, "m-ben", &ana);
    let mut late = Dev::receive(2, "m-ben", &ana);
    early.note("Before").unwrap();
    ana.now = early.now + 5000;
    remove_by_proposal(&mut ana, &mut [], "m-ben");
    late.now = ana.now + 5000;
    late.note("After").unwrap();

    let cat = Circle::empty(ana.circle.id(), signing::device_actor(&key(3)));
    let mut batch = news(&ana.circle, &cat);
    let mut bens = Vec::new();
    for ben in [&early, &late] {
        let held = ana.circle.doc(CORE_DOC).unwrap();
        let changes: Vec<SignedChange> = ben
            .circle
            .signed_changes(CORE_DOC, &[])
            .into_iter()
            .filter(|sc| held.get_change_meta_by_hash(&sc.change.hash()).is_none())
            .collect();
        assert_eq!(changes.len(), 1);
        bens.push(changes[0].clone());
    }
    assert_eq!(bens[0].change.seq(), bens[1].change.seq());
    batch[0].1.extend(bens.iter().cloned());
    let mut whole = automerge::Automerge::new();
    assert!(
        whole
            .apply_changes(batch[0].1.iter().map(|sc| sc.change.clone()))
            .is_err(),
        "automerge takes no batch holding both"
    );

    match cat.authorize_merge(&batch) {
        Err(CoreError::Unauthorized(AuthError::Unreadable { reason })) => {
            assert!(reason.contains("duplicate seq"), "{reason}");
        }
        other => panic!("expected the batch to fail whole, got {other:?}"),
    }
}
