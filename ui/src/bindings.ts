// Generated from the Rust types by `GROVE_UPDATE_BINDINGS=1 cargo test -p grove-desktop bindings`.
// Do not edit: CI fails when this file and the Rust types disagree.

export type Amendment = { statement: string, 
/**
 * `None` keeps the current guidance.
 */
guidance: string | null, reason: string, 
/**
 * The tensions or decisions that show the principle no longer holds: a principle
 * changes when local feedback demands it.
 */
cites: Array<string>, };

export type Answer = "consent" | "concern" | "objection";

export type Band = "healthy" | "watch" | "decay";

export type CircleInfo = { id: string, name: string, created_at: Timestamp, created_by: string, };

export type CircleSummary = { members: number, values: number, 
/**
 * Months that have decisions.
 */
months: number, id: string, name: string, created_at: Timestamp, created_by: string, };

export type CommandError = { kind: NodeErrorKind, message: string, };

export type Commitment = { id: string, who: string, what: string, due: Day | null, status: CommitmentStatus, decision: string | null, author: string, created_at: Timestamp, updated_at: Timestamp, conflicts: Array<Conflict>, };

export type CommitmentStatus = "open" | "done" | "dropped";

export type Conflict = { field: string, 
/**
 * Every concurrent value; the first is the one shown by default.
 */
values: Array<string>, 
/**
 * The device (public key, hex) that wrote each value, in the same order: a person
 * picking between versions needs to know whose each one is. Empty where only the
 * field's name was read (decision listings).
 */
devices: Array<string>, };

export type Consultee = { member: string, 
/**
 * When the decision's author named them.
 */
asked_at: Timestamp, 
/**
 * When they acknowledged it (None: still awaited).
 */
acknowledged_at: Timestamp | null, note: string | null, };

export type Contest = { 
/**
 * One side: who passed it and when.
 */
passed_by: string, passed_at: Timestamp, 
/**
 * The other side: the answers the pass never saw.
 */
unheard: Array<Response>, 
/**
 * The proposer revised it while it was being passed.
 */
revised: boolean, 
/**
 * Another proposal passed concurrently that amends the same principle.
 */
rival: string | null, };

export type Day = string;

export type DecayCategory = "liturgy" | "silent-harm" | "authority-confusion" | "centre-withdrawal";

export type Decision = { id: string, team: string, author: string, principles: Array<string>, context: string, choice: string, zone: Zone, 
/**
 * The author was not sure which zone applied (a sign of authority confusion).
 */
zone_unsure: boolean, situation: string | null, status: DecisionStatus, result: DecisionResult | null, 
/**
 * When a result is expected.
 */
result_due: Day | null, created_at: Timestamp, updated_at: Timestamp, links: Array<string>, readers: Array<Reader>, history: Array<HistoryEntry>, conflicts: Array<Conflict>, 
/**
 * A deliberate departure from this principle (docs/design.md, section 2): the centre hears of
 * it and answers whether it backs it.
 */
departs_from?: string, 
/**
 * Why the team departed from the principle.
 */
departure_why?: string, };

export type DecisionEdit = { context: string | null, choice: string | null, situation: string | null, };

export type DecisionFilter = { team: string | null, principle: string | null, 
/**
 * Decisions citing any principle derived from this value.
 */
value: string | null, zone: Zone | null, status: DecisionStatus | null, author: string | null, situation: string | null, since: Timestamp | null, until: Timestamp | null, 
/**
 * Decisions this member has not read.
 */
unread_by: string | null, 
/**
 * Case-insensitive words that must all appear in context, choice or result.
 */
text: string | null, };

export type DecisionResult = { text: string, outcome: Outcome, at: Timestamp, by: string, };

export type DecisionRow = { id: string, team: string, author: string, principles: Array<string>, choice: string, zone: Zone, zone_unsure: boolean, situation: string | null, status: DecisionStatus, created_at: Timestamp, 
/**
 * Whether this device's member has read it.
 */
read: boolean, };

