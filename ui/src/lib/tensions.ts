// How the tensions board groups and explains what the engine detected or people raised.
import type { Proposal, Review, Tension, TensionKind } from "../bindings";
import { formatDay } from "./format";

export const KINDS: { kind: TensionKind; label: string; explain: string }[] = [
  { kind: "divergence", label: "Teams chose differently", explain: "two teams made different choices in the same situation" },
  { kind: "shared-struggle", label: "Teams struggling under one principle", explain: "three or more teams recorded failed or mixed results, or flagged it in retros, within a review cycle" },
  { kind: "failing-principle", label: "A principle keeps failing", explain: "the decisions citing it keep recording failed results" },
  { kind: "edit-conflict", label: "Conflicting edits", explain: "two devices changed a value or principle at the same time; both versions are kept until someone chooses" },
  { kind: "proliferation", label: "Too many values or principles", explain: "more than five active values, or more than three active principles under one value" },
  { kind: "raised", label: "Raised by hand", explain: "a member named a tension the log does not show on its own" },
  { kind: "authority-confusion", label: "Logged below the agreed zone", explain: "a team logged a situation in a lower zone than its zone map sets for it: who decides this is unclear" },
  { kind: "authority-vacuum", label: "No steward in office", explain: "the stewards' term ended and no one has been named since; escalations wait with no one to answer them" },
  { kind: "contested", label: "Passed while the circle was split", explain: "a proposal passed on one side of a partition while someone on the other side answered; it does not take effect until the circle answers again" },
];

export function kindLabel(kind: TensionKind): string {
  return KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

export interface Board {
  open: { kind: TensionKind; label: string; explain: string; tensions: Tension[] }[];
  closed: Tension[];
}

/** Open tensions grouped by kind (every kind with at least one, in the order above), and the
 * closed ones, most recently closed first. */
export function board(tensions: Tension[]): Board {
  const open = KINDS.map((k) => ({ ...k, tensions: tensions.filter((t) => t.open && t.kind === k.kind) })).filter(
    (g) => g.tensions.length > 0,
  );
  const closed = tensions
    .filter((t) => !t.open)
    .sort((a, b) => (b.closed?.at ?? b.since).localeCompare(a.closed?.at ?? a.since));
  return { open, closed };
}

export interface Source {
  id: string;
  label: string;
}

/** What can address a tension: any review, or a proposal that passed. Newest first. */
export function addressSources(reviews: Review[], proposals: Proposal[]): Source[] {
  const rs = [...reviews]
    .sort((a, b) => b.date.localeCompare(a.date))
    .map((r) => ({ id: r.id, label: `Review of ${formatDay(r.date)}${r.closed_at ? "" : " (open)"}` }));
  const ps = proposals
    .filter((p) => p.status === "passed")
    .sort((a, b) => b.opened_at.localeCompare(a.opened_at))
    .map((p) => ({ id: p.id, label: `Proposal: ${p.title}` }));
  return [...rs, ...ps];
}

/** Evidence ids typed by a person: any separators, duplicates dropped. */
export function parseEvidence(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean))];
}
