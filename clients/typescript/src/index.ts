// The Clinic Content & Leads API's TypeScript client: the typed client generated from
// openapi.json, and small helpers for what every integration writes (pages, sync, previews,
// images, webhooks).
export { createClinicClient, type ClinicClient } from "./client.js";
export { allArticles, type ArticleListQuery } from "./pages.js";
export { changesSince, type Change, type SyncResult } from "./sync.js";
export { createPreview, previewUrl, type Preview } from "./preview.js";
export { pictureSources, srcSet, type HeroImage, type Rendition } from "./images.js";
export { verifyWebhook, type WebhookEvent } from "./webhooks.js";
export { ProblemError, type Problem } from "./problems.js";
export type { components, paths } from "./schema.js";
import type { components } from "./schema.js";
export type Schemas = components["schemas"];
