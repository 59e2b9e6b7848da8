// @vitest-environment jsdom
// A failing action on one item of a list (Pass on a proposal, Resolve on an escalation, …)
// shows the backend's message next to that item, and leaves the item as it was. Each view
// is mounted on its own over a backend that serves fixed lists and refuses one command.
import { afterEach, describe, expect, it, vi } from "vitest";
import { mount, unmount, type Component } from "svelte";
import { BackendError, type Backend, type Change } from "../backend";
import type * as B from "../bindings";
import { formatDay } from "../lib/format";
import { Session, sessionContext } from "../lib/session.svelte";
import Commitments from "./Commitments.svelte";
import Escalations from "./Escalations.svelte";
import Members from "./Members.svelte";
import Proposals from "./Proposals.svelte";
import Reviews from "./Reviews.svelte";
import Roles from "./Roles.svelte";
import Tensions from "./Tensions.svelte";
import Values from "./Values.svelte";

const AT = "2026-11-20T10:00:00Z";
const ME: B.Me = { member: "m-ada", device: "d-ada", name: "Ada" };
const member = (id: string, name: string): B.Member => ({ id, name, devices: [], teams: [], joined_at: AT, conflicts: [] });
const MEMBERS = [member("m-ada", "Ada"), member("m-femi", "Femi")];

/** Serves `lists` for reads, refuses the commands in `refuse` with their message, and
 * records every other command it is asked to run (none should be). */
class Refusing implements Backend {
  changed: string[] = [];
  constructor(
    private lists: Partial<Record<B.Command, unknown>>,
    private refuse: Partial<Record<B.Command, string>>,
  ) {}
  async call(cmd: B.Command, _args: unknown): Promise<never> {
    const refusal = this.refuse[cmd];
    if (refusal) throw new BackendError("state", refusal);
    if (cmd in this.lists) return structuredClone(this.lists[cmd]) as never;
    // No team has a zone map unless a test gives one.
    if (cmd === "zone_rules") return [] as never;
    this.changed.push(cmd);
    throw new BackendError("unavailable", `${cmd} is not part of this test`);
  }
  async subscribe(_f: (c: Change) => void) {
    return () => {};
  }
}

let mounted: Record<string, unknown> | null = null;
afterEach(() => {
  if (mounted) unmount(mounted);
  mounted = null;
  document.body.innerHTML = "";
});

/** Mounts `view` on a session open on circle c-1 with Ada and Femi in it. */
function show(view: Component<any>, backend: Backend, lookups: Partial<Session["lookups"]> = {}, props: Record<string, unknown> = {}) {
  const session = new Session(backend);
  session.me = ME;
  session.circle = "c-1";
  session.lookups = { members: MEMBERS, teams: [], values: [], principles: [], ...lookups };
  mounted = mount(view, { target: document.body, props, context: sessionContext(session) });
  return document.body;
}

const within = (root: ParentNode, css: string): HTMLElement => {
  const el = root.querySelector<HTMLElement>(css);
  if (!el) throw new Error(`nothing matches ${css}`);
  return el;
};
function button(root: ParentNode, label: string): HTMLButtonElement {
  const b = [...root.querySelectorAll("button")].find((b) => b.textContent?.trim() === label);
  if (!b) throw new Error(`no button "${label}"`);
  return b;
}
/** The one item (an element matching `css`) whose text contains `text`. */
async function item(css: string, text: string): Promise<HTMLElement> {
  return vi.waitFor(() => {
    const el = [...document.querySelectorAll<HTMLElement>(css)].find((e) => e.textContent?.includes(text));
    if (!el) throw new Error(`no ${css} with "${text}"`);
    return el;
  });
}
const errorsIn = (root: ParentNode) => [...root.querySelectorAll("[role=alert]")].map((e) => e.textContent?.trim());
/** Waits until `message` shows inside `at`, and nowhere else on the page. */
async function shownNextTo(at: HTMLElement, message: string) {
  await vi.waitFor(() => expect(errorsIn(at)).toEqual([message]));
  expect(errorsIn(document.body)).toEqual([message]);
}

