//! Who was consulted on a principle-check decision, and who acknowledged it.
//!
//! A principle-check decision asks a peer whether the principle really applies before
//! acting, so its author names who was consulted, and each of them acknowledges it.
//! Decisions live in monthly shard documents, whose changes get only signature and member
//! checks, so the consultation lives in the core document, where every receiver judges each
//! change ([`check`], called from `authorize`): `consultations/<decision id>` holds
//! - `by`: who logged the decision and asked;
//! - `asked:<member>`: when they were asked, written by `by` only, never changed;
//! - `ack:<member>` (when) and `ack_note:<member>`: their acknowledgement, written once, by
//!   that member only, and only where they were asked before.
//!
//! Keys of the decision's own map, not nested maps: two devices acknowledging at once
//! would otherwise each create a map and one would lose (see [`Fields::prefixed`]).

use std::collections::BTreeMap;

use automerge::transaction::Transactable as _;
use automerge::{ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::decisions::NewDecision;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::touched::Scope;
use crate::words::Zone;

const COLL: &str = "consultations";
const BY: &str = "by";
const ASKED: &str = "asked:";
const ACK: &str = "ack:";
const ACK_NOTE: &str = "ack_note:";

/// One member consulted on a decision, and their acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Consultee {
    pub member: String,
    /// When the decision's author named them.
    pub asked_at: Timestamp,
    /// When they acknowledged it (None: still awaited).
    pub acknowledged_at: Option<Timestamp>,
    pub note: Option<String>,
}

/// One decision's consultation as stored: what receivers compare before and after a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stored {
    by: String,
    asked: BTreeMap<String, i64>,
    acks: BTreeMap<String, (i64, String)>,
}

/// The consultations of a core document (any state of it) that `scope` covers, by
/// decision id.
pub(crate) fn read<D: ReadDoc>(doc: &D, scope: Scope<'_>) -> BTreeMap<String, Stored> {
    crate::touched::entities(doc, COLL, scope)
        .into_iter()
        .map(|(id, obj)| {
            let f = Fields::read(doc, &obj);
            let asked = f
                .prefixed(ASKED)
                .into_iter()
                .map(|(m, at)| (m, at.parse().unwrap_or_default()))
                .collect();
            let notes: BTreeMap<String, String> = f.prefixed(ACK_NOTE).into_iter().collect();
            let acks = f
                .prefixed(ACK)
                .into_iter()
                .map(|(m, at)| {
                    let note = notes.get(&m).cloned().unwrap_or_default();
                    (m, (at.parse().unwrap_or_default(), note))
                })
                .collect();
            let stored = Stored {
                by: f.str(BY),
                asked,
                acks,
            };
            (id, stored)
        })
        .collect()
}

/// The receivers' rule for a change by `author` taking the consultations from `before` to
/// `after`: only a decision's author asks, once per member; only the member asked
/// acknowledges, once; nothing asked or acknowledged is rewritten or deleted.
pub(crate) fn check(
    before: &BTreeMap<String, Stored>,
    after: &BTreeMap<String, Stored>,
    author: &str,
) -> std::result::Result<(), String> {
    for (id, was) in before {
        let Some(now) = after.get(id) else {
            return Err(format!("it deletes the consultation on decision `{id}`"));
        };
        if now.by != was.by {
            return Err(format!(
                "it rewrites who asked for consultation on decision `{id}`"
            ));
        }
        if let Some(m) = was
            .asked
            .keys()
            .find(|m| now.asked.get(*m) != was.asked.get(*m))
        {
            return Err(format!(
                "it rewrites or deletes when `{m}` was consulted on decision `{id}`"
            ));
        }
        if let Some(m) = was
            .acks
            .keys()
            .find(|m| now.acks.get(*m) != was.acks.get(*m))
        {
            return Err(format!(
                "it rewrites or deletes `{m}`'s acknowledgement of decision `{id}`"
            ));
        }
    }
    let none = Stored::default();
    for (id, now) in after {
        let was = before.get(id);
        if was.is_none() && now.by != author {
            return Err(format!(
                "it asks for consultation on decision `{id}` in the name of `{}`",
                now.by
            ));
        }
        let was = was.unwrap_or(&none);
        if now.asked.keys().any(|m| !was.asked.contains_key(m)) && author != now.by {
            return Err(format!(
                "it names who was consulted on decision `{id}`, which only `{}`, who logged it, may",
                now.by
            ));
        }
        for m in now.acks.keys().filter(|m| !was.acks.contains_key(*m)) {
            if m != author {
                return Err(format!(
                    "it acknowledges decision `{id}` for `{m}`; only `{m}` can"
                ));
            }
            if !was.asked.contains_key(m) {
                return Err(format!(
                    "it acknowledges decision `{id}` for `{m}`, who was not consulted on it"
                ));
            }
        }
    }
    Ok(())
}

