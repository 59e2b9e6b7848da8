// The desktop bench (issue 5): prints figures, asserts nothing about speed. For each size it
// seeds a home with `grove demo`, opens the release app on it under tauri-driver, and
// measures in the page how long the log takes from navigation to its first rows, then reads
// from /proc the memory of the app process and, separately, of the app with WebKit's helper
// processes (its children), after the log is open and scrolled.
//
// Run through scripts/bench-desktop.sh (builds in release, runs under Xvfb). Not a test: the
// file name keeps it out of `node --test tests/e2e/`.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, bin as appBin, grove, removeDir } from "./app.mjs";

if (!existsSync(appBin)) throw new Error(`build the app first: ${appBin} is missing`);
const bin = realpathSync(appBin);
const sizes = (process.env.BENCH_SIZES ?? "10000").split(",").map(Number);
const port = Number(process.env.TAURI_DRIVER_PORT_BENCH ?? 4448);
const OPENS = 5;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;

/** Every process as { pid, ppid, name }. */
function processes() {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      out.push({ pid: Number(d), ppid, name });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** kB of one process's /proc status or smaps_rollup field (0 if it is gone). */
function field(pid, file, name) {
  try {
    const m = readFileSync(`/proc/${pid}/${file}`, "utf8").match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The app process (its executable is the bench's binary) and its descendants. */
function appTree() {
  const all = processes();
  const app = all.find((p) => {
    try {
      return readlinkSync(`/proc/${p.pid}/exe`) === bin;
    } catch {
      return false;
    }
  });
  if (!app) throw new Error(`no running process of ${bin}`);
  const tree = [app];
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i].pid));
  return tree;
}

function memory() {
  const tree = appTree();
  const [app] = tree;
  return {
    app: field(app.pid, "status", "VmRSS"),
    appHwm: field(app.pid, "status", "VmHWM"),
    total: tree.reduce((n, p) => n + field(p.pid, "status", "VmRSS"), 0),
    // Proportional: shared pages (libraries, WebKit's shared memory) counted once overall.
    pss: tree.reduce((n, p) => n + field(p.pid, "smaps_rollup", "Pss"), 0),
    helpers: tree.slice(1).map((p) => `${p.name} ${mb(field(p.pid, "status", "VmRSS"))}`),
  };
}

// Installed just before the click: records, relative to the click, when the first real log
// row is in the DOM and when the frame showing it is painted.
const OPEN_LOG = `
  const t0 = performance.now();
  window.__bench = {};
  const seen = () => {
    if (!document.querySelector('.list .entry[data-id]')) return false;
    window.__bench.rows = performance.now() - t0;
    requestAnimationFrame(() => requestAnimationFrame(() => (window.__bench.painted = performance.now() - t0)));
    return true;
  };
  const mo = new MutationObserver(() => { if (seen()) mo.disconnect(); });
  mo.observe(document.body, { subtree: true, childList: true });
  document.querySelector('button[data-view=log]').click();
`;

async function openLog(wd) {
  await wd.exec(OPEN_LOG);
  return wd.waitFor("the log's first rows", () => wd.exec("return window.__bench && window.__bench.painted ? window.__bench : null;"), 60_000);
}

async function scrollTo(wd, fraction) {
  const t = await wd.exec(`
    const list = document.querySelector('.list');
    list.scrollTop = (list.scrollHeight - list.clientHeight) * arguments[0];
    list.dispatchEvent(new Event('scroll'));
    window.__scrolled = performance.now();
    return Math.floor(list.scrollTop / 68);`, fraction);
  await wd.waitFor(`rows at ${fraction * 100}% of the log`, () =>
    wd.exec("const i = arguments[0]; return [...document.querySelectorAll('.list .entry[data-id]')].some((e) => Math.abs(parseFloat(e.style.top) / 68 - i) < 12);", t), 60_000);
  return wd.exec("return performance.now() - window.__scrolled;");
}

async function bench(n) {
  const dir = mkdtempSync(join(tmpdir(), "grove-bench-"));
  const app = new App(dir, port);
  try {
    let t = Date.now();
    execFileSync(grove, ["--home", join(dir, "grove"), "demo", "--decisions", String(n)], {
      env: { ...process.env, GROVE_HOME: "" },
      stdio: "ignore",
      timeout: 900_000,
    });
    const seeded = Date.now() - t;

    t = Date.now();
    const wd = await app.start();
    // Cold start: the app opens on the log, first from the newest months, then counts them all.
    await wd.waitForElement(".list .entry[data-id]", 120_000);
    const coldRows = Date.now() - t;
    const exact = `${n.toLocaleString("en-GB")} decisions`;
    await wd.waitFor(`"${exact}"`, async () => (await wd.textOf("#log-summary")).startsWith(exact), 600_000);
    const coldAll = Date.now() - t;

    const opens = [];
    for (let i = 0; i < OPENS; i++) {
      await wd.exec("document.querySelector('button[data-view=values]').click();");
      await wd.waitFor("the values view", () => wd.exec("return !document.querySelector('#log-summary');"));
      opens.push(await openLog(wd));
    }
    const middle = await scrollTo(wd, 0.5);
    const end = await scrollTo(wd, 1);
    await scrollTo(wd, 0.25);
    const mem = memory();
    return { n, seeded, coldRows, coldAll, opens, middle, end, mem };
  } finally {
    await app.stop();
    removeDir(dir);
  }
}

for (const n of sizes) {
  const r = await bench(n);
  const rows = r.opens.map((o) => o.rows);
  const painted = r.opens.map((o) => o.painted);
  console.log(`\n## ${n.toLocaleString("en-GB")} decisions (${bin})`);
  console.log(`| figure | value | target |`);
  console.log(`| --- | --: | --: |`);
  console.log(`| seed the home (grove demo, release) | ${(r.seeded / 1000).toFixed(1)} s | |`);
  console.log(`| cold start: session start to first log rows | ${r.coldRows} ms | |`);
  console.log(`| cold start: until every month is counted | ${(r.coldAll / 1000).toFixed(1)} s | |`);
  console.log(`| open the log view: click to first rows in the DOM, median / max of ${OPENS} | ${median(rows).toFixed(0)} / ${Math.max(...rows).toFixed(0)} ms | 300 ms |`);
  console.log(`| open the log view: click to first rows painted, median / max of ${OPENS} | ${median(painted).toFixed(0)} / ${Math.max(...painted).toFixed(0)} ms | 300 ms |`);
  console.log(`| jump to the middle / the end: rows shown (polled every 100 ms) | ${r.middle.toFixed(0)} / ${r.end.toFixed(0)} ms | |`);
  console.log(`| RSS of the app process (grove-desktop) | ${mb(r.mem.app)} (peak ${mb(r.mem.appHwm)}) | 300 MB |`);
  console.log(`| RSS of the app + WebKit's processes (sum) | ${mb(r.mem.total)} | |`);
  console.log(`| PSS of the app + WebKit's processes (shared pages once) | ${mb(r.mem.pss)} | |`);
  console.log(`\nWebKit's processes: ${r.mem.helpers.join(", ")}`);
}
