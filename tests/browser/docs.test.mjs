// /docs (Swagger UI) and /redoc (ReDoc) in Chromium against the real API: they render the
// contract, and every request the page makes goes to the API's own origin (the assets are the
// app's own files; an air-gapped or intranet deployment gets working docs). run-test.sh
// starts the API and sets API_URL.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const API_URL = process.env.API_URL ?? "http://127.0.0.1:8000";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const OWN_ORIGIN = new URL(API_URL).origin;

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

for (const [path, rendered] of [
  ["/docs", ".opblock-summary-description"],
  ["/redoc", "[role=menuitem]"],
]) {
  test(`${path} renders the contract and loads nothing from another host`, async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    const requested = [];
    const refused = []; // what the page's CSP blocked: it would have left the server
    page.on("request", (request) => requested.push(request.url()));
    page.on("console", (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) refused.push(msg.text());
    });
    const answer = await page.goto(API_URL + path);
    assert.equal(answer.status(), 200);
    await page.locator(rendered).first().waitFor();
    await page.getByText("Request a consultation").first().waitFor();
    await page.waitForLoadState("networkidle");
    const elsewhere = requested.filter((url) => {
      const parsed = new URL(url);
      return !["data:", "blob:"].includes(parsed.protocol) && parsed.origin !== OWN_ORIGIN;
    });
    assert.deepEqual(elsewhere, [], `${path} asked another host`);
    assert.deepEqual(refused, [], `${path} tried to reach past its CSP`);
    assert.ok(requested.some((url) => url.startsWith(`${OWN_ORIGIN}/openapi.json`)));
    await page.close();
  });
}