export type DecisionStatus = "open" | "resulted";

export type Draft = { principles: Array<string>, context: string, choice: string, };

export type Escalation = { id: string, decision: string, zone: Zone, raised_by: string, raised_at: Timestamp, status: EscalationStatus, acknowledged_by: string | null, acknowledged_at: Timestamp | null, response: string | null, verdict: Verdict | null, resolved_by: string | null, resolved_at: Timestamp | null, conflicts: Array<Conflict>, };

export type EscalationStatus = "open" | "acknowledged" | "resolved";

export type Evidence = { 
/**
 * decision, retro, value or principle.
 */
kind: string, id: string, note: string, };

export type ExportFormat = "grove" | "automerge" | "json" | "markdown";

export type Exported = { 
/**
 * The file or directory written.
 */
path: string, 
/**
 * Files written (1 for a one-file format; the manifest counts for Automerge).
 */
files: number, 
/**
 * Bytes written, all files together.
 */
bytes: number, 
/**
 * Decisions in a JSON or Markdown export (counted as they are written).
 */
decisions: number | null, };

export type Figure = { 
/**
 * Stable key, e.g. `read-coverage`.
 */
key: string, label: string, category: DecayCategory, value: number, unit: string, previous: number, trend: Trend, band: Band, 
/**
 * Why this band, in words.
 */
reason: string, 
/**
 * Per-team or per-item breakdown where one helps (e.g. velocity per team).
 */
detail: { [key in string]: number }, 
/**
 * Ids behind the figure (e.g. the principles never cited).
 */
items: Array<string>, };

export type HistoryEntry = { at: Timestamp, by: string, what: string, };

export type HomeStatus = { 
/**
 * The home is sealed under a passphrase (so it can be locked).
 */
encrypted: boolean, 
/**
 * The node is stopped until the passphrase is given.
 */
locked: boolean, };

export type Invite = { id: string, kind: InviteKind, created_by: string, created_at: Timestamp, expires_at: Timestamp | null, max_uses: number, 
/**
 * Members admitted with it, one entry per joining device.
 */
used_by: Array<string>, revoked: boolean, state: InviteState, };

export type InviteKind = { "type": "member" } | { "type": "device", member: string, };

export type InviteState = "open" | "expired" | "used-up" | "revoked";

export type Keepers = { keepers: Array<string>, until: Timestamp | null, 
/**
 * The passed proposal that named them.
 */
by: string | null, in_office: boolean, 
/**
 * Who takes over next, in order, when the term ends (`grove keeper rotate`).
 */
queue: Array<string>, term_days: number | null, };

export type Me = { member: string, 
/**
 * The device's public key (hex).
 */
device: string, name: string, };

export type Member = { id: string, name: string, 
/**
 * Device public keys (hex) that act for this member.
 */
devices: Array<string>, teams: Array<string>, joined_at: Timestamp, conflicts: Array<Conflict>, };

export type MemberListing = { 
/**
 * `steward`, or none.
 */
role: string | null, removed_at: Timestamp | null, removed_by: string | null, 
/**
 * Its devices that were revoked (lost or seized): refused from then on.
 */
revoked: Array<string>, id: string, name: string, 
/**
 * Device public keys (hex) that act for this member.
 */
devices: Array<string>, teams: Array<string>, joined_at: Timestamp, conflicts: Array<Conflict>, };

export type NetInfo = { peer: string, 
/**
 * Addresses to dial this node at, each ending in `/p2p/<peer>`.
 */
addrs: Array<string>, };

export type NewCommitment = { who: string, what: string, due: Day | null, 
/**
 * The decision it follows from; the caller checks it exists (it may live in a shard).
 */
decision: string | null, };

