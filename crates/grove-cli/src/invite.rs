//! `grove invite …`, `grove device link` and `grove join`: bringing people and devices in.

use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use grove_node::core::{Invite, InviteKind, InviteState, Timestamp};
use grove_node::{CircleHandle, NewInvite, NodeHandle};

use crate::print::{cell, Names, Out};

#[derive(Subcommand, Debug)]
pub enum InviteCmd {
    /// Create an invite and print its code (needs this home's node running: `grove serve`)
    Create {
        /// How long the code stays good, e.g. 30m, 2h, 7d (default: until used up or revoked)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires: Option<Duration>,
        /// How many people may join with it
        #[arg(long, value_name = "N", default_value_t = 1)]
        uses: u32,
    },
    /// The circle's invites and what became of them
    List,
    /// Revoke an invite: nobody joins with its code any more
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Print a code that adds another device to your member (join with it there)
    Link,
    /// Print this device's id (its public key), which a member admits with `grove member admit`
    Id,
    /// Revoke a lost or seized device at once (a steward, or its own member from another
    /// device): its changes are refused from now on and the circle key rotates; its member
    /// stays and links a new device
    Revoke {
        /// The device id (64 hex digits, from `grove member list`)
        device: String,
    },
}

#[derive(Args, Debug)]
pub struct JoinArgs {
    /// The invite code (`grove1…`); spaces, hyphens and line breaks are ignored
    pub code: String,
    /// Your display name in the circle (default: this device's name)
    #[arg(long)]
    pub name: Option<String>,
    /// Give up after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
}

pub async fn invite_cmd(c: &CircleHandle, cmd: InviteCmd, out: &Out) -> Result<()> {
    match cmd {
        InviteCmd::Create { expires, uses } => {
            show_new(&c.create_invite(expires, uses).await?, out)
        }
        InviteCmd::List => {
            let names = Names::new(&c.members().await?);
            out.list(
                &c.invites().await?,
                "no invites yet: `grove invite create`",
                |i| invite_line(i, &names, out.now),
            )
        }
        InviteCmd::Revoke { id } => {
            c.revoke_invite(id.clone()).await?;
            out.done(&format!("revoked invite {id}"))
        }
    }
}

pub async fn device_cmd(
    node: &NodeHandle,
    c: &CircleHandle,
    cmd: DeviceCmd,
    out: &Out,
) -> Result<()> {
    match cmd {
        DeviceCmd::Link => show_new(&c.create_device_link().await?, out),
        DeviceCmd::Id => out.show(&node.me().await?, |m| format!("{}\n", cell(&m.device))),
        DeviceCmd::Revoke { device } => {
            let member = c.revoke_device(device.clone()).await?;
            out.done(&format!(
                "revoked device {device} of {member}: its changes are refused from now on, and the circle key rotated"
            ))
        }
    }
}

pub async fn join(node: &NodeHandle, args: JoinArgs, out: &Out) -> Result<()> {
    let wait = Duration::from_secs(args.timeout);
    let working = crate::progress::Progress::start(out, "joining the circle and syncing it");
    let joined = tokio::time::timeout(wait, node.join(&args.code, args.name)).await;
    drop(working);
    let id = match joined {
        Ok(joined) => joined?,
        Err(_) => bail!(
            "the inviter did not answer within {} s; nothing was added; check that their Grove \
             is running and reachable, then join again (or raise --timeout)",
            args.timeout
        ),
    };
    let info = node.circle(Some(id)).info().await?;
    out.show(&info, |i| {
        format!("joined {} ({})\n", cell(&i.name), cell(&i.id))
    })
}

/// The code alone on stdout (so scripts can capture it); `--json` gives every field.
fn show_new(new: &NewInvite, out: &Out) -> Result<()> {
    out.show(new, |n| format!("{}\n", cell(&n.code)))
}

fn invite_line(i: &Invite, names: &Names, now: Timestamp) -> String {
    let state = match i.state {
        InviteState::Open => "open",
        InviteState::Expired => "expired",
        InviteState::UsedUp => "used up",
        InviteState::Revoked => "revoked",
    };
    let kind = match &i.kind {
        InviteKind::Member => "new member".to_string(),
        InviteKind::Device { member } => format!("device link for {}", names.of(member)),
    };
    let expires = match i.expires_at {
        Some(t) if t <= now => format!(", expired {}", crate::print::moment(t)),
        Some(t) => format!(", expires {}", crate::print::moment(t)),
        None => String::new(),
    };
    format!(
        "{}  {state}  {kind}  used {}/{}{expires}  by {}",
        cell(&i.id),
        i.used_by.len(),
        i.max_uses,
        names.of(&i.created_by)
    )
}

/// `90s`, `30m`, `2h`, `7d` or `2w`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration: write a number and a unit, e.g. 2h or 7d")
    })?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit: use s, m, h, d or w (e.g. 2h or 7d)"
            ))
        }
    };
    if n == 0 {
        return Err("a duration must be longer than zero".into());
    }
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_unit() {
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert!(parse_duration("2").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("3y").unwrap_err().contains("unit"));
    }
}
