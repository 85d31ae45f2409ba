import { test, expect } from "@playwright/test";
import { REP, signIn } from "./helpers";

const BASE_A = process.env.BASE_URL ?? "http://127.0.0.1:3170";
const BASE_B = process.env.BASE_URL_B ?? "http://127.0.0.1:3171";

test("a form posted from another origin is refused; the app's own works", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  // A page of another origin on the same site (another port): Chromium sends the SameSite=Lax
  // session cookie along, so only the origin check stands between it and the rep's session.
  const evil = `${BASE_B}/prize`;
  await page.route(evil, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><title>Prize</title><form method="post" action="${BASE_A}/api/logout">
             <button id="claim">Claim your prize</button></form>`,
    }),
  );
  await page.goto(evil);
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${BASE_A}/api/logout`),
    page.click("#claim"),
  ]);
  expect(refused.status()).toBe(403);
  expect(refused.request().headers()["cookie"] ?? (await refused.request().allHeaders())["cookie"]).toContain(
    "kpi_arena_session=",
  );
  // Still signed in.
  await page.goto(`${BASE_A}/leaderboard`);
  await expect(page).toHaveURL(/\/leaderboard$/);
  await expect(page.getByTestId("who")).toBeVisible();

  // The app's own sign-out form (same origin) works.
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await page.getByRole("button", { name: "Выйти" }).click();
  await expect(page).toHaveURL(/\/login/);
});

test("pages hydrate under their Content-Security-Policy, with no violation", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  await signIn(page, REP, "/leaderboard");
  for (const path of ["/", "/leaderboard", "/kpis", "/points", "/badges", "/account"]) {
    const res = await page.goto(path);
    const csp = res?.headers()["content-security-policy"] ?? "";
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res?.headers()["x-content-type-options"]).toBe("nosniff");
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  }
  expect(violations).toEqual([]);
});