function proposal(id: string, title: string, responses: B.Response[], round: Partial<B.ProposalView> = {}): B.ProposalView {
  const voice = (m: B.Member): B.Voice => {
    const r = responses.find((r) => r.member === m.id);
    return {
      member: m.id, name: m.name, received_at: AT, window_ends: "2026-11-27T10:00:00Z", answer: r?.answer ?? null,
      reason: r?.reason ?? null, answered_at: r?.at ?? null, standing: r ? "answered" : m.id === "m-ada" ? "proposer" : "waiting",
    };
  };
  return {
    id, title, body: "", change: { kind: "general" }, status: "open", opened_by: "m-ada", opened_at: AT, window_ms: 7 * 86_400_000,
    version: 1, revised_at: AT, closed_by: null, closed_at: null, outcome: null, responses, receipts: [], contest: null, log: [],
    deadline: "2026-12-11T10:00:00Z", voices: MEMBERS.map(voice), blocking: [], can_pass: true, ...round,
  };
}
const objection: B.Response = { member: "m-femi", answer: "objection", reason: "Not before the landlord answers", at: AT };
const objects = "Femi objects (Not before the landlord answers); only they can lift it, by answering again, or the proposer can revise the proposal";

describe("a failing per-item action", () => {
  it("Pass on a proposal with an objection standing: the message shows on that proposal, which stays open", async () => {
    const stand = `it cannot pass yet: ${objects}`;
    const backend = new Refusing(
      {
        proposals: [
          proposal("pr-2", "Rent strike fund", []),
          proposal("pr-1", "First names in the newsletter", [objection], { blocking: [objects], can_pass: false }),
        ],
      },
      { pass_proposal: stand },
    );
    show(Proposals, backend);
    const card = await item("article", "First names in the newsletter");
    const pass = button(card, "Pass");
    expect([pass.classList.contains("primary"), pass.getAttribute("aria-disabled")]).toEqual([false, "true"]);
    expect(within(card, ".pass-why").textContent).toContain("Cannot pass yet");
    expect(within(card, ".pass-why").textContent).toContain("only they can lift it");
    pass.click();
    await shownNextTo(card, stand);
    expect(within(card, ".pill").textContent).toBe("open");
    expect(card.textContent).toContain("Not before the landlord answers");
    expect(backend.changed).toEqual([]);
    // The other one can pass: Pass is its main button, with nothing in the way.
    const other = await item("article", "Rent strike fund");
    expect(button(other, "Pass").classList.contains("primary")).toBe(true);
    expect(other.querySelector(".pass-why")).toBeNull();
  });

  it("Revise with no title: the message shows next to that revision, which keeps what was typed", async () => {
    const empty = "a proposal's title cannot be empty";
    show(Proposals, new Refusing({ proposals: [proposal("pr-1", "First names", [objection])] }, { revise_proposal: empty }));
    const card = await item("article", "First names");
    button(card, "Revise").click();
    const form = await vi.waitFor(() => within(card, "form.revise-form"));
    const body = within(form, "textarea") as HTMLTextAreaElement;
    body.value = "First names only, and only with a yes";
    body.dispatchEvent(new Event("input"));
    button(form, "Publish version 2").click();
    await shownNextTo(form, empty);
    expect((within(card, "form.revise-form textarea") as HTMLTextAreaElement).value).toBe("First names only, and only with a yes");
  });

  it("offers Revise and Withdraw to the proposer only", async () => {
    show(Proposals, new Refusing({ proposals: [proposal("pr-1", "Mine", []), proposal("pr-2", "Femi's", [], { opened_by: "m-femi" })] }, {}));
    const mine = await item("article", "Mine");
    const theirs = await item("article", "Femi's");
    const labels = (el: HTMLElement) => [...el.querySelectorAll("button")].map((b) => b.textContent?.trim());
    expect(labels(mine)).toEqual(expect.arrayContaining(["Revise", "Withdraw"]));
    expect(labels(theirs)).not.toContain("Revise");
    expect(labels(theirs)).not.toContain("Withdraw");
  });

  it("shows who answered what, who is still to be heard and until when, and a contested pass with both sides", async () => {
    const contested = proposal("pr-1", "Bulk oats", [{ member: "m-ada", answer: "consent", reason: null, at: AT }], {
      status: "contested", opened_by: "m-femi",
      contest: { passed_by: "m-femi", passed_at: "2026-11-21T09:30:00Z", unheard: [objection], revised: false, rival: null },
      voices: [
        { member: "m-ada", name: "Ada", received_at: AT, window_ends: "2026-11-27T10:00:00Z", answer: "consent", reason: null, answered_at: AT, standing: "answered" },
        { member: "m-femi", name: "Femi", received_at: AT, window_ends: null, answer: null, reason: null, answered_at: null, standing: "proposer" },
        { member: "m-bo", name: "Bo", received_at: null, window_ends: null, answer: null, reason: null, answered_at: null, standing: "not-received" },
      ],
      blocking: ["Bo's device has not received it yet; it waits for them until 2026-12-11 10:00 UTC"], can_pass: false,
    });
    show(Proposals, new Refusing({ proposals: [contested] }, {}));
    const card = await item("article", "Bulk oats");
    const pill = within(card, ".pill.status");
    expect(pill.textContent).toBe("contested");
    expect(pill.className).toContain("attention");
    expect(pill.className).not.toContain("warn");
    const contest = within(card, "[aria-label='Contested pass']");
    expect(contest.textContent).toContain("Femi passed it");
    expect(contest.textContent).toContain("Femi: objection — Not before the landlord answers");
    const voices = [...card.querySelectorAll("li.voice")].map((l) => l.textContent?.replace(/\s+/g, " ").trim());
    expect(voices[0]).toMatch(/^Ada: consent/);
    expect(voices[1]).toBe("Femi: proposed it");
    expect(voices[2]).toContain("Bo: their device has not received it yet; it waits for them until");
    expect(voices[2]).toContain(formatDay("2026-12-11T10:00:00Z"));
    // The engine's moment in its sentence is written the one way, in a <time>.
    expect(within(card, ".pass-why time").getAttribute("datetime")).toBe("2026-12-11T10:00:00Z");
    expect(within(card, ".pass-why").textContent).not.toContain("UTC");
  });

  it("Resolve on an escalation with an empty response: the message shows on that escalation, still open", async () => {
    const empty = "the response to an escalation cannot be empty";
    const esc = (id: string, decision: string): B.Escalation => ({
      id, decision, zone: "centre-awareness", raised_by: "m-femi", raised_at: AT, status: "open", acknowledged_by: null,
      acknowledged_at: null, response: null, verdict: null, resolved_by: null, resolved_at: null, conflicts: [],
    });
    show(Escalations, new Refusing({ escalations: [esc("e-1", "d-1"), esc("e-2", "d-2")] }, { resolve_escalation: empty }));
    const card = await item("article[aria-label='Escalation of d-2']", "Waiting");
    button(card, "Back").click();
    await shownNextTo(card, empty);
    expect(within(card, ".pill").textContent).toBe("open");
  });

  it("an escalation offers back, coach and stop to stewards only, and tells anyone else whom to ask", async () => {
    const esc: B.Escalation = {
      id: "e-1", decision: "d-1", zone: "centre-intervention", raised_by: "m-femi", raised_at: AT, status: "open", acknowledged_by: null,
      acknowledged_at: null, response: null, verdict: null, resolved_by: null, resolved_at: null, conflicts: [],
    };
    const listing = (id: string, name: string, role: string | null): B.MemberListing => ({
      id, name, role, removed_at: null, removed_by: null, revoked: [], devices: [], teams: [], joined_at: AT, conflicts: [],
    });
    const backend = new Refusing({ escalations: [esc], member_list: [listing("m-ada", "Ada", null), listing("m-femi", "Femi", "steward")] }, {});
    show(Escalations, backend);
    const card = await item("article[aria-label='Escalation of d-1']", "Only stewards");
    expect(card.querySelectorAll("button").length).toBe(0);
    expect(card.textContent).toContain("Only stewards answer escalations: ask Femi");
    unmount(mounted!);
    mounted = null;
    document.body.innerHTML = "";
    show(Escalations, new Refusing({ escalations: [esc], member_list: [listing("m-ada", "Ada", "steward"), listing("m-femi", "Femi", null)] }, {}));
    const mine = await item("article[aria-label='Escalation of d-1']", "Waiting");
    await vi.waitFor(() => expect(button(mine, "Stop")).toBeTruthy());
    expect(button(mine, "Back")).toBeTruthy();
    expect(button(mine, "Coach")).toBeTruthy();
  });

  it("Rotate on a role with no one queued", async () => {
    const none = "no one is queued for Treasurer";
    const role = (id: string, name: string): B.Role => ({
      id, name, purpose: "", accountabilities: [], holder: "m-ada", term_days: null, term_started: AT, queue: [], rotations: [],
      author: "m-ada", created_at: AT, conflicts: [],
    });
    show(Roles, new Refusing({ roles: [role("r-1", "Facilitator"), role("r-2", "Treasurer")] }, { rotate_role: none }));
    const card = await item("article", "Treasurer");
    button(card, "Rotate to next").click();
    await shownNextTo(card, none);
    expect(card.textContent).toContain("Held by Ada");
  });

  it("Mark done on a commitment", async () => {
    const refused = "commitment `k-2` was changed on another device; reload";
    const k = (id: string, what: string): B.Commitment => ({
      id, who: "m-ada", what, due: null, status: "open", decision: null, author: "m-ada", created_at: AT, updated_at: AT, conflicts: [],
    });
    show(Commitments, new Refusing({ commitments: [k("k-1", "Call the council"), k("k-2", "Book the hall")] }, { set_commitment_status: refused }));
    const card = await item("article", "Book the hall");
    button(card, "Mark done").click();
    await shownNextTo(card, refused);
    expect(within(document.body, "#col-open").textContent).toContain("(2)");
  });

  it("Close review without a next date", async () => {
    const needed = "the next review needs a date";
    const review: B.Review = {
      id: "rv-1", date: "2026-12-01", status: "open", participants: [], agenda: ["Heating"], changes: [], learnings: [],
      notes: "", next_date: null, opened_by: "m-ada", opened_at: AT, closed_at: null,
    };
    show(Reviews, new Refusing({ reviews: [review] }, { close_review: needed }));
    const card = await item("article", `Review of ${formatDay("2026-12-01")}`);
    button(card, "Close review").click();
    await shownNextTo(card, needed);
    expect(within(card, ".pill").textContent).toBe("open");
  });

  it("Mark addressed on a tension", async () => {
    const refused = "review `rv-1` is closed: only an open review addresses a tension";
    const tension = (id: string, title: string): B.Tension => ({
      id, kind: "raised", title, summary: "", subject: null, evidence: [], since: AT, raised_by: "m-femi", open: true, closed: null,
    });
    const review: B.Review = {
      id: "rv-1", date: "2026-12-01", status: "open", participants: [], agenda: [], changes: [], learnings: [],
      notes: "", next_date: null, opened_by: "m-ada", opened_at: AT, closed_at: null,
    };
    show(
      Tensions,
      new Refusing({ tensions: [tension("tn-1", "Night shifts alone"), tension("tn-2", "Meetings run late")], reviews: [review], proposals: [] }, { address_tension: refused }),
      {},
      { onvalues: () => {} },
    );
    const card = await item("article.tension", "Meetings run late");
    button(card, "Mark addressed").click();
    await shownNextTo(card, refused);
    expect(within(document.body, "#tn-summary").textContent).toBe("2 open, 0 closed");
  });

  it("Add principle under a value, and Retire this value", async () => {
    const value = (id: string, title: string): B.Value => ({
      id, title, statement: `${title}, always`, protect: null, refuse: null, examples: [], status: "active", author: "m-ada",
      created_at: AT, updated_at: AT, conflicts: [], versions: [],
    });
    const empty = "a principle's statement cannot be empty";
    const last = "principles still derive from `v-2`: retire them first";
    // Ada alone in the circle: she changes values and principles directly.
    show(Values, new Refusing({ principles: [] }, { add_principle: empty, retire_value: last }), {
      members: [MEMBERS[0]], values: [value("v-1", "Care"), value("v-2", "Safety")],
    });
    const card = await item("section.value", "Safety");
    button(card, "Add principle").click();
    await shownNextTo(card, empty);
    button(card, "Retire this value").click();
    await vi.waitFor(() => expect(errorsIn(card)).toEqual([empty, last]));
    expect(card.querySelector(".pill.warn")).toBeNull();
  });

  it("a principle version made by a contested pass is marked not in force", async () => {
    const v: B.Value = {
      id: "v-1", title: "Care", statement: "Care, always", protect: null, refuse: null, examples: [], status: "active", author: "m-ada",
      created_at: AT, updated_at: AT, conflicts: [], versions: [],
    };
    const version = (n: number, statement: string, contested: boolean): B.PrincipleVersion => ({
      version: n, statement, guidance: null, reason: n > 1 ? "Too strict" : null, cites: [], author: "m-ada", at: AT, source: n > 1 ? "pr-1" : null, contested,
    });
    const principle = {
      id: "p-1", statement: "Two people go.", guidance: null, values: ["v-1"], status: "active", supersedes: null, superseded_by: null,
      retired_reason: null, author: "m-ada", created_at: AT, updated_at: AT, conflicts: [], citations: 0,
      versions: [version(1, "Two people go.", false), version(2, "Three people go.", true)],
    } as B.PrincipleView;
    show(Values, new Refusing({ principles: [principle] }, {}), { values: [v], principles: [principle] });
    const card = await item("section.value", "Care");
    const versions = await vi.waitFor(() => {
      const items = [...card.querySelectorAll<HTMLElement>("ol.versions li")];
      expect(items).toHaveLength(2);
      return items;
    });
    expect(versions[0].classList.contains("contested")).toBe(false);
    expect(versions[1].classList.contains("contested")).toBe(true);
    expect(versions[1].textContent).toContain("contested: not in force");
  });

  it("Revoke on an invite", async () => {
    const gone = "invite `i-2` was already used up";
    const invite = (id: string): B.Invite =>
      ({ id, kind: { type: "member" }, created_by: "m-ada", created_at: AT, expires_at: null, max_uses: 1, used_by: [], revoked: false, state: "open" });
    const listing = (m: B.Member): B.MemberListing => ({ ...m, role: m.id === "m-ada" ? "steward" : null, removed_at: null, removed_by: null, revoked: [] });
    show(Members, new Refusing({ member_list: MEMBERS.map(listing), invites: [invite("i-1"), invite("i-2")] }, { revoke_invite: gone }));
    await vi.waitFor(() => expect(document.querySelectorAll("li.invite")).toHaveLength(2));
    const rows = [...document.querySelectorAll<HTMLElement>("li.invite")];
    button(rows[1], "Revoke").click();
    await shownNextTo(rows[1], gone);
  });
});