export type NewDecision = { team: string, principles: Array<string>, context: string, choice: string, zone: Zone | null, zone_unsure: boolean, situation: string | null, result_due: Day | null, 
/**
 * Logs the decision as a deliberate departure from this principle (with `departure_why`):
 * it goes to the stewards, who back it, coach or stop it.
 */
departs_from?: string, departure_why?: string, };

export type NewInvite = { id: string, 
/**
 * The code to share (`grove1…`), as text or a QR code. It holds the secret: share it
 * only with the person it is for.
 */
code: string, circle: string, kind: InviteKind, expires_at: Timestamp | null, max_uses: number, };

export type NewPrinciple = { values: Array<string>, statement: string, guidance: string | null, supersedes: string | null, };

export type NewProposal = { title: string, body: string, change: ProposalChange, 
/**
 * The consent window in milliseconds (7 days when absent).
 */
window_ms: number | null, };

export type NewRetro = { team: string, went_well: string, didnt: string, change: string, principles: Array<string>, };

export type NewReview = { date: Day, agenda: Array<string>, participants: Array<string>, };

export type NewRole = { name: string, purpose: string, accountabilities: Array<string>, holder: string | null, term_days: number | null, queue: Array<string>, };

export type NewValue = { title: string, statement: string, protect: string | null, refuse: string | null, examples: Array<string>, };

export type NodeErrorKind = "not-found" | "invalid" | "state" | "no-circle" | "ambiguous-circle" | "locked" | "disk-full" | "corrupt" | "io" | "stopped" | "passphrase" | "network" | "invite";

export type NodeEvent = { "type": "circle-changed", circle: string, docs: Array<string>, } | { "type": "listening", addr: string, } | { "type": "peer-connected", peer: string, circles: Array<string>, } | { "type": "peer-disconnected", peer: string, } | { "type": "peer-synced", peer: string, circle: string, } | { "type": "peer-misbehaved", peer: string, reason: string, };

export type Outcome = "worked" | "mixed" | "failed";

export type PeerCircle = { circle: string, 
/**
 * Known to be identical on both sides right now.
 */
in_sync: boolean, 
/**
 * When the circle was last known to be in sync with the peer.
 */
last_sync: Timestamp | null, };

export type PeerStatus = { 
/**
 * The peer's network identity (libp2p peer id).
 */
peer: string, 
/**
 * The display name of the member whose device the peer is, as a circle shared with
 * it records them; none for a device no shared circle lists.
 */
member: string | null, connected: boolean, 
/**
 * The address of the current connection.
 */
addr: string | null, 
/**
 * Sync payload bytes sent to and received from the peer on the current connection.
 */
bytes_sent: number, bytes_received: number, 
/**
 * Circles shared with the peer, now or in an earlier connection.
 */
circles: Array<PeerCircle>, };

export type Principle = { id: string, statement: string, guidance: string | null, 
/**
 * The values it derives from.
 */
values: Array<string>, status: PrincipleStatus, supersedes: string | null, superseded_by: string | null, retired_reason: string | null, author: string, created_at: Timestamp, updated_at: Timestamp, 
/**
 * Oldest first; the first is the principle as created.
 */
versions: Array<PrincipleVersion>, conflicts: Array<Conflict>, };

export type PrincipleChange = { principle: string, before: string, after: string, reason: string, by: string, at: Timestamp, 
/**
 * In a circle of several, the proposal the review opened for it: the principle
 * changes when that passes.
 */
proposal: string | null, };

export type PrincipleStatus = "active" | "under-review" | "retired";

export type PrincipleVersion = { version: number, statement: string, guidance: string | null, 
/**
 * Why it changed (absent for the first version).
 */
reason: string | null, author: string, at: Timestamp, 
/**
 * The tensions, decisions or review the change answers.
 */
cites: Array<string>, 
/**
 * The proposal or review that made the change, if any.
 */
source: string | null, 
/**
 * Made by a proposal whose pass is contested: it does not count until the round
 * settles, and the principle keeps its last uncontested text.
 */
contested: boolean, };

