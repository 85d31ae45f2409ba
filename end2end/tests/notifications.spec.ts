import { test, expect } from "@playwright/test";
import http from "node:http";
import { AddressInfo } from "node:net";
import { ADMIN, REP, axe, signIn } from "./helpers";

/**
 * A fake Slack on real HTTP in this test's process: incoming webhooks under /hooks/… take a
 * Block Kit message and answer "ok"; /hooks/gone answers 404 "no_service", as Slack does for a
 * deleted webhook.
 */
function fakeSlack(): Promise<{ base: string; received: { path: string; body: any }[]; close: () => void }> {
  const received: { path: string; body: any }[] = [];
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (chunk) => (data += chunk));
    req.on("end", () => {
      if (req.url === "/hooks/gone") {
        res.writeHead(404, { "content-type": "text/plain" });
        return res.end("no_service");
      }
      received.push({ path: req.url ?? "", body: JSON.parse(data) });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ base: `http://127.0.0.1:${port}`, received, close: () => server.close() });
    }),
  );
}

test("an admin connects Slack on /notifications, a test message arrives, a won deal follows, and a dead webhook's error is shown", async ({ page, browser }) => {
  test.setTimeout(90_000);
  const slack = await fakeSlack();
  // Names of this run's own (a repeated run finds the channels of the runs before it).
  const run = Date.now().toString(36);
  const sales = `Отдел продаж ${run}`;
  await signIn(page, ADMIN, "/notifications");
  await axe(page);

  const add = async (name: string, url: string) => {
    const form = page.getByTestId("new-channel");
    await form.getByTestId("new-channel-kind").selectOption("slack");
    await form.getByTestId("new-channel-secret").fill(url);
    await form.getByTestId("new-channel-name").fill(name);
    // Won deals only: a deal that also earns a badge or a level would fold into "2 news".
    for (const kind of ["badge", "level", "challenge_launched", "challenge_ended"]) {
      await form.getByTestId(`new-channel-moment-${kind}`).setChecked(false);
    }
    await form.getByTestId("add-channel").click();
    const card = page.getByTestId("channel").filter({ hasText: name });
    await expect(card).toHaveCount(1);
    return card;
  };

  const card = await add(sales, `${slack.base}/hooks/sales`);
  // The webhook's address is a secret: only its end is shown.
  await expect(card).toContainText("••••ales");
  await expect(page.locator("body")).not.toContainText(`${slack.base}/hooks/sales`);

  await card.getByTestId("test-channel").click();
  await expect(card.getByRole("status")).toHaveText("Тестовое сообщение отправлено.");
  await expect.poll(() => slack.received.length).toBe(1);
  expect(slack.received[0].path).toBe("/hooks/sales");
  expect(slack.received[0].body.text).toBe(`✅ Проверка связи: канал «${sales}» KPI Arena работает`);
  expect(slack.received[0].body.blocks[0].type).toBe("section");

  // A rep logs a won deal: the channel hears of it, in Russian, with the amount.
  const context = await browser.newContext();
  const rep = await context.newPage();
  await signIn(rep, REP, "/deals/new");
  const form = rep.getByTestId("new-deal");
  await form.getByLabel("Сумма").fill("777000");
  await form.getByRole("button", { name: "Записать" }).click();
  await expect(rep.getByTestId("deal-saved")).toBeVisible();
  await expect.poll(() => slack.received.length, { timeout: 20_000 }).toBe(2);
  expect(slack.received[1].body.text).toMatch(/^🎉 .+: сделка на 777\u202f000\u00a0₽ выиграна, теперь №\d+ в рейтинге$/);
  await context.close();

  // The delivery shows on the card once the page is read again.
  await page.reload();
  await expect(page.getByTestId("channel").filter({ hasText: sales }).getByTestId("deliveries")).toContainText("Отправлено");

  // A deleted webhook: "Send test" shows Slack's own answer.
  const gone = await add(`Старый канал ${run}`, `${slack.base}/hooks/gone`);
  await gone.getByTestId("test-channel").click();
  await expect(gone.getByRole("alert")).toContainText("Slack answered 404: no_service");
  slack.close();
});
