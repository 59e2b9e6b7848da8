//! How results reach the terminal: JSON with `--json`, readable text otherwise.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use grove_node::core::{
    Commitment, Decision, Escalation, Member, Principle, Proposal, Review, Role, Timestamp, Value,
};
use grove_node::PeerStatus;
use serde::Serialize;

pub struct Out {
    pub json: bool,
    pub now: Timestamp,
    sink: Sink,
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
        }
    }

    /// Output captured in the returned buffer.
    pub fn buffer(json: bool, now: Timestamp) -> (Out, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out = Out {
            json,
            now,
            sink: Sink::Buffer(buf.clone()),
        };
        (out, buf)
    }

    /// Writes `text` as is.
    pub fn text(&self, text: &str) {
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

/// Member id → display name, for readable output.
pub struct Names(HashMap<String, String>);

impl Names {
    pub fn new(members: &[Member]) -> Names {
        Names(
            members
                .iter()
                .map(|m| (m.id.clone(), m.name.clone()))
                .collect(),
        )
    }

    pub fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

pub fn day(t: Timestamp) -> String {
    t.day().to_string()
}

fn conflicts(s: &mut String, conflicts: &[grove_node::core::Conflict]) {
    for c in conflicts {
        let _ = writeln!(
            s,
            "CONFLICT  {} was edited concurrently: {} (edit it to pick one)",
            c.field,
            c.values
                .iter()
                .map(|v| format!("«{v}»"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
}

pub fn value(v: &Value) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  {} [{}]", v.id, v.title, v.status);
    let _ = writeln!(s, "  {}", v.statement);
    if let Some(p) = &v.protect {
        let _ = writeln!(s, "  protects: {p}");
    }
    if let Some(r) = &v.refuse {
        let _ = writeln!(s, "  refuses:  {r}");
    }
    for e in &v.examples {
        let _ = writeln!(s, "  example:  {e}");
    }
    conflicts(&mut s, &v.conflicts);
    s
}

pub fn principle(p: &Principle, citations: usize, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  v{} [{}]  cited by {} decision(s)",
        p.id,
        p.version(),
        p.status,
        citations
    );
    let _ = writeln!(s, "  {}", p.statement);
    if let Some(g) = &p.guidance {
        let _ = writeln!(s, "  guidance: {g}");
    }
    let _ = writeln!(s, "  derives from: {}", p.values.join(", "));
    if let Some(x) = &p.supersedes {
        let _ = writeln!(s, "  supersedes: {x}");
    }
    if let Some(x) = &p.superseded_by {
        let _ = writeln!(s, "  superseded by: {x}");
    }
    if let Some(r) = &p.retired_reason {
        let _ = writeln!(s, "  retired: {r}");
    }
    let _ = writeln!(s, "  history:");
    for v in &p.versions {
        let why = v
            .reason
            .as_deref()
            .map(|r| format!(" — because: {r}"))
            .unwrap_or_default();
        let src = v
            .source
            .as_deref()
            .map(|r| format!(" (via {r})"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "    v{} {} by {}{}{}: {}",
            v.version,
            day(v.at),
            names.of(&v.author),
            why,
            src,
            v.statement
        );
    }
    conflicts(&mut s, &p.conflicts);
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
        d.id,
        day(d.created_at),
        d.zone,
        result,
        names.of(&d.author),
        truncate(&d.choice, 60),
        conflict
    )
}

pub fn decision(d: &Decision, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  logged {} by {}",
        d.id,
        d.created_at,
        names.of(&d.author)
    );
    let _ = writeln!(s, "  team:       {}", d.team);
    let _ = writeln!(s, "  principles: {}", d.principles.join(", "));
    let unsure = if d.zone_unsure {
        " (author unsure of zone)"
    } else {
        ""
    };
    let _ = writeln!(s, "  zone:       {}{unsure}", d.zone);
    if let Some(k) = &d.situation {
        let _ = writeln!(s, "  situation:  {k}");
    }
    let _ = writeln!(s, "  context:    {}", d.context);
    let _ = writeln!(s, "  choice:     {}", d.choice);
    match &d.result {
        Some(r) => {
            let _ = writeln!(
                s,
                "  result:     {} — {} ({} by {})",
                r.outcome,
                r.text,
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
        let _ = writeln!(s, "  linked to:  {l}");
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
            let _ = writeln!(s, "    {} {}: {}", h.at, names.of(&h.by), h.what);
        }
    }
    conflicts(&mut s, &d.conflicts);
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
        e.id,
        e.status,
        e.zone,
        e.decision,
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

pub fn proposal(p: &Proposal, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  {} [{}]", p.id, p.title, p.status);
    let _ = writeln!(
        s,
        "  opened {} by {}",
        day(p.opened_at),
        names.of(&p.opened_by)
    );
    if !p.body.is_empty() {
        let _ = writeln!(s, "  {}", p.body);
    }
    let _ = writeln!(
        s,
        "  change: {}",
        serde_json::to_string(&p.change).unwrap_or_default()
    );
    for r in &p.responses {
        let reason = r
            .reason
            .as_deref()
            .map(|x| format!(": {x}"))
            .unwrap_or_default();
        let resolved = r
            .resolution
            .as_deref()
            .map(|x| format!(" [resolved: {x}]"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} — {}{}{}",
            names.of(&r.member),
            r.answer,
            reason,
            resolved
        );
    }
    let standing = p.standing_objections();
    if !standing.is_empty() {
        let _ = writeln!(s, "  blocked by {} standing objection(s)", standing.len());
    }
    if let Some(o) = &p.outcome {
        let _ = writeln!(s, "  outcome: {o}");
    }
    s
}

pub fn role(r: &Role, names: &Names) -> String {
    let mut s = String::new();
    let holder = r
        .holder
        .as_deref()
        .map(|h| names.of(h))
        .unwrap_or_else(|| "vacant".into());
    let _ = writeln!(s, "{}  {} — held by {}", r.id, r.name, holder);
    let _ = writeln!(s, "  purpose: {}", r.purpose);
    for a in &r.accountabilities {
        let _ = writeln!(s, "  accountable for: {a}");
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
        c.id,
        c.status,
        names.of(&c.who),
        c.what,
        due,
        overdue
    )
}

pub fn review(r: &Review, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  review of {} [{}]", r.id, r.date, r.status);
    if !r.participants.is_empty() {
        let p: Vec<String> = r.participants.iter().map(|m| names.of(m)).collect();
        let _ = writeln!(s, "  participants: {}", p.join(", "));
    }
    for a in &r.agenda {
        let _ = writeln!(s, "  agenda: {a}");
    }
    for c in &r.changes {
        let _ = writeln!(
            s,
            "  changed {}: «{}» → «{}» because {}",
            c.principle, c.before, c.after, c.reason
        );
    }
    for l in &r.learnings {
        let _ = writeln!(s, "  learned: {l}");
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "  notes: {}", r.notes);
    }
    if let Some(n) = r.next_date {
        let _ = writeln!(s, "  next review: {n}");
    }
    s
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

pub fn peer(p: &PeerStatus) -> String {
    let who = match &p.member {
        Some(name) => format!("{name}'s device {}", p.peer),
        None => p.peer.clone(),
    };
    let mut s = match &p.addr {
        Some(addr) if p.connected => format!("{who}  connected via {addr}"),
        _ => format!("{who}  not connected"),
    };
    for c in &p.circles {
        let state = if c.in_sync {
            "in sync".to_string()
        } else if let Some(at) = c.last_sync {
            format!("last in sync {at}")
        } else if p.connected {
            "syncing".to_string()
        } else {
            "never synced".to_string()
        };
        let _ = write!(s, "\n  {}: {state}", c.circle);
    }
    s
}
