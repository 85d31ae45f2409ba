import { test, expect } from "@playwright/test";
import { ADMIN, MANAGER, now, signIn } from "./helpers";

test("a manager's home is their team: standings, pace against targets, support, wins and flags, live", async ({ page }) => {
  await signIn(page, MANAGER, "/");
  const home = page.getByTestId("team-home");
  await expect(home.getByRole("heading", { level: 1 })).toHaveText("Москва — Enterprise");
  // The seven reps of Moscow, by revenue, each with their % of target.
  await expect(page.getByTestId("team-standings").locator("tbody tr")).toHaveCount(7);
  await expect(page.getByTestId("team-standings")).toContainText("Анна Смирнова");
  // The team's targets with the pace the elapsed month asks for.
  const targets = page.getByTestId("team-targets").locator("li");
  await expect(targets.first()).toContainText(/в темпе|отстаёт от темпа/);
  await expect(page.getByText("Вы не в рейтинге продавцов")).toHaveCount(0);
  await expect(page.getByTestId("team-flags")).toContainText(/Открытых сигналов|Открытых сигналов нет/);
  await expect(page.getByRole("heading", { name: /Кому нужна помощь \(ниже 70\s%\)/ })).toBeVisible();
  // The demo runs no challenge for Moscow: the section says so and offers to start one.
  await expect(page.getByTestId("team-challenges")).toContainText("Сейчас соревнований нет.");

  // A deal won by one of the team's reps arrives in the recent wins without a reload.
  const at = now().toISOString();
  const id = `home-${Date.now()}`;
  const res = await page.request.post("/api/v1/records", {
    headers: { Authorization: `Bearer ${process.env.E2E_TOKEN ?? ""}` },
    data: [{ kind: "deal", id, owner: "u-rep", amount: 765432, status: "won", created_at: at, closed_at: at }],
  });
  expect(res.status()).toBe(200);
  await expect(page.getByTestId("team-wins").locator("li").first()).toContainText(/765\s432/);
  await page.screenshot({ path: "artifacts/home-manager.png", fullPage: true, style: ".demo-banner { display: none }" });
});

test("an admin's home is the organisation and what is left to set up", async ({ page }) => {
  await signIn(page, ADMIN, "/");
  await expect(page.getByTestId("org-home")).toBeVisible();
  // The demo's four teams, most revenue first, each against its target.
  const teams = page.getByTestId("org-teams").locator("tbody tr");
  await expect(teams).toHaveCount(4);
  await expect(page.getByTestId("org-targets")).toContainText("Выручка");
  await expect(page.getByTestId("org-setup")).toContainText("Все пользователи в командах");
  await expect(page.getByTestId("org-setup")).toContainText("У каждой команды есть руководитель");
  await page.screenshot({ path: "artifacts/home-admin.png", fullPage: true, style: ".demo-banner { display: none }" });
});

test("after signing in, the page arrives rendered by the server, never as a bare “Loading…”", async ({ page }) => {
  await page.goto("/login?next=%2Fleaderboard");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  // The hydrated form signs in through the server function; its redirect loads the page from the server.
  const document = page.waitForResponse(
    (r) => r.request().resourceType() === "document" && new URL(r.url()).pathname === "/leaderboard",
  );
  await page.getByLabel("Email").fill(MANAGER.email);
  await page.getByLabel("Пароль").fill(MANAGER.password);
  await page.getByRole("button", { name: "Войти" }).click();
  const html = await (await document).text();
  expect(html).toContain('data-testid="leaderboard"');
  expect(html).not.toContain("Загрузка…");
  await expect(page.getByTestId("leaderboard")).toBeVisible();
});
