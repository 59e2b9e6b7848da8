import { describe, expect, it } from "vitest";
import { BackendError } from "../backend";
import { FakeBackend } from "../fake-backend";
import { Session } from "./session.svelte";

describe("locking and unlocking", () => {
  it("starts on the Unlock screen for an encrypted home and loads nothing until unlocked", async () => {
    const fake = new FakeBackend({ passphrase: "river stone" });
    const s = new Session(fake);
    await s.start();
    expect(s.fatal).toBeNull();
    expect(s.home).toEqual({ encrypted: true, locked: true });
    expect(s.me).toBeNull();
    await expect(fake.call("circles", {})).rejects.toMatchObject({ kind: "passphrase" });

    await expect(s.unlock("wrong")).rejects.toMatchObject({ kind: "passphrase", message: expect.stringMatching(/wrong passphrase/) });
    expect(s.home.locked).toBe(true);
    await s.unlock("river stone");
    expect(s.home).toEqual({ encrypted: true, locked: false });
    expect(s.me?.member).toBe("m-me");
    s.dispose();
  });

  it("forgets everything it read on lock, and gets it back on unlock", async () => {
    const fake = new FakeBackend();
    const c = await fake.call("create_circle", { name: "Bakery" });
    const s = new Session(fake);
    await s.start();
    expect(s.home.encrypted).toBe(false);
    await expect(s.lock()).rejects.toBeInstanceOf(BackendError);

    await s.changePassphrase(null, "river stone");
    expect(s.home).toEqual({ encrypted: true, locked: false });
    await s.lock();
    expect(s.home.locked).toBe(true);
    expect([s.me, s.circle, s.circles.length, s.lookups.members.length]).toEqual([null, null, 0, 0]);

    await s.unlock("river stone");
    expect(s.circle).toBe(c.id);
    expect(s.lookups.members.map((m) => m.name)).toEqual(["You"]);

    // Still live after unlocking: a change from elsewhere bumps the version.
    const before = s.version;
    fake.emitChange(c.id);
    for (let i = 0; i < 100 && s.version === before; i++) await new Promise((r) => setTimeout(r, 0));
    expect(s.version).toBeGreaterThan(before);
    s.dispose();
  });

  it("changes and removes the passphrase only with the current one", async () => {
    const fake = new FakeBackend({ passphrase: "old words" });
    const s = new Session(fake);
    await s.start();
    await s.unlock("old words");
    await expect(s.changePassphrase("nope", "new words")).rejects.toMatchObject({ kind: "passphrase" });
    await s.changePassphrase("old words", "new words");
    expect(fake.passphrase).toBe("new words");
    await s.changePassphrase("new words", null);
    expect(s.home).toEqual({ encrypted: false, locked: false });
    s.dispose();
  });
});

describe("the open circle on an encrypted home", () => {
  it("is not remembered in the window's plain storage", async () => {
    const store = new Map<string, string>();
    const ls = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v), removeItem: (k: string) => void store.delete(k) };
    const saved = globalThis.localStorage;
    Object.defineProperty(globalThis, "localStorage", { value: ls, configurable: true });
    try {
      const fake = new FakeBackend();
      await fake.call("create_circle", { name: "Bakery" });
      const s = new Session(fake);
      await s.start();
      expect(store.size).toBe(1);
      await s.changePassphrase(null, "river stone");
      expect(store.size).toBe(0);
      await s.lock();
      await s.unlock("river stone");
      expect(store.size).toBe(0);
      await s.changePassphrase("river stone", null);
      expect(store.size).toBe(1);
      s.dispose();
    } finally {
      Object.defineProperty(globalThis, "localStorage", { value: saved, configurable: true });
    }
  });
});
