// @vitest-environment jsdom
// Governance with teeth: in a circle of several members, values and principles change only
// by passed proposals (grove_core::charter). The in-memory backend keeps the engine's rules;
// Values offers "Propose …" instead of direct changes there (and direct changes to the
// circle's sole member), an amendment cites the feedback that calls for it, and each value
// shows its history. Proposals opens, describes and revises the charter kinds.
import { describe, expect, it, vi } from "vitest";
import type { Api } from "../backend";
import type * as B from "../bindings";
import { FakeBackend } from "../fake-backend";
import { el, set, show } from "./fake-mount";
import Proposals from "./Proposals.svelte";
import Values from "./Values.svelte";

/** The in-memory backend, noting every proposal opened and every direct charter call. */
class Recording extends FakeBackend {
  opened: B.NewProposal[] = [];
  revised: B.NewProposal[] = [];
  direct: string[] = [];
  override async call<K extends keyof Api>(cmd: K, args: Api[K][0]): Promise<Api[K][1]> {
    if (cmd === "open_proposal") this.opened.push(JSON.parse(JSON.stringify((args as { new: B.NewProposal }).new)));
    if (cmd === "revise_proposal") this.revised.push(JSON.parse(JSON.stringify((args as { new: B.NewProposal }).new)));
    if (["add_value", "edit_value", "retire_value", "add_principle", "amend_principle", "retire_principle"].includes(cmd)) this.direct.push(cmd);
    return super.call(cmd, args);
  }
}

const BEA: B.Member = { id: "m-bea", name: "Bea", devices: ["d-bea"], teams: [], joined_at: "2026-11-22T09:00:00Z", conflicts: [] };

/** A circle with the value Care and one principle under it; with Bea admitted unless `alone`. */
async function tenants(alone = false) {
  const b = new Recording();
  const c = await b.call("create_circle", { name: "Tenants" });
  const circle = c.id;
  const care = await b.call("add_value", { circle, new: { title: "Care", statement: "We look after each other", protect: null, refuse: null, examples: [] } });
  const p = await b.call("add_principle", { circle, new: { values: [care], statement: "Two people go to every confrontation", guidance: null, supersedes: null } });
  const tension = await b.call("raise_tension", { circle, raise: { title: "Visits run late", summary: "", subject: care, evidence: [] } });
  if (!alone) b.admit(circle, BEA);
  b.direct = [];
  return { b, circle, care, p, tension };
}

/** Bea consents (acting on her device), then the proposal is passed on mine. */
async function passWithBea(b: FakeBackend, circle: string, id: string) {
  const me = b.me;
  b.me = { member: BEA.id, device: "d-bea", name: BEA.name };
  await b.call("respond", { circle, id, answer: "consent", reason: null });
  b.me = me;
  return b.call("pass_proposal", { circle, id });
}

const buttons = (root: ParentNode = document) => [...root.querySelectorAll("button")].map((x) => x.textContent?.trim() ?? "");
function button(label: string, root: ParentNode = document): HTMLButtonElement {
  const found = [...root.querySelectorAll("button")].find((x) => x.textContent?.trim() === label);
  if (!found) throw new Error(`no button "${label}" among ${JSON.stringify(buttons(root))}`);
  return found;
}
const text = (css: string) => el(css).textContent?.replace(/\s+/g, " ").trim() ?? "";

