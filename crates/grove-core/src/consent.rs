//! The consent round's rules, as pure functions of a proposal, the circle's members and an
//! instant. The acting device asks them before it writes a pass; every receiver asks them
//! again, at the pass's own time and on the state its author saw, before it accepts one
//! (see [`crate::authorize`]). So a modified client gains nothing by skipping them.
//!
//! - No one passes anything alone: at least one explicit consent from a member other than
//!   the proposer (a circle of one is the exception).
//! - Every voice gets its window: a member's window opens when their device first receives
//!   the proposal (a receipt it writes on first sight) or when it was last revised, and
//!   lasts the proposal's window. Silence after it is consent. A member whose device never
//!   received it holds the proposal until the deadline, [`DEADLINE_WINDOWS`] windows after
//!   the proposal (or its revision) opened.
//! - Only the objector lifts an objection, by answering again; or the proposer revises the
//!   proposal, which voids every answer.
//! - Removing a member needs explicit consent from more than half of the other members;
//!   the named member's own answer neither counts nor blocks.

use serde::{Deserialize, Serialize};

use crate::clock::{Timestamp, DAY_MS};
use crate::proposals::{Proposal, ProposalChange};
use crate::words::{Answer, ProposalStatus};

/// A proposal's consent window unless it names one.
pub const DEFAULT_WINDOW_MS: i64 = 7 * DAY_MS;
/// Members whose devices never received a proposal hold it this many windows.
pub const DEADLINE_WINDOWS: i64 = 3;
/// How far ahead of a receiver's clock a pass may claim to have been made.
pub const CLOCK_SLACK_MS: i64 = 10 * 60 * 1000;
/// Shortest and longest windows a proposal may ask for.
pub const MIN_WINDOW_MS: i64 = 1000;
pub const MAX_WINDOW_MS: i64 = 365 * DAY_MS;

/// Where one member stands in a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Voice {
    pub member: String,
    pub name: String,
    /// When their device first received the proposal.
    pub received_at: Option<Timestamp>,
    /// When their window closes (None until their device received it).
    pub window_ends: Option<Timestamp>,
    /// Their answer to the current version.
    pub answer: Option<Answer>,
    pub reason: Option<String>,
    pub answered_at: Option<Timestamp>,
    pub standing: Standing,
}

crate::words::vocabulary!(
    /// How a member's voice counts right now.
    Standing, "standing" {
        Proposer => "proposer",
        Answered => "answered",
        Waiting => "waiting",
        SilentConsent => "silent-consent",
        NotReceived => "not-received",
        Skipped => "skipped",
        Named => "named",
    }
);

/// Why a proposal cannot pass yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    NotOpen(ProposalStatus),
    Objection {
        member: String,
        reason: String,
    },
    NoOtherConsent,
    Quorum {
        have: usize,
        need: usize,
    },
    Waiting {
        member: String,
        until: Timestamp,
    },
    NotReceived {
        member: String,
        deadline: Timestamp,
    },
    /// A change to values or principles while principle keepers are in office, with none
    /// of them proposing or consenting.
    NoKeeper {
        keepers: Vec<String>,
    },
}

impl Blocker {
    /// In words, with members named by `name`.
    pub fn describe(&self, name: impl Fn(&str) -> String) -> String {
        match self {
            Blocker::NotOpen(s) => format!("it is {s}"),
            Blocker::Objection { member, reason } => format!(
                "{} objects ({reason}); only they can lift it, by answering again, or the proposer can revise the proposal",
                name(member)
            ),
            Blocker::NoOtherConsent => {
                "no one but the proposer has consented: a proposal needs consent from another member".into()
            }
            Blocker::Quorum { have, need } => format!(
                "removing a member needs explicit consent from {need} of the other members; {have} consented so far"
            ),
            Blocker::Waiting { member, until } => format!(
                "{}'s window is open until {}",
                name(member),
                until.minute()
            ),
            Blocker::NoKeeper { keepers } => format!(
                "a change to values or principles needs the consent of a principle keeper ({}), or to be proposed by one",
                keepers.iter().map(|k| name(k)).collect::<Vec<_>>().join(", ")
            ),
            Blocker::NotReceived { member, deadline } => format!(
                "{}'s device has not received it yet; it waits for them until {}",
                name(member),
                deadline.minute()
            ),
        }
    }
}

/// The round as it stands at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Round {
    /// After this, members whose devices never received it no longer hold it.
    pub deadline: Timestamp,
    pub voices: Vec<Voice>,
    /// Why it cannot pass yet, in words; empty when it can.
    pub blocking: Vec<String>,
    pub can_pass: bool,
}

/// When the deadline of `p`'s current version falls.
pub fn deadline(p: &Proposal) -> Timestamp {
    Timestamp(
        p.revised_at
            .0
            .saturating_add(p.window_ms.saturating_mul(DEADLINE_WINDOWS)),
    )
}

