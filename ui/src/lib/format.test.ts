import { afterEach, describe, expect, it, vi } from "vitest";
import { dayFromNow, formatDay, formatMoment, formatRelative, formatWaiting, momentsIn, plural, userLocale } from "./format";

// Fixed locales and a fixed "now" (local times, so the tests hold in any time zone).
const NOW = new Date(2026, 10, 22, 15, 0).getTime();
const at = (...p: [number, number, number, number?, number?]) => new Date(p[0], p[1], p[2], p[3] ?? 0, p[4] ?? 0).toISOString();

afterEach(() => vi.unstubAllGlobals());

describe("formatting", () => {
  it("says waiting times the way people do", () => {
    expect(formatWaiting(5_000)).toBe("just now");
    expect(formatWaiting(12 * 60_000)).toBe("12 min");
    expect(formatWaiting(5 * 3_600_000)).toBe("5 h");
    expect(formatWaiting(47 * 3_600_000)).toBe("47 h");
    expect(formatWaiting(3 * 86_400_000)).toBe("3 days");
  });

  it("writes a day one way, with its year, in the user's locale", () => {
    expect(formatDay(at(2026, 11, 3, 9, 5), "en-GB")).toBe("3 Dec 2026");
    expect(formatDay(at(2026, 11, 3, 9, 5), "en-US")).toBe("Dec 3, 2026");
    // A plain day is that day wherever the user is, not UTC midnight.
    expect(formatDay("2026-12-03", "en-GB")).toBe("3 Dec 2026");
    expect(formatDay("2026-12-13", "en-US")).toBe("Dec 13, 2026");
    expect(formatDay("not a date", "en-GB")).toBe("not a date");
  });

  it("finds the moments the engine writes in its sentences", () => {
    expect(momentsIn("Femi's window is open until 2026-12-03 14:05 UTC")).toEqual([
      { text: "Femi's window is open until " },
      { at: "2026-12-03T14:05:00Z" },
    ]);
    expect(momentsIn("from 2026-01-02 03:04 UTC to 2026-01-09 03:04 UTC.")).toEqual([
      { text: "from " }, { at: "2026-01-02T03:04:00Z" }, { text: " to " }, { at: "2026-01-09T03:04:00Z" }, { text: "." },
    ]);
    expect(momentsIn("no one but the proposer has consented")).toEqual([{ text: "no one but the proposer has consented" }]);
  });

  it("writes a moment as its day and time", () => {
    expect(formatMoment(at(2026, 9, 27, 0, 36), "en-GB")).toBe("27 Oct 2026, 00:36");
    expect(formatMoment(at(2026, 9, 27, 14, 5), "en-US")).toBe("Oct 27, 2026, 02:05 PM");
    expect(formatMoment("2026-12-03", "en-GB")).toBe("3 Dec 2026");
    expect(formatMoment("", "en-GB")).toBe("");
  });

  it("says how long ago or how soon, in the unit that reads best", () => {
    const rel = (iso: string) => formatRelative(iso, NOW, "en-GB");
    expect(rel(new Date(NOW - 20_000).toISOString())).toBe("now");
    expect(rel(new Date(NOW - 5 * 60_000).toISOString())).toBe("5 minutes ago");
    expect(rel(new Date(NOW - 59 * 60_000).toISOString())).toBe("59 minutes ago");
    expect(rel(new Date(NOW - 3 * 3_600_000).toISOString())).toBe("3 hours ago");
    expect(rel(at(2026, 10, 21, 12))).toBe("yesterday");
    expect(rel(at(2026, 10, 20, 12))).toBe("2 days ago");
    expect(rel(at(2026, 10, 27, 18))).toBe("in 5 days");
    expect(rel(at(2026, 7, 1))).toBe("3 months ago");
    expect(rel(at(2024, 7, 1))).toBe("2 years ago");
    // Plain days count calendar days from today.
    expect(rel("2026-11-22")).toBe("today");
    expect(rel("2026-11-23")).toBe("tomorrow");
    expect(rel("2026-11-19")).toBe("3 days ago");
    expect(formatRelative(at(2026, 10, 20, 12), NOW, "de")).toBe("vorgestern");
    expect(rel("never")).toBe("never");
  });

  it("uses the first locale Intl accepts, skipping what LANG=C reports", () => {
    vi.stubGlobal("navigator", { languages: ["c", "", "fr-FR"], language: "c" });
    expect(userLocale()).toBe("fr-FR");
    expect(formatDay("2026-12-03")).toBe("3 déc. 2026");
    vi.stubGlobal("navigator", { languages: ["c"], language: "c" });
    expect(userLocale()).toBeUndefined();
    expect(() => formatMoment("2026-12-03T14:05:00Z")).not.toThrow();
  });

  it("counts with the right noun", () => {
    expect(plural(1, "decision")).toBe("1 decision");
    expect(plural(100000, "decision")).toBe("100,000 decisions");
  });

  it("writes a date input's value as YYYY-MM-DD", () => {
    expect(dayFromNow(0, new Date(2026, 0, 5, 12).getTime())).toBe("2026-01-05");
    expect(dayFromNow(1, new Date(2026, 11, 31, 12).getTime())).toBe("2027-01-01");
  });
});
