// Mounting a view over the in-memory FakeBackend, for view tests that follow a flow through
// the engine's rules rather than canned replies. Importing this registers the clean-up.
import { afterEach } from "vitest";
import { flushSync, mount, unmount, type Component } from "svelte";
import type { FakeBackend } from "../fake-backend";
import { Session, sessionContext } from "../lib/session.svelte";

let mounted: Record<string, unknown> | null = null;

/** Unmounts the view shown, if any, and empties the page. */
export function clear() {
  if (mounted) unmount(mounted);
  mounted = null;
  document.body.innerHTML = "";
}
afterEach(clear);

/** Shows `view` on a session open on `circle`, replacing whatever was shown. */
export async function show(view: Component<any>, b: FakeBackend, circle: string, props: Record<string, unknown> = {}) {
  clear();
  const session = new Session(b);
  session.me = await b.call("me", {});
  session.zones = await b.call("zones", {});
  await session.open(circle);
  mounted = mount(view, { target: document.body, props, context: sessionContext(session) });
  flushSync();
}

export const el = <T extends HTMLElement>(css: string): T => {
  const e = document.querySelector<T>(css);
  if (!e) throw new Error(`nothing matches ${css}`);
  return e;
};

/** Sets a field's value as typing (or choosing) would. */
export function set(css: string, value: string) {
  const e = el<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(css);
  e.value = value;
  e.dispatchEvent(new Event(e instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
  flushSync();
}