describe("stewards and their term", () => {
  const listing = (m: B.Member, role: string | null = null): B.MemberListing => ({ ...m, role, removed_at: null, removed_by: null, revoked: [] });
  const esc: B.Escalation = {
    id: "e-1", decision: "d-1", zone: "centre-intervention", raised_by: "m-femi", raised_at: AT, status: "open", acknowledged_by: null,
    acknowledged_at: null, response: null, verdict: null, resolved_by: null, resolved_at: null, conflicts: [],
  };
  const fresh = () => {
    unmount(mounted!);
    mounted = null;
    document.body.innerHTML = "";
  };

  it("when the term ended, Members offers to rotate the office to the next in line, and shows a refusal there", async () => {
    const refused = "the stewards' term runs until 2026-12-24 10:00 UTC; rotation comes after it";
    show(Members, new Refusing({
      member_list: [listing(MEMBERS[0], "steward"), listing(MEMBERS[1])], invites: [],
      stewardship: { stewards: ["m-ada"], until: "2026-11-01T09:00:00Z", by: "pr-9", in_office: false, queue: ["m-femi"], term_days: 30 },
      proposals: [],
    }, { rotate_stewards: refused }));
    const box = await vi.waitFor(() => {
      const s = within(document.body, "[aria-label='Stewards']");
      expect(s.textContent).toContain("the office passes to Femi");
      return s;
    });
    button(box, "Rotate to Femi").click();
    await shownNextTo(box, refused);
  });

  it("Members shows who the stewards are, until when and who named them, or that no steward is in office", async () => {
    const until = "2027-05-19T10:00:00Z";
    show(Members, new Refusing({
      member_list: [listing(MEMBERS[0], "steward"), listing(MEMBERS[1], "steward")], invites: [],
      stewardship: { stewards: ["m-ada", "m-femi"], until, by: "pr-9", in_office: true },
      proposals: [proposal("pr-9", "Ada and Femi steward the pantry", [], { status: "passed" })],
    }, {}));
    const named = await vi.waitFor(() => {
      const s = within(document.body, "[aria-label='Stewards']");
      expect(s.textContent).toContain("Ada and Femi steward the pantry");
      return s;
    });
    const text = named.textContent!.replace(/\s+/g, " ");
    expect(text).toContain("Stewards: Ada, Femi — in office until");
    expect(text).toContain(formatDay(until));
    expect(text).toContain("named by proposal “Ada and Femi steward the pantry”");
    expect(within(named, "time").getAttribute("datetime")).toBe(until);
    fresh();

    show(Members, new Refusing({
      member_list: [listing(MEMBERS[0], "steward"), listing(MEMBERS[1])], invites: [],
      stewardship: { stewards: ["m-ada"], until, by: null, in_office: true },
    }, {}));
    await vi.waitFor(() => expect(within(document.body, "[aria-label='Stewards']").textContent).toContain("as the founder"));
    fresh();

    const ended = "2026-11-01T09:00:00Z";
    show(Members, new Refusing({
      member_list: [listing(MEMBERS[0], "steward"), listing(MEMBERS[1])], invites: [],
      stewardship: { stewards: ["m-ada"], until: ended, by: null, in_office: false },
    }, {}));
    const vacant = await vi.waitFor(() => within(document.body, "[aria-label='Stewards']"));
    const says = vacant.textContent!.replace(/\s+/g, " ");
    expect(says).toContain("No steward is in office.");
    expect(says).toContain(`Their term (Ada) ended on ${formatDay(ended)}: name stewards with a proposal`);
    expect(says).not.toContain("in office until");
    // No one removes a member alone, in office or not: the menu offers leaving and a proposal.
    const labels = [...document.querySelectorAll(".menu button")].map((b) => b.textContent?.trim());
    expect(labels).toEqual(["Leave the circle…", "Propose removal…"]);
  });

  it("Escalations offers no answer once the stewards' term has ended, and says how to name stewards", async () => {
    const stewardship = (in_office: boolean): B.Stewardship => ({ stewards: ["m-ada"], until: "2026-11-01T09:00:00Z", by: null, in_office, queue: [], term_days: null });
    const members = [listing(MEMBERS[0], "steward"), listing(MEMBERS[1])];
    show(Escalations, new Refusing({ escalations: [esc], member_list: members, stewardship: stewardship(false) }, {}));
    const card = await item("article[aria-label='Escalation of d-1']", "No steward is in office");
    expect(card.querySelectorAll("button").length).toBe(0);
    expect(card.textContent).toContain("No steward is in office: name stewards with a proposal");
    expect(card.textContent).not.toContain("ask Ada");
    fresh();

    // In office: Ada answers.
    show(Escalations, new Refusing({ escalations: [esc], member_list: members, stewardship: stewardship(true) }, {}));
    const mine = await item("article[aria-label='Escalation of d-1']", "Waiting");
    await vi.waitFor(() => expect(button(mine, "Stop")).toBeTruthy());
    fresh();

    // A circle of one answers its own escalations, term or no term.
    show(Escalations, new Refusing({ escalations: [esc], member_list: [members[0]], stewardship: stewardship(false) }, {}));
    const alone = await item("article[aria-label='Escalation of d-1']", "Waiting");
    await vi.waitFor(() => expect(button(alone, "Back")).toBeTruthy());
  });

  it("opens a Name stewards proposal with the members picked and the term, and describes it in words", async () => {
    const opened: unknown[] = [];
    const backend = new (class extends Refusing {
      async call(cmd: B.Command, args: unknown): Promise<never> {
        if (cmd === "open_proposal") {
          opened.push(args);
          return "pr-1" as never;
        }
        return super.call(cmd, args);
      }
    })({ proposals: [] }, {});
    show(Proposals, backend);
    const form = await item("form", "Open a proposal");
    const kind = within(form, "#np-kind") as HTMLSelectElement;
    kind.value = "stewards";
    kind.dispatchEvent(new Event("change"));
    const boxes = await vi.waitFor(() => {
      const b = [...form.querySelectorAll<HTMLInputElement>("[aria-labelledby=np-stewards] input[type=checkbox]")];
      expect(b).toHaveLength(2);
      return b;
    });
    expect((within(form, "#np-term") as HTMLInputElement).value).toBe("365");
    boxes[1].click();
    boxes[0].click();
    const term = within(form, "#np-term") as HTMLInputElement;
    term.value = "180";
    term.dispatchEvent(new Event("input"));
    const t = within(form, "#np-title") as HTMLInputElement;
    t.value = "Femi and Ada steward";
    t.dispatchEvent(new Event("input"));
    button(form, "Open proposal").click();
    await vi.waitFor(() => expect(opened).toHaveLength(1));
    expect(opened[0]).toEqual({
      circle: "c-1",
      new: { title: "Femi and Ada steward", body: "", change: { kind: "stewards", members: ["m-femi", "m-ada"], term_days: 180, queue: [] }, window_ms: 7 * 86_400_000 },
    });
    fresh();

    const change: B.ProposalChange = { kind: "stewards", members: ["m-ada", "m-femi"], term_days: 180, queue: [] };
    show(Proposals, new Refusing({ proposals: [proposal("pr-1", "New stewards", [], { change })] }, {}));
    const card = await item("article", "New stewards");
    expect(within(card, ".change-stewards").textContent).toContain("Names Ada and Femi stewards for 180 days");
  });
});

