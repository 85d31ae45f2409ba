import { test, expect, Page, Browser } from "@playwright/test";
import { now } from "./helpers";

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

/**
 * Opens /tv on `base` in a fresh browser (no cookies) at 1080p, pairs it from the manager's Displays page,
 * and waits for its live stream: a record sent before it connects would go unheard.
 */
async function pairTv(browser: Browser, manager: Page, base: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const tv = await context.newPage();
  await tv.goto(`${base}/tv`);
  const code = (await tv.getByTestId("tv-code").innerText()).trim();
  expect(code).toMatch(/^[A-Z2-9]{6}$/);
  await manager.goto(`${BASE_A}/displays`);
  await expect(manager.locator("body[data-hydrated=true]")).toHaveCount(1);
  const form = manager.getByTestId("pair-display");
  await form.getByLabel("Код с экрана").fill(code);
  await form.getByLabel("Название").fill(name);
  await form.getByRole("button", { name: "Подключить" }).click();
  await expect(manager.getByTestId("displays")).toContainText(name);
  // The TV looks again every 3 seconds and, once paired, shows the wall.
  await expect(tv.getByTestId("tv-updated")).toBeVisible({ timeout: 10_000 });
  await expect(tv.locator("body[data-hydrated=true]")).toHaveCount(1);
  await expect(tv.locator("body[data-live=open]")).toHaveCount(1);
  return tv;
}

/**
 * Notes, in the TV page, the wall-clock time each celebration appears (a
 * MutationObserver: exact to the DOM change, unlike an assertion's polling).
 */
async function watchCelebrations(tv: Page): Promise<void> {
  await tv.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { __seen: Record<string, number> }).__seen = seen;
    new MutationObserver(() => {
      document.querySelectorAll(".celebration[data-win]").forEach((el) => {
        const id = el.getAttribute("data-win") ?? "";
        if (!(id in seen)) seen[id] = Date.now();
      });
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

/** Milliseconds from `started` until the celebration of `id` appeared on the TV. */
async function celebrated(tv: Page, id: string, started: number): Promise<number> {
  await expect(tv.locator(`.celebration[data-win="${id}"]`)).toBeVisible({ timeout: 5_000 });
  const at = await tv.evaluate((id) => (window as unknown as { __seen: Record<string, number> }).__seen[id], id);
  return at - started;
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length, Math.ceil(sorted.length * q)) - 1];
  return `runs ${latencies.join(", ")}; p50 ${at(0.5)}, p95 ${at(0.95)}, worst ${sorted[sorted.length - 1]}`;
}

/** Sends one won deal through the records API of `base`; returns its id. */
async function winDeal(page: Page, base: string, n: number): Promise<string> {
  const id = `e2e-${Date.now()}-${n}`;
  const at = now().toISOString();
  const res = await page.request.post(`${base}/api/v1/records`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    data: [{ kind: "deal", id, owner: "u-rep", amount: 100000 + n, status: "won", created_at: at, closed_at: at }],
  });
  expect(res.status()).toBe(200);
  return id;
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
