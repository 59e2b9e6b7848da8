// The passphrase form's rules, kept out of the component so they can be tested.

/** Set one on an unencrypted home; change or remove the one an encrypted home has. */
export type PassphraseMode = "set" | "change" | "remove";

export interface PassphraseForm {
  current: string;
  next: string;
  confirm: string;
}

/** Which modes a home offers: an unencrypted one can only get a passphrase. */
export function modesFor(encrypted: boolean): PassphraseMode[] {
  return encrypted ? ["change", "remove"] : ["set"];
}

/** What stops the form from being sent, as a sentence; null when it can go. */
export function passphraseProblem(mode: PassphraseMode, f: PassphraseForm): string | null {
  if (mode !== "set" && f.current === "") return "Enter the current passphrase.";
  if (mode === "remove") return null;
  if (f.next === "") return "Enter a new passphrase.";
  if (f.next !== f.confirm) return "The new passphrase and its confirmation differ: type them again.";
  if (mode === "change" && f.next === f.current) return "The new passphrase is the same as the current one.";
  return null;
}

/** The `change_passphrase` arguments for a form that has no problem. */
export function passphraseArgs(mode: PassphraseMode, f: PassphraseForm): { current: string | null; next: string | null } {
  return {
    current: mode === "set" ? null : f.current,
    next: mode === "remove" ? null : f.next,
  };
}
