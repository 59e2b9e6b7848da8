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
}

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
    for (const l of this.listeners) l({ type: "circle-changed", circle, docs: ["core"] });
  }
  private principle(c: FakeCircle, id: string): B.Principle {
    const p = c.principles.find((p) => p.id === id);
    if (!p) throw notFound("principle", id);
    return p;
  }

  /** Simulates a change arriving from a peer (what a live view must pick up). */
  emitChange(circle: string) {
    this.changed(circle);
  }

  private handlers: Partial<Handlers> = {
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
      this.circlesById.set(info.id, {
        info,
        members: [{ id: this.me.member, name: this.me.name, devices: [this.me.device], teams: [], joined_at: info.created_at, conflicts: [] }],
        teams: [], values: [], principles: [], decisions: [], escalations: [],
        proposals: [], roles: [], commitments: [], retros: [], reviews: [],
      });
      return info;
    },
    zones: () => ZONES.map((z) => ({ ...z })),
    values: ({ circle }) => this.circle(circle).values.map((v) => ({ ...v })),
    add_value: ({ circle, new: n }) => {
      const c = this.circle(circle);
      const title = required(n.title, "a value's title");
      const statement = required(n.statement, "a value's statement");
      if (c.values.some((v) => v.status === "active" && v.title.toLowerCase() === title.toLowerCase())) {
        throw invalid(`an active value is already titled \`${title}\`: edit it instead`);
      }
      const at = this.now();
      const v: B.Value = {
        id: this.id("v"), title, statement, protect: n.protect, refuse: n.refuse, examples: n.examples,
        status: "active", author: this.me.member, created_at: at, updated_at: at, conflicts: [],
      };
      c.values.push(v);
      this.changed(circle);
      return v.id;
    },
    principles: ({ circle }) => {
      const c = this.circle(circle);
      return c.principles.map((p) => ({
        ...p,
        citations: c.decisions.filter((d) => d.principles.includes(p.id)).length,
      }));
    },
    add_principle: ({ circle, new: n }) => {
      const c = this.circle(circle);
      const statement = required(n.statement, "a principle's statement");
      if (n.values.length === 0) throw invalid("a principle must derive from at least one value");
      for (const v of n.values) if (!c.values.some((x) => x.id === v)) throw notFound("value", v);
      const at = this.now();
      const p: B.Principle = {
        id: this.id("p"), statement, guidance: n.guidance, values: [...n.values], status: "active",
        supersedes: n.supersedes, superseded_by: null, retired_reason: null, author: this.me.member,
        created_at: at, updated_at: at, conflicts: [],
        versions: [{ version: 1, statement, guidance: n.guidance, reason: null, author: this.me.member, at, source: null }],
      };
      c.principles.push(p);
      this.changed(circle);
      return p.id;
    },
    amend_principle: ({ circle, id, amendment }) => {
      const c = this.circle(circle);
      const p = this.principle(c, id);
      const reason = required(amendment.reason, "the reason for the amendment");
      const statement = required(amendment.statement, "a principle's statement");
      const at = this.now();
      p.statement = statement;
      p.guidance = amendment.guidance ?? p.guidance;
      p.versions.push({ version: p.versions.length + 1, statement, guidance: p.guidance, reason, author: this.me.member, at, source: null });
      this.changed(circle);
      return p.versions.length;
    },
    retire_principle: ({ circle, id, reason }) => {
      const c = this.circle(circle);
      const p = this.principle(c, id);
      p.status = "retired";
      p.retired_reason = required(reason, "the reason for retiring");
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
    log_decision: ({ circle, new: n }) => {
      const c = this.circle(circle);
      if (!c.teams.some((t) => t.id === n.team)) throw notFound("team", n.team);
      if (n.principles.length === 0) throw invalid("a decision must name at least one principle in play");
      for (const p of n.principles) {
        if (this.principle(c, p).status === "retired") throw invalid(`principle \`${p}\` is retired`);
      }
      const context = required(n.context, "a decision's context");
      const choice = required(n.choice, "the choice made");
      const at = this.now();
      const zone = n.zone ?? "local";
      const d: B.Decision = {
        id: this.id("d"), team: n.team, author: this.me.member, principles: [...n.principles], context, choice,
        zone, zone_unsure: n.zone_unsure, situation: n.situation?.trim().toLowerCase() || null, status: "open",
        result: null, result_due: n.result_due, created_at: at, updated_at: at, links: [], readers: [], history: [], conflicts: [],
      };
      c.decisions.push(d);
      if (zone === "centre-awareness" || zone === "centre-intervention") {
        c.escalations.push({
          id: this.id("e"), decision: d.id, zone, raised_by: this.me.member, raised_at: at, status: "open",
          acknowledged_by: null, acknowledged_at: null, response: null, resolved_by: null, resolved_at: null, conflicts: [],
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
    decision_rows: ({ circle, filter: f, limit }) => {
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
      return limit == null ? rows : rows.slice(0, limit);
    },
    escalations: ({ circle }) => this.circle(circle).escalations.map((e) => ({ ...e })),
    acknowledge_escalation: ({ circle, id }) => {
      const e = this.circle(circle).escalations.find((e) => e.id === id);
      if (!e) throw notFound("escalation", id);
      if (e.status !== "open") throw new BackendError("state", `escalation \`${id}\` is already ${e.status}`);
      e.status = "acknowledged";
      e.acknowledged_by = this.me.member;
      e.acknowledged_at = this.now();
      this.changed(circle);
      return null;
    },
    resolve_escalation: ({ circle, id, response }) => {
      const e = this.circle(circle).escalations.find((e) => e.id === id);
      if (!e) throw notFound("escalation", id);
      e.response = required(response, "the response to an escalation");
      e.status = "resolved";
      e.resolved_by = this.me.member;
      e.resolved_at = this.now();
      this.changed(circle);
      return null;
    },
    proposals: ({ circle }) => this.circle(circle).proposals.map((p) => structuredClone(p)),
    roles: ({ circle }) => this.circle(circle).roles.map((r) => ({ ...r })),
    commitments: ({ circle }) => this.circle(circle).commitments.map((k) => ({ ...k })),
    retros: ({ circle }) => this.circle(circle).retros.map((r) => ({ ...r })),
    reviews: ({ circle }) => this.circle(circle).reviews.map((r) => ({ ...r })),
  };

  async call<K extends keyof Api>(cmd: K, args: Api[K][0]): Promise<Api[K][1]> {
    const h = this.handlers[cmd] as ((a: Api[K][0]) => Api[K][1]) | undefined;
    if (!h) throw new BackendError("unavailable", `\`${cmd}\` is not available in the in-memory backend`);
    return h(args);
  }

  async subscribe(onChange: (c: Change) => void): Promise<() => void> {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }
}
