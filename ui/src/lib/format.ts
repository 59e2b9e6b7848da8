// Every date and time the window shows is written here, so the whole app reads one way:
// a day ("3 Dec 2026" in en-GB, "Dec 3, 2026" in en-US: the user's locale, year always
// shown so a day never means two things), a moment (that day with its time), and relative
// times ("2 days ago", "in 5 days") where how long ago matters more than the date. A view
// that shows a relative time puts the exact moment in its title (see When.svelte).

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The user's locale as the window reports it; undefined lets Intl use the default. A
 * window started under LANG=C reports "c" or "", which Intl refuses with a RangeError, so
 * only a tag Intl accepts is used. */
export function userLocale(): string | undefined {
  if (typeof navigator === "undefined") return undefined;
  for (const tag of [...(navigator.languages ?? []), navigator.language]) {
    try {
      if (tag && Intl.DateTimeFormat.supportedLocalesOf(tag).length) return tag;
    } catch {
      // Not a BCP 47 tag: try the next one.
    }
  }
  return undefined;
}

const DAY_OPTS: Intl.DateTimeFormatOptions = { day: "numeric", month: "short", year: "numeric" };
const MOMENT_OPTS: Intl.DateTimeFormatOptions = { ...DAY_OPTS, hour: "2-digit", minute: "2-digit" };

/** A calendar day, "YYYY-MM-DD", read as that day where the user is (not as UTC midnight,
 * which west of Greenwich is the day before). */
const PLAIN_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `value` (an instant in RFC 3339, or a plain YYYY-MM-DD day) as a Date, or null. */
export function toDate(value: string): Date | null {
  const m = PLAIN_DAY.exec(value);
  if (m) return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

/** The day of `value`: "3 Dec 2026". What cannot be read is shown as it is. */
export function formatDay(value: string, locale = userLocale()): string {
  const d = toDate(value);
  return d ? new Intl.DateTimeFormat(locale, DAY_OPTS).format(d) : value;
}

/** The day and time of `value`: "3 Dec 2026, 14:05". A plain day has no time: its day. */
export function formatMoment(value: string, locale = userLocale()): string {
  if (PLAIN_DAY.test(value)) return formatDay(value, locale);
  const d = toDate(value);
  return d ? new Intl.DateTimeFormat(locale, MOMENT_OPTS).format(d) : value;
}

/** How far `value` is from `now` (ms): "now", "5 minutes ago", "yesterday", "in 5 days",
 * "3 months ago". Plain days count whole days ("today", "tomorrow"). */
export function formatRelative(value: string, now: number, locale = userLocale()): string {
  const d = toDate(value);
  if (!d) return value;
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  if (PLAIN_DAY.test(value)) {
    const today = new Date(now);
    const days = Math.round((d.getTime() - new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime()) / DAY);
    return wholeDays(rtf, days);
  }
  const diff = d.getTime() - now;
  const abs = Math.abs(diff);
  // Truncate towards zero so "59 minutes" never rounds up into "1 hour" early.
  const whole = (unit: number) => Math.trunc(diff / unit);
  if (abs < MINUTE) return rtf.format(0, "second");
  if (abs < HOUR) return rtf.format(whole(MINUTE), "minute");
  if (abs < DAY) return rtf.format(whole(HOUR), "hour");
  return wholeDays(rtf, whole(DAY));
}

function wholeDays(rtf: Intl.RelativeTimeFormat, days: number): string {
  // Days read well up to about six weeks; past that months and years say more.
  if (Math.abs(days) < 45) return rtf.format(days, "day");
  if (Math.abs(days) < 365) return rtf.format(Math.trunc(days / 30), "month");
  return rtf.format(Math.trunc(days / 365), "year");
}

/** A waiting time as a person says it: "just now", "12 min", "5 h", "3 days". */
export function formatWaiting(ms: number): string {
  if (ms < MINUTE) return "just now";
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < 2 * DAY) return `${Math.floor(ms / HOUR)} h`;
  return `${Math.floor(ms / DAY)} days`;
}

/** Today as YYYY-MM-DD in local time, plus `days`: the value a date input holds, not
 * something to show (formatDay does that). */
export function dayFromNow(days: number, now = Date.now()): string {
  const d = new Date(now + days * DAY);
  const mm = String(d.getMonth() + 1).padStart(2, "0");
  const dd = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${mm}-${dd}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-GB")} ${n === 1 ? one : many}`;
}

/** How the engine writes a moment inside its sentences (grove_core `Timestamp::minute`). */
const ENGINE_MINUTE = /(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}) UTC/g;

/** `text` (a sentence from the engine) cut into plain text and the moments it names, as
 * RFC 3339 instants, so a view can write each moment the one way (see When.svelte):
 * "open until 2026-12-03 14:05 UTC" → [{ text: "open until " }, { at: "2026-12-03T14:05:00Z" }]. */
export function momentsIn(text: string): ({ text: string } | { at: string })[] {
  const parts: ({ text: string } | { at: string })[] = [];
  let last = 0;
  for (const m of text.matchAll(ENGINE_MINUTE)) {
    if (m.index > last) parts.push({ text: text.slice(last, m.index) });
    parts.push({ at: `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:00Z` });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
