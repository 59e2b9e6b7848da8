//! The node's open circles as the sync engine sees them: the core's [`CircleDocs`], which
//! also checks every peer's changes (signatures, authors) before they are applied.

pub(crate) use grove_core::sync::CircleDocs;
