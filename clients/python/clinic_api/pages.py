"""Page iteration: every published article of a list query, page after page, for as long as
the list says there is a next page."""

from collections.abc import Iterator
from typing import Any

from clinic_api_client import Client
from clinic_api_client.api.articles import list_articles
from clinic_api_client.models import ArticleList, ArticleSummary

from clinic_api.problems import raise_problem


def all_articles(client: Client, page_size: int = 100, **filters: Any) -> Iterator[ArticleSummary]:
    """Every article summary `GET /v1/articles` lists with these filters (`therapy=[...]`,
    `locale=`, `q=`, `sort=`, `fields=`...); a problem raises `ProblemError`."""
    page = 1
    while True:
        answer = list_articles.sync_detailed(
            client=client, page=page, page_size=page_size, **filters
        )
        if not isinstance(answer.parsed, ArticleList):
            raise_problem(answer.status_code, answer.parsed)
        assert isinstance(answer.parsed, ArticleList)
        yield from answer.parsed.data
        if not answer.parsed.links.next_:
            return
        page += 1
