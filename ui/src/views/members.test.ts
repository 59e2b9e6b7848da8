// @vitest-environment jsdom
// No one removes a member alone: on another member's row the Members view opens a
// remove-member proposal for the circle to answer, on your own it offers leaving, and in a
// circle of one it offers neither. Mounted over the in-memory backend.
import { describe, expect, it, vi } from "vitest";
import { FakeBackend } from "../fake-backend";
import { el, show } from "./fake-mount";
import Members from "./Members.svelte";

async function pair() {
  const b = new FakeBackend();
  const c = await b.call("create_circle", { name: "Allotment" });
  b.admit(c.id, { id: "m-bea", name: "Bea", devices: ["d-bea"], teams: [], joined_at: c.created_at, conflicts: [] });
  return { b, circle: c.id };
}
const row = (name: string) => [...document.querySelectorAll<HTMLElement>("li.member")].find((li) => li.querySelector("strong")?.textContent === name);
const press = (root: ParentNode, label: string) => {
  const b = [...root.querySelectorAll<HTMLButtonElement>("button")].find((x) => x.textContent?.trim() === label);
  if (!b) throw new Error(`no button ${label}`);
  b.click();
};

describe("removing a member from the Members view", () => {
  it("proposes another member's removal instead of removing them", async () => {
    const { b, circle } = await pair();
    await show(Members, b, circle);
    const bea = await vi.waitFor(() => row("Bea") ?? Promise.reject(new Error("no Bea yet")));
    press(bea, "Propose removal…");
    const confirm = await vi.waitFor(() => el("[aria-label='Confirm proposing removal']"));
    expect(confirm.textContent).toContain("No one removes a member alone");
    press(confirm, "Propose removing Bea");
    await vi.waitFor(() => expect(row("Bea")?.textContent).toContain("Removal proposed"));
    const [p] = await b.call("proposals", { circle });
    expect(p.change).toEqual({ kind: "remove-member", member: "m-bea" });
    const listed = await b.call("member_list", { circle });
    expect(listed.find((m) => m.id === "m-bea")?.removed_at).toBeNull();
  });

  it("lets you leave, after asking once more", async () => {
    const { b, circle } = await pair();
    await show(Members, b, circle);
    const me = await vi.waitFor(() => row("You") ?? Promise.reject(new Error("no row yet")));
    press(me, "Leave the circle…");
    const confirm = await vi.waitFor(() => el("[aria-label='Confirm leaving']"));
    expect(confirm.textContent).toContain("Your devices are refused from then on");
    press(confirm, "Leave the circle");
    await vi.waitFor(async () => {
      const listed = await b.call("member_list", { circle });
      expect(listed.find((m) => m.id === b.me.member)?.removed_by).toBe(b.me.member);
    });
  });

  it("offers neither in a circle of one", async () => {
    const b = new FakeBackend();
    const c = await b.call("create_circle", { name: "Alone" });
    await show(Members, b, c.id);
    await vi.waitFor(() => expect(row("You")).toBeDefined());
    expect(document.querySelector("details.more")).toBeNull();
  });
});
