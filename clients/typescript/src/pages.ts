// Page iteration: every published article of a list query, page after page, for as long as
// the list says there is a next page.
import type { ClinicClient } from "./client.js";
import { ProblemError } from "./problems.js";
import type { paths, components } from "./schema.js";

/** The filters of `GET /v1/articles` (all but the page number). */
export type ArticleListQuery = Omit<
  NonNullable<paths["/v1/articles"]["get"]["parameters"]["query"]>,
  "page"
>;

/** Every article summary `GET /v1/articles` lists with these filters, 100 a page unless
 * `page_size` says otherwise. A problem answer throws a `ProblemError`. */
export async function* allArticles(
  client: ClinicClient,
  query: ArticleListQuery = {},
): AsyncGenerator<components["schemas"]["ArticleSummary"], void, undefined> {
  for (let page = 1; ; page += 1) {
    const { data, error } = await client.GET("/v1/articles", {
      params: { query: { page_size: 100, ...query, page } },
    });
    if (!data) throw new ProblemError(error);
    yield* data.data;
    if (!data.links.next) return;
  }
}
