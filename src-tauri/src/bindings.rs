//! The TypeScript bindings of every type the window exchanges with the node, rendered into
//! one file (ui/src/bindings.ts). The test below fails when the committed file drifts;
//! `GROVE_UPDATE_BINDINGS=1 cargo test -p grove-desktop bindings` rewrites it.

use grove_node::core::*;
use grove_node::export::{ExportFormat, Exported};
use grove_node::search::{Draft, Related};
use grove_node::{
    CircleSummary, Me, MemberListing, NetInfo, NewInvite, NodeErrorKind, NodeEvent, PeerCircle,
    PeerStatus, PrincipleView, RaiseTension,
};
use ts_rs::{Config, TS};

use crate::commands::signatures;
use crate::events::{NODE_EVENT, NODE_RESYNC};
use crate::{CommandError, DecisionRow, HomeStatus, RowPage, ZoneInfo};

macro_rules! decls {
    ($cfg:ident; $($t:ty),* $(,)?) => {
        vec![$(<$t as TS>::decl(&$cfg)),*]
    };
}

pub fn render() -> String {
    // Timestamps, counts and term lengths travel as JSON numbers, not bigints.
    let cfg = Config::new().with_large_int("number");
    let mut decls = decls![cfg;
        Amendment, Answer, Band, CircleInfo, CircleSummary, CommandError, Commitment,
        CommitmentStatus, Conflict, Consultee, Day, DecayCategory, Decision, DecisionEdit, DecisionFilter,
        DecisionResult, DecisionRow, DecisionStatus, Draft, Escalation, EscalationStatus, Evidence,
        Figure, HistoryEntry, HomeStatus, Me, Member, NewCommitment, NewDecision, NewPrinciple, NewProposal,
        NewRetro, NewReview, NewRole, NewValue, NodeErrorKind, NodeEvent, Outcome, Principle,
        PrincipleChange, PrincipleStatus, PrincipleVersion, PrincipleView, Proposal,
        ProposalChange, ProposalStatus, ProposalView, Round, Voice, Standing, Receipt, Contest, Stewardship, Keepers, ValueVersion, ZoneRule, RaiseTension, Reader, Related, Replant, Response,
        ResponseLogEntry, Retro, Review, ReviewStatus, Role, Rotation, RowPage, Team, Tension,
        TensionClosure, TensionKind, Timestamp, Trend, Value, ValueEdit, ValueStatus, Verdict, Vitality,
        WeekCount, Zone, ZoneInfo,
        Invite, InviteKind, InviteState, MemberListing, NetInfo, NewInvite, PeerCircle, PeerStatus,
        ExportFormat, Exported,
    ];
    decls.sort();
    let mut out = String::from(
        "// Generated from the Rust types by `GROVE_UPDATE_BINDINGS=1 cargo test -p grove-desktop bindings`.\n\
         // Do not edit: CI fails when this file and the Rust types disagree.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(d.trim());
        out.push_str("\n\n");
    }
    out.push_str(&api(&cfg));
    out.push_str(&format!(
        "/** Window event carrying a NodeEvent. */\nexport const NODE_EVENT = \"{NODE_EVENT}\";\n"
    ));
    out.push_str(&format!(
        "/** Window event asking every view to re-query (events were missed). */\nexport const NODE_RESYNC = \"{NODE_RESYNC}\";\n"
    ));
    out
}

/// The `Api` interface: every command's arguments (by name) and result, as declared in
/// src-tauri/src/commands.rs, and the list of command names.
fn api(cfg: &Config) -> String {
    let sigs = signatures(cfg);
    let mut out = String::from(
        "/** Arguments and result of every command, as src-tauri/src/commands.rs declares them. */\n\
         export interface Api {\n",
    );
    for sig in &sigs {
        if !sig.doc.is_empty() {
            let lines: Vec<&str> = sig.doc.iter().map(|l| l.trim()).collect();
            out.push_str(&format!("  /** {} */\n", lines.join(" ")));
        }
        let args: Vec<String> = sig.args.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let args = if args.is_empty() {
            "{}".to_owned()
        } else {
            format!("{{ {} }}", args.join("; "))
        };
        out.push_str(&format!("  {}: [{args}, {}];\n", sig.name, sig.ret));
    }
    out.push_str(
        "}\n\n/** Every command the desktop shell answers. */\nexport const COMMANDS = [\n",
    );
    for sig in &sigs {
        out.push_str(&format!("  \"{}\",\n", sig.name));
    }
    out.push_str("] as const;\nexport type Command = (typeof COMMANDS)[number];\n\n");
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn bindings_match_the_rust_types() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
        let fresh = super::render();
        if std::env::var_os("GROVE_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/bindings.ts is out of date with the Rust types: run \
             `GROVE_UPDATE_BINDINGS=1 cargo test -p grove-desktop bindings` and commit it"
        );
    }

    #[test]
    fn each_command_is_typed_with_the_names_and_types_it_is_declared_with() {
        let cfg = ts_rs::Config::new().with_large_int("number");
        let sigs = super::signatures(&cfg);
        let find = |name: &str| {
            sigs.iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no command {name}"))
        };
        let args = |name: &str| -> Vec<(String, String)> {
            find(name)
                .args
                .iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect()
        };
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect()
        };
        // A circle command takes the circle's id first, then its own arguments.
        assert_eq!(
            args("edit_value"),
            pairs(&[
                ("circle", "string"),
                ("id", "string"),
                ("edit", "ValueEdit")
            ])
        );
        assert_eq!(find("edit_value").ret, "null");
        // A node command takes only its own; an optional argument may be null.
        assert_eq!(args("me"), pairs(&[]));
        assert_eq!(find("me").ret, "Me");
        assert_eq!(
            args("join"),
            pairs(&[("code", "string"), ("name", "string | null")])
        );
        // An own command names the circle itself.
        assert_eq!(
            args("log_decision"),
            pairs(&[
                ("circle", "string"),
                ("new", "NewDecision"),
                ("consulted", "Array<string> | null")
            ])
        );
        assert_eq!(find("vitality").ret, "Vitality");
        let rendered = super::render();
        assert!(rendered.contains(
            "  amend_principle: [{ circle: string; id: string; amendment: Amendment }, number];"
        ));
    }
}
