import { test, expect, Page } from "@playwright/test";
import { REP, MANAGER, orgDate, signIn } from "./helpers";

// What a person reads when a page refuses them, does not exist, or refuses
// what they typed: the 403/404 page under the navigation, sentences in their
// language, and the points page in words (issue 16, items 5 and 6).

test.use({ locale: "ru-RU" });

/** The top bar of a signed-in page. */
function nav(page: Page) {
  return page.locator("header.top-bar");
}

test("a rep opening a manager's page gets the 403 page with the navigation, in Russian", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  for (const [path, reason] of [
    ["/targets", "Цели ставят только менеджеры и администраторы."],
    ["/team", "Обзор команды видят только менеджеры и администраторы."],
    ["/settings", "Настройки организации меняют только администраторы."],
  ]) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(403);
    await expect(page.getByTestId("forbidden")).toContainText("Нет доступа к этой странице.");
    await expect(page.getByTestId("forbidden-reason")).toHaveText(reason);
    // The navigation is there, the role by its name.
    await expect(nav(page).getByRole("link", { name: "Рейтинг", exact: true })).toBeVisible();
    await expect(page.getByTestId("who")).toContainText("Продавец");
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
    // Hydrated, it is still the same page: no raw error, no English.
    await expect(page.getByTestId("forbidden-reason")).toHaveText(reason);
    await expect(page.locator("body")).not.toContainText("server function");
    await expect(page.locator("body")).not.toContainText("Forbidden");
  }
});

test("a manager opening another team's page gets the 403 page", async ({ page }) => {
  await signIn(page, MANAGER, "/team");
  await expect(page.getByTestId("forbidden")).toHaveCount(0);
  const select = page.locator("select[name=team]");
  const own = await select.inputValue();
  // The demo has teams the manager does not manage: any id but their own.
  const response = await page.goto(`/team?team=${own === "t-spb" ? "t-msk" : "t-spb"}`);
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId("forbidden-reason")).toHaveText("Менеджер видит только свою команду.");
  await expect(nav(page).getByRole("link", { name: "Команда", exact: true })).toBeVisible();
});

test("the 404 page has the navigation", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toContainText("Такой страницы нет.");
  await expect(nav(page).getByRole("link", { name: "Рейтинг", exact: true })).toBeVisible();
});

test("the deal form refuses a negative amount in a Russian sentence", async ({ page }) => {
  await signIn(page, REP, "/deals/new");
  const form = page.getByTestId("new-deal");
  await form.getByLabel("Сумма").fill("-5");
  await form.getByRole("button").click();
  await expect(page.getByRole("alert")).toHaveText("Сумма: значение не может быть отрицательным (-5).");
});

test("the points page words the ledger in Russian, points counted", async ({ page }) => {
  const { year, month } = orgDate();
  const previous = month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, "0")}`;
  await signIn(page, REP, `/points?period=${previous}`);
  const ledger = page.getByTestId("ledger");
  await expect(ledger).toBeVisible();
  const reasons = await ledger.locator("tbody tr td:nth-child(3)").allInnerTexts();
  const rules = await ledger.locator("tbody tr td:nth-child(2)").allInnerTexts();
  expect(reasons.length).toBeGreaterThan(0);
  for (const text of [...reasons, ...rules]) {
    // No English rule names or reasons, no ids where a name belongs, no abbreviations for a count.
    expect(text).not.toMatch(/Won deal|Touchpoint|Revenue|deal deal-|win_rate|очк\.|\(s\)/);
  }
  // A won deal: the rule by its name and "50 очков" (many), a touchpoint "1 очко" (one).
  expect(rules).toContain("Выигранная сделка");
  expect(reasons.some((r) => /^Выигранная сделка \S+: 50 очков за штуку/.test(r))).toBe(true);
  expect(reasons.some((r) => /^Касание \S+: 1 очко за штуку/.test(r))).toBe(true);
  // The rules, counted: "2 × …", "не более 200 очков за день", "1 очко за каждые 10 000".
  const list = page.locator("ul.rules");
  await expect(list).toContainText("Выигранная сделка: 50 очков за единицу (выигранная сделка), не более 200 очков за день");
  await expect(list).toContainText("1 очко за каждые 10\u202F000 (выручка)");
});
