//! What an inviter tells a stranger with a forged code, and how often. A code with a valid
//! checksum but a made-up invite, a wrong secret or a circle the inviter does not hold gets
//! one and the same answer, so a stranger cannot learn which invites (or circles) exist;
//! and the inviter checks only so many join requests at a time, from everyone together,
//! so fresh identities do not buy an unlimited stream of answers.

use anyhow::{bail, ensure, Result};
use grove_node::core::{InviteCode, Refusal};
use grove_node::{InviteError, NodeError, JOIN_BURST, JOIN_REFILL};
use grove_tests::harness::{bounded, create_circle, TestClock, TestNode};

fn refusal(err: &NodeError) -> Option<&Refusal> {
    match err {
        NodeError::Invite(InviteError::Refused(r)) => Some(r),
        _ => None,
    }
}

/// Joins with `code`, which must be refused; returns the refusal and its message.
async fn refused(joiner: &TestNode, code: &str) -> Result<(Refusal, String)> {
    match bounded("the inviter's answer", joiner.handle.join(code, None)).await? {
        Ok(id) => bail!("a forged code admitted {} to {id}", joiner.name),
        Err(e) => match refusal(&e) {
            Some(r) => Ok((r.clone(), e.to_string())),
            None => bail!("{} got no refusal but: {e}", joiner.name),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_made_up_invite_and_a_wrong_secret_get_the_same_answer() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ana = TestNode::start("ana", &dir.path().join("ana")).await?;
    let bea = TestNode::start("bea", &dir.path().join("bea")).await?;
    let basics = create_circle(&ana, "Cell").await?;
    let open = ana
        .handle
        .circle(Some(basics.circle.clone()))
        .create_invite(None, 3)
        .await?;

    let mut wrong_secret = InviteCode::decode(&open.code)?;
    wrong_secret.secret[0] ^= 1;
    let mut made_up = InviteCode::decode(&open.code)?;
    made_up.invite = "i-0123456789".into();
    let mut other_circle = InviteCode::decode(&open.code)?;
    other_circle.circle = "c-0123456789".into();

    let a = refused(&bea, &wrong_secret.encode()?).await?;
    let b = refused(&bea, &made_up.encode()?).await?;
    let c = refused(&bea, &other_circle.encode()?).await?;
    assert_eq!(a, b, "a made-up invite must answer as a wrong secret does");
    assert_eq!(a, c, "so must a circle the inviter does not hold");
    ensure!(
        a.1.contains("copy the code again") && a.1.contains("new"),
        "the answer still says what to do: {}",
        a.1
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_join_requests_from_many_peers_is_refused_past_the_allowance() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // The inviter's clock stands still, so no allowance comes back during the burst.
    let clock = TestClock::default();
    let ana = TestNode::start_with_clock("ana", &dir.path().join("ana"), &clock).await?;
    let basics = create_circle(&ana, "Cell").await?;
    let open = ana
        .handle
        .circle(Some(basics.circle.clone()))
        .create_invite(None, 3)
        .await?;
    let mut forged = InviteCode::decode(&open.code)?;
    forged.secret[0] ^= 1;
    let forged = forged.encode()?;

    // Fresh identities, each within its own limit of wrong secrets (three): only the
    // inviter's overall allowance can stop them.
    let per_peer = 3;
    let peers = (JOIN_BURST as usize).div_ceil(per_peer) + 1;
    let mut strangers = Vec::new();
    for i in 0..peers {
        let name = format!("stranger-{i}");
        strangers.push(TestNode::start(&name, &dir.path().join(&name)).await?);
    }
    let mut answers = Vec::new();
    for stranger in &strangers {
        for _ in 0..per_peer {
            answers.push(refused(stranger, &forged).await?.0);
        }
    }
    let checked = answers.iter().filter(|r| **r == Refusal::BadProof).count();
    let busy = answers.iter().filter(|r| **r == Refusal::Busy).count();
    assert_eq!(
        checked, JOIN_BURST as usize,
        "the first {JOIN_BURST} requests are checked: {answers:?}"
    );
    assert_eq!(
        busy,
        answers.len() - checked,
        "every later one is told to come back later, unchecked: {answers:?}"
    );
    ensure!(busy > 0, "the burst outran the allowance: {answers:?}");

    // An allowance, not a ban: once time passes, requests are checked again.
    clock.advance(JOIN_REFILL);
    let late = strangers.last().map(|s| refused(s, &forged));
    let Some(late) = late else {
        bail!("no strangers")
    };
    assert_eq!(late.await?.0, Refusal::BadProof);
    Ok(())
}
