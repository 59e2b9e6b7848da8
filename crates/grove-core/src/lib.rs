//! Grove core.
