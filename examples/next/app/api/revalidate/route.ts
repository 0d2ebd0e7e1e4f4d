// The API's webhook endpoint for this site: signed `article.*` events (Standard Webhooks)
// revalidate the article's page and the list, without a rebuild. Subscribe it with
//   POST /v1/admin/webhook-endpoints {"url": "https://<site>/api/revalidate",
//     "event_types": ["article.published", "article.updated", "article.unpublished"],
//     "payload_mode": "thin"}
// and give the answer's `secret` (whsec_…) to this server as CLINIC_WEBHOOK_SECRET.
import { revalidatePath, revalidateTag } from "next/cache";
import { Webhook } from "standardwebhooks";
import { ARTICLES_TAG, articleTag, SLUG_PATTERN } from "@/lib/api";

// openapi.json, webhooks: ArticleEventThin (`full` payloads carry the same fields and more).
type ArticleEvent = { type: string; timestamp: string; data: { slug?: unknown } };

export async function POST(request: Request): Promise<Response> {
  const secret = process.env.CLINIC_WEBHOOK_SECRET;
  if (!secret) return Response.json({ error: "CLINIC_WEBHOOK_SECRET is not set" }, { status: 503 });
  // The signature covers the exact bytes sent: verify the raw text, before any parsing.
  const raw = await request.text();
  let event: ArticleEvent;
  try {
    // Checks webhook-id, webhook-timestamp (within 5 minutes) and webhook-signature.
    event = new Webhook(secret).verify(raw, Object.fromEntries(request.headers)) as ArticleEvent;
  } catch {
    return Response.json({ error: "invalid signature" }, { status: 401 });
  }
  const slug = event.data?.slug;
  if (!event.type.startsWith("article.") || typeof slug !== "string" || !SLUG_PATTERN.test(slug)) {
    // Any 2xx acknowledges (a `ping`, an event this site ignores); a non-2xx would be retried.
    return new Response(null, { status: 204 });
  }
  // The API sends an article event once every one of its processes serves the change, so the
  // pages rebuilt now read the new text.
  // `expire: 0`: the next request renders the page anew from the API instead of being served
  // the stale one (the webhook is the signal that it is stale).
  revalidateTag(articleTag(slug), { expire: 0 });
  revalidateTag(ARTICLES_TAG, { expire: 0 });
  revalidatePath(`/articles/${slug}`);
  revalidatePath("/");
  return new Response(null, { status: 204 });
}
