// The one door from the UI to Grove. Components get a Backend from the session and never
// import Tauri: the app uses tauriBackend(), tests use the in-memory fake.
import type * as B from "./bindings";

/** Arguments (by name) and result of every command, generated from the one declaration of
 * each command in src-tauri/src/commands.rs: a call with a wrong or missing argument does
 * not type-check. */
export type Api = B.Api;

export type Args<K extends B.Command> = Api[K][0];
export type Ret<K extends B.Command> = Api[K][1];

/** What the window learns from the node: a circle changed, or "re-query everything". */
export type Change = B.NodeEvent | { type: "resync" };

export interface Backend {
  call<K extends B.Command>(cmd: K, args: Args<K>): Promise<Ret<K>>;
  /** Calls `onChange` for every node change until the returned function is called. */
  subscribe(onChange: (c: Change) => void): Promise<() => void>;
}

/** A failed call: the engine's error kind and its message, meant for people. */
export class BackendError extends Error {
  readonly kind: B.NodeErrorKind | "unavailable";
  constructor(kind: B.NodeErrorKind | "unavailable", message: string) {
    super(message);
    this.kind = kind;
    this.name = "BackendError";
  }
}

/** Turns whatever a call threw into a BackendError without losing a readable message. */
export function toBackendError(e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    const { kind, message } = e as B.CommandError;
    return new BackendError(kind, String(message));
  }
  if (typeof e === "string" && e.length > 0) {
    // Tauri reports argument mismatches as plain strings; they are our bugs, not the user's.
    return new BackendError("unavailable", `Grove could not run that: ${e}`);
  }
  return new BackendError("unavailable", "Grove could not run that; try again, and restart Grove if it keeps failing");
}
