// What every view shares: the backend, who I am, the open circle, the names of things in it,
// and a version that bumps whenever the circle changes (here or, later, from a peer), so
// views re-query instead of reloading.
import { getContext, setContext } from "svelte";
import type { CircleSummary, Me, PeerStatus, ZoneInfo } from "../bindings";
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
  /** Whether the node talks to peers at all (false when networking could not start). */
  networked = $state(false);
  /** This device's addresses, for the peers view. */
  addrs = $state<string[]>([]);
  peers = $state<PeerStatus[]>([]);
  /** Circles changed since a peer last confirmed holding the same: changes waiting to sync. */
  unsynced = $state<Set<string>>(new Set());
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
      await this.reloadNetwork();
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

  /** The node's network state; a node without networking is shown offline, not as an error. */
  async reloadNetwork() {
    try {
      const info = await this.backend.call("net_info", {});
      this.networked = true;
      this.addrs = info.addrs;
      this.peers = await this.backend.call("peers", {});
    } catch (e) {
      if (toBackendError(e).kind !== "network") throw e;
      this.networked = false;
      this.addrs = [];
      this.peers = [];
    }
  }

  private markUnsynced(circle: string, changed: boolean) {
    if (this.unsynced.has(circle) === changed) return;
    const next = new Set(this.unsynced);
    if (changed) next.add(circle);
    else next.delete(circle);
    this.unsynced = next;
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
    if (c.type === "circle-changed") this.markUnsynced(c.circle, true);
    if (c.type === "peer-synced") this.markUnsynced(c.circle, false);
    if (c.type !== "circle-changed") {
      // Peers came, went or caught up: the header and the peers view follow.
      await this.reloadNetwork().catch(() => {});
      if (c.type !== "resync") return;
    }
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
