//! Invites between real nodes: joining converges both ways, a device link writes as the
//! same member, and every kind of bad invite fails clearly and leaves nothing behind.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use grove_node::core::{InviteCode, InviteKind, Refusal};
use grove_node::{InviteError, NodeError, NodeErrorKind};
use grove_tests::harness::{bounded, converged, create_circle, log, TestClock, TestNode};
use tempfile::TempDir;

async fn node(dir: &TempDir, name: &str) -> Result<TestNode> {
    TestNode::start(name, &dir.path().join(name)).await
}

/// What a failed join must leave: no circle, no connection made for nothing.
async fn nothing_on(joiner: &TestNode) -> Result<()> {
    let circles = joiner.handle.circles().await?;
    ensure!(
        circles.is_empty(),
        "{} must hold no circle after a failed join: {circles:?}",
        joiner.name
    );
    Ok(())
}

fn refusal(err: &NodeError) -> Option<&Refusal> {
    match err {
        NodeError::Invite(InviteError::Refused(r)) => Some(r),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_is_admitted_by_invite_and_the_circle_converges_both_ways() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ana = node(&dir, "ana").await?;
    let bea = node(&dir, "bea").await?;
    let basics = create_circle(&ana, "Tenants").await?;
    let circle = ana.handle.circle(Some(basics.circle.clone()));
    let invite = circle
        .create_invite(Some(Duration::from_secs(3600)), 1)
        .await?;
    ensure!(invite.code.starts_with("grove1"), "{}", invite.code);
    ensure!(invite.kind == InviteKind::Member);

    let joined = bounded(
        "bea to join",
        bea.handle.join(&invite.code, Some("Bea".into())),
    )
    .await??;
    assert_eq!(
        joined, basics.circle,
        "the joiner gets the circle of the code"
    );

    let bea_me = bea.handle.me().await?;
    let members = circle.members().await?;
    let admitted = members
        .iter()
        .find(|m| m.id == bea_me.member)
        .context("the inviter lists the joiner as a member")?;
    assert_eq!(admitted.name, "Bea");
    assert_eq!(admitted.devices, vec![bea_me.device.clone()]);
    let listed = circle.invites().await?;
    assert_eq!(listed[0].used_by, vec![bea_me.member.clone()]);

    // Both write after the join; each side's decision reaches the other.
    let from_ana = log(&ana, &basics, "after the join, from ana").await?;
    let from_bea = log(&bea, &basics, "after the join, from bea").await?;
    converged(&basics.circle, &[&ana, &bea]).await?;
    let on_ana = circle.decision(from_bea.clone()).await?;
    assert_eq!(
        on_ana.author, bea_me.member,
        "bea's decision arrives as hers"
    );
    bea.handle
        .circle(Some(basics.circle.clone()))
        .decision(from_ana)
        .await?;

    // Each lists the other's device under the member's name, not only as a peer id.
    let ana_me = ana.handle.me().await?;
    for (node, other, name) in [(&ana, &bea, "Bea"), (&bea, &ana, ana_me.name.as_str())] {
        let other_peer = other.handle.net_info().await?.peer;
        let peers = node.handle.peers().await?;
        let seen = peers
            .iter()
            .find(|p| p.peer == other_peer)
            .context("the other device is listed")?;
        assert_eq!(seen.member.as_deref(), Some(name), "{peers:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_device_writes_as_the_same_member() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ana = node(&dir, "ana").await?;
    let laptop = node(&dir, "ana-laptop").await?;
    let basics = create_circle(&ana, "Food bank").await?;
    let circle = ana.handle.circle(Some(basics.circle.clone()));
    let link = circle.create_device_link().await?;
    let ana_me = ana.handle.me().await?;
    assert_eq!(
        link.kind,
        InviteKind::Device {
            member: ana_me.member.clone()
        }
    );

    bounded("the laptop to link", laptop.handle.join(&link.code, None)).await??;
    let laptop_me = laptop.handle.me().await?;
    assert_eq!(laptop_me.member, ana_me.member, "the laptop acts as ana");
    assert_eq!(laptop_me.name, ana_me.name, "and takes her display name");
    assert_ne!(laptop_me.device, ana_me.device, "with its own device key");

    let members = circle.members().await?;
    assert_eq!(members.len(), 1, "no new member: {members:?}");
    let mut devices = members[0].devices.clone();
    devices.sort();
    let mut expected = vec![ana_me.device.clone(), laptop_me.device.clone()];
    expected.sort();
    assert_eq!(devices, expected);

    let written = log(&laptop, &basics, "from the laptop").await?;
    converged(&basics.circle, &[&ana, &laptop]).await?;
    assert_eq!(circle.decision(written).await?.author, ana_me.member);

    // The same home restarted still acts as ana: the link is stored.
    let home = laptop.kill().await?;
    let again = TestNode::start("ana-laptop", &home).await?;
    assert_eq!(again.handle.me().await?.member, ana_me.member);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_reused_revoked_and_tampered_invites_fail_and_leave_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let clock = TestClock::default();
    let ana = TestNode::start_with_clock("ana", &dir.path().join("ana"), &clock).await?;
    let bea = node(&dir, "bea").await?;
    let cai = node(&dir, "cai").await?;
    let basics = create_circle(&ana, "Cell").await?;
    let circle = ana.handle.circle(Some(basics.circle.clone()));

    // Expired: the inviter's time moved past the invite's end.
    let expiring = circle
        .create_invite(Some(Duration::from_secs(60)), 5)
        .await?;
    clock.advance(Duration::from_secs(61));
    let err = bea.handle.join(&expiring.code, None).await.unwrap_err();
    assert_eq!(refusal(&err), Some(&Refusal::Expired), "{err}");
    assert_eq!(err.kind(), NodeErrorKind::Invite);
    assert!(err.to_string().contains("expired"), "{err}");
    nothing_on(&bea).await?;

    // Used up: one use, taken by bea; cai's reuse is refused.
    let once = circle.create_invite(None, 1).await?;
    bea.handle.join(&once.code, None).await?;
    let err = cai.handle.join(&once.code, None).await.unwrap_err();
    assert_eq!(refusal(&err), Some(&Refusal::UsedUp), "{err}");
    assert!(err.to_string().contains("used"), "{err}");
    nothing_on(&cai).await?;

    // Revoked.
    let revoked = circle.create_invite(None, 3).await?;
    circle.revoke_invite(revoked.id.clone()).await?;
    let err = cai.handle.join(&revoked.code, None).await.unwrap_err();
    assert_eq!(refusal(&err), Some(&Refusal::Revoked), "{err}");
    nothing_on(&cai).await?;

    // Tampered: a well-formed code with another secret gets past the checksum, not the
    // inviter.
    let open = circle.create_invite(None, 3).await?;
    let mut forged = InviteCode::decode(&open.code)?;
    forged.secret[0] ^= 1;
    let err = cai.handle.join(&forged.encode()?, None).await.unwrap_err();
    assert_eq!(refusal(&err), Some(&Refusal::BadProof), "{err}");
    nothing_on(&cai).await?;
    let members = circle.members().await?;
    assert_eq!(
        members.len(),
        2,
        "only ana and bea are members: {members:?}"
    );

    // The inviter is not a guessing oracle: after a few wrong secrets it drops the peer.
    let mut dropped = false;
    for _ in 0..4 {
        match cai.handle.join(&forged.encode()?, None).await {
            Err(e) if refusal(&e) == Some(&Refusal::BadProof) => continue,
            Err(_) => {
                dropped = true;
                break;
            }
            Ok(id) => anyhow::bail!("a forged code must not admit anyone (joined {id})"),
        }
    }
    ensure!(
        dropped,
        "the inviter keeps answering a peer that keeps guessing"
    );
    nothing_on(&cai).await?;

    // Being dropped is no ban: the genuine code still lets cai in on a new connection.
    let joined = bounded("cai to join", cai.handle.join(&open.code, None)).await??;
    assert_eq!(joined, basics.circle);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_code_fails_before_any_network_traffic() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ana = node(&dir, "ana").await?;
    let bea = node(&dir, "bea").await?;
    let basics = create_circle(&ana, "Cell").await?;
    let invite = ana
        .handle
        .circle(Some(basics.circle.clone()))
        .create_invite(None, 1)
        .await?;
    let mut chars: Vec<char> = invite.code.chars().collect();
    let last = chars.len() - 10;
    chars[last] = if chars[last] == 'a' { 'b' } else { 'a' };
    let typo: String = chars.into_iter().collect();

    let err = bea.handle.join(&typo, None).await.unwrap_err();
    assert_eq!(err.kind(), NodeErrorKind::Invite, "{err}");
    assert!(err.to_string().contains("mistyped"), "{err}");
    let err = bea.handle.join("hello", None).await.unwrap_err();
    assert!(err.to_string().contains("not a Grove invite code"), "{err}");
    let peers = bea.handle.peers().await?;
    assert!(peers.is_empty(), "no connection was made: {peers:?}");
    let peers = ana.handle.peers().await?;
    assert!(peers.is_empty(), "the inviter saw nobody: {peers:?}");
    nothing_on(&bea).await?;

    // The same code, retyped correctly (upper case, in groups), works.
    let grouped: String = invite
        .code
        .to_uppercase()
        .chars()
        .collect::<Vec<_>>()
        .chunks(6)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" - ");
    bea.handle.join(&grouped, None).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_inviter_is_reported_with_what_to_do() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ana = node(&dir, "ana").await?;
    let bea = node(&dir, "bea").await?;
    let basics = create_circle(&ana, "Cell").await?;
    let invite = ana
        .handle
        .circle(Some(basics.circle.clone()))
        .create_invite(None, 1)
        .await?;
    ana.stop().await?;

    let err = bounded("the join to give up", bea.handle.join(&invite.code, None))
        .await?
        .unwrap_err();
    assert_eq!(err.kind(), NodeErrorKind::Network, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("cannot reach the inviter") && text.contains("grove serve"),
        "the message says what to do: {text}"
    );
    nothing_on(&bea).await?;
    Ok(())
}
