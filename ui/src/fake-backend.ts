// An in-memory Backend for tests and for running the UI in a plain browser. It follows the
// engine's main rules and messages closely enough for UI logic to be tested against it;
// the engine itself is tested in Rust.
import type * as B from "./bindings";
import { BackendError, type Api, type Backend, type Change } from "./backend";

type Handlers = { [K in keyof Api]: (args: Api[K][0]) => Api[K][1] };

const ZONES: B.ZoneInfo[] = [
  { zone: "local", explain: "decide and log it; no one else needs to act", escalates: false },
  { zone: "principle-check", explain: "check with a peer that the principle applies before acting", escalates: false },
  { zone: "centre-awareness", explain: "act, and make sure the stewards know (lands in their inbox)", escalates: true },
  { zone: "centre-intervention", explain: "the stewards must respond before or while you act", escalates: true },
];

interface FakeCircle {
  info: B.CircleInfo;
  members: B.Member[];
  teams: B.Team[];
  values: B.Value[];
  principles: B.Principle[];
  decisions: B.Decision[];
  escalations: B.Escalation[];
  proposals: B.Proposal[];
  roles: B.Role[];
  commitments: B.Commitment[];
  retros: B.Retro[];
  reviews: B.Review[];
  raised: B.Tension[];
  addressed: Map<string, B.TensionClosure>;
  invites: B.Invite[];
  removed: Map<string, string>;
  /** Revoked devices (lost or seized) and when: refused from then on, their member stays. */
  revoked: Map<string, string>;
  /** The stewards, when their term ends, and the passed proposal that named them (null: the founder). */
  stewards: string[];
  stewardsUntil: string | null;
  stewardsBy: string | null;
  /** Who takes over next, in order, when the term ends; how many days a term lasts (null: the founder's year). */
  stewardsQueue: string[];
  stewardsTermDays: number | null;
  /** The principle keepers' office, as grove_core::keepers keeps it (empty: never named). */
  keepers: { holders: string[]; until: string | null; by: string | null; queue: string[]; termDays: number | null };
  /** Every team's zone map (grove_core::zones), set only by passed map-zone proposals. */
  zoneRules: B.ZoneRule[];
  /** Who was consulted on each principle-check decision, by decision id (grove_core::consultation). */
  consultations: Map<string, B.Consultee[]>;
}

/** Zones from lowest to highest, as the engine orders them. */
const ZONE_ORDER: B.Zone[] = ["local", "principle-check", "centre-awareness", "centre-intervention"];

/** What a locked home still answers (the rest waits for the passphrase). */
const WHILE_LOCKED = new Set<keyof Api>(["home_status", "unlock", "lock", "zones"]);

const DAY_MS = 86_400_000;
/** How long the founder is steward before the circle names its stewards (grove_core). */
const FOUNDER_TERM_DAYS = 365;
/** Longest term a proposal may give stewards. */
const MAX_STEWARD_TERM_DAYS = 3650;
const invalid = (m: string) => new BackendError("invalid", m);
const notFound = (what: string, id: string) => new BackendError("not-found", `no ${what} \`${id}\``);
function required(s: string, what: string): string {
  const t = s.trim();
  if (!t) throw invalid(`${what} cannot be empty`);
  return t;
}

export interface FakeOptions {
  /** Milliseconds since the epoch for "now"; advances by 1 ms per change. */
  now?: number;
  name?: string;
  /** Start as an encrypted home sealed under this passphrase, locked. */
  passphrase?: string;
}

export class FakeBackend implements Backend {
  private circlesById = new Map<string, FakeCircle>();
  private listeners = new Set<(c: Change) => void>();
  private seq = 0;
  private clock: number;
  me: B.Me;

  constructor(opts: FakeOptions = {}) {
    this.clock = opts.now ?? Date.UTC(2026, 10, 22, 9, 0, 0);
    this.me = { member: "m-me", device: "d-me", name: opts.name ?? "You" };
    this.passphrase = opts.passphrase ?? null;
    this.locked = this.passphrase !== null;
  }

  /** The passphrase the home is sealed under (null: unencrypted), and whether it is locked. */
  passphrase: string | null;
  locked: boolean;

  private checkCurrent(current: string | null) {
    if (this.passphrase === null && current !== null) {
      throw new BackendError("passphrase", "the Grove home is not encrypted, yet a passphrase was given");
    }
    if (this.passphrase !== null && current !== this.passphrase) {
      throw new BackendError("passphrase", "wrong passphrase for the Grove home; nothing was read or changed; try again");
    }
  }

  private now(): string {
    this.clock += 1;
    return new Date(this.clock).toISOString();
  }
  private id(prefix: string): string {
    this.seq += 1;
    return `${prefix}-${this.seq.toString(36).padStart(4, "0")}`;
  }
  private circle(id: string): FakeCircle {
    const c = this.circlesById.get(id);
    if (!c) throw notFound("circle", id);
    return c;
  }
  private changed(circle: string) {
    this.unsent.set(circle, (this.unsent.get(circle) ?? 0) + 1);
    for (const l of this.listeners) l({ type: "circle-changed", circle, docs: ["core"] });
  }
  private principle(c: FakeCircle, id: string): B.Principle {
    const p = c.principles.find((p) => p.id === id);
    if (!p) throw notFound("principle", id);
    return p;
  }

  // ---- the charter (grove_core::charter): values and principles ----

