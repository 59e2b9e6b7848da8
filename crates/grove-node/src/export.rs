//! Open exports: a circle in formats anyone can read without Grove (see docs/format.md).
//! Unlike the signed archive of `grove circle export`, these are neither sealed nor signed
//! and do not import back; they exist so a group's record outlives the app.
//!
//! Everything here is a plain function over what the node already reads: the circle's
//! lists for JSON and Markdown, each document's `Automerge::save` bytes for Automerge.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use grove_core::{CircleInfo, Decision, Proposal, Review, Role, Team, Tension, Value, CORE_DOC};
use serde::Serialize;

use crate::dto::{MemberListing, PrincipleView};

/// Version of the JSON and manifest layouts, bumped when a field changes meaning.
pub const OPEN_EXPORT_VERSION: u32 = 1;

/// The whole circle as one plain JSON document (`--format json`). Each list is exactly what
/// the matching `grove … list --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct OpenCircle {
    pub format: &'static str,
    pub version: u32,
    pub circle: CircleInfo,
    pub values: Vec<Value>,
    /// Each with every version it has had, oldest first.
    pub principles: Vec<PrincipleView>,
    pub teams: Vec<Team>,
    pub members: Vec<MemberListing>,
    /// Newest first, with results, readers and history.
    pub decisions: Vec<Arc<Decision>>,
    /// With every member's answer.
    pub proposals: Vec<Proposal>,
    pub roles: Vec<Role>,
    pub reviews: Vec<Review>,
    pub tensions: Vec<Tension>,
}

/// What a circle can be exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The signed archive, the only one that imports back (one file).
    Grove,
    /// Each document as `Automerge::save` writes it, and `manifest.json` (a directory).
    Automerge,
    /// The whole circle as one plain JSON document (one file).
    Json,
    /// A readable archive: values and principles, one file per month (a directory).
    Markdown,
}

