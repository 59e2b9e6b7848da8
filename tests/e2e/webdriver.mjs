// A small W3C WebDriver client over fetch: enough to drive the Grove window through
// tauri-driver (which fronts WebKitWebDriver on Linux). No dependencies to install.

const ELEMENT = "element-6066-11e4-a5ec-4b5ba9cbb5bb";

// W3C names the key ELEMENT; some drivers still answer with the legacy "ELEMENT" key.
const elementId = (ref) => ref[ELEMENT] ?? ref.ELEMENT ?? Object.values(ref)[0];

/** Keys as WebDriver types them. */
export const Keys = { enter: "\uE007", control: "\uE009", release: "\uE000", backspace: "\uE003" };

export class WebDriver {
  constructor(url, sessionId) {
    this.url = url;
    this.sessionId = sessionId;
  }

  static async start(url, capabilities) {
    const res = await request(url, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new WebDriver(url, res.sessionId);
  }

  cmd(method, path, body) {
    return request(this.url, method, `/session/${this.sessionId}${path}`, body);
  }

  async quit() {
    await this.cmd("DELETE", "");
  }

  setWindowRect(rect) {
    return this.cmd("POST", "/window/rect", rect);
  }

  /** Runs `script` (a function body) in the page with `args`; returns its result. */
  exec(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  async find(css) {
    const el = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return elementId(el);
  }

  async findAll(css) {
    const els = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return els.map(elementId);
  }

  /** Polls until `check` returns a truthy value (or throws `what` after `ms`). */
  async waitFor(what, check, ms = 20_000) {
    const until = Date.now() + ms;
    let last;
    for (;;) {
      try {
        const v = await check();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits for an element matching `css` and returns its id. */
  waitForElement(css, ms) {
    return this.waitFor(`element ${css}`, () => this.find(css), ms);
  }

  /** Waits until the page's text under `css` contains `text`. */
  waitForText(css, text, ms) {
    return this.waitFor(`"${text}" in ${css}`, async () => (await this.textOf(css)).includes(text), ms);
  }

  async textOf(css) {
    return this.exec("const el = document.querySelector(arguments[0]); return el ? el.innerText : '';", css);
  }

  /** The text of the chosen option of a <select>. */
  async selectedText(css) {
    return this.exec("const s = document.querySelector(arguments[0]); return s && s.selectedOptions[0] ? s.selectedOptions[0].text : '';", css);
  }

  async click(css) {
    const el = await this.waitForElement(css);
    await this.cmd("POST", `/element/${el}/click`, {});
  }

  async type(css, text) {
    const el = await this.waitForElement(css);
    await this.cmd("POST", `/element/${el}/value`, { text });
  }

  /** Empties a field the way a person does (select all, delete), so the page sees input events. */
  async clear(css) {
    await this.type(css, Keys.control + "a" + Keys.release + Keys.backspace);
  }

  async fill(css, text) {
    await this.clear(css);
    await this.type(css, text);
  }

  /** Chooses an option of a <select> the way a person's choice would: value, then change. */
  async select(css, value) {
    await this.waitForElement(css);
    await this.exec(
      "const s = document.querySelector(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event('change', { bubbles: true }));",
      css,
      value,
    );
  }

  /** A PNG of the window, as bytes. Waits for two frames first: a view just put in the
   * page is not painted yet, and the first screenshot would show the one before it. */
  async screenshot() {
    await this.cmd("POST", "/execute/async", {
      script: "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
      args: [],
    });
    const b64 = await this.cmd("GET", "/screenshot");
    return Buffer.from(b64, "base64");
  }
}

async function request(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value ?? {};
    throw new Error(`WebDriver ${method} ${path}: ${v.error ?? res.status} ${v.message ?? ""}`.trim());
  }
  return json.value;
}
