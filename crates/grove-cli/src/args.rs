//! The command line, as clap sees it. Names here are the CLI contract.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use grove_node::core::{
    Answer, CommitmentStatus, Day, DecisionStatus, EscalationStatus, Outcome, Verdict, Zone,
};

#[derive(Parser, Debug)]
#[command(
    name = "grove",
    version = env!("GROVE_VERSION"),
    about = "Grove: a circle's values, principles and decision log, peer to peer"
)]
pub struct Cli {
    /// The Grove home directory (default: $GROVE_HOME, else the OS data directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print machine-readable JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// The circle to work on, by id or name (default: the only circle)
    #[arg(long, global = true, value_name = "ID")]
    pub circle: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of its largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, list, export and import circles
    #[command(subcommand)]
    Circle(CircleCmd),
    /// This device's member and the circle's members
    #[command(subcommand)]
    Member(MemberCmd),
    /// Values: what the circle protects and refuses
    #[command(subcommand)]
    Value(ValueCmd),
    /// Principles derived from values, with their version history
    #[command(subcommand)]
    Principle(PrincipleCmd),
    /// Teams (pods, squads, cells)
    #[command(subcommand)]
    Team(TeamCmd),
    /// Each team's zone map: which zone a kind of situation belongs to (set by consent)
    #[command(subcommand)]
    Zone(ZoneCmd),
    /// The decision log
    #[command(subcommand)]
    Decision(DecisionCmd),
    /// The stewards' inbox of centre-zone decisions
    #[command(subcommand)]
    Escalation(EscalationCmd),
    /// Proposals and their consent rounds
    #[command(subcommand)]
    Proposal(ProposalCmd),
    /// Roles, holders and rotation
    #[command(subcommand)]
    Role(RoleCmd),
    /// The circle's stewards and their term (named by proposal: `proposal open --steward`)
    #[command(subcommand)]
    Steward(StewardCmd),
    /// The circle's principle keepers and their term (named by proposal: `proposal open
    /// --keeper`); while in office, a change to values or principles needs one of them
    #[command(subcommand)]
    Keeper(KeeperCmd),
    /// The public accountability board
    #[command(subcommand)]
    Commitment(CommitmentCmd),
    /// Retrospectives
    #[command(subcommand)]
    Retro(RetroCmd),
    /// Regeneration reviews
    #[command(subcommand)]
    Review(ReviewCmd),
    /// Run this device's node in the foreground: sync with peers, relay for members behind
    /// NAT, and serve other `grove` commands on this home. Stop it with Ctrl-C.
    Serve {
        /// Listen on this multiaddr (repeatable; default: every interface, TCP and QUIC)
        #[arg(long = "listen", value_name = "MULTIADDR")]
        listen: Vec<String>,
        /// Dial this peer at start (repeatable)
        #[arg(long = "peer", value_name = "MULTIADDR")]
        peers: Vec<String>,
        /// Do not look for peers on the local network (mDNS)
        #[arg(long)]
        no_mdns: bool,
        /// Run as a member's device, like the desktop app, rather than as an always-on
        /// node: relay and serve as rendezvous point for nobody and record no address in
        /// the circles; take a relayed address through the circles' always-on nodes and
        /// register there instead, so members behind NAT reach this device
        #[arg(long)]
        no_relay: bool,
    },
    /// Remember peers' addresses
    #[command(subcommand)]
    Peer(PeerCmd),
    /// Peers: connected now, and when each shared circle last synced
    Peers,
    /// Connect to a peer, sync every circle you both hold, and exit once in sync
    Sync {
        /// The peer's multiaddr, e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW…
        #[arg(long, value_name = "MULTIADDR")]
        peer: String,
        /// Give up after this many seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        timeout: u64,
    },
    /// Tensions: detected from the log, or raised by hand
    #[command(subcommand)]
    Tension(crate::insight::TensionCmd),
    /// The circle's signs of life and decay, with bands, trends and the replant alert
    Vitality {
        /// The window, in days, each figure is computed over
        #[arg(
            long,
            default_value_t = 30,
            value_parser = clap::value_parser!(i64).range(1..=grove_node::MAX_WINDOW_DAYS)
        )]
        window: i64,
    },
    /// Full-text search over every decision, value, principle, proposal, review and retro
    Search(crate::insight::SearchArgs),
    /// Create this device's Grove home and identity; `--passphrase` encrypts it at rest
    Init {
        /// Encrypt the home with a passphrase (taken from GROVE_PASSPHRASE, else asked for)
        #[arg(long)]
        passphrase: bool,
    },
    /// Set, change or remove the passphrase that encrypts this home at rest
    #[command(subcommand)]
    Passphrase(PassphraseCmd),
    /// Print a shell completion script, e.g. `grove completions bash > ~/.local/share/bash-completion/completions/grove`
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (`grove man | man -l -`), or write every page into a directory
    Man {
        /// Write grove.1 and one page per subcommand here instead
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Encrypted, signed circle files to carry between members' devices (no network)
    #[command(subcommand)]
    Bundle(BundleCmd),
    /// Invite people into the circle: create, list and revoke invite codes
    #[command(subcommand)]
    Invite(crate::invite::InviteCmd),
    /// This device: its id, and linking another device to your member
    #[command(subcommand)]
    Device(crate::invite::DeviceCmd),
    /// Join a circle with an invite code (or link this device with a device-link code)
    Join(crate::invite::JoinArgs),
    /// Seed a realistic demo circle: teams, values, principles, a year of decisions
    Demo {
        /// How many decisions to log: over the past year, or a year for each 100,000
        #[arg(long, default_value_t = 500)]
        decisions: usize,
        /// The demo circle's name
        #[arg(long, default_value = "Tenants' Union (demo)")]
        name: String,
    },
}

