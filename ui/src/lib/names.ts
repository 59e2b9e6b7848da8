// Ids to the names people recognise.
import type { Member, Principle, Team, Value } from "../bindings";

export interface Lookups {
  members: Member[];
  teams: Team[];
  values: Value[];
  principles: Principle[];
}

export function memberName(l: Lookups, id: string): string {
  return l.members.find((m) => m.id === id)?.name || id;
}
export function teamName(l: Lookups, id: string): string {
  return l.teams.find((t) => t.id === id)?.name || id;
}
export function valueTitle(l: Lookups, id: string): string {
  return l.values.find((v) => v.id === id)?.title || id;
}
export function principleStatement(l: Lookups, id: string): string {
  return l.principles.find((p) => p.id === id)?.statement || id;
}
/** "statement — value, value": what the principle picker shows for each principle. */
export function principleLabel(l: Lookups, p: Principle): string {
  const values = p.values.map((v) => valueTitle(l, v)).join(", ");
  return values ? `${p.statement} — ${values}` : p.statement;
}

/** Principles whose statement or value titles contain every typed word. */
export function searchPrinciples(l: Lookups, query: string, includeRetired = false): Principle[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return l.principles.filter(
    (p) => (includeRetired || p.status !== "retired") && words.every((w) => principleLabel(l, p).toLowerCase().includes(w)),
  );
}

/** Engine text names things by id ("3 teams struggle under principle p-…"); people read
 * names. Ids of members, teams, values and principles this circle knows are replaced. */
export function withNames(l: Lookups, text: string): string {
  return text.replace(/\b([mtvp])-[a-z0-9]+\b/g, (id, kind: string) => {
    const name =
      kind === "m" ? l.members.find((x) => x.id === id)?.name
      : kind === "t" ? l.teams.find((x) => x.id === id)?.name
      : kind === "v" ? l.values.find((x) => x.id === id)?.title
      : l.principles.find((x) => x.id === id)?.statement;
    return name ? (kind === "p" ? `“${name}”` : name) : id;
  });
}

/** Who wrote with a device (public key, hex): "Ana", or "Ana (this device)" for this one;
 * null for a device no member of the circle lists. */
export function deviceOwner(l: Lookups, device: string, mine?: string): string | null {
  if (!device) return null;
  const d = device.toLowerCase();
  const m = l.members.find((x) => x.devices.some((k) => k.toLowerCase() === d));
  if (!m) return null;
  return mine && mine.toLowerCase() === d ? `${m.name} (this device)` : m.name;
}
