//! Each command: parse what it needs, call the node, print the answer.

use anyhow::{bail, Result};
use grove_node::core::{
    Amendment, CommitmentStatus, Decision, DecisionEdit, DecisionFilter, EscalationStatus,
    NewCommitment, NewDecision, NewPrinciple, NewProposal, NewRetro, NewReview, NewRole, NewValue,
    ProposalChange, ReviewChanged, ValueEdit,
};
use grove_node::{CircleHandle, NodeErrorKind, NodeHandle};

use crate::args::*;
use crate::print::{self, cell, cells, Names, Out};
use crate::progress::Progress;

pub async fn run(node: &NodeHandle, circle: Option<String>, cmd: Command, out: &Out) -> Result<()> {
    let c = node.circle(circle);
    match cmd {
        Command::Circle(cmd) => circle_cmd(node, &c, cmd, out).await,
        Command::Member(cmd) => member_cmd(node, &c, cmd, out).await,
        Command::Value(cmd) => value_cmd(&c, cmd, out).await,
        Command::Principle(cmd) => principle_cmd(&c, cmd, out).await,
        Command::Team(cmd) => team_cmd(&c, cmd, out).await,
        Command::Zone(cmd) => zone_cmd(&c, cmd, out).await,
        Command::Decision(cmd) => decision_cmd(node, &c, cmd, out).await,
        Command::Escalation(cmd) => escalation_cmd(&c, cmd, out).await,
        Command::Proposal(cmd) => proposal_cmd(&c, cmd, out).await,
        Command::Role(cmd) => role_cmd(&c, cmd, out).await,
        Command::Steward(StewardCmd::List) => {
            let names = names(&c).await?;
            out.show(&c.stewardship().await?, |s| print::stewardship(s, &names))
        }
        Command::Steward(StewardCmd::Rotate) => {
            let next = c.rotate_stewards().await?;
            out.done(&format!("the stewards are now {}", next.join(", ")))
        }
        Command::Keeper(KeeperCmd::List) => {
            let names = names(&c).await?;
            out.show(&c.keepers().await?, |k| print::keepers(k, &names))
        }
        Command::Keeper(KeeperCmd::Rotate) => {
            let next = c.rotate_keepers().await?;
            out.done(&format!(
                "the principle keepers are now {}",
                next.join(", ")
            ))
        }
        Command::Commitment(cmd) => commitment_cmd(node, &c, cmd, out).await,
        Command::Retro(cmd) => retro_cmd(&c, cmd, out).await,
        Command::Review(cmd) => review_cmd(&c, cmd, out).await,
        Command::Tension(cmd) => crate::insight::tension_cmd(&c, cmd, out).await,
        Command::Vitality { window } => crate::insight::vitality(&c, window, out).await,
        Command::Search(a) => crate::insight::search(&c, a, out).await,
        Command::Demo { decisions, name } => {
            let working = Progress::start(out, &format!("creating a demo circle of {decisions} decisions"));
            let info = match grove_demo::seed(node, name, decisions).await {
                Ok(info) => info,
                // The node's own errors keep their kind (and the remedies `message` adds).
                Err(grove_demo::DemoError::Node(e)) => return Err(e.into()),
                Err(e) => return Err(e.into()),
            };
            drop(working);
            out.id(&info.id)
        }
        Command::Peer(PeerCmd::Add { addr }) => match node.add_peer(&addr).await {
            Ok(Some(peer)) => out.done(&format!("remembered {addr}; connected to peer {peer}")),
            Ok(None) => out.done(&format!(
                "remembered {addr}; the node dials it whenever it starts"
            )),
            Err(e) if e.kind() == NodeErrorKind::Network => out.done(&format!(
                "remembered {addr}, but cannot reach it now ({e}); the node dials it whenever it starts"
            )),
            Err(e) => Err(e.into()),
        },
        Command::Peers => out.list(
            &node.peers().await?,
            "no peers yet: `grove sync --peer MULTIADDR` or `grove serve`",
            print::peer,
        ),
        Command::Sync { peer, timeout } => {
            let wait = std::time::Duration::from_secs(timeout);
            let working = Progress::start(out, &format!("syncing with {peer}"));
            let synced = tokio::time::timeout(wait, node.sync_with(&peer)).await;
            drop(working);
            match synced {
                Ok(report) => {
                    let report = report?;
                    out.show(&report, |r| {
                        format!("in sync with {}: {}\n", cell(&r.peer), cells(&r.circles, ", "))
                    })
                }
                Err(_) => bail!(
                    "not in sync with {peer} after {timeout} s: {}",
                    sync_shortfall(node).await
                ),
            }
        }
        Command::Serve { .. } => bail!(
            "a grove node already serves this home; stop it before starting another"
        ),
        Command::Bundle(BundleCmd::Export { out: path }) => {
            let data = c.export_bundle().await?;
            grove_node::files::write_atomically(&path, &data)?;
            out.done(&format!(
                "wrote a bundle of {} bytes to {}",
                data.len(),
                path.display()
            ))
        }
        Command::Bundle(BundleCmd::Import { file }) => {
            let working = Progress::start(out, &format!("importing {}", file.display()));
            let data = grove_node::files::read_bundle_file(&file)?;
            let info = node.import_bundle(data).await?;
            drop(working);
            out.done(&format!(
                "merged the bundle into {} ({})",
                cell(&info.name),
                cell(&info.id)
            ))
        }
        Command::Invite(cmd) => crate::invite::invite_cmd(&c, cmd, out).await,
        Command::Device(cmd) => crate::invite::device_cmd(node, &c, cmd, out).await,
        Command::Join(args) => crate::invite::join(node, args, out).await,
        Command::Completions { shell } => crate::manual::completions(shell, out),
        Command::Man { out: dir } => crate::manual::man(dir.as_deref(), out),
        Command::Init { .. } | Command::Passphrase(_) => bail!(
            "a grove node is serving this home; stop it before initialising the home or \
             changing its passphrase"
        ),
    }
}

