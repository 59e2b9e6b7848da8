import { describe, expect, it } from "vitest";
import { deviceOwner, type Lookups } from "./names";

describe("whose device", () => {
  const l: Lookups = {
    members: [
      { id: "m-a", name: "Ana", devices: ["aa11", "aa22"], teams: [], joined_at: "2026-01-01T00:00:00Z", conflicts: [] },
      { id: "m-b", name: "Ben", devices: ["BB33"], teams: [], joined_at: "2026-01-01T00:00:00Z", conflicts: [] },
    ],
    teams: [], values: [], principles: [],
  };
  it("names the member a device acts for, this device as such, and no one for an unknown key", () => {
    expect(deviceOwner(l, "aa22")).toBe("Ana");
    expect(deviceOwner(l, "bb33")).toBe("Ben");
    expect(deviceOwner(l, "aa11", "AA11")).toBe("Ana (this device)");
    expect(deviceOwner(l, "cc44")).toBeNull();
    expect(deviceOwner(l, "")).toBeNull();
  });
});
