//! Grove node.
