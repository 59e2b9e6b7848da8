// The log's filter bar as plain data, and how it becomes the engine's DecisionFilter.
import type { DecisionFilter, DecisionStatus, Zone } from "../bindings";

export interface LogFilters {
  team: string;
  principle: string;
  value: string;
  zone: Zone | "";
  status: DecisionStatus | "";
  author: string;
  /** YYYY-MM-DD, inclusive, or "". */
  since: string;
  /** YYYY-MM-DD, inclusive, or "". */
  until: string;
  text: string;
  unreadOnly: boolean;
}

export function emptyFilters(): LogFilters {
  return { team: "", principle: "", value: "", zone: "", status: "", author: "", since: "", until: "", text: "", unreadOnly: false };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Days are read as whole local days: since from its first moment, until to its last. */
export function toDecisionFilter(f: LogFilters, me: string): DecisionFilter {
  const text = f.text.trim();
  return {
    team: f.team || null,
    principle: f.principle || null,
    value: f.value || null,
    zone: f.zone || null,
    status: f.status || null,
    author: f.author || null,
    situation: null,
    since: DAY.test(f.since) ? new Date(`${f.since}T00:00:00`).toISOString() : null,
    until: DAY.test(f.until) ? new Date(`${f.until}T23:59:59.999`).toISOString() : null,
    unread_by: f.unreadOnly ? me : null,
    text: text ? text : null,
  };
}

/** How many criteria narrow the log (shown on the "clear filters" button). */
export function activeCount(f: LogFilters): number {
  const { unreadOnly, ...rest } = f;
  return Object.values(rest).filter((v) => typeof v === "string" && v.trim() !== "").length + (unreadOnly ? 1 : 0);
}

/** A since-date after the until-date can match nothing: say so next to the dates. */
export function dateProblem(f: LogFilters): string | null {
  if (DAY.test(f.since) && DAY.test(f.until) && f.since > f.until) {
    return "The start date is after the end date, so nothing can match.";
  }
  return null;
}
