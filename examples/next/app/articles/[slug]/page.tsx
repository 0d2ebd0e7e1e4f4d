// One article, prerendered by `next build` for every published slug and kept until an
// article.* webhook revalidates it (app/api/revalidate). In draft mode it is rendered per
// request from the API's preview of the article, which may be a draft.
import type { Metadata } from "next";
import { cookies, draftMode } from "next/headers";
import { notFound } from "next/navigation";
import { cache } from "react";
import {
  getArticle,
  getArticles,
  getConsentText,
  getPreview,
  PREVIEW_COOKIE,
  readPreviewCookie,
  SLUG_PATTERN,
  type Article,
  type Disclaimer,
} from "@/lib/api";
import { HeroImage } from "@/lib/hero-image";
import { submitConsultation } from "./actions";
import { ConsultationForm } from "./consultation-form";

type Props = { params: Promise<{ slug: string }> };

// No time-based revalidation: a page changes when the API says its article changed.
export const revalidate = false;

export async function generateStaticParams(): Promise<{ slug: string }[]> {
  return (await getArticles()).map(({ slug }) => ({ slug }));
}

/** The published article or, in draft mode with a token for this slug, the API's preview. */
const loadArticle = cache(async (slug: string): Promise<{ article: Article | null; preview: boolean }> => {
  if (!SLUG_PATTERN.test(slug)) return { article: null, preview: false };
  // Off at build time and for every visitor without Next's bypass cookie: then no cookie is
  // read and the page stays static.
  if ((await draftMode()).isEnabled) {
    const preview = readPreviewCookie((await cookies()).get(PREVIEW_COOKIE)?.value);
    if (preview?.slug === slug) {
      const article = await getPreview(slug, preview.token);
      if (article) return { article, preview: true };
    }
  }
  return { article: await getArticle(slug), preview: false };
});

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { article, preview } = await loadArticle((await params).slug);
  if (!article) return {};
  return {
    title: article.seo.meta_title ?? article.title,
    description: article.seo.meta_description ?? article.summary,
    alternates: article.seo.canonical_url ? { canonical: article.seo.canonical_url } : undefined,
    robots: preview ? { index: false, follow: false } : undefined,
  };
}

function Disclaimers({ placement, items }: { placement: "top" | "bottom"; items: Disclaimer[] }) {
  return (
    <div className={`disclaimers disclaimers-${placement}`} data-placement={placement}>
      {items.map((d) => (
        <aside key={d.key} className="disclaimer" data-key={d.key} data-version={d.version} role="note">
          <strong>{d.title}</strong>
          <p>{d.text}</p>
        </aside>
      ))}
    </div>
  );
}

export default async function ArticlePage({ params }: Props) {
  const { article, preview } = await loadArticle((await params).slug);
  if (!article) notFound();
  const review = article.medical_review.reviewer;
  // `<` escaped so that no string in the JSON-LD can close the script element.
  const jsonLd = JSON.stringify(article.json_ld).replace(/</g, "\\u003c");
  return (
    <>
      <script type="application/ld+json" dangerouslySetInnerHTML={{ __html: jsonLd }} />
      {preview ? (
        <p id="preview-note" className="draft-banner">
          Preview {article.published_at ? "of the newest revision" : "of a draft (not published)"}
        </p>
      ) : null}
      {/* The article's disclaimers where they belong: `top` before the text, `bottom` after it. */}
      <Disclaimers placement="top" items={article.disclaimers.top} />
      <article id="article-body">
        <h1>{article.title}</h1>
        <p className="summary">{article.summary}</p>
        {review ? (
          <p className="review">
            Medically reviewed by {review.name}, {review.credentials}
            {article.medical_review.reviewed_at ? ` on ${article.medical_review.reviewed_at}` : ""}
          </p>
        ) : null}
        {article.hero_image ? <HeroImage image={article.hero_image} /> : null}
        {article.sections.map((section) => (
          <section key={section.key} id={section.key} data-kind={section.kind}>
            <h2>{section.heading}</h2>
            {/* Rendered and sanitized by the API (`?format=html`). */}
            <div dangerouslySetInnerHTML={{ __html: section.html }} />
          </section>
        ))}
        {article.references.length ? (
          <>
            <h2>References</h2>
            <ol className="references">
              {article.references.map((ref) => (
                <li key={ref.id} id={`ref-${ref.id}`}>
                  {ref.authors}. {ref.title}. {ref.publisher}
                  {ref.year ? `, ${ref.year}` : ""}.{" "}
                  <a href={ref.url} rel="noopener">
                    {ref.url}
                  </a>
                </li>
              ))}
            </ol>
          </>
        ) : null}
      </article>
      <Disclaimers placement="bottom" items={article.disclaimers.bottom} />
      {preview ? null : <LeadForm article={article} />}
    </>
  );
}

async function LeadForm({ article }: { article: Article }) {
  const consent = await getConsentText();
  // Bound on the server into the action: what this page showed (the consent version, the
  // disclaimers), so the lead records it. The API checks every value again.
  const action = submitConsultation.bind(null, {
    slug: article.slug,
    locale: article.locale,
    therapies: article.therapies.map((t) => t.slug),
    conditions: article.conditions.map((c) => c.slug),
    disclaimersShown: [...article.disclaimers.top, ...article.disclaimers.bottom].map(({ key, version }) => ({ key, version })),
    consentVersion: consent.version,
    consentLocale: consent.locale,
  });
  return (
    <ConsultationForm
      action={action}
      consent={consent}
      heading={article.call_to_action?.heading ?? "Request a consultation"}
      intro={article.call_to_action?.text ?? null}
      buttonLabel={article.call_to_action?.button_label ?? "Send"}
    />
  );
}
