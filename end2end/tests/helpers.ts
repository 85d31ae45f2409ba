import { expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

// The demo organisation's sign-ins (`kpi-arena demo`).
export const ADMIN = { email: "admin@demo.kpi-arena.local", password: "demo-arena" };
export const MANAGER = { email: "manager@demo.kpi-arena.local", password: "demo-arena" };
export const REP = { email: "rep@demo.kpi-arena.local", password: "demo-arena" };

/** Signs in through the Russian sign-in page and waits for `next` to hydrate. */
export async function signIn(page: Page, who: { email: string; password: string }, next: string) {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Пароль").fill(who.password);
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page).toHaveURL(new RegExp(next.replace("?", "\\?") + "$"));
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
}

/** WCAG 2.1 A and AA by axe-core: no violations. */
export async function axe(page: Page) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const problems = result.violations.map(
    (v) => `${page.url()}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`,
  );
  expect(problems, problems.join("\n")).toEqual([]);
}