/// Why a sync has not finished, for the timeout message.
async fn sync_shortfall(node: &NodeHandle) -> String {
    let Ok(peers) = node.peers().await else {
        return "the node stopped".into();
    };
    let connected: Vec<_> = peers.iter().filter(|p| p.connected).collect();
    let behind: Vec<String> = connected
        .iter()
        .flat_map(|p| {
            p.circles
                .iter()
                .filter(|c| !c.in_sync)
                .map(|c| c.circle.clone())
        })
        .collect();
    if connected.is_empty() {
        "the connection closed".into()
    } else if behind.is_empty() {
        "the peer has not greeted this device: it serves circles only to their members' \
         devices (ask a member to admit yours: `grove device id`), or it runs another Grove \
         version"
            .into()
    } else {
        format!(
            "still exchanging {} (a large circle can take longer: raise --timeout)",
            behind.join(", ")
        )
    }
}

/// The ids a list or search filters by. (An author is not checked: filtering by a member
/// who wrote nothing, or whose admission has not synced here yet, rightly finds nothing.)
pub(crate) struct FilterIds<'a> {
    pub team: Option<&'a str>,
    pub principle: Option<&'a str>,
    pub value: Option<&'a str>,
}

/// Refuses a filter by an entity the circle does not hold: answering "nothing matches"
/// would hide a mistyped id behind an empty list.
pub(crate) async fn known_ids(c: &CircleHandle, ids: FilterIds<'_>) -> Result<()> {
    fn refuse(what: &str, id: &str, list: &str) -> anyhow::Error {
        anyhow::anyhow!("no {what} `{id}` in this circle (check the id with `grove {list} list`)")
    }
    if let Some(team) = ids.team {
        if !c.teams().await?.iter().any(|t| t.id == team) {
            return Err(refuse("team", team, "team"));
        }
    }
    if let Some(principle) = ids.principle {
        if !c.principle_list().await?.iter().any(|p| p.id == principle) {
            return Err(refuse("principle", principle, "principle"));
        }
    }
    if let Some(value) = ids.value {
        if !c.values().await?.iter().any(|v| v.id == value) {
            return Err(refuse("value", value, "value"));
        }
    }
    Ok(())
}

async fn names(c: &CircleHandle) -> Result<Names> {
    Ok(Names::new(&c.members().await?))
}

async fn circle_cmd(node: &NodeHandle, c: &CircleHandle, cmd: CircleCmd, out: &Out) -> Result<()> {
    match cmd {
        CircleCmd::Create { name } => out.id(&node.create_circle(name).await?.id),
        CircleCmd::List => out.list(
            &node.circles().await?,
            "no circles yet: create one with `grove circle create NAME`",
            |s| {
                format!(
                    "{}  {}  ({} members, {} values, {} months of decisions)",
                    cell(&s.info.id),
                    cell(&s.info.name),
                    s.members,
                    s.values,
                    s.months
                )
            },
        ),
        CircleCmd::Show => {
            let names = names(c).await?;
            out.show(&c.info().await?, |i| {
                format!(
                    "{}  {}\n  created {} by {}\n",
                    cell(&i.id),
                    cell(&i.name),
                    crate::print::moment(i.created_at),
                    names.of(&i.created_by)
                )
            })
        }
        CircleCmd::Export { out: path, format } => export(c, &path, format, out).await,
        CircleCmd::Import { file } => {
            let working = Progress::start(out, &format!("importing {}", file.display()));
            let data = grove_node::files::read_circle_file(&file)?;
            let info = node.import_circle(data).await?;
            drop(working);
            out.id(&info.id)
        }
    }
}

/// The signed archive (default) or a plain export (grove-node's `export_to`: the circle is
/// read and the path checked before anything is written; a plain format's warning goes to
/// stderr before the files do).
async fn export(
    c: &CircleHandle,
    path: &std::path::Path,
    format: ExportFormat,
    out: &Out,
) -> Result<()> {
    let done = c
        .export_to(format.into(), path, |warning| out.warn(warning))
        .await?;
    out.done(&match format {
        ExportFormat::Grove => format!("wrote {} bytes to {}", done.bytes, done.path),
        ExportFormat::Json => format!(
            "wrote {} bytes of plain JSON ({} decisions) to {}",
            done.bytes,
            done.decisions.unwrap_or_default(),
            done.path
        ),
        ExportFormat::Automerge => format!(
            "wrote {} Automerge documents and manifest.json to {}",
            done.files.saturating_sub(1),
            done.path
        ),
        ExportFormat::Markdown => {
            format!("wrote {} Markdown files to {}", done.files, done.path)
        }
    })
}

