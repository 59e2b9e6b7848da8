//! Views the API returns beyond the core's own entities (which are DTOs already).

use grove_core::{CircleInfo, Principle};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CircleSummary {
    #[serde(flatten)]
    pub info: CircleInfo,
    pub members: usize,
    pub values: usize,
    /// Months that have decisions.
    pub months: usize,
}

/// This device and the member it acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Me {
    pub member: String,
    /// The device's public key (hex).
    pub device: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrincipleView {
    #[serde(flatten)]
    pub principle: Principle,
    /// How many decisions cite it.
    pub citations: usize,
}