  /** As the engine: a direct change of the charter only from the circle's sole member. */
  private actsAlone(c: FakeCircle, what: "values" | "principles", instead: string) {
    const n = c.members.filter((m) => !c.removed.has(m.id)).length;
    if (n > 1) throw new BackendError("state", `${what} change by consent in a circle of ${n} members: ${instead}`);
  }
  private value(c: FakeCircle, id: string): B.Value {
    const v = c.values.find((v) => v.id === id);
    if (!v) throw notFound("value", id);
    return v;
  }
  private addValue(c: FakeCircle, n: B.NewValue, source: string | null): string {
    const title = required(n.title, "a value's title");
    const statement = required(n.statement, "a value's statement");
    if (c.values.some((v) => v.status === "active" && v.title.toLowerCase() === title.toLowerCase())) {
      throw invalid(`an active value is already titled \`${title}\`: reword that one instead`);
    }
    const at = this.now();
    const protect = n.protect?.trim() || null;
    const refuse = n.refuse?.trim() || null;
    const v: B.Value = {
      id: this.id("v"), title, statement, protect, refuse, examples: [...n.examples],
      status: "active", author: this.me.member, created_at: at, updated_at: at, conflicts: [],
      versions: [{ version: 1, title, statement, protect, refuse, reason: null, cites: [], author: this.me.member, at, source, contested: false }],
    };
    c.values.push(v);
    return v.id;
  }
  /** Whether every field the edit sets takes one of the wordings a conflict holds for it. */
  private picksConflict(v: B.Value, edit: B.ValueEdit): boolean {
    const given = (["title", "statement", "protect", "refuse"] as const).filter((f) => edit[f] != null);
    return given.length > 0 && given.every((f) => v.conflicts.some((k) => k.field === f && k.values.includes(edit[f]!.trim())));
  }
  /** A pick settles the conflict of the fields it sets; any other edit is a new version. */
  private editValue(c: FakeCircle, v: B.Value, edit: B.ValueEdit, cites: string[], source: string | null) {
    if (v.status === "retired") throw new BackendError("state", `value \`${v.id}\` is retired: add a new value instead`);
    const title = edit.title == null ? v.title : required(edit.title, "a value's title");
    const statement = edit.statement == null ? v.statement : required(edit.statement, "a value's statement");
    if (edit.title == null && edit.statement == null && edit.protect == null && edit.refuse == null) {
      throw invalid("nothing to change: give a new title, statement, protect or refuse");
    }
    const next = (given: string | null, now: string | null) => (given == null ? now : given.trim() || null);
    const protect = next(edit.protect, v.protect);
    const refuse = next(edit.refuse, v.refuse);
    const pick = source === null && this.picksConflict(v, edit);
    if (!pick && title === v.title && statement === v.statement && protect === v.protect && refuse === v.refuse) {
      throw invalid("the edit changes nothing: give a different title, statement, protect or refuse");
    }
    const at = this.now();
    Object.assign(v, { title, statement, protect, refuse, updated_at: at });
    if (pick) {
      v.conflicts = v.conflicts.filter((k) => edit[k.field as keyof B.ValueEdit] == null);
      return;
    }
    v.versions.push({
      version: v.versions.length + 1, title, statement, protect, refuse, reason: edit.reason?.trim() || null,
      cites: [...cites], author: this.me.member, at, source, contested: false,
    });
  }
  /** Retires a value; principles left with no active value go under review (their ids). */
  private retireValue(c: FakeCircle, v: B.Value): string[] {
    if (v.status === "retired") throw new BackendError("state", `value \`${v.id}\` is already retired`);
    v.status = "retired";
    v.updated_at = this.now();
    const active = (id: string) => c.values.some((x) => x.id === id && x.status === "active");
    const orphaned = c.principles.filter((p) => p.status === "active" && p.values.includes(v.id) && !p.values.some(active));
    for (const p of orphaned) p.status = "under-review";
    return orphaned.map((p) => p.id);
  }
  private addPrinciple(c: FakeCircle, n: B.NewPrinciple, source: string | null): string {
    const statement = required(n.statement, "a principle's statement");
    if (n.values.length === 0) throw invalid("a principle must derive from at least one value");
    for (const v of n.values) this.value(c, v);
    const old = n.supersedes ? this.principle(c, n.supersedes) : null;
    const at = this.now();
    const guidance = n.guidance?.trim() || null;
    const p: B.Principle = {
      id: this.id("p"), statement, guidance, values: [...new Set(n.values)], status: "active",
      supersedes: old?.id ?? null, superseded_by: null, retired_reason: null, author: this.me.member,
      created_at: at, updated_at: at, conflicts: [],
      versions: [{ version: 1, statement, guidance, reason: null, cites: [], author: this.me.member, at, source, contested: false }],
    };
    c.principles.push(p);
    if (old) Object.assign(old, { status: "retired", superseded_by: p.id, updated_at: at });
    return p.id;
  }
  private amendPrinciple(c: FakeCircle, p: B.Principle, a: B.Amendment, source: string | null): number {
    const reason = required(a.reason, "the reason for the amendment");
    const statement = required(a.statement, "a principle's statement");
    const at = this.now();
    Object.assign(p, { statement, guidance: a.guidance?.trim() ?? p.guidance, status: "active", updated_at: at });
    p.versions.push({ version: p.versions.length + 1, statement, guidance: p.guidance, reason, cites: [...(a.cites ?? [])], author: this.me.member, at, source, contested: false });
    return p.versions.length;
  }
  private retirePrinciple(c: FakeCircle, p: B.Principle, reason: string) {
    if (p.status === "retired") throw new BackendError("state", `principle \`${p.id}\` is already retired`);
    Object.assign(p, { status: "retired", retired_reason: required(reason, "the reason for retiring a principle"), updated_at: this.now() });
  }
  /** As the engine: in a circle of several, an amendment cites the feedback that demands it. */
  private checkFeedback(c: FakeCircle, cites: string[]) {
    if (cites.length === 0) {
      if (c.members.filter((m) => !c.removed.has(m.id)).length <= 1) return;
      throw invalid("an amendment cites the feedback that demands it: add --cites with a tension, decision or review id (grove tension list, grove decision list)");
    }
    for (const id of cites) {
      if (!/^(d|rv|t[^-])-./.test(id)) throw invalid(`\`${id}\` is no tension, decision or review id: cite the feedback that demands the change`);
      if (id.startsWith("rv-") && !c.reviews.some((r) => r.id === id)) throw notFound("review", id);
    }
  }

  /** Adds a member (or devices of one) to a circle, as if admitted elsewhere and synced. */
  admit(circle: string, member: B.Member) {
    const c = this.circle(circle);
    const known = c.members.find((m) => m.id === member.id);
    if (known) known.devices = [...new Set([...known.devices, ...member.devices])];
    else c.members.push(structuredClone(member));
    this.changed(circle);
  }

  /** Changes per circle no peer has yet: each change adds one; a test clears it. */
  unsent = new Map<string, number>();
  /** Connected and earlier peers, as a test sets them. */
  peerList: B.PeerStatus[] = [];
  /** False: behave like a node whose networking could not start. */
  networked = true;
  /** Codes `join` accepts, with the circle each brings (a test plays the inviter). */
  joinable = new Map<string, B.CircleInfo>();

  private newInvite(circle: string, hours: number | null, uses: number, kind: B.InviteKind): B.NewInvite {
    const c = this.circle(circle);
    if (!this.networked) throw new BackendError("invite", "this device cannot be reached by the person you invite: it is not listening for connections");
    if (uses < 1 || uses > 100) throw invalid("an invite is good for 1 to 100 uses");
    const at = this.now();
    const expires_at = hours == null ? null : new Date(Date.parse(at) + hours * 3_600_000).toISOString();
    const id = this.id("i");
    c.invites.push({ id, kind, created_by: this.me.member, created_at: at, expires_at, max_uses: uses, used_by: [], revoked: false, state: "open" });
    this.changed(circle);
    return { id, code: `grove1${id.toUpperCase()}FAKECODE`, circle, kind, expires_at, max_uses: uses };
  }

  private freshCircle(info: B.CircleInfo, me: B.Member): FakeCircle {
    return {
      info, members: [me],
      teams: [], values: [], principles: [], decisions: [], escalations: [],
      proposals: [], roles: [], commitments: [], retros: [], reviews: [], raised: [], addressed: new Map(),
      invites: [], removed: new Map(), revoked: new Map(),
      stewards: [info.created_by],
      stewardsUntil: new Date(Date.parse(info.created_at) + FOUNDER_TERM_DAYS * DAY_MS).toISOString(),
      stewardsBy: null,
      stewardsQueue: [],
      stewardsTermDays: null,
      keepers: { holders: [], until: null, by: null, queue: [], termDays: null },
      zoneRules: [],
      consultations: new Map(),
    };
  }
  /** Keepers in office at the fake's clock who are still members: one of them must hear a charter change. */
  private keepersInOffice(c: FakeCircle): string[] {
    const k = c.keepers;
    if (k.until === null || this.clock >= Date.parse(k.until)) return [];
    return k.holders.filter((m) => c.members.some((x) => x.id === m) && !c.removed.has(m));
  }
  private inOffice(c: FakeCircle, member: string): boolean {
    return c.stewards.includes(member) && !c.removed.has(member) && (c.stewardsUntil === null || this.clock < Date.parse(c.stewardsUntil));
  }
  /** As the engine: a steward in office, or the member of a circle of one, answers escalations. */
  private checkSteward(c: FakeCircle) {
    if (this.inOffice(c, this.me.member) || c.members.filter((m) => !c.removed.has(m.id)).length <= 1) return;
    const names = c.stewards.filter((s) => this.inOffice(c, s)).map((s) => this.memberNameIn(c, s));
    if (names.length === 0) throw new BackendError("state", "no steward is in office: their term ended; name stewards by proposal (grove proposal open --steward M …)");
    throw new BackendError("state", `only a steward answers escalations, and you are not one in office; ask ${names.join(" or ")} (or raise a tension)`);
  }