async fn member_cmd(node: &NodeHandle, c: &CircleHandle, cmd: MemberCmd, out: &Out) -> Result<()> {
    match cmd {
        MemberCmd::Me => out.show(&node.me().await?, |m| {
            format!(
                "{}  {}\n  device {}\n",
                cell(&m.member),
                cell(&m.name),
                cell(&m.device)
            )
        }),
        MemberCmd::Rename { name } => {
            node.set_name(name.clone()).await?;
            out.done(&format!("you are now {}", cell(&name)))
        }
        MemberCmd::List => {
            let members = c.member_list().await?;
            out.list(&members, "no members", |m| {
                let mut line = format!(
                    "{}  {}{}  devices: {}  teams: {}",
                    cell(&m.member.id),
                    cell(&m.member.name),
                    m.role
                        .as_deref()
                        .map(|r| format!(" ({})", cell(r)))
                        .unwrap_or_default(),
                    cells(
                        &m.member
                            .devices
                            .iter()
                            .map(|d| match m.revoked.contains(d) {
                                true => format!("{d} (revoked)"),
                                false => d.clone(),
                            })
                            .collect::<Vec<_>>(),
                        ", "
                    ),
                    cells(&m.member.teams, ", ")
                );
                if let Some(at) = m.removed_at {
                    line.push_str(&format!(
                        "  REMOVED {} by {}",
                        crate::print::day(at),
                        cell(m.removed_by.as_deref().unwrap_or("?"))
                    ));
                }
                line
            })
        }
        MemberCmd::Admit { device, name } => {
            let id = c.admit_member(device, name.clone()).await?;
            out.done(&format!("admitted {} as {}", cell(&name), cell(&id)))
        }
        MemberCmd::Remove { member } => {
            let id = c.remove_member(member).await?;
            out.done(&format!(
                "{id} left the circle: its devices are refused from now on"
            ))
        }
        MemberCmd::Leave => {
            let id = c.leave().await?;
            out.done(&format!(
                "{id} left the circle: its devices are refused from now on"
            ))
        }
    }
}

async fn value_cmd(c: &CircleHandle, cmd: ValueCmd, out: &Out) -> Result<()> {
    match cmd {
        ValueCmd::Add {
            title,
            statement,
            protect,
            refuse,
            examples,
        } => {
            let id = c
                .add_value(NewValue {
                    title,
                    statement,
                    protect,
                    refuse,
                    examples,
                })
                .await?;
            out.id(&id)
        }
        ValueCmd::Edit {
            id,
            title,
            statement,
            protect,
            refuse,
            reason,
        } => {
            c.edit_value(
                id.clone(),
                ValueEdit {
                    title,
                    statement,
                    protect,
                    refuse,
                    reason,
                },
            )
            .await?;
            out.done(&format!("edited {id}"))
        }
        ValueCmd::Retire { id } => {
            let orphaned = c.retire_value(id.clone()).await?;
            let note = if orphaned.is_empty() {
                String::new()
            } else {
                format!("; now under review: {}", orphaned.join(", "))
            };
            out.done(&format!("retired {id}{note}"))
        }
        ValueCmd::List => out.list(
            &c.values().await?,
            "no values yet: add one with `grove value add`",
            |v| {
                format!(
                    "{}  [{}] {}: {}",
                    cell(&v.id),
                    v.status,
                    cell(&v.title),
                    print::truncate(&v.statement, 70)
                )
            },
        ),
        ValueCmd::Show { id } => {
            let v = c.value(id).await?;
            let names = names(c).await?;
            out.show(&v, |v| print::value(v, &names))
        }
    }
}

async fn principle_cmd(c: &CircleHandle, cmd: PrincipleCmd, out: &Out) -> Result<()> {
    match cmd {
        PrincipleCmd::Add {
            values,
            statement,
            guidance,
            supersedes,
        } => {
            let id = c
                .add_principle(NewPrinciple {
                    values,
                    statement,
                    guidance,
                    supersedes,
                })
                .await?;
            out.id(&id)
        }
        PrincipleCmd::Amend {
            id,
            statement,
            reason,
            guidance,
        } => {
            let v = c
                .amend_principle(
                    id.clone(),
                    Amendment {
                        statement,
                        guidance,
                        reason,
                        cites: Vec::new(),
                    },
                )
                .await?;
            if out.json {
                out.line(&serde_json::json!({ "id": id, "version": v }).to_string());
                Ok(())
            } else {
                out.done(&format!("{id} is now at version {v}"))
            }
        }
        PrincipleCmd::Retire { id, reason } => {
            c.retire_principle(id.clone(), reason).await?;
            out.done(&format!("retired {id}"))
        }
        PrincipleCmd::Supersede { id, by } => {
            c.supersede_principle(id.clone(), by.clone()).await?;
            out.done(&format!("{id} is superseded by {by}"))
        }
        PrincipleCmd::List => out.list(
            &c.principles().await?,
            "no principles yet: add one with `grove principle add`",
            |p| {
                format!(
                    "{}  v{} [{}] {} (from {}; cited {}x)",
                    cell(&p.principle.id),
                    p.principle.version(),
                    p.principle.status,
                    print::truncate(&p.principle.statement, 60),
                    cells(&p.principle.values, ", "),
                    p.citations
                )
            },
        ),
        PrincipleCmd::Show { id } => {
            let names = names(c).await?;
            out.show(&c.principle(id).await?, |p| {
                print::principle(&p.principle, p.citations, &names)
            })
        }
    }
}

