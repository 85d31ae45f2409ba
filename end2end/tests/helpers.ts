import { expect, Page, Browser } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

// The demo organisation's sign-ins (`kpi-arena demo`).
export const ADMIN = { email: "admin@demo.kpi-arena.local", password: "demo-arena" };
export const MANAGER = { email: "manager@demo.kpi-arena.local", password: "demo-arena" };
export const REP = { email: "rep@demo.kpi-arena.local", password: "demo-arena" };

const loadedAt = Date.now();

/**
 * Now on the app's clock: `KPI_ARENA_TEST_NOW` (the instant the runner pins the servers' clock to
 * when they start) plus the time since this file was loaded, or the wall clock when it is not set.
 */
export function now(): Date {
  const pinned = process.env.KPI_ARENA_TEST_NOW?.trim();
  if (!pinned) return new Date();
  const start = Date.parse(pinned);
  if (Number.isNaN(start)) throw new Error(`KPI_ARENA_TEST_NOW=${pinned} is not an RFC 3339 instant`);
  return new Date(start + Date.now() - loadedAt);
}

/** The demo organisation's time zone: `kpi-arena demo --time-zone`, as end2end/run.sh passes it. */
export const ORG_TIME_ZONE = process.env.DEMO_TIME_ZONE?.trim() || "Europe/Moscow";

/** The year, month (1–12) and quarter at `at` in the demo organisation's time zone. */
export function orgDate(at: Date = now()) {
  const part = (field: "year" | "month") =>
    Number(new Intl.DateTimeFormat("en-US", { timeZone: ORG_TIME_ZONE, [field]: "numeric" }).format(at));
  const [year, month] = [part("year"), part("month")];
  return { year, month, quarter: Math.ceil(month / 3), period: `${year}-${String(month).padStart(2, "0")}` };
}

/** A number as the Russian pages print it ("1 234 567,50 ₽", "41,5 %") → 1234567.5. */
export function parseNumber(text: string): number {
  const n = Number(text.replace(/[\s\u202F\u00A0₽%]/g, "").replace(",", ".").replace("−", "-"));
  if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(text)}`);
  return n;
}

/**
 * A percentage as the app prints it in Russian (`format::percent`): rounded to `decimals` places
 * as Rust's `{:.N}` rounds (on the exact binary value, an exact half to the even digit), trailing
 * zeros dropped, thousands grouped: `percent(41.25, 1)` → "41,2 %", `percent(41.5, 0)` → "42 %".
 */
export function percent(value: number, decimals: number): string {
  const [int, frac] = Math.abs(value).toFixed(100).split(".");
  let n = Number(int + frac.slice(0, decimals));
  const rest = frac.slice(decimals);
  const half = rest[0] === "5" && !/[1-9]/.test(rest.slice(1));
  if (rest[0] > "5" || (rest[0] === "5" && !half) || (half && n % 2 === 1)) n += 1;
  const digits = String(n).padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals).replace(/\B(?=(\d{3})+$)/g, "\u202F");
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return `${value < 0 ? "-" : ""}${whole}${fraction ? `,${fraction}` : ""}\u00A0%`;
}

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

/**
 * Opens /tv on `base` in a fresh browser (no cookies) at 1080p, pairs it from `manager`'s Displays
 * page on `managerBase`, and waits for its live stream: a record sent before it connects would go unheard.
 */
export async function pairTv(browser: Browser, manager: Page, base: string, name: string, managerBase: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
  const tv = await context.newPage();
  await tv.goto(`${base}/tv`);
  const code = (await tv.getByTestId("tv-code").innerText()).trim();
  expect(code).toMatch(/^[A-Z2-9]{6}$/);
  await manager.goto(`${managerBase}/displays`);
  await expect(manager.locator("body[data-hydrated=true]")).toHaveCount(1);
  const form = manager.getByTestId("pair-display");
  await form.getByLabel("Код с экрана").fill(code);
  await form.getByLabel("Название").fill(name);
  await form.getByRole("button", { name: "Подключить" }).click();
  await expect(manager.getByTestId("displays")).toContainText(name);
  // The TV looks again every 3 seconds and, once paired, shows the wall.
  await expect(tv.getByTestId("tv-updated")).toBeVisible({ timeout: 10_000 });
  await expect(tv.locator("body[data-hydrated=true]")).toHaveCount(1);
  await expect(tv.locator("body[data-live=open]")).toHaveCount(1);
  return tv;
}
