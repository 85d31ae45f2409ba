import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { MANAGER, REP, signIn } from "./helpers";

/** WCAG 2.1 A and AA rules of axe-core on the page as it is now. */
async function check(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const problems = result.violations.map(
    (v) => `${path}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`,
  );
  expect(problems, problems.join("\n")).toEqual([]);
}

test("the sign-in page and the TV pairing screen pass axe-core", async ({ page }) => {
  await check(page, "/login");
  await check(page, "/tv");
});

test("a rep's pages pass axe-core", async ({ page }) => {
  await signIn(page, REP, "/leaderboard");
  for (const path of ["/", "/leaderboard", "/kpis", "/points", "/badges", "/challenges"]) {
    await check(page, path);
  }
});

test("a manager's pages pass axe-core", async ({ page }) => {
  await signIn(page, MANAGER, "/leaderboard");
  for (const path of ["/team", "/team/report", "/targets", "/rules", "/flags", "/displays", "/tokens", "/import"]) {
    await check(page, path);
  }
});