export type PrincipleView = { 
/**
 * How many decisions cite it.
 */
citations: number, id: string, statement: string, guidance: string | null, 
/**
 * The values it derives from.
 */
values: Array<string>, status: PrincipleStatus, supersedes: string | null, superseded_by: string | null, retired_reason: string | null, author: string, created_at: Timestamp, updated_at: Timestamp, 
/**
 * Oldest first; the first is the principle as created.
 */
versions: Array<PrincipleVersion>, conflicts: Array<Conflict>, };

export type Proposal = { id: string, title: string, body: string, change: ProposalChange, 
/**
 * Effective status: a pass that missed an answer given concurrently reads `contested`.
 */
status: ProposalStatus, opened_by: string, opened_at: Timestamp, 
/**
 * How long each member's window lasts, in milliseconds.
 */
window_ms: number, 
/**
 * Starts at 1; each revision by the proposer voids every answer.
 */
version: number, 
/**
 * When the current version was published (the opening, for version 1).
 */
revised_at: Timestamp, closed_by: string | null, closed_at: Timestamp | null, 
/**
 * What passing did, e.g. "principle p-… amended to version 3".
 */
outcome: string | null, 
/**
 * Each member's answer to the current version.
 */
responses: Array<Response>, 
/**
 * When each member's device first received the proposal.
 */
receipts: Array<Receipt>, 
/**
 * Why a pass is contested: both sides.
 */
contest: Contest | null, 
/**
 * Every answer ever given, oldest first.
 */
log: Array<ResponseLogEntry>, };

export type ProposalChange = { "kind": "general" } | { "kind": "amend-principle", principle: string, statement: string, guidance: string | null, reason: string, 
/**
 * The tensions or decisions that demand the change (local feedback).
 */
cites: Array<string>, } | { "kind": "new-principle", values: Array<string>, statement: string, guidance: string | null, 
/**
 * A principle the new one replaces: retired when this passes.
 */
supersedes: string | null, } | { "kind": "retire-principle", principle: string, reason: string, } | { "kind": "new-value", title: string, statement: string, protect: string | null, refuse: string | null, } | { "kind": "amend-value", value: string, title: string, statement: string, protect: string | null, refuse: string | null, reason: string, cites: Array<string>, } | { "kind": "retire-value", value: string, reason: string, } | { "kind": "remove-member", member: string, } | { "kind": "stewards", members: Array<string>, term_days: number, 
/**
 * Who takes over, in order, when a term ends (`grove steward rotate`).
 */
queue: Array<string>, } | { "kind": "keepers", members: Array<string>, term_days: number, 
/**
 * Who takes over, in order, when a term ends (`grove keeper rotate`).
 */
queue: Array<string>, } | { "kind": "map-zone", team: string, situation: string, zone: Zone, };

export type ProposalStatus = "open" | "passed" | "contested" | "withdrawn";

export type ProposalView = { id: string, title: string, body: string, change: ProposalChange, 
/**
 * Effective status: a pass that missed an answer given concurrently reads `contested`.
 */
status: ProposalStatus, opened_by: string, opened_at: Timestamp, 
/**
 * How long each member's window lasts, in milliseconds.
 */
window_ms: number, 
/**
 * Starts at 1; each revision by the proposer voids every answer.
 */
version: number, 
/**
 * When the current version was published (the opening, for version 1).
 */
revised_at: Timestamp, closed_by: string | null, closed_at: Timestamp | null, 
/**
 * What passing did, e.g. "principle p-… amended to version 3".
 */
outcome: string | null, 
/**
 * Each member's answer to the current version.
 */
responses: Array<Response>, 
/**
 * When each member's device first received the proposal.
 */
receipts: Array<Receipt>, 
/**
 * Why a pass is contested: both sides.
 */
contest: Contest | null, 
/**
 * Every answer ever given, oldest first.
 */
log: Array<ResponseLogEntry>, 
/**
 * After this, members whose devices never received it no longer hold it.
 */
deadline: Timestamp, voices: Array<Voice>, 
/**
 * Why it cannot pass yet, in words; empty when it can.
 */
blocking: Array<string>, can_pass: boolean, };

