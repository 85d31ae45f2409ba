// First load on a slow phone (issue 21): /login, /leaderboard and /tv in Chromium with an empty
// cache, 4× CPU slowdown and DevTools' "Fast 3G" network. Prints the bytes transferred by type,
// the .wasm files fetched, and the time from navigation start until the page is hydrated
// (`body[data-hydrated=true]`, which the app sets once hydration has run: from then on it answers
// clicks and typing).
//
//   BASE_URL=http://127.0.0.1:3190 node end2end/bench/first-load.mjs
//
// RUNS (default 3) loads per page; CHROMIUM the browser (default /usr/bin/chromium).
// Sizes in kB are 1000 bytes, as DevTools prints them. Exits non-zero when a page fails to load
// or hydrate; a goal missed is printed, not a failure.
import { chromium } from "@playwright/test";
import { brotliCompressSync, constants as zlib } from "node:zlib";

const BASE = (process.env.BASE_URL ?? "http://127.0.0.1:3190").replace(/\/$/, "");
const RUNS = Number(process.env.RUNS ?? 3);
const HYDRATION_TIMEOUT_MS = 60_000;

// The demo organisation's sign-ins (`kpi-arena demo`), as end2end/tests/helpers.ts has them.
const REP = { email: "rep@demo.kpi-arena.local", password: "demo-arena" };
const ADMIN = { email: "admin@demo.kpi-arena.local", password: "demo-arena" };

// DevTools' "Fast 3G" preset (Lighthouse's mobile profile too): 1.6 Mbps down and 750 kbps up,
// each at 90 %, and 150 ms of round trip × 3.75, in bytes per second and milliseconds.
const FAST_3G = {
  offline: false,
  downloadThroughput: (1.6 * 1000 * 1000 / 8) * 0.9,
  uploadThroughput: (750 * 1000 / 8) * 0.9,
  latency: 150 * 3.75,
};
const CPU_SLOWDOWN = 4;

// Goals of issue 21.
const GOAL_WASM_BYTES = 200 * 1000;
const GOAL_HYDRATED_MS = 2000;

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

class Failure extends Error {}
function fail(message) {
  throw new Failure(message);
}

/** Signs `context` in through the same endpoint the sign-in form posts to. */
async function signIn(context, who) {
  const res = await context.request.post(`${BASE}/api/login`, {
    form: { email: who.email, password: who.password, next: "/leaderboard" },
    maxRedirects: 0,
  });
  if (res.status() >= 400) fail(`signing in as ${who.email}: ${res.status()} ${await res.text()}`);
  const cookies = await context.cookies(BASE);
  if (!cookies.some((c) => c.name === "kpi_arena_session")) fail(`signing in as ${who.email} set no session cookie`);
}

/**
 * A paired TV's cookies: an unpaired /tv shows a code, the admin pairs it as the Displays page
 * does (its server function; the whole organisation's wall, which only an admin may pair), and
 * the TV's next look gets its display cookie.
 */
async function pairedTvState(browser) {
  const tvContext = await browser.newContext();
  const tv = await tvContext.newPage();
  await tv.goto(`${BASE}/tv`);
  const code = (await tv.getByTestId("tv-code").innerText({ timeout: 10_000 })).trim();
  if (!/^[A-Z2-9]{6}$/.test(code)) fail(`/tv showed no pairing code (got ${JSON.stringify(code)})`);

  const admin = await browser.newContext();
  await signIn(admin, ADMIN);
  const res = await admin.request.post(`${BASE}/api/pair_display`, {
    form: { code, name: `bench TV ${Date.now()}`, names: "full", rotate_seconds: "15", scope: "org" },
    maxRedirects: 0,
  });
  if (res.status() >= 400) fail(`pairing the TV: ${res.status()} ${await res.text()}`);
  await admin.close();

  await tv.goto(`${BASE}/tv`);
  await tv.getByTestId("tv-updated").waitFor({ timeout: 10_000 });
  const state = await tvContext.storageState();
  await tvContext.close();
  return state;
}

/** A signed-in user's cookies, from a context without throttling. */
async function signedInState(browser, who) {
  const context = await browser.newContext();
  await signIn(context, who);
  const res = await context.request.get(`${BASE}/leaderboard`, { maxRedirects: 0 });
  if (res.status() !== 200) fail(`/leaderboard for ${who.email} answered ${res.status()}, not 200`);
  const state = await context.storageState();
  await context.close();
  return state;
}

/** The bucket a response counts under. */
function kindOf(type, mimeType, url) {
  const path = new URL(url).pathname;
  if (mimeType === "application/wasm" || path.endsWith(".wasm")) return "wasm";
  if (type === "Document") return "document";
  if (type === "Script" || /javascript/.test(mimeType)) return "js";
  if (type === "Stylesheet" || mimeType === "text/css") return "css";
  if (type === "Fetch" || type === "XHR" || type === "EventSource") return "fetch/xhr";
  return "other";
}
const KINDS = ["document", "js", "wasm", "css", "fetch/xhr", "other"];

