"""The public article list: filters, one page of summaries (newest first, oldest first, by
title, or by relevance to `q`), and how many articles match."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from db.models import Article, ArticleCondition, ArticleTherapy, Condition, Therapy
from schemas.articles import ArticleSummary
from schemas.vocabulary import ArticleSort
from services.content import articles, search
from services.content.disclaimers import active_disclaimers, group_refs
from services.content.hero import ContentLinks, public_hero
from services.content.translations import translations_of


@dataclass(frozen=True)
class ArticleFilters:
    """Filters for the public article list."""

    locale: str
    therapies: tuple[str, ...] = ()  # any of them
    conditions: tuple[str, ...] = ()  # any of them
    q: str | None = None
    updated_since: datetime | None = None  # inclusive
    sort: ArticleSort | None = None  # None: the default (relevance with `q`, newest without)

    @property
    def order(self) -> ArticleSort:
        """The order the page is in."""
        return self.sort or (ArticleSort.RELEVANCE if self.q else ArticleSort.NEWEST)


@dataclass(frozen=True)
class ArticlePage:
    """One page of summaries and how many articles the filters match."""

    items: list[ArticleSummary]
    total: int
    total_is_estimate: bool = False


def list_published(
    *, session: Session, filters: ArticleFilters, page: int, page_size: int, links: ContentLinks
) -> ArticlePage:
    """One page of published article summaries (newest first, or by relevance to `q`)."""
    conditions: list[Any] = [Article.status == articles.PUBLISHED, Article.locale == filters.locale]
    if filters.therapies:
        conditions.append(
            exists().where(
                col(ArticleTherapy.article_id) == col(Article.id),
                col(ArticleTherapy.therapy_id) == col(Therapy.id),
                col(Therapy.slug).in_(filters.therapies),
            )
        )
    if filters.conditions:
        conditions.append(
            exists().where(
                col(ArticleCondition.article_id) == col(Article.id),
                col(ArticleCondition.condition_id) == col(Condition.id),
                col(Condition.slug).in_(filters.conditions),
            )
        )
    if filters.updated_since is not None:
        conditions.append(col(Article.updated_at) >= filters.updated_since)
    offset = (page - 1) * page_size
    if filters.q:
        hits = search.find(
            session=session,
            q=filters.q,
            conditions=conditions,
            sort=filters.order,
            offset=offset,
            limit=page_size,
        )
        found = {
            a.id: a for a in session.exec(select(Article).where(col(Article.id).in_(hits.ids)))
        }
        rows = [found[i] for i in hits.ids]
        total, estimate = hits.total, hits.total_is_estimate
        extracts = search.snippets(session=session, q=filters.q, ids=hits.ids)
    else:
        total = session.exec(select(func.count()).select_from(Article).where(*conditions)).one()
        rows = list(
            session.exec(
                select(Article)
                .where(*conditions)
                .order_by(*search.ORDERS[filters.order])
                .offset(offset)
                .limit(page_size)
            ).all()
        )
        estimate, extracts = False, {}
    terms = articles.terms_of(session, [a.id for a in rows], filters.locale)
    active = active_disclaimers(session=session)
    versions = translations_of(session, {a.translation_group for a in rows})
    items = [
        ArticleSummary(
            **articles.common_fields(
                a,
                terms[a.id],
                links,
                versions[a.translation_group],
                public_hero(a.hero_image, links),
            ),
            disclaimers=group_refs(articles.carried_disclaimers(a, terms[a.id], active)),
            snippet=extracts.get(a.id),
        )
        for a in rows
    ]
    return ArticlePage(items, int(total), estimate)