export type RaiseTension = { title: string, summary: string, 
/**
 * The principle (p-…) or value (v-…) it is about, if any.
 */
subject: string | null, 
/**
 * Ids of decisions or other entities that show it.
 */
evidence: Array<string>, };

export type Reader = { member: string, at: Timestamp, };

export type Receipt = { member: string, at: Timestamp, };

export type Related = { id: string, team: string, title: string, principles: Array<string>, 
/**
 * Principles it shares with the decision or draft.
 */
shared_principles: Array<string>, at: Timestamp, score: number, };

export type Replant = { categories: Array<DecayCategory>, message: string, recommendations: Array<string>, };

export type Response = { member: string, answer: Answer, reason: string | null, at: Timestamp, };

export type ResponseLogEntry = { at: Timestamp, member: string, what: string, };

export type Retro = { id: string, team: string, went_well: string, didnt: string, change: string, principles: Array<string>, author: string, at: Timestamp, };

export type Review = { id: string, date: Day, status: ReviewStatus, participants: Array<string>, agenda: Array<string>, changes: Array<PrincipleChange>, learnings: Array<string>, 
/**
 * Co-written prose (Automerge Text).
 */
notes: string, next_date: Day | null, opened_by: string, opened_at: Timestamp, closed_at: Timestamp | null, };

export type ReviewStatus = "open" | "closed";

export type Role = { id: string, name: string, purpose: string, accountabilities: Array<string>, holder: string | null, 
/**
 * Length of a term in days; `None` for an open-ended role.
 */
term_days: number | null, term_started: Timestamp | null, 
/**
 * Who holds it next, in order.
 */
queue: Array<string>, rotations: Array<Rotation>, author: string, created_at: Timestamp, conflicts: Array<Conflict>, };

export type Rotation = { at: Timestamp, from: string | null, to: string, };

export type Round = { 
/**
 * After this, members whose devices never received it no longer hold it.
 */
deadline: Timestamp, voices: Array<Voice>, 
/**
 * Why it cannot pass yet, in words; empty when it can.
 */
blocking: Array<string>, can_pass: boolean, };

export type RowPage = { 
/**
 * Decisions matching the filter (a lower bound while `complete` is false).
 */
total: number, 
/**
 * Of those, how many this device's member has not read.
 */
unread: number, 
/**
 * Whether every month was counted; if not, ask again with `whole` for exact counts.
 */
complete: boolean, rows: Array<DecisionRow>, };

export type Standing = "proposer" | "answered" | "waiting" | "silent-consent" | "not-received" | "skipped" | "named";

export type Stewardship = { stewards: Array<string>, 
/**
 * When their term ends (None: named before terms existed, in office until renamed).
 */
until: Timestamp | null, 
/**
 * The passed proposal that named them (None: the founder).
 */
by: string | null, in_office: boolean, 
/**
 * Who takes over next, in order, when the term ends (`grove steward rotate`).
 */
queue: Array<string>, 
/**
 * How many days each term lasts (None for the founder's year).
 */
term_days: number | null, };

export type Team = { id: string, name: string, 
/**
 * The domain the team owns.
 */
domain: string | null, members: Array<string>, author: string, created_at: Timestamp, conflicts: Array<Conflict>, };

export type Tension = { 
/**
 * Stable across recomputations: built from what the tension is about.
 */
id: string, kind: TensionKind, title: string, summary: string, 
/**
 * The principle or value it is about, if any: a review changing it closes the tension.
 */
subject: string | null, evidence: Array<Evidence>, 
/**
 * When the newest evidence appeared (or when it was raised).
 */
since: Timestamp, raised_by: string | null, open: boolean, closed: TensionClosure | null, };

