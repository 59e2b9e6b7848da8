//! How results reach the terminal: JSON with `--json`, readable text otherwise.
//!
//! Most of what Grove prints was written by someone else: any member (or their modified
//! client) chooses the bytes of a decision, a name or a title. Readable output therefore
//! never lets such text act on the terminal: [`terminal_safe`] turns every control
//! character into a visible escape, [`Out`] applies it to everything it prints in readable
//! mode, and one-line cells ([`cell`]) and indented fields ([`field`]) also keep a line break
//! in the text from posing as a row or a field of its own. `--json` prints the exact text
//! (serde escapes control characters in strings).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use grove_node::core::{
    Commitment, Decision, Escalation, Keepers, Member, Principle, ProposalStatus, ProposalView,
    Review, Role, Stewardship, Timestamp, Value,
};
use grove_node::PeerStatus;
use serde::Serialize;

pub struct Out {
    pub json: bool,
    pub now: Timestamp,
    sink: Sink,
    /// Warnings for stderr, kept here when the output is captured (see [`Out::warn`]).
    warnings: Mutex<String>,
}

/// Where output goes: the terminal, or a buffer when a serving node runs a command for
/// another `grove` process and sends the output back.
enum Sink {
    Stdout,
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Out {
    pub fn stdout(json: bool, now: Timestamp) -> Out {
        Out {
            json,
            now,
            sink: Sink::Stdout,
            warnings: Mutex::default(),
        }
    }

    /// Output captured in the returned buffer.
    pub fn buffer(json: bool, now: Timestamp) -> (Out, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out = Out {
            json,
            now,
            sink: Sink::Buffer(buf.clone()),
            warnings: Mutex::default(),
        };
        (out, buf)
    }

    /// Writes `text`: as is with `--json` (serde has escaped every string in it), else with
    /// every control character made visible (see [`terminal_safe`]), whatever the caller
    /// forgot to escape.
    pub fn text(&self, text: &str) {
        let text = if self.json {
            Cow::Borrowed(text)
        } else {
            terminal_safe(text, Layout::Block)
        };
        match &self.sink {
            Sink::Stdout => {
                let mut stdout = std::io::stdout().lock();
                // A closed pipe (`grove … | head`) is the reader's choice, not an error.
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            }
            Sink::Buffer(buf) => {
                if let Ok(mut buf) = buf.lock() {
                    buf.extend_from_slice(text.as_bytes());
                }
            }
        }
    }

    /// A warning line for stderr, even with `--json`: straight to stderr on a terminal, or
    /// kept for [`Out::warnings`] when a serving node runs the command for another process,
    /// so the user who typed it still sees it.
    pub fn warn(&self, text: &str) {
        let line = format!("warning: {}\n", terminal_safe(text, Layout::Block));
        match &self.sink {
            Sink::Stdout => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
            Sink::Buffer(_) => {
                if let Ok(mut w) = self.warnings.lock() {
                    w.push_str(&line);
                }
            }
        }
    }

    /// The warnings kept by [`Out::warn`] for a captured command.
    pub fn warnings(&self) -> String {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Whether this writes to this process's own stdout (not a buffer for another process).
    pub fn is_direct(&self) -> bool {
        matches!(self.sink, Sink::Stdout)
    }

    /// Writes `text` and a newline.
    pub fn line(&self, text: &str) {
        self.text(&format!("{text}\n"));
    }

    /// A created entity: its id alone, so scripts can capture it.
    pub fn id(&self, id: &str) -> Result<()> {
        if self.json {
            self.line(&serde_json::json!({ "id": id }).to_string());
        } else {
            self.line(id);
        }
        Ok(())
    }

    /// A change with nothing to return.
    pub fn done(&self, message: &str) -> Result<()> {
        if self.json {
            self.line(&serde_json::json!({ "ok": true, "message": message }).to_string());
        } else {
            self.line(message);
        }
        Ok(())
    }

    pub fn show<T: Serialize>(&self, item: &T, human: impl FnOnce(&T) -> String) -> Result<()> {
        if self.json {
            self.line(&serde_json::to_string_pretty(item)?);
        } else {
            self.text(&human(item));
        }
        Ok(())
    }

    pub fn list<T: Serialize>(
        &self,
        items: &[T],
        empty: &str,
        line: impl Fn(&T) -> String,
    ) -> Result<()> {
        if self.json {
            self.line(&serde_json::to_string_pretty(items)?);
        } else if items.is_empty() {
            self.line(empty);
        } else {
            let mut s = String::new();
            for item in items {
                let _ = writeln!(s, "{}", line(item));
            }
            self.text(&s);
        }
        Ok(())
    }
}

/// How much of its own layout untrusted text may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line of a list or table: line breaks, tabs and line separators are escaped too.
    Line,
    /// A multi-line view: line breaks and tabs stay (the text's paragraphs are meant to be
    /// read); everything else that is not printable is escaped.
    Block,
}

/// Text from a peer, a file or a user made safe to print on a terminal: every C0 control
/// (ESC, BEL, CR, backspace…), DEL, every C1 control (U+0080–U+009F, e.g. the one-byte CSI
/// U+009B) and every bidi embedding, override and isolate (U+202A–U+202E, U+2066–U+2069,
/// which reorder what follows them on screen) is shown as a visible escape (`\x1b`,
/// `\u{9b}`, `\u{202e}`) instead of being acted on. Line breaks and tabs stay
/// as they are in [`Layout::Block`]; in [`Layout::Line`] they are shown as `\n` and `\t`
/// too. Borrowed when there was nothing to escape,
/// which is nearly always. The one place that decides what a terminal may receive.
pub fn terminal_safe(text: &str, layout: Layout) -> Cow<'_, str> {
    let needs = |c: char| match c {
        '\n' | '\t' => layout == Layout::Line,
        // Some renderers break lines at these; a cell must stay one line.
        '\u{2028}' | '\u{2029}' => layout == Layout::Line,
        c => c.is_control() || is_bidi_control(c),
    };
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !needs(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI,
/// PDI): invisible, and they reorder the rest of the line. The marks (LRM, RLM, ALM) are
/// left alone: they only nudge neutral characters and right-to-left text needs them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Untrusted text inside one line of a list or table.
pub fn cell(text: &str) -> Cow<'_, str> {
    terminal_safe(text, Layout::Line)
}

/// Untrusted text as the value of a labelled field in a multi-line view: its own line
/// breaks stay, and each of its later lines is indented by `indent` spaces, so nothing in
/// it can start a line where a label or an entry would start.
pub fn field(text: &str, indent: usize) -> String {
    let safe = terminal_safe(text, Layout::Block);
    if !safe.contains('\n') {
        return safe.into_owned();
    }
    safe.replace('\n', &format!("\n{:indent$}", ""))
}

/// Member id → display name, for readable output; and each member device's key → its
/// member's name, for what names a device (who wrote which side of a conflict).
pub struct Names {
    by_id: HashMap<String, String>,
    by_device: HashMap<String, String>,
}

impl Names {
    pub fn new(members: &[Member]) -> Names {
        Names {
            by_id: members
                .iter()
                .map(|m| (m.id.clone(), m.name.clone()))
                .collect(),
            by_device: members
                .iter()
                .flat_map(|m| m.devices.iter().map(|d| (d.clone(), m.name.clone())))
                .collect(),
        }
    }