async fn team_cmd(c: &CircleHandle, cmd: TeamCmd, out: &Out) -> Result<()> {
    match cmd {
        TeamCmd::Add { name, domain } => out.id(&c.add_team(name, domain).await?),
        TeamCmd::List => {
            let names = names(c).await?;
            out.list(
                &c.teams().await?,
                "no teams yet: add one with `grove team add NAME`",
                |t| {
                    let members: Vec<String> = t.members.iter().map(|m| names.of(m)).collect();
                    format!(
                        "{}  {}{}  members: {}",
                        cell(&t.id),
                        cell(&t.name),
                        t.domain
                            .as_deref()
                            .map(|d| format!(" — {}", cell(d)))
                            .unwrap_or_default(),
                        if members.is_empty() {
                            "none".into()
                        } else {
                            members.join(", ")
                        }
                    )
                },
            )
        }
        TeamCmd::Join { team, member } => {
            c.join_team(team.clone(), member).await?;
            out.done(&format!("joined {team}"))
        }
        TeamCmd::Leave { team, member } => {
            c.leave_team(team.clone(), member).await?;
            out.done(&format!("left {team}"))
        }
    }
}

async fn decision_cmd(
    node: &NodeHandle,
    c: &CircleHandle,
    cmd: DecisionCmd,
    out: &Out,
) -> Result<()> {
    match cmd {
        DecisionCmd::Log {
            team,
            principles,
            context,
            choice,
            zone,
            unsure_zone,
            situation,
            result_due,
            departs_from,
            why,
            consulted,
        } => {
            let new = NewDecision {
                team,
                principles,
                context,
                choice,
                zone,
                zone_unsure: unsure_zone,
                situation,
                result_due,
                departs_from,
                departure_why: why,
            };
            let id = if consulted.is_empty() {
                c.log_decision(new).await?
            } else {
                c.log_consulted_decision(new, consulted).await?
            };
            out.id(&id)
        }
        DecisionCmd::Acknowledge { id, note } => {
            c.acknowledge_consultation(id.clone(), note).await?;
            out.done(&format!("acknowledged that you were consulted on {id}"))
        }
        DecisionCmd::Result { id, text, outcome } => {
            c.record_result(id.clone(), text, outcome).await?;
            out.done(&format!("recorded the result of {id}"))
        }
        DecisionCmd::Read { id } => {
            let first = c.mark_read(id.clone()).await?;
            out.done(&if first {
                format!("marked {id} as read")
            } else {
                format!("you had already read {id}")
            })
        }
        DecisionCmd::Link { id, other } => {
            c.link_decisions(id.clone(), other.clone()).await?;
            out.done(&format!("linked {id} to {other}"))
        }
        DecisionCmd::Edit {
            id,
            context,
            choice,
            situation,
        } => {
            c.edit_decision(
                id.clone(),
                DecisionEdit {
                    context,
                    choice,
                    situation,
                },
            )
            .await?;
            out.done(&format!("edited {id}"))
        }
        DecisionCmd::List(a) => {
            known_ids(
                c,
                FilterIds {
                    team: a.team.as_deref(),
                    principle: a.principle.as_deref(),
                    value: a.value.as_deref(),
                },
            )
            .await?;
            let me = if a.unread {
                Some(node.me().await?.member)
            } else {
                None
            };
            let filter = DecisionFilter {
                team: a.team,
                principle: a.principle,
                value: a.value,
                zone: a.zone,
                status: a.status,
                author: a.author,
                situation: a.situation,
                since: a.since.map(|d| d.start()),
                until: a.until.map(|d| d.start().plus_days(1)),
                unread_by: me,
                text: a.search,
            };
            // A person reads a screenful, newest first; scripts (--json) get every match.
            let limit = a
                .limit
                .or((!out.json && !a.all).then_some(READABLE_DECISIONS));
            // With a limit only the newest months need loading.
            let decisions = match limit {
                Some(n) => c.recent_decisions(filter, n).await?,
                None => c.decisions(filter, None).await?,
            };
            if a.limit.is_none() && limit.is_some_and(|n| decisions.len() >= n) {
                eprintln!(
                    "(the newest {} shown; `--all` lists every one, `--limit N` the newest N)",
                    decisions.len()
                );
            }
            let names = if out.json {
                Names::new(&[])
            } else {
                names(c).await?
            };
            out.list(&decisions, "no decisions match", |d| {
                print::decision_line(d, &names)
            })
        }
        DecisionCmd::Related { id, limit } => crate::insight::related(c, id, limit, out).await,
        DecisionCmd::Show { id } => {
            let names = crate::insight::entity_names(c).await?;
            let escalation = c
                .escalations()
                .await?
                .into_iter()
                .find(|e| e.decision == id);
            let members = c.members().await?;
            let consulted = c
                .consultation(id.clone())
                .await?
                .into_iter()
                .map(|k| ConsultedShown {
                    name: members
                        .iter()
                        .find(|m| m.id == k.member)
                        .map(|m| m.name.clone()),
                    member: k.member,
                    asked_at: k.asked_at,
                    acknowledged_at: k.acknowledged_at,
                    note: k.note,
                })
                .collect();
            let shown = DecisionShown {
                decision: c.decision(id.clone()).await?,
                written_by: c.decision_writer(id).await?,
                escalation,
                consulted,
            };
            out.show(&shown, |s| {
                let mut text = print::decision(&s.decision, &names);
                text.push_str(&writer_line(&s.decision, s.written_by.as_ref(), &names));
                text.push_str(&departure_line(&s.decision, s.escalation.as_ref(), &names));
                text.push_str(&consulted_line(&s.consulted, &names));
                text
            })
        }
    }
}

