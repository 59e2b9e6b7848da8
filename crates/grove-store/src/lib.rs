//! Grove store.
