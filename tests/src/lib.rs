//! Grove's multi-node test harness: real nodes in one process, each on its own tokio runtime
//! (so a test can kill one mid-flight by dropping its runtime), with a temp sled home and
//! libp2p on 127.0.0.1 only.

pub mod harness;
