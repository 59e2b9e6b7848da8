// "Related decisions" while logging one: when a draft says enough to look for how others
// applied the same principle, and how to keep the lookups few.
import type { Draft } from "../bindings";

/** Words of at least three letters: what the engine can match on. */
const words = (s: string) => s.split(/\W+/u).filter((w) => w.length >= 3).length;

/** The draft to ask about, or null while it says too little (no principle picked and fewer
 * than three words of context or choice). Whitespace-only edits give an equal draft. */
export function draftFor(principles: string[], context: string, choice: string): Draft | null {
  const d: Draft = { principles: [...principles].sort(), context: context.trim().replace(/\s+/g, " "), choice: choice.trim().replace(/\s+/g, " ") };
  if (d.principles.length === 0 && words(`${d.context} ${d.choice}`) < 3) return null;
  return d;
}

export function sameDraft(a: Draft | null, b: Draft | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
