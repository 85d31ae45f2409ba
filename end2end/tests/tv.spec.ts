import { test, expect, Page, Browser } from "@playwright/test";
import { spawn, ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import { setMaxListeners } from "node:events";
import { now, pairTv as pairTvOn, parseNumber } from "./helpers";

const MANAGER = { email: "manager@demo.kpi-arena.local", password: "demo-arena" };
const BASE_A = process.env.BASE_URL ?? "http://127.0.0.1:3170";
const BASE_B = process.env.BASE_URL_B ?? "http://127.0.0.1:3171";
const TOKEN = process.env.E2E_TOKEN ?? "";

async function signIn(page: Page, next: string) {
  await page.goto(`${BASE_A}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Email").fill(MANAGER.email);
  await page.getByLabel("Пароль").fill(MANAGER.password);
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page).toHaveURL(new RegExp(next));
}

/** Pairs a TV on `base` from the manager's Displays page on instance A. */
function pairTv(browser: Browser, manager: Page, base: string, name: string): Promise<Page> {
  return pairTvOn(browser, manager, base, name, BASE_A);
}

/**
 * Notes, in the TV page, the wall-clock time each won deal reaches the wall's
 * celebration queue (a MutationObserver: exact to the DOM change, unlike an
 * assertion's polling). Deals are celebrated in turn, so the queue, not the
 * celebration on screen, is when the deal arrived.
 */
async function watchCelebrations(tv: Page): Promise<void> {
  await tv.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { __seen: Record<string, number> }).__seen = seen;
    new MutationObserver(() => {
      const queue = document.querySelector(".celebrations")?.getAttribute("data-queue") ?? "";
      for (const id of queue.split(" ").filter((id) => id)) {
        if (!(id in seen)) seen[id] = Date.now();
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

/** Milliseconds from `started` until the deal `id` reached the TV's celebrations. */
async function celebrated(tv: Page, id: string, started: number): Promise<number> {
  await tv.waitForFunction((id) => id in (window as unknown as { __seen: Record<string, number> }).__seen, id, {
    timeout: 5_000,
  });
  const at = await tv.evaluate((id) => (window as unknown as { __seen: Record<string, number> }).__seen[id], id);
  return at - started;
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length, Math.ceil(sorted.length * q)) - 1];
  return `runs ${latencies.join(", ")}; p50 ${at(0.5)}, p95 ${at(0.95)}, worst ${sorted[sorted.length - 1]}`;
}

/** Sends won deals (one per `n`) in one batch through the records API of `base`; returns their ids. */
async function winDeals(page: Page, base: string, ns: number[]): Promise<string[]> {
  const at = now().toISOString();
  const deals = ns.map((n) => ({
    kind: "deal",
    id: `e2e-${Date.now()}-${n}`,
    owner: "u-rep",
    amount: 100000 + n,
    status: "won",
    created_at: at,
    closed_at: at,
  }));
  const res = await page.request.post(`${base}/api/v1/records`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    data: deals,
  });
  expect(res.status()).toBe(200);
  return deals.map((d) => d.id);
}

/** Sends one won deal through the records API of `base`; returns its id. */
async function winDeal(page: Page, base: string, n: number): Promise<string> {
  return (await winDeals(page, base, [n]))[0];
}

test("a paired TV celebrates a deal won through the records API, live", async ({ browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, "/displays");
  const tv = await pairTv(browser, manager, BASE_A, `TV A ${Date.now()}`);
  await tv.screenshot({ path: "artifacts/tv-1080p.png" });

  await watchCelebrations(tv);
  const latencies: number[] = [];
  for (let n = 0; n < 20; n++) {
    const started = Date.now();
    const id = await winDeal(tv, BASE_A, n);
    latencies.push(await celebrated(tv, id, started));
  }
  await tv.screenshot({ path: "artifacts/tv-celebration-1080p.png" });
  console.log(`record-to-TV latency (ms), same instance: ${summary(latencies)}`);

  // A 4K screen renders the same wall, larger.
  await tv.setViewportSize({ width: 3840, height: 2160 });
  await tv.screenshot({ path: "artifacts/tv-4k.png" });
});

test("with 2,000 other pages' streams open on its instance, a TV still celebrates every deal (latency printed)", async ({ browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, "/displays");
  const tv = await pairTv(browser, manager, BASE_A, `TV floor ${Date.now()}`);
  // 2,000 open pages of the manager's session, as a sales floor's browsers hold them.
  const cookie = (await manager.context().cookies(BASE_A)).map((c) => `${c.name}=${c.value}`).join("; ");
  const floor = new AbortController();
  // One signal ends all 2,000 streams; Node would warn once per listener past its default limit.
  setMaxListeners(2100, floor.signal);
  const opened = await Promise.all(
    Array.from({ length: 2000 }, async () => {
      const res = await fetch(`${BASE_A}/api/live`, { headers: { cookie }, signal: floor.signal });
      // Drain it, as a browser does.
      const reader = res.body!.getReader();
      (async () => {
        try {
          while (!(await reader.read()).done) {}
        } catch {
          // aborted at the end
        }
      })();
      return res.status;
    }),
  );
  try {
    expect(opened.filter((s) => s === 200)).toHaveLength(2000);
    await watchCelebrations(tv);
    const latencies: number[] = [];
    for (let n = 0; n < 10; n++) {
      const started = Date.now();
      const id = await winDeal(tv, BASE_A, 40 + n);
      latencies.push(await celebrated(tv, id, started));
    }
    console.log(`record-to-TV latency (ms), same instance, 2,000 other streams open: ${summary(latencies)}`);
  } finally {
    floor.abort();
  }
});

test("a TV on instance B updates from a record sent to instance A", async ({ browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, "/displays");
  const tv = await pairTv(browser, manager, BASE_B, `TV B ${Date.now()}`);
  await watchCelebrations(tv);
  const latencies: number[] = [];
  for (let n = 0; n < 10; n++) {
    const started = Date.now();
    const id = await winDeal(tv, BASE_A, 100 + n);
    latencies.push(await celebrated(tv, id, started));
  }
  console.log(`record-to-TV latency (ms), A to B: ${summary(latencies)}`);
});

test("revoking a display blanks its TV within seconds", async ({ browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, "/displays");
  const name = `TV R ${Date.now()}`;
  const tv = await pairTv(browser, manager, BASE_A, name);
  await manager.reload();
  await expect(manager.locator("body[data-hydrated=true]")).toHaveCount(1);
  const row = manager.locator("tr", { hasText: name });
  await row.getByRole("button", { name: "Отключить" }).click();
  await expect(manager.locator("tr.inactive", { hasText: name })).toHaveCount(1);
  await expect(tv.getByText("Экран отключён")).toBeVisible({ timeout: 5_000 });
  // Reloading does not bring the data back: the TV asks to be paired again.
  await tv.reload();
  await expect(tv.getByTestId("tv-code")).toBeVisible();
});

test("every won deal is celebrated in turn: deals 3, 12 and 30 seconds apart, and two in one batch", async ({ browser }) => {
  test.setTimeout(150_000);
  const manager = await browser.newPage();
  await signIn(manager, "/displays");
  const tv = await pairTv(browser, manager, BASE_A, `TV queue ${Date.now()}`);
  const shown = (id: string) => tv.locator(`.celebration[data-win="${id}"]`);
  // Each celebration fills the screen for 6 seconds, then the next waiting one takes its place.
  const first = await winDeal(tv, BASE_A, 1);
  await expect(shown(first)).toBeVisible({ timeout: 5_000 });
  await tv.waitForTimeout(3_000);
  const second = await winDeal(tv, BASE_A, 2);
  await expect(shown(second)).toBeVisible({ timeout: 10_000 });
  await expect(shown(first)).toHaveCount(0);
  // Long after the earlier celebrations ended (the old wall hid every one after the first).
  await tv.waitForTimeout(12_000);
  const third = await winDeal(tv, BASE_A, 3);
  await expect(shown(third)).toBeVisible({ timeout: 5_000 });
  await tv.waitForTimeout(30_000);
  const fourth = await winDeal(tv, BASE_A, 4);
  await expect(shown(fourth)).toBeVisible({ timeout: 5_000 });
  await expect(tv.locator(".celebration")).toHaveCount(1);

  // Two won deals in one batch: both are celebrated, one after the other.
  await expect(tv.locator(".celebration")).toHaveCount(0, { timeout: 10_000 });
  const [a, b] = await winDeals(tv, BASE_A, [5, 6]);
  await expect(tv.locator(".celebrations")).toHaveAttribute("data-queue", `${a} ${b}`, { timeout: 5_000 });
  await expect(shown(a)).toBeVisible();
  await expect(shown(b)).toBeVisible({ timeout: 10_000 });
  await expect(shown(b)).toContainText(/100\s006/);
  await expect(tv.locator(".celebrations")).toHaveAttribute("data-queue", b);
});

test("the wall fits the screen at 720p, 1080p and 4K, and its KPI slide shows targets and attainment", async ({ browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, "/displays");
  const tv = await pairTv(browser, manager, BASE_A, `TV sizes ${Date.now()}`);
  for (const [width, height] of [
    [1280, 720],
    [1920, 1080],
    [3840, 2160],
  ]) {
    await tv.setViewportSize({ width, height });
    // Each slide in turn, measured in one task so the rotation cannot switch slides in between.
    const overflow = await tv.evaluate(() => {
      const slides = [...document.querySelectorAll<HTMLElement>(".tv-slide")];
      const out: Record<string, number> = {};
      for (const slide of slides) {
        const active = slides.map((s) => s.classList.contains("active"));
        slides.forEach((s) => s.classList.toggle("active", s === slide));
        const rows = [...slide.querySelectorAll("tr, li, .tv-kpi")];
        const bottom = Math.max(0, ...rows.map((r) => r.getBoundingClientRect().bottom));
        out[`${slide.dataset.slide} (${rows.length} rows)`] = Math.round(bottom - window.innerHeight);
        slides.forEach((s, i) => s.classList.toggle("active", active[i]));
      }
      return out;
    });
    for (const [slide, over] of Object.entries(overflow)) {
      expect(over, `${width}×${height}: ${slide} ends ${over} px below the screen`).toBeLessThanOrEqual(0);
    }
  }
  // A manager's display shows their team: Moscow's seven reps (the board shows up to ten).
  await expect(tv.locator(".tv-board tr")).toHaveCount(7);
  await tv.setViewportSize({ width: 1920, height: 1080 });
  // The team's monthly revenue: its value, its target and attainment beside it.
  const revenue = tv.locator('.tv-kpi[data-kpi="revenue"]');
  await expect(revenue.locator(".target")).toContainText(/цель \d/);
  await expect(revenue.locator(".attained")).toContainText(/\d+\s?%/);
  await expect(revenue.locator("progress")).toHaveCount(1);
  await tv.evaluate(() => {
    document.querySelectorAll(".tv-slide").forEach((s) => s.classList.toggle("active", s.getAttribute("data-slide") === "kpis"));
  });
  await tv.screenshot({ path: "artifacts/tv-kpis-1080p.png" });
});

/** Starts one more instance of the app on `port` (the same database), and waits until it answers. */
async function startInstance(port: number): Promise<ChildProcess> {
  const bin = process.env.E2E_BIN;
  if (!bin) throw new Error("E2E_BIN (set by end2end/run.sh) names the kpi-arena binary");
  // A pinned clock goes on from where the other instances' clocks are now, not from where they started.
  const env = { ...process.env };
  if (env.KPI_ARENA_TEST_NOW?.trim()) env.KPI_ARENA_TEST_NOW = now().toISOString();
  const log = openSync(`../target/e2e-logs/instance-${port}.log`, "a");
  // From the repository root, as end2end/run.sh starts the others: the site (WASM, CSS) is found there.
  const server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`], { cwd: "..", env, stdio: ["ignore", log, log] });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/login`)).ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  server.kill("SIGKILL");
  throw new Error(`the instance on port ${port} did not start in 20 s`);
}

async function stopInstance(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null) return;
  const exited = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await exited;
}

test("after its instance restarts, a TV and a page reconnect by themselves and update in place", async ({ browser }) => {
  const port = Number(new URL(BASE_A).port) + 20;
  const base = `http://127.0.0.1:${port}`;
  let server = await startInstance(port);
  try {
    const session = await browser.newContext();
    const manager = await session.newPage();
    await signIn(manager, "/displays");
    const tv = await pairTv(browser, manager, base, `TV restart ${Date.now()}`);
    // The manager's leaderboard, on the instance that restarts (the session cookie is the site's).
    const board = await session.newPage();
    await board.goto(`${base}/leaderboard`);
    await expect(board.locator("body[data-live=open]")).toHaveCount(1);
    for (const page of [tv, board]) await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "live");
    await board.evaluate(() => ((window as any).__sameDocument = true));
    const annasRevenue = async () => parseNumber(await board.locator('tr[data-user="u-rep"] td.num').innerText());
    const before = await annasRevenue();

    // The instance stops (its streams end at once) and both screens say they are reconnecting.
    await stopInstance(server);
    for (const page of [tv, board]) {
      await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "reconnecting");
      await expect(page.getByTestId("live-status")).toHaveText("переподключение…");
    }
    // Back: each reconnects by itself after the random 1–5 s delay the server gave it.
    server = await startInstance(port);
    for (const page of [tv, board]) {
      await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "live", { timeout: 15_000 });
      await expect(page.getByTestId("live-status")).toHaveText("в эфире");
    }
    // A deal sent to the other instance reaches both in place: the TV celebrates it, the row grows.
    await watchCelebrations(tv);
    const started = Date.now();
    const id = await winDeal(tv, BASE_A, 7);
    await celebrated(tv, id, started);
    await expect.poll(annasRevenue).toBe(before + 100007);
    expect(await board.evaluate(() => (window as any).__sameDocument)).toBe(true);
  } finally {
    await stopInstance(server);
  }
});
