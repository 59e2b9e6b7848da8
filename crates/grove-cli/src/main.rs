//! The `grove` command: every Grove feature, headless. Its parts live in the library
//! (src/lib.rs), which the desktop app shares to answer forwarded commands.

use grove_cli::{args, message, now, passphrase, print, run, serve, usage};

use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use grove_node::control::{self, ControlRequest, Passphrase};
use grove_node::{Node, NodeError, NodeErrorKind};

/// How long a one-shot command waits for its last frames to reach a peer before exiting.
const FLUSH_GRACE: Duration = Duration::from_secs(5);
/// How long a command waits for another one-shot `grove` to let go of the home.
const LOCK_WAIT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    // Before any thread starts: see crates/grove-node/src/heaps.rs.
    grove_node::heaps::limit();
    // Forwarded to a serving node as given, once clap has accepted it.
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match usage::one_line(&e, &argv) {
            // A usage error: one line, exit 2.
            Some(line) => {
                eprint!("{line}");
                return ExitCode::from(2);
            }
            // --help, --version, or a bare command group's help: as clap prints them.
            None => e.exit(),
        },
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GROVE_LOG")
                // automerge logs its own load failures at ERROR; the error we print already
                // carries that text, and a second, differently shaped line confuses scripts.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,automerge=off")),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal, and never when NO_COLOR is set (no-color.org); clap's
        // own help and errors follow the same rules.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(execute(cli, argv));
    ExitCode::from(code)
}

/// Runs the command and returns the exit code.
async fn execute(cli: args::Cli, argv: Vec<String>) -> u8 {
    match &cli.command {
        args::Command::Init { passphrase } => {
            let out = print::Out::stdout(cli.json, now());
            return report(passphrase::init(cli.home.as_deref(), *passphrase, &out).await);
        }
        // Neither needs a home: they describe the command itself.
        args::Command::Completions { shell } => {
            let out = print::Out::stdout(cli.json, now());
            return report(grove_cli::manual::completions(*shell, &out));
        }
        args::Command::Man { out: dir } => {
            let out = print::Out::stdout(cli.json, now());
            return report(grove_cli::manual::man(dir.as_deref(), &out));
        }
        args::Command::Passphrase(cmd) => {
            let out = print::Out::stdout(cli.json, now());
            return match passphrase::command(cli.home.as_deref(), cmd, &out) {
                Err(e) if is_locked(&e) => report(Err(e.context(
                    "stop the grove node serving this home before changing its passphrase",
                ))),
                other => report(other),
            };
        }
        _ => {}
    }
    let secret = match passphrase::for_opening(cli.home.as_deref()) {
        Ok(secret) => secret,
        Err(e) => return report(Err(e)),
    };
    if let args::Command::Serve {
        listen,
        peers,
        no_mdns,
        no_relay,
    } = &cli.command
    {
        let options = serve::Options {
            home: cli.home.clone(),
            json: cli.json,
            listen: listen.clone(),
            peers: peers.clone(),
            mdns: !no_mdns,
            always_on: !no_relay,
            passphrase: secret.clone(),
        };
        return match serve::serve(options).await {
            // Held by a node: it answers that it already serves this home.
            Err(e) if is_locked(&e) => forward(cli.home.as_deref(), argv, secret, e).await,
            other => report(other),
        };
    }
    // Only these need peers; every other command works on the store alone.
    let networked = matches!(
        cli.command,
        args::Command::Sync { .. } | args::Command::Peer(_) | args::Command::Join(_)
    );
    let builder = || {
        let mut builder = Node::builder();
        if let Some(home) = &cli.home {
            builder = builder.home(home);
        }
        if networked {
            builder = builder.network(true).mdns(false).no_listen();
        }
        if let Some(secret) = &secret {
            builder = builder.passphrase(secret.as_str());
        }
        builder
    };
    let node = match start_when_free(builder, cli.home.as_deref()).await {
        Ok(node) => node,
        Err(e) if e.kind() == NodeErrorKind::Locked => {
            return forward(cli.home.as_deref(), argv, secret, e.into()).await;
        }
        Err(e) => return report(Err(e.into())),
    };
    let out = print::Out::stdout(cli.json, now());
    let result = run::run(&node, cli.circle, cli.command, &out).await;
    if networked {
        let _ = node.shutdown_network(FLUSH_GRACE).await;
    }
    // Stop the node's loop before the runtime goes away, so none of its timers is polled
    // during runtime shutdown.
    let _ = node.stop().await;
    report(result)
}

/// Starts the node; while another one-shot `grove` holds the home, waits for it up to
/// [`LOCK_WAIT`] (polling with backoff), since such commands take a moment. Fails with
/// `Locked` at once when a node serving the home answers on its control socket (the caller
/// hands it the command), or once the wait is over.
async fn start_when_free(
    builder: impl Fn() -> grove_node::NodeBuilder,
    home: Option<&std::path::Path>,
) -> Result<grove_node::NodeHandle, NodeError> {
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(20);
    let mut said = false;
    loop {
        match builder().start().await {
            Err(e) if e.kind() == NodeErrorKind::Locked => {
                let now = tokio::time::Instant::now();
                if now >= deadline || serving(home) {
                    return Err(e);
                }
                if !said {
                    tracing::info!(
                        "the home is in use by another grove process; waiting up to {} s for it",
                        LOCK_WAIT.as_secs()
                    );
                    said = true;
                }
                tokio::time::sleep(pause.min(deadline - now)).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}

/// Whether a node serving `home` listens on its control socket (a socket file left by a
/// process that died refuses the connection).
fn serving(home: Option<&std::path::Path>) -> bool {
    grove_node::resolve_home(home).is_ok_and(|home| {
        std::os::unix::net::UnixStream::connect(control::control_socket(&home)).is_ok()
    })
}

/// The home is held by a running node: have it run the command. The passphrase goes along:
/// the node checks it as a direct open would, so holding the socket is not enough.
async fn forward(
    home: Option<&std::path::Path>,
    argv: Vec<String>,
    secret: Option<passphrase::Secret>,
    locked: anyhow::Error,
) -> u8 {
    let home = match grove_node::resolve_home(home) {
        Ok(home) => home,
        Err(_) => return report(Err(locked)),
    };
    let request = ControlRequest {
        argv,
        // The node runs elsewhere: it resolves relative paths against this directory.
        cwd: std::env::current_dir().ok(),
        passphrase: secret.map(|s| Passphrase::new(s.as_str())),
    };
    match control::call(&home, &request).await {
        Ok(reply) => {
            let _ = std::io::stdout().write_all(reply.stdout.as_bytes());
            let _ = std::io::stderr().write_all(reply.stderr.as_bytes());
            u8::try_from(reply.code).unwrap_or(1)
        }
        Err(e) => report(Err(e.into())),
    }
}

fn is_locked(e: &anyhow::Error) -> bool {
    e.downcast_ref::<NodeError>()
        .is_some_and(|e| e.kind() == NodeErrorKind::Locked)
}

fn report(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            // One line, and nothing in it (a peer's text, a path) may act on the terminal.
            eprintln!("error: {}", print::cell(&message(&e)));
            1
        }
    }
}
