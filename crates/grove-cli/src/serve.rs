//! `grove serve`: this device's node in the foreground. It syncs with peers, relays for
//! members behind NAT, records its addresses in every circle, and runs other `grove`
//! commands on this home sent over the control socket. With `--no-relay` it is a member's
//! device instead (what the desktop app runs): it uses the circles' always-on nodes as relay
//! and rendezvous point rather than being one.

use std::path::PathBuf;

use anyhow::{Context, Result};
use grove_node::{Node, NodeEvent};
use tokio::sync::broadcast;

use crate::print::Out;

pub struct Options {
    pub home: Option<PathBuf>,
    pub json: bool,
    pub listen: Vec<String>,
    pub peers: Vec<String>,
    pub mdns: bool,
    /// An always-on node (relay, rendezvous point, addresses recorded in the circles);
    /// otherwise a member's device that uses the circles' always-on nodes.
    pub always_on: bool,
    pub passphrase: Option<crate::passphrase::Secret>,
}

pub async fn serve(options: Options) -> Result<()> {
    let home = grove_node::resolve_home(options.home.as_deref())?;
    let mut builder = Node::builder()
        .home(&home)
        .network(true)
        .always_on(options.always_on)
        .mdns(options.mdns);
    if let Some(passphrase) = &options.passphrase {
        builder = builder.passphrase(passphrase.as_str());
    }
    for addr in &options.listen {
        builder = builder.listen(addr);
    }
    for addr in &options.peers {
        builder = builder.peer(addr);
    }
    let node = builder.start().await?;
    let mut events = node.subscribe();
    let out = Out::stdout(options.json, crate::now());
    let info = node.net_info().await?;
    // A member's device moves between networks and may sit behind NAT: its addresses
    // would mislead the members who read them from the circle.
    let mut recorded = if options.always_on {
        node.announce_addresses().await?
    } else {
        Vec::new()
    };
    let _control = crate::forwarded::serve(&home, &node)?;
    if out.json {
        out.line(
            &serde_json::json!({
                "type": "started",
                "peer": info.peer,
                "addrs": info.addrs,
                "recorded": recorded,
                "home": home.display().to_string(),
            })
            .to_string(),
        );
    } else {
        out.line(&format!(
            "grove node {} serving {}",
            info.peer,
            home.display()
        ));
        for addr in &info.addrs {
            out.line(&format!("listening on {addr}"));
        }
        out.line("press Ctrl-C to stop");
    }

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            event = events.recv() => match event {
                Ok(event) => {
                    show(&out, &event);
                    // A listener on every interface reports its interfaces' addresses one
                    // by one, some after the node has started and recorded the first ones:
                    // record again when one the circles do not have yet comes up, or
                    // members would not know this node's QUIC (say) address.
                    if let NodeEvent::Listening { addr } = &event {
                        if options.always_on && worth_recording(addr, &recorded) {
                            match node.announce_addresses().await {
                                Ok(now) => recorded = now,
                                Err(e) => tracing::warn!(error = %e, "cannot record this node's new address in its circles"),
                            }
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(skipped = n, "event printer lagged");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    drop(_control);
    node.shutdown_network(std::time::Duration::from_secs(2))
        .await?;
    if out.json {
        out.line(&serde_json::json!({ "type": "stopped" }).to_string());
    } else {
        out.line("stopped");
    }
    Ok(())
}

/// Whether a new listen address is one members could use and the circles lack.
fn worth_recording(addr: &str, recorded: &[String]) -> bool {
    let local = ["/ip4/127.", "/ip6/::1/", "/ip4/0.0.0.0/", "/ip6/::/"];
    !addr.contains("/p2p-circuit")
        && !local.iter().any(|l| addr.starts_with(l))
        && !recorded.iter().any(|r| addr.starts_with(r.as_str()))
}

fn show(out: &Out, event: &NodeEvent) {
    if out.json {
        if let Ok(line) = serde_json::to_string(event) {
            out.line(&line);
        }
        return;
    }
    let line = match event {
        NodeEvent::CircleChanged { .. } => return,
        NodeEvent::Listening { addr } => format!("listening on {addr}"),
        NodeEvent::PeerConnected { peer, circles } if circles.is_empty() => {
            format!("peer {peer} connected (no circle in common)")
        }
        NodeEvent::PeerConnected { peer, circles } => {
            format!("peer {peer} connected, syncing {}", circles.join(", "))
        }
        NodeEvent::PeerDisconnected { peer } => format!("peer {peer} disconnected"),
        NodeEvent::PeerSynced { peer, circle } => format!("{circle} in sync with {peer}"),
        NodeEvent::PeerMisbehaved { peer, reason } => {
            format!("dropped peer {peer}: {reason}")
        }
    };
    out.line(&line);
}
