// The words Grove uses, defined once. The Help view lists them, zone and situation pills
// carry them as tooltips, and README.md's "Words Grove uses" repeats them word for word
// (glossary.test.ts fails when the two differ), so people meet one meaning everywhere.
import type { Zone } from "../bindings";

export interface Term {
  /** Stable key, used for anchors (`#word-zone`) and lookups. */
  id: string;
  /** The word as Grove shows it. */
  term: string;
  /** What it means, in the words of the people who use it. */
  meaning: string;
}

export const GLOSSARY: Term[] = [
  { id: "value", term: "value", meaning: "Something your group will not trade away, such as care or fairness. Principles come from values. Once the circle has two members, values change only by a passed proposal." },
  {
    id: "principle",
    term: "principle",
    meaning: "A rule of thumb that puts a value into practice. People cite the principles they applied when they log a decision. It changes only by a passed proposal that cites the feedback demanding it.",
  },
  {
    id: "principle-keeper",
    term: "principle keeper",
    meaning: "A member the circle named, for a term, to tend its values and principles. While keepers are in office, every change to them needs one keeper's consent.",
  },
  {
    id: "zone",
    term: "zone",
    meaning: "How far a decision reaches, and so who else must hear of it. The person deciding picks one of four zones when logging it.",
  },
  { id: "local", term: "local", meaning: "A zone: decide and log it; no one else needs to act." },
  { id: "principle-check", term: "principle-check", meaning: "A zone: check with a peer that the principle applies before acting. Name who you consulted; each of them acknowledges the decision." },
  { id: "centre-awareness", term: "centre-awareness", meaning: "A zone: act, and make sure the stewards know. The decision lands in their escalations." },
  { id: "centre-intervention", term: "centre-intervention", meaning: "A zone: the stewards must answer before or while you act. The decision lands in their escalations." },
  {
    id: "unsure",
    term: "? (unsure)",
    meaning: "A zone followed by a question mark: the person was not sure which zone applied. Many of these mean people are unclear who decides what.",
  },
  {
    id: "situation",
    term: "situation tag",
    meaning: "A short #tag for the kind of situation a decision dealt with, such as #supplier-change, so similar decisions can be found together.",
  },
  { id: "escalation", term: "escalation", meaning: "A decision in a centre zone, waiting in the stewards' inbox until one of them acknowledges and answers it." },
  { id: "steward", term: "steward", meaning: "A member who looks after the whole circle for a term the circle sets by proposal: answers escalations and revokes lost or seized devices. Removing a member takes a proposal the circle passes, for stewards too." },
  {
    id: "consent",
    term: "consent",
    meaning: "How proposals pass: each member answers consent (I can live with it), concern (yes, but note this) or objection (this would harm us, and why). A proposal passes when another member has consented, no objection stands, and everyone has answered or let their window close.",
  },
  { id: "objection", term: "objection", meaning: "An answer to a proposal that stops it passing. It must give a reason, so it can be answered. Only the member who objected can lift it; the proposer can revise the proposal instead." },
  { id: "window", term: "window", meaning: "The time each member has to answer a proposal, counted from when their own device received it. Saying nothing until it closes counts as consent." },
  { id: "contested", term: "contested", meaning: "A proposal passed on one side of a split circle while someone on the other side answered it. It does not take effect until that answer is settled." },
  { id: "departure", term: "departure", meaning: "A decision logged as a deliberate break from a principle, with the reason. It always reaches the stewards, who back it, coach or stop it." },
  {
    id: "tension",
    term: "tension",
    meaning: "A sign that a value or principle is not working as meant: teams choosing differently, a principle that keeps failing, conflicting edits. Anyone can raise one; a review or proposal addresses it.",
  },
  {
    id: "vitality",
    term: "vitality",
    meaning: "Nine measures, read from the log, of whether the circle's way of deciding is alive or just going through the motions.",
  },
  {
    id: "liturgy",
    term: "going through the motions",
    meaning: "Decisions logged but nobody reads them, principles nobody cites: the habit kept, its purpose lost. Also called liturgy.",
  },
  {
    id: "replant",
    term: "replant",
    meaning: "What vitality asks for when several signs are bad at once: bring the people who do the work together and start again from your values.",
  },
  { id: "review", term: "review", meaning: "A regular meeting where the circle looks at its principles, changes those that no longer help and sets the next date." },
  { id: "role", term: "role term", meaning: "How long someone holds a role before it rotates to the next person in its queue." },
];

const BY_ID = new Map(GLOSSARY.map((t) => [t.id, t]));

/** The meaning of a glossary word by id; empty for an unknown id. */
export function meaning(id: string): string {
  return BY_ID.get(id)?.meaning ?? "";
}

/** What a zone pill says on hover: the zone's meaning, and the "?" if the author was unsure. */
export function zoneTooltip(zone: Zone, unsure = false): string {
  const m = meaning(zone);
  return unsure ? `${m} ${meaning("unsure")}` : m;
}

/** What a #situation pill says on hover. */
export function situationTooltip(tag: string): string {
  return `#${tag}: ${meaning("situation")}`;
}

/** The README's form of one entry: a list item with the word in bold. */
export function readmeLine(t: Term): string {
  return `- **${t.term}**: ${t.meaning}`;
}
