// /docs (Swagger UI) and /redoc (ReDoc) in Chromium against the real API: they render the
// contract, and every request the page makes goes to the API's own origin (the assets are the
// app's own files; an air-gapped or intranet deployment gets working docs). run-test.sh
// starts the API and sets API_URL.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchChromium } from "./chromium.mjs";

const API_URL = process.env.API_URL ?? "http://127.0.0.1:8000";
const OWN_ORIGIN = new URL(API_URL).origin;

let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

// Where each page shows an operation's summary once it has rendered the contract.
for (const [path, operationTitle] of [
  ["/docs", ".opblock-summary-description"],
  ["/redoc", "h2"],
]) {
  test(`${path} renders the contract and sends nothing to another host`, async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    const requested = [];
    const failed = new Map();
    page.on("request", (request) => requested.push(request.url()));
    page.on("requestfailed", (request) => failed.set(request.url(), request.failure()?.errorText));
    const answer = await page.goto(API_URL + path);
    assert.equal(answer.status(), 200);
    await page.locator(operationTitle, { hasText: "Request a consultation" }).first().waitFor();
    await page.waitForLoadState("networkidle");
    assert.ok(requested.some((url) => url.startsWith(`${OWN_ORIGIN}/openapi.json`)));
    // Every asset is the server's own. ReDoc's sidebar asks for Redocly's logo from its CDN
    // whatever its options; the page's CSP (img-src 'self') stops it in the browser, so it is
    // never sent: anything addressed elsewhere must have been blocked by the CSP.
    const elsewhere = requested.filter((url) => {
      const parsed = new URL(url);
      return !["data:", "blob:"].includes(parsed.protocol) && parsed.origin !== OWN_ORIGIN;
    });
    for (const url of elsewhere) {
      // Chromium reports a load its CSP refused as failed with "csp" (net::ERR_BLOCKED_BY_CSP).
      assert.match(failed.get(url) ?? "sent", /^csp$|BLOCKED_BY_CSP/, `${path} sent a request to ${url}`);
    }
    assert.ok(elsewhere.length <= 1, `${path} asked other hosts: ${elsewhere.join(", ")}`);
    await page.close();
  });
}
