import { describe, expect, it } from "vitest";
import { BackendError, toBackendError, type Change } from "./backend";
import type { DecisionFilter } from "./bindings";
import { FakeBackend } from "./fake-backend";
import { emptyFilters, toDecisionFilter } from "./lib/filters";
import { searchPrinciples } from "./lib/names";

const rows = async (b: FakeBackend, q: { circle: string; filter: DecisionFilter }) =>
  (await b.call("decision_page", { ...q, offset: 0, limit: 1000, whole: true })).rows;

async function circleWithPrinciple() {
  const b = new FakeBackend();
  const c = await b.call("create_circle", { name: "Bakery" });
  const v = await b.call("add_value", { circle: c.id, new: { title: "Care", statement: "We look after each other", protect: null, refuse: null, examples: [] } });
  const p = await b.call("add_principle", { circle: c.id, new: { values: [v], statement: "Rest before rush", guidance: null, supersedes: null } });
  const t = await b.call("add_team", { circle: c.id, name: "Ovens", domain: null });
  return { b, circle: c.id, v, p, t };
}

const decision = (team: string, p: string, choice: string, zone: "local" | "centre-awareness" = "local") => ({
  team, principles: [p], context: "The Saturday rush", choice, zone, zone_unsure: false, situation: null, result_due: null,
});

describe("the in-memory backend", () => {
  it("logs decisions newest first and filters and searches them", async () => {
    const { b, circle, v, p, t } = await circleWithPrinciple();
    await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "Close at four on Saturdays") });
    await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "Hire a weekend baker", "centre-awareness") });
    const all = await rows(b, { circle, filter: toDecisionFilter(emptyFilters(), "m-me") });
    expect(all.map((r) => r.choice)).toEqual(["Hire a weekend baker", "Close at four on Saturdays"]);
    const found = await rows(b, { circle, filter: toDecisionFilter({ ...emptyFilters(), text: "saturdays CLOSE" }, "m-me") });
    expect(found.map((r) => r.choice)).toEqual(["Close at four on Saturdays"]);
    const byValue = await rows(b, { circle, filter: toDecisionFilter({ ...emptyFilters(), value: v, zone: "centre-awareness" }, "m-me") });
    expect(byValue).toHaveLength(1);
    expect(await b.call("escalations", { circle })).toHaveLength(1);
  });

  it("marks a decision read once, and unread filters follow", async () => {
    const { b, circle, p, t } = await circleWithPrinciple();
    const id = await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "Buy a second mixer") });
    expect(await b.call("mark_read", { circle, id })).toBe(true);
    expect(await b.call("mark_read", { circle, id })).toBe(false);
    const unread = await rows(b, { circle, filter: toDecisionFilter({ ...emptyFilters(), unreadOnly: true }, "m-me") });
    expect(unread).toHaveLength(0);
  });

  it("refuses what the engine refuses, with readable errors", async () => {
    const { b, circle, t } = await circleWithPrinciple();
    const err = await b.call("log_decision", { circle, consulted: null, new: { ...decision(t, "", "x"), principles: [] } }).catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.kind).toBe("invalid");
    expect(err.message).toContain("at least one principle");
  });

  it("runs a consent round: an objection holds a proposal until its author lifts it; only the proposer revises", async () => {
    const { b, circle } = await circleWithPrinciple();
    const id = await b.call("open_proposal", { circle, new: { title: "Close on Mondays", body: "", change: { kind: "general" }, window_ms: 86_400_000 } });
    let [p] = await b.call("proposals", { circle });
    expect([p.window_ms, p.version, p.can_pass, p.voices.map((v) => v.standing)]).toEqual([86_400_000, 1, true, ["proposer"]]);
    await b.call("respond", { circle, id, answer: "objection", reason: "Monday is delivery day" });
    [p] = await b.call("proposals", { circle });
    expect(p.can_pass).toBe(false);
    expect(p.blocking.join()).toContain("objects (Monday is delivery day)");
    const refused = await b.call("pass_proposal", { circle, id }).catch((e) => e);
    expect(refused.message).toMatch(/^it cannot pass yet: .*objects/);
    expect(await b.call("revise_proposal", { circle, id, new: { title: "Close on Tuesdays", body: "", change: { kind: "general" }, window_ms: null } })).toBe(2);
    [p] = await b.call("proposals", { circle });
    expect([p.title, p.responses, p.can_pass]).toEqual(["Close on Tuesdays", [], true]);
    await b.call("pass_proposal", { circle, id });
    [p] = await b.call("proposals", { circle });
    expect(p.status).toBe("passed");
    expect((await b.call("withdraw_proposal", { circle, id }).catch((e) => e)).message).toContain("is passed");
  });

  it("tells subscribers about every change", async () => {
    const { b, circle, p, t } = await circleWithPrinciple();
    const seen: Change[] = [];
    const stop = await b.subscribe((c) => seen.push(c));
    await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "Open on Mondays") });
    stop();
    await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "Close on Tuesdays") });
    expect(seen).toEqual([{ type: "circle-changed", circle, docs: ["core"] }]);
  });

  it("finds principles by their value's title in the picker", async () => {
    const { b, circle } = await circleWithPrinciple();
    const lookups = {
      members: await b.call("members", { circle }),
      teams: await b.call("teams", { circle }),
      values: await b.call("values", { circle }),
      principles: await b.call("principles", { circle }),
    };
    expect(searchPrinciples(lookups, "care").map((p) => p.statement)).toEqual(["Rest before rush"]);
    expect(searchPrinciples(lookups, "rush rest")).toHaveLength(1);
    expect(searchPrinciples(lookups, "profit")).toHaveLength(0);
  });
});

