import { describe, expect, it } from "vitest";
import { BackendError, toBackendError, type Change } from "./backend";
import { FakeBackend } from "./fake-backend";
import { emptyFilters, toDecisionFilter } from "./lib/filters";
import { searchPrinciples } from "./lib/names";

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
    await b.call("log_decision", { circle, new: decision(t, p, "Close at four on Saturdays") });
    await b.call("log_decision", { circle, new: decision(t, p, "Hire a weekend baker", "centre-awareness") });
    const all = await b.call("decision_rows", { circle, filter: toDecisionFilter(emptyFilters(), "m-me"), limit: null });
    expect(all.map((r) => r.choice)).toEqual(["Hire a weekend baker", "Close at four on Saturdays"]);
    const found = await b.call("decision_rows", { circle, filter: toDecisionFilter({ ...emptyFilters(), text: "saturdays CLOSE" }, "m-me"), limit: null });
    expect(found.map((r) => r.choice)).toEqual(["Close at four on Saturdays"]);
    const byValue = await b.call("decision_rows", { circle, filter: toDecisionFilter({ ...emptyFilters(), value: v, zone: "centre-awareness" }, "m-me"), limit: null });
    expect(byValue).toHaveLength(1);
    expect(await b.call("escalations", { circle })).toHaveLength(1);
  });

  it("marks a decision read once, and unread filters follow", async () => {
    const { b, circle, p, t } = await circleWithPrinciple();
    const id = await b.call("log_decision", { circle, new: decision(t, p, "Buy a second mixer") });
    expect(await b.call("mark_read", { circle, id })).toBe(true);
    expect(await b.call("mark_read", { circle, id })).toBe(false);
    const unread = await b.call("decision_rows", { circle, filter: toDecisionFilter({ ...emptyFilters(), unreadOnly: true }, "m-me"), limit: null });
    expect(unread).toHaveLength(0);
  });

  it("refuses what the engine refuses, with readable errors", async () => {
    const { b, circle, t } = await circleWithPrinciple();
    const err = await b.call("log_decision", { circle, new: { ...decision(t, "", "x"), principles: [] } }).catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.kind).toBe("invalid");
    expect(err.message).toContain("at least one principle");
  });

  it("tells subscribers about every change", async () => {
    const { b, circle, p, t } = await circleWithPrinciple();
    const seen: Change[] = [];
    const stop = await b.subscribe((c) => seen.push(c));
    await b.call("log_decision", { circle, new: decision(t, p, "Open on Mondays") });
    stop();
    await b.call("log_decision", { circle, new: decision(t, p, "Close on Tuesdays") });
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
