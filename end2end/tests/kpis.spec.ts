import { test, expect } from "@playwright/test";
import { MANAGER, REP, orgDate, parseNumber, signIn } from "./helpers";

// The KPI card on the demo organisation (issue 16, items 2 and 11): a month under way shows pace
// against the prorated target and compares with the same span of the previous month; a closed month
// keeps its whole figures. The subtitle names the person and the period in words.

const MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"];

test("a month under way is paced against the prorated target and compared like with like", async ({ page }) => {
  await signIn(page, REP, "/kpis");
  const { year, month } = orgDate();
  await expect(page.getByTestId("kpi-scope")).toHaveText(`Анна Смирнова · ${MONTHS[month - 1]} ${year}`);
  await expect(page.getByTestId("kpi-so-far")).toContainText("Период идёт");

  // The demo sets a monthly revenue target for every rep: on pace or behind, with what is due by now.
  const revenue = page.locator('[data-kpi="revenue"]');
  const pace = revenue.getByTestId("kpi-pace");
  await expect(pace).toHaveText(/^(в темпе|отстаёт от темпа) · план на сейчас: .+₽$/);
  const value = parseNumber(await revenue.getByTestId("kpi-value").innerText());
  const due = parseNumber((await pace.innerText()).split(":")[1]);
  await expect(pace).toHaveAttribute("data-on-pace", String(value >= due));
  // Attainment stays against the whole month's target, so it is at most the pace's share of it.
  const target = parseNumber((await revenue.locator(".target").innerText()).split(":")[1].split("·")[0]);
  expect(due).toBeLessThanOrEqual(target);
  await expect(revenue.locator(".change")).toContainText("к тому же моменту прошлого периода");
  // A rate is not prorated: the win rate's pace has nothing "due by now".
  await expect(page.locator('[data-kpi="win_rate"]').getByTestId("kpi-pace")).toHaveText(/^(в темпе|отстаёт от темпа)$/);
  await page.screenshot({ path: "artifacts/kpis-pace-desktop.png", fullPage: true });

  // Last month has closed: no pace, the whole month before it compared.
  const last = month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, "0")}`;
  await page.goto(`/kpis?scope=rep:u-rep&period=${last}`);
  await expect(page.getByTestId("kpi-so-far")).toHaveCount(0);
  await expect(page.getByTestId("kpi-pace")).toHaveCount(0);
  await expect(page.locator('[data-kpi="revenue"] .change')).toContainText("к прошлому периоду");
});

test("the team page paces the month's revenue and the report compares with the same span of last month", async ({ page }) => {
  await signIn(page, MANAGER, "/team");
  // The run rate's share of the target is the pace: revenue so far against the target prorated to now.
  const pace = page.getByTestId("forecast-pace");
  await expect(pace).toHaveText(/^(в темпе|отстаёт от темпа) · план на сейчас: .+₽$/);
  await page.goto(`/team/report?team=t-msk&period=${orgDate().period}`);
  const kpis = page.getByTestId("report-kpis");
  await expect(kpis.locator("thead")).toContainText("Темп");
  await expect(kpis.locator("thead")).toContainText(/К \d\d\.\d\d\.\d{4} 00:00 — \d\d\.\d\d\.\d{4} \d\d:\d\d/);
  await expect(kpis.locator('tr[data-kpi="revenue"] td.pace')).toHaveText(/^(в темпе|отстаёт от темпа)$/);
});
