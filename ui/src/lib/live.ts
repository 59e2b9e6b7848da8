// What the peers view and the header say about the network, from the node's peer list.
import type { Invite, PeerStatus } from "../bindings";

/** One circle's sync state as a person needs it. */
export interface CircleSync {
  /** Connected peers that share the circle. */
  connected: number;
  /** Of those, how many are known to hold exactly what this device holds. */
  inSync: number;
  /** The latest time any peer was known to be in sync, or null if none ever was. */
  lastSync: string | null;
}

export function circleSync(circle: string, peers: PeerStatus[]): CircleSync {
  let connected = 0;
  let inSync = 0;
  let lastSync: string | null = null;
  for (const p of peers) {
    const c = p.circles.find((c) => c.circle === circle);
    if (!c) continue;
    if (p.connected) {
      connected += 1;
      if (c.in_sync) inSync += 1;
    }
    if (c.last_sync && (!lastSync || c.last_sync > lastSync)) lastSync = c.last_sync;
  }
  return { connected, inSync, lastSync };
}

/** The node's count of changes made here that no peer has yet, as a person reads it. */
export function pendingLabel(n: number): string {
  return n === 1 ? "1 change made here that no peer has yet" : `${n.toLocaleString("en-GB")} changes made here that no peer has yet`;
}

/** The header's network indicator. */
export function networkLabel(networked: boolean, peers: PeerStatus[]): { online: boolean; text: string } {
  if (!networked) return { online: false, text: "Offline: networking is off" };
  const n = peers.filter((p) => p.connected).length;
  if (n === 0) return { online: false, text: "Offline: no peers" };
  return { online: true, text: n === 1 ? "Online: 1 peer" : `Online: ${n} peers` };
}

/** A peer id short enough to read and still tell peers apart. */
export function shortPeer(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

/** Whose device a peer is, as the circles shared with it record them. */
export function peerOwner(p: Pick<PeerStatus, "member">): string {
  return p.member ? `${p.member}'s device` : "A device no shared circle lists";
}

/** A pasted invite code without the spaces and line breaks chat apps and emails add. */
export function cleanCode(text: string): string {
  return text.replace(/\s+/g, "");
}

/** Invite expiry choices, in hours (null: never). */
export const EXPIRIES: { hours: number | null; label: string }[] = [
  { hours: 1, label: "in 1 hour" },
  { hours: 24, label: "in 1 day" },
  { hours: 24 * 7, label: "in 7 days" },
  { hours: 24 * 30, label: "in 30 days" },
  { hours: null, label: "never" },
];

/** "open · used 1/2 · expires …" for the invites list. */
export function inviteLine(i: Invite, when: (iso: string) => string): string {
  const parts = [i.state === "used-up" ? "used up" : i.state, `used ${i.used_by.length}/${i.max_uses}`];
  if (i.kind.type === "device") parts.push("links a device");
  if (i.expires_at) parts.push(`${i.state === "expired" ? "expired" : "expires"} ${when(i.expires_at)}`);
  return parts.join(" · ");
}