describe("the in-memory backend's charter rules", () => {
  it("refuses every direct change in a circle of several, saying which proposal to open", async () => {
    const { b, circle, care, p } = await tenants();
    const edit = { title: null, statement: "We care", protect: null, refuse: null };
    await expect(b.call("edit_value", { circle, id: care, edit })).rejects.toThrow(
      `values change by consent in a circle of 2 members: grove proposal open --amend-value ${care} --reason R --cites T …`,
    );
    await expect(b.call("add_value", { circle, new: { title: "Fairness", statement: "Same for all", protect: null, refuse: null, examples: [] } })).rejects.toThrow("values change by consent");
    await expect(b.call("retire_value", { circle, id: care })).rejects.toThrow(`grove proposal open --retire-value ${care} --reason R`);
    await expect(b.call("add_principle", { circle, new: { values: [care], statement: "Rest", guidance: null, supersedes: null } })).rejects.toThrow("principles change by consent in a circle of 2 members");
    await expect(b.call("amend_principle", { circle, id: p, amendment: { statement: "Three go", guidance: null, reason: "Safer", cites: [] } })).rejects.toThrow(`--amend ${p}`);
    await expect(b.call("retire_principle", { circle, id: p, reason: "Old" })).rejects.toThrow(`--retire-principle ${p}`);
    const [v] = await b.call("values", { circle });
    expect([v.statement, v.status, v.versions.length]).toEqual(["We look after each other", "active", 1]);
  });

  it("lets anyone pick one of two wordings written at once, and nothing else", async () => {
    const { b, circle, care } = await tenants();
    b.conflict(circle, care, "statement", ["We look after each other", "We look after everyone"]);
    await b.call("edit_value", { circle, id: care, edit: { title: null, statement: "We look after everyone", protect: null, refuse: null } });
    const [v] = await b.call("values", { circle });
    expect([v.statement, v.conflicts, v.versions.length]).toEqual(["We look after everyone", [], 1]);
  });

  it("an amendment cites feedback; passed, it rewords the value and keeps the history", async () => {
    const { b, circle, care, p, tension } = await tenants();
    const reword = (cites: string[]): B.NewProposal => ({
      title: "Reword Care", body: "", window_ms: null,
      change: { kind: "amend-value", value: care, title: "Care", statement: "We look after each other, and ourselves", protect: null, refuse: null, reason: "Burn-out", cites },
    });
    await expect(b.call("open_proposal", { circle, new: reword([]) })).rejects.toThrow("an amendment cites the feedback that demands it");
    await expect(b.call("open_proposal", { circle, new: reword(["p-1"]) })).rejects.toThrow("`p-1` is no tension, decision or review id");
    const amendP: B.NewProposal = { title: "Three", body: "", window_ms: null, change: { kind: "amend-principle", principle: p, statement: "Three go", guidance: null, reason: "Safer", cites: [] } };
    await expect(b.call("open_proposal", { circle, new: amendP })).rejects.toThrow("an amendment cites the feedback");
    const id = await b.call("open_proposal", { circle, new: reword([tension]) });
    expect(await passWithBea(b, circle, id)).toBe(`value ${care} reworded (version 2)`);
    const [v] = await b.call("values", { circle });
    expect(v.statement).toBe("We look after each other, and ourselves");
    expect(v.versions.map((x) => [x.version, x.reason, x.cites, x.source])).toEqual([[1, null, [], null], [2, "Burn-out", [tension], id]]);
  });

  it("passes the other charter kinds with the engine's outcomes", async () => {
    const { b, circle, care, p } = await tenants();
    const open = (change: B.ProposalChange) => b.call("open_proposal", { circle, new: { title: change.kind, body: "", change, window_ms: null } });
    const nv = await open({ kind: "new-value", title: "Fairness", statement: "Same for all", protect: null, refuse: null });
    const np = await open({ kind: "new-principle", values: [care], statement: "Three people go", guidance: null, supersedes: p });
    const out = [await passWithBea(b, circle, nv), await passWithBea(b, circle, np)];
    const fairness = (await b.call("values", { circle })).find((v) => v.title === "Fairness")!;
    const ps = await b.call("principle_list", { circle });
    const three = ps.find((x) => x.statement === "Three people go")!;
    expect(out).toEqual([`value ${fairness.id} added`, `principle ${three.id} added, superseding ${p}`]);
    expect(ps.find((x) => x.id === p)).toMatchObject({ status: "retired", superseded_by: three.id });
    const rv = await open({ kind: "retire-value", value: care, reason: "Folded into Fairness" });
    expect(await passWithBea(b, circle, rv)).toBe(`value ${care} retired; under review: ${three.id}`);
  });
});