impl ExportFormat {
    /// What to tell the person before a plain export is written: it is neither sealed nor
    /// signed. None for the signed archive.
    pub fn warning(self) -> Option<String> {
        let (name, key) = match self {
            ExportFormat::Grove => return None,
            ExportFormat::Automerge => (
                "automerge",
                "; core.automerge also holds the circle key, which opens the circle's bundles",
            ),
            ExportFormat::Json => ("json", ""),
            ExportFormat::Markdown => ("markdown", ""),
        };
        Some(format!(
            "this {name} export is unencrypted and unsigned: anyone who gets these files can \
             read them{key}"
        ))
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Exported {
    /// The file or directory written.
    pub path: String,
    /// Files written (1 for a one-file format; the manifest counts for Automerge).
    pub files: usize,
    /// Bytes written, all files together.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    /// Decisions in a JSON or Markdown export (counted as they are written).
    pub decisions: Option<usize>,
}

/// Where the desktop app puts an export when the person names no place: their Documents
/// folder (else their home), under the circle's name and `day`, never over something that
/// is already there.
pub fn default_export_path(
    circle_name: &str,
    format: ExportFormat,
    day: grove_core::Day,
) -> Option<std::path::PathBuf> {
    let dir = dirs::document_dir()
        .filter(|d| d.is_dir())
        .or_else(dirs::home_dir)?;
    // A name the file system takes: no separators or control characters.
    let name: String = circle_name
        .chars()
        .map(|c| if c == '/' || c.is_control() { '-' } else { c })
        .collect();
    let name = name.trim().trim_start_matches('.');
    let name = if name.is_empty() { "circle" } else { name };
    let stem = format!("{name} {day}");
    let suffix = match format {
        ExportFormat::Grove => ".grove".to_string(),
        ExportFormat::Json => ".json".to_string(),
        ExportFormat::Automerge => " (automerge)".to_string(),
        ExportFormat::Markdown => " (markdown)".to_string(),
    };
    (1..1000)
        .map(|n| match n {
            1 => dir.join(format!("{stem}{suffix}")),
            n => dir.join(format!("{stem} {n}{suffix}")),
        })
        .find(|p| !p.exists())
}

/// One document of the circle as `Automerge::save` writes it (`--format automerge`).
#[derive(Debug, Clone)]
pub struct ExportedDoc {
    /// Grove's key for it: `core`, `escalations` or `decisions/YYYY-MM`.
    pub key: String,
    /// The file name it is written under.
    pub file: String,
    pub bytes: Vec<u8>,
}

impl ExportedDoc {
    pub fn new(key: String, bytes: Vec<u8>) -> ExportedDoc {
        let file = match grove_core::shard_period(&key) {
            Some(month) => format!("decisions-{month}.automerge"),
            None => format!("{}.automerge", key.replace('/', "-")),
        };
        ExportedDoc { key, file, bytes }
    }
}

/// `manifest.json` of an Automerge export: the circle, and which file holds which document.
pub fn manifest(circle: &CircleInfo, docs: &[ExportedDoc]) -> serde_json::Value {
    let documents: Vec<serde_json::Value> = docs
        .iter()
        .map(|d| match grove_core::shard_period(&d.key) {
            Some(month) => serde_json::json!({
                "file": d.file, "key": d.key, "kind": "month", "month": month,
            }),
            None => serde_json::json!({
                "file": d.file,
                "key": d.key,
                "kind": match d.key.as_str() {
                    CORE_DOC => "core",
                    grove_core::ESCALATIONS_DOC => "escalations",
                    _ => "other",
                },
            }),
        })
        .collect();
    serde_json::json!({
        "format": "grove-automerge",
        "version": OPEN_EXPORT_VERSION,
        "automerge": "each file is the bytes Automerge::save writes (Automerge 0.12 / JS 2.x)",
        "schema": "docs/format.md in the Grove repository",
        "circle": circle,
        "documents": documents,
    })
}

/// A readable archive (`--format markdown`): file name and text of `values-and-principles.md`
/// and one `decisions-YYYY-MM.md` per month of the log, oldest month first.
pub fn markdown(c: &OpenCircle) -> Vec<(String, String)> {
    let names = Names::new(c);
    let mut files = vec![(
        "values-and-principles.md".to_string(),
        values_and_principles(c, &names),
    )];
    let mut months: BTreeMap<String, Vec<&Decision>> = BTreeMap::new();
    for d in &c.decisions {
        months.entry(d.created_at.period()).or_default().push(d);
    }
    for (month, mut decisions) in months {
        decisions.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        files.push((
            format!("decisions-{month}.md"),
            month_file(c, &month, &decisions, &names),
        ));
    }
    files
}

struct Names<'a> {
    members: HashMap<&'a str, &'a str>,
    teams: HashMap<&'a str, &'a str>,
    principles: HashMap<&'a str, &'a str>,
    values: HashMap<&'a str, &'a str>,
}

impl<'a> Names<'a> {
    fn new(c: &'a OpenCircle) -> Names<'a> {
        Names {
            members: c
                .members
                .iter()
                .map(|m| (m.member.id.as_str(), m.member.name.as_str()))
                .collect(),
            teams: c
                .teams
                .iter()
                .map(|t| (t.id.as_str(), t.name.as_str()))
                .collect(),
            principles: c
                .principles
                .iter()
                .map(|p| (p.principle.id.as_str(), p.principle.statement.as_str()))
                .collect(),
            values: c
                .values
                .iter()
                .map(|v| (v.id.as_str(), v.title.as_str()))
                .collect(),
        }
    }

    fn of<'b>(map: &HashMap<&'a str, &'a str>, id: &'b str) -> String {
        match map.get(id) {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
        }
    }
}

fn values_and_principles(c: &OpenCircle, n: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}: values and principles\n", c.circle.name);
    let _ = writeln!(
        s,
        "Circle `{}`, created {} by {}.\n",
        c.circle.id,
        c.circle.created_at.day(),
        Names::of(&n.members, &c.circle.created_by)
    );
    let _ = writeln!(s, "## Values\n");
    if c.values.is_empty() {
        let _ = writeln!(s, "No values.\n");
    }
    for v in &c.values {
        let _ = writeln!(s, "### {} ({})\n", v.title, v.status.as_str());
        let _ = writeln!(s, "`{}`, since {}\n", v.id, v.created_at.day());
        let _ = writeln!(s, "{}\n", v.statement);
        if let Some(p) = &v.protect {
            let _ = writeln!(s, "- Protects: {p}");
        }
        if let Some(r) = &v.refuse {
            let _ = writeln!(s, "- Refuses: {r}");
        }
        for e in &v.examples {
            let _ = writeln!(s, "- Example: {e}");
        }
        if v.versions.len() > 1 {
            let _ = writeln!(s, "\nHistory:\n");
            for version in &v.versions {
                let _ = write!(
                    s,
                    "{}. {} by {}: {}: {}",
                    version.version,
                    version.at.day(),
                    Names::of(&n.members, &version.author),
                    version.title,
                    version.statement
                );
                history_notes(
                    &mut s,
                    version.reason.as_deref(),
                    &version.cites,
                    version.source.as_deref(),
                );
            }
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Principles\n");
    if c.principles.is_empty() {
        let _ = writeln!(s, "No principles.\n");
    }
    for view in &c.principles {
        let p = &view.principle;
        let _ = writeln!(s, "### {}\n", p.statement);
        let _ = writeln!(
            s,
            "`{}`, {}, version {}, cited by {} decisions\n",
            p.id,
            p.status.as_str(),
            p.version(),
            view.citations
        );
        if let Some(g) = &p.guidance {
            let _ = writeln!(s, "{g}\n");
        }
        if !p.values.is_empty() {
            let values: Vec<String> = p.values.iter().map(|v| Names::of(&n.values, v)).collect();
            let _ = writeln!(s, "- From values: {}", values.join(", "));
        }
        if let Some(r) = &p.retired_reason {
            let _ = writeln!(s, "- Retired: {r}");
        }
        if let Some(by) = &p.superseded_by {
            let _ = writeln!(s, "- Superseded by: {by}");
        }
        if p.versions.len() > 1 {
            let _ = writeln!(s, "\nHistory:\n");
            for version in &p.versions {
                let _ = write!(
                    s,
                    "{}. {} by {}: {}",
                    version.version,
                    version.at.day(),
                    Names::of(&n.members, &version.author),
                    version.statement
                );
                history_notes(
                    &mut s,
                    version.reason.as_deref(),
                    &version.cites,
                    version.source.as_deref(),
                );
            }
        }
        s.push('\n');
    }
    s
}

/// The end of a history line: why the version was made, the feedback it cites and the
/// proposal that made it.
fn history_notes(s: &mut String, reason: Option<&str>, cites: &[String], source: Option<&str>) {
    if let Some(reason) = reason {
        let _ = write!(s, " (why: {reason})");
    }
    if !cites.is_empty() {
        let _ = write!(s, " (citing {})", cites.join(", "));
    }
    if let Some(source) = source {
        let _ = write!(s, " (by proposal {source})");
    }
    s.push('\n');
}

fn month_file(c: &OpenCircle, month: &str, decisions: &[&Decision], n: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}: decisions of {month}\n", c.circle.name);
    let _ = writeln!(s, "{} decisions, oldest first.\n", decisions.len());
    for d in decisions {
        let _ = writeln!(s, "## {}: {}\n", d.created_at.day(), d.choice);
        let _ = writeln!(s, "- Id: `{}`", d.id);
        let _ = writeln!(s, "- Team: {}", Names::of(&n.teams, &d.team));
        let _ = writeln!(s, "- By: {}", Names::of(&n.members, &d.author));
        let unsure = if d.zone_unsure { " (unsure)" } else { "" };
        let _ = writeln!(s, "- Zone: {}{unsure}", d.zone.as_str());
        let _ = writeln!(s, "- Status: {}", d.status.as_str());
        if let Some(situation) = &d.situation {
            let _ = writeln!(s, "- Situation: {situation}");
        }
        if !d.principles.is_empty() {
            let cited: Vec<String> = d
                .principles
                .iter()
                .map(|p| Names::of(&n.principles, p))
                .collect();
            let _ = writeln!(s, "- Principles: {}", cited.join("; "));
        }
        if !d.links.is_empty() {
            let _ = writeln!(s, "- Linked: {}", d.links.join(", "));
        }
        let _ = writeln!(s, "\n**Context.** {}\n", d.context);
        let _ = writeln!(s, "**Choice.** {}\n", d.choice);
        match &d.result {
            Some(r) => {
                let _ = writeln!(
                    s,
                    "**Result ({}, {} by {}).** {}\n",
                    r.outcome.as_str(),
                    r.at.day(),
                    Names::of(&n.members, &r.by),
                    r.text
                );
            }
            None => {
                if let Some(due) = d.result_due {
                    let _ = writeln!(s, "**Result** expected by {due}.\n");
                }
            }
        }
        if !d.readers.is_empty() {
            let readers: Vec<String> = d
                .readers
                .iter()
                .map(|r| {
                    n.members
                        .get(r.member.as_str())
                        .copied()
                        .unwrap_or(&r.member)
                        .to_string()
                })
                .collect();
            let _ = writeln!(s, "Read by: {}\n", readers.join(", "));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use grove_core::{DecisionResult, DecisionStatus, Outcome, Reader, Timestamp, Zone};

    /// 2026-03-15 12:00 UTC.
    const MARCH: i64 = 1_773_576_000_000;

    fn circle(decisions: Vec<Decision>) -> OpenCircle {
        OpenCircle {
            format: "grove-circle",
            version: OPEN_EXPORT_VERSION,
            circle: CircleInfo {
                id: "c-1".into(),
                name: "Block C".into(),
                created_at: Timestamp(MARCH),
                created_by: "m-1".into(),
            },
            values: Vec::new(),
            principles: Vec::new(),
            teams: vec![Team {
                id: "t-1".into(),
                name: "Legal".into(),
                domain: None,
                members: Vec::new(),
                author: "m-1".into(),
                created_at: Timestamp(MARCH),
                conflicts: Vec::new(),
            }],
            members: Vec::new(),
            decisions: decisions.into_iter().map(Arc::new).collect(),
            proposals: Vec::new(),
            roles: Vec::new(),
            reviews: Vec::new(),
            tensions: Vec::new(),
        }
    }

    fn decision(id: &str, at: i64) -> Decision {
        Decision {
            id: id.into(),
            team: "t-1".into(),
            author: "m-1".into(),
            principles: vec!["p-1".into()],
            context: "Notices came late.".into(),
            choice: "We challenged them.".into(),
            zone: Zone::Local,
            zone_unsure: false,
            situation: None,
            status: DecisionStatus::Resulted,
            result: Some(DecisionResult {
                text: "Struck out.".into(),
                outcome: Outcome::Worked,
                at: Timestamp(at),
                by: "m-1".into(),
            }),
            result_due: None,
            created_at: Timestamp(at),
            updated_at: Timestamp(at),
            links: Vec::new(),
            readers: vec![Reader {
                member: "m-2".into(),
                at: Timestamp(at),
            }],
            history: Vec::new(),
            conflicts: Vec::new(),
            departs_from: None,
            departure_why: None,
        }
    }

    #[test]
    fn documents_are_named_by_their_month() {
        let core = ExportedDoc::new(CORE_DOC.into(), Vec::new());
        let march = ExportedDoc::new("decisions/2026-03".into(), Vec::new());
        assert_eq!(core.file, "core.automerge");
        assert_eq!(march.file, "decisions-2026-03.automerge");
        let m = manifest(&circle(Vec::new()).circle, &[core, march]);
        assert_eq!(m["circle"]["id"], "c-1");
        assert_eq!(m["documents"][0]["kind"], "core");
        assert_eq!(m["documents"][1]["kind"], "month");
        assert_eq!(m["documents"][1]["month"], "2026-03");
    }

    #[test]
    fn markdown_has_one_file_per_month_oldest_decision_first() {
        let april = MARCH + 31 * grove_core::DAY_MS;
        let c = circle(vec![
            decision("d-202604-b", april),
            decision("d-202603-a2", MARCH + 1000),
            decision("d-202603-a1", MARCH),
        ]);
        let files = markdown(&c);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "values-and-principles.md",
                "decisions-2026-03.md",
                "decisions-2026-04.md"
            ]
        );
        let march = &files[1].1;
        let (a1, a2) = (
            march.find("d-202603-a1").unwrap(),
            march.find("d-202603-a2").unwrap(),
        );
        assert!(a1 < a2, "oldest first: {march}");
        assert!(
            march.contains("## 2026-03-15: We challenged them."),
            "{march}"
        );
        assert!(march.contains("Team: Legal (t-1)"), "{march}");
        assert!(march.contains("**Result (worked, 2026-03-15"), "{march}");
        assert!(!files[2].1.contains("d-202603"));
    }
}
