import { describe, expect, it } from "vitest";
import { FakeBackend } from "../fake-backend";
import { Session } from "./session.svelte";

async function until(what: string, check: () => boolean) {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 0));
  }
  throw new Error(`never happened: ${what}`);
}

describe("the session", () => {
  it("opens the only circle and loads the names in it", async () => {
    const fake = new FakeBackend({ name: "Ada" });
    const c = await fake.call("create_circle", { name: "Bakery" });
    const s = new Session(fake);
    await s.start();
    expect(s.fatal).toBeNull();
    expect(s.circle).toBe(c.id);
    expect(s.lookups.members.map((m) => m.name)).toEqual(["Ada"]);
  });

  it("re-queries when the node reports a change, without a reload", async () => {
    const fake = new FakeBackend();
    const c = await fake.call("create_circle", { name: "Bakery" });
    const s = new Session(fake);
    await s.start();
    const before = s.version;
    // A change made elsewhere (another view now, a peer once sync lands) arrives as an event.
    await fake.call("add_value", { circle: c.id, new: { title: "Care", statement: "We look after each other", protect: null, refuse: null, examples: [] } });
    await until("the new value to show", () => s.lookups.values.length === 1);
    await until("views to be told to re-query", () => s.version > before);
    s.dispose();
  });

  it("re-queries on data changes and resyncs, not when peers merely come and go", async () => {
    const fake = new FakeBackend();
    await fake.call("create_circle", { name: "Bakery" });
    const s = new Session(fake);
    await s.start();
    const before = s.version;
    fake.emit({ type: "peer-connected", peer: "12D3KooW-peer", circles: [] });
    fake.emit({ type: "listening", addr: "/ip4/127.0.0.1/tcp/4001" });
    await new Promise((r) => setTimeout(r, 0));
    expect(s.version).toBe(before);
    fake.emit({ type: "resync" });
    await until("a resync to re-query", () => s.version > before);
    s.dispose();
  });

  it("shows why the node could not start instead of the app", async () => {
    const s = new Session({
      call: async () => {
        throw { kind: "locked", message: "another Grove is already using this data" };
      },
      subscribe: async () => () => {},
    });
    await s.start();
    expect(s.fatal).toBe("another Grove is already using this data");
    expect(s.loaded).toBe(true);
  });
});
