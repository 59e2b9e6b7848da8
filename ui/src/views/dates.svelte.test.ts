// @vitest-environment jsdom
// Every date a view shows is written by lib/format, one way: each sits in a <time> whose
// text is that instant's day, moment or relative time in the user's locale, with the exact
// moment as its title; and no other date shape ("2026-12-03", "12/13/2026", RFC 3339) is
// left in the page's text. Views are mounted over a backend serving fixed lists, with a
// fixed "now" and the user's locale pinned to en-GB.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flushSync, mount, unmount, type Component } from "svelte";
import { BackendError, type Backend, type Change } from "../backend";
import type * as B from "../bindings";
import DayField from "../lib/DayField.svelte";
import { formatDay, formatMoment, formatRelative } from "../lib/format";
import { Session, sessionContext } from "../lib/session.svelte";
import Commitments from "./Commitments.svelte";
import Escalations from "./Escalations.svelte";
import Proposals from "./Proposals.svelte";
import Reviews from "./Reviews.svelte";
import Roles from "./Roles.svelte";
import Tensions from "./Tensions.svelte";

const NOW = Date.parse("2026-11-22T15:00:00Z");
const AT = "2026-11-20T10:00:00Z";
const LATER = "2026-11-21T09:30:00Z";
const ME: B.Me = { member: "m-ada", device: "d-ada", name: "Ada" };
const member = (id: string, name: string): B.Member => ({ id, name, devices: [], teams: [], joined_at: AT, conflicts: [] });

class Serving implements Backend {
  constructor(private lists: Partial<Record<B.Command, unknown>>) {}
  async call(cmd: B.Command, _args: unknown): Promise<never> {
    if (cmd in this.lists) return structuredClone(this.lists[cmd]) as never;
    throw new BackendError("unavailable", `${cmd} is not part of this test`);
  }
  async subscribe(_f: (c: Change) => void) {
    return () => {};
  }
}

let mounted: Record<string, unknown> | null = null;
beforeEach(() => {
  vi.spyOn(navigator, "languages", "get").mockReturnValue(["en-GB"]);
});
afterEach(() => {
  if (mounted) unmount(mounted);
  mounted = null;
  document.body.innerHTML = "";
  vi.restoreAllMocks();
});

function show(view: Component<any>, lists: Partial<Record<B.Command, unknown>>, props: Record<string, unknown> = {}) {
  const session = new Session(new Serving(lists));
  session.me = ME;
  session.circle = "c-1";
  session.now = NOW;
  session.lookups = { members: [member("m-ada", "Ada"), member("m-femi", "Femi")], teams: [], values: [], principles: [] };
  mounted = mount(view, { target: document.body, props, context: sessionContext(session) });
}

/** Other ways of writing a date that must not reach the screen. */
const FOREIGN = [/\d{4}-\d{2}-\d{2}/, /\d{1,2}\/\d{1,2}\/\d{2,4}/, /\d{2}:\d{2}:\d{2}/];

/** Waits for `expected` <time>s, then checks each one and the page's text. */
async function datesFollowTheFormat(expected: string[]) {
  await vi.waitFor(() => expect(document.querySelectorAll("time").length).toBe(expected.length));
  const times = [...document.querySelectorAll("time")];
  for (const t of times) {
    const at = t.getAttribute("datetime") ?? "";
    expect([formatDay(at), formatMoment(at), formatRelative(at, NOW)]).toContain(t.textContent);
    expect(t.title).toBe(formatMoment(at));
  }
  expect(times.map((t) => t.textContent)).toEqual(expected);
  const text = document.body.textContent ?? "";
  for (const shape of FOREIGN) expect(text).not.toMatch(shape);
}