export type TensionClosure = { 
/**
 * The review or proposal that addressed it.
 */
source: string, at: Timestamp, by: string, note: string | null, };

export type TensionKind = "divergence" | "shared-struggle" | "failing-principle" | "edit-conflict" | "proliferation" | "raised" | "contested" | "authority-vacuum" | "authority-confusion";

export type Timestamp = string;

export type Trend = "up" | "down" | "flat";

export type Value = { id: string, title: string, statement: string, protect: string | null, refuse: string | null, examples: Array<string>, status: ValueStatus, author: string, created_at: Timestamp, updated_at: Timestamp, 
/**
 * Oldest first; the first is the value as created. A value's wording is kept as a
 * principle's is: every change is a new version with its reason.
 */
versions: Array<ValueVersion>, 
/**
 * Fields two devices edited concurrently; edit the field to pick.
 */
conflicts: Array<Conflict>, };

export type ValueEdit = { title: string | null, statement: string | null, protect: string | null, refuse: string | null, 
/**
 * Why it changes; kept with the new version.
 */
reason?: string, };

export type ValueStatus = "active" | "retired";

export type ValueVersion = { version: number, title: string, statement: string, protect: string | null, refuse: string | null, 
/**
 * Why it changed (absent for the first version).
 */
reason: string | null, 
/**
 * The tensions or decisions the change answers.
 */
cites: Array<string>, author: string, at: Timestamp, 
/**
 * The proposal that made the change, if any.
 */
source: string | null, 
/**
 * Made by a proposal whose pass is contested: the value keeps its last uncontested
 * wording until the round settles.
 */
contested: boolean, };

export type Verdict = "back" | "coach" | "stop";

export type Vitality = { now: Timestamp, window_days: number, figures: Array<Figure>, decaying: Array<DecayCategory>, replant: Replant | null, 
/**
 * The last twelve weeks, oldest first.
 */
weeks: Array<WeekCount>, 
/**
 * Waiting time of each escalation raised in the window, in hours (for a histogram).
 */
escalation_waits_hours: Array<number>, };

export type Voice = { member: string, name: string, 
/**
 * When their device first received the proposal.
 */
received_at: Timestamp | null, 
/**
 * When their window closes (None until their device received it).
 */
window_ends: Timestamp | null, 
/**
 * Their answer to the current version.
 */
answer: Answer | null, reason: string | null, answered_at: Timestamp | null, standing: Standing, };

export type WeekCount = { week_start: Timestamp, decisions: number, 
/**
 * The week's decisions by team id, for velocity per team over time.
 */
by_team: { [key in string]: number }, read_outside_team: number, };

export type Zone = "local" | "principle-check" | "centre-awareness" | "centre-intervention";

export type ZoneInfo = { zone: Zone, explain: string, 
/**
 * Whether logging in this zone lands in the stewards' escalation inbox.
 */
escalates: boolean, };

export type ZoneRule = { team: string, situation: string, zone: Zone, 
/**
 * The passed proposal that set it.
 */
by: string, since: Timestamp, };