/** Loads `path` once, throttled, in a fresh context (an empty cache) with `state`'s cookies. */
async function measure(browser, path, state) {
  const context = await browser.newContext({ storageState: state, locale: "ru-RU" });
  const page = await context.newPage();
  // What went wrong, should the page never hydrate.
  const problems = [];
  // A page error (a Rust panic, say) means hydration will never finish: stop waiting at once.
  let crash;
  const crashed = new Promise((_, reject) => (crash = reject));
  crashed.catch(() => {});
  page.on("pageerror", (e) => {
    problems.push(`page error: ${e.message}`);
    crash(e);
  });
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("requestfailed", (r) => problems.push(`failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()}: ${r.url()}`));
  // The moment the app marks the body hydrated, on the page's own clock (0 = navigation start).
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.getAttribute("data-hydrated") === "true") {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });

  const cdp = await context.newCDPSession(page);
  const requests = new Map(); // requestId → { url, kind, encoding, decoded, bytes, done }
  // Noted when sent, so that the wait for a quiet network below sees requests not yet answered.
  cdp.on("Network.requestWillBeSent", ({ requestId, request, type }) => {
    requests.set(requestId, { url: request.url, kind: kindOf(type, "", request.url), encoding: "none", decoded: 0, bytes: 0, done: false });
  });
  cdp.on("Network.responseReceived", ({ requestId, type, response }) => {
    const encoding = response.headers["content-encoding"] ?? response.headers["Content-Encoding"] ?? "none";
    const r = requests.get(requestId) ?? { decoded: 0, bytes: 0, done: false };
    requests.set(requestId, { ...r, url: response.url, kind: kindOf(type, response.mimeType, response.url), encoding });
  });
  cdp.on("Network.loadingFailed", ({ requestId }) => {
    const r = requests.get(requestId);
    if (r) r.done = true;
  });
  cdp.on("Network.dataReceived", ({ requestId, dataLength }) => {
    const r = requests.get(requestId);
    if (r) r.decoded += dataLength;
  });
  cdp.on("Network.loadingFinished", ({ requestId, encodedDataLength }) => {
    const r = requests.get(requestId);
    if (r) Object.assign(r, { bytes: encodedDataLength, done: true });
  });
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", FAST_3G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });

  const started = Date.now();
  const res = await page.goto(`${BASE}${path}`, { waitUntil: "commit", timeout: HYDRATION_TIMEOUT_MS });
  if (res?.status() !== 200) fail(`${path} answered ${res?.status()}`);
  if (new URL(page.url()).pathname !== path) fail(`${path} went to ${page.url()} (not signed in?)`);
  try {
    await Promise.race([
      page.waitForSelector("body[data-hydrated=true]", { state: "attached", timeout: HYDRATION_TIMEOUT_MS - (Date.now() - started) }),
      crashed,
    ]);
  } catch {
    fail(`${path} was not hydrated (waited ${Date.now() - started} ms of ${HYDRATION_TIMEOUT_MS / 1000} s)\n  ${problems.slice(0, 20).join("\n  ")}`);
  }
  const wall = Date.now() - started;
  const hydrated = await page.evaluate(() => window.__hydratedAt);
  if (typeof hydrated !== "number") fail(`${path}: the hydration moment was not seen`);

  // What hydration itself fetches (server functions, the live stream's opening) counts as the
  // first load too: wait until nothing but the live stream is in flight for a second.
  let quietSince = Date.now();
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const busy = [...requests.values()].some((r) => !r.done && !r.url.includes("/api/live"));
    if (busy) quietSince = Date.now();
    else if (Date.now() - quietSince >= 1000) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const byKind = Object.fromEntries(KINDS.map((k) => [k, 0]));
  const wasm = [];
  for (const r of requests.values()) {
    byKind[r.kind] += r.bytes;
    if (r.kind === "wasm") wasm.push({ url: r.url, bytes: r.bytes, decoded: r.decoded, encoding: r.encoding });
  }
  await context.close();
  return { hydrated: Math.round(hydrated), wall, byKind, wasm, requests: requests.size };
}

/** The brotli size (quality 11, as `--precompress` makes it) of each distinct .wasm file. */
async function brotliSizes(urls) {
  const sizes = new Map();
  for (const url of urls) {
    const body = Buffer.from(await (await fetch(url, { headers: { "accept-encoding": "identity" } })).arrayBuffer());
    const br = brotliCompressSync(body, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length },
    });
    sizes.set(url, { raw: body.length, br: br.length });
  }
  return sizes;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