impl Circle {
    /// Logs `new` naming who was consulted (ids), as a principle-check decision asks; each
    /// of them then acknowledges it ([`Circle::acknowledge_consultation`]). Without anyone
    /// consulted this is [`Circle::log_decision`]. Nothing is written when the names or
    /// the zone are wrong.
    pub fn log_consulted_decision(
        &mut self,
        ctx: &mut Ctx<'_>,
        new: NewDecision,
        consulted: &[String],
    ) -> Result<String> {
        let mut asked: Vec<String> = Vec::new();
        for m in consulted.iter().map(|m| m.trim()) {
            if !asked.iter().any(|a| a == m) {
                asked.push(m.to_string());
            }
        }
        if asked.is_empty() {
            return self.log_decision(ctx, new);
        }
        let zone = self.planned_zone(&new);
        if zone != Zone::PrincipleCheck {
            return Err(CoreError::invalid(format!(
                "only a principle-check decision names who was consulted, and this one is \
                 {zone}: log it with --zone principle-check, or without --consulted"
            )));
        }
        let ms = self.membership();
        for m in &asked {
            if *m == ctx.member {
                return Err(CoreError::invalid(
                    "you cannot consult yourself: name the peer who checked the principle with you",
                ));
            }
            if !ms.is_current_member(m) {
                return Err(CoreError::invalid(format!(
                    "`{m}` is not a current member of the circle: consult someone who is \
                     (grove member list)"
                )));
            }
        }
        let id = self.log_decision(ctx, new)?;
        self.ask(ctx, &id, &asked)?;
        Ok(id)
    }

    /// Writes who `ctx.member` asked about decision `id`.
    fn ask(&mut self, ctx: &mut Ctx<'_>, id: &str, members: &[String]) -> Result<()> {
        let coll = fields::child_map(&self.core.am, &ROOT, COLL).ok();
        let (now, by) = (ctx.now, ctx.member.clone());
        self.change_core(now, "decision consulted", |tx| {
            // Circles from before consultations get the collection here; every newer
            // circle has it from its founding, so two devices never create it at once.
            let coll = match coll {
                Some(c) => c,
                None => tx.put_object(ROOT, COLL, ObjType::Map)?,
            };
            let c = tx.put_object(&coll, id, ObjType::Map)?;
            fields::put_str(tx, &c, BY, &by)?;
            for m in members {
                tx.put(&c, format!("{ASKED}{m}"), now.0)?;
            }
            Ok(())
        })
    }

    /// `ctx.member` acknowledges that they were consulted on decision `id`, with an
    /// optional note; once only.
    pub fn acknowledge_consultation(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &str,
        note: Option<&str>,
    ) -> Result<()> {
        let note = fields::optional(note, "the note")?;
        let me = ctx.member.clone();
        let Some(c) = self.consultation_obj(id)? else {
            return Err(CoreError::state(format!(
                "no one was consulted on decision `{id}`, so there is nothing to acknowledge"
            )));
        };
        let f = Fields::read(&self.core.am, &c);
        if f.opt_time(&format!("{ASKED}{me}")).is_none() {
            return Err(CoreError::state(format!(
                "you were not consulted on decision `{id}`; only those its author named \
                 acknowledge it (grove decision show {id})"
            )));
        }
        if let Some(at) = f.opt_time(&format!("{ACK}{me}")) {
            return Err(CoreError::state(format!(
                "you already acknowledged decision `{id}` on {}",
                at.minute()
            )));
        }
        let now = ctx.now;
        self.change_core(now, "decision acknowledged", |tx| {
            tx.put(&c, format!("{ACK}{me}"), now.0)?;
            if let Some(note) = &note {
                fields::put_str(tx, &c, &format!("{ACK_NOTE}{me}"), note)?;
            }
            Ok(())
        })
    }

