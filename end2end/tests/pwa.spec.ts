import { test, expect, Page } from "@playwright/test";
import { MANAGER, REP, pairTv, signIn } from "./helpers";

const BASE_A = process.env.BASE_URL ?? "http://127.0.0.1:3170";

/**
 * Waits until the service worker is active, then reloads once so that the page itself comes
 * through it (and is kept). A page loaded before the worker was active may be claimed by it,
 * controlled, without its document having passed through.
 */
async function controlled(page: Page) {
  const script = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL ?? "");
  expect(new URL(script).pathname).toBe("/sw.js");
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
}

/** The paths of everything the service worker keeps. */
function kept(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const paths: string[] = [];
    for (const name of await caches.keys()) {
      for (const request of await (await caches.open(name)).keys()) paths.push(new URL(request.url).pathname);
    }
    return paths.sort();
  });
}

test("installable: a manifest with real icons, and a service worker on every page", async ({ page }) => {
  await page.goto("/login");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const href = await page.locator("link[rel=manifest]").getAttribute("href");
  expect(href).toBe("/manifest.webmanifest");
  const manifest = await (await page.request.get(href!)).json();
  expect(manifest).toMatchObject({ name: "KPI Arena", start_url: "/", display: "standalone" });
  // Each PNG icon is served and is the size it claims (width and height from its IHDR header).
  const pngs = manifest.icons.filter((i: { type: string }) => i.type === "image/png");
  expect(pngs.map((i: { sizes: string }) => i.sizes).sort()).toEqual(["192x192", "512x512", "512x512"]);
  expect(pngs.some((i: { purpose?: string }) => i.purpose === "maskable")).toBe(true);
  for (const icon of pngs) {
    const res = await page.request.get(icon.src);
    expect(res.status(), icon.src).toBe(200);
    expect(res.headers()["content-type"]).toBe("image/png");
    const png = await res.body();
    expect(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`).toBe(icon.sizes);
  }
  await controlled(page);
});

test("a TV that reloads without network shows its last standings, marked stale; back online, live again", async ({ browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, MANAGER, "/displays");
  const tv = await pairTv(browser, manager, BASE_A, `TV offline ${Date.now()}`, BASE_A);
  await controlled(tv);
  await expect(tv.getByTestId("tv-updated")).toBeVisible();
  await expect(tv.locator("body[data-live=open]")).toHaveCount(1);
  const board = (await tv.locator(".tv-board").textContent()) ?? "";
  expect(board).toContain("Анна Смирнова");
  await expect(tv.locator(".tv-stale")).toBeHidden();

  // The network goes; the TV stick reloads the page.
  await tv.context().setOffline(true);
  await tv.reload();
  await expect(tv.locator("body[data-hydrated=true]")).toHaveCount(1);
  await expect(tv.locator(".tv-board")).toHaveText(board);
  await expect(tv.locator(".tv-stale")).toBeVisible({ timeout: 5_000 });

  // The network comes back: the stream reconnects and the warning goes.
  await tv.context().setOffline(false);
  await expect(tv.locator("body[data-live=open]")).toHaveCount(1, { timeout: 15_000 });
  await expect(tv.locator(".tv-stale")).toBeHidden({ timeout: 5_000 });
  // What it kept: the wall and hashed static files, nothing else.
  const paths = await kept(tv);
  expect(paths).toContain("/tv");
  expect(paths.some((p) => p.endsWith(".wasm"))).toBe(true);
  expect(paths.filter((p) => p !== "/tv" && !p.startsWith("/pkg/"))).toEqual([]);
});

test("a rep's pages are never kept: offline, the leaderboard is not shown from a cache", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  await controlled(page);
  await page.reload();
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const paths = await kept(page);
  expect(paths.some((p) => p.startsWith("/pkg/"))).toBe(true);
  expect(paths.filter((p) => !p.startsWith("/pkg/"))).toEqual([]);
  await page.context().setOffline(true);
  await expect(page.reload()).rejects.toThrow(/ERR_INTERNET_DISCONNECTED/);
});

test("a new build's main files replace the older build's in a phone's cache; they are checked on every load", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  await controlled(page);
  await page.reload();
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const main = (await kept(page)).filter((p) => /^\/pkg\/kpi-arena\.[^/]+\.(js|wasm)$/.test(p));
  expect(main.map((p) => p.slice(p.lastIndexOf("."))).sort()).toEqual([".js", ".wasm"]);
  // The main files are sent no-cache: their names survive a release that changes only lazy pages.
  for (const path of main) {
    expect((await page.request.get(path)).headers()["cache-control"], path).toBe("no-cache");
  }

  // What an older build left: its main script and WASM, and a chunk of a page.
  const older = ["/pkg/kpi-arena.olderbuild.js", "/pkg/kpi-arena.olderbuild.wasm", "/pkg/account.olderchunk.wasm"];
  await page.evaluate(async (paths) => {
    const cache = await caches.open("kpi-arena-assets-v1");
    for (const path of paths) await cache.put(path, new Response("older build"));
  }, older);
  await page.reload();
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const after = await kept(page);
  // Fetched from the network again, the current main files replace the older ones of their kind.
  await expect.poll(async () => (await kept(page)).filter((p) => p.includes("olderbuild"))).toEqual([]);
  expect(after).toEqual(expect.arrayContaining(main));
  expect(after).toContain("/pkg/account.olderchunk.wasm");
});
