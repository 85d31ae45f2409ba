import { test, expect, Page } from "@playwright/test";

// Russian and English: the browser's language picks the first page, the switch
// in the top bar (a cookie) overrides it, and numbers follow the language.
const REP = { email: "rep@demo.kpi-arena.local", password: "demo-arena" };

async function signIn(page: Page, password: string, submit: string) {
  await page.goto("/login?next=%2Fleaderboard");
  await page.getByLabel("Email").fill(REP.email);
  await page.getByLabel(password).fill(REP.password);
  await page.getByRole("button", { name: submit, exact: true }).click();
  await expect(page).toHaveURL(/\/leaderboard/);
}

/** The revenue column of the leaderboard: money, one cell per rep. */
function moneyCells(page: Page) {
  return page.getByTestId("leaderboard").locator("tbody td.num");
}

test.describe("with an English browser", () => {
  test.use({ locale: "en-US" });

  test("the login page and the leaderboard are in English, with English numbers", async ({ page }) => {
    await page.goto("/login");
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await expect(page.getByText("Sign in to see your rank.")).toBeVisible();
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();

    await signIn(page, "Password", "Sign in");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Revenue");
    await expect(page.getByRole("link", { name: "Leaderboard", exact: true })).toBeVisible();
    // The filters' button (for the page without JavaScript; hidden once hydrated, as the filters apply as they change).
    await expect(page.getByRole("button", { name: "Show", exact: true, includeHidden: true })).toHaveCount(1);
    // "₽1,234,567.50": the sign first, commas between thousands, a decimal point.
    const first = (await moneyCells(page).first().innerText()).trim();
    expect(first).toMatch(/^₽\d{1,3}(,\d{3})+(\.\d{2})?$/);
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
    // Hydration keeps the server's language.
    await expect(page.getByRole("link", { name: "KPIs", exact: true })).toBeVisible();
  });
});

test.describe("with a Russian browser", () => {
  test.use({ locale: "ru-RU" });

  test("the login page and the leaderboard are in Russian, with Russian numbers", async ({ page }) => {
    await page.goto("/login");
    await expect(page.locator("html")).toHaveAttribute("lang", "ru");
    await expect(page.getByText("Войдите, чтобы увидеть свой рейтинг.")).toBeVisible();

    await signIn(page, "Пароль", "Войти");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Выручка");
    await expect(page.getByRole("link", { name: "Рейтинг", exact: true })).toBeVisible();
    // "1 234 567,50 ₽": narrow no-break spaces between thousands, a decimal comma, the sign after.
    const first = (await moneyCells(page).first().innerText()).trim();
    expect(first).toMatch(/^\d{1,3}(\u202F\d{3})+(,\d{2})?\u00A0₽$/);
  });

  test("the switch changes the language, and it sticks across pages", async ({ page, context }) => {
    await signIn(page, "Пароль", "Войти");
    await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
    await page.getByTestId("lang-en").click();
    await expect(page).toHaveURL(/\/leaderboard$/);
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Revenue");
    expect((await context.cookies()).find((c) => c.name === "lang")?.value).toBe("en");

    // A link inside the app, then a fresh load: still English, though the browser asks for Russian.
    await page.getByRole("link", { name: "KPIs", exact: true }).click();
    await expect(page).toHaveURL(/\/kpis/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("KPIs");
    await page.goto("/points");
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await expect(page.getByRole("heading", { level: 2, name: "Points this period" })).toBeVisible();

    // And back to Russian.
    await page.getByTestId("lang-ru").click();
    await expect(page).toHaveURL(/\/points$/);
    await expect(page.locator("html")).toHaveAttribute("lang", "ru");
    await expect(page.getByRole("heading", { level: 2, name: "Очки за период" })).toBeVisible();
  });

  test("the switch goes back only to a page of this site", async ({ page }) => {
    const response = await page.request.get("/lang/en?back=https://example.com/", { maxRedirects: 0 });
    expect(response.status()).toBe(303);
    expect(response.headers()["location"]).toBe("/");
    expect(response.headers()["set-cookie"]).toContain("lang=en");
  });
});