  /** Moves "now" on by `ms` (a test lets a term run out). */
  advance(ms: number) {
    this.clock += ms;
  }

  /** Simulates two devices writing a value's field at once: both wordings are kept, the
   * first shown, until someone picks one (grove_core::charter allows anyone that pick). */
  conflict(circle: string, value: string, field: "title" | "statement" | "protect" | "refuse", values: string[], devices: string[] = []) {
    const v = this.value(this.circle(circle), value);
    v.conflicts = [...v.conflicts.filter((k) => k.field !== field), { field, values: [...values], devices: [...devices] }];
    v[field] = values[0];
    this.changed(circle);
  }

  /** Simulates a change arriving from a peer (what a live view must pick up). */
  emitChange(circle: string) {
    this.changed(circle);
  }

  /** Simulates any node event (a peer connecting, a resync request). */
  emit(c: Change) {
    for (const l of this.listeners) l(c);
  }

  private handlers: Partial<Handlers> = {
    home_status: () => ({ encrypted: this.passphrase !== null, locked: this.locked }),
    unlock: ({ passphrase }) => {
      if (!this.locked) return null;
      if (!passphrase) throw invalid("enter the passphrase");
      this.checkCurrent(passphrase);
      this.locked = false;
      return null;
    },
    lock: () => {
      if (this.passphrase === null) throw invalid("this home has no passphrase, so it cannot be locked: set one first");
      this.locked = true;
      return null;
    },
    change_passphrase: ({ current, new: next }) => {
      if (next === "") throw invalid("the new passphrase cannot be empty");
      this.checkCurrent(current);
      this.passphrase = next;
      return null;
    },
    me: () => ({ ...this.me }),
    set_name: ({ name }) => {
      this.me.name = required(name, "a display name");
      for (const c of this.circlesById.values()) {
        const m = c.members.find((m) => m.id === this.me.member);
        if (m) m.name = this.me.name;
      }
      return null;
    },
    circles: () =>
      [...this.circlesById.values()].map((c) => ({
        ...c.info,
        members: c.members.length,
        values: c.values.length,
        months: new Set(c.decisions.map((d) => d.created_at.slice(0, 7))).size,
      })),
    create_circle: ({ name }) => {
      const info: B.CircleInfo = {
        id: this.id("c"),
        name: required(name, "the circle's name"),
        created_at: this.now(),
        created_by: this.me.member,
      };
      this.circlesById.set(info.id, this.freshCircle(info, { id: this.me.member, name: this.me.name, devices: [this.me.device], teams: [], joined_at: info.created_at, conflicts: [] }));
      return info;
    },
    zones: () => ZONES.map((z) => ({ ...z })),
    zone_rules: ({ circle }) =>
      this.circle(circle).zoneRules.map((r) => ({ ...r }))
        .sort((a, b) => a.team.localeCompare(b.team) || a.situation.localeCompare(b.situation)),
    values: ({ circle }) => structuredClone(this.circle(circle).values),
    // As the engine (grove_core::charter): values and principles change directly only in a
    // circle of one; in a circle of several, by a passed proposal.
    add_value: ({ circle, new: n }) => {
      const c = this.circle(circle);
      this.actsAlone(c, "values", "grove proposal open --new-value TITLE --statement S");
      const id = this.addValue(c, n, null);
      this.changed(circle);
      return id;
    },
    // Picking one of the wordings two devices wrote at once stays open to anyone.
    edit_value: ({ circle, id, edit }) => {
      const c = this.circle(circle);
      const v = this.value(c, id);
      if (!this.picksConflict(v, edit)) {
        this.actsAlone(c, "values", `grove proposal open --amend-value ${id} --reason R --cites T …`);
      }
      this.editValue(c, v, edit, [], null);
      this.changed(circle);
      return null;
    },
    retire_value: ({ circle, id }) => {
      const c = this.circle(circle);
      this.actsAlone(c, "values", `grove proposal open --retire-value ${id} --reason R`);
      const orphaned = this.retireValue(c, this.value(c, id));
      this.changed(circle);
      return orphaned;
    },
    principle_list: ({ circle }) => structuredClone(this.circle(circle).principles),
    principles: ({ circle }) => {
      const c = this.circle(circle);
      return c.principles.map((p) => ({
        ...p,
        citations: c.decisions.filter((d) => d.principles.includes(p.id)).length,
      }));
    },
    add_principle: ({ circle, new: n }) => {
      const c = this.circle(circle);
      this.actsAlone(c, "principles", "grove proposal open --value V --statement S [--supersedes P]");
      const id = this.addPrinciple(c, n, null);
      this.changed(circle);
      return id;
    },
    amend_principle: ({ circle, id, amendment }) => {
      const c = this.circle(circle);
      this.actsAlone(c, "principles", `grove proposal open --amend ${id} --statement S --reason R --cites T …`);
      const version = this.amendPrinciple(c, this.principle(c, id), amendment, null);
      this.changed(circle);
      return version;
    },
    retire_principle: ({ circle, id, reason }) => {
      const c = this.circle(circle);
      this.actsAlone(c, "principles", `grove proposal open --retire-principle ${id} --reason R`);
      this.retirePrinciple(c, this.principle(c, id), reason);
      this.changed(circle);
      return null;
    },
    supersede_principle: ({ circle, old, by }) => {
      const c = this.circle(circle);
      this.actsAlone(c, "principles", `grove proposal open --value V --statement S --supersedes ${old}, or --retire-principle ${old}`);
      if (old === by) throw invalid("a principle cannot supersede itself");
      const [o, n] = [this.principle(c, old), this.principle(c, by)];
      if (o.status === "retired") throw new BackendError("state", `principle \`${old}\` is already retired`);
      if (n.status === "retired") throw new BackendError("state", `principle \`${by}\` is retired`);
      Object.assign(o, { status: "retired", superseded_by: by, updated_at: this.now() });
      n.supersedes = old;
      this.changed(circle);
      return null;
    },
    teams: ({ circle }) => this.circle(circle).teams.map((t) => ({ ...t })),
    add_team: ({ circle, name, domain }) => {
      const c = this.circle(circle);
      const n = required(name, "a team's name");
      const dup = c.teams.find((t) => t.name.toLowerCase() === n.toLowerCase());
      if (dup) throw invalid(`a team named \`${dup.name}\` already exists (${dup.id})`);
      const t: B.Team = { id: this.id("t"), name: n, domain, members: [], author: this.me.member, created_at: this.now(), conflicts: [] };
      c.teams.push(t);
      this.changed(circle);
      return t.id;
    },
    join_team: ({ circle, team, member }) => {
      const c = this.circle(circle);
      const t = c.teams.find((t) => t.id === team);
      if (!t) throw notFound("team", team);
      const m = member ?? this.me.member;
      if (!t.members.includes(m)) t.members.push(m);
      const mem = c.members.find((x) => x.id === m);
      if (mem && !mem.teams.includes(team)) mem.teams.push(team);
      this.changed(circle);
      return null;
    },
    members: ({ circle }) => this.circle(circle).members.map((m) => ({ ...m })),
    log_decision: ({ circle, new: n, consulted }) => {
      const c = this.circle(circle);
      if (!c.teams.some((t) => t.id === n.team)) throw notFound("team", n.team);
      if (n.principles.length === 0) throw invalid("a decision must name at least one principle in play");
      for (const p of n.principles) {
        if (this.principle(c, p).status === "retired") throw invalid(`principle \`${p}\` is retired`);
      }
      const context = required(n.context, "a decision's context");
      const choice = required(n.choice, "the choice made");
      // As the engine: a departure names a principle that can be cited, and says why; it is
      // for the centre to hear, so a local or principle-check zone is raised to centre-awareness.
      const departsFrom = n.departs_from?.trim() || null;
      let departureWhy: string | null = null;
      if (departsFrom) {
        if (this.principle(c, departsFrom).status === "retired") throw invalid(`principle \`${departsFrom}\` is retired`);
        departureWhy = n.departure_why?.trim() || null;
        if (!departureWhy) throw invalid("a departure from a principle says why (--why), so the stewards can answer it");
      }
      const at = this.now();
      const situation = n.situation?.trim().toLowerCase() || null;
      // No zone given: the one the team's zone map sets for the situation, else local.
      const mapped = situation ? c.zoneRules.find((r) => r.team === n.team && r.situation === situation)?.zone ?? null : null;
      const picked = n.zone ?? mapped;
      const zone: B.Zone = departsFrom && (!picked || picked === "local" || picked === "principle-check") ? "centre-awareness" : picked ?? "local";
      // As the engine: only a principle-check decision names who was consulted, and only
      // current members other than its author.
      const asked = [...new Set((consulted ?? []).map((m) => m.trim()))];
      if (asked.length && zone !== "principle-check") {
        throw invalid(`only a principle-check decision names who was consulted, and this one is ${zone}: log it with --zone principle-check, or without --consulted`);
      }
      for (const m of asked) {
        if (m === this.me.member) throw invalid("you cannot consult yourself: name the peer who checked the principle with you");
        if (!c.members.some((x) => x.id === m) || c.removed.has(m)) throw invalid(`\`${m}\` is not a current member of the circle: consult someone who is (grove member list)`);
      }
      const d: B.Decision = {
        id: this.id("d"), team: n.team, author: this.me.member, principles: [...n.principles], context, choice,
        zone, zone_unsure: n.zone_unsure, situation, status: "open",
        result: null, result_due: n.result_due, created_at: at, updated_at: at, links: [], readers: [], history: [], conflicts: [],
        ...(departsFrom && departureWhy ? { departs_from: departsFrom, departure_why: departureWhy } : {}),
      };
      c.decisions.push(d);
      if (asked.length) c.consultations.set(d.id, asked.map((member) => ({ member, asked_at: at, acknowledged_at: null, note: null })));
      if (zone === "centre-awareness" || zone === "centre-intervention") {
        c.escalations.push({
          id: this.id("e"), decision: d.id, zone, raised_by: this.me.member, raised_at: at, status: "open",
          acknowledged_by: null, acknowledged_at: null, response: null, verdict: null, resolved_by: null, resolved_at: null, conflicts: [],
        });
      }
      this.changed(circle);
      return d.id;
    },
    decision: ({ circle, id }) => {
      const d = this.circle(circle).decisions.find((d) => d.id === id);
      if (!d) throw notFound("decision", id);
      return structuredClone(d);
    },
    consultation: ({ circle, id }) => {
      const c = this.circle(circle);
      if (!c.decisions.some((d) => d.id === id)) throw notFound("decision", id);
      return structuredClone(c.consultations.get(id) ?? []);
    },
    acknowledge_consultation: ({ circle, id, note }) => {
      const c = this.circle(circle);
      const asked = c.consultations.get(id);
      if (!asked) throw new BackendError("state", `no one was consulted on decision \`${id}\`, so there is nothing to acknowledge`);
      const mine = asked.find((k) => k.member === this.me.member);
      if (!mine) throw new BackendError("state", `you were not consulted on decision \`${id}\`; only those its author named acknowledge it (grove decision show ${id})`);
      if (mine.acknowledged_at) throw new BackendError("state", `you already acknowledged decision \`${id}\``);
      mine.acknowledged_at = this.now();
      mine.note = note?.trim() || null;
      this.changed(circle);
      return null;
    },
    mark_read: ({ circle, id }) => {
      const d = this.circle(circle).decisions.find((d) => d.id === id);
      if (!d) throw notFound("decision", id);
      if (d.readers.some((r) => r.member === this.me.member)) return false;
      d.readers.push({ member: this.me.member, at: this.now() });
      this.changed(circle);
      return true;
    },
    record_result: ({ circle, id, text, outcome }) => {
      const d = this.circle(circle).decisions.find((d) => d.id === id);
      if (!d) throw notFound("decision", id);
      d.result = { text: required(text, "the result"), outcome, at: this.now(), by: this.me.member };
      d.status = "resulted";
      this.changed(circle);
      return null;
    },
    decision_page: ({ circle, filter: f, offset, limit }) => {
      const c = this.circle(circle);
      const valuePrinciples = f.value ? c.principles.filter((p) => p.values.includes(f.value!)).map((p) => p.id) : null;
      const words = (f.text ?? "").toLowerCase().split(/\s+/).filter(Boolean);
      const rows = c.decisions
        .filter((d) =>
          (!f.team || d.team === f.team) &&
          (!f.principle || d.principles.includes(f.principle)) &&
          (!f.zone || d.zone === f.zone) &&
          (!f.status || d.status === f.status) &&
          (!f.author || d.author === f.author) &&
          (!f.since || d.created_at >= f.since) &&
          (!f.until || d.created_at <= f.until) &&
          (!f.situation || d.situation === f.situation.trim().toLowerCase()) &&
          (!f.unread_by || !d.readers.some((r) => r.member === f.unread_by)) &&
          (!valuePrinciples || d.principles.some((p) => valuePrinciples.includes(p))) &&
          words.every((w) => `${d.context} ${d.choice} ${d.result?.text ?? ""}`.toLowerCase().includes(w)))
        .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
        .map((d) => ({
          id: d.id, team: d.team, author: d.author, principles: d.principles, choice: d.choice, zone: d.zone,
          zone_unsure: d.zone_unsure, situation: d.situation, status: d.status, created_at: d.created_at,
          read: d.readers.some((r) => r.member === this.me.member),
        }));
      const unread = rows.filter((r) => !r.read).length;
      return { total: rows.length, unread, complete: true, rows: rows.slice(offset, offset + limit) };
    },
    escalations: ({ circle }) => this.circle(circle).escalations.map((e) => ({ ...e })),
    acknowledge_escalation: ({ circle, id }) => {
      this.checkSteward(this.circle(circle));
      const e = this.circle(circle).escalations.find((e) => e.id === id);
      if (!e) throw notFound("escalation", id);
      if (e.status !== "open") throw new BackendError("state", `escalation \`${id}\` is already ${e.status}`);
      e.status = "acknowledged";
      e.acknowledged_by = this.me.member;
      e.acknowledged_at = this.now();
      this.changed(circle);
      return null;
    },
    resolve_escalation: ({ circle, id, verdict, response }) => {
      this.checkSteward(this.circle(circle));
      const e = this.circle(circle).escalations.find((e) => e.id === id);
      if (!e) throw notFound("escalation", id);
      e.response = required(response, "the response to an escalation");
      e.verdict = verdict;
      e.status = "resolved";
      e.resolved_by = this.me.member;
      e.resolved_at = this.now();
      this.changed(circle);
      return null;
    },
    proposals: ({ circle }) => {
      const c = this.circle(circle);
      const now = this.clock;
      // This device receives every proposal it reads, as the node notes on first sight.
      for (const p of c.proposals) {
        if (!p.receipts.some((r) => r.member === this.me.member)) p.receipts.push({ member: this.me.member, at: new Date(now).toISOString() });
      }
      return c.proposals.map((p) => this.proposalView(c, p, now));
    },
    stewardship: ({ circle }) => {
      const c = this.circle(circle);
      return {
        stewards: [...c.stewards].sort(), until: c.stewardsUntil, by: c.stewardsBy,
        in_office: c.stewards.some((s) => this.inOffice(c, s)),
        queue: [...c.stewardsQueue], term_days: c.stewardsTermDays,
      };
    },
    keepers: ({ circle }) => {
      const c = this.circle(circle);
      const k = c.keepers;
      return {
        keepers: [...k.holders].sort(), until: k.until, by: k.by, in_office: this.keepersInOffice(c).length > 0,
        queue: [...k.queue], term_days: k.termDays,
      };
    },
    // As the engine: once the keepers' term has ended, any member hands it to the next in line.
    rotate_keepers: ({ circle }) => {
      const c = this.circle(circle);
      const k = c.keepers;
      const current = (m: string) => c.members.some((x) => x.id === m) && !c.removed.has(m);
      if (!current(this.me.member)) throw new BackendError("state", "only a member of the circle rotates its principle keepers");
      if (k.until === null || k.termDays === null) {
        throw new BackendError("state", "the circle has no principle keepers to rotate: name them by proposal (grove proposal open --keeper M --term-days N)");
      }
      const now = this.now();
      if (Date.parse(now) < Date.parse(k.until)) {
        throw new BackendError("state", `the principle keepers' term runs until ${k.until.slice(0, 16).replace("T", " ")} UTC; rotation comes after it`);
      }
      const queue = k.queue.filter(current);
      if (queue.length === 0) {
        throw new BackendError("state", "no one is queued to take over: name principle keepers by proposal (grove proposal open --keeper M --term-days N)");
      }
      const n = Math.min(Math.max(k.holders.length, 1), queue.length);
      const next = queue.slice(0, n);
      c.keepers = {
        holders: [...next].sort(), queue: [...queue.slice(n), ...k.holders.filter((m) => !next.includes(m))],
        until: new Date(Date.parse(now) + k.termDays * DAY_MS).toISOString(), by: k.by, termDays: k.termDays,
      };
      this.changed(circle);
      return [...next].sort();
    },
    // As the engine: once the term has ended, any member hands the office to the next in the queue.
    rotate_stewards: ({ circle }) => {
      const c = this.circle(circle);
      const current = (m: string) => c.members.some((x) => x.id === m) && !c.removed.has(m);
      if (!current(this.me.member)) throw new BackendError("state", "only a member of the circle rotates its stewards");
      if (c.stewardsUntil === null) throw new BackendError("state", "the stewards have no term to end: name stewards by proposal first");
      const now = this.now();
      if (Date.parse(now) < Date.parse(c.stewardsUntil)) {
        throw new BackendError("state", `the stewards' term runs until ${c.stewardsUntil.slice(0, 16).replace("T", " ")} UTC; rotation comes after it`);
      }
      const queue = c.stewardsQueue.filter(current);
      if (queue.length === 0) {
        throw new BackendError("state", "no one is queued to take over: name stewards by proposal (grove proposal open --steward M --term-days N)");
      }
      const k = Math.min(Math.max(c.stewards.length, 1), queue.length);
      const next = queue.slice(0, k);
      const rest = [...queue.slice(k), ...c.stewards.filter((m) => !next.includes(m))];
      const days = c.stewardsTermDays ?? FOUNDER_TERM_DAYS;
      Object.assign(c, {
        stewards: [...next].sort(), stewardsQueue: rest, stewardsTermDays: days,
        stewardsUntil: new Date(Date.parse(now) + days * DAY_MS).toISOString(),
      });
      this.changed(circle);
      return [...next].sort();
    },
    open_proposal: ({ circle, new: n }) => {
      const c = this.circle(circle);
      this.checkChange(c, n.change);
      const window = n.window_ms ?? 7 * DAY_MS;
      if (window < 1000 || window > 365 * DAY_MS) throw invalid("a consent window lasts from one second to a year");
      const at = this.now();
      const p: B.Proposal = {
        id: this.id("pr"), title: required(n.title, "a proposal's title"), body: n.body.trim(), change: structuredClone(n.change),
        status: "open", opened_by: this.me.member, opened_at: at, window_ms: window, version: 1, revised_at: at,
        closed_by: null, closed_at: null, outcome: null, responses: [], receipts: [{ member: this.me.member, at }], contest: null, log: [],
      };
      c.proposals.push(p);
      this.changed(circle);
      return p.id;
    },
    respond: ({ circle, id, answer, reason }) => {
      const c = this.circle(circle);
      const p = this.liveProposal(c, id);
      const why = reason?.trim() || null;
      if (answer !== "consent" && !why) throw invalid(`a ${answer} needs a reason`);
      const at = this.now();
      p.responses = [...p.responses.filter((r) => r.member !== this.me.member), { member: this.me.member, answer, reason: why, at }];
      p.log.push({ at, member: this.me.member, what: why ? `${answer}: ${why}` : answer });
      this.changed(circle);
      return null;
    },
    revise_proposal: ({ circle, id, new: n }) => {
      const c = this.circle(circle);
      const p = this.liveProposal(c, id);
      if (p.opened_by !== this.me.member) throw new BackendError("state", `only ${this.memberNameIn(c, p.opened_by)} can revise proposal \`${id}\`: answer it instead`);
      if (n.change.kind !== p.change.kind) throw invalid("a revision keeps what kind of change the proposal makes: open a new proposal for another kind");
      this.checkChange(c, n.change);
      const at = this.now();
      Object.assign(p, { title: required(n.title, "a proposal's title"), body: n.body.trim(), change: structuredClone(n.change) });
      p.version += 1;
      p.revised_at = at;
      p.status = "open";
      p.responses = [];
      p.log.push({ at, member: this.me.member, what: `revised it (version ${p.version}): every answer is asked again` });
      this.changed(circle);
      return p.version;
    },
    pass_proposal: ({ circle, id }) => {
      const c = this.circle(circle);
      const p = this.liveProposal(c, id);
      const round = this.proposalView(c, p, this.clock);
      if (!round.can_pass) throw new BackendError("state", `it cannot pass yet: ${round.blocking.join("; ")}`);
      const at = this.now();
      let outcome: string | null = null;
      if (p.change.kind === "stewards") {
        this.checkChange(c, p.change);
        const until = new Date(Date.parse(at) + p.change.term_days * DAY_MS).toISOString();
        // As the engine writes it: "stewards until 2026-12-03 14:05 UTC: Ana, Ben".
        outcome = `stewards until ${until.slice(0, 16).replace("T", " ")} UTC: ${p.change.members.map((m) => this.memberNameIn(c, m)).join(", ")}`;
        Object.assign(c, {
          stewards: [...p.change.members], stewardsUntil: until, stewardsBy: p.id, stewardsQueue: [...p.change.queue], stewardsTermDays: p.change.term_days,
        });
      }
      if (p.change.kind === "keepers") {
        this.checkChange(c, p.change);
        const until = new Date(Date.parse(at) + p.change.term_days * DAY_MS).toISOString();
        outcome = `principle keepers until ${until.slice(0, 16).replace("T", " ")} UTC: ${p.change.members.map((m) => this.memberNameIn(c, m)).join(", ")}`;
        c.keepers = { holders: [...new Set(p.change.members)].sort(), until, by: p.id, queue: [...p.change.queue], termDays: p.change.term_days };
      }
      if (p.change.kind === "map-zone") {
        const { team, situation, zone } = p.change;
        const t = c.teams.find((t) => t.id === team);
        if (!t) throw notFound("team", team);
        // As the engine writes it: "#landlord-contact is centre-awareness for team Outreach".
        outcome = `#${situation} is ${zone} for team ${t.name}`;
        c.zoneRules = [...c.zoneRules.filter((r) => !(r.team === team && r.situation === situation)), { team, situation, zone, by: p.id, since: at }];
      }
      if (p.change.kind === "remove-member") {
        // As the engine: the only way anyone but oneself is removed.
        outcome = `member ${p.change.member} removed`;
        c.removed.set(p.change.member, this.me.member);
      }
      // A charter proposal: its effect, written with the pass (grove_core::charter).
      outcome = this.charterEffect(c, p) ?? outcome;
      Object.assign(p, { status: "passed", closed_by: this.me.member, closed_at: at, contest: null, outcome });
      this.changed(circle);
      return outcome;
    },
    withdraw_proposal: ({ circle, id }) => {
      const c = this.circle(circle);
      const p = this.liveProposal(c, id);
      if (p.opened_by !== this.me.member) throw new BackendError("state", `only ${this.memberNameIn(c, p.opened_by)} can withdraw proposal \`${id}\`: object to it instead`);
      Object.assign(p, { status: "withdrawn", closed_by: this.me.member, closed_at: this.now() });
      this.changed(circle);
      return null;
    },
    roles: ({ circle }) => this.circle(circle).roles.map((r) => ({ ...r })),
    commitments: ({ circle }) => this.circle(circle).commitments.map((k) => ({ ...k })),
    retros: ({ circle }) => this.circle(circle).retros.map((r) => ({ ...r })),
    reviews: ({ circle }) => this.circle(circle).reviews.map((r) => ({ ...r })),
    open_review: ({ circle, new: n }) => {
      const c = this.circle(circle);
      const r: B.Review = {
        id: this.id("rv"), date: n.date, status: "open", participants: [this.me.member], agenda: [...n.agenda], changes: [],
        learnings: [], notes: "", next_date: null, opened_by: this.me.member, opened_at: this.now(), closed_at: null,
      };
      c.reviews.push(r);
      this.changed(circle);
      return r.id;
    },
    tensions: ({ circle }) => {
      const c = this.circle(circle);
      const all = [...this.detected(c), ...c.raised.map((t) => structuredClone(t))];
      for (const t of all) {
        const closed = c.addressed.get(t.id);
        if (closed) Object.assign(t, { open: false, closed: { ...closed } });
      }
      return all.sort(
        (a, b) => Number(b.open) - Number(a.open) || b.since.localeCompare(a.since),
      );
    },
    raise_tension: ({ circle, raise }) => {
      const c = this.circle(circle);
      const title = required(raise.title, "a tension's title");
      for (const e of raise.evidence) {
        if (e.startsWith("d-") && !c.decisions.some((d) => d.id === e)) throw notFound("decision", e);
      }
      const t: B.Tension = {
        id: this.id("tn"), kind: "raised", title, summary: raise.summary.trim(), subject: raise.subject || null,
        evidence: raise.evidence.map((id) => ({ kind: id.startsWith("d-") ? "decision" : id.startsWith("p-") ? "principle" : "value", id, note: "" })),
        since: this.now(), raised_by: this.me.member, open: true, closed: null,
      };
      c.raised.push(t);
      this.changed(circle);
      return t.id;
    },
    address_tension: ({ circle, id, source, note }) => {
      const c = this.circle(circle);
      if (source.startsWith("rv-")) {
        if (!c.reviews.some((r) => r.id === source)) throw notFound("review", source);
      } else if (source.startsWith("pr-")) {
        const p = c.proposals.find((p) => p.id === source);
        if (!p) throw notFound("proposal", source);
        if (p.status !== "passed") throw new BackendError("state", `proposal \`${source}\` is ${p.status}: only a passed proposal addresses a tension`);
      } else {
        throw invalid(`\`${source}\` is neither a review (rv-…) nor a proposal (pr-…)`);
      }
      c.addressed.set(id, { source, at: this.now(), by: this.me.member, note: note?.trim() || null });
      this.changed(circle);
      return null;
    },
    vitality: ({ circle, window_days }) => this.vitalityOf(this.circle(circle), window_days ?? 30),
    related_to_draft: ({ circle, draft, limit }) => {
      const words = (s: string) => new Set(s.toLowerCase().split(/\W+/u).filter((w) => w.length >= 4));
      const mine = words(`${draft.context} ${draft.choice}`);
      return this.circle(circle)
        .decisions.map((d) => {
          const shared = d.principles.filter((p) => draft.principles.includes(p));
          const common = [...words(`${d.context} ${d.choice}`)].filter((w) => mine.has(w)).length;
          return { d, shared, score: shared.length * 2 + common };
        })
        .filter((r) => r.score > 0)
        .sort((a, b) => b.score - a.score || b.d.created_at.localeCompare(a.d.created_at))
        .slice(0, limit)
        .map(({ d, shared, score }) => ({ id: d.id, team: d.team, title: d.choice, principles: [...d.principles], shared_principles: shared, at: d.created_at, score }));
    },
    net_info: () => {
      if (!this.networked) throw new BackendError("network", "networking is off on this node");
      return { peer: "12D3KooWFakeThisDevice", addrs: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWFakeThisDevice"] };
    },
    peers: () => structuredClone(this.peerList),
    pending_changes: ({ circle }) => {
      this.circle(circle);
      return this.unsent.get(circle) ?? 0;
    },
    member_list: ({ circle }) => {
      const c = this.circle(circle);
      return c.members.map((m) => ({
        ...m,
        role: c.stewards.includes(m.id) ? "steward" : null,
        removed_at: c.removed.has(m.id) ? c.info.created_at : null,
        removed_by: c.removed.get(m.id) ?? null,
        revoked: m.devices.filter((d) => c.revoked.has(d)),
      }));
    },
    // As the engine: only leaving is done directly; anyone else is removed by a passed
    // remove-member proposal. The last member cannot leave.
    remove_member: ({ circle, member }) => {
      const c = this.circle(circle);
      const m = c.members.find((m) => m.id === member || m.name === member);
      if (!m) throw notFound("member", member);
      if (m.id !== this.me.member) {
        throw new BackendError("state", `removing a member needs the circle's consent: grove proposal open --remove-member ${m.id} --title "…"; a lost or seized laptop is revoked instead: grove device revoke DEVICE`);
      }
      if (c.removed.has(m.id)) throw new BackendError("state", "you are no longer a member");
      if (c.members.filter((x) => !c.removed.has(x.id)).length <= 1) {
        throw new BackendError("state", "you are the circle's only member, so there is no one to leave it to: admit someone first, or keep the circle");
      }
      c.removed.set(m.id, this.me.member);
      this.changed(circle);
      return m.id;
    },
    // As the engine: a steward in office, or the device's own member from another of their
    // devices, revokes one device; the member stays.
    revoke_device: ({ circle, device }) => {
      const c = this.circle(circle);
      const d = device.trim().toLowerCase();
      const owner = c.members.find((m) => m.devices.includes(d));
      if (!owner) throw notFound("device", d);
      if (c.revoked.has(d)) throw new BackendError("state", `device ${d} is already revoked`);
      if (c.removed.has(owner.id)) throw new BackendError("state", `device ${d} belongs to a removed member: it is refused already`);
      if (owner.id !== this.me.member && !this.inOffice(c, this.me.member)) {
        throw new BackendError("state", `only a steward in office, or ${owner.name} from another of their devices, may revoke device ${d}`);
      }
      if (d === this.me.device) throw new BackendError("state", "that is this device: revoke it from another device of yours, or ask a steward");
      c.revoked.set(d, this.now());
      this.changed(circle);
      return owner.id;
    },
    create_invite: ({ circle, expires_in_hours, uses }) => this.newInvite(circle, expires_in_hours, uses, { type: "member" }),
    create_device_link: ({ circle }) => this.newInvite(circle, 1, 1, { type: "device", member: this.me.member }),
    invites: ({ circle }) => this.circle(circle).invites.map((i) => ({ ...i })),
    revoke_invite: ({ circle, id }) => {
      const i = this.circle(circle).invites.find((i) => i.id === id);
      if (!i) throw notFound("invite", id);
      i.revoked = true;
      i.state = "revoked";
      this.changed(circle);
      return null;
    },
    join: ({ code, name }) => {
      if (!code.startsWith("grove1")) throw new BackendError("invite", "this is not a Grove invite code: a code starts with grove1");
      const info = this.joinable.get(code);
      if (!info) throw new BackendError("invite", "cannot reach the inviter at any address in the code");
      if (this.circlesById.has(info.id)) throw new BackendError("invite", `this device already holds circle ${info.id}: there is nothing to join`);
      const at = this.now();
      this.circlesById.set(info.id, this.freshCircle(info, { id: this.me.member, name: name ?? this.me.name, devices: [this.me.device], teams: [], joined_at: at, conflicts: [] }));
      this.changed(info.id);
      return info.id;
    },
  };

  private memberNameIn(c: FakeCircle, id: string): string {
    return c.members.find((m) => m.id === id)?.name || id;
  }
  /** Refuses a change the engine refuses when a proposal is opened or revised. */
  /** The engine's checks of a charter proposal when it is opened or revised. */
  private checkCharter(c: FakeCircle, change: B.ProposalChange) {
    const citable = (id: string) => {
      if (this.principle(c, id).status === "retired") throw invalid(`principle \`${id}\` is retired`);
    };
    const same = (a: string | null, b: string | null) => (a?.trim() ?? "") === (b ?? "");
    switch (change.kind) {
      case "amend-principle":
        citable(change.principle);
        required(change.statement, "the proposed statement");
        required(change.reason, "the reason for the amendment");
        return this.checkFeedback(c, change.cites);
      case "new-principle":
        required(change.statement, "the proposed statement");
        if (change.values.length === 0) throw invalid("a new principle must derive from at least one value");
        for (const v of change.values) {
          if (this.value(c, v).status === "retired") throw invalid(`value \`${v}\` is retired: a new principle cannot derive from it`);
        }
        if (change.supersedes) citable(change.supersedes);
        return;
      case "retire-principle":
        citable(change.principle);
        required(change.reason, "the reason for retiring it");
        return;
      case "new-value": {
        const title = required(change.title, "the value's title");
        required(change.statement, "the value's statement");
        if (c.values.some((v) => v.status === "active" && v.title.toLowerCase() === title.toLowerCase())) {
          throw invalid(`an active value is already titled \`${title}\`: reword that one instead`);
        }
        return;
      }
      case "amend-value": {
        const v = this.value(c, change.value);
        if (v.status === "retired") throw new BackendError("state", `value \`${v.id}\` is retired: propose a new value instead`);
        required(change.title, "the value's title");
        required(change.statement, "the value's statement");
        required(change.reason, "the reason for the change");
        if (change.title.trim() === v.title && change.statement.trim() === v.statement && same(change.protect, v.protect) && same(change.refuse, v.refuse)) {
          throw invalid("the change keeps the value's wording as it is: give a new title, statement, protect or refuse");
        }
        return this.checkFeedback(c, change.cites);
      }
      case "retire-value":
        if (this.value(c, change.value).status === "retired") throw new BackendError("state", `value \`${change.value}\` is already retired`);
        required(change.reason, "the reason for retiring it");
        return;
    }
  }
  /** What passing a charter proposal does, in the engine's words; null for other kinds. */
  private charterEffect(c: FakeCircle, p: B.Proposal): string | null {
    const ch = p.change;
    switch (ch.kind) {
      case "amend-principle": {
        const n = this.amendPrinciple(c, this.principle(c, ch.principle), { statement: ch.statement, guidance: ch.guidance, reason: ch.reason, cites: ch.cites }, p.id);
        return `principle ${ch.principle} amended to version ${n}`;
      }
      case "new-principle": {
        const id = this.addPrinciple(c, { values: ch.values, statement: ch.statement, guidance: ch.guidance, supersedes: ch.supersedes }, p.id);
        return ch.supersedes ? `principle ${id} added, superseding ${ch.supersedes}` : `principle ${id} added`;
      }
      case "retire-principle":
        this.retirePrinciple(c, this.principle(c, ch.principle), ch.reason);
        return `principle ${ch.principle} retired`;
      case "new-value":
        return `value ${this.addValue(c, { title: ch.title, statement: ch.statement, protect: ch.protect, refuse: ch.refuse, examples: [] }, p.id)} added`;
      case "amend-value": {
        const v = this.value(c, ch.value);
        this.editValue(c, v, { title: ch.title, statement: ch.statement, protect: ch.protect ?? "", refuse: ch.refuse ?? "", reason: ch.reason }, ch.cites, p.id);
        return `value ${ch.value} reworded (version ${v.versions.length})`;
      }
      case "retire-value": {
        const orphaned = this.retireValue(c, this.value(c, ch.value));
        return orphaned.length ? `value ${ch.value} retired; under review: ${orphaned.join(", ")}` : `value ${ch.value} retired`;
      }
      default:
        return null;
    }
  }
  private checkChange(c: FakeCircle, change: B.ProposalChange) {
    this.checkCharter(c, change);
    if (change.kind === "map-zone") {
      if (!c.teams.some((t) => t.id === change.team)) throw notFound("team", change.team);
      const key = change.situation.trim().replace(/^#+/, "").toLowerCase();
      if (!key || /\s/.test(key)) throw invalid("a situation key is one word, e.g. landlord-contact");
      if (key !== change.situation) throw invalid(`write the situation key as \`${key}\``);
      return;
    }
    if (change.kind !== "stewards" && change.kind !== "keepers") return;
    if (change.members.length === 0) throw invalid(change.kind === "keepers" ? "name at least one principle keeper" : "name at least one steward");
    for (const m of [...change.members, ...change.queue]) {
      if (!c.members.some((x) => x.id === m) || c.removed.has(m)) throw notFound("member", m);
    }
    if (!Number.isInteger(change.term_days) || change.term_days < 1 || change.term_days > MAX_STEWARD_TERM_DAYS) {
      throw invalid(`a term of office lasts from 1 to ${MAX_STEWARD_TERM_DAYS} days`);
    }
  }
  private liveProposal(c: FakeCircle, id: string): B.Proposal {
    const p = c.proposals.find((p) => p.id === id);
    if (!p) throw notFound("proposal", id);
    if (p.status !== "open" && p.status !== "contested") throw new BackendError("state", `proposal \`${id}\` is ${p.status}`);
    return p;
  }

  /** The engine's consent round (grove_core::consent), simplified: no removal quorum. */
  private proposalView(c: FakeCircle, p: B.Proposal, now: number): B.ProposalView {
    const members = c.members.filter((m) => !c.removed.has(m.id));
    const alone = members.length <= 1;
    const deadline = Date.parse(p.revised_at) + p.window_ms * 3;
    const at = (ms: number) => new Date(ms).toISOString();
    // As the engine writes a moment in a sentence: "2026-12-03 14:05 UTC".
    const minute = (ms: number) => `${at(ms).slice(0, 16).replace("T", " ")} UTC`;
    const named = p.change.kind === "remove-member" ? p.change.member : null;
    const voices: B.Voice[] = members.map((m) => {
      const received = p.receipts.find((r) => r.member === m.id)?.at ?? null;
      const ends = received ? Math.max(Date.parse(received), Date.parse(p.revised_at)) + p.window_ms : null;
      const r = p.responses.find((r) => r.member === m.id);
      const standing: B.Standing =
        named === m.id ? "named"
        : r ? "answered"
        : m.id === p.opened_by || alone ? "proposer"
        : ends !== null ? (now < ends ? "waiting" : "silent-consent")
        : now < deadline ? "not-received" : "skipped";
      return {
        member: m.id, name: m.name, received_at: received, window_ends: ends === null ? null : at(ends),
        answer: r?.answer ?? null, reason: r?.reason ?? null, answered_at: r?.at ?? null, standing,
      };
    });
    const blocking: string[] = [];
    if (p.status !== "open" && p.status !== "contested") blocking.push(`it is ${p.status}`);
    else {
      for (const v of voices) {
        if (v.answer === "objection" && v.standing !== "named") {
          blocking.push(`${v.name} objects (${v.reason ?? ""}); only they can lift it, by answering again, or the proposer can revise the proposal`);
        }
      }
      const others = voices.filter((v) => v.answer === "consent" && v.standing !== "named" && v.member !== p.opened_by).length;
      if (!alone && others === 0) blocking.push("no one but the proposer has consented: a proposal needs consent from another member");
      // Keepers tend the charter: while any is in office, one of them proposes or consents to every change of it.
      const keepers = this.keepersInOffice(c);
      const charter = ["new-value", "amend-value", "retire-value", "new-principle", "amend-principle", "retire-principle"].includes(p.change.kind);
      const heard = keepers.includes(p.opened_by) || voices.some((v) => v.answer === "consent" && keepers.includes(v.member));
      if (charter && keepers.length > 0 && !heard) {
        blocking.push(`a change to values or principles needs the consent of a principle keeper (${keepers.map((k) => this.memberNameIn(c, k)).join(", ")}), or to be proposed by one`);
      }
      for (const v of voices) {
        if (v.standing === "waiting") blocking.push(`${v.name}'s window is open until ${minute(Date.parse(v.window_ends ?? at(now)))}`);
        if (v.standing === "not-received") blocking.push(`${v.name}'s device has not received it yet; it waits for them until ${minute(deadline)}`);
      }
    }
    return { ...structuredClone(p), deadline: at(deadline), voices, blocking, can_pass: blocking.length === 0 };
  }

  /** Divergence only (same situation, other team, other choice): enough for the UI. */
  private detected(c: FakeCircle): B.Tension[] {
    const out: B.Tension[] = [];
    const seen = new Set<string>();
    for (const a of c.decisions) {
      for (const b of c.decisions) {
        if (!a.situation || a.situation !== b.situation || a.team >= b.team || a.choice === b.choice) continue;
        const id = `tn-div-${a.situation}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({
          id, kind: "divergence", title: `Teams chose differently in \`${a.situation}\``, summary: `“${a.choice}” and “${b.choice}”`,
          subject: null, evidence: [a, b].map((d) => ({ kind: "decision", id: d.id, note: d.choice })),
          since: a.created_at > b.created_at ? a.created_at : b.created_at, raised_by: null, open: true, closed: null,
        });
      }
    }
    // Decisions logged below the zone their team's zone map sets (grove_core::tensions).
    for (const rule of c.zoneRules) {
      const below = c.decisions.filter((d) =>
        d.team === rule.team && d.situation === rule.situation && d.created_at >= rule.since &&
        ZONE_ORDER.indexOf(d.zone) < ZONE_ORDER.indexOf(rule.zone));
      if (below.length === 0) continue;
      const team = c.teams.find((t) => t.id === rule.team)?.name ?? rule.team;
      out.push({
        id: `tz-${rule.team}-${rule.situation}`, kind: "authority-confusion", title: `${team} logs #${rule.situation} below its zone`,
        summary: `the team agreed #${rule.situation} is ${rule.zone}, yet ${below.length} decision(s) were logged in a lower zone: who decides this is unclear`,
        subject: rule.team, evidence: below.map((d) => ({ kind: "decision", id: d.id, note: `logged as ${d.zone}` })),
        since: below.map((d) => d.created_at).sort().at(-1)!, raised_by: null, open: true, closed: null,
      });
    }
    return out;
  }