impl Command {
    /// Every file path the command reads or writes. A command forwarded to a serving node
    /// runs in that node's directory, so these are made absolute against the client's
    /// first (see `resolve_paths`); a path argument missing here would silently resolve
    /// next to the server instead, which the test below guards against.
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            Command::Circle(CircleCmd::Export { out, .. })
            | Command::Bundle(BundleCmd::Export { out }) => {
                vec![out]
            }
            Command::Circle(CircleCmd::Import { file })
            | Command::Bundle(BundleCmd::Import { file }) => {
                vec![file]
            }
            Command::Man { out: Some(dir) } => vec![dir],
            _ => Vec::new(),
        }
    }

    /// Makes every relative path of the command relative to `cwd`, the directory of the
    /// client that sent it. Without `cwd` a relative path is refused rather than resolved
    /// where the server happens to run.
    pub fn resolve_paths(&mut self, cwd: Option<&Path>) -> anyhow::Result<()> {
        for path in self.paths_mut() {
            if path.is_absolute() {
                continue;
            }
            match cwd {
                Some(cwd) if cwd.is_absolute() => *path = cwd.join(&*path),
                _ => anyhow::bail!(
                    "cannot tell what {} is relative to (the grove node serving this home runs \
                     elsewhere); give the path from /",
                    path.display()
                ),
            }
        }
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
pub enum CircleCmd {
    /// Create a circle; prints its id
    Create { name: String },
    /// List the circles in this home
    List,
    /// Show the current circle
    Show,
    /// Write the whole circle out: by default a file for `circle import` on another device;
    /// `--format automerge|json|markdown` writes plain files readable without Grove
    Export {
        /// A FILE for `grove` and `json`, a new (or empty) DIR for `automerge` and `markdown`
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = ExportFormat::Grove)]
        format: ExportFormat,
    },
    /// Import a circle file: adds a new circle or merges into the same circle
    Import { file: PathBuf },
}

/// What `grove circle export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The circle file that `grove circle import` reads (holds the circle key)
    Grove,
    /// A directory of standard Automerge files, one per document, and manifest.json
    Automerge,
    /// The whole circle as one plain JSON document
    Json,
    /// A directory of readable Markdown: values and principles, and one file per month
    Markdown,
}

impl From<ExportFormat> for grove_node::export::ExportFormat {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::Grove => Self::Grove,
            ExportFormat::Automerge => Self::Automerge,
            ExportFormat::Json => Self::Json,
            ExportFormat::Markdown => Self::Markdown,
        }
    }
}

/// The current passphrase comes from GROVE_PASSPHRASE and the new one from
/// GROVE_NEW_PASSPHRASE; on a terminal, either is asked for when not set.
#[derive(Subcommand, Debug)]
pub enum PassphraseCmd {
    /// Encrypt a home that is not encrypted yet
    Set,
    /// Re-encrypt the home under a new passphrase
    Change,
    /// Store the home unencrypted again
    Remove,
}

