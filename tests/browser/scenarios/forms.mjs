// The security manager's forms, in a browser: publish a control (its
// evidence file hashed in the page, only the digest sent), see it reach a
// partner, co-sign an audit from its alert, publish an incident and post
// its updates, withdraw the control and see the withdrawal reach the
// partner, and be refused a second withdrawal. Every form and preview
// page gets the harness's checks.

import { createHash } from "node:crypto";
import { check, expect, recordId, run, scenario, signIn, submit, text } from "../harness.mjs";

const { maker, partner, audit } = scenario;

/** The partner's records of `kind`, through its admin API. */
async function partnerRecords(kind) {
  const answer = await fetch(`${partner.url}/v1/admin/records?kind=${kind}`, {
    headers: { authorization: `Bearer ${partner.token}` },
  });
  expect(answer.ok, `the partner's admin API answers (${answer.status})`);
  return (await answer.json()).records.map((r) => ({
    ...r,
    predicate: JSON.parse(Buffer.from(r.envelope.payload, "base64")).predicate,
  }));
}

/** Waits until the partner holds a record of `kind` matching `pred`. */
async function partnerHolds(kind, pred, what) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if ((await partnerRecords(kind)).some(pred)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(false, `the partner holds ${what}`);
}

await run(async (page) => {
  await signIn(page, maker.url, maker.token);
  await page.goto(`${maker.url}/publish`);
  await check(page, "publish");

  // A control, with its evidence file hashed here.
  await page.goto(`${maker.url}/publish/control`);
  await check(page, "form-control");
  await submit(page, "button[value=preview]");
  expect((await text(page)).includes("choose a control"), "an empty control form is refused beside the field");
  await check(page, "form-control-refused");
  await page.selectOption("#f-controlId", "ISO22340:9.2.4");
  await page.selectOption("#f-status", "implemented");
  await page.fill("#f-statement", "Security events are watched day and night.");
  await page.fill("#f-lastTested", "2026-09-18");
  const runbook = Buffer.from("Security monitoring runbook, version 4\n");
  await page.setInputFiles("#f-ev-0-file", { name: "runbook-v4.txt", mimeType: "text/plain", buffer: runbook });
  const digest = `sha256:${createHash("sha256").update(runbook).digest("hex")}`;
  await page.waitForFunction((d) => document.querySelector("#f-ev-0-digest").value === d, digest);
  expect((await page.inputValue("#f-ev-0-description")) === "runbook-v4.txt", "the file's name describes it");
  await submit(page, "button[value=preview]");
  let shown = await text(page);
  expect(shown.includes(digest), "the preview shows the digest");
  expect(shown.includes("partners") && shown.includes(partner.short), "the preview says where it goes and who reads it");
  await check(page, "preview-control");
  await submit(page, "button[value=confirm]");
  const control = recordId(page);
  expect(/^[0-9a-f]{64}$/.test(control), `published, now on the record's page (${page.url()})`);
  await partnerHolds("control", (r) => r.id === control, "the control");

  // The audit of us, co-signed from its alert.
  await page.goto(`${maker.url}/alerts`);
  const cosign = `form[action="/cosign/${audit}"] button`;
  expect((await page.locator(cosign).count()) === 1, "the alert offers to co-sign the audit");
  // The alerts page is not one of these forms (its own checks are in
  // pages.mjs); only the button is ours.
  await submit(page, cosign);
  expect(page.url().endsWith(`/records/${audit}`), `co-signed, on the audit's page (${page.url()})`);
  // Signers are shown by name with the short DID.
  const ourShort = `z6Mk…${maker.did.slice(-6)}`;
  const signedBy = await page.locator("dt:text-is('Signed by') + dd").innerText();
  expect(signedBy.includes(ourShort), `the audit is signed by us too (${signedBy})`);

  // An incident naming the partner, then its updates.
  await page.goto(`${maker.url}/publish/incident`);
  await check(page, "form-incident");
  await page.fill("#f-category", "cargo-tampering");
  await page.selectOption("#f-severity", "high");
  await page.selectOption("#f-status", "open");
  await page.fill("#f-summary", "A container seal was found broken at the Rotterdam gate.");
  await page.fill("#f-occurredAt", "2026-10-01T06:30");
  await page.fill("#f-detectedAt", "2026-10-01T08:00");
  await page.fill("#f-affected", partner.did);
  await submit(page, "button[value=preview]");
  expect((await text(page)).includes(partner.short), "the incident's preview names the partner as reader");
  await check(page, "preview-incident");
  await submit(page, "button[value=confirm]");
  let incident = recordId(page);
  for (const [status, action] of [["contained", "Seals replaced at the gate"], ["resolved", "Gate staff retrained"]]) {
    await page.click("text=Post an update");
    await page.waitForURL(`**/records/${incident}/update`);
    await check(page, `form-update-${status}`);
    await page.selectOption("#f-status", status);
    const row = await page.locator("input[name$='.description'][name^='ca.']").count() - 1;
    await page.fill(`#f-ca-${row}-description`, action);
    await page.fill(`#f-ca-${row}-completed`, "2026-10-02");
    await submit(page, "button[value=preview]");
    shown = await text(page);
    expect(shown.includes(incident) && shown.includes(action), "the update supersedes the last version");
    await check(page, `preview-update-${status}`);
    await submit(page, "button[value=confirm]");
    const next = recordId(page);
    expect(next !== incident, "the update is a new record");
    incident = next;
  }
  await partnerHolds("incident", (r) => r.id === incident && r.predicate.status === "resolved", "the resolved incident");

  // Withdraw the control; a second withdrawal is refused.
  await page.goto(`${maker.url}/records/${control}`);
  await page.click("text=Withdraw this record");
  await page.waitForURL(`**/records/${control}/withdraw`);
  await check(page, "form-withdraw");
  await page.fill("#f-reason", "Replaced by the new monitoring runbook.");
  await submit(page, "button[value=preview]");
  expect((await text(page)).includes(partner.short), "the withdrawal reaches the control's readers");
  await check(page, "preview-withdraw");
  await submit(page, "button[value=confirm]");
  const withdrawal = recordId(page);
  await partnerHolds(
    "withdrawal",
    (r) => r.id === withdrawal && r.predicate.withdrawn === control,
    "the withdrawal of the control",
  );
  await page.goto(`${maker.url}/records/${control}/withdraw`);
  await page.fill("#f-reason", "Again.");
  await submit(page, "button[value=preview]");
  expect((await text(page)).includes("already withdrawn"), "a second withdrawal is refused");
  await check(page, "refused-withdraw");

  // The other forms and their previews.
  const others = {
    profile: { "#f-legalName": "Helix Drives GmbH", "#f-id-0-scheme": "lei", "#f-id-0-value": "5299000J2N45DDNE4Y28" },
    scope: {
      "#f-processes": "final assembly",
      "#f-site-0-id": "main",
      "#f-site-0-name": "Main plant, Springfield",
      "#f-ext-0-process": "road haulage",
      "#f-ext-0-provider": partner.did,
      "#f-ext-0-controls": "ISO22340:9.2.4",
    },
    relationship: { "#f-other": partner.did, "#f-supplies": "gearboxes", "#f-since": "2024-01-01" },
    audit: { "#f-subject": partner.did, "#f-standard": "ISO 28000:2022", "#f-from": "2026-10-01", "#f-to": "2026-10-03" },
  };
  for (const [kind, values] of Object.entries(others)) {
    await page.goto(`${maker.url}/publish/${kind}`);
    await check(page, `form-${kind}`);
    for (const [selector, value] of Object.entries(values)) await page.fill(selector, value);
    if (kind === "scope") await page.check("#f-shareWider");
    await submit(page, "button[value=preview]");
    expect((await text(page)).includes("Confirm and publish"), `the ${kind} form previews: ${await text(page)}`);
    await check(page, `preview-${kind}`);
  }
});
