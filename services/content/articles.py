"""Published articles: finding one (or its preview, or one section) and the one builder that
attaches the required disclaimers. Lists of them are services/content/listing.py."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from core.errors import ComplianceHoldError, NotFoundError
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
    ArticleRef,
    CallToAction,
    MedicalReview,
    Reference,
    Reviewer,
    ReviewSignoff,
    SectionPublic,
    SectionWithContext,
    Seo,
    Translation,
)
from schemas.taxonomy import TermRef
from schemas.vocabulary import ArticleStatus
from services.content import compliance
from services.content.disclaimers import (
    active_disclaimers,
    group_full,
    required_disclaimers,
)
from services.content.hero import ContentLinks, PublicHero, json_ld_image, public_hero
from services.content.json_ld import article_json_ld
from services.content.term_words import localized
from services.content.translations import alternates, translations_of

PUBLISHED = ArticleStatus.PUBLISHED


@dataclass
class Terms:
    """An article's therapies (with regulatory status) and conditions (with crisis risk)."""

    therapies: list[tuple[TermRef, str]] = field(default_factory=list)
    conditions: list[tuple[TermRef, bool]] = field(default_factory=list)

    def refs(self) -> tuple[list[TermRef], list[TermRef]]:
        """The public references to its therapies and conditions."""
        return [t for t, _ in self.therapies], [c for c, _ in self.conditions]


def terms_of(session: Session, ids: Sequence[uuid.UUID], locale: str) -> dict[Any, Terms]:
    """Therapies and conditions of many articles in `locale`, in two queries; each term is
    named in that locale's words where it has them."""
    terms: dict[Any, Terms] = defaultdict(Terms)
    if not ids:
        return terms

    def ref(term: Therapy | Condition) -> TermRef:
        return TermRef(
            slug=term.slug, name=localized({"name": term.name}, term.translations, locale)["name"]
        )

    for aid, therapy in session.exec(
        select(ArticleTherapy.article_id, Therapy)
        .join(Therapy, col(Therapy.id) == col(ArticleTherapy.therapy_id))
        .where(col(ArticleTherapy.article_id).in_(ids))
        .order_by(col(Therapy.slug))
    ):
        terms[aid].therapies.append((ref(therapy), therapy.regulatory_status))
    for aid, condition in session.exec(
        select(ArticleCondition.article_id, Condition)
        .join(Condition, col(Condition.id) == col(ArticleCondition.condition_id))
        .where(col(ArticleCondition.article_id).in_(ids))
        .order_by(col(Condition.slug))
    ):
        terms[aid].conditions.append((ref(condition), condition.crisis_risk))
    return terms


def _review(article: Article) -> MedicalReview:
    due = article.next_review_due
    return MedicalReview(
        reviewer=Reviewer.model_validate(article.reviewer) if article.reviewer else None,
        reviewers=[ReviewSignoff.model_validate(s) for s in article.review_signoffs],
        reviewed_at=article.reviewed_at,
        next_review_due=due,
        review_overdue=due is not None and due < datetime.now(UTC).date(),
    )


def common_fields(
    article: Article,
    terms: Terms,
    links: ContentLinks,
    versions: list[Article],
    hero: PublicHero | None,
) -> dict[str, Any]:
    therapies, conditions = terms.refs()
    if all(v.id != article.id for v in versions):  # e.g. a list item: always list itself
        versions = sorted([*versions, article], key=lambda v: v.locale)
    return {
        "id": article.id,
        "slug": article.slug,
        "locale": article.locale,
        "title": article.title,
        "summary": article.summary,
        "therapies": therapies,
        "conditions": conditions,
        "call_to_action": CallToAction(
            **{
                **article.call_to_action,
                "button_label": links.button_label(
                    article.locale, article.call_to_action["button_label"]
                ),
            }
        )
        if article.call_to_action
        else None,
        "medical_review": _review(article),
        "seo": Seo(
            meta_title=article.seo_meta_title,
            meta_description=article.seo_meta_description,
            canonical_url=article.canonical_url,
            og_image=hero.og if hero else None,
            alternates=alternates(article, versions),
        ),
        "hero_image": hero.image if hero else None,
        "translations": [
            Translation(locale=v.locale, slug=v.slug, url=links.article(v.slug, v.locale))
            for v in versions
        ],
        "published_at": article.published_at,
        "updated_at": article.updated_at,
        "revision": article.revision,
    }


