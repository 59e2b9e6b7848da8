//! Zone maps: each team's agreement on which zone a kind of situation belongs to
//! (situation key → zone), changed only by a passed proposal. Logging a decision with a
//! mapped situation defaults to its zone; logging it below that zone is a sign of
//! authority confusion, which the tensions board shows.
//!
//! A rule lives in its team's record as `zone:<situation>` (the zone), with
//! `zone_by:<situation>` (the proposal that set it) and `zone_since:<situation>`.

use automerge::ReadDoc;
use serde::{Deserialize, Serialize};

use crate::circle::Circle;
use crate::clock::Timestamp;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};
use crate::proposals::{Proposal, ProposalChange};
use crate::touched::Scope;
use crate::words::{ProposalStatus, Zone};

const ZONE: &str = "zone:";
const ZONE_BY: &str = "zone_by:";
const ZONE_SINCE: &str = "zone_since:";

/// One entry of a team's zone map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ZoneRule {
    pub team: String,
    pub situation: String,
    pub zone: Zone,
    /// The passed proposal that set it.
    pub by: String,
    pub since: Timestamp,
}

/// The zone rules of the teams `scope` covers in a core document (any state of it),
/// sorted.
pub(crate) fn read_rules<D: ReadDoc>(doc: &D, scope: Scope<'_>) -> Vec<ZoneRule> {
    let mut out: Vec<ZoneRule> = crate::touched::entities(doc, "teams", scope)
        .into_iter()
        .flat_map(|(team, obj)| {
            let f = Fields::read(doc, &obj);
            f.prefixed(ZONE)
                .into_iter()
                .filter_map(|(situation, zone)| {
                    Some(ZoneRule {
                        zone: zone.parse().ok()?,
                        by: f.str(&format!("{ZONE_BY}{situation}")),
                        since: f.time(&format!("{ZONE_SINCE}{situation}")),
                        team: team.clone(),
                        situation,
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by(|a, b| (&a.team, &a.situation).cmp(&(&b.team, &b.situation)));
    out
}

/// Refuses a change to any zone map that is not the effect of the passed proposal it
/// names (see [`crate::governance`]): `proposals` holds, as of the change, at least those
/// the rules in `after` but not in `before` name.
pub(crate) fn check_rules(
    before: &[ZoneRule],
    after: &[ZoneRule],
    proposals: &[Proposal],
) -> std::result::Result<(), String> {
    for rule in after {
        if before.contains(rule) {
            continue;
        }
        let fresh = !before
            .iter()
            .any(|b| b.team == rule.team && b.situation == rule.situation && b.by == rule.by);
        let passed = proposals.iter().any(|p| {
            p.id == rule.by
                && p.stored.status == ProposalStatus::Passed.as_str()
                && matches!(&p.change, ProposalChange::MapZone { team, situation, zone }
                    if *team == rule.team && *situation == rule.situation && *zone == rule.zone)
        });
        if !fresh || !passed {
            return Err(format!(
                "it maps #{} to {} for team {} without a passed proposal doing so",
                rule.situation, rule.zone, rule.team
            ));
        }
    }
    if let Some(gone) = before.iter().find(|b| {
        !after
            .iter()
            .any(|a| a.team == b.team && a.situation == b.situation)
    }) {
        return Err(format!(
            "it deletes the zone of #{} for team {}",
            gone.situation, gone.team
        ));
    }
    Ok(())
}

impl Circle {
    /// Every team's zone map.
    pub fn zone_rules(&self) -> Vec<ZoneRule> {
        read_rules(&self.core.am, Scope::All)
    }

    /// The zone team `team` agreed for `situation`, if it mapped it.
    pub fn mapped_zone(&self, team: &str, situation: &str) -> Option<Zone> {
        self.zone_rules()
            .into_iter()
            .find(|r| r.team == team && r.situation == situation)
            .map(|r| r.zone)
    }

    /// Writes the rule a passed `map-zone` proposal `by` sets (its effect, after the pass).
    pub(crate) fn map_zone(
        &mut self,
        now: Timestamp,
        by: &str,
        team: &str,
        situation: &str,
        zone: Zone,
    ) -> Result<()> {
        let coll = self.coll("teams")?;
        let obj = fields::entity(&self.core.am, &coll, team)?
            .ok_or_else(|| CoreError::not_found("team", team))?;
        self.change_core(now, "zone map", |tx| {
            fields::put_str(tx, &obj, &format!("{ZONE}{situation}"), zone.as_str())?;
            fields::put_str(tx, &obj, &format!("{ZONE_BY}{situation}"), by)?;
            fields::put_time(tx, &obj, &format!("{ZONE_SINCE}{situation}"), now)
        })
    }
}

/// A situation key as stored: trimmed, lower-case, without a leading `#`.
pub(crate) fn situation_key(s: &str) -> Result<String> {
    let key = s.trim().trim_start_matches('#').to_lowercase();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(CoreError::invalid(
            "a situation key is one word, e.g. landlord-contact",
        ));
    }
    Ok(key)
}