describe("dates in views", () => {
  it("escalations show when they were raised as a moment", async () => {
    const esc: B.Escalation = {
      id: "e-1", decision: "d-1", zone: "centre-awareness", raised_by: "m-femi", raised_at: AT, status: "open", acknowledged_by: null,
      acknowledged_at: null, response: null, verdict: null, resolved_by: null, resolved_at: null, conflicts: [],
    };
    show(Escalations, { escalations: [esc], decision: { choice: "Called legal support" } });
    await datesFollowTheFormat([formatMoment(AT)]);
    // en-GB, day first with its year (the hour depends on the test machine's time zone).
    expect(document.querySelector("time")?.textContent).toMatch(/^20 Nov 2026, \d\d:\d\d$/);
    expect(document.body.textContent).toContain("Waiting 2 days");
  });

  it("reviews show their days, and the next one", async () => {
    const review = (id: string, date: string, status: B.Review["status"], next: string | null): B.Review => ({
      id, date, status, participants: [], agenda: [], changes: [], learnings: [], notes: "", next_date: next,
      opened_by: "m-ada", opened_at: AT, closed_at: status === "closed" ? LATER : null,
    });
    show(Reviews, { reviews: [review("rv-1", "2026-10-01", "closed", "2026-12-13"), review("rv-2", "2026-12-13", "open", null)] });
    await datesFollowTheFormat(["1 Oct 2026", "13 Dec 2026", "13 Dec 2026"]);
    // An open review's empty "Next review" reads as empty, not as today's date.
    const next = document.querySelector<HTMLElement>("#next-rv-2");
    expect(next?.tagName).toBe("BUTTON");
    expect(next?.textContent).toBe("no date yet");
  });

  it("roles say when a term ends relative to now, commitments their due day", async () => {
    const role: B.Role = {
      id: "r-1", name: "Facilitator", purpose: "", accountabilities: [], holder: "m-ada", term_days: 7, term_started: AT, queue: [],
      rotations: [{ at: AT, from: null, to: "m-ada" }], author: "m-ada", created_at: AT, conflicts: [],
    };
    show(Roles, { roles: [role] });
    await datesFollowTheFormat(["in 4 days", formatMoment(AT)]);
    expect(document.body.textContent).toContain("term ends in 4 days");
    unmount(mounted!);
    document.body.innerHTML = "";
    const k: B.Commitment = {
      id: "k-1", who: "m-ada", what: "Book the hall", due: "2026-12-03", status: "open", decision: null, author: "m-ada",
      created_at: AT, updated_at: AT, conflicts: [],
    };
    show(Commitments, { commitments: [k] });
    await datesFollowTheFormat(["3 Dec 2026"]);
  });

  it("tensions and proposals show moments", async () => {
    const tension = (id: string, title: string, closed: B.TensionClosure | null): B.Tension => ({
      id, kind: "raised", title, summary: "", subject: null, evidence: [], since: AT, raised_by: "m-femi", open: !closed, closed,
    });
    show(
      Tensions,
      { tensions: [tension("tn-1", "Night shifts alone", null), tension("tn-2", "Meetings run late", { source: "rv-1", at: LATER, by: "m-ada", note: null })], reviews: [], proposals: [] },
      { onvalues: () => {} },
    );
    // The open one says since when, the closed one when it was addressed.
    await datesFollowTheFormat([formatMoment(AT), formatMoment(LATER)]);
    unmount(mounted!);
    document.body.innerHTML = "";
    const proposal: B.ProposalView = {
      id: "pr-1", title: "First names", body: "", change: { kind: "general" }, status: "open", opened_by: "m-ada", opened_at: AT,
      window_ms: 7 * 86_400_000, version: 1, revised_at: AT, closed_by: null, closed_at: null, outcome: null, responses: [],
      receipts: [], contest: null, log: [], deadline: "2026-12-11T10:00:00Z", voices: [], blocking: [], can_pass: true,
    };
    show(Proposals, { proposals: [proposal] });
    await datesFollowTheFormat([formatMoment(AT)]);
  });
});

describe("an optional day", () => {
  it("reads as empty until a day is picked, and can be cleared", async () => {
    const props = $state({ value: "" as string | undefined });
    mounted = mount(DayField, {
      target: document.body,
      props: {
        id: "f-since",
        label: "From",
        get value() {
          return props.value;
        },
        set value(v) {
          props.value = v;
        },
      },
    });
    const field = () => document.querySelector<HTMLElement>("#f-since")!;
    expect(field().tagName).toBe("BUTTON");
    expect(field().textContent).toBe("any day");
    expect(document.querySelector("input[type=date]")).toBeNull();

    // Escape with no day picked goes back to "any day".
    field().click();
    await vi.waitFor(() => expect(field().tagName).toBe("INPUT"));
    field().dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    flushSync();
    expect(field().textContent).toBe("any day");

    field().click();
    await vi.waitFor(() => expect(field().tagName).toBe("INPUT"));
    const input = field() as HTMLInputElement;
    input.value = "2026-12-03";
    input.dispatchEvent(new Event("input"));
    flushSync();
    expect(props.value).toBe("2026-12-03");
    expect(input.title).toBe("3 Dec 2026");

    document.querySelector<HTMLButtonElement>("button[aria-label='Clear From']")!.click();
    flushSync();
    expect(props.value).toBe("");
    expect(field().tagName).toBe("BUTTON");
    expect(field().textContent).toBe("any day");
  });
});