    /// Who was consulted on decision `id`, in member order, with their acknowledgements;
    /// empty when no one was.
    pub fn consultation(&self, id: &str) -> Result<Vec<Consultee>> {
        let Some(c) = self.consultation_obj(id)? else {
            return Ok(Vec::new());
        };
        let f = Fields::read(&self.core.am, &c);
        let notes: BTreeMap<String, String> = f.prefixed(ACK_NOTE).into_iter().collect();
        let acks: BTreeMap<String, String> = f.prefixed(ACK).into_iter().collect();
        Ok(f.prefixed(ASKED)
            .into_iter()
            .map(|(member, at)| Consultee {
                asked_at: Timestamp(at.parse().unwrap_or_default()),
                acknowledged_at: acks
                    .get(&member)
                    .and_then(|a| a.parse().ok())
                    .map(Timestamp),
                note: notes.get(&member).filter(|n| !n.is_empty()).cloned(),
                member,
            })
            .collect())
    }

    fn consultation_obj(&self, id: &str) -> Result<Option<automerge::ObjId>> {
        let Ok(coll) = fields::child_map(&self.core.am, &ROOT, COLL) else {
            return Ok(None);
        };
        fields::entity(&self.core.am, &coll, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(by: &str, asked: &[&str], acks: &[&str]) -> Stored {
        Stored {
            by: by.into(),
            asked: asked.iter().map(|m| (m.to_string(), 1)).collect(),
            acks: acks
                .iter()
                .map(|m| (m.to_string(), (2, String::new())))
                .collect(),
        }
    }

    fn one(s: Stored) -> BTreeMap<String, Stored> {
        BTreeMap::from([("d-1".to_string(), s)])
    }

    #[test]
    fn the_author_asks_and_only_the_member_asked_acknowledges_once() {
        let none = BTreeMap::new();
        let asked = one(stored("m-ana", &["m-ben", "m-cat"], &[]));
        assert_eq!(check(&none, &asked, "m-ana"), Ok(()));
        let err = check(&none, &asked, "m-ben").unwrap_err();
        assert!(err.contains("in the name of `m-ana`"), "{err}");

        let acked = one(stored("m-ana", &["m-ben", "m-cat"], &["m-ben"]));
        assert_eq!(check(&asked, &acked, "m-ben"), Ok(()));
        for forger in ["m-ana", "m-cat"] {
            let err = check(&asked, &acked, forger).unwrap_err();
            assert!(err.contains("only `m-ben` can"), "{err}");
        }
        // Once: not rewritten, not deleted, not by the member either.
        let mut again = acked.clone();
        again
            .get_mut("d-1")
            .unwrap()
            .acks
            .insert("m-ben".into(), (9, "later".into()));
        let err = check(&acked, &again, "m-ben").unwrap_err();
        assert!(
            err.contains("rewrites or deletes `m-ben`'s acknowledgement"),
            "{err}"
        );
        let err = check(&acked, &asked, "m-ben").unwrap_err();
        assert!(err.contains("acknowledgement"), "{err}");
        // Only where asked before.
        let stranger = one(stored("m-ana", &["m-ben", "m-cat"], &["m-dan"]));
        let err = check(&asked, &stranger, "m-dan").unwrap_err();
        assert!(err.contains("was not consulted"), "{err}");
        let both = one(stored("m-ana", &["m-ben", "m-dan"], &["m-dan"]));
        let err = check(&one(stored("m-ana", &["m-ben"], &[])), &both, "m-dan").unwrap_err();
        assert!(err.contains("only `m-ana`"), "{err}");
    }

    #[test]
    fn what_was_asked_is_never_rewritten_or_deleted() {
        let asked = one(stored("m-ana", &["m-ben", "m-cat"], &[]));
        for author in ["m-ana", "m-ben"] {
            let fewer = one(stored("m-ana", &["m-ben"], &[]));
            assert!(check(&asked, &fewer, author).is_err());
            let mut moved = asked.clone();
            moved
                .get_mut("d-1")
                .unwrap()
                .asked
                .insert("m-ben".into(), 7);
            assert!(check(&asked, &moved, author).is_err());
            let other = one(stored("m-ben", &["m-ben", "m-cat"], &[]));
            assert!(check(&asked, &other, author).is_err());
            assert!(check(&asked, &BTreeMap::new(), author).is_err());
        }
        // The author may name one more later; no one else may.
        let more = one(stored("m-ana", &["m-ben", "m-cat", "m-dan"], &[]));
        assert_eq!(check(&asked, &more, "m-ana"), Ok(()));
        assert!(check(&asked, &more, "m-ben").is_err());
    }
}
