// The supply chain graph at fifty providers: one column per tier, each
// column sorted by verdict (failing first), long names shortened in their
// boxes with the full name on hover (the box's <title>), and the filter by
// verdict narrowing the graph and the table. Every page gets the harness's
// checks.

import { check, expect, run, scenario, signIn, submit } from "../harness.mjs";

const { maker, suppliers, providers } = scenario;

const RANK = { fail: 0, inconclusive: 1, pass: 2, "no profile": 3 };

/** The graph's boxes: full name, name shown, verdict, position. */
async function boxes(page) {
  return await page.$$eval('svg[aria-label="Supply chain graph"] a', (links) =>
    links.map((a) => {
      const [name, verdict] = [...a.querySelectorAll("text")].map((t) => t.textContent);
      const rect = a.querySelector("rect");
      return {
        full: a.querySelector("title").textContent,
        name,
        verdict: verdict.replace(" (transitive)", ""),
        x: Number(rect.getAttribute("x")),
        y: Number(rect.getAttribute("y")),
      };
    }),
  );
}

/** The rows of the providers' table: tier, organization, verdict. */
async function rows(page) {
  return await page.$$eval("h2 + table tr", (trs) =>
    trs
      .filter((tr) => tr.querySelector("td"))
      .map((tr) => {
        const cells = [...tr.querySelectorAll("td")].map((td) => td.textContent.trim());
        return { tier: Number(cells[0]), name: cells[1], verdict: cells[3] };
      }),
  );
}

await run(async (page) => {
  await signIn(page, maker.url, maker.token);
  await page.goto(`${maker.url}/`);
  await check(page, "graph-50");

  const all = await boxes(page);
  expect(all.length === providers + 1, `${providers} providers and us in the graph, got ${all.length}`);
  // One column per tier: us, the suppliers, their providers.
  const columns = [...new Set(all.map((b) => b.x))].sort((a, b) => a - b);
  expect(columns.length === 3, `three columns, got ${columns}`);
  const column = (n) => all.filter((b) => b.x === columns[n]).sort((a, b) => a.y - b.y);
  expect(column(0).length === 1 && column(0)[0].verdict === "this organization", "we are alone in the first column");
  const tier1 = column(1);
  expect(tier1.length === suppliers.length, `the suppliers in the second column, got ${tier1.length}`);
  for (const name of suppliers) {
    expect(tier1.some((b) => b.full === name), `${name} is a tier-1 box`);
  }
  expect(column(2).length === providers - suppliers.length, "their providers in the third column");
  // Each column sorted by verdict, failing first.
  for (const n of [1, 2]) {
    const ranks = column(n).map((b) => RANK[b.verdict]);
    expect(ranks.every((r) => r !== undefined), `column ${n} shows verdicts: ${column(n).map((b) => b.verdict)}`);
    expect(
      ranks.every((r, i) => i === 0 || ranks[i - 1] <= r),
      `column ${n} is sorted by verdict: ${column(n).map((b) => b.verdict)}`,
    );
  }
  const verdicts = new Set(all.map((b) => b.verdict));
  for (const v of Object.keys(RANK)) expect(verdicts.has(v), `some provider's verdict is ${v}`);
  // Long names shortened, the full name on hover.
  const long = suppliers.filter((s) => s.length > 26);
  expect(long.length > 0, "some names are too long for their box");
  for (const name of long) {
    const box = all.find((b) => b.full === name);
    expect(box.name.length === 26 && box.name.endsWith("…"), `${name} is shortened in its box (${box.name})`);
    expect(name.startsWith(box.name.slice(0, -1)), `the box shows the start of ${name}`);
  }
  // The table lists them all, by tier then verdict, with full names.
  const table = await rows(page);
  expect(table.length === providers, `the table lists ${providers} providers, got ${table.length}`);
  for (const name of long) expect(table.some((r) => r.name === name), `the table gives ${name} in full`);
  const order = table.map((r) => [r.tier, RANK[r.verdict.replace(" (transitive)", "").replace("—", "no profile")]]);
  expect(
    order.every((o, i) => i === 0 || order[i - 1][0] < o[0] || (order[i - 1][0] === o[0] && order[i - 1][1] <= o[1])),
    "the table is sorted by tier, then verdict",
  );

  // The filter narrows the graph and the table to one verdict.
  for (const [value, shown] of [["fail", "fail"], ["none", "no profile"], ["pass", "pass"]]) {
    await page.selectOption("select[name=verdict]", value);
    await submit(page, "form.search button[type=submit]");
    expect(page.url().includes(`verdict=${value}`), `the filter is a GET form (${page.url()})`);
    const kept = (await boxes(page)).filter((b) => b.verdict !== "this organization");
    const expected = all.filter((b) => b.verdict === shown).length;
    expect(kept.length === expected && kept.every((b) => b.verdict === shown), `the graph shows the ${expected} with ${shown}`);
    const listed = await rows(page);
    expect(listed.length === expected, `the table lists the ${expected} with ${shown}, got ${listed.length}`);
    await check(page, `graph-50-${value}`);
  }
});