def carried_disclaimers(
    article: Article, terms: Terms, active: Sequence[Disclaimer], *, withhold: bool = True
) -> list[Disclaimer]:
    """What the article carries: what the rules attach plus whatever the compliance policy
    requires, even if a rule was narrowed since the import. A required key without an active
    text withholds the article rather than serving it bare."""
    therapies, conditions = terms.refs()
    active = [d for d in active if d.locale == article.locale]  # its own language's texts only
    attached = required_disclaimers(
        active, [t.slug for t in therapies], [c.slug for c in conditions]
    )
    requirements = compliance.required(
        therapies=[(t.slug, status) for t, status in terms.therapies],
        conditions=[(c.slug, crisis) for c, crisis in terms.conditions],
    )
    by_key = {d.key: d for d in active}
    for req in compliance.missing(requirements, [d.key for d in attached]):
        if req.key not in by_key:
            if not withhold:  # recording what a reader saw, not serving: keep what exists
                continue
            raise ComplianceHoldError(
                f"Article '{article.slug}' ({article.locale}) is withheld: its required "
                f"disclaimer '{req.key}' has no active text.",
            )
        attached.append(by_key[req.key])
    return sorted(attached, key=lambda d: d.key)


def _terms_and_disclaimers(
    session: Session, article: Article, *, withhold: bool = True
) -> tuple[Terms, list[Disclaimer]]:
    """One article's terms and the disclaimers it carries."""
    terms = terms_of(session, [article.id], article.locale)[article.id]
    active = active_disclaimers(session=session)
    return terms, carried_disclaimers(article, terms, active, withhold=withhold)


def _find_published(session: Session, slug: str, locale: str) -> Article | None:
    return session.exec(
        select(Article).where(
            Article.slug == slug, Article.locale == locale, Article.status == PUBLISHED
        )
    ).first()


def _previewable(session: Session, slug: str, locale: str) -> Article:
    """A draft or published article (never an archived one), for a preview."""
    article = session.exec(
        select(Article).where(
            Article.slug == slug,
            Article.locale == locale,
            col(Article.status) != ArticleStatus.ARCHIVED,
        )
    ).first()
    if article is None:
        raise NotFoundError(
            f"No draft or published article '{slug}' in locale '{locale}'.",
            code="article_not_found",
        )
    return article


def _published(session: Session, slug: str, locale: str) -> Article:
    """The article to serve for `slug` in `locale`: that article; else the `locale`
    translation of the article with this slug (its slug may differ); else, with no version in
    `locale`, the article with this slug itself (the original first): a fallback that says
    its own locale."""
    article = _find_published(session, slug, locale)
    if article is not None:
        return article
    same_slug = session.exec(
        select(Article)
        .where(Article.slug == slug, Article.status == PUBLISHED)
        .order_by(col(Article.locale))
    ).all()
    if not same_slug:
        raise NotFoundError(
            f"No published article '{slug}' in locale '{locale}'.", code="article_not_found"
        )
    translated = session.exec(
        select(Article).where(
            col(Article.translation_group).in_({a.translation_group for a in same_slug}),
            Article.locale == locale,
            Article.status == PUBLISHED,
        )
    ).first()
    if translated is not None:
        return translated
    return min(same_slug, key=lambda a: (a.slug != a.translation_group, a.locale))


def references(article: Article) -> list[Reference]:
    """The article's references, numbered as its citations are."""
    return [
        Reference.model_validate(
            {
                "year": None,
                "doi": None,
                "pmid": None,
                "accessed": None,
                **ref,
                "number": n,
                "url": ref.get("url") or _reference_url(ref),
            }
        )
        for n, ref in enumerate(article.references, start=1)
    ]


