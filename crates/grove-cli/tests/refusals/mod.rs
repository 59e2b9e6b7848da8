//! Commands that must be refused (or wait) rather than do something the user did not mean:
//! each refusal exits non-zero with one line saying what to do, and changes nothing.

use super::*;

#[test]
fn usage_errors_are_one_line_and_help_stays_whole() {
    let g = Grove::new();
    for args in [
        &["frobnicate"][..],
        &["value", "show"],
        &["decision", "list", "--bogus"],
        &["decision", "list", "--zone", "nowhere"],
        &["vitality", "--window", "soon"],
        &["circle", "create"],
    ] {
        let out = g.cmd(args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "a usage error of {args:?} should be one line: {err}"
        );
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(
            !err.contains("Usage:") && !err.contains("For more information"),
            "{args:?}: {err}"
        );
        assert!(err.contains("--help"), "says where to look: {err}");
    }
    let err = g.fail(2, &["decision", "list", "--zone", "nowhere"]);
    assert!(
        err.contains("centre-awareness") && err.contains("grove decision list --help"),
        "names the possible values and the command's help: {err}"
    );
    let help = g.ok(&["decision", "list", "--help"]);
    assert!(help.contains("Usage:") && help.contains("--team"), "{help}");
}
