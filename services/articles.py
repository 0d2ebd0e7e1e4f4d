"""Published articles: queries and the one builder that attaches the required disclaimers."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from core.errors import NotFoundError
from db.models import (
    Article,
    ArticleCondition,
    ArticleSection,
    ArticleTherapy,
    Condition,
    Disclaimer,
    Therapy,
)
from schemas.articles import (
    ArticlePublic,
    ArticleSummary,
    CallToAction,
    MedicalReview,
    SectionPublic,
    Seo,
)
from schemas.taxonomy import TermRef
from schemas.vocabulary import ArticleStatus
from services import search
from services.disclaimers import active_disclaimers, group_full, group_refs, required_disclaimers

PUBLISHED = ArticleStatus.PUBLISHED


@dataclass(frozen=True)
class ArticleFilters:
    """Filters for the public article list."""

    locale: str
    therapy: str | None = None
    condition: str | None = None
    q: str | None = None


def _terms(session: Session, ids: Sequence[uuid.UUID]) -> tuple[dict[Any, list[TermRef]], ...]:
    """Therapies and conditions of many articles in two queries."""
    therapies: dict[Any, list[TermRef]] = defaultdict(list)
    conditions: dict[Any, list[TermRef]] = defaultdict(list)
    if not ids:
        return therapies, conditions
    for aid, slug, name in session.exec(
        select(ArticleTherapy.article_id, Therapy.slug, Therapy.name)
        .join(Therapy, col(Therapy.id) == col(ArticleTherapy.therapy_id))
        .where(col(ArticleTherapy.article_id).in_(ids))
        .order_by(col(Therapy.slug))
    ):
        therapies[aid].append(TermRef(slug=slug, name=name))
    for aid, slug, name in session.exec(
        select(ArticleCondition.article_id, Condition.slug, Condition.name)
        .join(Condition, col(Condition.id) == col(ArticleCondition.condition_id))
        .where(col(ArticleCondition.article_id).in_(ids))
        .order_by(col(Condition.slug))
    ):
        conditions[aid].append(TermRef(slug=slug, name=name))
    return therapies, conditions


def _common(
    article: Article, therapies: list[TermRef], conditions: list[TermRef]
) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    due = article.next_review_due
    return {
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "summary": article.summary,
        "therapies": therapies,
        "conditions": conditions,
        "call_to_action": CallToAction(**article.call_to_action)
        if article.call_to_action
        else None,
        "medical_review": MedicalReview(
            reviewer=article.reviewer,
            reviewed_at=article.reviewed_at,
            next_review_due=due,
            review_overdue=due is not None and due < today,
        ),
        "seo": Seo(
            meta_title=article.seo_meta_title,
            meta_description=article.seo_meta_description,
            canonical_url=article.canonical_url,
        ),
        "published_at": article.published_at,
        "updated_at": article.updated_at,
        "revision": article.revision,
    }


def _required(
    active: Sequence[Disclaimer], therapies: list[TermRef], conditions: list[TermRef]
) -> list[Disclaimer]:
    return required_disclaimers(active, [t.slug for t in therapies], [c.slug for c in conditions])


def _find_published(session: Session, slug: str, locale: str) -> Article | None:
    return session.exec(
        select(Article).where(
            Article.slug == slug, Article.locale == locale, Article.status == PUBLISHED
        )
    ).first()


def _published(session: Session, slug: str, locale: str) -> Article:
    article = _find_published(session, slug, locale)
    if article is None:
        raise NotFoundError(
            f"No published article '{slug}' in locale '{locale}'.", code="article_not_found"
        )
    return article


def get_published(*, session: Session, slug: str, locale: str, clinic_name: str) -> ArticlePublic:
    """A whole published article, always with the disclaimers its rules require."""
    article = _published(session, slug, locale)
    sections = session.exec(
        select(ArticleSection)
        .where(ArticleSection.article_id == article.id)
        .order_by(col(ArticleSection.position))
    ).all()
    therapies, conditions = (m[article.id] for m in _terms(session, [article.id]))
    disclaimers = _required(active_disclaimers(session=session), therapies, conditions)
    public_sections = [_section(s) for s in sections]
    common = _common(article, therapies, conditions)
    return ArticlePublic(
        **common,
        sections=public_sections,
        json_ld=_json_ld(common, public_sections, clinic_name),
        disclaimers=group_full(disclaimers),
    )


def disclaimers_shown(*, session: Session, slug: str, locale: str) -> list[dict[str, Any]] | None:
    """The disclaimer versions a reader of this published article sees now (None: no article)."""
    article = _find_published(session, slug, locale)
    if article is None:
        return None
    therapies, conditions = (m[article.id] for m in _terms(session, [article.id]))
    shown = _required(active_disclaimers(session=session), therapies, conditions)
    return [{"key": d.key, "version": d.version} for d in shown]


def get_section(*, session: Session, slug: str, locale: str, key: str) -> SectionPublic:
    """One section of a published article."""
    article = _published(session, slug, locale)
    s = session.exec(
        select(ArticleSection).where(
            ArticleSection.article_id == article.id, ArticleSection.key == key
        )
    ).first()
    if s is None:
        raise NotFoundError(f"Article '{slug}' has no section '{key}'.", code="section_not_found")
    return _section(s)


def _section(s: ArticleSection) -> SectionPublic:
    return SectionPublic.model_validate(s, from_attributes=True)


def list_published(
    *, session: Session, filters: ArticleFilters, page: int, page_size: int
) -> tuple[list[ArticleSummary], int]:
    """One page of published article summaries, newest first, and the total count."""
    conditions: list[Any] = [Article.status == PUBLISHED, Article.locale == filters.locale]
    if filters.therapy:
        conditions.append(
            exists().where(
                col(ArticleTherapy.article_id) == col(Article.id),
                col(ArticleTherapy.therapy_id) == col(Therapy.id),
                col(Therapy.slug) == filters.therapy,
            )
        )
    if filters.condition:
        conditions.append(
            exists().where(
                col(ArticleCondition.article_id) == col(Article.id),
                col(ArticleCondition.condition_id) == col(Condition.id),
                col(Condition.slug) == filters.condition,
            )
        )
    if filters.q:
        conditions.append(search.article_matches(session, filters.q))
    total = session.exec(select(func.count()).select_from(Article).where(*conditions)).one()
    articles = session.exec(
        select(Article)
        .where(*conditions)
        .order_by(col(Article.published_at).desc(), col(Article.slug))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    therapies, conds = _terms(session, [a.id for a in articles])
    active = active_disclaimers(session=session)
    items = [
        ArticleSummary(
            **_common(a, therapies[a.id], conds[a.id]),
            disclaimers=group_refs(_required(active, therapies[a.id], conds[a.id])),
        )
        for a in articles
    ]
    return items, int(total)


def _json_ld(
    common: dict[str, Any], sections: list[SectionPublic], clinic_name: str
) -> dict[str, Any]:
    review: MedicalReview = common["medical_review"]
    url = common["seo"].canonical_url
    ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": common["title"],
        "headline": common["title"],
        "description": common["summary"],
        "inLanguage": common["locale"],
        "about": [{"@type": "MedicalCondition", "name": c.name} for c in common["conditions"]],
        "mainEntity": [{"@type": "MedicalTherapy", "name": t.name} for t in common["therapies"]],
        "hasPart": [
            {
                "@type": "WebPageElement",
                "name": s.heading,
                "identifier": s.key,
                **({"url": f"{url}#{s.key}"} if url else {}),
            }
            for s in sections
        ],
        "publisher": {"@type": "MedicalClinic", "name": clinic_name},
        "dateModified": common["updated_at"].isoformat(),
    }
    if url:
        ld["url"] = url
    if common["published_at"]:
        ld["datePublished"] = common["published_at"].isoformat()
    if review.reviewed_at:
        ld["lastReviewed"] = review.reviewed_at.isoformat()
    if review.reviewer:
        ld["reviewedBy"] = {"@type": "Person", "name": review.reviewer}
    return ld