/// `grove decision show`: the decision and who wrote it.
#[derive(serde::Serialize)]
struct DecisionShown {
    #[serde(flatten)]
    decision: grove_node::core::Decision,
    written_by: Option<grove_node::core::Writer>,
    /// The stewards' answer, for a decision in a centre zone.
    escalation: Option<grove_node::core::Escalation>,
    /// Who was consulted on a principle-check decision, and who acknowledged it.
    consulted: Vec<ConsultedShown>,
}

/// One member consulted on a decision.
#[derive(serde::Serialize)]
struct ConsultedShown {
    member: String,
    name: Option<String>,
    asked_at: grove_node::core::Timestamp,
    acknowledged_at: Option<grove_node::core::Timestamp>,
    note: Option<String>,
}

/// Who was consulted and whether they acknowledged, in one line; empty when no one was.
fn consulted_line(consulted: &[ConsultedShown], names: &Names) -> String {
    if consulted.is_empty() {
        return String::new();
    }
    let each: Vec<String> = consulted
        .iter()
        .map(|k| match (k.acknowledged_at, k.note.as_deref()) {
            (Some(at), Some(note)) => format!(
                "{} (acknowledged {}: {})",
                names.of(&k.member),
                print::moment(at),
                cell(note)
            ),
            (Some(at), None) => format!(
                "{} (acknowledged {})",
                names.of(&k.member),
                print::moment(at)
            ),
            (None, _) => format!(
                "{} (awaiting since {})",
                names.of(&k.member),
                print::day(k.asked_at)
            ),
        })
        .collect();
    format!("consulted: {}\n", each.join(", "))
}

/// A deliberate departure, and whether the centre backed it.
fn departure_line(
    d: &Decision,
    escalation: Option<&grove_node::core::Escalation>,
    names: &Names,
) -> String {
    let Some(pid) = d.departs_from.as_deref() else {
        return String::new();
    };
    let why = cell(d.departure_why.as_deref().unwrap_or_default()).into_owned();
    let answer = match escalation {
        Some(e) => match (e.verdict, e.resolved_by.as_deref()) {
            (Some(v), Some(by)) => {
                let said = match v {
                    grove_node::core::Verdict::Back => "the centre backed it",
                    grove_node::core::Verdict::Coach => "the centre let it stand, with guidance",
                    grove_node::core::Verdict::Stop => "the centre stopped it",
                };
                format!(
                    "{said} ({}: {})",
                    names.of(by),
                    cell(e.response.as_deref().unwrap_or_default())
                )
            }
            _ => "the stewards have not answered yet".into(),
        },
        None => "the stewards have not heard of it yet".into(),
    };
    format!(
        "departs from principle {}: {why}; {answer}\n",
        names.of(pid)
    )
}

/// Decisions a readable `decision list` shows unless told otherwise.
const READABLE_DECISIONS: usize = 50;

/// Whose device entered a decision, said so it reads with the "logged … by" line above it:
/// the same member's device, or another member's entering it for the author.
fn writer_line(d: &Decision, writer: Option<&grove_node::core::Writer>, names: &Names) -> String {
    let Some(w) = writer else {
        return "entered before devices signed their changes (unverified)\n".into();
    };
    let device = cell(&w.device.chars().take(16).collect::<String>()).into_owned();
    match w.member.as_deref() {
        Some(m) if m == d.author => {
            format!(
                "entered by {} (device {device}…, signature verified)\n",
                names.of(m)
            )
        }
        Some(m) => format!(
            "entered for {} by {} (device {device}…, signature verified)\n",
            names.of(&d.author),
            names.of(m)
        ),
        None => {
            format!("entered from device {device}…, which is no member's (signature verified)\n")
        }
    }
}

async fn escalation_cmd(c: &CircleHandle, cmd: EscalationCmd, out: &Out) -> Result<()> {
    match cmd {
        EscalationCmd::List { status } => {
            let names = names(c).await?;
            let mut list = c.escalations().await?;
            list.retain(|e| status.is_none_or(|s| e.status == s));
            // What waits for someone first (open, then acknowledged), longest waiting
            // first; what is settled after, newest first.
            list.sort_by_key(|e| match e.status {
                EscalationStatus::Open => (0, e.raised_at.0),
                EscalationStatus::Acknowledged => (1, e.raised_at.0),
                _ => (2, -e.raised_at.0),
            });
            out.list(&list, "no escalations", |e| {
                print::escalation_line(e, out.now, &names)
            })
        }
        EscalationCmd::Ack { id } => {
            c.acknowledge_escalation(id.clone()).await?;
            out.done(&format!("acknowledged {id}"))
        }
        EscalationCmd::Resolve {
            id,
            verdict,
            response,
        } => {
            c.resolve_escalation(id.clone(), verdict, response).await?;
            out.done(&format!("resolved {id}: {verdict}"))
        }
    }
}