    /// The name of the member whose device `device` is, safe for one line.
    pub fn of_device(&self, device: &str) -> Option<String> {
        self.by_device.get(device).map(|n| cell(n).into_owned())
    }

    /// The member's name (or its id if unknown), safe for one line.
    pub fn of(&self, id: &str) -> String {
        let name = self.by_id.get(id).map(String::as_str).unwrap_or(id);
        cell(name).into_owned()
    }

    /// Adds what people call other things by: teams by name, values by title, principles
    /// by their statement in quotes.
    pub fn with(mut self, entries: impl IntoIterator<Item = (String, String)>) -> Names {
        self.by_id.extend(entries);
        self
    }

    /// `text` (engine text, which names things by id: "3 teams struggle under principle
    /// p-…") with every id this circle knows replaced by its name; safe for one line.
    pub fn in_text(&self, text: &str) -> String {
        cell(&self.names_in(text)).into_owned()
    }

    /// `text` with every id this circle knows replaced by its name, not yet made safe for
    /// the terminal (for a multi-line [`field`]).
    pub fn names_in(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            match self.by_id.get(word.as_str()) {
                Some(name) => out.push_str(name),
                None => out.push_str(word),
            }
            word.clear();
        };
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || c == '-' {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

// Readable output writes instants two ways only, both UTC so that every device and every
// pasted transcript agree: a day (`2026-12-03`) where the day is what matters, a moment
// (`2026-12-03 14:05 UTC`) where the time does. `--json` keeps RFC 3339 for programs.

/// The UTC day of `t`: `YYYY-MM-DD`.
pub fn day(t: Timestamp) -> String {
    t.day().to_string()
}

/// The UTC minute of `t`: `YYYY-MM-DD HH:MM UTC` (no seconds, no milliseconds).
pub fn moment(t: Timestamp) -> String {
    let in_day = t.millis().rem_euclid(grove_node::core::DAY_MS);
    let (h, m) = (in_day / 3_600_000, in_day / 60_000 % 60);
    format!("{} {h:02}:{m:02} UTC", t.day())
}

fn conflicts(s: &mut String, conflicts: &[grove_node::core::Conflict], names: &Names) {
    for c in conflicts {
        let _ = writeln!(
            s,
            "CONFLICT  {} was edited concurrently: {} (edit it to pick one)",
            cell(&c.field),
            c.values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    // Whose each version is, where the writing device is a member's.
                    let by = c.devices.get(i).and_then(|d| names.of_device(d));
                    match by {
                        Some(name) => format!("«{}» (by {name})", cell(v)),
                        None => format!("«{}»", cell(v)),
                    }
                })
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
}

/// Ids (peers write those too), each safe for one line, joined by `sep`.
pub fn cells(items: &[String], sep: &str) -> String {
    items
        .iter()
        .map(|i| cell(i).into_owned())
        .collect::<Vec<_>>()
        .join(sep)
}

pub fn value(v: &Value, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  {} [{}]", cell(&v.id), cell(&v.title), v.status);
    let _ = writeln!(s, "  {}", field(&v.statement, 2));
    if let Some(p) = &v.protect {
        let _ = writeln!(s, "  protects: {}", field(p, 12));
    }
    if let Some(r) = &v.refuse {
        let _ = writeln!(s, "  refuses:  {}", field(r, 12));
    }
    for e in &v.examples {
        let _ = writeln!(s, "  example:  {}", field(e, 12));
    }
    let _ = writeln!(s, "  history:");
    for h in &v.versions {
        let _ = writeln!(
            s,
            "    v{} {} by {}{}: {} — {}",
            h.version,
            day(h.at),
            names.of(&h.author),
            because(
                h.reason.as_deref(),
                &h.cites,
                h.source.as_deref(),
                h.contested
            ),
            cell(&h.title),
            field(&h.statement, 6)
        );
    }
    conflicts(&mut s, &v.conflicts, names);
    s
}

/// Why a version was made, the feedback it cites and the proposal that made it.
fn because(
    reason: Option<&str>,
    cites: &[String],
    source: Option<&str>,
    contested: bool,
) -> String {
    let mut out = String::new();
    if let Some(r) = reason {
        out.push_str(&format!(" — because: {}", cell(r)));
    }
    if !cites.is_empty() {
        out.push_str(&format!(" (citing {})", cells(cites, ", ")));
    }
    if let Some(src) = source {
        out.push_str(&format!(" (via {})", cell(src)));
    }
    if contested {
        out.push_str(" [contested: not in force]");
    }
    out
}

pub fn principle(p: &Principle, citations: usize, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  v{} [{}]  cited by {} decision(s)",
        cell(&p.id),
        p.version(),
        p.status,
        citations
    );
    let _ = writeln!(s, "  {}", field(&p.statement, 2));
    if let Some(g) = &p.guidance {
        let _ = writeln!(s, "  guidance: {}", field(g, 12));
    }
    let _ = writeln!(s, "  derives from: {}", cells(&p.values, ", "));
    if let Some(x) = &p.supersedes {
        let _ = writeln!(s, "  supersedes: {}", cell(x));
    }
    if let Some(x) = &p.superseded_by {
        let _ = writeln!(s, "  superseded by: {}", cell(x));
    }
    if let Some(r) = &p.retired_reason {
        let _ = writeln!(s, "  retired: {}", field(r, 11));
    }
    let _ = writeln!(s, "  history:");
    for v in &p.versions {
        let _ = writeln!(
            s,
            "    v{} {} by {}{}: {}",
            v.version,
            day(v.at),
            names.of(&v.author),
            because(
                v.reason.as_deref(),
                &v.cites,
                v.source.as_deref(),
                v.contested
            ),
            field(&v.statement, 6)
        );
    }
    conflicts(&mut s, &p.conflicts, names);
    s
}

pub fn decision_line(d: &Decision, names: &Names) -> String {
    let result = d
        .result
        .as_ref()
        .map(|r| r.outcome.to_string())
        .unwrap_or_else(|| "open".into());
    let conflict = if d.conflicts.is_empty() {
        ""
    } else {
        "  CONFLICT"
    };
    format!(
        "{}  {}  {:<19} {:<7} {}: {}{}",
        cell(&d.id),
        day(d.created_at),
        d.zone,
        result,
        names.of(&d.author),
        truncate(&d.choice, 60),
        conflict
    )
}

pub fn decision(d: &Decision, names: &Names) -> String {
    // Where a field's value starts: `  context:    ` and its kin.
    const VALUE: usize = 14;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  logged {} by {}",
        cell(&d.id),
        moment(d.created_at),
        names.of(&d.author)
    );
    let _ = writeln!(s, "  team:       {}", names.of(&d.team));
    let principles: Vec<String> = d.principles.iter().map(|p| names.of(p)).collect();
    let _ = writeln!(s, "  principles: {}", principles.join(", "));
    let unsure = if d.zone_unsure {
        " (author unsure of zone)"
    } else {
        ""
    };
    let _ = writeln!(s, "  zone:       {}{unsure}", d.zone);
    if let Some(k) = &d.situation {
        let _ = writeln!(s, "  situation:  {}", cell(k));
    }
    let _ = writeln!(s, "  context:    {}", field(&d.context, VALUE));
    let _ = writeln!(s, "  choice:     {}", field(&d.choice, VALUE));
    match &d.result {
        Some(r) => {
            let _ = writeln!(
                s,
                "  result:     {} — {} ({} by {})",
                r.outcome,
                field(&r.text, VALUE),
                day(r.at),
                names.of(&r.by)
            );
        }
        None => {
            let due = d
                .result_due
                .map(|x| format!(" (due {x})"))
                .unwrap_or_default();
            let _ = writeln!(s, "  result:     not recorded yet{due}");
        }
    }
    for l in &d.links {
        let _ = writeln!(s, "  linked to:  {}", cell(l));
    }
    let readers: Vec<String> = d
        .readers
        .iter()
        .map(|r| format!("{} ({})", names.of(&r.member), day(r.at)))
        .collect();
    let _ = writeln!(
        s,
        "  read by:    {}",
        if readers.is_empty() {
            "no one yet".to_string()
        } else {
            readers.join(", ")
        }
    );
    if !d.history.is_empty() {
        let _ = writeln!(s, "  history:");
        for h in &d.history {
            let _ = writeln!(
                s,
                "    {} {}: {}",
                moment(h.at),
                names.of(&h.by),
                cell(&h.what)
            );
        }
    }
    conflicts(&mut s, &d.conflicts, names);
    s
}

pub fn escalation_line(e: &Escalation, now: Timestamp, names: &Names) -> String {
    let waited = e.waiting_ms(now) / 3_600_000;
    let waiting = if e.acknowledged_at.is_some() {
        format!("acknowledged after {}", hours(waited))
    } else {
        format!("waiting {}", hours(waited))
    };
    format!(
        "{}  {:<12} {:<19} decision {}  raised by {} {}  {}",
        cell(&e.id),
        e.status,
        e.zone,
        cell(&e.decision),
        names.of(&e.raised_by),
        day(e.raised_at),
        waiting
    )
}

fn hours(h: i64) -> String {
    if h >= 48 {
        format!("{} days", h / 24)
    } else {
        format!("{h} h")
    }
}

pub fn proposal(v: &ProposalView, names: &Names) -> String {
    let p = &v.proposal;
    let mut s = String::new();
    let _ = writeln!(s, "{}  {} [{}]", cell(&p.id), cell(&p.title), p.status);
    let _ = writeln!(
        s,
        "  opened {} by {}; version {}, window {}",
        day(p.opened_at),
        names.of(&p.opened_by),
        p.version,
        window(p.window_ms)
    );
    if !p.body.is_empty() {
        let _ = writeln!(s, "  {}", field(&p.body, 2));
    }
    // JSON escapes every control character in its strings, and keeps to one line.
    let _ = writeln!(
        s,
        "  change: {}",
        serde_json::to_string(&p.change).unwrap_or_default()
    );
    for voice in &v.round.voices {
        let answer = match (voice.answer, &voice.reason) {
            (Some(a), Some(r)) => format!("{a}: {}", cell(r)),
            (Some(a), None) => a.to_string(),
            (None, _) => voice.standing.to_string().replace('-', " "),
        };
        let window = match (voice.received_at, voice.window_ends) {
            (Some(at), Some(end)) => {
                format!(" (received {}, window until {})", at.minute(), end.minute())
            }
            _ => " (not received yet)".to_string(),
        };
        let _ = writeln!(s, "  {} — {}{}", names.of(&voice.member), answer, window);
    }
    if let Some(c) = &p.contest {
        let _ = writeln!(
            s,
            "  contested: passed by {} at {} without hearing:",
            names.of(&c.passed_by),
            c.passed_at.minute()
        );
        for r in &c.unheard {
            let reason = r
                .reason
                .as_deref()
                .map(|x| format!(": {}", cell(x)))
                .unwrap_or_default();
            let _ = writeln!(s, "    {} — {}{}", names.of(&r.member), r.answer, reason);
        }
        if c.revised {
            let _ = writeln!(s, "    the proposer's revision");
        }
        if let Some(rival) = &c.rival {
            let _ = writeln!(
                s,
                "    proposal {rival}, passed at the same time on the same wording"
            );
        }
    }
    if matches!(p.status, ProposalStatus::Open | ProposalStatus::Contested) {
        if v.round.blocking.is_empty() {
            let _ = writeln!(s, "  can pass now: grove proposal pass {}", p.id);
        } else {
            for b in &v.round.blocking {
                let _ = writeln!(s, "  cannot pass yet: {}", cell(b));
            }
        }
    }
    if let Some(o) = &p.outcome {
        let _ = writeln!(s, "  outcome: {}", cell(o));
    }
    s
}

pub fn stewardship(s: &Stewardship, names: &Names) -> String {
    let term = match s.until {
        Some(until) if s.in_office => format!("in office until {}", until.minute()),
        Some(until) => format!(
            "their term ended on {}: no steward is in office; name stewards with `grove proposal open --steward M --term-days N`",
            until.minute()
        ),
        None => "in office until the circle names stewards (no term: named before terms)".into(),
    };
    let by =
        s.by.as_deref()
            .map_or_else(|| "the founder".into(), named_by);
    office("stewards", &s.stewards, &term, &by, &s.queue, names)
}

pub fn keepers(k: &Keepers, names: &Names) -> String {
    if k.keepers.is_empty() && k.by.is_none() {
        return "no principle keepers: the circle changes its values and principles by consent alone; name keepers with `grove proposal open --keeper M --term-days N`\n".into();
    }
    let term = match k.until {
        Some(until) if k.in_office => format!("in office until {}", until.minute()),
        Some(until) => format!(
            "their term ended on {}: no principle keeper is in office; `grove keeper rotate`, or name keepers with `grove proposal open --keeper M --term-days N`",
            until.minute()
        ),
        None => "not in office".into(),
    };
    let by = k.by.as_deref().map(named_by).unwrap_or_default();
    office("principle keepers", &k.keepers, &term, &by, &k.queue, names)
}

fn named_by(proposal: &str) -> String {
    format!("named by proposal {proposal}")
}

/// An office held for a term: who, the term, who named them, who is next.
fn office(
    what: &str,
    holders: &[String],
    term: &str,
    by: &str,
    queue: &[String],
    names: &Names,
) -> String {
    let who: Vec<String> = holders.iter().map(|m| names.of(m)).collect();
    let next: Vec<String> = queue.iter().map(|m| names.of(m)).collect();
    let next = match next.is_empty() {
        true => "no one is queued next".to_string(),
        false => format!("next: {}", next.join(", ")),
    };
    format!("{what}: {}\n  {term}\n  {by}\n  {next}\n", who.join(", "))
}

/// A window in the largest whole unit: 7d, 36h, 90m, 2s.
fn window(ms: i64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{}s", ms / 1000)
}

pub fn role(r: &Role, names: &Names) -> String {
    let mut s = String::new();
    let holder = r
        .holder
        .as_deref()
        .map(|h| names.of(h))
        .unwrap_or_else(|| "vacant".into());
    let _ = writeln!(s, "{}  {} — held by {}", cell(&r.id), cell(&r.name), holder);
    let _ = writeln!(s, "  purpose: {}", field(&r.purpose, 11));
    for a in &r.accountabilities {
        let _ = writeln!(s, "  accountable for: {}", cell(a));
    }
    if let Some(end) = r.term_ends() {
        let _ = writeln!(s, "  term ends: {}", day(end));
    }
    if !r.queue.is_empty() {
        let q: Vec<String> = r.queue.iter().map(|m| names.of(m)).collect();
        let _ = writeln!(s, "  next: {}", q.join(" → "));
    }
    for rot in &r.rotations {
        let _ = writeln!(
            s,
            "  {} handed from {} to {}",
            day(rot.at),
            rot.from
                .as_deref()
                .map(|m| names.of(m))
                .unwrap_or_else(|| "nobody".into()),
            names.of(&rot.to)
        );
    }
    s
}

pub fn commitment_line(c: &Commitment, now: Timestamp, names: &Names) -> String {
    let due = c
        .due
        .map(|d| format!("due {d}"))
        .unwrap_or_else(|| "no due date".into());
    let overdue = if c.overdue(now) { "  OVERDUE" } else { "" };
    format!(
        "{}  [{}] {}: {} ({}){}",
        cell(&c.id),
        c.status,
        names.of(&c.who),
        cell(&c.what),
        due,
        overdue
    )
}

pub fn review(r: &Review, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  review of {} [{}]", cell(&r.id), r.date, r.status);
    if !r.participants.is_empty() {
        let p: Vec<String> = r.participants.iter().map(|m| names.of(m)).collect();
        let _ = writeln!(s, "  participants: {}", p.join(", "));
    }
    for a in &r.agenda {
        let _ = writeln!(s, "  agenda: {}", cell(a));
    }
    for c in &r.changes {
        let _ = writeln!(
            s,
            "  changed {}: «{}» → «{}» because {}",
            cell(&c.principle),
            cell(&c.before),
            cell(&c.after),
            cell(&c.reason)
        );
    }
    for l in &r.learnings {
        let _ = writeln!(s, "  learned: {}", cell(l));
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "  notes: {}", field(&r.notes, 9));
    }
    if let Some(n) = r.next_date {
        let _ = writeln!(s, "  next review: {n}");
    }
    s
}

