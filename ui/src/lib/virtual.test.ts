import { describe, expect, it } from "vitest";
import { scrollToShow, visibleRange } from "./virtual";

describe("virtual list window", () => {
  it("renders only the rows in view plus overscan, even at 100,000 rows", () => {
    const r = visibleRange(68 * 50_000, 680, 68, 100_000, 5);
    expect(r).toEqual({ start: 49_995, end: 50_015 });
    expect(r.end - r.start).toBeLessThan(40);
  });

  it("clamps at both ends", () => {
    expect(visibleRange(0, 680, 68, 100_000, 5).start).toBe(0);
    expect(visibleRange(68 * 100_000, 680, 68, 100_000, 5).end).toBe(100_000);
    expect(visibleRange(-40, 680, 68, 3, 5)).toEqual({ start: 0, end: 3 });
    expect(visibleRange(0, 680, 68, 0)).toEqual({ start: 0, end: 0 });
  });

  it("scrolls just enough to show the active row", () => {
    expect(scrollToShow(10, 0, 680, 68)).toBe(68 * 11 - 680);
    expect(scrollToShow(2, 680, 680, 68)).toBe(136);
    expect(scrollToShow(3, 0, 680, 68)).toBeNull();
  });
});
