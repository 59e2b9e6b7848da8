// The window live against a second, headless Grove: a `grove serve` peer on its own home
// creates a circle and an invite; the app reads the code from a picture of its QR code on
// the first-run screen and joins with it; a decision logged on the peer appears in the
// app's log without a reload. Takes the members (invite code and QR) and peers screenshots.
import { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { App, bin, cli, grove, removeDir, shot, step } from "./app.mjs";

const root = resolve(import.meta.dirname, "../..");
// The UI's own QR encoder (ui/node_modules) draws the picture a member would send.
const QRCode = createRequire(join(root, "ui/package.json"))("qrcode");
// Not the other suite's port: its driver may still be letting go of it.
const port = Number(process.env.TAURI_DRIVER_PORT_LIVE ?? 4446);

let app; // the Grove window and its tauri-driver
let wd; // the Grove window
let served; // the peer's `grove serve`
let dir;
let peerHome;
let code; // the peer's invite
const ids = {};

/** Runs `grove` on the peer's home; returns its parsed --json output. */
const peer = (...args) => cli(peerHome, null, ...args);

/** Starts `grove serve` on the peer's home and waits for its "started" line. */
function serve() {
  const child = spawn(grove, ["--home", peerHome, "serve", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--json"], {
    env: { ...process.env, GROVE_HOME: "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => fail(new Error("grove serve did not start within 30 s")), 30_000);
    child.once("exit", (code) => fail(new Error(`grove serve exited with ${code}`)));
    lines.on("line", (line) => {
      if (JSON.parse(line).type === "started") {
        clearTimeout(timer);
        ok(child);
      }
    });
  });
}

describe("the Grove window with a peer", () => {
  before(async () => {
    assert.ok(existsSync(bin), `build the app first: ${bin} is missing`);
    assert.ok(existsSync(grove), `build the CLI first (cargo build -p grove-cli): ${grove} is missing`);
    dir = mkdtempSync(join(tmpdir(), "grove-e2e-live-"));
    peerHome = join(dir, "peer");
    peer("member", "rename", "Harbour server");
    ids.circle = peer("circle", "create", "Harbour Co-op").id;
    const value = peer("value", "add", "--title", "Solidarity", "--statement", "We stand with each other.").id;
    ids.principle = peer("principle", "add", "--value", value, "--statement", "Share the load").id;
    ids.team = peer("team", "add", "Kitchen").id;
    served = await serve();
    code = peer("invite", "create", "--expires", "2h", "--uses", "1").code;
    assert.match(code, /^grove1/);

    app = new App(dir, port);
    wd = await app.start();
  });

  after(async () => {
    await app?.stop();
    served?.kill();
    removeDir(dir);
  });

  step("says clearly when an invite code is mistyped", async () => {
    await wd.waitForElement("#fr-invite");
    await wd.fill("#fr-invite", code.slice(0, -12));
    await wd.click("#fr-join");
    const err = await wd.waitFor("an error next to the code", async () => (await wd.textOf("#fr-join-error")) || null);
    assert.match(err, /incomplete|mistyped|check/i);
    assert.doesNotMatch(err, /Error\(|\{|NodeError|Invite\(/, "errors must read as sentences");
  });

  step("reads the invite from a picture of its QR code", async () => {
    const notAnInvite = join(dir, "other-qr.png");
    await QRCode.toFile(notAnInvite, "https://example.org/not-an-invite", { margin: 4, scale: 6 });
    await wd.type("#fr-qr", notAnInvite);
    const err = await wd.waitFor("the scan error", async () => (await wd.textOf("#fr-qr-error")) || null);
    assert.match(err, /not a Grove invite/);

    const picture = join(dir, "invite-qr.png");
    await QRCode.toFile(picture, code, { errorCorrectionLevel: "M", margin: 4, scale: 6 });
    // An empty field first, so only the scan can fill it.
    await wd.clear("#fr-invite");
    await wd.waitFor("the field to empty", async () => (await wd.exec("return document.querySelector('#fr-invite').value;")) === "");
    await wd.type("#fr-qr", picture);
    await wd.waitForText("#fr-qr-status", "Code read from the QR code");
    assert.equal(await wd.exec("return document.querySelector('#fr-invite').value;"), code);
    assert.equal(await wd.textOf("#fr-qr-error"), "");
  });

  step("joins the peer's circle with its invite code from the first-run screen", async () => {
    await wd.fill("#fr-name", "Ada");
    // The code read from the QR picture is in the field; joining uses it as it is.
    assert.equal(await wd.exec("return document.querySelector('#fr-invite').value;"), code);
    await wd.click("#fr-join");
    await wd.waitFor("the joined circle to open", async () => (await wd.selectedText("#circle-pick")) === "Harbour Co-op", 60_000);
    await wd.waitForText("#net-state", "Online: 1 peer");
  });

  step("shows the peer connected and the circle in sync", async () => {
    await wd.click("button[data-view=peers]");
    await wd.waitForText("#peer-list", "connected");
    await wd.waitForText("#peer-list", "Harbour server's device");
    await wd.waitForText("#peer-list", "Harbour Co-op: in sync");
    await wd.waitForText("#sync-circles", "1 peer connected");
    await shot("peers");
  });

  step("shows a decision logged on the peer without a reload", async () => {
    await wd.click("button[data-view=log]");
    await wd.waitForText("#log-summary", "0 decisions");
    // Logged on the peer's home while it serves: forwarded to the running node over grove.sock.
    peer("decision", "log", "--team", ids.team, "--principle", ids.principle,
      "--context", "The kitchen sits empty on Sundays.", "--choice", "Open the harbour kitchen on Sundays");
    await wd.waitForText("#log-summary", "1 decision", 60_000);
    assert.match(await wd.textOf(".list"), /Open the harbour kitchen on Sundays/);
  });

  step("lists both members and creates an invite shown as text and QR code", async () => {
    await wd.click("button[data-view=members]");
    await wd.waitForText("ul[aria-label=Members]", "Harbour server");
    assert.match(await wd.textOf("ul[aria-label=Members]"), /Ada/);
    await wd.waitForText("ul[aria-label=Invites]", "used up");
    await wd.click(".invite-form button[type=submit]");
    const made = await wd.waitFor("the new code", async () => wd.exec("const t = document.querySelector('#invite-code'); return t && t.value;"));
    assert.match(made, /^grove1/);
    await wd.waitForElement(".qr svg");
    await wd.waitForText("ul[aria-label=Invites]", "open");
    await shot("members");
  });

  step("lets no one remove a member alone: a proposal for others, leaving for oneself", async () => {
    const buttons = await wd.exec("return [...document.querySelectorAll('.member .menu button')].map((b) => b.textContent.trim());");
    assert.ok(!buttons.some((b) => /^Remove/.test(b)), `no direct removal: ${buttons}`);
    assert.ok(buttons.includes("Leave the circle…"), `leaving is offered: ${buttons}`);
    assert.ok(buttons.includes("Propose removal…"), `a removal proposal is offered: ${buttons}`);
  });

  step("counts changes made here that no peer has yet, from the node", async () => {
    await wd.click("button[data-view=peers]");
    await wd.waitForText("#peer-list", "Harbour Co-op: in sync");
    await wd.waitFor("nothing pending once the peer has it all", async () => !(await wd.exec("return !!document.querySelector('#sync-circles .pending');")));
    served.kill();
    await wd.waitForText("#net-state", "Offline", 60_000);
    await wd.click("button[data-view=members]");
    await wd.click(".invite-form button[type=submit]");
    await wd.waitForElement(".qr svg");
    await wd.click("button[data-view=peers]");
    await wd.waitFor("the new invite to count as pending", async () => /\d+ changes? made here that no peer has yet/.test(await wd.textOf("#sync-circles")), 30_000);
  });
});