/// At most `n` characters of untrusted text, cut with an ellipsis, safe for one line.
pub fn truncate(s: &str, n: usize) -> String {
    let cut = if s.chars().count() <= n {
        Cow::Borrowed(s)
    } else {
        let mut cut: String = s.chars().take(n.saturating_sub(1)).collect();
        cut.push('…');
        Cow::Owned(cut)
    };
    cell(&cut).into_owned()
}

pub fn peer(p: &PeerStatus) -> String {
    let who = match &p.member {
        Some(name) => format!("{}'s device {}", cell(name), cell(&p.peer)),
        None => cell(&p.peer).into_owned(),
    };
    let mut s = match &p.addr {
        Some(addr) if p.connected => format!("{who}  connected via {}", cell(addr)),
        _ => format!("{who}  not connected"),
    };
    for c in &p.circles {
        let state = if c.in_sync {
            "in sync".to_string()
        } else if let Some(at) = c.last_sync {
            format!("last in sync {}", moment(at))
        } else if p.connected {
            "syncing".to_string()
        } else {
            "never synced".to_string()
        };
        let _ = write!(s, "\n  {}: {state}", cell(&c.circle));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_moments_read_one_way() {
        // 2026-12-03T14:05:59.999Z: seconds and milliseconds are dropped, not rounded up.
        let t = Timestamp(1_796_306_759_999);
        assert_eq!(day(t), "2026-12-03");
        assert_eq!(moment(t), "2026-12-03 14:05 UTC");
        assert_eq!(moment(Timestamp(0)), "1970-01-01 00:00 UTC");
        // Before the epoch the minute still counts forward within its day.
        assert_eq!(moment(Timestamp(-60_000)), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn control_characters_become_visible_escapes() {
        assert!(matches!(cell("plain «text» ok"), Cow::Borrowed(_)));
        assert_eq!(cell("a\x1b[2Kb"), r"a\x1b[2Kb");
        assert_eq!(cell("\x1b]52;c;eA==\x07"), r"\x1b]52;c;eA==\x07");
        assert_eq!(cell("x\u{9b}31m\u{85}\x7f"), r"x\u{9b}31m\u{85}\x7f");
        assert_eq!(cell("\u{202e}gpj.exe\u{2066}"), r"\u{202e}gpj.exe\u{2066}");
        assert_eq!(cell("one\ntwo\tthree\rfour"), r"one\ntwo\tthree\rfour");
        assert_eq!(
            terminal_safe("one\ntwo\tthree\rfour", Layout::Block),
            "one\ntwo\tthree\\rfour"
        );
        // Right-to-left text and its marks are text, not controls.
        assert!(matches!(cell("שלום \u{200f}עולם"), Cow::Borrowed(_)));
        assert_eq!(field("first\nsecond", 4), "first\n    second");
    }
}
