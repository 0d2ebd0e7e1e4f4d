// The article list and one article: its top disclaimers before the body, its bottom ones after,
// and its schema.org JSON-LD in the page's head.
import { api, describeProblem, type Schemas } from "./api";
import { h } from "./dom";

// An article read without `fields=` or `exclude=`: every field is present (the contract marks
// them optional because those parameters may leave them out).
export type Article = Required<Schemas["ArticlePublic"]>;
type Disclaimer = Schemas["DisclaimerPublic"];

export async function renderList(app: HTMLElement): Promise<void> {
  document.title = "Clinic — articles";
  setJsonLd(null);
  const { data, error } = await api.GET("/v1/articles", {
    params: { query: { page_size: 50, fields: "title,summary,therapies,conditions" } },
  });
  if (!data) {
    app.replaceChildren(h("p", { class: "error" }, describeProblem(error, "Could not load articles.")));
    return;
  }
  const items = data.data.map((article) =>
    h(
      "li",
      { class: "article-item" },
      h("a", { href: `#/articles/${encodeURIComponent(article.slug)}`, "data-slug": article.slug }, article.title ?? article.slug),
      h("p", {}, article.summary ?? ""),
      h("p", { class: "terms" }, [...(article.therapies ?? []), ...(article.conditions ?? [])].map((t) => t.name).join(" · ")),
    ),
  );
  app.replaceChildren(
    h("h1", {}, "Articles"),
    h("p", { class: "count" }, `${data.meta.total} published articles`),
    h("ul", { id: "articles", class: "articles" }, ...items),
  );
}

export async function loadArticle(slug: string): Promise<Article | string> {
  // Only the HTML form of each section: this page renders nothing else.
  const { data, error } = await api.GET("/v1/articles/{slug}", {
    params: { path: { slug }, query: { format: "html" } },
  });
  return data ? (data as Article) : describeProblem(error, "Could not load the article.");
}

export function renderArticle(article: Article): HTMLElement {
  document.title = article.seo.meta_title ?? article.title;
  setJsonLd(article.json_ld);
  const review = article.medical_review;
  const sections = article.sections.map((section) => {
    const body = h("div", { class: "section-body" });
    body.innerHTML = section.html ?? ""; // sanitized by the API (nh3) from the section's Markdown
    return h("section", { id: section.key, "data-kind": section.kind }, h("h2", {}, section.heading), body);
  });
  const references = article.references.map((ref) =>
    h(
      "li",
      { id: `ref-${ref.id}` },
      `${ref.authors}. ${ref.title}. `,
      `${ref.publisher}${ref.year ? `, ${ref.year}` : ""}. `,
      h("a", { href: ref.url, rel: "noopener" }, ref.url),
    ),
  );
  const page = h(
    "div",
    { class: "article-page" },
    disclaimerBlock("top", article.disclaimers.top),
    h(
      "article",
      { id: "article-body" },
      h("h1", {}, article.title),
      h("p", { class: "summary" }, article.summary),
      review.reviewer
        ? h(
            "p",
            { class: "review" },
            `Medically reviewed by ${review.reviewer.name}, ${review.reviewer.credentials}` +
              (review.reviewed_at ? ` on ${review.reviewed_at}` : ""),
          )
        : null,
      ...sections,
      references.length ? h("h2", {}, "References") : null,
      references.length ? h("ol", { class: "references" }, ...references) : null,
    ),
    disclaimerBlock("bottom", article.disclaimers.bottom),
  );
  // Citations link to #ref-…: scroll there without leaving the article's #/articles/… route.
  page.addEventListener("click", (event) => {
    const link = (event.target as Element).closest<HTMLAnchorElement>('a[href^="#ref-"]');
    if (!link) return;
    event.preventDefault();
    document.getElementById(link.hash.slice(1))?.scrollIntoView();
  });
  return page;
}

function disclaimerBlock(placement: "top" | "bottom", disclaimers: Disclaimer[]): HTMLElement {
  return h(
    "div",
    { class: `disclaimers disclaimers-${placement}`, "data-placement": placement },
    ...disclaimers.map((d) =>
      h(
        "aside",
        { class: "disclaimer", "data-key": d.key, "data-version": String(d.version), role: "note" },
        h("strong", {}, d.title),
        h("p", {}, d.text),
      ),
    ),
  );
}

/** One `<script type="application/ld+json">` in the head, for the article shown (or none). */
function setJsonLd(jsonLd: Article["json_ld"] | null): void {
  document.getElementById("article-jsonld")?.remove();
  if (!jsonLd) return;
  const script = document.createElement("script");
  script.type = "application/ld+json";
  script.id = "article-jsonld";
  script.textContent = JSON.stringify(jsonLd).replace(/</g, "\\u003c");
  document.head.append(script);
}
