// One user action's progress and failure, so its error can be shown next to its button and
// the form that started it keeps what was typed.
import { toBackendError } from "../backend";

export class Action {
  busy = $state(false);
  error = $state<string | null>(null);

  /** Runs `f`; on failure keeps its readable message and returns undefined. */
  async run<T>(f: () => Promise<T>): Promise<T | undefined> {
    this.busy = true;
    this.error = null;
    try {
      return await f();
    } catch (e) {
      this.error = toBackendError(e).message;
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}

/** What a view needs of one list item's action: the same shape as an Action. */
export interface ItemAction {
  readonly busy: boolean;
  readonly error: string | null;
  run<T>(f: () => Promise<T>): Promise<T | undefined>;
}

/**
 * One action per key (per item of a list), looked up while rendering, e.g.
 * `<ErrorNote message={act(p.id).error} />`.
 *
 * The state lives in two records created with the view, not per key: state created while a
 * view renders is not tracked by the rendering that created it (Svelte ignores reads of a
 * source made in the same reaction), so a per-key Action made on first lookup would never
 * show its error. Call it in a component's script, once.
 */
export function actionMap(): (key: string) => ItemAction {
  const state = new ItemStates();
  const handles = new Map<string, ItemAction>();
  return (key) => {
    let h = handles.get(key);
    if (!h) {
      h = {
        get busy() {
          return state.busy[key] ?? false;
        },
        get error() {
          return state.errors[key] ?? null;
        },
        run: (f) => state.run(key, f),
      };
      handles.set(key, h);
    }
    return h;
  };
}

class ItemStates {
  // Replaced whole on every change, so one source stands for every key.
  busy = $state.raw<Record<string, boolean>>({});
  errors = $state.raw<Record<string, string | null>>({});

  async run<T>(key: string, f: () => Promise<T>): Promise<T | undefined> {
    this.busy = { ...this.busy, [key]: true };
    this.errors = { ...this.errors, [key]: null };
    try {
      return await f();
    } catch (e) {
      this.errors = { ...this.errors, [key]: toBackendError(e).message };
      return undefined;
    } finally {
      this.busy = { ...this.busy, [key]: false };
    }
  }
}
