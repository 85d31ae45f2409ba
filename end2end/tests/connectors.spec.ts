import { test, expect } from "@playwright/test";
import http from "node:http";
import { AddressInfo } from "node:net";
import { ADMIN, MANAGER, axe, now, pairTv, signIn } from "./helpers";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3170";

/**
 * A fake amoCRM (API v4, as documented) on real HTTP in this test's process: the account, its
 * users, one pipeline, leads paged and filtered by `updated_at`, behind a bearer token.
 */
const TOKEN = "e2e-amo-token-51c9";

type Lead = { id: number; name: string; price: number; responsible_user_id: number; status_id: number; pipeline_id: number; created_at: number; updated_at: number; closed_at: number | null; custom_fields_values?: unknown[] };

type Task = { id: number; responsible_user_id: number; task_type_id: number; is_completed: boolean; complete_till: number; updated_at: number };

function fakeAmo(leads: Lead[], tasks: Task[]): Promise<{ base: string; close: () => void }> {
  const users = [
    { id: 11, name: "Демо-менеджер", email: "rep@demo.kpi-arena.local" },
    { id: 12, name: "Стажёр", email: "intern@elsewhere.example" },
  ];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/hal+json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { title: "Unauthorized" });
    if (url.pathname === "/api/v4/account") return json(200, { id: 777, subdomain: "e2e" });
    if (url.pathname === "/api/v4/users") {
      if (url.searchParams.get("page") !== "1") { res.writeHead(204); return res.end(); }
      return json(200, { _links: {}, _embedded: { users } });
    }
    if (url.pathname === "/api/v4/leads/pipelines") {
      const statuses = [{ id: 1, name: "Новая" }, { id: 142, name: "Успешно реализовано" }, { id: 143, name: "Закрыто и не реализовано" }];
      return json(200, { _embedded: { pipelines: [{ id: 7, name: "Продажи", _embedded: { statuses } }] } });
    }
    if (url.pathname === "/api/v4/leads") {
      const from = Number(url.searchParams.get("filter[updated_at][from]") ?? 0);
      const page = Number(url.searchParams.get("page") ?? 1);
      const all = leads.filter((l) => l.updated_at >= from).sort((a, b) => a.id - b.id);
      const chunk = all.slice((page - 1) * 2, page * 2);
      if (chunk.length === 0) { res.writeHead(204); return res.end(); }
      const links = page * 2 < all.length ? { next: { href: `/api/v4/leads?page=${page + 1}` } } : {};
      return json(200, { _links: links, _embedded: { leads: chunk } });
    }
    if (url.pathname === "/api/v4/leads/custom_fields") {
      if (url.searchParams.get("page") !== "1") { res.writeHead(204); return res.end(); }
      return json(200, { _links: {}, _embedded: { custom_fields: [{ id: 9001, name: "Тип сделки", type: "select" }] } });
    }
    if (url.pathname === "/api/v4/tasks") {
      const from = Number(url.searchParams.get("filter[updated_at][from]") ?? 0);
      const page = Number(url.searchParams.get("page") ?? 1);
      const done = url.searchParams.get("filter[is_completed]") === "1";
      const all = tasks.filter((k) => k.updated_at >= from && (!done || k.is_completed)).sort((a, b) => a.id - b.id);
      const chunk = all.slice((page - 1) * 2, page * 2);
      if (chunk.length === 0) { res.writeHead(204); return res.end(); }
      const links = page * 2 < all.length ? { next: { href: `/api/v4/tasks?page=${page + 1}` } } : {};
      return json(200, { _links: links, _embedded: { tasks: chunk } });
    }
    json(404, { title: "Not found" });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ base: `http://127.0.0.1:${port}`, close: () => server.close() });
    }),
  );
}

