// @vitest-environment jsdom
// Zone maps: a passed map-zone proposal sets which zone a team's situation belongs to. The
// in-memory backend keeps the rule and defaults a decision's zone to it; Proposals describes
// and opens such a change and shows the map; Log a decision preselects the mapped zone and
// warns, before logging, that a lower zone will show as authority confusion.
import { describe, expect, it, vi } from "vitest";
import { flushSync } from "svelte";
import type { Api } from "../backend";
import type * as B from "../bindings";
import { FakeBackend } from "../fake-backend";
import { clear, el, set, show } from "./fake-mount";
import LogDecision from "./LogDecision.svelte";
import Proposals from "./Proposals.svelte";

/** The in-memory backend, noting every proposal opened. */
class Recording extends FakeBackend {
  opened: B.NewProposal[] = [];
  override async call<K extends keyof Api>(cmd: K, args: Api[K][0]): Promise<Api[K][1]> {
    if (cmd === "open_proposal") this.opened.push(JSON.parse(JSON.stringify((args as { new: B.NewProposal }).new)));
    return super.call(cmd, args);
  }
}

async function tenants() {
  const b = new Recording();
  const c = await b.call("create_circle", { name: "Tenants" });
  const v = await b.call("add_value", { circle: c.id, new: { title: "Safety", statement: "No one faces the landlord alone", protect: null, refuse: null, examples: [] } });
  const p = await b.call("add_principle", { circle: c.id, new: { values: [v], statement: "Two people go to every confrontation", guidance: null, supersedes: null } });
  const team = await b.call("add_team", { circle: c.id, name: "Outreach", domain: null });
  await b.call("join_team", { circle: c.id, team, member: null });
  return { b, circle: c.id, p, team };
}
const mapZone = (team: string, situation = "landlord-contact", zone: B.Zone = "centre-awareness"): B.NewProposal => ({
  title: "Landlord contact goes to the centre", body: "", change: { kind: "map-zone", team, situation, zone }, window_ms: null,
});
async function mapped(b: FakeBackend, circle: string, team: string) {
  const id = await b.call("open_proposal", { circle, new: mapZone(team) });
  return { id, outcome: await b.call("pass_proposal", { circle, id }) };
}

const checkedZone = () => document.querySelector<HTMLInputElement>("input[name=zone]:checked")?.value;

describe("the in-memory backend's zone maps", () => {
  it("a passed map-zone proposal sets the rule, with the engine's outcome", async () => {
    const { b, circle, team } = await tenants();
    expect(await b.call("zone_rules", { circle })).toEqual([]);
    const { id, outcome } = await mapped(b, circle, team);
    expect(outcome).toBe("#landlord-contact is centre-awareness for team Outreach");
    const [rule, ...rest] = await b.call("zone_rules", { circle });
    expect(rest).toEqual([]);
    expect(rule).toMatchObject({ team, situation: "landlord-contact", zone: "centre-awareness", by: id });
  });

  it("refuses a situation that is not a lower-case key, or an unknown team", async () => {
    const { b, circle, team } = await tenants();
    await expect(b.call("open_proposal", { circle, new: mapZone(team, "Landlord-Contact") })).rejects.toThrow("write the situation key as `landlord-contact`");
    await expect(b.call("open_proposal", { circle, new: mapZone(team, "landlord contact") })).rejects.toThrow("one word");
    await expect(b.call("open_proposal", { circle, new: mapZone("t-nope") })).rejects.toThrow();
  });

  it("a mapped situation logged with no zone takes its zone; logged lower, it is authority confusion", async () => {
    const { b, circle, p, team } = await tenants();
    await mapped(b, circle, team);
    const base = { team, principles: [p], context: "The landlord called", choice: "Met him", zone_unsure: false, situation: "landlord-contact", result_due: null };
    const a = await b.call("log_decision", { circle, consulted: null, new: { ...base, zone: null } });
    expect((await b.call("decision", { circle, id: a })).zone).toBe("centre-awareness");
    expect((await b.call("tensions", { circle })).filter((t) => t.kind === "authority-confusion")).toEqual([]);
    const low = await b.call("log_decision", { circle, consulted: null, new: { ...base, zone: "local" } });
    const [t] = (await b.call("tensions", { circle })).filter((t) => t.kind === "authority-confusion");
    expect(t.title).toBe("Outreach logs #landlord-contact below its zone");
    expect(t.evidence.map((e) => e.id)).toEqual([low]);
  });
});

describe("zone maps in Proposals", () => {
  it("opens a map-zone proposal from the form", async () => {
    const { b, circle, team } = await tenants();
    await show(Proposals, b, circle);
    set("#np-kind", "map-zone");
    expect(el<HTMLSelectElement>("#np-zone-team").value).toBe(team);
    set("#np-title", "Landlord contact goes to the centre");
    set("#np-situation", "landlord-contact");
    set("#np-zone", "centre-intervention");
    el<HTMLFormElement>("form.card").requestSubmit();
    await vi.waitFor(() => expect(b.opened).toHaveLength(1));
    expect(b.opened[0].change).toEqual({ kind: "map-zone", team, situation: "landlord-contact", zone: "centre-intervention" });
  });

  it("describes the change in words, and shows the team's map once it passes", async () => {
    const { b, circle, team } = await tenants();
    const id = await b.call("open_proposal", { circle, new: mapZone(team) });
    await show(Proposals, b, circle);
    await vi.waitFor(() => expect(el(".change-zone").textContent).toBe("Sets #landlord-contact to centre-awareness for Outreach"));
    expect(document.querySelector(".zone-maps")).toBeNull();
    clear();
    await b.call("pass_proposal", { circle, id });
    await show(Proposals, b, circle);
    await vi.waitFor(() => expect(el("table.zone-map caption").textContent).toBe("Outreach"));
    const cells = [...document.querySelectorAll("table.zone-map tbody td")].map((c) => c.textContent?.trim());
    expect(cells.slice(0, 2)).toEqual(["#landlord-contact", "centre-awareness"]);
    expect(cells[2]).toContain("agreed by proposal “Landlord contact goes to the centre”, since");
  });
});

describe("zone maps in Log a decision", () => {
  it("preselects the mapped zone, and warns that a lower zone shows as authority confusion", async () => {
    const { b, circle, team } = await tenants();
    await mapped(b, circle, team);
    await show(LogDecision, b, circle, { onlogged: () => {} });
    expect(checkedZone()).toBe("local");
    set("#ld-situation", "landlord-contact");
    await vi.waitFor(() => expect(el(".zone-mapped").textContent).toContain("#landlord-contact is centre-awareness for this team"));
    expect(checkedZone()).toBe("centre-awareness");
    expect(document.querySelector(".zone-below")).toBeNull();
    const local = el<HTMLInputElement>("input[name=zone][value=local]");
    local.click();
    flushSync();
    expect(checkedZone()).toBe("local");
    expect(el(".zone-below").textContent?.replace(/\s+/g, " ")).toContain("below the zone Outreach agreed for #landlord-contact: logging it here will show as authority confusion");
    // A situation with no rule: the hand-picked zone stays.
    set("#ld-situation", "rent");
    expect(document.querySelector(".zone-mapped")).toBeNull();
    expect(checkedZone()).toBe("local");
  });
});
