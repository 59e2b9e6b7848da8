// What the vitality dashboard derives from the engine's Vitality: how each figure reads,
// whether its trend is good news, and the series its charts draw.
import { bin } from "d3-array";
import type { Band, DecayCategory, Figure, Vitality, WeekCount } from "../bindings";

// In the words of the people who use Grove; the precise term stays one hover away
// (CATEGORY_TERMS, shown as the heading's title) for those who know it.
export const CATEGORY_LABELS: Record<DecayCategory, string> = {
  liturgy: "Going through the motions",
  "silent-harm": "Results nobody checks",
  "authority-confusion": "Unclear who decides",
  "centre-withdrawal": "Principles left untended",
};

/** The precise name of each category (docs/design.md, section 4) and what it means, for a tooltip. */
export const CATEGORY_TERMS: Record<DecayCategory, string> = {
  liturgy: "Also called liturgy: decisions get logged but nobody reads them, principles nobody cites.",
  "silent-harm": "Also called silent harm: nobody records how decisions turned out, so harm goes unnoticed.",
  "authority-confusion": "Also called authority confusion: people are unsure of their zone, escalations wait.",
  "centre-withdrawal": "Also called centre withdrawal: the stewards stop tending principles, reviews and roles.",
};

export const BAND_LABELS: Record<Band, string> = { healthy: "Healthy", watch: "Watch", decay: "Decay" };

/** Figures where more is a sign of life; for every other figure more is a sign of decay. */
const MORE_IS_BETTER = new Set(["decision-velocity", "read-coverage"]);

/** The figure's value as people read it: "42%", "3.5 decisions/week", "1 principle". */
export function formatValue(f: Pick<Figure, "value" | "unit"> & { key?: string }, value = f.value): string {
  // "0 days" overdue reads like something is wrong; say what it means.
  if (f.key === "reviews-overdue") return value <= 0 ? "not overdue" : `${value.toLocaleString("en-GB")} ${value === 1 ? "day" : "days"} overdue`;
  const n = Number.isInteger(value) ? value.toLocaleString("en-GB") : value.toLocaleString("en-GB", { maximumFractionDigits: 1 });
  if (f.unit === "%") return `${n}%`;
  const unit = value === 1 ? f.unit.replace(/^(\w+?)s\b/, "$1") : f.unit;
  return `${n} ${unit}`;
}

export type TrendTone = "better" | "worse" | "same";

/** Whether the move since the window before is good news or bad. */
export function trendTone(f: Pick<Figure, "key" | "trend">): TrendTone {
  if (f.trend === "flat") return "same";
  const up = f.trend === "up";
  return up === MORE_IS_BETTER.has(f.key) ? "better" : "worse";
}

/** "↑ from 2.1 decisions/week" — what the trend arrow says, for eyes and screen readers. */
export function trendLabel(f: Figure): string {
  if (f.trend === "flat") return `→ unchanged from the window before`;
  const arrow = f.trend === "up" ? "↑" : "↓";
  return `${arrow} from ${formatValue(f, f.previous)}`;
}

/** The figures in the four categories, in the order docs/design.md names them. */
export function byCategory(figures: Figure[]): { category: DecayCategory; label: string; figures: Figure[]; worst: Band }[] {
  const order = Object.keys(CATEGORY_LABELS) as DecayCategory[];
  const rank: Record<Band, number> = { healthy: 0, watch: 1, decay: 2 };
  return order
    .map((category) => {
      const fs = figures.filter((f) => f.category === category);
      const worst = fs.reduce<Band>((w, f) => (rank[f.band] > rank[w] ? f.band : w), "healthy");
      return { category, label: CATEGORY_LABELS[category], figures: fs, worst };
    })
    .filter((c) => c.figures.length > 0);
}

export interface Point {
  at: Date;
  value: number;
}
export interface Series {
  key: string;
  label: string;
  points: Point[];
}

/** Decisions per week for each team that decided anything in the twelve weeks, busiest
 * first, each with a point for every week (zero where it logged nothing). */
export function velocityByTeam(weeks: WeekCount[], teamName: (id: string) => string): Series[] {
  const totals = new Map<string, number>();
  for (const w of weeks) for (const [t, n] of Object.entries(w.by_team)) totals.set(t, (totals.get(t) ?? 0) + (n ?? 0));
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([team]) => ({
      key: team,
      label: teamName(team),
      points: weeks.map((w) => ({ at: new Date(w.week_start), value: w.by_team[team] ?? 0 })),
    }));
}

/** Share of each week's decisions read by someone outside the author's team, in percent;
 * weeks without decisions have no point rather than a misleading zero. */
export function readCoverage(weeks: WeekCount[]): Series {
  return {
    key: "read-coverage",
    label: "Read outside the team",
    points: weeks
      .filter((w) => w.decisions > 0)
      .map((w) => ({ at: new Date(w.week_start), value: Math.round((w.read_outside_team * 100) / w.decisions) })),
  };
}

export interface WaitBin {
  label: string;
  count: number;
}

/** Hours-based buckets a steward thinks in. */
const WAIT_EDGES = [1, 4, 24, 72, 168];
const WAIT_LABELS = ["under 1 h", "1–4 h", "4–24 h", "1–3 days", "3–7 days", "over 7 days"];

/** Escalation waiting times (hours) counted into the buckets above, every bucket present. */
export function waitBins(hours: number[]): WaitBin[] {
  const bins = bin<number, number>()
    .domain([0, Infinity])
    .thresholds(WAIT_EDGES)(hours.filter((h) => Number.isFinite(h) && h >= 0));
  return WAIT_LABELS.map((label, i) => ({ label, count: bins[i]?.length ?? 0 }));
}

/** The dashboard's headline: replant, or how many categories are in each band. */
export function headline(v: Vitality): string {
  const names = (cs: DecayCategory[]) => cs.map((c) => CATEGORY_LABELS[c].toLowerCase());
  if (v.replant) return `Decaying: ${joinAnd(names(v.replant.categories))}`;
  if (v.decaying.length === 1) return `One sign of decay: ${names(v.decaying)[0]}`;
  const watching = v.figures.filter((f) => f.band === "watch").length;
  return watching ? `Alive, ${watching} ${watching === 1 ? "sign" : "signs"} to watch` : "Alive: every sign is healthy";
}

function joinAnd(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** The replant alert's message, with the categories in plain words, and its steps: the
 * engine's advice, one step per sign that is not healthy in a decaying category (so it never
 * asks for what the figures say is fine), the same steps `grove vitality` prints. */
export function replantAdvice(v: Vitality): { message: string; steps: string[] } | null {
  if (!v.replant) return null;
  const cats = v.replant.categories;
  const steps = v.replant.recommendations;
  return {
    message:
      `Several signs are bad at once (${joinAnd(cats.map((c) => CATEGORY_LABELS[c].toLowerCase()))}): the habits are kept but ` +
      "have stopped doing their job. Bring the people who do the work together around your values: what do we actually " +
      "protect? What does working well together look like now?",
    steps,
  };
}
