import { test, expect } from "@playwright/test";
import { MANAGER, REP, parseNumber, percent, signIn } from "./helpers";

test("a manager sets a target in the grid and sees its attainment", async ({ page }) => {
  await signIn(page, MANAGER, "/targets");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const target = 1_000_000;
  const cell = page.locator('td[data-cell="rep:u-rep|revenue"]');
  await cell.locator("input").fill(String(target));
  // Saving stores every filled cell of the grid and says how many.
  const filled = await page
    .getByTestId("targets-grid")
    .locator("input")
    .evaluateAll((inputs) => inputs.filter((i) => (i as HTMLInputElement).value.trim() !== "").length);
  await page.getByRole("button", { name: "Сохранить" }).click();
  await expect(page.getByRole("status")).toHaveText(`Сохранено: ${filled}`);
  await expect(cell.locator("input")).toHaveValue(String(target));
  // The cell reads "<actual> · <attainment>", the attainment in whole percent of the new target.
  const actual = parseNumber((await cell.locator(".actual").innerText()).split("·")[0]);
  await expect(cell.locator(".actual strong")).toHaveText(` · ${percent((actual * 100) / target, 0)}`);
  await page.screenshot({ path: "artifacts/targets-desktop.png", fullPage: true });

  // The rep's KPI card shows the target and the attainment beside the value.
  await page.goto("/kpis?scope=rep:u-rep");
  await expect(page.getByLabel("Кто")).toHaveValue("rep:u-rep");
  const revenue = page.locator('[data-kpi="revenue"]');
  await expect(revenue.locator(".target")).toContainText("1\u202F000\u202F000");
  const value = parseNumber(await revenue.getByTestId("kpi-value").innerText());
  await expect(revenue.locator(".attainment")).toHaveText(` · ${percent((value * 100) / target, 1)}`);
  await page.screenshot({ path: "artifacts/kpis-desktop.png", fullPage: true });
});

test("a rep cannot open the targets grid", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  await page.goto("/targets");
  await expect(page.getByText("Цели ставят только менеджеры и администраторы.")).toBeVisible();
  await expect(page.getByTestId("targets-grid")).toHaveCount(0);
});

test("the leaderboard ranks by another KPI with a scope filter", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  await page.getByLabel("Показатель").selectOption("touchpoints");
  await page.getByLabel("Кто").selectOption("team:t-msk");
  // After hydration the filters apply as they change (the "Показать" button is for pages without JavaScript).
  await expect(page).toHaveURL(/by=touchpoints/);
  await expect(page).toHaveURL(/scope=team(%3A|:)t-msk/);
  const board = page.getByTestId("leaderboard");
  await expect(board).toHaveAttribute("data-by", "touchpoints");
  await expect(board.locator("tbody tr")).toHaveCount(7);
  await expect(board.locator("tr.mine")).toHaveCount(1);
});

test("a manager sees the team's forecast and who needs support", async ({ page }) => {
  await signIn(page, MANAGER, "/team");
  const forecast = page.getByTestId("forecast");
  await expect(forecast.getByTestId("run-rate")).toHaveText(/\d.*₽/);
  // With a target far above everyone's result, every rep of the team is a weak spot.
  await page.goto("/targets");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await page.locator('td[data-cell="rep:u-rep|touchpoints"] input').fill("100000");
  await page.getByRole("button", { name: "Сохранить" }).click();
  await expect(page.getByRole("status")).toContainText("Сохранено");
  await page.goto("/team");
  const spots = page.getByTestId("weak-spots");
  await expect(spots.locator('tr[data-user="u-rep"]')).toContainText("Количество точек контакта");
  await page.screenshot({ path: "artifacts/team-desktop.png", fullPage: true });
});
