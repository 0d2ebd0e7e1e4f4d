// Reads from the clinic API, on the server only (`server-only` makes a client import a build
// error). The shapes are the parts of openapi.json's components this site uses.
import "server-only";

/** The API's origin, read at build time (static pages) and at run time (revalidation, drafts). */
export const API_URL = (process.env.CLINIC_API_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");

/** This example is one English site; a Spanish one would pass `es` (the API negotiates the rest). */
export const LOCALE = "en";

/** Cache tags: the list, and one per article (what the webhook route revalidates). */
export const ARTICLES_TAG = "articles";
export const articleTag = (slug: string): string => `article:${slug}`;

/** The httpOnly cookie holding a preview token while draft mode is on (see app/api/draft). */
export const PREVIEW_COOKIE = "clinic_preview";

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export interface Disclaimer {
  key: string;
  version: number;
  title: string;
  placement: "top" | "bottom";
  text: string;
}

export interface Rendition {
  url: string;
  width: number;
  height: number;
  mime_type: string;
  size: number;
}

export interface HeroImage {
  alt: string;
  caption: string;
  credit: string;
  width: number;
  height: number;
  dominant_color: string;
  src: string;
  renditions: Rendition[];
}

export interface Term {
  slug: string;
  name: string;
}

export interface Article {
  id: string;
  slug: string;
  locale: string;
  title: string;
  summary: string;
  published_at: string | null;
  updated_at: string;
  therapies: Term[];
  conditions: Term[];
  // `?format=html`: each section carries only its sanitized HTML form.
  sections: { key: string; heading: string; kind: string; html: string }[];
  references: { id: string; number: number; authors: string; title: string; publisher: string; year: number | null; url: string }[];
  hero_image: HeroImage | null;
  call_to_action: { heading: string; text: string; button_label: string; url: string } | null;
  seo: { meta_title: string | null; meta_description: string | null; canonical_url: string | null };
  medical_review: { reviewer: { name: string; credentials: string } | null; reviewed_at: string | null };
  disclaimers: { top: Disclaimer[]; bottom: Disclaimer[] };
  json_ld: Record<string, unknown>;
}

export interface ArticleSummary {
  slug: string;
  title: string;
  summary: string;
}

export interface ConsentText {
  version: string;
  locale: string;
  text: string;
  sms_text: string;
  age_text: string | null;
  emergency_notice: string | null;
  privacy_notice_url: string | null;
}

/** RFC 9457 problem+json, as every API error is. */
export interface Problem {
  code: string;
  title: string;
  status: number;
  detail?: string | null;
  errors?: { field: string; message: string; type: string }[] | null;
}

async function failed(response: Response, what: string): Promise<Error> {
  const problem = (await response.json().catch(() => null)) as Problem | null;
  return new Error(`${what}: ${response.status} ${problem?.code ?? ""} ${problem?.detail ?? ""}`.trim());
}

/** Every published article (all pages), for the list and generateStaticParams. */
export async function getArticles(): Promise<ArticleSummary[]> {
  const articles: ArticleSummary[] = [];
  let next: string | null = `/v1/articles?locale=${LOCALE}&page_size=100&fields=title,summary`;
  while (next) {
    // Cached until a webhook revalidates the tag: built once by `next build`.
    const response = await fetch(new URL(next, API_URL), { cache: "force-cache", next: { tags: [ARTICLES_TAG] } });
    if (!response.ok) throw await failed(response, "GET /v1/articles");
    const page = (await response.json()) as { data: ArticleSummary[]; links: { next: string | null } };
    articles.push(...page.data);
    next = page.links.next; // a path on the API
  }
  return articles;
}

/** The URL an article page reads (only the HTML form of each section: all this site shows). */
export const articleUrl = (slug: string): string => `${API_URL}/v1/articles/${slug}?locale=${LOCALE}&format=html`;

/** One published article, or null for a 404 (a draft, an archived article, no such slug). */
export async function getArticle(slug: string): Promise<Article | null> {
  const response = await fetch(articleUrl(slug), {
    cache: "force-cache",
    next: { tags: [articleTag(slug)] },
  });
  if (response.status === 404) return null;
  // Anything else (503 article_withheld, the API down) throws: `next build` fails loudly, and a
  // revalidation that fails keeps serving the last good page.
  if (!response.ok) throw await failed(response, `GET /v1/articles/${slug}`);
  return (await response.json()) as Article;
}

/**
 * The article as it stands (a draft too), under a preview token. Never cached: the API answers
 * it `private, no-store`, and it must not land in the cache the public pages are served from.
 * Null when the API refuses the token (wrong slug, tampered, expired: 401) or finds nothing.
 */
export async function getPreview(slug: string, token: string, fields?: string): Promise<Article | null> {
  const query = new URLSearchParams({ locale: LOCALE, preview: token });
  query.set(fields ? "fields" : "format", fields ?? "html");
  const response = await fetch(`${API_URL}/v1/articles/${slug}?${query}`, { cache: "no-store" });
  if (response.status === 401 || response.status === 404) return null;
  if (!response.ok) throw await failed(response, `GET /v1/articles/${slug}?preview=…`);
  return (await response.json()) as Article;
}

/** The consent wording the form must show, with the version a lead sends back. */
export async function getConsentText(): Promise<ConsentText> {
  const response = await fetch(`${API_URL}/v1/consent-texts/current?locale=${LOCALE}`, {
    cache: "force-cache",
    next: { tags: ["consent-text"] },
  });
  if (!response.ok) throw await failed(response, "GET /v1/consent-texts/current");
  return (await response.json()) as ConsentText;
}

/** The preview cookie's value: which article the token is for, and the token. */
export function readPreviewCookie(value: string | undefined): { slug: string; token: string } | null {
  try {
    const parsed = JSON.parse(value ?? "null") as { slug?: unknown; token?: unknown } | null;
    return typeof parsed?.slug === "string" && typeof parsed.token === "string" ? { slug: parsed.slug, token: parsed.token } : null;
  } catch {
    return null; // a cookie this site did not write
  }
}
