// What every view shares: the backend, who I am, the open circle, the names of things in it,
// and a version that bumps whenever the circle changes (here or, later, from a peer), so
// views re-query instead of reloading.
import { getContext, setContext } from "svelte";
import type { CircleSummary, HomeStatus, Me, PeerStatus, ZoneInfo } from "../bindings";
import { toBackendError, type Backend, type Change } from "../backend";
import type { Lookups } from "./names";

const KEY = Symbol("grove-session");
const LAST_CIRCLE = "grove.circle";

export class Session {
  readonly backend: Backend;
  /** Whether the home is encrypted, and locked (the window then shows only the Unlock screen). */
  home = $state<HomeStatus>({ encrypted: false, locked: false });
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
      this.home = await this.backend.call("home_status", {});
      if (!this.home.locked) await this.load();
    } catch (e) {
      this.fatal = toBackendError(e).message;
    } finally {
      this.loaded = true;
    }
  }

  /** Everything the views share, from a running node. */
  private async load() {
    this.me = await this.backend.call("me", {});
    this.zones = await this.backend.call("zones", {});
    await this.reloadCircles();
    const remembered = globalThis.localStorage?.getItem(LAST_CIRCLE);
    // Left from before the home was encrypted (e.g. by the CLI): not kept in the clear.
    if (this.home.encrypted) globalThis.localStorage?.removeItem(LAST_CIRCLE);
    const pick = this.circles.find((c) => c.id === remembered) ?? this.circles[0];
    if (pick) await this.open(pick.id);
    await this.reloadNetwork();
    this.stop ??= await this.backend.subscribe((c) => void this.onChange(c));
  }

  /** Opens a locked home; a wrong passphrase throws and leaves it locked. */
  async unlock(passphrase: string) {
    await this.backend.call("unlock", { passphrase });
    this.home = await this.backend.call("home_status", {});
    await this.load();
  }

  /** Stops the node and forgets everything read from it, back to the Unlock screen. */
  async lock() {
    await this.backend.call("lock", {});
    // First, so the window goes straight to the Unlock screen with nothing of the app shown.
    this.home = { encrypted: true, locked: true };
    this.dispose();
    this.me = null;
    this.circles = [];
    this.circle = null;
    this.lookups = { members: [], teams: [], values: [], principles: [] };
    this.addrs = [];
    this.peers = [];
    this.version += 1;
  }

  /** Sets (no `current`), changes, or removes (no `next`) the passphrase. The node restarts
   * behind it, on new addresses. */
  async changePassphrase(current: string | null, next: string | null) {
    await this.backend.call("change_passphrase", { current, new: next });
    this.home = await this.backend.call("home_status", {});
    // An encrypted home keeps even the open circle's id off the webview's plain storage.
    if (this.home.encrypted) globalThis.localStorage?.removeItem(LAST_CIRCLE);
    else if (this.circle) globalThis.localStorage?.setItem(LAST_CIRCLE, this.circle);
    await this.reloadNetwork().catch(() => {});
  }

  dispose() {
    this.stop?.();
    this.stop = null;
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

  async open(circle: string) {
    this.circle = circle;
    if (!this.home.encrypted) globalThis.localStorage?.setItem(LAST_CIRCLE, circle);
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
      // Without citation counts: those read every month of the log, and the first screen
      // must not wait for that.
      this.backend.call("principle_list", { circle }),
    ]);
    if (circle === this.circle) this.lookups = { members, teams, values, principles };
  }

  private async onChange(c: Change) {
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

/** The context that gives a view mounted on its own (in a test) this session. */
export function sessionContext(s: Session): Map<unknown, unknown> {
  return new Map([[KEY, s]]);
}
