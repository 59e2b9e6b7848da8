// The feedback a change to the circle's charter cites: tensions, decisions and reviews.
// In a circle of several, an amendment (of a value or a principle) must cite at least one;
// the engine refuses it otherwise (grove_core::proposals::check_feedback).

/** Whether `id` names feedback, as the engine reads ids: a tension (`t?-…`), a decision
 * (`d-…`) or a review (`rv-…`). */
export function isFeedbackId(id: string): boolean {
  return /^(d|rv|t[^-])-./.test(id);
}

/** "tension", "decision" or "review"; null for anything else. */
export function citeKind(id: string): "tension" | "decision" | "review" | null {
  if (!isFeedbackId(id)) return null;
  return id.startsWith("d-") ? "decision" : id.startsWith("rv-") ? "review" : "tension";
}

/** What is cited: the ids picked, then those typed (separated by spaces or commas), once each. */
export function citesOf(picked: string[], typed: string): string[] {
  const all = [...picked, ...typed.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)];
  return [...new Set(all)];
}

/** "tension tn-…, decision d-…": cited ids with what each is. */
export function describeCites(ids: string[]): string {
  return ids.map((id) => `${citeKind(id) ?? "item"} ${id}`).join(", ");
}

/** Why an amendment cannot be sent yet (before asking the engine), or null. */
export function citesProblem(cites: string[], required: boolean): string | null {
  const wrong = cites.find((c) => !isFeedbackId(c));
  if (wrong) return `“${wrong}” is no tension, decision or review id: cite the feedback that calls for the change`;
  if (required && cites.length === 0) {
    return "Cite at least one tension, decision or review that calls for this change: in a circle of several members, an amendment answers feedback.";
  }
  return null;
}
