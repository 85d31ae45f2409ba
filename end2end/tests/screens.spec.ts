import { test, expect, Page } from "@playwright/test";

// Every page at desktop, phone and TV sizes (the TV screen at desktop and TV sizes only), saved under artifacts/screens/ (not committed).
// Each page must answer 200 (404 for the unknown one), not a refusal, and render its heading after
// hydration at every size, with nothing wider than the screen.

const SIZES = {
  desktop: { width: 1440, height: 900 },
  phone: { width: 390, height: 844 },
  tv: { width: 1920, height: 1080 },
};

async function signIn(page: Page, email: string) {
  await page.goto("/login?next=%2Fleaderboard");
  await page.locator("input[name=email]").fill(email);
  await page.locator("input[name=password]").fill("demo-arena");
  await page.locator("button[type=submit]").click();
  await expect(page).toHaveURL(/\/leaderboard/);
}

async function shoot(page: Page, path: string, name: string) {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    const response = await page.goto(path);
    expect(response?.status(), `${path} at ${size}`).toBe(path === "/no-such-page" ? 404 : 200);
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
    await expect(page.locator("h1").first()).toBeVisible();
    // No horizontal scrolling of the page itself (wide tables scroll inside their own box).
    if (!(path === "/tv" && size === "phone")) {
      await expect
        .poll(() => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), {
          message: `${path} at ${size} is wider than the screen`,
        })
        .toBeLessThanOrEqual(1);
    }
    await page.screenshot({ path: `artifacts/screens/${name}-${size}.png`, fullPage: size !== "tv" });
  }
}

test("every page a rep sees, at desktop, phone and TV sizes", async ({ page }) => {
  await signIn(page, "rep@demo.kpi-arena.local");
  for (const [path, name] of [
    ["/", "home"],
    ["/leaderboard", "leaderboard"],
    ["/kpis", "kpis"],
    ["/points", "points"],
    ["/badges", "badges"],
    ["/challenges", "challenges"],
    ["/deals/new", "deal-form"],
  ]) {
    await shoot(page, path, name);
  }
});

test("every page a manager sees, at desktop, phone and TV sizes", async ({ page }) => {
  await signIn(page, "manager@demo.kpi-arena.local");
  for (const [path, name] of [
    ["/team", "team"],
    ["/team/report", "team-report"],
    ["/targets", "targets"],
    ["/rules", "rules"],
    ["/flags", "flags"],
    ["/displays", "displays"],
    ["/tokens", "tokens"],
    ["/import", "import"],
  ]) {
    await shoot(page, path, name);
  }
});

test("every page only an admin sees, at desktop, phone and TV sizes", async ({ page }) => {
  await signIn(page, "admin@demo.kpi-arena.local");
  for (const [path, name] of [
    ["/users", "users"],
    ["/teams", "teams"],
    ["/settings", "settings"],
    ["/no-such-page", "not-found"],
  ]) {
    await shoot(page, path, name);
  }
});

test("the sign-in page and the TV pairing screen, at desktop, phone and TV sizes", async ({ page }) => {
  await shoot(page, "/login", "login");
  await shoot(page, "/tv", "tv-pairing");
});
