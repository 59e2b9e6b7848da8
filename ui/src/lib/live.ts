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

/** How the unsynced count should look: a concern only where another device could hold the
 * changes (another member, or a peer sharing the circle). On a circle nobody else is in yet
 * (a new one, a demo) every change is "not on a peer yet", and that is normal. */
export function pendingTone(members: number, sharingPeers: number): "attention" | "quiet" {
  return members > 1 || sharingPeers > 0 ? "attention" : "quiet";
}

export type NetTone = "online" | "calm" | "warn";

/** The header's network indicator. `alone`: the open circle has no other member, so no peer
 * is expected; with no peer ever seen either, being offline is the normal state, not an alarm. */
export function networkLabel(networked: boolean, peers: PeerStatus[], alone = false): { online: boolean; tone: NetTone; text: string; hint: string } {
  const hint = "Grove works fully on this device and syncs with other members' devices when it can reach them.";
  if (!networked) return { online: false, tone: "warn", text: "Offline: networking is off", hint: "Grove could not start networking; restart it to try again." };
  const n = peers.filter((p) => p.connected).length;
  if (n > 0) return { online: true, tone: "online", text: n === 1 ? "Online: 1 peer" : `Online: ${n} peers`, hint };
  if (peers.length === 0) return { online: false, tone: "calm", text: "No peers yet", hint: `${hint} None has connected yet: invite someone from Members & invites.` };
  if (alone) return { online: false, tone: "calm", text: "Only you here", hint: `${hint} This circle has no other member yet.` };
  return { online: false, tone: "warn", text: "Offline: no peer connected", hint };
}

/** A listening or connection address (a libp2p multiaddr) as a person reads it:
 * "192.168.1.4 · TCP port 4001", "192.168.1.4 · QUIC port 4001", "via relay 12D3KooW…abcdef".
 * `peer` is the last /p2p/ id it names, if any (shown shortened, in full on hover). */
export function describeAddr(addr: string): { text: string; peer: string | null } {
  const parts = addr.split("/").filter(Boolean);
  let host: string | null = null;
  let transport: string | null = null;
  let port: string | null = null;
  let relay: string | null = null;
  let peer: string | null = null;
  let local = false;
  for (let i = 0; i < parts.length; i++) {
    const [key, arg] = [parts[i], parts[i + 1]];
    switch (key) {
      case "ip4":
      case "ip6":
      case "dns":
      case "dns4":
      case "dns6":
        host = key === "ip6" ? `[${arg}]` : arg;
        local = arg === "127.0.0.1" || arg === "::1" || arg === "localhost";
        i++;
        break;
      case "tcp":
      case "udp":
        transport = key.toUpperCase();
        port = arg;
        i++;
        break;
      case "quic":
      case "quic-v1":
        transport = "QUIC";
        break;
      case "ws":
      case "wss":
        transport = key === "wss" ? "secure WebSocket" : "WebSocket";
        break;
      case "p2p":
        peer = arg;
        i++;
        break;
      case "p2p-circuit":
        relay = peer;
        peer = null;
        break;
      default:
        break;
    }
  }
  const where = host ? (local ? `${host} (this computer only)` : host) : null;
  const how = transport ? (port ? `${transport} port ${port}` : transport) : null;
  const direct = [where, how].filter(Boolean).join(" · ");
  if (relay !== null) return { text: `via relay ${shortPeer(relay)}${direct ? ` (${direct})` : ""}`, peer };
  return { text: direct || addr, peer };
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
