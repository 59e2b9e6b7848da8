//! grove-node's API on real sled homes in temp dirs, in one test binary (link time).

mod months;
mod paging;
