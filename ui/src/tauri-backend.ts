// The Backend over Tauri's IPC: each call is one Rust command.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { NODE_EVENT, NODE_RESYNC, type NodeEvent } from "./bindings";
import { toBackendError, type Backend } from "./backend";

export function tauriBackend(): Backend {
  return {
    async call(cmd, args) {
      try {
        return await invoke(cmd, args as Record<string, unknown>);
      } catch (e) {
        throw toBackendError(e);
      }
    },
    async subscribe(onChange) {
      const stopEvents = await listen<NodeEvent>(NODE_EVENT, (e) => onChange(e.payload));
      const stopResync = await listen(NODE_RESYNC, () => onChange({ type: "resync" }));
      return () => {
        stopEvents();
        stopResync();
      };
    },
  };
}

/** Whether this page runs inside the Tauri window (else: a browser, e.g. `vite dev`). */
export function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}
