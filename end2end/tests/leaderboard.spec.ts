import { test, expect, Page } from "@playwright/test";
import { orgDate, parseNumber } from "./helpers";

// The demo organisation's rep (see `kpi-arena demo`).
const REP = { email: "rep@demo.kpi-arena.local", password: "demo-arena", name: "Анна Смирнова" };

/** Each rep's value on the board, by user id. */
async function values(page: Page): Promise<Map<string, number>> {
  const rows = await page
    .getByTestId("leaderboard")
    .locator("tbody tr")
    .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-user") ?? "", tr.querySelector("td.num")?.textContent ?? ""]));
  return new Map(rows.map(([user, text]) => [user, parseNumber(text)] as const));
}

async function signIn(page: Page) {
  await page.goto("/leaderboard");
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel("Email").fill(REP.email);
  await page.getByLabel("Пароль").fill(REP.password);
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page).toHaveURL(/\/leaderboard/);
}

test("a demo rep signs in and sees their own row highlighted", async ({ page }) => {
  await signIn(page);
  const board = page.getByTestId("leaderboard");
  await expect(board.locator("tbody tr")).toHaveCount(25);
  const mine = board.locator("tr.mine");
  await expect(mine).toHaveCount(1);
  await expect(mine.locator(".name")).toHaveText(REP.name);
  await expect(page.getByTestId("who")).toContainText(REP.name);
  await page.screenshot({ path: "artifacts/leaderboard-desktop.png", fullPage: true });
});

test("switching the period after hydration does not reload the page", async ({ page }) => {
  await signIn(page);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  // A full reload would drop this marker.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const { year, period: month } = orgDate();
  await expect(page.getByTestId("leaderboard")).toHaveAttribute("data-period", month);
  const monthly = await values(page);
  expect(monthly.size).toBe(25);
  await page.getByRole("link", { name: "Год" }).click();
  await expect(page).toHaveURL(new RegExp(`period=${year}(&|$)`));
  await expect(page.getByTestId("leaderboard")).toHaveAttribute("data-period", String(year));
  await expect(page.getByTestId("period")).toContainText(String(year));
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  // The year's revenue is at least this month's for every rep, so the top value is larger or equal.
  const yearly = await values(page);
  for (const [user, value] of monthly) expect(yearly.get(user), user).toBeGreaterThanOrEqual(value);
  expect(Math.max(...yearly.values())).toBeGreaterThanOrEqual(Math.max(...monthly.values()));
  await expect(page.getByTestId("leaderboard").locator("tr.mine")).toHaveCount(1);
});

test("with JavaScript disabled the ranking still works", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page);
  const rows = page.getByTestId("leaderboard").locator("tbody tr");
  await expect(rows).toHaveCount(25);
  await expect(rows.first().locator(".rank")).toHaveText("1");
  await expect(page.locator("tr.mine .name")).toHaveText(REP.name);
  // Period links are plain links: they navigate without JavaScript too.
  const { year, quarter } = orgDate();
  await page.getByRole("link", { name: "Квартал" }).click();
  await expect(page).toHaveURL(new RegExp(`period=${year}-Q${quarter}(&|$)`));
  await expect(page.getByTestId("leaderboard").locator("tbody tr")).toHaveCount(25);
  await context.close();
});

test("a wrong password shows an error and stays on the login page", async ({ page }) => {
  await page.goto("/login");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await page.getByLabel("Email").fill(REP.email);
  await page.getByLabel("Пароль").fill("not the password");
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page.getByRole("alert")).toContainText("Неверная почта или пароль");
  await expect(page).toHaveURL(/\/login/);
});