async fn zone_cmd(c: &CircleHandle, cmd: ZoneCmd, out: &Out) -> Result<()> {
    match cmd {
        ZoneCmd::Set {
            team,
            situation,
            zone,
            window,
        } => {
            let situation = situation.trim().trim_start_matches('#').to_lowercase();
            let title = format!("#{situation} is {zone}");
            out.id(&c
                .open_proposal(NewProposal {
                    title,
                    body: String::new(),
                    change: ProposalChange::MapZone {
                        team,
                        situation,
                        zone,
                    },
                    window_ms: Some(window),
                })
                .await?)
        }
        ZoneCmd::List => {
            let teams = c.teams().await?;
            let team_name = |id: &str| {
                teams
                    .iter()
                    .find(|t| t.id == id)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| id.to_string())
            };
            out.list(&c.zone_rules().await?, "no zone maps yet", |r| {
                format!(
                    "{}  #{}  {}  (since {}, by {})",
                    cell(&team_name(&r.team)),
                    cell(&r.situation),
                    r.zone,
                    print::day(r.since),
                    cell(&r.by)
                )
            })
        }
    }
}

async fn proposal_cmd(c: &CircleHandle, cmd: ProposalCmd, out: &Out) -> Result<()> {
    match cmd {
        ProposalCmd::Open {
            title,
            body,
            amend,
            values,
            statement,
            guidance,
            reason,
            cites,
            supersedes,
            retire_principle,
            new_value,
            amend_value,
            value_title,
            protect,
            refuse,
            retire_value,
            remove_member,
            stewards,
            keepers,
            term_days,
            next,
            window,
        } => {
            let reason = reason.unwrap_or_default();
            let change = if let Some(member) = remove_member {
                ProposalChange::RemoveMember { member }
            } else if !stewards.is_empty() {
                ProposalChange::Stewards {
                    members: stewards,
                    term_days: term_days.unwrap_or_default(),
                    queue: next,
                }
            } else if !keepers.is_empty() {
                ProposalChange::Keepers {
                    members: keepers,
                    term_days: term_days.unwrap_or_default(),
                    queue: next,
                }
            } else if let Some(principle) = retire_principle {
                ProposalChange::RetirePrinciple { principle, reason }
            } else if let Some(value) = retire_value {
                ProposalChange::RetireValue { value, reason }
            } else if let Some(title) = new_value {
                ProposalChange::NewValue {
                    title,
                    statement: statement.unwrap_or_default(),
                    protect,
                    refuse,
                }
            } else if let Some(value) = amend_value {
                // What is not given stays as it is worded now.
                let now = c.value(value.clone()).await?;
                ProposalChange::AmendValue {
                    value,
                    title: value_title.unwrap_or(now.title),
                    statement: statement.unwrap_or(now.statement),
                    protect: protect.or(now.protect),
                    refuse: refuse.or(now.refuse),
                    reason,
                    cites,
                }
            } else {
                match (amend, values.is_empty(), statement) {
                    (Some(principle), _, Some(statement)) => ProposalChange::AmendPrinciple {
                        principle,
                        statement,
                        guidance,
                        reason,
                        cites,
                    },
                    (None, false, Some(statement)) => ProposalChange::NewPrinciple {
                        values,
                        statement,
                        guidance,
                        supersedes,
                    },
                    _ => ProposalChange::General,
                }
            };
            out.id(&c
                .open_proposal(NewProposal {
                    title,
                    body,
                    change,
                    window_ms: Some(window),
                })
                .await?)
        }
        ProposalCmd::Revise {
            id,
            title,
            body,
            statement,
            guidance,
            reason,
            cites,
            value_title,
            protect,
            refuse,
        } => {
            let p = c.proposal(id.clone()).await?.proposal;
            let given = Revision {
                statement,
                guidance,
                reason,
                cites,
                value_title,
                protect,
                refuse,
            };
            if let Some(flag) = given.unfit_for(&p.change) {
                bail!(
                    "{flag} does not fit proposal {id}: it is a {} proposal; revise its --title or --body",
                    p.change.kind()
                );
            }
            let change = given.apply(p.change);
            let version = c
                .revise_proposal(
                    id.clone(),
                    NewProposal {
                        title: title.unwrap_or(p.title),
                        body: body.unwrap_or(p.body),
                        change,
                        window_ms: None,
                    },
                )
                .await?;
            out.done(&format!(
                "{id} is now version {version}: every member is asked again"
            ))
        }
        ProposalCmd::Respond { id, answer, reason } => {
            c.respond(id.clone(), answer, reason).await?;
            out.done(&format!("recorded your {answer} on {id}"))
        }
        ProposalCmd::Pass { id } => {
            let outcome = c.pass_proposal(id.clone()).await?;
            out.done(&format!(
                "{id} passed{}",
                outcome.map(|o| format!(": {o}")).unwrap_or_default()
            ))
        }
        ProposalCmd::Withdraw { id } => {
            c.withdraw_proposal(id.clone()).await?;
            out.done(&format!("withdrew {id}"))
        }
        ProposalCmd::List => out.list(&c.proposals().await?, "no proposals", |v| {
            let p = &v.proposal;
            let objections = p.standing_objections().len();
            format!(
                "{}  [{}] {}  ({} answer(s){}{})",
                cell(&p.id),
                p.status,
                cell(&p.title),
                p.responses.len(),
                if objections > 0 {
                    format!(", {objections} objection(s) standing")
                } else {
                    String::new()
                },
                if v.can_pass_now() { ", can pass" } else { "" }
            )
        }),
        ProposalCmd::Show { id } => {
            let names = names(c).await?;
            out.show(&c.proposal(id).await?, |p| print::proposal(p, &names))
        }
    }
}

