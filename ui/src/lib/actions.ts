import { Action } from "./action.svelte";

/** One Action per key (per row of a list), created on first use. A plain map on purpose:
 * creating an Action while rendering must not mutate reactive state. */
export function actionMap(): (key: string) => Action {
  const actions = new Map<string, Action>();
  return (key) => {
    let a = actions.get(key);
    if (!a) actions.set(key, (a = new Action()));
    return a;
  };
}
