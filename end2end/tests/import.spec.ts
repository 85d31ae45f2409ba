import { test, expect } from "@playwright/test";
import { MANAGER, axe, signIn } from "./helpers";

// CSV import in the browser: a file with a bad row is refused with the row named
// and nothing stored; the fixed file is previewed, then stored; a large file shows
// its upload and storing progress.

const stamp = Date.now();

function csv(owner: string) {
  return Buffer.from(
    "id;owner;amount;status;created_at;closed_at\n" +
      `e2e-${stamp}-1;u-rep;12 500,50;won;2025-03-01 10:00;2025-03-03 16:45\n` +
      `e2e-${stamp}-2;${owner};9000;lost;2025-03-02 10:00;2025-03-04 11:00\n`,
  );
}

test("a manager imports deals from CSV: bad rows are named by line, then the fixed file is stored", async ({ page }) => {
  await signIn(page, MANAGER, "/import");
  await axe(page);
  const form = page.getByTestId("import-form");
  await form.getByLabel("Что в файле").selectOption("deal");
  await form.getByLabel("Файл", { exact: true }).setInputFiles({ name: "deals.csv", mimeType: "text/csv", buffer: csv("nobody") });
  await form.getByRole("button", { name: "Загрузить и проверить" }).click();
  await expect(page).toHaveURL(/\/import\/\d+$/);
  await expect(page.getByTestId("import-status")).toHaveText("есть ошибки");
  const error = page.getByTestId("import-errors").locator("tbody tr");
  await expect(error).toHaveCount(1);
  await expect(error.locator("td").first()).toHaveText("3");
  await expect(error).toContainText("`owner`: нет пользователя с id или почтой `nobody`");
  await expect(page.getByTestId("start-import")).toHaveCount(0);
  await page.screenshot({ path: "artifacts/import-errors-desktop.png", fullPage: true });

  await page.getByRole("link", { name: "Загрузить другой файл" }).click();
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await form.getByLabel("Что в файле").selectOption("deal");
  // The second owner by email (the first by id): either names the rep.
  await form.getByLabel("Файл", { exact: true }).setInputFiles({ name: "deals.csv", mimeType: "text/csv", buffer: csv("Rep@demo.kpi-arena.local") });
  await form.getByRole("button", { name: "Загрузить и проверить" }).click();
  await expect(page.getByTestId("import-status")).toHaveText("проверен");
  await expect(page.getByTestId("import-preview").locator("tbody tr").nth(1).locator("td").nth(1)).toHaveText("u-rep");
  // The preview shows the rows as they will be stored: the amount and the local time read.
  const first = page.getByTestId("import-preview").locator("tbody tr").first();
  await expect(first).toContainText("12500.50");
  await expect(first).toContainText("2025-03-03T16:45:00");
  await axe(page);
  await page.getByRole("button", { name: "Импортировать записей: 2" }).click();
  await expect(page.getByTestId("import-done")).toHaveText("Импортировано записей: 2.");
  await expect(page.getByTestId("import-status")).toHaveText("импортирован");
  await page.goto("/import");
  await expect(page.getByTestId("recent-imports").locator("tbody tr").first()).toContainText("импортирован");
});

test("a large file shows its upload progress and its storing progress", async ({ page }) => {
  test.setTimeout(90_000);
  await signIn(page, MANAGER, "/import");
  // 30 000 costs of the manager's own team (t-msk), dated 2019, far from every period the other tests look at.
  const rows = ["id,at,category,amount,team"];
  for (let i = 0; i < 30_000; i++) rows.push(`e2e-${stamp}-cost-${i},2019-0${1 + (i % 9)}-15,marketing,10.00,t-msk`);
  const form = page.getByTestId("import-form");
  await form.getByLabel("Что в файле").selectOption("cost");
  await form.getByLabel("Файл", { exact: true }).setInputFiles({ name: "costs.csv", mimeType: "text/csv", buffer: Buffer.from(rows.join("\n")) });
  // Fast machines finish quickly: a watcher notes each progress bar however briefly it
  // shows, in sessionStorage, which outlives the move to the import's page.
  const watch = (testId: string) =>
    page.evaluate((id) => {
      new MutationObserver(() => {
        const bar = document.querySelector(`[data-testid=${id}]`);
        if (bar) sessionStorage.setItem(id, bar.textContent ?? "");
      }).observe(document.body, { childList: true, subtree: true });
    }, testId);
  const seen = (testId: string) => page.evaluate((id) => sessionStorage.getItem(id), testId);
  await watch("upload-progress");
  await form.getByRole("button", { name: "Загрузить и проверить" }).click();
  await expect(page.getByTestId("import-status")).toHaveText("проверен", { timeout: 30_000 });
  // The import's own page (a new document): hydrated, or the button would post the plain form and
  // reload the page, and the watcher with it.
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
  await watch("store-progress");
  await page.getByRole("button", { name: /Импортировать записей: 30\s000/ }).click();
  await expect(page.getByTestId("import-done")).toHaveText(/Импортировано записей: 30\s000\./, { timeout: 60_000 });
  expect(await seen("upload-progress")).toMatch(/Загрузка… \d+ %|Файл загружен, проверяем строки…/);
  expect(await seen("store-progress")).toMatch(/Сохранено [\d\s]+ из 30\s000/);
});
