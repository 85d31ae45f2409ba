import { test, expect, Page } from "@playwright/test";
import { ADMIN, MANAGER, REP, axe, now, signIn } from "./helpers";

/** "1 234" (narrow no-break spaces, a minus sign or a plus) → 1234. */
function parsePoints(text: string): number {
  return Number(text.replace(/[\s\u202F\u00A0+]/g, "").replace("−", "-"));
}

/** Opens a challenge card's edit form (a re-rendered card may keep it open). */
async function openEdit(card: ReturnType<Page["locator"]>) {
  const details = card.locator("details.edit");
  if (!(await details.evaluate((d) => (d as HTMLDetailsElement).open))) await details.locator("summary").click();
  return card.getByTestId("edit-challenge");
}

test("an admin invites a user; the one-time link lets them set a password and sign in", async ({ page, browser }) => {
  await signIn(page, ADMIN, "/users");
  await axe(page);
  const email = `invited-${Date.now()}@example.com`;
  const form = page.getByTestId("invite-user");
  await form.getByLabel("Имя").fill("Ирина Новикова");
  await form.getByLabel("Почта").fill(email);
  await form.getByLabel("Роль").selectOption("rep");
  await form.getByRole("button", { name: "Пригласить" }).click();
  const link = (await page.getByTestId("invite-link").innerText()).trim();
  expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/invite\/[0-9a-f]{48}$/);
  await expect(page.locator(`tr[data-user="${email}"]`)).toContainText("Приглашён");
  await page.screenshot({ path: "artifacts/users-desktop.png", fullPage: true });

  const invitee = await (await browser.newContext()).newPage();
  await invitee.goto(link);
  await expect(invitee.locator("body[data-hydrated=true]")).toHaveCount(1);
  await expect(invitee.getByText("Ирина Новикова", { exact: false })).toBeVisible();
  await axe(invitee);
  await invitee.getByLabel("Пароль").fill("irinas secret");
  await invitee.getByLabel("Ещё раз").fill("irinas secret");
  await invitee.getByRole("button", { name: "Сохранить и войти" }).click();
  await expect(invitee.getByTestId("who")).toContainText("Ирина Новикова");

  // The link works once; the password works from now on.
  await invitee.goto(link);
  await expect(invitee.getByText("неизвестна, уже использована или устарела")).toBeVisible();
  const again = await (await browser.newContext()).newPage();
  await signIn(again, { email, password: "irinas secret" }, "/leaderboard");
  await expect(again.getByTestId("who")).toContainText("Ирина Новикова");

  // Deactivated, they cannot sign in.
  await page.reload();
  await page.locator(`tr[data-user="${email}"]`).getByRole("button", { name: "Отключить" }).click();
  await expect(page.locator(`tr.inactive[data-user="${email}"]`)).toHaveCount(1);
  const locked = await (await browser.newContext()).newPage();
  await locked.goto("/login?next=%2Fleaderboard");
  await locked.getByLabel("Email").fill(email);
  await locked.getByLabel("Пароль").fill("irinas secret");
  await locked.getByRole("button", { name: "Войти" }).click();
  await expect(locked.getByText("Неверная почта или пароль.")).toBeVisible();
});

test("a rep logs a won deal in the form and their points rise", async ({ page }) => {
  await signIn(page, REP, "/points");
  const before = parsePoints(await page.getByTestId("points-total").innerText());
  await page.goto("/deals/new");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await axe(page);
  const form = page.getByTestId("new-deal");
  // Reps may log only their own deals: the owner list offers only them.
  await expect(form.getByLabel("Чья").locator("option")).toHaveCount(1);
  await form.getByLabel("Сумма").fill("-5");
  await form.getByRole("button", { name: "Записать" }).click();
  await expect(page.getByRole("alert")).toContainText("Сумма: значение не может быть отрицательным");
  await form.getByLabel("Сумма").fill("1000000");
  await form.getByRole("button", { name: "Записать" }).click();
  await expect(page.getByTestId("deal-saved")).toBeVisible();
  // 1 per whole 10 000 of revenue is 100 points, whatever the daily cap on won deals left. (The
  // form answers once the deal is scored, or after 5 s at most: a slow machine may score later.)
  await expect
    .poll(async () => {
      await page.goto("/points");
      return parsePoints(await page.getByTestId("points-total").innerText()) - before;
    })
    .toBeGreaterThanOrEqual(100);
});

