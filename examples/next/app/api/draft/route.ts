// Draft mode's entry: /api/draft?slug=<slug>&token=<token from POST /v1/admin/previews>.
// The API judges the token: only when it answers the article under it is draft mode enabled,
// and the token is kept in an httpOnly cookie (never in the page or in client JavaScript).
import { cookies, draftMode } from "next/headers";
import { redirect } from "next/navigation";
import type { NextRequest } from "next/server";
import { getPreview, PREVIEW_COOKIE, SLUG_PATTERN } from "@/lib/api";

export async function GET(request: NextRequest): Promise<Response> {
  const slug = request.nextUrl.searchParams.get("slug") ?? "";
  const token = request.nextUrl.searchParams.get("token") ?? "";
  if (!SLUG_PATTERN.test(slug) || !token) {
    return Response.json({ error: "slug and token are required" }, { status: 400 });
  }
  // A cheap read (`fields=title`): a wrong, tampered or expired token, or one for another
  // article, is the API's 401, and nothing is enabled.
  const article = await getPreview(slug, token, "title");
  if (!article) return Response.json({ error: "the API refused this preview token" }, { status: 401 });

  (await draftMode()).enable();
  (await cookies()).set(PREVIEW_COOKIE, JSON.stringify({ slug: article.slug, token }), {
    httpOnly: true,
    sameSite: "lax",
    secure: process.env.NODE_ENV === "production", // as Next's own draft-mode cookie
    path: "/",
    maxAge: 60 * 60, // the API's default token lifetime; the API enforces the real expiry
  });
  // To the slug the API answered for, never to a URL taken from the query (no open redirect).
  redirect(`/articles/${article.slug}`);
}