let exitCode = 0;
try {
  const pages = [
    { path: "/login", who: "nobody", state: undefined },
    { path: "/leaderboard", who: "demo rep", state: await signedInState(browser, REP) },
    { path: "/tv", who: "paired TV", state: await pairedTvState(browser) },
  ];
  console.log(
    `first load: ${BASE}, ${RUNS} run(s) per page, empty cache, CPU ${CPU_SLOWDOWN}× slower, ` +
      `Fast 3G (${(FAST_3G.downloadThroughput * 8 / 1e6).toFixed(2)} Mbps down, ` +
      `${(FAST_3G.uploadThroughput * 8 / 1e3).toFixed(0)} kbps up, ${FAST_3G.latency} ms latency)`,
  );

  const results = [];
  for (const p of pages) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await measure(browser, p.path, p.state));
    results.push({ ...p, runs });
  }

  // Bytes by type: the median of the runs (they rarely differ).
  console.log("\nbytes transferred (encoded, headers included; median of runs)");
  const header = ["page".padEnd(13), ...KINDS.map((k) => k.padStart(10)), "total".padStart(10), "requests".padStart(9)].join(" ");
  console.log(header);
  for (const r of results) {
    const cells = KINDS.map((k) => kB(median(r.runs.map((x) => x.byKind[k]))).padStart(10));
    const total = median(r.runs.map((x) => KINDS.reduce((sum, k) => sum + x.byKind[k], 0)));
    const count = String(median(r.runs.map((x) => x.requests))).padStart(9);
    console.log([r.path.padEnd(13), ...cells, kB(total).padStart(10), count].join(" "));
  }

  // The .wasm files. Code splitting (`cargo leptos build --split`) adds many small chunks: the
  // big ones are listed each (with what brotli at its best makes of them), the small summed up.
  // WASM_LIST=all lists every file.
  const listAll = process.env.WASM_LIST === "all";
  const big = (w) => listAll || w.bytes >= 10_000;
  const wasmUrls = [...new Set(results.flatMap((r) => r.runs.flatMap((x) => x.wasm.map((w) => w.url))))];
  const brotli = await brotliSizes(new Set(results.flatMap((r) => r.runs[0].wasm.filter(big).map((w) => w.url))));
  console.log("\n.wasm fetched (first run of each page)");
  for (const r of results) {
    const files = r.runs[0].wasm;
    const total = files.reduce((sum, w) => sum + w.bytes, 0);
    console.log(`${r.path.padEnd(13)} ${files.length} file(s), ${kB(total)} over the wire`);
    for (const w of files.filter(big)) {
      const b = brotli.get(w.url);
      console.log(
        `  ${new URL(w.url).pathname}: ${kB(w.bytes)} sent (content-encoding ${w.encoding}), ` +
          `${kB(b.raw)} uncompressed, ${kB(b.br)} as brotli q11`,
      );
    }
    const small = files.filter((w) => !big(w));
    if (small.length) {
      const sum = small.reduce((s, w) => s + w.bytes, 0);
      const chunks = small.filter((w) => /\/chunk_\d+/.test(new URL(w.url).pathname)).length;
      console.log(`  ${small.length} smaller file(s) (${chunks} named chunk_*): ${kB(sum)} sent in all`);
    }
  }
  const chunkNames = wasmUrls.filter((u) => /\/chunk_\d+/.test(new URL(u).pathname)).length;
  console.log(`distinct .wasm files over all pages: ${wasmUrls.length} (${chunkNames} named chunk_*)`);

  console.log("\nhydrated (ms from navigation start; wall clock from goto in brackets)");
  for (const r of results) {
    const each = r.runs.map((x) => `${x.hydrated} [${x.wall}]`).join(", ");
    console.log(`${r.path.padEnd(13)} p50 ${String(median(r.runs.map((x) => x.hydrated))).padStart(6)}   runs: ${each}   (${r.who})`);
  }

  // Against the goals of issue 21.
  const worstWasm = Math.max(...results.map((r) => median(r.runs.map((x) => x.wasm.reduce((s, w) => s + w.bytes, 0)))));
  const board = results.find((r) => r.path === "/leaderboard");
  const boardP50 = median(board.runs.map((x) => x.hydrated));
  const verdict = (ok) => (ok ? "met" : "MISSED");
  console.log("\ngoals");
  console.log(`WASM of a first load ≤ ${kB(GOAL_WASM_BYTES)} brotli: largest ${kB(worstWasm)} over the wire — ${verdict(worstWasm <= GOAL_WASM_BYTES)}`);
  console.log(`/leaderboard hydrated ≤ ${GOAL_HYDRATED_MS} ms throttled: p50 ${boardP50} ms — ${verdict(boardP50 <= GOAL_HYDRATED_MS)}`);
} catch (e) {
  console.error(e instanceof Failure ? `first-load: ${e.message}` : e);
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);
