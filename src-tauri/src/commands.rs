//! One Tauri command per node operation: arguments in, one NodeHandle / CircleHandle call,
//! its result out. Circle commands name their circle by id so the window can switch.

use grove_node::core::Consultee;
use grove_node::core::Invite;
use grove_node::core::{
    Amendment, Answer, CircleInfo, Commitment, CommitmentStatus, Day, Decision, DecisionEdit,
    DecisionFilter, Escalation, Keepers, Member, NewCommitment, NewDecision, NewPrinciple,
    NewProposal, NewRetro, NewReview, NewRole, NewValue, Outcome, Principle, ProposalView, Retro,
    Review, Role, Stewardship, Team, Tension, Value, ValueEdit, Verdict, Vitality, ZoneRule,
};
use grove_node::search::{Draft, Related};
use grove_node::{
    CircleHandle, CircleSummary, Me, MemberListing, NetInfo, NewInvite, NodeErrorKind, NodeHandle,
    PeerStatus, PrincipleView, RaiseTension,
};
use std::time::Duration;
use tauri::State;

use crate::error::{CommandError, CommandResult};
use crate::home::{Home, HomeStatus};
use crate::views::{self, RowPage, ZoneInfo};
use grove_node::export::{self, ExportFormat, Exported};

/// The home this window shows: its node when running, or why it is not (locked, failed).
pub struct Desktop {
    pub home: Home,
}

impl Desktop {
    fn node(&self) -> CommandResult<NodeHandle> {
        self.home.node()
    }

    fn circle(&self, id: String) -> CommandResult<CircleHandle> {
        Ok(self.node()?.circle(Some(id)))
    }
}

type S<'a> = State<'a, Desktop>;

// ---- the home: lock, unlock, passphrase ----

#[tauri::command(rename_all = "snake_case")]
pub fn home_status(s: S<'_>) -> CommandResult<HomeStatus> {
    s.home.status()
}
#[tauri::command(rename_all = "snake_case")]
pub async fn unlock(s: S<'_>, passphrase: String) -> CommandResult<()> {
    s.home.unlock(passphrase).await
}
#[tauri::command(rename_all = "snake_case")]
pub async fn lock(s: S<'_>) -> CommandResult<()> {
    s.home.lock().await
}
/// Set (no `current`), change, or remove (no `new`) the passphrase sealing this home.
#[tauri::command(rename_all = "snake_case")]
pub async fn change_passphrase(
    s: S<'_>,
    current: Option<String>,
    new: Option<String>,
) -> CommandResult<()> {
    s.home.change_passphrase(current, new).await
}

// ---- the node ----

