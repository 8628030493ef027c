// The Reports page: every provider's verification as PDF, CSV and a
// printable page, and the disclosure log of a period as CSV — downloaded
// as a manager would, and read back (the PDF with poppler's pdftotext).

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { check, download, expect, run, scenario, signIn, text } from "../harness.mjs";

const { maker, supplier } = scenario;

await run(async (page) => {
  await signIn(page, maker.url, maker.token);
  await page.click("header a[href='/reports']");
  await page.waitForLoadState();
  expect((await text(page)).includes(supplier.name), "the Reports page lists the supplier");
  await check(page, "reports");

  const csv = readFileSync(await download(page, `a[href='/reports?format=csv']`), "utf8");
  expect(csv.startsWith("provider,provider_did,profile,verdict"), "a CSV with its header");
  expect(csv.includes(supplier.name), "the CSV names the supplier");
  expect(/,(PASS|FAIL|INCONCLUSIVE),/.test(csv), "the CSV gives the verdict");

  const pdf = await download(page, `a[href='/reports?provider=${supplier.did}&format=pdf']`);
  const words = execFileSync("pdftotext", [pdf, "-"], { encoding: "utf8" });
  expect(words.includes(`Verification of ${supplier.name}`), `the PDF names the supplier: ${words}`);
  expect(/PASS|FAIL|INCONCLUSIVE/.test(words), "the PDF gives the verdict");

  await page.goto(`${maker.url}/reports?format=html`);
  expect((await text(page)).includes("To pass"), "the printable page says what to do to pass");
  await check(page, "report-printable");

  await page.goto(`${maker.url}/reports`);
  const log = readFileSync(
    await download(page, "form[action='/reports/disclosures.csv'] button[type=submit]"),
    "utf8",
  );
  expect(log.startsWith("at,party,party_did,compartment"), "the disclosure log as CSV");
});