/** Arguments and result of every command, as src-tauri/src/commands.rs declares them. */
export interface Api {
  home_status: [{}, HomeStatus];
  unlock: [{ passphrase: string }, null];
  lock: [{}, null];
  /** Set (no `current`), change, or remove (no `new`) the passphrase sealing this home. */
  change_passphrase: [{ current: string | null; new: string | null }, null];
  me: [{}, Me];
  set_name: [{ name: string }, null];
  circles: [{}, Array<CircleSummary>];
  create_circle: [{ name: string }, CircleInfo];
  /** Adds a demo circle to look around in (grove-demo). */
  demo: [{ name: string; decisions: number }, CircleInfo];
  /** Exports the circle as `format` to `path`, or when none is given to a new file or directory in the person's Documents folder; says where it went. */
  export_circle: [{ circle: string; format: ExportFormat; path: string | null }, Exported];
  disk_usage: [{}, number];
  /** The zones a decision may be logged in, lowest first, each with what it asks. */
  zones: [{}, Array<ZoneInfo>];
  values: [{ circle: string }, Array<Value>];
  add_value: [{ circle: string; new: NewValue }, string];
  edit_value: [{ circle: string; id: string; edit: ValueEdit }, null];
  retire_value: [{ circle: string; id: string }, Array<string>];
  principles: [{ circle: string }, Array<PrincipleView>];
  /** Principles without their citation counts: cheap, for names and pickers. */
  principle_list: [{ circle: string }, Array<Principle>];
  add_principle: [{ circle: string; new: NewPrinciple }, string];
  amend_principle: [{ circle: string; id: string; amendment: Amendment }, number];
  retire_principle: [{ circle: string; id: string; reason: string }, null];
  supersede_principle: [{ circle: string; old: string; by: string }, null];
  teams: [{ circle: string }, Array<Team>];
  add_team: [{ circle: string; name: string; domain: string | null }, string];
  /** Adds a member (this device's member when `member` is null) to a team. */
  join_team: [{ circle: string; team: string; member: string | null }, null];
  leave_team: [{ circle: string; team: string; member: string | null }, null];
  members: [{ circle: string }, Array<Member>];
  /** Logs a decision; `consulted` (member ids) names who checked the principle with its author, for a principle-check decision only. */
  log_decision: [{ circle: string; new: NewDecision; consulted: Array<string> | null }, string];
  record_result: [{ circle: string; id: string; text: string; outcome: Outcome }, null];
  edit_decision: [{ circle: string; id: string; edit: DecisionEdit }, null];
  mark_read: [{ circle: string; id: string }, boolean];
  link_decisions: [{ circle: string; id: string; other: string }, null];
  decision: [{ circle: string; id: string }, Decision];
  /** A page of the log, newest first, as slim rows marked read or unread for this device's member (see `CircleHandle::decision_page` for `whole` and `complete`). */
  decision_page: [{ circle: string; filter: DecisionFilter; offset: number; limit: number; whole: boolean }, RowPage];
  /** Who was consulted on decision `id`, and who acknowledged it. */
  consultation: [{ circle: string; id: string }, Array<Consultee>];
  /** This member acknowledges that they were consulted on decision `id`. */
  acknowledge_consultation: [{ circle: string; id: string; note: string | null }, null];
  escalations: [{ circle: string }, Array<Escalation>];
  acknowledge_escalation: [{ circle: string; id: string }, null];
  resolve_escalation: [{ circle: string; id: string; verdict: Verdict; response: string }, null];
  proposals: [{ circle: string }, Array<ProposalView>];
  stewardship: [{ circle: string }, Stewardship];
  rotate_stewards: [{ circle: string }, Array<string>];
  keepers: [{ circle: string }, Keepers];
  rotate_keepers: [{ circle: string }, Array<string>];
  zone_rules: [{ circle: string }, Array<ZoneRule>];
  open_proposal: [{ circle: string; new: NewProposal }, string];
  respond: [{ circle: string; id: string; answer: Answer; reason: string | null }, null];
  revise_proposal: [{ circle: string; id: string; new: NewProposal }, number];
  pass_proposal: [{ circle: string; id: string }, string | null];
  withdraw_proposal: [{ circle: string; id: string }, null];
  roles: [{ circle: string }, Array<Role>];
  add_role: [{ circle: string; new: NewRole }, string];
  assign_role: [{ circle: string; id: string; member: string }, null];
  rotate_role: [{ circle: string; id: string }, string];
  commitments: [{ circle: string }, Array<Commitment>];
  add_commitment: [{ circle: string; new: NewCommitment }, string];
  set_commitment_status: [{ circle: string; id: string; status: CommitmentStatus }, null];
  retros: [{ circle: string }, Array<Retro>];
  add_retro: [{ circle: string; new: NewRetro }, string];
  reviews: [{ circle: string }, Array<Review>];
  open_review: [{ circle: string; new: NewReview }, string];
  add_agenda_item: [{ circle: string; id: string; item: string }, null];
  add_learning: [{ circle: string; id: string; learning: string }, null];
  close_review: [{ circle: string; id: string; next: Day }, null];
  tensions: [{ circle: string }, Array<Tension>];
  raise_tension: [{ circle: string; raise: RaiseTension }, string];
  address_tension: [{ circle: string; id: string; source: string; note: string | null }, null];
  gather_tensions: [{ circle: string; review: string }, Array<string>];
  vitality: [{ circle: string; window_days: number | null }, Vitality];
  related: [{ circle: string; id: string; limit: number }, Array<Related>];
  related_to_draft: [{ circle: string; draft: Draft; limit: number }, Array<Related>];
  net_info: [{}, NetInfo];
  peers: [{}, Array<PeerStatus>];
  /** Changes made on this device to the circle that no peer has yet. */
  pending_changes: [{ circle: string }, number];
  member_list: [{ circle: string }, Array<MemberListing>];
  /** Removes `member`, which works only for this device's own member: leaving the circle. Anyone else is removed by a passed remove-member proposal (`open_proposal`). */
  remove_member: [{ circle: string; member: string }, string];
  revoke_device: [{ circle: string; device: string }, string];
  create_invite: [{ circle: string; expires_in_hours: number | null; uses: number }, NewInvite];
  create_device_link: [{ circle: string }, NewInvite];
  invites: [{ circle: string }, Array<Invite>];
  revoke_invite: [{ circle: string; id: string }, null];
  join: [{ code: string; name: string | null }, string];
}

