import { describe, expect, it } from "vitest";
import { draftFor, sameDraft } from "./related";

describe("related decisions while logging", () => {
  it("waits until the draft names a principle or says a few words", () => {
    expect(draftFor([], "", "")).toBeNull();
    expect(draftFor([], "rent up", "")).toBeNull();
    expect(draftFor([], "rent went up", "")).toBeNull(); // "up" is too short to match on
    expect(draftFor([], "rent went higher", "")).not.toBeNull();
    expect(draftFor(["p-1"], "", "")).toEqual({ principles: ["p-1"], context: "", choice: "" });
  });

  it("does not ask again for edits that change nothing it matches on", () => {
    const a = draftFor(["p-2", "p-1"], "rent went  up ", "call the union");
    const b = draftFor(["p-1", "p-2"], "rent went up", " call the union");
    expect(sameDraft(a, b)).toBe(true);
    expect(sameDraft(a, draftFor(["p-1"], "rent went up", "call the union"))).toBe(false);
  });
});
