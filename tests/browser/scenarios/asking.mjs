// The asker's side of an access request, in the browser: the maker's
// administrator asks from the supplier's organization page (refused input
// shown beside its field, nothing sent; then a preview, then sent), the
// supplier's administrator approves on its own dashboard (another browser
// context: cookies do not tell ports apart), and the maker's page shows the
// request approved once its node has followed it up. Every page gets the
// harness's checks.

import { check, expect, run, scenario, signIn, submit, text } from "../harness.mjs";

const { maker, supplier } = scenario;

await run(async (page) => {
  await signIn(page, maker.url, maker.token);

  // The supplier's page carries the form, for the administrator.
  await page.goto(`${maker.url}/orgs/${supplier.did}`);
  let shown = await text(page);
  expect(shown.includes("Request access"), "the organization page offers to request access");
  expect(shown.includes(`To ${supplier.name} (${supplier.short})`), "the form names the supplier");
  await check(page, "org-request-access");

  // An empty purpose: refused beside the field, nothing sent.
  await page.fill("#url", supplier.url);
  await page.fill("#basis", "NDA-2026-17");
  await submit(page, 'button:has-text("Preview the request")');
  expect(page.url().endsWith("/requests/sent"), "the form comes back on the requests page");
  expect((await page.textContent("#purpose-error")).includes("purpose"), "the error is beside the purpose");
  expect((await page.inputValue("#basis")) === "NDA-2026-17", "the form is filled in again");
  expect((await text(page)).includes("None yet."), "nothing was sent");
  await check(page, "ask-error");

  // A legal basis for a customer: refused beside it.
  await page.fill("#purpose", "supplier qualification for machined housings");
  await page.fill("#legal_basis", "Customs Code art. 46");
  await submit(page, 'button:has-text("Preview the request")');
  expect(
    (await page.textContent("#legal_basis-error")).includes("only a regulator"),
    "the error is beside the legal basis",
  );

  // An address where no node answers: the preview passes, sending does not.
  await page.fill("#legal_basis", "");
  await page.fill("#url", "http://127.0.0.1:9");
  await submit(page, 'button:has-text("Preview the request")');
  await submit(page, 'button:has-text("Send the request")');
  expect((await page.textContent("#url-error")).includes("cannot reach"), "the error is beside the address");
  expect((await text(page)).includes("None yet."), "nothing was sent");

  // The preview: what is sent, by whom, to whom, and what they learn.
  await page.fill("#url", supplier.url);
  await submit(page, 'button:has-text("Preview the request")');
  shown = await text(page);
  expect(shown.includes(`${supplier.name} (${supplier.short})`), "the preview names the supplier");
  expect(shown.includes(maker.short), "the preview names our key");
  expect(shown.includes("What they will learn"), "the preview says what they learn");
  expect(shown.includes("NDA-2026-17"), "the preview shows the basis");
  await check(page, "ask-preview");
  await submit(page, 'button:has-text("Send the request")');
  shown = await text(page);
  expect(shown.includes("Sent: the request awaits their decision."), "the request is sent");
  expect(shown.includes(supplier.name) && shown.includes("pending"), "it is listed as pending");
  await check(page, "asking");

  // The supplier's administrator approves it on its own dashboard.
  const context = await page.context().browser().newContext({ viewport: { width: 1400, height: 900 } });
  const theirs = await context.newPage();
  theirs.errors = [];
  theirs.on("console", (m) => {
    if (m.type() === "error") theirs.errors.push(m.text());
  });
  await signIn(theirs, supplier.url, supplier.token);
  await theirs.goto(`${supplier.url}/requests`);
  expect((await text(theirs)).includes(maker.short), "the supplier sees the request");
  await submit(theirs, 'button:has-text("Preview approval")');
  await submit(theirs, 'button:has-text("Approve and grant")');
  expect((await text(theirs)).includes("approved"), "the supplier approved it");
  await context.close();

  // Our node follows the request up (backing off); the page then says so.
  const deadline = Date.now() + 90_000;
  for (;;) {
    await page.goto(`${maker.url}/requests/sent`);
    shown = await text(page);
    if (shown.includes("approved")) break;
    expect(Date.now() < deadline, "the request shows as approved within 90 s");
    await page.waitForTimeout(1000);
  }
  await check(page, "asking-approved");
});
