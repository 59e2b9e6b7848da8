//! Names the build in `grove --version`: the crate's version and, when built from a git
//! checkout, the commit and its date ("0.1.0 (14a47c4 2026-12-06)"), so a bug report says
//! exactly which code ran. A packager without git may set GROVE_BUILD to what to show.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    println!("cargo:rerun-if-env-changed=GROVE_BUILD");
    let build = std::env::var("GROVE_BUILD")
        .ok()
        .filter(|b| !b.is_empty())
        .or_else(|| git(&["log", "-1", "--format=%h %cs"]));
    // Rebuild when the checked-out commit moves: HEAD, the branch it points to, and packed
    // refs. Only files that exist, or cargo would rerun this on every build.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    match build {
        Some(build) => println!("cargo:rustc-env=GROVE_VERSION={version} ({build})"),
        None => println!("cargo:rustc-env=GROVE_VERSION={version}"),
    }
}
