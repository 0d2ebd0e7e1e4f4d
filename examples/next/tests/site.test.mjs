// The Next.js example under `next start` against the real API, in Chromium (Debian's package,
// driven by playwright-core: tests/browser/chromium.mjs). run-test.sh starts both servers and
// sets the variables below.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { launchChromium } from "../../../tests/browser/chromium.mjs";

const SITE_URL = process.env.SITE_URL ?? "http://127.0.0.1:3000";
const API_URL = process.env.API_URL ?? "http://127.0.0.1:8000";
const RESULTS = process.env.RESULTS_DIR ?? new URL("../test-results/", import.meta.url).pathname;
const { EDITOR_KEY, REVIEWER_KEY, LEADS_KEY, ENDPOINT_ID } = process.env;
const BUILD_ID = new URL("../.next/BUILD_ID", import.meta.url);

const SLUG = "iv-ketamine-for-ptsd";
const DRAFT = "ketamine-for-chronic-pain";
// A visitor's address (TEST-NET-3), as a proxy in front of the Next server would pass it on.
const VISITOR_IP = "203.0.113.7";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let browser;
let page;
const pageErrors = [];

before(async () => {
  mkdirSync(RESULTS, { recursive: true });
  browser = await launchChromium();
  const context = await browser.newContext({
    viewport: { width: 1000, height: 900 },
    extraHTTPHeaders: { "X-Forwarded-For": VISITOR_IP },
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (msg) => {
    if (msg.type() === "error") pageErrors.push(msg.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400) pageErrors.push(`${response.status()} ${response.url()}`);
  });
});

after(async () => {
  await browser?.close();
});

/** A call to the API; the answer's JSON (or null) with its status and headers. */
async function api(method, path, { key, body, headers = {} } = {}) {
  const response = await fetch(`${API_URL}${path}`, {
    method,
    headers: {
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...(body ? { "Content-Type": "application/json" } : {}),
      ...headers,
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, json, text };
}

test("the list and the articles are prerendered by next build and served from its cache", async () => {
  for (const path of ["/", `/articles/${SLUG}`]) {
    const response = await fetch(`${SITE_URL}${path}`);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get("x-nextjs-cache"), "HIT", `${path} is served from the prerender cache`);
  }
  await page.goto(SITE_URL);
  const links = page.locator("#articles a[data-slug]");
  const published = (await api("GET", "/v1/articles?locale=en&fields=title")).json.data.map((a) => a.slug);
  assert.deepEqual(await links.evaluateAll((els) => els.map((el) => el.dataset.slug)), published);
  assert.ok(published.includes(SLUG));
});

test("the article shows its disclaimers in their places, the hero image from the API's renditions and its JSON-LD", async () => {
  const article = (await api("GET", `/v1/articles/${SLUG}?locale=en`)).json;
  await page.locator(`#articles a[data-slug="${SLUG}"]`).click();
  await page.waitForURL(`${SITE_URL}/articles/${SLUG}`);
  assert.equal(await page.locator("#article-body h1").innerText(), article.title);

  const keys = (placement) =>
    page.locator(`.disclaimers-${placement} .disclaimer`).evaluateAll((els) => els.map((el) => el.dataset.key));
  assert.deepEqual(await keys("top"), article.disclaimers.top.map((d) => d.key));
  assert.deepEqual(await keys("bottom"), article.disclaimers.bottom.map((d) => d.key));
  assert.ok((await keys("top")).includes("fda-off-label"), "the off-label disclaimer is on top");
  assert.match(await page.locator('.disclaimer[data-key="fda-off-label"]').innerText(), /off-label/i);
  const order = await page.evaluate(() => {
    const top = document.querySelector(".disclaimers-top .disclaimer");
    const body = document.getElementById("article-body");
    const bottom = document.querySelector(".disclaimers-bottom .disclaimer");
    return {
      topBefore: Boolean(top.compareDocumentPosition(body) & Node.DOCUMENT_POSITION_FOLLOWING),
      bottomAfter: Boolean(body.compareDocumentPosition(bottom) & Node.DOCUMENT_POSITION_FOLLOWING),
      topAbove: top.getBoundingClientRect().bottom <= body.getBoundingClientRect().top,
    };
  });
  assert.deepEqual(order, { topBefore: true, bottomAfter: true, topAbove: true });

  const jsonLd = page.locator('script[type="application/ld+json"]');
  assert.equal(await jsonLd.count(), 1);
  assert.deepEqual(JSON.parse(await jsonLd.textContent()), article.json_ld);

  const hero = page.locator("#article-body picture img");
  await page.waitForFunction(() => {
    const img = document.querySelector("#article-body picture img");
    return img?.complete && img.naturalWidth > 0;
  });
  const currentSrc = await hero.evaluate((img) => img.currentSrc);
  const renditions = article.hero_image.renditions.map((r) => r.url);
  assert.ok(renditions.includes(currentSrc), `the browser loaded one of the API's renditions (${currentSrc})`);
  assert.ok(currentSrc.startsWith(`${API_URL}/media/`));
  assert.equal(await hero.getAttribute("alt"), article.hero_image.alt);
  await page.screenshot({ path: `${RESULTS}/article.png` });
});

async function fill(values) {
  for (const [name, value] of Object.entries(values)) {
    await page.locator(`#consultation-form [name="${name}"]`).fill(value);
  }
}

test("a lead goes in: each 422 error beside its input, then a confirmation, one Idempotency-Key per form", async () => {
  const consent = (await api("GET", "/v1/consent-texts/current?locale=en")).json;
  const form = page.locator("#consultation-form");
  const keyInput = form.locator('input[name="idempotency_key"]');
  // Made in the browser once the form is hydrated.
  await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.querySelector('input[name="idempotency_key"]')?.value ?? ""));
  const key = await keyInput.inputValue();
  assert.match(key, UUID);

  // The consent wording, the privacy notice and, above the button, the emergency notice.
  const label = async (name) => (await form.locator(`[data-field="${name}"] label`).innerText()).trim();
  assert.equal(await label("consent.contact"), consent.text);
  assert.equal(await label("consent.sms"), consent.sms_text);
  assert.equal(await label("consent.age_confirmed"), consent.age_text);
  assert.equal(await page.locator("#privacy-notice").getAttribute("href"), consent.privacy_notice_url);
  assert.equal(await page.locator("#emergency-notice").innerText(), consent.emergency_notice);
  const noticeAboveButton = await page.evaluate(() => {
    const notice = document.getElementById("emergency-notice");
    const button = document.querySelector("#consultation-form button[type=submit]");
    return Boolean(notice.compareDocumentPosition(button) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert.ok(noticeAboveButton, "the emergency notice comes before the submit button");

  // Invalid: a bad email and phone, and not confirmed as an adult. The API says so (422).
  await fill({ first_name: "Ana", last_name: "Diaz", email: "not-an-email", phone: "12" });
  await page.locator("#input-consent\\.contact").check();
  await form.locator("button[type=submit]").click();
  const emailError = form.locator('[data-field="email"] [data-error-for="email"]');
  await emailError.filter({ hasText: /\S/ }).waitFor();
  assert.match(await emailError.innerText(), /email/i);
  assert.ok((await form.locator('[data-field="phone"] [data-error-for="phone"]').innerText()).length > 0, "phone error beside the phone");
  assert.match(
    await form.locator('[data-field="consent.age_confirmed"] [data-error-for="consent.age_confirmed"]').innerText(),
    /18/,
  );
  assert.equal(await form.locator('[data-error-for="first_name"]').innerText(), "");
  assert.equal(await page.locator("#input-email").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#input-first_name").getAttribute("aria-invalid"), null);
  assert.equal(await page.locator("#input-first_name").inputValue(), "Ana", "what was typed is kept");
  assert.equal(await keyInput.inputValue(), key, "the same form keeps its key");
  await page.locator('[data-field="email"]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${RESULTS}/form-errors.png` });

  // Corrected: received (201), confirmed, recorded with the visitor's address and browser.
  await fill({ email: "ana@example.com", phone: "+1 415 555 0100", message: "Is IV ketamine an option for me?" });
  await page.locator("#input-consent\\.age_confirmed").check();
  await form.locator("button[type=submit]").click();
  const status = page.locator("#form-status");
  await status.filter({ hasText: /received/ }).waitFor();
  const receipt = await status.getAttribute("data-receipt");
  assert.match(receipt, UUID);
  assert.equal(await emailError.innerText(), "");
  assert.equal(await keyInput.inputValue(), key);
  await status.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${RESULTS}/form-sent.png` });

  const lead = await api("GET", `/v1/admin/consultation-requests/${receipt}`, { key: LEADS_KEY });
  assert.equal(lead.status, 200);
  assert.equal(lead.json.email, "ana@example.com");
  assert.equal(lead.json.source_article_slug, SLUG);
  assert.equal(lead.json.consent_version, consent.version);
  assert.equal(lead.json.client_ip, VISITOR_IP, "the API recorded (and rate-limits) the visitor, not the Next server");
  assert.match(lead.json.user_agent ?? "", /Chrome/, "the visitor's browser, not Node's fetch");

  // Sent again (a double click, a retry): same key, same body: the API replays, stores nothing.
  await form.locator("button[type=submit]").click();
  await status.filter({ hasText: /already have/ }).waitFor();
  assert.equal(await status.getAttribute("data-receipt"), receipt);
});

test("the revalidate route refuses a webhook that is not signed with the endpoint's secret", async () => {
  const body = JSON.stringify({ type: "article.updated", timestamp: new Date().toISOString(), data: { slug: SLUG } });
  const forged = {
    "Content-Type": "application/json",
    "webhook-id": "msg_forged",
    "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
    "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==",
  };
  for (const headers of [forged, { "Content-Type": "application/json" }]) {
    const response = await fetch(`${SITE_URL}/api/revalidate`, { method: "POST", headers, body });
    assert.equal(response.status, 401);
  }
});

test("an edit approved and published over the API reaches the static page through its webhook, without a rebuild", async () => {
  const buildId = readFileSync(BUILD_ID, "utf8");
  const marker = `Revalidated by webhook ${Date.now()}`;
  const pageHtml = async () => (await fetch(`${SITE_URL}/articles/${SLUG}`)).text();
  assert.ok(!(await pageHtml()).includes(marker));

  // docs/editorial.md: the editor PUTs the newest revision with If-Match, a clinician's key
  // approves exactly that revision, the editor publishes it.
  const found = await api("GET", `/v1/admin/articles?q=${SLUG}`, { key: EDITOR_KEY });
  const id = found.json.items.find((a) => a.slug === SLUG).id;
  const current = await api("GET", `/v1/admin/articles/${id}`, { key: EDITOR_KEY });
  const content = current.json.content;
  content.sections[0].markdown = `${marker}.\n\n${content.sections[0].markdown}`;
  const edited = await api("PUT", `/v1/admin/articles/${id}`, {
    key: EDITOR_KEY,
    body: content,
    headers: { "If-Match": current.headers.get("etag") },
  });
  assert.equal(edited.status, 200, edited.text);
  const revision = edited.json.revision;
  const approved = await api("POST", `/v1/admin/articles/${id}/revisions/${revision}/approvals`, {
    key: REVIEWER_KEY,
    body: { note: "Checked by the Next.js example's test." },
  });
  assert.equal(approved.status, 201, approved.text);
  const published = await api("POST", `/v1/admin/articles/${id}/publish`, { key: EDITOR_KEY, body: { revision } });
  assert.equal(published.status, 200, published.text);
  assert.equal(published.json.published_revision, revision);
  const publishedAt = Date.now();

  // The API delivers article.updated to /api/revalidate (it polls its outbox about every second).
  let html = "";
  while (Date.now() - publishedAt < 30_000) {
    html = await pageHtml();
    if (html.includes(marker)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(html.includes(marker), "the page shows the edit within 30 s");
  console.log(`# the edit was served ${((Date.now() - publishedAt) / 1000).toFixed(1)} s after publishing`);

  await page.goto(`${SITE_URL}/articles/${SLUG}`);
  assert.match(await page.locator("#article-body section").first().innerText(), new RegExp(marker));
  await page.screenshot({ path: `${RESULTS}/revalidated.png` });
  // Still a static page, regenerated once and cached again; and the same build.
  const again = await fetch(`${SITE_URL}/articles/${SLUG}`);
  assert.equal(again.headers.get("x-nextjs-cache"), "HIT");
  assert.equal(readFileSync(BUILD_ID, "utf8"), buildId, "no rebuild");

  // The API's delivery log: a signed article event, acknowledged by the site.
  const deliveries = await api("GET", `/v1/admin/webhook-endpoints/${ENDPOINT_ID}/deliveries`, { key: EDITOR_KEY });
  assert.equal(deliveries.status, 200, deliveries.text);
  const delivered = deliveries.json.data.filter((d) => d.event_type.startsWith("article.") && d.status === "succeeded");
  assert.ok(delivered.length >= 1, JSON.stringify(deliveries.json.data));
  assert.equal(delivered[0].last_status_code, 204);
});

test("draft mode shows a draft under a preview token the API accepts, and nothing under a bad one", async () => {
  // Not public: the draft is a 404 without draft mode.
  assert.equal((await fetch(`${SITE_URL}/articles/${DRAFT}`)).status, 404);

  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const editor = await context.newPage();
  editor.setDefaultTimeout(15_000);
  try {
    // A token the API refuses enables nothing.
    const refused = await editor.goto(`${SITE_URL}/api/draft?slug=${DRAFT}&token=v1.not-a-token.x`);
    assert.equal(refused.status(), 401);
    assert.deepEqual(await context.cookies(), [], "no draft-mode cookie, no token kept");

    const preview = await api("POST", "/v1/admin/previews", { key: EDITOR_KEY, body: { slug: DRAFT, expires_in: 600 } });
    assert.equal(preview.status, 201, preview.text);
    const { token } = preview.json;
    const draft = (await api("GET", `/v1/articles/${DRAFT}?locale=en&preview=${encodeURIComponent(token)}`)).json;
    assert.equal(draft.published_at, null, "a draft");

    await editor.goto(`${SITE_URL}/api/draft?slug=${DRAFT}&token=${encodeURIComponent(token)}`);
    assert.equal(editor.url(), `${SITE_URL}/articles/${DRAFT}`);
    assert.equal(await editor.locator("#article-body h1").innerText(), draft.title);
    await editor.locator("#draft-banner").waitFor();
    assert.match(await editor.locator("#preview-note").innerText(), /draft/i);
    await editor.screenshot({ path: `${RESULTS}/draft.png` });

    // The token stays on the server side: an httpOnly cookie, in no page, in no script's reach.
    const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
    assert.ok(cookies.clinic_preview?.httpOnly, "the token is in an httpOnly cookie");
    assert.ok(cookies.__prerender_bypass?.httpOnly, "Next's draft-mode cookie");
    assert.ok(!(await editor.content()).includes(token), "the token is not in the page");
    assert.ok(!(await editor.evaluate(() => document.cookie)).includes(token));

    // Other visitors still get the 404; the editor leaves draft mode and gets it too.
    assert.equal((await fetch(`${SITE_URL}/articles/${DRAFT}`)).status, 404);
    await editor.locator("#draft-banner button").click();
    await editor.waitForURL(`${SITE_URL}/`);
    assert.deepEqual((await context.cookies()).map((c) => c.name), [], "both cookies are gone");
    const gone = await editor.goto(`${SITE_URL}/articles/${DRAFT}`);
    assert.equal(gone.status(), 404);
  } finally {
    await context.close();
  }
  assert.deepEqual(pageErrors, [], "no errors in the visitor's page");
});
