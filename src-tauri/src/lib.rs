//! Grove's desktop shell: starts a node on the default home, exposes it to the window as
//! thin commands, and forwards node events so views refresh live. No business logic here.

pub mod bindings;
mod commands;
mod error;
mod events;
mod home;
mod views;

pub use error::{CommandError, CommandResult};
pub use home::HomeStatus;
pub use views::{DecisionRow, RowPage, ZoneInfo};

use tauri::Manager;

/// Every command the window may call. One list feeds both the invoke handler and the
/// `Command` type in the generated bindings, so the two cannot disagree.
macro_rules! with_commands {
    ($then:ident) => {
        $then![
            home_status,
            unlock,
            lock,
            change_passphrase,
            me,
            set_name,
            circles,
            create_circle,
            demo,
            export_circle,
            disk_usage,
            zones,
            values,
            add_value,
            edit_value,
            retire_value,
            principles,
            principle_list,
            add_principle,
            amend_principle,
            retire_principle,
            supersede_principle,
            teams,
            add_team,
            join_team,
            leave_team,
            members,
            log_decision,
            record_result,
            edit_decision,
            mark_read,
            link_decisions,
            decision,
            decision_page,
            consultation,
            acknowledge_consultation,
            escalations,
            acknowledge_escalation,
            resolve_escalation,
            proposals,
            stewardship,
            rotate_stewards,
            keepers,
            rotate_keepers,
            zone_rules,
            open_proposal,
            respond,
            revise_proposal,
            pass_proposal,
            withdraw_proposal,
            roles,
            add_role,
            assign_role,
            rotate_role,
            commitments,
            add_commitment,
            set_commitment_status,
            retros,
            add_retro,
            reviews,
            open_review,
            add_agenda_item,
            add_learning,
            close_review,
            tensions,
            raise_tension,
            address_tension,
            gather_tensions,
            vitality,
            related,
            related_to_draft,
            net_info,
            peers,
            pending_changes,
            member_list,
            remove_member,
            revoke_device,
            create_invite,
            create_device_link,
            invites,
            revoke_invite,
            join
        ]
    };
}

macro_rules! handler {
    ($($name:ident),* $(,)?) => {
        tauri::generate_handler![$(commands::$name),*]
    };
}

macro_rules! names {
    ($($name:ident),* $(,)?) => {
        &[$(stringify!($name)),*]
    };
}

/// The names of every command, in the order the handler lists them.
pub const COMMAND_NAMES: &[&str] = with_commands!(names);

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
        .invoke_handler(with_commands!(handler))
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