describe("revoking a device", () => {
  const femiLaptop = "f3e1a9c0b2d4e6f8a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7";
  const femiPhone = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
  const adaOld = "aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00aa00";
  const row = (m: B.Member, devices: string[], role: string | null = null, revoked: string[] = []): B.MemberListing => ({
    ...m, devices, role, removed_at: null, removed_by: null, revoked,
  });
  const inOffice: B.Stewardship = { stewards: ["m-ada"], until: null, by: null, in_office: true, queue: [], term_days: null };
  /** Records revoke_device calls; refuses them with `refusal` when given. */
  class Revoking extends Refusing {
    revoked: unknown[] = [];
    constructor(lists: Partial<Record<B.Command, unknown>>, private refusal: string | null = null) {
      super(lists, {});
    }
    async call(cmd: B.Command, args: unknown): Promise<never> {
      if (cmd === "revoke_device") {
        if (this.refusal) throw new BackendError("state", this.refusal);
        this.revoked.push(args);
        return "m-femi" as never;
      }
      return super.call(cmd, args);
    }
  }
  const menuLabels = (li: HTMLElement) => [...li.querySelectorAll(".menu button")].map((b) => b.textContent?.trim());

  it("offers a steward Revoke on another member's devices, never on this device, and says what happens", async () => {
    const backend = new Revoking({
      member_list: [row(MEMBERS[0], [ME.device, adaOld], "steward"), row(MEMBERS[1], [femiLaptop, femiPhone])], invites: [], stewardship: inOffice,
    });
    show(Members, backend);
    const femi = await item("li.member", "Femi");
    await vi.waitFor(() => expect(menuLabels(femi)).toEqual(["Propose removal…", `Revoke device ${femiLaptop.slice(0, 8)}…`, `Revoke device ${femiPhone.slice(0, 8)}…`]));
    // Devices are listed short, with the whole id in the tooltip.
    const code = within(femi, ".devices code");
    expect(code.textContent).toBe(femiLaptop.slice(0, 8));
    expect(code.getAttribute("title")).toBe(femiLaptop);
    // Ada's own row: her other device, not this one.
    const ada = await item("li.member", "Ada");
    expect(menuLabels(ada)).toEqual(["Leave the circle…", `Revoke device ${adaOld.slice(0, 8)}…`]);
    expect(ada.textContent).toContain("this device");

    button(femi, `Revoke device ${femiLaptop.slice(0, 8)}…`).click();
    const confirm = await vi.waitFor(() => within(femi, "[aria-label='Confirm revoking a device']"));
    const says = confirm.textContent!.replace(/\s+/g, " ");
    expect(says).toContain("will be refused from now on and the circle key changes. Femi stays a member and can link a new device.");
    expect(backend.revoked).toEqual([]);
    button(confirm, `Revoke device ${femiLaptop.slice(0, 8)}`).click();
    await vi.waitFor(() => expect(backend.revoked).toEqual([{ circle: "c-1", device: femiLaptop }]));
    await vi.waitFor(() => expect(femi.querySelector("[aria-label='Confirm revoking a device']")).toBeNull());
  });

  it("offers a member who is not a steward Revoke only on their own other devices", async () => {
    const notSteward: B.Stewardship = { stewards: ["m-femi"], until: null, by: null, in_office: true, queue: [], term_days: null };
    show(Members, new Revoking({
      member_list: [row(MEMBERS[0], [ME.device, adaOld]), row(MEMBERS[1], [femiLaptop], "steward")], invites: [], stewardship: notSteward,
    }));
    const ada = await item("li.member", "Ada");
    await vi.waitFor(() => expect(menuLabels(ada)).toEqual(["Leave the circle…", `Revoke device ${adaOld.slice(0, 8)}…`]));
    expect(menuLabels(await item("li.member", "Femi"))).toEqual(["Propose removal…"]);
  });

  it("shows a refused revoke next to that member, and keeps the question open", async () => {
    const refusal = "only a steward in office, or Femi from another of their devices, may revoke device " + femiLaptop;
    show(Members, new Revoking({
      member_list: [row(MEMBERS[0], [ME.device], "steward"), row(MEMBERS[1], [femiLaptop])], invites: [], stewardship: inOffice,
    }, refusal));
    const femi = await item("li.member", "Femi");
    (await vi.waitFor(() => button(femi, `Revoke device ${femiLaptop.slice(0, 8)}…`))).click();
    const confirm = await vi.waitFor(() => within(femi, "[aria-label='Confirm revoking a device']"));
    button(confirm, `Revoke device ${femiLaptop.slice(0, 8)}`).click();
    await vi.waitFor(() => expect(errorsIn(femi)).toEqual([refusal]));
    expect(errorsIn(await item("li.member", "Ada"))).toEqual([]);
    expect(femi.querySelector("[aria-label='Confirm revoking a device']")).not.toBeNull();
  });

  it("marks a revoked device and offers no Revoke on it", async () => {
    show(Members, new Revoking({
      member_list: [row(MEMBERS[0], [ME.device], "steward"), row(MEMBERS[1], [femiLaptop, femiPhone], null, [femiLaptop])], invites: [], stewardship: inOffice,
    }));
    const femi = await item("li.member", "Femi");
    await vi.waitFor(() => expect(menuLabels(femi)).toEqual(["Propose removal…", `Revoke device ${femiPhone.slice(0, 8)}…`]));
    const devices = [...femi.querySelectorAll<HTMLElement>("li.device")];
    expect(devices.map((d) => d.textContent!.replace(/\s+/g, " ").trim())).toEqual([`${femiLaptop.slice(0, 8)} revoked`, femiPhone.slice(0, 8)]);
  });
});
