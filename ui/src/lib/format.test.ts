import { describe, expect, it } from "vitest";
import { dayFromNow, formatWaiting, formatWhen, plural } from "./format";

describe("formatting", () => {
  it("says waiting times the way people do", () => {
    expect(formatWaiting(5_000)).toBe("just now");
    expect(formatWaiting(12 * 60_000)).toBe("12 min");
    expect(formatWaiting(5 * 3_600_000)).toBe("5 h");
    expect(formatWaiting(47 * 3_600_000)).toBe("47 h");
    expect(formatWaiting(3 * 86_400_000)).toBe("3 days");
  });

  it("shows a time for today, 'yesterday', then dates", () => {
    const now = new Date(2026, 10, 22, 15, 0).getTime();
    expect(formatWhen(new Date(2026, 10, 22, 9, 5).toISOString(), now)).toBe("09:05");
    expect(formatWhen(new Date(2026, 10, 21, 9, 5).toISOString(), now)).toBe("yesterday");
    expect(formatWhen(new Date(2026, 9, 3).toISOString(), now)).toBe("3 Oct");
    expect(formatWhen(new Date(2024, 9, 3).toISOString(), now)).toBe("3 Oct 2024");
    expect(formatWhen("not a date", now)).toBe("not a date");
  });

  it("counts with the right noun", () => {
    expect(plural(1, "decision")).toBe("1 decision");
    expect(plural(100000, "decision")).toBe("100,000 decisions");
  });

  it("writes days as YYYY-MM-DD", () => {
    expect(dayFromNow(0, new Date(2026, 0, 5, 12).getTime())).toBe("2026-01-05");
    expect(dayFromNow(1, new Date(2026, 11, 31, 12).getTime())).toBe("2027-01-01");
  });
});
