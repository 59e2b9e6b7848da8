// @vitest-environment jsdom
// Principle keepers: named by a passed proposal for a term, with who is next. While they are
// in office, a change to values or principles needs one of them, and the Members view says
// who keeps the principles, until when, and offers the rotation once the term is over.
import { describe, expect, it, vi } from "vitest";
import type * as B from "../bindings";
import { FakeBackend } from "../fake-backend";
import { el, set, show } from "../views/fake-mount";
import Proposals from "../views/Proposals.svelte";
import KeepersCard from "./KeepersCard.svelte";

const BEA = { member: "m-bea", device: "d-bea", name: "Bea" };
const CY = { member: "m-cy", device: "d-cy", name: "Cy" };
const DAY = 86_400_000;

/** A circle of three with a value and a principle; the backend acts as this device ("You"). */
async function tenants() {
  const b = new FakeBackend();
  const me = { ...b.me };
  const c = await b.call("create_circle", { name: "Tenants" });
  const v = await b.call("add_value", { circle: c.id, new: { title: "Care", statement: "We look after each other", protect: null, refuse: null, examples: [] } });
  const p = await b.call("add_principle", { circle: c.id, new: { values: [v], statement: "Ask before acting for someone", guidance: null, supersedes: null } });
  for (const m of [BEA, CY]) b.admit(c.id, { id: m.member, name: m.name, devices: [m.device], teams: [], joined_at: c.created_at, conflicts: [] });
  /** `who` answers `id` with consent. */
  const consent = async (who: typeof me, id: string) => {
    b.me = who;
    await b.call("respond", { circle: c.id, id, answer: "consent", reason: null });
    b.me = me;
  };
  /** Opens `change` as this device and has everyone named consent. */
  const round = async (change: B.ProposalChange, consenting: (typeof me)[]) => {
    const id = await b.call("open_proposal", { circle: c.id, new: { title: "Round", body: "", change, window_ms: null } });
    await consent(me, id);
    for (const who of consenting) await consent(who, id);
    return id;
  };
  return { b, circle: c.id, me, p, round, consent };
}

describe("principle keepers", () => {
  it("are named by a passed proposal, and then a change to a principle waits for one of them", async () => {
    const { b, circle, p, round, consent } = await tenants();
    expect(await b.call("keepers", { circle })).toMatchObject({ keepers: [], in_office: false, by: null });
    const naming = await round({ kind: "keepers", members: [BEA.member], term_days: 90, queue: [CY.member] }, [BEA, CY]);
    expect(await b.call("pass_proposal", { circle, id: naming })).toMatch(/^principle keepers until .*: Bea$/);
    expect(await b.call("keepers", { circle })).toMatchObject({ keepers: [BEA.member], in_office: true, by: naming, queue: [CY.member], term_days: 90 });

    const amend: B.ProposalChange = {
      kind: "amend-principle", principle: p, statement: "Ask first, and say what you did", guidance: null,
      reason: "We acted for Dee and never told her", cites: ["tn-dee"],
    };
    const id = await round(amend, [CY]);
    await expect(b.call("pass_proposal", { circle, id })).rejects.toThrow("principle keeper (Bea)");
    const [view] = (await b.call("proposals", { circle })).filter((x) => x.id === id);
    expect(view.blocking.some((w) => w.includes("principle keeper"))).toBe(true);
    await consent(BEA, id);
    await expect(b.call("pass_proposal", { circle, id })).resolves.toMatch(/amended/);
  });

  it("show in the Members view, and once their term ends the rotation is offered", async () => {
    const { b, circle, round } = await tenants();
    await show(KeepersCard, b, circle);
    await vi.waitFor(() => expect(el(".keepers").textContent).toContain("No principle keepers"));

    const naming = await round({ kind: "keepers", members: [BEA.member], term_days: 30, queue: [CY.member] }, [BEA, CY]);
    await b.call("pass_proposal", { circle, id: naming });
    await show(KeepersCard, b, circle);
    await vi.waitFor(() => expect(el(".keepers").textContent).toContain("Principle keepers: Bea"));
    expect(el(".keepers").textContent).toContain("Next in line: Cy");
    expect(document.querySelector(".rotate-keepers")).toBeNull();

    b.advance(31 * DAY);
    await show(KeepersCard, b, circle);
    await vi.waitFor(() => expect(el(".keepers.vacant").textContent).toContain("No principle keeper is in office"));
    el<HTMLButtonElement>(".rotate-keepers").click();
    await vi.waitFor(async () => expect((await b.call("keepers", { circle })).keepers).toEqual([CY.member]));
  });

  it("are proposed from the Proposals form, and the card says what passing does", async () => {
    const { b, circle } = await tenants();
    await show(Proposals, b, circle);
    set("#np-kind", "keepers");
    expect(el(".stewards-pick").textContent).toContain("Principle keepers");
    set("#np-title", "Bea keeps the principles");
    const pick = (name: string, group: string) =>
      [...document.querySelectorAll<HTMLLabelElement>(`[aria-labelledby=${group}] label.check`)].find((l) => l.textContent?.includes(name))?.querySelector("input");
    pick("Bea", "np-stewards")?.click();
    pick("Cy", "np-next")?.click();
    set("#np-term", "90");
    el<HTMLFormElement>("form.card:last-of-type").requestSubmit();
    await vi.waitFor(async () => expect((await b.call("proposals", { circle })).length).toBe(1));
    const [p] = await b.call("proposals", { circle });
    expect(p.change).toEqual({ kind: "keepers", members: [BEA.member], term_days: 90, queue: [CY.member] });
    await show(Proposals, b, circle);
    await vi.waitFor(() => expect(el(".change-keepers").textContent).toContain("Names Bea principle keeper"));
    expect(el(".change-keepers").textContent).toContain("passes to Cy");
  });
});
