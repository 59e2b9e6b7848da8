import { describe, expect, it } from "vitest";
import type { DecisionRow, RowPage } from "../bindings";
import { PagedRows, type FetchPage } from "./pages";

const row = (i: number, tag = ""): DecisionRow => ({
  id: `d-${tag}${i}`, team: "t", author: "m", principles: [], choice: `choice ${i}`, zone: "local",
  zone_unsure: false, situation: null, status: "open", created_at: new Date(i).toISOString(), read: i % 2 === 0,
});

/** An engine over `n` rows whose first answer per query is cold: it counts only `cold` rows. */
function engine(n: number, cold = n, tag = "") {
  const calls: { offset: number; limit: number; whole: boolean }[] = [];
  let warm = cold >= n;
  const fetch: FetchPage = async (offset, limit, whole) => {
    calls.push({ offset, limit, whole });
    if (whole) warm = true;
    const known = warm ? n : Math.max(cold, Math.min(n, offset + limit));
    const rows = Array.from({ length: Math.max(0, Math.min(known, offset + limit) - offset) }, (_, k) => row(offset + k, tag));
    const unread = Array.from({ length: known }, (_, i) => i).filter((i) => i % 2 === 1).length;
    return { total: known, unread, complete: known === n, rows } satisfies RowPage;
  };
  return { fetch, calls };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("the log's pages", () => {
  it("fetches only the pages in view plus one either side", async () => {
    const { fetch, calls } = engine(100_000);
    const p = new PagedRows(() => {}, 100);
    p.reset(fetch);
    p.want({ start: 0, end: 20 });
    await settle();
    expect(calls.map((c) => c.offset)).toEqual([0, 100]);
    expect(p.total).toBe(100_000);
    expect(p.row(150)?.id).toBe("d-150");
    expect(p.row(250)).toBeUndefined();

    p.want({ start: 50_000, end: 50_020 });
    await settle();
    expect(calls.map((c) => c.offset)).toEqual([0, 100, 49_900, 50_000, 50_100]);
    expect(p.row(50_010)?.choice).toBe("choice 50010");
    // Asking again for what is already here costs nothing.
    p.want({ start: 50_000, end: 50_020 });
    await settle();
    expect(calls).toHaveLength(5);
  });

  it("shows a cold first page at once, then asks for the exact count", async () => {
    const { fetch, calls } = engine(10_000, 300);
    let changes = 0;
    const p = new PagedRows(() => changes++, 100);
    p.reset(fetch);
    p.want({ start: 0, end: 10 }, 0);
    await settle();
    await settle();
    expect(calls).toEqual([
      { offset: 0, limit: 100, whole: false },
      { offset: 0, limit: 100, whole: true },
    ]);
    expect(p.total).toBe(10_000);
    expect(p.complete).toBe(true);
    expect(p.unread).toBe(5_000);
    expect(changes).toBeGreaterThanOrEqual(2);
  });

  it("keeps exact counts when a cold page answers after them", async () => {
    const p = new PagedRows(() => {}, 10);
    const answers: ((r: RowPage) => void)[] = [];
    p.reset(() => new Promise((res) => answers.push(res)) as Promise<RowPage>);
    p.want({ start: 0, end: 5 });
    answers[0]({ total: 20, unread: 1, complete: false, rows: [row(0)] });
    await settle();
    answers[2]({ total: 1000, unread: 7, complete: true, rows: [row(0)] });
    await settle();
    answers[1]({ total: 30, unread: 2, complete: false, rows: [row(10)] });
    await settle();
    expect(p.total).toBe(1000);
    expect(p.unread).toBe(7);
    expect(p.row(10)?.id).toBe("d-10");
  });

  it("keeps the old rows on screen until the new query's first page, then only new ones", async () => {
    const p = new PagedRows(() => {}, 10);
    p.reset(engine(50).fetch);
    p.want({ start: 0, end: 30 }, 0);
    await settle();
    expect(p.row(25)?.id).toBe("d-25");

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const next = engine(12, 12, "n");
    p.reset(async (o, l, w) => {
      await gate;
      return next.fetch(o, l, w);
    });
    p.want({ start: 0, end: 5 }, 0);
    expect(p.row(3)?.id).toBe("d-3");
    release();
    await settle();
    await settle();
    expect(p.row(3)?.id).toBe("d-n3");
    expect(p.row(25)).toBeUndefined();
    expect(p.total).toBe(12);
  });

  it("drops answers of a query that was replaced", async () => {
    const p = new PagedRows(() => {}, 10);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const old = engine(40, 40, "old");
    p.reset(async (o, l, w) => {
      await gate;
      return old.fetch(o, l, w);
    });
    p.want({ start: 0, end: 5 }, 0);
    p.reset(engine(3).fetch);
    p.want({ start: 0, end: 5 }, 0);
    release();
    await settle();
    await settle();
    expect(p.total).toBe(3);
    expect(p.row(0)?.id).toBe("d-0");
  });

  it("does not ask past the end once the count is exact", async () => {
    const { fetch, calls } = engine(150);
    const p = new PagedRows(() => {}, 100);
    p.reset(fetch);
    p.want({ start: 0, end: 10 });
    await settle();
    p.want({ start: 140, end: 150 });
    await settle();
    expect(calls.map((c) => c.offset)).toEqual([0, 100]);
  });

  it("marks a row read at once and counts one fewer unread", async () => {
    const p = new PagedRows(() => {}, 10);
    p.reset(engine(10).fetch);
    p.want({ start: 0, end: 10 }, 0);
    await settle();
    expect(p.unread).toBe(5);
    p.markRead(1);
    p.markRead(1);
    expect(p.row(1)?.read).toBe(true);
    expect(p.unread).toBe(4);
  });

  it("reports a failed page, and the next query clears it", async () => {
    const p = new PagedRows(() => {}, 10, (e) => (e as Error).message);
    p.reset(async () => {
      throw new Error("the node stopped");
    });
    p.want({ start: 0, end: 5 }, 0);
    await settle();
    expect(p.error).toBe("the node stopped");
    p.reset(engine(2).fetch);
    p.want({ start: 0, end: 5 }, 0);
    await settle();
    expect(p.error).toBeNull();
  });
});