#[tauri::command(rename_all = "snake_case")]
pub async fn me(s: S<'_>) -> CommandResult<Me> {
    Ok(s.node()?.me().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn set_name(s: S<'_>, name: String) -> CommandResult<()> {
    Ok(s.node()?.set_name(name).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn circles(s: S<'_>) -> CommandResult<Vec<CircleSummary>> {
    Ok(s.node()?.circles().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn create_circle(s: S<'_>, name: String) -> CommandResult<CircleInfo> {
    Ok(s.node()?.create_circle(name).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn demo(s: S<'_>, name: String, decisions: usize) -> CommandResult<CircleInfo> {
    Ok(s.node()?.demo(name, decisions).await?)
}
/// Exports the circle as `format` to `path`, or when none is given to a new file or
/// directory in the person's Documents folder; says where it went.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_circle(
    s: S<'_>,
    circle: String,
    format: ExportFormat,
    path: Option<String>,
) -> CommandResult<Exported> {
    let c = s.circle(circle)?;
    let path = match path.map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
        Some(p) if std::path::Path::new(&p).is_absolute() => std::path::PathBuf::from(p),
        Some(p) => {
            return Err(CommandError {
                kind: NodeErrorKind::Invalid,
                message: format!("give the full path to export to (starting with /), not `{p}`"),
            })
        }
        None => {
            let name = c.info().await?.name;
            let today = grove_node::wall_clock().day();
            export::default_export_path(&name, format, today).ok_or_else(|| CommandError {
                kind: NodeErrorKind::Io,
                message: "cannot find your Documents or home folder: give a path to export to"
                    .into(),
            })?
        }
    };
    // The window says a plain export is unencrypted before the button is pressed.
    Ok(c.export_to(format, &path, |_| {}).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn disk_usage(s: S<'_>) -> CommandResult<u64> {
    Ok(s.node()?.disk_usage().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub fn zones() -> Vec<ZoneInfo> {
    views::zones()
}

// ---- values and principles ----

#[tauri::command(rename_all = "snake_case")]
pub async fn values(s: S<'_>, circle: String) -> CommandResult<Vec<Value>> {
    Ok(s.circle(circle)?.values().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_value(s: S<'_>, circle: String, new: NewValue) -> CommandResult<String> {
    Ok(s.circle(circle)?.add_value(new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn edit_value(
    s: S<'_>,
    circle: String,
    id: String,
    edit: ValueEdit,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.edit_value(id, edit).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn retire_value(s: S<'_>, circle: String, id: String) -> CommandResult<Vec<String>> {
    Ok(s.circle(circle)?.retire_value(id).await?)
}
/// Principles without their citation counts: cheap, for names and pickers.
#[tauri::command(rename_all = "snake_case")]
pub async fn principle_list(s: S<'_>, circle: String) -> CommandResult<Vec<Principle>> {
    Ok(s.circle(circle)?.principle_list().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn principles(s: S<'_>, circle: String) -> CommandResult<Vec<PrincipleView>> {
    Ok(s.circle(circle)?.principles().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_principle(s: S<'_>, circle: String, new: NewPrinciple) -> CommandResult<String> {
    Ok(s.circle(circle)?.add_principle(new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn amend_principle(
    s: S<'_>,
    circle: String,
    id: String,
    amendment: Amendment,
) -> CommandResult<usize> {
    Ok(s.circle(circle)?.amend_principle(id, amendment).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn retire_principle(
    s: S<'_>,
    circle: String,
    id: String,
    reason: String,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.retire_principle(id, reason).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn supersede_principle(
    s: S<'_>,
    circle: String,
    old: String,
    by: String,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.supersede_principle(old, by).await?)
}

// ---- teams and members ----

#[tauri::command(rename_all = "snake_case")]
pub async fn teams(s: S<'_>, circle: String) -> CommandResult<Vec<Team>> {
    Ok(s.circle(circle)?.teams().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_team(
    s: S<'_>,
    circle: String,
    name: String,
    domain: Option<String>,
) -> CommandResult<String> {
    Ok(s.circle(circle)?.add_team(name, domain).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn join_team(
    s: S<'_>,
    circle: String,
    team: String,
    member: Option<String>,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.join_team(team, member).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn leave_team(
    s: S<'_>,
    circle: String,
    team: String,
    member: Option<String>,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.leave_team(team, member).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn members(s: S<'_>, circle: String) -> CommandResult<Vec<Member>> {
    Ok(s.circle(circle)?.members().await?)
}

// ---- decisions ----

/// Logs a decision; `consulted` (member ids) names who checked the principle with its
/// author, for a principle-check decision only.
#[tauri::command(rename_all = "snake_case")]
pub async fn log_decision(
    s: S<'_>,
    circle: String,
    new: NewDecision,
    consulted: Option<Vec<String>>,
) -> CommandResult<String> {
    let c = s.circle(circle)?;
    Ok(match consulted.filter(|c| !c.is_empty()) {
        Some(consulted) => c.log_consulted_decision(new, consulted).await?,
        None => c.log_decision(new).await?,
    })
}
#[tauri::command(rename_all = "snake_case")]
pub async fn record_result(
    s: S<'_>,
    circle: String,
    id: String,
    text: String,
    outcome: Outcome,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.record_result(id, text, outcome).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn edit_decision(
    s: S<'_>,
    circle: String,
    id: String,
    edit: DecisionEdit,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.edit_decision(id, edit).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn mark_read(s: S<'_>, circle: String, id: String) -> CommandResult<bool> {
    Ok(s.circle(circle)?.mark_read(id).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn link_decisions(
    s: S<'_>,
    circle: String,
    id: String,
    other: String,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.link_decisions(id, other).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn decision(s: S<'_>, circle: String, id: String) -> CommandResult<Decision> {
    Ok(s.circle(circle)?.decision(id).await?)
}
/// Who was consulted on decision `id`, and who acknowledged it.
#[tauri::command(rename_all = "snake_case")]
pub async fn consultation(s: S<'_>, circle: String, id: String) -> CommandResult<Vec<Consultee>> {
    Ok(s.circle(circle)?.consultation(id).await?)
}
/// This member acknowledges that they were consulted on decision `id`.
#[tauri::command(rename_all = "snake_case")]
pub async fn acknowledge_consultation(
    s: S<'_>,
    circle: String,
    id: String,
    note: Option<String>,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.acknowledge_consultation(id, note).await?)
}
/// A page of the log, newest first, as slim rows marked read or unread for this device's
/// member (see `CircleHandle::decision_page` for `whole` and `complete`).
#[tauri::command(rename_all = "snake_case")]
pub async fn decision_page(
    s: S<'_>,
    circle: String,
    filter: DecisionFilter,
    offset: usize,
    limit: usize,
    whole: bool,
) -> CommandResult<RowPage> {
    let me = s.node()?.me().await?.member;
    let page = s.circle(circle)?;
    let page = page.decision_page(filter, offset, limit.min(views::MAX_PAGE), whole);
    Ok(RowPage::new(page.await?, &me))
}

// ---- escalations ----

#[tauri::command(rename_all = "snake_case")]
pub async fn escalations(s: S<'_>, circle: String) -> CommandResult<Vec<Escalation>> {
    Ok(s.circle(circle)?.escalations().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn acknowledge_escalation(s: S<'_>, circle: String, id: String) -> CommandResult<()> {
    Ok(s.circle(circle)?.acknowledge_escalation(id).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_escalation(
    s: S<'_>,
    circle: String,
    id: String,
    verdict: Verdict,
    response: String,
) -> CommandResult<()> {
    Ok(s.circle(circle)?
        .resolve_escalation(id, verdict, response)
        .await?)
}

// ---- proposals ----

#[tauri::command(rename_all = "snake_case")]
pub async fn proposals(s: S<'_>, circle: String) -> CommandResult<Vec<ProposalView>> {
    Ok(s.circle(circle)?.proposals().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn stewardship(s: S<'_>, circle: String) -> CommandResult<Stewardship> {
    Ok(s.circle(circle)?.stewardship().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn zone_rules(s: S<'_>, circle: String) -> CommandResult<Vec<ZoneRule>> {
    Ok(s.circle(circle)?.zone_rules().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn rotate_stewards(s: S<'_>, circle: String) -> CommandResult<Vec<String>> {
    Ok(s.circle(circle)?.rotate_stewards().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn keepers(s: S<'_>, circle: String) -> CommandResult<Keepers> {
    Ok(s.circle(circle)?.keepers().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn rotate_keepers(s: S<'_>, circle: String) -> CommandResult<Vec<String>> {
    Ok(s.circle(circle)?.rotate_keepers().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn open_proposal(s: S<'_>, circle: String, new: NewProposal) -> CommandResult<String> {
    Ok(s.circle(circle)?.open_proposal(new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn respond(
    s: S<'_>,
    circle: String,
    id: String,
    answer: Answer,
    reason: Option<String>,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.respond(id, answer, reason).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn revise_proposal(
    s: S<'_>,
    circle: String,
    id: String,
    new: NewProposal,
) -> CommandResult<u32> {
    Ok(s.circle(circle)?.revise_proposal(id, new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn pass_proposal(s: S<'_>, circle: String, id: String) -> CommandResult<Option<String>> {
    Ok(s.circle(circle)?.pass_proposal(id).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn withdraw_proposal(s: S<'_>, circle: String, id: String) -> CommandResult<()> {
    Ok(s.circle(circle)?.withdraw_proposal(id).await?)
}

// ---- roles ----

#[tauri::command(rename_all = "snake_case")]
pub async fn roles(s: S<'_>, circle: String) -> CommandResult<Vec<Role>> {
    Ok(s.circle(circle)?.roles().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_role(s: S<'_>, circle: String, new: NewRole) -> CommandResult<String> {
    Ok(s.circle(circle)?.add_role(new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn assign_role(
    s: S<'_>,
    circle: String,
    id: String,
    member: String,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.assign_role(id, member).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn rotate_role(s: S<'_>, circle: String, id: String) -> CommandResult<String> {
    Ok(s.circle(circle)?.rotate_role(id).await?)
}

// ---- commitments ----

#[tauri::command(rename_all = "snake_case")]
pub async fn commitments(s: S<'_>, circle: String) -> CommandResult<Vec<Commitment>> {
    Ok(s.circle(circle)?.commitments().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_commitment(s: S<'_>, circle: String, new: NewCommitment) -> CommandResult<String> {
    Ok(s.circle(circle)?.add_commitment(new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn set_commitment_status(
    s: S<'_>,
    circle: String,
    id: String,
    status: CommitmentStatus,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.set_commitment_status(id, status).await?)
}

// ---- retros and reviews ----

#[tauri::command(rename_all = "snake_case")]
pub async fn retros(s: S<'_>, circle: String) -> CommandResult<Vec<Retro>> {
    Ok(s.circle(circle)?.retros().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_retro(s: S<'_>, circle: String, new: NewRetro) -> CommandResult<String> {
    Ok(s.circle(circle)?.add_retro(new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn reviews(s: S<'_>, circle: String) -> CommandResult<Vec<Review>> {
    Ok(s.circle(circle)?.reviews().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn open_review(s: S<'_>, circle: String, new: NewReview) -> CommandResult<String> {
    Ok(s.circle(circle)?.open_review(new).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_agenda_item(
    s: S<'_>,
    circle: String,
    id: String,
    item: String,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.add_agenda_item(id, item).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn add_learning(
    s: S<'_>,
    circle: String,
    id: String,
    learning: String,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.add_learning(id, learning).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn close_review(s: S<'_>, circle: String, id: String, next: Day) -> CommandResult<()> {
    Ok(s.circle(circle)?.close_review(id, next).await?)
}

// ---- insight: tensions, vitality, related decisions ----

#[tauri::command(rename_all = "snake_case")]
pub async fn tensions(s: S<'_>, circle: String) -> CommandResult<Vec<Tension>> {
    Ok(s.circle(circle)?.tensions().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn raise_tension(s: S<'_>, circle: String, raise: RaiseTension) -> CommandResult<String> {
    Ok(s.circle(circle)?.raise_tension(raise).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn address_tension(
    s: S<'_>,
    circle: String,
    id: String,
    source: String,
    note: Option<String>,
) -> CommandResult<()> {
    Ok(s.circle(circle)?.address_tension(id, source, note).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn gather_tensions(
    s: S<'_>,
    circle: String,
    review: String,
) -> CommandResult<Vec<String>> {
    Ok(s.circle(circle)?.gather_tensions(review).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn vitality(
    s: S<'_>,
    circle: String,
    window_days: Option<i64>,
) -> CommandResult<Vitality> {
    Ok(s.circle(circle)?.vitality(window_days).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn related(
    s: S<'_>,
    circle: String,
    id: String,
    limit: usize,
) -> CommandResult<Vec<Related>> {
    Ok(s.circle(circle)?.related(id, limit).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn related_to_draft(
    s: S<'_>,
    circle: String,
    draft: Draft,
    limit: usize,
) -> CommandResult<Vec<Related>> {
    Ok(s.circle(circle)?.related_to_draft(draft, limit).await?)
}

// ---- network, membership and invites ----

#[tauri::command(rename_all = "snake_case")]
pub async fn net_info(s: S<'_>) -> CommandResult<NetInfo> {
    Ok(s.node()?.net_info().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn peers(s: S<'_>) -> CommandResult<Vec<PeerStatus>> {
    Ok(s.node()?.peers().await?)
}
/// Changes made on this device to the circle that no peer has yet.
#[tauri::command(rename_all = "snake_case")]
pub async fn pending_changes(s: S<'_>, circle: String) -> CommandResult<usize> {
    Ok(s.circle(circle)?.pending_changes().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn member_list(s: S<'_>, circle: String) -> CommandResult<Vec<MemberListing>> {
    Ok(s.circle(circle)?.member_list().await?)
}
/// Removes `member`, which works only for this device's own member: leaving the circle.
/// Anyone else is removed by a passed remove-member proposal (`open_proposal`).
#[tauri::command(rename_all = "snake_case")]
pub async fn remove_member(s: S<'_>, circle: String, member: String) -> CommandResult<String> {
    Ok(s.circle(circle)?.remove_member(member).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn revoke_device(s: S<'_>, circle: String, device: String) -> CommandResult<String> {
    Ok(s.circle(circle)?.revoke_device(device).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn create_invite(
    s: S<'_>,
    circle: String,
    expires_in_hours: Option<u32>,
    uses: u32,
) -> CommandResult<NewInvite> {
    let expires_in = expires_in_hours.map(|h| Duration::from_secs(u64::from(h) * 3600));
    Ok(s.circle(circle)?.create_invite(expires_in, uses).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn create_device_link(s: S<'_>, circle: String) -> CommandResult<NewInvite> {
    Ok(s.circle(circle)?.create_device_link().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn invites(s: S<'_>, circle: String) -> CommandResult<Vec<Invite>> {
    Ok(s.circle(circle)?.invites().await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn revoke_invite(s: S<'_>, circle: String, id: String) -> CommandResult<()> {
    Ok(s.circle(circle)?.revoke_invite(id).await?)
}
#[tauri::command(rename_all = "snake_case")]
pub async fn join(s: S<'_>, code: String, name: Option<String>) -> CommandResult<String> {
    Ok(s.node()?.join(&code, name).await?)
}
