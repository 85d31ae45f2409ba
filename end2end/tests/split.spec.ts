import { test, expect, Page } from "@playwright/test";
import { REP, signIn } from "./helpers";

// The build splits the WASM by page (`cargo leptos build --split`, app/src/pages/lazy.rs).
const ADMIN_PAGES = ["users", "teams", "settings", "import", "imports", "rules", "connectors", "notifications", "tokens", "team_report"];

/** The WASM files a page fetches from now on, by name (hash left out). */
function wasmFetched(page: Page): string[] {
  const names: string[] = [];
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.endsWith(".wasm")) names.push(path.replace(/^\/pkg\//, "").replace(/\.[^.]+\.wasm$/, ""));
  });
  return names;
}

const pageChunk = (name: string) => `split___${name}_route_view`;

test("a rep's first load fetches the app's WASM, never an admin page's; a rarely used page's chunk comes when opened", async ({ browser }) => {
  const signInPage = await browser.newPage();
  await signIn(signInPage, REP, "/leaderboard");
  const state = await signInPage.context().storageState();
  await signInPage.close();

  // A fresh browser (empty cache, no service worker) holding the rep's session.
  const context = await browser.newContext({ storageState: state, serviceWorkers: "block" });
  const page = await context.newPage();
  const fetched = wasmFetched(page);
  await page.goto("/leaderboard");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  expect(fetched).toContain("kpi-arena");
  // The daily pages are in the main file: no page chunk at all.
  expect(fetched.filter((n) => n.startsWith("split___"))).toEqual([]);
  for (const admin of ADMIN_PAGES) {
    expect(fetched.filter((n) => n.startsWith(pageChunk(admin) + "_")), admin).toEqual([]);
  }

  // The rep's own account page is a rarely used one: its chunk is fetched when it is opened, and it works.
  await page.getByRole("link", { name: /Анна Смирнова/ }).first().click();
  await expect(page).toHaveURL(/\/account$/);
  await expect.poll(() => fetched.some((n) => n.startsWith(pageChunk("account") + "_"))).toBe(true);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Мой пароль");
  expect(fetched.filter((n) => ADMIN_PAGES.some((a) => n.startsWith(pageChunk(a) + "_")))).toEqual([]);
  await context.close();
});
