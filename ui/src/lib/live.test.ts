import { describe, expect, it } from "vitest";
import type { PeerStatus } from "../bindings";
import { FakeBackend } from "../fake-backend";
import { circleSync, cleanCode, describeAddr, inviteLine, networkLabel, peerOwner, pendingLabel, pendingTone, shortPeer } from "./live";
import { Session } from "./session.svelte";

const peer = (id: string, connected: boolean, circles: PeerStatus["circles"]): PeerStatus => ({
  peer: id, member: null, connected, addr: connected ? "/ip4/127.0.0.1/tcp/4001" : null, bytes_sent: 0, bytes_received: 0, circles,
});

async function until(what: string, check: () => boolean) {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 0));
  }
  throw new Error(`never happened: ${what}`);
}

describe("sync state", () => {
  it("counts connected peers per circle and keeps the latest sync", () => {
    const peers = [
      peer("a", true, [{ circle: "c1", in_sync: true, last_sync: "2026-11-30T10:00:00Z" }]),
      peer("b", true, [{ circle: "c1", in_sync: false, last_sync: "2026-11-30T12:00:00Z" }]),
      peer("c", false, [{ circle: "c1", in_sync: false, last_sync: "2026-11-29T12:00:00Z" }, { circle: "c2", in_sync: false, last_sync: null }]),
    ];
    expect(circleSync("c1", peers)).toEqual({ connected: 2, inSync: 1, lastSync: "2026-11-30T12:00:00Z" });
    expect(circleSync("c2", peers)).toEqual({ connected: 0, inSync: 0, lastSync: null });
    expect(circleSync("c3", [])).toEqual({ connected: 0, inSync: 0, lastSync: null });
  });

  it("says how many changes wait for a peer", () => {
    expect(pendingLabel(1)).toBe("1 change made here that no peer has yet");
    expect(pendingLabel(12_345)).toBe("12,345 changes made here that no peer has yet");
  });

  it("is offline without networking or without a connected peer", () => {
    expect(networkLabel(false, [])).toMatchObject({ online: false, tone: "warn", text: "Offline: networking is off" });
    expect(networkLabel(true, [peer("a", false, [])])).toMatchObject({ online: false, tone: "warn", text: "Offline: no peer connected" });
    expect(networkLabel(true, [peer("a", true, []), peer("b", true, [])])).toMatchObject({ online: true, tone: "online", text: "Online: 2 peers" });
  });

  it("stays calm when being alone is normal: no peer ever seen, or nobody else in the circle", () => {
    expect(networkLabel(true, [])).toMatchObject({ online: false, tone: "calm", text: "No peers yet" });
    expect(networkLabel(true, [peer("a", false, [])], true)).toMatchObject({ tone: "calm", text: "Only you here" });
    expect(networkLabel(false, [], true).tone).toBe("warn");
  });

  it("worries about changes no peer has only where another device could have them", () => {
    expect(pendingTone(1, 0)).toBe("quiet");
    expect(pendingTone(7, 0)).toBe("attention");
    expect(pendingTone(1, 1)).toBe("attention");
  });

  it("reads addresses as places and ports, not multiaddresses", () => {
    const id = "12D3KooWAbcdefghijklmnopqrstuvwxyz";
    expect(describeAddr(`/ip4/192.168.1.4/tcp/4001/p2p/${id}`)).toEqual({ text: "192.168.1.4 · TCP port 4001", peer: id });
    expect(describeAddr("/ip4/10.0.0.2/udp/4001/quic-v1").text).toBe("10.0.0.2 · QUIC port 4001");
    expect(describeAddr("/ip4/127.0.0.1/tcp/39001").text).toBe("127.0.0.1 (this computer only) · TCP port 39001");
    expect(describeAddr("/ip6/fe80::1/tcp/4001").text).toBe("[fe80::1] · TCP port 4001");
    expect(describeAddr("/dns4/grove.example.org/tcp/443/wss").text).toBe("grove.example.org · secure WebSocket port 443");
    expect(describeAddr(`/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWRelayRelayRelayRelayRelay/p2p-circuit/p2p/${id}`)).toEqual({
      text: "via relay 12D3KooW…yRelay (1.2.3.4 · TCP port 4001)",
      peer: id,
    });
    expect(describeAddr("/memory/42").text).toBe("/memory/42");
  });

  it("reads codes pasted with line breaks, and names peers briefly", () => {
    expect(cleanCode("  grove1ABCD\n EFGH \t")).toBe("grove1ABCDEFGH");
    expect(shortPeer("12D3KooWAbcdefghijklmnopqrstuvwxyz")).toBe("12D3KooW…uvwxyz");
    expect(peerOwner({ member: "Harbour server" })).toBe("Harbour server's device");
    expect(peerOwner({ member: null })).toMatch(/no shared circle lists/);
  });

  it("describes an invite's state, uses and expiry", () => {
    const line = inviteLine(
      { id: "i1", kind: { type: "member" }, created_by: "m", created_at: "x", expires_at: "2026-12-01T00:00:00Z", max_uses: 2, used_by: ["m2"], revoked: false, state: "open" },
      () => "tomorrow",
    );
    expect(line).toBe("open · used 1/2 · expires tomorrow");
  });
});

