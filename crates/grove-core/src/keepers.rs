//! Principle keepers: "not a committee of elders, but a rotating group of practitioners who
//! tend the value language, surface conflicts, propose evolutions" (docs/design.md, section 3). An
//! office with a term and a rotation queue (see [`crate::office`]), named only by a passed
//! `keepers` proposal. While keepers are in office, a change to values or principles
//! passes only with a keeper's voice: proposed by one, or consented to by one (see
//! [`crate::consent`]). A circle that never named keepers decides its charter by consent
//! alone; one whose keepers' term ran out with no one queued shows an authority vacuum.

use automerge::transaction::Transactable as _;
use automerge::ReadDoc;
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::members::Membership;
use crate::office::{self, Seat};

const KEEPERS: &str = "keepers";
const UNTIL: &str = "keepers_until";
const BY: &str = "keepers_by";
const QUEUE: &str = "keepers_queue";
const TERM: &str = "keepers_term_days";

/// The circle's principle keepers and their term (`grove keeper list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Keepers {
    pub keepers: Vec<String>,
    pub until: Option<Timestamp>,
    /// The passed proposal that named them.
    pub by: Option<String>,
    pub in_office: bool,
    /// Who takes over next, in order, when the term ends (`grove keeper rotate`).
    pub queue: Vec<String>,
    pub term_days: Option<i64>,
}

/// The keepers' office in a core document (any state of it).
pub(crate) fn seat<D: ReadDoc>(doc: &D) -> Seat {
    let Ok(meta) = fields::child_map(doc, &automerge::ROOT, "meta") else {
        return Seat::default();
    };
    let f = Fields::read(doc, &meta);
    let mut holders = fields::str_list(doc, f.obj(KEEPERS));
    holders.sort();
    Seat {
        holders,
        until: f.opt_time(UNTIL),
        by: f.opt_str(BY),
        queue: fields::str_list(doc, f.obj(QUEUE)),
        days: f.int(TERM),
    }
}

/// The keepers in office at `at` who are still members: whose voice a change to values or
/// principles needs. Empty when the office is vacant (or was never filled).
pub(crate) fn in_office<D: ReadDoc>(doc: &D, at: Timestamp) -> Vec<String> {
    let s = seat(doc);
    if !s.in_office_at(at) {
        return Vec::new();
    }
    let ms = Membership::read(doc);
    s.holders
        .into_iter()
        .filter(|m| ms.is_current_member(m))
        .collect()
}

/// Refuses (with the reason) a change to who the keepers are that is neither a passed
/// proposal's naming nor a due rotation. `before_doc` and `after_doc` are the change's
/// causal past and the change on it; `at` its time.
pub(crate) fn check<B: ReadDoc, A: ReadDoc>(
    before_doc: &B,
    after_doc: &A,
    at: Timestamp,
) -> std::result::Result<(), String> {
    let (before, after) = (seat(before_doc), seat(after_doc));
    if before == after {
        return Ok(());
    }
    let ms = Membership::read(before_doc);
    let lawful = office::renamed_lawfully(
        &before,
        &after,
        at,
        0,
        |by| crate::proposals::passed_keepers(after_doc, by),
        |m| ms.is_current_member(m),
    );
    if lawful {
        Ok(())
    } else {
        Err("it changes who the principle keepers are without a passed proposal naming them or a rotation that was due".into())
    }
}

impl Circle {
    /// Who keeps the principles, until when, and who is next.
    pub fn keepers(&self, now: Timestamp) -> Keepers {
        let s = seat(&self.core.am);
        Keepers {
            in_office: !in_office(&self.core.am, now).is_empty(),
            keepers: s.holders,
            until: s.until,
            by: s.by,
            queue: s.queue,
            term_days: s.days,
        }
    }

    /// Hands the keepers' office to the next in line once the term has ended; any member
    /// may do it. Returns the new keepers.
    pub fn rotate_keepers(&mut self, ctx: &mut Ctx<'_>) -> Result<Vec<String>> {
        let ms = self.membership();
        if !ms.is_current_member(&ctx.member) {
            return Err(CoreError::state(
                "only a member of the circle rotates its principle keepers",
            ));
        }
        let s = seat(&self.core.am);
        let (Some(until), Some(days)) = (s.until, s.days) else {
            return Err(CoreError::state(
                "the circle has no principle keepers to rotate: name them by proposal (grove proposal open --keeper M --term-days N)",
            ));
        };
        // Judged at the change's own time (whole seconds), as receivers judge it.
        if crate::proposals::change_time(ctx.now) < until {
            return Err(CoreError::state(format!(
                "the principle keepers' term runs until {}; rotation comes after it",
                until.minute()
            )));
        }
        let (next, queue) = s.rotated(|m| ms.is_current_member(m)).ok_or_else(|| {
            CoreError::state(
                "no one is queued to take over: name principle keepers by proposal (grove proposal open --keeper M --term-days N)",
            )
        })?;
        let seat = Seat {
            holders: next.clone(),
            until: Some(ctx.now.plus_days(days)),
            by: s.by,
            queue,
            days: Some(days),
        };
        self.name_keepers(ctx.now, &seat)?;
        Ok(next)
    }

    /// Writes the keepers' office as `seat` says (after a pass, or a rotation).
    pub(crate) fn name_keepers(&mut self, now: Timestamp, seat: &Seat) -> Result<()> {
        let meta = self.coll("meta")?;
        self.change_core(now, "keepers named", |tx| {
            fields::put_list(tx, &meta, KEEPERS, &seat.holders)?;
            fields::put_list(tx, &meta, QUEUE, &seat.queue)?;
            if let Some(until) = seat.until {
                fields::put_time(tx, &meta, UNTIL, until)?;
            }
            fields::put_opt_str(tx, &meta, BY, seat.by.as_deref())?;
            if let Some(days) = seat.days {
                tx.put(&meta, TERM, days)?;
            }
            Ok(())
        })
    }
}