/** Every command the desktop shell answers. */
export const COMMANDS = [
  "home_status",
  "unlock",
  "lock",
  "change_passphrase",
  "me",
  "set_name",
  "circles",
  "create_circle",
  "demo",
  "export_circle",
  "disk_usage",
  "zones",
  "values",
  "add_value",
  "edit_value",
  "retire_value",
  "principles",
  "principle_list",
  "add_principle",
  "amend_principle",
  "retire_principle",
  "supersede_principle",
  "teams",
  "add_team",
  "join_team",
  "leave_team",
  "members",
  "log_decision",
  "record_result",
  "edit_decision",
  "mark_read",
  "link_decisions",
  "decision",
  "decision_page",
  "consultation",
  "acknowledge_consultation",
  "escalations",
  "acknowledge_escalation",
  "resolve_escalation",
  "proposals",
  "stewardship",
  "rotate_stewards",
  "keepers",
  "rotate_keepers",
  "zone_rules",
  "open_proposal",
  "respond",
  "revise_proposal",
  "pass_proposal",
  "withdraw_proposal",
  "roles",
  "add_role",
  "assign_role",
  "rotate_role",
  "commitments",
  "add_commitment",
  "set_commitment_status",
  "retros",
  "add_retro",
  "reviews",
  "open_review",
  "add_agenda_item",
  "add_learning",
  "close_review",
  "tensions",
  "raise_tension",
  "address_tension",
  "gather_tensions",
  "vitality",
  "related",
  "related_to_draft",
  "net_info",
  "peers",
  "pending_changes",
  "member_list",
  "remove_member",
  "revoke_device",
  "create_invite",
  "create_device_link",
  "invites",
  "revoke_invite",
  "join",
] as const;
export type Command = (typeof COMMANDS)[number];

/** Window event carrying a NodeEvent. */
export const NODE_EVENT = "node-event";
/** Window event asking every view to re-query (events were missed). */
export const NODE_RESYNC = "node-resync";