/// Everything that stands between `p` and passing at `now`, with `members` the circle's
/// current members and `keepers` its principle keepers in office. `status` is the
/// proposal's effective status (a contested pass reopens the round).
pub fn blockers(
    p: &Proposal,
    status: ProposalStatus,
    members: &[String],
    keepers: &[String],
    now: Timestamp,
) -> Vec<Blocker> {
    if !matches!(status, ProposalStatus::Open | ProposalStatus::Contested) {
        return vec![Blocker::NotOpen(status)];
    }
    let voices = voices(p, members, now, &|m| m.to_string());
    let mut out = Vec::new();
    for v in &voices {
        if v.standing == Standing::Named {
            continue;
        }
        if v.answer == Some(Answer::Objection) {
            out.push(Blocker::Objection {
                member: v.member.clone(),
                reason: v.reason.clone().unwrap_or_default(),
            });
        }
    }
    let alone = members.len() <= 1;
    let consents = voices
        .iter()
        .filter(|v| {
            v.answer == Some(Answer::Consent)
                && v.standing != Standing::Named
                && v.member != p.opened_by
        })
        .count();
    match &p.change {
        ProposalChange::RemoveMember { member } => {
            let others = members.iter().filter(|m| *m != member).count();
            let need = others / 2 + 1;
            let counted = voices
                .iter()
                .filter(|v| v.answer == Some(Answer::Consent) && v.standing != Standing::Named)
                .count();
            if counted < need {
                out.push(Blocker::Quorum {
                    have: counted,
                    need,
                });
            }
        }
        _ if !alone && consents == 0 => out.push(Blocker::NoOtherConsent),
        _ => {}
    }
    // Keepers tend the circle's charter: while any is in office, one of them proposes or
    // consents to every change of it.
    let keeper_heard = keepers.contains(&p.opened_by)
        || voices
            .iter()
            .any(|v| v.answer == Some(Answer::Consent) && keepers.contains(&v.member));
    if !keepers.is_empty() && crate::charter::is_charter_change(&p.change) && !keeper_heard {
        out.push(Blocker::NoKeeper {
            keepers: keepers.to_vec(),
        });
    }
    for v in &voices {
        match v.standing {
            Standing::Waiting => out.push(Blocker::Waiting {
                member: v.member.clone(),
                until: v.window_ends.unwrap_or(now),
            }),
            Standing::NotReceived => out.push(Blocker::NotReceived {
                member: v.member.clone(),
                deadline: deadline(p),
            }),
            _ => {}
        }
    }
    out
}

/// Each current member's voice in `p` at `now`, in member order.
pub fn voices(
    p: &Proposal,
    members: &[String],
    now: Timestamp,
    name: &dyn Fn(&str) -> String,
) -> Vec<Voice> {
    let alone = members.len() <= 1;
    let named = match &p.change {
        ProposalChange::RemoveMember { member } => Some(member.as_str()),
        _ => None,
    };
    members
        .iter()
        .map(|m| {
            let received_at = p.receipts.iter().find(|r| r.member == *m).map(|r| r.at);
            let window_ends = received_at
                .map(|at| Timestamp(at.0.max(p.revised_at.0).saturating_add(p.window_ms)));
            let response = p.responses.iter().find(|r| r.member == *m);
            let standing = if named == Some(m.as_str()) {
                Standing::Named
            } else if response.is_some() {
                Standing::Answered
            } else if *m == p.opened_by || alone {
                Standing::Proposer
            } else {
                match window_ends {
                    Some(end) if now < end => Standing::Waiting,
                    Some(_) => Standing::SilentConsent,
                    None if now < deadline(p) => Standing::NotReceived,
                    None => Standing::Skipped,
                }
            };
            Voice {
                member: m.clone(),
                name: name(m),
                received_at,
                window_ends,
                answer: response.map(|r| r.answer),
                reason: response.and_then(|r| r.reason.clone()),
                answered_at: response.map(|r| r.at),
                standing,
            }
        })
        .collect()
}

/// The round in words, for people.
pub fn round(
    p: &Proposal,
    members: &[String],
    keepers: &[String],
    now: Timestamp,
    name: &dyn Fn(&str) -> String,
) -> Round {
    let blocking: Vec<String> = blockers(p, p.status, members, keepers, now)
        .iter()
        .map(|b| b.describe(name))
        .collect();
    Round {
        deadline: deadline(p),
        voices: voices(p, members, now, name),
        can_pass: blocking.is_empty(),
        blocking,
    }
}

/// Parses a window such as `2s`, `90m`, `36h` or `7d`.
pub fn parse_window(s: &str) -> crate::Result<i64> {
    let s = s.trim();
    let bad = || {
        crate::CoreError::invalid(format!(
            "`{s}` is not a window: give a number and a unit, e.g. 30s, 90m, 36h or 7d"
        ))
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => DAY_MS,
        _ => return Err(bad()),
    };
    let ms = n.checked_mul(unit_ms).ok_or_else(bad)?;
    check_window(ms)?;
    Ok(ms)
}

pub(crate) fn check_window(ms: i64) -> crate::Result<()> {
    if !(MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&ms) {
        return Err(crate::CoreError::invalid(
            "a consent window lasts from one second to a year",
        ));
    }
    Ok(())
}
