// The real window on encrypted homes: a passphrase set from the app, Lock, the Unlock screen
// (a wrong passphrase shown as an error next to the field, the right one bringing the circle
// back); and a home the CLI encrypted, unlocked in the app and decrypted again.
// Takes the unlock screenshot.
import { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keys } from "./webdriver.mjs";
import { App, bin, cli, grove, removeDir, shot, step } from "./app.mjs";

// Ports of their own: another suite's driver may still be letting go of its port.
const basePort = Number(process.env.TAURI_DRIVER_PORT_LOCK ?? 4448);

const focusedId = (wd) => wd.exec("return document.activeElement ? document.activeElement.id : '';");

describe("locking a home from the app", () => {
  const PASS = "river stone kettle";
  const WRONG = "hunter2-not-it";
  let dir;
  let app;
  let wd;

  before(async () => {
    assert.ok(existsSync(bin), `build the app first: ${bin} is missing`);
    assert.ok(existsSync(grove), `build the CLI first (cargo build -p grove-cli): ${grove} is missing`);
    dir = mkdtempSync(join(tmpdir(), "grove-e2e-lock-"));
    const home = join(dir, "grove");
    cli(home, null, "circle", "create", "Lock Street Pantry");
    cli(home, null, "value", "add", "--title", "Dignity", "--statement", "Nobody has to explain why they need food.");
    app = new App(dir, basePort);
    wd = await app.start();
  });

  after(async () => {
    await app?.stop();
    removeDir(dir);
  });

  step("opens an unencrypted home straight away, with nothing to lock", async () => {
    await wd.waitFor("the circle to open", async () => (await wd.selectedText("#circle-pick")) === "Lock Street Pantry");
    assert.equal(await wd.exec("return !!document.querySelector('#lock');"), false, "an unencrypted home has nothing to lock");
  });

  step("sets a passphrase from the Security view, catching a mistyped confirmation", async () => {
    await wd.click("button[data-view=security]");
    await wd.waitForText("#pp-state", "not encrypted");
    assert.match(await wd.textOf("main"), /cannot be recovered/);
    await wd.fill("#pp-new", PASS);
    await wd.fill("#pp-confirm", PASS + "x");
    await wd.click("#pp-submit");
    await wd.waitForText("#pp-error", "differ");
    await wd.fill("#pp-confirm", PASS);
    await wd.click("#pp-submit");
    await wd.waitForElement("#pp-done", 60_000);
    await wd.waitForText("#pp-state", "encrypted");
    assert.doesNotMatch(await wd.textOf("#pp-state"), /not/);
    await wd.waitForElement("#lock");
  });

  step("locks: the node stops and the window shows only the Unlock screen, focused", async () => {
    await wd.click("#lock");
    await wd.waitForElement("#unlock-passphrase");
    await wd.waitFor("the passphrase field to have focus", async () => (await focusedId(wd)) === "unlock-passphrase");
    const text = await wd.textOf("body");
    assert.doesNotMatch(text, /Lock Street Pantry|Dignity/, "nothing of the circle may stay on screen");
    await shot("unlock");
  });

  step("a wrong passphrase is an error next to the field, and the field stays to retry", async () => {
    await wd.type("#unlock-passphrase", WRONG + Keys.enter);
    const err = await wd.waitFor("an error next to the field", async () => (await wd.textOf("#unlock-error")) || null, 60_000);
    assert.match(err, /wrong passphrase/i);
    assert.doesNotMatch(err, /Error\(|\{|NodeError|Store\(/, "errors must read as sentences");
    assert.equal(await wd.exec("return document.querySelector('#unlock-passphrase').getAttribute('aria-invalid');"), "true");
  });

  step("the right passphrase brings the circle back, live", async () => {
    await wd.fill("#unlock-passphrase", PASS);
    await wd.type("#unlock-passphrase", Keys.enter);
    await wd.waitFor("the circle to open again", async () => (await wd.selectedText("#circle-pick")) === "Lock Street Pantry", 60_000);
    await wd.click("button[data-view=values]");
    await wd.waitForText(".value h2", "Dignity");
  });

  step("the home on disk is sealed: no file holds the circle's text, and it has a key header", async () => {
    const files = [];
    const walk = (d) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        // The open app's control socket holds nothing: it cannot even be read as a file.
        else if (!e.isSocket()) files.push(join(d, e.name));
      }
    };
    walk(join(dir, "grove"));
    assert.ok(files.some((f) => f.endsWith("grove-crypt")), "an encrypted database carries its key header");
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const secret of ["Lock Street Pantry", "Nobody has to explain"]) {
        assert.ok(!bytes.includes(secret), `${f} holds "${secret}" in the clear`);
      }
    }
  });

  step("closed, the home opens in the CLI with the passphrase set in the app, and not without", async () => {
    await app.stop();
    const home = join(dir, "grove");
    assert.deepEqual(cli(home, PASS, "circle", "list").map((c) => c.name), ["Lock Street Pantry"]);
    assert.throws(() => cli(home, null, "circle", "list"), /encrypted/);
  });
});

describe("a home the CLI encrypted", () => {
  const PASS = "salt and cedar";
  let dir;
  let app;
  let wd;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "grove-e2e-sealed-"));
    const home = join(dir, "grove");
    cli(home, PASS, "init", "--passphrase");
    cli(home, PASS, "circle", "create", "Sealed Co-op");
    app = new App(dir, basePort + 2);
    wd = await app.start();
  });

  after(async () => {
    await app?.stop();
    removeDir(dir);
  });

  step("opens on the Unlock screen and unlocks with Enter", async () => {
    await wd.waitForElement("#unlock-passphrase");
    await wd.type("#unlock-passphrase", PASS + Keys.enter);
    await wd.waitFor("the circle to open", async () => (await wd.selectedText("#circle-pick")) === "Sealed Co-op", 60_000);
    await wd.waitForElement("#lock");
  });

  step("removes the passphrase with the current one; there is then nothing to lock", async () => {
    await wd.click("button[data-view=security]");
    await wd.click("input[name=pp-mode][value=remove]");
    await wd.fill("#pp-current", "not " + PASS);
    await wd.click("#pp-submit");
    await wd.waitForText("#pp-error", "wrong passphrase", 60_000);
    await wd.fill("#pp-current", PASS);
    await wd.click("#pp-submit");
    await wd.waitForText("#pp-state", "not encrypted", 60_000);
    await wd.waitFor("the Lock button to go", async () => !(await wd.exec("return !!document.querySelector('#lock');")));
    assert.equal(await wd.selectedText("#circle-pick"), "Sealed Co-op", "the data is intact after re-sealing");
  });
});
