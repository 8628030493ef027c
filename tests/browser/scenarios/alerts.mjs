// The operator's alerts: filter them, acknowledge one from the dashboard,
// register a webhook (a bad URL first, refused next to the field). Every
// page passes the harness's checks.

import { check, expect, run, scenario, signIn, submit, text } from "../harness.mjs";

const { node, receiver } = scenario;

await run(async (page) => {
  await signIn(page, node.url, node.token);
  await page.goto(`${node.url}/alerts`);
  expect((await text(page)).includes("This node's alerts"), "the administrator sees the node's alerts");
  expect((await page.locator("button", { hasText: "Acknowledge" }).count()) === 2, "two alerts to acknowledge");
  await check(page, "alerts");

  await page.selectOption("select[name=kind]", "incident");
  await submit(page, "form.filters button[type=submit]");
  expect(page.url().includes("kind=incident"), `filtered by kind: ${page.url()}`);
  expect((await page.locator("button", { hasText: "Acknowledge" }).count()) === 1, "one incident");
  await check(page, "alerts-filtered");

  await submit(page, "td form button[type=submit]");
  const acknowledged = await text(page);
  expect(acknowledged.includes("by dashboard"), "acknowledged by the dashboard");
  expect(page.url().includes("kind=incident"), `the filter is kept: ${page.url()}`);
  await check(page, "alerts-acknowledged");

  await page.selectOption("select[name=kind]", "");
  await page.selectOption("select[name=acknowledged]", "false");
  await submit(page, "form.filters button[type=submit]");
  expect((await page.locator("button", { hasText: "Acknowledge" }).count()) === 1, "one left to acknowledge");
  expect(!(await text(page)).includes("by dashboard"), "the acknowledged one is filtered out");

  await page.goto(`${node.url}/webhooks`);
  await check(page, "webhooks");
  await page.fill("input[name=url]", "ftp://example.org/hook");
  await submit(page, "form.field button[type=submit]");
  const refused = await text(page);
  expect(refused.includes("is not an http:// URL"), "a bad URL is refused with why");
  expect(await page.locator("#url-error").isVisible(), "the error is next to the field");
  expect((await page.inputValue("input[name=url]")) === "ftp://example.org/hook", "what was typed is kept");
  await check(page, "webhooks-refused");

  await page.fill("input[name=url]", receiver);
  await submit(page, "form.field button[type=submit]");
  expect(page.url().endsWith("/webhooks"), `back on the webhooks page: ${page.url()}`);
  expect((await text(page)).includes(receiver), "the webhook is listed");
  await check(page, "webhooks-registered");
});