async fn role_cmd(c: &CircleHandle, cmd: RoleCmd, out: &Out) -> Result<()> {
    match cmd {
        RoleCmd::Add {
            name,
            purpose,
            accountabilities,
            holder,
            term_days,
            queue,
        } => out.id(&c
            .add_role(NewRole {
                name,
                purpose,
                accountabilities,
                holder,
                term_days,
                queue,
            })
            .await?),
        RoleCmd::Assign { id, member } => {
            c.assign_role(id.clone(), member.clone()).await?;
            out.done(&format!("{member} now holds {id}"))
        }
        RoleCmd::Rotate { id } => {
            let next = c.rotate_role(id.clone()).await?;
            out.done(&format!("{} now holds {id}", cell(&next)))
        }
        RoleCmd::Queue { id, members } => {
            c.set_role_queue(id.clone(), members).await?;
            out.done(&format!("set the rotation queue of {id}"))
        }
        RoleCmd::List => {
            let names = names(c).await?;
            out.list(&c.roles().await?, "no roles yet", |r| {
                let holder = r
                    .holder
                    .as_deref()
                    .map(|h| names.of(h))
                    .unwrap_or_else(|| "vacant".into());
                let ends = r
                    .term_ends()
                    .map(|t| format!(", term ends {}", print::day(t)))
                    .unwrap_or_default();
                format!("{}  {} — {}{}", cell(&r.id), cell(&r.name), holder, ends)
            })
        }
        RoleCmd::Show { id } => {
            let names = names(c).await?;
            out.show(&c.role(id).await?, |r| print::role(r, &names))
        }
    }
}

async fn commitment_cmd(
    node: &NodeHandle,
    c: &CircleHandle,
    cmd: CommitmentCmd,
    out: &Out,
) -> Result<()> {
    let set = |id: String, status: CommitmentStatus| async move {
        c.set_commitment_status(id.clone(), status).await?;
        out.done(&format!("{id} is {status}"))
    };
    match cmd {
        CommitmentCmd::Add {
            what,
            who,
            due,
            decision,
        } => {
            let who = match who {
                Some(w) => w,
                None => node.me().await?.member,
            };
            out.id(&c
                .add_commitment(NewCommitment {
                    who,
                    what,
                    due,
                    decision,
                })
                .await?)
        }
        CommitmentCmd::Done { id } => set(id, CommitmentStatus::Done).await,
        CommitmentCmd::Drop { id } => set(id, CommitmentStatus::Dropped).await,
        CommitmentCmd::Reopen { id } => set(id, CommitmentStatus::Open).await,
        CommitmentCmd::List { who, status } => {
            let names = names(c).await?;
            let mut list = c.commitments().await?;
            list.retain(|x| {
                who.as_ref().is_none_or(|w| x.who == *w) && status.is_none_or(|s| x.status == s)
            });
            out.list(&list, "no commitments", |x| {
                print::commitment_line(x, out.now, &names)
            })
        }
    }
}

async fn retro_cmd(c: &CircleHandle, cmd: RetroCmd, out: &Out) -> Result<()> {
    match cmd {
        RetroCmd::Add {
            team,
            went_well,
            didnt,
            change,
            principles,
        } => out.id(&c
            .add_retro(NewRetro {
                team,
                went_well,
                didnt,
                change,
                principles,
            })
            .await?),
        RetroCmd::List { team } => {
            let mut list = c.retros().await?;
            list.retain(|r| team.as_ref().is_none_or(|t| r.team == *t));
            out.list(&list, "no retros", |r| {
                format!(
                    "{}  {} team {}\n  went well: {}\n  didn't:    {}\n  change:    {}",
                    cell(&r.id),
                    print::day(r.at),
                    cell(&r.team),
                    print::field(&r.went_well, 13),
                    print::field(&r.didnt, 13),
                    print::field(&r.change, 13)
                )
            })
        }
    }
}

