import { test, expect } from "@playwright/test";
import { MANAGER, REP, axe, orgDate, parseNumber, percent, signIn } from "./helpers";

// The printable team report (`/team/report`) on the demo organisation: the manager's team is t-msk.

test("a manager opens the printable report from the team page and prints it", async ({ page }) => {
  await signIn(page, MANAGER, "/team");
  await page.getByRole("link", { name: "Отчёт для печати" }).click();
  await expect(page).toHaveURL(new RegExp(`/team/report\\?team=t-msk&period=${orgDate().period}$`));
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Москва — Enterprise");

  // The team's KPIs: revenue with its target (the demo sets one per month), the attainment of the two, and its trend.
  const revenue = page.getByTestId("report-kpis").locator('tr[data-kpi="revenue"]');
  const value = parseNumber(await revenue.locator(".value").innerText());
  const target = parseNumber(await revenue.locator(".target").innerText());
  await expect(revenue.locator(".attainment")).toHaveText(percent((value * 100) / target, 1));
  await expect(revenue.locator("svg.sparkline")).toBeVisible();

  // Reps against their targets: the demo's targeted KPIs are columns, the team's reps rows.
  const reps = page.getByTestId("report-reps");
  await expect(reps.locator("thead")).toContainText("Выручка");
  await expect(reps.locator('tr[data-scope="rep:u-rep"]')).toContainText("Анна Смирнова");
  await expect(reps.locator('td[data-cell="rep:u-rep|revenue"] .of-target')).toContainText("Цель");

  // Movers: seven reps whose revenue differs from last month, so at least one of them is listed.
  const movers = page.getByTestId("movers");
  await expect(movers.getByRole("heading", { name: "Рост" })).toBeVisible();
  await expect(movers.getByRole("heading", { name: "Спад" })).toBeVisible();
  await expect(movers.locator("tbody tr").first()).toBeVisible();
  await expect(movers.locator("tbody tr").first().locator(".move")).toHaveText(/^(▲\d+|▼\d+|=)$/);

  // Once hydrated, "Печать" opens the browser's print dialog (stubbed here).
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await axe(page);
  await page.evaluate(() => {
    (window as any).__printed = 0;
    window.print = () => {
      (window as any).__printed += 1;
    };
  });
  await page.getByRole("button", { name: "Печать" }).click();
  expect(await page.evaluate(() => (window as any).__printed)).toBe(1);
  await page.screenshot({ path: "artifacts/team-report-desktop.png", fullPage: true });

  // On paper: no top bar and no buttons; the tables and the charts stay.
  await page.emulateMedia({ media: "print" });
  await expect(page.locator(".top-bar")).toBeHidden();
  await expect(page.getByRole("button", { name: "Печать" })).toBeHidden();
  await expect(page.getByTestId("report-kpis")).toBeVisible();
  await expect(revenue.locator("svg.sparkline")).toBeVisible();
  await page.pdf({ path: "artifacts/team-report.pdf", format: "A4", printBackground: true });
});

test("a rep is refused the team report", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  const response = await page.goto("/team/report");
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId("forbidden")).toBeVisible();
  await expect(page.getByTestId("report-kpis")).toHaveCount(0);
});
