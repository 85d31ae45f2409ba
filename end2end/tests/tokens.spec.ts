import { test, expect } from "@playwright/test";

test("a manager creates an API token, sees it once, uses it, and revokes it", async ({ page }) => {
  await page.goto("/login?next=%2Ftokens");
  await page.getByLabel("Email").fill("manager@demo.kpi-arena.local");
  await page.getByLabel("Пароль").fill("demo-arena");
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page).toHaveURL(/\/tokens/);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  const label = `crm-sync-${Date.now()}`;
  await page.getByTestId("new-token-form").getByLabel("Название").fill(label);
  await page.getByRole("button", { name: "Создать" }).click();
  const token = (await page.getByTestId("new-token").innerText()).trim();
  expect(token).toMatch(/^kpa_[0-9a-f]{48}$/);
  // A manager's token sends their own team's records (u-rep is in it).
  const send = () =>
    page.request.post("/api/v1/records", {
      headers: { Authorization: `Bearer ${token}` },
      data: [{ kind: "deal", id: `e2e-token-${label}`, owner: "u-rep", amount: 1, status: "open", created_at: "2019-01-15T10:00:00Z" }],
    });
  expect((await send()).status()).toBe(200);

  // Shown once: after a reload the list has the label, never the token.
  await page.reload();
  await expect(page.getByTestId("tokens")).toContainText(label);
  await expect(page.getByText(token)).toHaveCount(0);
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await page.locator("tr", { hasText: label }).getByRole("button", { name: "Отозвать" }).click();
  await expect(page.locator("tr.inactive", { hasText: label })).toHaveCount(1);
  expect((await send()).status()).toBe(401);
});
