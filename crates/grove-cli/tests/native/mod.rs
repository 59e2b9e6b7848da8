//! `grove` as a native tool: it names its build, and its man page and shell completions
//! come from the same clap definitions as the command itself, without touching a home.

use super::*;

#[test]
fn version_names_the_build() {
    let g = Grove::new();
    let version = g.ok(&["--version"]);
    assert!(
        version.starts_with(&format!("grove {} ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    // Built from a git checkout (as every test run is): the commit it was built from.
    let head = std::process::Command::new("git")
        .args(["log", "-1", "--format=%h"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(head) = head {
        assert!(
            version.contains(&format!("({head} ")),
            "{version} vs {head}"
        );
    }
}

#[test]
fn completions_for_each_shell_know_the_commands() {
    let g = Grove::new();
    let bash = g.ok(&["completions", "bash"]);
    assert!(bash.contains("complete -F _grove"), "{bash}");
    let zsh = g.ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef grove"), "{zsh}");
    let fish = g.ok(&["completions", "fish"]);
    assert!(fish.contains("complete -c grove"), "{fish}");
    for script in [&bash, &zsh, &fish] {
        for command in ["decision", "escalation", "proposal", "completions"] {
            assert!(script.contains(command), "{command} missing");
        }
    }
    assert!(
        !g.home().exists(),
        "describing the command must not create a home"
    );
}

#[test]
fn the_man_page_prints_or_writes_one_page_per_command() {
    let g = Grove::new();
    let page = g.ok(&["man"]);
    assert!(page.contains(".TH grove 1"), "{page}");
    assert!(page.contains("decision"), "the page lists the subcommands");

    let dir = g.file("man1");
    g.ok(&["man", "--out", dir.to_str().unwrap()]);
    for name in ["grove.1", "grove-decision-log.1", "grove-circle-export.1"] {
        let page = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(page.starts_with(".ie") || page.contains(".TH"), "{name}");
    }
    let log = std::fs::read_to_string(dir.join("grove-decision-log.1")).unwrap();
    assert!(
        log.contains("\\-\\-zone"),
        "a subcommand's page has its options"
    );
    assert!(!g.home().exists());
}

#[test]
fn long_work_draws_no_progress_line_off_a_terminal() {
    let g = Grove::new();
    let out = g.cmd(&["demo", "--decisions", "20"]).output().unwrap();
    assert!(out.status.success());
    // Scripts read stdout and stderr: the spinner is for people at a terminal only.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
