//! The man page and shell completions, generated from the clap definitions in args.rs, so
//! they always describe the `grove` they come with. A package ships their output
//! (`grove man --out DIR`, `grove completions SHELL`); a user can also ask for them.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory as _;

use crate::args::Cli;
use crate::print::Out;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &Out) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "grove", &mut script);
    out.text(&String::from_utf8_lossy(&script));
    Ok(())
}

/// `grove(1)` on stdout, or with `dir`, it and one page per subcommand
/// (`grove-circle-export.1`, …) written into `dir`, as a package installs them.
pub fn man(dir: Option<&Path>, out: &Out) -> Result<()> {
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .context("cannot render the man page")?;
            out.text(&String::from_utf8_lossy(&page));
            Ok(())
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            let pages = std::fs::read_dir(dir)
                .map(|entries| entries.filter_map(|e| e.ok()).count())
                .unwrap_or(0);
            out.done(&format!("wrote {pages} man pages to {}", dir.display()))
        }
    }
}
