//! Grove test harness.