  /** Velocity, read coverage and escalation waits from the log; the rest healthy. */
  private vitalityOf(c: FakeCircle, windowDays: number): B.Vitality {
    const WEEK = 7 * 86_400_000;
    const now = this.clock;
    const weeks: B.WeekCount[] = Array.from({ length: 12 }, (_, i) => {
      const end = now - (11 - i) * WEEK;
      const ds = c.decisions.filter((d) => Date.parse(d.created_at) > end - WEEK && Date.parse(d.created_at) <= end);
      const by_team: Record<string, number> = {};
      for (const d of ds) by_team[d.team] = (by_team[d.team] ?? 0) + 1;
      const outside = ds.filter((d) => d.readers.some((r) => r.member !== d.author)).length;
      return { week_start: new Date(end - WEEK).toISOString(), decisions: ds.length, by_team, read_outside_team: outside };
    });
    const inWindow = c.decisions.filter((d) => Date.parse(d.created_at) > now - windowDays * 86_400_000);
    const figure = (key: string, label: string, category: B.DecayCategory, value: number, unit: string, band: B.Band, reason: string): B.Figure => ({
      key, label, category, value, unit, previous: value, trend: "flat", band, reason, detail: {}, items: [],
    });
    const velocity = Math.round((inWindow.length / (windowDays / 7)) * 10) / 10;
    const figures = [
      figure("decision-velocity", "Decision velocity", "liturgy", velocity, "decisions/week", inWindow.length ? "healthy" : "decay",
        inWindow.length ? `${inWindow.length} decisions in the window` : "no decisions logged in the window"),
      figure("read-coverage", "Read outside the author's team", "liturgy", 0, "%", "healthy", "no decisions in the window to read"),
      figure("principles-never-cited", "Principles never cited", "liturgy", 0, "principles", "healthy", "every established principle is cited by a decision"),
      figure("past-due-no-result", "Past due with no result", "silent-harm", 0, "decisions", "healthy", "every decision past its due date has a recorded result"),
      figure("zone-unsure", "Unsure of their zone", "authority-confusion", 0, "%", "healthy", "0 decisions logged unsure of their zone"),
      figure("escalations-waiting", "Escalations waiting", "authority-confusion", 0, "days median to acknowledge", "healthy", "no escalation waiting"),
      figure("principles-unchanged", "Principles unchanged for two cycles", "centre-withdrawal", 0, "principles", "healthy", "none"),
      figure("reviews-overdue", "Review overdue", "centre-withdrawal", 0, "days", "healthy", "no review is overdue"),
      figure("roles-expired", "Role terms expired", "centre-withdrawal", 0, "roles", "healthy", "every role term is current"),
    ];
    const decaying = [...new Set(figures.filter((f) => f.band === "decay").map((f) => f.category))];
    const waits = c.escalations.map((e) => ((e.acknowledged_at ? Date.parse(e.acknowledged_at) : now) - Date.parse(e.raised_at)) / 3_600_000);
    return {
      now: new Date(now).toISOString(), window_days: windowDays, figures, decaying, weeks, escalation_waits_hours: waits,
      replant: decaying.length > 1 ? { categories: decaying, message: "decay in more than one category", recommendations: [] } : null,
    };
  }

  async call<K extends keyof Api>(cmd: K, args: Api[K][0]): Promise<Api[K][1]> {
    const h = this.handlers[cmd] as ((a: Api[K][0]) => Api[K][1]) | undefined;
    if (!h) throw new BackendError("unavailable", `\`${cmd}\` is not available in the in-memory backend`);
    if (this.locked && !WHILE_LOCKED.has(cmd)) throw new BackendError("passphrase", "Grove is locked: enter the passphrase to open it");
    return h(args);
  }

  async subscribe(onChange: (c: Change) => void): Promise<() => void> {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }
}
