// Every page of the dashboard as it stands, for each check of the harness:
// the graph, a provider, one of our records, alerts, the administration.

import { check, expect, run, scenario, signIn, text } from "../harness.mjs";

const { maker, supplier, record } = scenario;

await run(async (page) => {
  await page.goto(`${maker.url}/login`);
  await check(page, "login");
  await signIn(page, maker.url, maker.token);
  await page.goto(`${maker.url}/`);
  expect((await text(page)).includes(supplier.name), "the graph names the supplier");
  await check(page, "home");
  await page.goto(`${maker.url}/orgs/${supplier.did}`);
  await check(page, "provider");
  await page.goto(`${maker.url}/records/${record}`);
  await check(page, "record");
  await page.goto(`${maker.url}/alerts`);
  await check(page, "alerts");
  await page.goto(`${maker.url}/admin`);
  await check(page, "admin");
});
