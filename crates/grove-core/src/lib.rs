//! Grove's pure domain core: the coherence layer of a circle over Automerge documents.
//!
//! No I/O happens here: no clock, no disk, no network. Time, identity and randomness come
//! in through [`Ctx`]; persistence is the caller's job through [`Circle::unsaved`].

pub mod archive;
mod at;
mod authorize;
pub mod bundle;
mod charter;
mod circle;
mod clock;
mod commitments;
pub mod consent;
mod consultation;
mod ctx;
mod decisions;
mod error;
mod escalations;
mod fields;
mod governance;
pub mod invite_code;
mod invites;
mod keepers;
mod keys;
mod members;
mod month_changes;
mod nodes;
mod office;
pub mod parallel;
mod principles;
mod proposals;
mod purge;
mod retros;
mod reviews;
mod roles;
pub mod session;
pub mod sync;
mod teams;
mod tension_cache;
mod tensions;
mod touched;
mod values;
mod vitality;
mod words;
mod zones;

pub use authorize::{Authorized, RefusedChange};
pub use automerge;
pub use circle::{
    circle_doc_for_month, decision_doc, is_replayed, shard_doc, shard_period, Circle, CircleInfo,
    Clock, LoadedDoc, Unsaved, CORE_DOC, ESCALATIONS_DOC, SCHEMA,
};
pub use clock::{Day, Timestamp, DAY_MS};
pub use commitments::{Commitment, NewCommitment};
pub use consent::{Round, Standing, Voice};
pub use consultation::Consultee;
pub use ctx::Ctx;
pub use decisions::{
    Decision, DecisionEdit, DecisionFilter, DecisionResult, HistoryEntry, MonthTally, MonthWindow,
    NewDecision, Reader,
};
pub use error::{CoreError, ErrorKind, Result};
pub use escalations::Escalation;
pub use fields::{Conflict, MAX_TEXT};
pub use invite_code::{CodeError, InviteCode, CODE_PREFIX, INVITE_SECRET_LEN, MAX_CODE_ADDRS};
pub use invites::{
    invite_verifier, join_proof, Admitted, Invite, InviteKind, InviteState, JoinRequest, Refusal,
    JOIN_PROOF_LEN, MAX_INVITE_USES,
};
pub use keepers::Keepers;
pub use keys::CIRCLE_KEY_LEN;
pub use members::{
    MemberStanding, Membership, Stewardship, Writer, FOUNDER_TERM_DAYS, MAX_STEWARD_TERM_DAYS,
};
pub use nodes::{KnownNode, MAX_NODE_ADDRS};
pub use principles::{Amendment, NewPrinciple, Principle, PrincipleVersion};
pub use proposals::{
    Contest, NewProposal, Proposal, ProposalChange, ProposalView, Receipt, Response,
    ResponseLogEntry,
};
pub use purge::Purged;
pub use retros::{NewRetro, Retro};
pub use reviews::{NewReview, PrincipleChange, Review, ReviewChanged};
pub use roles::{NewRole, Role, Rotation};
pub use teams::{Member, Team};
pub use tensions::{
    Evidence, Tension, TensionCache, TensionClosure, TensionInputs, TensionKind, FAILURES_IN_A_ROW,
    MAX_ACTIVE_VALUES, MAX_PRINCIPLES_PER_VALUE, TEAMS_STRUGGLING,
};
pub use values::{NewValue, Value, ValueEdit, ValueVersion};
pub use vitality::{
    Band, DecayCategory, Figure, Replant, Trend, Vitality, VitalityCache, VitalityInputs, WeekCount,
};
pub use words::{
    Answer, CommitmentStatus, DecisionStatus, EscalationStatus, Outcome, PrincipleStatus,
    ProposalStatus, ReviewStatus, ValueStatus, Verdict, Zone,
};
pub use zones::ZoneRule;

#[cfg(test)]
pub(crate) mod tests;
