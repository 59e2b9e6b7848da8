import { describe, expect, it } from "vitest";
import type { Proposal, Review, Tension } from "../bindings";
import { addressSources, board, parseEvidence } from "./tensions";
import { formatDay } from "./format";

const t = (over: Partial<Tension>): Tension => ({
  id: "tn-1", kind: "divergence", title: "", summary: "", subject: null, evidence: [], since: "2026-11-01T00:00:00Z",
  raised_by: null, open: true, closed: null, ...over,
});

describe("the tensions board", () => {
  it("groups open tensions by kind in a fixed order and lists closed ones newest first", () => {
    const b = board([
      t({ id: "a", kind: "raised" }),
      t({ id: "b", kind: "edit-conflict" }),
      t({ id: "c", kind: "divergence" }),
      t({ id: "d", kind: "raised" }),
      t({ id: "e", open: false, closed: { source: "rv-1", at: "2026-11-02T00:00:00Z", by: "m", note: null } }),
      t({ id: "f", open: false, closed: { source: "rv-1", at: "2026-11-05T00:00:00Z", by: "m", note: null } }),
    ]);
    expect(b.open.map((g) => [g.kind, g.tensions.map((x) => x.id)])).toEqual([
      ["divergence", ["c"]],
      ["edit-conflict", ["b"]],
      ["raised", ["a", "d"]],
    ]);
    expect(b.closed.map((x) => x.id)).toEqual(["f", "e"]);
  });

  it("offers reviews and only passed proposals to address a tension", () => {
    const review = (id: string, date: string, closed: boolean) => ({ id, date, closed_at: closed ? "2026-11-01T00:00:00Z" : null }) as Review;
    const proposal = (id: string, status: Proposal["status"]) => ({ id, title: id, status, opened_at: "2026-11-01T00:00:00Z" }) as Proposal;
    const s = addressSources(
      [review("rv-old", "2026-08-01", true), review("rv-new", "2026-11-20", false)],
      [proposal("pr-open", "open"), proposal("pr-ok", "passed")],
    );
    expect(s.map((x) => x.id)).toEqual(["rv-new", "rv-old", "pr-ok"]);
    // Days written as everywhere else in the window, not as ISO dates.
    expect(s[0].label).toBe(`Review of ${formatDay("2026-11-20")} (open)`);
    expect(s[0].label).not.toContain("2026-11-20");
  });

  it("reads evidence ids however they were separated", () => {
    expect(parseEvidence(" d-1, d-2;d-1\n d-3 ")).toEqual(["d-1", "d-2", "d-3"]);
    expect(parseEvidence("   ")).toEqual([]);
  });
});
