// The packed TypeScript SDK, installed from its tarball into an empty project, against a real
// API (clients/run-sdk-test.sh sets API_URL, KEY: content:write + webhooks:manage).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import {
  allArticles,
  changesSince,
  createClinicClient,
  createPreview,
  pictureSources,
  previewUrl,
  srcSet,
  verifyWebhook,
} from "@clinic-api/client";

const API_URL = process.env.API_URL;
const KEY = process.env.KEY;
const api = createClinicClient(API_URL);
const auth = { Authorization: `Bearer ${KEY}` };

test("allArticles walks every page", async () => {
  const first = await (await fetch(`${API_URL}/v1/articles?locale=en`)).json();
  const slugs = [];
  for await (const article of allArticles(api, { locale: "en", page_size: 1 })) slugs.push(article.slug);
  assert.equal(slugs.length, first.meta.total);
  assert.ok(slugs.length >= 2, "more than one page was read");
  assert.deepEqual(slugs, first.data.map((a) => a.slug));
});

test("changesSince follows has_more and returns the cursor to keep", async () => {
  const feed = await (await fetch(`${API_URL}/v1/changes?limit=100`)).json();
  assert.ok(feed.data.length >= 3);
  const result = await changesSince(api, feed.data[0].cursor, 2);
  assert.equal(result.kind, "changes");
  assert.deepEqual(result.changes.map((c) => c.cursor), feed.data.slice(1).map((c) => c.cursor));
  const idle = await changesSince(api, result.cursor);
  assert.deepEqual(idle, { kind: "changes", changes: [], cursor: result.cursor });
});

test("a preview opens the draft at the URL previewUrl writes", async () => {
  const preview = await createPreview(api, KEY, "ketamine-for-chronic-pain", { expiresIn: 300 });
  assert.equal(previewUrl(API_URL, "ketamine-for-chronic-pain", preview.token, "en"), preview.url);
  const draft = await fetch(preview.url);
  assert.equal(draft.status, 200);
  assert.equal((await draft.json()).published_at, null);
});

test("srcSet and pictureSources come from the renditions", async () => {
  const { data } = await api.GET("/v1/articles/{slug}", { params: { path: { slug: "iv-ketamine-for-ptsd" } } });
  const hero = data.hero_image;
  const webp = srcSet(hero.renditions, "image/webp").split(", ");
  assert.deepEqual(webp.map((s) => Number(s.split(" ")[1].slice(0, -1))), [480, 960, 1600]);
  const picture = pictureSources(hero);
  assert.ok(picture.sources.some((s) => s.type === "image/webp"));
  assert.equal(picture.img.src, hero.src);
  assert.ok(picture.img.srcSet.includes(" 1600w"));
});

test("verifyWebhook accepts the API's real delivery and refuses a forged one", async () => {
  const received = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ body, headers: request.headers });
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${server.address().port}/hook`;
    const made = await (
      await fetch(`${API_URL}/v1/admin/webhook-endpoints`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ url, description: "SDK test receiver" }),
      })
    ).json();
    assert.ok(made.secret?.startsWith("whsec_"), JSON.stringify(made));
    const sent = await fetch(`${API_URL}/v1/admin/webhook-endpoints/${made.id}/test`, { method: "POST", headers: auth });
    assert.ok(sent.ok, `test delivery: ${sent.status}`);
    for (let i = 0; i < 100 && received.length === 0; i += 1) await new Promise((r) => setTimeout(r, 100));
    const [delivery] = received;
    assert.ok(delivery, "the API delivered the ping");
    const event = verifyWebhook(made.secret, delivery.body, delivery.headers);
    assert.equal(event.type, "ping");
    assert.throws(() => verifyWebhook(made.secret, delivery.body.replace("ping", "pong"), delivery.headers));
    const other = "whsec_" + Buffer.from("another-secret-of-32-bytes-long!").toString("base64");
    assert.throws(() => verifyWebhook(other, delivery.body, delivery.headers));
  } finally {
    server.close();
  }
});
