//! Every command the window may call, each declared once below. A declaration gives the
//! command's name, its arguments and its result; `operations!` (src-tauri/src/operations.rs)
//! turns the list into the Tauri commands, the invoke handler, and the `Api` signatures the
//! window is typed against (ui/src/bindings.ts), so a command, its handler entry and its
//! TypeScript signature cannot disagree.
//!
//! - `circle op(args) -> R;` calls `CircleHandle::op(args)` on the circle named by a leading
//!   `circle: string` argument (the window switches circles by id);
//! - `node op(args) -> R;` calls `NodeHandle::op(args)`;
//! - `own op(args) -> R;` calls `own::op(&desktop, args)` below: for the few commands that
//!   shape their arguments or result for the window.

use grove_node::core::{
    Amendment, Answer, CircleInfo, Commitment, CommitmentStatus, Consultee, Day, Decision,
    DecisionEdit, DecisionFilter, Escalation, Invite, Keepers, Member, NewCommitment, NewDecision,
    NewPrinciple, NewProposal, NewRetro, NewReview, NewRole, NewValue, Outcome, Principle,
    ProposalView, Retro, Review, Role, Stewardship, Team, Tension, Value, ValueEdit, Verdict,
    Vitality, ZoneRule,
};
use grove_node::export::{ExportFormat, Exported};
use grove_node::search::{Draft, Related};
use grove_node::{
    CircleHandle, CircleSummary, Me, MemberListing, NetInfo, NewInvite, NodeHandle, PeerStatus,
    PrincipleView, RaiseTension,
};
use tauri::State;

use crate::error::CommandResult;
use crate::home::{Home, HomeStatus};
use crate::operations::operations;
use crate::views::{RowPage, ZoneInfo};

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

operations! {
    // ---- the home: lock, unlock, passphrase ----
    own home_status() -> HomeStatus;
    own unlock(passphrase: String) -> ();
    own lock() -> ();
    /// Set (no `current`), change, or remove (no `new`) the passphrase sealing this home.
    own change_passphrase(current: Option<String>, new: Option<String>) -> ();

    // ---- the node ----
    node me() -> Me;
    node set_name(name: String) -> ();
    node circles() -> Vec<CircleSummary>;
    node create_circle(name: String) -> CircleInfo;
    /// Adds a demo circle to look around in (grove-demo).
    own demo(name: String, decisions: usize) -> CircleInfo;
    /// Exports the circle as `format` to `path`, or when none is given to a new file or
    /// directory in the person's Documents folder; says where it went.
    own export_circle(circle: String, format: ExportFormat, path: Option<String>) -> Exported;
    node disk_usage() -> u64;
    /// The zones a decision may be logged in, lowest first, each with what it asks.
    own zones() -> Vec<ZoneInfo>;

    // ---- values and principles ----
    circle values() -> Vec<Value>;
    circle add_value(new: NewValue) -> String;
    circle edit_value(id: String, edit: ValueEdit) -> ();
    circle retire_value(id: String) -> Vec<String>;
    circle principles() -> Vec<PrincipleView>;
    /// Principles without their citation counts: cheap, for names and pickers.
    circle principle_list() -> Vec<Principle>;
    circle add_principle(new: NewPrinciple) -> String;
    circle amend_principle(id: String, amendment: Amendment) -> usize;
    circle retire_principle(id: String, reason: String) -> ();
    circle supersede_principle(old: String, by: String) -> ();

    // ---- teams and members ----
    circle teams() -> Vec<Team>;
    circle add_team(name: String, domain: Option<String>) -> String;
    /// Adds a member (this device's member when `member` is null) to a team.
    circle join_team(team: String, member: Option<String>) -> ();
    circle leave_team(team: String, member: Option<String>) -> ();
    circle members() -> Vec<Member>;

    // ---- decisions ----
    /// Logs a decision; `consulted` (member ids) names who checked the principle with its
    /// author, for a principle-check decision only.
    own log_decision(circle: String, new: NewDecision, consulted: Option<Vec<String>>) -> String;
    circle record_result(id: String, text: String, outcome: Outcome) -> ();
    circle edit_decision(id: String, edit: DecisionEdit) -> ();
    circle mark_read(id: String) -> bool;
    circle link_decisions(id: String, other: String) -> ();
    circle decision(id: String) -> Decision;
    /// A page of the log, newest first, as slim rows marked read or unread for this
    /// device's member (see `CircleHandle::decision_page` for `whole` and `complete`).
    own decision_page(circle: String, filter: DecisionFilter, offset: usize, limit: usize, whole: bool) -> RowPage;
    /// Who was consulted on decision `id`, and who acknowledged it.
    circle consultation(id: String) -> Vec<Consultee>;
    /// This member acknowledges that they were consulted on decision `id`.
    circle acknowledge_consultation(id: String, note: Option<String>) -> ();

    // ---- escalations ----
    circle escalations() -> Vec<Escalation>;
    circle acknowledge_escalation(id: String) -> ();
    circle resolve_escalation(id: String, verdict: Verdict, response: String) -> ();

    // ---- proposals and offices ----
    circle proposals() -> Vec<ProposalView>;
    circle stewardship() -> Stewardship;
    circle rotate_stewards() -> Vec<String>;
    circle keepers() -> Keepers;
    circle rotate_keepers() -> Vec<String>;
    circle zone_rules() -> Vec<ZoneRule>;
    circle open_proposal(new: NewProposal) -> String;
    circle respond(id: String, answer: Answer, reason: Option<String>) -> ();
    circle revise_proposal(id: String, new: NewProposal) -> u32;
    circle pass_proposal(id: String) -> Option<String>;
    circle withdraw_proposal(id: String) -> ();

    // ---- roles ----
    circle roles() -> Vec<Role>;
    circle add_role(new: NewRole) -> String;
    circle assign_role(id: String, member: String) -> ();
    circle rotate_role(id: String) -> String;

    // ---- commitments ----
    circle commitments() -> Vec<Commitment>;
    circle add_commitment(new: NewCommitment) -> String;
    circle set_commitment_status(id: String, status: CommitmentStatus) -> ();

    // ---- retros and reviews ----
    circle retros() -> Vec<Retro>;
    circle add_retro(new: NewRetro) -> String;
    circle reviews() -> Vec<Review>;
    circle open_review(new: NewReview) -> String;
    circle add_agenda_item(id: String, item: String) -> ();
    circle add_learning(id: String, learning: String) -> ();
    circle close_review(id: String, next: Day) -> ();

    // ---- insight: tensions, vitality, related decisions ----
    circle tensions() -> Vec<Tension>;
    circle raise_tension(raise: RaiseTension) -> String;
    circle address_tension(id: String, source: String, note: Option<String>) -> ();
    circle gather_tensions(review: String) -> Vec<String>;
    circle vitality(window_days: Option<i64>) -> Vitality;
    circle related(id: String, limit: usize) -> Vec<Related>;
    circle related_to_draft(draft: Draft, limit: usize) -> Vec<Related>;

    // ---- network, membership and invites ----
    node net_info() -> NetInfo;
    node peers() -> Vec<PeerStatus>;
    /// Changes made on this device to the circle that no peer has yet.
    circle pending_changes() -> usize;
    circle member_list() -> Vec<MemberListing>;
    /// Removes `member`, which works only for this device's own member: leaving the
    /// circle. Anyone else is removed by a passed remove-member proposal (`open_proposal`).
    circle remove_member(member: String) -> String;
    circle revoke_device(device: String) -> String;
    own create_invite(circle: String, expires_in_hours: Option<u32>, uses: u32) -> NewInvite;
    circle create_device_link() -> NewInvite;
    circle invites() -> Vec<Invite>;
    circle revoke_invite(id: String) -> ();
    own join(code: String, name: Option<String>) -> String;
}

