"""Therapies and conditions, each with its published articles."""

from typing import Any

from sqlmodel import Session, col, select

from core.errors import NotFoundError
from db.models import Article, ArticleCondition, ArticleTherapy, Condition, Therapy
from schemas.taxonomy import (
    ArticleLink,
    ConditionDetail,
    ConditionPublic,
    TherapyDetail,
    TherapyPublic,
)
from schemas.vocabulary import ArticleStatus, RegulatoryStatus
from services.content import articles as article_service
from services.content.disclaimers import active_disclaimers, group_refs
from services.content.hero import ContentLinks, public_hero
from services.content.term_words import localized


def _therapy(row: Therapy, links: ContentLinks, locale: str) -> TherapyPublic:
    hero = public_hero(row.hero_image, links)
    words = localized(
        {
            "name": row.name,
            "description": row.description,
            "regulatory_note": row.regulatory_note,
        },
        row.translations,
        locale,
    )
    return TherapyPublic(
        slug=row.slug,
        **words,
        regulatory_status=RegulatoryStatus(row.regulatory_status),
        hero_image=hero.image if hero else None,
    )


def _condition(row: Condition, locale: str) -> ConditionPublic:
    words = localized({"name": row.name, "description": row.description}, row.translations, locale)
    return ConditionPublic(slug=row.slug, **words, crisis_risk=row.crisis_risk)


def list_therapies(*, session: Session, links: ContentLinks, locale: str) -> list[TherapyPublic]:
    """Every therapy, by slug, in `locale`'s words where it has them."""
    rows = session.exec(select(Therapy).order_by(col(Therapy.slug)))
    return [_therapy(r, links, locale) for r in rows]


def list_conditions(*, session: Session, locale: str) -> list[ConditionPublic]:
    """Every condition, by slug, in `locale`'s words where it has them."""
    rows = session.exec(select(Condition).order_by(col(Condition.slug)))
    return [_condition(r, locale) for r in rows]


def _published_links(session: Session, link: Any, term_id: Any, locale: str) -> list[ArticleLink]:
    """Published articles in `locale` linked to one term (`link` = the link column)."""
    articles = session.exec(
        select(Article)
        .join(link.table, link.table.c.article_id == col(Article.id))
        .where(link == term_id, Article.status == ArticleStatus.PUBLISHED, Article.locale == locale)
        .order_by(col(Article.published_at).desc(), col(Article.slug))
    ).all()
    terms = article_service.terms_of(session, [a.id for a in articles], locale)
    active = active_disclaimers(session=session)
    return [
        ArticleLink(
            slug=a.slug,
            locale=a.locale,
            title=a.title,
            summary=a.summary,
            disclaimers=group_refs(article_service.carried_disclaimers(a, terms[a.id], active)),
        )
        for a in articles
    ]


def get_therapy(*, session: Session, slug: str, locale: str, links: ContentLinks) -> TherapyDetail:
    """A therapy with its published articles in a locale."""
    therapy = session.exec(select(Therapy).where(Therapy.slug == slug)).first()
    if therapy is None:
        raise NotFoundError(f"No therapy '{slug}'.", code="therapy_not_found")
    return TherapyDetail(
        **_therapy(therapy, links, locale).model_dump(),
        articles=_published_links(session, col(ArticleTherapy.therapy_id), therapy.id, locale),
    )


def get_condition(*, session: Session, slug: str, locale: str) -> ConditionDetail:
    """A condition with its published articles in a locale."""
    condition = session.exec(select(Condition).where(Condition.slug == slug)).first()
    if condition is None:
        raise NotFoundError(f"No condition '{slug}'.", code="condition_not_found")
    return ConditionDetail(
        **_condition(condition, locale).model_dump(),
        articles=_published_links(
            session, col(ArticleCondition.condition_id), condition.id, locale
        ),
    )
