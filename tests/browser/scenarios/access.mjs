// The supplier's administrator at work on sharing: a pending access
// request approved with a validity after its preview, then the grants page
// (add with a preview, a refused input shown beside its field, change,
// revoke) and a compartment for a named audience. Every page gets the
// harness's checks.

import { check, expect, run, scenario, signIn, submit, text } from "../harness.mjs";

const { supplier, maker, newcomer, request } = scenario;

await run(async (page) => {
  await signIn(page, supplier.url, supplier.token);

  // The pending request, approved for a year after its preview.
  await page.goto(`${supplier.url}/requests`);
  let shown = await text(page);
  expect(shown.includes(maker.short), "the request names the requester");
  expect(shown.includes("NDA-2026-17"), "the request shows its basis");
  await check(page, "requests");
  await page.fill(`#until-${request}`, "2027-06-30");
  await submit(page, `form[action="/requests/${request}"] button:has-text("Preview approval")`);
  shown = await text(page);
  expect(shown.includes("This party will be able to read:"), "the approval is previewed");
  expect(shown.includes("partners"), "the preview names the partners compartment");
  expect(shown.includes("(TLP:GREEN)") && !shown.includes("TLP:TLP"), "each compartment's TLP label, once");
  await check(page, "approve-preview");
  await submit(page, 'button:has-text("Approve and grant")');
  shown = await text(page);
  expect(shown.includes("approved"), "the request is approved");
  await check(page, "requests-decided");

  // The grant the approval made, on the grants page.
  await page.goto(`${supplier.url}/grants`);
  shown = await text(page);
  expect(shown.includes(maker.short), "the approved party holds a grant");
  expect(shown.includes("2027-06-30"), "with the validity chosen");
  await check(page, "grants");

  // A refused input: shown beside its field, nothing granted.
  await page.fill("#party", "Acme Logistics");
  await page.fill("#basis", "MSA-9");
  await submit(page, 'form[action="/grants"] button:has-text("Preview")');
  expect(page.url().endsWith("/grants"), "the form is shown again");
  expect((await page.textContent("#party-error")).includes("did:key"), "the error is beside the party");
  await check(page, "grant-error");

  // Add: preview, then grant.
  await page.fill("#party", newcomer.did);
  await page.check('input[name=roles][value=logistics]');
  await page.check("input[name=unknown]");
  await submit(page, 'form[action="/grants"] button:has-text("Preview")');
  shown = await text(page);
  expect(shown.includes("This party will be able to read:"), "the grant is previewed");
  expect(shown.includes("partners"), "a partner grant reads partners");
  await check(page, "grant-preview");
  await submit(page, 'button:has-text("Grant")');
  expect((await text(page)).includes(newcomer.short), "the new grant is listed");

  // Change: the form filled with the grant, the clearance raised.
  await page.goto(`${supplier.url}/grants?change=${newcomer.did}#grant`);
  expect((await page.inputValue("#basis")) === "MSA-9", "the form holds the grant's basis");
  await page.selectOption("#clearance", "confidential");
  await submit(page, 'form[action="/grants"] button:has-text("Preview")');
  shown = await text(page);
  expect(shown.includes("confidential"), "the change is previewed with its clearance");
  await check(page, "change-preview");
  await submit(page, 'button:has-text("Grant")');

  // Revoke: preview (public only), then revoke.
  await submit(page, `button[aria-label="Revoke the grant of ${newcomer.short}"]`);
  shown = await text(page);
  expect(shown.includes("This party will be able to read:"), "the revocation is previewed");
  expect(!shown.includes("partners"), "after revocation it reads no partners compartment");
  await check(page, "revoke-preview");
  await submit(page, 'button:has-text("Revoke")');
  expect((await text(page)).includes("revoked"), "the grant is revoked");

  // A compartment for a named audience.
  await page.fill("#label", "maker-only");
  await page.fill("#readers", maker.did);
  await submit(page, 'button:has-text("Find or make the compartment")');
  expect((await text(page)).includes("maker-only"), "the compartment is listed");
  await check(page, "compartments");
});
