//! The one task that carries node events to the window, where views re-query what changed.

use grove_node::NodeEvent;
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::{error::RecvError, Receiver};

/// Window event carrying a [`NodeEvent`].
pub const NODE_EVENT: &str = "node-event";
/// Window event sent when events were dropped because the window fell behind: every view
/// should re-query, since it cannot know what it missed.
pub const NODE_RESYNC: &str = "node-resync";

pub fn forward(app: AppHandle, mut events: Receiver<NodeEvent>) {
    tauri::async_runtime::spawn(async move {
        loop {
            let sent = match events.recv().await {
                Ok(event) => app.emit(NODE_EVENT, event),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        "window fell behind node events; asking it to re-query"
                    );
                    app.emit(NODE_RESYNC, ())
                }
                Err(RecvError::Closed) => break,
            };
            if let Err(e) = sent {
                tracing::warn!("cannot deliver a node event to the window: {e}");
            }
        }
    });
}