describe("Values in a circle of several", () => {
  it("offers Propose actions and no direct Add, Edit, Amend or Retire; picking a version stays", async () => {
    const { b, circle, care } = await tenants();
    b.conflict(circle, care, "statement", ["We look after each other", "We look after everyone"], ["d-me", "d-bea"]);
    await show(Values, b, circle);
    await vi.waitFor(() => expect(text("#by-consent")).toContain("This circle has 2 members, so its values and principles change by consent"));
    const all = buttons();
    expect(all).toEqual(expect.arrayContaining(["Propose a rewording…", "Propose a principle…", "Propose retiring this value…", "Propose an amendment…", "Propose retiring it…", "Open the proposal"]));
    for (const direct of ["Add value", "Add principle", "Retire this value", "Amend", "Retire", "Reword…"]) expect(all).not.toContain(direct);
    expect(el("form.card h2").textContent).toBe("Propose a new value");
    // Picking one of two wordings written at once is no change of substance: anyone may.
    button("Keep this version", el(".conflict ol.versions li:nth-child(2)")).click();
    await vi.waitFor(() => expect(b.direct).toEqual(["edit_value"]));
    expect(document.querySelector(".conflict [role=alert]")).toBeNull();
    expect((await b.call("values", { circle }))[0].statement).toBe("We look after everyone");
  });

  it("a rewording with no feedback cited says why it cannot be sent, and sends nothing", async () => {
    const { b, circle, care } = await tenants();
    await show(Values, b, circle);
    await vi.waitFor(() => button("Propose a rewording…").click());
    await vi.waitFor(() => expect(el(`#rw-statement-${care}`)).toBeTruthy());
    expect(el<HTMLInputElement>(`#rw-title-${care}`).value).toBe("Care");
    // The form says so before anything is sent.
    expect(text(`#rw-cites-${care}-why`)).toContain("Required: in a circle of several members, an amendment cites at least one tension, decision or review");
    set(`#rw-statement-${care}`, "We look after each other, and ourselves");
    set(`#rw-reason-${care}`, "Burn-out");
    el<HTMLFormElement>("form.draft").requestSubmit();
    await vi.waitFor(() => expect(text("form.draft [role=alert]")).toContain("Cite at least one tension, decision or review that calls for this change"));
    expect(b.opened).toEqual([]);
    expect(b.direct).toEqual([]);
  });

  it("with a tension cited, opens an amend-value proposal and says the change waits for consent", async () => {
    const { b, circle, care, tension } = await tenants();
    let switched = 0;
    await show(Values, b, circle, { onproposals: () => (switched += 1) });
    await vi.waitFor(() => button("Propose a rewording…").click());
    await vi.waitFor(() => expect(document.querySelector(`#rw-cites-${care}-tension option[value="${tension}"]`)).not.toBeNull());
    set(`#rw-statement-${care}`, "We look after each other, and ourselves");
    set(`#rw-protect-${care}`, "Rest");
    set(`#rw-reason-${care}`, "Burn-out");
    set(`#rw-cites-${care}-tension`, tension);
    expect(text(`[data-cite="${tension}"]`)).toContain("Tension: Visits run late");
    el<HTMLFormElement>("form.draft").requestSubmit();
    await vi.waitFor(() => expect(b.opened).toHaveLength(1));
    expect(b.opened[0]).toEqual({
      title: "Reword value “Care”", body: "", window_ms: null,
      change: { kind: "amend-value", value: care, title: "Care", statement: "We look after each other, and ourselves", protect: "Rest", refuse: null, reason: "Burn-out", cites: [tension] },
    });
    await vi.waitFor(() => expect(text(".proposed")).toContain("Proposal “Reword value “Care”” opened. Nothing changes until the circle consents"));
    expect(document.querySelector("form.draft")).toBeNull();
    button("See it in Proposals").click();
    expect(switched).toBe(1);
    // Nothing changed yet: the value reads as before.
    expect((await b.call("values", { circle }))[0].statement).toBe("We look after each other");
  });

  it("shows each value's history: who, why, what it cites, and the proposal that made it", async () => {
    const { b, circle, care, tension } = await tenants();
    const id = await b.call("open_proposal", {
      circle, new: { title: "Reword Care", body: "", window_ms: null, change: { kind: "amend-value", value: care, title: "Care", statement: "We look after each other, and ourselves", protect: null, refuse: null, reason: "Burn-out", cites: [tension] } },
    });
    await passWithBea(b, circle, id);
    await show(Values, b, circle);
    const history = await vi.waitFor(() => el(`details[data-value-history="${care}"]`));
    expect(history.querySelector("summary")?.textContent).toContain("v2");
    const items = [...history.querySelectorAll("ol.versions li")].map((li) => li.textContent?.replace(/\s+/g, " ").trim());
    expect(items).toHaveLength(2);
    expect(items[0]).toContain("v1 — Care: We look after each other As first written · You");
    expect(items[1]).toContain("v2 — Care: We look after each other, and ourselves");
    expect(items[1]).toContain("Why: Burn-out");
    expect(items[1]).toContain(`Cites: tension ${tension}`);
    expect(items[1]).toContain(`via proposal ${id}`);
  });
});

describe("Values in a circle of one", () => {
  it("still changes values and principles directly, with no proposal", async () => {
    const { b, circle, care } = await tenants(true);
    await show(Values, b, circle);
    await vi.waitFor(() => button("Reword…").click());
    expect(document.querySelector("#by-consent")).toBeNull();
    expect(buttons()).toEqual(expect.arrayContaining(["Add principle", "Retire this value", "Amend", "Retire", "Add value"]));
    expect(buttons().filter((x) => x.startsWith("Propose"))).toEqual([]);
    await vi.waitFor(() => expect(el(`#rw-statement-${care}`)).toBeTruthy());
    set(`#rw-statement-${care}`, "We look after each other, and ourselves");
    set(`#rw-reason-${care}`, "Burn-out");
    el<HTMLFormElement>("form.draft").requestSubmit();
    await vi.waitFor(() => expect(b.direct).toEqual(["edit_value"]));
    expect(b.opened).toEqual([]);
    const [v] = await b.call("values", { circle });
    expect([v.statement, v.versions.length, v.versions[1].reason]).toEqual(["We look after each other, and ourselves", 2, "Burn-out"]);
  });
});

