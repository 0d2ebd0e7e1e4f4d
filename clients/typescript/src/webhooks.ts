// Our webhooks are Standard Webhooks: verified here with that project's own library, never by
// hand. Give it the endpoint's secret (whsec_…), the raw body and the request's headers.
import { Webhook } from "standardwebhooks";
import type { components } from "./schema.js";

/** A lead event, an article event or the test ping, as openapi.json's `webhooks` describe. */
export type WebhookEvent =
  | components["schemas"]["LeadEvent"]
  | components["schemas"]["LeadEventThin"]
  | components["schemas"]["ArticleEvent"]
  | components["schemas"]["ArticleEventThin"]
  | components["schemas"]["PingEvent"];

/** The event, once its signature and timestamp check out; throws otherwise (answer 401). */
export function verifyWebhook(
  secret: string,
  rawBody: string,
  headers: Record<string, string> | Headers,
): WebhookEvent {
  // Header names in lower case, whatever the caller's framework kept (the library looks them
  // up as webhook-id, webhook-timestamp, webhook-signature).
  const plain: Record<string, string> = {};
  if (headers instanceof Headers) headers.forEach((value, name) => (plain[name] = value));
  else for (const [name, value] of Object.entries(headers)) plain[name.toLowerCase()] = value;
  return new Webhook(secret).verify(rawBody, plain) as WebhookEvent;
}
