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