#[derive(Subcommand, Debug)]
pub enum BundleCmd {
    /// Write the circle, sealed with its key and signed by this device, to a file that only
    /// the circle's members can import
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Merge a bundle into its circle; foreign or tampered bundles are refused
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum PeerCmd {
    /// Remember a peer's multiaddr (dialled whenever the node starts) and connect to it now
    Add {
        #[arg(value_name = "MULTIADDR")]
        addr: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum MemberCmd {
    /// This device: member id, device key, display name
    Me,
    /// Change this device's display name
    Rename { name: String },
    /// The circle's members, with their devices, role and removal
    List,
    /// Admit a device (its `grove device id`) as a new member of the circle
    Admit {
        /// The new member's device id: 64 hex digits
        device: String,
        /// The new member's display name
        #[arg(long)]
        name: String,
    },
    /// Remove yourself (by id or unique name): the same as `grove member leave`. Anyone
    /// else is removed only by the circle: `grove proposal open --remove-member M`; a lost
    /// or seized laptop is revoked instead (`grove device revoke`)
    Remove { member: String },
    /// Leave the circle: your devices are refused from then on, and the next member's
    /// device to hear of it rotates the circle key. The last member cannot leave
    Leave,
}

#[derive(Subcommand, Debug)]
pub enum ValueCmd {
    /// Add a value; prints its id
    Add {
        #[arg(long)]
        title: String,
        #[arg(long)]
        statement: String,
        /// What the value protects
        #[arg(long)]
        protect: Option<String>,
        /// What the value refuses
        #[arg(long)]
        refuse: Option<String>,
        #[arg(long = "example")]
        examples: Vec<String>,
    },
    /// Edit a value while you are the circle's only member; in a circle of several, only
    /// to settle a conflict by picking one of the wordings two devices wrote at once (any
    /// other change: grove proposal open --amend-value)
    Edit {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        statement: Option<String>,
        #[arg(long)]
        protect: Option<String>,
        #[arg(long)]
        refuse: Option<String>,
        /// Why it changes, kept with the new version
        #[arg(long)]
        reason: Option<String>,
    },
    /// Retire a value; principles left without an active value go under review
    Retire {
        id: String,
    },
    List,
    Show {
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PrincipleCmd {
    /// Add a principle derived from one or more values; prints its id
    Add {
        #[arg(long = "value", required = true)]
        values: Vec<String>,
        #[arg(long)]
        statement: String,
        #[arg(long)]
        guidance: Option<String>,
        /// A principle this one replaces (it is retired)
        #[arg(long)]
        supersedes: Option<String>,
    },
    /// Amend a principle: a new version, with the reason kept in its history (directly
    /// while you are the circle's only member; otherwise grove proposal open --amend)
    Amend {
        id: String,
        #[arg(long)]
        statement: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        guidance: Option<String>,
    },
    /// Retire a principle (directly while you are the circle's only member; otherwise
    /// grove proposal open --retire-principle)
    Retire {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Mark a principle as superseded by another existing one (while you are the circle's
    /// only member)
    Supersede {
        id: String,
        #[arg(long)]
        by: String,
    },
    List,
    Show {
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TeamCmd {
    /// Add a team; prints its id
    Add {
        name: String,
        #[arg(long)]
        domain: Option<String>,
    },
    List,
    /// Add a member (default: you) to a team
    Join {
        team: String,
        #[arg(long)]
        member: Option<String>,
    },
    /// Remove a member (default: you) from a team
    Leave {
        team: String,
        #[arg(long)]
        member: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DecisionCmd {
    /// Log a decision; prints its id
    Log {
        #[arg(long)]
        team: String,
        #[arg(long = "principle", required = true)]
        principles: Vec<String>,
        #[arg(long)]
        context: String,
        #[arg(long)]
        choice: String,
        /// Default: the zone the team's zone map sets for --situation, else local
        #[arg(long)]
        zone: Option<Zone>,
        /// You were not sure which zone applies
        #[arg(long)]
        unsure_zone: bool,
        /// A short key naming the kind of situation (e.g. eviction-notice)
        #[arg(long)]
        situation: Option<String>,
        /// When the result should be known (YYYY-MM-DD)
        #[arg(long, value_parser = parse_day)]
        result_due: Option<Day>,
        /// A deliberate departure from this principle: the stewards hear of it (at least
        /// centre-awareness) and back it, coach or stop it
        #[arg(long, requires = "why")]
        departs_from: Option<String>,
        /// Why the decision departs from the principle
        #[arg(long, requires = "departs_from")]
        why: Option<String>,
        /// Who checked the principle with you (member id or name; repeat for each), for a
        /// principle-check decision only; each acknowledges it with `grove decision
        /// acknowledge`. A principle-check decision may also be logged without it
        #[arg(long = "consulted")]
        consulted: Vec<String>,
    },
    /// Acknowledge that you were consulted on a principle-check decision (once)
    Acknowledge {
        id: String,
        /// What you said, or anything the circle should know
        #[arg(long)]
        note: Option<String>,
    },
    /// Record how a decision turned out
    Result {
        id: String,
        #[arg(long)]
        text: String,
        #[arg(long)]
        outcome: Outcome,
    },
    /// Mark a decision as read by you
    Read {
        id: String,
    },
    /// Link a decision to another
    Link {
        id: String,
        other: String,
    },
    /// Edit a decision's text (also how a conflicting concurrent edit is settled)
    Edit {
        id: String,
        #[arg(long)]
        context: Option<String>,
        #[arg(long)]
        choice: Option<String>,
        #[arg(long)]
        situation: Option<String>,
    },
    List(DecisionListArgs),
    /// Decisions most like this one: how others applied the same principles
    Related {
        id: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Show a decision with its history, readers, and who was consulted
    Show {
        id: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct DecisionListArgs {
    #[arg(long)]
    pub team: Option<String>,
    #[arg(long)]
    pub principle: Option<String>,
    #[arg(long)]
    pub value: Option<String>,
    #[arg(long)]
    pub zone: Option<Zone>,
    #[arg(long)]
    pub status: Option<DecisionStatus>,
    #[arg(long)]
    pub author: Option<String>,
    #[arg(long)]
    pub situation: Option<String>,
    /// Logged on or after this day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_day)]
    pub since: Option<Day>,
    /// Logged on or before this day (YYYY-MM-DD)
    #[arg(long, value_parser = parse_day)]
    pub until: Option<Day>,
    /// Only decisions you have not read
    #[arg(long)]
    pub unread: bool,
    /// Words that must appear in the context, choice or result
    #[arg(long)]
    pub search: Option<String>,
    /// At most this many, newest first (readable output shows the newest
    /// 50 unless told otherwise; --json lists every match)
    #[arg(long, conflicts_with = "all")]
    pub limit: Option<usize>,
    /// Every match, also in readable output
    #[arg(long)]
    pub all: bool,
}

#[derive(Subcommand, Debug)]
pub enum EscalationCmd {
    List {
        #[arg(long)]
        status: Option<EscalationStatus>,
    },
    /// Acknowledge an escalation (you have seen it)
    Ack { id: String },
    /// Answer an escalation (stewards only): back the decision, coach the team, or stop
    /// it, with a response saying why
    Resolve {
        id: String,
        #[arg(long)]
        verdict: Verdict,
        #[arg(long)]
        response: String,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum ProposalCmd {
    /// Open a proposal; prints its id. What it changes when passed: --amend a principle
    /// (citing the feedback that demands it), --value (a new principle derived from it,
    /// optionally --supersedes an old one), --retire-principle, --new-value,
    /// --amend-value, --retire-value, --remove-member, or --steward (naming stewards).
    /// Values and principles change this way once a circle has two members.
    Open {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        body: String,
        /// The principle the proposal amends
        #[arg(long, requires_all = ["statement", "reason"], conflicts_with = "values")]
        amend: Option<String>,
        /// Values a proposed new principle derives from
        #[arg(long = "value", requires = "statement")]
        values: Vec<String>,
        #[arg(long)]
        statement: Option<String>,
        #[arg(long)]
        guidance: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// The tensions, decisions or review that demand an amendment (repeat for each)
        #[arg(long = "cites")]
        cites: Vec<String>,
        /// The principle a proposed new principle replaces (retired when it passes)
        #[arg(long, requires = "values")]
        supersedes: Option<String>,
        /// The principle the proposal retires when passed
        #[arg(long, requires = "reason", conflicts_with_all = ["amend", "values", "statement"])]
        retire_principle: Option<String>,
        /// A new value's title, for a proposal that adds it (with --statement)
        #[arg(long, requires = "statement", conflicts_with_all = ["amend", "values", "retire_principle"])]
        new_value: Option<String>,
        /// The value the proposal rewords (give what changes: --value-title, --statement,
        /// --protect, --refuse; with --reason and --cites)
        #[arg(long, requires = "reason", conflicts_with_all = ["amend", "values", "retire_principle", "new_value"])]
        amend_value: Option<String>,
        /// The value's new title, for --amend-value
        #[arg(long, requires = "amend_value")]
        value_title: Option<String>,
        /// What the value protects, for --new-value or --amend-value (empty clears it)
        #[arg(long)]
        protect: Option<String>,
        /// What the value refuses, for --new-value or --amend-value (empty clears it)
        #[arg(long)]
        refuse: Option<String>,
        /// The value the proposal retires when passed
        #[arg(long, requires = "reason", conflicts_with_all = ["amend", "values", "statement", "retire_principle", "new_value", "amend_value"])]
        retire_value: Option<String>,
        /// The member (id) the proposal removes when passed
        #[arg(long, conflicts_with_all = ["amend", "values", "statement"])]
        remove_member: Option<String>,
        /// Name the circle's stewards when passed (repeat for each; replaces the current
        /// stewards), for --term-days
        #[arg(long = "steward", group = "office", requires = "term_days", conflicts_with_all = ["amend", "values", "statement", "remove_member"])]
        stewards: Vec<String>,
        /// Name the circle's principle keepers when passed (repeat for each; replaces the
        /// current keepers), for --term-days
        #[arg(long = "keeper", group = "office", requires = "term_days", conflicts_with_all = ["amend", "values", "statement", "remove_member", "stewards"])]
        keepers: Vec<String>,
        /// How long the named stewards or keepers hold office, in days
        #[arg(long, requires = "office")]
        term_days: Option<i64>,
        /// Who takes over next when a term ends, in order (repeat for each)
        #[arg(long = "next", requires = "office")]
        next: Vec<String>,
        /// How long each member has to answer once their device receives it, e.g. 2s,
        /// 36h, 7d; silence after it counts as consent
        #[arg(long, default_value = "7d", value_parser = parse_window)]
        window: i64,
    },
    /// Publish a new version of your own proposal: every answer is asked again (this is
    /// how a proposer integrates an objection)
    Revise {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        body: Option<String>,
        #[arg(long)]
        statement: Option<String>,
        #[arg(long)]
        guidance: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// Replaces what an amendment cites (repeat for each)
        #[arg(long = "cites")]
        cites: Vec<String>,
        /// A value's new title (amend-value or new-value proposals)
        #[arg(long)]
        value_title: Option<String>,
        #[arg(long)]
        protect: Option<String>,
        #[arg(long)]
        refuse: Option<String>,
    },
    /// Answer a proposal: consent, concern or objection (with a reason); answering again
    /// replaces your earlier answer, which is how you lift your own objection
    Respond {
        id: String,
        #[arg(long)]
        answer: Answer,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Pass a proposal and apply it, when the consent rules allow: another member's
    /// consent, no objection standing, every window closed (exits 1 with the reason)
    Pass {
        id: String,
    },
    /// Withdraw your own proposal
    Withdraw {
        id: String,
    },
    List,
    /// A proposal and its consent round: every member's answer, receipt and window, and
    /// why it cannot pass yet
    Show {
        id: String,
    },
}

fn parse_window(s: &str) -> Result<i64, String> {
    grove_node::core::consent::parse_window(s).map_err(|e| e.to_string())
}

#[derive(Subcommand, Debug)]
pub enum ZoneCmd {
    /// Propose that a team's situation belongs to a zone; prints the proposal's id (it
    /// takes effect when the proposal passes)
    Set {
        #[arg(long)]
        team: String,
        /// The situation key, e.g. landlord-contact
        #[arg(long)]
        situation: String,
        #[arg(long)]
        zone: Zone,
        /// How long each member has to answer, e.g. 36h or 7d
        #[arg(long, default_value = "7d", value_parser = parse_window)]
        window: i64,
    },
    /// Every team's zone map
    List,
}

#[derive(Subcommand, Debug)]
pub enum StewardCmd {
    /// Who the stewards are, until when, whether they are in office, and who is next
    List,
    /// Hand the office to the next members in the queue, once the stewards' term has ended
    Rotate,
}

#[derive(Subcommand, Debug)]
pub enum KeeperCmd {
    /// Who keeps the principles, until when, whether they are in office, and who is next
    List,
    /// Hand the office to the next members in the queue, once the keepers' term has ended
    Rotate,
}

#[derive(Subcommand, Debug)]
pub enum RoleCmd {
    /// Add a role; prints its id
    Add {
        name: String,
        #[arg(long)]
        purpose: String,
        #[arg(long = "accountability")]
        accountabilities: Vec<String>,
        #[arg(long)]
        holder: Option<String>,
        #[arg(long)]
        term_days: Option<i64>,
        #[arg(long = "queue")]
        queue: Vec<String>,
    },
    /// Give a role to a member
    Assign {
        id: String,
        member: String,
    },
    /// Hand the role to the next in its queue
    Rotate {
        id: String,
    },
    /// Set the rotation queue
    Queue {
        id: String,
        members: Vec<String>,
    },
    List,
    Show {
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum CommitmentCmd {
    /// Add a commitment; prints its id
    Add {
        #[arg(long)]
        what: String,
        /// Who commits (default: you)
        #[arg(long)]
        who: Option<String>,
        #[arg(long, value_parser = parse_day)]
        due: Option<Day>,
        #[arg(long)]
        decision: Option<String>,
    },
    Done {
        id: String,
    },
    Drop {
        id: String,
    },
    Reopen {
        id: String,
    },
    List {
        #[arg(long)]
        who: Option<String>,
        #[arg(long)]
        status: Option<CommitmentStatus>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RetroCmd {
    /// Add a retrospective; prints its id
    Add {
        #[arg(long)]
        team: String,
        #[arg(long, default_value = "")]
        went_well: String,
        #[arg(long, default_value = "")]
        didnt: String,
        #[arg(long, default_value = "")]
        change: String,
        #[arg(long = "principle")]
        principles: Vec<String>,
    },
    List {
        #[arg(long)]
        team: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReviewCmd {
    /// Open a review; prints its id
    Open {
        #[arg(long, value_parser = parse_day)]
        date: Day,
        #[arg(long = "agenda")]
        agenda: Vec<String>,
        #[arg(long = "participant")]
        participants: Vec<String>,
    },
    /// Add an agenda item
    Agenda {
        id: String,
        item: String,
    },
    /// Amend a principle within the review (before/after recorded)
    Change {
        id: String,
        #[arg(long)]
        principle: String,
        #[arg(long)]
        statement: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        guidance: Option<String>,
    },
    /// Record a learning
    Learning {
        id: String,
        text: String,
    },
    /// Replace the review's notes
    Notes {
        id: String,
        text: String,
    },
    /// Close the review and set the next date
    Close {
        id: String,
        #[arg(long, value_parser = parse_day)]
        next: Day,
    },
    List,
    Show {
        id: String,
    },
}

fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    /// Every argument parsed as a path, as "subcommand path --arg", below `cmd`.
    fn path_args(cmd: &clap::Command, prefix: &str, found: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if arg.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>() {
                found.push(format!("{prefix} --{}", arg.get_id()).trim().to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            path_args(sub, &format!("{prefix} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_path_argument_is_resolved_against_the_clients_directory() {
        let mut found = Vec::new();
        path_args(&Cli::command(), "", &mut found);
        found.retain(|a| !a.ends_with("--home"));
        found.sort();
        found.dedup();
        // A new path argument must be added to `Command::paths_mut` (and then here).
        assert_eq!(
            found,
            [
                "bundle export --out",
                "bundle import --file",
                "circle export --out",
                "circle import --file",
                "man --out",
            ]
        );
        for argv in [
            ["circle", "export", "--out", "a/x.grove"],
            ["circle", "import", "--", "a/x.grove"],
            ["bundle", "export", "--out", "a/x.grove"],
            ["bundle", "import", "--", "a/x.grove"],
        ] {
            let mut cli = Cli::try_parse_from(std::iter::once("grove").chain(argv)).unwrap();
            cli.command
                .resolve_paths(Some(Path::new("/client")))
                .unwrap();
            let paths = cli.command.paths_mut();
            assert_eq!(paths.len(), 1, "{argv:?}");
            assert_eq!(*paths[0], Path::new("/client/a/x.grove"), "{argv:?}");

            let mut cli = Cli::try_parse_from(std::iter::once("grove").chain(argv)).unwrap();
            let err = cli.command.resolve_paths(None).unwrap_err();
            assert!(err.to_string().contains("a/x.grove"), "{err}");
        }
        let mut cli = Cli::try_parse_from(["grove", "circle", "import", "/abs/x.grove"]).unwrap();
        cli.command.resolve_paths(None).unwrap();
        assert_eq!(*cli.command.paths_mut()[0], Path::new("/abs/x.grove"));
    }
}
