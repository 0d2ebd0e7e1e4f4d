"""Translations: the articles of one translation group (an original and its translations,
linked by `translation_of`), their hreflang alternates, and the locales that have content."""

from collections import defaultdict

from sqlmodel import Session, col, select

from db.models import Article
from schemas.articles import Alternate
from schemas.vocabulary import ArticleStatus

PUBLISHED = ArticleStatus.PUBLISHED


def published_locales(*, session: Session) -> frozenset[str]:
    """The locales that have at least one published article."""
    rows = session.exec(select(Article.locale).where(Article.status == PUBLISHED).distinct())
    return frozenset(rows)


def translations_of(session: Session, groups: set[str]) -> dict[str, list[Article]]:
    """The published articles of these translation groups, by group, in locale order."""
    found: dict[str, list[Article]] = defaultdict(list)
    if not groups:
        return found
    for a in session.exec(
        select(Article)
        .where(col(Article.translation_group).in_(groups), Article.status == PUBLISHED)
        .order_by(col(Article.locale))
    ):
        found[a.translation_group].append(a)
    return found


def alternates(article: Article, versions: list[Article]) -> list[Alternate]:
    """hreflang alternates: each version with a canonical URL, and x-default (the original's,
    else this page's); none unless at least two languages have a canonical URL."""
    linked = [v for v in versions if v.canonical_url]
    if len(linked) < 2 or not article.canonical_url:
        return []
    original = next((v for v in linked if v.slug == v.translation_group), None)
    out = [Alternate(hreflang=v.locale, href=v.canonical_url or "") for v in linked]
    default = (original or article).canonical_url or ""
    return [*out, Alternate(hreflang="x-default", href=default)]
