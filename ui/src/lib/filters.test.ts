import { describe, expect, it } from "vitest";
import { activeCount, dateProblem, emptyFilters, toDecisionFilter } from "./filters";

describe("log filters", () => {
  it("send nothing for an empty filter bar", () => {
    const f = toDecisionFilter(emptyFilters(), "m-1");
    expect(Object.values(f).every((v) => v === null)).toBe(true);
  });

  it("map each criterion to the engine's filter", () => {
    const f = toDecisionFilter(
      { ...emptyFilters(), team: "t-1", principle: "p-1", value: "v-1", zone: "local", status: "open", author: "m-2", text: "  supplier  ", unreadOnly: true },
      "m-1",
    );
    expect(f).toMatchObject({ team: "t-1", principle: "p-1", value: "v-1", zone: "local", status: "open", author: "m-2", text: "supplier", unread_by: "m-1" });
  });

  it("cover whole days from since to until", () => {
    const f = toDecisionFilter({ ...emptyFilters(), since: "2026-11-01", until: "2026-11-02" }, "m");
    const since = Date.parse(f.since ?? "");
    const until = Date.parse(f.until ?? "");
    expect(until - since).toBe(2 * 86_400_000 - 1);
    expect(new Date(since).getHours()).toBe(0);
  });

  it("ignore half-typed dates instead of failing", () => {
    const f = toDecisionFilter({ ...emptyFilters(), since: "2026-1" }, "m");
    expect(f.since).toBeNull();
  });

  it("count active criteria, whitespace-only text not counted", () => {
    expect(activeCount(emptyFilters())).toBe(0);
    expect(activeCount({ ...emptyFilters(), text: "   " })).toBe(0);
    expect(activeCount({ ...emptyFilters(), team: "t", unreadOnly: true })).toBe(2);
  });

  it("explain a date range that can match nothing", () => {
    expect(dateProblem({ ...emptyFilters(), since: "2026-11-05", until: "2026-11-01" })).toMatch(/after the end date/);
    expect(dateProblem({ ...emptyFilters(), since: "2026-11-01", until: "2026-11-05" })).toBeNull();
  });
});
