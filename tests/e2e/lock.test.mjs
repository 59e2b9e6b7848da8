// The real window on encrypted homes: a passphrase set from the app, Lock, the Unlock screen
// (a wrong passphrase shown as an error next to the field, the right one bringing the circle
// back); and a home the CLI encrypted, unlocked in the app and decrypted again.
// Takes the unlock screenshot.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Keys, WebDriver } from "./webdriver.mjs";

const root = resolve(import.meta.dirname, "../..");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const bin = resolve(process.env.GROVE_DESKTOP_BIN ?? join(targetDir, "debug/grove-desktop"));
const grove = resolve(process.env.GROVE_BIN ?? join(targetDir, "debug/grove"));
const shots = resolve(process.env.GROVE_SCREENSHOT_DIR ?? join(root, "docs/screenshots"));
// Ports of their own: another suite's driver may still be letting go of its port.
const basePort = Number(process.env.TAURI_DRIVER_PORT_LOCK ?? 4448);
const artifacts = resolve(process.env.GROVE_E2E_ARTIFACTS ?? join(tmpdir(), "grove-e2e-artifacts"));

/** Runs `grove` on `home` (with `passphrase` in GROVE_PASSPHRASE); returns its parsed --json output. */
function cli(home, passphrase, ...args) {
  const env = { ...process.env, GROVE_HOME: "", GROVE_PASSPHRASE: passphrase ?? "" };
  if (passphrase == null) delete env.GROVE_PASSPHRASE;
  const out = execFileSync(grove, ["--home", home, "--json", ...args], { encoding: "utf8", env, timeout: 60_000 });
  return out.trim() ? JSON.parse(out) : null;
}

/** One Grove window on `dir`'s home, through its own tauri-driver. */
class App {
  constructor(dir, port) {
    this.dir = dir;
    this.port = port;
  }

  async start() {
    const env = {
      ...process.env,
      GROVE_HOME: join(this.dir, "grove"),
      GROVE_LISTEN: "/ip4/127.0.0.1/tcp/0",
      GROVE_MDNS: "0",
      XDG_DATA_HOME: join(this.dir, "data"),
      XDG_CACHE_HOME: join(this.dir, "cache"),
      XDG_CONFIG_HOME: join(this.dir, "config"),
      WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS: "1",
    };
    delete env.GROVE_PASSPHRASE;
    const url = `http://127.0.0.1:${this.port}`;
    this.driver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", String(this.port), "--native-port", String(this.port + 1)], {
      env,
      stdio: ["ignore", "inherit", "inherit"],
    });
    const until = Date.now() + 30_000;
    for (;;) {
      if (this.driver.exitCode !== null) throw new Error(`tauri-driver exited with ${this.driver.exitCode}`);
      try {
        if ((await fetch(`${url}/status`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error("tauri-driver did not start listening within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    this.wd = await WebDriver.start(url, { "tauri:options": { application: bin } });
    await this.wd.setWindowRect({ width: 1280, height: 800 });
    return this.wd;
  }

  async stop() {
    await this.wd?.quit().catch(() => {});
    this.driver?.kill();
  }
}

let current; // the App the running step drives

function step(name, fn) {
  it(name, async () => {
    try {
      await fn();
    } catch (e) {
      mkdirSync(artifacts, { recursive: true });
      const file = join(artifacts, `lock-${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
      await current?.wd?.screenshot().then((png) => writeFileSync(file, png)).catch(() => {});
      e.message += ` (window at failure: ${file})`;
      throw e;
    }
  });
}

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
    app = current = new App(dir, basePort);
    wd = await app.start();
  });

  after(async () => {
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
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
    mkdirSync(shots, { recursive: true });
    writeFileSync(join(shots, "unlock.png"), await wd.screenshot());
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
        else files.push(join(d, e.name));
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
    app = current = new App(dir, basePort + 2);
    wd = await app.start();
  });

  after(async () => {
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
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
