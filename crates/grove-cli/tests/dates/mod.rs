//! Readable output writes instants one way: days as `YYYY-MM-DD`, moments as
//! `YYYY-MM-DD HH:MM UTC`, never raw RFC 3339 with milliseconds; `--json` keeps RFC 3339.

use super::*;

/// Whether `text` holds an RFC 3339 instant (`2026-12-03T14:05`…), which is for programs.
pub(super) fn has_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digit = |i: usize| b[i].is_ascii_digit();
    (0..b.len().saturating_sub(12)).any(|i| {
        (0..4).all(|k| digit(i + k))
            && b[i + 4] == b'-'
            && digit(i + 5)
            && digit(i + 6)
            && b[i + 7] == b'-'
            && digit(i + 8)
            && digit(i + 9)
            && b[i + 10] == b'T'
            && digit(i + 11)
            && digit(i + 12)
    })
}

/// `2026-12-03T14:05:59.123Z` as readable output writes it: `2026-12-03 14:05 UTC`.
pub(super) fn moment_of(rfc3339: &str) -> String {
    assert!(has_rfc3339(rfc3339), "--json keeps RFC 3339: {rfc3339}");
    format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
}

#[test]
fn readable_output_writes_days_and_moments_one_way() {
    assert!(has_rfc3339("at 2026-12-03T14:05:59.123Z"));
    assert!(!has_rfc3339("at 2026-12-03 14:05 UTC"));

    let g = Grove::new();
    let b = basics(&g);
    let d = log(&g, &b.team, &b.principle, &["--zone", "centre-awareness"]);
    g.done(&["decision", "edit", &d, "--choice", "We did something else."]);

    // decision show: logged at a moment, each history line a moment, readers a day.
    g.done(&["decision", "read", &d]);
    let json = g.json(&["decision", "show", &d]);
    let text = g.ok(&["decision", "show", &d]);
    let logged = moment_of(json["created_at"].as_str().unwrap());
    assert!(text.contains(&format!("logged {logged} by")), "{text}");
    let edited = moment_of(json["history"][0]["at"].as_str().unwrap());
    assert!(text.contains(&format!("    {edited} ")), "{text}");
    let read = &json["readers"][0]["at"].as_str().unwrap()[..10];
    assert!(text.contains(&format!("({read})")), "{text}");

    // circle show: created at a moment.
    let circle = g.json(&["circle", "show"]);
    let created = moment_of(circle["created_at"].as_str().unwrap());
    assert!(
        g.ok(&["circle", "show"])
            .contains(&format!("created {created} by")),
        "circle show"
    );

    // No readable output leaks RFC 3339, across the commands that show instants.
    for args in [
        &["decision", "show", d.as_str()][..],
        &["decision", "list"],
        &["escalation", "list"],
        &["circle", "show"],
        &["member", "list"],
        &["value", "list"],
        &["principle", "list"],
    ] {
        let out = g.ok(args);
        assert!(
            !has_rfc3339(&out),
            "`grove {}` wrote RFC 3339: {out}",
            args.join(" ")
        );
    }
}
