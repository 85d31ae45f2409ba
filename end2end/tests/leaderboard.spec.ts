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
  // The leaderboard itself, not the sign-in page whose `?next=` names it (that one hydrates first).
  await expect(page).toHaveURL((url) => url.pathname === "/leaderboard");
  await expect(page.getByTestId("leaderboard")).toBeVisible();
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

test("on a phone the columns line up, the values fit and the rep's own row needs no scrolling", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signIn(page);
  const board = page.getByTestId("leaderboard");
  await expect(board.locator("tbody tr")).toHaveCount(25);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);

  // As many header cells shown as data cells in a row, each header over its own column.
  const layout = await board.evaluate((table) => {
    const shown = (cells: Element[]) =>
      cells.filter((c) => getComputedStyle(c).display !== "none").map((c) => c.getBoundingClientRect());
    const heads = shown([...table.querySelectorAll("thead tr:first-child th")]);
    const rows = [...table.querySelectorAll("tbody tr")].map((tr) => shown([...tr.children]));
    return {
      heads: heads.map((r) => [r.left, r.right]),
      rows: rows.map((cells) => cells.map((r) => [r.left, r.right])),
      pageWidth: document.documentElement.scrollWidth,
    };
  });
  expect(layout.heads.length).toBe(4);
  for (const cells of layout.rows) {
    expect(cells.length).toBe(layout.heads.length);
    cells.forEach(([left, right], i) => {
      expect(Math.abs(left - layout.heads[i][0])).toBeLessThan(1);
      expect(Math.abs(right - layout.heads[i][1])).toBeLessThan(1);
    });
  }
  // The value column ends inside the screen, and nothing makes the page wider than it.
  const value = await board.locator("tbody tr").first().locator("td.num").boundingBox();
  expect(value).not.toBeNull();
  expect(value!.x + value!.width).toBeLessThanOrEqual(390);
  expect(layout.pageWidth).toBeLessThanOrEqual(390);
  await expect(board.locator("thead th.num")).toBeInViewport({ ratio: 1 });

  // The top bar is two short lines, not a screenful.
  const bar = await page.locator(".top-bar").boundingBox();
  expect(bar!.height).toBeLessThan(100);

  // The rep's own row on the first screen: repeated under the header unless it is the first row anyway.
  expect(await page.evaluate(() => window.scrollY)).toBe(0);
  const mine = board.locator("tbody tr.mine");
  const pinned = page.getByTestId("my-row");
  const first = (await board.locator("tbody tr").first().getAttribute("class"))?.includes("mine");
  const shown = first ? mine : pinned;
  await expect(shown).toBeInViewport({ ratio: 1 });
  await expect(shown.locator(".name")).toHaveText(REP.name);
  await expect(shown.locator(".rank")).toHaveText((await mine.locator(".rank").innerText()).trim());
  await expect(shown.locator("td.num")).toHaveText((await mine.locator("td.num").innerText()).trim());
  await page.screenshot({ path: "artifacts/leaderboard-phone.png" });
  await context.close();
});

test("on a desktop the own row is not repeated", async ({ page }) => {
  await signIn(page);
  await expect(page.getByTestId("leaderboard").locator("tbody tr.mine")).toBeVisible();
  await expect(page.getByTestId("my-row")).toBeHidden();
});

test("KPI and scope update the ranking in place and stay in the URL", async ({ page }) => {
  await signIn(page);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const board = page.getByTestId("leaderboard");
  // After hydration the filters apply as they change: no button to press.
  await expect(page.getByRole("button", { name: "Показать" })).toBeHidden();
  // The live stream open (its opening re-reads the board, which would take the focus checked below).
  await expect(page.locator("body[data-live=open]")).toHaveCount(1);
  // A full page load would drop this marker.
  await page.evaluate(() => ((window as any).__marker = "same document"));
  const { period } = orgDate();

  await page.getByLabel("Показатель").selectOption("touchpoints");
  await expect(page).toHaveURL(/[?&]by=touchpoints(&|$)/);
  await expect(board).toHaveAttribute("data-by", "touchpoints");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Количество точек контакта");
  await expect(board.locator("tbody tr")).toHaveCount(25);
  // Focus stays on the filter just changed, for the keyboard.
  await expect(page.getByLabel("Показатель")).toBeFocused();

  await page.getByLabel("Кто").selectOption("team:t-msk");
  await expect(page).toHaveURL(/[?&]scope=team%3At-msk(&|$)/);
  await expect(board).toHaveAttribute("data-scope", "team:t-msk");
  await expect(board).toHaveAttribute("data-by", "touchpoints");
  const teamRows = await board.locator("tbody tr").count();
  expect(teamRows).toBeGreaterThan(0);
  expect(teamRows).toBeLessThan(25);
  await expect(board.locator("tr.mine .name")).toHaveText(REP.name);
  expect(page.url()).toContain(`period=${period}`);
  expect(await page.evaluate(() => (window as any).__marker)).toBe("same document");

  // The URL alone gives the same view (a bookmark, a shared link).
  const url = page.url();
  await page.goto(url);
  await expect(board).toHaveAttribute("data-by", "touchpoints");
  await expect(board).toHaveAttribute("data-scope", "team:t-msk");
  await expect(board.locator("tbody tr")).toHaveCount(teamRows);
  await expect(page.getByLabel("Показатель")).toHaveValue("touchpoints");
  await expect(page.getByLabel("Кто")).toHaveValue("team:t-msk");
});

test("without JavaScript the filter form still applies with its button", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page);
  const board = page.getByTestId("leaderboard");
  await page.getByLabel("Показатель").selectOption("touchpoints");
  await page.getByLabel("Кто").selectOption("team:t-msk");
  await page.getByRole("button", { name: "Показать" }).click();
  await expect(page).toHaveURL(/[?&]by=touchpoints(&|$)/);
  await expect(page).toHaveURL(/[?&]scope=team%3At-msk(&|$)/);
  await expect(board).toHaveAttribute("data-by", "touchpoints");
  await expect(board).toHaveAttribute("data-scope", "team:t-msk");
  await expect(board.locator("tr.mine .name")).toHaveText(REP.name);
  await context.close();
});
