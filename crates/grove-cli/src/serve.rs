//! `grove serve`: this device's node in the foreground. It syncs with peers, relays for
//! members behind NAT, records its addresses in every circle, and runs other `grove`
//! commands on this home sent over the control socket.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser as _;
use grove_node::control::{serve_control, ControlReply, ControlRequest};
use grove_node::{Node, NodeEvent, NodeHandle};
use tokio::sync::broadcast;

use crate::args::{Cli, Command};
use crate::print::Out;

pub struct Options {
    pub home: Option<PathBuf>,
    pub json: bool,
    pub listen: Vec<String>,
    pub peers: Vec<String>,
    pub mdns: bool,
    pub passphrase: Option<crate::passphrase::Secret>,
}

pub async fn serve(options: Options) -> Result<()> {
    let home = grove_node::resolve_home(options.home.as_deref())?;
    let mut builder = Node::builder()
        .home(&home)
        .network(true)
        .always_on(true)
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
    let recorded = node.announce_addresses().await?;
    let handler_node = node.clone();
    let _control = serve_control(&home, move |request| {
        let node = handler_node.clone();
        async move { run_forwarded(&node, request).await }
    })?;
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
                Ok(event) => show(&out, &event),
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

/// Runs a command another `grove` process sent, capturing what it prints.
async fn run_forwarded(node: &NodeHandle, request: ControlRequest) -> ControlReply {
    let args = request.argv;
    let argv = std::iter::once("grove".to_string()).chain(args.iter().cloned());
    let mut cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let rendered = e.render().to_string();
            let (stdout, stderr) = match crate::usage::one_line(&e, &args) {
                Some(line) => (String::new(), line),
                // Help and version go where clap puts them: stdout, or stderr for a bare
                // command group's help (which exits 2).
                None if e.use_stderr() => (String::new(), rendered),
                None => (rendered, String::new()),
            };
            return ControlReply {
                stdout,
                stderr,
                code: e.exit_code(),
            };
        }
    };
    if let Err(e) = cli.command.resolve_paths(request.cwd.as_deref()) {
        return ControlReply {
            stdout: String::new(),
            stderr: format!("error: {}\n", crate::message(&e)),
            code: 1,
        };
    }
    let (out, buffer) = Out::buffer(cli.json, crate::now());
    let result = match cli.command {
        Command::Serve { .. } => Err(anyhow::anyhow!(
            "a grove node already serves this home; stop it (Ctrl-C) before starting another"
        )),
        command => crate::run::run(node, cli.circle, command, &out).await,
    };
    let stdout = buffer
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    match result {
        Ok(()) => ControlReply {
            stdout,
            stderr: String::new(),
            code: 0,
        },
        Err(e) => ControlReply {
            stdout,
            stderr: format!("error: {}\n", crate::print::cell(&crate::message(&e))),
            code: 1,
        },
    }
}