describe("charter proposals in Proposals", () => {
  it("opens a rewording of a value from the Kind select, refusing it without a cite first", async () => {
    const { b, circle, care, tension } = await tenants();
    await show(Proposals, b, circle);
    set("#np-kind", "amend-value");
    await vi.waitFor(() => expect(document.querySelector(`#np-value option[value="${care}"]`)).not.toBeNull());
    set("#np-value", care);
    expect(el<HTMLInputElement>("#np-value-title").value).toBe("Care");
    set("#np-title", "Care includes ourselves");
    set("#np-statement", "We look after each other, and ourselves");
    set("#np-reason", "Burn-out");
    el<HTMLFormElement>("form.card:last-of-type").requestSubmit();
    await vi.waitFor(() => expect(text("form.card:last-of-type [role=alert]")).toContain("Cite at least one tension"));
    expect(b.opened).toEqual([]);
    set("#np-cites-other", tension);
    el<HTMLFormElement>("form.card:last-of-type").requestSubmit();
    await vi.waitFor(() => expect(b.opened).toHaveLength(1));
    expect(b.opened[0].change).toEqual({
      kind: "amend-value", value: care, title: "Care", statement: "We look after each other, and ourselves", protect: null, refuse: null, reason: "Burn-out", cites: [tension],
    });
    await show(Proposals, b, circle);
    await vi.waitFor(() => expect(text("article.proposal .change-charter")).toBe("Rewords value Care: Care — “We look after each other, and ourselves” Because Burn-out"));
    expect(text("article.proposal .change-cites")).toBe(`Cites: tension ${tension}`);
  });

  it("describes each charter kind in words", async () => {
    const { b, circle, care, p } = await tenants();
    const open = (change: B.ProposalChange) => b.call("open_proposal", { circle, new: { title: change.kind, body: "", change, window_ms: null } });
    await open({ kind: "retire-principle", principle: p, reason: "Nobody confronts anyone now" });
    await open({ kind: "retire-value", value: care, reason: "Merged" });
    await open({ kind: "new-principle", values: [care], statement: "Three people go", guidance: null, supersedes: p });
    await open({ kind: "new-value", title: "Fairness", statement: "Same for all", protect: "Equal pay", refuse: null });
    await show(Proposals, b, circle);
    const said = await vi.waitFor(() => {
      const all = [...document.querySelectorAll(".change-charter")].map((x) => x.textContent?.replace(/\s+/g, " ").trim());
      expect(all).toHaveLength(4);
      return all;
    });
    expect(said).toEqual([
      "Adds the value Fairness: “Same for all” Protects: Equal pay.",
      "Adds the principle “Three people go”, derived from Care; it replaces “Two people go to every confrontation”, which is retired when this passes.",
      "Retires value Care, because Merged. Principles left with no active value go under review.",
      "Retires principle “Two people go to every confrontation”, because Nobody confronts anyone now",
    ]);
  });

  it("revises a rewording: the same kind, with the edited wording and cites", async () => {
    const { b, circle, care, tension } = await tenants();
    const decision = "d-0042";
    const id = await b.call("open_proposal", {
      circle, new: { title: "Reword Care", body: "", window_ms: null, change: { kind: "amend-value", value: care, title: "Care", statement: "We look after each other, and ourselves", protect: null, refuse: null, reason: "Burn-out", cites: [tension] } },
    });
    await show(Proposals, b, circle);
    await vi.waitFor(() => button("Revise").click());
    await vi.waitFor(() => expect(el<HTMLInputElement>(`#rv-vtitle-${id}`).value).toBe("Care"));
    expect(el<HTMLTextAreaElement>(`#rv-statement-${id}`).value).toBe("We look after each other, and ourselves");
    expect(el<HTMLInputElement>(`#rv-reason-${id}`).value).toBe("Burn-out");
    set(`#rv-statement-${id}`, "We look after each other and ourselves, in that order");
    set(`#rv-refuse-${id}`, "Overwork");
    set(`#rv-cites-${id}-other`, decision);
    el<HTMLFormElement>("form.revise-form").requestSubmit();
    await vi.waitFor(() => expect(b.revised).toHaveLength(1));
    expect(b.revised[0].change).toEqual({
      kind: "amend-value", value: care, title: "Care", statement: "We look after each other and ourselves, in that order", protect: null, refuse: "Overwork", reason: "Burn-out", cites: [tension, decision],
    });
  });
});
