//! The closed vocabularies of the domain: zones, outcomes, statuses, answers.
//! Each is stored and shown as its kebab-case word.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum $name {
            $(#[serde(rename = $word)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// Reads a stored word; unknown words (from a newer Grove) fall back to `default`.
            #[allow(dead_code)]
            pub(crate) fn from_stored(s: &str, default: $name) -> $name {
                s.parse().unwrap_or(default)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::CoreError;
            fn from_str(s: &str) -> Result<Self, $crate::error::CoreError> {
                match s.trim() {
                    $($word => Ok($name::$variant),)+
                    other => Err($crate::error::CoreError::invalid(format!(
                        "`{other}` is not a {}: use one of {}",
                        $what,
                        [$($word),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(
    /// Whether a value still guides decisions.
    ValueStatus, "value status" { Active => "active", Retired => "retired" }
);

vocabulary!(
    /// A principle's life: active, under review (e.g. its value was retired), retired.
    PrincipleStatus, "principle status" {
        Active => "active",
        UnderReview => "under-review",
        Retired => "retired",
    }
);

vocabulary!(
    /// Who needs to know about a decision: the escalation path of seed step 5.
    Zone, "zone" {
        Local => "local",
        PrincipleCheck => "principle-check",
        CentreAwareness => "centre-awareness",
        CentreIntervention => "centre-intervention",
    }
);

impl Zone {
    /// Centre zones land in the stewards' inbox as escalations.
    pub fn escalates(self) -> bool {
        matches!(self, Zone::CentreAwareness | Zone::CentreIntervention)
    }

    /// One line for pickers and help text.
    pub fn explain(self) -> &'static str {
        match self {
            Zone::Local => "decide and log it; no one else needs to act",
            Zone::PrincipleCheck => "check with a peer that the principle applies before acting",
            Zone::CentreAwareness => "act, and make sure the stewards know (lands in their inbox)",
            Zone::CentreIntervention => "the stewards must respond before or while you act",
        }
    }
}

vocabulary!(
    /// How a decision turned out.
    Outcome, "outcome" { Worked => "worked", Mixed => "mixed", Failed => "failed" }
);

vocabulary!(
    /// Whether a decision's result has been recorded.
    DecisionStatus, "decision status" { Open => "open", Resulted => "resulted" }
);

vocabulary!(
    /// How the stewards answer an escalated decision: they defend it, guide the team, or
    /// stop it.
    Verdict, "verdict" {
        Back => "back",
        Coach => "coach",
        Stop => "stop",
    }
);

vocabulary!(
    EscalationStatus, "escalation status" {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
);

vocabulary!(
    /// A member's answer in a consent round.
    Answer, "answer" { Consent => "consent", Concern => "concern", Objection => "objection" }
);

vocabulary!(
    /// `contested`: passed while an answer it never saw was being given (a partition); its
    /// effects wait, and the round is open again.
    ProposalStatus, "proposal status" {
        Open => "open",
        Passed => "passed",
        Contested => "contested",
        Withdrawn => "withdrawn",
    }
);

vocabulary!(
    CommitmentStatus, "commitment status" { Open => "open", Done => "done", Dropped => "dropped" }
);

vocabulary!(
    ReviewStatus, "review status" { Open => "open", Closed => "closed" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_roundtrip_and_errors_list_choices() {
        for z in Zone::ALL {
            assert_eq!(z.as_str().parse::<Zone>().unwrap(), *z);
        }
        let err = "centre".parse::<Zone>().unwrap_err().to_string();
        assert!(
            err.contains("centre-awareness") && err.contains("local"),
            "{err}"
        );
        assert_eq!(Zone::from_stored("future-zone", Zone::Local), Zone::Local);
    }
}
