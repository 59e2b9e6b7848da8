// How times and durations read in the window.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A waiting time as a person says it: "just now", "12 min", "5 h", "3 days". */
export function formatWaiting(ms: number): string {
  if (ms < MINUTE) return "just now";
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < 2 * DAY) return `${Math.floor(ms / HOUR)} h`;
  return `${Math.floor(ms / DAY)} days`;
}

/** When something happened, relative to `now` (both ms): time today, "yesterday", or a date. */
export function formatWhen(iso: string, now: number, locale = "en-GB"): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const n = new Date(now);
  const sameDay = d.toDateString() === n.toDateString();
  if (sameDay) return d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  const y = new Date(now - DAY);
  if (d.toDateString() === y.toDateString()) return "yesterday";
  const opts: Intl.DateTimeFormatOptions =
    d.getFullYear() === n.getFullYear() ? { day: "numeric", month: "short" } : { day: "numeric", month: "short", year: "numeric" };
  return d.toLocaleDateString(locale, opts);
}

/** Full date and time, for titles and detail panes. */
export function formatFull(iso: string, locale = "en-GB"): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

/** Today as YYYY-MM-DD in local time, plus `days`. */
export function dayFromNow(days: number, now = Date.now()): string {
  const d = new Date(now + days * DAY);
  const mm = String(d.getMonth() + 1).padStart(2, "0");
  const dd = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${mm}-${dd}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-GB")} ${n === 1 ? one : many}`;
}
