//! Grove's desktop shell: starts a node on the default home, exposes it to the window as
//! thin commands, and forwards node events so views refresh live. No business logic here.

pub mod bindings;
mod commands;
mod error;
mod events;
mod home;
mod operations;
mod views;

pub use commands::COMMAND_NAMES;
pub use error::{CommandError, CommandResult};
pub use home::HomeStatus;
pub use views::{DecisionRow, RowPage, ZoneInfo};

use tauri::Manager;

/// Opens the window on the node at the default home (`GROVE_HOME`, else the OS data dir);
/// an encrypted home opens locked, on the Unlock screen.
pub fn run() {
    init_tracing();
    let result = tauri::Builder::default()
        .setup(|app| {
            let window = app.handle().clone();
            let forward = move |node: &grove_node::NodeHandle| {
                events::forward(window.clone(), node.subscribe())
            };
            let dir = grove_node::resolve_home(None).map_err(CommandError::from);
            let home = tauri::async_runtime::block_on(home::Home::open(dir, start(), forward));
            app.manage(commands::Desktop { home });
            Ok(())
        })
        .invoke_handler(commands::invoke_handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!("Grove's window could not run: {e}");
        std::process::exit(1);
    }
}

/// The app is a full peer: networking on, mDNS on unless `GROVE_MDNS=0`; tests pin where it
/// listens with `GROVE_LISTEN`, by default it listens everywhere on any port.
fn start() -> home::Start {
    home::Start {
        network: true,
        mdns: std::env::var("GROVE_MDNS").map_or(true, |v| v != "0"),
        listen: std::env::var("GROVE_LISTEN")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect(),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