test("a manager edits a challenge: everything as a draft, name and prize once it runs", async ({ page }) => {
  await signIn(page, MANAGER, "/challenges");
  const form = page.getByTestId("new-challenge");
  const name = `Правка ${Date.now()}`;
  await form.getByLabel("Название").fill(name);
  await form.getByLabel("Вид").selectOption("top_n");
  await form.getByLabel("По чему").selectOption("points");
  await form.locator('input[name="participants[u-rep]"]').check();
  await form.locator('input[name="participants[u-rep-02]"]').check();
  await form.getByRole("button", { name: "Создать" }).click();
  let card = page.locator("article.challenge", { hasText: name });
  await expect(card).toHaveClass(/draft/);
  await expect(card.locator("tbody tr")).toHaveCount(2);

  const edit = await openEdit(card);
  await edit.getByLabel("Название").fill(`${name} (2)`);
  await edit.getByLabel("Приз").fill("Кофе");
  await edit.locator('input[name="participants[u-rep-03]"]').check();
  await edit.getByRole("button", { name: "Сохранить" }).click();
  card = page.locator("article.challenge", { hasText: `${name} (2)` });
  await expect(card.locator("tbody tr")).toHaveCount(3);
  await expect(card).toContainText("Приз: Кофе");

  await card.getByRole("button", { name: "Запустить" }).click();
  await expect(card).toHaveClass(/live/);
  const running = await openEdit(card);
  await expect(running.locator('input[type="checkbox"]')).toHaveCount(0);
  await running.getByLabel("Приз").fill("Ужин");
  await card.getByRole("button", { name: "Сохранить" }).click();
  await expect(page.locator("article.challenge", { hasText: `${name} (2)` })).toContainText("Приз: Ужин");
});

test("error pages: 404 for an unknown page, 403 for a page the role may not open", async ({ page }) => {
  const missing = await page.goto("/no-such-page");
  expect(missing?.status()).toBe(404);
  await expect(page.getByText("Такой страницы нет.")).toBeVisible();
  await expect(page.getByRole("link", { name: "← На главную" })).toHaveAttribute("href", "/");

  await signIn(page, REP, "/leaderboard");
  const refused = await page.goto("/users");
  expect(refused?.status()).toBe(403);
  await expect(page.getByTestId("forbidden")).toContainText(
    "Пользователями управляют администраторы; менеджеры приглашают продавцов в свою команду.",
  );
  await expect(page.getByRole("link", { name: "← На главную" })).toBeVisible();
  await axe(page);
});

test("an admin changes a user's role and team on /users, and /teams names each team's managers", async ({ page }) => {
  await signIn(page, ADMIN, "/teams");
  // The demo's teams name no manager themselves; their managers are in them.
  await expect(page.locator('tr[data-team="t-msk"]').getByTestId("team-managers")).toHaveText("Дмитрий Соколов");
  await page.goto("/users");
  // Hydrated first: the row forms' answers are awaited below (sent before, they would reload the page).
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  // A user of this test's own (the demo's accounts stay as they are).
  const email = `moved-${Date.now()}@example.com`;
  const form = page.getByTestId("invite-user");
  await form.getByLabel("Имя").fill("Глеб Переводов");
  await form.getByLabel("Почта").fill(email);
  await form.getByLabel("Роль").selectOption("rep");
  await form.getByLabel("Команда").selectOption("t-msk");
  await form.getByRole("button", { name: "Пригласить" }).click();
  const row = page.locator(`tr[data-user="${email}"]`);
  await expect(row).toHaveCount(1);
  // Each user's id, as the API and import files name them.
  await expect(row.getByTestId("user-id")).toHaveText(/^u-[0-9a-f]{10}$/);
  const change = async (role: string, team: string) => {
    await row.getByLabel("Роль").selectOption(role);
    await row.getByLabel("Команда").selectOption(team);
    const saved = page.waitForResponse((r) => r.url().endsWith("/api/change_user") && r.status() === 200);
    await row.getByRole("button", { name: "Сохранить" }).click();
    await saved;
  };
  await change("manager", "t-spb");
  await page.reload();
  await expect(row.getByLabel("Роль")).toHaveValue("manager");
  await expect(row.getByLabel("Команда")).toHaveValue("t-spb");
  await page.goto("/teams");
  await expect(page.locator('tr[data-team="t-spb"]').getByTestId("team-managers")).toHaveText(
    "Глеб Переводов, Ирина Фёдорова",
  );
  // Back to a rep without a team, and switched off: the demo is as it was.
  await page.goto("/users");
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await change("rep", "");
  await row.getByRole("button", { name: "Отключить" }).click();
  await expect(page.locator(`tr.inactive[data-user="${email}"]`)).toHaveCount(1);
  await page.goto("/teams");
  await expect(page.locator('tr[data-team="t-spb"]').getByTestId("team-managers")).toHaveText("Ирина Фёдорова");
});