/// The bodies of the `own` commands above.
mod own {
    use std::time::Duration;

    use grove_node::core::{CircleInfo, DecisionFilter, NewDecision};
    use grove_node::export::{self, ExportFormat, Exported};
    use grove_node::{NewInvite, NodeErrorKind};

    use super::Desktop;
    use crate::error::{CommandError, CommandResult};
    use crate::home::HomeStatus;
    use crate::views::{self, RowPage, ZoneInfo};

    pub async fn home_status(d: &Desktop) -> CommandResult<HomeStatus> {
        d.home.status()
    }

    pub async fn unlock(d: &Desktop, passphrase: String) -> CommandResult<()> {
        d.home.unlock(passphrase).await
    }

    pub async fn lock(d: &Desktop) -> CommandResult<()> {
        d.home.lock().await
    }

    pub async fn change_passphrase(
        d: &Desktop,
        current: Option<String>,
        new: Option<String>,
    ) -> CommandResult<()> {
        d.home.change_passphrase(current, new).await
    }

    pub async fn export_circle(
        d: &Desktop,
        circle: String,
        format: ExportFormat,
        path: Option<String>,
    ) -> CommandResult<Exported> {
        let c = d.circle(circle)?;
        let path = match path.map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
            Some(p) if std::path::Path::new(&p).is_absolute() => std::path::PathBuf::from(p),
            Some(p) => {
                return Err(CommandError {
                    kind: NodeErrorKind::Invalid,
                    message: format!(
                        "give the full path to export to (starting with /), not `{p}`"
                    ),
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

    pub async fn zones(_: &Desktop) -> CommandResult<Vec<ZoneInfo>> {
        Ok(views::zones())
    }

    pub async fn log_decision(
        d: &Desktop,
        circle: String,
        new: NewDecision,
        consulted: Option<Vec<String>>,
    ) -> CommandResult<String> {
        let c = d.circle(circle)?;
        Ok(match consulted.filter(|c| !c.is_empty()) {
            Some(consulted) => c.log_consulted_decision(new, consulted).await?,
            None => c.log_decision(new).await?,
        })
    }

    pub async fn decision_page(
        d: &Desktop,
        circle: String,
        filter: DecisionFilter,
        offset: usize,
        limit: usize,
        whole: bool,
    ) -> CommandResult<RowPage> {
        let me = d.node()?.me().await?.member;
        let page = d.circle(circle)?;
        let page = page.decision_page(filter, offset, limit.min(views::MAX_PAGE), whole);
        Ok(RowPage::new(page.await?, &me))
    }

    pub async fn create_invite(
        d: &Desktop,
        circle: String,
        expires_in_hours: Option<u32>,
        uses: u32,
    ) -> CommandResult<NewInvite> {
        let expires_in = expires_in_hours.map(|h| Duration::from_secs(u64::from(h) * 3600));
        Ok(d.circle(circle)?.create_invite(expires_in, uses).await?)
    }

    pub async fn join(d: &Desktop, code: String, name: Option<String>) -> CommandResult<String> {
        Ok(d.node()?.join(&code, name).await?)
    }

    pub async fn demo(d: &Desktop, name: String, decisions: usize) -> CommandResult<CircleInfo> {
        grove_demo::seed(&d.node()?, name, decisions)
            .await
            .map_err(|e| match e {
                grove_demo::DemoError::Node(e) => e.into(),
                other => CommandError {
                    kind: NodeErrorKind::Io,
                    message: other.to_string(),
                },
            })
    }
}
