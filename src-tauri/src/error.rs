//! What a failed command hands the window: a kind the UI can branch on and a message a
//! person can read, never a debug string.

use grove_node::{NodeError, NodeErrorKind};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct CommandError {
    pub kind: NodeErrorKind,
    pub message: String,
}

impl From<NodeError> for CommandError {
    fn from(e: NodeError) -> Self {
        CommandError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
