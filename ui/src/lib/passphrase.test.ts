import { describe, expect, it } from "vitest";
import { modesFor, passphraseArgs, passphraseProblem } from "./passphrase";

const form = (current: string, next: string, confirm: string) => ({ current, next, confirm });

describe("the passphrase form", () => {
  it("offers set on an unencrypted home, change and remove on an encrypted one", () => {
    expect(modesFor(false)).toEqual(["set"]);
    expect(modesFor(true)).toEqual(["change", "remove"]);
  });

  it("asks for what is missing and catches a mistyped confirmation", () => {
    expect(passphraseProblem("set", form("", "", ""))).toMatch(/new passphrase/);
    expect(passphraseProblem("set", form("", "river stone", "river stnoe"))).toMatch(/differ/);
    expect(passphraseProblem("change", form("", "a b", "a b"))).toMatch(/current passphrase/);
    expect(passphraseProblem("change", form("same", "same", "same"))).toMatch(/same as the current/);
    expect(passphraseProblem("remove", form("", "", ""))).toMatch(/current passphrase/);
  });

  it("lets a complete form through with the arguments its mode needs", () => {
    const f = form("old words", "new words", "new words");
    expect(passphraseProblem("set", form("", "new words", "new words"))).toBeNull();
    expect(passphraseProblem("change", f)).toBeNull();
    expect(passphraseProblem("remove", form("old words", "", ""))).toBeNull();
    expect(passphraseArgs("set", f)).toEqual({ current: null, next: "new words" });
    expect(passphraseArgs("change", f)).toEqual({ current: "old words", next: "new words" });
    expect(passphraseArgs("remove", f)).toEqual({ current: "old words", next: null });
  });
});
