// The read side as a security manager uses it: a withdrawn and a
// superseded record, one of our own records, a provider's coverage, the
// provider's page searched and paged, the graph filtered by verdict, and
// the regulator's home. Every page gets the harness's checks.

import { check, expect, run, scenario, signIn, submit, text } from "../harness.mjs";

const { maker, regulator, supplier, withdrawn, superseded, newer, ours } = scenario;

await run(async (page) => {
  await signIn(page, maker.url, maker.token);

  await page.goto(`${maker.url}/records/${withdrawn}`);
  expect((await text(page)).includes("Withdrawn by its issuer"), "the withdrawal is shown");
  await check(page, "record-withdrawn");
  await page.goto(`${maker.url}/records/${superseded}`);
  await check(page, "record-superseded");
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/records/${newer}"]`)]);
  expect(page.url().endsWith(newer), "the banner leads to the newer record");
  await page.goto(`${maker.url}/records/${ours}`);
  expect((await text(page)).includes("Who can read it"), "our record says who reads it");
  await check(page, "record-ours");

  await page.goto(`${maker.url}/orgs/${supplier.did}/coverage`);
  expect((await text(page)).includes("Maturity by domain"), "coverage has a maturity");
  await check(page, "coverage");

  await page.goto(`${maker.url}/orgs/${supplier.did}`);
  expect((await text(page)).includes(supplier.name), "the page names the supplier");
  await check(page, "organization");
  await page.fill("input[name=q]", "badges");
  await submit(page, "form.search button[type=submit]");
  expect(page.url().includes("q=badges"), "the search is a GET link");
  expect((await text(page)).includes("Badges and accounts"), "the search finds the control");
  await check(page, "organization-search");
  await page.goto(`${maker.url}/orgs/${supplier.did}`);
  await Promise.all([page.waitForNavigation(), page.click("a[rel=next]")]);
  expect(page.url().includes("cursor="), "the next page follows the cursor");
  await check(page, "organization-page-2");

  await page.goto(`${maker.url}/`);
  await check(page, "graph");
  await page.selectOption("select[name=verdict]", "pass");
  await submit(page, "form.search button[type=submit]");
  expect(page.url().includes("verdict=pass"), "the filter is a GET form");
  await check(page, "graph-filtered");

  await signIn(page, regulator.url, regulator.token);
  await page.goto(`${regulator.url}/supervised`);
  expect((await text(page)).includes("Trailer seal broken"), "the regulator sees the open incident");
  await check(page, "supervised");
});
