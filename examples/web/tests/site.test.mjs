// The example site in Chromium (Debian's package, driven by playwright-core) against the real
// API on another origin. run-test.sh starts both servers and sets SITE_URL and API_URL.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { launchChromium } from "../../../tests/browser/chromium.mjs";

const SITE_URL = process.env.SITE_URL ?? "http://127.0.0.1:4173";
const API_URL = process.env.API_URL ?? "http://127.0.0.1:8000";
const RESULTS = process.env.RESULTS_DIR ?? new URL("../test-results/", import.meta.url).pathname;

let browser;
let page;
const pageErrors = [];

before(async () => {
  mkdirSync(RESULTS, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (msg) => {
    if (msg.type() === "error") pageErrors.push(msg.text());
  });
});

after(async () => {
  await browser?.close();
});

test("the site and the API are on different origins", () => {
  assert.notEqual(new URL(SITE_URL).origin, new URL(API_URL).origin);
});

test("lists the published articles", async () => {
  const apiCalls = [];
  page.on("request", (request) => {
    if (request.url().startsWith(API_URL)) apiCalls.push(request.url());
  });
  await page.goto(SITE_URL);
  const links = page.locator("#articles a[data-slug]");
  await links.first().waitFor();
  assert.ok((await links.count()) >= 2, "several articles are listed");
  assert.ok(apiCalls.some((url) => url.startsWith(`${API_URL}/v1/articles`)), "read from the API's origin");
  await page.locator('#articles a[data-slug="iv-ketamine-for-ptsd"]').waitFor();
});

test("opens the IV ketamine article with its top disclaimers before the body and its JSON-LD", async () => {
  await page.locator('#articles a[data-slug="iv-ketamine-for-ptsd"]').click();
  await page.locator("#article-body h1").waitFor();
  assert.match(await page.locator("#article-body h1").innerText(), /ketamine/i);

  const top = page.locator(".disclaimers-top .disclaimer");
  assert.ok((await top.count()) >= 1, "a top disclaimer is shown");
  assert.ok(await top.first().isVisible());
  const keys = await top.evaluateAll((els) => els.map((el) => el.getAttribute("data-key")));
  assert.ok(keys.includes("fda-off-label"), `off-label disclaimer on top (got ${keys})`);
  const order = await page.evaluate(() => {
    const first = document.querySelector(".disclaimers-top .disclaimer");
    const body = document.getElementById("article-body");
    const bottom = document.querySelector(".disclaimers-bottom .disclaimer");
    const before = Boolean(first.compareDocumentPosition(body) & Node.DOCUMENT_POSITION_FOLLOWING);
    const afterBody = Boolean(body.compareDocumentPosition(bottom) & Node.DOCUMENT_POSITION_FOLLOWING);
    return { before, afterBody, topY: first.getBoundingClientRect().top, bodyY: body.getBoundingClientRect().top };
  });
  assert.ok(order.before && order.topY < order.bodyY, "the top disclaimer comes before the body");
  assert.ok(order.afterBody, "the bottom disclaimer comes after the body");

  const jsonLd = page.locator('script[type="application/ld+json"]');
  assert.equal(await jsonLd.count(), 1);
  const data = JSON.parse(await jsonLd.textContent());
  assert.equal(data["@context"], "https://schema.org");
  assert.ok(data["@type"], "JSON-LD has a @type");
  await page.screenshot({ path: `${RESULTS}/article.png`, fullPage: false });
});

async function fill(values) {
  for (const [name, value] of Object.entries(values)) {
    await page.locator(`#consultation-form [name="${name}"]`).fill(value);
  }
}

test("an invalid form shows each field's error from the 422 next to that field", async () => {
  await fill({ first_name: "Ana", last_name: "Diaz", email: "not-an-email", phone: "12" });
  await page.locator("#input-consent-contact").check();
  // Not yet confirmed as an adult: refused in the page, nothing sent.
  await page.locator("#consultation-form button[type=submit]").click();
  await page.locator('[data-error-for="consent.age_confirmed"]').filter({ hasText: /18/ }).waitFor();
  const notice = page.locator("#emergency-notice");
  assert.match(await notice.innerText(), /911/);
  const above = await page.evaluate(() => {
    const n = document.getElementById("emergency-notice");
    const button = document.querySelector("#consultation-form button[type=submit]");
    return Boolean(n.compareDocumentPosition(button) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert.ok(above, "the emergency notice comes before the submit button");
  assert.match(await page.locator("#privacy-notice").getAttribute("href"), /\/v1\/legal\/privacy-notice\?locale=en$/);
  await page.locator("#input-consent-age_confirmed").check();
  const answer = page.waitForResponse((r) => r.url() === `${API_URL}/v1/consultation-requests` && r.request().method() === "POST");
  await page.locator("#consultation-form button[type=submit]").click();
  const response = await answer;
  assert.equal(response.status(), 422);
  assert.ok(response.request().headers()["idempotency-key"], "sent with an Idempotency-Key");
  const emailError = page.locator('[data-error-for="email"]');
  await emailError.filter({ hasText: /\S/ }).waitFor();
  assert.ok((await emailError.innerText()).length > 0);
  assert.ok((await page.locator('[data-error-for="phone"]').innerText()).length > 0, "phone error shown too");
  assert.equal(await page.locator('[data-error-for="first_name"]').innerText(), "");
  assert.equal(await page.locator("#input-email").getAttribute("aria-invalid"), "true");
  await page.locator('[data-field="email"]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${RESULTS}/form-errors.png` });
});

test("a valid form is received and confirmed; sent again, it is replayed, not stored twice", async () => {
  await fill({ email: "ana@example.com", phone: "+1 415 555 0100", message: "Is IV ketamine an option for me?" });
  const answer = page.waitForResponse((r) => r.url() === `${API_URL}/v1/consultation-requests` && r.request().method() === "POST");
  await page.locator("#consultation-form button[type=submit]").click();
  const response = await answer;
  assert.equal(response.status(), 201);
  const status = page.locator("#form-status");
  await status.filter({ hasText: /received/ }).waitFor();
  assert.match(await status.getAttribute("data-receipt"), /^[0-9a-f-]{36}$/);
  assert.equal(await page.locator('[data-error-for="email"]').innerText(), "");
  await status.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${RESULTS}/form-sent.png` });

  // Sent again unchanged (a double click, a retry): the same key, the first answer replayed.
  const receipt = await status.getAttribute("data-receipt");
  const key = response.request().headers()["idempotency-key"];
  const again = page.waitForResponse((r) => r.url() === `${API_URL}/v1/consultation-requests` && r.request().method() === "POST");
  await page.locator("#consultation-form button[type=submit]").click();
  const replay = await again;
  assert.equal(replay.status(), 201);
  assert.equal(replay.request().headers()["idempotency-key"], key);
  assert.equal(await replay.headerValue("idempotent-replayed"), "true");
  await status.filter({ hasText: /already have/ }).waitFor();
  assert.equal(await status.getAttribute("data-receipt"), receipt);
  assert.deepEqual(pageErrors.filter((e) => !/status of 422/.test(e)), [], "no errors in the page");
});
