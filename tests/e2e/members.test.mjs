// A steward revokes a member's device, then the circle removes the member, in the real
// window: the circle is founded and a second member admitted with the CLI on the app's
// home; the Members view offers no direct removal, only a remove-member proposal (and
// leaving, on your own row), asks once more each time, and records what the node did,
// which it keeps across a re-query.
import { after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, bin, cli, grove, removeDir, step } from "./app.mjs";

const port = Number(process.env.TAURI_DRIVER_PORT_MEMBERS ?? 4452);

describe("a steward removing a member", () => {
  let dir;
  let home;
  let app;
  let wd;
  let beaDevice;

  before(async () => {
    assert.ok(existsSync(bin), `build the app first: ${bin} is missing`);
    assert.ok(existsSync(grove), `build the CLI first (cargo build -p grove-cli): ${grove} is missing`);
    dir = mkdtempSync(join(tmpdir(), "grove-e2e-members-"));
    home = join(dir, "grove");
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

  /** Opens the ⋯ menu on `name`'s row. */
  const openMenu = (name) =>
    wd.exec(
      "const li = [...document.querySelectorAll('ul[aria-label=Members] .member')].find((l) => l.querySelector('strong').innerText === arguments[0]); li.querySelector('details.more').setAttribute('open', '');",
      name,
    );
  /** Clicks the button labelled `label` in `name`'s row. */
  const press = (name, label) =>
    wd.exec(
      "const li = [...document.querySelectorAll('ul[aria-label=Members] .member')].find((l) => l.querySelector('strong').innerText === arguments[0]); [...li.querySelectorAll('button')].find((b) => b.textContent.trim() === arguments[1]).click();",
      name,
      label,
    );

  step("offers the founding steward no direct removal: a proposal for Bea, leaving for themselves", async () => {
    await wd.waitFor("the circle to open", async () => (await wd.selectedText("#circle-pick")) === "Allotment Collective");
    await wd.click("button[data-view=members]");
    await wd.waitForText("ul[aria-label=Members]", "Bea");
    const menus = await wd.exec("return [...document.querySelectorAll('.member details.more')].map((d) => d.closest('.member').querySelector('strong').innerText);");
    assert.deepEqual(menus, ["Ada", "Bea"], "a menu on each row");
    await openMenu("Bea");
    assert.match(await memberRow("Bea"), /Propose removal…/);
    assert.match(await memberRow("Bea"), new RegExp(`Revoke device ${beaDevice.slice(0, 8)}…`));
    assert.doesNotMatch(await memberRow("Bea"), /Remove…/);
    await openMenu("Ada");
    assert.match(await memberRow("Ada"), /Leave the circle…/);
    assert.doesNotMatch(await memberRow("Ada"), /Remove…|Revoke/);
    assert.match(await memberRow("Ada"), /this device/);
  });

  step("asks once more, and Cancel changes nothing", async () => {
    await press("Bea", "Propose removal…");
    await wd.waitForText("[aria-label='Confirm proposing removal']", "Propose removing Bea?");
    await wd.exec("[...document.querySelectorAll('[aria-label=\"Confirm proposing removal\"] button')].find((b) => b.innerText === 'Cancel').click();");
    await wd.waitFor("the confirmation to close", async () => !(await wd.exec("return !!document.querySelector('[aria-label=\"Confirm proposing removal\"]');")));
    assert.doesNotMatch(await memberRow("Bea"), /removed|Removal proposed/);
  });

  step("revokes Bea's device: marked revoked, Bea stays a member, and no Revoke is left on it", async () => {
    await openMenu("Bea");
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

  step("the circle removes Bea by proposal: marked removed by Ada, and still so after the view re-queries", async () => {
    await openMenu("Bea");
    await press("Bea", "Propose removal…");
    await wd.click("[aria-label='Confirm proposing removal'] button.danger");
    await wd.waitFor("the removal to be proposed", async () => /Removal proposed/.test(await memberRow("Bea")), 30_000);
    assert.doesNotMatch(await memberRow("Bea"), /removed /);
    // Ada answers and passes it through the app's own node (in a circle of two her consent
    // is the majority of the others).
    const proposal = cli(home, null, "proposal", "list").find((p) => p.title === "Remove Bea");
    assert.ok(proposal, "the proposal the view opened");
    cli(home, null, "proposal", "respond", proposal.id, "--answer", "consent");
    cli(home, null, "proposal", "pass", proposal.id);
    await wd.waitFor("Bea to be marked removed", async () => /removed/.test(await memberRow("Bea")), 30_000);
    assert.match(await memberRow("Bea"), /removed .* by Ada/);
    assert.equal(await wd.exec("return document.querySelectorAll('.member button').length;"), 0, "nobody left to remove");
    await wd.click("button[data-view=log]");
    await wd.click("button[data-view=members]");
    await wd.waitForText("ul[aria-label=Members]", "Bea");
    assert.match(await memberRow("Bea"), /removed/);
  });
});
