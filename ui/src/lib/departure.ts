// A decision logged as a deliberate departure from a principle, and what the centre said.
import type { Decision, Escalation } from "../bindings";
import { memberName, principleStatement, type Lookups } from "./names";

/** `Departs from “statement”: why`, or null for a decision that departs from nothing. */
export function departureLine(l: Lookups, d: Pick<Decision, "departs_from" | "departure_why">): string | null {
  if (!d.departs_from) return null;
  return `Departs from “${principleStatement(l, d.departs_from)}”: ${d.departure_why ?? ""}`;
}

const VERDICT_SAYS = {
  back: "the centre backed it",
  coach: "the centre let it stand, with guidance",
  stop: "the centre stopped it",
} as const;

/** What the stewards answered a departure (its escalation), in plain words. */
export function centreAnswer(l: Lookups, e: Escalation | null | undefined): string {
  if (!e || e.status !== "resolved") return "the stewards have not answered yet";
  const said = e.verdict ? VERDICT_SAYS[e.verdict] : "the stewards answered";
  const who = e.resolved_by ? ` (${memberName(l, e.resolved_by)})` : "";
  return e.response ? `${said}: “${e.response}”${who}` : `${said}${who}`;
}
