// The article list, prerendered by `next build`; an article.* webhook revalidates its tag.
import Link from "next/link";
import { getArticles } from "@/lib/api";

export default async function ArticleList() {
  const articles = await getArticles();
  return (
    <>
      <h1>Articles</h1>
      <ul id="articles" className="articles">
        {articles.map((article) => (
          <li key={article.slug}>
            <Link href={`/articles/${article.slug}`} data-slug={article.slug}>
              {article.title}
            </Link>
            <p>{article.summary}</p>
          </li>
        ))}
      </ul>
    </>
  );
}
