//! The `grove` binary as a user and a script see it: every command, its `--json` shape, the
//! effect it leaves for later commands, exit codes (0 ok, 1 failed, 2 usage) and one-line
//! `error:` messages. One test binary on purpose: each extra one costs a link on small CI
//! machines. Tests are scenarios sharing a circle, because each run of `grove` costs a process.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value as Json;
use tempfile::TempDir;

mod dates;
mod export;
mod native;
mod people;
mod refusals;
mod terminal;

/// One Grove home in a temp directory, and ways to run `grove` on it.
struct Grove {
    dir: TempDir,
    /// Environment variables every later command gets (passphrases).
    env: std::cell::RefCell<Vec<(String, String)>>,
}

impl Grove {
    fn new() -> Grove {
        Grove {
            dir: tempfile::tempdir().unwrap(),
            env: Default::default(),
        }
    }

    /// Sets (or with None, removes) a variable for every later command.
    fn set_env(&self, key: &str, value: Option<&str>) {
        let mut env = self.env.borrow_mut();
        env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            env.push((key.to_string(), v.to_string()));
        }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A file path next to the home, for exports.
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("grove").unwrap();
        // The user's real home must never leak into a test, nor a test into it.
        cmd.env_remove("GROVE_HOME")
            .env_remove("GROVE_LOG")
            .env_remove("GROVE_PASSPHRASE")
            .env_remove("GROVE_NEW_PASSPHRASE")
            .arg("--home")
            .arg(self.home())
            .args(args);
        for (k, v) in self.env.borrow().iter() {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "`grove {}` should succeed, got {:?}; stderr: {stderr}",
            args.join(" "),
            out.status.code()
        );
        assert!(!stderr.contains("panicked"), "panic in {args:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command with `--json` that must succeed; returns its parsed stdout.
    fn json(&self, args: &[&str]) -> Json {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "`grove {}` printed invalid JSON ({e}): {out}",
                all.join(" ")
            )
        })
    }

    /// A `--json` list command: the output must be an array.
    fn list(&self, args: &[&str]) -> Vec<Json> {
        match self.json(args) {
            Json::Array(items) => items,
            other => panic!(
                "`grove {}` should print a JSON array, got {other}",
                args.join(" ")
            ),
        }
    }

    /// A create command: `--json` prints `{"id": ...}`; returns the id.
    fn create(&self, args: &[&str]) -> String {
        let v = self.json(args);
        let id = v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("`grove {}` should print an id, got {v}", args.join(" ")));
        assert!(!id.is_empty(), "an empty id from {args:?}");
        id.to_string()
    }

    /// A change with nothing to return: `--json` prints `{"ok": true, "message": ...}`.
    fn done(&self, args: &[&str]) -> String {
        let v = self.json(args);
        assert_eq!(v["ok"], true, "{args:?} printed {v}");
        v["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{args:?} printed no message: {v}"))
            .to_string()
    }

    /// Runs a command that must fail with `code`; returns stderr after checking it is one
    /// line starting with `error:` (usage errors too) and no panic.
    fn fail(&self, code: i32, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "`grove {}` should exit {code}; stderr: {stderr}",
            args.join(" ")
        );
        assert!(!stderr.contains("panicked"), "panic in {args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: "),
            "stderr of {args:?} should start with `error: `: {stderr}"
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "a failure of {args:?} should be one line: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "a failing {args:?} should print nothing on stdout"
        );
        stderr
    }

    fn me(&self) -> String {
        self.json(&["member", "me"])["member"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn ids(items: &[Json]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strs(v: &Json) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// A circle with one value, one principle derived from it and one team.
struct Basics {
    value: String,
    principle: String,
    team: String,
}

fn basics(g: &Grove) -> Basics {
    g.create(&["circle", "create", "Test circle"]);
    let value = g.create(&[
        "value",
        "add",
        "--title",
        "Care",
        "--statement",
        "We look after each other.",
    ]);
    let principle = g.create(&[
        "principle",
        "add",
        "--value",
        &value,
        "--statement",
        "Ask before acting for someone.",
    ]);
    let team = g.create(&["team", "add", "Kitchen"]);
    Basics {
        value,
        principle,
        team,
    }
}

fn log(g: &Grove, team: &str, principle: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "decision",
        "log",
        "--team",
        team,
        "--principle",
        principle,
        "--context",
        "Something happened.",
        "--choice",
        "We did something.",
    ];
    args.extend_from_slice(extra);
    g.create(&args)
}

#[test]
fn circles_members_and_teams() {
    let g = Grove::new();
    assert!(
        g.list(&["circle", "list"]).is_empty(),
        "a new home has no circles"
    );
    g.ok(&["circle", "list"]);

    let id = g.create(&["circle", "create", "Tenants"]);
    let circles = g.list(&["circle", "list"]);
    assert_eq!(ids(&circles), vec![id.clone()]);
    assert_eq!(circles[0]["name"], "Tenants");
    assert_eq!(circles[0]["members"], 1, "the creator is the only member");
    assert_eq!(circles[0]["values"], 0);
    let show = g.json(&["circle", "show"]);
    assert_eq!(show["id"], id.as_str());
    assert_eq!(show["name"], "Tenants");
    let me = g.json(&["member", "me"]);
    let member = me["member"].as_str().unwrap().to_string();
    assert!(!me["device"].as_str().unwrap().is_empty());
    assert_eq!(show["created_by"], member.as_str());

    // Human output of a create command is the bare id, so scripts can capture it.
    let human = g.ok(&["team", "add", "Outreach", "--domain", "Door-knocking"]);
    let outreach = human.trim().to_string();
    assert!(!outreach.contains(' ') && !outreach.is_empty(), "{human}");

    g.done(&["member", "rename", "Noor"]);
    assert_eq!(g.json(&["member", "me"])["name"], "Noor");
    let members = g.list(&["member", "list"]);
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["id"], member.as_str());
    assert_eq!(
        members[0]["name"], "Noor",
        "renaming reaches the circle's member list"
    );
    g.fail(1, &["member", "rename", "  "]);

    let kitchen = g.create(&["team", "add", "Kitchen", "--domain", "Meals"]);
    g.fail(1, &["team", "add", "kitchen"]); // names are unique regardless of case
    let teams = g.list(&["team", "list"]);
    assert_eq!(
        sorted(ids(&teams)),
        sorted(vec![kitchen.clone(), outreach.clone()])
    );
    let k = teams.iter().find(|t| t["id"] == kitchen.as_str()).unwrap();
    assert_eq!(k["name"], "Kitchen");
    assert_eq!(k["domain"], "Meals");
    assert!(strs(&k["members"]).is_empty());

    g.done(&["team", "join", &kitchen]);
    g.done(&["team", "join", &outreach, "--member", &member]);
    let teams = g.list(&["team", "list"]);
    for t in &teams {
        assert_eq!(strs(&t["members"]), vec![member.clone()], "{t}");
    }
    let mine = strs(&g.list(&["member", "list"])[0]["teams"]);
    assert_eq!(
        sorted(mine),
        sorted(vec![kitchen.clone(), outreach.clone()])
    );

    g.done(&["team", "leave", &kitchen]);
    let teams = g.list(&["team", "list"]);
    let k = teams.iter().find(|t| t["id"] == kitchen.as_str()).unwrap();
    assert!(strs(&k["members"]).is_empty(), "left the team: {k}");
    let err = g.fail(1, &["team", "leave", &kitchen]);
    assert!(err.contains("not in team"), "{err}");
    g.fail(1, &["team", "join", &kitchen, "--member", "m-nobody"]);
}

#[test]
fn values_and_principles_with_their_history() {
    let g = Grove::new();
    g.create(&["circle", "create", "Values"]);
    let care = g.create(&[
        "value",
        "add",
        "--title",
        "Care",
        "--statement",
        "We look after each other.",
        "--protect",
        "Dignity",
        "--refuse",
        "Charity with conditions",
        "--example",
        "Share food",
        "--example",
        "Ask first",
    ]);
    let v = g.json(&["value", "show", &care]);
    assert_eq!(v["title"], "Care");
    assert_eq!(v["statement"], "We look after each other.");
    assert_eq!(v["protect"], "Dignity");
    assert_eq!(v["refuse"], "Charity with conditions");
    assert_eq!(strs(&v["examples"]), vec!["Share food", "Ask first"]);
    assert_eq!(v["status"], "active");
    assert_eq!(v["author"], g.me().as_str());

    g.done(&[
        "value",
        "edit",
        &care,
        "--title",
        "Mutual care",
        "--refuse",
        "Pity",
    ]);
    let v = g.json(&["value", "show", &care]);
    assert_eq!(v["title"], "Mutual care");
    assert_eq!(v["refuse"], "Pity");
    assert_eq!(
        v["statement"], "We look after each other.",
        "untouched fields stay"
    );
    g.fail(1, &["value", "edit", &care]); // nothing to change

    let safety = g.create(&[
        "value",
        "add",
        "--title",
        "Safety",
        "--statement",
        "No one is exposed.",
    ]);
    assert_eq!(
        ids(&g.list(&["value", "list"])),
        vec![care.clone(), safety.clone()]
    );

    let p1 = g.create(&[
        "principle",
        "add",
        "--value",
        &care,
        "--statement",
        "Ask what people need.",
        "--guidance",
        "Listen first.",
    ]);
    let p = g.json(&["principle", "show", &p1]);
    assert_eq!(p["statement"], "Ask what people need.");
    assert_eq!(p["guidance"], "Listen first.");
    assert_eq!(strs(&p["values"]), vec![care.clone()]);
    assert_eq!(p["status"], "active");
    assert_eq!(p["citations"], 0);
    assert_eq!(p["versions"].as_array().unwrap().len(), 1);

    let amended = g.json(&[
        "principle",
        "amend",
        &p1,
        "--statement",
        "Ask what people need, then act.",
        "--reason",
        "Asking alone helped no one.",
    ]);
    assert_eq!(amended["id"], p1.as_str());
    assert_eq!(amended["version"], 2);
    let p = g.json(&["principle", "show", &p1]);
    assert_eq!(p["statement"], "Ask what people need, then act.");
    let versions = p["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "the old version is kept: {p}");
    assert_eq!(versions[0]["statement"], "Ask what people need.");
    assert_eq!(versions[1]["version"], 2);
    assert_eq!(versions[1]["reason"], "Asking alone helped no one.");
    g.fail(
        1,
        &[
            "principle",
            "amend",
            &p1,
            "--statement",
            "x",
            "--reason",
            " ",
        ],
    );
    g.fail(2, &["principle", "amend", &p1, "--statement", "x"]); // --reason is required

    // Both values: still has an active value when one is retired.
    let p2 = g.create(&[
        "principle",
        "add",
        "--value",
        &care,
        "--value",
        &safety,
        "--statement",
        "Two people go together.",
    ]);
    let p3 = g.create(&[
        "principle",
        "add",
        "--value",
        &safety,
        "--statement",
        "Keep names private.",
    ]);
    let p4 = g.create(&[
        "principle",
        "add",
        "--value",
        &safety,
        "--statement",
        "Keep names and addresses private.",
        "--supersedes",
        &p3,
    ]);
    let old = g.json(&["principle", "show", &p3]);
    assert_eq!(old["status"], "retired");
    assert_eq!(old["superseded_by"], p4.as_str());
    assert_eq!(
        g.json(&["principle", "show", &p4])["supersedes"],
        p3.as_str()
    );

    let p5 = g.create(&[
        "principle",
        "add",
        "--value",
        &safety,
        "--statement",
        "Meet in public places.",
    ]);
    g.done(&["principle", "supersede", &p5, "--by", &p2]);
    let p = g.json(&["principle", "show", &p5]);
    assert_eq!(p["status"], "retired");
    assert_eq!(p["superseded_by"], p2.as_str());
    assert_eq!(
        g.json(&["principle", "show", &p2])["supersedes"],
        p5.as_str()
    );

    let p6 = g.create(&[
        "principle",
        "add",
        "--value",
        &care,
        "--statement",
        "Cook for everyone.",
    ]);
    g.done(&[
        "principle",
        "retire",
        &p6,
        "--reason",
        "We closed the kitchen.",
    ]);
    let p = g.json(&["principle", "show", &p6]);
    assert_eq!(p["status"], "retired");
    assert_eq!(p["retired_reason"], "We closed the kitchen.");
    g.fail(1, &["principle", "retire", &p6, "--reason", "again"]);
    g.fail(2, &["principle", "retire", &p6]); // --reason is required

    let list = g.list(&["principle", "list"]);
    assert_eq!(
        sorted(ids(&list)),
        sorted(vec![p1.clone(), p2.clone(), p3, p4.clone(), p5, p6])
    );
    assert!(list.iter().all(|p| p["citations"].is_number()), "{list:?}");

    // Retiring Safety leaves p4 without an active value (under review); p2 still has Care.
    let msg = g.done(&["value", "retire", &safety]);
    assert!(
        msg.contains(&p4),
        "the message names what went under review: {msg}"
    );
    assert_eq!(g.json(&["value", "show", &safety])["status"], "retired");
    assert_eq!(
        g.json(&["principle", "show", &p4])["status"],
        "under-review"
    );
    assert_eq!(g.json(&["principle", "show", &p2])["status"], "active");
    g.fail(1, &["value", "retire", &safety]);

    let err = g.fail(
        1,
        &["principle", "add", "--value", &safety, "--statement", "New"],
    );
    assert!(err.contains("retired"), "{err}");
    let err = g.fail(
        1,
        &["value", "add", "--title", "Honesty", "--statement", "   "],
    );
    assert!(err.contains("statement cannot be empty"), "{err}");
    let err = g.fail(
        1,
        &["principle", "add", "--value", &care, "--statement", ""],
    );
    assert!(err.contains("cannot be empty"), "{err}");
    g.fail(2, &["principle", "add", "--statement", "No value"]);
    g.fail(2, &["value", "add", "--title", "No statement"]);
}

#[test]
fn decisions_every_command_and_filter() {
    let g = Grove::new();
    let b = basics(&g);
    let me = g.me();
    let other_value = g.create(&[
        "value",
        "add",
        "--title",
        "Honesty",
        "--statement",
        "We say what happened.",
    ]);
    let other_principle = g.create(&[
        "principle",
        "add",
        "--value",
        &other_value,
        "--statement",
        "Record results.",
    ]);
    let comms = g.create(&["team", "add", "Comms"]);

    let d1 = g.create(&[
        "decision",
        "log",
        "--team",
        &b.team,
        "--principle",
        &b.principle,
        "--context",
        "The boiler in block C broke.",
        "--choice",
        "Call the plumber ourselves.",
        "--situation",
        "Repair-Request",
        "--result-due",
        "2031-02-03",
    ]);
    let d2 = g.create(&[
        "decision",
        "log",
        "--team",
        &comms,
        "--principle",
        &other_principle,
        "--context",
        "A journalist asked for photos.",
        "--choice",
        "No faces in pictures.",
        "--zone",
        "principle-check",
        "--situation",
        "press-request",
    ]);
    let d3 = g.create(&[
        "decision",
        "log",
        "--team",
        &b.team,
        "--principle",
        &other_principle,
        "--principle",
        &b.principle,
        "--context",
        "Police came to the meeting.",
        "--choice",
        "We ended the meeting.",
        "--zone",
        "centre-intervention",
        "--unsure-zone",
    ]);

    let all = g.list(&["decision", "list"]);
    assert_eq!(
        sorted(ids(&all)),
        sorted(vec![d1.clone(), d2.clone(), d3.clone()])
    );
    for d in &all {
        for key in [
            "id",
            "team",
            "author",
            "principles",
            "context",
            "choice",
            "zone",
            "status",
            "result",
            "created_at",
        ] {
            assert!(d.get(key).is_some(), "a listed decision lacks `{key}`: {d}");
        }
        assert_eq!(d["author"], me.as_str());
        assert_eq!(d["status"], "open");
        assert!(d["result"].is_null());
    }
    let first = all.iter().find(|d| d["id"] == d1.as_str()).unwrap();
    assert_eq!(first["team"], b.team.as_str());
    assert_eq!(strs(&first["principles"]), vec![b.principle.clone()]);
    assert_eq!(first["context"], "The boiler in block C broke.");
    assert_eq!(first["choice"], "Call the plumber ourselves.");
    assert_eq!(first["zone"], "local", "local is the default zone");
    assert_eq!(
        first["situation"], "repair-request",
        "situation keys are lower-cased"
    );
    assert_eq!(first["result_due"], "2031-02-03");
    let third = g.json(&["decision", "show", &d3]);
    assert_eq!(third["zone"], "centre-intervention");
    assert_eq!(third["zone_unsure"], true);
    assert_eq!(strs(&third["principles"]).len(), 2);

    // Newest first; --limit keeps the head of that order.
    let created: Vec<&str> = all
        .iter()
        .map(|d| d["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    let limited = g.list(&["decision", "list", "--limit", "2"]);
    assert_eq!(ids(&limited), ids(&all)[..2].to_vec());

    // result
    let msg = g.done(&[
        "decision",
        "result",
        &d1,
        "--text",
        "The plumber fixed it within a day.",
        "--outcome",
        "worked",
    ]);
    assert!(msg.contains(&d1), "{msg}");
    let d = g.json(&["decision", "show", &d1]);
    assert_eq!(d["status"], "resulted");
    assert_eq!(d["result"]["outcome"], "worked");
    assert_eq!(d["result"]["text"], "The plumber fixed it within a day.");
    assert_eq!(d["result"]["by"], me.as_str());
    g.fail(
        2,
        &[
            "decision",
            "result",
            &d1,
            "--text",
            "x",
            "--outcome",
            "great",
        ],
    );
    g.fail(
        1,
        &[
            "decision",
            "result",
            &d1,
            "--text",
            " ",
            "--outcome",
            "mixed",
        ],
    );

    // read: once marks, twice is a no-op that keeps the first reading.
    g.done(&["decision", "read", &d2]);
    let readers = g.json(&["decision", "show", &d2])["readers"].clone();
    assert_eq!(readers.as_array().unwrap().len(), 1);
    assert_eq!(readers[0]["member"], me.as_str());
    let again = g.done(&["decision", "read", &d2]);
    assert!(again.contains("already"), "{again}");
    assert_eq!(g.json(&["decision", "show", &d2])["readers"], readers);

    // link
    g.done(&["decision", "link", &d3, &d2]);
    let d = g.json(&["decision", "show", &d3]);
    assert_eq!(strs(&d["links"]), vec![d2.clone()]);
    let history: Vec<String> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap().to_string())
        .collect();
    assert!(history.iter().any(|h| h.contains(&d2)), "{history:?}");
    g.fail(1, &["decision", "link", &d3, &d3]);
    g.fail(1, &["decision", "link", &d3, "d-209901-nothere"]);

    // edit
    g.done(&[
        "decision",
        "edit",
        &d2,
        "--choice",
        "No faces, no names.",
        "--situation",
        "Press",
    ]);
    let d = g.json(&["decision", "show", &d2]);
    assert_eq!(d["choice"], "No faces, no names.");
    assert_eq!(d["situation"], "press");
    assert_eq!(d["context"], "A journalist asked for photos.");
    assert!(
        d["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["what"].as_str().unwrap().contains("choice")),
        "the edit is in the history: {d}"
    );
    g.fail(1, &["decision", "edit", &d2]);
    g.fail(1, &["decision", "edit", &d2, "--context", "  "]);

    // Human `show` names the reader and the result.
    let human = g.ok(&["decision", "show", &d1]);
    assert!(human.contains("worked"), "{human}");
    assert!(human.contains("read by:"), "{human}");

    // Every filter.
    let filter = |args: &[&str]| {
        let mut all = vec!["decision", "list"];
        all.extend_from_slice(args);
        sorted(ids(&g.list(&all)))
    };
    let both = |a: &String, b: &String| sorted(vec![a.clone(), b.clone()]);
    assert_eq!(filter(&["--team", &b.team]), both(&d1, &d3));
    assert_eq!(filter(&["--team", &comms]), vec![d2.clone()]);
    assert_eq!(filter(&["--principle", &b.principle]), both(&d1, &d3));
    assert_eq!(filter(&["--principle", &other_principle]), both(&d2, &d3));
    assert_eq!(filter(&["--value", &b.value]), both(&d1, &d3));
    assert_eq!(filter(&["--value", &other_value]), both(&d2, &d3));
    assert_eq!(filter(&["--zone", "local"]), vec![d1.clone()]);
    assert_eq!(filter(&["--zone", "principle-check"]), vec![d2.clone()]);
    assert_eq!(filter(&["--zone", "centre-intervention"]), vec![d3.clone()]);
    assert!(filter(&["--zone", "centre-awareness"]).is_empty());
    assert_eq!(filter(&["--status", "resulted"]), vec![d1.clone()]);
    assert_eq!(filter(&["--status", "open"]), both(&d2, &d3));
    assert_eq!(filter(&["--author", &me]).len(), 3);
    assert!(filter(&["--author", "m-someoneelse"]).is_empty());
    assert_eq!(filter(&["--situation", "repair-request"]), vec![d1.clone()]);
    assert_eq!(filter(&["--situation", "PRESS"]), vec![d2.clone()]);
    assert_eq!(filter(&["--unread"]), both(&d1, &d3));
    assert_eq!(filter(&["--search", "boiler"]), vec![d1.clone()]);
    assert_eq!(
        filter(&["--search", "PLUMBER day"]),
        vec![d1.clone()],
        "all words, any case, result text included"
    );
    assert!(filter(&["--search", "boiler journalist"]).is_empty());
    assert_eq!(filter(&["--limit", "1"]).len(), 1);
    assert!(filter(&["--limit", "0"]).is_empty());
    let today = &first["created_at"].as_str().unwrap()[..10];
    assert_eq!(filter(&["--since", today]).len(), 3);
    assert_eq!(
        filter(&["--until", today]).len(),
        3,
        "--until includes the whole day"
    );
    assert_eq!(
        filter(&["--since", "2000-01-01", "--until", "2000-12-31"]),
        Vec::<String>::new()
    );
    assert!(filter(&["--since", "2999-01-01"]).is_empty());
    assert_eq!(
        filter(&["--team", &b.team, "--zone", "local", "--status", "resulted"]),
        vec![d1.clone()],
        "filters combine"
    );

    // The principle's citation count follows the log.
    assert_eq!(g.json(&["principle", "show", &b.principle])["citations"], 2);

    // Citing a retired principle points at its successor.
    let successor = g.create(&[
        "principle",
        "add",
        "--value",
        &b.value,
        "--statement",
        "Ask, then act.",
        "--supersedes",
        &b.principle,
    ]);
    let err = g.fail(
        1,
        &[
            "decision",
            "log",
            "--team",
            &b.team,
            "--principle",
            &b.principle,
            "--context",
            "c",
            "--choice",
            "c",
        ],
    );
    assert!(err.contains("retired") && err.contains(&successor), "{err}");

    // Usage errors exit 2; bad input that clap cannot see exits 1.
    g.fail(
        2,
        &[
            "decision",
            "log",
            "--team",
            &b.team,
            "--context",
            "c",
            "--choice",
            "c",
        ],
    );
    let err = g.fail(
        2,
        &[
            "decision",
            "log",
            "--team",
            &b.team,
            "--principle",
            &successor,
            "--context",
            "c",
            "--choice",
            "c",
            "--zone",
            "centre",
        ],
    );
    assert!(
        err.contains("centre-awareness"),
        "the error lists the zones: {err}"
    );
    let err = g.fail(2, &["decision", "list", "--since", "2025-13-01"]);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    g.fail(2, &["decision", "list", "--until", "yesterday"]);
    g.fail(2, &["decision", "list", "--status", "closed"]);
    g.fail(2, &["decision", "list", "--limit", "-1"]);
    g.fail(
        2,
        &[
            "decision",
            "log",
            "--team",
            &b.team,
            "--principle",
            &successor,
            "--context",
            "c",
            "--choice",
            "c",
            "--result-due",
            "03/02/2031",
        ],
    );
    g.fail(
        1,
        &[
            "decision",
            "log",
            "--team",
            "t-nope",
            "--principle",
            &successor,
            "--context",
            "c",
            "--choice",
            "c",
        ],
    );
    let err = g.fail(
        1,
        &[
            "decision",
            "log",
            "--team",
            &b.team,
            "--principle",
            &successor,
            "--context",
            " ",
            "--choice",
            "c",
        ],
    );
    assert!(err.contains("context cannot be empty"), "{err}");
    g.fail(1, &["decision", "list", "--value", "v-nope"]);
}

#[test]
fn stewards_hold_a_term_and_are_named_by_proposal() {
    let g = Grove::new();
    basics(&g);
    let me = g.me();
    let s = g.json(&["steward", "list"]);
    assert_eq!(s["stewards"], serde_json::json!([me.clone()]));
    assert_eq!(s["in_office"], true);
    assert!(s["by"].is_null(), "the founder: {s}");
    assert!(
        !s["until"].is_null(),
        "the founder's stewardship has a term: {s}"
    );
    let text = g.ok(&["steward", "list"]);
    assert!(text.contains("in office until"), "{text}");

    // Refusals change nothing.
    let before = g.list(&["proposal", "list"]);
    let err = g.fail(
        1,
        &[
            "proposal",
            "open",
            "--title",
            "Nobody",
            "--steward",
            "m-nobody",
            "--term-days",
            "30",
        ],
    );
    assert!(err.contains("m-nobody"), "{err}");
    let err = g.fail(
        1,
        &[
            "proposal",
            "open",
            "--title",
            "Forever",
            "--steward",
            &me,
            "--term-days",
            "0",
        ],
    );
    assert!(err.contains("term"), "{err}");
    g.fail(
        2,
        &["proposal", "open", "--title", "No term", "--steward", &me],
    );
    assert_eq!(g.list(&["proposal", "list"]), before);

    // A circle of one names its steward alone.
    let p = g.create(&[
        "proposal",
        "open",
        "--title",
        "Me again, for a month",
        "--steward",
        &me,
        "--term-days",
        "30",
    ]);
    let msg = g.done(&["proposal", "pass", &p]);
    assert!(msg.contains("stewards until"), "{msg}");
    let s = g.json(&["steward", "list"]);
    assert_eq!(s["by"], p.as_str());
    assert_eq!(s["in_office"], true);
    assert_eq!(s["term_days"], 30);
    // Rotation waits for the term, and needs someone queued next.
    let err = g.fail(1, &["steward", "rotate"]);
    assert!(err.contains("rotation comes after it"), "{err}");
    let err = g.fail(
        1,
        &[
            "proposal",
            "open",
            "--title",
            "Queue",
            "--steward",
            &me,
            "--term-days",
            "30",
            "--next",
            "m-nobody",
        ],
    );
    assert!(err.contains("m-nobody"), "{err}");
    assert!(g.ok(&["steward", "list"]).contains("no one is queued next"));
}

#[test]
fn a_lost_device_is_revoked_and_its_member_stays() {
    let g = Grove::new();
    basics(&g);
    let lost = Grove::new();
    admit(&g, &lost, "Bea");
    let device = lost.ok(&["device", "id"]).trim().to_string();
    let mine = g.ok(&["device", "id"]).trim().to_string();
    let members = g.list(&["member", "list"]);
    g.fail(1, &["device", "revoke", &"0".repeat(64)]);
    let err = g.fail(1, &["device", "revoke", &mine]);
    assert!(err.contains("this device"), "{err}");
    assert_eq!(
        g.list(&["member", "list"]),
        members,
        "refusals change nothing"
    );
    let msg = g.done(&["device", "revoke", &device]);
    assert!(msg.contains("revoked device"), "{msg}");
    let err = g.fail(1, &["device", "revoke", &device]);
    assert!(err.contains("already revoked"), "{err}");
    let bea = g
        .list(&["member", "list"])
        .into_iter()
        .find(|m| m["name"] == "Bea")
        .expect("Bea stays a member");
    assert!(bea["removed_at"].is_null(), "{bea}");
    assert_eq!(bea["revoked"], serde_json::json!([device.clone()]));
    assert!(g
        .ok(&["member", "list"])
        .contains(&format!("{device} (revoked)")));
}

#[test]
fn a_zone_map_is_set_by_proposal_and_defaults_the_zone() {
    let g = Grove::new();
    let b = basics(&g);
    assert!(g.list(&["zone", "list"]).is_empty());
    g.fail(
        2,
        &[
            "zone",
            "set",
            "--team",
            &b.team,
            "--situation",
            "x",
            "--zone",
            "nowhere",
        ],
    );
    let p = g.create(&[
        "zone",
        "set",
        "--team",
        &b.team,
        "--situation",
        "#Landlord-Contact",
        "--zone",
        "centre-awareness",
    ]);
    assert!(
        g.list(&["zone", "list"]).is_empty(),
        "only a passed proposal sets it"
    );
    g.done(&["proposal", "pass", &p]);
    let rules = g.list(&["zone", "list"]);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["situation"], "landlord-contact");
    assert_eq!(rules[0]["zone"], "centre-awareness");
    assert_eq!(rules[0]["by"], p.as_str());
    let d = g.create(&[
        "decision",
        "log",
        "--team",
        &b.team,
        "--principle",
        &b.principle,
        "--context",
        "The agent called.",
        "--choice",
        "We answered.",
        "--situation",
        "landlord-contact",
    ]);
    assert_eq!(
        g.json(&["decision", "show", &d])["zone"],
        "centre-awareness"
    );
}

#[test]
fn escalations_and_proposals() {
    let g = Grove::new();
    let b = basics(&g);
    let me = g.me();

    // Only centre zones escalate.
    log(&g, &b.team, &b.principle, &["--zone", "principle-check"]);
    assert!(g.list(&["escalation", "list"]).is_empty());
    let aware = log(&g, &b.team, &b.principle, &["--zone", "centre-awareness"]);
    let urgent = log(
        &g,
        &b.team,
        &b.principle,
        &["--zone", "centre-intervention"],
    );
    let list = g.list(&["escalation", "list"]);
    assert_eq!(list.len(), 2);
    let find = |list: &[Json], decision: &str| -> Json {
        list.iter()
            .find(|e| e["decision"] == decision)
            .unwrap_or_else(|| panic!("no escalation for {decision}: {list:?}"))
            .clone()
    };
    let e1 = find(&list, &aware);
    let e2 = find(&list, &urgent);
    assert_eq!(e1["zone"], "centre-awareness");
    assert_eq!(e2["zone"], "centre-intervention");
    assert_eq!(e1["status"], "open");
    assert_eq!(e1["raised_by"], me.as_str());
    let (e1, e2) = (
        e1["id"].as_str().unwrap().to_string(),
        e2["id"].as_str().unwrap().to_string(),
    );

    g.done(&["escalation", "ack", &e1]);
    let e = find(&g.list(&["escalation", "list"]), &aware);
    assert_eq!(e["status"], "acknowledged");
    assert_eq!(e["acknowledged_by"], me.as_str());
    g.fail(1, &["escalation", "ack", &e1]);
    g.fail(
        2,
        &[
            "escalation",
            "resolve",
            &e2,
            "--verdict",
            "ignore",
            "--response",
            "x",
        ],
    );
    g.done(&[
        "escalation",
        "resolve",
        &e2,
        "--verdict",
        "coach",
        "--response",
        "Stewards are on it.",
    ]);
    let e = find(&g.list(&["escalation", "list"]), &urgent);
    assert_eq!(e["status"], "resolved");
    assert_eq!(e["verdict"], "coach");
    assert_eq!(e["response"], "Stewards are on it.");
    assert!(
        !e["acknowledged_at"].is_null(),
        "resolving also acknowledges"
    );
    g.fail(
        1,
        &[
            "escalation",
            "resolve",
            &e2,
            "--verdict",
            "back",
            "--response",
            "again",
        ],
    );
    g.fail(
        1,
        &[
            "escalation",
            "resolve",
            &e1,
            "--verdict",
            "stop",
            "--response",
            " ",
        ],
    );
    g.fail(2, &["escalation", "resolve", &e1]);
    assert_eq!(
        ids(&g.list(&["escalation", "list", "--status", "acknowledged"])),
        vec![e1]
    );
    assert_eq!(
        ids(&g.list(&["escalation", "list", "--status", "resolved"])),
        vec![e2]
    );
    assert!(g
        .list(&["escalation", "list", "--status", "open"])
        .is_empty());
    g.fail(2, &["escalation", "list", "--status", "pending"]);

    // A deliberate departure from a principle reaches the stewards even when logged as
    // local, and shows whether the centre backed it.
    g.fail(
        2,
        &[
            "decision",
            "log",
            "--team",
            &b.team,
            "--principle",
            &b.principle,
            "--context",
            "c",
            "--choice",
            "x",
            "--departs-from",
            &b.principle,
        ],
    );
    let departed = g.create(&[
        "decision",
        "log",
        "--team",
        &b.team,
        "--principle",
        &b.principle,
        "--context",
        "The boilers failed.",
        "--choice",
        "We went in person.",
        "--departs-from",
        &b.principle,
        "--why",
        "No heat for babies.",
    ]);
    let shown = g.json(&["decision", "show", &departed]);
    assert_eq!(shown["zone"], "centre-awareness");
    assert_eq!(shown["departs_from"], b.principle.as_str());
    let e = shown["escalation"]["id"].as_str().unwrap().to_string();
    assert!(g
        .ok(&["decision", "show", &departed])
        .contains("the stewards have not answered yet"));
    g.done(&[
        "escalation",
        "resolve",
        &e,
        "--verdict",
        "back",
        "--response",
        "We stand behind it.",
    ]);
    let text = g.ok(&["decision", "show", &departed]);
    assert!(text.contains("departs from principle"), "{text}");
    assert!(text.contains("the centre backed it"), "{text}");

    // A general proposal in a circle of one: an objection blocks until its author lifts
    // it by answering again; the only member may then pass it alone.
    let general = g.create(&[
        "proposal",
        "open",
        "--title",
        "Meet on Tuesdays",
        "--body",
        "Mondays clash with the food bank.",
    ]);
    let p = g.json(&["proposal", "show", &general]);
    assert_eq!(p["status"], "open");
    assert_eq!(p["version"], 1);
    assert_eq!(
        p["window_ms"],
        7 * 24 * 3600 * 1000_i64,
        "a week unless named"
    );
    assert_eq!(
        p["receipts"][0]["member"],
        me.as_str(),
        "the proposer's own device received it"
    );
    assert_eq!(p["can_pass"], true, "a circle of one may pass alone: {p}");
    let err = g.fail(
        1,
        &["proposal", "respond", &general, "--answer", "objection"],
    );
    assert!(err.contains("reason"), "{err}");
    g.fail(1, &["proposal", "respond", &general, "--answer", "concern"]);
    g.fail(2, &["proposal", "respond", &general, "--answer", "maybe"]);
    g.done(&[
        "proposal",
        "respond",
        &general,
        "--answer",
        "objection",
        "--reason",
        "Tuesdays I work late.",
    ]);
    let before = g.json(&["proposal", "show", &general]);
    let err = g.fail(1, &["proposal", "pass", &general]);
    assert!(
        err.contains("cannot pass yet")
            && err.contains("objects")
            && err.contains("Tuesdays I work late."),
        "names the standing objection: {err}"
    );
    assert_eq!(
        g.json(&["proposal", "show", &general]),
        before,
        "a refused pass changes nothing"
    );
    assert_eq!(before["status"], "open");
    assert_eq!(before["responses"][0]["answer"], "objection");
    assert_eq!(before["can_pass"], false);
    let blocking = strs(&before["blocking"]);
    assert_eq!(blocking.len(), 1, "{blocking:?}");
    assert!(
        blocking[0].contains("Tuesdays I work late."),
        "{blocking:?}"
    );
    g.fail(2, &["proposal", "resolve", &general, "--member", &me]); // gone
                                                                    // Answering again lifts one's own objection.
    g.done(&["proposal", "respond", &general, "--answer", "consent"]);
    let p = g.json(&["proposal", "show", &general]);
    assert_eq!(p["responses"].as_array().unwrap().len(), 1, "replaced: {p}");
    assert_eq!(p["responses"][0]["answer"], "consent");
    assert!(
        p["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"].as_str().unwrap().contains("withdrew objection")),
        "{p}"
    );
    assert_eq!(p["can_pass"], true);
    g.done(&["proposal", "pass", &general]);
    let p = g.json(&["proposal", "show", &general]);
    assert_eq!(p["status"], "passed");
    assert_eq!(p["change"]["kind"], "general");
    assert_eq!(p["closed_by"], me.as_str());
    assert!(p["contest"].is_null(), "{p}");
    g.fail(1, &["proposal", "respond", &general, "--answer", "consent"]);
    g.fail(1, &["proposal", "pass", &general]);
    g.fail(1, &["proposal", "revise", &general, "--title", "Too late"]);

    // A window of its own; the proposer revises, which voids every answer.
    let windowed = g.create(&[
        "proposal",
        "open",
        "--title",
        "Paint the hall",
        "--window",
        "36h",
    ]);
    let p = g.json(&["proposal", "show", &windowed]);
    assert_eq!(p["window_ms"], 36 * 3600 * 1000_i64);
    g.done(&["proposal", "respond", &windowed, "--answer", "consent"]);
    let msg = g.done(&[
        "proposal",
        "revise",
        &windowed,
        "--title",
        "Paint the hall green",
        "--body",
        "Green was asked for.",
    ]);
    assert!(msg.contains("version 2"), "{msg}");
    let p = g.json(&["proposal", "show", &windowed]);
    assert_eq!(p["version"], 2);
    assert_eq!(p["title"], "Paint the hall green");
    assert_eq!(p["body"], "Green was asked for.");
    assert_eq!(
        p["window_ms"],
        36 * 3600 * 1000_i64,
        "a revision keeps the window"
    );
    assert!(
        p["responses"].as_array().unwrap().is_empty(),
        "a revision voids every answer: {p}"
    );
    // A revision that changes nothing, or a flag the proposal has no place for, is
    // refused and changes nothing.
    for (args, says) in [
        (vec!["--title", "Paint the hall green"], "changes nothing"),
        (vec!["--statement", "Green walls"], "does not fit"),
    ] {
        let mut argv = vec!["proposal", "revise", windowed.as_str()];
        argv.extend(args);
        let err = g.fail(1, &argv);
        assert!(err.contains(says), "{err}");
        assert_eq!(g.json(&["proposal", "show", &windowed]), p);
    }
    for bad in ["0s", "500ms", "3y", "2", "d", "-1d", "400d"] {
        let before = g.list(&["proposal", "list"]);
        g.fail(
            2,
            &["proposal", "open", "--title", "Bad window", "--window", bad],
        );
        assert_eq!(g.list(&["proposal", "list"]), before, "--window {bad}");
    }
    g.done(&["proposal", "withdraw", &windowed]);

    // Amending a principle: applied when passed, with the proposal as the version's source.
    let amend = g.create(&[
        "proposal",
        "open",
        "--title",
        "Sharpen the principle",
        "--amend",
        &b.principle,
        "--statement",
        "Ask, then act within a day.",
        "--reason",
        "People waited too long.",
    ]);
    assert_eq!(
        g.json(&["principle", "show", &b.principle])["versions"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing changes before the proposal passes"
    );
    g.done(&["proposal", "respond", &amend, "--answer", "consent"]);
    let msg = g.done(&["proposal", "pass", &amend]);
    assert!(msg.contains("version 2"), "{msg}");
    let p = g.json(&["principle", "show", &b.principle]);
    assert_eq!(p["statement"], "Ask, then act within a day.");
    assert_eq!(p["versions"][1]["reason"], "People waited too long.");
    assert_eq!(p["versions"][1]["source"], amend.as_str());
    let shown = g.json(&["proposal", "show", &amend]);
    assert_eq!(shown["change"]["kind"], "amend-principle");
    assert_eq!(shown["change"]["principle"], b.principle.as_str());

    // A new principle from values.
    let new = g.create(&[
        "proposal",
        "open",
        "--title",
        "A principle on money",
        "--value",
        &b.value,
        "--statement",
        "Spend in the open.",
        "--guidance",
        "Post receipts.",
    ]);
    g.done(&["proposal", "respond", &new, "--answer", "consent"]);
    g.done(&["proposal", "pass", &new]);
    let shown = g.json(&["proposal", "show", &new]);
    assert_eq!(shown["change"]["kind"], "new-principle");
    assert_eq!(strs(&shown["change"]["values"]), vec![b.value.clone()]);
    let added = g
        .list(&["principle", "list"])
        .into_iter()
        .find(|p| p["statement"] == "Spend in the open.")
        .expect("the passed proposal added its principle");
    assert_eq!(added["guidance"], "Post receipts.");
    assert!(
        shown["outcome"]
            .as_str()
            .unwrap()
            .contains(added["id"].as_str().unwrap()),
        "{shown}"
    );

    // Withdraw.
    let dropped = g.create(&["proposal", "open", "--title", "Buy a van"]);
    g.done(&["proposal", "withdraw", &dropped]);
    assert_eq!(
        g.json(&["proposal", "show", &dropped])["status"],
        "withdrawn"
    );
    g.fail(1, &["proposal", "withdraw", &dropped]);

    let list = g.list(&["proposal", "list"]);
    assert_eq!(
        sorted(ids(&list)),
        sorted(vec![general, windowed, amend, new, dropped])
    );

    // Usage: --amend needs --statement and --reason; it cannot be combined with --value.
    g.fail(
        2,
        &["proposal", "open", "--title", "x", "--amend", &b.principle],
    );
    g.fail(
        2,
        &[
            "proposal",
            "open",
            "--title",
            "x",
            "--amend",
            &b.principle,
            "--statement",
            "s",
            "--reason",
            "r",
            "--value",
            &b.value,
        ],
    );
    g.fail(
        2,
        &["proposal", "open", "--title", "x", "--value", &b.value],
    );
    g.fail(1, &["proposal", "open", "--title", " "]);
    g.fail(
        1,
        &[
            "proposal",
            "open",
            "--title",
            "x",
            "--amend",
            "p-nope",
            "--statement",
            "s",
            "--reason",
            "r",
        ],
    );
}

/// Carries `from`'s copy of the circle to `to` (a member's home) by a circle file.
fn carry(from: &Grove, to: &Grove) {
    let file = from.file("carried.grove");
    let path = file.to_str().unwrap();
    from.done(&["circle", "export", "--out", path]);
    to.create(&["circle", "import", path]);
}

/// `g`'s view of proposal `id` and its round.
fn shown(g: &Grove, id: &str) -> Json {
    g.json(&["proposal", "show", id])
}

/// A refused proposal command: exit 1, one line naming `why`, and the proposal unchanged.
fn refused(g: &Grove, id: &str, args: &[&str], why: &[&str]) -> String {
    let before = shown(g, id);
    let err = g.fail(1, args);
    for w in why {
        assert!(err.contains(w), "{args:?} should say `{w}`: {err}");
    }
    assert_eq!(shown(g, id), before, "a refused {args:?} changes nothing");
    err
}

#[test]
fn values_and_principles_change_by_consent_once_a_circle_has_two_members() {
    let a = Grove::new();
    let b = basics(&a);
    let bea = Grove::new();
    admit(&a, &bea, "Bea");
    carry(&a, &bea);
    let charter = |g: &Grove| (g.list(&["value", "list"]), g.list(&["principle", "list"]));
    let before = charter(&a);
    let direct: [(&[&str], &str); 6] = [
        (
            &["value", "add", "--title", "Rest", "--statement", "We rest."],
            "grove proposal open --new-value",
        ),
        (
            &["value", "edit", &b.value, "--statement", "We care."],
            "grove proposal open --amend-value",
        ),
        (
            &["value", "retire", &b.value],
            "grove proposal open --retire-value",
        ),
        (
            &[
                "principle",
                "add",
                "--value",
                &b.value,
                "--statement",
                "Rest.",
            ],
            "grove proposal open --value",
        ),
        (
            &[
                "principle",
                "amend",
                &b.principle,
                "--statement",
                "Ask first.",
                "--reason",
                "r",
            ],
            "grove proposal open --amend",
        ),
        (
            &["principle", "retire", &b.principle, "--reason", "r"],
            "grove proposal open --retire-principle",
        ),
    ];
    for (args, instead) in direct {
        let err = a.fail(1, args);
        assert!(err.contains("change by consent"), "{args:?}: {err}");
        assert!(err.contains(instead), "{args:?} says what to do: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert_eq!(charter(&a), before, "a refused command changes nothing");

    // An amendment names the feedback that demands it.
    let reword = |cites: &[&str]| -> Vec<String> {
        let mut args = vec![
            "proposal",
            "open",
            "--title",
            "Care includes rest",
            "--amend-value",
            &b.value,
            "--statement",
            "We look after each other, and we rest.",
            "--reason",
            "Two of us burnt out this winter.",
        ];
        for c in cites {
            args.extend(["--cites", c]);
        }
        args.into_iter().map(str::to_string).collect()
    };
    fn argv(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let err = a.fail(1, &argv(&reword(&[])));
    assert!(err.contains("--cites"), "{err}");
    let d = log(&a, &b.team, &b.principle, &[]);
    let p = a.create(&argv(&reword(&[&d])));
    a.done(&["proposal", "respond", &p, "--answer", "consent"]);
    carry(&a, &bea);
    bea.done(&["proposal", "respond", &p, "--answer", "consent"]);
    carry(&bea, &a);
    let msg = a.done(&["proposal", "pass", &p]);
    assert!(msg.contains("reworded"), "{msg}");
    carry(&a, &bea);
    for g in [&a, &bea] {
        let v = g.json(&["value", "show", &b.value]);
        assert_eq!(v["statement"], "We look after each other, and we rest.");
        let versions = v["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 2, "{v}");
        assert_eq!(versions[1]["source"], p.as_str());
        assert_eq!(strs(&versions[1]["cites"]), vec![d.clone()]);
        assert_eq!(versions[1]["reason"], "Two of us burnt out this winter.");
    }
    let shown = a.ok(&["value", "show", &b.value]);
    assert!(shown.contains("because: Two of us burnt out"), "{shown}");
    assert!(shown.contains(&format!("citing {d}")), "{shown}");

    // A principle retired by consent.
    let r = a.create(&[
        "proposal",
        "open",
        "--title",
        "Retire asking first",
        "--retire-principle",
        &b.principle,
        "--reason",
        "Nobody cites it any more.",
    ]);
    a.done(&["proposal", "respond", &r, "--answer", "consent"]);
    carry(&a, &bea);
    bea.done(&["proposal", "respond", &r, "--answer", "consent"]);
    carry(&bea, &a);
    a.done(&["proposal", "pass", &r]);
    assert_eq!(
        a.json(&["principle", "show", &b.principle])["status"],
        "retired"
    );
}

#[test]
fn principle_keepers_hold_a_term_and_one_of_them_hears_every_charter_change() {
    let a = Grove::new();
    let b = basics(&a);
    let k = a.json(&["keeper", "list"]);
    assert!(k["keepers"].as_array().unwrap().is_empty(), "{k}");
    assert!(a.ok(&["keeper", "list"]).contains("by consent alone"));
    let (bea, cy) = (Grove::new(), Grove::new());
    admit(&a, &bea, "Bea");
    admit(&a, &cy, "Cy");
    carry(&a, &bea);
    carry(&a, &cy);
    let (bea_id, cy_id) = (bea.me(), cy.me());
    // Every member consents, the proposer passes; the others take it.
    let agree = |p: &str| {
        a.done(&["proposal", "respond", p, "--answer", "consent"]);
        for g in [&bea, &cy] {
            carry(&a, g);
            g.done(&["proposal", "respond", p, "--answer", "consent"]);
            carry(g, &a);
        }
    };
    // --next needs an office to queue for.
    a.fail(2, &["proposal", "open", "--title", "x", "--next", &cy_id]);
    let naming = a.create(&[
        "proposal",
        "open",
        "--title",
        "Bea keeps the principles",
        "--keeper",
        &bea_id,
        "--term-days",
        "90",
        "--next",
        &cy_id,
    ]);
    agree(&naming);
    a.done(&["proposal", "pass", &naming]);
    let k = a.json(&["keeper", "list"]);
    assert_eq!(strs(&k["keepers"]), vec![bea_id.clone()]);
    assert_eq!(k["in_office"], true);
    assert_eq!(k["by"], naming.as_str());
    assert_eq!(strs(&k["queue"]), vec![cy_id.clone()]);
    let text = a.ok(&["keeper", "list"]);
    assert!(text.contains("Bea") && text.contains("next: Cy"), "{text}");
    let err = a.fail(1, &["keeper", "rotate"]);
    assert!(err.contains("rotation comes after it"), "{err}");

    // Cy consents to Ana's amendment, Bea (the keeper) has not: it cannot pass.
    let d = log(&a, &b.team, &b.principle, &[]);
    let amend = a.create(&[
        "proposal",
        "open",
        "--title",
        "Ask, then act",
        "--amend",
        &b.principle,
        "--statement",
        "Ask before acting for someone, and say what you did.",
        "--reason",
        "We acted for Dee and never told her.",
        "--cites",
        &d,
    ]);
    a.done(&["proposal", "respond", &amend, "--answer", "consent"]);
    carry(&a, &cy);
    cy.done(&["proposal", "respond", &amend, "--answer", "consent"]);
    carry(&cy, &a);
    carry(&a, &bea);
    bea.done(&[
        "proposal",
        "respond",
        &amend,
        "--answer",
        "concern",
        "--reason",
        "Say it in the log.",
    ]);
    carry(&bea, &a);
    let err = refused(
        &a,
        &amend,
        &["proposal", "pass", &amend],
        &["principle keeper", "Bea"],
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    bea.done(&["proposal", "respond", &amend, "--answer", "consent"]);
    carry(&bea, &a);
    a.done(&["proposal", "pass", &amend]);
    assert_eq!(
        a.json(&["principle", "show", &b.principle])["statement"],
        "Ask before acting for someone, and say what you did."
    );
}

#[test]
fn proposals_need_another_members_consent_and_only_the_objector_lifts_an_objection() {
    let a = Grove::new();
    basics(&a);
    let bea = Grove::new();
    admit(&a, &bea, "Bea");
    let cy = Grove::new();
    admit(&a, &cy, "Cy");
    carry(&a, &bea);
    carry(&a, &cy);
    let (bea_id, cy_id) = (bea.me(), cy.me());

    let van = a.create(&["proposal", "open", "--title", "Share the van"]);
    a.done(&["proposal", "respond", &van, "--answer", "consent"]);
    // The proposer's consent alone is not enough, however long the others stay silent.
    refused(
        &a,
        &van,
        &["proposal", "pass", &van],
        &[
            "cannot pass yet",
            "consent from another member",
            "has not received it",
        ],
    );
    let p = shown(&a, &van);
    assert_eq!(p["can_pass"], false);
    assert!(
        strs(&p["blocking"])
            .iter()
            .any(|b| b.contains("consent from another member")),
        "{p}"
    );
    let bea_voice = p["voices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["member"] == bea_id.as_str())
        .unwrap_or_else(|| panic!("every member has a voice: {p}"))
        .clone();
    assert_eq!(bea_voice["standing"], "not-received", "{bea_voice}");
    assert!(bea_voice["answer"].is_null());

    // Only the proposer revises or withdraws.
    carry(&a, &bea);
    refused(
        &bea,
        &van,
        &["proposal", "revise", &van, "--title", "Sell the van"],
        &["only", "revise"],
    );
    refused(
        &bea,
        &van,
        &["proposal", "withdraw", &van],
        &["only", "withdraw"],
    );

    // Bea objects: nobody passes it, and nobody but Bea lifts it.
    bea.done(&[
        "proposal",
        "respond",
        &van,
        "--answer",
        "objection",
        "--reason",
        "The van is booked on Saturdays.",
    ]);
    carry(&bea, &a);
    carry(&a, &cy);
    cy.done(&["proposal", "respond", &van, "--answer", "consent"]);
    carry(&cy, &a);
    let err = refused(
        &a,
        &van,
        &["proposal", "pass", &van],
        &["Bea objects", "The van is booked on Saturdays."],
    );
    assert!(!err.contains("another member"), "Cy consented: {err}");
    a.done(&["proposal", "respond", &van, "--answer", "consent"]);
    a.fail(1, &["proposal", "pass", &van]);
    assert_eq!(
        shown(&a, &van)["responses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["answer"] == "objection")
            .count(),
        1,
        "the proposer's answer leaves Bea's objection standing"
    );

    // Bea lifts it by answering again; then it passes.
    carry(&a, &bea);
    bea.done(&["proposal", "respond", &van, "--answer", "consent"]);
    carry(&bea, &a);
    let p = shown(&a, &van);
    assert_eq!(p["can_pass"], true, "{p}");
    a.done(&["proposal", "pass", &van]);
    let p = shown(&a, &van);
    assert_eq!(p["status"], "passed");
    assert!(p["contest"].is_null(), "{p}");

    // Removing Cy needs consent from more than half of the others (A and Bea): both.
    let out = a.create(&[
        "proposal",
        "open",
        "--title",
        "Cy moved away",
        "--remove-member",
        &cy_id,
    ]);
    a.done(&["proposal", "respond", &out, "--answer", "consent"]);
    refused(
        &a,
        &out,
        &["proposal", "pass", &out],
        &["removing a member", "2 of the other members", "1 consented"],
    );
    carry(&a, &cy);
    cy.done(&[
        "proposal",
        "respond",
        &out,
        "--answer",
        "objection",
        "--reason",
        "I still come by.",
    ]);
    carry(&cy, &a);
    let err = refused(&a, &out, &["proposal", "pass", &out], &["1 consented"]);
    assert!(
        !err.contains("I still come by."),
        "the named member's objection does not block: {err}"
    );
    carry(&a, &bea);
    bea.done(&["proposal", "respond", &out, "--answer", "consent"]);
    carry(&bea, &a);
    let msg = a.done(&["proposal", "pass", &out]);
    assert!(msg.contains("removed"), "{msg}");
    let members = a.list(&["member", "list"]);
    let cy_now = members
        .iter()
        .find(|m| m["id"] == cy_id.as_str())
        .unwrap_or_else(|| panic!("a removed member stays listed: {members:?}"));
    assert!(cy_now["removed_at"].is_string(), "{cy_now}");
    assert_eq!(cy_now["removed_by"], a.me().as_str(), "{cy_now}");
}

#[test]
fn roles_commitments_retros_and_reviews() {
    let g = Grove::new();
    let b = basics(&g);
    let me = g.me();

    let role = g.create(&[
        "role",
        "add",
        "Facilitator",
        "--purpose",
        "Hold assemblies.",
        "--accountability",
        "Agenda",
        "--accountability",
        "Timekeeping",
        "--term-days",
        "90",
        "--queue",
        &me,
    ]);
    let r = g.json(&["role", "show", &role]);
    assert_eq!(r["name"], "Facilitator");
    assert_eq!(r["purpose"], "Hold assemblies.");
    assert_eq!(strs(&r["accountabilities"]), vec!["Agenda", "Timekeeping"]);
    assert_eq!(r["term_days"], 90);
    assert!(r["holder"].is_null(), "no --holder: vacant");
    assert_eq!(strs(&r["queue"]), vec![me.clone()]);

    g.done(&["role", "assign", &role, &me]);
    let r = g.json(&["role", "show", &role]);
    assert_eq!(r["holder"], me.as_str());
    assert!(!r["term_started"].is_null());
    let err = g.fail(1, &["role", "assign", &role, &me]);
    assert!(err.contains("already holds"), "{err}");

    let msg = g.done(&["role", "rotate", &role]);
    assert!(msg.contains(&me), "{msg}");
    let r = g.json(&["role", "show", &role]);
    assert_eq!(r["holder"], me.as_str());
    assert!(strs(&r["queue"]).is_empty(), "the queue moved on: {r}");
    assert!(!r["rotations"].as_array().unwrap().is_empty(), "{r}");
    let err = g.fail(1, &["role", "rotate", &role]);
    assert!(err.contains("queue"), "{err}");
    g.done(&["role", "queue", &role, &me]);
    assert_eq!(
        strs(&g.json(&["role", "show", &role])["queue"]),
        vec![me.clone()]
    );
    g.fail(1, &["role", "queue", &role, "m-nobody"]);
    g.fail(1, &["role", "assign", &role, "m-nobody"]);
    g.fail(
        1,
        &[
            "role",
            "add",
            "Treasurer",
            "--purpose",
            "Money",
            "--holder",
            "m-nobody",
        ],
    );
    g.fail(
        1,
        &[
            "role",
            "add",
            "Treasurer",
            "--purpose",
            "Money",
            "--term-days",
            "0",
        ],
    );
    g.fail(
        2,
        &[
            "role",
            "add",
            "Treasurer",
            "--purpose",
            "Money",
            "--term-days",
            "ninety",
        ],
    );
    g.fail(2, &["role", "add", "Treasurer"]);
    let treasurer = g.create(&[
        "role",
        "add",
        "Treasurer",
        "--purpose",
        "Money",
        "--holder",
        &me,
    ]);
    assert_eq!(
        sorted(ids(&g.list(&["role", "list"]))),
        sorted(vec![role.clone(), treasurer])
    );

    // Commitments
    let d = log(&g, &b.team, &b.principle, &[]);
    let k = g.create(&[
        "commitment",
        "add",
        "--what",
        "Book the hall",
        "--due",
        "2031-01-15",
        "--decision",
        &d,
    ]);
    let list = g.list(&["commitment", "list"]);
    assert_eq!(ids(&list), vec![k.clone()]);
    assert_eq!(list[0]["who"], me.as_str(), "defaults to you");
    assert_eq!(list[0]["what"], "Book the hall");
    assert_eq!(list[0]["due"], "2031-01-15");
    assert_eq!(list[0]["decision"], d.as_str());
    assert_eq!(list[0]["status"], "open");
    let status = |g: &Grove| g.list(&["commitment", "list"])[0]["status"].clone();
    g.done(&["commitment", "done", &k]);
    assert_eq!(status(&g), "done");
    g.fail(1, &["commitment", "done", &k]);
    assert_eq!(
        ids(&g.list(&["commitment", "list", "--status", "done"])),
        vec![k.clone()]
    );
    assert!(g
        .list(&["commitment", "list", "--status", "open"])
        .is_empty());
    g.done(&["commitment", "drop", &k]);
    assert_eq!(status(&g), "dropped");
    g.done(&["commitment", "reopen", &k]);
    assert_eq!(status(&g), "open");
    assert_eq!(
        ids(&g.list(&["commitment", "list", "--who", &me])),
        vec![k.clone()]
    );
    assert!(g
        .list(&["commitment", "list", "--who", "m-other"])
        .is_empty());
    g.fail(
        1,
        &["commitment", "add", "--what", "x", "--who", "m-nobody"],
    );
    g.fail(
        1,
        &[
            "commitment",
            "add",
            "--what",
            "x",
            "--decision",
            "d-209901-nothere",
        ],
    );
    g.fail(1, &["commitment", "add", "--what", " "]);
    g.fail(2, &["commitment", "add", "--what", "x", "--due", "soon"]);
    g.fail(2, &["commitment", "list", "--status", "late"]);

    // Retros
    let other_team = g.create(&["team", "add", "Outreach"]);
    let rt = g.create(&[
        "retro",
        "add",
        "--team",
        &b.team,
        "--went-well",
        "People came.",
        "--didnt",
        "We ran late.",
        "--change",
        "Start on time.",
        "--principle",
        &b.principle,
    ]);
    let rt2 = g.create(&[
        "retro",
        "add",
        "--team",
        &other_team,
        "--change",
        "More flyers.",
    ]);
    let list = g.list(&["retro", "list"]);
    assert_eq!(sorted(ids(&list)), sorted(vec![rt.clone(), rt2.clone()]));
    let r = list.iter().find(|r| r["id"] == rt.as_str()).unwrap();
    assert_eq!(r["went_well"], "People came.");
    assert_eq!(r["didnt"], "We ran late.");
    assert_eq!(r["change"], "Start on time.");
    assert_eq!(strs(&r["principles"]), vec![b.principle.clone()]);
    assert_eq!(
        ids(&g.list(&["retro", "list", "--team", &b.team])),
        vec![rt]
    );
    assert_eq!(
        ids(&g.list(&["retro", "list", "--team", &other_team])),
        vec![rt2]
    );
    let err = g.fail(1, &["retro", "add", "--team", &b.team]);
    assert!(err.contains("at least one"), "{err}");
    g.fail(1, &["retro", "add", "--team", "t-nope", "--change", "x"]);
    g.fail(2, &["retro", "add", "--change", "x"]);

    // Reviews
    let rv = g.create(&[
        "review",
        "open",
        "--date",
        "2031-03-01",
        "--agenda",
        "Principles in tension",
        "--participant",
        &me,
    ]);
    g.done(&["review", "agenda", &rv, "Retired values"]);
    let v = g.json(&[
        "review",
        "change",
        &rv,
        "--principle",
        &b.principle,
        "--statement",
        "Ask first, always.",
        "--reason",
        "We skipped asking.",
    ]);
    assert_eq!(v["ok"], true, "{v}");
    g.done(&["review", "learning", &rv, "Asking takes a minute."]);
    g.done(&["review", "notes", &rv, "Good turnout."]);
    let r = g.json(&["review", "show", &rv]);
    assert_eq!(r["date"], "2031-03-01");
    assert_eq!(r["status"], "open");
    assert_eq!(strs(&r["participants"]), vec![me.clone()]);
    assert_eq!(
        strs(&r["agenda"]),
        vec!["Principles in tension", "Retired values"]
    );
    assert_eq!(r["changes"][0]["principle"], b.principle.as_str());
    assert_eq!(r["changes"][0]["before"], "Ask before acting for someone.");
    assert_eq!(r["changes"][0]["after"], "Ask first, always.");
    assert_eq!(r["changes"][0]["reason"], "We skipped asking.");
    assert_eq!(strs(&r["learnings"]), vec!["Asking takes a minute."]);
    assert_eq!(r["notes"], "Good turnout.");
    let p = g.json(&["principle", "show", &b.principle]);
    assert_eq!(
        p["statement"], "Ask first, always.",
        "the review amended the principle"
    );
    assert_eq!(p["versions"][1]["source"], rv.as_str());

    let err = g.fail(1, &["review", "close", &rv, "--next", "2031-02-01"]);
    assert!(err.contains("must come after"), "{err}");
    g.done(&["review", "close", &rv, "--next", "2031-06-01"]);
    let r = g.json(&["review", "show", &rv]);
    assert_eq!(r["status"], "closed");
    assert_eq!(r["next_date"], "2031-06-01");
    let err = g.fail(1, &["review", "agenda", &rv, "Late item"]);
    assert!(err.contains("closed"), "{err}");
    assert_eq!(ids(&g.list(&["review", "list"])), vec![rv]);
    g.fail(2, &["review", "open", "--date", "1 March"]);
    g.fail(2, &["review", "open"]);
    g.fail(
        1,
        &[
            "review",
            "open",
            "--date",
            "2031-01-01",
            "--participant",
            "m-nobody",
        ],
    );
}

#[test]
fn demo_seeds_a_lived_in_circle() {
    let g = Grove::new();
    let id = g.create(&["demo", "--decisions", "60", "--name", "Demo union"]);
    let circles = g.list(&["circle", "list"]);
    assert_eq!(ids(&circles), vec![id]);
    assert_eq!(circles[0]["name"], "Demo union");
    assert!(circles[0]["members"].as_u64().unwrap() > 1, "{circles:?}");
    assert!(!g.list(&["team", "list"]).is_empty());
    assert!(!g.list(&["value", "list"]).is_empty());
    assert!(!g.list(&["principle", "list"]).is_empty());
    assert!(!g.list(&["escalation", "list"]).is_empty());
    let decisions = g.list(&["decision", "list"]);
    assert_eq!(decisions.len(), 60);
    assert!(
        decisions.iter().any(|d| d["status"] == "resulted"),
        "the demo records results"
    );
    let authors: std::collections::BTreeSet<&str> = decisions
        .iter()
        .map(|d| d["author"].as_str().unwrap())
        .collect();
    assert!(
        authors.len() > 1,
        "several members log decisions: {authors:?}"
    );

    // --author narrows to one member's decisions.
    let someone = *authors.iter().next().unwrap();
    let theirs = g.list(&["decision", "list", "--author", someone]);
    assert!(!theirs.is_empty() && theirs.len() < decisions.len());
    assert!(theirs.iter().all(|d| d["author"] == someone));
    // The demo spans months: --since a far past day keeps all, --until it keeps none.
    assert_eq!(
        g.list(&["decision", "list", "--since", "2000-01-01"]).len(),
        60
    );
    assert!(g
        .list(&["decision", "list", "--until", "2000-01-01"])
        .is_empty());

    // A real rotation between members: the next in the queue takes over, the holder queues.
    let role = g
        .list(&["role", "list"])
        .into_iter()
        .find(|r| !r["holder"].is_null() && !r["queue"].as_array().unwrap().is_empty())
        .expect("the demo has a held role with a rotation queue");
    let rid = role["id"].as_str().unwrap();
    let holder = role["holder"].as_str().unwrap().to_string();
    let queue = strs(&role["queue"]);
    g.done(&["role", "rotate", rid]);
    let after = g.json(&["role", "show", rid]);
    assert_eq!(after["holder"], queue[0].as_str());
    assert_eq!(strs(&after["queue"]).last(), Some(&holder));
}

#[test]
fn errors_are_one_line_with_a_remedy() {
    let g = Grove::new();
    // No circle yet: says how to get one.
    let err = g.fail(1, &["value", "list"]);
    assert!(
        err.contains("grove circle create") && err.contains("grove circle import"),
        "{err}"
    );
    g.fail(1, &["decision", "list"]);
    g.fail(1, &["circle", "show"]);

    // Unknown ids, for each kind of thing.
    basics(&g);
    for args in [
        &["value", "show", "v-nope"][..],
        &["value", "edit", "v-nope", "--title", "x"],
        &["value", "retire", "v-nope"],
        &["principle", "show", "p-nope"],
        &[
            "principle",
            "amend",
            "p-nope",
            "--statement",
            "s",
            "--reason",
            "r",
        ],
        &["principle", "supersede", "p-nope", "--by", "p-other"],
        &["team", "join", "t-nope"],
        &["decision", "show", "d-202601-nope"],
        &["decision", "show", "garbage"],
        &["decision", "read", "d-202601-nope"],
        &[
            "decision",
            "result",
            "d-1",
            "--text",
            "t",
            "--outcome",
            "worked",
        ],
        &["escalation", "ack", "e-nope"],
        &["proposal", "show", "pr-nope"],
        &["proposal", "pass", "pr-nope"],
        &["role", "show", "r-nope"],
        &["role", "rotate", "r-nope"],
        &["commitment", "done", "k-nope"],
        &["review", "show", "rv-nope"],
        &["review", "notes", "rv-nope", "x"],
    ] {
        let err = g.fail(1, args);
        assert!(
            err.contains(args[2]),
            "the message names the unknown id: {err}"
        );
        assert!(err.contains("list"), "says how to find the id: {err}");
    }

    // Usage errors: clap's exit code 2.
    g.fail(2, &["frobnicate"]);
    // A bare command group prints its help (clap's convention), still as a usage error.
    g.cmd(&["value"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage:").and(predicate::str::contains("panicked").not()));
    g.fail(2, &["value", "show"]);
    g.fail(2, &["decision", "list", "--bogus"]);
    g.ok(&["--help"]);
    g.ok(&["decision", "list", "--help"]);
    Command::cargo_bin("grove")
        .unwrap()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn two_circles_need_circle_flag() {
    let g = Grove::new();
    let a = g.create(&["circle", "create", "Alpha"]);
    let b = g.create(&["circle", "create", "Beta"]);
    let err = g.fail(1, &["value", "list"]);
    assert!(
        err.contains(&a) && err.contains(&b) && err.contains("--circle"),
        "lists the circles and the flag: {err}"
    );
    g.fail(1, &["circle", "show"]);

    let v = g.create(&[
        "--circle",
        &a,
        "value",
        "add",
        "--title",
        "Care",
        "--statement",
        "s",
    ]);
    assert_eq!(ids(&g.list(&["--circle", &a, "value", "list"])), vec![v]);
    assert!(
        g.list(&["--circle", &b, "value", "list"]).is_empty(),
        "circles do not share values"
    );
    assert_eq!(
        g.json(&["--circle", "beta", "circle", "show"])["id"],
        b.as_str(),
        "by name, any case"
    );
    let err = g.fail(1, &["--circle", "Gamma", "value", "list"]);
    assert!(err.contains("Gamma"), "{err}");

    // Two circles with one name: the name is ambiguous, ids still work.
    let a2 = g.create(&["circle", "create", "Alpha"]);
    let err = g.fail(1, &["--circle", "Alpha", "value", "list"]);
    assert!(
        err.contains(&a) && err.contains(&a2) && err.contains("--circle"),
        "{err}"
    );
    assert!(g.list(&["--circle", &a2, "value", "list"]).is_empty());
}

/// The ids of every decision in the log, sorted, for comparing two homes.
fn decision_ids(g: &Grove) -> Vec<String> {
    sorted(ids(&g.list(&["decision", "list"])))
}

#[test]
fn export_import_roundtrip_and_merge() {
    let a = Grove::new();
    let b = basics(&a);
    let d1 = log(&a, &b.team, &b.principle, &[]);
    let d2 = log(&a, &b.team, &b.principle, &["--zone", "centre-awareness"]);
    a.done(&[
        "decision",
        "result",
        &d1,
        "--text",
        "Fine.",
        "--outcome",
        "mixed",
    ]);
    let other = Grove::new();
    other.done(&["member", "rename", "Tomás"]);
    let file = a.file("circle.grove");
    let path = file.to_str().unwrap();
    // Not yet admitted: the file is refused, saying how to get admitted.
    a.done(&["circle", "export", "--out", path]);
    let err = other.fail(1, &["circle", "import", path]);
    assert!(err.contains("grove member admit"), "{err}");
    admit(&a, &other, "Tomás");
    a.done(&["circle", "export", "--out", path]);
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
    assert_no_partial_files(a.dir.path());
    let circle = a.json(&["circle", "show"])["id"].clone();

    let imported = other.create(&["circle", "import", path]);
    assert_eq!(
        imported,
        circle.as_str().unwrap(),
        "the same circle, not a copy"
    );
    assert_eq!(decision_ids(&other), sorted(vec![d1.clone(), d2.clone()]));
    let shown = other.json(&["decision", "show", &d1]);
    assert_eq!(shown["status"], "resulted");
    assert_eq!(
        shown["written_by"]["member"],
        a.me().as_str(),
        "who wrote it, from its signed change: {shown}"
    );
    let text = other.ok(&["decision", "show", &d1]);
    assert!(text.contains("signature verified"), "{text}");
    assert_eq!(shown["result"]["text"], "Fine.");
    assert_eq!(other.list(&["escalation", "list"]).len(), 1);
    assert_eq!(ids(&other.list(&["value", "list"])), vec![b.value.clone()]);
    let members = other.list(&["member", "list"]);
    assert_eq!(members.len(), 2, "the importer was admitted: {members:?}");
    assert!(members.iter().any(|m| m["name"] == "Tomás"));

    // The second home adds a decision and sends the circle back.
    let d3 = log(&other, &b.team, &b.principle, &[]);
    other.done(&["decision", "read", &d1]);
    let back = other.file("back.grove");
    other.done(&["circle", "export", "--out", back.to_str().unwrap()]);
    assert_eq!(
        a.create(&["circle", "import", back.to_str().unwrap()]),
        imported
    );
    assert_eq!(
        decision_ids(&a),
        sorted(vec![d1.clone(), d2.clone(), d3.clone()]),
        "merged, nothing duplicated"
    );
    assert_eq!(
        a.list(&["circle", "list"]).len(),
        1,
        "merged into the same circle"
    );
    assert_eq!(a.list(&["member", "list"]).len(), 2);
    let tomas = other.me();
    let readers = a.json(&["decision", "show", &d1])["readers"].clone();
    assert!(
        readers
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["member"] == tomas.as_str()),
        "the other member's reading travelled back: {readers}"
    );

    // Importing the old file again changes nothing.
    a.create(&["circle", "import", path]);
    assert_eq!(decision_ids(&a), sorted(vec![d1, d2, d3]));
    assert_eq!(a.list(&["escalation", "list"]).len(), 1);
    assert_eq!(a.list(&["value", "list"]).len(), 1);
    assert_eq!(a.list(&["team", "list"]).len(), 1);
}

/// `member` (a member's home) admits `joiner`'s device as a new member named `name`.
fn admit(member: &Grove, joiner: &Grove, name: &str) {
    let device = joiner.ok(&["device", "id"]).trim().to_string();
    assert_eq!(device.len(), 64, "a device id is 64 hex digits: {device}");
    let msg = member.done(&["member", "admit", &device, "--name", name]);
    assert!(msg.contains(name), "{msg}");
}

fn assert_no_partial_files(dir: &Path) {
    let partial: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("grove-partial"))
        .collect();
    assert!(partial.is_empty(), "export left a partial file behind");
}

#[test]
fn bad_import_files_leave_the_circle_untouched() {
    let g = Grove::new();
    let b = basics(&g);
    let d = log(&g, &b.team, &b.principle, &[]);
    let good = g.file("good.grove");
    g.done(&["circle", "export", "--out", good.to_str().unwrap()]);
    let bytes = std::fs::read(&good).unwrap();
    let before = (g.list(&["circle", "list"]), decision_ids(&g));

    let garbage = g.file("garbage.grove");
    std::fs::write(&garbage, b"this is not a circle\n\x00\xff").unwrap();
    let empty = g.file("empty.grove");
    std::fs::write(&empty, b"").unwrap();
    let truncated = g.file("truncated.grove");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut flipped = bytes.clone();
    // Inside the core document's bytes (after the header and its name).
    flipped[40] ^= 0xff;
    flipped[bytes.len() / 2] ^= 0xff;
    let corrupt = g.file("corrupt.grove");
    std::fs::write(&corrupt, &flipped).unwrap();

    let err = g.fail(1, &["circle", "import", garbage.to_str().unwrap()]);
    assert!(err.contains("not a Grove circle file"), "{err}");
    g.fail(1, &["circle", "import", empty.to_str().unwrap()]);
    g.fail(1, &["circle", "import", truncated.to_str().unwrap()]);
    g.fail(1, &["circle", "import", corrupt.to_str().unwrap()]);
    let missing = g.file("missing.grove");
    let err = g.fail(1, &["circle", "import", missing.to_str().unwrap()]);
    assert!(err.contains("cannot read"), "{err}");
    g.fail(2, &["circle", "import"]);
    g.fail(2, &["circle", "export"]);
    let unwritable = g.file("no/such/dir/out.grove");
    g.fail(
        1,
        &["circle", "export", "--out", unwritable.to_str().unwrap()],
    );

    assert_eq!((g.list(&["circle", "list"]), decision_ids(&g)), before);
    assert_eq!(g.json(&["decision", "show", &d])["id"], d.as_str());
    // The real file still imports (merges) after all that.
    g.create(&["circle", "import", good.to_str().unwrap()]);
    assert_eq!(decision_ids(&g), vec![d]);
}

#[test]
fn a_home_in_use_is_refused_clearly() {
    let g = Grove::new();
    g.create(&["circle", "create", "Busy"]);
    // Hold the store's lock file the way a running grove process does (see grove-store's
    // home.rs): deterministic, unlike racing a second long-running grove.
    let lock = std::fs::File::options()
        .write(true)
        .open(g.home().join("store.lock"))
        .expect("a used home has a store.lock");
    lock.try_lock().expect("no one else holds the lock");
    let err = g.fail(1, &["circle", "list"]);
    assert!(err.contains("in use by another grove process"), "{err}");
    assert!(
        err.contains("grove.sock"),
        "a held home with no serving node names the control socket it tried: {err}"
    );
    g.fail(1, &["value", "add", "--title", "t", "--statement", "s"]);
    drop(lock);
    assert_eq!(
        g.list(&["circle", "list"]).len(),
        1,
        "usable once the lock is released"
    );
    assert!(
        g.list(&["value", "list"]).is_empty(),
        "the refused write did not happen"
    );
}

/// A running `grove serve` child process, stopped with SIGTERM when dropped.
struct Served {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Served {
    /// The next JSON line `grove serve --json` prints.
    fn next_event(&mut self) -> Json {
        use std::io::BufRead as _;
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "grove serve ended its output early");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        self.child.wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn serve(g: &Grove) -> (Served, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("grove"))
        .env_remove("GROVE_HOME")
        .env_remove("GROVE_LOG")
        .arg("--home")
        .arg(g.home())
        .args([
            "serve",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--no-mdns",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut served = Served { child, stdout };
    let started = served.next_event();
    assert_eq!(
        started["type"], "started",
        "first line of grove serve: {started}"
    );
    let addr = started["addrs"][0].as_str().unwrap().to_string();
    assert!(
        addr.starts_with("/ip4/127.0.0.1/tcp/") && addr.contains("/p2p/"),
        "a dialable address with the peer id: {addr}"
    );
    assert_eq!(
        started["recorded"][0].as_str(),
        addr.split("/p2p/").next(),
        "serve records its address in the circle"
    );
    (served, addr)
}

#[test]
fn serve_sync_peers_and_peer_add() {
    let a = Grove::new();
    let b = Grove::new();
    let circle = a.create(&["circle", "create", "Tenants"]);
    let file = a.file("circle.grove");
    // A second home needs admission before it may hold the circle.
    admit(&a, &b, "Bea");
    a.done(&["circle", "export", "--out", file.to_str().unwrap()]);
    b.create(&["circle", "import", file.to_str().unwrap()]);
    // Teams, which any member adds (values change by consent in a circle of two).
    let b_value = b.create(&["team", "add", "Care"]);

    let (mut served, addr) = serve(&a);
    // Commands on a served home go through the node instead of failing on the lock.
    let a_value = a.create(&["team", "add", "Rest"]);
    assert_eq!(ids(&a.list(&["team", "list"])), vec![a_value.clone()]);
    let err = a.fail(1, &["serve"]);
    assert!(err.contains("already serves this home"), "{err}");
    assert!(
        a.home().join("grove.sock").exists(),
        "the control socket lives in the home"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(a.home().join("grove.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "only the owner may use the control socket"
        );
    }

    let report = b.json(&["sync", "--peer", &addr, "--timeout", "60"]);
    assert_eq!(strs(&report["circles"]), vec![circle.clone()]);
    assert!(addr.ends_with(report["peer"].as_str().unwrap()));
    assert_eq!(
        sorted(ids(&a.list(&["team", "list"]))),
        sorted(vec![a_value.clone(), b_value.clone()]),
        "the served node received B's team"
    );
    assert_eq!(
        sorted(ids(&b.list(&["team", "list"]))),
        sorted(vec![a_value, b_value]),
        "B received the served node's team"
    );

    // B remembers when it last synced; the served node saw B connect and sync.
    let peers = b.list(&["peers"]);
    assert_eq!(peers.len(), 1, "{peers:?}");
    assert_eq!(peers[0]["connected"], false);
    assert_eq!(peers[0]["circles"][0]["circle"], circle.as_str());
    assert!(peers[0]["circles"][0]["last_sync"].is_string(), "{peers:?}");
    let seen: Vec<String> = std::iter::from_fn(|| Some(served.next_event()))
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .take_while(|t| t != "peer-synced")
        .collect();
    assert!(
        seen.contains(&"peer-connected".to_string()),
        "events before the sync: {seen:?}"
    );

    let added = b.done(&["peer", "add", &addr]);
    assert!(added.contains("connected to peer"), "{added}");

    // Errors: an address that is not one, a timeout, a peer sharing no circle.
    let err = b.fail(1, &["sync", "--peer", "not-an-address"]);
    assert!(err.contains("multiaddr"), "{err}");
    let err = b.fail(1, &["sync", "--peer", &addr, "--timeout", "0"]);
    assert!(
        err.contains("not in sync") && err.contains("after 0 s"),
        "{err}"
    );
    // A stranger (no member of the served circle) is never greeted: it learns nothing.
    let stranger = Grove::new();
    stranger.create(&["circle", "create", "Other"]);
    let err = stranger.fail(1, &["sync", "--peer", &addr, "--timeout", "2"]);
    assert!(err.contains("has not greeted this device"), "{err}");

    let status = served.terminate();
    assert!(
        status.success(),
        "grove serve stops cleanly on SIGTERM: {status:?}"
    );
    let rest: Vec<String> = std::iter::from_fn(|| {
        use std::io::BufRead as _;
        let mut line = String::new();
        (served.stdout.read_line(&mut line).unwrap() > 0).then_some(line)
    })
    .collect();
    assert!(
        rest.last()
            .is_some_and(|l| l.contains(r#""type":"stopped""#)),
        "grove serve says it stopped, last: {rest:?}"
    );
    assert!(
        !a.home().join("grove.sock").exists(),
        "the control socket goes away with the node"
    );
    assert_eq!(
        a.list(&["team", "list"]).len(),
        2,
        "the home opens directly again"
    );
}

#[test]
fn tensions_detected_raised_gathered_and_addressed() {
    let g = Grove::new();
    let b = basics(&g);
    let garden = g.create(&["team", "add", "Garden"]);
    let a = log(&g, &b.team, &b.principle, &["--situation", "rent-rise"]);
    g.create(&[
        "decision",
        "log",
        "--team",
        &garden,
        "--principle",
        &b.principle,
        "--context",
        "Something happened.",
        "--choice",
        "We did the opposite.",
        "--situation",
        "rent-rise",
    ]);
    let list = g.list(&["tension", "list"]);
    let t = list
        .iter()
        .find(|t| t["id"] == "ta-rent-rise")
        .unwrap_or_else(|| panic!("two teams chose differently: {list:?}"));
    assert_eq!(t["kind"], "divergence");
    assert!(t["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == a.as_str()));
    let human = g.ok(&["tension", "show", "ta-rent-rise"]);
    assert!(human.contains("evidence:") && human.contains(&a), "{human}");

    let raised = g.create(&[
        "tension",
        "raise",
        "Meetings run late",
        "--summary",
        "We never end on time",
        "--evidence",
        &a,
    ]);
    let shown = g.json(&["tension", "show", &raised]);
    assert_eq!(shown["kind"], "raised");
    assert_eq!(shown["open"], true);
    assert_eq!(shown["evidence"][0]["id"], a.as_str());

    let review = g.create(&["review", "open", "--date", "2026-12-01"]);
    let msg = g.done(&["tension", "gather", &review]);
    assert!(msg.starts_with("2 open tensions"), "{msg}");
    let agenda = strs(&g.json(&["review", "show", &review])["agenda"]);
    assert!(agenda.iter().any(|i| i.contains(&raised)), "{agenda:?}");
    // Gathering twice adds nothing new.
    assert!(g
        .done(&["tension", "gather", &review])
        .starts_with("0 open"));

    g.done(&[
        "tension",
        "address",
        &raised,
        "--by",
        &review,
        "--note",
        "ends at nine",
    ]);
    let open = ids(&g.list(&["tension", "list"]));
    assert!(
        !open.contains(&raised),
        "an addressed tension leaves the open list"
    );
    let all = g.list(&["tension", "list", "--all"]);
    let closed = all.iter().find(|t| t["id"] == raised.as_str()).unwrap();
    assert_eq!(closed["closed"]["source"], review.as_str());

    g.fail(1, &["tension", "show", "ta-nope"]);
    g.fail(1, &["tension", "address", &raised, "--by", "nothing"]);
    g.fail(1, &["tension", "raise", " "]);
}

#[test]
fn vitality_search_and_related_over_the_demo() {
    let g = Grove::new();
    g.create(&["demo", "--decisions", "80"]);
    let v = g.json(&["vitality", "--window", "30"]);
    let figures = v["figures"].as_array().unwrap();
    let keys: Vec<&str> = figures.iter().map(|f| f["key"].as_str().unwrap()).collect();
    for key in [
        "decision-velocity",
        "read-coverage",
        "escalations-waiting",
        "principles-never-cited",
        "principles-unchanged",
        "past-due-no-result",
        "zone-unsure",
        "reviews-overdue",
        "roles-expired",
    ] {
        assert!(keys.contains(&key), "vitality lacks {key}: {keys:?}");
    }
    for f in figures {
        assert!(
            ["healthy", "watch", "decay"].contains(&f["band"].as_str().unwrap()),
            "{f}"
        );
        assert!(
            !f["reason"].as_str().unwrap().is_empty(),
            "every band says why: {f}"
        );
    }
    assert_eq!(v["weeks"].as_array().unwrap().len(), 12);
    let human = g.ok(&["vitality"]);
    assert!(human.contains("Read outside the author's team"), "{human}");
    // The demo shows decay and tensions of several kinds.
    assert!(
        figures.iter().any(|f| f["band"] == "decay"),
        "the demo shows decay signs"
    );
    let kinds: Vec<String> = g
        .list(&["tension", "list"])
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_string())
        .collect();
    for k in [
        "divergence",
        "shared-struggle",
        "failing-principle",
        "edit-conflict",
        "proliferation",
        "raised",
    ] {
        assert!(
            kinds.iter().any(|x| x == k),
            "the demo shows a {k} tension: {kinds:?}"
        );
    }
    // More than one category decays, so the demo shows the replant alert.
    let decaying = v["decaying"].as_array().unwrap();
    assert!(decaying.len() > 1, "{decaying:?}");
    assert!(
        !v["replant"]["recommendations"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        v["replant"]
    );
    // The conflicting edit came from the founder's second device, while alone in the
    // circle: the only time a value is edited directly.
    let members = g.list(&["member", "list"]);
    assert!(
        members
            .iter()
            .any(|m| m["name"] == "me" && m["devices"].as_array().map(Vec::len) == Some(2)),
        "the second device is the founder's: {members:?}"
    );

    let hits = g.list(&["search", "landlord", "--kind", "decision", "--limit", "5"]);
    assert!(!hits.is_empty() && hits.len() <= 5, "{hits:?}");
    assert!(hits.iter().all(|h| h["kind"] == "decision"));
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked: {scores:?}"
    );
    let values = g.list(&["search", "aid", "--kind", "value"]);
    assert!(
        values.iter().any(|h| h["title"] == "Mutual aid"),
        "{values:?}"
    );
    assert!(g.list(&["search", "zzzznothing"]).is_empty());

    let id = hits[0]["id"].as_str().unwrap().to_string();
    let related = g.list(&["decision", "related", &id, "--limit", "3"]);
    assert!(!related.is_empty() && related.len() <= 3);
    assert!(
        related.iter().all(|r| r["id"] != id.as_str()),
        "a decision is not related to itself"
    );
    g.fail(1, &["decision", "related", "d-209901-nope"]);
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn any_file_contains(dir: &Path, needle: &[u8]) -> bool {
    files(dir)
        .values()
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

#[test]
fn an_encrypted_home_opens_only_with_its_passphrase() {
    let g = Grove::new();
    let err = g.fail(1, &["init", "--passphrase"]);
    assert!(err.contains("GROVE_PASSPHRASE"), "{err}");
    assert!(
        !g.home().join("store.current").exists(),
        "nothing was created"
    );

    g.set_env("GROVE_PASSPHRASE", Some("first secret"));
    let init = g.json(&["init", "--passphrase"]);
    assert_eq!(init["encrypted"], true, "{init}");
    let member = init["member"].as_str().unwrap().to_string();
    g.create(&["circle", "create", "Rent strike cell"]);
    let value = g.create(&[
        "value",
        "add",
        "--title",
        "Discretion",
        "--statement",
        "The landlord never learns who organises.",
    ]);
    assert_eq!(
        g.me(),
        member,
        "the device key is kept in the encrypted home"
    );
    assert!(!any_file_contains(&g.home(), b"Rent strike cell"));
    assert!(!any_file_contains(&g.home(), b"landlord never learns"));

    let before = files(&g.home());
    g.set_env("GROVE_PASSPHRASE", None);
    let err = g.fail(1, &["circle", "list"]);
    assert!(
        err.contains("is encrypted") && err.contains("GROVE_PASSPHRASE"),
        "{err}"
    );
    g.set_env("GROVE_PASSPHRASE", Some("wrong secret"));
    let err = g.fail(1, &["value", "list"]);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(err.contains("nothing was read or changed"), "{err}");
    assert_eq!(files(&g.home()), before, "a refused open changed the home");

    // Change: the old passphrase opens it no more, the new one does.
    g.set_env("GROVE_PASSPHRASE", Some("first secret"));
    let err = g.fail(1, &["passphrase", "change"]);
    assert!(err.contains("GROVE_NEW_PASSPHRASE"), "{err}");
    g.set_env("GROVE_NEW_PASSPHRASE", Some("second secret"));
    g.done(&["passphrase", "change"]);
    g.set_env("GROVE_NEW_PASSPHRASE", None);
    let err = g.fail(1, &["value", "list"]);
    assert!(err.contains("wrong passphrase"), "{err}");
    g.set_env("GROVE_PASSPHRASE", Some("second secret"));
    assert_eq!(ids(&g.list(&["value", "list"])), vec![value.clone()]);
    assert_eq!(g.me(), member);
    assert!(!any_file_contains(&g.home(), b"landlord never learns"));

    // Removing it stores the home in the clear again.
    g.done(&["passphrase", "remove"]);
    g.set_env("GROVE_PASSPHRASE", None);
    assert_eq!(ids(&g.list(&["value", "list"])), vec![value]);
}

#[test]
fn an_unencrypted_home_can_be_encrypted_later() {
    let g = Grove::new();
    let init = g.json(&["init"]);
    assert_eq!(init["encrypted"], false, "{init}");
    g.create(&["circle", "create", "Open cell"]);

    g.set_env("GROVE_PASSPHRASE", Some("pw"));
    let err = g.fail(1, &["circle", "list"]);
    assert!(err.contains("not encrypted"), "{err}");
    let err = g.fail(1, &["passphrase", "change"]);
    assert!(err.contains("not encrypted"), "{err}");
    g.set_env("GROVE_PASSPHRASE", None);

    g.set_env("GROVE_NEW_PASSPHRASE", Some("now secret"));
    g.done(&["passphrase", "set"]);
    g.set_env("GROVE_NEW_PASSPHRASE", None);
    let err = g.fail(1, &["passphrase", "set"]);
    assert!(err.contains("already encrypted"), "{err}");
    g.fail(1, &["circle", "list"]);
    g.set_env("GROVE_PASSPHRASE", Some("now secret"));
    assert_eq!(g.list(&["circle", "list"]).len(), 1);
    assert!(!any_file_contains(&g.home(), b"Open cell"));
}

#[test]
fn bundles_carry_a_circle_between_members_and_refuse_the_rest() {
    let a = Grove::new();
    let b = basics(&a);
    let d1 = log(&a, &b.team, &b.principle, &[]);
    let shared = a.file("circle.grove");
    let other = Grove::new();
    // The other member's home is encrypted: bundles need no passphrase of their own.
    other.set_env("GROVE_PASSPHRASE", Some("theirs"));
    admit(&a, &other, "Other");
    a.done(&["circle", "export", "--out", shared.to_str().unwrap()]);
    other.create(&["circle", "import", shared.to_str().unwrap()]);

    let d2 = log(&a, &b.team, &b.principle, &[]);
    let bundle = a.file("circle.bundle");
    let msg = a.done(&["bundle", "export", "--out", bundle.to_str().unwrap()]);
    assert!(msg.contains("bundle"), "{msg}");
    assert_no_partial_files(a.dir.path());
    let bytes = std::fs::read(&bundle).unwrap();
    assert!(
        !bytes
            .windows(b"We did something.".len())
            .any(|w| w == b"We did something."),
        "a bundle is sealed"
    );

    // Refused bundles leave the circle as it was.
    let before = (
        other.list(&["circle", "list"]),
        decision_ids(&other),
        other.list(&["member", "list"]),
    );
    let write = |name: &str, data: &[u8]| {
        let path = other.file(name);
        std::fs::write(&path, data).unwrap();
        path.to_str().unwrap().to_string()
    };
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x01;
    let err = other.fail(1, &["bundle", "import", &write("tampered", &flipped)]);
    assert!(err.contains("tampered"), "{err}");
    let err = other.fail(
        1,
        &[
            "bundle",
            "import",
            &write("short", &bytes[..bytes.len() - 1]),
        ],
    );
    assert!(err.contains("truncated"), "{err}");
    let err = other.fail(1, &["bundle", "import", shared.to_str().unwrap()]);
    assert!(err.contains("not a Grove bundle"), "{err}");
    let stranger = Grove::new();
    stranger.create(&["circle", "create", "Elsewhere"]);
    let foreign = stranger.file("foreign.bundle");
    stranger.done(&["bundle", "export", "--out", foreign.to_str().unwrap()]);
    let err = other.fail(1, &["bundle", "import", foreign.to_str().unwrap()]);
    assert!(err.contains("not a member of"), "{err}");
    assert_eq!(
        (
            other.list(&["circle", "list"]),
            decision_ids(&other),
            other.list(&["member", "list"]),
        ),
        before
    );

    // The member's bundle merges, and importing it twice changes nothing more.
    other.done(&["bundle", "import", bundle.to_str().unwrap()]);
    assert_eq!(decision_ids(&other), sorted(vec![d1.clone(), d2.clone()]));
    other.done(&["bundle", "import", bundle.to_str().unwrap()]);
    assert_eq!(decision_ids(&other), sorted(vec![d1, d2]));
}

/// A `grove serve` on a home that may hold no circle yet; returns once it listens.
fn serve_any(g: &Grove) -> Served {
    serve_in(g, None)
}

/// `serve_any` with the home's environment (its passphrase), running in `cwd` if given.
fn serve_in(g: &Grove, cwd: Option<&Path>) -> Served {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("grove"));
    cmd.env_remove("GROVE_PASSPHRASE");
    for (k, v) in g.env.borrow().iter() {
        cmd.env(k, v);
    }
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd
        .env_remove("GROVE_HOME")
        .env_remove("GROVE_LOG")
        .arg("--home")
        .arg(g.home())
        .args([
            "serve",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--no-mdns",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut served = Served { child, stdout };
    assert_eq!(served.next_event()["type"], "started");
    served
}

#[test]
fn invites_joins_and_device_links() {
    let a = Grove::new();
    let circle = a.create(&["circle", "create", "Tenants"]);
    // Without a running node nobody could reach the inviter: say how to fix that.
    let err = a.fail(1, &["invite", "create"]);
    assert!(err.contains("grove serve"), "{err}");

    let (_served, _) = serve(&a);
    let invite = a.json(&["invite", "create", "--expires", "2h", "--uses", "2"]);
    let code = invite["code"].as_str().unwrap().to_string();
    let invite_id = invite["id"].as_str().unwrap().to_string();
    assert!(code.starts_with("grove1"), "{invite}");
    assert_eq!(invite["max_uses"], 2);
    assert_eq!(invite["circle"], circle.as_str());
    assert_eq!(invite["kind"]["type"], "member");
    assert!(invite["expires_at"].is_string(), "{invite}");
    // The readable list says when it expires as a moment, not in RFC 3339.
    let expires = dates::moment_of(invite["expires_at"].as_str().unwrap());
    let list = a.ok(&["invite", "list"]);
    assert!(list.contains(&format!("expires {expires}")), "{list}");
    assert!(!dates::has_rfc3339(&list), "{list}");
    let text = a.ok(&["invite", "create"]);
    assert!(
        text.starts_with("grove1") && text.lines().count() == 1,
        "the text output is the code alone: {text}"
    );
    let err = a.fail(2, &["invite", "create", "--expires", "3y"]);
    assert!(err.contains("unit"), "{err}");

    // A one-shot `grove join` reaches the serving inviter.
    let b = Grove::new();
    let joined = b.json(&["join", &code, "--name", "Bea", "--timeout", "60"]);
    assert_eq!(joined["id"], circle.as_str());
    let names: Vec<String> = b
        .list(&["member", "list"])
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Bea".to_string()), "{names:?}");
    assert_eq!(names.len(), 2, "{names:?}");
    let err = b.fail(1, &["join", &code, "--timeout", "60"]);
    assert!(err.contains("already holds"), "{err}");

    let listed = a.list(&["invite", "list"]);
    let entry = listed
        .iter()
        .find(|i| i["id"] == invite_id.as_str())
        .unwrap();
    assert_eq!(entry["state"], "open", "one of two uses left: {entry}");
    assert_eq!(entry["used_by"].as_array().unwrap().len(), 1);
    let human = a.ok(&["invite", "list"]);
    assert!(human.contains("used 1/2"), "{human}");

    a.done(&["invite", "revoke", &invite_id]);
    let c = Grove::new();
    let err = c.fail(1, &["join", &code, "--timeout", "60"]);
    assert!(err.contains("revoked"), "{err}");
    let err = c.fail(1, &["join", &code[..code.len() - 12]]);
    assert!(err.contains("incomplete"), "{err}");
    let err = c.fail(1, &["join", "hello"]);
    assert!(err.contains("not a Grove invite code"), "{err}");
    assert!(
        c.list(&["circle", "list"]).is_empty(),
        "a failed join leaves nothing"
    );

    // A join forwarded to the joiner's own serving node.
    let fresh = a.ok(&["invite", "create"]);
    let served_c = serve_any(&c);
    let joined = c.json(&["join", fresh.trim(), "--timeout", "60"]);
    assert_eq!(joined["id"], circle.as_str());
    drop(served_c);

    // A device link: the new device acts as the same member.
    let link = a.json(&["device", "link"]);
    assert_eq!(link["kind"]["type"], "device");
    let laptop = Grove::new();
    laptop.json(&["join", link["code"].as_str().unwrap(), "--timeout", "60"]);
    assert_eq!(laptop.me(), a.me());
}

/// The home itself and every entry under it, with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        out.push((path.clone(), meta.permissions().mode() & 0o7777));
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
    }
    out
}

fn assert_private(dir: &Path) {
    let modes = modes(dir);
    assert!(modes.len() > 3, "the home holds the store: {modes:?}");
    let open: Vec<String> = modes
        .iter()
        .filter(|(_, m)| m & 0o077 != 0)
        .map(|(p, m)| format!("{} {m:o}", p.display()))
        .collect();
    assert!(open.is_empty(), "readable by others: {open:?}");
}

/// Runs `grove` under umask 000, so any private mode is Grove's doing.
fn run_open_umask(g: &Grove, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("grove"))
        .env_remove("GROVE_HOME")
        .env_remove("GROVE_LOG")
        .env_remove("GROVE_PASSPHRASE");
    for (k, v) in g.env.borrow().iter() {
        cmd.env(k, v);
    }
    let out = cmd.arg("--home").arg(g.home()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn homes_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let plain = Grove::new();
    let sealed = Grove::new();
    sealed.set_env("GROVE_PASSPHRASE", Some("pw"));
    for (g, init) in [
        (&plain, vec!["init"]),
        (&sealed, vec!["init", "--passphrase"]),
    ] {
        run_open_umask(g, &init);
        run_open_umask(g, &["circle", "create", "Private"]);
        run_open_umask(
            g,
            &["value", "add", "--title", "Care", "--statement", "We care."],
        );
        assert_private(&g.home());
        let mode = std::fs::metadata(g.home()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the home is the owner's alone");
        // An export holds the circle (and its key, for a circle file) as the home does.
        for kind in ["circle", "bundle"] {
            let file = g.file(&format!("out.{kind}"));
            run_open_umask(g, &[kind, "export", "--out", file.to_str().unwrap()]);
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{kind} export");
        }
    }

    // A home made readable by others (an older Grove, a copy) is tightened on open, saying so.
    for (path, mode) in modes(&plain.home()) {
        let wide = if path.is_dir() { 0o755 } else { mode | 0o044 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wide)).unwrap();
    }
    let out = plain.cmd(&["value", "list"]).output().unwrap();
    assert!(out.status.success());
    let warned = String::from_utf8_lossy(&out.stderr);
    assert!(
        warned.contains("WARN") && warned.contains("permissions"),
        "the tightening is reported: {warned}"
    );
    assert_private(&plain.home());
    let out = plain.cmd(&["value", "list"]).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "said once");
}

#[test]
fn a_served_encrypted_home_checks_every_clients_passphrase() {
    let g = Grove::new();
    g.set_env("GROVE_PASSPHRASE", Some("right secret"));
    g.json(&["init", "--passphrase"]);
    g.create(&["circle", "create", "Cell"]);
    let value = g.create(&["value", "add", "--title", "Care", "--statement", "We care."]);
    // What a direct open answers, to compare with what the serving node answers.
    g.set_env("GROVE_PASSPHRASE", None);
    let direct_none = g.fail(1, &["decision", "list"]);
    g.set_env("GROVE_PASSPHRASE", Some("wrong secret"));
    let direct_wrong = g.fail(1, &["decision", "list"]);
    assert!(direct_wrong.contains("wrong passphrase"), "{direct_wrong}");

    g.set_env("GROVE_PASSPHRASE", Some("right secret"));
    let _served = serve_any(&g);
    assert!(g.home().join("grove.sock").exists());
    assert_eq!(ids(&g.list(&["value", "list"])), vec![value.clone()]);

    g.set_env("GROVE_PASSPHRASE", None);
    assert_eq!(
        g.fail(1, &["decision", "list"]),
        direct_none,
        "no passphrase: refused as a direct open is"
    );
    g.fail(
        1,
        &["value", "add", "--title", "Forged", "--statement", "x"],
    );
    g.set_env("GROVE_PASSPHRASE", Some("wrong secret"));
    assert_eq!(
        g.fail(1, &["decision", "list"]),
        direct_wrong,
        "a wrong passphrase: refused as a direct open is"
    );
    let err = g.fail(
        1,
        &["value", "add", "--title", "Forged", "--statement", "x"],
    );
    assert!(err.contains("nothing was read or changed"), "{err}");
    g.fail(
        1,
        &[
            "circle",
            "export",
            "--out",
            g.file("x.grove").to_str().unwrap(),
        ],
    );
    assert!(!g.file("x.grove").exists());

    g.set_env("GROVE_PASSPHRASE", Some("right secret"));
    assert_eq!(
        ids(&g.list(&["value", "list"])),
        vec![value],
        "the refused commands changed nothing"
    );

    // An unencrypted served home takes no passphrase, exactly as a direct open.
    let open = Grove::new();
    open.create(&["circle", "create", "Open"]);
    open.set_env("GROVE_PASSPHRASE", Some("pw"));
    let direct = open.fail(1, &["circle", "list"]);
    open.set_env("GROVE_PASSPHRASE", None);
    let _open_served = serve_any(&open);
    assert_eq!(open.list(&["circle", "list"]).len(), 1);
    open.set_env("GROVE_PASSPHRASE", Some("pw"));
    assert_eq!(open.fail(1, &["circle", "list"]), direct);
}

/// Runs `grove` with its address space capped, so a read that does not stop fails fast
/// instead of taking the machine's memory.
fn run_capped(g: &Grove, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 3145728 && exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("grove"))
        .env_remove("GROVE_HOME")
        .env_remove("GROVE_LOG")
        .env_remove("GROVE_PASSPHRASE")
        .arg("--home")
        .arg(g.home())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn imports_refuse_files_past_their_size_limit() {
    let g = Grove::new();
    g.create(&["circle", "create", "Bounded"]);
    let good = g.file("good.grove");
    g.done(&["circle", "export", "--out", good.to_str().unwrap()]);
    let before = (g.list(&["circle", "list"]), g.list(&["value", "list"]));

    // An endless stream, and a sparse regular file past either limit (its size is checked
    // before anything is read).
    let huge = g.file("huge.grove");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    for (kind, what) in [("circle", "circle file"), ("bundle", "bundle")] {
        for file in ["/dev/zero", huge.to_str().unwrap()] {
            let out = run_capped(&g, &[kind, "import", file]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{kind} import {file}: {err}");
            assert!(
                err.starts_with("error: ")
                    && err.contains("is larger than the")
                    && err.contains(&format!("MiB a {what} may be")),
                "{kind} import {file}: {err}"
            );
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
    }
    // A pipe within the limit still imports (e.g. `grove circle import <(…)`).
    let fifo = g.file("pipe.grove");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&good).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
    };
    g.create(&["circle", "import", fifo.to_str().unwrap()]);
    writer.join().unwrap();
    assert_eq!(
        (g.list(&["circle", "list"]), g.list(&["value", "list"])),
        before
    );
}

/// Runs `grove` on `g`'s home from `cwd` (for relative paths); returns its output.
fn run_in(g: &Grove, cwd: &Path, args: &[&str]) -> std::process::Output {
    g.cmd(args).current_dir(cwd).output().unwrap()
}

#[test]
fn relative_paths_resolve_in_the_clients_directory_while_served() {
    let g = Grove::new();
    g.create(&["circle", "create", "Here"]);
    let server_dir = g.file("server-dir");
    let client_dir = g.file("client-dir");
    std::fs::create_dir(&server_dir).unwrap();
    std::fs::create_dir_all(client_dir.join("sub")).unwrap();
    let good = g.file("good.grove");
    g.done(&["circle", "export", "--out", good.to_str().unwrap()]);
    let good_bundle = g.file("good.bundle");
    g.done(&["bundle", "export", "--out", good_bundle.to_str().unwrap()]);

    let _served = serve_in(&g, Some(&server_dir));
    let ok = |args: &[&str]| {
        let out = run_in(&g, &client_dir, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["circle", "export", "--out", "rel.grove"]);
    ok(&["bundle", "export", "--out=sub/rel.bundle"]);
    for name in ["rel.grove", "sub/rel.bundle"] {
        assert!(
            client_dir.join(name).is_file(),
            "{name} is in the client's directory"
        );
        assert!(
            !server_dir.join(name).exists(),
            "{name} is not beside serve"
        );
    }

    // Imports read the client's file, not a same-named one beside serve.
    for (name, good) in [("in.grove", &good), ("in.bundle", &good_bundle)] {
        std::fs::copy(good, client_dir.join(name)).unwrap();
        std::fs::write(server_dir.join(name), b"not this one").unwrap();
    }
    ok(&["circle", "import", "in.grove"]);
    ok(&["bundle", "import", "./sub/../in.bundle"]);
    let out = run_in(&g, &client_dir, &["circle", "import", "missing.grove"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&client_dir.join("missing.grove").display().to_string()),
        "the error names the file where the client looked: {err}"
    );
}

#[test]
fn no_one_removes_a_member_alone_but_a_member_may_leave() {
    let a = Grove::new();
    basics(&a);
    let bea = Grove::new();
    admit(&a, &bea, "Bea");
    carry(&a, &bea);
    let bea_id = bea.me();

    // Not even the founding steward removes Bea alone: that takes a passed proposal.
    let before = a.list(&["member", "list"]);
    for who in [bea_id.as_str(), "Bea"] {
        let err = a.fail(1, &["member", "remove", who]);
        assert!(
            err.contains(&format!(
                "removing a member needs the circle's consent: grove proposal open --remove-member {bea_id}"
            )),
            "{err}"
        );
    }
    assert_eq!(
        a.list(&["member", "list"]),
        before,
        "a refusal changes nothing"
    );

    // Bea leaves on her own, and A's device takes her departure.
    let msg = bea.done(&["member", "leave"]);
    assert!(msg.contains("left the circle"), "{msg}");
    carry(&bea, &a);
    let members = a.list(&["member", "list"]);
    let gone = members
        .iter()
        .find(|m| m["id"] == bea_id.as_str())
        .unwrap_or_else(|| panic!("who left stays listed: {members:?}"));
    assert!(gone["removed_at"].is_string(), "{gone}");
    assert_eq!(gone["removed_by"], bea_id.as_str(), "{gone}");

    // A, now the only member, cannot leave: nobody would hold the circle.
    let before = a.list(&["member", "list"]);
    let err = a.fail(1, &["member", "leave"]);
    assert!(err.contains("only member"), "{err}");
    let me = a.me();
    let err = a.fail(1, &["member", "remove", &me]);
    assert!(err.contains("only member"), "{err}");
    assert_eq!(a.list(&["member", "list"]), before);
}

#[test]
fn a_principle_check_names_who_was_consulted_and_only_they_acknowledge() {
    let a = Grove::new();
    let b = basics(&a);
    let bea = Grove::new();
    admit(&a, &bea, "Bea");
    let cy = Grove::new();
    admit(&a, &cy, "Cy");
    let (bea_id, cy_id) = (bea.me(), cy.me());
    let check = ["--zone", "principle-check"];
    let decisions = |g: &Grove| g.list(&["decision", "list"]).len();

    // Refusals: exit 1, one line, nothing logged.
    for (extra, why) in [
        (
            vec!["--consulted", "Bea"],
            "only a principle-check decision",
        ),
        (
            vec!["--zone", "local", "--consulted", "Bea"],
            "only a principle-check decision",
        ),
        (
            vec!["--zone", "principle-check", "--consulted", "Nobody"],
            "no member",
        ),
        (
            vec!["--zone", "principle-check", "--consulted", &a.me()],
            "cannot consult yourself",
        ),
    ] {
        let mut args = vec![
            "decision",
            "log",
            "--team",
            &b.team,
            "--principle",
            &b.principle,
            "--context",
            "Bread left over.",
            "--choice",
            "We give it away.",
        ];
        args.extend_from_slice(&extra);
        let err = a.fail(1, &args);
        assert!(err.to_lowercase().contains(why), "{args:?}: {err}");
        assert_eq!(decisions(&a), 0, "a refused log writes nothing");
    }

    // Without --consulted a principle-check decision is still allowed.
    let plain = log(&a, &b.team, &b.principle, &check);
    assert!(a.json(&["decision", "show", &plain])["consulted"]
        .as_array()
        .unwrap()
        .is_empty());

    let d = log(
        &a,
        &b.team,
        &b.principle,
        &[
            "--zone",
            "principle-check",
            "--consulted",
            "Bea",
            "--consulted",
            &cy_id,
        ],
    );
    let shown = a.json(&["decision", "show", &d]);
    let consulted = shown["consulted"].as_array().unwrap();
    assert_eq!(consulted.len(), 2, "{shown}");
    let bea_row = consulted
        .iter()
        .find(|k| k["member"] == bea_id.as_str())
        .unwrap();
    assert_eq!(bea_row["name"], "Bea");
    assert!(bea_row["acknowledged_at"].is_null());
    let text = a.ok(&["decision", "show", &d]);
    assert!(text.contains("consulted: "), "{text}");
    assert!(text.contains("Bea (awaiting since "), "{text}");

    // Only a member consulted acknowledges, once.
    carry(&a, &bea);
    carry(&a, &cy);
    let err = a.fail(1, &["decision", "acknowledge", &d]);
    assert!(err.contains("you were not consulted"), "{err}");
    let err = bea.fail(1, &["decision", "acknowledge", &plain]);
    assert!(err.contains("no one was consulted"), "{err}");
    let msg = bea.done(&[
        "decision",
        "acknowledge",
        &d,
        "--note",
        "We checked it at the stall.",
    ]);
    assert!(msg.contains("acknowledged"), "{msg}");
    let err = bea.fail(1, &["decision", "acknowledge", &d]);
    assert!(err.contains("already acknowledged"), "{err}");

    // The acknowledgement travels, and shows with its note.
    carry(&bea, &a);
    let shown = a.json(&["decision", "show", &d]);
    let bea_row = shown["consulted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["member"] == bea_id.as_str())
        .unwrap()
        .clone();
    assert!(bea_row["acknowledged_at"].is_string(), "{bea_row}");
    assert_eq!(bea_row["note"], "We checked it at the stall.");
    let text = a.ok(&["decision", "show", &d]);
    assert!(
        text.contains("Bea (acknowledged ") && text.contains("We checked it at the stall."),
        "{text}"
    );
    assert!(text.contains("Cy (awaiting since "), "{text}");
}
