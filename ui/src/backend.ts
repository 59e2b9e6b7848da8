// The one door from the UI to Grove. Components get a Backend from the session and never
// import Tauri: the app uses tauriBackend(), tests use the in-memory fake.
import type * as B from "./bindings";

/** Arguments and result of every command. Keys must match the Rust command list exactly
 * (checked below against the generated `Command` type). */
export interface Api {
  home_status: [{}, B.HomeStatus];
  unlock: [{ passphrase: string }, null];
  lock: [{}, null];
  change_passphrase: [{ current: string | null; new: string | null }, null];
  me: [{}, B.Me];
  set_name: [{ name: string }, null];
  circles: [{}, B.CircleSummary[]];
  create_circle: [{ name: string }, B.CircleInfo];
  demo: [{ name: string; decisions: number }, B.CircleInfo];
  export_circle: [{ circle: string; format: B.ExportFormat; path: string | null }, B.Exported];
  disk_usage: [{}, number];
  zones: [{}, B.ZoneInfo[]];
  zone_rules: [{ circle: string }, B.ZoneRule[]];
  values: [{ circle: string }, B.Value[]];
  add_value: [{ circle: string; new: B.NewValue }, string];
  edit_value: [{ circle: string; id: string; edit: B.ValueEdit }, null];
  retire_value: [{ circle: string; id: string }, string[]];
  principles: [{ circle: string }, B.PrincipleView[]];
  principle_list: [{ circle: string }, B.Principle[]];
  add_principle: [{ circle: string; new: B.NewPrinciple }, string];
  amend_principle: [{ circle: string; id: string; amendment: B.Amendment }, number];
  retire_principle: [{ circle: string; id: string; reason: string }, null];
  supersede_principle: [{ circle: string; old: string; by: string }, null];
  teams: [{ circle: string }, B.Team[]];
  add_team: [{ circle: string; name: string; domain: string | null }, string];
  join_team: [{ circle: string; team: string; member: string | null }, null];
  leave_team: [{ circle: string; team: string; member: string | null }, null];
  members: [{ circle: string }, B.Member[]];
  /** `consulted`: member ids who checked the principle, for a principle-check decision only. */
  log_decision: [{ circle: string; new: B.NewDecision; consulted?: string[] | null }, string];
  record_result: [{ circle: string; id: string; text: string; outcome: B.Outcome }, null];
  edit_decision: [{ circle: string; id: string; edit: B.DecisionEdit }, null];
  mark_read: [{ circle: string; id: string }, boolean];
  link_decisions: [{ circle: string; id: string; other: string }, null];
  decision: [{ circle: string; id: string }, B.Decision];
  decision_page: [{ circle: string; filter: B.DecisionFilter; offset: number; limit: number; whole: boolean }, B.RowPage];
  consultation: [{ circle: string; id: string }, B.Consultee[]];
  acknowledge_consultation: [{ circle: string; id: string; note: string | null }, null];
  escalations: [{ circle: string }, B.Escalation[]];
  acknowledge_escalation: [{ circle: string; id: string }, null];
  resolve_escalation: [{ circle: string; id: string; verdict: B.Verdict; response: string }, null];
  proposals: [{ circle: string }, B.ProposalView[]];
  stewardship: [{ circle: string }, B.Stewardship];
  rotate_stewards: [{ circle: string }, string[]];
  keepers: [{ circle: string }, B.Keepers];
  rotate_keepers: [{ circle: string }, string[]];
  open_proposal: [{ circle: string; new: B.NewProposal }, string];
  respond: [{ circle: string; id: string; answer: B.Answer; reason: string | null }, null];
  revise_proposal: [{ circle: string; id: string; new: B.NewProposal }, number];
  pass_proposal: [{ circle: string; id: string }, string | null];
  withdraw_proposal: [{ circle: string; id: string }, null];
  roles: [{ circle: string }, B.Role[]];
  add_role: [{ circle: string; new: B.NewRole }, string];
  assign_role: [{ circle: string; id: string; member: string }, null];
  rotate_role: [{ circle: string; id: string }, string];
  commitments: [{ circle: string }, B.Commitment[]];
  add_commitment: [{ circle: string; new: B.NewCommitment }, string];
  set_commitment_status: [{ circle: string; id: string; status: B.CommitmentStatus }, null];
  retros: [{ circle: string }, B.Retro[]];
  add_retro: [{ circle: string; new: B.NewRetro }, string];
  reviews: [{ circle: string }, B.Review[]];
  open_review: [{ circle: string; new: B.NewReview }, string];
  add_agenda_item: [{ circle: string; id: string; item: string }, null];
  add_learning: [{ circle: string; id: string; learning: string }, null];
  close_review: [{ circle: string; id: string; next: B.Day }, null];
  tensions: [{ circle: string }, B.Tension[]];
  raise_tension: [{ circle: string; raise: B.RaiseTension }, string];
  address_tension: [{ circle: string; id: string; source: string; note: string | null }, null];
  gather_tensions: [{ circle: string; review: string }, string[]];
  vitality: [{ circle: string; window_days: number | null }, B.Vitality];
  related: [{ circle: string; id: string; limit: number }, B.Related[]];
  related_to_draft: [{ circle: string; draft: B.Draft; limit: number }, B.Related[]];
  net_info: [{}, B.NetInfo];
  peers: [{}, B.PeerStatus[]];
  pending_changes: [{ circle: string }, number];
  member_list: [{ circle: string }, B.MemberListing[]];
  remove_member: [{ circle: string; member: string }, string];
  revoke_device: [{ circle: string; device: string }, string];
  create_invite: [{ circle: string; expires_in_hours: number | null; uses: number }, B.NewInvite];
  create_device_link: [{ circle: string }, B.NewInvite];
  invites: [{ circle: string }, B.Invite[]];
  revoke_invite: [{ circle: string; id: string }, null];
  join: [{ code: string; name: string | null }, string];
}

// Fails to compile when a command is added, renamed or removed in Rust but not here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const commandsMatch: Same<keyof Api, B.Command> = true;
void commandsMatch;

export type Args<K extends B.Command> = Api[K][0];
export type Ret<K extends B.Command> = Api[K][1];

/** What the window learns from the node: a circle changed, or "re-query everything". */
export type Change = B.NodeEvent | { type: "resync" };

export interface Backend {
  call<K extends B.Command>(cmd: K, args: Args<K>): Promise<Ret<K>>;
  /** Calls `onChange` for every node change until the returned function is called. */
  subscribe(onChange: (c: Change) => void): Promise<() => void>;
}

/** A failed call: the engine's error kind and its message, meant for people. */
export class BackendError extends Error {
  readonly kind: B.NodeErrorKind | "unavailable";
  constructor(kind: B.NodeErrorKind | "unavailable", message: string) {
    super(message);
    this.kind = kind;
    this.name = "BackendError";
  }
}

/** Turns whatever a call threw into a BackendError without losing a readable message. */
export function toBackendError(e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    const { kind, message } = e as B.CommandError;
    return new BackendError(kind, String(message));
  }
  if (typeof e === "string" && e.length > 0) {
    // Tauri reports argument mismatches as plain strings; they are our bugs, not the user's.
    return new BackendError("unavailable", `Grove could not run that: ${e}`);
  }
  return new BackendError("unavailable", "Grove could not run that; try again, and restart Grove if it keeps failing");
}
