//! Commands another `grove` process sent over the control socket, run on the node that
//! holds the home: `grove serve`'s, or the desktop app's while it is open, so `grove` keeps
//! working beside a running app instead of failing on the store's lock. The request is the
//! client's argv, parsed here with the same clap definitions, so a forwarded command means
//! exactly what it means run directly.

use std::path::Path;

use clap::Parser as _;
use grove_node::control::{serve_control, ControlReply, ControlRequest, ControlServer};
use grove_node::NodeHandle;

use crate::args::{Cli, Command};
use crate::print::Out;

/// Answers `grove` commands for `home` on its control socket until the returned server is
/// dropped. `node` must hold `home` (a started node), so no other process writes it.
pub fn serve(home: &Path, node: &NodeHandle) -> grove_node::Result<ControlServer> {
    let node = node.clone();
    serve_control(home, move |request| {
        let node = node.clone();
        async move { run(&node, request).await }
    })
}

/// Runs a command another `grove` process sent, capturing what it prints.
pub async fn run(node: &NodeHandle, request: ControlRequest) -> ControlReply {
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
            "a Grove node (the desktop app or `grove serve`) already serves this home; \
             close it before starting another"
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
            stderr: out.warnings(),
            code: 0,
        },
        Err(e) => ControlReply {
            stdout,
            stderr: format!(
                "{}error: {}\n",
                out.warnings(),
                crate::print::cell(&crate::message(&e))
            ),
            code: 1,
        },
    }
}
