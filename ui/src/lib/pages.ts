// The log's rows as pages fetched on demand: only the pages in view (plus one either side)
// cross IPC and live in JS, so a 100,000-entry log costs a few screenfuls, not the log.
import type { DecisionRow, RowPage } from "../bindings";
import type { Range } from "./virtual";

/** Asks the engine for rows `offset..offset+limit` of one query (circle and filters fixed).
 * With `whole` false a cold engine loads only the newest months it needs. */
export type FetchPage = (offset: number, limit: number, whole: boolean) => Promise<RowPage>;

interface Page {
  gen: number;
  rows: DecisionRow[];
}

export class PagedRows {
  /** Decisions matching the query (a lower bound until `complete`). */
  total = 0;
  unread = 0;
  complete = false;
  /** Whether any page of the current query has arrived. */
  loaded = false;
  error: string | null = null;
  private pages = new Map<number, Page>();
  private inflight = new Map<number, number>();
  private gen = 0;
  private fetch: FetchPage | null = null;
  private counting = false;
  /** The query whose counts `total`, `unread` and `complete` are. */
  private countGen = -1;

  constructor(
    private readonly onchange: () => void,
    readonly pageSize = 100,
    private readonly describe: (e: unknown) => string = String,
  ) {}

  /** Row `i` of the log, or undefined while its page is on its way. */
  row(i: number): DecisionRow | undefined {
    return this.pages.get(Math.floor(i / this.pageSize))?.rows[i % this.pageSize];
  }

  /** A new query (filters changed) or the log changed: pages already on screen stay until
   * the first fresh page arrives, so a live update does not flash an empty list. */
  reset(fetch: FetchPage) {
    this.fetch = fetch;
    this.gen += 1;
    this.inflight.clear();
    this.counting = false;
  }

  /** Fetches the pages covering `range` and `prefetch` pages either side, each once per query. */
  want(range: Range, prefetch = 1) {
    if (!this.fetch) return;
    const size = this.pageSize;
    let first = Math.max(0, Math.floor(range.start / size) - prefetch);
    let last = Math.floor(Math.max(range.start, range.end - 1) / size) + prefetch;
    if (this.countGen === this.gen && this.complete) {
      const lastPage = Math.max(0, Math.ceil(this.total / size) - 1);
      last = Math.min(last, lastPage);
      first = Math.min(first, lastPage);
    }
    for (let p = first; p <= last; p++) {
      if (this.pages.get(p)?.gen === this.gen || this.inflight.get(p) === this.gen) continue;
      void this.load(p, false);
    }
  }

  /** Marks row `i` read here at once (the engine confirms with the next fresh page). */
  markRead(i: number) {
    const r = this.row(i);
    if (!r || r.read) return;
    r.read = true;
    this.unread = Math.max(0, this.unread - 1);
    this.onchange();
  }

  private async load(p: number, whole: boolean) {
    const gen = this.gen;
    const fetch = this.fetch;
    if (!fetch) return;
    if (!whole) this.inflight.set(p, gen);
    try {
      const r = await fetch(p * this.pageSize, this.pageSize, whole);
      if (gen !== this.gen) return;
      const first = this.countGen !== gen;
      if (first) {
        // The first fresh page: whatever an older query left on screen goes now.
        for (const [k, v] of this.pages) if (v.gen !== gen) this.pages.delete(k);
      }
      this.pages.set(p, { gen, rows: r.rows });
      // A cold page's counts cover only the months it loaded; once exact counts came, keep them.
      if (first || r.complete || !this.complete) {
        this.total = r.total;
        this.unread = r.unread;
        this.complete = r.complete;
        this.countGen = gen;
      }
      this.loaded = true;
      this.error = null;
      if (!r.complete && !this.counting) {
        this.counting = true;
        void this.load(p, true);
      }
    } catch (e) {
      if (gen !== this.gen) return;
      this.error = this.describe(e);
      this.loaded = true;
    } finally {
      if (this.inflight.get(p) === gen) this.inflight.delete(p);
    }
    this.onchange();
  }
}
