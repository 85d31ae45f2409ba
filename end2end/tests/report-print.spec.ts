import { test, expect } from "@playwright/test";
import { MANAGER, signIn } from "./helpers";

// The printable team report on paper: every figure black on white, the reps' values too
// (on screen they sit in a grid styled like the targets page, whose values are muted).

test("on paper the reps' values print black, not pale grey", async ({ page }) => {
  await signIn(page, MANAGER, "/team/report");
  const cell = page.getByTestId("report-reps").locator('td[data-cell="rep:u-rep|revenue"]');
  await expect(cell.locator(".actual")).toBeVisible();
  await page.emulateMedia({ media: "print" });
  const colours = await page.getByTestId("team-report").evaluate((report) =>
    [...report.querySelectorAll("td, th, td *, th *, h1, h2, h3, p")]
      .filter((e) => e.closest("svg") === null && e.textContent?.trim())
      .map((e) => [e.className || e.tagName, getComputedStyle(e).color]),
  );
  expect(colours.length).toBeGreaterThan(10);
  for (const [what, colour] of colours) expect(colour, `${what}`).toBe("rgb(0, 0, 0)");
  await expect(cell.locator(".actual")).toHaveCSS("color", "rgb(0, 0, 0)");
  await expect(cell.locator(".of-target")).toHaveCSS("color", "rgb(0, 0, 0)");
});
