import { describe, expect, it } from "vitest";
import type { Figure, Vitality, WeekCount } from "../bindings";
import { byCategory, formatValue, headline, replantAdvice, readCoverage, trendLabel, trendTone, velocityByTeam, waitBins } from "./vitality";

const fig = (over: Partial<Figure>): Figure => ({
  key: "read-coverage", label: "Read outside the author's team", category: "liturgy", value: 40, unit: "%", previous: 60,
  trend: "down", band: "watch", reason: "", detail: {}, items: [], ...over,
});

const week = (start: string, by_team: Record<string, number>, read = 0): WeekCount => ({
  week_start: start, by_team, read_outside_team: read, decisions: Object.values(by_team).reduce((a, b) => a + (b ?? 0), 0),
});

describe("vitality figures", () => {
  it("read their values with units, singular where one", () => {
    expect(formatValue(fig({ value: 42, unit: "%" }))).toBe("42%");
    expect(formatValue(fig({ value: 3.54, unit: "decisions/week" }))).toBe("3.5 decisions/week");
    expect(formatValue(fig({ value: 1, unit: "principles" }))).toBe("1 principle");
    expect(formatValue(fig({ value: 2, unit: "principles" }))).toBe("2 principles");
    expect(formatValue(fig({ value: 1, unit: "days median to acknowledge" }))).toBe("1 day median to acknowledge");
  });

  it("tell good news from bad: more reading is better, more waiting is worse", () => {
    expect(trendTone(fig({ key: "read-coverage", trend: "down" }))).toBe("worse");
    expect(trendTone(fig({ key: "decision-velocity", trend: "up" }))).toBe("better");
    expect(trendTone(fig({ key: "escalations-waiting", trend: "up" }))).toBe("worse");
    expect(trendTone(fig({ key: "roles-expired", trend: "down" }))).toBe("better");
    expect(trendTone(fig({ trend: "flat" }))).toBe("same");
    expect(trendLabel(fig({ value: 40, previous: 60, trend: "down" }))).toBe("↓ from 60%");
  });

  it("group in the design's order with the worst band of each category", () => {
    const groups = byCategory([
      fig({ key: "roles-expired", category: "centre-withdrawal", band: "healthy" }),
      fig({ key: "read-coverage", category: "liturgy", band: "watch" }),
      fig({ key: "decision-velocity", category: "liturgy", band: "decay" }),
    ]);
    expect(groups.map((g) => [g.category, g.worst, g.figures.length])).toEqual([
      ["liturgy", "decay", 2],
      ["centre-withdrawal", "healthy", 1],
    ]);
  });
});

describe("vitality charts", () => {
  const weeks = [
    week("2026-11-02T00:00:00Z", { "t-a": 2 }, 1),
    week("2026-11-09T00:00:00Z", {}, 0),
    week("2026-11-16T00:00:00Z", { "t-a": 1, "t-b": 5 }, 6),
  ];

  it("draw one velocity line per team, busiest first, with zeros where a team logged nothing", () => {
    const s = velocityByTeam(weeks, (id) => id.toUpperCase());
    expect(s.map((x) => x.label)).toEqual(["T-B", "T-A"]);
    expect(s[0].points.map((p) => p.value)).toEqual([0, 0, 5]);
    expect(s[1].points.map((p) => p.value)).toEqual([2, 0, 1]);
    expect(s[1].points[0].at.toISOString()).toBe("2026-11-02T00:00:00.000Z");
  });

  it("leave weeks without decisions out of read coverage instead of showing 0%", () => {
    expect(readCoverage(weeks).points.map((p) => p.value)).toEqual([50, 100]);
  });

  it("count escalation waits into every bucket, bad input ignored", () => {
    const bins = waitBins([0.5, 2, 30, 30, 200, 1000, -1, Number.NaN]);
    expect(bins.map((b) => b.count)).toEqual([1, 1, 0, 2, 0, 2]);
    expect(bins.map((b) => b.label)).toEqual(["under 1 h", "1–4 h", "4–24 h", "1–3 days", "3–7 days", "over 7 days"]);
    expect(waitBins([]).every((b) => b.count === 0)).toBe(true);
  });
});

describe("the dashboard headline", () => {
  const base: Vitality = { now: "2026-11-30T00:00:00Z", window_days: 30, figures: [], decaying: [], replant: null, weeks: [], escalation_waits_hours: [] };
  it("says replant, naming the categories, when more than one decays", () => {
    const v = { ...base, decaying: ["liturgy", "silent-harm"] as const, replant: { categories: ["liturgy", "silent-harm"] as const, message: "", recommendations: [] } };
    expect(headline({ ...v, decaying: [...v.decaying], replant: { ...v.replant, categories: [...v.replant.categories] } })).toBe(
      "Decaying: going through the motions and results nobody checks",
    );
  });
  it("names a single decaying category, or how many signs to watch", () => {
    expect(headline({ ...base, decaying: ["authority-confusion"] })).toBe("One sign of decay: unclear who decides");
    expect(headline({ ...base, figures: [fig({ band: "watch" })] })).toBe("Alive, 1 sign to watch");
    expect(headline(base)).toBe("Alive: every sign is healthy");
  });
});

describe("what the dashboard advises", () => {
  const base: Vitality = { now: "2026-11-30T00:00:00Z", window_days: 30, figures: [], decaying: [], replant: null, weeks: [], escalation_waits_hours: [] };
  it("says a review 0 days overdue is not overdue", () => {
    const review = fig({ key: "reviews-overdue", category: "centre-withdrawal", unit: "days", value: 0, previous: 3, band: "healthy" });
    expect(formatValue(review)).toBe("not overdue");
    expect(formatValue(review, 1)).toBe("1 day overdue");
    expect(formatValue(review, 12)).toBe("12 days overdue");
    expect(trendLabel({ ...review, trend: "down" })).toBe("↓ from 3 days overdue");
  });
  it("replants in plain words, with the engine's steps", () => {
    const v: Vitality = {
      ...base,
      decaying: ["liturgy", "centre-withdrawal"],
      replant: { categories: ["liturgy", "centre-withdrawal"], message: "Replant: …", recommendations: ["Rotate the 2 roles whose term has ended."] },
    };
    const r = replantAdvice(v);
    expect(r?.steps).toEqual(["Rotate the 2 roles whose term has ended."]);
    expect(r?.message).toMatch(/^Several signs are bad at once \(going through the motions and principles left untended\)/);
    expect(r?.message).not.toMatch(/hollow|liturgy|seed/);
    expect(replantAdvice(base)).toBeNull();
  });
});
