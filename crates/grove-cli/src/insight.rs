//! `grove tension`, `grove vitality`, `grove search`, `grove decision related`.

use std::fmt::Write as _;

use anyhow::Result;
use clap::{Args, Subcommand};
use grove_node::core::{Band, Day, Tension, Vitality};
use grove_node::search::{Related, SearchQuery};
use grove_node::{CircleHandle, RaiseTension};

use crate::print::{self, cell, cells, field, Names, Out};

#[derive(Subcommand, Debug)]
pub enum TensionCmd {
    /// Tensions, open first (add --all to include closed ones)
    List {
        #[arg(long)]
        all: bool,
    },
    /// A tension with its evidence
    Show { id: String },
    /// Raise a tension by hand
    Raise {
        title: String,
        /// What the tension is
        #[arg(long, default_value = "")]
        summary: String,
        /// The principle (p-…) or value (v-…) it is about
        #[arg(long)]
        about: Option<String>,
        /// Decisions or other entities that show it (repeatable)
        #[arg(long = "evidence")]
        evidence: Vec<String>,
    },
    /// Record that a review (rv-…) or a passed proposal (pr-…) addressed a tension
    Address {
        id: String,
        #[arg(long = "by")]
        source: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Put every open tension on an open review's agenda
    Gather { review: String },
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Words, "a phrase", +required -excluded
    pub query: String,
    /// Only this kind of entry
    #[arg(long, value_enum)]
    pub kind: Option<SearchKind>,
    #[arg(long)]
    pub team: Option<String>,
    #[arg(long)]
    pub principle: Option<String>,
    #[arg(long)]
    pub author: Option<String>,
    /// On or after this day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_day)]
    pub since: Option<Day>,
    /// On or before this day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_day)]
    pub until: Option<Day>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// What `grove search --kind` accepts: the kinds the search index holds.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SearchKind {
    Decision,
    Value,
    Principle,
    Proposal,
    Review,
    Retro,
}

impl SearchKind {
    fn as_str(self) -> &'static str {
        match self {
            SearchKind::Decision => "decision",
            SearchKind::Value => "value",
            SearchKind::Principle => "principle",
            SearchKind::Proposal => "proposal",
            SearchKind::Review => "review",
            SearchKind::Retro => "retro",
        }
    }
}

fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).map_err(|e| e.to_string())
}

pub async fn tension_cmd(c: &CircleHandle, cmd: TensionCmd, out: &Out) -> Result<()> {
    match cmd {
        TensionCmd::List { all } => {
            let mut list = c.tensions().await?;
            list.retain(|t| all || t.open);
            let names = if out.json {
                Names::new(&[])
            } else {
                entity_names(c).await?
            };
            out.list(&list, "no open tensions", |t| tension_line(t, &names))
        }
        TensionCmd::Show { id } => {
            let t = c.tension(id).await?;
            let names = if out.json {
                Names::new(&[])
            } else {
                entity_names(c).await?
            };
            out.show(&t, |t| tension(t, &names))
        }
        TensionCmd::Raise {
            title,
            summary,
            about,
            evidence,
        } => out.id(&c
            .raise_tension(RaiseTension {
                title,
                summary,
                subject: about,
                evidence,
            })
            .await?),
        TensionCmd::Address { id, source, note } => {
            c.address_tension(id.clone(), source.clone(), note).await?;
            out.done(&format!("{id} addressed by {source}"))
        }
        TensionCmd::Gather { review } => {
            let added = c.gather_tensions(review.clone()).await?;
            out.done(&format!(
                "{} open tensions added to the agenda of {review}",
                added.len()
            ))
        }
    }
}

/// Members, teams, values and principles by what people call them.
pub async fn entity_names(c: &CircleHandle) -> Result<Names> {
    let teams = c.teams().await?.into_iter().map(|t| (t.id, t.name));
    let values = c.values().await?.into_iter().map(|v| (v.id, v.title));
    let principles = c
        .principles()
        .await?
        .into_iter()
        .map(|p| (p.principle.id, format!("“{}”", p.principle.statement)));
    Ok(Names::new(&c.members().await?)
        .with(teams)
        .with(values)
        .with(principles))
}

fn tension_line(t: &Tension, names: &Names) -> String {
    format!(
        "{}  [{}] {}{}  ({})",
        cell(&t.id),
        t.kind,
        names.in_text(&t.title),
        if t.open { "" } else { "  (closed)" },
        match t.evidence.len() {
            0 => "no evidence yet".to_string(),
            1 => "1 piece of evidence".to_string(),
            n => format!("{n} pieces of evidence"),
        }
    )
}

