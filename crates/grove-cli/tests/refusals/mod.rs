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

#[test]
fn filters_naming_nothing_are_refused_not_answered_with_nothing() {
    let g = Grove::new();
    let b = basics(&g);
    log(&g, &b.team, &b.principle, &[]);

    // A kind that does not exist is a usage error: clap lists the kinds.
    let err = g.fail(2, &["search", "Something", "--kind", "bogus"]);
    assert!(err.contains("decision") && err.contains("retro"), "{err}");
    assert_eq!(
        g.list(&["search", "Something", "--kind", "decision"]).len(),
        1,
        "a real kind still searches"
    );

    // Ids that name nothing in the circle: an error naming the id and where to find ids.
    for (flag, bad, list) in [
        ("--team", "t-nope", "grove team list"),
        ("--principle", "p-nope", "grove principle list"),
        ("--value", "v-nope", "grove value list"),
    ] {
        let err = g.fail(1, &["decision", "list", flag, bad]);
        assert!(err.contains(bad) && err.contains(list), "{err}");
    }
    let err = g.fail(1, &["search", "Something", "--team", "t-nope"]);
    assert!(err.contains("t-nope"), "{err}");
    let err = g.fail(1, &["search", "Something", "--principle", "p-nope"]);
    assert!(err.contains("p-nope"), "{err}");
    // Real ids still filter, including to nothing.
    assert_eq!(g.list(&["decision", "list", "--team", &b.team]).len(), 1);
    let other = g.create(&["team", "add", "Other"]);
    assert!(g.list(&["decision", "list", "--team", &other]).is_empty());
}

#[test]
fn a_vitality_window_of_zero_days_is_refused() {
    let g = Grove::new();
    basics(&g);
    for window in ["--window=0", "--window=-3", "--window=99999999999999"] {
        let err = g.fail(2, &["vitality", window]);
        assert!(err.contains("--window"), "{err}");
    }
    let v = g.json(&["vitality", "--window", "7"]);
    assert_eq!(v["window_days"], 7);
}

#[test]
fn peer_add_remembers_only_dialable_peer_addresses() {
    let g = Grove::new();
    g.create(&["circle", "create", "Peers"]);
    let peer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
    for bad in [
        String::new(),
        "   ".to_string(),
        "not-an-address".to_string(),
        "/ip4/127.0.0.1/tcp/4001".to_string(),
        format!("/p2p/{peer}"),
        format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}/ip4/10.0.0.1"),
    ] {
        let err = g.fail(1, &["peer", "add", &bad]);
        assert!(
            err.contains("/p2p/") && err.contains("multiaddr"),
            "{bad:?} is refused saying what an address looks like: {err}"
        );
    }
    let good = format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}");
    let done = g.done(&["peer", "add", &good]);
    assert!(done.contains("remembered"), "{done}");
}

#[test]
fn a_device_id_that_is_no_usable_public_key_is_refused() {
    let g = Grove::new();
    g.create(&["circle", "create", "Keys"]);
    // All zeros and the identity point decode as curve points of small order: anyone can
    // "sign" for them, so no one must be admitted with them.
    let zeros = "0".repeat(64);
    let identity = format!("01{}", "0".repeat(62));
    for bad in [&zeros, &identity] {
        let err = g.fail(1, &["member", "admit", bad, "--name", "Nobody"]);
        assert!(err.contains("not a device id"), "{err}");
    }
    assert_eq!(g.list(&["member", "list"]).len(), 1, "no one was admitted");
    // A real device's id is admitted.
    let other = Grove::new();
    let device = other.json(&["device", "id"])["device"]
        .as_str()
        .unwrap()
        .to_string();
    g.done(&["member", "admit", &device, "--name", "Real"]);
    assert_eq!(g.list(&["member", "list"]).len(), 2);
}

#[test]
fn a_list_field_is_bounded_as_a_whole_not_only_item_by_item() {
    let g = Grove::new();
    g.create(&["circle", "create", "Lists"]);
    // Each example is under the 20,000-byte field limit; together they are far over it.
    let example = "x".repeat(15_000);
    let mut args = vec!["value", "add", "--title", "Big", "--statement", "s"];
    for _ in 0..3 {
        args.extend(["--example", example.as_str()]);
    }
    let err = g.fail(1, &args);
    assert!(
        err.contains("examples") && err.contains("20000"),
        "names the list and the limit: {err}"
    );
    assert!(g.list(&["value", "list"]).is_empty(), "nothing was added");

    let mut args = vec!["role", "add", "Big", "--purpose", "p"];
    for _ in 0..3 {
        args.extend(["--accountability", example.as_str()]);
    }
    let err = g.fail(1, &args);
    assert!(err.contains("accountabilities"), "{err}");

    // Within the limit, a list of several long items is fine.
    let fine = "y".repeat(6_000);
    g.create(&[
        "value",
        "add",
        "--title",
        "Fine",
        "--statement",
        "s",
        "--example",
        &fine,
        "--example",
        &fine,
        "--example",
        &fine,
    ]);
}

/// A second `grove` on a home another one-shot `grove` is using waits a moment for it
/// instead of failing at once. No sleep: the test releases the lock once the waiting
/// process says (in its info log) that it waits.
#[test]
fn a_busy_home_is_waited_for_a_moment() {
    use std::io::BufRead as _;
    let g = Grove::new();
    g.create(&["circle", "create", "Busy"]);
    // Held the way a running grove process holds it (see grove-store's home.rs).
    let lock = std::fs::File::options()
        .write(true)
        .open(g.home().join("store.lock"))
        .unwrap();
    lock.try_lock().expect("no one else holds the lock");

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("grove"))
        .env_remove("GROVE_HOME")
        .env_remove("GROVE_PASSPHRASE")
        .env("GROVE_LOG", "info")
        .arg("--home")
        .arg(g.home())
        .args([
            "value",
            "add",
            "--title",
            "Patience",
            "--statement",
            "It waits.",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).unwrap();
        assert!(n > 0, "grove ended without waiting for the lock: {seen}");
        seen.push_str(&line);
        if line.contains("waiting") {
            break;
        }
    }
    drop(lock);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert!(
        status.success(),
        "the waiting command succeeds: {seen}{rest}"
    );
    let values = g.list(&["value", "list"]);
    assert_eq!(values.len(), 1, "and its change is there");
    assert_eq!(values[0]["title"], "Patience");
}
