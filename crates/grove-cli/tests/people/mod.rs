//! Readable output is for people: a screenful rather than the whole log, what waits for
//! someone before what is settled, and sentences that read as English.

use super::*;

#[test]
fn readable_lists_show_what_a_person_needs_first() {
    let g = Grove::new();
    g.ok(&["demo", "--decisions", "120"]);
    let every = g.list(&["decision", "list"]).len();
    assert!(every > 50, "the demo logs more than a screenful: {every}");

    // A screenful by default, with a word on how to see more; --all and --json give all.
    let out = g.cmd(&["decision", "list"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 50, "{text}");
    let hint = String::from_utf8(out.stderr).unwrap();
    assert!(hint.contains("--all"), "{hint}");
    assert_eq!(g.ok(&["decision", "list", "--all"]).lines().count(), every);
    assert_eq!(
        g.ok(&["decision", "list", "--limit", "3"]).lines().count(),
        3
    );

    // Escalations that wait for someone come before those that are settled (a new one,
    // raised today, after the demo's year of settled ones).
    let team = ids(&g.list(&["team", "list"]))[0].clone();
    let principle = ids(&g.list(&["principle", "list"]))[0].clone();
    log(&g, &team, &principle, &["--zone", "centre-awareness"]);
    let statuses: Vec<String> = g
        .ok(&["escalation", "list"])
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default().to_string())
        .collect();
    let first_resolved = statuses.iter().position(|s| s == "resolved");
    let last_waiting = statuses.iter().rposition(|s| s != "resolved");
    assert!(
        first_resolved.is_some() && last_waiting.is_some(),
        "the demo has both: {statuses:?}"
    );
    assert!(
        last_waiting < first_resolved,
        "waiting escalations first: {statuses:?}"
    );

    // "1 piece", not "1 pieces".
    let tensions = g.ok(&["tension", "list", "--all"]);
    assert!(!tensions.contains("(1 pieces"), "{tensions}");
    assert!(!tensions.contains("(0 pieces"), "{tensions}");
    // Things by name, not by id: "under principle “Put every demand…”".
    assert!(tensions.contains("principle “"), "{tensions}");
    assert!(!tensions.contains("principle p-"), "{tensions}");
    // And so does one tension shown whole: its subject, teams and evidence by name.
    let struggle = tensions
        .lines()
        .find(|l| l.contains("[shared-struggle]"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the demo has a shared struggle");
    let shown = g.ok(&["tension", "show", struggle]);
    assert!(shown.contains("about “"), "{shown}");
    for id_prefix in [" p-", " t-", "team t-"] {
        assert!(
            !shown.contains(id_prefix),
            "an id where a name goes: {shown}"
        );
    }

    // A value two devices reworded at once says whose each version is.
    let mutual_aid = g
        .list(&["value", "list"])
        .into_iter()
        .find(|v| v["title"] == "Mutual aid")
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .expect("the demo's first value");
    let shown = g.ok(&["value", "show", &mutual_aid]);
    let conflict = shown
        .lines()
        .find(|l| l.starts_with("CONFLICT"))
        .unwrap_or_default();
    assert_eq!(conflict.matches("(by me)").count(), 2, "{shown}");
}

#[test]
fn a_decision_says_whose_device_entered_it_in_one_sentence() {
    let g = Grove::new();
    let b = basics(&g);
    let id = log(&g, &b.team, &b.principle, &[]);
    let shown = g.ok(&["decision", "show", &id]);
    let last = shown.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("entered by ") && last.contains("signature verified"),
        "{shown}"
    );
    assert!(!shown.contains("written by"), "{shown}");
    // Its team and principles by name, not by id.
    assert!(shown.contains("team:       Kitchen"), "{shown}");
    assert!(
        shown.contains("“Ask before acting for someone.”"),
        "{shown}"
    );
}
