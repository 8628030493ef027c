// What every browser scenario shares: Debian's chromium under Playwright,
// signing in, and the checks every page gets — screenshots at 1400 px and
// 420 px wide without horizontal overflow, no serious or critical axe-core
// violation, no console error.
//
// A scenario is a module run by `node`, given its nodes in the environment
// variable ASSURE_SCENARIO (JSON, written by the Rust test that started
// them); it exits non-zero on the first failed expectation.

import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** The nodes the Rust test started for this scenario. */
export const scenario = JSON.parse(process.env.ASSURE_SCENARIO ?? "{}");

const SHOTS = process.env.ASSURE_SCREENSHOTS ?? "target/screenshots";

/** Fails the scenario with `message` unless `condition` holds. */
export function expect(condition, message) {
  if (!condition) {
    throw new Error(`expected: ${message}`);
  }
}

/** Launches chromium. */
export async function launch() {
  return await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/**
 * A page in a context of its own (its own cookies: one person's session),
 * recording console errors.
 */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.errors.push(m.text());
  });
  page.on("pageerror", (e) => page.errors.push(String(e)));
  return page;
}

/** Launches chromium and opens a page that records console errors. */
export async function open() {
  const browser = await launch();
  const page = await newPage(browser);
  return { browser, context: page.context(), page };
}

/** Signs in at `base` with the admin token, through the sign-in form. */
export async function signIn(page, base, token) {
  await page.goto(`${base}/login`);
  await page.fill("input[name=token]", token);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  expect(!page.url().includes("/login"), `signed in at ${base}, not at ${page.url()}`);
}

/**
 * The checks of every page: a screenshot at 1400 px and at 420 px with no
 * horizontal overflow, no serious or critical accessibility violation, and
 * no console error so far.
 */
export async function check(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  for (const width of [1400, 420]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow <= 1, `${name} at ${width} px has no horizontal overflow (${overflow} px)`);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.addScriptTag({ content: AXE });
  const results = await page.evaluate(async () => await window.axe.run(document));
  const bad = results.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  expect(
    bad.length === 0,
    `${name}: no serious or critical accessibility violation, got ${bad
      .map((v) => `${v.id} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)
      .join("; ")}`,
  );
  expect(page.errors.length === 0, `${name}: no console error, got ${page.errors.join("; ")}`);
}

/** Submits the form holding `selector` and waits for the next page. */
export async function submit(page, selector = "button[type=submit]") {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

/** The text of the page's main content. */
export async function text(page) {
  return await page.evaluate(() => document.body.innerText);
}

/** Clicks `selector`, which downloads a file; the file's path. */
export async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return await file.path();
}

/** The id of the record whose page is shown (`/records/ID`). */
export function recordId(page) {
  return new URL(page.url()).pathname.split("/")[2];
}

/**
 * Loads `url` again and again until `holds(text, page)` (another node has
 * synced, say), within `timeout` ms; the page's text.
 */
export async function until(page, url, holds, what, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.goto(url);
    const shown = await text(page);
    if (await holds(shown, page)) return shown;
    expect(Date.now() < deadline, `${what} (at ${url})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Runs `body` with a fresh browser, closing it whatever happens. `body`
 * gets a first page and a function that opens another one in a session of
 * its own (another person at another node).
 */
export async function run(body) {
  const { browser, page } = await open();
  try {
    await body(page, () => newPage(browser));
  } catch (error) {
    console.error(String(error?.stack ?? error));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
