// @vitest-environment jsdom
// A decision logged as a deliberate departure from a principle: the form sends which
// principle and why, refuses (next to the form, keeping what was typed) a departure with no
// why, and the decision shows the departure with the centre's answer. Views are mounted over
// the in-memory backend, on a circle of one (who answers its own escalations).
import { describe, expect, it, vi } from "vitest";
import { flushSync } from "svelte";
import type { Api } from "../backend";
import type * as B from "../bindings";
import { FakeBackend } from "../fake-backend";
import { clear, el, set, show } from "./fake-mount";
import DecisionDetail from "./DecisionDetail.svelte";
import Escalations from "./Escalations.svelte";
import LogDecision from "./LogDecision.svelte";

const WRITING = "Put every demand to the landlord in writing";
const WHY = "No heat on the coldest night: a letter would take a week.";

/** The in-memory backend, noting every `log_decision` it is asked for. */
class Recording extends FakeBackend {
  logged: B.NewDecision[] = [];
  override async call<K extends keyof Api>(cmd: K, args: Api[K][0]): Promise<Api[K][1]> {
    if (cmd === "log_decision") this.logged.push(JSON.parse(JSON.stringify((args as { new: B.NewDecision }).new)));
    return super.call(cmd, args);
  }
}

async function tenants() {
  const b = new Recording();
  const c = await b.call("create_circle", { name: "Tenants" });
  const v = await b.call("add_value", { circle: c.id, new: { title: "Safety", statement: "No one faces the landlord alone", protect: null, refuse: null, examples: [] } });
  const writing = await b.call("add_principle", { circle: c.id, new: { values: [v], statement: WRITING, guidance: null, supersedes: null } });
  const pairs = await b.call("add_principle", { circle: c.id, new: { values: [v], statement: "Two people go to every confrontation", guidance: null, supersedes: null } });
  const team = await b.call("add_team", { circle: c.id, name: "Legal support", domain: null });
  await b.call("join_team", { circle: c.id, team, member: null });
  return { b, circle: c.id, writing, pairs, team };
}

/** Picks "Two people…" in play, fills context and choice, and departs from `from`. */
function fill(from: string, why: string) {
  const box = [...document.querySelectorAll<HTMLInputElement>(".picker input[type=checkbox]")].find((b) => b.closest("label")?.textContent?.includes("Two people"));
  if (!box) throw new Error("no principle to pick");
  box.click();
  flushSync();
  set("#ld-context", "The boilers in block B failed");
  set("#ld-choice", "Went to the agent's office in person");
  set("#ld-departs", from);
  if (why) set("#ld-why", why);
}
const submit = () => el<HTMLFormElement>("form.form").requestSubmit();
const errors = (root: ParentNode) => [...root.querySelectorAll("[role=alert]")].map((e) => e.textContent?.trim());

describe("a departure from a principle", () => {
  it("the form explains it, and sends the principle departed from and why", async () => {
    const { b, circle, writing, pairs, team } = await tenants();
    const onlogged = vi.fn();
    await show(LogDecision, b, circle, { onlogged });
    expect(el("#ld-departure").textContent).toContain("goes to the stewards");
    expect(el("#ld-departure").textContent).toContain("back it, coach it or stop it");
    expect(el<HTMLSelectElement>("#ld-departs").value).toBe("");
    expect(document.querySelector("#ld-why")).toBeNull();

    fill(writing, WHY);
    submit();
    await vi.waitFor(() => expect(onlogged).toHaveBeenCalled());
    expect(b.logged).toHaveLength(1);
    expect(b.logged[0]).toMatchObject({ team, principles: [pairs], departs_from: writing, departure_why: WHY, zone: "local" });

    // Logged as local, it is raised to the stewards.
    const [e] = await b.call("escalations", { circle });
    const d = await b.call("decision", { circle, id: e.decision });
    expect([d.zone, e.zone, d.departs_from, d.departure_why]).toEqual(["centre-awareness", "centre-awareness", writing, WHY]);
  });

  it("without a why, the refusal shows next to the form and what was typed stays", async () => {
    const { b, circle, writing } = await tenants();
    const onlogged = vi.fn();
    await show(LogDecision, b, circle, { onlogged });
    fill(writing, "");
    submit();
    const form = el<HTMLFormElement>("form.form");
    const refusal = "a departure from a principle says why (--why), so the stewards can answer it";
    await vi.waitFor(() => expect(errors(form)).toEqual([refusal]));
    expect(errors(document.body)).toEqual([refusal]);
    expect(onlogged).not.toHaveBeenCalled();
    expect(await b.call("escalations", { circle })).toEqual([]);
    expect(el<HTMLTextAreaElement>("#ld-context").value).toBe("The boilers in block B failed");
    expect(el<HTMLTextAreaElement>("#ld-choice").value).toBe("Went to the agent's office in person");
    expect(el<HTMLSelectElement>("#ld-departs").value).toBe(writing);
    expect(el<HTMLTextAreaElement>("#ld-why").value).toBe("");
  });

  it("the in-memory backend refuses a departure from a retired principle, and keeps a centre zone", async () => {
    const { b, circle, writing, pairs, team } = await tenants();
    const base = { team, principles: [pairs], context: "c", choice: "x", zone_unsure: false, situation: null, result_due: null };
    const id = await b.call("log_decision", { circle, consulted: null, new: { ...base, zone: "centre-intervention", departs_from: writing, departure_why: WHY } });
    expect((await b.call("decision", { circle, id })).zone).toBe("centre-intervention");
    await b.call("retire_principle", { circle, id: writing, reason: "Replaced" });
    const err = await b.call("log_decision", { circle, consulted: null, new: { ...base, zone: null, departs_from: writing, departure_why: WHY } }).catch((e) => e);
    expect(err.message).toBe(`principle \`${writing}\` is retired`);
  });

  it("the decision says what it departs from, and that the centre backed it", async () => {
    const { b, circle, writing, pairs, team } = await tenants();
    const id = await b.call("log_decision", {
      circle,
      consulted: null,
      new: { team, principles: [pairs], context: "No heat", choice: "Went in person", zone: null, zone_unsure: false, situation: null, result_due: null, departs_from: writing, departure_why: WHY },
    });
    // Before the stewards answer: the departure is on the escalation, and the decision waits.
    await show(Escalations, b, circle);
    await vi.waitFor(() => expect(el(".departure").textContent).toContain(`Departs from “${WRITING}”: ${WHY}`));
    clear();
    await show(DecisionDetail, b, circle, { id, onclose: () => {} });
    await vi.waitFor(() => expect(el("#detail-departure").textContent).toContain("the stewards have not answered yet"));
    clear();

    const [e] = await b.call("escalations", { circle });
    await b.call("resolve_escalation", { circle, id: e.id, verdict: "back", response: "Right call; we stand behind it" });
    await show(DecisionDetail, b, circle, { id, onclose: () => {} });
    await vi.waitFor(() => expect(el("#detail-departure").textContent).toContain("the centre backed it"));
    const text = el("#detail-departure").textContent ?? "";
    expect(text).toContain(`Departs from “${WRITING}”: ${WHY}`);
    expect(text).toContain("Right call; we stand behind it");
  });
});