async fn review_cmd(c: &CircleHandle, cmd: ReviewCmd, out: &Out) -> Result<()> {
    match cmd {
        ReviewCmd::Open {
            date,
            agenda,
            participants,
        } => out.id(&c
            .open_review(NewReview {
                date,
                agenda,
                participants,
            })
            .await?),
        ReviewCmd::Agenda { id, item } => {
            c.add_agenda_item(id.clone(), item).await?;
            out.done(&format!("added to the agenda of {id}"))
        }
        ReviewCmd::Change {
            id,
            principle,
            statement,
            reason,
            guidance,
        } => {
            let v = c
                .review_change(
                    id,
                    principle.clone(),
                    Amendment {
                        statement,
                        guidance,
                        reason,
                        cites: Vec::new(),
                    },
                )
                .await?;
            match v {
                ReviewChanged::Amended { version } => {
                    out.done(&format!("{principle} is now at version {version}"))
                }
                ReviewChanged::Proposed { proposal } => out.done(&format!(
                    "opened proposal {proposal} in the review: {principle} changes when the circle consents (grove proposal show {proposal})"
                )),
            }
        }
        ReviewCmd::Learning { id, text } => {
            c.add_learning(id.clone(), text).await?;
            out.done(&format!("recorded a learning in {id}"))
        }
        ReviewCmd::Notes { id, text } => {
            c.edit_review_notes(id.clone(), text).await?;
            out.done(&format!("updated the notes of {id}"))
        }
        ReviewCmd::Close { id, next } => {
            c.close_review(id.clone(), next).await?;
            out.done(&format!("closed {id}; next review on {next}"))
        }
        ReviewCmd::List => out.list(&c.reviews().await?, "no reviews yet", |r| {
            format!(
                "{}  {} [{}]  {} agenda item(s), {} change(s){}",
                cell(&r.id),
                r.date,
                r.status,
                r.agenda.len(),
                r.changes.len(),
                r.next_date
                    .map(|d| format!(", next {d}"))
                    .unwrap_or_default()
            )
        }),
        ReviewCmd::Show { id } => {
            let names = names(c).await?;
            out.show(&c.review(id).await?, |r| print::review(r, &names))
        }
    }
}

/// What `grove proposal revise` may change besides the title and body.
struct Revision {
    statement: Option<String>,
    guidance: Option<String>,
    reason: Option<String>,
    cites: Vec<String>,
    value_title: Option<String>,
    protect: Option<String>,
    refuse: Option<String>,
}

impl Revision {
    /// The first flag given that the proposal's kind has no place for.
    fn unfit_for(&self, change: &ProposalChange) -> Option<&'static str> {
        let flags = [
            ("--statement", self.statement.is_some()),
            ("--guidance", self.guidance.is_some()),
            ("--reason", self.reason.is_some()),
            ("--cites", !self.cites.is_empty()),
            ("--value-title", self.value_title.is_some()),
            ("--protect", self.protect.is_some()),
            ("--refuse", self.refuse.is_some()),
        ];
        let fits: &[&str] = match change {
            ProposalChange::AmendPrinciple { .. } => {
                &["--statement", "--guidance", "--reason", "--cites"]
            }
            ProposalChange::NewPrinciple { .. } => &["--statement", "--guidance"],
            ProposalChange::RetirePrinciple { .. } | ProposalChange::RetireValue { .. } => {
                &["--reason"]
            }
            ProposalChange::NewValue { .. } => {
                &["--statement", "--value-title", "--protect", "--refuse"]
            }
            ProposalChange::AmendValue { .. } => &[
                "--statement",
                "--reason",
                "--cites",
                "--value-title",
                "--protect",
                "--refuse",
            ],
            ProposalChange::General
            | ProposalChange::RemoveMember { .. }
            | ProposalChange::Stewards { .. }
            | ProposalChange::Keepers { .. }
            | ProposalChange::MapZone { .. } => &[],
        };
        flags
            .into_iter()
            .find(|(flag, given)| *given && !fits.contains(flag))
            .map(|(flag, _)| flag)
    }

    /// `change` with what was given in place of what it held.
    fn apply(self, change: ProposalChange) -> ProposalChange {
        let cites = |old: Vec<String>, new: Vec<String>| if new.is_empty() { old } else { new };
        match change {
            ProposalChange::AmendPrinciple {
                principle,
                statement,
                guidance,
                reason,
                cites: c0,
            } => ProposalChange::AmendPrinciple {
                principle,
                statement: self.statement.unwrap_or(statement),
                guidance: self.guidance.or(guidance),
                reason: self.reason.unwrap_or(reason),
                cites: cites(c0, self.cites),
            },
            ProposalChange::NewPrinciple {
                values,
                statement,
                guidance,
                supersedes,
            } => ProposalChange::NewPrinciple {
                values,
                statement: self.statement.unwrap_or(statement),
                guidance: self.guidance.or(guidance),
                supersedes,
            },
            ProposalChange::RetirePrinciple { principle, reason } => {
                ProposalChange::RetirePrinciple {
                    principle,
                    reason: self.reason.unwrap_or(reason),
                }
            }
            ProposalChange::RetireValue { value, reason } => ProposalChange::RetireValue {
                value,
                reason: self.reason.unwrap_or(reason),
            },
            ProposalChange::NewValue {
                title,
                statement,
                protect,
                refuse,
            } => ProposalChange::NewValue {
                title: self.value_title.unwrap_or(title),
                statement: self.statement.unwrap_or(statement),
                protect: self.protect.or(protect),
                refuse: self.refuse.or(refuse),
            },
            ProposalChange::AmendValue {
                value,
                title,
                statement,
                protect,
                refuse,
                reason,
                cites: c0,
            } => ProposalChange::AmendValue {
                value,
                title: self.value_title.unwrap_or(title),
                statement: self.statement.unwrap_or(statement),
                protect: self.protect.or(protect),
                refuse: self.refuse.or(refuse),
                reason: self.reason.unwrap_or(reason),
                cites: cites(c0, self.cites),
            },
            other => other,
        }
    }
}
