//! This node's own joins in flight, waiting for the inviter's answer (strangers' attempts
//! are the session machine's). The joiner's side is `join.rs`; the answer arrives in
//! `state/admission.rs`.

use std::collections::HashMap;

use grove_net::PeerId;
use tokio::sync::oneshot;

use crate::error::Result;

/// A join waiting for the inviter's answer.
pub(crate) struct Pending {
    pub(crate) circle: String,
    pub(crate) reply: oneshot::Sender<Result<String>>,
}

/// The join state of a node: its own joins in flight (strangers' attempts are the session
/// machine's).
#[derive(Default)]
pub(crate) struct Joins {
    pub(crate) pending: HashMap<PeerId, Pending>,
}
