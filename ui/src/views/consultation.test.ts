// @vitest-environment jsdom
// A principle-check decision names who was consulted; each of them, and only they, sees an
// Acknowledge button on it, and once they press it the decision shows when (and their note)
// instead. Views are mounted over the in-memory backend.
import { describe, expect, it, vi } from "vitest";
import { flushSync } from "svelte";
import { FakeBackend } from "../fake-backend";
import { el, set, show } from "./fake-mount";
import DecisionDetail from "./DecisionDetail.svelte";
import LogDecision from "./LogDecision.svelte";

const BEA = { member: "m-bea", device: "d-bea", name: "Bea" };

/** A circle of two, with a principle and a team; the backend acts as this device ("You"). */
async function kitchen() {
  const b = new FakeBackend();
  const me = { ...b.me };
  const c = await b.call("create_circle", { name: "Kitchen" });
  const v = await b.call("add_value", { circle: c.id, new: { title: "Care", statement: "No one goes hungry", protect: null, refuse: null, examples: [] } });
  const p = await b.call("add_principle", { circle: c.id, new: { values: [v], statement: "Feed whoever comes", guidance: null, supersedes: null } });
  const team = await b.call("add_team", { circle: c.id, name: "Soup", domain: null });
  b.admit(c.id, { id: BEA.member, name: BEA.name, devices: [BEA.device], teams: [], joined_at: c.created_at, conflicts: [] });
  /** Logs a principle check as `author`, consulting `consulted`. */
  const log = async (author: typeof me, consulted: string[]) => {
    b.me = author;
    const id = await b.call("log_decision", {
      circle: c.id,
      new: { team, principles: [p], context: "A stranger came after closing", choice: "We fed them", zone: "principle-check", zone_unsure: false, situation: null, result_due: null },
      consulted,
    });
    b.me = me;
    return id;
  };
  return { b, circle: c.id, me, log, team, p };
}

const ackButton = () => [...document.querySelectorAll<HTMLButtonElement>("form.ack button")].find((x) => x.textContent?.includes("Acknowledge"));

describe("a principle check's consultation", () => {
  it("shows an Acknowledge button to the member consulted, and records the acknowledgement", async () => {
    const { b, circle, me, log } = await kitchen();
    const id = await log(BEA, [me.member]);
    await show(DecisionDetail, b, circle, { id, onclose: () => {} });
    await vi.waitFor(() => expect(document.querySelector(".consulted")?.textContent).toContain("awaiting since"));
    expect(el(".consulted").textContent).toContain("(you)");
    const button = ackButton();
    expect(button).toBeDefined();

    set("#ack-note", "We checked it together at the stall");
    el<HTMLFormElement>("form.ack").requestSubmit();
    await vi.waitFor(() => expect(el(".consulted").textContent).toContain("acknowledged"));
    flushSync();
    expect(el(".consulted").textContent).toContain("We checked it together at the stall");
    expect(ackButton()).toBeUndefined();
    const [k] = await b.call("consultation", { circle, id });
    expect(k).toMatchObject({ member: me.member, note: "We checked it together at the stall" });
    expect(k.acknowledged_at).not.toBeNull();
  });

  it("shows no button to anyone not consulted, and the engine's refusal matches", async () => {
    const { b, circle, me, log } = await kitchen();
    // Logged by this device, consulting Bea: the author has nothing to acknowledge.
    const id = await log(me, [BEA.member]);
    await show(DecisionDetail, b, circle, { id, onclose: () => {} });
    await vi.waitFor(() => expect(document.querySelector(".consulted")?.textContent).toContain("Bea"));
    expect(ackButton()).toBeUndefined();
    await expect(b.call("acknowledge_consultation", { circle, id, note: null })).rejects.toThrow(/you were not consulted/);
  });

  it("the Log form offers the other members for a principle check only, and sends who was consulted", async () => {
    const { b, circle } = await kitchen();
    const onlogged = vi.fn();
    await show(LogDecision, b, circle, { onlogged });
    expect(document.querySelector("#ld-consulted")).toBeNull();
    el<HTMLInputElement>("#ld-zones input[value=principle-check]").click();
    flushSync();
    expect(el("#ld-consulted").textContent).toContain("Bea");
    expect(el("#ld-consulted").textContent).not.toContain("You");
    expect(el("#ld-consult-nudge").textContent).toContain("name who you checked with");

    el<HTMLInputElement>(".picker input[type=checkbox]").click();
    flushSync();
    set("#ld-context", "A stranger came after closing");
    set("#ld-choice", "We fed them");
    el<HTMLInputElement>("#ld-consulted input[type=checkbox]").click();
    flushSync();
    expect(document.querySelector("#ld-consult-nudge")).toBeNull();
    el<HTMLFormElement>("form.form").requestSubmit();
    await vi.waitFor(() => expect(onlogged).toHaveBeenCalled());
    const page = await b.call("decision_page", { circle, filter: {} as never, offset: 0, limit: 10, whole: true });
    const id = page.rows[0].id;
    expect((await b.call("consultation", { circle, id })).map((k) => k.member)).toEqual([BEA.member]);
  });
});
