//! Shapes the window needs that the node API does not return as such: slim log rows (a
//! virtualised list of 100,000 entries must not carry every decision's history over IPC)
//! and the zone vocabulary with its explanations.

use grove_node::core::{Decision, DecisionStatus, Timestamp, Zone};
use grove_node::DecisionPage;
use serde::Serialize;

/// How much of a decision's choice a log row carries; the full text comes with `decision`.
const ROW_CHOICE_CHARS: usize = 240;

/// One line of the decision log.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DecisionRow {
    pub id: String,
    pub team: String,
    pub author: String,
    pub principles: Vec<String>,
    pub choice: String,
    pub zone: Zone,
    pub zone_unsure: bool,
    pub situation: Option<String>,
    pub status: DecisionStatus,
    pub created_at: Timestamp,
    /// Whether this device's member has read it.
    pub read: bool,
}

impl DecisionRow {
    pub fn new(d: Decision, me: &str) -> DecisionRow {
        let choice = match d.choice.char_indices().nth(ROW_CHOICE_CHARS) {
            Some((cut, _)) => format!("{}…", &d.choice[..cut]),
            None => d.choice,
        };
        DecisionRow {
            read: d.readers.iter().any(|r| r.member == me),
            id: d.id,
            team: d.team,
            author: d.author,
            principles: d.principles,
            choice,
            zone: d.zone,
            zone_unsure: d.zone_unsure,
            situation: d.situation,
            status: d.status,
            created_at: d.created_at,
        }
    }
}

/// The most rows one page carries: a screenful many times over, never the whole log.
pub const MAX_PAGE: usize = 1000;

/// A window of the log: its rows, and the counts of the whole filtered log.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct RowPage {
    /// Decisions matching the filter (a lower bound while `complete` is false).
    pub total: usize,
    /// Of those, how many this device's member has not read.
    pub unread: usize,
    /// Whether every month was counted; if not, ask again with `whole` for exact counts.
    pub complete: bool,
    pub rows: Vec<DecisionRow>,
}

impl RowPage {
    pub fn new(page: DecisionPage, me: &str) -> RowPage {
        RowPage {
            total: page.total,
            unread: page.unread,
            complete: page.complete,
            rows: page
                .rows
                .into_iter()
                .map(|d| DecisionRow::new(d, me))
                .collect(),
        }
    }
}

/// A zone with the one-line explanation the log-a-decision form shows.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ZoneInfo {
    pub zone: Zone,
    pub explain: String,
    /// Whether logging in this zone lands in the stewards' escalation inbox.
    pub escalates: bool,
}

pub fn zones() -> Vec<ZoneInfo> {
    Zone::ALL
        .iter()
        .map(|z| ZoneInfo {
            zone: *z,
            explain: z.explain().to_string(),
            escalates: z.escalates(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_is_explained_for_the_form() {
        let zones = zones();
        assert_eq!(
            zones.len(),
            Zone::ALL.len(),
            "the form must offer every zone"
        );
        assert!(
            zones.iter().all(|z| !z.explain.is_empty()),
            "each zone needs its one-liner"
        );
    }
}
