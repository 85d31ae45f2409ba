import { test, expect, Page } from "@playwright/test";
import { REP, signIn } from "./helpers";

/** Every answer to the deal form's sendings (at least `least`), as "status body", collected while `act` runs. */
async function answersTo(page: Page, least: number, act: () => Promise<void>): Promise<string[]> {
  const answers: Promise<string>[] = [];
  const listen = (r: import("@playwright/test").Response) => {
    if (new URL(r.url()).pathname === "/api/log_deal") answers.push(r.text().then((body) => `${r.status()} ${body}`));
  };
  page.on("response", listen);
  await act();
  await expect.poll(() => answers.length).toBeGreaterThanOrEqual(least);
  // Room for one more sending than expected to show up.
  await page.waitForTimeout(1000);
  page.off("response", listen);
  return Promise.all(answers);
}

/** The deal id the confirmation names. */
async function savedId(page: Page): Promise<string> {
  const text = await page.getByTestId("deal-saved").innerText();
  const id = /Сделка (\S+) записана/.exec(text)?.[1];
  expect(id, text).toBeTruthy();
  return id!;
}

test("a double click on the deal form logs one deal", async ({ page }) => {
  await signIn(page, REP, "/deals/new");
  const form = page.getByTestId("new-deal");
  const submission = form.locator('input[name="submission"]');
  const firstForm = await submission.inputValue();
  await form.getByLabel("Сумма").fill("777000");
  const clicked = await answersTo(page, 1, () => form.getByRole("button", { name: "Записать" }).dblclick());
  const first = await savedId(page);
  // No id typed: the deal is named by the form's submission id.
  expect(first).toMatch(/^app-[0-9a-f]{24}$/);
  expect(clicked.length).toBeGreaterThan(0);
  for (const answer of clicked) expect(answer).toBe(`200 "${first}"`);

  // The button is off while the form is being sent; a form sent twice anyway (two submits
  // before the page can react) is still one deal: both sendings answer with the same one.
  // Once saved, the page shows a fresh form: a new submission id.
  await expect(submission).not.toHaveValue(firstForm);
  await expect(form.getByRole("button", { name: "Записать" })).toBeEnabled();
  await form.getByLabel("Сумма").fill("888000");
  const twice = await answersTo(page, 2, () =>
    form.evaluate((f: HTMLFormElement) => {
      f.requestSubmit();
      f.requestSubmit();
    }),
  );
  expect(twice.length, twice.join("; ")).toBe(2);
  await expect(page.getByTestId("deal-saved")).not.toContainText(first);
  const second = await savedId(page);
  expect(twice).toEqual([`200 "${second}"`, `200 "${second}"`]);
});

test("the deal form refuses a win at zero with a sentence", async ({ page }) => {
  await signIn(page, REP, "/deals/new");
  const form = page.getByTestId("new-deal");
  await form.getByLabel("Сумма").fill("0");
  await form.getByRole("button", { name: "Записать" }).click();
  await expect(page.getByRole("alert")).toContainText("Сумма выигранной сделки должна быть больше нуля.");
});

test("without JavaScript the deal form saves and says so", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(REP.email);
  await page.getByLabel("Пароль").fill(REP.password);
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page).not.toHaveURL(/\/login/);
  await page.goto("/deals/new");
  const form = page.getByTestId("new-deal");
  await form.getByLabel("Сумма").fill("4321");
  await form.getByRole("button", { name: "Записать" }).click();
  await expect(page).toHaveURL(/\/deals\/new\?saved=app-[0-9a-f]{24}$/);
  const id = new URL(page.url()).searchParams.get("saved");
  await expect(page.getByTestId("deal-saved")).toHaveText(`Сделка ${id} записана. Мои очки`);
  await context.close();
});
