//! The `grove` command: every Grove feature, headless.

mod args;
mod insight;
mod print;
mod run;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use grove_node::{Node, NodeError, NodeErrorKind};

fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help/--version.
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GROVE_LOG")
                // automerge logs its own load failures at ERROR; the error we print already
                // carries that text, and a second, differently shaped line confuses scripts.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,automerge=off")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
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
    match runtime.block_on(execute(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(1)
        }
    }
}

async fn execute(cli: args::Cli) -> anyhow::Result<()> {
    let mut builder = Node::builder();
    if let Some(home) = &cli.home {
        builder = builder.home(home);
    }
    let node = builder.spawn()?;
    let out = print::Out {
        json: cli.json,
        now: grove_node::core::Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default(),
        ),
    };
    run::run(&node, cli.circle, cli.command, &out).await
}

/// One line: the error, and for errors whose remedy is a flag, that flag.
fn message(e: &anyhow::Error) -> String {
    let Some(node) = e.downcast_ref::<NodeError>() else {
        return format!("{e:#}");
    };
    match node.kind() {
        NodeErrorKind::AmbiguousCircle => format!("{node} (pass --circle ID)"),
        NodeErrorKind::NoCircle => {
            format!("{node}: `grove circle create NAME` or `grove circle import FILE`")
        }
        NodeErrorKind::NotFound => {
            format!("{node} (check the id with the matching `list` command)")
        }
        _ => node.to_string(),
    }
}