fn tension(t: &Tension, names: &Names) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  [{}] {}",
        cell(&t.id),
        t.kind,
        names.in_text(&t.title)
    );
    if !t.summary.is_empty() {
        let _ = writeln!(s, "  {}", field(&names.names_in(&t.summary), 2));
    }
    if let Some(subject) = &t.subject {
        let _ = writeln!(s, "  about {}", names.of(subject));
    }
    if let Some(by) = &t.raised_by {
        let _ = writeln!(s, "  raised by {} on {}", names.of(by), print::day(t.since));
    }
    match &t.closed {
        Some(c) => {
            let _ = writeln!(
                s,
                "  closed by {} on {}{}",
                names.in_text(&c.source),
                print::day(c.at),
                c.note
                    .as_deref()
                    .map(|n| format!(": {}", cell(n)))
                    .unwrap_or_default()
            );
        }
        None => {
            let _ = writeln!(s, "  open since {}", print::day(t.since));
        }
    }
    if !t.evidence.is_empty() {
        let _ = writeln!(s, "  evidence:");
        for e in t.evidence.iter() {
            let _ = writeln!(
                s,
                "    {} {}  {}",
                cell(&e.kind),
                cell(&e.id),
                names.in_text(&e.note)
            );
        }
    }
    s
}

pub async fn vitality(c: &CircleHandle, window: i64, out: &Out) -> Result<()> {
    out.show(&c.vitality(Some(window)).await?, vitality_text)
}

fn vitality_text(v: &Vitality) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Vitality over the last {} days", v.window_days);
    for f in &v.figures {
        let mark = match f.band {
            Band::Healthy => "healthy",
            Band::Watch => "watch  ",
            Band::Decay => "DECAY  ",
        };
        let trend = match f.trend {
            grove_node::core::Trend::Up => "↑",
            grove_node::core::Trend::Down => "↓",
            grove_node::core::Trend::Flat => "→",
        };
        let _ = writeln!(
            s,
            "  {mark}  {:<36} {:>8} {:<28} {trend} (was {})",
            cell(&f.label),
            trim(f.value),
            cell(&f.unit),
            trim(f.previous)
        );
        let _ = writeln!(s, "           {}", field(&f.reason, 11));
    }
    match &v.replant {
        Some(r) => {
            let _ = writeln!(s, "\n{}", field(&r.message, 0));
            for rec in &r.recommendations {
                let _ = writeln!(s, "  - {}", field(rec, 4));
            }
        }
        None if v.decaying.is_empty() => {
            let _ = writeln!(s, "\nNo category is decaying.");
        }
        None => {
            let _ = writeln!(
                s,
                "\nDecaying: {} (one category: tend it before it spreads)",
                v.decaying
                    .iter()
                    .map(|c| format!("{} [{}]", c.plain(), c.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    s
}

fn trim(x: f64) -> String {
    if x.fract().abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

pub async fn search(c: &CircleHandle, a: SearchArgs, out: &Out) -> Result<()> {
    crate::run::known_ids(
        c,
        crate::run::FilterIds {
            team: a.team.as_deref(),
            principle: a.principle.as_deref(),
            value: None,
        },
    )
    .await?;
    let hits = c
        .search(SearchQuery {
            text: a.query,
            kind: a.kind.map(|k| k.as_str().to_string()),
            team: a.team,
            principle: a.principle,
            author: a.author,
            since: a.since.map(|d| d.start()),
            until: a.until.map(|d| d.start().plus_days(1)),
            limit: Some(a.limit),
        })
        .await?;
    out.list(&hits, "nothing matches", |h| {
        format!(
            "{}  {:<9} {}  {}  ({:.2})",
            cell(&h.id),
            cell(&h.kind),
            print::day(h.at),
            cell(&h.title),
            h.score
        )
    })
}

pub async fn related(c: &CircleHandle, id: String, limit: usize, out: &Out) -> Result<()> {
    let list: Vec<Related> = c.related(id, limit).await?;
    out.list(&list, "no related decisions", |r| {
        format!(
            "{}  {}  team {}  {}{}",
            cell(&r.id),
            print::day(r.at),
            cell(&r.team),
            cell(&r.title),
            if r.shared_principles.is_empty() {
                String::new()
            } else {
                format!("  (shares {})", cells(&r.shared_principles, ", "))
            }
        )
    })
}
