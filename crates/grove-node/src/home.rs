//! Where a Grove home is.

use std::path::{Path, PathBuf};

use crate::error::{NodeError, Result};

/// Where Grove keeps its data: the explicit directory, else `GROVE_HOME`, else the OS data
/// directory (e.g. `~/.local/share/grove`).
pub fn resolve_home(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("GROVE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("grove"))
        .ok_or(NodeError::NoDataDir)
}
