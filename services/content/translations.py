"""Translations: the articles of one translation group (an original and its translations,
linked by `translation_of`), their hreflang alternates, and the locales that have content."""

from collections import defaultdict

from sqlmodel import Session, col, select

from db.lead_models import ConsentText
from db.models import Article, Disclaimer
from schemas.articles import Alternate
from schemas.vocabulary import ArticleStatus

PUBLISHED = ArticleStatus.PUBLISHED


def content_locales(*, session: Session) -> frozenset[str]:
    """The locales requests negotiate among: those with a published article, active
    disclaimers or a current consent text. A Spanish form gets its Spanish consent and a
    Spanish draft its preview even before the first Spanish article is published."""
    articles = session.exec(select(Article.locale).where(Article.status == PUBLISHED).distinct())
    texts = session.exec(select(Disclaimer.locale).where(col(Disclaimer.active)).distinct())
    consent = session.exec(select(ConsentText.locale).where(col(ConsentText.current)).distinct())
    return frozenset([*articles, *texts, *consent])


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