describe("error conversion", () => {
  it("keeps the engine's kind and message", () => {
    const e = toBackendError({ kind: "locked", message: "another Grove is using this data" });
    expect(e.kind).toBe("locked");
    expect(e.message).toBe("another Grove is using this data");
  });
  it("never shows an empty message", () => {
    expect(toBackendError(undefined).message.length).toBeGreaterThan(10);
    expect(toBackendError(new Error("")).message.length).toBeGreaterThan(10);
  });
});

describe("the in-memory backend's insight", () => {
  it("raises a tension and closes it when a review addresses it", async () => {
    const { b, circle, p } = await circleWithPrinciple();
    await expect(b.call("raise_tension", { circle, raise: { title: " ", summary: "", subject: null, evidence: [] } })).rejects.toThrow(/title/);
    const id = await b.call("raise_tension", { circle, raise: { title: "Breaks get skipped", summary: "", subject: p, evidence: [] } });
    expect((await b.call("tensions", { circle })).map((t) => [t.id, t.open])).toEqual([[id, true]]);
    await expect(b.call("address_tension", { circle, id, source: "x-1", note: null })).rejects.toThrow(/neither a review/);
    const rv = await b.call("open_review", { circle, new: { date: "2026-12-01", agenda: [], participants: [] } });
    await b.call("address_tension", { circle, id, source: rv, note: "Breaks are scheduled now" });
    const [t] = await b.call("tensions", { circle });
    expect(t.open).toBe(false);
    expect(t.closed?.note).toBe("Breaks are scheduled now");
  });

  it("finds decisions related to a draft by shared principle and words", async () => {
    const { b, circle, p, t } = await circleWithPrinciple();
    const d = await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "Close at four on Saturdays") });
    const r = await b.call("related_to_draft", { circle, draft: { principles: [p], context: "", choice: "" }, limit: 5 });
    expect(r.map((x) => [x.id, x.shared_principles])).toEqual([[d, [p]]]);
    expect(await b.call("related_to_draft", { circle, draft: { principles: [], context: "nothing alike here", choice: "" }, limit: 5 })).toEqual([]);
  });

  it("counts this week's decisions per team for the velocity chart", async () => {
    const { b, circle, p, t } = await circleWithPrinciple();
    await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "One") });
    await b.call("log_decision", { circle, consulted: null, new: decision(t, p, "Two") });
    const v = await b.call("vitality", { circle, window_days: 30 });
    expect(v.weeks).toHaveLength(12);
    expect(v.weeks[11].by_team).toEqual({ [t]: 2 });
    expect(v.figures).toHaveLength(9);
  });
});

describe("names in engine text", () => {
  it("replace known ids and leave unknown ones", async () => {
    const { withNames } = await import("./lib/names");
    const l = {
      members: [{ id: "m-abc", name: "Ada" }],
      teams: [{ id: "t-k1", name: "Kitchen" }],
      values: [{ id: "v-1", title: "Care" }],
      principles: [{ id: "p-9", statement: "Rest before rush" }],
    } as unknown as import("./lib/names").Lookups;
    expect(withNames(l, "3 teams struggle under principle p-9: team t-k1, m-abc")).toBe("3 teams struggle under principle “Rest before rush”: team Kitchen, Ada");
    expect(withNames(l, "value v-2 and d-202611-x1 stay")).toBe("value v-2 and d-202611-x1 stay");
  });
});

describe("the in-memory backend's stewards", () => {
  it("keeps the founder steward for a year, and a passed Name stewards proposal names stewards for its term", async () => {
    const { FakeBackend } = await import("./fake-backend");
    const b = new FakeBackend({ now: Date.UTC(2026, 0, 1) });
    const c = await b.call("create_circle", { name: "Pantry" });
    const founder = await b.call("stewardship", { circle: c.id });
    expect(founder).toMatchObject({ stewards: ["m-me"], by: null, in_office: true });
    expect(Date.parse(founder.until!) - Date.parse(c.created_at)).toBe(365 * 86_400_000);

    await expect(b.call("open_proposal", { circle: c.id, new: { title: "x", body: "", change: { kind: "stewards", members: [], term_days: 30, queue: [] }, window_ms: null } }))
      .rejects.toThrow("name at least one steward");
    const id = await b.call("open_proposal", { circle: c.id, new: { title: "Me again", body: "", change: { kind: "stewards", members: ["m-me"], term_days: 30, queue: [] }, window_ms: null } });
    const outcome = await b.call("pass_proposal", { circle: c.id, id });
    expect(outcome).toMatch(/^stewards until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC: You$/);
    const named = await b.call("stewardship", { circle: c.id });
    expect(named).toMatchObject({ stewards: ["m-me"], by: id, in_office: true });

    b.advance(31 * 86_400_000);
    expect((await b.call("stewardship", { circle: c.id })).in_office).toBe(false);
  });
});
