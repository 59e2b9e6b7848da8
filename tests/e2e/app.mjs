// One Grove window on a home of its own, through its own tauri-driver, and the `grove` CLI on
// the same home: shared by the suites that prepare a home with the CLI before opening it.
import { it } from "node:test";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { basename, join, resolve } from "node:path";
import { WebDriver } from "./webdriver.mjs";

const root = resolve(import.meta.dirname, "../..");
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
export const bin = resolve(process.env.GROVE_DESKTOP_BIN ?? join(targetDir, "debug/grove-desktop"));
export const grove = resolve(process.env.GROVE_BIN ?? join(targetDir, "debug/grove"));
// Pictures for the docs only when asked (scripts/screenshots.sh sets GROVE_SCREENSHOTS to
// docs/screenshots); otherwise into a temp dir, so running the tests leaves the tree clean.
export const shots = process.env.GROVE_SCREENSHOTS
  ? resolve(root, process.env.GROVE_SCREENSHOTS)
  : join(tmpdir(), "grove-e2e-screenshots");
const artifacts = resolve(process.env.GROVE_E2E_ARTIFACTS ?? join(tmpdir(), "grove-e2e-artifacts"));

/** Runs `grove` on `home` (with `passphrase` in GROVE_PASSPHRASE); returns its parsed --json output. */
export function cli(home, passphrase, ...args) {
  const env = { ...process.env, GROVE_HOME: "", GROVE_PASSPHRASE: passphrase ?? "" };
  if (passphrase == null) delete env.GROVE_PASSPHRASE;
  // stderr is kept in the error thrown (a refusal a step expects is not printed as if it failed).
  const out = execFileSync(grove, ["--home", home, "--json", ...args], { encoding: "utf8", env, timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
  return out.trim() ? JSON.parse(out) : null;
}

/** One Grove window on `dir`'s home, through its own tauri-driver. */
export class App {
  constructor(dir, port) {
    this.dir = dir;
    this.port = port;
  }

  /** Opens the window; it becomes the one failing steps take a picture of. */
  async start() {
    current = this;
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
    // What tauri-driver, WebKitWebDriver and the app print (a backtrace from tauri-driver as
    // the window closes, WebKit's cache warnings after the home is removed) goes to a log of
    // its own, named when a step fails; GROVE_E2E_VERBOSE=1 shows it instead.
    mkdirSync(artifacts, { recursive: true });
    const verbose = !!process.env.GROVE_E2E_VERBOSE;
    this.log = verbose ? "printed above" : join(artifacts, `tauri-driver-${basename(this.dir)}.log`);
    const out = verbose ? "inherit" : openSync(this.log, "w");
    this.driver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", String(this.port), "--native-port", String(this.port + 1)], {
      env,
      stdio: ["ignore", out, out],
    });
    if (typeof out === "number") closeSync(out);
    const until = Date.now() + 30_000;
    for (;;) {
      if (this.driver.exitCode !== null) throw new Error(`tauri-driver exited with ${this.driver.exitCode} (its log: ${this.log})`);
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

  /** Closes the window (the app exits with its last window), then waits until the app has
   * let go of its home, so the home can be checked or removed. */
  async stop() {
    await this.wd?.cmd("DELETE", "/window").catch(() => {});
    await this.wd?.quit().catch(() => {});
    this.driver?.kill();
    const home = join(this.dir, "grove");
    const closed = Date.now();
    const until = closed + 30_000;
    let ended = false;
    for (;;) {
      // While the app runs it answers `grove` on its control socket, so a command succeeding
      // says nothing: first wait until nothing answers there.
      if (!(await answers(join(home, "grove.sock")))) {
        try {
          execFileSync(grove, ["--home", home, "device", "id"], { env: { ...process.env, GROVE_HOME: "", GROVE_PASSPHRASE: "" }, stdio: "pipe" });
          return;
        } catch (e) {
          if (!/in use/.test(String(e.stderr))) return; // free (an encrypted home just wants its passphrase)
        }
      }
      // WebDriver's window close is not the window manager's: now and then (on a loaded
      // machine) WebKit drops the page and the app never hears of it, and sits idle in GTK's
      // loop with its window gone (stacks of one such: every thread waiting). The app is
      // then ended as a session's logout ends it, and the stacks kept in case it was not idle.
      if (!ended && Date.now() > closed + 10_000) {
        ended = true;
        const pids = appPids();
        if (pids.length) {
          const note = stacks(this.dir, pids);
          for (const pid of pids) process.kill(Number(pid), "SIGTERM");
          console.error(`# the app was still running 10 s after WebDriver closed its window: ended with SIGTERM${note}`);
        }
      }
      if (Date.now() > until) throw new Error(`the app still holds ${home} 30 s after its window closed${stacks(this.dir, appPids())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The running app processes (their executable is the app binary under test). */
function appPids() {
  const exe = realpathSync(bin);
  return readdirSync("/proc").filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      return readlinkSync(`/proc/${d}/exe`) === exe;
    } catch {
      return false;
    }
  });
}

/** Where the app's threads are, written beside the other artifacts with gdb (when
 * installed). Returns a note naming the file, or why there is none. */
function stacks(dir, pids) {
  if (!pids.length) return " (no app process is left: another process holds the home)";
  try {
    const file = join(artifacts, `stacks-${basename(dir)}.txt`);
    const out = pids.map((pid) => execFileSync("gdb", ["-p", pid, "-batch", "-ex", "thread apply all bt 16"], { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] })).join("\n");
    writeFileSync(file, out);
    return ` (the app's threads: ${file})`;
  } catch (e) {
    return ` (its threads could not be read: ${e.message})`;
  }
}

/** Whether a process listens on the Unix socket at `path` (a file left by a dead one refuses). */
function answers(path) {
  return new Promise((ok) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      ok(true);
    });
    socket.once("error", () => ok(false));
  });
}

let current; // the App the running step drives

/** Saves a picture of the running step's window as NAME.png in `shots`. */
export async function shot(name) {
  mkdirSync(shots, { recursive: true });
  writeFileSync(join(shots, `${name}.png`), await current.wd.screenshot());
}

/** A test step that leaves a picture of the window behind when it fails. */
export function step(name, fn) {
  it(name, async () => {
    try {
      await fn();
    } catch (e) {
      mkdirSync(artifacts, { recursive: true });
      const file = join(artifacts, `app-${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
      await current?.wd?.screenshot().then((png) => writeFileSync(file, png)).catch(() => {});
      e.message += ` (window at failure: ${file}; the app's log: ${current?.log ?? "none"})`;
      throw e;
    }
  });
}

/** Removes a suite's temp dir (after `App.stop`). A leftover temp dir is not a failure of the
 * suite: WebKit's helper processes may still be writing their caches. */
export function removeDir(dir) {
  if (!dir) return;
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  } catch (e) {
    console.warn(`left ${dir} behind: ${e.message}`);
  }
}