def _reference_url(ref: dict[str, Any]) -> str:
    if ref.get("doi"):
        return f"https://doi.org/{ref['doi']}"
    return f"https://pubmed.ncbi.nlm.nih.gov/{ref['pmid']}/"


def get_published(
    *, session: Session, slug: str, locale: str, clinic_name: str, links: ContentLinks
) -> ArticlePublic:
    """A whole published article, always with the disclaimers the policy and rules require."""
    return _whole(session, _published(session, slug, locale), clinic_name, links)


def get_preview(
    *, session: Session, slug: str, locale: str, clinic_name: str, links: ContentLinks
) -> ArticlePublic:
    """A draft as it would be published (or the published article), with its disclaimers."""
    return _whole(session, _previewable(session, slug, locale), clinic_name, links)


def ensure_previewable(*, session: Session, slug: str, locale: str) -> None:
    """Raise NotFoundError unless a draft or published article can be previewed."""
    _previewable(session, slug, locale)


def _whole(
    session: Session, article: Article, clinic_name: str, links: ContentLinks
) -> ArticlePublic:
    sections = session.exec(
        select(ArticleSection)
        .where(ArticleSection.article_id == article.id)
        .order_by(col(ArticleSection.position))
    ).all()
    terms, disclaimers = _terms_and_disclaimers(session, article)
    public_sections = [_section(s) for s in sections]
    refs = references(article)
    hero = public_hero(article.hero_image, links)
    versions = translations_of(session, {article.translation_group})[article.translation_group]
    common = common_fields(article, terms, links, versions, hero)
    ld = article_json_ld(
        title=article.title,
        summary=article.summary,
        locale=article.locale,
        seo=common["seo"],
        review=common["medical_review"],
        therapies=[(t, status) for t, status in terms.therapies],
        conditions=common["conditions"],
        sections=public_sections,
        references=refs,
        published=article.published_at.isoformat() if article.published_at else None,
        modified=article.updated_at.isoformat(),
        clinic_name=clinic_name,
        image=json_ld_image(hero),
    )
    return ArticlePublic(
        **common,
        sections=public_sections,
        references=refs,
        json_ld=ld,
        disclaimers=group_full(disclaimers),
    )


def disclaimers_shown(*, session: Session, slug: str, locale: str) -> list[dict[str, Any]] | None:
    """The disclaimer versions a reader of this published article sees now (None: no article).
    The article is found as the article route finds it (a translation under another slug, the
    original when `locale` has none), in the language of `locale` (`es-MX` reads `es`)."""
    try:
        article = _published(session, slug, locale.split("-", 1)[0])
    except NotFoundError:
        return None
    # A patient's request must never fail because the article is withheld right now.
    _, shown = _terms_and_disclaimers(session, article, withhold=False)
    return [{"key": d.key, "version": d.version, "locale": d.locale} for d in shown]


def get_section(*, session: Session, slug: str, locale: str, key: str) -> SectionWithContext:
    """One section of a published article (found as `get_published` finds it), with the
    article's disclaimers."""
    article = _published(session, slug, locale)
    s = session.exec(
        select(ArticleSection).where(
            ArticleSection.article_id == article.id, ArticleSection.key == key
        )
    ).first()
    if s is None:
        raise NotFoundError(
            f"Article '{article.slug}' ({article.locale}) has no section '{key}'.",
            code="section_not_found",
        )
    _, disclaimers = _terms_and_disclaimers(session, article)
    section = _section(s)
    return SectionWithContext(
        **section.model_dump(),
        article=ArticleRef(
            id=article.id,
            slug=article.slug,
            locale=article.locale,
            title=article.title,
            revision=article.revision,
        ),
        references=[r for r in references(article) if r.id in section.citations],
        disclaimers=group_full(disclaimers),
    )


def _section(s: ArticleSection) -> SectionPublic:
    return SectionPublic.model_validate(s, from_attributes=True)
