//! The `grove` command's parts: its arguments (clap), what each command does on a node,
//! and how it prints. The binary (src/main.rs) runs them on this process's node; a node
//! serving a home (`grove serve`, or the desktop app) runs the commands other `grove`
//! processes forward to it ([`forwarded`]).

pub mod args;
pub mod forwarded;
mod insight;
mod invite;
pub mod manual;
pub mod passphrase;
pub mod print;
mod progress;
pub mod run;
pub mod serve;
pub mod usage;

use grove_node::{NodeError, NodeErrorKind};

/// The wall clock, as the core's timestamps count it.
pub fn now() -> grove_node::core::Timestamp {
    grove_node::core::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default(),
    )
}

/// One line: the error, and for errors whose remedy is a flag, that flag.
pub fn message(e: &anyhow::Error) -> String {
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