describe("the session's live network state", () => {
  it("follows peers connecting and syncing", async () => {
    const fake = new FakeBackend();
    const c = await fake.call("create_circle", { name: "Bakery" });
    const s = new Session(fake);
    await s.start();
    expect(s.networked).toBe(true);
    expect(s.peers).toEqual([]);

    fake.peerList = [peer("p1", true, [{ circle: c.id, in_sync: true, last_sync: "2026-11-30T10:00:00Z" }])];
    fake.emit({ type: "peer-connected", peer: "p1", circles: [c.id] });
    await until("the peer to show", () => s.peers.length === 1);
    fake.emit({ type: "peer-synced", peer: "p1", circle: c.id });
    await until("the peer to be in sync", () => circleSync(c.id, s.peers).inSync === 1);

    fake.peerList = [];
    fake.emit({ type: "peer-disconnected", peer: "p1" });
    await until("the peer to go", () => s.peers.length === 0);
    s.dispose();
  });

  it("opens offline, not broken, when networking could not start", async () => {
    const fake = new FakeBackend();
    fake.networked = false;
    await fake.call("create_circle", { name: "Bakery" });
    const s = new Session(fake);
    await s.start();
    expect(s.fatal).toBeNull();
    expect(s.networked).toBe(false);
  });
});

describe("membership in the in-memory backend", () => {
  it("creates, lists and revokes invites, and joins with a code", async () => {
    const inviter = new FakeBackend();
    const c = await inviter.call("create_circle", { name: "Harbour" });
    const made = await inviter.call("create_invite", { circle: c.id, expires_in_hours: 24, uses: 2 });
    expect(made.code.startsWith("grove1")).toBe(true);
    expect((await inviter.call("invites", { circle: c.id }))[0].state).toBe("open");
    await inviter.call("revoke_invite", { circle: c.id, id: made.id });
    expect((await inviter.call("invites", { circle: c.id }))[0].state).toBe("revoked");

    const joiner = new FakeBackend({ name: "Bea" });
    await expect(joiner.call("join", { code: "hello", name: null })).rejects.toThrow(/not a Grove invite code/);
    joiner.joinable.set(made.code, c);
    expect(await joiner.call("join", { code: made.code, name: "Bea" })).toBe(c.id);
    await expect(joiner.call("join", { code: made.code, name: "Bea" })).rejects.toThrow(/already holds/);
  });

  it("lets no one, not even a steward, remove another member alone; a member may leave, unless the last", async () => {
    const b = new FakeBackend();
    const c = await b.call("create_circle", { name: "Harbour" });
    const [me] = await b.call("member_list", { circle: c.id });
    expect(me.role).toBe("steward");
    await expect(b.call("remove_member", { circle: c.id, member: me.id })).rejects.toThrow(/only member/);
    b.admit(c.id, { id: "m-bea", name: "Bea", devices: ["d-bea"], teams: [], joined_at: c.created_at, conflicts: [] });
    await expect(b.call("remove_member", { circle: c.id, member: "m-bea" })).rejects.toThrow(
      "removing a member needs the circle's consent: grove proposal open --remove-member m-bea",
    );
    expect(await b.call("remove_member", { circle: c.id, member: me.id })).toBe(me.id);
    const after = await b.call("member_list", { circle: c.id });
    expect(after.find((m) => m.id === me.id)?.removed_by).toBe(me.id);
    expect(after.find((m) => m.id === "m-bea")?.removed_at).toBeNull();
  });

  it("revokes a device as the engine does: a steward, or the member from another device; the member stays", async () => {
    const b = new FakeBackend();
    const c = await b.call("create_circle", { name: "Harbour" });
    b.admit(c.id, { id: "m-bea", name: "Bea", devices: ["d-bea1", "d-bea2"], teams: [], joined_at: c.created_at, conflicts: [] });
    b.admit(c.id, { id: b.me.member, name: "You", devices: ["d-old"], teams: [], joined_at: c.created_at, conflicts: [] });
    await expect(b.call("revoke_device", { circle: c.id, device: b.me.device })).rejects.toThrow("that is this device: revoke it from another device of yours, or ask a steward");
    expect(await b.call("revoke_device", { circle: c.id, device: "d-bea1" })).toBe("m-bea");
    expect(await b.call("revoke_device", { circle: c.id, device: "d-old" })).toBe(b.me.member);
    await expect(b.call("revoke_device", { circle: c.id, device: "d-bea1" })).rejects.toThrow("device d-bea1 is already revoked");
    await expect(b.call("revoke_device", { circle: c.id, device: "d-nobody" })).rejects.toThrow(/no device/);
    const bea = (await b.call("member_list", { circle: c.id })).find((m) => m.id === "m-bea")!;
    expect([bea.removed_at, bea.revoked]).toEqual([null, ["d-bea1"]]);

    // Bea, on her second device and not a steward, revokes only her own.
    const other = new FakeBackend({ name: "Bea" });
    other.me = { member: "m-bea", device: "d-bea2", name: "Bea" };
    const joined = { ...c, created_by: "m-ana" };
    other.joinable.set("grove1X", joined);
    await other.call("join", { code: "grove1X", name: "Bea" });
    other.admit(c.id, { id: "m-ana", name: "Ana", devices: ["d-ana"], teams: [], joined_at: c.created_at, conflicts: [] });
    other.admit(c.id, { id: "m-bea", name: "Bea", devices: ["d-bea3"], teams: [], joined_at: c.created_at, conflicts: [] });
    await expect(other.call("revoke_device", { circle: c.id, device: "d-ana" })).rejects.toThrow(
      "only a steward in office, or Ana from another of their devices, may revoke device d-ana",
    );
    expect(await other.call("revoke_device", { circle: c.id, device: "d-bea3" })).toBe("m-bea");
  });
});
