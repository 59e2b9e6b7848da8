//! The one error type of the domain core.

use automerge::AutomergeError;

/// What went wrong, coarsely, so callers can pick an exit code or a UI treatment
/// without matching on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The id names nothing in this circle.
    NotFound,
    /// The input breaks a domain rule; the message says which.
    Invalid,
    /// The entity is in a state that forbids the operation (e.g. resolving a resolved escalation).
    State,
    /// The document does not have the shape Grove writes: damaged or from a newer Grove.
    Corrupt,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    #[error("no {kind} `{id}` in this circle")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    State(String),
    #[error("the circle document is damaged or was written by a newer Grove: {0}")]
    Corrupt(String),
    #[error("the circle document could not be read or changed: {0}")]
    Automerge(#[from] AutomergeError),
    /// Changes refused by authorisation: a bad or missing signature, an author who is not a
    /// member device. Nothing of them was merged.
    #[error("refused changes: {0}")]
    Unauthorized(#[from] crate::sync::AuthError),
    /// A caller read or wrote escalations before loading their document: a bug upstream.
    #[error("the circle's escalations are not loaded; open them first")]
    EscalationsNotLoaded,
}

impl CoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::NotFound { .. } => ErrorKind::NotFound,
            CoreError::Invalid(_) | CoreError::Unauthorized(_) => ErrorKind::Invalid,
            CoreError::State(_) | CoreError::EscalationsNotLoaded => ErrorKind::State,
            CoreError::Corrupt(_) | CoreError::Automerge(_) => ErrorKind::Corrupt,
        }
    }

    pub(crate) fn not_found(kind: &'static str, id: &str) -> Self {
        CoreError::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        CoreError::Invalid(msg.into())
    }

    pub(crate) fn state(msg: impl Into<String>) -> Self {
        CoreError::State(msg.into())
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
