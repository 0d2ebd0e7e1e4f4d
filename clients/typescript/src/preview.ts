// Draft previews: a token from POST /v1/admin/previews (a content:write key, server side
// only) opens one article, draft or not, until it expires.
import type { ClinicClient } from "./client.js";
import { ProblemError } from "./problems.js";
import type { components } from "./schema.js";

export type Preview = components["schemas"]["PreviewPublic"];

/** A preview of `slug` in `locale` (the clinic's default when left out), valid for
 * `expiresIn` seconds; its `url` is the API's absolute URL with the token. */
export async function createPreview(
  client: ClinicClient,
  apiKey: string,
  slug: string,
  options: { locale?: string; expiresIn?: number } = {},
): Promise<Preview> {
  const { data, error } = await client.POST("/v1/admin/previews", {
    body: { slug, locale: options.locale, expires_in: options.expiresIn },
    headers: { Authorization: `Bearer ${apiKey}` },
  });
  if (!data) throw new ProblemError(error);
  return data;
}

/** Where `GET /v1/articles/{slug}` answers the previewed article, on `baseUrl`. */
export function previewUrl(baseUrl: string, slug: string, token: string, locale?: string): string {
  const url = new URL(`/v1/articles/${encodeURIComponent(slug)}`, baseUrl);
  if (locale) url.searchParams.set("locale", locale);
  url.searchParams.set("preview", token);
  return url.toString();
}
