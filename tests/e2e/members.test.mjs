// A steward revokes a member's device, then removes the member, in the real window: the
// circle is founded and a second member admitted with the CLI on the app's home, then the
// Members view asks once more each time and records what the node did, which it keeps
// across a re-query.
import { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, bin, cli, grove, removeDir, step } from "./app.mjs";

const port = Number(process.env.TAURI_DRIVER_PORT_MEMBERS ?? 4452);

describe("a steward removing a member", () => {
  let dir;
  let app;
  let wd;
  let beaDevice;

  before(async () => {
    assert.ok(existsSync(bin), `build the app first: ${bin} is missing`);
    assert.ok(existsSync(grove), `build the CLI first (cargo build -p grove-cli): ${grove} is missing`);
    dir = mkdtempSync(join(tmpdir(), "grove-e2e-members-"));
    const home = join(dir, "grove");
    cli(home, null, "member", "rename", "Ada");
    cli(home, null, "circle", "create", "Allotment Collective");
    beaDevice = cli(join(dir, "bea"), null, "device", "id").device;
    cli(home, null, "member", "admit", beaDevice, "--name", "Bea");
    app = new App(dir, port);
    wd = await app.start();
  });

  after(async () => {
    await app?.stop();
    removeDir(dir);
  });

  const memberRow = (name) =>
    wd.exec(
      "const li = [...document.querySelectorAll('ul[aria-label=Members] .member')].find((l) => l.querySelector('strong').innerText === arguments[0]); return li ? li.innerText : '';",
      name,
    );

  step("offers the founding steward removal of the other member, not of themselves", async () => {
    await wd.waitFor("the circle to open", async () => (await wd.selectedText("#circle-pick")) === "Allotment Collective");
    await wd.click("button[data-view=members]");
    await wd.waitForText("ul[aria-label=Members]", "Bea");
    // Removal sits in a per-row menu, on Bea's row only.
    const menus = await wd.exec("return [...document.querySelectorAll('.member details.more')].map((d) => d.closest('.member').querySelector('strong').innerText);");
    assert.deepEqual(menus, ["Bea"], "one menu, for Bea only");
    await wd.click(".member details.more summary");
    assert.match(await memberRow("Bea"), /Remove…/);
    assert.match(await memberRow("Bea"), new RegExp(`Revoke device ${beaDevice.slice(0, 8)}…`));
    assert.doesNotMatch(await memberRow("Ada"), /Remove|Revoke/);
    assert.match(await memberRow("Ada"), /this device/);
  });

  step("asks once more, and Cancel changes nothing", async () => {
    await wd.click(".member button");
    await wd.waitForText("[aria-label='Confirm removal']", "Remove Bea?");
    await wd.exec("[...document.querySelectorAll('[aria-label=\"Confirm removal\"] button')].find((b) => b.innerText === 'Cancel').click();");
    await wd.waitFor("the confirmation to close", async () => !(await wd.exec("return !!document.querySelector('[aria-label=\"Confirm removal\"]');")));
    assert.doesNotMatch(await memberRow("Bea"), /removed/);
  });

  step("revokes Bea's device: marked revoked, Bea stays a member, and no Revoke is left on it", async () => {
    await wd.click(".member details.more summary");
    await wd.exec(
      "[...document.querySelectorAll('.member .menu button')].find((b) => b.innerText.startsWith('Revoke device')).click();",
    );
    await wd.waitForText("[aria-label='Confirm revoking a device']", "Bea stays a member and can link a new device");
    await wd.click("[aria-label='Confirm revoking a device'] button.danger");
    await wd.waitFor("Bea's device to be marked revoked", async () => /revoked/.test(await memberRow("Bea")), 30_000);
    assert.equal(
      await wd.exec("return [...document.querySelectorAll('.device.revoked code')].map((c) => c.title).join();"),
      beaDevice,
    );
    assert.doesNotMatch(await memberRow("Bea"), /removed|Revoke/);
    assert.equal(await wd.exec("return document.querySelectorAll('[role=alert]').length;"), 0);
    await wd.click("button[data-view=log]");
    await wd.click("button[data-view=members]");
    await wd.waitFor("Bea's device to stay revoked", async () => /revoked/.test(await memberRow("Bea")));
  });

  step("removes Bea: marked removed by Ada, and still so after the view re-queries", async () => {
    await wd.click(".member details.more summary");
    await wd.click(".member button");
    await wd.click("[aria-label='Confirm removal'] button.danger");
    await wd.waitFor("Bea to be marked removed", async () => /removed/.test(await memberRow("Bea")), 30_000);
    assert.match(await memberRow("Bea"), /removed .* by Ada/);
    assert.equal(await wd.exec("return document.querySelectorAll('.member button').length;"), 0, "nobody left to remove");
    await wd.click("button[data-view=log]");
    await wd.click("button[data-view=members]");
    await wd.waitForText("ul[aria-label=Members]", "Bea");
    assert.match(await memberRow("Bea"), /removed/);
  });
});
