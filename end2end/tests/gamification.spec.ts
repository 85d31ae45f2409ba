import { test, expect } from "@playwright/test";
import { ADMIN, MANAGER, REP, signIn } from "./helpers";

/** "1 234" (narrow no-break spaces, a minus sign or a plus) → 1234. */
function parsePoints(text: string): number {
  return Number(text.replace(/[\s\u202F\u00A0+]/g, "").replace("−", "-"));
}

test("a rep sees why they have their points, and the leaderboard agrees", async ({ page }) => {
  await signIn(page, REP, "/points");
  const ledger = page.getByTestId("ledger");
  await expect(ledger).toBeVisible();
  const cells = await ledger.locator("tbody td.points").allInnerTexts();
  expect(cells.length).toBeGreaterThan(0);
  const sum = cells.map(parsePoints).reduce((a, b) => a + b, 0);
  const total = parsePoints(await page.getByTestId("points-total").innerText());
  expect(total).toBe(sum);
  expect(parsePoints(await page.getByTestId("period-points").innerText())).toBe(total);
  await expect(page.getByTestId("level")).toContainText(/Уровень \d/);
  await page.screenshot({ path: "artifacts/points-desktop.png", fullPage: true });

  // The same number is the rep's value on the points leaderboard of the month.
  await page.goto("/leaderboard?by=points");
  const mine = page.locator("tr.mine td.num");
  expect(parsePoints(await mine.innerText())).toBe(total);

  // Neighbours only: the top 3 plus up to two rows either side of the rep, as on the full board.
  const rows = page.getByTestId("leaderboard").locator("tbody tr");
  const ranks = await rows.evaluateAll((trs) => {
    const at = trs.findIndex((tr) => tr.classList.contains("mine"));
    return trs.filter((_, i) => i < 3 || Math.abs(i - at) <= 2).map((tr) => tr.querySelector(".rank")?.textContent ?? "");
  });
  await page.goto("/leaderboard?by=points&view=neighbours&names=initials");
  await expect(rows.locator(".rank")).toHaveText(ranks);
  await expect(page.locator("tr.mine")).toHaveCount(1);
  const others = await page.locator("tbody tr:not(.mine) td.name").allInnerTexts();
  for (const name of others) expect(name).toMatch(/^(\p{Lu}\. ?)+$/u);
});

test("a rep's badges show when and by what they were earned", async ({ page }) => {
  await signIn(page, REP, "/badges");
  const firstWin = page.locator('[data-badge="first_win"]');
  await expect(firstWin).toHaveClass(/earned/);
  await expect(firstWin.locator(".earned")).toContainText(/\d\d\.\d\d\.\d{4}/);
  await expect(firstWin.locator(".records")).toContainText("deal ");
  // The catalogue's 14 badges (the rep has won no challenge), the earned ones counted.
  const badges = page.getByTestId("badges").locator("li.badge");
  await expect(badges).toHaveCount(14);
  const earned = await page.getByTestId("badges").locator("li.badge.earned").count();
  await expect(page.getByTestId("badge-count")).toHaveText(`${earned} из 14`);
  await page.screenshot({ path: "artifacts/badges-desktop.png", fullPage: true });
});

test("a manager's draft challenge stays hidden from reps until it is launched", async ({ browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, MANAGER, "/challenges");
  await expect(manager.locator("body[data-hydrated=true]")).toHaveCount(1);
  const form = manager.getByTestId("new-challenge");
  const name = `Спринт ${Date.now()}`;
  await form.getByLabel("Название").fill(name);
  await form.getByLabel("Вид").selectOption("top_n");
  await form.getByLabel("По чему").selectOption("revenue");
  await form.locator('input[name="participants[u-rep]"]').check();
  await form.locator('input[name="participants[u-rep-02]"]').check();
  await form.getByLabel("Приз").fill("Ужин");
  await form.getByRole("button", { name: "Создать" }).click();
  const card = manager.locator("article.challenge", { hasText: name });
  await expect(card).toHaveClass(/draft/);
  await expect(card.locator("tbody tr")).toHaveCount(2);
  await manager.screenshot({ path: "artifacts/challenges-desktop.png", fullPage: true });

  const rep = await browser.newPage();
  await signIn(rep, REP, "/challenges");
  await expect(rep.getByText(name)).toHaveCount(0);

  await card.getByRole("button", { name: "Запустить" }).click();
  await expect(manager.locator("article.challenge", { hasText: name })).toHaveClass(/live/);
  await rep.reload();
  await expect(rep.locator("article.challenge", { hasText: name })).toBeVisible();
});

test("admins edit points rules; managers read them; reps may not", async ({ page, browser }) => {
  const manager = await browser.newPage();
  await signIn(manager, MANAGER, "/rules");
  await expect(manager.getByTestId("rules")).toBeVisible();
  await expect(manager.getByTestId("rules-admins")).toHaveText("Правила начисления очков меняют только администраторы.");
  await expect(manager.getByTestId("new-rule")).toHaveCount(0);

  await signIn(page, ADMIN, "/rules");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const form = page.getByTestId("new-rule");
  await form.getByLabel("Название").fill("Демо на встрече");
  await form.getByLabel("За что (за единицу)").selectOption("accepted_meetings");
  await form.getByLabel("Очки (за единицу, вес или бонус)").fill("5");
  await form.getByRole("button", { name: "Добавить" }).click();
  await expect(page.getByTestId("rules")).toContainText("Демо на встрече");
  await page.goto("/flags");
  await expect(page.getByRole("heading", { name: /Сигналы/ })).toBeVisible();

  const rep = await browser.newPage();
  await signIn(rep, REP, "/leaderboard");
  await rep.goto("/rules");
  await expect(rep.getByText("Правила начисления очков меняют только менеджеры и администраторы.")).toBeVisible();
});

test("a rep's home shows rank, points, targets and badges", async ({ page }) => {
  // The rank is the rep's on this month's revenue leaderboard, of everyone on it.
  await signIn(page, REP, "/leaderboard");
  const rank = (await page.locator("tr.mine .rank").innerText()).trim();
  const reps = await page.getByTestId("leaderboard").locator("tbody tr").count();
  await page.goto("/");
  await expect(page.getByTestId("my-rank").locator(".value")).toHaveText(`#${rank} из ${reps}`);
  await expect(page.getByTestId("move-up")).toContainText(/обгоните|лидер/);
  // The demo sets this month's revenue, win-rate, touchpoint and response-time targets.
  await expect(page.getByTestId("my-targets").locator("li")).toHaveCount(4);
  const latestBadges = await page.getByTestId("my-badges").locator("li").count();
  expect(latestBadges).toBeGreaterThan(0);
  const homePoints = parsePoints(await page.getByTestId("my-points").locator(".value").innerText());
  await page.screenshot({ path: "artifacts/home-desktop.png", fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: "artifacts/home-phone.png", fullPage: true });
  await page.goto("/points");
  expect(parsePoints(await page.getByTestId("points-total").innerText())).toBe(homePoints);
  // The home lists the latest six of the badges earned.
  await page.goto("/badges");
  const earned = await page.getByTestId("badges").locator("li.badge.earned").count();
  expect(latestBadges).toBe(Math.min(6, earned));
});
