//! A line on stderr while long work runs (a demo, an import, a first sync, a re-seal), so a
//! person at a terminal sees that `grove` is busy and for how long. Nothing when stderr is
//! not a terminal (scripts, pipes, tests), and nothing for a command a serving node runs
//! for another process: its stderr is the server's, not the asker's.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::print::Out;

/// Shown until dropped, then cleared, leaving the command's own output alone.
pub struct Progress(ProgressBar);

impl Progress {
    pub fn start(out: &Out, what: &str) -> Progress {
        if !out.is_direct() {
            return Progress(ProgressBar::hidden());
        }
        // indicatif's stderr target hides itself when stderr is not a terminal.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(bar)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