test("admins see and change teams", async ({ page }) => {
  await signIn(page, ADMIN, "/teams");
  await axe(page);
  const id = `t-e2e-${Date.now()}`;
  const form = page.getByTestId("new-team");
  await form.getByLabel("Id (одно слово)").fill(id);
  await form.getByLabel("Название").fill("Сибирь");
  await form.getByLabel("Регион").fill("Siberia");
  await form.getByRole("button", { name: "Создать" }).click();
  const row = page.locator(`tr[data-team="${id}"]`);
  await expect(row).toHaveCount(1);
  await row.getByLabel("Регион").fill("Far East");
  const saved = page.waitForResponse((r) => r.url().endsWith("/api/save_team") && r.status() === 200);
  await row.getByRole("button", { name: "Сохранить" }).click();
  await saved;
  await page.reload();
  await expect(page.locator(`tr[data-team="${id}"]`).getByLabel("Регион")).toHaveValue("Far East");
});

test("a TV with the chime on plays it at each won-deal celebration; turned off, it stays silent", async ({ page, browser }) => {
  await signIn(page, MANAGER, "/displays");
  const tv = await (await browser.newContext()).newPage();
  await tv.goto("/tv");
  const code = (await tv.getByTestId("tv-code").innerText()).trim();
  const name = `TV chime ${Date.now()}`;
  const form = page.getByTestId("pair-display");
  await form.getByLabel("Код с экрана").fill(code);
  await form.getByLabel("Название").fill(name);
  await form.getByLabel("Звук при выигранной сделке", { exact: false }).check();
  await form.getByRole("button", { name: "Подключить" }).click();
  const row = page.locator("tr", { hasText: name });
  await expect(row.getByTestId("display-sound")).toContainText("Звук включён");
  await expect(tv.getByTestId("tv-updated")).toBeVisible({ timeout: 10_000 });
  await expect(tv.locator("body[data-hydrated=true]")).toHaveCount(1);
  // A won deal sent before the live stream connects would go unheard.
  await expect(tv.locator("body[data-live=open]")).toHaveCount(1);

  const win = async (n: number) => {
    const id = `chime-${Date.now()}-${n}`;
    const at = now().toISOString();
    const res = await page.request.post("/api/v1/records", {
      headers: { Authorization: `Bearer ${process.env.E2E_TOKEN ?? ""}` },
      data: [{ kind: "deal", id, owner: "u-rep", amount: 1000, status: "won", created_at: at, closed_at: at }],
    });
    expect(res.status()).toBe(200);
    // Celebrations take turns (6 s each): a deal won during one waits for it.
    await expect(tv.locator(`.celebration[data-win="${id}"]`)).toBeVisible({ timeout: 15_000 });
  };
  const sound = async (state: string) => {
    await row.getByTestId("display-sound").click();
    await expect(row.getByTestId("display-sound")).toContainText(state);
  };
  // The TV counts the chimes it plays in `<body data-chimes>`: none yet, one at the first celebration.
  const body = tv.locator("body");
  await expect(body).not.toHaveAttribute("data-chimes");
  await win(1);
  await expect(body).toHaveAttribute("data-chimes", "1");

  // Silent, then on again: the third celebration is the second chime only if the second played none.
  await sound("Без звука");
  await win(2);
  await sound("Звук включён");
  await win(3);
  await expect(body).toHaveAttribute("data-chimes", "2");
});
