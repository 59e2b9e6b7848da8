// What every view shares: the backend, who I am, the open circle, the names of things in it,
// and a version that bumps whenever the circle changes (here or, later, from a peer), so
// views re-query instead of reloading.
import { getContext, setContext } from "svelte";
import type { CircleSummary, Me, ZoneInfo } from "../bindings";
import { toBackendError, type Backend, type Change } from "../backend";
import type { Lookups } from "./names";

const KEY = Symbol("grove-session");
const LAST_CIRCLE = "grove.circle";

export class Session {
  readonly backend: Backend;
  me = $state<Me | null>(null);
  circles = $state<CircleSummary[]>([]);
  circle = $state<string | null>(null);
  lookups = $state<Lookups>({ members: [], teams: [], values: [], principles: [] });
  zones = $state<ZoneInfo[]>([]);
  version = $state(0);
  /** Set when the node could not start: the window shows only this. */
  fatal = $state<string | null>(null);
  loaded = $state(false);
  /** Wall-clock "now" for waiting times; ticks once a minute. */
  now = $state(Date.now());
  private stop: (() => void) | null = null;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async start(): Promise<void> {
    try {
      this.me = await this.backend.call("me", {});
      this.zones = await this.backend.call("zones", {});
      await this.reloadCircles();
      const remembered = globalThis.localStorage?.getItem(LAST_CIRCLE);
      const pick = this.circles.find((c) => c.id === remembered) ?? this.circles[0];
      if (pick) await this.open(pick.id);
      this.stop = await this.backend.subscribe((c) => void this.onChange(c));
    } catch (e) {
      this.fatal = toBackendError(e).message;
    } finally {
      this.loaded = true;
    }
  }

  dispose() {
    this.stop?.();
  }

  async reloadCircles() {
    this.circles = await this.backend.call("circles", {});
  }

  async open(circle: string) {
    this.circle = circle;
    globalThis.localStorage?.setItem(LAST_CIRCLE, circle);
    await this.reloadLookups();
    this.version += 1;
  }

  async reloadLookups() {
    const circle = this.circle;
    if (!circle) return;
    const [members, teams, values, principles] = await Promise.all([
      this.backend.call("members", { circle }),
      this.backend.call("teams", { circle }),
      this.backend.call("values", { circle }),
      this.backend.call("principles", { circle }),
    ]);
    if (circle === this.circle) this.lookups = { members, teams, values, principles };
  }

  private async onChange(c: Change) {
    // Peers coming and going change no data; their changes arrive as circle-changed.
    if (c.type !== "circle-changed" && c.type !== "resync") return;
    if (c.type === "circle-changed" && c.circle !== this.circle) {
      await this.reloadCircles();
      return;
    }
    try {
      await Promise.all([this.reloadLookups(), this.reloadCircles()]);
    } finally {
      this.version += 1;
    }
  }
}

export function provideSession(s: Session) {
  setContext(KEY, s);
}

export function useSession(): Session {
  return getContext<Session>(KEY);
}