test("an admin connects amoCRM on /connectors, previews, backfills with progress, and a webhook-won deal is celebrated on the TV", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const t = Math.floor(now().getTime() / 1000);
  const day = 86_400;
  const lead = (id: number, owner: number, price: number, status: number, updated: number): Lead => ({
    id, name: `Сделка ${id}`, price, responsible_user_id: owner, status_id: status, pipeline_id: 7,
    created_at: updated - day, updated_at: updated, closed_at: status === 142 || status === 143 ? updated : null,
  });
  // Three leads changed in the last week: two won by the demo rep, one open; one more by an unmapped intern.
  const leads = [lead(9001, 11, 120000, 142, t - 5 * day), lead(9002, 11, 80000, 1, t - 4 * day), lead(9003, 11, 50000, 142, t - 3 * day), lead(9004, 12, 30000, 142, t - 2 * day)];
  // 9003 sells more to a customer we have: its "Тип сделки" says so.
  leads[2].custom_fields_values = [{ field_id: 9001, field_name: "Тип сделки", values: [{ value: "Допродажа" }] }];
  // Two calls done (the rep's, the intern's) and one planned.
  const task = (id: number, owner: number, done: boolean, at: number): Task => ({
    id, responsible_user_id: owner, task_type_id: 1, is_completed: done, complete_till: at, updated_at: at,
  });
  const tasks = [task(7001, 11, true, t - 4 * day), task(7002, 12, true, t - 3 * day), task(7003, 11, false, t - 2 * day)];
  const amo = await fakeAmo(leads, tasks);
  try {
    await signIn(page, ADMIN, "/connectors");
    const since = new Date((t - 30 * day) * 1000).toISOString().slice(0, 10);
    const form = page.getByTestId("new-connector");
    await form.getByLabel("Адрес CRM").fill(amo.base);
    await form.getByLabel("Токен").fill(TOKEN);
    await form.getByLabel("Сделки с").fill(since);
    await form.getByRole("button", { name: "Проверить" }).click();
    const preview = page.getByTestId("connector-preview");
    await expect(preview).toContainText("Аккаунт 777: пользователей 2, воронок 1, сделок с выбранной даты 4, завершённых дел (звонки, встречи) 2");
    await expect(preview.locator("tbody tr")).toHaveCount(2);
    await expect(preview.locator("tbody tr").first()).toContainText("9001");
    await expect(preview.locator("tbody tr").first()).toContainText("выиграна");

    await form.getByRole("button", { name: "Сохранить" }).click();
    const card = page.getByTestId("connector");
    await expect(card).toContainText("amoCRM / Kommo");
    await expect(card).toContainText("••••51c9");
    const hookUrl = (await card.getByTestId("hook-url").innerText()).trim();
    expect(hookUrl).toMatch(/\/api\/v1\/hooks\/amocrm\/[0-9a-f]{48}$/);

    await card.getByTestId("backfill-form").getByLabel("Сделки с").fill(since);
    await card.getByRole("button", { name: "Загрузить историю" }).click();
    await expect(card.getByTestId("backfill-state")).toHaveText("готово · 6 / 6", { timeout: 15_000 });
    await expect(card.getByTestId("backfill-progress")).toHaveAttribute("value", "6");
    // The intern's deal and call wait for a mapping.
    await expect(card.getByTestId("waiting")).toHaveText("2");

    // The CRM's "Тип сделки" gives the deal type: its value "Допродажа" is made an upsell.
    const fields = card.getByTestId("deal-fields-form");
    await fields.locator('select[name="deal_type"]').selectOption("9001");
    await fields.getByRole("button", { name: "Сохранить" }).click();
    const typeRow = card.getByTestId("crm-deal-type").filter({ hasText: "Допродажа" });
    await expect(typeRow).toContainText("1");
    await typeRow.getByLabel("Тип сделки здесь").selectOption("upsell");
    await Promise.all([
      page.waitForResponse((r) => r.url().includes("/api/set_crm_deal_type") && r.ok()),
      typeRow.getByRole("button").click(),
    ]);
    await page.reload();
    await expect(page.getByTestId("crm-deal-type").filter({ hasText: "Допродажа" }).getByLabel("Тип сделки здесь")).toHaveValue("upsell");
    await page.screenshot({ path: "artifacts/connectors.png", fullPage: true });
    await axe(page);

    // A deal won in the CRM: its webhook reaches a TV paired by the manager.
    const manager = await (await browser.newContext({ baseURL: BASE })).newPage();
    await signIn(manager, MANAGER, "/displays");
    const tv = await pairTv(browser, manager, BASE, `TV CRM ${Date.now()}`, BASE);
    const won = lead(9002, 11, 80000, 142, t);
    const body = new URLSearchParams();
    for (const [field, value] of Object.entries(won)) if (value !== null) body.append(`leads[status][0][${field}]`, String(value));
    body.append("account[id]", "777");
    const started = Date.now();
    const res = await page.request.post(hookUrl, { headers: { "content-type": "application/x-www-form-urlencoded" }, data: body.toString() });
    expect(res.status()).toBe(200);
    expect(await res.json()).toEqual({ queued: 1 });
    await tv.waitForFunction(() => (document.querySelector(".celebrations")?.getAttribute("data-queue") ?? "").includes("amocrm:9002"), null, { timeout: 5_000 });
    console.log(`webhook → TV celebration: ${Date.now() - started} ms`);
    await page.reload();
    await expect(page.getByTestId("events-hour")).toHaveText("1");

    // Deleted with what it brought (the integration test counts what goes): the card goes.
    await page.getByLabel("удалить и их", { exact: false }).check();
    await page.getByRole("button", { name: "Отключить CRM" }).click();
    await expect(page.getByTestId("connector")).toHaveCount(0);
  } finally {
    amo.close();
  }
});
